-- relm/window.lua: freeze windows (relm.window.add/list/get/remove) and the
-- conflicts of a release (relm.release.conflicts); C keeps and enforces them.
local C = require "relm.core.window"
local args = require "relm.args"
local i18n = require "relm.i18n"
local json = require "relm.json"

local M = {}

---Window kinds.
M.kinds = { "blackout", "maintenance" }
---Conflict kinds, as relm.release.conflicts reports them.
M.conflict_kinds = { "scheduled", "blackout", "maintenance", "person" }

local ADD_KEYS = { "name", "kind", "starts", "ends", "from", "to", "duration", "rrule", "tz", "scope", "cis",
    "types", "services", "reason" }
local SCOPES = { "cis", "types", "services" }

local function fail(code, msg)
    relm.error(code, msg, 1)
end

-- A window from the core's JSON, with JSON nulls left out (absent fields).
local function decoded(text)
    local t = json.decode(text)
    local function strip(w)
        for k, v in pairs(w) do
            if type(v) == "userdata" then
                w[k] = nil
            end
        end
        return w
    end
    if t[1] ~= nil or next(t) == nil then
        for _, w in ipairs(t) do
            strip(w)
        end
        return t
    end
    return strip(t)
end

-- Seconds from a duration: a number of seconds, or "90m", "2h", "1d",
-- "1h30m".
local function seconds_of(v)
    if math.type(v) == "integer" or (type(v) == "number" and v == math.floor(v)) then
        return math.tointeger(v)
    end
    if type(v) ~= "string" or v == "" then
        return nil
    end
    local total, rest = 0, v
    local units = { s = 1, m = 60, h = 3600, d = 86400, w = 604800 }
    while rest ~= "" do
        local n, u, tail = rest:match("^(%d+)([smhdw])(.*)$")
        if not n then
            return nil
        end
        total, rest = total + tonumber(n) * units[u], tail
    end
    return total
end

-- The scope of a spec: {kind, names}, from scope = {cis = {...}} or the
-- top-level cis/types/services (the acceptance interface's form).
local function scope_of(spec, fn)
    local src = spec.scope
    if src ~= nil and type(src) ~= "table" then
        fail("invalid_argument", i18n._("%s: scope must be a table like {cis = {\"db-01\"}}, got %s")
            :format(fn, type(src)))
    end
    src = src or spec
    local found
    for _, k in ipairs(SCOPES) do
        if src[k] ~= nil then
            if found then
                fail("invalid_argument", i18n._("%s: give one of cis, types or services, not both %s and %s")
                    :format(fn, found, k))
            end
            found = k
        end
    end
    if spec.scope ~= nil then
        args.check_keys(spec.scope, SCOPES, fn, "scope")
    end
    if not found then
        fail("invalid_argument", i18n._("%s: a window needs a scope: cis = {...}, types = {...} or services = {...}")
            :format(fn))
    end
    local names = src[found]
    if type(names) == "string" then
        names = { names }
    end
    if type(names) ~= "table" or #names == 0 then
        fail("invalid_argument", i18n._("%s: %s must be a non-empty list of names"):format(fn, found))
    end
    for i, n in ipairs(names) do
        if type(n) ~= "string" or n == "" then
            fail("invalid_argument", i18n._("%s: %s[%d] must be a name, got %s"):format(fn, found, i, type(n)))
        end
    end
    return found, names
end

---Define a freeze window. spec: name=, kind="blackout"|"maintenance",
---starts= (or from=), ends= (or to=) | duration= (seconds or "2h"),
---rrule="FREQ=WEEKLY;BYDAY=SA,SU;UNTIL=...", tz="Europe/Paris",
---scope={cis={...}} | {types={...}} | {services={...}} (or cis=/types=/
---services= at the top), reason=. Needs the cmdb permission.
---Raises invalid_argument, invalid_rrule, invalid_tz, not_found,
---duplicate, permission_denied.
---@param spec table
---@return integer id
function M.add(spec)
    local fn = "relm.window.add"
    if type(spec) ~= "table" then
        fail("invalid_argument", i18n._("%s: argument #1 must be a table {name=, kind=, starts=, ends=, ...}, got %s")
            :format(fn, type(spec)))
    end
    args.check_keys(spec, ADD_KEYS, fn, "field")
    for _, k in ipairs({ "name", "kind", "rrule", "tz", "reason" }) do
        if spec[k] ~= nil and type(spec[k]) ~= "string" then
            fail("invalid_argument", i18n._("%s: %s must be a string, got %s"):format(fn, k, type(spec[k])))
        end
    end
    local starts, ends = spec.starts or spec.from, spec.ends or spec.to
    if type(starts) ~= "string" then
        fail("invalid_argument", i18n._("%s: starts must be a date and time like \"2026-12-24T18:00\", got %s")
            :format(fn, type(starts)))
    end
    if ends ~= nil and type(ends) ~= "string" then
        fail("invalid_argument", i18n._("%s: ends must be a date and time, got %s"):format(fn, type(ends)))
    end
    local duration
    if spec.duration ~= nil then
        duration = seconds_of(spec.duration)
        if not duration or duration <= 0 then
            fail("invalid_argument", i18n._("%s: duration must be seconds > 0 or a text like \"2h\" or \"1h30m\", "
                .. "got %s"):format(fn, tostring(spec.duration)))
        end
    end
    local scope, names = scope_of(spec, fn)
    return C.add(spec.name or "", spec.kind or "", starts, ends, duration, spec.rrule, spec.tz, scope, names,
        spec.reason)
end

---Remove the window called name. Raises not_found, permission_denied.
---@param name string
---@return boolean
function M.remove(name)
    if type(name) ~= "string" then
        fail("invalid_argument", i18n._("relm.window.remove: argument #1 (name) must be a string, got %s")
            :format(type(name)))
    end
    return C.remove(name)
end

---The window called name: {id=, name=, kind=, starts=, ends=, duration=,
---rrule=, tz=, until=, scope=, names=, reason=}. Raises not_found.
---@param name string
---@return table
function M.get(name)
    if type(name) ~= "string" then
        fail("invalid_argument", i18n._("relm.window.get: argument #1 (name) must be a string, got %s")
            :format(type(name)))
    end
    return decoded(C.get(name))
end

---Every window, by name.
---@return table[]
function M.list()
    return decoded(C.get(nil))
end

---The occurrences of window name overlapping [from, to) as
---{{starts=, ends=}, ...} (ISO-8601 UTC), expanded in the window's zone.
---@param name string
---@param from string
---@param to string
---@return table[]
function M.occurrences(name, from, to)
    local w = M.get(name)
    local t = require "relm.calendar_view"
    local out = {}
    for i, s in ipairs(C.spans(w.id, t.epoch(from, "relm.window.occurrences", "from"),
        t.epoch(to, "relm.window.occurrences", "to"))) do
        out[i] = { starts = C.iso(s[1]), ends = C.iso(s[2]) }
    end
    return out
end

-- Release id from an id or a number ("REL-2026-000001"): the release
-- core's head lookup, which raises not_found naming it.
local function release_id(id, fn)
    if math.type(id) ~= "integer" and type(id) ~= "string" then
        fail("invalid_argument", i18n._("%s: argument #1 (release) must be a release id or number, got %s")
            :format(fn, type(id)))
    end
    return require("relm.core.release").head(id).id
end

---Every conflict of a release as things stand now: an array of {kind=,
---ci=, release= (the other one), window=, starts=, ends=, path=, reason=}.
---kind: "scheduled", "blackout", "maintenance" or "person". Raises
---not_found.
---@param id integer|string release id or number
---@return table[]
function M.conflicts(id)
    return C.conflicts(release_id(id, "relm.release.conflicts"))
end

---Recompute the kept conflicts (the desktop's count) of every release
---whose planned window, responsible, status or CIs changed, or of every
---open one after a window changed. Returns how many were recomputed.
---@return integer
function M.refresh()
    return C.refresh()
end

---How many conflicts the desktop shows for release id (kept copy,
---refreshed first).
---@param id integer
---@return integer
function M.count(id)
    C.refresh()
    local row = relm.sql("SELECT count FROM release_conflict_state WHERE release_id = ?", id)[1]
    return row and row.count or 0
end

return M
