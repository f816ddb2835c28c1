-- relm/complete.lua: Tab completion for the REPL: globals, keywords, names
-- under `relm.` at any depth (modules not loaded yet included) and methods.
local i18n = require "relm.i18n"
local M = {}

-- Files of lua/relm that are the engine's plumbing, not modules to offer
-- (export.lua is the body of the function relm.export; json.lua how the
-- Lua half reads the core's JSON, args.lua its argument checks).
local INTERNAL = { init = true, complete = true, help = true, modules = true, eval = true, export = true,
    json = true, args = true, source = true }

local KEYWORDS = {
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function",
    "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return",
    "then", "true", "until", "while",
}

local module_cache

--- Names of the relm modules, loaded or not, sorted: every lua/relm/*.lua
--- file under relm.home (listed by the evaluator's C helper, so no shell is
--- spawned) plus every C module preloaded as relm.core.<name>.
---@return string[]
function M.modules()
    if module_cache then
        return module_cache
    end
    local seen, list, lua_file = {}, {}, {}
    local function add(name)
        if not seen[name] and not INTERNAL[name] and name:match("^[%a_][%w_]*$") then
            seen[name] = true
            list[#list + 1] = name
        end
    end
    for key in pairs(package.preload) do
        local name = key:match("^relm%.core%.(.+)$")
        if name and name ~= "base" then
            add(name)
        end
    end
    -- Without the directory listing the list holds only the modules loaded
    -- so far (18 of 25 at the first Tab of a session): such a list is
    -- returned but never cached, so the next Tab looks again.
    local complete_list = false
    local ok, ev = pcall(require, "relm.eval")
    local home = rawget(relm or {}, "home")
    if ok and type(ev) == "table" and ev.list and home then
        local files = ev.list(home .. "/lua/relm")
        complete_list = files ~= nil
        for _, file in ipairs(files or {}) do
            local name = file:match("^(.+)%.lua$")
            if name then
                lua_file[name] = true
                add(name)
            end
        end
    end
    -- Modules loaded some other way (a script's own package.path) count too.
    for key in pairs(package.loaded) do
        local name = key:match("^relm%.([%a_][%w_]*)$")
        if name then
            add(name)
        end
    end
    -- X_part modules (relm.core.cmdb_graph, lua/relm/cmdb_graph.lua) are
    -- pieces merged into module X, not modules of their own.
    -- A C module with no Lua file that is only the C half of Lua modules
    -- (relm.core.people under relm.user, relm.group...) says so with
    -- __doc._internal: relm.people still works, but it is not offered.
    local function internal_c(name)
        if lua_file[name] or not package.preload["relm.core." .. name] then
            return false
        end
        local loaded, c = pcall(require, "relm.core." .. name)
        local doc = loaded and type(c) == "table" and rawget(c, "__doc")
        return type(doc) == "table" and doc._internal == true
    end
    local modules = {}
    for _, name in ipairs(list) do
        local owner = name:match("^([%a][%w]*)_")
        if not (owner and seen[owner]) and not internal_c(name) then
            modules[#modules + 1] = name
        end
    end
    table.sort(modules)
    if complete_list then
        module_cache = modules
    end
    return modules
end

--- Forget the module list (after files were added to lua/relm).
function M.reset()
    module_cache = nil
end

-- Index v[k] without letting a failing __index escape.
local function get(v, k)
    local ok, r = pcall(function()
        return v[k]
    end)
    if ok then
        return r
    end
    return nil
end

-- Add the identifier keys of t (and of tables its __index chain leads to)
-- that start with prefix to out; methods_only keeps functions only.
local function collect(t, prefix, out, methods_only, depth)
    depth = depth or 0
    if depth > 8 then
        return
    end
    if type(t) == "table" then
        for k, v in next, t do
            if type(k) == "string" and k:match("^[%a_][%w_]*$") and k:sub(1, #prefix) == prefix
                and (not methods_only or type(v) == "function")
                and (prefix:sub(1, 1) == "_" or k:sub(1, 1) ~= "_") then
                out[k] = true
            end
        end
    end
    local mt = (type(t) == "table" or type(t) == "string" or type(t) == "userdata")
        and debug.getmetatable(t)
    if type(mt) == "table" and type(rawget(mt, "__index")) == "table" then
        collect(rawget(mt, "__index"), prefix, out, methods_only, depth + 1)
    end
end

--- Complete the word typed so far.
---@param word string e.g. "relm.cmdb.im", "rows[1]:" is not supported, "s:up"
---@return string[] full words that can replace it, sorted
function M.complete(word)
    if type(word) ~= "string" then
        error(i18n._("complete: argument #1 (word) must be a string"), 2)
    end
    local path, sep, prefix = word:match("^(.-)([.:])([%w_]*)$")
    local found = {}
    if not path then
        prefix = word:match("[%a_][%w_]*$") or ""
        if prefix ~= word then
            return {}
        end
        collect(_G, prefix, found)
        for _, kw in ipairs(KEYWORDS) do
            if kw:sub(1, #prefix) == prefix then
                found[kw] = true
            end
        end
        path, sep = "", ""
    else
        -- Resolve the path a.b.c from the globals, one identifier at a time.
        if path == "" then
            return {}
        end
        local v = _G
        for part in (path .. "."):gmatch("(.-)%.") do
            if not part:match("^[%a_][%w_]*$") then
                return {}
            end
            v = get(v, part)
            if v == nil then
                return {}
            end
        end
        collect(v, prefix, found, sep == ":")
        if sep == "." and v == rawget(_G, "relm") then
            for _, name in ipairs(M.modules()) do
                if name:sub(1, #prefix) == prefix then
                    found[name] = true
                end
            end
        end
    end
    local out = {}
    for k in pairs(found) do
        out[#out + 1] = path .. sep .. k
    end
    table.sort(out)
    return out
end

-- Edit distance between a and b, a swap of two neighbours counting one
-- (optimal string alignment).
local function distance(a, b)
    local d = {}
    for i = 0, #a do
        d[i] = { [0] = i }
    end
    for j = 0, #b do
        d[0][j] = j
    end
    for i = 1, #a do
        for j = 1, #b do
            local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
            d[i][j] = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a:sub(i, i) == b:sub(j - 1, j - 1) and a:sub(i - 1, i - 1) == b:sub(j, j) then
                d[i][j] = math.min(d[i][j], d[i - 2][j - 2] + 1)
            end
        end
    end
    return d[#a][#b]
end

--- Edit distance between two short names (a swap of neighbours counts
--- one), for "did you mean" hints elsewhere (relm.search's filters).
---@param a string
---@param b string
---@return integer
M.distance = distance

--- A suggestion for an error about a name that does not exist, such as
--- "attempt to call a nil value (field 'gett')" after `relm.cmdb.gett(x)`:
--- the names beside it in the statement's path (relm.cmdb) at most two
--- letters away or starting with it, as "did you mean relm.cmdb.get?"; nil
--- when there is none.
---@param msg string the error message
---@param chunk string the statement that raised it
---@return string|nil
function M.hint(msg, chunk)
    local field = type(msg) == "string" and msg:match("a nil value %(field '([%a_][%w_]*)'%)")
    if not field or type(chunk) ~= "string" then
        return nil
    end
    local path = chunk:match("([%a_][%w_%.]*)[%.:]" .. field .. "%f[^%w_]")
    if not path then
        return nil
    end
    local near = {}
    for _, full in ipairs(M.complete(path .. ".")) do
        local name = full:match("[%w_]*$")
        local d = distance(name, field)
        if #field >= 3 and name:sub(1, #field) == field then
            d = math.min(d, 2) -- a name cut short (exec for execute)
        end
        if d <= 2 and d < #field then
            near[#near + 1] = { name = full, d = d }
        end
    end
    if #near == 0 then
        return nil
    end
    table.sort(near, function(x, y)
        if x.d ~= y.d then
            return x.d < y.d
        end
        return x.name < y.name
    end)
    local names = {}
    for i = 1, math.min(3, #near) do
        names[i] = near[i].name
    end
    return "did you mean " .. table.concat(names, " or ") .. "?"
end

return setmetatable(M, {
    __call = function(_, word)
        return M.complete(word)
    end,
})
