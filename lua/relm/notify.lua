-- relm/notify.lua: notifications: subscribe a webhook or an e-mail address
-- to events, see each channel's queue, inspect and replay dead letters.
-- `relm serve` delivers; see docs/notifications.md.
local C = require "relm.core.notify"

local M = {}

local SUBSCRIBE_KEYS = { channel = true, url = true, to = true, events = true, secret = true }

local function need_table(fname, v)
    if type(v) ~= "table" then
        relm.error("invalid_argument", "relm.notify." .. fname .. ": argument #1 must be a table, got " .. type(v), 3)
    end
end

local function need_id(fname, v)
    if math.type(v) ~= "integer" then
        relm.error("invalid_argument", "relm.notify." .. fname .. ": argument #1 (id) must be an integer, got "
            .. (math.type(v) or type(v)), 3)
    end
end

---Subscribe a channel to events (admin only). spec: channel = "webhook" or
---"email"; url = the webhook's http(s) URL (for email: an optional
---smtp://host:port server, else the smtp_url setting); to = the e-mail
---address; events = names or patterns ({"sla.breached", "release.*"});
---secret = the webhook's HMAC-SHA256 key (stored as given). Returns the id.
---Raises invalid_field, permission_denied.
---@param spec {channel: "webhook"|"email", url: string?, to: string?, events: string[], secret: string?}
---@return integer
function M.subscribe(spec)
    need_table("subscribe", spec)
    for k in pairs(spec) do
        if not SUBSCRIBE_KEYS[k] then
            relm.error("invalid_field", "relm.notify.subscribe: unknown field '" .. tostring(k)
                .. "' (channel, url, to, events, secret)", 2)
        end
    end
    return C.subscribe(spec)
end

---Stop sending new events to subscription id (admin only); what is queued
---is still delivered. Raises not_found, permission_denied.
---@param id integer
function M.unsubscribe(id)
    need_id("unsubscribe", id)
    C.unsubscribe(id)
end

---The subscriptions, by id (secrets are not shown: signed = true instead).
---@return table[]
function M.subscriptions()
    local out = {}
    for _, r in ipairs(relm.sql([[SELECT id, channel, url, recipient, events,
        secret IS NOT NULL AS signed, active FROM subscriptions ORDER BY id]])) do
        local events = {}
        for _, e in ipairs(relm.sql("SELECT value FROM json_each(?1) ORDER BY key", r.events)) do
            events[#events + 1] = e.value
        end
        out[#out + 1] = { id = r.id, channel = r.channel, url = r.url, to = r.recipient,
            events = events, signed = r.signed == 1, active = r.active == 1 }
    end
    return out
end

---Per channel ("webhook", "email"): queued (waiting to be sent or retried),
---delivered, failed (queued after at least one failed try), dead.
---@return table<string, {queued: integer, delivered: integer, failed: integer, dead: integer}>
function M.status()
    local out = {}
    for _, ch in ipairs({ "webhook", "email" }) do
        out[ch] = { queued = 0, delivered = 0, failed = 0, dead = 0 }
    end
    for _, r in ipairs(relm.sql([[SELECT s.channel,
            sum(d.status = 'queued') AS queued, sum(d.status = 'delivered') AS delivered,
            sum(d.status = 'queued' AND d.attempts > 0) AS failed, sum(d.status = 'dead') AS dead
        FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id GROUP BY s.channel]])) do
        out[r.channel] = { queued = r.queued or 0, delivered = r.delivered or 0,
            failed = r.failed or 0, dead = r.dead or 0 }
    end
    return out
end

---The dead letters: deliveries given up on, oldest first, with the reason.
---Replay one with relm.notify.replay(id).
---@return table[]
function M.dead()
    return relm.sql([[SELECT d.id, d.subscription_id AS subscription, s.channel,
            CASE s.channel WHEN 'email' THEN s.recipient ELSE s.url END AS target, o.id AS event_id,
            o.event, o.release_id AS release, d.attempts, d.last_error AS reason
        FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
        JOIN outbox o ON o.id = d.outbox_id WHERE d.status = 'dead' ORDER BY d.id]])
end

---Queue dead delivery id again with a fresh count of tries (admin only).
---Raises not_found, permission_denied.
---@param id integer
function M.replay(id)
    need_id("replay", id)
    C.replay(id)
end

---Delete dead letters for good (admin only): opts.id = one dead delivery,
---opts.before = those that died before an ISO-8601 moment, or opts.all =
---true. Their events go with the next retention pass once nothing else
---waits on them; the occurrences stay. Returns how many were purged.
---Raises invalid_argument, invalid_field, permission_denied.
---@param opts {id: integer?, before: string?, all: boolean?}
---@return integer
function M.purge(opts)
    need_table("purge", opts)
    local n = 0
    for k in pairs(opts) do
        if k ~= "id" and k ~= "before" and k ~= "all" then
            relm.error("invalid_argument", "relm.notify.purge: unknown option '" .. tostring(k) .. "'", 2)
        end
        n = n + 1
    end
    if n ~= 1 or (opts.all ~= nil and opts.all ~= true) then
        relm.error("invalid_argument", "relm.notify.purge: give exactly one of id=, before= or all=true", 2)
    end
    if opts.id ~= nil and math.type(opts.id) ~= "integer" then
        relm.error("invalid_argument", "relm.notify.purge: id must be an integer", 2)
    end
    if opts.before ~= nil and type(opts.before) ~= "string" then
        relm.error("invalid_argument", "relm.notify.purge: before must be an ISO-8601 date and time", 2)
    end
    return C.purge(opts.id or 0, opts.before)
end

local SETTINGS = {
    sla_warning_percent = "number", max_tries = "number", backoff_seconds = "number",
    timeout_seconds = "number", smtp_url = "string", smtp_from = "string", smtp_tls = "string",
    due_lead_seconds = "number", planned_start_lead_seconds = "number", outbox_keep_days = "number",
    -- read when `serve --listen` starts (docs/http.md)
    http_header_timeout_seconds = "number", http_max_body_bytes = "number",
}

---Change serve's settings (admin only), read by a running serve on its
---next pass: sla_warning_percent (75), max_tries (8), backoff_seconds (1),
---timeout_seconds (10), smtp_url, smtp_from, smtp_tls ("none", "try",
---"require"; default "try"), due_lead_seconds (3600), planned_start_lead_seconds
---(86400), outbox_keep_days (30), and at the start of `serve --listen`
---http_header_timeout_seconds (10) and http_max_body_bytes (1048576).
---Raises invalid_field, permission_denied.
---@param settings table
function M.set(settings)
    need_table("set", settings)
    for k, v in pairs(settings) do
        local want = SETTINGS[k]
        if not want then
            relm.error("invalid_field", "relm.notify.set: unknown setting '" .. tostring(k) .. "'", 2)
        end
        if type(v) ~= want then
            relm.error("invalid_field", "relm.notify.set: " .. k .. " must be a " .. want .. ", got " .. type(v), 2)
        end
        C.set(k, tostring(v))
    end
end

---serve's settings as stored (defaults are not listed).
---@return table<string, string>
function M.settings()
    local out = {}
    for _, r in ipairs(relm.sql("SELECT key, value FROM serve_settings")) do
        out[r.key] = r.value
    end
    return out
end

return M
