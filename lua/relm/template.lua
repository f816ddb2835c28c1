-- relm/template.lua: a model's e-mail templates (creation, actions,
-- closure): `{{placeholder}}` text checked when the model is defined and
-- rendered when serve sends the mail, with recipients resolved then.
local i18n = require "relm.i18n"

local M = {}

---The placeholders a template may use: release fields, and about the event
---(action, actor, justification, event, at).
M.FIELDS = {
    number = true, title = true, state = true, status = true, phase = true, priority = true,
    impact = true, urgency = true, risk = true, requester = true, responsible = true, group = true,
    portfolio = true, model = true, version = true, deadline = true, closure_text = true,
    description = true, id = true, action = true, actor = true, justification = true, event = true,
    at = true, planned_start = true, planned_end = true, release_date = true, category = true,
    contract = true, type = true,
}

local KEYS = { subject = true, body = true, to = true }

---The default subject and recipients of a template given as a string.
M.DEFAULT_SUBJECT = "[relm] {{number}} {{title}}"
M.DEFAULT_TO = { "requester" }

-- Every placeholder of text not in M.FIELDS: the first unknown name, or nil.
local function unknown(text)
    for name in text:gmatch("{{%s*([^}]-)%s*}}") do
        if not M.FIELDS[name] then
            return name
        end
    end
end

-- A recipient: requester, responsible, group (the release's), group:NAME,
-- user:NAME, or an address.
local function valid_recipient(v)
    return v == "requester" or v == "responsible" or v == "group" or v:match("^group:[^%s]+$") ~= nil
        or v:match("^user:[^%s]+$") ~= nil or v:match("^[^%s@<>,\"]+@[^%s@<>,\"]+$") ~= nil
end

-- A template written once per language: {en = ..., pt_BR = ..., es = ...},
-- each a text or {subject=, body=, to=}.
local function per_language(t)
    return type(t) == "table" and t.body == nil and t.en ~= nil
end

---The template for the current language: a template written per language
---gives the current language's, else English (relm.i18n.label); others
---are returned as they are.
---@param t string|table|nil
---@return string|table|nil
function M.localize(t)
    if per_language(t) then
        return i18n.label(t)
    end
    return t
end

local check_one

---Check a template (a string: the body; {subject=, body=, to={...}}; or
---one of those per language, {en = ..., pt_BR = ...}, English required):
---nil when good, else what is wrong.
---@param t string|table
---@return string? problem
function M.check(t)
    if per_language(t) then
        for lang, v in pairs(t) do
            local problem = check_one(v)
            if problem then
                return tostring(lang) .. ": " .. problem
            end
        end
        return nil
    end
    return check_one(t)
end

check_one = function(t)
    if type(t) == "string" then
        t = { body = t }
    elseif type(t) ~= "table" then
        return i18n._("must be a text or {subject=, body=, to=}, got %s"):format(type(t))
    end
    for k in pairs(t) do
        if not KEYS[k] then
            return i18n._("unknown field '%s' (subject, body, to)"):format(tostring(k))
        end
    end
    if type(t.body) ~= "string" then
        return i18n._("body must be a text")
    end
    if t.subject ~= nil and type(t.subject) ~= "string" then
        return i18n._("subject must be a text")
    end
    for _, part in ipairs({ "subject", "body" }) do
        local bad = t[part] and unknown(t[part])
        if bad then
            local known = {}
            for k in pairs(M.FIELDS) do
                known[#known + 1] = k
            end
            table.sort(known)
            return i18n._("%s: unknown placeholder {{%s}} (known: %s)"):format(part, bad, table.concat(known, ", "))
        end
    end
    if t.to ~= nil then
        if type(t.to) ~= "table" or #t.to == 0 then
            return i18n._("to must be a list of recipients")
        end
        for i, v in ipairs(t.to) do
            if type(v) ~= "string" or not valid_recipient(v) then
                return i18n._("to[%d]: '%s' is not requester, responsible, group, group:NAME, user:NAME "
                    .. "or an address"):format(i, tostring(v))
            end
        end
    end
end

---text with each {{name}} replaced by fields[name] ("" when the field is
---empty); raises template when a placeholder is unknown.
---@param text string
---@param fields table
---@return string
function M.render(text, fields)
    local bad = unknown(text)
    if bad then
        relm.error("template", i18n._("unknown placeholder {{%s}}"):format(bad), 2)
    end
    return (text:gsub("{{%s*([^}]-)%s*}}", function(name)
        local v = fields[name]
        return v == nil and "" or tostring(v)
    end))
end

-- The addresses one recipient stands for, for release row r; the second
-- result says why there are none.
local function resolve(v, r)
    local function user(name)
        local u = name and relm.sql("SELECT email FROM users WHERE name = ?", name)[1]
        if u and u.email and u.email ~= "" then
            return { u.email }
        end
        return {}, i18n._("%s has no e-mail address"):format(name or "nobody")
    end
    local function group(name)
        local g = name and relm.sql([[SELECT g.id, a.email FROM groups g
            LEFT JOIN group_addresses a ON a.group_id = g.id WHERE g.name = ?]], name)[1]
        if not g then
            return {}, i18n._("no group %s"):format(tostring(name))
        end
        if g.email then
            return { g.email }
        end
        local out = {}
        for _, m in ipairs(relm.sql([[SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.group_id = ? AND u.email IS NOT NULL AND u.email <> '' ORDER BY u.name]], g.id)) do
            out[#out + 1] = m.email
        end
        if #out == 0 then
            return out, i18n._("group %s has no address and no member with one"):format(name)
        end
        return out
    end
    if v == "requester" then
        return user(r.requester)
    elseif v == "responsible" then
        return user(r.responsible)
    elseif v == "group" then
        return group(r.executor_group)
    elseif v:match("^group:") then
        return group(v:sub(7))
    elseif v:match("^user:") then
        return user(v:sub(6))
    end
    return { v }
end

---The mails template t gives for the event (decoded webhook body): a list
---of {to=, subject=, body=}, one per address, and the recipients that had
---none (reasons). Raises template on an unknown placeholder.
---@param t string|table
---@param event table
---@return table[] mails
---@return string[] missing
function M.mails(t, event)
    t = M.localize(t)
    if type(t) == "string" then
        t = { body = t }
    end
    local r = relm.sql([[SELECT r.id, r.number, r.title, r.state, r.status, r.phase, r.priority, r.impact,
            r.urgency, r.risk, r.version, r.deadline, r.closure_text, r.description, r.planned_start,
            r.planned_end, r.release_date, r.category, r.contract, r.type,
            q.name AS requester, p.name AS responsible, g.name AS executor_group, m.name AS model,
            f.name AS portfolio
        FROM releases r LEFT JOIN users q ON q.id = r.requester_id LEFT JOIN users p ON p.id = r.responsible_id
        LEFT JOIN groups g ON g.id = r.executor_group_id LEFT JOIN models m ON m.id = r.model_id
        LEFT JOIN portfolios f ON f.id = r.portfolio_id WHERE r.id = ?]], event.release.id)[1] or {}
    local o = relm.sql([[SELECT o.actor, o.action, coalesce(j.description, o.note) AS justification
        FROM occurrences o JOIN outbox x ON x.occurrence_id = o.id
        LEFT JOIN justifications j ON j.id = o.justification_id WHERE x.id = ?]], event.id)[1] or {}
    local fields = {}
    for k, v in pairs(r) do
        fields[k] = v
    end
    fields.group = r.executor_group
    fields.action, fields.actor, fields.justification = o.action, o.actor, o.justification
    fields.event, fields.at = event.event, event.at
    local subject = M.render(t.subject or M.DEFAULT_SUBJECT, fields):gsub("[\r\n]+", " ")
    local body = M.render(t.body, fields)
    local mails, missing, seen = {}, {}, {}
    for _, v in ipairs(t.to or M.DEFAULT_TO) do
        local addrs, why = resolve(v, r)
        for _, a in ipairs(addrs) do
            if not seen[a] then
                seen[a] = true
                mails[#mails + 1] = { to = a, subject = subject, body = body }
            end
        end
        if why then
            missing[#missing + 1] = v .. ": " .. why
        end
    end
    return mails, missing
end

return M
