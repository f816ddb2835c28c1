-- relm/init.lua: builds the global `relm` table. Modules load on first use
-- (relm.cmdb loads lua/relm/cmdb.lua, or the C module relm.core.cmdb when
-- there is no Lua file), so start-up pays only for what a script touches.
local base = require "relm.core.base"

---@class relm
local relm = {
    version = base.version,
    sql = base.sql,
    tx = base.tx,
    error = base.error,
    is_error = base.is_error,
    whoami = base.whoami,
    info = base.info,
}

-- Names that are files of the engine rather than user-facing modules.
local internal = { init = true, modules = true }

local function load_module(name)
    if internal[name] or type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
        return nil
    end
    if package.searchpath("relm." .. name, package.path) then
        return require("relm." .. name)
    end
    if package.preload["relm.core." .. name] then
        return require("relm.core." .. name)
    end
    return nil
end

setmetatable(relm, {
    __index = function(t, k)
        local m = load_module(k)
        if m ~= nil then
            rawset(t, k, m)
        end
        return m
    end,
    __name = "relm",
})

return relm
