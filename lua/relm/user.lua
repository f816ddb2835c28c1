-- relm/user.lua: the people who act on releases. Writes are for
-- administrators (checked in the core); see docs/permissions.md.
local P = require "relm.core.people"
local json = require "relm.json"

local M = {}

---Add a user. spec: name (required, no spaces), full_name, email, phone,
---unit, location, admin (boolean: superuser). Raises duplicate,
---invalid_field, permission_denied.
---@param spec {name: string, full_name: string?, email: string?, phone: string?,
---  unit: string?, location: string?, admin: boolean?}
---@return integer id
function M.add(spec)
    if type(spec) ~= "table" then
        relm.error("invalid_argument", "relm.user.add: argument #1 must be a table, got " .. type(spec), 2)
    end
    -- The database gets the shipped portfolios before it gets a second
    -- person: someone who is not an administrator cannot load them. A
    -- broken template must not stop an administrator adding people (it
    -- shows, with its message, at relm.portfolio.list()).
    pcall(relm.portfolio.ensure_synced)
    return P.user_add(spec)
end

---Every user with their groups, by name.
---@return table[]
function M.list()
    local rows = relm.sql([[
        SELECT u.id, u.name, u.full_name, u.email, u.phone, u.unit, u.location,
               u.active, u.is_admin,
               (SELECT json_group_array(g.name) FROM memberships m
                  JOIN groups g ON g.id = m.group_id WHERE m.user_id = u.id) AS groups
        FROM users u ORDER BY u.name]])
    for _, r in ipairs(rows) do
        r.active = r.active == 1
        r.is_admin = r.is_admin == 1
        r.groups = json.decode(r.groups)
        table.sort(r.groups)
    end
    return rows
end

---One user by name (nil when there is none).
---@param name string
---@return table?
function M.get(name)
    if type(name) ~= "string" then
        relm.error("invalid_argument", "relm.user.get: argument #1 (name) must be a string", 2)
    end
    for _, u in ipairs(M.list()) do
        if u.name == name then
            return u
        end
    end
    return nil
end

---Deactivate (false) or reactivate (true) a user; inactive users cannot act.
---@param name string
---@param active boolean
function M.set_active(name, active)
    if type(name) ~= "string" then
        relm.error("invalid_argument", "relm.user.set_active: argument #1 (name) must be a string", 2)
    end
    P.user_set_active(name, active)
end

---Run fn(...) acting as user name, then act as before again (also when fn
---raises). Administrators only. Returns fn's results.
---@param name string
---@param fn function
---@return any ...
function M.as(name, fn, ...)
    if type(name) ~= "string" then
        relm.error("invalid_argument", "relm.user.as: argument #1 (name) must be a string", 2)
    end
    if type(fn) ~= "function" then
        relm.error("invalid_argument", "relm.user.as: argument #2 (fn) must be a function", 2)
    end
    return P.as_user(name, fn, ...)
end

---Set user's password for the web login (argon2id through libsodium; only
---the hash is kept); nil clears it. The user themselves or an
---administrator. See docs/http.md.
---@param name string
---@param password string|nil
function M.set_password(name, password)
    return require("relm.token").set_password(name, password)
end

---Whether the acting user is an administrator.
---@return boolean
function M.is_admin()
    return P.is_admin()
end

return M
