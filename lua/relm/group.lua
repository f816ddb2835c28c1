-- relm/group.lua: groups of people; permissions are granted to
-- groups (relm.permission). Writes are for administrators.
local i18n = require "relm.i18n"
local P = require "relm.core.people"
local json = require "relm.json"

local M = {}

local function check_str(v, fname, n, what)
    if type(v) ~= "string" then
        relm.error("invalid_argument",
            (i18n._("%s: argument #%d (%s) must be a string, got %s")):format(fname, n, what, type(v)), 3)
    end
end

---Add a group. spec: name (required), description. Returns its id.
---@param spec {name: string, description: string?}
---@return integer
function M.add(spec)
    if type(spec) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.group.add: argument #1 must be a table {name=, description=}"), 2)
    end
    for k in pairs(spec) do
        if k ~= "name" and k ~= "description" then
            relm.error("invalid_field", i18n._("relm.group.add: unknown field '") .. tostring(k) .. "'", 2)
        end
    end
    check_str(spec.name, "relm.group.add", 1, "name")
    return P.group_add(spec.name, spec.description)
end

---Put user in group (idempotent). opts.role gives their role in the group
---("lead", "deputy", ...; "member" unless given), which approval rules can
---ask for (`role("lead", r.executor_group)`, docs/approvals.md); adding an
---existing member with a role changes their role.
---@param group string
---@param user string
---@param opts? {role?: string}
function M.add_member(group, user, opts)
    check_str(group, "relm.group.add_member", 1, "group")
    check_str(user, "relm.group.add_member", 2, "user")
    if opts ~= nil and type(opts) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.group.add_member: argument #3 (opts) must be a table {role=}"), 2)
    end
    local role = opts and opts.role
    for k in pairs(opts or {}) do
        if k ~= "role" then
            relm.error("invalid_argument", i18n._("relm.group.add_member: unknown option '") .. tostring(k)
                .. i18n._("' (role)"), 2)
        end
    end
    if role ~= nil and (type(role) ~= "string" or not role:match("^[%a_][%w_%-]*$")) then
        relm.error("invalid_argument", i18n._("relm.group.add_member: role must be one word, like \"lead\""), 2)
    end
    P.member(user, group, true, role)
end

---The members of group with their roles: {{user=, role=}, ...} by name.
---@param group string
---@return table[]
function M.members(group)
    check_str(group, "relm.group.members", 1, "group")
    if not relm.sql("SELECT 1 AS x FROM groups WHERE name = ?", group)[1] then
        relm.error("not_found", i18n._("no group named '") .. group .. "'", 2)
    end
    return relm.sql([[SELECT u.name AS user, m.role FROM memberships m JOIN users u ON u.id = m.user_id
        JOIN groups g ON g.id = m.group_id WHERE g.name = ? ORDER BY u.name]], group)
end

---Take user out of group (idempotent).
---@param group string
---@param user string
function M.remove_member(group, user)
    check_str(group, "relm.group.remove_member", 1, "group")
    check_str(user, "relm.group.remove_member", 2, "user")
    P.member(user, group, false)
end

---Every group with its members.
---@return table[]
function M.list()
    local rows = relm.sql([[
        SELECT g.id, g.name, g.description,
               (SELECT json_group_array(u.name) FROM memberships m
                  JOIN users u ON u.id = m.user_id WHERE m.group_id = g.id) AS members
        FROM groups g ORDER BY g.name]])
    for _, r in ipairs(rows) do
        r.members = json.decode(r.members)
        table.sort(r.members)
    end
    return rows
end

return M
