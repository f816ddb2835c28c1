-- relm/search.lua: advanced search of releases (every status by
-- default; status="closed" for the reference product's closed-release
-- search) with full-text search over title, description and closure text
-- (SQLite FTS5), and export to CSV or JSON. See docs/search.md.
local i18n = require "relm.i18n"
local M = {}

local STATUS = { open = true, suspended = true, closed = true, cancelled = true }
local SITUATION = {
    ["in execution"] = true, in_execution = true, suspended = true, late = true, closed = true, cancelled = true,
}

-- Columns of a result row, in the order export writes them.
M.columns = {
    "id", "number", "title", "status", "state", "phase", "priority", "requester", "unit", "contract",
    "portfolio", "model", "executor_group", "current_group", "responsible", "created_at", "deadline",
    "closed_at", "release_date", "solution_category", "closure_text", "reopen_count", "sla_stage", "calendar",
}
-- How results print in the REPL: the columns a reader scans first, never
-- cut; dates without their time; the executor group and the title share
-- what is left of the line. Every column is in the rows themselves.
-- The SLA clock (time left, stage) of open and suspended releases shows
-- as the desktop shows it, its columns left out when blank in every row.
local SHOWN = { "number", "status", "p", "left", "sla", "opened", "closed", "group", "title" }
local KEEP = { "number", "status", "p", "left", "sla", "opened", "closed" }
-- Their headers, translated where they are shown.
local HEADERS = {
    number = i18n.N_("number"), status = i18n.N_("status"), p = i18n.N_("p"), opened = i18n.N_("opened"),
    closed = i18n.N_("closed"), group = i18n.N_("group"), title = i18n.N_("title"), left = i18n.N_("left"),
    sla = i18n.N_("sla"),
}

local function render(rows)
    local pretty = require "relm.pretty"
    local desktop = require "relm.desktop"
    local view, any = {}, { left = false, sla = false }
    for i, r in ipairs(rows) do
        local running = r.status == "open" or r.status == "suspended"
        view[i] = {
            number = r.number, status = r.status, p = r.priority, opened = (r.created_at or ""):sub(1, 10),
            closed = (r.closed_at or ""):sub(1, 10), group = r.executor_group, title = r.title,
            left = running and desktop._short_left(r.time_left) or "",
            sla = running and desktop._short_stage(r.sla_stage) or "",
        }
        any.left = any.left or view[i].left ~= ""
        any.sla = any.sla or view[i].sla ~= ""
    end
    local shown = {}
    for _, c in ipairs(SHOWN) do
        if any[c] ~= false then
            shown[#shown + 1] = c
        end
    end
    -- Fitted and capped on a terminal only: to a file or a pipe every row
    -- and every character goes out.
    local terminal = pretty.terminal()
    local labels = {}
    for c, h in pairs(HEADERS) do
        labels[c] = i18n._(h)
    end
    return pretty.table(view, shown, {
        labels = labels,
        width = terminal and pretty.width or 0, max_rows = terminal and pretty.max_rows or nil,
        max_cell = not terminal and math.huge or nil, keep = KEEP, total = rows.total, offset = rows.offset,
        header = pretty.header,
    })
end

-- Search results: an array of releases whose metatable prints them, names
-- their columns (relm.export, relm.mode) and answers rows.total (every
-- match, also those past the limit) without a key that ipairs or pairs
-- would see.
local function results(rows, total, offset)
    return setmetatable(rows, {
        __name = "relm.search", __tostring = render, search = true, columns = M.columns,
        __index = { total = total, offset = offset },
    })
end

-- " (did you mean 'x'?)" for the name of keys nearest word (at most two
-- edits, and fewer than word's length), or "": stauts= is status=.
local function near(word, keys)
    if type(word) ~= "string" or #word > 40 then
        return ""
    end
    local distance = require("relm.complete").distance
    local best, bestd
    for name in pairs(keys) do
        local d = distance(word, name)
        if d <= 2 and d < #word and (bestd == nil or d < bestd or (d == bestd and name < best)) then
            best, bestd = name, d
        end
    end
    return best and (" (did you mean '%s'?)"):format(best) or ""
end

local FILTERS = {
    status = true, situation = true, sla_stage = true, number = true, opened = true, opened_from = true,
    opened_to = true,
    closed = true, closed_from = true, closed_to = true, contract = true, unit = true, user = true,
    requester = true, responsible = true, priority = true, group = true, portfolio = true, model = true,
    text = true, limit = true, offset = true, order = true,
}

local ORDER = {
    number = "r.number", ["-number"] = "r.number DESC", opened = "r.created_at, r.id",
    ["-opened"] = "r.created_at DESC, r.id DESC", closed = "r.closed_at, r.id",
    ["-closed"] = "r.closed_at DESC, r.id DESC", priority = "r.priority, r.id",
    ["-priority"] = "r.priority DESC, r.id",
}

---The GLOB pattern for a release number given as the counter's digits:
---"42" and "0042" are "*-000042" (any year's REL-YYYY-000042), whatever
---their length.
---@param digits string
---@return string
function M.number_glob(digits)
    local n = digits:gsub("^0+", "")
    return "*-" .. string.rep("0", 6 - #n) .. n
end

-- Raise invalid_argument at the user's line (relm errors skip the
-- engine's own frames).
-- The releases and the names the filters and the columns read, joined
-- once for the page and once for its count.
local RELEASES_FROM = [[
    FROM releases r
    LEFT JOIN users ru ON ru.id = r.requester_id
    LEFT JOIN users rs ON rs.id = r.responsible_id
    LEFT JOIN groups eg ON eg.id = r.executor_group_id
    LEFT JOIN groups cg ON cg.id = r.current_group_id
    LEFT JOIN portfolios p ON p.id = r.portfolio_id
    LEFT JOIN models m ON m.id = r.model_id
]]

local function bad(msg)
    relm.error("invalid_argument", "relm.search.releases: " .. msg, 1)
end

-- One value or an array of values, each checked by ok(v); returns an array.
local function list_of(name, v, ok, what)
    local t = type(v) == "table" and v or { v }
    if #t == 0 then
        bad(name .. " must be " .. what .. " or an array of them")
    end
    for _, x in ipairs(t) do
        if not ok(x) then
            bad(("%s must be %s or an array of them, got %s"):format(name, what, tostring(x)))
        end
    end
    return t
end

-- "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM[:SS][Z]" (UTC, as relm stores times)
-- made comparable with the stored "YYYY-MM-DDTHH:MM:SSZ": `upper` makes a
-- bare date mean the end of that day (periods are inclusive).
local function date_bound(name, v, upper)
    local date = type(v) == "string" and v:match("^(%d%d%d%d%-%d%d%-%d%d)$")
    if date then
        return date .. (upper and "T23:59:59Z" or "T00:00:00Z")
    end
    local minute, sec
    if type(v) == "string" then
        minute, sec = v:match("^(%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d)(:?%d?%d?)Z?$")
    end
    if not minute or (sec ~= "" and #sec ~= 3) then
        bad(name .. " must be a date YYYY-MM-DD or a UTC date-time YYYY-MM-DDTHH:MM[:SS][Z], got " .. tostring(v))
    end
    return minute .. (sec ~= "" and sec or ":00") .. "Z"
end

-- A period filter: {from=, to=} (either may be absent) or from/to keys.
local function period(f, key)
    local from, to = f[key .. "_from"], f[key .. "_to"]
    local p = f[key]
    if p ~= nil then
        if type(p) ~= "table" then
            bad(key .. " must be a table {from=, to=}")
        end
        for k in pairs(p) do
            if k ~= "from" and k ~= "to" then
                bad(key .. ": unknown key '" .. tostring(k) .. "' (from, to)")
            end
        end
        from, to = from or p.from, to or p.to
    end
    return from and date_bound(key .. ".from", from, false), to and date_bound(key .. ".to", to, true)
end

-- Words of a free text turned into an FTS5 query: every word must appear
-- (as a prefix), quoted so that punctuation cannot be read as syntax.
local function fts_query(text)
    local words = {}
    for w in text:gmatch("[^%s%p]+") do
        words[#words + 1] = '"' .. w .. '"*'
    end
    if #words == 0 then
        bad("text must contain at least one word")
    end
    return table.concat(words, " AND ")
end

-- The WHERE clause (fixed SQL text) and its bound values for filters f.
local function where(f)
    local sql, args = {}, {}
    local function add(clause, ...)
        sql[#sql + 1] = clause
        for _, v in ipairs({ ... }) do
            args[#args + 1] = v
        end
    end
    -- One clause per value of a list filter, OR'ed. clause is the SQL for
    -- one value, or a function(v) returning that SQL and what to bind in
    -- place of v; what is bound goes to every "?" of its clause.
    local function any(clause, values)
        local parts = {}
        for _, v in ipairs(values) do
            local c, bound = clause, v
            if type(clause) == "function" then
                c, bound = clause(v)
            end
            parts[#parts + 1] = c
            for _ = 1, select(2, c:gsub("%?", "")) do
                args[#args + 1] = bound
            end
        end
        sql[#sql + 1] = "(" .. table.concat(parts, " OR ") .. ")"
    end
    if f.status ~= nil then
        any("r.status = ?", list_of("status", f.status, function(v) return STATUS[v] end,
            "open, suspended, closed or cancelled"))
    end
    if f.situation ~= nil then
        any(function(s)
            if s == "in execution" or s == "in_execution" then
                return "(r.status = 'open' AND (r.deadline IS NULL OR r.deadline >= ?))",
                    os.date("!%Y-%m-%dT%H:%M:%SZ", relm.release.now())
            elseif s == "late" then
                return "((r.status = 'open' AND r.deadline < ?) OR "
                    .. "(r.status = 'suspended' AND r.remaining_seconds < 0))",
                    os.date("!%Y-%m-%dT%H:%M:%SZ", relm.release.now())
            end
            return "r.status = ?", s
        end, list_of("situation", f.situation, function(v) return SITUATION[v] end,
            "\"in execution\", suspended, late, closed or cancelled"))
    end
    if f.sla_stage ~= nil then
        local stages = { in_progress = true, warning = true, breached = true }
        any("r.sla_stage = ?", list_of("sla_stage", f.sla_stage, function(v) return stages[v] end,
            "in_progress, warning or breached"))
    end
    if f.number ~= nil then
        if type(f.number) ~= "string" or f.number == "" then
            bad("number must be a release number or a pattern with *, got " .. tostring(f.number))
        end
        if f.number:find("*", 1, true) then
            add("r.number GLOB ?", f.number)
        elseif f.number:match("^%d+$") then
            add("r.number GLOB ?", M.number_glob(f.number))
        else
            add("r.number = ?", f.number)
        end
    end
    local from, to = period(f, "opened")
    if from then add("r.created_at >= ?", from) end
    if to then add("r.created_at <= ?", to) end
    from, to = period(f, "closed")
    if from then add("r.closed_at >= ?", from) end
    if to then add("r.closed_at <= ?", to) end
    for _, k in ipairs({ "contract", "unit" }) do
        if f[k] ~= nil then
            any(k == "unit" and "r.contact_unit = ?" or "r.contract = ?",
                list_of(k, f[k], function(v) return type(v) == "string" end, "a string"))
        end
    end
    local function named(key, clause)
        if f[key] ~= nil then
            any(clause, list_of(key, f[key], function(v) return type(v) == "string" end, "a name"))
        end
    end
    named("user", "ru.name = ?")
    named("requester", "ru.name = ?")
    named("responsible", "rs.name = ?")
    named("portfolio", "p.name = ?")
    named("model", "m.name = ?")
    if f.group ~= nil then
        any("eg.name = ? OR cg.name = ?", list_of("group", f.group,
            function(v) return type(v) == "string" end, "a group name"))
    end
    if f.priority ~= nil then
        any("r.priority = ?", list_of("priority", f.priority, function(v)
            return math.type(v) == "integer" and v >= 1 and v <= 5
        end, "an integer 1-5"))
    end
    if f.text ~= nil then
        if type(f.text) ~= "string" then
            bad("text must be a string")
        end
        add("r.id IN (SELECT rowid FROM releases_fts WHERE releases_fts MATCH ?)", fts_query(f.text))
    end
    return #sql > 0 and ("WHERE " .. table.concat(sql, " AND ")) or "", args
end

---Search releases. Filters (all optional, combined with AND; a list means
---any of): status ("open", "suspended", "closed", "cancelled"; default:
---every status), sla_stage ("in_progress", "warning", "breached"),
---situation ("in execution", "suspended", "late", "closed",
---"cancelled"), number (exact, the digits after the last dash, or a
---pattern with *), opened={from=, to=} and closed={from=, to=} (dates
---YYYY-MM-DD, inclusive; or opened_from= ...), contract, unit (the
---contact's unit), user (the requester; also requester=, responsible=),
---priority (1-5), group (executor or current group), portfolio, model,
---text (every word, as a prefix, in the title, description or closure
---text), limit (default 1000), offset, order ("-opened" default,
---"opened", "closed", "-closed", "number", "priority", ...).
---Raises invalid_argument naming the bad filter.
---@param filters? table
---@return table[] releases
function M.releases(filters)
    if filters ~= nil and type(filters) ~= "table" then
        bad("argument #1 (filters) must be a table, got " .. type(filters))
    end
    local f = filters or {}
    for k in pairs(f) do
        if not FILTERS[k] then
            bad("unknown filter '" .. tostring(k) .. "'" .. near(k, FILTERS) .. " (see docs/search.md)")
        end
    end
    local limit, offset = f.limit or 1000, f.offset or 0
    if math.type(limit) ~= "integer" or limit < 0 then
        bad("limit must be a non-negative integer")
    end
    if math.type(offset) ~= "integer" or offset < 0 then
        bad("offset must be a non-negative integer")
    end
    local order = ORDER[f.order or "-opened"]
    if not order then
        local names = {}
        for k in pairs(ORDER) do
            names[#names + 1] = k
        end
        table.sort(names)
        bad("order must be one of " .. table.concat(names, ", ") .. ", got " .. tostring(f.order))
    end
    local w, args = where(f)
    args[#args + 1] = limit
    args[#args + 1] = offset
    local rows = relm.sql([[
        SELECT r.id, r.number, r.title, r.status, r.state, r.phase, r.priority,
               ru.name AS requester, r.contact_unit AS unit, r.contract,
               p.name AS portfolio, m.name AS model, eg.name AS executor_group,
               cg.name AS current_group, rs.name AS responsible, r.created_at,
               r.deadline, r.closed_at, r.release_date, r.solution_category,
               r.closure_text, r.reopen_count, r.sla_stage, r.calendar,
               r.remaining_seconds
        ]] .. RELEASES_FROM .. w .. " ORDER BY " .. order .. " LIMIT ? OFFSET ?", table.unpack(args))
    -- A full page may not be all: count what matched, so that a capped
    -- answer says "(1000 of 5000 rows; pass limit=)" and scripts read
    -- rows.total instead of trusting #rows.
    local total = offset + #rows
    if #rows >= limit then
        args[#args] = nil
        args[#args] = nil
        total = relm.sql("SELECT count(*) AS n " .. RELEASES_FROM .. w, table.unpack(args))[1].n
    end
    -- The time left on each clock as relm.release.get reads it (business
    -- time on a calendar), as of now: a field of the rows, not an export
    -- column, so that an export is the same file whenever it is written.
    local time_left, now = require("relm.release")._time_left, relm.release.now()
    for _, r in ipairs(rows) do
        r.time_left = time_left(r, now)
        r.remaining_seconds = nil
    end
    return results(rows, total, offset)
end

---Write releases to a file: rows from relm.search.releases, or a filter
---table to search with first. The format is opts.format ("csv", "json"
---or "jsonl") or the file's extension (.csv, .json, .jsonl); any other
---extension (.xlsx) is refused, naming the path. Filters without a limit
---export every match. Rows that are not releases (no number) are refused:
---relm.export writes any records. opts.progress = function(done, total)
---as for relm.export. Returns the number of releases written.
---@param rows_or_filters table
---@param path string
---@param opts? {format?: "csv"|"json"|"jsonl", progress?: fun(done: integer, total: integer)}
---@return integer count
function M.export(rows_or_filters, path, opts)
    local fname = "relm.search.export"
    if type(rows_or_filters) ~= "table" then
        relm.error("invalid_argument", fname .. i18n._(": argument #1 must be search results or filters"), 2)
    end
    local export = require "relm.export"
    opts = export.check_target(path, opts, fname)
    local format = export.format_of(path, opts.format, fname)
    local mt = getmetatable(rows_or_filters)
    local rows = rows_or_filters
    if not (mt and mt.search) and (next(rows_or_filters) == nil or rows_or_filters[1] == nil) then
        -- An export is the whole answer: the 1000-row default of a search
        -- on screen would silently cut the file. An explicit limit holds.
        local f = {}
        for k, v in pairs(rows_or_filters) do
            f[k] = v
        end
        f.limit = f.limit or math.maxinteger
        rows = M.releases(f)
    elseif not (mt and mt.search) then
        -- Rows from elsewhere: releases (relm.release.get) are welcome;
        -- anything else would come out as blank lines under the release
        -- columns.
        export.check_rows(rows, fname)
        for i, r in ipairs(rows) do
            if r.number == nil or r.id == nil then
                relm.error("invalid_argument", (i18n._("%s: row %d is not a release (it has no %s); write any records ")
                    .. i18n._("with relm.export(rows, path)")):format(fname, i, r.id == nil and "id" or "number"), 2)
            end
        end
    end
    return export.write_file(rows, path, format, M.columns, opts, fname)
end

return M
