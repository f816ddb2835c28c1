-- relm/pretty.lua: how values look in the REPL and in `relm -e`: arrays of
-- records as aligned tables, other tables as readable Lua with cycles marked.
local M = {}

local MAX_CELL = 40 -- widest cell before it is cut with an ellipsis

local function is_array(t)
    local n = #t
    if n == 0 then
        return false
    end
    local count = 0
    for _ in pairs(t) do
        count = count + 1
        if count > n then
            return false
        end
    end
    return count == n
end

-- An array of records: every element a table whose values are scalars.
local function is_record_list(t)
    if type(t) ~= "table" or not is_array(t) then
        return false
    end
    for _, row in ipairs(t) do
        if type(row) ~= "table" or getmetatable(row) ~= nil then
            return false
        end
        for k, v in pairs(row) do
            if type(k) ~= "string" or type(v) == "table" or type(v) == "function" then
                return false
            end
        end
    end
    return true
end

-- Display width of a UTF-8 string (code points; good enough for tables).
local function width(s)
    return utf8.len(s) or #s
end

local function cell(v)
    local s
    if v == nil then
        s = ""
    elseif math.type(v) == "float" then
        s = string.format("%.6g", v)
    else
        s = tostring(v)
    end
    s = s:gsub("[\r\n\t]", " ")
    if width(s) > MAX_CELL then
        local cut = utf8.offset(s, MAX_CELL) or MAX_CELL
        s = s:sub(1, cut - 1) .. "…"
    end
    return s
end

--- Format an array of records as an aligned text table.
---@param rows table[] records keyed by column name
---@param columns? string[] column order (default: relm.sql's order, else sorted keys)
---@return string
function M.table(rows, columns)
    if columns == nil then
        local mt = getmetatable(rows)
        columns = type(mt) == "table" and mt.columns or nil
    end
    if columns == nil then
        local seen, list = {}, {}
        for _, row in ipairs(rows) do
            for k in pairs(row) do
                if not seen[k] then
                    seen[k] = true
                    list[#list + 1] = k
                end
            end
        end
        table.sort(list, function(a, b)
            if a == "id" or b == "id" then
                return a == "id" and b ~= "id"
            end
            if a == "name" or b == "name" then
                return a == "name" and b ~= "name"
            end
            return a < b
        end)
        columns = list
    end
    local widths, cells = {}, {}
    for c, name in ipairs(columns) do
        widths[c] = width(name)
    end
    for r, row in ipairs(rows) do
        cells[r] = {}
        for c, name in ipairs(columns) do
            local s = cell(row[name])
            cells[r][c] = s
            if width(s) > widths[c] then
                widths[c] = width(s)
            end
        end
    end
    local function line(values, numeric)
        local parts = {}
        for c, s in ipairs(values) do
            local pad = string.rep(" ", widths[c] - width(s))
            parts[c] = numeric and numeric[c] and pad .. s or s .. pad
        end
        return (table.concat(parts, "  "):gsub("%s+$", ""))
    end
    -- Right-align columns whose every value is a number.
    local numeric = {}
    for c, name in ipairs(columns) do
        local all = #rows > 0
        for _, row in ipairs(rows) do
            if row[name] ~= nil and type(row[name]) ~= "number" then
                all = false
                break
            end
        end
        numeric[c] = all
    end
    local out = { line(columns), nil }
    local rule = {}
    for c = 1, #columns do
        rule[c] = string.rep("-", widths[c])
    end
    out[2] = table.concat(rule, "  ")
    for r = 1, #rows do
        out[#out + 1] = line(cells[r], numeric)
    end
    out[#out + 1] = string.format("(%d row%s)", #rows, #rows == 1 and "" or "s")
    return table.concat(out, "\n")
end

local function quote_key(k)
    if type(k) == "string" and k:match("^[%a_][%w_]*$") then
        return k
    end
    return "[" .. (type(k) == "string" and string.format("%q", k) or tostring(k)) .. "]"
end

--- Format any value as readable Lua; tables seen before print as <cycle>.
---@param v any
---@param indent? string
---@return string
function M.format(v, indent, seen)
    indent = indent or ""
    seen = seen or {}
    local t = type(v)
    if t == "string" then
        return string.format("%q", v)
    elseif t ~= "table" then
        return tostring(v)
    end
    local mt = getmetatable(v)
    if mt and mt.__tostring then
        return tostring(v)
    end
    if seen[v] then
        return "<cycle>"
    end
    seen[v] = true
    local keys = {}
    for k in pairs(v) do
        keys[#keys + 1] = k
    end
    if #keys == 0 then
        seen[v] = nil
        return "{}"
    end
    local n = #v
    table.sort(keys, function(a, b)
        local ta, tb = type(a), type(b)
        if ta ~= tb then
            return ta == "number"
        end
        if ta == "number" or ta == "string" then
            return a < b
        end
        return tostring(a) < tostring(b)
    end)
    local inner = indent .. "  "
    local parts, short = {}, true
    for _, k in ipairs(keys) do
        local val = M.format(v[k], inner, seen)
        local item
        if math.type(k) == "integer" and k >= 1 and k <= n then
            item = val
        else
            item = quote_key(k) .. " = " .. val
        end
        if item:find("\n") or #item > 30 then
            short = false
        end
        parts[#parts + 1] = item
    end
    seen[v] = nil
    local flat = "{ " .. table.concat(parts, ", ") .. " }"
    if short and #flat + #indent <= 78 then
        return flat
    end
    return "{\n" .. inner .. table.concat(parts, ",\n" .. inner) .. "\n" .. indent .. "}"
end

--- The text the REPL prints for one value.
---@param v any
---@return string
function M.show(v)
    if is_record_list(v) then
        return M.table(v)
    end
    local mt = getmetatable(v)
    if type(v) == "table" and mt and mt.__name == "relm.rows" and #v == 0 then
        return "(0 rows)"
    end
    return M.format(v)
end

--- Print every argument (nil included) on its own line(s).
function M.print(...)
    local n = select("#", ...)
    for i = 1, n do
        io.write(M.show((select(i, ...))), "\n")
    end
end

return M
