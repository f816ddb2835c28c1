-- relm/pretty.lua: how values print in the REPL and `relm -e`. Arrays of
-- records print as aligned tables, other tables as readable Lua, cycles marked.
local i18n = require "relm.i18n"
local M = {}

--- Widest cell before it is cut with an ellipsis.
M.max_cell = 40
--- Rows printed by show() before the rest is only counted.
M.max_rows = 1000
--- Terminal columns a table is made to fit (0 or nil: do not fit). The
--- evaluator sets it before printing: the terminal's width, or 0 when
--- stdout is a file or a pipe.
M.width = 0

local MIN_CELL = 6 -- fitting never cuts a column narrower than this
local COMFORT_CELL = 8 -- columns are left out before text is cut narrower

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

-- A list of scalars (an impact row's `via`, a release's shared_with) fits
-- in one cell, joined with ", ".
local function is_scalar_list(v)
    if getmetatable(v) ~= nil or not is_array(v) then
        return false
    end
    for _, x in ipairs(v) do
        local t = type(x)
        if t ~= "string" and t ~= "number" and t ~= "boolean" then
            return false
        end
    end
    return true
end

-- A record: a table keyed by strings, printed as a table row (unless its
-- metatable says how it prints itself). Lists of scalars print in one
-- cell; deeper tables (an occurrence's snapshots) print as {…}, to be
-- looked at one by one.
local function is_record(row)
    if type(row) ~= "table" then
        return false
    end
    local mt = getmetatable(row)
    if mt ~= nil and (type(mt) ~= "table" or mt.__tostring) then
        return false
    end
    for k, v in pairs(row) do
        if type(k) ~= "string" or type(v) == "function" or type(v) == "userdata"
            or type(v) == "thread" then
            return false
        end
    end
    return true
end

-- An array of records (what relm.sql returns). Records whose values nest
-- tables are not: they print as readable Lua instead.
local function is_record_list(t)
    if type(t) ~= "table" or not is_array(t) then
        return false
    end
    local mt = getmetatable(t)
    if mt ~= nil and (type(mt) ~= "table" or (mt.__tostring and mt.__name ~= "relm.rows")) then
        return false
    end
    local any_field = false
    for _, row in ipairs(t) do
        if not is_record(row) then
            return false
        end
        any_field = any_field or next(row) ~= nil
    end
    -- Records without fields would be a table of nothing, unless the list
    -- names its columns: a relm.sql row whose every value is NULL is an
    -- empty Lua table, and still a row.
    return any_field or (type(mt) == "table" and type(mt.columns) == "table" and #mt.columns > 0)
end

-- Columns a code point takes on a terminal: 0 for combining marks and
-- zero-width characters, 2 for East Asian wide and fullwidth characters
-- and emoji (the ranges wcwidth() gives 2), else 1. Without this a table
-- of Japanese names or emoji is misaligned.
local WIDE = {
    { 0x1100, 0x115F }, { 0x2E80, 0x303E }, { 0x3041, 0x33FF }, { 0x3400, 0x4DBF }, { 0x4E00, 0x9FFF },
    { 0xA000, 0xA4CF }, { 0xAC00, 0xD7A3 }, { 0xF900, 0xFAFF }, { 0xFE30, 0xFE4F }, { 0xFF00, 0xFF60 },
    { 0xFFE0, 0xFFE6 }, { 0x1F300, 0x1F64F }, { 0x1F900, 0x1F9FF }, { 0x20000, 0x3FFFD },
}
local ZERO = {
    { 0x0300, 0x036F }, { 0x1AB0, 0x1AFF }, { 0x1DC0, 0x1DFF }, { 0x200B, 0x200F }, { 0x20D0, 0x20FF },
    { 0xFE00, 0xFE0F }, { 0xFE20, 0xFE2F },
}
local function in_ranges(c, ranges)
    for _, r in ipairs(ranges) do
        if c < r[1] then
            return false
        elseif c <= r[2] then
            return true
        end
    end
    return false
end
local function cp_width(c)
    if c < 0x300 then
        return 1
    end
    return in_ranges(c, ZERO) and 0 or in_ranges(c, WIDE) and 2 or 1
end

-- Display width of a string on a terminal; bytes that are not UTF-8 count
-- one each.
local function width(s)
    local n = utf8.len(s)
    if not n then
        return #s
    end
    -- Below U+0300 (lead bytes up to 0xCB) every code point is one column.
    if not s:find("[\204-\255]") then
        return n
    end
    local w = 0
    for _, c in utf8.codes(s) do
        w = w + cp_width(c)
    end
    return w
end

-- s cut to at most w display columns, the last one an ellipsis.
local function cut(s, w)
    if width(s) <= w then
        return s
    end
    if not utf8.len(s) then
        return s:sub(1, w - 1) .. "…"
    end
    local used, stop = 0, 0
    for p, c in utf8.codes(s) do
        local cw = cp_width(c)
        if used + cw > w - 1 then
            break
        end
        used, stop = used + cw, p + #utf8.char(c) - 1
    end
    return s:sub(1, stop) .. "…"
end

--- Columns s takes on a terminal (East Asian wide characters and emoji
--- two, combining marks none): for code that lines text up itself.
---@param s string
---@return integer
M.display_width = width
--- s cut to at most w columns on a terminal, the last one an ellipsis.
---@param s string
---@param w integer
---@return string
M.cut = cut

-- An ISO timestamp as relm stores them (2026-11-23T12:34:22.669Z), or as
-- cell() wrote it for a language with its own dates (23/11/2026 12:34).
local function is_stamp(s)
    return s:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[%.%d]*Z?$") ~= nil
        or s:match("^%d%d[/.-]%d%d[/.-]%d%d%d%d %d%d:%d%d$") ~= nil
end

local function cell(v, max)
    local s
    if v == nil then
        s = ""
    elseif type(v) == "number" then
        s = i18n.number(v) -- 1.234.567,5 in pt_BR; 12345 and 1.5 in English
    elseif type(v) == "table" then
        if not is_scalar_list(v) then
            return next(v) == nil and "{}" or "{…}"
        end
        local parts = {}
        for i, x in ipairs(v) do
            parts[i] = tostring(x)
        end
        s = table.concat(parts, ", ")
    elseif type(v) == "string" and not utf8.len(v) then
        -- A BLOB or other binary: raw bytes would garble the terminal.
        s = "<" .. #v .. " bytes>"
    elseif type(v) == "string" and (is_stamp(v) or v:match("^%d%d%d%d%-%d%d%-%d%d$")) then
        s = i18n.datetime(v) -- 07/12/2026 05:30 and 07/12/2026 in pt_BR and es
    else
        s = tostring(v)
    end
    s = s:gsub("[%c]", " ")
    return cut(s, max or M.max_cell)
end

-- Narrow the widest columns until the line fits the width (or every
-- column is down to its floor): a wide table stays one line per row.
-- floor[c] is the least column c may be narrowed to.
local function fit(widths, total_width, floor)
    if not total_width or total_width <= 0 then
        return
    end
    local over = -2
    for _, w in ipairs(widths) do
        over = over + w + 2
    end
    over = over - total_width
    while over > 0 do
        local widest
        for c, w in ipairs(widths) do
            if w > floor[c] and (widest == nil or w > widths[widest]) then
                widest = c
            end
        end
        if widest == nil then
            return
        end
        widths[widest] = widths[widest] - 1
        over = over - 1
    end
end

-- Width of a line of columns of these widths, two spaces between.
local function line_width(widths)
    local sum = 2 * (#widths - 1)
    for _, w in ipairs(widths) do
        sum = sum + w
    end
    return sum
end


-- Make room in a table too wide for total_width, before fit() narrows
-- cells: columns with nothing to read at a glance (every cell empty, {} or
-- {…}) are left out, timestamps lose their seconds (2026-11-23 12:34, then
-- never cut further), numbers are never cut (a cut number reads as another
-- one), and if the cells cannot fit at a readable width, the rightmost
-- columns are left out. Columns in keep are never cut nor left out. Returns the
-- columns, widths, cells, numeric and floor (fit's least width per column)
-- that remain, and the names left out.
local function squeeze(columns, widths, cells, numeric, keep, total_width)
    local drop, floor = {}, {}
    for c = 1, #columns do
        local empty, stamps, any, widest = true, true, false, 0
        for r = 1, #cells do
            local s = cells[r][c]
            widest = math.max(widest, width(s))
            if s ~= "" then
                any = true
                empty = empty and (s == "{}" or s == "{…}")
                stamps = stamps and is_stamp(s)
            end
        end
        floor[c] = math.min(widths[c], MIN_CELL)
        if keep[c] then
            floor[c] = widths[c]
        elseif empty and #cells > 0 then
            drop[c] = true
        elseif stamps and any then
            for r = 1, #cells do
                cells[r][c] = cells[r][c]:gsub("^(%d+%-%d+%-%d+)T(%d+:%d+).*$", "%1 %2")
            end
            widths[c] = math.max(width(columns[c]), 16)
            floor[c] = 16
        elseif numeric[c] then
            -- Whole numbers, under a header cut to four columns at least.
            floor[c] = math.max(math.min(widths[c], 4), widest)
        end
    end
    -- Columns are left out until each text column left can keep at least
    -- COMFORT_CELL characters: fewer columns that read, not many that don't.
    local function least(c)
        return math.max(floor[c], math.min(widths[c], COMFORT_CELL))
    end
    local sum = -2
    for c = 1, #columns do
        if not drop[c] then
            sum = sum + least(c) + 2
        end
    end
    for c = #columns, 2, -1 do
        if sum <= total_width then
            break
        end
        if not drop[c] and not keep[c] then
            drop[c] = true
            sum = sum - least(c) - 2
        end
    end
    local nc, nw, ncells, nnum, nfloor, hidden = {}, {}, {}, {}, {}, {}
    for r = 1, #cells do
        ncells[r] = {}
    end
    for c, name in ipairs(columns) do
        if drop[c] then
            hidden[#hidden + 1] = name
        else
            local i = #nc + 1
            nc[i], nw[i], nnum[i], nfloor[i] = name, widths[c], numeric[c], floor[c]
            for r = 1, #cells do
                ncells[r][i] = cells[r][c]
            end
        end
    end
    return nc, nw, ncells, nnum, nfloor, hidden
end

--- Format an array of records as an aligned text table: a header, a rule,
--- a line per record (numbers right-aligned, long cells cut) and the count.
---@param rows table[] records keyed by column name
---@param columns? string[] column order (default: relm.sql's order, else sorted keys)
---@param opts? {width: integer, max_rows: integer, max_cell: integer, keep: string[], total: integer, offset: integer,
---  header: boolean, labels: table<string, string>}
--- fit to width (keep: never cut); max_rows; cells cut at max_cell (default
--- M.max_cell); total and offset: where a capped answer stands; header =
--- false leaves the header and its rule out; labels: the header shown for a
--- column name (translated), the name itself when missing
---@return string
function M.table(rows, columns, opts)
    if type(rows) ~= "table" then
        error(i18n._("pretty.table: argument #1 (rows) must be an array of records"), 2)
    end
    if columns ~= nil and type(columns) ~= "table" then
        error(i18n._("pretty.table: argument #2 (columns) must be an array of names"), 2)
    end
    opts = opts or {}
    if columns == nil then
        -- The same order an export writes: relm.sql's, else id, number and
        -- name first and timestamps (*_at) last.
        columns = require("relm.export").columns(rows)
    end
    local max_cell = opts.max_cell or M.max_cell
    local shown = #rows
    if opts.max_rows and opts.max_rows >= 0 and shown > opts.max_rows then
        shown = opts.max_rows
    end
    local widths, cells, numeric = {}, {}, {}
    local labels = opts.labels or {}
    for c, name in ipairs(columns) do
        widths[c] = width(cell(labels[name] or name, max_cell))
        -- Right-align columns whose every value is a number.
        local all, any = true, false
        for r = 1, shown do
            local v = rows[r][name]
            if v ~= nil and type(v) ~= "number" then
                all = false
                break
            end
            any = any or v ~= nil
        end
        numeric[c] = all and any
    end
    for r = 1, shown do
        local row = rows[r]
        cells[r] = {}
        for c, name in ipairs(columns) do
            local s = cell(row[name], max_cell)
            cells[r][c] = s
            if width(s) > widths[c] then
                widths[c] = width(s)
            end
        end
    end
    local keep = {}
    for c, name in ipairs(columns) do
        for _, k in ipairs(opts.keep or {}) do
            keep[c] = keep[c] or k == name
        end
    end
    local hidden = {}
    if opts.width and opts.width > 0 and line_width(widths) > opts.width then
        local floor
        columns, widths, cells, numeric, floor, hidden =
            squeeze(columns, widths, cells, numeric, keep, opts.width)
        fit(widths, opts.width, floor)
    end
    local function line(values)
        local parts = {}
        for c, v in ipairs(values) do
            local s = cut(v, widths[c])
            local pad = string.rep(" ", widths[c] - width(s))
            parts[c] = numeric[c] and pad .. s or s .. pad
        end
        return (table.concat(parts, "  "):gsub("%s+$", ""))
    end
    local header = {}
    for c, name in ipairs(columns) do
        header[c] = cell(labels[name] or name, max_cell)
    end
    local out = {}
    if opts.header ~= false then
        local rule = {}
        for c = 1, #columns do
            rule[c] = string.rep("-", widths[c])
        end
        out[1], out[2] = line(header), table.concat(rule, "  ")
    end
    for r = 1, shown do
        out[#out + 1] = line(cells[r])
    end
    if shown < #rows then
        out[#out + 1] = string.format(i18n.n_("… %d more row not shown (relm.pretty.max_rows = %d)",
            "… %d more rows not shown (relm.pretty.max_rows = %d)", #rows - shown), #rows - shown, opts.max_rows)
    end
    if #hidden > 0 then
        -- Named on as many lines as the width needs.
        local note = i18n._("not shown at this width:")
        for i, name in ipairs(hidden) do
            local piece = " " .. name .. (i < #hidden and "," or "")
            if width(note) + width(piece) > opts.width then
                out[#out + 1] = note
                note = " "
            end
            note = note .. piece
        end
        out[#out + 1] = note
    end
    out[#out + 1] = M.count_line(#rows, opts.total or M.total(rows), opts.offset or M.offset(rows))
    return table.concat(out, "\n")
end

--- Every row a capped answer stands for (a search's rows.total), or nil.
---@param rows table
---@return integer|nil
function M.total(rows)
    local ok, total = pcall(function()
        return rows.total
    end)
    return ok and math.type(total) == "integer" and total or nil
end

--- Rows a paged answer skipped (a search's offset), or nil.
---@param rows table
---@return integer|nil
function M.offset(rows)
    local ok, offset = pcall(function()
        return rows.offset
    end)
    return ok and math.type(offset) == "integer" and offset or nil
end

--- "(3 rows)", or for an answer cut by its limit "(1000 of 5000 rows;
--- pass limit=)": a capped answer always says so; a later page says which
--- rows it holds.
---@param n integer rows at hand
---@param total? integer rows there are
---@param offset? integer rows skipped before these
---@return string
function M.count_line(n, total, offset)
    if offset and offset > 0 and total then
        return string.format(i18n._("(rows %d-%d of %d; pass offset=, limit=)"), offset + 1, offset + n, total)
    end
    if total and total > n then
        return string.format(i18n.n_("(%d of %d row; pass limit=)", "(%d of %d rows; pass limit=)", total), n, total)
    end
    return string.format(i18n.n_("(%d row)", "(%d rows)", n), n)
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
    -- Only the unbroken run 1..n prints positionally: with a hole, #v may
    -- count past it, and { 1, 2, nil, 4 } must not read as { 1, 2, 4 }.
    local n = 0
    while rawget(v, n + 1) ~= nil do
        n = n + 1
    end
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

---------------------------------------------------------------------------
-- Output modes, the output file and the timer: sqlite3's .mode, .headers,
-- .output, .once and .timer, the Lua way (relm.mode, relm.output, ...).
---------------------------------------------------------------------------

--- How records print: "table" (aligned, the default), "box" (drawn with
--- lines), "csv" (RFC 4180), "json" (an array of objects), "jsonl" (one
--- object a line), "line" (column = value, a row per paragraph),
--- "markdown" (a pipe table).
M.mode = "table"
--- Whether table, box, csv and markdown print a header row.
M.header = true
--- relm.timer(true): the REPL and -e print each statement's run time.
M.timer = false
--- The file results print to (relm.output / relm.once), nil for stdout.
M.out = nil
M.out_path = nil
M.out_once = false

local MODES = { table = true, box = true, csv = true, json = true, jsonl = true, line = true, markdown = true }

--- True when results go to a terminal: then tables are fitted to its
--- width, rows capped at max_rows and cells cut at max_cell; to a file or a
--- pipe, everything goes out whole.
---@return boolean
function M.terminal()
    return (M.width or 0) > 0 and M.out == nil
end

--- Set the output mode (and, with opts.header, the header row); with no
--- argument returns the mode. Raises invalid_argument for an unknown mode.
---@param mode? "table"|"box"|"csv"|"json"|"jsonl"|"line"|"markdown"
---@param opts? {header?: boolean}
---@return string mode
function M.set_mode(mode, opts)
    if mode ~= nil and not MODES[mode] then
        relm.error("invalid_argument", i18n._("relm.mode: argument #1 must be one of table, box, csv, json, jsonl, ")
            .. i18n._("line, markdown, got ") .. tostring(mode), 2)
    end
    if opts ~= nil and type(opts) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.mode: argument #2 (opts) must be a table {header = boolean}"), 2)
    end
    M.mode = mode or M.mode
    if opts and opts.header ~= nil then
        M.header = opts.header and true or false
    end
    return M.mode
end

local function close_out()
    if M.out then
        M.out:close()
    end
    M.out, M.out_path, M.out_once = nil, nil, false
end

--- Send printed results to path (truncated) until relm.output() brings
--- them back to the screen; once = true for the next result only.
---@param path? string
---@param once? boolean
---@return string|nil path the previous output file
function M.set_output(path, once)
    local fname = once and "relm.once" or "relm.output"
    if path ~= nil and (type(path) ~= "string" or path == "") then
        relm.error("invalid_argument", fname .. i18n._(": argument #1 (path) must be a file name, or nothing for ")
            .. i18n._("the screen"), 2)
    end
    local previous = M.out_path
    if path == nil or path == "stdout" or path == "-" then
        close_out()
        return previous
    end
    local h, err = io.open(path, "w")
    if not h then
        relm.error("io_error", fname .. i18n._(": cannot write '") .. path .. "': " .. tostring(err), 2)
    end
    close_out()
    M.out, M.out_path, M.out_once = h, path, once and true or false
    return previous
end

-- The columns of v when it prints as records in the current mode: arrays
-- of records, relm.rows and search results (their metatable names the
-- columns, empty ones included). nil for any other value.
local function record_columns(v)
    if type(v) ~= "table" then
        return nil
    end
    local mt = getmetatable(v)
    if type(mt) == "table" and type(mt.columns) == "table" then
        for _, row in ipairs(v) do
            if type(row) ~= "table" then
                return nil
            end
        end
        return mt.columns
    end
    if is_record_list(v) then
        return require("relm.export").columns(v)
    end
    return nil
end

-- A cell's text for box, line and markdown: whole, or cut on a terminal.
local function mode_cell(v, max)
    return cell(v, max)
end

local function box(rows, columns, max, header)
    local widths, numeric = {}, {}
    local cells = {}
    for c, name in ipairs(columns) do
        widths[c] = header and width(name) or 0
        local all, any = true, false
        for _, row in ipairs(rows) do
            local v = row[name]
            if v ~= nil and type(v) ~= "number" then
                all = false
            end
            any = any or v ~= nil
        end
        numeric[c] = all and any
    end
    for r, row in ipairs(rows) do
        cells[r] = {}
        for c, name in ipairs(columns) do
            local s = mode_cell(row[name], max)
            cells[r][c] = s
            widths[c] = math.max(widths[c], width(s))
        end
    end
    local function rule(l, m, r)
        local parts = {}
        for c = 1, #columns do
            parts[c] = string.rep("─", widths[c] + 2)
        end
        return l .. table.concat(parts, m) .. r
    end
    local function line(values, align)
        local parts = {}
        for c, s in ipairs(values) do
            local pad = string.rep(" ", widths[c] - width(s))
            parts[c] = " " .. ((align and numeric[c]) and pad .. s or s .. pad) .. " "
        end
        return "│" .. table.concat(parts, "│") .. "│"
    end
    local out = { rule("┌", "┬", "┐") }
    if header then
        out[#out + 1] = line(columns)
        out[#out + 1] = rule("├", "┼", "┤")
    end
    for r = 1, #rows do
        out[#out + 1] = line(cells[r], true)
    end
    out[#out + 1] = rule("└", "┴", "┘")
    return table.concat(out, "\n")
end

local function markdown(rows, columns, max)
    local function esc(s)
        return (s:gsub("|", "\\|"))
    end
    local head = {}
    for c, name in ipairs(columns) do
        head[c] = esc(name)
    end
    local out = { "| " .. table.concat(head, " | ") .. " |" }
    local rule = {}
    for c, name in ipairs(columns) do
        local num = #rows > 0
        for _, row in ipairs(rows) do
            num = num and (row[name] == nil or type(row[name]) == "number")
        end
        rule[c] = num and "---:" or "---"
    end
    out[2] = "|" .. table.concat(rule, "|") .. "|"
    for _, row in ipairs(rows) do
        local parts = {}
        for c, name in ipairs(columns) do
            parts[c] = esc(mode_cell(row[name], max))
        end
        out[#out + 1] = "| " .. table.concat(parts, " | ") .. " |"
    end
    return table.concat(out, "\n")
end

local function line_mode(rows, columns, max)
    local w = 0
    for _, name in ipairs(columns) do
        w = math.max(w, width(name))
    end
    local out = {}
    for r, row in ipairs(rows) do
        if r > 1 then
            out[#out + 1] = ""
        end
        for _, name in ipairs(columns) do
            out[#out + 1] = string.rep(" ", w - width(name)) .. name .. " = " .. mode_cell(row[name], max)
        end
    end
    return table.concat(out, "\n")
end

--- The text of records in a mode other than "table" (nil: nothing to
--- print, e.g. json lines of no rows). A capped answer's note goes to
--- stderr for the machine-readable modes, so that the data stays clean.
---@param rows table[]
---@param columns string[]
---@param mode string
---@return string|nil
function M.render(rows, columns, mode)
    local terminal = M.terminal()
    local max = terminal and M.max_cell or math.huge
    local export = require "relm.export"
    local total = M.total(rows)
    local text
    if mode == "csv" then
        local out = {}
        if M.header then
            out[1] = export.csv_header(columns)
        end
        for _, row in ipairs(rows) do
            out[#out + 1] = export.csv_line(row, columns)
        end
        text = #out > 0 and table.concat(out, "\r\n") .. "\r" or nil
    elseif mode == "json" or mode == "jsonl" then
        local out = {}
        for i, row in ipairs(rows) do
            out[i] = export.json_object(row, columns)
        end
        if mode == "json" then
            text = "[" .. table.concat(out, ",\n") .. "]"
        else
            text = #out > 0 and table.concat(out, "\n") or nil
        end
    elseif mode == "box" then
        text = box(rows, columns, max, M.header) .. "\n" .. M.count_line(#rows, total)
        total = nil
    elseif mode == "markdown" then
        text = markdown(rows, columns, max)
    elseif mode == "line" then
        text = #rows > 0 and line_mode(rows, columns, max) or nil
    end
    if total and total > #rows then
        io.stderr:write(M.count_line(#rows, total), "\n")
    end
    return text
end

--- The text the REPL prints for one value (nil: print nothing).
---@param v any
---@return string|nil
function M.show(v)
    if type(v) == "string" then
        return v -- as lua5.4 prints it: the text itself
    end
    if M.mode ~= "table" then
        local columns = record_columns(v)
        if columns then
            return M.render(v, columns, M.mode)
        end
        -- One record (relm.cmdb.get, relm.release.get) is a one-row answer.
        if is_record(v) and next(v) ~= nil and rawget(v, 1) == nil then
            return M.render({ v }, require("relm.export").columns({ v }), M.mode)
        end
    end
    local terminal = M.terminal()
    local opts = {
        width = terminal and M.width or 0, max_rows = terminal and M.max_rows or nil,
        max_cell = not terminal and math.huge or nil, header = M.header,
    }
    if is_record_list(v) then
        return M.table(v, nil, opts)
    end
    -- An empty answer prints its header and (0 rows), never {}: relm.sql
    -- results, and any list whose metatable names its columns (the
    -- convention of every function that returns records).
    local mt = getmetatable(v)
    if type(v) == "table" and type(mt) == "table" and next(v) == nil and not mt.__tostring
        and (mt.__name == "relm.rows" or type(mt.columns) == "table") then
        if type(mt.columns) == "table" and #mt.columns > 0 then
            return M.table(v, mt.columns, opts)
        end
        return "(0 rows)"
    end
    return M.format(v)
end

--- Print every argument (nil included) on its own line(s), to the output
--- file when relm.output or relm.once named one.
function M.print(...)
    local n = select("#", ...)
    local h = M.out or io.output()
    for i = 1, n do
        local text = M.show((select(i, ...)))
        if text ~= nil then
            h:write(text, "\n")
        end
    end
    h:flush()
    if M.out_once and n > 0 then
        close_out()
    end
end

return M
