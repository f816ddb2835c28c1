-- relm/media.lua: the definitive media library (relm.media): software media
-- with sha256 checksums and licences, hardware spares, CI -> media links.
-- Writes and checksums are C (relm.core.media); reads are plain queries here.
-- Writes (add, update, link, spare_add) need the cmdb permission and raise
-- permission_denied without it (docs/permissions.md).
local i18n = require "relm.i18n"
local C = require "relm.core.media"

local M = {}

---@class relm.media.fields
---@field name string
---@field version? string
---@field sha256? string 64 hex digits
---@field file? string compute sha256 from this file
---@field logical_location? string
---@field physical_location? string
---@field licence_keys? string[]
---@field licence_count? integer
---@field notes? string

local COLUMNS = "id, name, version, sha256, logical_location, physical_location, "
    .. "licence_keys, licence_count, notes, created_at"

-- Turn a media row into the record users see (licence_keys as an array).
local function record(row)
    if row.licence_keys ~= nil then
        local keys = {}
        for i, r in ipairs(relm.sql("SELECT value FROM json_each(?)", row.licence_keys)) do
            keys[i] = r.value
        end
        row.licence_keys = keys
    end
    return setmetatable(row, nil)
end

local function check_name(fn, name)
    if type(name) ~= "string" or name == "" then
        relm.error("invalid_argument", fn .. i18n._(": argument #1 (name) must be a media name, got ")
            .. (name == "" and i18n._("an empty string") or type(name)))
    end
end

---Register a software medium. Give `sha256`, or `file` to compute it (both:
---they must agree, else checksum_mismatch). Raises duplicate, invalid_argument.
---@param t relm.media.fields
---@return table medium
function M.add(t)
    C.add(t)
    return M.get(t.name, t.version or "")
end

---A medium by name and version (nil version: the latest registered).
---Raises not_found.
---@param name string
---@param version? string
---@return table medium
function M.get(name, version)
    check_name("relm.media.get", name)
    local rows = relm.sql("SELECT " .. COLUMNS .. " FROM media WHERE name = ? AND (?2 IS NULL OR version = ?2) "
        .. "ORDER BY id DESC LIMIT 1", name, version)
    if #rows == 0 then
        relm.error("not_found", version and (i18n._("no media '") .. name .. i18n._("' version '") .. version .. "'")
            or (i18n._("no media named '") .. name .. "'"))
    end
    return record(rows[1])
end

---Media, optionally only those called `name`, ordered by name and version.
---@param filter? {name?:string}
---@return table[] media
function M.list(filter)
    if filter ~= nil and type(filter) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.media.list: argument #1 (filter) must be a table, got ")
            .. type(filter))
    end
    local name = filter and filter.name
    local out = {}
    for i, row in ipairs(relm.sql("SELECT " .. COLUMNS .. " FROM media WHERE ?1 IS NULL OR name = ?1 "
        .. "ORDER BY name, version", name)) do
        out[i] = record(row)
    end
    return out
end

---Change fields of a medium (same fields as add, except name/version).
---@param name string
---@param version? string
---@param fields table
---@return table medium
function M.update(name, version, fields)
    check_name("relm.media.update", name)
    C.update(name, version, fields)
    return M.get(name, version)
end

---Check a file (path) or a checksum (64 hex digits) against the registered
---sha256 of the medium. Returns the sha256 when they match; raises
---checksum_mismatch when they do not, no_checksum when none is registered.
---@param name string
---@param version? string
---@param path_or_checksum string
---@return string sha256
function M.verify(name, version, path_or_checksum)
    check_name("relm.media.verify", name)
    return C.verify(name, version, path_or_checksum)
end

---SHA-256 of a file, as 64 lowercase hex digits.
---@param path string
---@return string
M.checksum = C.checksum

---Record that CI `ci` was installed from medium name/version (history is
---written). Raises not_found for the CI or the medium.
---@param ci string
---@param name string
---@param version? string
function M.link(ci, name, version)
    if type(ci) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.media.link: argument #1 (ci) must be a CI name, got ") .. type(ci))
    end
    check_name("relm.media.link", name)
    C.link(ci, name, version)
end

---Forget which medium CI `ci` was installed from.
---@param ci string
function M.unlink(ci)
    if type(ci) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.media.unlink: argument #1 (ci) must be a CI name, got ")
            .. type(ci))
    end
    C.link(ci, nil, nil)
end

---The medium CI `ci` was installed from, or nil.
---@param ci string
---@return table|nil medium
function M.of(ci)
    local rows = relm.sql("SELECT c.id AS ci_id, m.id FROM cis c LEFT JOIN media m ON m.id = c.media_id "
        .. "WHERE c.name = ?", ci)
    if #rows == 0 then
        relm.error("not_found", i18n._("no CI named '") .. tostring(ci) .. "'")
    end
    if rows[1].id == nil then
        return nil
    end
    return record(relm.sql("SELECT " .. COLUMNS .. " FROM media WHERE id = ?", rows[1].id)[1])
end

---Register a hardware spare.
---@param t {name:string, model?:string, serial?:string, location?:string, quantity?:integer, status?:string}
---@return table spare
function M.spare_add(t)
    local id = C.spare_add(t)
    return setmetatable(relm.sql("SELECT * FROM spares WHERE id = ?", id)[1], nil)
end

---Hardware spares, optionally filtered by name, model, location or status.
---@param filter? {name?:string, model?:string, location?:string, status?:string}
---@return table[] spares
function M.spare_list(filter)
    if filter ~= nil and type(filter) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.media.spare_list: argument #1 (filter) must be a table, got ")
            .. type(filter))
    end
    filter = filter or {}
    for k in pairs(filter) do
        if k ~= "name" and k ~= "model" and k ~= "location" and k ~= "status" then
            relm.error("invalid_argument", i18n._("relm.media.spare_list: unknown filter '") .. tostring(k) .. "'")
        end
    end
    local rows = relm.sql("SELECT * FROM spares WHERE (:name IS NULL OR name = :name) "
        .. "AND (:model IS NULL OR model = :model) AND (:location IS NULL OR location = :location) "
        .. "AND (:status IS NULL OR status = :status) ORDER BY name, id", filter)
    local out = {}
    for i, r in ipairs(rows) do
        out[i] = setmetatable(r, nil)
    end
    return out
end

return M
