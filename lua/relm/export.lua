-- relm/export.lua: one way to write any array of records (relm.sql results,
-- search results, what a script builds) as CSV, JSON or JSON lines.
local i18n = require "relm.i18n"
local cjson = require "cjson"
local jencode = require("relm.json").encode

local M = {}

--- The formats written, by the file extensions that name them.
M.formats = { csv = "csv", json = "json", jsonl = "jsonl", ndjson = "jsonl" }

-- id, number and name lead; timestamps (*_at) trail, as pretty.table does.
local function rank(k)
    return k == "id" and 1 or k == "number" and 2 or k == "name" and 3 or k:match("_at$") and 5 or 4
end

--- The columns of rows: the metatable's columns (relm.sql, search results),
--- else every key of every row, id/number/name first, *_at last.
---@param rows table[]
---@return string[]
function M.columns(rows)
    local mt = getmetatable(rows)
    if type(mt) == "table" and type(mt.columns) == "table" then
        return mt.columns
    end
    local seen, list = {}, {}
    for _, row in ipairs(rows) do
        for k in pairs(row) do
            if type(k) == "string" and not seen[k] then
                seen[k] = true
                list[#list + 1] = k
            end
        end
    end
    table.sort(list, function(a, b)
        local ra, rb = rank(a), rank(b)
        if ra ~= rb then
            return ra < rb
        end
        return a < b
    end)
    return list
end

-- The text of a value in a CSV cell: numbers as Lua prints them (floats
-- without noise), booleans as true/false, a list of scalars joined with
-- ", ", any other table as its JSON.
local function text(v)
    if v == nil or v == cjson.null then
        return ""
    elseif math.type(v) == "float" then
        return string.format("%.14g", v)
    elseif type(v) == "table" then
        local ok, s = pcall(jencode, v)
        return ok and s or tostring(v)
    end
    return tostring(v)
end
M.text = text

--- One CSV field, RFC 4180: quoted when it holds a comma, a quote or a
--- line break; quotes doubled.
---@param v any
---@return string
local find, gsub, sformat = string.find, string.gsub, string.format
local math_type = math.type

local function csv_field(v)
    local s
    local t = type(v)
    if t == "string" then
        s = v
    elseif t == "number" then
        -- A number never needs quotes.
        if math_type(v) == "integer" then
            return tostring(v)
        end
        return sformat("%.14g", v)
    else
        s = text(v)
    end
    if find(s, '[,"\r\n]') then
        return '"' .. gsub(s, '"', '""') .. '"'
    end
    return s
end
M.csv_field = csv_field

-- Encoders specialised to a list of columns (compiled once per export): a
-- record becomes one concatenation, with no table built per row.
local encoders = setmetatable({}, { __mode = "k" })

local function encoder(columns, kind)
    local per = encoders[columns]
    if per and per[kind] then
        return per[kind]
    end
    if #columns > 60 then
        -- Too long a concatenation for one expression of the parser: a
        -- loop, a table per record.
        local keys = {}
        for i, c in ipairs(columns) do
            keys[i] = jencode(c) .. ":"
        end
        return function(r)
            local out = {}
            for i, c in ipairs(columns) do
                out[i] = kind == "csv" and csv_field(r[c]) or keys[i] .. M.json_value(r[c])
            end
            local line = table.concat(out, ",")
            return kind == "csv" and line or "{" .. line .. "}"
        end
    end
    local parts = {}
    for i, c in ipairs(columns) do
        if kind == "csv" then
            parts[i] = ("f(r[%q])"):format(c)
        else
            parts[i] = ("%q .. j(r[%q])"):format(jencode(c) .. ":", c)
        end
    end
    local body
    if #parts == 0 then
        body = kind == "csv" and '""' or '"{}"'
    elseif kind == "csv" then
        body = table.concat(parts, ' .. "," .. ')
    else
        body = '"{" .. ' .. table.concat(parts, ' .. "," .. ') .. ' .. "}"'
    end
    local chunk = "local f, j = ... return function(r) return " .. body .. " end"
    local fn = assert(load(chunk, "=(relm.export encoder)", "t"))(csv_field, M.json_value)
    encoders[columns] = per or {}
    encoders[columns][kind] = fn
    return fn
end

-- A CSV writer specialised to columns: writer(h, r) writes record r and
-- its line break with one h:write, text that needs no quotes passed as it
-- is without a function call (the common case of an export).
local writers = setmetatable({}, { __mode = "k" })

local function csv_writer(columns)
    if writers[columns] then
        return writers[columns]
    end
    if #columns > 60 then
        -- Past the locals and arguments one Lua function may have: a line
        -- at a time through the general encoder.
        local encode = encoder(columns, "csv")
        return function(h, r)
            h:write(encode(r), "\r\n")
        end
    end
    local lines, args = {}, {}
    for i, c in ipairs(columns) do
        lines[#lines + 1] = ("local v%d = r[%q]"):format(i, c)
        -- Numbers go to h:write as they are: it prints them as Lua does
        -- (%.14g), as csv_field would.
        lines[#lines + 1] = ("local t%d = type(v%d) if t%d == 'string' then if find(v%d, QUOTE) then "
            .. "v%d = f(v%d) end elseif t%d ~= 'number' then v%d = f(v%d) end"):format(i, i, i, i, i, i, i, i, i)
        args[#args + 1] = "v" .. i
    end
    local chunk = "local f, find, QUOTE, COMMA, CRLF = ... return function(h, r) "
        .. table.concat(lines, " ")
        .. " h:write(" .. (#args > 0 and table.concat(args, ", COMMA, ") .. ", " or "") .. "CRLF) end"
    local fn = assert(load(chunk, "=(relm.export writer)", "t"))(csv_field, find, '[,"\r\n]', ",", "\r\n")
    writers[columns] = fn
    return fn
end

--- One CSV record (without its line break).
---@param row table
---@param columns string[]
---@return string
function M.csv_line(row, columns)
    return encoder(columns, "csv")(row)
end

--- The header record of CSV.
function M.csv_header(columns)
    local out = {}
    for i, c in ipairs(columns) do
        out[i] = M.csv_field(c)
    end
    return table.concat(out, ",")
end

-- A JSON value: nil is null; strings that are not UTF-8 (BLOBs) are
-- written as base16 would be unreadable, so as their size, like the REPL.
function M.json_value(v)
    if v == nil then
        return "null"
    elseif type(v) == "string" and not utf8.len(v) then
        return jencode("<" .. #v .. " bytes>")
    elseif math.type(v) == "float" and (v ~= v or v == math.huge or v == -math.huge) then
        return "null"
    end
    local ok, s = pcall(jencode, v)
    if not ok then
        return jencode(tostring(v))
    end
    return s
end

--- One JSON object, keys in the order of columns (cjson alone would not
--- keep any order), absent values as null.
---@param row table
---@param columns string[]
---@return string
function M.json_object(row, columns)
    return encoder(columns, "json")(row)
end

--- The format of path: opts.format, else its extension; an extension
--- nothing here writes (.xlsx, .txt) is an error naming the path, never a
--- silent CSV.
---@param path string
---@param format? string
---@param fname string the function to name in errors
---@return string format "csv"|"json"|"jsonl"
function M.format_of(path, format, fname)
    if format ~= nil then
        if format ~= "csv" and format ~= "json" and format ~= "jsonl" then
            relm.error("invalid_argument", (i18n._("%s: format must be \"csv\", \"json\" or \"jsonl\", got %s"))
                :format(fname, tostring(format)), 3)
        end
        return format
    end
    local ext = path:match("%.([%w]+)$")
    local f = ext and M.formats[ext:lower()]
    if not f then
        relm.error("invalid_argument", (i18n._("%s: cannot tell the format of '%s'%s: relm writes .csv, .json and ")
            .. i18n._(".jsonl (or give opts.format = \"csv\"|\"json\"|\"jsonl\")"))
            :format(fname, path, ext and (" (." .. ext
                .. i18n._(" is not written here)")) or i18n._(" (no extension)")), 3)
    end
    return f
end

--- Write rows to the open file h in format. progress, when given, is
--- called as progress(done) every row (relm.progress throttles it).
---@param h file*
---@param rows table[]
---@param columns string[]
---@param format "csv"|"json"|"jsonl"
---@param opts? {header?: boolean, progress?: fun(done: integer)}
function M.write(h, rows, columns, format, opts)
    opts = opts or {}
    local tick = opts.progress
    local n = #rows
    local encode, sep, head, tail
    if format == "csv" then
        if opts.header ~= false then
            h:write(M.csv_header(columns), "\r\n")
        end
        local write = csv_writer(columns)
        -- The progress reporter is asked every 512 rows: a clock read per
        -- row would cost more than the row.
        for i = 1, n do
            write(h, rows[i])
            if tick and i % 512 == 0 then
                tick(i)
            end
        end
        if tick then
            tick(n)
        end
        return
    elseif format == "json" then
        if n == 0 then
            h:write("[]\n")
            return
        end
        encode, sep, head, tail = encoder(columns, "json"), ",\n", "[", "]\n"
    else
        encode, sep, head, tail = encoder(columns, "json"), "\n", "", "\n"
    end
    h:write(head)
    -- Lines go out a block at a time (one write per BLOCK rows), and the
    -- progress reporter is asked at the same pace: a clock read per row
    -- would cost more than the row.
    local BLOCK = 512
    local block = {}
    for first = 1, n, BLOCK do
        local last = math.min(first + BLOCK - 1, n)
        for i = first, last do
            block[i - first + 1] = encode(rows[i])
        end
        for i = last - first + 2, #block do
            block[i] = nil
        end
        h:write(table.concat(block, sep), last < n and sep or tail)
        if tick then
            tick(last)
        end
    end
end

--- Check that rows is an array of records (tables keyed by names); raises
--- invalid_argument naming the first row that is not.
---@param rows any
---@param fname string
function M.check_rows(rows, fname)
    if type(rows) ~= "table" then
        relm.error("invalid_argument", fname .. i18n._(": argument #1 (rows) must be an array of records, got ")
            .. type(rows), 3)
    end
    for i, row in ipairs(rows) do
        if type(row) ~= "table" then
            relm.error("invalid_argument", (i18n._("%s: row %d is a %s, not a record (a table keyed by column names)"))
                :format(fname, i, type(row)), 3)
        end
    end
    if next(rows) ~= nil and rows[1] == nil then
        relm.error("invalid_argument", fname .. i18n._(": argument #1 (rows) must be an array of records, ")
            .. i18n._("not a single record or a table of filters"), 3)
    end
end

--- Write any array of records to a file: relm.sql results, search results,
--- a script's own rows. The format is opts.format or the file's extension
--- (.csv, .json, .jsonl); anything else is refused, naming the path. CSV
--- follows RFC 4180 (header row, CRLF, quotes doubled); JSON is an array
--- of objects with keys in column order; JSON lines one object a line. The
--- file is written beside and renamed into place, so a failure leaves no
--- half file. opts.columns picks and orders columns; opts.header = false
--- leaves CSV's header out; opts.progress = function(done, total) is told
--- how far it got (at most ~10 times a second), and on a terminal a
--- progress line shows when no callback is given.
--- Raises invalid_argument (bad rows, path or format) and io_error.
---@param rows table[]
---@param path string
---@param opts? {format?: "csv"|"json"|"jsonl", columns?: string[], header?: boolean,
---  progress?: fun(done: integer, total: integer)}
---@return integer count rows written
--- Check the path (argument #2) and opts (argument #3) that every export
--- call (fname names it) takes; level 3 blames the caller's caller, who
--- wrote the call. Raises invalid_argument naming the bad one.
---@param path any
---@param opts any
---@param fname string
---@return table opts the options, {} when none were given
function M.check_target(path, opts, fname)
    if type(path) ~= "string" or path == "" then
        relm.error("invalid_argument", fname .. i18n._(": argument #2 (path) must be a file name"), 3)
    end
    if opts ~= nil and type(opts) ~= "table" then
        relm.error("invalid_argument", fname .. i18n._(": argument #3 (opts) must be a table"), 3)
    end
    return opts or {}
end

function M.export(rows, path, opts)
    local fname = "relm.export"
    M.check_rows(rows, fname)
    opts = M.check_target(path, opts, fname)
    if opts.columns ~= nil and type(opts.columns) ~= "table" then
        relm.error("invalid_argument", fname .. i18n._(": opts.columns must be an array of names"), 2)
    end
    if opts.progress ~= nil and type(opts.progress) ~= "function" then
        relm.error("invalid_argument", fname .. i18n._(": opts.progress must be a function(done, total)"), 2)
    end
    local format = M.format_of(path, opts.format, fname)
    return M.write_file(rows, path, format, opts.columns or M.columns(rows), opts, fname)
end

--- The shared end of relm.export and relm.search.export: rows (checked),
--- path, format and columns settled. Returns the count written.
function M.write_file(rows, path, format, columns, opts, fname)
    local tmp = path .. ".relm-tmp"
    local h, err = io.open(tmp, "wb")
    if not h then
        relm.error("io_error", fname .. i18n._(": cannot write '") .. path .. "': " .. tostring(err), 3)
    end
    local progress = require "relm.progress"
    local p = progress.new { total = #rows, label = "export " .. path, unit = "rows", callback = opts.progress }
    local ok, e = pcall(M.write, h, rows, columns, format, {
        header = opts.header, progress = p and function(done) p:update(done) end,
    })
    local closed, cerr = h:close()
    if not ok or not closed then
        os.remove(tmp)
        if not ok then
            error(e, 0)
        end
        relm.error("io_error", fname .. i18n._(": cannot write '") .. path .. "': " .. tostring(cerr), 3)
    end
    local renamed, rerr = os.rename(tmp, path)
    if not renamed then
        os.remove(tmp)
        relm.error("io_error", fname .. i18n._(": cannot write '") .. path .. "': " .. tostring(rerr), 3)
    end
    if p then
        p:done(#rows)
    end
    return #rows
end

return setmetatable(M, {
    __call = function(_, ...)
        return M.export(...)
    end,
})
