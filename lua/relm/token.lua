-- relm/token.lua: named API tokens for the HTTP API (relm serve --listen):
-- made once and shown once, stored as a hash, listed, revoked.
local C = require "relm.core.token"
local i18n = require "relm.i18n"

local M = {}

-- An expiry as epoch seconds: a number of seconds since the epoch, or
-- an ISO date/time "2027-01-31" / "2027-01-31T12:00:00Z".
local function expiry(v)
    if v == nil then
        return 0
    end
    if math.type(v) == "integer" then
        return v
    end
    if type(v) == "string" then
        local y, mo, d, h, mi, s = v:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)T?(%d*):?(%d*):?(%d*)Z?$")
        if y then
            local row = relm.sql("SELECT CAST(strftime('%s', ?) AS INTEGER) AS t",
                ("%s-%s-%s %s:%s:%s"):format(y, mo, d, h ~= "" and h or "00", mi ~= "" and mi or "00",
                    s ~= "" and s or "00"))[1]
            if row.t then
                return row.t
            end
        end
    end
    relm.error("invalid_argument", i18n._("relm.token.create: expires must be epoch seconds or a date "
        .. "such as \"2027-01-31\""), 3)
end

---Make a named API token: relm.token.create{user=, name=, expires=}.
---user defaults to the acting user; making one for someone else needs an
---administrator. expires: epoch seconds or an ISO date (default: never).
---Returns the token (shown this once: only its hash is kept) and its id.
---Raises invalid_argument, not_found (user), duplicate (a live token of
---that name), permission_denied.
---@param spec {user?: string, name: string, expires?: integer|string}
---@return string token
---@return integer id
function M.create(spec)
    if type(spec) ~= "table" then
        relm.error("invalid_argument",
            i18n._("relm.token.create: argument #1 must be a table {user=, name=, expires=}"), 2)
    end
    if type(spec.name) ~= "string" or spec.name == "" then
        relm.error("invalid_argument", i18n._("relm.token.create: name must be a non-empty string"), 2)
    end
    if spec.user ~= nil and type(spec.user) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.token.create: user must be a user name"), 2)
    end
    for k in pairs(spec) do
        if k ~= "user" and k ~= "name" and k ~= "expires" then
            relm.error("invalid_argument", (i18n._("relm.token.create: unknown field '%s'")):format(tostring(k)), 2)
        end
    end
    return C.create(spec.user or relm.whoami(), spec.name, expiry(spec.expires))
end

---The tokens of user (default: the acting user; anyone's, or every
---user's with "*", for an administrator): {id=, user=, name=, kind=,
---created_at=, expires_at=, revoked_at=}. Never the token itself.
---@param user? string
---@return table[]
function M.list(user)
    if user ~= nil and type(user) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.token.list: argument #1 (user) must be a user name"), 2)
    end
    user = user or relm.whoami()
    if user ~= relm.whoami() and not relm.user.is_admin() then
        relm.error("permission_denied", (i18n._("only an administrator lists another user's tokens")), 2)
    end
    return relm.sql([[SELECT t.id, u.name AS user, t.name, t.kind, t.created_at,
            CASE WHEN t.expires_at IS NULL THEN NULL
                 ELSE strftime('%Y-%m-%dT%H:%M:%SZ', t.expires_at, 'unixepoch') END AS expires_at,
            t.revoked_at
        FROM tokens t JOIN users u ON u.id = t.user_id
        WHERE (? = '*' OR u.name = ?) ORDER BY t.id]], user, user)
end

---Revoke token id (its owner or an administrator). Raises not_found,
---permission_denied.
---@param id integer
function M.revoke(id)
    if math.type(id) ~= "integer" then
        relm.error("invalid_argument", i18n._("relm.token.revoke: argument #1 (id) must be a token id"), 2)
    end
    C.revoke(id)
end

---Set user's password for the web login (argon2id; only the hash is
---kept); nil clears it. The user or an administrator.
---@param user string
---@param password string|nil
function M.set_password(user, password)
    if type(user) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.user.set_password: argument #1 (user) must be a user name"), 2)
    end
    if password ~= nil and type(password) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.user.set_password: argument #2 (password) must be a string"), 2)
    end
    C.set_password(user, password)
end

return M
