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

-- What sqlite3's dot commands do, as functions (docs/repl.md). They load
-- the printer and the exporter on first use only.

---How results print: relm.mode("csv"), relm.mode("table", {header = false});
---with no argument returns the mode. Modes: table, box, csv, json, jsonl,
---line, markdown.
---@param mode? string
---@param opts? {header?: boolean}
---@return string mode
function relm.mode(mode, opts)
    return require("relm.pretty").set_mode(mode, opts)
end

---Add an HTTP route for a site: relm.route("GET", "/api/v1/x/{id}", fn).
---fn(req, params, query) returns status, body (a table, sent as JSON),
---headers; it runs as the request's user. Route files are loaded by
---`relm serve --listen ADDR --routes PATH` (docs/http.md).
---@param method string
---@param path string
---@param fn function
---@param doc? {summary?: string, permission?: string}
function relm.route(method, path, fn, doc)
    return require("relm.http").route(method, path, fn, doc)
end

---Print results to a file (truncated) from now on; relm.output() prints
---to the screen again.
---@param path? string
function relm.output(path)
    require("relm.pretty").set_output(path, false)
end

---Print the next result to a file, then to the screen again.
---@param path string
function relm.once(path)
    if type(path) ~= "string" then
        relm.error("invalid_argument", "relm.once: argument #1 (path) must be a file name", 2)
    end
    require("relm.pretty").set_output(path, true)
end

---Print each statement's run time (on stderr) after its results.
---@param on boolean
function relm.timer(on)
    require("relm.pretty").timer = on and true or false
end

---The SQL that creates the tables, indexes and views whose name is like
---pattern (SQL LIKE; default every one), as text to read; when none is, a
---comment line saying so.
---@param pattern? string
---@return string
function relm.schema(pattern)
    if pattern ~= nil and type(pattern) ~= "string" then
        relm.error("invalid_argument", "relm.schema: argument #1 (pattern) must be a string (SQL LIKE)", 2)
    end
    local rows = base.sql("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite%' "
        .. "AND name LIKE ? ORDER BY tbl_name, type DESC, name", pattern or "%")
    local out = {}
    for i, r in ipairs(rows) do
        out[i] = r.sql .. ";"
    end
    if #out == 0 then
        -- Said as an SQL comment, so the text stays SQL; a blank line
        -- would look like a table without columns.
        return ("-- no table, index or view is named like '%s' (LIKE: %% any text, _ one character; "
            .. "relm.schema() prints them all)"):format(pattern)
    end
    return table.concat(out, "\n")
end

---Write any array of records (relm.sql results included) to a file as CSV,
---JSON or JSON lines: relm.export(rows, path, {format=, columns=, header=,
---progress=}). See lua/relm/export.lua.
---@param rows table[]
---@param path string
---@param opts? table
---@return integer count
function relm.export(rows, path, opts)
    return require("relm.export").export(rows, path, opts)
end

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
