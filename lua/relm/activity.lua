-- relm/activity.lua: the planning and deployment activities of releases. A
-- kanban board per release (todo, in_progress, done, cancelled) with owners,
-- order, dependencies and schedule; writes are C primitives (one transaction,
-- permission checked, an occurrence in the release's log). docs/activities.md.
local i18n = require "relm.i18n"
local C = require "relm.core.activity"
local R = require "relm.core.release"
local cjson = require "cjson"

local M = {}

---The board columns, in order.
M.columns = { "todo", "in_progress", "done", "cancelled" }
local COLUMN = { todo = true, in_progress = true, done = true, cancelled = true }

local FIELDS = {
    phase = "string", title = "string", description = "string", group = "string", owner = "string",
    scheduled_at = "string", notes = "string", status = "string", order = "integer",
    estimated_minutes = "integer", actual_minutes = "integer",
}

-- A JSON value from the core, with whole numbers (ids, minutes) as integers.
local decode = require("relm.json").decode
local check_keys = require("relm.args").check_keys

-- The release id for a release id, number or release table.
local function release_id(rel, fname)
    if math.type(rel) == "integer" then
        return rel
    elseif type(rel) == "string" then
        local _, id = R.get(rel)
        return id
    elseif type(rel) == "table" and math.type(rel.id) == "integer" then
        return rel.id
    end
    relm.error("invalid_argument", fname
        .. i18n._(": argument #1 (release) must be a release id, number or table, got ")
        .. type(rel), 3)
end

-- The activity id for an id or an activity table (raises
-- invalid_argument naming fname and argument argn).
local function activity_id(id, fname, argn)
    if type(id) == "table" and math.type(id.id) == "integer" then
        return id.id
    end
    if math.type(id) ~= "integer" then
        relm.error("invalid_argument", (i18n._("%s: argument #%d must be an activity id or table, got %s"))
            :format(fname, argn or 1, type(id)), 3)
    end
    return id
end

-- Check a spec table's keys and value types (messages name the field).
local function check_fields(spec, fname, allowed)
    if type(spec) ~= "table" then
        relm.error("invalid_argument", fname .. i18n._(": fields must be a table, got ") .. type(spec), 3)
    end
    for k, v in pairs(spec) do
        local want = FIELDS[k]
        if not want or (allowed and not allowed[k]) then
            relm.error("invalid_field", fname .. i18n._(": unknown field '") .. tostring(k)
                .. i18n._("' (see docs/activities.md)"), 3)
        end
        local ok = v == false or (want == "integer" and math.type(v) == "integer") or type(v) == want
        if not ok then
            relm.error("invalid_field", (i18n._("%s: %s must be a%s %s, got %s")):format(fname, k,
                want == "integer" and "n" or "", want, type(v)), 3)
        end
    end
end

---Add an activity to a release. spec: phase ("planning" or "deployment",
---required), title (required), description, group (owner group), owner
---(person), order (position in the phase; default: last), scheduled_at,
---estimated_minutes, actual_minutes, notes, status (default "todo"), and
---waits_for = {activity ids} it depends on. Needs permission execute on the
---release's workflow. Raises not_found, invalid_field, permission_denied,
---not_allowed (release closed or cancelled; a dependency cycle).
---@param release integer|string|table id, number or release
---@param spec table
---@return table activity
function M.add(release, spec)
    local rid = release_id(release, "relm.activity.add")
    if type(spec) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.activity.add: argument #2 (spec) must be a table, got ")
            .. type(spec), 2)
    end
    local waits = spec.waits_for
    local fields = {}
    for k, v in pairs(spec) do
        if k ~= "waits_for" then
            fields[k] = v
        end
    end
    check_fields(fields, "relm.activity.add")
    if waits ~= nil and type(waits) ~= "table" then
        relm.error("invalid_field", i18n._("relm.activity.add: waits_for must be an array of activity ids"), 2)
    end
    return relm.tx(function()
        local id, json = C.add(rid, fields)
        for i, on in ipairs(waits or {}) do
            json = C.depend(id, activity_id(on, "relm.activity.add waits_for", i), true)
        end
        return decode(json)
    end)
end

---An activity by id: {id=, release=, release_id=, phase=, title=, status=,
---order=, group=, owner=, scheduled_at=, estimated_minutes=, actual_minutes=,
---notes=, depends_on={ids}, started_at=, finished_at=, ...}.
---@param id integer
---@return table activity
function M.get(id)
    return decode(C.get(activity_id(id, "relm.activity.get")))
end

---The activities of a release, planning first, each phase in order.
---filter (optional): phase=, status=, group=, owner= to keep only matching ones.
---@param release integer|string|table
---@param filter table?
---@return table[]
function M.list(release, filter)
    local rid = release_id(release, "relm.activity.list")
    if filter ~= nil and type(filter) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.activity.list: argument #2 (filter) must be a table"), 2)
    end
    local all = decode(C.list(rid))
    if not filter or next(filter) == nil then
        return all
    end
    local out = {}
    for _, a in ipairs(all) do
        local keep = true
        for k, v in pairs(filter) do
            if a[k] ~= v then
                keep = false
            end
        end
        if keep then
            out[#out + 1] = a
        end
    end
    return out
end

---Change fields of an activity (any of add's fields but waits_for; false or
---"" clears a text field). Allowed with permission execute, or to the
---activity's owner (the person or a member of its group).
---Raises not_found, invalid_field, permission_denied, not_allowed.
---@param id integer
---@param fields table
---@return table activity
function M.update(id, fields)
    id = activity_id(id, "relm.activity.update")
    check_fields(fields, "relm.activity.update")
    if next(fields) == nil then
        relm.error("invalid_argument", i18n._("relm.activity.update: nothing to change"), 2)
    end
    return decode(C.update(id, fields, "activity.update"))
end

---Move an activity to a board column: "todo", "in_progress", "done" or
---"cancelled". opts: note=, actual_minutes=. Starting or finishing an
---activity that waits for others needs them done or cancelled first
---(not_allowed naming them).
---@param id integer
---@param column string
---@param opts table?
---@return table activity
function M.move(id, column, opts)
    id = activity_id(id, "relm.activity.move")
    if not COLUMN[column] then
        relm.error("invalid_argument", i18n._("relm.activity.move: argument #2 (column) must be one of ")
            .. table.concat(M.columns, ", ") .. i18n._(", got ") .. tostring(column), 2)
    end
    opts = opts or {}
    if type(opts) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.activity.move: argument #3 (opts) must be a table"), 2)
    end
    check_keys(opts, { "note", "actual_minutes" }, "relm.activity.move")
    local fields = { status = column, actual_minutes = opts.actual_minutes }
    check_fields(fields, "relm.activity.move")
    if opts.note ~= nil and type(opts.note) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.activity.move: opts.note must be a string"), 2)
    end
    return decode(C.update(id, fields, "activity.move", opts.note))
end

---Schedule an activity: at is a date/time (YYYY-MM-DD[THH:MM[:SS]][Z]) or
---false to unschedule. opts: estimated_minutes=, owner=, group=, note=.
---@param id integer
---@param at string|false
---@param opts table?
---@return table activity
function M.schedule(id, at, opts)
    id = activity_id(id, "relm.activity.schedule")
    if at ~= false and type(at) ~= "string" then
        relm.error("invalid_argument",
            i18n._("relm.activity.schedule: argument #2 (at) must be a date string or false"), 2)
    end
    opts = opts or {}
    if type(opts) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.activity.schedule: argument #3 (opts) must be a table"), 2)
    end
    local fields = { scheduled_at = at }
    local note
    for k, v in pairs(opts) do
        if k == "note" then
            note = v
        elseif k == "estimated_minutes" or k == "owner" or k == "group" then
            fields[k] = v
        else
            relm.error("invalid_argument", i18n._("relm.activity.schedule: unknown option '") .. tostring(k) .. "'", 2)
        end
    end
    check_fields(fields, "relm.activity.schedule")
    return decode(C.update(id, fields, "activity.schedule", note))
end

---Make activity a wait for activity b (b must be done or cancelled before a
---starts). Both on the same release. A dependency that would close a cycle
---raises not_allowed naming the path; an existing one raises duplicate.
---@param a integer
---@param b integer
---@return table activity a
function M.depend(a, b)
    a = activity_id(a, "relm.activity.depend", 1)
    b = activity_id(b, "relm.activity.depend", 2)
    return decode(C.depend(a, b, true))
end

---Stop activity a waiting for b (not_found when it did not).
---@param a integer
---@param b integer
---@return table activity a
function M.undepend(a, b)
    a = activity_id(a, "relm.activity.undepend", 1)
    b = activity_id(b, "relm.activity.undepend", 2)
    return decode(C.depend(a, b, false))
end

---Activities of the release's phase that are neither done nor cancelled.
---@param release integer|string|table
---@param phase string "planning" or "deployment"
---@return table[]
function M.open(release, phase)
    local rid = release_id(release, "relm.activity.open")
    local out = {}
    for _, a in ipairs(decode(C.list(rid))) do
        if a.phase == phase and a.status ~= "done" and a.status ~= "cancelled" then
            out[#out + 1] = a
        end
    end
    return out
end

-- DOT text: double quotes and backslashes escaped, newlines as \n.
local function dot_string(s)
    return '"' .. tostring(s):gsub('[\\"]', "\\%0"):gsub("\n", "\\n") .. '"'
end

local FILL = { todo = "white", in_progress = "lightyellow", done = "palegreen", cancelled = "lightgrey" }

---The dependency order of a release's activities as a Graphviz DOT digraph:
---one box per activity (grouped by phase, coloured by column), an arrow from
---each activity to those waiting for it. `dot -Tsvg` draws it.
---@param release integer|string|table
---@return string dot
function M.dot(release)
    local rid = release_id(release, "relm.activity.dot")
    local acts = decode(C.list(rid))
    local json = R.get(rid)
    local number = cjson.decode(json).number
    local out = {
        "digraph " .. dot_string(number .. " activities") .. " {",
        '  rankdir=LR; fontname="Helvetica";',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
    }
    local last_planning, first_deployment
    for _, phase in ipairs({ "planning", "deployment" }) do
        local any = false
        for _, a in ipairs(acts) do
            if a.phase == phase then
                if phase == "planning" then
                    last_planning = a.id
                else
                    first_deployment = first_deployment or a.id
                end
                if not any then
                    out[#out + 1] = "  subgraph cluster_" .. phase .. " {"
                    out[#out + 1] = "    label=" .. dot_string(phase) .. ";"
                    any = true
                end
                local who = a.owner or a.group
                local label = ("#%d %s\n%s%s"):format(a.id, a.title, a.status, who and (" · " .. who) or "")
                out[#out + 1] = ("    a%d [label=%s, fillcolor=%s];"):format(a.id, dot_string(label), FILL[a.status])
            end
        end
        if any then
            out[#out + 1] = "  }"
        end
    end
    local drawn = {}
    for _, a in ipairs(acts) do
        for _, on in ipairs(a.depends_on or {}) do
            out[#out + 1] = ("  a%d -> a%d;"):format(on, a.id)
            drawn[on .. ">" .. a.id] = true
        end
    end
    if last_planning and first_deployment and not drawn[last_planning .. ">" .. first_deployment] then
        -- Layout only: planning is drawn left of deployment, as it comes first.
        out[#out + 1] = ("  a%d -> a%d [style=invis];"):format(last_planning, first_deployment)
    end
    out[#out + 1] = "}"
    return table.concat(out, "\n") .. "\n"
end

-- ---- hooks called by relm.release (inside its transactions) ----------------

---Called by relm.release inside a transition's transaction, before anything
---is written: refuses (not_allowed) to move a release from its planning phase
---into deployment while a planning activity is neither done nor cancelled.
---A workflow relaxes it with `activities = "any"` on the transition or the
---state it leaves, and asks the same of any phase with `activities = "done"`.
---@param r table the release as it is in the transaction
---@param wf table the compiled workflow
---@param tname string the transition
function M.transition_gate(r, wf, tname)
    local t = wf.transitions[tname]
    if not t then
        return
    end
    local from = wf.states[r.state] or {}
    local to = wf.states[t.to] or {}
    local rule = t.activities
    if rule == nil then
        rule = from.activities
    end
    if rule == "any" then
        return
    end
    local phase
    if rule == "done" and (r.phase == "planning" or r.phase == "deployment") then
        phase = r.phase
    elseif r.phase == "planning" and to.phase == "deployment" then
        phase = "planning"
    end
    if not phase then
        return
    end
    local open = M.open(r.id, phase)
    if #open > 0 then
        local names = {}
        for i, a in ipairs(open) do
            if i > 5 then
                names[#names + 1] = ("and %d more"):format(#open - 5)
                break
            end
            names[#names + 1] = ("#%d '%s' (%s)"):format(a.id, a.title, a.status)
        end
        relm.error("not_allowed",
            (i18n.n_("'%s' is not allowed on release %s: %d %s activity is not done or cancelled: %s",
            "'%s' is not allowed on release %s: %d %s activities are not done or cancelled: %s", #open))
            :format(tname, r.number, #open, phase, table.concat(names, ", ")))
    end
end

---Called by relm.release inside register's transaction: copies the model's
---pre-filled planning and deployment activities (models.prefill) onto the
---new release. A group or person the template names that does not exist is
---left out and said so in the activity's notes, so a template never blocks
---registration.
---@param r table the new release
function M.registered(r)
    local row = relm.sql([[SELECT m.prefill FROM releases r JOIN models m ON m.id = r.model_id
        WHERE r.id = ?]], r.id)[1]
    if not row or not row.prefill then
        return
    end
    local prefill = decode(row.prefill)
    for _, phase in ipairs({ "planning", "deployment" }) do
        for _, p in ipairs(prefill[phase] or {}) do
            local spec = { phase = phase, title = p.title, description = p.description }
            local notes = {}
            if p.group then
                if relm.sql("SELECT 1 FROM groups WHERE name = ?", p.group)[1] then
                    spec.group = p.group
                else
                    notes[#notes + 1] = "template names group '" .. p.group .. "', which does not exist"
                end
            end
            if p.assignee then
                if relm.sql("SELECT 1 FROM users WHERE name = ? AND active = 1", p.assignee)[1] then
                    spec.owner = p.assignee
                else
                    notes[#notes + 1] = "template names person '" .. p.assignee .. "', who is not an active user"
                end
            end
            if type(p.estimate_hours) == "number" then
                spec.estimated_minutes = math.floor(p.estimate_hours * 60 + 0.5)
            end
            if #notes > 0 then
                spec.notes = table.concat(notes, "; ")
            end
            C.add(r.id, spec, "activity.prefill", "create")
        end
    end
end

return M
