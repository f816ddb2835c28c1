-- relm/hooks.lua: hook files: `relm.on(event, fn)` in the *.lua files of
-- the hooks directory (the hooks_dir setting), sandboxed like rule files;
-- `relm serve` runs them after commit, from the outbox (core/loop/hooks.c).
local sandbox = require "relm.core.sandbox"
local source = require "relm.source"
local i18n = require "relm.i18n"
local J = require "relm.json"
local template = require "relm.template"

local M = {}

-- What a hook may reach of relm: read the release and its surroundings, and
-- call the primitives (as serve's user: the C core checks them). Not
-- relm.notify (settings, subscriptions) nor relm.tx: each primitive is its
-- own transaction.
local REACH = {
    release = true, activity = true, approval = true, related = true, search = true,
    cmdb = true, justification = true, sql = true, error = true, i18n = true,
}

local hooks = {}  -- "file.lua:LINE" -> {pattern=, match=, fn=}
local logs = nil  -- the lines relm.log gives while a hook runs
local loaded = nil -- what reload read last (relm.reload.snapshot), for changed()

-- An event pattern as a Lua pattern: `*` is any run of characters, the rest
-- literal (the GLOB subscriptions use).
local function glob(pattern)
    return "^" .. pattern:gsub("[%^%$%(%)%%%.%[%]%+%-%?]", "%%%0"):gsub("%*", ".*") .. "$"
end

-- Where the hook file called us from: "file:line".
local function caller(level)
    local info = debug.getinfo(level + 1, "Sl")
    local src = info and (info.source:sub(1, 1) == "@" and info.source:sub(2) or info.short_src) or "?"
    return ("%s:%d"):format(src, info and info.currentline or 0)
end

local function message_of(err)
    if type(err) == "table" and err.message then
        return err.message
    end
    return tostring(err)
end

-- The `relm` a hook file sees: on and log, and the reachable modules.
local function hook_relm(into)
    local r = {}
    ---Run fn(event) for every event whose name matches pattern (a name, or
    ---`*` for any run of characters: "release.*", "sla.breached").
    function r.on(pattern, fn)
        local at = caller(2)
        if type(pattern) ~= "string" or not pattern:match("^[%w_%.%-%*]+$") then
            error(at .. ": " .. i18n._("relm.on: argument #1 must be an event name or pattern "
                .. "(letters, digits, . _ - and *), e.g. \"release.*\""), 0)
        end
        if type(fn) ~= "function" then
            error(at .. ": " .. i18n._("relm.on: argument #2 must be a function(event)"), 0)
        end
        if into[at] then
            error(at .. ": " .. i18n._("relm.on: one hook per line"), 0)
        end
        into[at] = { pattern = pattern, match = glob(pattern), fn = fn }
    end
    ---Write a line to serve's log (msg hook.log) naming the hook.
    function r.log(...)
        if logs then
            local parts = {}
            for i = 1, select("#", ...) do
                parts[i] = tostring((select(i, ...)))
            end
            logs[#logs + 1] = table.concat(parts, " "):gsub("\n", " ")
        end
    end
    return setmetatable(r, {
        __index = function(_, k)
            if REACH[k] then
                return relm[k]
            end
            error(i18n._("relm.%s is not available to hooks"):format(tostring(k)), 2)
        end,
        __newindex = function()
            error(i18n._("hooks cannot change relm"), 2)
        end,
    })
end

-- Run one hook file in the sandbox, adding its hooks to into; raises
-- invalid_hook with file:line.
local function read_file(path, into)
    local code, ferr = source.read_file(path)
    if not code then
        relm.error("not_found", i18n._("cannot read the hook file: %s"):format(tostring(ferr)), 0)
    end
    -- Known by the file's name within the hooks directory ("escalate.lua"),
    -- so hook runs keep their hook when the directory moves.
    local name = path:match("[^/]+$")
    local env = sandbox.env()
    rawset(env, "relm", hook_relm(into))
    local ok, fn = pcall(sandbox.load, code, "@" .. name, env)
    if not ok then
        relm.error("invalid_hook", message_of(fn), 0)
    end
    local ran, err = pcall(sandbox.call, fn)
    if not ran then
        local msg = message_of(err)
        if not msg:find(name, 1, true) then
            msg = name .. ": " .. msg
        end
        relm.error("invalid_hook", msg, 0)
    end
end

---Forget the hooks and load every *.lua file of dir in name order (nil or
---"" for none). Returns how many hooks (relm.on calls) they declare. On an
---error nothing changes and it raises invalid_hook with file:line.
---@param dir string?
---@return integer
function M.reload(dir)
    if dir ~= nil and type(dir) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.hooks.reload: argument #1 (dir) must be a string or nil"), 2)
    end
    local files = {}
    if dir and dir ~= "" then
        local seen = false
        for name, kind in source.entries(dir) do
            seen = true
            if (kind == "file" or kind == nil) and name:match("%.lua$") then
                files[#files + 1] = dir .. "/" .. name
            end
        end
        if not seen and not io.open(dir .. "/.") then
            relm.error("not_found", i18n._("hooks_dir: cannot read the directory %s"):format(dir), 0)
        end
    end
    table.sort(files)
    -- What was read is remembered before reading, so a file that fails is
    -- tried again when it is written again, not at every commit.
    loaded = require("relm.reload").snapshot(dir, files)
    local fresh = {}
    for _, f in ipairs(files) do
        read_file(f, fresh)
    end
    hooks = fresh
    local n = 0
    for _ in pairs(hooks) do
        n = n + 1
    end
    return n
end

---Whether a hook file of the directory last given to reload was written,
---added or removed since (by modification time, relm.reload.mtime: what
---serve checks for workflows and rules after another process commits).
---A file that failed to load counts as read until it is written again.
---@return boolean
function M.changed()
    return require("relm.reload").dir_changed(loaded)
end

---The hooks ("file.lua:LINE") whose pattern matches event, in name order.
---@param event string
---@return string[]
function M.match(event)
    local out = {}
    for key, h in pairs(hooks) do
        if event:match(h.match) then
            out[#out + 1] = key
        end
    end
    table.sort(out)
    return out
end

-- The mails of template t for the event, as a run's outcome: true, logs,
-- mails; or false, reason, logs, permanent. which names it in reasons.
local function template_run(which, t, event)
    -- Under the sandbox's limits: a template is data, but a huge one should
    -- not hold serve.
    local ok, mails, missing = pcall(sandbox.call, template.mails, t, event)
    if not ok then
        return false, "email." .. which .. ": " .. message_of(mails), {}, true
    end
    if #mails == 0 then
        -- Dead at once: trying again finds the same addresses; an admin who
        -- adds one replays it.
        return false, i18n._("email.%s: no recipient has an address (%s)"):format(which,
            table.concat(missing, "; ")), {}, true
    end
    local logs_out = {}
    for _, why in ipairs(missing) do
        logs_out[#logs_out + 1] = i18n._("email.%s: skipped %s"):format(which, why)
    end
    return true, logs_out, mails
end

-- Render the release model's template `which` (creation, actions,
-- closure) for the event: true, logs, mails; or false, reason, logs,
-- permanent.
local function run_template(which, event)
    local m = relm.sql([[SELECT m.templates ->> ('$.' || ?1) AS t, json_type(m.templates, '$.' || ?1) AS kind
        FROM releases r JOIN models m ON m.id = r.model_id WHERE r.id = ?2]], which, event.release.id)[1]
    if not m or not m.t then
        return false, i18n._("the model has no %s template any more"):format(which), {}, true
    end
    return template_run(which, m.kind == "object" and J.decode(m.t) or m.t, event)
end

-- The mail an escalation rule's notify = "group" sends (the sla.escalated
-- event): to the group through its address or its members' (as a template
-- addressed "group:NAME"), naming the rule and the stage.
local function run_escalation(event)
    local o = relm.sql([[SELECT o.note FROM outbox x JOIN occurrences o ON o.id = x.occurrence_id
        WHERE x.id = ?]], event.id)[1]
    -- core/sla.c writes the note: "SLA escalation rule 'R' (STAGE): notify group G"
    local rule, stage, group = (o and o.note or ""):match("^SLA escalation rule '(.-)' %((.-)%): notify group (.+)$")
    if not group then
        return false, i18n._("the escalation event names no group to notify"), {}, true
    end
    local function plain(v)
        return (v:gsub("[{}]", ""))
    end
    return template_run("escalation", {
        to = { "group:" .. group },
        subject = i18n._("[relm] SLA escalation {{number}} {{title}}"),
        body = i18n._("Release {{number}} ({{title}}) reached the SLA stage %s at {{at}}: escalation rule '%s' "
            .. "notifies group %s.\nState: {{state}}; time limit: {{deadline}}; requester: {{requester}}.\n")
            :format(plain(stage), plain(rule), plain(group)),
    }, event)
end

---Run hook key on the event (body: the JSON a webhook receives): true, the
---lines it logged and (for a template key, "template:creation") the mails
---to send; or false, why it failed (naming the hook's file:line), the lines
---it logged before that, and whether trying again cannot help.
---@param key string
---@param body string
---@return boolean ok
---@return string[]|string logs_or_reason
---@return table[]|string[]? mails_or_logs
---@return boolean? permanent
function M.run(key, body)
    local which = key:match("^template:(%a+)$")
    if which then
        return run_template(which, J.decode(body))
    elseif key == "escalation:notify" then
        return run_escalation(J.decode(body))
    end
    local h = hooks[key]
    if not h then
        return false, i18n._("hook %s is no longer declared (the hook files changed since the event)"):format(key), {}
    end
    logs = {}
    local ok, err = pcall(sandbox.call, h.fn, J.decode(body))
    local out = logs
    logs = nil
    if ok then
        return true, out, {}
    end
    local msg = message_of(err)
    if not msg:find("%.lua:%d+") then
        msg = key .. ": " .. msg
    end
    return false, msg, out
end

return M
