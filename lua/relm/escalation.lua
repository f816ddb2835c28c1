-- relm/escalation.lua: SLA escalation rules (docs/serve.md): rule files in
-- a directory, run in the sandbox by `relm serve` when a release's SLA
-- reaches a stage or a percentage; their effects go through the primitives.
local sandbox = require "relm.core.sandbox"
local source = require "relm.source"
local i18n = require "relm.i18n"

local M = {}

local RULE_KEYS = {
    name = "string", at = "string", percent = "number", model = "string", portfolio = "string",
    notify = "string", reassign = "string", raise_priority = true, call = "function", description = "string",
}
local LEVELS = { low = 1, medium = 2, high = 3 }
local LEVEL_NAMES = { "low", "medium", "high" }

-- The loaded rules, in file and declaration order; nil until load().
local rules
-- What load() read last (relm.reload.snapshot), for changed().
local loaded
-- Errors of the files that did not load: "file:line: message".
M.errors = {}

-- Where the rule file called from: "file:line".
local function caller(level)
    local info = debug.getinfo(level + 1, "Sl")
    if info and info.currentline and info.currentline > 0 then
        local src = info.source:sub(1, 1) == "@" and info.source:sub(2) or info.short_src
        return ("%s:%d"):format(src, info.currentline)
    end
    return "?"
end

local function message_of(err)
    if type(err) == "table" and err.message then
        return err.message
    end
    return tostring(err)
end

---The directory of escalation rule files: $RELM_ESCALATIONS_DIR, else
---relm.home/workflows/escalations.
---@return string
function M.dir()
    local env = os.getenv("RELM_ESCALATIONS_DIR")
    return (env ~= nil and env ~= "") and env or (relm.home .. "/workflows/escalations")
end

-- Check one rule{} table at the rule file's line; returns the rule.
local function check(spec, file)
    local at = caller(3)
    local function bad(fmt, ...)
        error(at .. ": " .. fmt:format(...), 0)
    end
    if type(spec) ~= "table" then
        bad(i18n._("write rule { name = \"...\", at = \"warning\" | \"breached\" | percent = N, ... }"))
    end
    for k, v in pairs(spec) do
        local want = RULE_KEYS[k]
        if want == nil then
            bad(i18n._("rule: unknown field '%s'"), tostring(k))
        elseif want ~= true and type(v) ~= want then
            bad(i18n._("rule: %s must be a %s, got %s"), k, want, type(v))
        end
    end
    if type(spec.name) ~= "string" or spec.name == "" then
        bad(i18n._("rule: name is required"))
    end
    if (spec.at == nil) == (spec.percent == nil) then
        bad(i18n._("rule '%s': give at = \"warning\" | \"breached\" or percent = N (one of them)"), spec.name)
    end
    if spec.at ~= nil and spec.at ~= "warning" and spec.at ~= "breached" then
        bad(i18n._("rule '%s': at must be \"warning\" or \"breached\", got '%s'"), spec.name, spec.at)
    end
    if spec.percent ~= nil and not (spec.percent > 0 and spec.percent <= 100) then
        bad(i18n._("rule '%s': percent must be above 0 and at most 100"), spec.name)
    end
    local rp = spec.raise_priority
    if rp ~= nil and rp ~= true and LEVELS[rp] == nil then
        bad(i18n._("rule '%s': raise_priority must be true (urgency one level up) or \"medium\" | \"high\""),
            spec.name)
    end
    if spec.notify == nil and spec.reassign == nil and rp == nil and spec.call == nil then
        bad(i18n._("rule '%s': does nothing (give notify=, reassign=, raise_priority= or call=)"), spec.name)
    end
    local r = {}
    for k, v in pairs(spec) do
        r[k] = v
    end
    r.source = at
    r.file = file
    return r
end

-- Run one rule file in the sandbox; returns its rules or raises
-- "file:line: message".
local function read_file(path)
    local code, ferr = source.read_file(path)
    if not code then
        error(path .. ": " .. tostring(ferr), 0)
    end
    local name = source.display_name(path)
    local env = sandbox.env()
    local out, sealed = {}, false
    rawset(env, "rule", function(spec)
        if sealed then
            error(caller(2) .. ": " .. i18n._("rule{} only while the file loads"), 0)
        end
        out[#out + 1] = check(spec, name)
    end)
    local ok, fn = pcall(sandbox.load, code, "@" .. name, env)
    if not ok then
        error(message_of(fn), 0)
    end
    local ran, err = pcall(sandbox.call, fn)
    sealed = true
    if not ran then
        local msg = message_of(err)
        if not msg:find(name, 1, true) then
            msg = name .. ": " .. msg
        end
        error(msg, 0)
    end
    return out
end

---(Re)load every *.lua file of the rules directory, in name order. A file
---that fails is left out and its error (file:line first) kept in
---M.errors; the others load. Returns the rules and the errors.
---@return table[] rules, string[] errors
function M.load()
    rules, M.errors = {}, {}
    local dir = M.dir()
    local files = {}
    for name, kind in source.entries(dir) do
        if (kind == "file" or kind == nil) and name:match("%.lua$") then
            files[#files + 1] = dir .. "/" .. name
        end
    end
    table.sort(files)
    -- What was read, for changed(): a file that fails counts as read until
    -- it is written again.
    loaded = require("relm.reload").snapshot(dir, files)
    local seen = {}
    for _, f in ipairs(files) do
        local ok, got = pcall(read_file, f)
        if ok then
            for _, r in ipairs(got) do
                if seen[r.name] then
                    M.errors[#M.errors + 1] = ("%s: " .. i18n._("rule '%s' is declared twice (first at %s)"))
                        :format(r.source, r.name, seen[r.name])
                else
                    seen[r.name] = r.source
                    rules[#rules + 1] = r
                end
            end
        else
            M.errors[#M.errors + 1] = message_of(got)
        end
    end
    return rules, M.errors
end

---Whether a rule file was written, added or removed since load() (by
---modification time, relm.reload.mtime, as serve checks workflows): serve
---loads the rules again after another process's commit when it was.
---@return boolean
function M.changed()
    return require("relm.reload").dir_changed(loaded)
end

---The rules loaded (loading them on first use).
---@return table[]
function M.rules()
    if not rules then
        M.load()
    end
    return rules
end

---The distinct percentages percent= rules name, ascending (the moments
---serve plans besides the warning and the breach).
---@return number[]
function M.percents()
    local set, out = {}, {}
    for _, r in ipairs(M.rules()) do
        if r.percent and r.percent < 100 and not set[r.percent] then
            set[r.percent] = true
            out[#out + 1] = r.percent
        end
    end
    table.sort(out)
    return out
end

-- The urgency one level (or to the level) up from current.
local function raised(current, how)
    local now = LEVELS[current] or 2
    local want = how == true and math.min(3, now + 1) or LEVELS[how]
    return want > now and LEVEL_NAMES[want] or nil
end

-- Apply a rule's effects (its own, then what call() returned) to release
-- r through the primitives, as the acting user (serve's).
local function apply(rule, r, effects)
    local note = i18n._("escalation rule '%s'"):format(rule.name)
    if effects.raise_priority ~= nil then
        local u = raised(r.urgency, effects.raise_priority)
        if u then
            relm.release.update(r.id, { urgency = u })
        end
    end
    if effects.reassign ~= nil then
        relm.release.act(r.id, "delegate", { to_group = effects.reassign, note = note })
    end
end

-- An error as "file:line: message": a call() that failed names its own
-- line already; an effect that was refused gets the rule's.
local function located(rule, msg)
    if msg:sub(1, #rule.file + 1) == rule.file .. ":" then
        return msg
    end
    return rule.source .. ": " .. msg
end

-- A copy of r's plain fields for call(): rules see values, not the engine.
local function view(r)
    local v = {}
    for k, x in pairs(r) do
        if type(x) ~= "function" and type(x) ~= "userdata" then
            v[k] = x
        end
    end
    return v
end

---Run, for release id in SLA cycle `cycle`, every rule whose moment lies
---in (from, to] percent of the allowance (warn: the release's warning
---percentage) and that has not run in this cycle; serve calls it after the
---stage is committed. Returns {rule=, stage=, ok=, error=, notify=} per
---rule that ran; an error is "file:line: message" and does not stop the
---others.
---@return table[]
function M._run(id, cycle, from, to, warn)
    local out = {}
    local r
    for _, rule in ipairs(M.rules()) do
        local at = rule.percent or (rule.at == "warning" and warn or 100)
        if at > from and at <= to
            and not relm.sql("SELECT 1 AS x FROM escalations WHERE release_id = ? AND cycle = ? AND rule = ?",
                id, cycle, rule.name)[1] then
            r = r or relm.release.get(id)
            if (rule.model == nil or rule.model == r.model) and (rule.portfolio == nil or rule.portfolio == r.portfolio)
            then
                local stage = rule.at or (("%g%%"):format(rule.percent))
                local ok, err = pcall(function()
                    local effects = { raise_priority = rule.raise_priority, reassign = rule.reassign,
                        notify = rule.notify }
                    if rule.call then
                        local cok, res = pcall(sandbox.call, rule.call, view(r))
                        if not cok then
                            error(message_of(res), 0)
                        end
                        if type(res) == "table" then
                            for _, k in ipairs({ "raise_priority", "reassign", "notify" }) do
                                if res[k] ~= nil then
                                    effects[k] = res[k]
                                end
                            end
                        end
                    end
                    relm.tx(function() apply(rule, r, effects) end)
                    return effects
                end)
                out[#out + 1] = {
                    rule = rule.name, stage = stage, ok = ok,
                    error = not ok and located(rule, message_of(err)) or nil,
                    notify = ok and type(err) == "table" and err.notify or nil,
                }
                r = nil -- the effects changed it
            end
        end
    end
    return out
end

---The escalations that ran, newest first: release, cycle, rule, stage, at,
---status (done, failed) and the error of a failed one.
---@param release_id? integer only this release's
---@return table[]
function M.fired(release_id)
    if release_id ~= nil and math.type(release_id) ~= "integer" then
        relm.error("invalid_argument", i18n._("relm.escalation.fired: argument #1 (release id) must be an integer"),
            2)
    end
    local rows = relm.sql("SELECT release_id, cycle, rule, stage, at, status, error FROM escalations "
        .. "WHERE ?1 IS NULL OR release_id = ?1 ORDER BY id DESC", release_id)
    return setmetatable(rows, { __name = "relm.rows",
        columns = { "release_id", "cycle", "rule", "stage", "at", "status", "error" } })
end

return M
