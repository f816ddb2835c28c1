-- relm/release.lua: the release lifecycle. Lua decides the process
-- (which workflow transition, required fields, guards, entry/exit actions);
-- the C primitives in relm.core.release own the invariants (permission,
-- one transaction, occurrence logged). See docs/releases.md.
local C = require "relm.core.release"
local cjson = require "cjson"

local M = {}

-- Modules that take part in releases' lifecycles (docs/internals.md). Each
-- may export transition_gate(r, wf, tname, ctx), run inside a transition's
-- transaction before anything is written (raise to refuse);
-- transition_done(before, after, wf, tname, ctx), run in the same
-- transaction after the action is written; registered(r, wf), run in
-- register's transaction. Loaded on first use.
M.extensions = { "relm.activity", "relm.approval", "relm.related" }

local hooks -- the extension modules, required once on first use

local function extensions(fname, ...)
    if hooks == nil then
        hooks = {}
        for _, name in ipairs(M.extensions) do
            hooks[#hooks + 1] = require(name)
        end
    end
    for _, mod in ipairs(hooks) do
        local f = mod[fname]
        if f ~= nil then
            f(...)
        end
    end
end

-- cjson reads every number as a float; release fields that are whole
-- numbers (ids, priority, counters, seconds) should be Lua integers.
local tointeger = math.tointeger
local function integers(t)
    for k, v in pairs(t) do
        local tv = type(v)
        if tv == "number" then
            t[k] = tointeger(v) or v
        elseif tv == "table" then
            integers(v)
        end
    end
    return t
end

local function decode(json)
    return integers(cjson.decode(json))
end

-- Field metadata from the core: name -> {kind=, register=, update=, workflow=}.
local FIELDS = {}
for _, f in ipairs(C.fields()) do
    FIELDS[f.name] = f
end

-- Fields the engine keeps itself: shown by get(), never set directly.
local MANAGED = {}
for _, k in ipairs({ "id", "number", "workflow", "status", "state", "phase", "reopen_count",
    "deadline", "elapsed_seconds", "active_since", "remaining_seconds", "suspended_at", "extra",
    "shared_with", "created_at", "updated_at", "closed_at", "portfolio", "model", "elapsed",
    "time_left", "overdue", "portfolio_id", "model_id" }) do
    MANAGED[k] = true
end

-- Names register{} takes besides the core's fields.
local REGISTER_EXTRA = {
    portfolio = true, model = true, workflow = true, contact = true, sla_hours = true,
}

-- Primitives every workflow gets (besides its own transitions).
local PRIMITIVES = {
    suspend = true, reactivate = true, cancel = true, reopen = true, close = true,
    capture = true, delegate = true, share = true,
}
M.primitives = { "suspend", "reactivate", "cancel", "reopen", "close", "capture", "delegate", "share" }

-- Extra register{} keys of extension modules: register_keys[k](release,
-- value) runs inside register's transaction (an error refuses the whole
-- registration). relm.related: change= registers against an RFC.
M.register_keys = {
    change = function(r, v) return require("relm.related").relate(r.id, "change", v) end,
}

local ACT_OPTS = {
    fields = true, note = true, justification = true, to_group = true, to_user = true, dry_run = true,
}

-- Where each workflow name was found. relm.workflow caches compiled
-- workflows by path (and reload() refreshes them), so asking it by path
-- skips the search of the workflow directories on every action.
local by_path = {}

---The compiled workflow called name, or at a path (a workflow loaded from
---a path is then also known by its name in this process).
---@param name string
---@return table
function M.workflow(name)
    local path = by_path[name]
    if path then
        return relm.workflow.load(path)
    end
    local wf = relm.workflow.load(name)
    by_path[name] = wf.path or name
    if name:find("/", 1, true) or name:match("%.lua$") then
        by_path[wf.name] = wf.path or name
    end
    return wf
end

-- Who a transition expects (`by`): "anyone", the release's "requester",
-- or a member of its "executor" (or current) group. Superusers may stand
-- in for anyone. Returns true, or false and why not.
local function by_ok(t, r)
    local by = t.by or "anyone"
    if by == "anyone" then
        return true
    end
    local me = relm.whoami()
    if by == "requester" then
        if r.requester == me or relm.user.is_admin() then
            return true
        end
        return false, ("only the requester (%s) may %s release %s"):format(tostring(r.requester), t.name, r.number)
    end
    if by == "executor" then
        local member = relm.sql([[SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
            JOIN groups g ON g.id = m.group_id WHERE u.name = ?1 AND g.name IN (?2, ?3) LIMIT 1]],
            me, r.executor_group, r.current_group)[1]
        if member or relm.user.is_admin() then
            return true
        end
        return false, ("only a member of the executor group (%s) may %s release %s"):format(
            tostring(r.current_group or r.executor_group), t.name, r.number)
    end
    return true
end

-- Names of the workflow's own fields: every name its states and transitions
-- require (or declare in wf.fields) that is not a core field. They are kept
-- in the release's `extra` and read back as plain fields.
local custom_cache = setmetatable({}, { __mode = "k" })
local function custom_fields(wf)
    local set = custom_cache[wf]
    if set then
        return set
    end
    set = {}
    local function add(list)
        for _, f in ipairs(list or {}) do
            if not FIELDS[f] and f ~= "note" then
                set[f] = true
            end
        end
    end
    for _, st in pairs(wf.states or {}) do
        add(st.requires)
        add(st.editable)
    end
    for _, t in pairs(wf.transitions or {}) do
        add(t.requires)
    end
    if type(wf.fields) == "table" then
        for k, v in pairs(wf.fields) do
            add({ type(k) == "string" and k or v })
        end
    end
    custom_cache[wf] = set
    return set
end

-- How a release prints (REPL, print, tostring): a card of "field value"
-- lines in the order an analyst reads a release, absent fields left out.
-- The table itself holds every field, the clock's raw state included.
local CARD = {
    "status", "state", "phase", "workflow", "priority", "impact", "urgency", "risk", "type",
    "portfolio", "model", "requester", "contact_name", "contact_email", "contact_phone",
    "contact_unit", "contact_location", "executor_group", "current_group", "responsible",
    "shared_with", "planned_start", "planned_end", "release_date", "deadline", "time_left",
    "overdue", "elapsed", "sla_seconds", "suspended_at", "reopen_count", "category", "version",
    "contract", "solution_category", "closure_text", "description",
}
-- Seconds as the card shows them: the number, then hours and minutes.
local SECONDS = { time_left = true, elapsed = true, sla_seconds = true }
local function duration(v)
    local a = math.abs(v)
    local d, h, m = a // 86400, a % 86400 // 3600, a % 3600 // 60
    local text = d > 0 and ("%dd %dh %02dm"):format(d, h, m) or ("%dh %02dm"):format(h, m)
    return ("%d (%s%s)"):format(v, v < 0 and "late by " or "", text)
end
local RELEASE_MT = { __name = "relm.release" }
RELEASE_MT.__tostring = function(r)
    local pretty = require "relm.pretty"
    local names = {}
    for _, k in ipairs(CARD) do
        names[#names + 1] = k
    end
    local own = {} -- the workflow's own fields, by name
    for k in pairs(type(r.extra) == "table" and r.extra or {}) do
        own[#own + 1] = k
    end
    table.sort(own)
    for _, k in ipairs(own) do
        names[#names + 1] = k
    end
    for _, k in ipairs({ "created_at", "updated_at", "closed_at", "id" }) do
        names[#names + 1] = k
    end
    local out = { ("%s  %s"):format(tostring(r.number), tostring(r.title)) }
    for _, k in ipairs(names) do
        local v = rawget(r, k)
        if v ~= nil and not (type(v) == "table" and next(v) == nil) then
            local text = type(v) == "string" and v
                or (SECONDS[k] and math.type(v) == "integer" and duration(v)) or pretty.format(v)
            out[#out + 1] = ("  %-18s %s"):format(k, (text:gsub("\n%s*", " ")))
        end
    end
    return table.concat(out, "\n")
end

-- Decode a snapshot into the release table a user sees: the workflow's own
-- fields appear as plain fields too, and the SLA clock is read as of now.
local function to_release(json)
    local r = decode(json)
    if type(r.extra) == "table" then
        for k, v in pairs(r.extra) do
            if r[k] == nil then
                r[k] = v
            end
        end
    end
    local now = C.now()
    local elapsed = r.elapsed_seconds or 0
    if r.active_since then
        elapsed = elapsed + math.max(0, now - (C.seconds(r.active_since) or now))
    end
    r.elapsed = elapsed
    if r.deadline then
        -- A closed or cancelled release keeps the time left it had when it
        -- ended: finishing on time does not turn into "late" a week later.
        local at = r.closed_at and C.seconds(r.closed_at) or now
        r.time_left = (C.seconds(r.deadline) or at) - at
    elseif r.remaining_seconds then
        r.time_left = r.remaining_seconds
    end
    r.overdue = r.time_left ~= nil and r.time_left < 0 or false
    return setmetatable(r, RELEASE_MT)
end
M._to_release = to_release

local function check_id(id, fname)
    local t = type(id)
    if not (math.type(id) == "integer" or t == "string") then
        relm.error("invalid_argument", fname .. ": argument #1 (id) must be a release id or number, got " .. t, 3)
    end
end

---A release, by id or by number such as "REL-2027-000042".
---@param id integer|string
---@return table release
function M.get(id)
    check_id(id, "relm.release.get")
    return to_release((C.get(id)))
end

-- Resolve id or number to the numeric id; not_found when there is none.
local function id_of(id)
    return C.head(id).id
end

local function present(v)
    return v ~= nil and v ~= ""
end

-- Turn user-facing field names into the names the core stores (custom
-- fields go to extra.<name>); raises invalid_field for unknown names.
local function core_fields(wf, fields, allowed, what)
    local out = {}
    local custom = custom_fields(wf)
    for k, v in pairs(fields) do
        if type(k) ~= "string" then
            relm.error("invalid_field", what .. ": field names must be strings", 4)
        end
        local f = FIELDS[k]
        if MANAGED[k] then
            relm.error("invalid_field", what .. ": field '" .. k .. "' is kept by the engine and cannot be set", 4)
        elseif f then
            if allowed and not allowed(k, f) then
                relm.error("invalid_field", what .. ": field '" .. k .. "' cannot be set here", 4)
            end
            out[k] = v
        elseif custom[k] then
            out["extra." .. k] = v
        else
            relm.error("invalid_field", what .. ": unknown field '" .. k .. "' (see docs/releases.md)", 4)
        end
    end
    return out
end

-- Recompute priority into changes when impact or urgency change. The rule
-- is looked up through relm.priority at each call, so a replaced
-- relm.priority.rule applies at once (docs/releases.md, Priority).
local function reprioritise(changes, current)
    if changes.impact ~= nil or changes.urgency ~= nil then
        local impact = changes.impact or current.impact
        local urgency = changes.urgency or current.urgency
        changes.priority = relm.priority.compute(impact, urgency, current)
    end
end

-- The portfolio and model names register{} was given: names, or entries of
-- relm.portfolio.list(); a model name alone is enough when only one
-- portfolio has a model so named. Returns nil for what is missing.
local function model_names(spec)
    local p, m = spec.portfolio, spec.model
    if type(p) == "table" then
        p = p.name
    end
    if type(m) == "table" then
        p, m = p or m.portfolio, m.name
    end
    if p == nil and type(m) == "string" then
        local found = {}
        for _, e in ipairs(relm.portfolio.models()) do
            if e.name == m then
                found[#found + 1] = e.portfolio
            end
        end
        if #found == 0 then
            relm.error("not_found", "register: no portfolio has a model named '" .. m
                .. "' (see relm.portfolio.list())", 3)
        elseif #found > 1 then
            relm.error("invalid_field", ("register: model '%s' is in portfolios %s; name one with portfolio=")
                :format(m, table.concat(found, ", ")), 3)
        end
        p = found[1]
    end
    return p, m
end

---Register a new release. spec: title (required) and any of the fields in
---docs/releases.md; portfolio= and model= apply the model's defaults
---(workflow, executor group, impact, urgency, risk, category, type, SLA):
---names or entries of relm.portfolio.list(); model= alone when its name is
---unique;
---contact={name=, email=, phone=, unit=, location=}; sla_hours=.
---Raises invalid_field, not_found, not_allowed (model not active),
---permission_denied (no `create` permission on the workflow).
---@param spec table
---@return table release
function M.register(spec)
    if type(spec) ~= "table" then
        relm.error("invalid_argument", "relm.release.register: argument #1 must be a table, got " .. type(spec), 2)
    end
    local fields = {}
    local model
    if spec.portfolio ~= nil or spec.model ~= nil then
        local pname, mname = model_names(spec)
        if type(pname) ~= "string" or type(mname) ~= "string" then
            relm.error("invalid_field", "register: portfolio and model go together, both names", 2)
        end
        model = relm.portfolio.model(pname, mname)
        if model.status ~= "active" then
            relm.error("not_allowed", ("register: model '%s' of portfolio '%s' is %s; only active models can be used")
                :format(mname, pname, model.status), 2)
        end
        fields.portfolio_id = model.portfolio_id
        fields.model_id = model.id
        for _, k in ipairs({ "executor_group", "impact", "urgency", "risk", "category", "type" }) do
            if model[k] ~= nil then
                fields[k] = model[k]
            end
        end
    end
    local wf = M.workflow(spec.workflow or (model and model.workflow) or "standard")
    local custom = custom_fields(wf)
    for k, v in pairs(spec) do
        if k == "contact" then
            if type(v) ~= "table" then
                relm.error("invalid_field",
                    "register: contact must be a table {name=, email=, phone=, unit=, location=}", 2)
            end
            for ck, cv in pairs(v) do
                if not FIELDS["contact_" .. tostring(ck)] then
                    relm.error("invalid_field", "register: unknown contact field '" .. tostring(ck) .. "'", 2)
                end
                fields["contact_" .. ck] = cv
            end
        elseif k == "priority" then
            relm.error("invalid_field", "register: priority is computed from impact and urgency (relm.priority)", 2)
        elseif REGISTER_EXTRA[k] or M.register_keys[k] then -- luacheck: ignore 542
        elseif k == "portfolio_id" or k == "model_id" then
            relm.error("invalid_field", "register: name the model with portfolio= and model= (names), not " .. k, 2)
        elseif MANAGED[k] then
            relm.error("invalid_field", "register: field '" .. k .. "' is kept by the engine and cannot be set", 2)
        elseif FIELDS[k] then
            if not FIELDS[k].register then
                relm.error("invalid_field", "register: field '" .. k .. "' cannot be set at registration", 2)
            end
            fields[k] = v
        elseif custom[k] then
            fields["extra." .. k] = v
        else
            relm.error("invalid_field", "register: unknown field '" .. tostring(k) .. "' (see docs/releases.md)", 2)
        end
    end
    fields.impact = fields.impact or "medium"
    fields.urgency = fields.urgency or "medium"
    fields.priority = relm.priority.compute(fields.impact, fields.urgency, fields)
    if spec.sla_hours ~= nil then
        if type(spec.sla_hours) ~= "number" or spec.sla_hours <= 0 then
            relm.error("invalid_field", "register: sla_hours must be a positive number", 2)
        end
        fields.sla_seconds = math.floor(spec.sla_hours * 3600)
    elseif model and model.sla_hours then
        fields.sla_seconds = math.floor(model.sla_hours * 3600)
    else
        fields.sla_seconds = relm.priority.sla_seconds(fields.priority)
    end
    local initial = wf.initial
    local st = wf.states[initial]
    local changes = wf:enter(initial, fields, { user = relm.whoami(), action = "register" })
    if changes then
        for k, v in pairs(core_fields(wf, changes, function(_, f) return f.register end, "entry action")) do
            fields[k] = v
        end
    end
    local ext = {}
    for k, fn in pairs(M.register_keys) do
        if spec[k] ~= nil then
            ext[#ext + 1] = { fn, spec[k] }
        end
    end
    return relm.tx(function()
        local _, json = C.register(wf.name, initial, st.phase, fields)
        local r = to_release(json)
        extensions("registered", r, wf)
        for _, e in ipairs(ext) do
            e[1](r, e[2])
        end
        return r
    end)
end

-- Which fields update() may change in release r: the state's `editable`
-- list when the workflow gives one, otherwise every field update accepts
-- (and the workflow's own fields).
local function editable(wf, r)
    local st = wf.states[r.state] or {}
    if st.editable then
        local set = {}
        for _, f in ipairs(st.editable) do
            set[f] = true
        end
        return function(k) return set[k] == true end, st.editable
    end
    return function(_, f) return f == nil or f.update end, nil
end

---Change fields of a release. Only fields the current state allows (its
---`editable` list, else every updatable field); priority follows impact
---and urgency. Closed and cancelled releases cannot be updated.
---Raises not_found, invalid_field, not_allowed, permission_denied.
---@param id integer|string
---@param fields table
---@return table release
function M.update(id, fields)
    check_id(id, "relm.release.update")
    if type(fields) ~= "table" then
        relm.error("invalid_argument", "relm.release.update: argument #2 (fields) must be a table", 2)
    end
    local r = M.get(id)
    if next(fields) == nil then
        return r -- nothing to change: no write, no occurrence
    end
    local wf = M.workflow(r.workflow)
    if fields.priority ~= nil then
        relm.error("invalid_field", "update: priority is computed from impact and urgency (relm.priority)", 2)
    end
    local allow, list = editable(wf, r)
    for k in pairs(fields) do
        if type(k) == "string" and not allow(k, FIELDS[k]) then
            relm.error("invalid_field", ("update: field '%s' cannot be changed in state '%s'%s"):format(
                k, r.state, list and (" (editable: " .. table.concat(list, ", ") .. ")") or ""), 2)
        end
    end
    local changes = core_fields(wf, fields, function(_, f) return f.update end, "update")
    reprioritise(changes, r)
    return to_release(C.apply(r.id, "update", { from_state = r.state, fields = changes }))
end

-- The transition from state that leads to the workflow's close state.
local function closing_transition(wf, state)
    for _, name in ipairs(wf:available(state)) do
        if wf.transitions[name].to == wf.close_state then
            return name
        end
    end
    return nil
end

local function user_ctx()
    return { user = relm.whoami() }
end

---Names of the actions the acting user may take on the release now: the
---workflow transitions leaving its state whose permission they hold (and
---whose guard passes), then the applicable primitives.
---@param id integer|string
---@return string[]
function M.actions(id)
    check_id(id, "relm.release.actions")
    local r = M.get(id)
    local wf = M.workflow(r.workflow)
    local st = wf.states[r.state] or {}
    local out = {}
    local can = function(perm) return C.can(wf.name, perm) end
    if r.status == "open" then
        for _, name in ipairs(wf:available(r.state)) do
            local t = wf.transitions[name]
            if can(t.permission or "execute") and by_ok(t, r) and wf:guard(name, r, user_ctx())
                and pcall(extensions, "transition_gate", r, wf, name, user_ctx()) then
                out[#out + 1] = name
            end
        end
        if st.suspend and can("suspend") then
            out[#out + 1] = "suspend"
        end
        if closing_transition(wf, r.state) and can("execute") then
            out[#out + 1] = "close"
        end
    elseif r.status == "suspended" then
        if can("reactivate") then
            out[#out + 1] = "reactivate"
        end
    elseif r.status == "closed" then
        if wf.reopen_to and can("reopen") then
            out[#out + 1] = "reopen"
        end
    end
    if r.status == "open" or r.status == "suspended" then
        if st.cancel and wf.cancel_state and can("cancel") then
            out[#out + 1] = "cancel"
        end
        if can("execute") and r.responsible ~= relm.whoami() then
            out[#out + 1] = "capture"
        end
        if can("delegate") then
            out[#out + 1] = "delegate"
            out[#out + 1] = "share"
        end
    end
    return out
end

-- The core call for one action, worked out from the workflow: returns the
-- kind, the op table and the transition name whose guard applies (if any).
local function plan(r, wf, action)
    local st = wf.states[r.state] or {}
    local t = wf.transitions[action]
    if t then
        if not t.from[r.state] then
            local from = {}
            for s in pairs(t.from) do
                from[#from + 1] = s
            end
            table.sort(from)
            relm.error("not_allowed", ("'%s' is not allowed on release %s: it is in state '%s' and '%s' "
                .. "leaves only from %s"):format(action, r.number, r.state, action, table.concat(from, ", ")), 4)
        end
        local kind = "transition"
        if t.to == wf.cancel_state then
            kind = "cancel"
        end
        local to_state = wf.states[t.to]
        return kind, {
            action = action, permission = t.permission or (kind == "cancel" and "cancel" or "execute"),
            from_state = r.state, to_state = t.to, to_phase = to_state and to_state.phase,
            closes = kind == "transition" and (t.to == wf.close_state or (to_state and to_state.final)) or false,
        }, action
    end
    if not PRIMITIVES[action] then
        local names = wf:available(r.state)
        relm.error("not_allowed",
            ("unknown action '%s' for release %s (workflow '%s'; from state '%s': %s; primitives: %s)")
            :format(tostring(action), r.number, wf.name, r.state,
                #names > 0 and table.concat(names, ", ") or "no transitions", table.concat(M.primitives, ", ")), 4)
    end
    local op = { action = action }
    if action == "suspend" then
        if r.status == "open" and not st.suspend then
            relm.error("not_allowed", ("cannot suspend release %s in state '%s': the workflow does not allow it there")
                :format(r.number, r.state), 4)
        end
        op.from_state = r.state
    elseif action == "cancel" then
        if not wf.cancel_state or ((r.status == "open" or r.status == "suspended") and not st.cancel) then
            relm.error("not_allowed", ("cannot cancel release %s in state '%s': the workflow does not allow it there")
                :format(r.number, r.state), 4)
        end
        op.from_state = r.state
        op.to_state = wf.cancel_state
        op.to_phase = wf.cancel_state and wf.states[wf.cancel_state].phase
    elseif action == "reopen" then
        if not wf.reopen_to then
            relm.error("not_allowed", ("cannot reopen release %s: workflow '%s' names no state to reopen to "
                .. "(reopen_to)"):format(r.number, wf.name), 4)
        end
        op.to_state = wf.reopen_to
        op.to_phase = wf.reopen_to and wf.states[wf.reopen_to].phase
    elseif action == "close" then
        local tname = r.status == "open" and closing_transition(wf, r.state)
        if r.status == "open" and not tname then
            relm.error("not_allowed", ("cannot close release %s from state '%s': no transition there leads to '%s'")
                :format(r.number, r.state, tostring(wf.close_state)), 4)
        end
        op.from_state = r.state
        op.to_state = wf.close_state
        op.to_phase = wf.close_state and wf.states[wf.close_state].phase
        -- Closing takes the closing transition: its permission too.
        op.permission = tname and wf.transitions[tname].permission or nil
        return "close", op, tname or nil
    end
    return action, op, nil
end

-- Fields a transition needs: those of the state it leaves and its own.
local function required(wf, r, tname)
    local need = {}
    local st = wf.states[r.state] or {}
    for _, f in ipairs(st.requires or {}) do
        need[#need + 1] = f
    end
    local t = tname and wf.transitions[tname]
    for _, f in ipairs(t and t.requires or {}) do
        need[#need + 1] = f
    end
    return need
end

local function overlay(r, fields)
    local m = {}
    for k, v in pairs(r) do
        m[k] = v
    end
    for k, v in pairs(fields or {}) do
        m[k] = v
    end
    return m
end

-- Fields in need that are not in merged; "note" is the action's note.
local function missing_fields(need, merged, note)
    local missing = {}
    for _, f in ipairs(need) do
        if f == "note" then
            if not present(note) then
                missing[#missing + 1] = f
            end
        elseif not present(merged[f]) then
            missing[#missing + 1] = f
        end
    end
    return missing
end

-- What act() would do, without writing: the workflow's explanation plus
-- the checks the core makes (permission, justification, status).
local function dry_run(r, wf, action, opts)
    local ok, kind, op, tname = pcall(plan, r, wf, action)
    if not ok then
        return { allowed = false, action = action, from = r.state, reason = tostring(kind), error = kind }
    end
    local merged = overlay(r, opts.fields)
    local perm = op.permission or ({
        suspend = "suspend", reactivate = "reactivate", cancel = "cancel", reopen = "reopen",
        delegate = "delegate", share = "delegate",
    })[kind] or "execute"
    local out = {
        action = action, kind = kind, from = r.state, to = op.to_state or r.state,
        permission = { name = perm, granted = C.can(wf.name, perm) },
        missing = {},
    }
    if tname then
        local ex = wf:explain(tname, merged, user_ctx()) or {}
        out.guard = ex.guard
        out.missing = missing_fields(required(wf, r, tname), merged, opts.note)
        local bok, bwhy = by_ok(wf.transitions[tname], r)
        out.by = { ok = bok, reason = bwhy }
        if kind == "close" or op.closes then
            -- The closing transition may require them too: list each once.
            local listed = {}
            for _, f in ipairs(out.missing) do
                listed[f] = true
            end
            for _, f in ipairs({ "release_date", "solution_category", "closure_text" }) do
                if not present(merged[f]) and not listed[f] then
                    out.missing[#out.missing + 1] = f
                end
            end
        end
    end
    local use = (kind == "suspend" or kind == "cancel" or kind == "reopen") and kind or nil
    if use then
        local jok, why = C.justification_ok(opts.justification, use)
        out.justification = { ok = jok, reason = why }
    end
    if kind == "delegate" or kind == "share" then
        if not present(opts.to_group) and not present(opts.to_user) then
            out.missing[#out.missing + 1] = "to_group or to_user"
        end
        if kind == "delegate" and type(opts.to_user) == "string" and present(opts.to_user)
            and not C.can(wf.name, "execute", opts.to_user) then
            out.target = { ok = false, reason = ("to_user: '%s' may not execute releases of workflow '%s'")
                :format(opts.to_user, wf.name) }
        end
        if not present(opts.note) then
            out.missing[#out.missing + 1] = "note"
        end
    end
    local status_ok = ({
        transition = r.status == "open", close = r.status == "open", suspend = r.status == "open",
        reactivate = r.status == "suspended", reopen = r.status == "closed",
    })[kind]
    if status_ok == nil then
        status_ok = r.status == "open" or r.status == "suspended"
    end
    local reasons = {}
    if not status_ok then
        reasons[#reasons + 1] = "the release is " .. r.status
    end
    if not out.permission.granted then
        reasons[#reasons + 1] = "permission '" .. perm .. "' is missing"
    end
    if #out.missing > 0 then
        reasons[#reasons + 1] = "missing required field(s): " .. table.concat(out.missing, ", ")
    end
    if out.by and not out.by.ok then
        reasons[#reasons + 1] = out.by.reason
    end
    if out.guard and not out.guard.ok then
        reasons[#reasons + 1] = "guard: " .. tostring(out.guard.reason)
    end
    if tname then
        -- Activities and approvals (M.extensions) may hold the transition.
        local gok, gerr = pcall(extensions, "transition_gate", r, wf, tname, user_ctx())
        out.gates = { ok = gok, reason = not gok and (type(gerr) == "table" and gerr.message or tostring(gerr)) or nil }
        if not gok then
            reasons[#reasons + 1] = out.gates.reason
        end
    end
    if out.justification and not out.justification.ok then
        reasons[#reasons + 1] = out.justification.reason
    end
    if out.target then
        reasons[#reasons + 1] = out.target.reason
    end
    out.allowed = #reasons == 0
    out.reason = #reasons > 0 and table.concat(reasons, "; ") or nil
    return out
end

---Take an action on a release: a transition of its workflow or a
---primitive (suspend, reactivate, cancel, reopen, close, capture, delegate,
---share). opts: fields= (set with the action; fields may also be given flat
---in opts), note=, justification= (id),
---to_group=/to_user= (delegate, share), dry_run=true (report what would
---happen, write nothing). Returns the release after the action (or the
---dry-run report). Raises not_found, not_allowed, invalid_field,
---justification_required, permission_denied.
---@param id integer|string
---@param action string
---@param opts table?
---@return table
function M.act(id, action, opts)
    check_id(id, "relm.release.act")
    if type(action) ~= "string" then
        relm.error("invalid_argument", "relm.release.act: argument #2 (action) must be a string", 2)
    end
    opts = opts or {}
    if type(opts) ~= "table" then
        relm.error("invalid_argument", "relm.release.act: argument #3 (opts) must be a table", 2)
    end
    if opts.fields ~= nil and type(opts.fields) ~= "table" then
        relm.error("invalid_argument", "relm.release.act: opts.fields must be a table", 2)
    end
    local jid = opts.justification
    if type(jid) == "table" then -- an entry of relm.justification.list()
        jid = jid.id
    end
    if jid ~= nil and math.type(jid) ~= "integer" then
        relm.error("invalid_argument", "relm.release.act: opts.justification must be the id of a justification "
            .. "(see relm.justification.list()), got " .. type(opts.justification), 2)
    end
    if jid ~= opts.justification then
        local o = {}
        for k, v in pairs(opts) do
            o[k] = v
        end
        o.justification = jid
        opts = o
    end
    -- Fields may also be given flat, next to the options:
    -- act(id, "accept", {closure_text = "...", ...}).
    local flat
    for k, v in pairs(opts) do
        if not ACT_OPTS[k] then
            if type(k) ~= "string" then
                relm.error("invalid_argument", "relm.release.act: unknown option '" .. tostring(k) .. "'", 2)
            end
            if opts.fields and opts.fields[k] ~= nil then
                relm.error("invalid_argument", "relm.release.act: field '" .. k
                    .. "' given both flat and under fields=", 2)
            end
            flat = flat or {}
            flat[k] = v
        end
    end
    if flat then
        local o, f = { fields = {} }, flat
        for k, v in pairs(opts) do
            if ACT_OPTS[k] then
                o[k] = v
            end
        end
        for k, v in pairs(opts.fields or {}) do
            f[k] = v
        end
        o.fields = f
        opts = o
    end
    if opts.fields and opts.fields.note ~= nil then
        -- "note" is the action's note, wherever it is given.
        local o, f = {}, {}
        for k, v in pairs(opts) do
            o[k] = v
        end
        for k, v in pairs(opts.fields) do
            f[k] = v
        end
        o.note = o.note or f.note
        f.note = nil
        o.fields = f
        opts = o
    end
    local r
    if opts.dry_run then
        r = M.get(id)
        return dry_run(r, M.workflow(r.workflow), action, opts)
    end
    -- Where it stands is enough to plan; the hook sees the full release.
    r = C.head(id)
    local wf = M.workflow(r.workflow)
    local kind, op, tname = plan(r, wf, action)
    if (opts.fields or {}).priority ~= nil then
        relm.error("invalid_field", "act: priority is computed from impact and urgency (relm.priority)", 2)
    end
    op.fields = core_fields(wf, opts.fields or {}, function(_, f) return f.update end, action)
    op.note = opts.note
    op.justification = opts.justification
    op.to_group = opts.to_group
    op.to_user = opts.to_user
    local hook
    if tname or next(op.fields) then
        -- Runs inside the core's transaction on the release as it is there.
        hook = function(snapshot)
            local cur = to_release(snapshot)
            local merged = overlay(cur, opts.fields)
            local changes = {}
            if tname then
                local bok, bwhy = by_ok(wf.transitions[tname], cur)
                if not bok then
                    relm.error("permission_denied", bwhy)
                end
                local missing = missing_fields(required(wf, cur, tname), merged, opts.note)
                if #missing > 0 then
                    relm.error("invalid_field", ("'%s' is not allowed on release %s: missing required field(s): %s")
                        :format(action, cur.number, table.concat(missing, ", ")))
                end
                local ctx = { user = relm.whoami(), action = action, note = opts.note }
                local gok, reason = wf:guard(tname, merged, ctx)
                if not gok then
                    relm.error("not_allowed", ("'%s' is not allowed on release %s: %s"):format(
                        action, cur.number, tostring(reason or "the workflow's guard refused")))
                end
                extensions("transition_gate", cur, wf, tname, ctx)
                local to = wf.transitions[tname].to
                for _, c in ipairs({ wf:exit(cur.state, merged, ctx) or false, wf:enter(to, merged, ctx) or false }) do
                    if c then
                        local by_workflow = function(_, f) return f.workflow end
                        for k, v in pairs(core_fields(wf, c, by_workflow, "workflow action")) do
                            changes[k] = v
                        end
                    end
                end
            end
            local all = overlay(op.fields, changes)
            if all.impact ~= nil or all.urgency ~= nil then
                reprioritise(all, cur)
                changes.priority = all.priority
            end
            return changes
        end
    end
    return relm.tx(function()
        local after = to_release(C.apply(r.id, kind, op, hook))
        extensions("transition_done", r, after, wf, tname, { user = relm.whoami(), action = action, note = opts.note })
        return after
    end)
end

local HISTORY_COLUMNS = {
    "id", "at", "actor", "action", "from", "to", "justification_text", "note", "before", "after",
}

---The release's occurrences, oldest first: {id=, at=, actor=, action=,
---from=, to=, justification=, note=, before=, after=} (snapshots decoded).
---@param id integer|string
---@return table[]
function M.history(id)
    check_id(id, "relm.release.history")
    local rid = id_of(id)
    local rows = relm.sql([[
        SELECT o.id, o.at, o.actor, o.action, o.from_state, o.to_state,
               o.justification_id, j.description AS justification_text, o.note,
               o.before, o.after
        FROM occurrences o LEFT JOIN justifications j ON j.id = o.justification_id
        WHERE o.subject = 'release' AND o.subject_id = ? ORDER BY o.id]], rid)
    local out = {}
    for i, o in ipairs(rows) do
        out[i] = {
            id = o.id, at = o.at, actor = o.actor, action = o.action,
            from = o.from_state, to = o.to_state, justification = o.justification_id,
            justification_text = o.justification_text, note = o.note,
            before = o.before and decode(o.before) or nil,
            after = o.after and decode(o.after) or nil,
        }
    end
    -- The column order the REPL prints them in (see relm.pretty).
    return setmetatable(out, { __name = "relm.rows", columns = HISTORY_COLUMNS })
end

-- Related information and impact live in relm.related (docs/related.md),
-- loaded on first use; help() shows the doc of the function each calls.

---@see relm.related.relate
function M.relate(...) return require("relm.related").relate(...) end

---@see relm.related.unrelate
function M.unrelate(...) return require("relm.related").unrelate(...) end

---@see relm.related.related
function M.related(...) return require("relm.related").related(...) end

---@see relm.related.impact
function M.impact(...) return require("relm.related").impact(...) end

---@see relm.related.for_ci
function M.for_ci(...) return require("relm.related").for_ci(...) end

---Fix the engine's clock at epoch seconds (nil: back to the system clock).
---For tests and demonstrations of SLA arithmetic; administrators only.
---@param epoch integer?
function M.set_clock(epoch)
    C.set_clock(epoch)
end

---The engine's clock, epoch seconds.
---@return integer
function M.now()
    return C.now()
end

return M
