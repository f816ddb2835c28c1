-- relm/release.lua: the release lifecycle. Lua decides the process
-- (which workflow transition, required fields, guards, entry/exit actions);
-- the C primitives in relm.core.release own the invariants (permission,
-- one transaction, occurrence logged). See docs/releases.md.
local i18n = require "relm.i18n"
local C = require "relm.core.release"

local M = {}

-- This module runs in two Lua states (docs/internals.md, "the trust
-- boundary"). In the user's state (scripts, REPL) relm.core.release offers
-- act/update/register/actions, which hand the call to the engine's private
-- state; there, M._engine below plans it from the workflow the engine
-- compiled itself and calls the primitives that take a decision (apply,
-- register), which exist only in that state.
local ENGINE = C.apply ~= nil

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

-- A snapshot's JSON as a table, whole numbers (ids, priority, counters,
-- seconds) as Lua integers: what cjson.decode and relm.json.integers give,
-- in one pass in C (relm.core.release.decode).
local decode = C.decode

-- Field metadata from the core: name -> {kind=, register=, update=, workflow=}.
local FIELDS = {}
for _, f in ipairs(C.fields()) do
    FIELDS[f.name] = f
end

-- Fields the engine keeps itself: shown by get(), never set directly.
local MANAGED = {}
for _, k in ipairs({ "id", "number", "workflow", "status", "state", "phase", "reopen_count",
    "deadline", "elapsed_seconds", "active_since", "remaining_seconds", "suspended_at", "reactivate_at", "extra",
    "shared_with", "created_at", "updated_at", "closed_at", "portfolio", "model", "elapsed", "row_version",
    "time_left", "overdue", "portfolio_id", "model_id", "sla_stage" }) do
    MANAGED[k] = true
end

-- Names register{} takes besides the core's fields.
local REGISTER_EXTRA = {
    portfolio = true, model = true, workflow = true, contact = true, sla_hours = true,
}

-- Primitives every workflow gets (besides its own transitions).
-- The one list: relm.workflow.reserved, actions() and plan() read it.
M.primitives = {}
local PRIMITIVES = {} -- name -> the permission it needs
for i, p in ipairs(C.primitives()) do
    M.primitives[i] = p.name
    PRIMITIVES[p.name] = p.permission
end

-- Extra register{} keys of extension modules: register_keys[k](release,
-- value) runs inside register's transaction (an error refuses the whole
-- registration). relm.related: change= registers against an RFC.
M.register_keys = {
    change = function(r, v) return require("relm.related").relate(r.id, "change", v) end,
}


-- Where each workflow name was found. relm.workflow caches compiled
-- workflows by path (and reload() refreshes them), so asking it by path
-- skips the search of the workflow directories on every action.
local by_path = {}
-- Workflows the engine compiled, by name (engine state only), and the
-- modification time of each one's file when it was read (relm.reload).
local compiled, read_at = {}, {}
local function keep(key, wf)
    compiled[key] = wf
    read_at[key] = require("relm.reload").mtime(wf.path)
    return wf
end

-- Hand the engine's compile of wf to C (relm.core.workflow.define, engine
-- state only): the graph the release primitive decides from. C keeps one
-- definition per name and store, replaced when the content changes. Reads
-- wf.name, initial, close_state, cancel_state, reopen_to, state_order,
-- states[n].{phase, final, suspend, cancel, requires, editable},
-- transition_order, transitions[n].{from_list, to, permission, by,
-- approval, requires, refuse_if, record_if}.
local function define(wf)
    local states, transitions = {}, {}
    for i, name in ipairs(wf.state_order) do
        local st = wf.states[name]
        states[i] = { name = name, phase = st.phase, final = st.final, suspend = st.suspend, cancel = st.cancel,
            requires = st.requires, editable = st.editable }
    end
    for i, name in ipairs(wf.transition_order) do
        local t = wf.transitions[name]
        transitions[i] = { name = name, from = t.from_list, to = t.to, permission = t.permission, by = t.by,
            approval = t.approval, requires = t.requires, refuse_if = t.refuse_if, record_if = t.record_if }
    end
    require("relm.core.workflow").define(wf.name, {
        initial = wf.initial, close_state = wf.close_state, cancel_state = wf.cancel_state,
        reopen_to = wf.reopen_to, states = states, transitions = transitions,
    })
    return wf
end

---The compiled workflow called name (found on relm.workflow.path()), or
---at a path. In a script a path also installs the file in the engine under
---its name (administrators only: it changes what the engine enforces).
---@param name string
---@return table
function M.workflow(name)
    if type(name) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.release.workflow: argument #1 must be a workflow name or path"), 2)
    end
    local is_path = name:find("/", 1, true) or name:match("%.lua$")
    if ENGINE then
        local wf = compiled[name]
        if wf == nil then
            if is_path then
                relm.error("not_allowed", i18n._("the engine resolves workflows by name, not path: ") .. name, 2)
            end
            wf = keep(name, define(relm.workflow.load(name)))
        end
        return wf
    end
    if is_path then
        C.install(name)
    end
    local path = by_path[name]
    if path then
        return relm.workflow.load(path)
    end
    local wf = relm.workflow.load(name)
    by_path[name] = wf.path or name
    if is_path then
        by_path[wf.name] = wf.path or name
    end
    return wf
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
    "overdue", "sla_stage", "calendar", "elapsed", "sla_seconds", "suspended_at", "reactivate_at", "reopen_count",
    "category", "version",
    "contract", "solution_category", "closure_text", "description",
}
-- Seconds as the card shows them: the number, then hours and minutes.
local SECONDS = { time_left = true, elapsed = true, sla_seconds = true }
-- With business set, the seconds are a calendar's business time.
local function duration(v, business)
    local a = math.abs(v)
    local d, h, m = a // 86400, a % 86400 // 3600, a % 3600 // 60
    local text = d > 0 and ("%dd %dh %02dm"):format(d, h, m) or ("%dh %02dm"):format(h, m)
    return ("%d (%s%s%s)"):format(v, v < 0 and "late by " or "", text,
        business and (" " .. require("relm.i18n")._("business")) or "")
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
    -- Fields the workflow hides in this state (`hidden = {...}`) stay off the card.
    local hidden = {}
    local wok, wf = pcall(M.workflow, r.workflow)
    for _, f in ipairs(wok and wf.states[r.state] and wf.states[r.state].hidden or {}) do
        hidden[f] = true
    end
    local out = { ("%s  %s"):format(tostring(r.number), tostring(r.title)) }
    for _, k in ipairs(names) do
        local v = rawget(r, k)
        if v ~= nil and not hidden[k] and not (type(v) == "table" and next(v) == nil) then
            local text = type(v) == "string" and v
                or (SECONDS[k] and math.type(v) == "integer" and duration(v, k == "time_left" and r.calendar))
                or pretty.format(v)
            if k == "state" and wok then
                -- The state as its workflow labels it, then the identifier
                -- scripts use: "Em execução (in_execution)".
                local label = wf:state_label(v)
                text = label ~= v and ("%s (%s)"):format(label, v) or v
            end
            out[#out + 1] = ("  %-18s %s"):format(k, (text:gsub("\n%s*", " ")))
        end
    end
    -- Conflicts (relm.release.conflicts), one reason a line.
    local conflicts = rawget(r, "conflicts")
    if type(conflicts) == "table" and #conflicts > 0 then
        out[#out + 1] = ("  %-18s %d"):format("conflicts", #conflicts)
        for _, c in ipairs(conflicts) do
            out[#out + 1] = ("    ! %s: %s"):format(tostring(c.kind), tostring(c.reason))
        end
    end
    return table.concat(out, "\n")
end

-- The seconds left on release r's SLA clock at now (fields deadline,
-- closed_at, calendar, remaining_seconds), nil without an SLA: business
-- time on its calendar; negative when late.
local function time_left(r, now)
    if r.deadline then
        -- A closed or cancelled release keeps the time left it had when it
        -- ended: finishing on time does not turn into "late" a week later.
        local at = r.closed_at and C.seconds(r.closed_at) or now
        local limit = C.seconds(r.deadline) or at
        if r.calendar then
            -- On a calendar, what is left is business time (docs/calendars.md).
            local seconds = require("relm.core.calendar").seconds
            return limit >= at and seconds(r.calendar, at, limit) or -seconds(r.calendar, limit, at)
        end
        return limit - at
    end
    return r.remaining_seconds
end
M._time_left = time_left

-- Decode a snapshot into the release table a user sees: the workflow's own
-- fields appear as plain fields too, and the SLA clock is read as of now.
local function to_release(json)
    -- A table is a view the engine decoded already (act): copied across
    -- the states by C, not encoded and decoded again.
    local r = type(json) == "table" and json or decode(json)
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
    r.time_left = time_left(r, now)
    r.overdue = r.time_left ~= nil and r.time_left < 0 or false
    return setmetatable(r, RELEASE_MT)
end
M._to_release = to_release

-- The release as hooks after an action see it: its fields and the
-- workflow's own, without the SLA clock read as of now (cheaper).
local function to_view(json)
    local r = decode(json)
    if type(r.extra) == "table" then
        for k, v in pairs(r.extra) do
            if r[k] == nil then
                r[k] = v
            end
        end
    end
    return r
end

-- r with reactivate_at, when serve is to reactivate it (suspend{
-- reactivate_at=}): kept out of the snapshot, which the audit compares.
local function with_reactivate_at(r)
    if r.status == "suspended" then
        r.reactivate_at = relm.sql("SELECT reactivate_at FROM releases WHERE id = ?", r.id)[1].reactivate_at
    end
    return r
end

local function check_id(id, fname)
    local t = type(id)
    if not (math.type(id) == "integer" or t == "string") then
        relm.error("invalid_argument", fname .. i18n._(": argument #1 (id) must be a release id or number, got ")
            .. t, 3)
    end
end

---A release, by id or by number such as "REL-2027-000042".
---@param id integer|string
---@return table release
function M.get(id)
    check_id(id, "relm.release.get")
    local r = with_reactivate_at(to_release((C.get(id))))
    -- Its conflicts (docs/calendars.md), computed now when the kept state
    -- has any or is stale; this release only, however many are stale.
    local kept = relm.sql("SELECT 1 FROM release_conflict_state WHERE release_id = ? AND (count > 0 OR dirty = 1)",
        r.id)[1]
    if kept then
        local list = require("relm.core.window").conflicts(r.id)
        r.conflicts = #list > 0 and list or nil
    end
    return r
end

-- Resolve id or number to the numeric id; not_found when there is none.
local function id_of(id)
    return C.head(id).id
end

local function present(v)
    return v ~= nil and v ~= ""
end

-- " (did you mean 'x'?)" for an unknown field name k: the release's
-- fields and the workflow's own.
local function field_hint(k, custom)
    local names = {}
    for name in pairs(FIELDS) do
        names[#names + 1] = name
    end
    for name in pairs(custom) do
        names[#names + 1] = name
    end
    table.sort(names)
    return require("relm.workflow").suggest(k, names)
end

-- Turn user-facing field names into the names the core stores (custom
-- fields go to extra.<name>); raises invalid_field for unknown names and
-- for a value that is not of its declared type (fields = {name = "type"}).
-- where, when given, maps a field to the "file:line" of the workflow action
-- that set it: the refusal then names the action.
local function core_fields(wf, fields, allowed, what0, where)
    local out = {}
    local custom = custom_fields(wf)
    local types = wf.field_types or {}
    for k, v in pairs(fields) do
        local what = where and where[k] and ("%s: %s"):format(where[k], what0) or what0
        if type(k) ~= "string" then
            relm.error("invalid_field", what .. i18n._(": field names must be strings"), 4)
        end
        local f = FIELDS[k]
        if MANAGED[k] then
            relm.error("invalid_field", what .. i18n._(": field '") .. k
                .. i18n._("' is kept by the engine and cannot be set"), 4)
        elseif f then
            if allowed and not allowed(k, f) then
                relm.error("invalid_field", what .. i18n._(": field '") .. k .. i18n._("' cannot be set here"), 4)
            end
            out[k] = v
        elseif custom[k] then
            local bad = types[k] ~= nil and wf:field_error(k, v)
            if bad then
                relm.error("invalid_field", ("%s: %s"):format(what, bad), 4)
            end
            out["extra." .. k] = v
        else
            relm.error("invalid_field", what .. i18n._(": unknown field '") .. k .. "'" .. field_hint(k, custom)
                .. i18n._(" (see docs/releases.md)"), 4)
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
            relm.error("not_found", i18n._("register: no portfolio has a model named '") .. m
                .. i18n._("' (see relm.portfolio.list())"), 3)
        elseif #found > 1 then
            relm.error("invalid_field", (i18n._("register: model '%s' is in portfolios %s; name one with portfolio="))
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
        relm.error("invalid_argument", i18n._("relm.release.register: argument #1 must be a table, got ")
            .. type(spec), 2)
    end
    local fields = {}
    local model
    if spec.portfolio ~= nil or spec.model ~= nil then
        local pname, mname = model_names(spec)
        if type(pname) ~= "string" or type(mname) ~= "string" then
            relm.error("invalid_field", i18n._("register: portfolio and model go together, both names"), 2)
        end
        model = relm.portfolio.model(pname, mname)
        if model.status ~= "active" then
            relm.error("not_allowed",
                (i18n._("register: model '%s' of portfolio '%s' is %s; only active models can be used"))
                :format(mname, pname, model.status), 2)
        end
        fields.portfolio_id = model.portfolio_id
        fields.model_id = model.id
        for _, k in ipairs({ "executor_group", "impact", "urgency", "risk", "category", "type", "calendar",
            "sla_warning_percent" }) do
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
                    i18n._("register: contact must be a table {name=, email=, phone=, unit=, location=}"), 2)
            end
            for ck, cv in pairs(v) do
                if not FIELDS["contact_" .. tostring(ck)] then
                    relm.error("invalid_field", i18n._("register: unknown contact field '") .. tostring(ck) .. "'", 2)
                end
                fields["contact_" .. ck] = cv
            end
        elseif k == "priority" then
            relm.error("invalid_field",
                i18n._("register: priority is computed from impact and urgency (relm.priority)"), 2)
        elseif REGISTER_EXTRA[k] or M.register_keys[k] then -- luacheck: ignore 542
        elseif k == "portfolio_id" or k == "model_id" then
            relm.error("invalid_field", i18n._("register: name the model with portfolio= and model= (names), not ")
                .. k, 2)
        elseif MANAGED[k] then
            relm.error("invalid_field", i18n._("register: field '") .. k
                .. i18n._("' is kept by the engine and cannot be set"), 2)
        elseif FIELDS[k] then
            if not FIELDS[k].register then
                relm.error("invalid_field", i18n._("register: field '") .. k
                    .. i18n._("' cannot be set at registration"), 2)
            end
            fields[k] = v
        elseif custom[k] then
            fields["extra." .. k] = v
        else
            relm.error("invalid_field", i18n._("register: unknown field '") .. tostring(k) .. "'" .. field_hint(k,
                custom)
                .. i18n._(" (see docs/releases.md)"), 2)
        end
    end
    fields.impact = fields.impact or "medium"
    fields.urgency = fields.urgency or "medium"
    fields.priority = relm.priority.compute(fields.impact, fields.urgency, fields)
    if spec.sla_hours ~= nil then
        if type(spec.sla_hours) ~= "number" or spec.sla_hours <= 0 then
            relm.error("invalid_field", i18n._("register: sla_hours must be a positive number"), 2)
        end
        fields.sla_seconds = math.floor(spec.sla_hours * 3600)
    elseif model and model.sla_hours then
        fields.sla_seconds = math.floor(model.sla_hours * 3600)
    else
        fields.sla_seconds = relm.priority.sla_seconds(fields.priority)
    end
    return relm.tx(function()
        local r = to_release(C.register(wf.name, fields))
        for k, fn in pairs(M.register_keys) do
            if spec[k] ~= nil then
                fn(r, spec[k])
            end
        end
        return r
    end)
end

-- r with fields laid over it (a copy).
local function overlay_of(r, fields)
    local m = {}
    for k, v in pairs(r) do
        m[k] = v
    end
    for k, v in pairs(fields or {}) do
        m[k] = v
    end
    return m
end

-- Check opts.version (compare-and-set): an integer or nil.
local function check_version(opts, fname)
    if opts.version ~= nil and math.type(opts.version) ~= "integer" then
        relm.error("invalid_argument", fname
            .. i18n._(": opts.version must be the integer row_version of the release"), 3)
    end
    -- row_version starts at 1; the core reads 0 as "no check", so a 0
    -- (or less) would silently skip the compare-and-set.
    if math.type(opts.version) == "integer" and opts.version < 1 then
        relm.error("invalid_argument", fname
            .. i18n._(": opts.version must be the row_version you read (1 or more), got ")
            .. opts.version, 3)
    end
end

-- The priority the rule in force gives when the changes touch impact or
-- urgency (the rule is the user's process, relm.priority.rule, so it runs
-- here, in the caller's state; the engine takes priority only alongside
-- impact or urgency).
local function with_priority(id, fields)
    if fields.impact == nil and fields.urgency == nil then
        return fields
    end
    local f = {}
    for k, v in pairs(fields) do
        f[k] = v
    end
    local r = M.get(id)
    f.priority = relm.priority.compute(f.impact or r.impact, f.urgency or r.urgency, overlay_of(r, fields))
    return f
end

-- opts, argument #3 of fname: a table, or {} when nil; raises naming the
-- caller's line otherwise (level 3: the caller of update/act).
local function opts_table(opts, fname)
    if opts == nil then
        return {}
    end
    if type(opts) ~= "table" then
        relm.error("invalid_argument", fname .. i18n._(": argument #3 (opts) must be a table"), 3)
    end
    return opts
end
---Change fields of a release. Only fields the current state allows (its
---`editable` list, else every updatable field); priority follows impact
---and urgency. Closed and cancelled releases cannot be updated.
---opts.version: the row_version the caller read; a release written since
---is refused with `conflict` (compare-and-set, docs/releases.md).
---Raises not_found, invalid_field, not_allowed, permission_denied, conflict.
---@param id integer|string
---@param fields table
---@param opts table? {version = n}
---@return table release
function M.update(id, fields, opts)
    check_id(id, "relm.release.update")
    if type(fields) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.release.update: argument #2 (fields) must be a table"), 2)
    end
    opts = opts_table(opts, "relm.release.update")
    check_version(opts, "relm.release.update")
    if fields.priority ~= nil then
        relm.error("invalid_field", i18n._("update: priority is computed from impact and urgency (relm.priority)"), 2)
    end
    if next(fields) == nil then
        return M.get(id) -- nothing to change: no write, no occurrence
    end
    return to_release(C.update(id, with_priority(id, fields), { version = opts.version }))
end

-- How a list of actions prints (REPL, print): each action's name, what
-- scripts pass to act, beside its label in the reader's language.
local function actions_text(names)
    if #names == 0 then
        return i18n._("(no action is open to you now)")
    end
    local wf_name = C.head(getmetatable(names).release).workflow
    local rows = {}
    for i, name in ipairs(names) do
        rows[i] = { action = name, label = require("relm.workflow").action_label(wf_name, name) }
    end
    local pretty = require "relm.pretty"
    return pretty.table(rows, { "action", "label" }, {
        labels = { action = i18n._("action"), label = i18n._("label") }, header = pretty.header,
        width = pretty.terminal() and pretty.width or 0,
    })
end

---Names of the actions the acting user may take on the release now: those
---whose dry run passes (the real primitive, rolled back), primitives that
---need an input (a justification, a target) counted when only that input
---is missing.
---@param id integer|string
---@return string[]
function M.actions(id)
    check_id(id, "relm.release.actions")
    local names = C.actions(id)
    return setmetatable(names, { __name = "relm.actions", __tostring = actions_text, release = id })
end

local ACT_OPTS = {
    fields = true, note = true, justification = true, to_group = true, to_user = true, dry_run = true,
    version = true, reactivate_at = true,
}

---Take an action on a release: a transition of its workflow or a
---primitive (suspend, reactivate, cancel, reopen, close, capture, delegate,
---share). opts: fields= (set with the action; fields may also be given flat
---in opts), note=, justification= (id), reactivate_at= (suspend only: an
---ISO-8601 moment at which `relm serve` reactivates the release),
---to_group=/to_user= (delegate, share), dry_run=true (run the real action
---and roll it back; returns a report), version= (compare-and-set: refused
---with `conflict` when the release's row_version differs). Returns the
---release after the action (or the dry-run report). Raises not_found,
---not_allowed, invalid_field, justification_required, permission_denied,
---conflict.
---@param id integer|string
---@param action string
---@param opts table?
---@return table
function M.act(id, action, opts)
    check_id(id, "relm.release.act")
    if type(action) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.release.act: argument #2 (action) must be a string"), 2)
    end
    opts = opts_table(opts, "relm.release.act")
    if opts.fields ~= nil and type(opts.fields) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.release.act: opts.fields must be a table"), 2)
    end
    local jid = opts.justification
    if type(jid) == "table" then -- an entry of relm.justification.list()
        jid = jid.id
    end
    if opts.reactivate_at ~= nil and type(opts.reactivate_at) ~= "string" then
        relm.error("invalid_argument",
            i18n._("relm.release.act: opts.reactivate_at must be an ISO-8601 date and time, got ")
            .. type(opts.reactivate_at), 2)
    end
    if jid ~= nil and math.type(jid) ~= "integer" then
        relm.error("invalid_argument", i18n._("relm.release.act: opts.justification must be the id of a justification ")
            .. i18n._("(see relm.justification.list()), got ") .. type(opts.justification), 2)
    end
    local o = { fields = {}, justification = jid }
    for k, v in pairs(opts) do
        if k == "version" and math.type(v) ~= "integer" then
            -- A string is the release's own `version` field, given flat;
            -- an integer is the row_version to compare and set.
            if opts.fields and opts.fields.version ~= nil then
                relm.error("invalid_argument",
                    i18n._("relm.release.act: field 'version' given both flat and under fields="), 2)
            end
            o.fields.version = v
        elseif ACT_OPTS[k] then
            if k ~= "fields" and k ~= "justification" then
                o[k] = v
            end
        else
            -- Fields may also be given flat, next to the options:
            -- act(id, "accept", {closure_text = "...", ...}).
            if type(k) ~= "string" then
                relm.error("invalid_argument", i18n._("relm.release.act: unknown option '") .. tostring(k) .. "'", 2)
            end
            if opts.fields and opts.fields[k] ~= nil then
                relm.error("invalid_argument", i18n._("relm.release.act: field '") .. k
                    .. i18n._("' given both flat and under fields="), 2)
            end
            o.fields[k] = v
        end
    end
    for k, v in pairs(opts.fields or {}) do
        o.fields[k] = v
    end
    if o.fields.note ~= nil then
        -- "note" is the action's note, wherever it is given.
        o.note = o.note or o.fields.note
        o.fields.note = nil
    end
    if o.fields.priority ~= nil then
        relm.error("invalid_field", i18n._("act: priority is computed from impact and urgency (relm.priority)"), 2)
    end
    check_version(o, "relm.release.act")
    o.fields = with_priority(id, o.fields)
    local res = C.act(id, action, o)
    if o.dry_run then
        return res -- the dry-run report
    end
    return with_reactivate_at(to_release(res))
end

---Suspend a release: act(id, "suspend", opts). opts.justification (the id
---of a justification usable for suspend) is required; opts.reactivate_at
---(ISO-8601, in the future) has `relm serve` reactivate it then, as its
---user (docs/serve.md, "Schedules"); a reactivation by hand before cancels
---that. Raises as act does.
---@param id integer|string
---@param opts table {justification = id, reactivate_at = "2026-12-08T09:00:00Z", note = "..."}
---@return table release
function M.suspend(id, opts)
    check_id(id, "relm.release.suspend")
    if type(opts) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.release.suspend: argument #2 (opts) must be a table"), 2)
    end
    return M.act(id, "suspend", opts)
end

-- ---- the engine's side (runs only in the engine's private state) ------------

local E = {}

-- The transition from state that leads to the workflow's close state.
local function closing_transition(wf, state)
    for _, name in ipairs(wf:available(state)) do
        if wf.transitions[name].to == wf.close_state then
            return name
        end
    end
    return nil
end


-- What the engine's Lua needs to know of an action before C decides it:
-- the transition whose guard, gates and entry/exit actions apply (if any),
-- and, for the dry-run report and clear refusals up front, the kind and
-- where it would lead. C (relm_release_apply) works all of this out again
-- from its own copy of the compiled workflow and refuses whatever breaks a
-- rule, so a mistake here cannot move a release past one.
local function plan(r, wf, action)
    local t = wf.transitions[action]
    if t then
        if not t.from[r.state] then
            local from = {}
            for s in pairs(t.from) do
                from[#from + 1] = s
            end
            table.sort(from)
            relm.error("not_allowed", (i18n._("'%s' is not allowed on release %s: it is in state '%s' and '%s' ")
                .. i18n._("leaves only from %s")):format(action, r.number, r.state, action, table.concat(from,
                    ", ")), 0)
        end
        local kind = t.to == wf.cancel_state and "cancel" or "transition"
        return kind, { to_state = t.to, permission = kind == "cancel" and "cancel" or t.permission }, action
    end
    if not PRIMITIVES[action] then
        local names = wf:available(r.state)
        relm.error("not_allowed",
            (i18n._("unknown action '%s' for release %s (workflow '%s'; from state '%s': %s; primitives: %s)"))
            :format(tostring(action), r.number, wf.name, r.state,
                #names > 0 and table.concat(names, ", ") or i18n._("no transitions"), table.concat(M.primitives,
                    ", ")), 0)
    end
    local op = {}
    if action == "cancel" then
        op.to_state = wf.cancel_state
    elseif action == "reopen" then
        op.to_state = wf.reopen_to
    elseif action == "close" then
        local tname = r.status == "open" and closing_transition(wf, r.state) or nil
        op.to_state = wf.close_state
        op.permission = tname and wf.transitions[tname].permission or nil
        return "close", op, tname
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

-- The one ctx every path gives guards and actions: who acts, their
-- groups, the action and its note and, after a rejected approval round in
-- the release's state, who rejected and why.
local function guard_ctx(r, action, note)
    local me = relm.whoami()
    local ctx = { user = me, groups = C.actor_groups(), action = action, note = note }
    if r and r.id then
        ctx.rejected_by, ctx.rejection_note = require("relm.core.approval").last_rejection(r.id)
    end
    return ctx
end

-- The details of the last refusal (missing fields, the guard's reason),
-- which the dry-run report reads: kept here because a relm error crossing
-- relm.tx keeps only its code and message.
local last_refusal

-- Raise a refusal with details the dry-run report reads.
local function refuse(code, message, extra)
    last_refusal = extra
    relm.error(code, message, 0)
end

-- The real act, in the caller's transaction; returns the release after
-- it as the hooks saw it (to_view).
local function act_json(id, action, opts)
    -- Where it stands is enough to plan; the hook sees the full release.
    local r = C.head(id)
    local wf = M.workflow(r.workflow)
    local _, _, tname = plan(r, wf, action)
    local op = {}
    local fields = opts.fields or {}
    if fields.priority ~= nil and fields.impact == nil and fields.urgency == nil then
        relm.error("invalid_field", i18n._("act: priority is computed from impact and urgency (relm.priority)"), 0)
    end
    op.fields = core_fields(wf, fields, function(_, f) return f.update end, action)
    op.note = opts.note
    op.justification = opts.justification
    op.to_group = opts.to_group
    op.to_user = opts.to_user
    op.reactivate_at = opts.reactivate_at
    op.version = opts.version
    local hook, done_ctx
    if tname then
        -- Runs inside the core's transaction on the release as it is there.
        hook = function(snapshot)
            local cur = to_release(snapshot)
            local merged = overlay_of(cur, fields)
            local changes = {}
            -- C checked the editable fields and `by` before calling; it
            -- checks required fields again after the changes below. The
            -- early look here only lets the dry run list what is missing
            -- before a guard speaks.
            local locked = wf.locked and wf:locked(cur.state, fields)
            if locked then
                relm.error("invalid_field", ("%s: %s"):format(action, locked))
            end
            if tname then
                local missing = missing_fields(required(wf, cur, tname), merged, opts.note)
                local unprompted = wf.unprompted and wf:unprompted(tname, fields, opts.note) or {}
                if #missing > 0 then
                    -- Name the prompt fields too, so one dry run lists all
                    -- that is lacking (as wf:explain does).
                    local all, also, seen = {}, {}, {}
                    for _, f in ipairs(missing) do
                        all[#all + 1], seen[f] = f, true
                    end
                    for _, f in ipairs(unprompted) do
                        if not seen[f] then
                            all[#all + 1], also[#also + 1] = f, f
                        end
                    end
                    refuse("invalid_field",
                        (i18n._("'%s' is not allowed on release %s: missing required field(s): %s%s"))
                        :format(action, cur.number, table.concat(missing, ", "), #also > 0
                            and (i18n._("; and give %s with the action itself (fields = {...})")):format(
                                table.concat(also, ", ")) or ""), { missing = all })
                end
                if #unprompted > 0 then
                    refuse("invalid_field", (i18n._("'%s' on release %s needs %s given with the action itself ")
                        .. i18n._("(fields = {...}), even when the release already has a value")):format(action,
                            cur.number,
                        table.concat(unprompted, ", ")), { missing = unprompted })
                end
                -- The full ctx costs two queries: built when a guard or an
                -- action of this move will see it.
                local t = wf.transitions[tname]
                local st_from, st_to = wf.states[cur.state] or {}, wf.states[t.to] or {}
                local ctx
                if t.guard_fn or #(st_from._exit or {}) > 0 or #(st_to._enter or {}) > 0 then
                    ctx = guard_ctx(cur, action, opts.note)
                else
                    ctx = { user = relm.whoami(), action = action, note = opts.note }
                end
                done_ctx = ctx
                local gok, reason = wf:guard(tname, merged, ctx)
                if not gok then
                    refuse("not_allowed", (i18n._("'%s' is not allowed on release %s: %s")):format(
                        action, cur.number, tostring(reason or i18n._("the workflow's guard refused"))),
                            { guard = reason })
                end
                extensions("transition_gate", cur, wf, tname, ctx)
                local to = wf.transitions[tname].to
                local ex, ex_at = wf:exit(cur.state, merged, ctx)
                local en, en_at = wf:enter(to, merged, ctx)
                for _, c in ipairs({ { ex, ex_at }, { en, en_at } }) do
                    local ch, at = c[1], c[2] or {}
                    if ch then
                        if ch.priority ~= nil then
                            relm.error("invalid_field",
                                (i18n._("%s: workflow action: priority is computed from impact and ")
                                .. i18n._("urgency (relm.priority); an action may not set it")):format(
                                at.priority or "?"))
                        end
                        local by_workflow = function(_, f) return f.workflow end
                        for k, v in pairs(core_fields(wf, ch, by_workflow, "workflow action", at)) do
                            changes[k] = v
                        end
                    end
                end
            end
            if fields.priority == nil and (changes.impact ~= nil or changes.urgency ~= nil) then
                local all = overlay_of(op.fields, changes)
                reprioritise(all, cur)
                changes.priority = all.priority
            end
            return changes
        end
    end
    return relm.tx(function()
        -- Decoded once, here: the hooks read it and the caller's state
        -- gets a copy of the table (the snapshot is not decoded twice).
        local after = to_view(C.apply(r.id, action, op, hook))
        extensions("transition_done", r, after, wf, tname,
            done_ctx or { user = relm.whoami(), action = action, note = opts.note })
        return after
    end)
end

-- Rolled back on purpose: the probe a dry run raises to undo its writes.
local PROBE = setmetatable({}, { __name = "relm.dry_run" })

-- Run the real action inside a savepoint and roll it back. Returns true,
-- the snapshot it would leave; or false and the refusal.
local function try(id, action, opts)
    local after
    last_refusal = nil
    local ok, err = pcall(relm.tx, function()
        after = act_json(id, action, opts)
        error(PROBE, 0)
    end)
    if not ok and err == PROBE then
        return true, after
    end
    return false, err, last_refusal or {}
end

-- The code and the message of a refusal e, exactly as act raises them
-- (a relm error; anything else, which act would raise too, as "error").
local function refusal(e)
    if type(e) == "table" and e.code then
        return e.code, tostring(e.message or e.code)
    end
    return "error", tostring(e)
end

-- The dry-run report: what the real action did before it was undone.
-- Every refusal is reported the same way: `code` and `reason` are the
-- code and the message the real act raises, whatever refused it (no such
-- action, permission, a missing field, the guard, a gate, a blackout).
local function dry_run(id, action, opts)
    local r = M.get(id)
    local wf = M.workflow(r.workflow)
    local out = { action = action, from = r.state, to = r.state, missing = {} }
    local pok, kind, op = pcall(plan, r, wf, action)
    if not pok then
        -- No such action from here: the refusal as act raises it.
        out.allowed, out.error = false, kind
        out.code, out.reason = refusal(kind)
        return out
    end
    do
        out.kind, out.to = kind, op.to_state or r.state
        local perm = op.permission or PRIMITIVES[kind] or "execute"
        out.permission = { name = perm, granted = C.can(wf.name, perm) }
    end
    local ok, res, detail = try(id, action, opts)
    out.allowed = ok
    if ok then
        out.to, out.status = res.state, res.status
        return out
    end
    local code, msg = refusal(res)
    out.code, out.reason, out.error = code, msg, res
    if detail.missing then
        out.missing = detail.missing
    else
        local list = msg:match("missing required field%(s%): (.*)$")
            or select(3, i18n.match(msg, "'%s' is not allowed on release %s: missing required field(s): %s"))
        for f in (list or ""):gmatch("[^, ]+") do
            out.missing[#out.missing + 1] = f
        end
    end
    out.guard = { ok = detail.guard == nil, reason = detail.guard }
    local jbad = code == "justification_required"
    out.justification = { ok = not jbad, reason = jbad and msg or nil }
    if code == "permission_denied" and out.permission then
        out.permission.granted = out.permission.granted and not msg:find("'" .. out.permission.name .. "'", 1, true)
    end
    return out
end

function E.act(id, action, opts)
    if opts.dry_run then
        return dry_run(id, action, opts)
    end
    return act_json(id, action, opts)
end

function E.update(id, fields, opts)
    local r = M.get(id)
    local wf = M.workflow(r.workflow)
    if fields.priority ~= nil and fields.impact == nil and fields.urgency == nil then
        relm.error("invalid_field", i18n._("update: priority is computed from impact and urgency (relm.priority)"), 0)
    end
    local locked = wf.locked and wf:locked(r.state, fields)
    if locked then
        relm.error("invalid_field", "update: " .. locked, 0)
    end
    local changes = core_fields(wf, fields, function(_, f) return f.update end, "update")
    if changes.priority == nil then
        reprioritise(changes, r)
    end
    return C.apply(r.id, "update", { fields = changes, version = opts.version })
end

-- Whether a refusal says only that the caller gave no input the action
-- takes (a justification, a target, a note): actions() still offers it.
local function wants_input(err, detail)
    if type(err) ~= "table" then
        return false
    end
    return err.code == "justification_required" or detail.missing ~= nil
        or (err.code == "invalid_field" and i18n.match(tostring(err.message), "%s needs to_group or to_user") ~= nil)
end

function E.actions(id)
    local r = M.get(id)
    local wf = M.workflow(r.workflow)
    local names = {}
    if r.status == "open" then
        for _, name in ipairs(wf:available(r.state)) do
            names[#names + 1] = name
        end
    end
    for _, p in ipairs(M.primitives) do
        names[#names + 1] = p
    end
    local out = {}
    for _, name in ipairs(names) do
        if not (name == "capture" and r.responsible == relm.whoami()) then
            local ok, err, detail = try(r.id, name, {})
            if ok or wants_input(err, detail) then
                out[#out + 1] = name
            end
        end
    end
    return out
end

function E.register(wfname, given)
    local wf = M.workflow(wfname)
    -- The caller's fields are checked here as for update: known names (a
    -- workflow field by its name or as extra.<name>, of its declared type),
    -- settable at registration; the model's ids as relm.release.register
    -- looked them up; priority only with impact or urgency.
    local plain = {}
    for k, v in pairs(given) do
        if type(k) == "string" and k:sub(1, 6) == "extra." then
            k = k:sub(7)
        end
        plain[k] = v
    end
    local portfolio_id, model_id = plain.portfolio_id, plain.model_id
    plain.portfolio_id, plain.model_id = nil, nil
    if plain.priority ~= nil and plain.impact == nil and plain.urgency == nil then
        relm.error("invalid_field", i18n._("register: priority is computed from impact and urgency (relm.priority)"), 0)
    end
    local fields = core_fields(wf, plain, function(_, f) return f.register end, "register")
    local locked = wf.locked and wf:locked(wf.initial, plain)
    if locked then
        relm.error("invalid_field", "register: " .. locked, 0)
    end
    fields.portfolio_id, fields.model_id = portfolio_id, model_id
    local initial = wf.initial
    local st = wf.states[initial]
    local changes, at
    if #(st._enter or {}) > 0 then
        changes, at = wf:enter(initial, fields, guard_ctx(nil, "register", nil))
    end
    if changes then
        at = at or {}
        if changes.priority ~= nil then
            relm.error("invalid_field", (i18n._("%s: entry action: priority is computed from impact and urgency ")
                .. "(relm.priority)"):format(at.priority or "?"), 0)
        end
        for k, v in pairs(core_fields(wf, changes, function(_, f) return f.register end, "entry action", at)) do
            fields[k] = v
        end
    end
    return relm.tx(function()
        local _, json = C.register(wf.name, initial, st.phase, fields)
        -- The hooks write activities and approval rounds, not the release
        -- row: the snapshot register returned is still the release's.
        extensions("registered", to_release(json), wf)
        return json
    end)
end

function E.install(path)
    local wf = define(relm.workflow.reload(path))
    keep(wf.name, wf)
    keep(path, wf)
    return wf.name
end

-- Compile workflow name (if not yet) and hand it to C: relm.permission.grant
-- of a workflow's own permission name checks it against that definition.
function E.define(name)
    M.workflow(name)
    return true
end

function E.reload(name)
    keep(name, define(relm.workflow.reload(name)))
    return true
end

-- serve's SIGHUP (relm.reload): compile every workflow the engine holds
-- again from its file; one that fails keeps its old definition (E.reload
-- and E.install replace it only once the new one compiled).
local function reload_workflows()
    local names, problems = {}, {}
    for name in pairs(compiled) do
        names[#names + 1] = name
    end
    table.sort(names)
    for _, name in ipairs(names) do
        local is_path = name:find("/", 1, true) or name:match("%.lua$")
        local ok, err = pcall(is_path and E.install or E.reload, name)
        if not ok then
            problems[#problems + 1] = type(err) == "table" and tostring(err.message) or tostring(err)
            -- Not again until the file changes again.
            read_at[name] = require("relm.reload").mtime(compiled[name].path)
        end
    end
    return problems
end

-- Whether a compiled workflow's file was written since it was read.
local function workflows_changed()
    local mtime = require("relm.reload").mtime
    for name, wf in pairs(compiled) do
        if mtime(wf.path) ~= read_at[name] then
            return true
        end
    end
    return false
end

if ENGINE then
    require("relm.reload").register("workflow", reload_workflows, workflows_changed)
end

M._engine = ENGINE and E or nil

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

---Every conflict of the release (docs/calendars.md): relm.window.conflicts.
function M.conflicts(...) return require("relm.window").conflicts(...) end

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
