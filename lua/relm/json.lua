-- relm/json.lua: the one way the Lua half reads JSON the core hands it
-- (snapshots, stored options), with whole numbers given back as integers,
-- and writes the JSON it shows people (slashes as they are).
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

--- The JSON text s with each escaped slash "\/" written as "/" (JSON
--- allows both; paths then read as in the docs).
-- Every '/' cjson writes has exactly one backslash of its own before it (a
-- backslash in the text is written "\\"), so replacing the pairs left to
-- right never touches an escaped backslash. Relm's JSON is never put
-- inside an HTML <script> element, where "</" would need escaping.
---@param s string
---@return string
function M.unslash(s)
    if not s:find("\\/", 1, true) then
        return s
    end
    return (s:gsub("\\/", "/"))
end

--- v as JSON text, slashes unescaped. Raises what cjson raises.
---@param v any
---@return string
function M.encode(v)
    return M.unslash(cjson.encode(v))
end

return M
