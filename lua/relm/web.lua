-- relm/web.lua: the web release desktop of `relm serve --listen`: pages
-- rendered as the request's user by calling the same Lua API as the REPL.
-- Routes join relm.http's table (page = true: not in the OpenAPI document).
local i18n = require "relm.i18n"
local H = require "relm.web_html"

local M = {}

local esc = H.esc

local HTML = { ["Content-Type"] = "text/html; charset=utf-8", ["Cache-Control"] = "no-store" }

-- ---- requests -------------------------------------------------------------

-- 303 to location (after a write, so reloading does not repeat it).
local function redirect(location, extra)
    local h = { Location = location, ["Cache-Control"] = "no-store" }
    for k, v in pairs(extra or {}) do
        h[k] = v
    end
    return 303, "", h
end

-- The fields of an urlencoded form body.
local function form(req)
    return require("relm.http").parse_query(req.body or "")
end

-- A relm error as a page: its code, message and the HTTP status the API
-- gives the same code.
local function error_page(req, e)
    local code = type(e) == "table" and e.code or "internal"
    local msg = type(e) == "table" and tostring(e.message or e.code) or i18n._("the request failed inside relm")
    if type(e) ~= "table" then
        io.stderr:write("relm: web: ", tostring(e), "\n")
    end
    local status = type(e) == "table" and (e.http_status or require("relm.http").status_of[code]) or 500
    return status or 400, H.page(req, i18n._("Refused"),
        ('<p class="refusal" role="alert"><code>%s</code> %s</p><p><a href="/">%s</a></p>'):format(esc(code),
            esc(msg), esc(i18n._("Back to the queue")))), HTML
end

-- Wrap a page handler: no session -> the login page; a write without
-- the session's CSRF token -> 403, nothing run; a relm error -> its page.
local function page(fn)
    return function(req, params, query)
        if req.user == nil then
            if req.method ~= "GET" then
                return 401, H.page(req, i18n._("Log in"), esc(i18n._("Your session has ended: log in again."))), HTML
            end
            return redirect("/login?" .. H.query({ next = req.path }))
        end
        local f
        if req.method ~= "GET" and req.method ~= "HEAD" then
            f = form(req)
            if not req.csrf_ok and (req.csrf_token == nil or f.csrf ~= req.csrf_token) then
                return 403, H.page(req, i18n._("Refused"), ('<p class="refusal" role="alert"><code>csrf</code> %s</p>')
                    :format(esc(i18n._("this form is not from your session: reload the page and try again")))), HTML
            end
        end
        local ok, status, body, headers = pcall(fn, req, params, query, f)
        if not ok then
            return error_page(req, status)
        end
        return status, body, headers or HTML
    end
end

-- {{key, label}, ...} with each label translated now.
local function translated(columns)
    local out = {}
    for i, c in ipairs(columns) do
        out[i] = { c[1], i18n._(c[2]) }
    end
    return out
end

local function id_of(s)
    return math.tointeger(tonumber(s:match("^%d+$") or "")) or s
end

-- Text, or nil when blank.
local function given(v)
    if v == nil or v:match("^%s*$") then
        return nil
    end
    return v
end

-- ---- login ------------------------------------------------------------------

local function login_page(req, message, status, user)
    local body = ([[<form method="post" action="/login" class="card narrow">
<input type="hidden" name="next" value="%s">%s%s%s<button type="submit">%s</button></form>]]):format(
        esc(req.next or "/"),
        message and ('<p class="refusal" role="alert">' .. esc(message) .. "</p>") or "",
        H.field("user", i18n._("User name"), { required = true, value = user, autocomplete = "username" }),
        H.field("password", i18n._("Password"), { kind = "password", required = true,
            autocomplete = "current-password" }),
        esc(i18n._("Log in")))
    return status or 200, H.page({}, i18n._("Log in"), body), HTML
end

-- Only a path on this site is a place to go after logging in.
local function local_path(p)
    if type(p) == "string" and p:match("^/[%w/_%-%.]*$") and not p:match("^//") then
        return p
    end
    return "/"
end

local function login_get(req, _, q)
    req.next = local_path(q.next)
    return login_page(req)
end

local function login_post(req)
    local f = form(req)
    req.next = local_path(f.next)
    local ok, token, _, ttl = pcall(require("relm.core.http").login, f.user or "", f.password or "")
    if not ok then
        local e = token
        local status = type(e) == "table" and require("relm.http").status_of[e.code] or 401
        return login_page(req, type(e) == "table" and tostring(e.message) or tostring(e), status, f.user)
    end
    return redirect(req.next, {
        ["Set-Cookie"] = ("relm_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d"):format(token, ttl) })
end

-- Logging out ends the session on the server (the cookie is revoked, so a
-- copy of it is worthless), then clears it in the browser.
local function logout_post()
    require("relm.core.http").logout()
    return redirect("/login", { ["Set-Cookie"] = "relm_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" })
end

-- ---- the queue ----------------------------------------------------------------

-- Column labels are marked here and translated where a page is drawn: a
-- page is in its reader's language, not the one the module was loaded in.
local QUEUE = {
    { "number", i18n.N_("Number") }, { "requester", i18n.N_("Requester") }, { "created", i18n.N_("Created") },
    { "priority", i18n.N_("Priority") }, { "time_limit", i18n.N_("Time limit") }, { "delay", i18n.N_("Delay") },
    { "situation", i18n.N_("Situation") }, { "task", i18n.N_("Current task") }, { "group", i18n.N_("Group") },
    { "responsible", i18n.N_("Responsible") }, { "shared_with", i18n.N_("Shared with") },
    { "sla_stage", i18n.N_("SLA stage") }, { "conflicts", i18n.N_("Conflicts") },
}

-- "2h05" for a delay in seconds ("" when on time).
local function delay(s)
    s = tonumber(s) or 0
    if s <= 0 then
        return ""
    elseif s < 3600 then
        return ("%dm"):format(s // 60)
    elseif s < 86400 then
        return ("%dh%02d"):format(s // 3600, s % 3600 // 60)
    end
    return ("%dd%02dh"):format(s // 86400, s % 86400 // 3600)
end

-- An SLA stage as a person reads it (the raw value stays in the class and
-- data attributes for scripts and styles).
local STAGE = { in_progress = i18n.N_("in progress"), warning = i18n.N_("warning"), breached = i18n.N_("breached") }
local function stage_word(stage)
    local word = STAGE[stage or "in_progress"]
    return word and i18n._(word) or tostring(stage)
end

local function queue_cell(r, k, task)
    if k == "task" then
        return esc(task)
    elseif k == "number" then
        return ('<a href="/releases/%d">%s</a><span class="sub">%s</span>'):format(r.release_id, esc(r.number),
            esc(r.title))
    elseif k == "delay" then
        return esc(delay(r.delay))
    elseif k == "situation" then
        return ('<span class="sit %s">%s</span>'):format(r.situation == "late" and "late" or "",
            esc(r.situation and i18n._(r.situation) or ""))
    elseif k == "sla_stage" then
        return r.sla_stage and ('<span class="sla %s">%s</span>'):format(esc(r.sla_stage), esc(stage_word(r.sla_stage)))
            or ""
    elseif k == "conflicts" then
        local n = tonumber(r.conflicts) or 0
        return n > 0 and ('<span class="sit late" data-conflicts="%d">%d</span>'):format(n, n) or ""
    end
    return esc(r[k])
end

local function queue_filters(q)
    local f = {}
    for _, k in ipairs({ "number", "group", "kind" }) do
        f[k] = given(q[k])
    end
    f.assigned = q.assigned == "1" or nil
    f.shared = q.shared == "1" or nil
    return f
end

local function checkbox(name, label, on)
    return ('<div class="field check"><input type="checkbox" id="f-%s" name="%s" value="1"%s>'
        .. '<label for="f-%s">%s</label></div>'):format(name, name, on and " checked" or "", name, esc(label))
end

local function queue(req, _, q)
    local f = queue_filters(q)
    local items = relm.desktop.list(f)
    local c = relm.desktop.counts(f)
    local groups = {}
    for g, n in pairs(c.group) do
        groups[#groups + 1] = { g, n }
    end
    table.sort(groups, function(a, b) return a[2] > b[2] or (a[2] == b[2] and a[1] < b[1]) end)
    local prio = {}
    for p = 1, 5 do
        prio[p] = { "P" .. p, c.priority[p] or 0 }
    end
    local filters = ([[<form method="get" action="/" class="filters" role="search" aria-label="%s">%s%s%s%s%s
<button type="submit">%s</button></form>]]):format(esc(i18n._("Filter the queue")),
        H.field("number", i18n._("Number"), { value = q.number }),
        H.field("group", i18n._("Group"), { value = q.group }),
        H.field("kind", i18n._("Kind"), { kind = "select", value = q.kind or "", options = {
            { "", i18n._("everything") }, { "release", i18n._("releases") }, { "activity", i18n._("activities") },
            { "approval", i18n._("approvals") } } }),
        checkbox("assigned", i18n._("assigned to me"), f.assigned), checkbox("shared", i18n._("shared with me"),
            f.shared),
        esc(i18n._("Filter")))
    local charts = '<section class="charts" aria-label="' .. esc(i18n._("Counts")) .. '" data-live>'
        .. H.chart(i18n._("By situation"), { { i18n._("in execution"), c.situation["in execution"] or 0 },
            { i18n._("suspended"), c.situation.suspended or 0 }, { i18n._("late"), c.situation.late or 0 } })
        .. H.chart(i18n._("By priority"), prio) .. H.chart(i18n._("By group"), groups) .. "</section>"
    local tasks = {}
    for i, label in ipairs(relm.desktop.task_labels(items)) do
        tasks[items[i]] = label
    end
    local tbl = H.table(i18n.n_("%d item waiting", "%d items waiting", c.total):format(c.total), translated(QUEUE),
        items, function(r, k)
            return queue_cell(r, k, tasks[r])
        end, function(r)
            return (' data-release="%d" data-kind="%s"'):format(r.release_id, esc(r.kind))
        end)
    return 200, H.page(req, i18n._("Release desktop"),
        filters .. charts .. '<section id="queue" data-live data-watch="all">' .. tbl .. "</section>")
end

-- ---- registering ---------------------------------------------------------------

local function options_of(rows, key)
    local out = {}
    for i, r in ipairs(rows) do
        local v = type(r) == "table" and r[key] or r
        out[i] = { v, v }
    end
    return out
end

local LEVELS = { { "low", i18n.N_("low") }, { "medium", i18n.N_("medium") }, { "high", i18n.N_("high") } }

local function register_get(req)
    local groups = relm.sql("SELECT name FROM groups ORDER BY name")
    local body = ([[<form method="post" action="/releases" class="card">%s%s%s%s%s%s%s
<button type="submit">%s</button></form>]]):format(H.csrf(req),
        H.field("title", i18n._("Title"), { required = true }),
        H.field("workflow", i18n._("Workflow"), { kind = "select", value = "standard",
            options = options_of(relm.workflow.list()) }),
        H.field("executor_group", i18n._("Executor group"), { kind = "select", options = options_of(groups, "name") }),
        H.field("impact", i18n._("Impact"), { kind = "select", value = "medium", options = translated(LEVELS) }),
        H.field("urgency", i18n._("Urgency"), { kind = "select", value = "medium", options = translated(LEVELS) }),
        H.field("description", i18n._("Description"), { kind = "textarea" }),
        esc(i18n._("Register")))
    return 200, H.page(req, i18n._("Register a release"), body)
end

local function register_post(_, _, _, f)
    local spec = {}
    for _, k in ipairs({ "title", "workflow", "executor_group", "impact", "urgency", "description" }) do
        spec[k] = given(f[k])
    end
    local r = relm.release.register(spec)
    return redirect("/releases/" .. r.id)
end

-- ---- the release page -----------------------------------------------------------

local FIELDS = { "number", "title", "workflow", "state", "status", "phase", "priority", "impact", "urgency",
    "requester", "executor_group", "current_group", "responsible", "shared_with", "created_at", "deadline",
    "release_date", "solution_category", "closure_text", "reopen_count", "description" }

-- The release's fields as a person reads them: names in words, the
-- state as its workflow labels it, statuses, phases and levels
-- translated. The identifiers stay in data-value for scripts and styles.
local FIELD_LABELS = {
    number = i18n.N_("Number"), title = i18n.N_("Title"), workflow = i18n.N_("Workflow"), state = i18n.N_("State"),
    status = i18n.N_("Status"), phase = i18n.N_("Phase"), priority = i18n.N_("Priority"), impact = i18n.N_("Impact"),
    urgency = i18n.N_("Urgency"), requester = i18n.N_("Requester"), executor_group = i18n.N_("Executor group"),
    current_group = i18n.N_("Current group"), responsible = i18n.N_("Responsible"),
    shared_with = i18n.N_("Shared with"), created_at = i18n.N_("Created"), deadline = i18n.N_("Deadline"),
    release_date = i18n.N_("Release date"), solution_category = i18n.N_("Solution category"),
    closure_text = i18n.N_("Closure text"), reopen_count = i18n.N_("Times reopened"),
    description = i18n.N_("Description"),
}
local VALUE_WORDS = {
    status = { open = i18n.N_("open"), suspended = i18n.N_("suspended"), closed = i18n.N_("closed"),
        cancelled = i18n.N_("cancelled") },
    phase = { registration = i18n.N_("registration"), planning = i18n.N_("planning"),
        deployment = i18n.N_("deployment"), closure = i18n.N_("closure") },
    impact = { low = i18n.N_("low"), medium = i18n.N_("medium"), high = i18n.N_("high") },
}
VALUE_WORDS.urgency = VALUE_WORDS.impact

local function field_value(r, k, v)
    if k == "state" then
        return relm.workflow.state_label(r.workflow, v)
    elseif k == "workflow" then
        local ok, wf = pcall(relm.release.workflow, v)
        return ok and i18n.label(wf.labels) or v
    elseif VALUE_WORDS[k] and VALUE_WORDS[k][v] then
        return i18n._(VALUE_WORDS[k][v])
    elseif (k == "created_at" or k == "deadline" or k == "release_date") and type(v) == "string" then
        return i18n.datetime(v)
    end
    return v
end

local function fields_html(r)
    local out = { '<dl class="fields">' }
    local seen = {}
    for _, k in ipairs(FIELDS) do
        seen[k] = true
        local v = r[k]
        if v ~= nil and v ~= "" and not (type(v) == "table" and next(v) == nil) then
            out[#out + 1] = ('<div data-field="%s"><dt>%s</dt><dd data-value="%s">%s</dd></div>'):format(esc(k),
                esc(FIELD_LABELS[k] and i18n._(FIELD_LABELS[k]) or k:gsub("_", " ")), esc(v), esc(field_value(r, k, v)))
        end
    end
    for k, v in pairs(r.extra or {}) do
        if not seen[k] and type(v) ~= "table" then
            out[#out + 1] = ("<div><dt>%s</dt><dd>%s</dd></div>"):format(esc(k:gsub("_", " ")), esc(v))
        end
    end
    out[#out + 1] = "</dl>"
    return table.concat(out)
end

-- Primitives that take a justification, and which use of one (the
-- justification's suspend, cancel or reopen flag) they need.
local NEEDS_JUSTIFICATION = { suspend = "suspend", cancel = "cancel", reopen = "reopen" }
-- Primitives that take a target (a group or a person) and a note.
local NEEDS_TARGET = { delegate = true, share = true }

-- The justifications usable now for an action: {{id, description}, ...}.
local function justifications_for(name)
    local use = NEEDS_JUSTIFICATION[name]
    local out = {}
    for _, j in ipairs(relm.justification.list()) do
        if j.active ~= false and j[use] == true then
            out[#out + 1] = { j.id, j.description }
        end
    end
    return out
end

-- The inputs an action asks for, each required when the action cannot go
-- without it: the fields its dry run says are missing, a justification
-- (chosen among those usable for it), a group or a person to hand the
-- release to, and a note (required where the core requires one).
local function action_inputs(name, dry, values)
    local out = {}
    local id = function(k) return "a-" .. name .. "-" .. k end
    local seen = { note = true }
    for _, k in ipairs(dry.missing or {}) do
        if not seen[k] then
            seen[k] = true
            out[#out + 1] = H.field(k, FIELD_LABELS[k] and i18n._(FIELD_LABELS[k]) or k:gsub("_", " "),
                { id = id(k), value = values[k], required = true })
        end
    end
    if NEEDS_JUSTIFICATION[name] then
        local opts = { { "", i18n._("(choose)") } }
        for _, j in ipairs(justifications_for(name)) do
            opts[#opts + 1] = j
        end
        out[#out + 1] = H.field("justification", i18n._("Justification"), { kind = "select", id = id("justification"),
            options = opts, value = values.justification, required = true })
    end
    if NEEDS_TARGET[name] then
        local groups = { { "", i18n._("(nobody)") } }
        for _, g in ipairs(relm.sql("SELECT name FROM groups ORDER BY name")) do
            groups[#groups + 1] = { g.name, g.name }
        end
        local users = { { "", i18n._("(nobody)") } }
        for _, u in ipairs(relm.sql("SELECT name, full_name FROM users WHERE active = 1 ORDER BY name")) do
            users[#users + 1] = { u.name, u.full_name and u.full_name ~= "" and
                ("%s (%s)"):format(u.full_name, u.name) or u.name }
        end
        out[#out + 1] = ('<p class="hint">%s</p>'):format(esc(name == "delegate"
            and i18n._("Hand the release to a group, a person, or a person of a group.")
            or i18n._("Share the release with a group or with a person.")))
        out[#out + 1] = H.field("to_group", i18n._("To group"), { kind = "select", id = id("to_group"),
            options = groups, value = values.to_group })
        out[#out + 1] = H.field("to_user", i18n._("To user"), { kind = "select", id = id("to_user"),
            options = users, value = values.to_user })
    end
    out[#out + 1] = H.field("note", NEEDS_TARGET[name] and i18n._("Note (why)") or i18n._("Note"),
        { kind = "textarea", id = id("note"), value = values.note, required = NEEDS_TARGET[name] })
    return table.concat(out)
end

-- What the form gave, as act's opts (numbers for a justification id).
local function act_opts(f)
    local opts = {}
    for k, v in pairs(f) do
        if k ~= "csrf" and k ~= "try" and given(v) then
            opts[k] = v
        end
    end
    if opts.justification then
        opts.justification = math.tointeger(tonumber(opts.justification)) or opts.justification
    end
    return opts
end

-- When a dry run was refused only for an input the form asks for (a
-- justification, a target, a note, required fields), what to ask the
-- person, in words; nil for a real refusal (permission, a workflow rule,
-- a freeze window, an approval pending...).
local function input_refusal(dry, values)
    local msg = tostring(dry.reason or dry.message or "")
    if dry.code == "justification_required" and not given(values.justification) then
        return i18n._("Choose a justification.")
    elseif i18n.match(msg, "%s needs to_group or to_user") then
        return i18n._("Choose a group or a person.")
    elseif i18n.match(msg, "%s needs a note (opts.note) saying why") then
        return i18n._("Write a note saying why.")
    elseif dry.missing and #dry.missing > 0 then
        local names = {}
        for i, k in ipairs(dry.missing) do
            names[i] = FIELD_LABELS[k] and i18n._(FIELD_LABELS[k]) or k:gsub("_", " ")
        end
        return i18n._("Fill in: %s"):format(table.concat(names, ", "))
    end
    return nil
end

-- A real refusal in words for people: the core's reason, but for a
-- missing permission (whose reason tells an administrator which Lua call
-- grants it) a sentence naming the permission.
local function refusal_words(dry)
    if dry.code == "permission_denied" or (type(dry.permission) == "table" and dry.permission.granted == false) then
        local perm = type(dry.permission) == "table" and dry.permission.name or "?"
        return i18n._("none of your groups holds the '%s' permission on this workflow; an administrator can grant it.")
            :format(perm)
    end
    return tostring(dry.reason or dry.message or dry.code)
end

-- The dry run of action name as the page is drawn: with stand-ins for
-- the inputs the form asks for (the first usable justification, the
-- release's own group and a note), so that what shows is only a refusal
-- the person cannot fix by filling the form. Nothing is written.
local function probe(r, name)
    local opts = { dry_run = true }
    if NEEDS_JUSTIFICATION[name] then
        local j = justifications_for(name)[1]
        opts.justification = j and j[1]
    end
    if NEEDS_TARGET[name] then
        opts.to_group = r.current_group or r.executor_group
        opts.note = "-"
    end
    local ok, d = pcall(relm.release.act, r.id, name, opts)
    if not ok then
        return { allowed = false, code = type(d) == "table" and d.code, reason = type(d) == "table" and d.message
            or tostring(d) }
    end
    if d.allowed == false and NEEDS_JUSTIFICATION[name] and opts.justification == nil then
        d.reason = i18n._("No justification is usable for this action yet: an administrator has to add one.")
        d.code = "no_justification"
    end
    return d
end

-- One form per action the user may take now, each asking for what the
-- action needs; a refusal shows only when filling the form would not
-- help (probe). tried = {name=, report=, values=} when a form was just
-- submitted: its report (the real dry run of what was sent) is shown.
local function actions_html(req, r, tried)
    local names = relm.release.actions(r.id)
    local out = {}
    if tried and tried.report and not tried.listed then
        local seen = false
        for _, n in ipairs(names) do
            seen = seen or n == tried.name
        end
        if not seen then
            names[#names + 1] = tried.name
        end
    end
    for _, name in ipairs(names) do
        local values, dry
        local just_sent = tried and tried.name == name
        if just_sent then
            values, dry = tried.values, tried.report
        else
            values, dry = {}, probe(r, name)
        end
        local reason = ""
        if dry.allowed == false then
            local ask = input_refusal(dry, values)
            local text
            if ask then
                text = just_sent and ask or nil
            else
                text = i18n._("Not possible now: ") .. refusal_words(dry)
            end
            if text then
                -- Only the form just sent is announced; the others' reasons are read in place.
                reason = ('<p class="refusal"%s id="why-%s">%s</p>'):format(just_sent and ' role="alert"' or "",
                    esc(name), esc(text))
            end
        elseif just_sent and dry.allowed then
            reason = ('<p class="ok" role="status">%s</p>'):format(
                esc(i18n._("The dry run passes: nothing was written.")))
        end
        out[#out + 1] = ([[<form method="post" action="/releases/%d/act/%s" class="action card" data-action="%s">
<h3>%s</h3>%s%s%s<div class="buttons"><button type="submit">%s</button>
<button type="submit" name="try" value="1" class="secondary" formnovalidate>%s</button></div></form>]]):format(
            r.id, esc(name), esc(name), esc(relm.workflow.action_label(r.workflow, name)), reason, H.csrf(req),
            action_inputs(name, dry, values), esc(i18n._("Do it")), esc(i18n._("Try (dry run)")))
    end
    if #out == 0 then
        return "<p>" .. esc(i18n._("No action is open to you now.")) .. "</p>"
    end
    return '<div class="actions">' .. table.concat(out) .. "</div>"
end

local COLUMNS = { todo = i18n.N_("To do"), in_progress = i18n.N_("In progress"), done = i18n.N_("Done"),
    cancelled = i18n.N_("Cancelled") }
local NEXT = { todo = "in_progress", in_progress = "done" }
local function column_label(col)
    return COLUMNS[col] and i18n._(COLUMNS[col]) or col
end

local function board_html(req, r)
    local acts = relm.activity.list(r.id)
    local out = { '<div class="board">' }
    for _, col in ipairs(relm.activity.columns) do
        out[#out + 1] = ('<section class="column" aria-label="%s"><h3>%s</h3><ul>'):format(esc(column_label(col)),
            esc(column_label(col)))
        for _, a in ipairs(acts) do
            if a.status == col then
                local move = ""
                if NEXT[col] and r.status ~= "closed" then
                    move = ([[<form method="post" action="/releases/%d/activities/%d/move">%s
<input type="hidden" name="to" value="%s"><button type="submit" class="small">%s</button></form>]]):format(r.id, a.id,
                        H.csrf(req), NEXT[col], esc(i18n._("Move to ") .. column_label(NEXT[col])))
                end
                out[#out + 1] = ('<li class="cardlet"><strong>#%d %s</strong><span class="sub">%s · %s</span>%s</li>')
                    :format(a.id, esc(a.title), esc(a.phase and i18n._(a.phase) or ""),
                        esc(a.group or a.owner or ""), move)
            end
        end
        out[#out + 1] = "</ul></section>"
    end
    out[#out + 1] = "</div>"
    local groups = relm.sql("SELECT name FROM groups ORDER BY name")
    table.insert(groups, 1, { name = "" })
    out[#out + 1] = ([[<form method="post" action="/releases/%d/activities" class="card inline">%s%s%s%s
<button type="submit">%s</button></form>]]):format(r.id, H.csrf(req),
        H.field("phase", i18n._("Phase"), { kind = "select", options = { { "planning", i18n._("planning") },
            { "deployment", i18n._("deployment") } } }),
        H.field("title", i18n._("Activity"), { id = "f-activity-title", required = true }),
        H.field("group", i18n._("Owner group"), { kind = "select", id = "f-activity-group",
            options = options_of(groups, "name") }),
        esc(i18n._("Add activity")))
    return table.concat(out)
end

local function related_html(req, r)
    local rel = relm.release.related(r.id)
    local out = { H.table(i18n._("Related items"), { { "kind", i18n._("Kind") }, { "target", i18n._("Item") },
        { "title", i18n._("What") }, { "status", i18n._("Status") } }, rel) }
    local kinds = {}
    for i, k in ipairs(require("relm.related").kinds) do
        kinds[i] = { k, k:gsub("_", " ") }
    end
    out[#out + 1] = ([[<form method="post" action="/releases/%d/related" class="card inline">%s%s%s
<button type="submit">%s</button></form>]]):format(r.id, H.csrf(req),
        H.field("kind", i18n._("Kind"), { kind = "select", id = "f-rel-kind", options = kinds }),
        H.field("target", i18n._("Item (CI name or record id)"), { id = "f-rel-target", required = true }),
        esc(i18n._("Relate")))
    return table.concat(out)
end

local function impact_html(r)
    local imp = relm.release.impact(r.id)
    local rows = {}
    for _, b in ipairs(imp.by_ci or {}) do
        for _, x in ipairs(b.impacted or {}) do
            rows[#rows + 1] = { ci = b.ci, name = x.name, type = x.type, depth = x.depth, through = x.through }
        end
    end
    return ("<p>%s</p>"):format(esc((i18n._("%d CI(s) touched; %d CI(s) can be affected")):format(imp.touched or 0,
        imp.impacted or 0))) .. H.table(i18n._("Impact"), { { "ci", i18n._("Changed CI") }, { "name",
            i18n._("Affected CI") },
        { "type", i18n._("Type") }, { "depth", i18n._("Depth") }, { "through", i18n._("Through") } }, rows)
end

local function approval_html(req, r)
    local ok, st = pcall(relm.approval.status, r.id)
    if not ok or st == nil then
        return ""
    end
    local mine = false
    for _, p in ipairs(relm.approval.pending()) do
        mine = mine or p.release_id == r.id or p.release == r.number
    end
    local out = { "<section><h2>" .. esc(i18n._("Approval")) .. "</h2><p>" .. esc(i18n._("Status: "))
        .. esc(st.status or "")
        .. "</p>" }
    if mine then
        out[#out + 1] = ([[<form method="post" action="/releases/%d/approval" class="card inline">%s%s%s
<button type="submit">%s</button></form>]]):format(r.id, H.csrf(req),
            H.field("decision", i18n._("Decision"), { kind = "select", options = { { "approve", i18n._("approve") },
                { "reject", i18n._("reject") } } }),
            H.field("note", i18n._("Note"), { id = "f-approval-note" }), esc(i18n._("Decide")))
    end
    out[#out + 1] = "</section>"
    return table.concat(out)
end

local function history_html(r)
    local rows = relm.release.history(r.id)
    return H.table(i18n._("History (oldest first)"), { { "at", i18n._("When") }, { "actor", i18n._("Who") },
        { "action", i18n._("Action") }, { "to", i18n._("To state") }, { "note", i18n._("Note") } }, rows,
        function(h, k)
            if k == "to" and h.to then
                return esc(relm.workflow.state_label(r.workflow, h.to))
            elseif k == "action" and h.action then
                return esc(relm.workflow.action_label(r.workflow, h.action))
            elseif k == "at" and type(h.at) == "string" then
                return esc(i18n.datetime(h.at))
            end
            return esc(h[k])
        end)
end

-- The SLA clock: its stage and the time left, in business time when the
-- release is on a calendar (relm.release.get computes it so).
local function sla_html(r)
    if r.time_left == nil and r.sla_stage == nil then
        return ""
    end
    local left = ""
    if r.time_left ~= nil then
        local t = tonumber(r.time_left) or 0
        local text = math.abs(t) < 60 and ("%ds"):format(math.abs(t)) or delay(math.abs(t))
        text = t < 0 and i18n._("late by %s"):format(text) or text
        left = r.calendar and i18n._("%s of business time (calendar %s)"):format(text, r.calendar) or text
    end
    return ('<section><h2>%s</h2><dl class="fields sla" data-sla-stage="%s" data-time-left="%s">'
        .. '<div><dt>%s</dt><dd>%s</dd></div><div><dt>%s</dt><dd>%s</dd></div></dl></section>'):format(
        esc(i18n._("SLA")), esc(r.sla_stage or ""), esc(r.time_left), esc(i18n._("Stage")),
        esc(stage_word(r.sla_stage)),
        esc(i18n._("Time left")), esc(left))
end

-- The release's conflicts (relm.release.conflicts): each reason with its
-- CI and the path through the CMDB graph.
local function conflicts_html(r)
    local list = r.conflicts or {}
    if #list == 0 then
        return ""
    end
    return "<section id=\"conflicts\"><h2>" .. esc(i18n._("Conflicts")) .. "</h2>"
        .. H.table(i18n.n_("%d conflict", "%d conflicts", #list):format(#list), { { "kind", i18n._("Kind") },
            { "ci", i18n._("CI") }, { "path", i18n._("Path") }, { "reason", i18n._("Reason") } }, list)
        .. "</section>"
end

local function release_page(req, id, tried, status)
    local r = relm.release.get(id)
    local sections = {
        ('<p class="lead" data-live data-watch="%d"><span class="state" data-state="%s">%s</span> %s</p>'):format(
            r.id, esc(r.state), esc(relm.workflow.state_label(r.workflow, r.state)), esc(r.title)),
        "<section><h2>" .. esc(i18n._("Actions you may take now")) .. "</h2>" .. actions_html(req, r, tried)
            .. "</section>",
        approval_html(req, r),
        conflicts_html(r),
        sla_html(r),
        "<section><h2>" .. esc(i18n._("Fields")) .. "</h2>" .. fields_html(r) .. "</section>",
        "<section><h2>" .. esc(i18n._("Activities")) .. "</h2>" .. board_html(req, r) .. "</section>",
        "<section><h2>" .. esc(i18n._("Related items")) .. "</h2>" .. related_html(req, r) .. "</section>",
        "<section><h2>" .. esc(i18n._("Impact")) .. "</h2>" .. impact_html(r) .. "</section>",
        "<section><h2>" .. esc(i18n._("History")) .. "</h2>" .. history_html(r) .. "</section>",
    }
    return status or 200, H.page(req, r.number, table.concat(sections, "\n")), HTML
end

local function release_get(req, p)
    return release_page(req, id_of(p.id))
end

-- An action from its form: the real dry run first; a refusal (or "try")
-- shows the page again with the report, nothing written.
local function act_post(req, p, _, f)
    local id = id_of(p.id)
    local opts = act_opts(f)
    local dry_opts = { dry_run = true }
    for k, v in pairs(opts) do
        dry_opts[k] = v
    end
    local ok, report = pcall(relm.release.act, id, p.name, dry_opts)
    if not ok then
        report = { allowed = false, reason = type(report) == "table" and report.message or tostring(report) }
    end
    if f.try == "1" or not report.allowed then
        return release_page(req, id, { name = p.name, report = report, values = f }, report.allowed and 200 or 422)
    end
    relm.release.act(id, p.name, opts)
    return redirect("/releases/" .. p.id)
end

local function activity_post(_, p, _, f)
    relm.activity.add(id_of(p.id), { phase = f.phase, title = given(f.title), group = given(f.group) })
    return redirect("/releases/" .. p.id)
end

local function move_post(_, p, _, f)
    relm.activity.move(id_of(p.aid), f.to)
    return redirect("/releases/" .. p.id)
end

local function relate_post(_, p, _, f)
    relm.release.relate(id_of(p.id), f.kind, given(f.target))
    return redirect("/releases/" .. p.id)
end

local function approval_post(_, p, _, f)
    relm.approval.decide(id_of(p.id), { decision = f.decision, note = given(f.note) })
    return redirect("/releases/" .. p.id)
end

-- ---- search and export -------------------------------------------------------------

local SEARCH_FILTERS = { "status", "number", "text", "group", "user", "contract", "unit", "priority",
    "opened_from", "opened_to", "closed_from", "closed_to" }

local function search_filters(q)
    local f = {}
    for _, k in ipairs(SEARCH_FILTERS) do
        f[k] = given(q[k])
    end
    f.priority = f.priority and (math.tointeger(tonumber(f.priority)) or f.priority)
    return f
end

local SEARCH_COLUMNS = { { "number", i18n.N_("Number") }, { "title", i18n.N_("Title") },
    { "status", i18n.N_("Status") },
    { "state", i18n.N_("State") }, { "priority", i18n.N_("Priority") }, { "requester", i18n.N_("Requester") },
    { "executor_group", i18n.N_("Group") }, { "created_at", i18n.N_("Opened") }, { "closed_at", i18n.N_("Closed") } }

local function search_get(req, _, q)
    local f = search_filters(q)
    local limit = 100
    f.limit = limit
    local rows = relm.search.releases(f)
    f.limit = nil
    local fields = {
        H.field("status", i18n._("Status"), { kind = "select", value = q.status or "", options = {
            { "", i18n._("any") }, { "open", i18n._("open") }, { "suspended", i18n._("suspended") }, { "closed",
                i18n._("closed") },
            { "cancelled", i18n._("cancelled") } } }),
    }
    local labels = { number = i18n._("Number"), text = i18n._("Text"), group = i18n._("Group"),
        user = i18n._("Requester"),
        contract = i18n._("Contract"), unit = i18n._("Unit"), priority = i18n._("Priority"),
            opened_from = i18n._("Opened from"),
        opened_to = i18n._("Opened to"), closed_from = i18n._("Closed from"), closed_to = i18n._("Closed to") }
    for _, k in ipairs(SEARCH_FILTERS) do
        if k ~= "status" then
            fields[#fields + 1] = H.field(k, labels[k], { value = q[k],
                kind = (k:match("_from$") or k:match("_to$")) and "date" or nil })
        end
    end
    local qs = H.query(f)
    local states, list = {}, {}
    for i, r in ipairs(rows) do
        list[i] = { r.id, r.state }
    end
    for i, label in ipairs(relm.workflow.release_state_labels(list)) do
        states[rows[i]] = label
    end
    local body = ([[<form method="get" action="/search" class="filters" role="search" aria-label="%s">%s
<button type="submit">%s</button></form><p class="export">%s <a href="/search/export.csv?%s" download>CSV</a>
<a href="/search/export.json?%s" download>JSON</a></p>%s]]):format(esc(i18n._("Advanced search")), table.concat(fields),
        esc(i18n._("Search")), esc(i18n._("Export every match:")), esc(qs), esc(qs),
        H.table(i18n.n_("%d release found", "%d releases found", rows.total or #rows):format(rows.total or #rows),
            translated(SEARCH_COLUMNS), rows, function(r, k)
                if k == "number" then
                    return ('<a href="/releases/%d">%s</a>'):format(r.id, esc(r.number))
                elseif k == "state" then
                    return esc(states[r])
                elseif k == "status" and VALUE_WORDS.status[r.status] then
                    return esc(i18n._(VALUE_WORDS.status[r.status]))
                end
                return esc(r[k])
            end))
    return 200, H.page(req, i18n._("Advanced search"), body)
end

-- The export the REPL writes (relm.search.export's writer), into a string.
local function export_get(req, p, q)
    local format = p.format == "export.json" and "json" or p.format == "export.csv" and "csv" or nil
    if not format then
        return error_page(req, { code = "not_found", message = i18n._("export as export.csv or export.json") })
    end
    local rows = relm.search.releases(search_filters(q))
    local ex = require "relm.export"
    local parts = {}
    local sink = { write = function(self, ...)
        for i = 1, select("#", ...) do
            parts[#parts + 1] = select(i, ...)
        end
        return self
    end }
    ex.write(sink, rows, require("relm.search").columns, format)
    return 200, table.concat(parts), {
        ["Content-Type"] = format == "csv" and "text/csv; charset=utf-8" or "application/json",
        ["Content-Disposition"] = ('attachment; filename="releases.%s"'):format(format) }
end

-- ---- calendar --------------------------------------------------------------------

-- The period shown: the form's from/to, else today and the next 30 days.
local function calendar_period(q)
    local from = given(q.from) or os.date("!%Y-%m-%d")
    local to = given(q.to)
    if not to then
        local y, m, d = from:match("^(%d%d%d%d)-(%d%d)-(%d%d)")
        local t = y and os.time({ year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = 12 }) or os.time()
        to = os.date("!%Y-%m-%d", t + 30 * 86400)
    end
    return from, to
end

local function calendar_get(req, _, q)
    local from, to = calendar_period(q)
    local form_html = ([[<form method="get" action="/calendar" class="filters" aria-label="%s">%s%s
<button type="submit">%s</button></form>]]):format(esc(i18n._("Period shown")),
        H.field("from", i18n._("From"), { value = from }), H.field("to", i18n._("To"), { value = to }),
        esc(i18n._("Show")))
    local ok, svg = pcall(relm.calendar.svg, { from = from, to = to })
    if not ok then
        return 400, H.page(req, i18n._("Calendar"), form_html .. ('<p class="refusal" role="alert">%s</p>')
            :format(esc(type(svg) == "table" and svg.message or tostring(svg)))), HTML
    end
    return 200, H.page(req, i18n._("Calendar"), form_html .. '<div class="scroll" id="gantt">' .. svg .. "</div>")
end

-- ---- assets ------------------------------------------------------------------------

local function asset(name, ctype)
    return function()
        return 200, require("relm.web_assets")[name], { ["Content-Type"] = ctype,
            ["Cache-Control"] = "max-age=300" }
    end
end

-- ---- the routes ----------------------------------------------------------------------

M.routes = {
    { "GET", "/login", login_get, auth = false },
    { "POST", "/login", login_post, auth = false },
    { "POST", "/logout", page(logout_post) },
    { "GET", "/", page(queue) },
    { "GET", "/releases/new", page(register_get) },
    { "POST", "/releases", page(register_post) },
    { "GET", "/releases/{id}", page(release_get) },
    { "POST", "/releases/{id}/act/{name}", page(act_post) },
    { "POST", "/releases/{id}/activities", page(activity_post) },
    { "POST", "/releases/{id}/activities/{aid}/move", page(move_post) },
    { "POST", "/releases/{id}/related", page(relate_post) },
    { "POST", "/releases/{id}/approval", page(approval_post) },
    { "GET", "/search", page(search_get) },
    { "GET", "/search/{format}", page(export_get) },
    { "GET", "/calendar", page(calendar_get) },
    { "GET", "/web/app.css", asset("css", "text/css; charset=utf-8"), auth = false },
    { "GET", "/web/app.js", asset("js", "text/javascript; charset=utf-8"), auth = false },
}

---The language a page is drawn in for req: the first of its
---Accept-Language header's choices relm has messages in, else the
---language serve runs in (its LANG), else English.
---@param req table
---@return string
function M.language(req)
    return i18n.negotiate(req.accept_language)
end

-- A route's handler drawing its page in the reader's language
-- (M.language): the request runs in the "C" locale, which keeps the
-- API's messages English, and that language is back once the page is
-- drawn, raise or not. Pages say which language they are in and that it
-- depends on the request's Accept-Language.
local function in_language(handler)
    return function(req, ...)
        local lang = M.language(req)
        local status, body, headers = i18n.within(lang, handler, req, ...)
        local out = {}
        for k, v in pairs(headers or {}) do
            out[k] = v
        end
        if (out["Content-Type"] or ""):match("^text/html") then
            out["Content-Language"] = i18n.tag(lang)
            out.Vary = "Accept-Language"
        end
        return status, body, out
    end
end

---Add the desktop's pages to the HTTP route table (relm.http.routes):
---called once by relm.http.listen. Pages check the session themselves
---(a missing one sends the browser to /login), so each is auth = false
---for the API's dispatcher.
---@param routes table
function M.install(routes)
    for _, r in ipairs(M.routes) do
        local login = r[2] == "/login"
        routes[#routes + 1] = { r[1], r[2], handler = in_language(r[3]), auth = false, page = true,
            summary = login and "The login page" or "A page of the web desktop" }
    end
end

return M
