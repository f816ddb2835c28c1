-- relm/http.lua: the HTTP/JSON API of `relm serve --listen`: ONE route table
-- from which the router and the OpenAPI document are both made.
-- Every handler calls the Lua API's primitives, as the request's user.
local cjson_mod = require "cjson"
local i18n = require "relm.i18n"

local M = {}

local cjson = cjson_mod.new()
cjson.encode_invalid_numbers(false)

-- This cjson (2.1.0) writes an empty table as {}; the API's lists must be
-- []. plain() puts this mark (text that cannot enter relm: it holds NUL
-- bytes) in place of each empty table and encode() turns it into [].
local EMPTY = "\0[]\0"
cjson.decode_max_depth(64)

-- The HTTP status of each stable error code (the same codes as in Lua).
M.status_of = {
    invalid_argument = 400, bad_request = 400, malformed_json = 400,
    unauthorized = 401,
    permission_denied = 403, csrf = 403,
    not_found = 404, unknown_user = 401,
    method_not_allowed = 405,
    conflict = 409, duplicate = 409, in_use = 409, not_allowed = 409,
    precondition_failed = 412,
    payload_too_large = 413,
    invalid_field = 422, justification_required = 422, invalid_state = 422,
    rate_limited = 429,
    busy = 503,
    sandbox = 500,
}

-- ---- JSON and errors ------------------------------------------------------

-- A copy of v with only what JSON can carry (functions, userdata and
-- cycles dropped; metatables ignored), so cjson never fails on a release.
local function plain(v, seen)
    local t = type(v)
    if t == "table" then
        seen = seen or {}
        if seen[v] then
            return nil
        end
        seen[v] = true
        local out = {}
        for k, x in pairs(v) do
            if type(k) == "string" or math.type(k) == "integer" then
                -- strings, numbers and booleans (most of a release) as
                -- they are, without a call each
                local tx = type(x)
                if tx == "string" or tx == "number" or tx == "boolean" then
                    out[k] = x
                else
                    out[k] = plain(x, seen)
                end
            end
        end
        seen[v] = nil
        if next(out) == nil then
            return EMPTY
        end
        return out
    elseif t == "string" or t == "number" or t == "boolean" then
        return v
    end
    return nil
end

local unslash = require("relm.json").unslash

local function encode(v)
    local text = unslash(cjson.encode(plain(v)))
    if not text:find("\\u0000[]", 1, true) then
        return text
    end
    return (text:gsub('"\\u0000%[%]\\u0000"', "[]"))
end

-- An error raised by a handler that carries an HTTP status of its own.
local function fail(status, code, message)
    error({ code = code, message = message, http_status = status }, 0)
end

local function error_body(code, message)
    return encode({ code = code, message = message })
end

-- status, body for any error value e.
local function from_error(e, req)
    if type(e) == "table" and e.code then
        local status = e.http_status or M.status_of[e.code] or 400
        if e.code == "conflict" and req and req.if_match then
            status = 412
        end
        return status, error_body(e.code, tostring(e.message or e.code))
    end
    io.stderr:write("relm: http: ", tostring(e), "\n")
    return 500, error_body("internal", i18n._("the request failed inside relm"))
end

-- ---- request helpers ------------------------------------------------------

local function unescape(s)
    return (s:gsub("+", " "):gsub("%%(%x%x)", function(h)
        return string.char(tonumber(h, 16))
    end))
end

local function path_unescape(s)
    if not s:find("%", 1, true) then
        return s
    end
    return (s:gsub("%%(%x%x)", function(h)
        return string.char(tonumber(h, 16))
    end))
end

-- The query string as a table (the last value of a repeated name wins).
local function parse_query(q)
    local out = {}
    for pair in q:gmatch("[^&]+") do
        local k, v = pair:match("^([^=]*)=?(.*)$")
        out[unescape(k)] = unescape(v)
    end
    return out
end
---A query string or an urlencoded form body (the web desktop's forms) as a
---table name = value; the last value of a repeated name wins.
---@param q string
---@return table
M.parse_query = parse_query

-- The request's JSON body as a table ({} for none); 400 when it is not a
-- JSON object.
local function body_object(req)
    if req.body == "" then
        return {}
    end
    local ok, v = pcall(cjson.decode, req.body)
    if not ok then
        fail(400, "malformed_json", i18n._("the request body is not valid JSON: ") .. tostring(v):gsub("^.-: ", ""))
    end
    if type(v) ~= "table" or (next(v) ~= nil and v[1] ~= nil) then
        fail(400, "malformed_json", i18n._("the request body must be a JSON object"))
    end
    return require("relm.json").integers(v)
end

-- A release id from a path parameter: digits as an integer, else the
-- release number as given.
local function release_id(s)
    return math.tointeger(tonumber(s:match("^%d+$") or "")) or s
end

-- An integer query parameter (nil when absent); 400 when not an integer.
local function int_param(q, name, default)
    local v = q[name]
    if v == nil or v == "" then
        return default
    end
    local n = math.tointeger(tonumber(v:match("^%-?%d+$") or ""))
    if not n then
        fail(400, "invalid_argument", (i18n._("query parameter '%s' must be an integer")):format(name))
    end
    return n
end

-- An integer path parameter (an activity's id); 400 otherwise.
local function int_path(v, name)
    local n = math.tointeger(tonumber(v:match("^%d+$") or ""))
    if not n then
        fail(400, "invalid_argument", (i18n._("path parameter '%s' must be an integer")):format(name))
    end
    return n
end

-- The row_version named by an If-Match header ("v12" or "\"v12\"", weak
-- or not); nil for "*" or none; 400 for anything else.
local function if_match_version(req)
    local h = req.if_match
    if h == nil or h == "*" then
        return nil
    end
    local n = h:match('^W?/?"?v(%d+)"?$')
    if not n then
        fail(400, "invalid_argument", i18n._("If-Match must be an ETag this API gave, e.g. \"v3\""))
    end
    return math.tointeger(tonumber(n))
end

local function etag(r)
    return ('"v%d"'):format(r.row_version or 0)
end

-- A response with a release: its ETag header.
local function release_response(status, r)
    return status, r, { ETag = etag(r) }
end

-- Refuse a write whose If-Match names a version the release no longer
-- has: 412, before anything is tried (the primitive checks it again,
-- inside its transaction, through opts.version).
local function check_if_match(req, id)
    local v = if_match_version(req)
    if v ~= nil then
        local r = relm.release.get(id)
        if r.row_version ~= v then
            fail(412, "precondition_failed", (i18n._("release %s is at version %d, not %d: read it again"))
                :format(tostring(id), r.row_version, v))
        end
    end
    return v
end

-- ---- the routes -----------------------------------------------------------

-- Schema shorthands for the OpenAPI document.
local S = {
    release = { ["$ref"] = "#/components/schemas/Release" },
    error = { ["$ref"] = "#/components/schemas/Error" },
    dry_run = { ["$ref"] = "#/components/schemas/DryRun" },
    object = { type = "object" },
    objects = { type = "array", items = { type = "object" } },
    strings = { type = "array", items = { type = "string" } },
}

-- Each route: method, path (template with {name} parameters), handler
-- (req, params, query) -> status, body (a table, encoded as JSON), headers;
-- summary, permission (who may, in words), auth (false: no credentials
-- needed), request (body schema), response (schema of a 2xx body), query
-- (names of query parameters), status (of a success, 200 unless given),
-- headers (names of the headers a success carries: ETag, Location,
-- Set-Cookie), if_match (the route reads If-Match: stale -> 412) and
-- errors (every error status the route can answer; a route without the
-- list answers 400, 401 when it needs credentials, 404 when its path has
-- a parameter). The OpenAPI document says exactly these.
M.routes = {
    { "POST", "/api/v1/login", auth = false,
        errors = { 400, 401, 413, 429 }, headers = { "Set-Cookie" },
        summary = "Log in with a password: sets the session cookie, returns the CSRF token",
        permission = "anyone with a password (rate-limited per user and per address)",
        request = { type = "object", required = { "user", "password" },
            properties = { user = { type = "string" }, password = { type = "string" } } },
        response = S.object,
        handler = function(req)
            local b = body_object(req)
            if type(b.user) ~= "string" or type(b.password) ~= "string" then
                fail(400, "invalid_argument", i18n._("login needs {\"user\": ..., \"password\": ...}"))
            end
            local token, csrf, ttl = require("relm.core.http").login(b.user, b.password)
            return 200, { user = b.user, csrf_token = csrf, expires_in = ttl }, {
                ["Set-Cookie"] = ("relm_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d"):format(token, ttl),
            }
        end },
    { "POST", "/api/v1/logout",
        errors = { 401, 403 }, headers = { "Set-Cookie" },
        summary = "End the session of the cookie",
        permission = "the session's user",
        response = S.object,
        handler = function()
            return 200, { ok = true }, {
                ["Set-Cookie"] = "relm_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" }
        end },
    { "GET", "/api/v1/me",
        summary = "Who the request acts as",
        permission = "any user",
        response = S.object,
        handler = function(req)
            return 200, { user = req.user, admin = relm.user.is_admin() }
        end },
    { "GET", "/api/v1/openapi.json", auth = false,
        summary = "This API as an OpenAPI 3.1 document",
        permission = "anyone",
        response = S.object,
        handler = function()
            -- Made again only when a route was added since (site routes).
            if M._openapi_routes ~= #M.routes then
                M._openapi_text, M._openapi_routes = encode(M.openapi()), #M.routes
            end
            return 200, M._openapi_text
        end },

    -- releases
    { "POST", "/api/v1/releases",
        errors = { 400, 401, 403, 404, 413, 422 }, headers = { "ETag", "Location" },
        summary = "Register a release (relm.release.register)",
        permission = "create on the model's workflow",
        request = S.object, response = S.release, status = 201,
        handler = function(req)
            local r = relm.release.register(body_object(req))
            local s, b, h = release_response(201, r)
            h.Location = "/api/v1/releases/" .. r.id
            return s, b, h
        end },
    { "GET", "/api/v1/releases/{id}",
        headers = { "ETag" },
        summary = "A release (relm.release.get), with its ETag",
        permission = "any user", response = S.release,
        handler = function(_, p)
            return release_response(200, relm.release.get(release_id(p.id)))
        end },
    { "PATCH", "/api/v1/releases/{id}",
        errors = { 400, 401, 403, 404, 409, 412, 413, 422 }, headers = { "ETag" }, if_match = true,
        summary = "Change a release's fields (relm.release.update); If-Match: stale -> 412",
        permission = "execute on the release's workflow",
        request = S.object, response = S.release,
        handler = function(req, p)
            local id = release_id(p.id)
            local v = check_if_match(req, id)
            return release_response(200, relm.release.update(id, body_object(req), { version = v }))
        end },
    { "GET", "/api/v1/releases/{id}/actions",
        summary = "The actions the user may take now (relm.release.actions)",
        permission = "any user", response = S.strings,
        handler = function(_, p)
            return 200, relm.release.actions(release_id(p.id))
        end },
    { "POST", "/api/v1/releases/{id}/actions/{name}",
        errors = { 400, 401, 403, 404, 409, 412, 413, 422 }, headers = { "ETag" }, if_match = true,
        summary = "Take an action (relm.release.act); body = opts (dry_run=true tries and rolls back); "
            .. "If-Match: stale -> 412",
        permission = "the workflow's permission for the action",
        request = S.object, response = { oneOf = { S.release, S.dry_run } },
        handler = function(req, p)
            local id = release_id(p.id)
            local opts = body_object(req)
            opts.version = check_if_match(req, id)
            local r = relm.release.act(id, p.name, opts)
            if opts.dry_run then
                return 200, r
            end
            return release_response(200, r)
        end },
    { "GET", "/api/v1/releases/{id}/history",
        summary = "The release's occurrences, oldest first (relm.release.history)",
        permission = "any user", response = S.objects,
        handler = function(_, p)
            return 200, relm.release.history(release_id(p.id))
        end },
    { "GET", "/api/v1/releases/{id}/activities",
        summary = "The release's activities (relm.activity.list)",
        permission = "any user", response = S.objects,
        handler = function(_, p)
            return 200, relm.activity.list(release_id(p.id))
        end },
    { "POST", "/api/v1/releases/{id}/activities",
        errors = { 400, 401, 403, 404, 409, 413, 422 },
        summary = "Add an activity (relm.activity.add)",
        permission = "execute on the release's workflow",
        request = S.object, response = S.object, status = 201,
        handler = function(req, p)
            return 201, relm.activity.add(release_id(p.id), body_object(req))
        end },
    { "PATCH", "/api/v1/activities/{id}",
        errors = { 400, 401, 403, 404, 409, 413, 422 },
        summary = "Change an activity's fields (relm.activity.update)",
        permission = "execute on the release's workflow, or the activity's owner",
        request = S.object, response = S.object,
        handler = function(req, p)
            return 200, relm.activity.update(int_path(p.id, "id"), body_object(req))
        end },
    { "POST", "/api/v1/activities/{id}/move",
        errors = { 400, 401, 403, 404, 409, 413, 422 },
        summary = "Move an activity on the board: body {column=\"todo\"|\"in_progress\"|\"done\"|\"cancelled\", "
            .. "note=, actual_minutes=} (relm.activity.move)",
        permission = "the activity's owner or group",
        request = { type = "object", required = { "column" },
            properties = { column = { enum = { "todo", "in_progress", "done", "cancelled" } },
                note = { type = "string" }, actual_minutes = { type = "integer" } } },
        response = S.object,
        handler = function(req, p)
            local b = body_object(req)
            local column = b.column
            b.column = nil
            return 200, relm.activity.move(int_path(p.id, "id"), column, b)
        end },
    { "GET", "/api/v1/justifications",
        summary = "The justification catalogue; ?use=suspend|cancel|reopen keeps those usable for it "
            .. "(relm.justification.list)",
        permission = "any user", response = S.objects, query = { "use" },
        handler = function(_, _, q)
            return 200, relm.justification.list(q.use and { use = q.use } or nil)
        end },
    { "GET", "/api/v1/portfolios",
        summary = "Portfolios and their models, for registering (relm.portfolio.list)",
        permission = "any user", response = S.objects,
        handler = function()
            return 200, relm.portfolio.list()
        end },
    { "GET", "/api/v1/releases/{id}/related",
        summary = "Items related to the release (relm.release.related)",
        permission = "any user", response = S.object,
        handler = function(_, p)
            return 200, relm.release.related(release_id(p.id))
        end },
    { "POST", "/api/v1/releases/{id}/related",
        errors = { 400, 401, 403, 404, 409, 413, 422 },
        summary = "Relate an item: body {kind=\"ci\"|\"change\"|..., target=} (relm.release.relate)",
        permission = "execute on the release's workflow",
        request = { type = "object", required = { "kind", "target" },
            properties = { kind = { type = "string" },
                target = { type = { "string", "integer" }, description = "a CI name, a record number or an id" } } },
        response = S.object, status = 201,
        handler = function(req, p)
            local b = body_object(req)
            local opts = {}
            for k, v in pairs(b) do
                if k ~= "kind" and k ~= "target" then
                    opts[k] = v
                end
            end
            local r = relm.release.relate(release_id(p.id), b.kind, b.target, next(opts) and opts or nil)
            if type(r) ~= "table" then
                r = { kind = b.kind, target = b.target, cis_linked = r }
            end
            return 201, r
        end },
    { "GET", "/api/v1/releases/{id}/impact",
        summary = "What the release's CIs can break (relm.release.impact)",
        permission = "any user", response = S.object, query = { "depth" },
        handler = function(_, p, q)
            return 200, relm.release.impact(release_id(p.id), { depth = int_param(q, "depth") })
        end },
    { "GET", "/api/v1/releases/{id}/conflicts",
        summary = "What the release's schedule clashes with, each with its CI and path (relm.release.conflicts)",
        permission = "any user", response = S.objects,
        handler = function(_, p)
            return 200, relm.release.conflicts(release_id(p.id))
        end },
    { "GET", "/api/v1/calendar",
        summary = "Releases by planned window and freeze-window occurrences between from and to "
            .. "(what relm.calendar.show draws)",
        permission = "any user", response = S.objects, query = { "from", "to" },
        handler = function(_, _, q)
            local view = require "relm.calendar_view"
            local from = view.epoch(q.from, "GET /api/v1/calendar", "from")
            local to = view.epoch(q.to, "GET /api/v1/calendar", "to")
            if to <= from then
                fail(400, "invalid_argument", i18n._("to must be after from"))
            end
            return 200, view.rows(from, to)
        end },
    { "GET", "/api/v1/releases/{id}/approval",
        summary = "Where the release's approval stands (relm.approval.status)",
        permission = "any user", response = S.object,
        handler = function(_, p)
            return 200, relm.approval.status(release_id(p.id))
        end },
    { "POST", "/api/v1/releases/{id}/approval",
        errors = { 400, 401, 403, 404, 409, 413, 422 },
        summary = "Decide: body {decision=\"approve\"|\"reject\", note=} (relm.approval.decide)",
        permission = "approve on the workflow, and asked by the rules",
        request = { type = "object", required = { "decision" },
            properties = { decision = { enum = { "approve", "reject" } }, note = { type = "string" } } },
        response = S.object,
        handler = function(req, p)
            return 200, relm.approval.decide(release_id(p.id), body_object(req))
        end },
    { "GET", "/api/v1/approvals/pending",
        summary = "What waits for my decision (relm.approval.pending)",
        permission = "any user (their own)", response = S.objects,
        handler = function()
            return 200, relm.approval.pending()
        end },

    -- search and desktop
    { "GET", "/api/v1/search/releases",
        summary = "Search releases (relm.search.releases); next page with ?cursor=",
        permission = "any user", response = S.object,
        query = { "status", "text", "number", "group", "priority", "limit", "cursor" },
        handler = function(_, _, q)
            local limit = int_param(q, "limit", 50)
            if limit < 1 or limit > 1000 then
                fail(400, "invalid_argument", i18n._("limit must be between 1 and 1000"))
            end
            local offset = 0
            if q.cursor and q.cursor ~= "" then
                offset = math.tointeger(tonumber(q.cursor:match("^o(%d+)$") or ""))
                if not offset then
                    fail(400, "invalid_argument", i18n._("cursor must be a next_cursor this API gave"))
                end
            end
            local f = { limit = limit, offset = offset }
            for _, k in ipairs({ "status", "text", "number", "group", "contract", "unit", "portfolio", "model" }) do
                if q[k] and q[k] ~= "" then
                    f[k] = q[k]
                end
            end
            f.priority = int_param(q, "priority")
            local rows = relm.search.releases(f)
            local items = {}
            for i, r in ipairs(rows) do
                items[i] = r
            end
            local total = rows.total or (offset + #items)
            local nxt = offset + #items < total and ("o" .. (offset + #items)) or nil
            return 200, { items = items, total = total, next_cursor = nxt }
        end },
    { "GET", "/api/v1/desktop",
        summary = "The release desktop queue and its counts (relm.desktop.list, relm.desktop.counts)",
        permission = "any user", response = S.object,
        handler = function()
            return 200, { items = relm.desktop.list(), counts = relm.desktop.counts() }
        end },

    -- CMDB
    { "GET", "/api/v1/cmdb/cis/{name}",
        summary = "A configuration item (relm.cmdb.get)",
        permission = "any user", response = S.object,
        handler = function(_, p)
            local ci = relm.cmdb.get(p.name)
            if ci == nil then
                fail(404, "not_found", (i18n._("no CI named '%s'")):format(p.name))
            end
            return 200, ci
        end },
    { "POST", "/api/v1/cmdb/cis",
        errors = { 400, 401, 403, 409, 413, 422 },
        summary = "Add a configuration item (relm.cmdb.add)",
        permission = "cmdb", request = S.object, response = S.object, status = 201,
        handler = function(req)
            return 201, relm.cmdb.add(body_object(req))
        end },
    { "GET", "/api/v1/cmdb/cis/{name}/relationships",
        summary = "A CI's relationships (relm.cmdb.relations)",
        permission = "any user", response = S.object,
        handler = function(_, p)
            return 200, relm.cmdb.relations(p.name)
        end },
    { "POST", "/api/v1/cmdb/relationships",
        errors = { 400, 401, 403, 404, 409, 413, 422 },
        summary = "Relate two CIs: body {from=, kind=, to=} (relm.cmdb.relate)",
        permission = "cmdb",
        request = { type = "object", required = { "from", "kind", "to" },
            properties = { from = { type = "string" }, kind = { type = "string" }, to = { type = "string" } } },
        response = S.object, status = 201,
        handler = function(req)
            local b = body_object(req)
            relm.cmdb.relate(b.from, b.kind, b.to)
            return 201, { from = b.from, kind = b.kind, to = b.to }
        end },
    { "GET", "/api/v1/cmdb/cis/{name}/impact",
        summary = "CIs a change to this one can break (up) or it depends on (down), each with its path "
            .. "(relm.cmdb.impact)",
        permission = "any user", response = S.objects, query = { "direction", "depth" },
        handler = function(_, p, q)
            local dir = q.direction or "up"
            if dir ~= "up" and dir ~= "down" then
                fail(400, "invalid_argument", i18n._("direction must be 'up' or 'down'"))
            end
            return 200, relm.cmdb.impact(p.name, { direction = dir, depth = int_param(q, "depth") })
        end },
    { "GET", "/api/v1/cmdb/cis/{name}/history",
        summary = "Every change of a CI, oldest first (relm.cmdb.history)",
        permission = "any user", response = S.objects,
        handler = function(_, p)
            return 200, relm.cmdb.history(p.name)
        end },

    -- trail, tokens, events
    { "GET", "/api/v1/audit/verify",
        summary = "Walk the occurrence log's hash chain (relm.audit.verify)",
        permission = "any user", response = S.object,
        handler = function()
            local ok, info = relm.audit.verify()
            if type(ok) == "table" then
                return 200, ok
            end
            return 200, { ok = ok, detail = info }
        end },
    { "GET", "/api/v1/tokens",
        errors = { 400, 401, 403 },
        summary = "My API tokens (an administrator: ?user= anyone's) (relm.token.list)",
        permission = "the user, or an administrator", response = S.objects, query = { "user" },
        handler = function(_, _, q)
            return 200, relm.token.list(q.user)
        end },
    { "POST", "/api/v1/tokens",
        errors = { 400, 401, 403, 404, 409, 413, 422 },
        summary = "Make an API token: body {name=, user=, expires=} (relm.token.create); shown once",
        permission = "the user, or an administrator for another user",
        request = { type = "object", required = { "name" },
            properties = { name = { type = "string" }, user = { type = "string" },
                expires = { type = { "integer", "string" }, description = "epoch seconds or a date (2027-01-31)" } } },
        response = S.object, status = 201,
        handler = function(req)
            local b = body_object(req)
            b.user = b.user or req.user
            local token, id = relm.token.create(b)
            return 201, { id = id, token = token, name = b.name, user = b.user }
        end },
    { "DELETE", "/api/v1/tokens/{id}",
        errors = { 400, 401, 403, 404 },
        summary = "Revoke a token (relm.token.revoke)",
        permission = "the token's user, or an administrator", response = S.object,
        handler = function(_, p)
            local id = int_path(p.id, "id")
            relm.token.revoke(id)
            return 200, { id = id, revoked = true }
        end },
    { "GET", "/api/v1/events",
        summary = "The outbox as server-sent events (id = event id); resume with Last-Event-ID",
        permission = "any user", query = { "last_event_id" },
        response = { type = "string", description = "text/event-stream" },
        handler = function(req, _, q)
            local from = req.last_event_id or q.last_event_id
            local n = 0
            if from and from ~= "" then
                n = math.tointeger(tonumber(from:match("^%d+$") or ""))
                if not n then
                    fail(400, "invalid_argument", i18n._("Last-Event-ID must be an event id"))
                end
            elseif q.from == "now" then
                n = relm.sql("SELECT coalesce(max(id), 0) AS n FROM outbox")[1].n
            end
            return "stream", n
        end },
}


-- ---- routing ----------------------------------------------------------------

-- Split a path into its segments.
local function segments(path)
    local out = {}
    for s in path:gmatch("[^/]+") do
        out[#out + 1] = s
    end
    return out
end

-- Compile a route's path template into its segments (a {name} segment
-- is a parameter).
local function compile(route)
    route.segs = {}
    for i, s in ipairs(segments(route[2])) do
        local name, star = s:match("^{([%w_]+)(%*?)}$")
        route.segs[i] = name and { param = name, rest = star == "*" } or s
    end
end

-- The routes that may match segs, in table order: those of as many
-- segments (or ending in {name*} and not longer) whose third segment is
-- segs[3], a parameter or inside a {name*}. Cached per (count, third segment) for the third
-- segments routes name, so that a request walks a handful of routes, not
-- all of them; an unknown third segment shares its count's list, and
-- counts beyond the longest route share one (the cache cannot be grown by
-- the paths clients send).
local candidates_cache, literal3, longest = {}, {}, 0
local function candidates(segs)
    local third = segs[3]
    local key = math.min(#segs, longest + 1) .. "/" .. (literal3[third] and third or "{}")
    local list = candidates_cache[key]
    if list == nil then
        list = {}
        for _, r in ipairs(M.routes) do
            local last, s3 = r.segs[#r.segs], r.segs[3]
            local rest = type(last) == "table" and last.rest
            if (#r.segs == #segs or (rest and #segs >= #r.segs))
                and (type(s3) ~= "string" or s3 == third) then
                list[#list + 1] = r
            end
        end
        candidates_cache[key] = list
    end
    return list
end

-- The route for method and path segs, with its parameters; or nil and
-- whether the path matched another method.
local function match(method, segs)
    local other = false
    for _, r in ipairs(candidates(segs)) do
        local params, ok = {}, true
        for i, s in ipairs(r.segs) do
            if type(s) == "table" and s.rest then
                -- {name*}: the rest of the path, segments decoded
                local parts = {}
                for j = i, #segs do
                    parts[#parts + 1] = path_unescape(segs[j])
                end
                params[s.param] = table.concat(parts, "/")
            elseif type(s) == "table" then
                params[s.param] = path_unescape(segs[i])
            elseif s ~= segs[i] then
                ok = false
                break
            end
        end
        if ok then
            if r[1] == method or (method == "HEAD" and r[1] == "GET") then
                return r, params
            end
            other = true
        end
    end
    return nil, other
end

local compiled = 0

local function ensure_compiled()
    if compiled == #M.routes then
        return
    end
    for i = compiled + 1, #M.routes do
        compile(M.routes[i])
        local s3 = M.routes[i].segs[3]
        if type(s3) == "string" then
            literal3[s3] = true
        end
        longest = math.max(longest, #M.routes[i].segs)
    end
    candidates_cache = {}
    compiled = #M.routes
end

---Add a route for a site (hook/route files): relm.route("GET",
---"/api/v1/x/{id}", fn). fn(req, params, query) runs as the request's
---user and returns status, body (a table, sent as JSON), headers.
---@param method string
---@param path string
---@param fn function
---@param doc? {summary?: string, permission?: string}
function M.route(method, path, fn, doc)
    if type(method) ~= "string" or not method:match("^%u+$") then
        relm.error("invalid_argument",
            i18n._("relm.route: argument #1 (method) must be an HTTP method such as \"GET\""), 2)
    end
    if type(path) ~= "string" or not path:match("^/api/v1/[%w_%-/{}%.]+$") then
        relm.error("invalid_argument",
            i18n._("relm.route: argument #2 (path) must be a path under /api/v1/, e.g. \"/api/v1/x/{id}\""), 2)
    end
    if type(fn) ~= "function" then
        relm.error("invalid_argument", i18n._("relm.route: argument #3 (fn) must be a function"), 2)
    end
    ensure_compiled()
    local probe = segments(path)
    for i, s in ipairs(probe) do
        if s:match("^{") then
            probe[i] = "\0"
        end
    end
    local existing = match(method, probe)
    if existing and existing[2] == path then
        relm.error("duplicate", (i18n._("relm.route: %s %s is already a route")):format(method, path), 2)
    end
    doc = doc or {}
    M.routes[#M.routes + 1] = { method, path, handler = fn, site = true,
        summary = doc.summary or "A site route", permission = doc.permission or "as the route decides",
        response = S.object }
end

-- What a route file's code may reach of relm: the API whose primitives
-- check the request's user in C. Not the printer or file writers
-- (relm.export, relm.output): a route answers, it does not write files.
local ROUTE_API = { "release", "activity", "approval", "related", "cmdb", "search", "desktop", "audit",
    "portfolio", "justification", "user", "group", "token", "notify", "change", "problem", "incident", "media" }

local function route_env(sandbox)
    local env = sandbox.env()
    local r = { sql = relm.sql, whoami = relm.whoami, error = relm.error, is_error = relm.is_error, tx = relm.tx }
    for _, name in ipairs(ROUTE_API) do
        r[name] = relm[name]
    end
    ---relm.route(method, path, fn [, doc]) inside a route file: fn runs in
    ---the sandbox (time and memory limits) as the request's user.
    r.route = function(method, path, fn, doc)
        if type(fn) ~= "function" then
            relm.error("invalid_argument", i18n._("relm.route: argument #3 (fn) must be a function"), 2)
        end
        M.route(method, path, function(req, params, query)
            local copy = { method = req.method, path = req.path, user = req.user, body = req.body }
            -- pcall inside the sandbox keeps the error's own code
            -- (permission_denied, not_found); a time or memory limit still
            -- stops the call as a whole with code sandbox.
            local res = table.pack(sandbox.call(pcall, fn, copy, params, query))
            if not res[1] then
                error(res[2], 0)
            end
            return table.unpack(res, 2, res.n)
        end, doc)
    end
    rawset(env, "relm", r)
    return env
end

---Load route files: path is a .lua file or a directory of them (each in
---the sandbox, declaring routes with relm.route). Raises invalid_route
---naming file:line when one fails.
---@param path string
function M.load_routes(path)
    local source = require "relm.source"
    local sandbox = require "relm.core.sandbox"
    local files = {}
    if path:match("%.lua$") then
        files[1] = path
    else
        for name in source.entries(path) do
            if name:match("%.lua$") then
                files[#files + 1] = path .. "/" .. name
            end
        end
        if #files == 0 then
            relm.error("not_found", (i18n._("no route files (*.lua) in %s")):format(path), 2)
        end
        table.sort(files)
    end
    for _, file in ipairs(files) do
        local code, err = source.read_file(file)
        if not code then
            relm.error("not_found", (i18n._("cannot read the route file: %s")):format(tostring(err)), 2)
        end
        local ok, fn = pcall(sandbox.load, code, "@" .. source.display_name(file), route_env(sandbox))
        if ok then
            ok, fn = pcall(sandbox.call, fn)
        end
        if not ok then
            relm.error("invalid_route", type(fn) == "table" and tostring(fn.message) or tostring(fn), 2)
        end
    end
end

-- ---- dispatch -----------------------------------------------------------

local function respond(status, body, headers, req)
    headers = headers or {}
    if req.method == "HEAD" then
        return status, "", headers
    end
    if type(body) == "string" then
        return status, body, headers
    end
    local ok, text = pcall(encode, body)
    if not ok then
        return from_error(text, req)
    end
    return status, text, headers
end

---Answer one request (called by relm.core.http for each): req has
---method, path, query, body, if_match, last_event_id, peer, user (the
---authenticated user, nil when none), auth_error (why the credentials
---given were refused), session (a cookie was used), csrf_ok. Returns
---status, body, headers and, for an event stream, the event id to start
---after.
---@param req table
---@return integer status
---@return string body
---@return table headers
---@return integer? stream_from
function M.dispatch(req)
    ensure_compiled()
    if req.path:find("\0", 1, true) or req.path:find("%.%.") then
        return respond(400, { code = "invalid_argument", message = i18n._("the path is not acceptable") }, nil, req)
    end
    local route, params = match(req.method, segments(req.path))
    if route == nil then
        if params then
            return respond(405, { code = "method_not_allowed",
                message = (i18n._("%s is not allowed on %s")):format(req.method, req.path) }, nil, req)
        end
        return respond(404, { code = "not_found", message = (i18n._("no route %s %s")):format(req.method, req.path) },
            nil, req)
    end
    if route.auth ~= false then
        if req.auth_error then
            return respond(401, { code = "unauthorized", message = req.auth_error.message }, nil, req)
        end
        if req.user == nil then
            return respond(401, { code = "unauthorized",
                message = i18n._("this needs 'Authorization: Bearer TOKEN' or a session (POST /api/v1/login)") },
                { ["WWW-Authenticate"] = "Bearer" }, req)
        end
        if req.session and req.method ~= "GET" and req.method ~= "HEAD" and not req.csrf_ok then
            return respond(403, { code = "csrf",
                message = i18n._("a write with a session cookie needs the X-CSRF-Token header from the login") },
                nil, req)
        end
    end
    local query = parse_query(req.query)
    -- Text that would be cut at a NUL byte, or is not UTF-8, names
    -- something other than what was sent: refused before any handler.
    for what, t in pairs({ path = params, query = query }) do
        for k, v in pairs(t) do
            if (v .. k):find("\0", 1, true) or not utf8.len(v) or not utf8.len(k) then
                return respond(400, { code = "invalid_argument",
                    message = (i18n._("%s parameter '%s' contains a NUL byte or is not UTF-8")):format(what, k) },
                    nil, req)
            end
        end
    end
    local ok, status, body, headers = pcall(route.handler, req, params, query)
    if not ok then
        local s, b = from_error(status, req)
        return s, b, {}
    end
    if status == "stream" then
        return 200, "", {}, body
    end
    if math.type(status) ~= "integer" then
        return respond(500, { code = "internal", message = i18n._("the route returned no HTTP status") }, nil, req)
    end
    return respond(status, body, headers, req)
end

-- ---- OpenAPI ------------------------------------------------------------

-- What each status an operation may answer means, for its OpenAPI entry.
local ERRORS = {
    [400] = "Malformed: the body is not a JSON object, a parameter or If-Match is not acceptable "
        .. "(invalid_argument, malformed_json, bad_request)",
    [401] = "No credentials, or they were refused: a wrong password, an unknown, revoked or expired "
        .. "token (unauthorized)",
    [403] = "The user may not do this (permission_denied), or a write with a session cookie lacks "
        .. "X-CSRF-Token (csrf)",
    [404] = "No such release, activity, CI, user, token or model (not_found)",
    [409] = "Refused in the present state: an action not allowed now, a closed or cancelled release, "
        .. "a name already taken (not_allowed, conflict, duplicate, in_use)",
    [412] = "If-Match names a version the release no longer has: read it again (precondition_failed)",
    [413] = "The body is larger than the setting http_max_body_bytes (answered by the HTTP server as "
        .. "text)",
    [422] = "A field is missing or not acceptable (invalid_field, justification_required, invalid_state)",
    [429] = "Too many failed logins lately for this user or from this address (rate_limited)",
    [500] = "The site route failed or ran past the sandbox's limits (sandbox)",
}

-- The component name of each status's response.
local ERROR_NAMES = {
    [400] = "BadRequest", [401] = "Unauthorized", [403] = "Forbidden", [404] = "NotFound", [409] = "Conflict",
    [412] = "PreconditionFailed", [413] = "ContentTooLarge", [422] = "UnprocessableContent",
    [429] = "TooManyRequests", [500] = "InternalError",
}

-- The headers a success may carry.
local HEADERS = {
    ETag = { description = "The release's version, e.g. \"v3\": send it back as If-Match",
        schema = { type = "string" } },
    Location = { description = "The new release's URL", schema = { type = "string" } },
    ["Set-Cookie"] = { description = "relm_session (HttpOnly, SameSite=Strict); cleared by logout",
        schema = { type = "string" } },
}

-- Each tag (the first segment after /api/v1/) and what its endpoints do.
local TAGS = {
    { "session", "Log in and out with a password; who a request acts as", { "login", "logout", "me" } },
    { "openapi", "This document", { "openapi.json" } },
    { "releases", "Register releases, read and change them, act on them (workflow transitions and "
        .. "primitives, dry runs), with If-Match for optimistic concurrency", { "releases" } },
    { "activities", "A release's planning and deployment activities on the board", { "activities" } },
    { "justifications", "The justification catalogue (suspend, cancel, reopen)", { "justifications" } },
    { "portfolios", "Portfolios and their models, for registering", { "portfolios" } },
    { "calendar", "Releases by planned window and freeze-window occurrences", { "calendar" } },
    { "approvals", "What waits for the user's decision", { "approvals" } },
    { "search", "Searching releases, page by page", { "search" } },
    { "desktop", "The release desktop: the queue and its counts", { "desktop" } },
    { "cmdb", "Configuration items, their relationships, impact and history", { "cmdb" } },
    { "audit", "The occurrence log's hash chain", { "audit" } },
    { "tokens", "API tokens (Authorization: Bearer)", { "tokens" } },
    { "events", "The outbox as server-sent events", { "events" } },
    { "site", "Endpoints this site added in Lua route files (serve --routes)", {} },
}
local TAG_OF = {}
for _, t in ipairs(TAGS) do
    for _, seg in ipairs(t[3]) do
        TAG_OF[seg] = t[1]
    end
end

-- The tag of route r.
local function tag_of(r)
    if r.site then
        return "site"
    end
    local seg = r[2]:match("^/api/v1/([^/]+)") or ""
    return TAG_OF[seg] or seg
end

-- The error statuses route r can answer (sorted).
local function errors_of(r)
    if r.errors then
        return r.errors
    end
    local out = { 400 }
    if r.auth ~= false then
        out[#out + 1] = 401
    end
    if r.site then
        out[#out + 1] = 403
    end
    if r[2]:find("{", 1, true) or r.site then
        out[#out + 1] = 404
    end
    if r.site then
        out[#out + 1] = 500
    end
    return out
end

---The OpenAPI 3.1 document of every route, made from M.routes.
---@return table
function M.openapi()
    ensure_compiled()
    local paths, used, tags_used, responses = {}, {}, {}, {}
    local function ref(status)
        local name = ERROR_NAMES[status]
        if not responses[name] then
            local ctype = status == 413 and "text/plain" or "application/json"
            local resp = { description = ERRORS[status],
                content = { [ctype] = { schema = status == 413 and { type = "string" } or S.error } } }
            if status == 401 then
                resp.headers = { ["WWW-Authenticate"] = { description = "Bearer, when no credentials were given",
                    schema = { type = "string" } } }
            end
            responses[name] = resp
        end
        return { ["$ref"] = "#/components/responses/" .. name }
    end
    for _, r in ipairs(M.routes) do
        if r.page then
            goto next
        end
        local key = r[2]:gsub("%*}", "}")
        local item = paths[key] or {}
        paths[key] = item
        local params = {}
        for _, seg in ipairs(r.segs) do
            if type(seg) == "table" then
                params[#params + 1] = { name = seg.param, ["in"] = "path", required = true,
                    schema = { type = "string" } }
            end
        end
        for _, qn in ipairs(r.query or {}) do
            params[#params + 1] = { name = qn, ["in"] = "query", required = false, schema = { type = "string" } }
        end
        if r.if_match then
            params[#params + 1] = { ["$ref"] = "#/components/parameters/IfMatch" }
            used.if_match = true
        end
        local ok_status = r.status or 200
        local ctype = r[2] == "/api/v1/events" and "text/event-stream" or "application/json"
        local ok = { description = ok_status == 201 and "Created" or "OK",
            content = { [ctype] = { schema = r.response or S.object } } }
        for _, h in ipairs(r.headers or {}) do
            ok.headers = ok.headers or {}
            ok.headers[h] = { ["$ref"] = "#/components/headers/" .. h:gsub("%-", "") }
            used[h] = true
        end
        local tag = tag_of(r)
        tags_used[tag] = true
        local op = {
            operationId = (r[1]:lower() .. r[2]:gsub("^/api/v1", ""):gsub("[{}]", ""):gsub("[/%.%-]+(%w)", function(c)
                return c:upper()
            end)),
            summary = r.summary,
            description = "Permission: " .. (r.permission or "any user") .. ".",
            tags = { tag },
            responses = { [tostring(ok_status)] = ok },
        }
        for _, st in ipairs(errors_of(r)) do
            op.responses[tostring(st)] = ref(st)
        end
        if r.auth == false then
            op.security = {}
        end
        if #params > 0 then
            op.parameters = params
        end
        if r.request then
            op.requestBody = { required = true, content = { ["application/json"] = { schema = r.request } } }
        end
        item[r[1]:lower()] = op
        ::next::
    end
    local tags = {}
    for _, t in ipairs(TAGS) do
        if tags_used[t[1]] then
            tags[#tags + 1] = { name = t[1], description = t[2] }
            tags_used[t[1]] = nil
        end
    end
    -- A tag no entry of TAGS describes (a route added without one).
    local rest = {}
    for t in pairs(tags_used) do
        rest[#rest + 1] = t
    end
    table.sort(rest)
    for _, t in ipairs(rest) do
        tags[#tags + 1] = { name = t, description = "The endpoints under /api/v1/" .. t .. "/." }
    end
    local headers = {}
    for name, h in pairs(HEADERS) do
        if used[name] then
            headers[name:gsub("%-", "")] = h
        end
    end
    local components = {
        securitySchemes = {
            bearer = { type = "http", scheme = "bearer", description = "An API token (relm.token.create)" },
            session = { type = "apiKey", ["in"] = "cookie", name = "relm_session",
                description = "POST /api/v1/login; writes also need X-CSRF-Token" },
        },
        schemas = {
            Error = { type = "object", required = { "code", "message" },
                properties = { code = { type = "string", description = "a stable error code" },
                    message = { type = "string" } } },
            Release = { type = "object", required = { "id" },
                properties = { id = { type = "integer" }, number = { type = "string" },
                    status = { type = "string" }, row_version = { type = "integer" } } },
            DryRun = { type = "object", required = { "allowed", "action" },
                description = "The report of an action tried with dry_run=true and rolled back",
                properties = { allowed = { type = "boolean" }, action = { type = "string" },
                    from = { type = "string" }, to = { type = "string" },
                    code = { type = "string", description = "when refused: the code the action would raise" },
                    reason = { type = "string", description = "when refused: the message the action would raise" },
                    missing = { type = "array", items = { type = "string" } } } },
        },
        responses = responses,
        headers = headers,
    }
    if used.if_match then
        components.parameters = { IfMatch = { name = "If-Match", ["in"] = "header", required = false,
            description = "The ETag last read (\"v3\"): the write is refused with 412 when the release has "
                .. "changed since; \"*\" or none: no check",
            schema = { type = "string" } } }
    end
    return {
        openapi = "3.1.0",
        info = { title = "relm HTTP API", version = "1",
            description = "The release-management engine relm over HTTP (relm serve --listen). "
                .. "Every endpoint calls the same primitives as the Lua API, as the request's user. "
                .. "Errors are {\"code\": ..., \"message\": ...} with a stable code.",
            license = { name = "MIT", identifier = "MIT" } },
        servers = { { url = "/" } },
        security = { { bearer = {} }, { session = {} } },
        tags = tags,
        paths = paths,
        components = components,
    }
end

-- ---- the server -------------------------------------------------------------

---Start the API on address ("HOST:PORT"; port 0 picks a free one) on the
---engine's loop (relm serve --listen); HTTPS with opts.tls_cert and
---opts.tls_key. Returns "http=HOST:PORT" (or "https=...") as bound.
---@param address string
---@param opts? {max_body?: integer, header_timeout?: number, routes?: string, tls_cert?: string, tls_key?: string}
---@return string where
function M.listen(address, opts)
    if type(address) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.http.listen: argument #1 (address) must be \"HOST:PORT\""), 2)
    end
    opts = opts or {}
    local set = relm.notify.settings()
    local limits = { header_timeout = opts.header_timeout or tonumber(set.http_header_timeout_seconds),
        max_body = opts.max_body or math.tointeger(tonumber(set.http_max_body_bytes)),
        tls_cert = opts.tls_cert, tls_key = opts.tls_key }
    require("relm.web").install(M.routes)
    if opts.routes then
        M.load_routes(opts.routes)
    end
    ensure_compiled()
    local port = require("relm.core.http").listen(address, M.dispatch, limits)
    return (opts.tls_cert and "https=" or "http=") .. (address:match("^(.*):%d+$") or "127.0.0.1") .. ":" .. port
end

---Stop listening (serve is stopping).
function M.stop()
    require("relm.core.http").stop()
end

return M
