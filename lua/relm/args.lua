-- relm/args.lua: the argument checks the Lua half shares, as
-- core/lua/args.c is for the bindings: one message for an unknown key.
local i18n = require "relm.i18n"

local M = {}

--- Raise `code: fname: unknown <noun> 'key' (k1, k2, ...)` for the first
--- key of t that known does not hold; known is an array of the names taken
--- (listed in that order) or a set of them (listed sorted). The error
--- points at the user's line (relm errors skip the engine's own frames).
--- Precondition: t is a table.
---@param t table
---@param known string[]|table<string, any>
---@param fname string the function the user called ("relm.audit.verify")
---@param noun? string "option" (default) or "field"
---@param code? string the error code, invalid_argument by default
function M.check_keys(t, known, fname, noun, code)
    local names, set = known, known
    if known[1] == nil then
        names = {}
        for k in pairs(known) do
            names[#names + 1] = k
        end
        table.sort(names)
    else
        set = {}
        for _, k in ipairs(known) do
            set[k] = true
        end
    end
    for k in pairs(t) do
        if not set[k] then
            relm.error(code or "invalid_argument", (i18n._("%s: unknown %s '%s' (%s)")):format(fname, noun or "option",
                tostring(k), table.concat(names, ", ")), 2)
        end
    end
end

return M
