-- relm/workflow.lua: workflows in a declarative DSL: load, check, draw, explain.
-- Process designers write them in workflows/*.lua; they run in the sandbox.
--
-- A workflow file is read in a fresh sandbox environment holding the DSL
-- words (workflow, state, transition, on_enter, on_exit). Each word copies
-- what it is given (raw, so no script metamethod runs outside the sandbox)
-- and records the file:line it was called from; the result is validated in
-- full (every problem reported, not only the first) and compiled into the
-- table the release engine consumes. Guards and entry/exit actions only
-- ever run through the sandbox, under its time and memory limits.
local i18n = require "relm.i18n"
local sandbox = require "relm.core.sandbox"
local source = require "relm.source"

local M = {}

---Phases a state can belong to, in process order.
M.phases = { "registration", "planning", "deployment", "closure" }

---Permissions a transition can ask for (DESIGN.md, people and permissions).
M.permissions = { "create", "execute", "delegate", "suspend", "reactivate", "reopen", "cancel", "approve", "admin" }

---Action names every workflow gets from the core; no transition may use them.
M.reserved = {}
for i, p in ipairs(require("relm.core.release").primitives()) do
    M.reserved[i] = p.name
end

---Who is expected to take a transition (`by = ...`).
M.actors = { "anyone", "requester", "executor" }

-- {a=true, b=true} from {"a", "b"}.
local function set_of(list)
    local s = {}
    for _, v in ipairs(list) do
        s[v] = true
    end
    return s
end

local PHASES, PERMISSIONS, RESERVED, ACTORS = set_of(M.phases), set_of(M.permissions), set_of(M.reserved),
    set_of(M.actors)

-- Fields each declaration accepts, with the kind of value expected.
local SPEC = {
    workflow = {
        label = "label", description = "string", initial = "string", reopen_to = "string",
        close_state = "string", cancel_state = "string", fields = "field_decls",
        ci_on_close = "status_map",
    },
    state = {
        label = "label", description = "string", phase = "string", requires = "names", editable = "names",
        suspend = "boolean", cancel = "boolean", final = "boolean", on_enter = "function", on_exit = "function",
        activities = "string", hidden = "names", read_only = "names",
    },
    transition = {
        label = "label", description = "string", from = "states", to = "string", requires = "names",
        permission = "string", by = "string", guard = "function",
        approval = "boolean", on_reject = "string", activities = "string", prompt = "names",
        refuse_if = "conflicts", record_if = "conflicts",
    },
}

-- Conflict kinds a transition may refuse on or record (docs/calendars.md).
local CONFLICT_KINDS = { scheduled = true, blackout = true, maintenance = true, person = true }

local KIND_TEXT = {
    string = i18n.N_("a text in quotes"), boolean = i18n.N_("true or false"), ["function"] = i18n.N_("a function"),
    names = i18n.N_("a list of names in braces, like {\"a\", \"b\"}"),
    states = i18n.N_("a state name or a list of state names in braces"),
    status_map = i18n.N_("CI statuses before = after in braces, like {in_development = \"active\"}, or false"),
    field_decls = i18n.N_("names, or name = type (boolean, integer, number, string, date, user, group, or a list of "
        .. "allowed values) in braces, like {\"ticket\", urgent = \"boolean\", env = {\"test\", \"prod\"}}"),
    label = i18n.N_("a text in quotes, or one per language in braces, like {en = \"Closed\", pt_BR = \"Encerrada\"}"),
    conflicts = i18n.N_("a conflict kind (\"blackout\", \"scheduled\", \"maintenance\", \"person\") or a list of them"),
}

---Types a workflow field may be declared with: fields = { name = "type" }.
M.field_types = { "boolean", "integer", "number", "string", "date", "user", "group" }
local FIELD_TYPES = {}
for _, t in ipairs(M.field_types) do
    FIELD_TYPES[t] = true
end

-- The release's own fields (core/release.c), which requires and editable
-- may name without declaring them.
local CORE_FIELDS = {}
for _, f in ipairs(require("relm.core.release").fields()) do
    CORE_FIELDS[#CORE_FIELDS + 1] = f.name
end

-- Compiled workflows by resolved path.
local cache = {}

--------------------------------------------------------------------------
-- Helpers
--------------------------------------------------------------------------

-- "Did you mean" hints are a courtesy and must never make checking a file
-- slow: a file may hold thousands of misspelt names, a name may be a
-- megabyte long. Only names up to HINT_MAX_LEN bytes get a hint, only
-- candidates within two bytes of the name's length are compared, the
-- distance is computed in a band of width two and abandoned as soon as it
-- exceeds two, and all hints together may spend at most HINT_BUDGET steps
-- per second of CPU time (past it a name simply gets no hint).
local HINT_MAX_LEN = 64
local HINT_BUDGET = 200000
local hint_spent, hint_since = 0, -math.huge

-- Levenshtein distance between a and b when it is at most 2, else nil;
-- also returns the number of steps it took. Only cells within two of the
-- diagonal are computed: any path leaving that band costs more than two.
local function distance(a, b)
    local la, lb = #a, #b
    if math.abs(la - lb) > 2 then
        return nil, 1
    end
    local INF = 3
    local prev = {}
    for j = 0, math.min(lb, 2) do
        prev[j] = j
    end
    local steps = 1
    for i = 1, la do
        local cur = {}
        if i <= 2 then
            cur[0] = i
        end
        local lo, hi = math.max(1, i - 2), math.min(lb, i + 2)
        local best = cur[0] or INF
        local ai = a:byte(i)
        for j = lo, hi do
            local cost = ai == b:byte(j) and 0 or 1
            local v = math.min((prev[j] or INF) + 1, (cur[j - 1] or INF) + 1, (prev[j - 1] or INF) + cost)
            cur[j] = v
            if v < best then
                best = v
            end
        end
        steps = steps + (hi - lo + 1)
        if best > 2 then
            return nil, steps
        end
        prev = cur
    end
    local d = prev[lb]
    if d == nil or d > 2 then
        return nil, steps
    end
    return d, steps
end

-- " (did you mean 'x'?)" for the closest candidate within two edits, or ""
-- (also "" when the name is too long or the hint budget is spent).
local function suggest(word, candidates)
    if type(word) ~= "string" or #word > HINT_MAX_LEN then
        return ""
    end
    local now = os.clock()
    if now - hint_since >= 1 then
        hint_spent, hint_since = 0, now
    end
    local best, bestd
    for _, c in ipairs(candidates) do
        hint_spent = hint_spent + 1
        if hint_spent > HINT_BUDGET then
            break
        end
        if type(c) == "string" and math.abs(#c - #word) <= 2 then
            local d, steps = distance(word, c)
            hint_spent = hint_spent + steps
            if d and (not bestd or d < bestd) then
                best, bestd = c, d
                if d == 0 then
                    break
                end
            end
        end
    end
    return best and (" (did you mean '" .. best .. "'?)") or ""
end

-- t's keys, sorted (stable messages and listings).
local function keys_sorted(t)
    local out = {}
    for k in pairs(t) do
        out[#out + 1] = k
    end
    table.sort(out)
    return out
end

-- Copy a value raw (next, never pairs or __index) keeping only plain data
-- and, when keep_fn, functions. Used on everything that crosses the
-- sandbox boundary in either direction.
local function plain(v, keep_fn, depth)
    local t = type(v)
    if t == "string" or t == "number" or t == "boolean" then
        return v
    elseif t == "function" then
        return keep_fn and v or nil
    elseif t == "table" and depth < 8 then
        local out = {}
        local k, x = next(v)
        while k ~= nil do
            local tk = type(k)
            if tk == "string" or tk == "number" or tk == "boolean" then
                out[k] = plain(x, keep_fn, depth + 1)
            end
            k, x = next(v, k)
        end
        return out
    end
    return nil
end

-- Whether a required field counts as filled in: not nil, "" or {}.
local function present(v)
    return v ~= nil and v ~= "" and not (type(v) == "table" and next(v) == nil)
end

-- The message of a sandbox error, without the "sandbox: " code prefix.
local function message_of(err)
    if relm.is_error(err) then
        return tostring(err.message)
    end
    return tostring(err)
end

-- "(at file:line)" at the end of a timeout message moves to the front, so
-- that every problem reads "file:line: message".
local function located(msg, chunk, what)
    local head, at = msg:match("^(.-) %(at (.+)%)$")
    if head then
        return ("%s: %s %s"):format(at, head, what)
    end
    if msg:find("^memory limit") or msg:find(i18n.prefix("memory limit of %s exceeded"), 1, true) == 1 then
        return ("%s: %s %s"):format(chunk, msg, what)
    end
    if msg:find(chunk, 1, true) == 1 then
        return msg
    end
    return ("%s: %s"):format(chunk, msg)
end

--------------------------------------------------------------------------
-- Reading a file: the DSL words, run inside the sandbox
--------------------------------------------------------------------------

-- A collector records declarations in file order; each records its place.
local function new_collector()
    return { decls = {}, problems = {} }
end

-- Record a problem at loc (nil: the whole file) for check() to report.
local function add_problem(c, loc, fmt, ...)
    c.problems[#c.problems + 1] = { loc = loc, msg = fmt:format(...) }
end

-- file:line of the script line that called the DSL word (level 3: the
-- word's caller, seen from the helper).
local function where()
    local info = debug.getinfo(3, "Sl")
    if info and info.currentline and info.currentline > 0 then
        return { file = info.short_src, line = info.currentline }
    end
    return { file = "?", line = 0 }
end

-- Declarations are read while the file loads. A guard or action that
-- calls a DSL word later would change nothing (the workflow is compiled
-- by then), so it is told so at its line instead of silently ignored.
local function sealed(c, kind)
    if c.sealed then
        error((i18n._("%s is a declaration: write it at the top level of the file, "
            .. "not in a guard or action")):format(kind), 3)
    end
end

-- A word used as `word "name" { fields }`: the first call takes the name,
-- the second the description table.
local function declare_word(c, kind)
    return function(name)
        sealed(c, kind)
        local loc = where()
        local d = { kind = kind, loc = loc, done = false }
        if type(name) == "string" and name:match("^[%a_][%w_]*$") then
            d.name = name
        elseif type(name) == "string" then
            add_problem(c, loc, i18n._("%s name '%s' must be one word of letters, digits and _"), kind, name)
            d.name = name
        else
            add_problem(c, loc, i18n._("%s needs a name in quotes: %s \"name\" { ... }"), kind, kind)
        end
        c.decls[#c.decls + 1] = d
        return function(spec)
            d.done = true
            if type(spec) ~= "table" then
                add_problem(c, loc, i18n._("%s '%s' needs its description in braces: %s \"%s\" { ... }"), kind,
                    tostring(d.name), kind, tostring(d.name))
                return
            end
            d.spec = plain(spec, true, 0)
        end
    end
end

-- on_enter "state" (function(r, ctx) ... end), and on_exit.
local function action_word(c, kind)
    return function(name)
        sealed(c, kind)
        local loc = where()
        local d = { kind = kind, loc = loc, name = name, done = false }
        if type(name) ~= "string" then
            add_problem(c, loc, i18n._("%s needs a state name in quotes: %s \"state\" (function(r, ctx) ... end)"),
                kind,
                kind)
        end
        c.decls[#c.decls + 1] = d
        return function(fn)
            d.done = true
            if type(fn) ~= "function" then
                add_problem(c, loc, i18n._("%s '%s' needs a function: %s \"%s\" (function(r, ctx) ... end)"), kind,
                    tostring(name), kind, tostring(name))
                return
            end
            d.fn = fn
        end
    end
end

-- A file's text (or nil and the reason), and the name messages give it.
local read_file, display_name = source.read_file, source.display_name

-- Run the file in the sandbox; returns the collector (with problems).
local function collect(path, code, limits)
    local chunk = display_name(path)
    local c = new_collector()
    c.chunk = chunk
    c.code = code
    local env = sandbox.env()
    rawset(env, "workflow", declare_word(c, "workflow"))
    rawset(env, "state", declare_word(c, "state"))
    rawset(env, "transition", declare_word(c, "transition"))
    rawset(env, "on_enter", action_word(c, "on_enter"))
    rawset(env, "on_exit", action_word(c, "on_exit"))
    local ok, fn = pcall(sandbox.load, code, "@" .. chunk, env)
    if not ok then
        add_problem(c, nil, "%s", message_of(fn))
        c.fatal = true
        return c
    end
    local ran, err = pcall(sandbox.call_with, limits or {}, fn)
    c.sealed = true
    if not ran then
        add_problem(c, nil, "%s", located(message_of(err), chunk, "while loading the workflow"))
        c.fatal = true
    end
    return c
end

--------------------------------------------------------------------------
-- Validation and compilation (outside the sandbox, on plain data)
--------------------------------------------------------------------------

-- The place of value (a name written in quotes) inside the declaration at
-- loc: the first line from loc.line on, before the next declaration, that
-- holds it in quotes; loc itself when there is none. A declaration's
-- table spans several lines, and `to = "in_tset"` three lines below
-- `transition "execute" {` is where the user looks.
local function value_loc(c, loc, value)
    if not (loc and c.code and type(value) == "string" and #value > 0 and #value <= 200) then
        return loc
    end
    if not c.lines then
        c.lines = {}
        for line in (c.code .. "\n"):gmatch("([^\n]*)\n") do
            c.lines[#c.lines + 1] = line
        end
    end
    local dq, sq = '"' .. value .. '"', "'" .. value .. "'"
    for n = loc.line, math.min(#c.lines, loc.line + 80) do
        local line = c.lines[n]
        if n > loc.line and (line:find("^%s*transition[%s\"'(]") or line:find("^%s*state[%s\"'(]")
            or line:find("^%s*workflow[%s\"'(]")) then
            break
        end
        if line:find(dq, 1, true) or line:find(sq, 1, true) then
            return { file = loc.file, line = n }
        end
    end
    return loc
end

-- "file:line" of loc, or the file when loc is nil.
local function loc_text(c, loc)
    if loc then
        return ("%s:%d"):format(loc.file, loc.line)
    end
    return c.chunk
end

-- Whether v has the kind of value SPEC names ("names", "states",
-- "status_map" or a Lua type).
local check_kind
function check_kind(v, kind)
    if kind == "field_decls" then
        if type(v) ~= "table" then
            return false
        end
        for k, x in pairs(v) do
            local named = math.type(k) == "integer" and type(x) == "string"
            local typed = type(k) == "string" and (FIELD_TYPES[x] or (check_kind(x, "names") and #x > 0))
            if not (named or typed) then
                return false
            end
        end
        return true
    elseif kind == "label" then
        -- "Closed", or {en = "Closed", pt_BR = "Encerrada", es = "Cerrada"}:
        -- language names to texts, English among them (the fallback).
        if type(v) == "string" then
            return true
        end
        if type(v) ~= "table" or type(v.en) ~= "string" then
            return false
        end
        for k, x in pairs(v) do
            if type(k) ~= "string" or not k:match("^%a%a%a?_?%u?%u?$") or type(x) ~= "string" then
                return false
            end
        end
        return true
    elseif kind == "names" then
        if type(v) ~= "table" then
            return false
        end
        for k, x in pairs(v) do
            if math.type(k) ~= "integer" or type(x) ~= "string" then
                return false
            end
        end
        return true
    elseif kind == "conflicts" then
        local list = type(v) == "string" and { v } or v
        if not check_kind(list, "names") then
            return false
        end
        for _, x in ipairs(list) do
            if not CONFLICT_KINDS[x] then
                return false
            end
        end
        return true
    elseif kind == "status_map" then
        if v == false then
            return true
        end
        if type(v) ~= "table" then
            return false
        end
        for k, x in pairs(v) do
            if type(k) ~= "string" or type(x) ~= "string" then
                return false
            end
        end
        return true
    elseif kind == "states" then
        if type(v) == "string" then
            return true
        end
        return check_kind(v, "names") and #v > 0
    end
    return type(v) == kind
end

-- Report each bad entry of a `fields` declaration by name (a mistyped
-- type would otherwise blame the whole table and leave every field
-- undeclared), and keep the field untyped so nothing cascades.
local function check_field_decls(c, d, decl)
    local untyped = {}
    for k, x in pairs(decl) do
        local named = math.type(k) == "integer" and type(x) == "string"
        local typed = type(k) == "string" and (FIELD_TYPES[x] or (check_kind(x, "names") and #x > 0))
        if not (named or typed) then
            if type(k) == "string" then
                local what = type(x) == "string" and ("'" .. x .. "'") or type(x) == "table" and "a table"
                    or tostring(x)
                add_problem(c, d.loc, i18n._("%s '%s': fields: %s = %s, but a field's type is one of %s, ")
                    .. i18n._("or a list of allowed values%s"),
                    d.kind, tostring(d.name), k, what, table.concat(M.field_types, ", "), suggest(x, M.field_types))
                untyped[#untyped + 1] = k
            else
                add_problem(c, d.loc,
                    i18n._("%s '%s': fields: %s is not a field name; write a name in quotes, or name = type"),
                    d.kind, tostring(d.name), tostring(x))
                decl[k] = nil
            end
        end
    end
    for _, k in ipairs(untyped) do
        decl[k] = nil
        decl[#decl + 1] = k
    end
end

-- Check the fields of one declaration against SPEC.
local function check_fields(c, d)
    local known = SPEC[d.kind]
    local names = keys_sorted(known)
    for k, v in pairs(d.spec) do
        if known[k] == "field_decls" and type(v) == "table" then
            check_field_decls(c, d, v)
        end
        if type(k) ~= "string" then
            add_problem(c, d.loc, i18n._("%s '%s': unnamed value in the braces; write name = value"), d.kind,
                tostring(d.name))
        elseif not known[k] then
            add_problem(c, d.loc, i18n._("%s '%s': unknown field '%s'%s"), d.kind, tostring(d.name), k, suggest(k,
                names))
        elseif not check_kind(v, known[k]) then
            add_problem(c, d.loc, i18n._("%s '%s': %s must be %s, not %s"), d.kind, tostring(d.name), k,
                i18n._(KIND_TEXT[known[k]]), type(v) == "table" and i18n._("that table") or type(v))
            d.spec[k] = nil
        end
    end
end

-- The names a `fields` declaration gives (plain names, then typed ones
-- in name order), and name -> type of the typed ones.
local function field_names(decl)
    local out, typed = {}, {}
    for k, v in pairs(decl or {}) do
        if math.type(k) == "integer" then
            out[#out + 1] = v
        else
            typed[#typed + 1] = k
        end
    end
    table.sort(typed)
    for _, k in ipairs(typed) do
        out[#out + 1] = k
    end
    return out
end

local function field_types_of(decl)
    local out = {}
    for k, v in pairs(decl or {}) do
        if type(k) == "string" then
            out[k] = v
        end
    end
    return out
end

-- A fresh array with list's elements (an empty one for nil).
local function copy_list(list)
    local out = {}
    for i, v in ipairs(list or {}) do
        out[i] = v
    end
    return out
end

-- The default label of a state or transition: its name with spaces.
local function label_of(name)
    return (name:gsub("_", " "))
end

local WF = {}
WF.__index = WF

-- Validate collected declarations; returns the compiled workflow (nil when
-- there is any problem).
local function compile(c, path)
    if c.fatal then
        -- The file stopped part way: what is missing after the failure says
        -- nothing about the file, so report only the failure and what the
        -- words read before it.
        return nil
    end
    local chunk = c.chunk
    local wdecl
    local states, state_order, transitions, transition_order = {}, {}, {}, {}
    local enter, exit = {}, {}
    local state_names = {}

    for _, d in ipairs(c.decls) do
        -- (A declaration without a name was reported already: `state { ... }`
        -- passes its braces as the name.)
        if (d.kind == "workflow" or d.kind == "state" or d.kind == "transition") and not d.done and d.name then
            add_problem(c, d.loc,
                i18n._("%s '%s' needs its description in braces right after the name: %s \"%s\" { ... }"),
                d.kind, tostring(d.name), d.kind, tostring(d.name))
        elseif (d.kind == "on_enter" or d.kind == "on_exit") and not d.done then
            add_problem(c, d.loc, i18n._("%s '%s' needs a function after the state name"), d.kind, tostring(d.name))
        end
        if d.spec then
            check_fields(c, d)
        end
    end

    -- Declarations, duplicates.
    for _, d in ipairs(c.decls) do
        if d.kind == "workflow" and d.spec then
            if wdecl then
                add_problem(c, d.loc,
                    i18n._("a second workflow declaration (the first is at %s); one file holds one workflow"),
                    loc_text(c, wdecl.loc))
            else
                wdecl = d
            end
        elseif d.kind == "state" and d.spec and d.name then
            if states[d.name] then
                add_problem(c, d.loc, i18n._("state '%s' is declared twice (first at %s)"), d.name,
                    loc_text(c, states[d.name].decl.loc))
            else
                local s = d.spec
                if s.phase == nil then
                    add_problem(c, d.loc, i18n._("state '%s' needs a phase (one of %s)"), d.name,
                        table.concat(M.phases, ", "))
                elseif not PHASES[s.phase] then
                    add_problem(c, d.loc, i18n._("state '%s': unknown phase '%s'%s (phases: %s)"), d.name, s.phase,
                        suggest(s.phase, M.phases), table.concat(M.phases, ", "))
                end
                states[d.name] = {
                    name = d.name, label = i18n.label(s.label) or label_of(d.name), labels = s.label,
                    description = s.description, phase = s.phase, requires = copy_list(s.requires),
                    editable = s.editable and copy_list(s.editable),
                    hidden = copy_list(s.hidden), read_only = copy_list(s.read_only),
                    suspend = s.suspend == true, cancel = s.cancel == true, final = s.final == true,
                    activities = s.activities, where = loc_text(c, d.loc), decl = d,
                }
                state_order[#state_order + 1] = d.name
                state_names[#state_names + 1] = d.name
                enter[d.name], exit[d.name] = { s.on_enter }, { s.on_exit }
            end
        elseif d.kind == "transition" and d.spec and d.name then
            if transitions[d.name] then
                add_problem(c, d.loc, i18n._("transition '%s' is declared twice (first at %s)"), d.name,
                    loc_text(c, transitions[d.name].decl.loc))
            else
                if RESERVED[d.name] then
                    add_problem(c, d.loc,
                        i18n._("transition name '%s' is reserved: every workflow gets '%s' from the core ") ..
                        i18n._("(reserved: %s)"), d.name, d.name, table.concat(M.reserved, ", "))
                end
                local s = d.spec
                local from = type(s.from) == "string" and { s.from } or copy_list(s.from)
                transitions[d.name] = {
                    name = d.name, label = i18n.label(s.label) or label_of(d.name), labels = s.label,
                    description = s.description, from_list = from, to = s.to, requires = copy_list(s.requires),
                    permission = s.permission or "execute", by = s.by or "anyone", guard_fn = s.guard,
                    approval = s.approval == true, on_reject = s.on_reject, activities = s.activities,
                    prompt = copy_list(s.prompt),
                    refuse_if = type(s.refuse_if) == "string" and { s.refuse_if } or copy_list(s.refuse_if),
                    record_if = type(s.record_if) == "string" and { s.record_if } or copy_list(s.record_if),
                    where = loc_text(c, d.loc), decl = d,
                }
                transition_order[#transition_order + 1] = d.name
            end
        end
    end

    -- Entry/exit actions declared apart from their state.
    for _, d in ipairs(c.decls) do
        if (d.kind == "on_enter" or d.kind == "on_exit") and d.fn and type(d.name) == "string" then
            if not states[d.name] then
                add_problem(c, d.loc, i18n._("%s names unknown state '%s'%s"), d.kind, d.name, suggest(d.name,
                    state_names))
            else
                local list = d.kind == "on_enter" and enter[d.name] or exit[d.name]
                list[#list + 1] = d.fn
            end
        end
    end

    -- The workflow declaration.
    local w = wdecl and wdecl.spec or {}
    local wloc = wdecl and wdecl.loc
    if not wdecl and not c.fatal then
        add_problem(c, { file = chunk, line = 1 }, i18n._("no workflow declaration; start the file with ") ..
            i18n._("workflow \"name\" { initial = \"first_state\", ... }"))
    end
    local function state_ref(name, what, loc)
        if name ~= nil and not states[name] then
            add_problem(c, value_loc(c, loc, name), i18n._("%s '%s' is not a state of this workflow%s"), what,
                name, suggest(name, state_names))
            return false
        end
        return true
    end
    if wdecl then
        local base = path:match("([^/]+)%.lua$")
        if wdecl.name and base and wdecl.name ~= base then
            add_problem(c, wloc, i18n._("workflow name '%s' differs from its file name '%s.lua'; ") ..
                i18n._("models refer to a workflow ") ..
                i18n._("by its file name"), wdecl.name, base)
        end
        if w.initial == nil then
            add_problem(c, wloc, i18n._("workflow '%s' needs initial = \"<state>\" (where new releases start)"),
                tostring(wdecl.name))
        elseif state_ref(w.initial, "initial state", wloc) and states[w.initial].final then
            add_problem(c, wloc, i18n._("initial state '%s' is final: releases could never move"), w.initial)
        end
        if w.reopen_to ~= nil and state_ref(w.reopen_to, "reopen_to", wloc) and states[w.reopen_to].final then
            add_problem(c, wloc, i18n._("reopen_to '%s' is a final state; reopened releases must be able to move"),
                w.reopen_to)
        end
    end
    local close_state = w.close_state or (states.closed and "closed") or nil
    local cancel_state = w.cancel_state or (states.cancelled and "cancelled") or nil
    if wdecl then
        if close_state == nil then
            add_problem(c, wloc,
                i18n._("no close state: declare a final state \"closed\" or set close_state = \"<state>\""))
        elseif state_ref(close_state, "close_state", wloc) and not states[close_state].final then
            add_problem(c, wloc, i18n._("close_state '%s' must be declared with final = true"), close_state)
        end
        if cancel_state ~= nil and state_ref(cancel_state, "cancel_state", wloc) and not states[cancel_state].final then
            add_problem(c, wloc, i18n._("cancel_state '%s' must be declared with final = true"), cancel_state)
        end
    end

    -- Transitions: states they join, permission, actor.
    for _, name in ipairs(transition_order) do
        local t = transitions[name]
        local loc = t.decl.loc
        t.from = {}
        if #t.from_list == 0 then
            add_problem(c, loc, i18n._("transition '%s' needs from = \"<state>\" (or a list of states)"), name)
        end
        for _, f in ipairs(t.from_list) do
            if state_ref(f, ("transition '%s': from"):format(name), loc) then
                if states[f].final then
                    add_problem(c, loc,
                        i18n._("transition '%s' leaves final state '%s'; only reopen leaves a final state"),
                        name, f)
                end
                t.from[f] = true
            end
        end
        if t.to == nil then
            add_problem(c, loc, i18n._("transition '%s' needs to = \"<state>\""), name)
        else
            state_ref(t.to, ("transition '%s': to"):format(name), loc)
        end
        -- A permission of the fixed list, or the workflow's own (a
        -- "supervise" role): a lower-case name that is no near-miss or
        -- shortening of a fixed one (docs/permissions.md, Custom permissions).
        local p = t.permission
        local custom = not PERMISSIONS[p] and type(p) == "string" and #p <= 32 and p:match("^[a-z][a-z0-9_]*$")
            and suggest(p, M.permissions) == ""
        for _, fixed in ipairs(custom and M.permissions or {}) do
            if fixed:sub(1, #p) == p or p:sub(1, #fixed) == fixed then
                custom = false
            end
        end
        if not PERMISSIONS[t.permission] and not custom then
            add_problem(c, value_loc(c, loc, t.permission),
                i18n._("transition '%s': unknown permission '%s'%s (permissions: %s)"), name,
                t.permission,
                suggest(t.permission, M.permissions), table.concat(M.permissions, ", "))
        end
        if not ACTORS[t.by] then
            add_problem(c, value_loc(c, loc, t.by), i18n._("transition '%s': by = '%s' is not one of %s%s"),
                name, t.by,
                table.concat(M.actors, ", "), suggest(t.by, M.actors))
        end
    end

    -- Field names in requires and editable: a core field of the release,
    -- "note" (given with the action), or one the workflow declares in
    -- `fields`. A misspelt name would otherwise make a field nobody can
    -- ever fill in, and the release would stick in that state.
    local known_fields, known_list = { note = true }, { "note" }
    for _, f in ipairs(CORE_FIELDS) do
        known_fields[f] = true
        known_list[#known_list + 1] = f
    end
    for _, f in ipairs(field_names(w.fields)) do
        if not known_fields[f] then
            known_fields[f] = true
            known_list[#known_list + 1] = f
        end
    end
    local function check_names(list, what, loc)
        for _, f in ipairs(list or {}) do
            if not known_fields[f] then
                add_problem(c, loc, i18n._("%s names field '%s' that nobody declared%s (declare it in the workflow's ")
                    .. i18n._("fields = { ... }, or name a release field)"), what, f, suggest(f, known_list))
            end
        end
    end
    for _, name in ipairs(state_order) do
        local s = states[name]
        check_names(s.requires, ("state '%s': requires"):format(name), s.decl.loc)
        check_names(s.editable, ("state '%s': editable"):format(name), s.decl.loc)
        check_names(s.hidden, ("state '%s': hidden"):format(name), s.decl.loc)
        check_names(s.read_only, ("state '%s': read_only"):format(name), s.decl.loc)
    end
    for _, name in ipairs(transition_order) do
        local t = transitions[name]
        check_names(t.requires, ("transition '%s': requires"):format(name), t.decl.loc)
        check_names(t.prompt, ("transition '%s': prompt"):format(name), t.decl.loc)
    end

    -- Activities and approvals (docs/activities.md, docs/approvals.md).
    for _, name in ipairs(state_order) do
        local a = states[name].activities
        if a ~= nil and a ~= "any" and a ~= "done" then
            add_problem(c, states[name].decl.loc, i18n._("state '%s': activities = '%s' is not \"any\" or \"done\""),
                name, a)
        end
    end
    for _, name in ipairs(transition_order) do
        local t = transitions[name]
        if t.activities ~= nil and t.activities ~= "any" and t.activities ~= "done" then
            add_problem(c, t.decl.loc, i18n._("transition '%s': activities = '%s' is not \"any\" or \"done\""), name,
                t.activities)
        end
        if t.on_reject ~= nil then
            local r = transitions[t.on_reject]
            if not t.approval then
                add_problem(c, t.decl.loc, i18n._("transition '%s': on_reject needs approval = true"), name)
            elseif not r then
                add_problem(c, t.decl.loc, i18n._("transition '%s': on_reject names unknown transition '%s'%s"), name,
                    t.on_reject, suggest(t.on_reject, transition_order))
            else
                for f in pairs(t.from) do
                    if not r.from[f] then
                        add_problem(c, t.decl.loc,
                            i18n._("transition '%s': on_reject '%s' does not leave from '%s'"), name,
                            t.on_reject, f)
                    end
                end
            end
        end
    end

    -- States: cancel needs a cancel state; reachability; dead ends.
    local out_edges = {}
    for _, name in ipairs(state_order) do
        out_edges[name] = {}
    end
    local reaches_close = false
    for _, name in ipairs(transition_order) do
        local t = transitions[name]
        if t.to and states[t.to] then
            for f in pairs(t.from) do
                table.insert(out_edges[f], t.to)
            end
            if t.to == close_state and next(t.from) then
                reaches_close = true
            end
        end
    end
    for _, name in ipairs(state_order) do
        local s = states[name]
        if s.cancel then
            if cancel_state == nil then
                add_problem(c, s.decl.loc, i18n._("state '%s' allows cancel but the workflow has no cancel state ") ..
                    i18n._("(declare a final state \"cancelled\" or set cancel_state)"), name)
            elseif states[cancel_state] then
                table.insert(out_edges[name], cancel_state)
            end
        end
    end
    if close_state and states[close_state] and w.reopen_to and states[w.reopen_to] then
        table.insert(out_edges[close_state], w.reopen_to)
    end
    if wdecl and close_state and states[close_state] and not reaches_close then
        add_problem(c, wloc, i18n._("no transition leads to close state '%s': releases could never be closed"),
            close_state)
    end
    if w.initial and states[w.initial] then
        local seen, queue = { [w.initial] = true }, { w.initial }
        while #queue > 0 do
            local s = table.remove(queue)
            for _, n in ipairs(out_edges[s]) do
                if not seen[n] then
                    seen[n] = true
                    queue[#queue + 1] = n
                end
            end
        end
        for _, name in ipairs(state_order) do
            if not seen[name] then
                add_problem(c, states[name].decl.loc,
                    i18n._("state '%s' is unreachable from the initial state '%s'"), name,
                    w.initial)
            end
        end
    end
    for _, name in ipairs(state_order) do
        local s = states[name]
        if not s.final and #out_edges[name] == 0 then
            add_problem(c, s.decl.loc,
                i18n._("state '%s' is a dead end: no transition leaves it and it is not final"), name)
        end
    end

    if #c.problems > 0 then
        return nil
    end

    local wf = setmetatable({
        name = wdecl.name, label = i18n.label(w.label) or label_of(wdecl.name), labels = w.label,
        description = w.description,
        initial = w.initial, reopen_to = w.reopen_to, close_state = close_state, cancel_state = cancel_state,
        fields = field_names(w.fields), field_types = field_types_of(w.fields),
        states = states, transitions = transitions,
        ci_on_close = w.ci_on_close,
        state_order = state_order, transition_order = transition_order, path = path, chunk = chunk,
    }, WF)
    for _, name in ipairs(state_order) do
        local s = states[name]
        s.decl = nil
        s._enter, s._exit = enter[name], exit[name]
    end
    for _, name in ipairs(transition_order) do
        local t = transitions[name]
        t.decl = nil
        if t.guard_fn then
            -- The contract's t.guard: callable, but always through the sandbox.
            t.guard = function(r, opts)
                return wf:guard(name, r, opts)
            end
        end
    end
    return wf
end

-- The collected problems as "file:line: message" strings, in line order
-- (problems without a line first; on one line, in the order found).
local function format_problems(c)
    local list = {}
    for i, p in ipairs(c.problems) do
        list[i] = { text = p.loc and ("%s:%d: %s"):format(p.loc.file, p.loc.line, p.msg) or p.msg,
            line = p.loc and p.loc.line or 0, i = i }
    end
    table.sort(list, function(a, b)
        if a.line ~= b.line then
            return a.line < b.line
        end
        return a.i < b.i
    end)
    local out = {}
    for i, p in ipairs(list) do
        out[i] = p.text
    end
    return out
end

---Directories searched for workflow files, in order: those of
---$RELM_WORKFLOW_PATH (colon-separated), then relm.home/workflows.
---@return string[]
function M.path()
    local dirs = {}
    for dir in (os.getenv("RELM_WORKFLOW_PATH") or ""):gmatch("[^:]+") do
        dirs[#dirs + 1] = (dir:gsub("/+$", ""))
    end
    dirs[#dirs + 1] = relm.home .. "/workflows"
    return dirs
end

-- Resolve a workflow name ("standard") or a path ("x/y.lua") to a path:
-- the first directory of M.path() holding NAME.lua (the last one when none
-- does, for the error message).
local function resolve(name_or_path)
    if name_or_path:find("/", 1, true) or name_or_path:match("%.lua$") then
        return name_or_path
    end
    local file
    for _, dir in ipairs(M.path()) do
        file = ("%s/%s.lua"):format(dir, name_or_path)
        local f = io.open(file, "rb")
        if f then
            f:close()
            return file
        end
    end
    return file
end

-- Read, run and compile; returns wf or nil, problems (nil, nil, err when
-- the file cannot be read).
local function build(path, opts)
    local code, err = read_file(path)
    if not code then
        return nil, nil, err
    end
    local c = collect(path, code, opts and opts.limits)
    local wf = compile(c, path)
    if not wf then
        return nil, format_problems(c)
    end
    return wf
end

--------------------------------------------------------------------------
-- Public API
--------------------------------------------------------------------------

-- Why a workflow name found no file: where it was looked for, what
-- exists (with a did-you-mean), and how to add a directory.
local function no_such_name(name)
    local dirs = {}
    for i, dir in ipairs(M.path()) do
        dirs[i] = display_name(dir)
    end
    local known = M.list()
    return ("no workflow '%s'%s: no %s.lua in %s (known: %s; put your own in a directory "
        .. "named in $RELM_WORKFLOW_PATH)"):format(name, suggest(name, known), name,
        table.concat(dirs, ", "), table.concat(known, ", "))
end

---Validate a workflow file; report every problem as "file:line: message".
---@param path string a file path, or the name of a shipped workflow
---@return boolean ok
---@return string[]|nil problems
function M.check(path)
    if type(path) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.workflow.check: argument #1 (path) must be a string"), 2)
    end
    local file = resolve(path)
    local wf, problems, err = build(file)
    if err and file ~= path then
        return false, { no_such_name(path) }
    elseif err then
        return false, { ("%s: cannot read the workflow file: %s"):format(display_name(file), err) }
    end
    if not wf then
        return false, problems
    end
    return true
end

---The compiled workflow for a name (workflows/NAME.lua under relm.home) or
---a path. Cached per path; see reload. Raises not_found, invalid_workflow.
---@param name_or_path string
---@return table wf
function M.load(name_or_path)
    if type(name_or_path) ~= "string" or name_or_path == "" then
        relm.error("invalid_argument",
            i18n._("relm.workflow.load: argument #1 (name_or_path) must be a non-empty string"), 2)
    end
    -- The file system would read the name only up to the NUL ("\0" named
    -- the workflow directory itself): refused, as a name from a request may be.
    if name_or_path:find("\0", 1, true) then
        relm.error("invalid_argument", i18n._("relm.workflow.load: argument #1 (name_or_path) contains a NUL byte"), 2)
    end
    local path = resolve(name_or_path)
    local wf = cache[path]
    if wf then
        return wf
    end
    local problems, err
    wf, problems, err = build(path)
    if err then
        if path == name_or_path then
            relm.error("not_found", (i18n._("no workflow '%s' (cannot read %s)")):format(name_or_path,
                display_name(path)), 2)
        end
        relm.error("not_found", no_such_name(name_or_path), 2)
    end
    if not wf then
        relm.error("invalid_workflow", (i18n.n_("workflow '%s' has %d problem:\n  %s",
            "workflow '%s' has %d problems:\n  %s",
            #problems)):format(name_or_path, #problems, table.concat(problems, "\n  ")), 2)
    end
    cache[path] = wf
    return wf
end

---Forget the cached compiled workflow and load the file again (after
---editing it).
---@param name_or_path string
---@return table wf
function M.reload(name_or_path)
    if type(name_or_path) ~= "string" or name_or_path == "" then
        relm.error("invalid_argument",
            i18n._("relm.workflow.reload: argument #1 (name_or_path) must be a non-empty string"),
            2)
    end
    cache[resolve(name_or_path)] = nil
    local wf = M.load(name_or_path)
    -- The engine's own compile follows: by name for anyone (the file on
    -- the workflow path is what it enforces anyway), by path as an install
    -- (administrators only).
    local core = require "relm.core.release"
    if core.reload then
        if name_or_path:find("/", 1, true) or name_or_path:match("%.lua$") then
            core.install(name_or_path)
        else
            core.reload(name_or_path)
        end
    end
    return wf
end

---Names of the workflows available by name: the files NAME.lua in the
---directories of relm.workflow.path() (shipped ones in relm.home/workflows),
---sorted, each once.
---@return string[]
function M.list()
    local out, seen = {}, {}
    for _, dir in ipairs(M.path()) do
        for name, kind in source.entries(dir) do
            local base = name:match("^([%w_%-]+)%.lua$")
            if base and kind ~= "directory" and not seen[base] then
                seen[base] = true
                out[#out + 1] = base
            end
        end
    end
    table.sort(out)
    return out
end

---" (did you mean 'x'?)" for the candidate within two edits of word, or
---"" (bounded: long names and a spent budget get no hint). Shared with the
---approval rules so every "unknown name" reads the same.
---@param word string
---@param candidates string[]
---@return string
function M.suggest(word, candidates)
    return suggest(word, candidates)
end

---The compiled workflows known in this process: every one on the workflow
---path that compiles, and every one loaded by path, by name.
---@return table<string, table>
function M.known()
    local out = {}
    for _, name in ipairs(M.list()) do
        local ok, wf = pcall(M.load, name)
        if ok then
            out[name] = wf
        end
    end
    for _, wf in pairs(cache) do
        out[wf.name] = out[wf.name] or wf
    end
    return out
end

-- How the core's primitives are named for people (their identifiers
-- stay what scripts pass to relm.release.act).
local PRIMITIVE_LABELS = {
    suspend = i18n.N_("Suspend"), reactivate = i18n.N_("Reactivate"), cancel = i18n.N_("Cancel"),
    reopen = i18n.N_("Reopen"), close = i18n.N_("Close"), capture = i18n.N_("Capture"),
    delegate = i18n.N_("Delegate"), share = i18n.N_("Share"),
}

-- The workflow called name, or nil when it cannot be read now (a label
-- then falls back to the identifier rather than failing a page).
local function loaded(name)
    if type(name) ~= "string" or name == "" then
        return nil
    end
    local ok, wf = pcall(relm.release.workflow, name)
    return ok and wf or nil
end

---The label of state in the workflow called wf_name, in the current
---language (relm.i18n.label: the language's text, else English, else the
---identifier with spaces); the identifier itself when the workflow or the
---state is unknown. For human output only: machine output keeps `state`.
---@param wf_name string
---@param state string
---@return string
function M.state_label(wf_name, state)
    local wf = loaded(wf_name)
    return wf and wf:state_label(state) or state
end

---The labels of many releases' states at once, for a table of them:
---list = {{release_id, state}, ...}; returns {[i] = label} (the state
---itself for a release or workflow not found). One query finds every
---release's workflow.
---@param list table[]
---@return string[]
function M.release_state_labels(list)
    local ids = {}
    for i, x in ipairs(list) do
        ids[i] = x[1]
    end
    local workflow = {}
    if #ids > 0 then
        local q = "SELECT id, workflow FROM releases WHERE id IN (SELECT value FROM json_each(?))"
        for _, w in ipairs(relm.sql(q, require("cjson").encode(ids))) do
            workflow[w.id] = w.workflow
        end
    end
    local labels, seen = {}, {}
    for i, x in ipairs(list) do
        local wf, state = workflow[x[1]], x[2]
        if wf and type(state) == "string" then
            local key = wf .. "\0" .. state
            seen[key] = seen[key] or M.state_label(wf, state)
            labels[i] = seen[key]
        else
            labels[i] = state
        end
    end
    return labels
end

---The label of action (a transition of the workflow called wf_name, or a
---primitive every workflow gets) in the current language; the identifier
---when neither knows it.
---@param wf_name string
---@param action string
---@return string
function M.action_label(wf_name, action)
    local wf = loaded(wf_name)
    if wf then
        return wf:action_label(action)
    end
    return PRIMITIVE_LABELS[action] and i18n._(PRIMITIVE_LABELS[action]) or action
end

--------------------------------------------------------------------------
-- Methods of a compiled workflow
--------------------------------------------------------------------------

---The label of state name in the current language: its `label` for the
---language, else English, else the name with spaces; name itself when the
---workflow has no such state. Read at each call, so one compiled workflow
---serves readers in several languages (web pages).
---@param name string
---@return string
function WF:state_label(name)
    local s = self.states[name]
    if s == nil then
        return name
    end
    return i18n.label(s.labels) or label_of(name)
end

---The label of an action in the current language: a transition's
---`label` (as state_label reads it), a primitive's translated name
---(suspend, cancel, delegate...), else the name itself.
---@param name string
---@return string
function WF:action_label(name)
    local t = self.transitions[name]
    if t ~= nil then
        return i18n.label(t.labels) or label_of(name)
    end
    return PRIMITIVE_LABELS[name] and i18n._(PRIMITIVE_LABELS[name]) or name
end

---Names of the transitions leaving state, in the order the file declares
---them (guards are not run).
---@param state string
---@return string[]
function WF:available(state)
    local out = {}
    for _, name in ipairs(self.transition_order) do
        if self.transitions[name].from[state] then
            out[#out + 1] = name
        end
    end
    return out
end

---Fields a transition needs: those required to leave its source state
---(state.requires of `state`) and its own.
---@param tname string
---@param state string|nil the state left (default: none)
---@return string[]
function WF:required(tname, state)
    local need, seen = {}, {}
    local function add(list)
        for _, f in ipairs(list or {}) do
            if not seen[f] then
                seen[f] = true
                need[#need + 1] = f
            end
        end
    end
    local s = state and self.states[state]
    add(s and s.requires)
    local t = self.transitions[tname]
    add(t and t.requires)
    return need
end

local getinfo = debug.getinfo

-- Whether a name exists in the users or groups table.
local function exists(tbl, name)
    return type(name) == "string" and relm.sql("SELECT 1 AS x FROM " .. tbl .. " WHERE name = ?", name)[1] ~= nil
end

local TYPE_OK = {
    boolean = function(v) return type(v) == "boolean" end,
    integer = function(v) return math.type(v) == "integer" end,
    number = function(v) return type(v) == "number" end,
    string = function(v) return type(v) == "string" end,
    date = function(v) return type(v) == "string" and require("relm.core.activity").valid_date(v) end,
    user = function(v) return exists("users", v) end,
    group = function(v) return exists("groups", v) end,
}

---Why value v cannot go in the workflow's own field name (its declared
---type: boolean, integer, number, string, date, user = a user's name,
---group = a group's name, or a list of allowed values), or nil when it can
---(or the field has no declared type). "" clears a field and is allowed.
---Every write path (register, update, act, workflow actions) asks this.
---@param name string
---@param v any
---@return string|nil
function WF:field_error(name, v)
    local want = self.field_types[name]
    if want == nil or v == "" then
        return nil
    end
    local shown = type(v) == "string" and ("'" .. v .. "'") or tostring(v)
    if type(want) == "table" then
        for _, ok in ipairs(want) do
            if v == ok then
                return nil
            end
        end
        return ("field '%s' takes one of %s, got %s%s"):format(name, table.concat(want, ", "), shown,
            type(v) == "string" and suggest(v, want) or "")
    end
    if TYPE_OK[want](v) then
        return nil
    end
    if want == "user" or want == "group" then
        return ("field '%s' is declared %s: no %s named %s"):format(name, want, want, shown)
    end
    return ("field '%s' is declared %s, got %s"):format(name, want, shown)
end

---Why a person may not set these fields in state (hidden or read_only
---there), or nil. Workflow actions are not asked: only people's writes
---(register in the initial state, update, fields given with act).
---@param state string
---@param fields table field = value
---@return string|nil
function WF:locked(state, fields)
    local s = self.states[state]
    if not s then
        return nil
    end
    for _, kind in ipairs({ "hidden", "read_only" }) do
        for _, f in ipairs(s[kind] or {}) do
            if fields[f] ~= nil then
                return ("field '%s' is %s in state '%s'"):format(f, kind == "hidden" and "hidden" or "read-only",
                    state)
            end
        end
    end
    return nil
end

---The fields transition tname must be given with the action itself, even
---when the release already holds a value (`prompt = {...}`, iTop's
---must_prompt), that fields (what act was given) lacks.
---@param tname string
---@param fields table|nil
---@param note string|nil
---@return string[]
function WF:unprompted(tname, fields, note)
    local t = self.transitions[tname]
    local out = {}
    for _, f in ipairs(t and t.prompt or {}) do
        local v = f == "note" and note or (fields or {})[f]
        if not present(v) then
            out[#out + 1] = f
        end
    end
    return out
end

-- Runs inside the sandbox: call the guard, reduce its answer to ok, reason.
local function run_guard(g, r, ctx)
    local ok, reason = g(r, ctx)
    if ok then
        return true
    end
    if reason ~= nil then
        return false, tostring(reason)
    end
    return false, nil
end

---Run a transition's guard in the sandbox on a copy of the release.
---@param tname string
---@param r table the release (plain fields)
---@param opts table|nil context passed to the guard as its second argument
---  (user, note, ...); opts.limits = {timeout_ms=, memory_mb=} overrides
---  the sandbox defaults
---@return boolean ok
---@return string|nil reason why not (with file:line when the guard failed)
function WF:guard(tname, r, opts)
    local t = self.transitions[tname]
    if not t then
        relm.error("not_found", (i18n._("workflow '%s' has no transition '%s'")):format(self.name, tostring(tname)), 2)
    end
    if not t.guard_fn then
        return true
    end
    local limits = opts and type(opts.limits) == "table" and opts.limits
    local ok, res, reason
    if limits then
        ok, res, reason = pcall(sandbox.call_with, limits, run_guard, t.guard_fn, plain(r or {}, false, 0),
            plain(opts, false, 0))
    else
        ok, res, reason = pcall(sandbox.call, run_guard, t.guard_fn, plain(r or {}, false, 0),
            plain(opts or {}, false, 0))
    end
    if not ok then
        if not relm.is_error(res, "sandbox") then
            error(res, 0) -- misuse (bad opts.limits), not the guard's doing
        end
        local msg = message_of(res)
        local limit, reached = msg:match("^(.-) %(at ([^%)]+:%d+)%)$")
        if limit then
            -- The line reached may be in a helper the guard called; the
            -- designer looks for the guard, so name both.
            local info = getinfo(t.guard_fn, "S")
            return false, ("guard of '%s' at %s:%d failed: %s (reached %s)"):format(tname, info.short_src,
                info.linedefined, limit, reached)
        end
        return false, ("guard of '%s' failed: %s"):format(tname, msg)
    end
    if res then
        return true
    end
    return false, reason or ("the guard of '%s' (%s) refused"):format(tname, t.where)
end

-- Runs inside the sandbox: every action of the list, merging the changes
-- they return (raw copies, so no script metamethod escapes). The second
-- result maps each changed field to the "file:line" of the action that set
-- it, so a refusal of the field by the engine can name the action.
local function run_actions(list, r, ctx)
    local changes, set_at
    for _, fn in ipairs(list) do
        local ch = fn(r, ctx)
        -- What an action may return: nil, or a flat table of field = value.
        -- Anything else is the designer's mistake: say set_at it is.
        local bad
        if ch ~= nil and type(ch) ~= "table" then
            bad = "a " .. type(ch)
        end
        if type(ch) == "table" then
            changes = changes or {}
            local k, v = next(ch)
            while k ~= nil and not bad do
                local tv = type(v)
                if type(k) ~= "string" then
                    bad = "a table with a " .. type(k) .. " key"
                elseif tv == "string" or tv == "number" or tv == "boolean" then
                    changes[k] = v
                    r[k] = v
                    set_at = set_at or {}
                    set_at[k] = fn
                else
                    bad = ("a %s for field '%s'"):format(tv, k)
                end
                k, v = next(ch, k)
            end
        end
        if bad then
            local info = getinfo(fn, "S")
            error((i18n._("%s:%d: the action returned %s; an action returns nil or a table of field = value ")
                .. i18n._("(strings, numbers, booleans)")):format(info.short_src, info.linedefined, bad), 0)
        end
    end
    for k, fn in pairs(set_at or {}) do
        local info = getinfo(fn, "S")
        set_at[k] = ("%s:%d"):format(info.short_src, info.linedefined)
    end
    return changes, set_at
end

-- Run the entry or exit actions of state in the sandbox; their changes,
-- or nil, and set_at each change was made (see run_actions). Raises sandbox
-- when one fails (interrupted passes through).
local function run_state_actions(self, which, state, r, ctx)
    local s = self.states[state]
    if not s then
        relm.error("not_found", (i18n._("workflow '%s' has no state '%s'")):format(self.name, tostring(state)), 3)
    end
    local list = which == "enter" and s._enter or s._exit
    if #list == 0 then
        return nil
    end
    local ok, res, set_at = pcall(sandbox.call, run_actions, list, plain(r or {}, false, 0),
        plain(ctx or {}, false, 0))
    if not ok and relm.is_error(res, "interrupted") then
        error(res, 0) -- Ctrl-C: not the action's fault
    elseif not ok then
        relm.error("sandbox",
            (i18n._("%s action of state '%s' failed: %s")):format(which == "enter" and "entry" or "exit",
            state, message_of(res)), 3)
    end
    return res, set_at
end

---Run the entry actions of state in the sandbox. Returns the field changes
---they ask for (nil when none) and, per changed field, the "file:line" of
---the action that set it. Raises "sandbox" when an action fails.
---@param state string
---@param r table
---@param ctx table|nil
---@return table|nil changes
---@return table<string,string>|nil set_at
function WF:enter(state, r, ctx)
    return run_state_actions(self, "enter", state, r, ctx)
end

---Run the exit actions of state in the sandbox (see enter).
---@param state string
---@param r table
---@param ctx table|nil
---@return table|nil changes
---@return table<string,string>|nil where
function WF:exit(state, r, ctx)
    return run_state_actions(self, "exit", state, r, ctx)
end

---What taking transition tname would do to release r, without writing:
---{allowed=, transition=, from=, to=, missing={fields}, guard={ok=, reason=},
---permission=, by=, reason=}. A required field counts as given when r or
---ctx.fields holds it, or ctx holds it directly (ctx.note for "note").
---@param tname string
---@param r table release (r.state is the state it is in)
---@param ctx table|nil {user=, note=, fields={...}}
---@return table
function WF:explain(tname, r, ctx)
    r = r or {}
    ctx = ctx or {}
    local t = self.transitions[tname]
    if not t then
        return { allowed = false, transition = tname, from = r.state, missing = {},
            guard = { ok = false, reason = "no such transition" },
            reason = ("workflow '%s' has no transition '%s'"):format(self.name, tostring(tname)) }
    end
    local merged = plain(r, false, 0)
    if type(ctx.fields) == "table" then
        for k, v in pairs(ctx.fields) do
            merged[k] = v
        end
    end
    local missing = {}
    for _, f in ipairs(self:required(tname, r.state)) do
        if not present(merged[f]) and not present(ctx[f]) then
            missing[#missing + 1] = f
        end
    end
    -- A `prompt` field counts only when given with the action itself.
    for _, f in ipairs(self:unprompted(tname, ctx.fields, ctx.note)) do
        local dup = false
        for _, m in ipairs(missing) do
            dup = dup or m == f
        end
        if not dup then
            missing[#missing + 1] = f
        end
    end
    local out = {
        transition = tname, label = t.label, from = r.state, to = t.to, missing = missing,
        permission = t.permission, by = t.by,
    }
    local reasons = {}
    if r.state ~= nil and not t.from[r.state] then
        local from = {}
        for _, s in ipairs(t.from_list) do
            from[#from + 1] = s
        end
        reasons[#reasons + 1] = ("'%s' leaves only from %s, not from '%s'"):format(tname, table.concat(from, ", "),
            r.state)
    end
    if #missing > 0 then
        reasons[#reasons + 1] = "missing " .. table.concat(missing, ", ")
    end
    local ok, why = self:guard(tname, merged, ctx)
    out.guard = { ok = ok, reason = why }
    if not ok then
        reasons[#reasons + 1] = why or "the guard refused"
    end
    out.allowed = #reasons == 0
    out.reason = #reasons > 0 and table.concat(reasons, "; ") or nil
    return out
end

--------------------------------------------------------------------------
-- Diagram
--------------------------------------------------------------------------

local PHASE_COLOURS = {
    registration = { "#eaf2fb", "#c6dbf2" },
    planning = { "#eef8ea", "#cdeac1" },
    deployment = { "#fdf3e6", "#f7d9a8" },
    closure = { "#f1eef8", "#d7cdea" },
}

-- s as a quoted DOT string.
local function q(s)
    return '"' .. tostring(s):gsub('[\\"]', "\\%0") .. '"'
end

---A Graphviz DOT state diagram of a workflow: states grouped and coloured
---by phase, transitions labelled; close, cancel and reopen drawn dashed.
---Render with `dot -Tsvg`.
---@param name string|table a workflow name, path or compiled workflow
---@return string
function M.dot(name)
    local wf = type(name) == "table" and name or M.load(name)
    local out = {}
    local function add(fmt, ...)
        out[#out + 1] = fmt:format(...)
    end
    add("digraph %s {", q(wf.name))
    add("  rankdir=LR; compound=true; fontname=\"Helvetica\";")
    add("  label=%s; labelloc=t; fontsize=16;", q(wf.label .. (wf.description and (": " .. wf.description) or "")))
    add("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=11];")
    add("  edge [fontname=\"Helvetica\", fontsize=9];")
    for _, phase in ipairs(M.phases) do
        local members = {}
        for _, sname in ipairs(wf.state_order) do
            if wf.states[sname].phase == phase then
                members[#members + 1] = sname
            end
        end
        if #members > 0 then
            local col = PHASE_COLOURS[phase]
            add("  subgraph %s {", q("cluster_" .. phase))
            add("    label=%s; style=filled; color=%s; fillcolor=%s;", q(phase), q(col[2]), q(col[1]))
            for _, sname in ipairs(members) do
                local s = wf.states[sname]
                local extra = s.final and ", peripheries=2" or ""
                add("    %s [label=%s, fillcolor=%s%s];", q(sname), q(s.label), q(col[2]), extra)
            end
            add("  }")
        end
    end
    add("  __start [shape=point, width=0.15, label=\"\"];")
    add("  __start -> %s;", q(wf.initial))
    for _, tname in ipairs(wf.transition_order) do
        local t = wf.transitions[tname]
        local style = t.to == wf.close_state and ", style=bold" or ""
        -- A transition that waits for the approval rules says so, on a
        -- line of its own (a DOT "\n", spliced in after quoting); so does
        -- the one a rejection takes.
        local note = ""
        if t.approval then
            note = "\\n(after approval)"
            style = style .. ', color="#2f6f3e", fontcolor="#2f6f3e"'
        end
        for _, f in ipairs(t.from_list) do
            local back = ""
            for _, other in ipairs(wf:available(f)) do
                local o = wf.transitions[other]
                if o.approval and o.on_reject == tname then
                    back = "\\n(on rejection)"
                end
            end
            add("  %s -> %s [label=%s\"%s];", q(f), q(t.to), q(t.label):sub(1, -2) .. note .. back, style)
        end
    end
    if wf.cancel_state then
        for _, sname in ipairs(wf.state_order) do
            if wf.states[sname].cancel then
                add("  %s -> %s [label=\"cancel\", style=dotted, color=gray50, fontcolor=gray50, " ..
                    "constraint=false];", q(sname),
                    q(wf.cancel_state))
            end
        end
    end
    if wf.reopen_to then
        add("  %s -> %s [label=\"reopen\", style=dashed];", q(wf.close_state), q(wf.reopen_to))
    end
    add("}")
    return table.concat(out, "\n") .. "\n"
end

return M
