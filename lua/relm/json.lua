-- relm/json.lua: the one way the Lua half reads JSON the core hands it
-- (snapshots, stored options), with whole numbers given back as integers.
local cjson = require "cjson"

local M = {}

--- Turn every whole-number float in t (and in the tables within it) into an
--- integer, in place: cjson reads every number as a float, while ids,
--- counters, minutes and priorities are integers to Lua code and to the
--- pretty printer. Precondition: t is a table with no cycles.
---@generic T: table
---@param t T
---@return T t
function M.integers(t)
    for k, v in pairs(t) do
        if type(v) == "number" then
            t[k] = math.tointeger(v) or v
        elseif type(v) == "table" then
            M.integers(v)
        end
    end
    return t
end

--- Decode the JSON text of an object or array (cjson) with whole numbers as
--- integers (M.integers). Raises what cjson raises on text that is not JSON.
---@param text string
---@return table
function M.decode(text)
    return M.integers(cjson.decode(text))
end

return M
