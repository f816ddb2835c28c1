-- relm/desktop.lua: the release desktop, the work queue of the acting user:
-- releases, activities and approvals waiting for them or their groups, counts by
-- situation, priority and group, and the actions a queue offers (the same
-- primitives as relm.release.act). Call it: relm.desktop{...}. docs/desktop.md.
local i18n = require "relm.i18n"
local C = require "relm.core.desktop"
local cjson = require "cjson"
local pretty = require "relm.pretty"

local M = {}

-- The options relm.desktop takes, in the order its error lists them.
local OPTS = { "user", "number", "assigned", "shared", "kind", "group", "limit", "format" }

-- Columns of a row, in the order the JSON and scripts see them documented.
M.fields = {
    "kind", "number", "release_id", "activity_id", "request_id", "title", "requester", "created", "priority",
    "time_limit", "delay", "situation", "task", "group", "responsible", "shared_with", "why", "conflicts",
    "time_left", "sla_stage", "calendar",
}

-- The queries (core/desktop.c), for the benchmark's bare-SQLite baseline.
do
    local releases, activities, approvals = C.sql()
    M._sql = { releases = releases, activities = activities, approvals = approvals }
end

-- Raise a relm error at the user's line (relm errors skip the engine's
-- own frames).
local function fail(code, msg)
    relm.error(code, msg, 1)
end

-- The user a desktop is for: the acting one, or opts.user (administrators,
-- or the user themselves).
local function who(opts)
    local name = opts.user or relm.whoami()
    if type(name) ~= "string" then
        fail("invalid_argument", i18n._("relm.desktop: user must be a user name, got ") .. type(name))
    end
    local u = relm.sql("SELECT id, name FROM users WHERE name = ?", name)[1]
    if not u then
        fail("not_found", i18n._("no user named '") .. name .. "'")
    end
    if name ~= relm.whoami() and not relm.user.is_admin() then
        fail("permission_denied", i18n._("only administrators see another user's desktop"))
    end
    return u
end

local function check(opts)
    if opts ~= nil and type(opts) ~= "table" then
        fail("invalid_argument", i18n._("relm.desktop: argument #1 (opts) must be a table, got ") .. type(opts))
    end
    opts = opts or {}
    require("relm.args").check_keys(opts, OPTS, "relm.desktop")
    if opts.number ~= nil and (type(opts.number) ~= "string" or opts.number == "") then
        fail("invalid_argument",
            i18n._("relm.desktop: number must be a release number, its digits or a pattern with *"))
    end
    if opts.kind ~= nil and opts.kind ~= "release" and opts.kind ~= "activity" and opts.kind ~= "approval" then
        fail("invalid_argument", i18n._("relm.desktop: kind must be \"release\", \"activity\" or \"approval\", got ")
            .. tostring(opts.kind))
    end
    if opts.limit ~= nil and (math.type(opts.limit) ~= "integer" or opts.limit < 0) then
        fail("invalid_argument", i18n._("relm.desktop: limit must be a non-negative integer"))
    end
    if opts.format ~= nil and opts.format ~= "json" and opts.format ~= "table" then
        fail("invalid_argument", i18n._("relm.desktop: format must be \"json\" or \"table\", got ")
            .. tostring(opts.format))
    end
    if opts.group ~= nil and type(opts.group) ~= "string" then
        fail("invalid_argument", i18n._("relm.desktop: group must be a group name"))
    end
    for _, k in ipairs({ "assigned", "shared" }) do
        if opts[k] ~= nil and type(opts[k]) ~= "boolean" then
            fail("invalid_argument", "relm.desktop: " .. k .. i18n._(" must be true or false"))
        end
    end
    return opts
end

-- The number filter for the core: a GLOB pattern with *, the counter's
-- digits ("42" is REL-YYYY-000042), or the exact number.
local function number_filter(n, f)
    if n == nil then
        return
    end
    if n:find("*", 1, true) then
        f.number_glob = n
    elseif n:match("^%d+$") then
        f.number_glob = require("relm.search").number_glob(n)
    else
        f.number = n
    end
end

-- "12d", "2d04h", "3h05", "12m" or "" for no delay: never more than five
-- characters below 100,000 days, so the column keeps its width.
local function short_delay(s)
    if not s or s <= 0 then
        return ""
    end
    if s >= 10 * 86400 then
        return ("%dd"):format(s // 86400)
    elseif s >= 86400 then
        return ("%dd%02dh"):format(s // 86400, s % 86400 // 3600)
    elseif s >= 3600 then
        return ("%dh%02d"):format(s // 3600, s % 3600 // 60)
    end
    return ("%dm"):format(math.max(1, s // 60))
end

-- The time left on the release's clock in the delay's format, "-" before
-- it when late ("2h10", "-1h05", "0m"), "" without an SLA.
local function short_left(s)
    if s == nil then
        return ""
    end
    return s < 0 and "-" .. short_delay(-s) or s == 0 and "0m" or short_delay(s)
end

local SIT_SHORT = { ["in execution"] = i18n.N_("exec"), suspended = i18n.N_("susp"), late = i18n.N_("LATE") }
-- The SLA stage in a line: blank while in progress, so the eye catches
-- the ones that need it.
local SLA_SHORT = { warning = i18n.N_("warn"), breached = i18n.N_("BREACH") }

-- The SLA stage as a line shows it: "warn", "BREACH" or "".
local function short_stage(stage)
    return SLA_SHORT[stage] and i18n._(SLA_SHORT[stage]) or ""
end
-- For the search results' printed view (relm/search.lua).
M._short_left, M._short_stage = short_left, short_stage

---What each item's task says to a person: a release's state as its
---workflow labels it in the current language (relm.workflow.state_label),
---an activity's or approval's task as it is. rows: items of
---relm.desktop(); returns {[i] = text}. Rows keep `task` itself (the
---state's identifier) for scripts, JSON and CSV.
---@param rows table[]
---@return string[]
function M.task_labels(rows)
    local list, at = {}, {}
    for i, r in ipairs(rows) do
        if r.kind == "release" and r.release_id and r.task then
            list[#list + 1] = { r.release_id, r.task }
            at[#list] = i
        end
    end
    local labels = {}
    for i, r in ipairs(rows) do
        labels[i] = r.task or ""
    end
    for j, label in ipairs(require("relm.workflow").release_state_labels(list)) do
        labels[at[j]] = label
    end
    return labels
end

-- The printed columns' headers, translated where they are shown.
local HEADERS = {
    number = i18n.N_("number"), p = i18n.N_("p"), sit = i18n.N_("sit"), limit = i18n.N_("limit"),
    delay = i18n.N_("delay"), left = i18n.N_("left"), sla = i18n.N_("sla"), conf = i18n.N_("conf"),
    task = i18n.N_("task"), group = i18n.N_("group"), resp = i18n.N_("resp"), shared = i18n.N_("shared"),
}

-- The printed columns: the first ones are short and never cut (a cut
-- number is useless); the others share what is left of the line. The
-- time left, the SLA stage and the conflicts ("!2": docs/calendars.md)
-- are left out when they are blank in every row.
local FIXED = { "number", "p", "sit", "limit", "delay", "left", "sla", "conf" }
local OPTIONAL = { left = true, sla = true, conf = true }
local FLEX = { "task", "group", "resp", "shared" }

-- How the flexible columns give up room, pass after pass, each cutting
-- the column widest for its weight down to its floor (never below the
-- header): names of groups and people first down to 12 characters, then
-- the task down to 16, then all of them, the task weighing three times
-- the others so that it keeps the most, first keeping short names (six
-- characters) whole; when those floors do not fit, names are left out.
local PASSES = {
    { floor = { group = 12, resp = 12, shared = 12 }, weight = {} },
    { floor = { task = 16, group = 12, resp = 12, shared = 12 }, weight = {} },
    { floor = { task = 8, group = 6, resp = 6, shared = 6 }, weight = { task = 3 } },
    { floor = { task = 0, group = 0, resp = 0, shared = 0 }, weight = { task = 3 } },
}

-- Terminal columns, as the table printer counts them (wide characters two).
local text_width, cut = pretty.display_width, pretty.cut

-- The columns to print for rows, their flexible cells cut so that the
-- table fits width columns (see PASSES); a flexible column empty in every
-- row is left out, but the task.
local function fit(rows, width)
    local columns, flex, ws = {}, {}, {}
    local used = 0
    for _, c in ipairs(FIXED) do
        local w, any = text_width(i18n._(HEADERS[c])), false
        for _, r in ipairs(rows) do
            w = math.max(w, text_width(tostring(r[c])))
            any = any or r[c] ~= ""
        end
        if any or not OPTIONAL[c] then
            columns[#columns + 1] = c
            used = used + w
        end
    end
    for _, c in ipairs(FLEX) do
        local w = 0
        for _, r in ipairs(rows) do
            w = math.max(w, text_width(r[c]))
        end
        if w > 0 or c == "task" then
            columns[#columns + 1] = c
            flex[#flex + 1] = c
            ws[#flex] = math.max(w, text_width(i18n._(HEADERS[c])))
            used = used + ws[#flex]
        end
    end
    used = used + 2 * (#columns - 1)
    -- When even the third pass's floors do not fit (the SLA and conflict
    -- columns took the room), the names go instead, the shared-with first:
    -- a task cut to a few letters says nothing.
    local function least()
        local n = used
        for i, c in ipairs(flex) do
            n = n - ws[i] + math.min(ws[i], math.max(text_width(i18n._(HEADERS[c])), PASSES[3].floor[c]))
        end
        return n
    end
    while #flex > 1 and least() > width do
        used = used - ws[#flex] - 2
        table.remove(columns, #columns)
        flex[#flex], ws[#flex] = nil, nil
    end
    for _, pass in ipairs(PASSES) do
        while used > width do
            local widest, share
            for i, c in ipairs(flex) do
                local s = ws[i] / (pass.weight[c] or 1)
                if ws[i] > math.max(text_width(i18n._(HEADERS[c])), pass.floor[c] or ws[i])
                    and (widest == nil or s > share) then
                    widest, share = i, s
                end
            end
            if widest == nil then
                break
            end
            ws[widest] = ws[widest] - 1
            used = used - 1
        end
    end
    for _, r in ipairs(rows) do
        for i, c in ipairs(flex) do
            r[c] = cut(r[c], ws[i])
        end
    end
    return columns
end

-- A time limit in a desktop line: "12-07 05:30" (month-day) in English,
-- "07/12 05:30" in a language that writes the day first (i18n.datetime).
local function short_limit(stamp)
    local full = i18n.datetime(stamp)
    if full == stamp then
        return (stamp:sub(6, 16):gsub("T", " "))
    end
    return (full:gsub("[/.-]%d%d%d%d", "", 1))
end

-- label followed by items separated by commas, wrapped at width under
-- the first item.
local function wrap(label, items, width)
    local lines, line = {}, label
    for i, item in ipairs(items) do
        local piece = item .. (i < #items and "," or "")
        if line ~= label and text_width(line) + 1 + text_width(piece) > width then
            lines[#lines + 1] = line
            line = string.rep(" ", text_width(label)) .. piece
        else
            line = line .. (line == label and "" or " ") .. piece
        end
    end
    lines[#lines + 1] = line
    return table.concat(lines, "\n")
end

-- How a desktop prints: one line per item fitted to the terminal's width,
-- then the counts by situation, priority and group. To a file or a pipe
-- nothing is cut (as pretty.show does for any table): the whole task,
-- group and person names, every row.
local function render(d)
    local mt = getmetatable(d)
    if #d == 0 then
        return i18n._("(nothing waiting for %s)"):format(mt.user)
    end
    local terminal = pretty.terminal()
    local width = terminal and pretty.width or math.huge
    local rows = {}
    local tasks = M.task_labels(d)
    for i, r in ipairs(d) do
        rows[i] = {
            number = r.number, p = r.priority, sit = i18n._(SIT_SHORT[r.situation] or r.situation),
            limit = r.time_limit and short_limit(r.time_limit) or "",
            delay = short_delay(r.delay), left = short_left(r.time_left),
            sla = short_stage(r.sla_stage),
            task = r.kind == "activity" and ("#" .. r.activity_id .. " " .. tasks[i]) or tasks[i],
            group = r.group or "", resp = r.responsible or "", shared = r.shared_with or "",
            conf = (r.conflicts or 0) > 0 and ("!" .. r.conflicts) or "",
        }
    end
    local columns = fit(rows, width)
    local labels = {}
    for c, h in pairs(HEADERS) do
        labels[c] = i18n._(h)
    end
    local text = pretty.table(rows, columns, {
        labels = labels,
        width = terminal and width or 0, max_rows = terminal and pretty.max_rows or nil,
        max_cell = not terminal and math.huge or nil, header = pretty.header,
    })
    local c = mt.counts
    local sit = {
        i18n._("in execution %d"):format(c.situation["in execution"]),
        i18n._("suspended %d"):format(c.situation.suspended),
        i18n._("late %d"):format(c.situation.late),
    }
    local prio = {}
    for p = 1, 5 do
        if c.priority[p] > 0 then
            prio[#prio + 1] = ("p%d %d"):format(p, c.priority[p])
        end
    end
    local groups = {}
    for name, n in pairs(c.group) do
        groups[#groups + 1] = { name = name, n = n }
    end
    table.sort(groups, function(a, b)
        if a.n ~= b.n then
            return a.n > b.n
        end
        return a.name < b.name
    end)
    for i, g in ipairs(groups) do
        groups[i] = g.name .. " " .. g.n
    end
    -- The three labels padded to one width, so the counts line up.
    local heads = { i18n._("situation:"), i18n._("priority:"), i18n._("group:") }
    local w = math.max(text_width(heads[1]), text_width(heads[2]), text_width(heads[3])) + 1
    for i, h in ipairs(heads) do
        heads[i] = h .. string.rep(" ", w - text_width(h))
    end
    return table.concat({ text, wrap(heads[1], sit, width), wrap(heads[2], prio, width),
        wrap(heads[3], groups, width) }, "\n")
end

-- The items (at most limit) and counts of the desktop for opts (checked),
-- most urgent first: priority, then the nearest time limit, then number.
local function items(opts, limit)
    local u = who(opts)
    local f = { assigned = opts.assigned, shared = opts.shared, kind = opts.kind, group = opts.group }
    number_filter(opts.number, f)
    -- Bring the kept conflict counts up to date first (a no-op when no
    -- release changed); a store that cannot write now (no acting user)
    -- shows the counts as last kept.
    pcall(require("relm.core.window").refresh)
    local list, counts = C.load(u.id, relm.release.now(), f, limit)
    return list, counts, u
end

---The desktop of the acting user: releases, activities and approval
---requests waiting for them or their groups, most urgent first (priority,
---then time limit). Each item: kind ("release", "activity" or
---"approval"), number, release_id, activity_id, request_id, title, requester, created, priority, time_limit, delay
---(seconds late), situation ("in execution", "suspended", "late"), task
---(the workflow state, the activity, "approve (rule)"), group, responsible, shared_with,
---why ("assigned" or "shared"), conflicts, time_left (seconds on the
---release's SLA clock, business time on its calendar; negative when late),
---sla_stage ("in_progress", "warning", "breached"), calendar. opts: number= (a number, its digits or a
---pattern with *), assigned=true / shared=true (only those), kind=,
---group=, user= (administrators: someone else's desktop), limit=,
---format="json" (a JSON text {user=, items=, counts=} for scripts).
---Prints as a table that fits 80 columns. Call as relm.desktop{...}.
---@param opts? table
---@return table|string
function M.list(opts)
    opts = check(opts)
    local shown, counts, u = items(opts, opts.limit)
    if opts.format == "json" then
        local list = {}
        for i, r in ipairs(shown) do
            local o = {}
            for _, f in ipairs(M.fields) do
                o[f] = r[f] == nil and cjson.null or r[f]
            end
            list[i] = o
        end
        -- lua-cjson 2.1 writes an empty table as {}: items must stay an
        -- array, so an empty list is spliced in as [].
        local text = require("relm.json").encode({ user = u.name, items = #list > 0 and list or false,
            counts = counts })
        if #list == 0 then
            text = text:gsub('"items":false', '"items":[]', 1)
        end
        return text
    end
    -- columns: how relm.mode("csv"|"json"|...) and relm.export write the items.
    return setmetatable(shown, {
        __tostring = render, __name = "relm.desktop", columns = M.fields, user = u.name, counts = counts,
    })
end

---Counts of the desktop's items: {total=, releases=, activities=,
---situation={["in execution"]=, suspended=, late=}, priority={n1..n5},
---group={name=n}}. Takes the same filters as the desktop.
---@param opts? table
---@return table
function M.counts(opts)
    opts = check(opts)
    local _, counts = items(opts, 0)
    return counts
end

-- ---- actions: the same primitives as relm.release.act -------------------

-- The release a desktop item, number or id stands for; fn names the
-- caller in the error for anything else (relm.desktop()[1] of an empty
-- desktop is nil).
local function release_of(item, fn)
    if type(item) == "table" and item.release_id ~= nil then
        return item.release_id
    end
    if math.type(item) ~= "integer" and type(item) ~= "string" then
        fail("invalid_argument", (i18n._("relm.desktop.%s: argument #1 (item) must be a row of relm.desktop(), ")
            .. i18n._("a release number or id, got %s")):format(fn,
                type(item) == "table" and i18n._("a table without release_id")
            or tostring(item)))
    end
    return item
end

---Take responsibility for a release: relm.release.act(x, "capture").
---@param item table|string|integer a desktop item, a release number or id
---@param opts? table
---@return table release
function M.capture(item, opts)
    return relm.release.act(release_of(item, "capture"), "capture", opts)
end

---Hand a release to a group or person: act(x, "delegate", {to_group=, to_user=, note=}).
---@param item table|string|integer
---@param opts table
---@return table release
function M.delegate(item, opts)
    return relm.release.act(release_of(item, "delegate"), "delegate", opts)
end

---Share a release with a group or person: act(x, "share", {to_group= or to_user=, note=}).
---@param item table|string|integer
---@param opts table
---@return table release
function M.share(item, opts)
    return relm.release.act(release_of(item, "share"), "share", opts)
end

---Suspend a release: act(x, "suspend", {justification=, note=}).
---@param item table|string|integer
---@param opts table
---@return table release
function M.suspend(item, opts)
    return relm.release.act(release_of(item, "suspend"), "suspend", opts)
end

---Reactivate a suspended release: act(x, "reactivate").
---@param item table|string|integer
---@param opts? table
---@return table release
function M.reactivate(item, opts)
    return relm.release.act(release_of(item, "reactivate"), "reactivate", opts)
end

local NEXT_COLUMN = { todo = "in_progress", in_progress = "done" }

---Execute the current task of a desktop item (a row, a release number or
---id). A release takes its workflow transition opts.action, or the only
---one open to the user now; an activity row moves to opts.to or its next
---board column (todo -> in_progress -> done); an approval row is decided
---with opts.decision ("approve" or "reject") and opts.note. Other opts go
---to the primitive (fields=, note=, ...).
---@param item table|string|integer
---@param opts? table
---@return table
function M.execute(item, opts)
    opts = opts or {}
    if type(opts) ~= "table" then
        fail("invalid_argument", i18n._("relm.desktop.execute: argument #2 (opts) must be a table"))
    end
    if type(item) == "table" and item.kind == "approval" then
        if opts.decision ~= "approve" and opts.decision ~= "reject" then
            fail("invalid_argument",
                i18n._("relm.desktop.execute: an approval needs {decision=\"approve\"|\"reject\", note=}"))
        end
        return relm.approval.decide(item.release_id, { decision = opts.decision, note = opts.note })
    end
    if type(item) == "table" and item.kind == "activity" then
        local a = relm.activity.get(item.activity_id)
        local to = opts.to or NEXT_COLUMN[a.status]
        if not to then
            fail("not_allowed", (i18n._("activity #%d is %s; nothing left to execute")):format(a.id, a.status))
        end
        return relm.activity.move(a.id, to, { note = opts.note, actual_minutes = opts.actual_minutes })
    end
    local id = release_of(item, "execute")
    local name = opts.action
    local rest = {}
    for k, v in pairs(opts) do
        if k ~= "action" then
            rest[k] = v
        end
    end
    if not name then
        local r = relm.release.get(id)
        local wf = relm.release.workflow(r.workflow)
        local found = {}
        for _, a in ipairs(relm.release.actions(id)) do
            if wf.transitions[a] then
                found[#found + 1] = a
            end
        end
        if #found ~= 1 then
            fail("not_allowed", (i18n._("release %s: %s; say which with {action=}")):format(r.number,
                #found == 0 and i18n._("no workflow transition is open to you now")
                or i18n._("several transitions are open (") .. table.concat(found, ", ") .. ")"))
        end
        name = found[1]
    end
    return relm.release.act(id, name, rest)
end

---Schedule an activity (a desktop row or an activity id) at a date/time;
---opts as relm.activity.schedule (estimated_minutes=, owner=, group=, note=).
---@param item table|integer
---@param at string|false
---@param opts? table
---@return table activity
function M.schedule(item, at, opts)
    local id = type(item) == "table" and item.activity_id or item
    if math.type(id) ~= "integer" then
        fail("invalid_argument", i18n._("relm.desktop.schedule: argument #1 must be an activity row or id"))
    end
    return relm.activity.schedule(id, at, opts)
end

return setmetatable(M, {
    __call = function(_, opts)
        return M.list(opts)
    end,
})
