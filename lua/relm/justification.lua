-- relm/justification.lua: the catalogue of reasons a person
-- gives to suspend, cancel or reopen a release. Administrators maintain it.
local i18n = require "relm.i18n"
local P = require "relm.core.people"

local M = {}

---Add a justification. spec: description (required); suspend, cancel,
---reopen (booleans: what it may justify, at least one); active (default
---true). Returns its id. Raises invalid_field, permission_denied.
---@param spec {description: string, suspend: boolean?, cancel: boolean?, reopen: boolean?, active: boolean?}
---@return integer
function M.add(spec)
    if type(spec) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.justification.add: argument #1 must be a table, got ")
            .. type(spec), 2)
    end
    return P.justification_add(spec)
end

---Change a justification: any of description, suspend, cancel, reopen,
---active. Raises not_found, invalid_field, permission_denied.
---@param id integer
---@param fields table
function M.update(id, fields)
    if math.type(id) ~= "integer" then
        relm.error("invalid_argument", i18n._("relm.justification.update: argument #1 (id) must be an integer"), 2)
    end
    if type(fields) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.justification.update: argument #2 (fields) must be a table"), 2)
    end
    P.justification_update(id, fields)
end

local COLUMNS = { "id", "description", "suspend", "cancel", "reopen", "active" }

local function shape(r)
    return {
        id = r.id, description = r.description, suspend = r.for_suspend == 1,
        cancel = r.for_cancel == 1, reopen = r.for_reopen == 1, active = r.active == 1,
    }
end

---The catalogue, by id. opts: {use="suspend"|"cancel"|"reopen"} keeps the
---active ones usable for that; {active=true} keeps the active ones.
---@param opts table?
---@return table[]
function M.list(opts)
    opts = opts or {}
    if type(opts) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.justification.list: argument #1 (opts) must be a table"), 2)
    end
    local out = {}
    for _, r in ipairs(relm.sql("SELECT * FROM justifications ORDER BY id")) do
        local j = shape(r)
        local keep = true
        if opts.use then
            keep = j.active and j[opts.use] == true
        elseif opts.active ~= nil then
            keep = j.active == opts.active
        end
        if keep then
            out[#out + 1] = j
        end
    end
    -- The column order the REPL prints them in (see relm.pretty).
    return setmetatable(out, { __name = "relm.rows", columns = COLUMNS })
end

---One justification by id (nil when there is none).
---@param id integer
---@return table?
function M.get(id)
    local rows = relm.sql("SELECT * FROM justifications WHERE id = ?", id)
    return rows[1] and shape(rows[1]) or nil
end

return M
