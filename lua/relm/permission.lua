-- relm/permission.lua: what each group may do: group x
-- workflow ("*" = every workflow) x action ("cmdb": write the CMDB, on
-- workflow "*" only). Writes are for administrators.
local i18n = require "relm.i18n"
local P = require "relm.core.people"

local M = {}

M.actions = { "create", "execute", "delegate", "suspend", "reactivate", "reopen", "cancel", "approve", "admin", "cmdb" }

local function args(spec, fname)
    if type(spec) ~= "table" then
        relm.error("invalid_argument", fname .. i18n._(": argument #1 must be a table {group=, workflow=, action=}"), 3)
    end
    require("relm.args").check_keys(spec, { "group", "workflow", "action" }, fname, "field", "invalid_field")
    for _, k in ipairs({ "group", "action" }) do
        if type(spec[k]) ~= "string" then
            relm.error("invalid_field", fname .. ": " .. k .. i18n._(" must be a string"), 3)
        end
    end
    if spec.workflow ~= nil and type(spec.workflow) ~= "string" then
        relm.error("invalid_field", fname .. i18n._(": workflow must be a string (or \"*\")"), 3)
    end
    return spec.group, spec.workflow or "*", spec.action
end

---Grant group the right to do action on releases of workflow (default
---"*"); action "cmdb" (write the CMDB) is granted on workflow "*" only.
---Idempotent. Raises not_found, invalid_field, permission_denied.
---@param spec {group: string, workflow: string?, action: string}
function M.grant(spec)
    local g, w, a = args(spec, "relm.permission.grant")
    P.permission(g, w, a, true)
end

---Take the permission back. Idempotent.
---@param spec {group: string, workflow: string?, action: string}
function M.revoke(spec)
    local g, w, a = args(spec, "relm.permission.revoke")
    P.permission(g, w, a, false)
end

---Every permission, or those of one group: array of {group=, workflow=, action=}.
---Raises not_found for a group that does not exist (as grant does), so a
---misspelt name is not read as "this group may do nothing".
---@param group string?
---@return table[]
function M.list(group)
    if group ~= nil and type(group) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.permission.list: argument #1 (group) must be a string"), 2)
    end
    if group ~= nil and #relm.sql("SELECT 1 FROM groups WHERE name = ?", group) == 0 then
        relm.error("not_found", (i18n._("relm.permission.list: no group named '%s' (relm.group.list() lists them)"))
            :format(group), 2)
    end
    return relm.sql([[
        SELECT g.name AS "group", p.workflow, p.action FROM permissions p
        JOIN groups g ON g.id = p.group_id
        WHERE ?1 IS NULL OR g.name = ?1 ORDER BY g.name, p.workflow, p.action]], group)
end

---Whether the acting user may do action on releases of workflow.
---@param workflow string
---@param action string
---@return boolean
function M.can(workflow, action)
    return require("relm.core.release").can(workflow, action)
end

return M
