-- relm/help.lua: help() in the REPL and scripts: the modules with a line each,
-- a module's functions, one function's doc, read from the modules' own source.
--
-- Docs come from two places. A Lua module documents a function with the
-- LuaCATS `---` lines right above `function M.name(...)`: the first sentence
-- is its one-line summary, `---@param`/`---@return` lines its details; the
-- module's summary is its two-line header comment. A C module may export a
-- `__doc` table: {_module = "one line", fname = "(args) -> result: one line"}.
local complete = require "relm.complete"
local i18n = require "relm.i18n"

local M = {}

local parsed = {} -- path -> {header=, funcs={name->doc}, order={names}}

-- First sentence of text, without its final period.
local function sentence(text)
    text = text:gsub("%s+", " "):gsub("^ ", "")
    local first = text:match("^(.-%.)%s") or text
    return (first:gsub("%.$", ""))
end

-- The type word at the start of s (a type may hold spaces inside braces,
-- brackets or parentheses, `{name: string}[]`, or go on after a colon or
-- comma: `fun(x: integer): boolean`, `string?, string?`),
-- and where it ends.
local function type_end(s)
    local depth, i = 0, 1
    while i <= #s do
        local c = s:sub(i, i)
        if c == "{" or c == "(" or c == "[" or c == "<" then
            depth = depth + 1
        elseif (c == "}" or c == ")" or c == "]" or c == ">") and depth > 0 then
            depth = depth - 1
        elseif c:match("%s") and depth == 0 then
            -- `fun(): string`, `string?, string?`: the type goes on.
            if not s:sub(i - 1, i - 1):match("[:,]") then
                return i - 1
            end
        end
        i = i + 1
    end
    return #s
end

--- The words of a `@param`/`@return` line and its text: "id integer the
--- number" gives "id integer ", "the number". The text is what help()
--- translates; the words (name, type) stay as written.
---@param tag string the line after `@param ` or `@return `
---@param named boolean whether it starts with a name (`@param`)
---@return string head, string text (text may be "")
function M.split_tag(tag, named)
    local rest = tag
    local head = ""
    if named then
        local name, after = rest:match("^(%S+%s*)(.*)$")
        head, rest = name or "", after or ""
    end
    local e = type_end(rest)
    head, rest = head .. rest:sub(1, e), rest:sub(e + 1)
    -- `@return table release`, `@return string s # text`: a name, not text.
    local rname = not named and (rest:match("^%s+[%a_.][%w_.]*%s*$") or rest:match("^%s+[%a_][%w_]*%s*#%s*"))
    if rname then
        head, rest = head .. rname, rest:sub(#rname + 1)
    end
    local sep, text = rest:match("^(%s*#?%s*)(.*)$")
    return head .. sep, text
end

-- Parse the LuaCATS doc comments of one Lua file (cached per path). Each
-- doc keeps the line its texts start on, for po/helpdocs.lua.
local function parse(path)
    if path == nil then
        return { funcs = {}, order = {} }
    end
    if parsed[path] then
        return parsed[path]
    end
    local info = { header = nil, funcs = {}, order = {} }
    parsed[path] = info
    local f = io.open(path, "r")
    if not f then
        return info
    end
    local header, in_header, pending, at, n = {}, true, {}, {}, 0
    for line in f:lines() do
        n = n + 1
        if in_header then
            local h = line:match("^%-%-%s?(.*)$")
            if h and not line:match("^%-%-%-") and h ~= "" then
                header[#header + 1] = h
            else
                in_header = false
            end
        end
        local doc = line:match("^%-%-%-%s?(.*)$")
        if doc then
            pending[#pending + 1], at[#pending + 1] = doc, n
        else
            local name, args = line:match("^function%s+[%w_]+[.:]([%a_][%w_]*)%s*%((.-)%)")
            if not name then
                name, args = line:match("^[%w_]+%.([%a_][%w_]*)%s*=%s*function%s*%((.-)%)")
            end
            if not name then
                -- M.checksum = C.checksum: the arguments are the @param names.
                name = line:match("^[%w_]+%.([%a_][%w_]*)%s*=%s*[%a_][%w_.]*%s*$")
                local names = {}
                for _, l in ipairs(pending) do
                    names[#names + 1] = l:match("^@param%s+([%w_.]+%??)")
                end
                args = table.concat(names, ", ")
            end
            if name and #pending > 0 then
                local d = { name = name, args = args, text = {}, params = {}, returns = {},
                            line = n, param_lines = {}, return_lines = {} }
                for i, l in ipairs(pending) do
                    local p = l:match("^@param%s+(.*)$")
                    local r = l:match("^@return%s+(.*)$")
                    local see = l:match("^@see%s+(relm%.[%w_]+%.[%w_]+)")
                    if see then
                        d.see = see
                    elseif p then
                        d.param_lines[#d.params + 1] = at[i]
                        d.params[#d.params + 1] = p
                    elseif r then
                        d.return_lines[#d.returns + 1] = at[i]
                        d.returns[#d.returns + 1] = r
                    elseif not l:match("^@") then
                        d.text[#d.text + 1] = l
                        d.line = math.min(d.line, at[i])
                    end
                end
                local rtypes = {}
                for i, r in ipairs(d.returns) do
                    rtypes[i] = r:match("^(%S+)")
                end
                d.sig = name .. "(" .. args .. ")"
                    .. (#rtypes > 0 and " -> " .. table.concat(rtypes, ", ") or "")
                -- The description as one text: the msgid help() looks up.
                d.desc = table.concat(d.text, " ")
                info.funcs[name] = d
                info.order[#info.order + 1] = name
            end
            pending, at = {}, {}
        end
    end
    f:close()
    local h = table.concat(header, " "):gsub("^relm/[%w_]+%.lua:%s*", "")
    info.header = h ~= "" and sentence(h) or nil
    info.header_line = 1
    return info
end

--- The texts help() can show from one Lua file, each as it is looked up
--- in the catalogue, with the line it comes from: the module's summary,
--- each function's description, the text of its `@param`/`@return` lines.
--- po/helpdocs.lua writes them into po/relm.pot.
---@param path string a Lua source file
---@return {text: string, line: integer}[]
function M.doc_texts(path)
    local info, out = parse(path), {}
    local function add(text, line)
        if text and text:match("%S") then
            out[#out + 1] = { text = text, line = line }
        end
    end
    add(info.header, info.header_line)
    for _, fname in ipairs(info.order) do
        local d = info.funcs[fname]
        add(d.desc, d.line)
        for i, p in ipairs(d.params) do
            add(select(2, M.split_tag(p, true)), d.param_lines[i])
        end
        for i, r in ipairs(d.returns) do
            add(select(2, M.split_tag(r, false)), d.return_lines[i])
        end
    end
    return out
end

-- text translated; "" and nil as they are ("" would give the catalogue's
-- header).
local function tr(text)
    if text == nil or not text:match("%S") then
        return text
    end
    return i18n._(text)
end

-- A doc's one-line summary in the reader's language.
local function summary_of(d)
    if d.one_line then
        return tr(d.desc)
    end
    return d.desc and sentence(tr(d.desc))
end

-- The source file of module name ("" is the top level, lua/relm/init.lua).
local function source(name)
    return package.searchpath(name == "" and "relm" or "relm." .. name, package.path)
end

-- The C module behind name, if there is one (loading a C module is cheap).
local function c_module(name)
    local key = "relm.core." .. (name == "" and "base" or name)
    if package.loaded[key] == nil and package.preload[key] == nil then
        return nil
    end
    local ok, m = pcall(require, key)
    return ok and type(m) == "table" and m or nil
end

-- The __doc table of a C module, or of a Lua module built by a function
-- rather than written out (relm.change comes from relm.related.api).
local function c_docs(name)
    local c = c_module(name)
    local d = c and rawget(c, "__doc")
    if type(d) ~= "table" and name ~= "" then
        -- relm.export is a function whose code lives in the module
    -- relm/export.lua: only a table stands for a module.
    local t = rawget(relm, name)
    if type(t) ~= "table" then
        t = package.loaded["relm." .. name]
    end
        d = type(t) == "table" and rawget(t, "__doc")
    end
    return type(d) == "table" and d or {}
end

-- The module table of name without loading anything new.
local function loaded(name)
    if name == "" then
        return relm
    end
    local t = rawget(relm, name) or package.loaded["relm." .. name]
    -- The C half stands for the module only when there is no Lua file:
    -- relm.core.release loaded by another module is not relm.release.
    if t == nil and not source(name) then
        t = package.loaded["relm.core." .. name]
    end
    return t
end

local function width()
    local w = rawget(relm, "pretty") and relm.pretty.width
    return (type(w) == "number" and w >= 40) and w or 80
end

-- Cut s to the terminal's width.
local function fit(s)
    local w = width()
    if (utf8.len(s) or #s) > w then
        s = s:sub(1, (utf8.offset(s, w) or w) - 1) .. "…"
    end
    return s
end

--- One-line description of a module (its header comment, or the C
--- module's __doc._module), or nil when it has none.
---@param name string module name, e.g. "cmdb"
---@return string|nil
function M.describe(name)
    local c = c_docs(name)._module
    c = type(c) == "string" and c or nil
    -- init.lua's header describes the file, the C half the API.
    if name == "" and c then
        return tr(c)
    end
    return tr(parse(source(name)).header or c)
end

-- The doc of function fname of module name: {sig=, summary=, ...}. A
-- forwarder documented only by `---@see relm.other.fn` (relm.release.impact
-- calls relm.related.impact) shows the doc of the function it calls.
--- Functions that wrap another, each mapped to the one it calls, so that
--- help finds the original's doc (relm.cmdb wraps the C functions it
--- gathers to add hints to their errors). Weak keys.
M.wrapped = setmetatable({}, { __mode = "k" })

local function_doc

-- Every string key under which table t holds the value v.
local function keys_of(t, v)
    local out = {}
    if type(t) == "table" then
        for k, f in pairs(t) do
            if f == v and type(k) == "string" then
                out[#out + 1] = k
            end
        end
    end
    return out
end

-- The doc of the same function value found under another module: relm.cmdb
-- gathers the functions of relm.cmdb_graph and relm.core.cmdb_*, whose
-- docs are written there; an alias (M.releases = M.for_ci) finds its
-- original. The signature takes the name it was asked for.
local function doc_by_value(name, fname)
    local v = loaded(name)
    v = type(v) == "table" and rawget(v, fname)
    if type(v) ~= "function" then
        return nil
    end
    v = M.wrapped[v] or v
    for key, t in pairs(package.loaded) do
        local n = type(key) == "string" and (key:match("^relm%.core%.([%w_]+)$") or key:match("^relm%.([%w_]+)$"))
        for _, k in ipairs(n and keys_of(t, v) or {}) do
            local d = not (n == name and k == fname) and function_doc(n, k, 3)
            if d then
                return setmetatable({ sig = fname .. d.sig:sub(#k + 1) }, { __index = d })
            end
        end
    end
    return nil
end

function_doc = function(name, fname, hops)
    local d = parse(source(name)).funcs[fname]
    if d and #d.text == 0 and d.see and (hops or 0) < 3 then
        local mod, f = d.see:match("^relm%.([%w_]+)%.([%w_]+)$")
        local target = function_doc(mod, f, (hops or 0) + 1)
        if target then
            -- calls: shown above the text of the function it calls.
            return setmetatable({ calls = d.see }, { __index = target })
        end
    end
    if d then
        return d
    end
    local c = c_docs(name)[fname]
    if type(c) == "string" then
        local sig, summary = c:match("^(%b().-):%s+(.*)$")
        if c:sub(1, 1) ~= "(" then
            sig, summary = nil, c
        end
        return { name = fname, sig = fname .. (sig or ""), desc = summary, text = { summary },
                 one_line = true,
                 params = {}, returns = {} }
    end
    return (hops or 0) < 3 and doc_by_value(name, fname) or nil
end

--- The functions of a module, each with its one-line doc, in source order.
---@param name string module name ("" for the top level `relm`)
---@return {name: string, sig: string, summary: string|nil}[]
function M.functions(name)
    local t = loaded(name)
    if t == nil and name ~= "" then
        t = relm[name] -- loads it
    end
    local out, seen = {}, {}
    if type(t) ~= "table" then
        return out
    end
    local function add(fname)
        if not seen[fname] and type(t[fname]) == "function" and fname:sub(1, 1) ~= "_" then
            seen[fname] = true
            local d = function_doc(name, fname)
            out[#out + 1] = { name = fname, sig = d and d.sig or fname .. "(...)",
                              summary = d and summary_of(d) }
        end
    end
    for _, fname in ipairs(parse(source(name)).order) do
        add(fname)
    end
    local rest = {}
    for k in pairs(t) do
        if type(k) == "string" then
            rest[#rest + 1] = k
        end
    end
    table.sort(rest)
    for _, fname in ipairs(rest) do
        add(fname)
    end
    return out
end

-- Which module and name a value is: "cmdb", nil for relm.cmdb; "cmdb",
-- "add" for relm.cmdb.add; "", "sql" for relm.sql.
local function locate(v)
    if v == relm then
        return ""
    end
    local names, seen = { "" }, {}
    for _, n in ipairs(complete.modules()) do
        names[#names + 1], seen[n] = n, true
    end
    -- Modules not offered (relm.people) still get help once loaded.
    for n, t in pairs(relm) do
        if type(n) == "string" and type(t) == "table" and not seen[n] then
            names[#names + 1] = n
        end
    end
    for _, n in ipairs(names) do
        if n ~= "" and v == loaded(n) then
            return n
        end
    end
    if type(v) ~= "function" then
        return nil
    end
    for _, n in ipairs(names) do
        for _, t in ipairs({ loaded(n), n ~= "" and package.loaded["relm.core." .. n] or nil }) do
            local k = keys_of(t, v)[1]
            if k then
                return n, k
            end
        end
    end
    return nil
end

-- Resolve "cmdb", "relm.cmdb", "relm.cmdb.add" or "sql" to module, name.
local function resolve(s)
    s = s:gsub("^relm%.?", "")
    local mod, fname = s:match("^([%a_][%w_]*)%.([%a_][%w_]*)$")
    if mod then
        return mod, fname
    end
    if s == "" then
        return ""
    end
    if type(rawget(relm, s)) == "function" then
        return "", s
    end
    return s
end

-- The top-level field of relm that is a plain value (relm.version,
-- relm.home) named s ("version", "relm.home") or holding s: help(relm.version)
-- passes the string "0.1.0", which is no name at all.
local function value_field(s)
    local key = s:gsub("^relm%.", "")
    local v = rawget(relm, key)
    if v ~= nil and type(v) ~= "function" and type(v) ~= "table" then
        return key
    end
    for k, x in pairs(relm) do
        if x == s and type(k) == "string" and not k:match("^_") then
            return k
        end
    end
    return nil
end

local function qualified(name, fname)
    return "relm." .. (name ~= "" and name .. "." or "") .. (fname or "")
end

-- s broken at spaces into lines no wider than the terminal, appended to
-- out; lines after the first start with indent. A word longer than a
-- line stays whole.
local function wrap(out, s, indent)
    local w = width()
    local line = nil
    for word in s:gmatch("%S+") do
        local lead = line == nil and (s:match("^%s*") or "") or nil
        if line == nil then
            line = lead .. word
        elseif (utf8.len(line) or #line) + 1 + (utf8.len(word) or #word) > w then
            out[#out + 1] = line
            line = indent .. word
        else
            line = line .. " " .. word
        end
    end
    out[#out + 1] = line or s
end

local function lines_overview()
    local out = { i18n._("relm modules (help(relm.NAME) lists a module's functions):") }
    local mods = complete.modules()
    local w = 0
    for _, n in ipairs(mods) do
        w = math.max(w, #n)
    end
    for _, n in ipairs(mods) do
        out[#out + 1] = fit((string.format("  %-" .. w .. "s  %s", n, M.describe(n) or ""):gsub("%s+$", "")))
    end
    local top = {}
    for _, f in ipairs(M.functions("")) do
        top[#top + 1] = "relm." .. f.name
    end
    -- The top-level functions, wrapped to the width.
    local line = i18n._("top level (help(relm) for details):")
    for _, name in ipairs(top) do
        if #line + #name + 2 > width() then
            out[#out + 1] = line
            line = " "
        end
        line = line .. " " .. name .. ","
    end
    out[#out + 1] = (line:gsub(",$", ""))
    out[#out + 1] = fit(i18n._("help(relm.NAME.fn): one function. Tab completes, Ctrl-C stops, Ctrl-D leaves."))
    return out
end

local function lines_module(name)
    local out = {}
    local d = M.describe(name)
    out[#out + 1] = fit((name == "" and "relm" or "relm." .. name) .. (d and ": " .. d or ""))
    local fns = M.functions(name)
    if #fns == 0 then
        out[#out + 1] = i18n._("  (no functions)")
    end
    for _, f in ipairs(fns) do
        local prefix = name == "" and "relm." or "relm." .. name .. "."
        out[#out + 1] = fit("  " .. prefix .. f.sig .. (f.summary and ": " .. f.summary or ""))
    end
    return out
end

local function lines_function(name, fname, v)
    local d = function_doc(name, fname)
    local out = {}
    if not d then
        out[1] = qualified(name, fname) .. i18n._("(...): no documentation")
        local info = type(v) == "function" and debug.getinfo(v, "S")
        if info and info.what == "Lua" then
            out[2] = i18n._("  defined at ") .. info.short_src .. ":" .. info.linedefined
        end
        return out
    end
    wrap(out, qualified(name, "") .. d.sig, "    ")
    if d.calls then
        wrap(out, "  (calls " .. d.calls .. ")", "  ")
    end
    -- Untranslated, the lines as written; translated, the translation's
    -- lines (a translator may break them with \n) wrapped to the width.
    local desc = tr(d.desc)
    if desc == d.desc then
        for _, l in ipairs(d.text) do
            wrap(out, "  " .. l, "  ")
        end
    else
        for l in (desc .. "\n"):gmatch("(.-)\n") do
            wrap(out, "  " .. l, "  ")
        end
    end
    for _, p in ipairs(d.params) do
        local head, text = M.split_tag(p, true)
        wrap(out, "  @param " .. head .. tr(text), "      ")
    end
    for _, r in ipairs(d.returns) do
        local head, text = M.split_tag(r, false)
        wrap(out, "  @return " .. head .. tr(text), "      ")
    end
    return out
end

--- The help text for v as an array of lines: no argument lists the modules;
--- a module (relm.cmdb or "cmdb") lists its functions with one line each; a
--- function (relm.cmdb.add or "cmdb.add") shows its whole doc.
---@param v any
---@return string[]
function M.lines(v)
    if v == nil then
        return lines_overview()
    end
    local name, fname
    if type(v) == "string" then
        local field = value_field(v)
        if field then
            return { i18n._("relm.%s is a value (%q), not a module or a function; help(relm) lists the functions")
                :format(field, relm[field]) }
        end
        local bare = v:gsub("^relm%.?", "")
        if bare ~= "" and not bare:match("^[%a_][%w_]*$") and not bare:match("^[%a_][%w_]*%.[%a_][%w_]*$") then
            return { i18n._("help(%q): not a name; help(\"cmdb\"), help(\"cmdb.get\") or help(relm.cmdb.get); "
                .. "help() lists the modules"):format(v) }
        end
        name, fname = resolve(v)
        if fname == nil and name ~= "" and loaded(name) == nil and relm[name] == nil then
            -- help("impact"): the functions of that name, if any.
            local found = {}
            for _, mod in ipairs(complete.modules()) do
                local t = relm[mod]
                if type(t) == "table" and type(t[name]) == "function" then
                    found[#found + 1] = "help(relm." .. mod .. "." .. name .. ")"
                end
            end
            local out = { i18n._("no module relm.%s; help() lists the modules"):format(name) }
            if #found > 0 then
                wrap(out, i18n._("  functions called %s: %s"):format(name, table.concat(found, ", ")), "    ")
            end
            return out
        end
    else
        name, fname = locate(v)
        if name == nil then
            local info = type(v) == "function" and debug.getinfo(v, "S")
            local where = info and info.what == "Lua"
                and i18n._(" (a function defined at %s:%d)"):format(info.short_src, info.linedefined) or ""
            return { i18n._("no help for this %s%s; help() lists the modules"):format(type(v), where) }
        end
    end
    if fname then
        -- By name, the module may not be loaded yet ("related.releases").
        local t = loaded(name) or (name ~= "" and relm[name]) or nil
        return lines_function(name, fname, t and t[fname])
    end
    return lines_module(name)
end

--- Print help: help(), help(relm.x), help(relm.x.f), or the same as strings.
--- help(nil), what a misspelt help(relm.cmdb.imapct) passes, says so
--- rather than list the modules as help() does.
---@param v any
function M.help(...)
    local v = ...
    if v == nil and select("#", ...) > 0 then
        io.write(i18n._("help(nil): no such name (misspelt?); help() lists modules, Tab completes"), "\n")
        return
    end
    io.write(table.concat(M.lines(v), "\n"), "\n")
end

return M
