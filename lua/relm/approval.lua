-- relm/approval.lua: approval rules and decisions. Rules are Lua files
-- (workflows/rules/*.lua) run in the sandbox; each says which releases it
-- matches and whom it asks: a group with a quorum, a person, or levels one
-- after the other. A workflow transition with `approval = true` waits for
-- them; `on_reject` names where a rejection sends the release. The writes
-- are C primitives (relm.core.approval). See docs/approvals.md.
local i18n = require "relm.i18n"
local C = require "relm.core.approval"
local sandbox = require "relm.core.sandbox"
local source = require "relm.source"
local J = require "relm.json"

local M = {}

-- ---- the rule language -----------------------------------------------------

-- Criteria a `when` table may name: release fields matched by equality
-- (or membership, when the rule gives a list), plus `cis`.
local WHEN_KEYS = {
    portfolio = true, model = true, type = true, priority = true, risk = true, impact = true,
    urgency = true, workflow = true, category = true, executor_group = true, state = true, cis = true,
}
local CI_KEYS = { criticality = true, type = true, status = true, name = true }
local RULE_KEYS = { when = true, approvers = true, description = true, states = true }

local APPROVER = {}
APPROVER.__index = APPROVER

-- Where the rule file called us from: "file:line" of the caller's caller.
local function caller(level)
    local info = debug.getinfo(level + 1, "Sl")
    if info and info.currentline and info.currentline > 0 then
        local src = info.source:sub(1, 1) == "@" and info.source:sub(2) or info.short_src
        return ("%s:%d"):format(src, info.currentline)
    end
    return "?"
end

-- A mistake in a rule file: raised at the rule file's line.
local function bad(level, fmt, ...)
    error(caller(level + 1) .. ": " .. fmt:format(...), 0)
end

-- The quorum as stored ("2", "50%", "all"), or a rule-file error at the
-- caller's line.
local function check_quorum(q, level)
    if math.type(q) == "integer" and q >= 1 then
        return tostring(q)
    end
    if q == "all" then
        return q
    end
    if type(q) == "string" then
        local n = q:match("^(%d+)%%$")
        if n and tonumber(n) >= 1 and tonumber(n) <= 100 then
            return q
        end
        if q:match("^%d+$") and tonumber(q) >= 1 then
            return q
        end
    end
    bad(level + 1, i18n._('quorum must be a number (2), a percentage ("50%%") or "all", got %s'), tostring(q))
end

-- `group "cab"` is an approver; calling it with options gives another:
-- `group "cab" { quorum = "50%", veto = false }`.
function APPROVER.__call(self, opts)
    if type(opts) ~= "table" then
        bad(2, i18n._("%s '%s' takes its options in braces, like { quorum = 2 }"), self.kind, self.name)
    end
    local copy = setmetatable({ kind = self.kind, name = self.name, role = self.role, quorum = self.quorum,
        veto = self.veto }, APPROVER)
    for k, v in pairs(opts) do
        if k == "quorum" and self.kind == "group" then
            copy.quorum = check_quorum(v, 2)
        elseif k == "veto" and type(v) == "boolean" then
            copy.veto = v
        else
            bad(2, i18n._("%s '%s': unknown option '%s' (%s)"), self.kind, self.name, tostring(k),
                self.kind == "group" and "quorum, veto" or "veto")
        end
    end
    return copy
end

-- Whether v was made by group "..." or person "...".
local function is_approver(v)
    return getmetatable(v) == APPROVER
end

-- The levels an `approvers` value gives (an approver, a list of them, or
-- levels { ... }), or nil when it is none of those.
local function levels_of(ap)
    if is_approver(ap) then
        return { { ap } }
    elseif type(ap) == "table" and ap.kind == "levels" then
        local levels = {}
        for i, l in ipairs(ap.list) do
            levels[i] = is_approver(l) and { l } or l
        end
        return levels
    elseif type(ap) == "table" and #ap > 0 then
        for _, a in ipairs(ap) do
            if not is_approver(a) then
                return nil
            end
        end
        return { ap }
    end
    return nil
end

-- The words a rule file sees besides the sandbox's allow-list; the second
-- result seals them (`rule` refuses once the file has loaded).
local function words(file, into)
    local w = {}
    local sealed = false
    function w.group(name)
        if type(name) ~= "string" or name == "" then
            bad(2, i18n._('write group "name", optionally followed by { quorum = ... }'))
        end
        return setmetatable({ kind = "group", name = name, quorum = "1", veto = true }, APPROVER)
    end
    function w.person(name)
        if type(name) ~= "string" or name == "" then
            bad(2, i18n._('write person "user name"'))
        end
        return setmetatable({ kind = "person", name = name, veto = true }, APPROVER)
    end
    -- role("lead", "ops"): the members holding a role in a group
    -- (relm.group.add_member(group, user, {role=})), each asked in person.
    function w.role(role, group)
        if type(role) ~= "string" or role == "" or type(group) ~= "string" or group == "" then
            bad(2, i18n._('write role("lead", "group name"), e.g. role("lead", r.executor_group) '
                .. 'in an approvers function'))
        end
        return setmetatable({ kind = "role", name = group, role = role, veto = true }, APPROVER)
    end
    function w.levels(list)
        if type(list) ~= "table" or #list == 0 then
            bad(2, i18n._("levels takes a list in braces: levels { group \"a\", group \"b\" }"))
        end
        for i, l in ipairs(list) do
            if not is_approver(l) then
                if type(l) ~= "table" or #l == 0 then
                    bad(2, i18n._("level %d must be an approver or a list of approvers"), i)
                end
                for _, a in ipairs(l) do
                    if not is_approver(a) then
                        bad(2, i18n._("level %d: every entry must be group \"...\", person \"...\" or role(...)"), i)
                    end
                end
            end
        end
        return { kind = "levels", list = list }
    end
    function w.rule(name)
        if sealed then
            -- From a `when` function: the file's rules are fixed once it has loaded.
            error(i18n._("rule is a declaration: write it at the top level of the rule file, "
                .. "not in a when function"), 2)
        end
        local where = caller(2)
        if type(name) ~= "string" or name == "" then
            bad(2, i18n._('write rule "name" { when = { ... }, approvers = ... }'))
        end
        return function(spec)
            if type(spec) ~= "table" then
                bad(2, i18n._("rule '%s' needs its description in braces: rule \"%s\" { ... }"), name, name)
            end
            for k in pairs(spec) do
                if not RULE_KEYS[k] then
                    bad(2, i18n._("rule '%s': unknown field '%s' (when, approvers, states, description)"), name,
                        tostring(k))
                end
            end
            local when = spec.when
            if when == nil then
                when = {}
            end
            if type(when) == "table" then
                for k, v in pairs(when) do
                    if not WHEN_KEYS[k] then
                        bad(2, i18n._("rule '%s': when cannot match '%s' (it matches %s)"), name, tostring(k),
                            "portfolio, model, type, priority, risk, impact, urgency, workflow, category, "
                            .. "executor_group, state, cis")
                    end
                    if k == "cis" then
                        if type(v) ~= "table" then
                            bad(2, i18n._("rule '%s': cis must be a table like { criticality = \"high\" }"), name)
                        end
                        for ck in pairs(v) do
                            if not CI_KEYS[ck] then
                                bad(2, i18n._("rule '%s': cis cannot match '%s' (criticality, type, status, name)"),
                                    name,
                                    tostring(ck))
                            end
                        end
                    end
                end
            elseif type(when) ~= "function" then
                bad(2, i18n._("rule '%s': when must be a table of criteria or a function(release)"), name)
            end
            local ap = spec.approvers
            local levels, approvers_fn
            if type(ap) == "function" then
                approvers_fn = ap -- asked with the release when the round opens
            else
                levels = levels_of(ap)
                if not levels then
                    bad(2,
                        i18n._("rule '%s' needs approvers = group \"...\", person \"...\", role(...), a list of them, ")
                        .. i18n._("levels { ... }, or a function(release) returning one of these"), name)
                end
            end
            local states = spec.states
            if type(states) == "string" then
                states = { states }
            elseif states ~= nil and type(states) ~= "table" then
                bad(2, i18n._("rule '%s': states must be a state name or a list of them"), name)
            end
            into[#into + 1] = {
                name = name, source = where, file = file, when = when, levels = levels, approvers_fn = approvers_fn,
                description = spec.description, states = states,
            }
        end
    end
    return w, function() sealed = true end
end

-- ---- loading the rule files --------------------------------------------------

local loaded = {}     -- file -> array of rules, in the order they were loaded
local order = {}      -- files in load order
local dir_done = false
local read_at = {}     -- file -> its modification time when read (relm.reload)

-- The message of an error value (a relm error's text without its code).
local function message_of(err)
    if type(err) == "table" and err.message then
        return err.message
    end
    return tostring(err)
end

-- Names a user or group table holds within two bytes of name's length
-- (the candidates a did-you-mean compares; bounded for big directories).
local function names_near(tbl, name)
    local out = {}
    for i, row in ipairs(relm.sql(("SELECT name FROM %s WHERE length(name) BETWEEN ? AND ? LIMIT 2000"):format(tbl),
        #name - 2, #name + 2)) do
        out[i] = row.name
    end
    return out
end

-- The approval points of wf: states some `approval = true` transition
-- leaves, as a set.
local function approval_points(wf)
    local out = {}
    for _, t in pairs(wf.transitions or {}) do
        if t.approval then
            for s in pairs(t.from or {}) do
                out[s] = true
            end
        end
    end
    return out
end

-- A list from a string or a list (nil stays nil).
local function list_of(v)
    if type(v) == "string" then
        return { v }
    end
    return v
end

-- What a designer mistypes in a rule and the engine could never notice at
-- run time (the rule would just never apply, and releases would be
-- approved with nobody asked): a state or workflow no workflow has, a
-- workflow without an approval point, a state that is no approval point,
-- a person or group nobody created. Raises invalid_rule at the rule's line.
local function validate(rules)
    local W = require "relm.workflow"
    local known = W.known()
    local wnames = {}
    for name in pairs(known) do
        wnames[#wnames + 1] = name
    end
    table.sort(wnames)
    local function fail(r, fmt, ...)
        relm.error("invalid_rule", (i18n._("%s: rule '%s': ") .. fmt):format(r.source, r.name, ...), 0)
    end
    for _, r in ipairs(rules) do
        local when = type(r.when) == "table" and r.when or {}
        local aimed = {}
        for _, w in ipairs(list_of(when.workflow) or {}) do
            local wf = known[w]
            if not wf then
                fail(r, i18n._("when.workflow names workflow '%s' that does not exist%s (workflows: %s)"), tostring(w),
                    W.suggest(w, wnames), table.concat(wnames, ", "))
            end
            if next(approval_points(wf)) == nil then
                fail(r,
                    i18n._("workflow '%s' has no approval point (no transition with approval = true), so this rule ")
                    .. i18n._("would never be asked"), w)
            end
            aimed[#aimed + 1] = wf
        end
        if #aimed == 0 then
            for _, name in ipairs(wnames) do
                aimed[#aimed + 1] = known[name]
            end
        end
        local states = {}
        for _, s in ipairs(list_of(r.states) or {}) do
            states[#states + 1] = s
        end
        for _, s in ipairs(list_of(when.state) or {}) do
            states[#states + 1] = s
        end
        for _, s in ipairs(states) do
            local exists, point, all, points = false, false, {}, {}
            for _, wf in ipairs(aimed) do
                local ap = approval_points(wf)
                for _, sname in ipairs(wf.state_order or {}) do
                    all[#all + 1] = sname
                    if ap[sname] then
                        points[#points + 1] = ("%s.%s"):format(wf.name, sname)
                    end
                end
                exists = exists or (wf.states and wf.states[s] ~= nil)
                point = point or ap[s] == true
            end
            if not exists then
                fail(r, i18n._("state '%s' is not a state of %s%s"), tostring(s),
                    #list_of(when.workflow or {}) > 0 and ("workflow " .. table.concat(list_of(when.workflow), ", "))
                    or "any workflow", W.suggest(s, all))
            elseif not point then
                fail(r, i18n._("state '%s' is not an approval point (no transition with approval = true leaves it), ")
                    .. i18n._("so this rule would never be asked (approval points: %s)"), s, table.concat(points, ", "))
            end
        end
        for _, level in ipairs(r.levels or {}) do
            for _, a in ipairs(level) do
                local grp = a.kind == "group" or a.kind == "role"
                local tbl = grp and "groups" or "users"
                if not relm.sql("SELECT 1 AS x FROM " .. tbl .. " WHERE name = ?", a.name)[1] then
                    fail(r, i18n._("%s '%s' does not exist%s (create it with relm.%s.add)"),
                        grp and "group" or "person",
                        a.name, W.suggest(a.name, names_near(tbl, a.name)), grp and "group" or "user")
                end
            end
        end
    end
end

-- Run one rule file in the sandbox; returns its rules or raises
-- invalid_rule with file:line.
local function read_rules(path)
    local code, ferr = source.read_file(path)
    if not code then
        relm.error("not_found", i18n._("cannot read the rule file: ") .. tostring(ferr), 0)
    end
    local name = source.display_name(path)
    local env = sandbox.env()
    local rules = {}
    local w, seal = words(name, rules)
    for k, v in pairs(w) do
        rawset(env, k, v)
    end
    local ok, fn = pcall(sandbox.load, code, "@" .. name, env)
    if not ok then
        relm.error("invalid_rule", message_of(fn), 0)
    end
    local ran, err = pcall(sandbox.call, fn)
    seal()
    if not ran then
        local msg = message_of(err)
        -- "time limit of N ms exceeded (at file:line)": lead with the place.
        local at = msg:match("%(at ([^%)]+:%d+)%)$")
        if at and msg:sub(1, #at) ~= at then
            msg = at .. ": " .. msg:gsub("%s*%(at [^%)]+%)$", "")
        elseif not msg:find(name, 1, true) then
            msg = name .. ": " .. msg
        end
        relm.error("invalid_rule", msg, 0)
    end
    local seen = {}
    for _, r in ipairs(rules) do
        if seen[r.name] then
            relm.error("invalid_rule", (i18n._("%s: rule '%s' is declared twice (first at %s)")):format(r.source,
                r.name,
                seen[r.name]), 0)
        end
        seen[r.name] = r.source
    end
    validate(rules)
    return rules
end

-- Add path's rules to the active set (replacing what the file gave before);
-- a name another file already uses is refused.
local function install(path)
    read_at[path] = require("relm.reload").mtime(path)
    local rules = read_rules(path)
    for _, file in ipairs(order) do
        if file ~= path then
            for _, other in ipairs(loaded[file]) do
                for _, r in ipairs(rules) do
                    if r.name == other.name then
                        relm.error("invalid_rule", (i18n._("%s: rule '%s' is already declared at %s")):format(r.source,
                            r.name, other.source), 0)
                    end
                end
            end
        end
    end
    if not loaded[path] then
        order[#order + 1] = path
    end
    loaded[path] = rules
    return rules
end

---The directory whose *.lua files hold the approval rules (loaded in name
---order on first use): relm.home/workflows/rules unless configure{} or
---$RELM_RULES_DIR says.
M.dir = nil

---Set where rules come from: dir = a directory of rule files, or false for
---none (only files given to relm.approval.load). Forgets the rules loaded
---so far.
---@param opts table {dir = string|false}
function M.configure(opts)
    if type(opts) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.approval.configure: argument #1 must be a table {dir=}"), 2)
    end
    if opts.dir ~= nil and opts.dir ~= false and type(opts.dir) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.approval.configure: dir must be a directory path or false"), 2)
    end
    if C.configure then
        C.configure({ dir = opts.dir }) -- the engine's rules (administrators only)
    end
    M.dir = opts.dir
    loaded, order, dir_done = {}, {}, false
end

-- The rules directory in force, or nil for none: configure{dir=}, else
-- $RELM_RULES_DIR (so every session of a designer finds their rules, as
-- $RELM_WORKFLOW_PATH does for workflows), else the shipped rules.
local function rules_dir()
    if M.dir == false then
        return nil
    end
    local env = os.getenv("RELM_RULES_DIR")
    return M.dir or (env ~= nil and env ~= "" and env) or (relm.home .. "/workflows/rules")
end

-- Install every *.lua file of the rules directory, in name order, once.
local function load_dir()
    if dir_done then
        return
    end
    local dir = rules_dir()
    local files = {}
    if dir then
        for name, kind in source.entries(dir) do
            if (kind == "file" or kind == nil) and name:match("%.lua$") then
                files[#files + 1] = dir .. "/" .. name
            end
        end
    end
    table.sort(files)
    for _, f in ipairs(files) do
        install(f)
    end
    dir_done = true
end

-- serve's SIGHUP (relm.reload): read every rule file loaded so far, and
-- any new one in the rules directory, again; a file that fails keeps its
-- old rules (install replaces a file's rules only once they all read).
local function reload_rules()
    if not dir_done then
        return {} -- nothing read yet: the first use reads the files fresh
    end
    local files, seen = {}, {}
    for _, f in ipairs(order) do
        files[#files + 1], seen[f] = f, true
    end
    local dir = rules_dir()
    for name, kind in (dir and source.entries(dir) or function() end) do
        local f = dir .. "/" .. name
        if (kind == "file" or kind == nil) and name:match("%.lua$") and not seen[f] then
            files[#files + 1] = f
        end
    end
    local problems = {}
    for _, f in ipairs(files) do
        local ok, err = pcall(install, f)
        if not ok then
            problems[#problems + 1] = message_of(err)
        end
    end
    return problems
end
-- Whether a rule file read so far was written since.
local function rules_changed()
    local mtime = require("relm.reload").mtime
    for _, f in ipairs(order) do
        if mtime(f) ~= read_at[f] then
            return true
        end
    end
    return false
end
require("relm.reload").register("approval rules", reload_rules, rules_changed)

---Load (or load again) one rule file and add its rules. Raises
---invalid_rule with file:line when the file has a syntax error, fails or
---times out while loading, or misuses the rule language.
---@param path string
---@return string[] names of the rules it declares
function M.load(path)
    if type(path) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.approval.load: argument #1 (path) must be a string"), 2)
    end
    if C.load then
        C.load(path) -- the engine's rules (administrators only)
    end
    load_dir()
    local names = {}
    for i, r in ipairs(install(path)) do
        names[i] = r.name
    end
    return names
end

---Check a rule file without installing it: true, or false and the problem
---("file:line: message").
---@param path string
---@return boolean ok
---@return string? problem
function M.check(path)
    local ok, err = pcall(read_rules, path)
    if ok then
        return true
    end
    return false, message_of(err)
end

---The active rules: {name=, source="file:line", description=, states=}.
---@return table[]
function M.rules()
    load_dir()
    local out = {}
    for _, file in ipairs(order) do
        for _, r in ipairs(loaded[file]) do
            out[#out + 1] = { name = r.name, source = r.source, description = r.description, states = r.states }
        end
    end
    return out
end

-- ---- matching ----------------------------------------------------------------

-- The CIs a release touches (linked with relm.release.relate).
local function cis_of(release_id)
    return relm.sql([[SELECT c.name, t.name AS type, c.criticality, c.status
        FROM release_cis rc JOIN cis c ON c.id = rc.ci_id JOIN ci_types t ON t.id = c.type_id
        WHERE rc.release_id = ? ORDER BY c.name]], release_id)
end

-- Whether v equals want, or is one of want when it is a list.
local function one_of(want, v)
    if type(want) == "table" then
        for _, w in ipairs(want) do
            if w == v then
                return true
            end
        end
        return false
    end
    return want == v
end

-- Whether the release view meets every criterion of a `when` table.
local function matches(when, view)
    for k, want in pairs(when) do
        if k == "cis" then
            local any = false
            for _, ci in ipairs(view.cis) do
                local all = true
                for ck, cv in pairs(want) do
                    if not one_of(cv, ci[ck]) then
                        all = false
                        break
                    end
                end
                if all then
                    any = true
                    break
                end
            end
            if not any then
                return false
            end
        elseif not one_of(want, view[k]) then
            return false
        end
    end
    return true
end

-- A plain copy of the release for rules (a rule may not change the caller's).
local function view_of(r)
    local v = {}
    for k, x in pairs(r) do
        if type(x) ~= "table" then
            v[k] = x
        end
    end
    v.cis = cis_of(r.id)
    return v
end

-- The levels a rule's approvers function gives for the release (run in
-- the sandbox on a copy); raises sandbox naming the rule when it fails or
-- returns something that is not approvers.
local function rule_approvers(rule, view)
    local copy = {}
    for k, x in pairs(view) do
        copy[k] = x
    end
    local ok, res = pcall(sandbox.call, rule.approvers_fn, copy)
    if not ok and relm.is_error(res, "interrupted") then
        error(res, 0)
    elseif not ok then
        relm.error("sandbox", (i18n._("rule '%s' (%s): approvers failed: %s")):format(rule.name, rule.source,
            message_of(res)), 0)
    end
    local levels = levels_of(res)
    if not levels then
        relm.error("sandbox", (i18n._("rule '%s' (%s): approvers returned %s; it must return group \"...\", person ")
            .. i18n._("\"...\", role(...), a list of them, or levels { ... }")):format(rule.name, rule.source,
                type(res)), 0)
    end
    return levels
end

-- The names of the members holding approver a's role in its group, or a
-- not_allowed naming the rule when nobody does (a round nobody can settle).
local function holders(rule, a)
    local rows = relm.sql([[SELECT u.name FROM memberships m JOIN users u ON u.id = m.user_id
        JOIN groups g ON g.id = m.group_id WHERE g.name = ? AND m.role = ? AND u.active = 1 ORDER BY u.name]],
        a.name, a.role)
    if #rows == 0 then
        relm.error("not_allowed",
            (i18n._("rule '%s' (%s) asks the %s of group '%s', and nobody active holds that role ")
            .. i18n._("(relm.group.add_member(%q, NAME, { role = %q }))")):format(rule.name, rule.source, a.role,
                a.name,
            a.name, a.role), 0)
    end
    local out = {}
    for i, row in ipairs(rows) do
        out[i] = row.name
    end
    return out
end

---What the active rules ask for release r in state: an array of asks
---{rule=, source=, level=, group= | user=, quorum=, veto=}. A `when`
---function that fails or runs out of time raises sandbox naming the rule
---and its file:line.
---@param r table a release
---@param state string?
---@return table[]
function M.asks(r, state)
    load_dir()
    state = state or r.state
    local view
    local out = {}
    for _, file in ipairs(order) do
        for _, rule in ipairs(loaded[file]) do
            if not rule.states or one_of(rule.states, state) then
                view = view or view_of(r)
                local hit
                if type(rule.when) == "function" then
                    local copy = {}
                    for k, x in pairs(view) do
                        copy[k] = x
                    end
                    local ok, res = pcall(sandbox.call, rule.when, copy)
                    if not ok and relm.is_error(res, "interrupted") then
                        error(res, 0) -- Ctrl-C: not the rule's fault
                    elseif not ok then
                        relm.error("sandbox", (i18n._("rule '%s' (%s) failed: %s")):format(rule.name, rule.source,
                            message_of(res)), 0)
                    end
                    hit = res and true or false
                else
                    hit = matches(rule.when, view)
                end
                if hit then
                    for level, list in ipairs(rule.levels or rule_approvers(rule, view)) do
                        for _, a in ipairs(list) do
                            if a.kind == "role" then
                                for _, who in ipairs(holders(rule, a)) do
                                    out[#out + 1] = { rule = rule.name, source = rule.source, level = level,
                                        user = who, veto = a.veto }
                                end
                            else
                                out[#out + 1] = {
                                    rule = rule.name, source = rule.source, level = level,
                                    group = a.kind == "group" and a.name or nil,
                                    user = a.kind == "person" and a.name or nil,
                                    quorum = a.kind == "group" and a.quorum or nil, veto = a.veto,
                                }
                            end
                        end
                    end
                end
            end
        end
    end
    return out
end

-- ---- rounds, decisions, and the hooks relm.release calls -----------------------

-- Release id's current approval round as the core gives it (JSON, whole
-- numbers as integers), or nil when it has none.
local function round_of(id)
    local text = C.round(id)
    return text ~= "null" and J.decode(text) or nil
end

-- "rule|level|group|person|quorum" of each ask or request, sorted: what
-- a round asks, comparable between the rules' answer and a stored round.
local function ask_keys(list)
    local out = {}
    for i, a in ipairs(list or {}) do
        -- (a person's request is stored with quorum "1"; the ask has none)
        out[i] = table.concat({ a.rule, tostring(a.level), a.group or "", a.user or a.person or "",
            a.group and tostring(a.quorum or "1") or "" }, "|")
    end
    table.sort(out)
    return table.concat(out, "\n")
end

-- The release named by an id, number or release table (raises
-- invalid_argument naming fname, or not_found).
local function release_of(rel, fname)
    if type(rel) == "table" and math.type(rel.id) == "integer" then
        rel = rel.id
    end
    if math.type(rel) ~= "integer" and type(rel) ~= "string" then
        relm.error("invalid_argument", fname
            .. i18n._(": argument #1 (release) must be a release id, number or table"), 3)
    end
    return relm.release.get(rel)
end

-- Transitions leaving state that need approval, sorted by name.
local function approval_transitions(wf, state)
    local out = {}
    for name, t in pairs(wf.transitions or {}) do
        if t.approval and t.from and t.from[state] then
            out[#out + 1] = name
        end
    end
    table.sort(out)
    return out
end

---The release's latest approval round: {id=, state=, status=, requests={
---{rule=, source=, level=, group= | person=, quorum=, needed=, approvals=,
---rejections=, status=, decisions={...}}}}, or nil when it never had one.
---@param release integer|string|table
---@return table?
function M.status(release)
    local r = release_of(release, "relm.approval.status")
    return round_of(r.id)
end

-- "group 'cab' (1 of 2 approvals), person 'gina'; then level 2 of rule
-- 'x': group 'board'" for a round.
local function still_to_approve(round)
    local now, later = {}, {}
    for _, q in ipairs(round.requests or {}) do
        local who = q.group and ("group '%s' (%d of %d approvals)"):format(q.group, q.approvals, q.needed)
            or ("person '%s'"):format(q.person)
        if q.status == "pending" then
            now[#now + 1] = who
        elseif q.status == "waiting" then
            later[#later + 1] = ("level %d of rule '%s': %s"):format(q.level, q.rule, who)
        end
    end
    local s = #now > 0 and table.concat(now, ", ") or "nobody"
    if #later > 0 then
        s = s .. "; then " .. table.concat(later, ", ")
    end
    return s
end

-- Who rejected, and why, in a rejected round.
local function rejections(round)
    local out = {}
    for _, q in ipairs(round.requests or {}) do
        for _, dcs in ipairs(q.decisions or {}) do
            if dcs.decision == "reject" then
                out[#out + 1] = ("%s (%s)"):format(dcs.user, tostring(dcs.note))
            end
        end
    end
    return table.concat(out, ", ")
end

---Ask the active rules now for the release's current state and open a new
---round (withdrawing an open one). Normally automatic when a release enters
---a state with an `approval = true` transition; call it after changing the
---rules or the release. Returns the round.
---@param release integer|string|table
---@return table round
function M.request(release)
    local r = release_of(release, "relm.approval.request")
    return relm.tx(function()
        C.request(r.id)
        return M.status(r.id)
    end)
end

---Record the acting user's decision on a release waiting for approval.
---opts: decision = "approve" | "reject", note = (required to reject). A
---rejection that settles the round sends the release through the workflow's
---`on_reject` transition, in the same transaction. Raises not_allowed (not
---asked, nothing waiting), duplicate (already decided), permission_denied
---(no approve permission), invalid_field (rejection without a note).
---@param release integer|string|table
---@param opts table
---@return table round the round afterwards, with .release the release
function M.decide(release, opts)
    if type(opts) ~= "table" then
        relm.error("invalid_argument",
            i18n._("relm.approval.decide: argument #2 must be a table {decision=, note=}"), 2)
    end
    for k in pairs(opts) do
        if k ~= "decision" and k ~= "note" then
            relm.error("invalid_argument", i18n._("relm.approval.decide: unknown option '") .. tostring(k) .. "'", 2)
        end
    end
    if opts.decision ~= "approve" and opts.decision ~= "reject" then
        relm.error("invalid_argument", i18n._('relm.approval.decide: decision must be "approve" or "reject", got ')
            .. tostring(opts.decision), 2)
    end
    if opts.note ~= nil and type(opts.note) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.approval.decide: note must be a string"), 2)
    end
    local r = release_of(release, "relm.approval.decide")
    return relm.tx(function()
        C.decide(r.id, opts.decision, opts.note)
        local round = M.status(r.id)
        round.release = relm.release.get(r.id)
        return round
    end)
end

-- The engine's decide: the decision (C checks who may), then, when it
-- settles the round as rejected, the workflow's on_reject transition as
-- the person who rejected, all in one transaction.
local function engine_decide(id, decision, note)
    return relm.tx(function()
        local status = C.decide(id, decision, note)
        if status == "rejected" then
            local r = relm.release.get(id)
            local wf = relm.release.workflow(r.workflow)
            for _, name in ipairs(approval_transitions(wf, r.state)) do
                local back = wf.transitions[name].on_reject
                if back then
                    relm.release._engine.act(id, back, { note = note, fields = {} })
                    break
                end
            end
        end
        return status
    end)
end

---What waits for a user's decision (default: the acting user): one row per
---release and request {release=, release_id=, title=, priority=, state=,
---rule=, level=, group= | person=, needed=, approvals=, requested_at=}.
---@param opts table? {user = name}
---@return table[]
function M.pending(opts)
    opts = opts or {}
    if type(opts) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.approval.pending: argument #1 must be a table {user=}"), 2)
    end
    local user = opts.user or relm.whoami()
    if type(user) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.approval.pending: user must be a user name"), 2)
    end
    local u = relm.sql("SELECT id FROM users WHERE name = ?", user)[1]
    if not u then
        relm.error("not_found", i18n._("no user named '") .. user .. "'", 2)
    end
    return relm.sql([[
        SELECT r.number AS release, r.id AS release_id, r.title, r.priority, r.state,
               q.rule, q.level, g.name AS "group", pu.name AS person, q.needed,
               (SELECT count(*) FROM approval_decisions x WHERE x.request_id = q.id
                  AND x.decision = 'approve') AS approvals,
               q.created_at AS requested_at
        FROM approval_requests q
        JOIN approval_rounds ro ON ro.id = q.round_id AND ro.status = 'open'
        JOIN releases r ON r.id = q.release_id AND r.status = 'open' AND r.state = ro.state
        LEFT JOIN groups g ON g.id = q.group_id
        LEFT JOIN users pu ON pu.id = q.user_id
        WHERE q.status = 'pending'
          AND (q.user_id = ?1 OR q.group_id IN (SELECT group_id FROM memberships WHERE user_id = ?1))
          AND NOT EXISTS (SELECT 1 FROM approval_decisions x WHERE x.request_id = q.id AND x.user_id = ?1)
        ORDER BY r.priority, q.created_at, q.id]], u.id)
end

---Raise what asking the rules would raise if release r entered state `to`
---now (e.g. not_allowed: the group a rule asks has no active members), so
---that relm.release.actions() does not offer a move that act() would then
---refuse. The round is opened for real, in a savepoint rolled back at once:
---the very checks that run when the release enters the state.
---@param r table
---@param wf table
---@param to string
function M.check_askable(r, wf, to)
    if r.status ~= "open" or not to or #approval_transitions(wf, to) == 0 then
        return
    end
    local view = {}
    for k, v in pairs(r) do
        view[k] = v
    end
    view.state = to
    local asks = M.asks(view, to)
    if #asks == 0 then
        return
    end
    local probe = {}
    local _, e = pcall(relm.tx, function()
        C.open(r.id, asks)
        error(probe, 0)
    end)
    if e ~= probe then
        error(e, 0)
    end
end

---Called by relm.release inside a transition's transaction before anything
---is written: a transition with `approval = true` is refused (not_allowed,
---saying who is still to approve, or who rejected) until the release's
---round in its current state is approved; any transition into a state
---where the rules cannot be asked (check_askable) is refused too.
---@param r table
---@param wf table
---@param tname string
function M.transition_gate(r, wf, tname)
    local t = wf.transitions[tname]
    if not t then
        return
    end
    if not t.approval then
        return M.check_askable(r, wf, t.to)
    end
    local round = round_of(r.id)
    if not round or round.state ~= r.state or round.status == "withdrawn" then
        relm.error("not_allowed",
            (i18n._("'%s' is not allowed on release %s: no approval has been asked in state '%s' ")
            .. i18n._("(relm.approval.request(%q) asks the rules now)")):format(tname, r.number, r.state, r.number))
    end
    if round.status == "open" then
        relm.error("not_allowed", (i18n._("'%s' is not allowed on release %s: waiting for approval by %s"))
            :format(tname, r.number, still_to_approve(round)))
    elseif round.status == "rejected" then
        relm.error("not_allowed", (i18n._("'%s' is not allowed on release %s: the approval was rejected by %s"))
            :format(tname, r.number, rejections(round)))
    end
    -- The approval point is where the rules count: the release (or the
    -- rules) may have changed since the round was opened. An approval
    -- given for other approvers than the rules ask now does not pass.
    local asks = M.asks(r, r.state)
    if ask_keys(asks) ~= ask_keys(round.requests) then
        local who = {}
        for _, a in ipairs(asks) do
            who[#who + 1] = ("%s '%s' (rule '%s')"):format(a.group and "group" or "person", a.group or a.user, a.rule)
        end
        relm.error("not_allowed",
            (i18n._("'%s' is not allowed on release %s: the rules now ask %s, not the approvers of ")
            .. i18n._("the round opened in '%s' (relm.approval.request(%q) asks them)")):format(tname, r.number,
            #who > 0 and table.concat(who, ", ") or "nobody", r.state, r.number))
    end
    M.check_askable(r, wf, t.to)
end

-- Open a round when r is open in a state some approval transition leaves.
local function enter(r, wf)
    if r.status == "open" and #approval_transitions(wf, r.state) > 0 then
        C.open(r.id, M.asks(r, r.state))
    end
end

---Called by relm.release after a release moved (same transaction): the
---round of the state it left is withdrawn if still open, and a new round
---is asked when the new state needs approval.
---@param before table
---@param after table
---@param wf table
function M.transition_done(before, after, wf)
    -- Suspending and reactivating keep the round and its decisions.
    local moved = before.state ~= after.state
    if moved or after.status == "closed" or after.status == "cancelled" then
        C.withdraw(after.id)
    end
    if moved or (before.status == "closed" and after.status == "open") then
        enter(after, wf)
    end
end

---Called by relm.release in register's transaction: a workflow whose first
---state needs approval asks for it at once.
---@param r table
---@param wf table
function M.registered(r, wf)
    enter(r, wf)
end

-- The round of r in its current state that is still in force (open or
-- approved), or nil.
local function round_in_force(r)
    local round = round_of(r.id)
    if round and round.state == r.state and (round.status == "open" or round.status == "approved") then
        return round
    end
    return nil
end

-- The engine's re-ask: when what the release touches changed (a CI or
-- change related or unrelated) while it waits at an approval point, the
-- rules are asked again; if they now ask for other approvers, a new round
-- replaces the old one (an approval given for the old scope does not cover
-- the new one). Returns whether a new round was opened.
local function engine_reask(id)
    local r = relm.release.get(id)
    if r.status ~= "open" then
        return false
    end
    local wf = relm.release.workflow(r.workflow)
    if #approval_transitions(wf, r.state) == 0 then
        return false
    end
    local round = round_in_force(r)
    if not round then
        return false
    end
    local asks = M.asks(r, r.state)
    if ask_keys(asks) == ask_keys(round.requests) then
        return false
    end
    C.open(r.id, asks)
    return true
end

-- The engine's side (its private state only: C.open exists only there).
-- The rules are the engine's own copy, so a script cannot swap them.
if C.open then
    M._engine = {
        decide = engine_decide,
        reask = engine_reask,
        request = function(id)
            local r = relm.release.get(id)
            return C.open(r.id, M.asks(r, r.state))
        end,
        configure = function(opts)
            M.configure(opts)
            return true
        end,
        load = function(path)
            return M.load(path)
        end,
    }
end

return M
