-- relm/cmdb.lua: relm.cmdb, the configuration management database: CI types,
-- CIs, relationships, history, bulk import/export (writes are C primitives;
-- every write needs the cmdb permission and raises permission_denied
-- without it, checked in C inside its transaction: docs/permissions.md).
local i18n = require "relm.i18n"
local C = require "relm.core.cmdb"
local base = require "relm.core.base"

local sql, rerror = base.sql, base.error

local M = {}

--- Value that clears a field or attribute in update (nil cannot be stored
--- in a Lua table). The same value as cjson.null.
M.null = C.null or (function()
    local ok, cjson = pcall(require, "cjson")
    return ok and cjson.null or nil
end)()

local KINDS = { string = true, integer = true, number = true, boolean = true, date = true, enum = true }
local STD = {
    name = true, type = true, status = true, version = true, serial = true, criticality = true,
    owner_group = true, location = true, media = true,
}

local function check_name(name, fn, arg)
    if type(name) ~= "string" or name == "" then
        rerror("invalid_argument", (i18n._("relm.cmdb.%s: argument '%s' must be a non-empty string, got %s"))
            :format(fn, arg or "name", type(name)), 3)
    end
end

-- The name field of add/update: a non-empty string (the C core would take
-- a number as its text, and the record could then not be read back by it).
local function check_field_name(name, fn)
    if type(name) ~= "string" or name == "" then
        rerror("invalid_field", (i18n._("relm.cmdb.%s: field 'name' must be a non-empty string, got %s"))
            :format(fn, name == "" and i18n._("an empty string") or type(name)), 3)
    end
end

-- The options each function takes: a misspelt one (get{as_of=}) would
-- otherwise be ignored without a word.
local OPTIONS = {
    get = { at = true },
    add = { origin_release = true, origin = true },
    update = { origin_release = true, origin = true },
    remove = { force = true, origin_release = true, origin = true },
    relate = { origin_release = true, origin = true },
    unrelate = { origin_release = true, origin = true },
    import = { format = true, kind = true, on_error = true, origin_release = true, origin = true, progress = true },
    export = { format = true, kind = true, type = true },
}

local function check_opts(opts, fn)
    if opts ~= nil and type(opts) ~= "table" then
        rerror("invalid_argument", (i18n._("relm.cmdb.%s: argument 'opts' must be a table, got %s")):format(fn,
            type(opts)), 3)
    end
    if opts and OPTIONS[fn] then
        require("relm.args").check_keys(opts, OPTIONS[fn], "relm.cmdb." .. fn)
    end
    return opts or {}
end

-- Decode a flat JSON object of scalars into a Lua table with the right Lua
-- types (integers stay integers; cjson would make them floats).
local function decode_object(json)
    local t = {}
    if json == nil or json == "{}" then
        return t
    end
    for _, r in ipairs(sql("SELECT key, value, type FROM json_each(?)", json)) do
        if r.type == "true" then
            t[r.key] = true
        elseif r.type == "false" then
            t[r.key] = false
        elseif r.type == "null" then
            t[r.key] = M.null
        else
            t[r.key] = r.value
        end
    end
    return t
end

-- Decode a history diff {key: [before, after]} into {key = {before, after}}
-- (absent values are nil).
local function decode_diff(json)
    local t = {}
    local rows = sql([[SELECT key,
        json_extract(value, '$[0]') AS b, json_type(value, '$[0]') AS bt,
        json_extract(value, '$[1]') AS a, json_type(value, '$[1]') AS at
        FROM json_each(?)]], json)
    local function conv(v, ty)
        if ty == "true" then return true elseif ty == "false" then return false end
        return v
    end
    for _, r in ipairs(rows) do
        t[r.key] = { conv(r.b, r.bt), conv(r.a, r.at) }
    end
    return t
end

-- Flatten {attributes = {...}} into the top level, refusing a key given both
-- ways. Returns a new table.
local function flatten(fields, fn)
    local out = {}
    for k, v in pairs(fields) do
        if k ~= "attributes" then
            out[k] = v
        end
    end
    local attrs = fields.attributes
    if attrs ~= nil then
        if type(attrs) ~= "table" then
            rerror("invalid_argument", (i18n._("relm.cmdb.%s: field 'attributes' must be a table")):format(fn), 3)
        end
        for k, v in pairs(attrs) do
            if out[k] ~= nil then
                rerror("invalid_argument",
                    (i18n._("relm.cmdb.%s: '%s' given both flat and in attributes")):format(fn, k), 3)
            end
            if STD[k] then
                rerror("unknown_attribute",
                    (i18n._("relm.cmdb.%s: '%s' is a standard field, not an attribute")):format(fn, k), 3)
            end
            out[k] = v
        end
    end
    return out
end

-- Raise invalid_argument unless value is one of the allowed strings.
local function check_choice(fn, what, value, ...)
    for _, ok in ipairs({ ... }) do
        if value == ok then
            return value
        end
    end
    local want = '"' .. table.concat({ ... }, '" or "') .. '"'
    rerror("invalid_argument", (i18n._("relm.cmdb.%s: %s must be %s, got %s")):format(fn, what, want,
        tostring(value)), 3)
end

-- Call a C primitive. A relm error it raises is raised again as if by the
-- caller of the public function (level 3: call, the public function, its
-- caller), so that `where` names the user's script rather than this file.
-- Public functions must not tail-call this (that would remove their level).
-- " (did you mean 'crm-db'?)" for a CI name that does not exist: the names
-- equal to it but for case and '_', '-' or ' ' (crm_db for crm-db), else
-- up to three that start with it. Only on the error path, so a scan of the
-- CIs is cheap enough; "" when nothing is close.
local function ci_hint(name)
    if #name == 0 or #name > 200 then
        return ""
    end
    local rows = sql([[SELECT name FROM cis WHERE name <> ?1
        AND replace(replace(lower(name), '_', '-'), ' ', '-') = replace(replace(lower(?1), '_', '-'), ' ', '-')
        ORDER BY name LIMIT 3]], name)
    if #rows == 0 and utf8.len(name) and utf8.len(name) >= 3 then
        rows = sql("SELECT name FROM cis WHERE substr(name, 1, length(?1)) = ?1 AND name <> ?1 ORDER BY name LIMIT 3",
            name)
    end
    if #rows == 0 then
        return ""
    end
    local names = {}
    for i, r in ipairs(rows) do
        names[i] = "'" .. r.name .. "'"
    end
    return " (did you mean " .. table.concat(names, ", ", 1, #names - 1)
        .. (#names > 1 and " or " or "") .. names[#names] .. "?)"
end

---" (did you mean 'crm-db'?)" for CI name `name` that does not exist, or
---"" when no CI's name is close: for a script's own "no CI named" errors,
---as relm.release.relate gives it.
---@param name string
---@return string
M.ci_hint = ci_hint

-- err with the hint of ci_hint when it is "no CI named 'x'" (the same
-- error, its where kept).
local function with_ci_hint(err)
    if base.is_error(err) and err.code == "not_found" and type(err.message) == "string" then
        local missing = i18n.match(err.message, "no CI named '%s'")
        if missing then
            err.message = err.message .. ci_hint(missing)
        end
    end
    return err
end

local function call(fn, ...)
    local r = table.pack(pcall(fn, ...))
    if r[1] then
        return table.unpack(r, 2, r.n)
    end
    if base.is_error(r[2]) then
        rerror(r[2].code, with_ci_hint(r[2]).message, 3)
    end
    error(r[2], 0)
end

local function origin_of(opts)
    if opts.origin_release ~= nil or opts.origin ~= nil then
        return { origin_release = opts.origin_release, origin = opts.origin }
    end
    return nil
end

-- ---------------------------------------------------------------- types

---@class relm.cmdb.attr_def
---@field kind "string"|"integer"|"number"|"boolean"|"date"|"enum"
---@field required? boolean
---@field default? any
---@field values? string[]

--- Create a CI type or extend it with new attributes. Idempotent; an
--- existing attribute keeps its kind (a different kind raises `conflict`).
---@param def {name: string, description?: string, attributes?: table<string, string|relm.cmdb.attr_def>}
---@return table type the type as relm.cmdb.type(name) shows it
function M.define_type(def)
    if type(def) ~= "table" then
        rerror("invalid_argument", i18n._("relm.cmdb.define_type: argument must be a table {name=, attributes=}"), 2)
    end
    check_name(def.name, "define_type")
    local attrs, list = def.attributes or {}, {}
    if type(attrs) ~= "table" then
        rerror("invalid_argument", i18n._("relm.cmdb.define_type: 'attributes' must be a table"), 2)
    end
    local names = {}
    for k in pairs(attrs) do
        if type(k) ~= "string" then
            rerror("invalid_argument", i18n._("relm.cmdb.define_type: attribute names must be strings"), 2)
        end
        names[#names + 1] = k
    end
    table.sort(names)
    for _, k in ipairs(names) do
        local a = attrs[k]
        if type(a) == "string" then
            a = { kind = a }
        elseif type(a) ~= "table" then
            rerror("invalid_argument",
                (i18n._("relm.cmdb.define_type: attribute '%s' must be a kind name or a table {kind=}")):format(k), 2)
        end
        local kind = a.kind or (a.values and "enum")
        if not KINDS[kind] then
            rerror("invalid_argument", (i18n._("relm.cmdb.define_type: attribute '%s': unknown kind '%s' ")
                .. i18n._("(string, integer, number, boolean, date, enum)"))
                :format(k, tostring(kind)), 2)
        end
        list[#list + 1] = { name = k, kind = kind, required = a.required and true or false,
                            default = a.default, values = a.values }
    end
    call(C.define_type, def.name, def.description, list)
    return M.type(def.name)
end

--- The type `name` with its attribute schema; raises unknown_type.
---@param name string
---@return table
function M.type(name)
    check_name(name, "type")
    local t = sql("SELECT id, name, description FROM ci_types WHERE name = ?", name)[1]
    if not t then
        rerror("unknown_type", (i18n._("no CI type named '%s'")):format(name), 2)
    end
    local attrs = {}
    for _, r in ipairs(sql([[SELECT name, kind, required, default_value, enum_values
            FROM ci_type_attrs WHERE type_id = ? ORDER BY position, name]], t.id)) do
        local a = { name = r.name, kind = r.kind, required = r.required == 1 }
        if r.default_value then
            a.default = decode_object('{"v":' .. r.default_value .. '}').v
        end
        if r.enum_values then
            a.values = {}
            for _, v in ipairs(sql("SELECT value FROM json_each(?) ORDER BY key", r.enum_values)) do
                a.values[#a.values + 1] = v.value
            end
        end
        attrs[#attrs + 1] = a
    end
    local n = sql("SELECT count(*) AS n FROM cis WHERE type_id = ?", t.id)[1].n
    return { name = t.name, description = t.description, attributes = attrs, count = n }
end

--- Every CI type, by name.
---@return table[]
function M.types()
    local out = {}
    for _, r in ipairs(sql("SELECT name FROM ci_types ORDER BY name")) do
        out[#out + 1] = M.type(r.name)
    end
    return out
end

-- -------------------------------------------------- relationship types

--- Create a relationship type or change which way impact flows along it.
---@param def {name: string, impact?: "forward"|"reverse"|"both", description?: string}
---@return table
function M.define_relation(def)
    if type(def) ~= "table" then
        rerror("invalid_argument", i18n._("relm.cmdb.define_relation: argument must be a table {name=, impact=}"), 2)
    end
    check_name(def.name, "define_relation")
    call(C.define_relation, def.name, def.impact, def.description)
    return sql("SELECT name, impact, description FROM rel_types WHERE name = ?", def.name)[1]
end

--- Every relationship type: {name=, impact=, description=}.
---@return table[]
function M.relation_types()
    return sql("SELECT name, impact, description FROM rel_types ORDER BY name")
end
M.relations_types = M.relation_types

-- ----------------------------------------------------------------- CIs

local RECORD_SQL = [[SELECT c.id, c.name, t.name AS type, c.status, c.version, c.serial,
    c.criticality, g.name AS owner_group, c.location,
    CASE WHEN m.id IS NULL THEN NULL WHEN m.version = '' THEN m.name
         ELSE m.name || '@' || m.version END AS media,
    c.attributes, c.created_at, c.updated_at
    FROM cis c JOIN ci_types t ON t.id = c.type_id
    LEFT JOIN groups g ON g.id = c.owner_group_id
    LEFT JOIN media m ON m.id = c.media_id]]

-- A record from a RECORD_SQL row: the fields, the attributes both flat and
-- under `attributes`.
local function record(r)
    local attrs = decode_object(r.attributes)
    local rec = {}
    for k, v in pairs(r) do
        rec[k] = v
    end
    for k, v in pairs(attrs) do
        rec[k] = v
    end
    rec.attributes = attrs
    return rec
end

-- The id of the CI `name` and its current RECORD_SQL row (nil when it was
-- removed: then the id is that of the last CI of that name in the history).
local function locate(name, level)
    local cur = sql(RECORD_SQL .. " WHERE c.name = ?", name)[1]
    if cur then
        return cur.id, cur
    end
    local r = sql("SELECT ci_id FROM ci_history WHERE ci_name = ? ORDER BY id DESC LIMIT 1", name)[1]
    if not r then
        rerror("not_found", (i18n._("no CI named '%s'")):format(name) .. ci_hint(name), level + 1)
    end
    return r.ci_id, nil
end

-- Rebuild a CI's state by undoing, newest first, the history rows that
-- `later` selects (rows ordered by id DESC), starting from the current
-- record (cur, or nothing for a removed CI, whose remove row restores it).
-- Returns the state {fields..., attributes = {...}} and whether the CI
-- existed at that point.
local function undo(cur, rows)
    local rec = cur and record(cur) or { attributes = {} }
    local existed = cur ~= nil
    for _, h in ipairs(rows) do
        if h.action == "create" then
            existed = false
        elseif h.action == "remove" or h.action == "update" then
            existed = true
            for k, pair in pairs(decode_diff(h.diff)) do
                if STD[k] then
                    rec[k] = pair[1]
                else
                    rec.attributes[k] = pair[1]
                end
            end
        end
    end
    return rec, existed
end

-- The CI as it was at `at` (normalised timestamp), undoing later history.
local function get_at(name, at)
    local id, cur = locate(name, 3)
    -- The history rows after `at`, plus the creation an import batch still
    -- tells (it comes before every row of the CI).
    local rec, existed = undo(cur, sql([[
        SELECT action, diff, at, id FROM ci_history WHERE ci_id = :id AND at > :at
        UNION ALL
        SELECT 'create', '{}', b.at, 0 FROM cis c JOIN ci_batches b ON b.id = c.batch_id
         WHERE c.id = :id AND b.at > :at
        ORDER BY 3 DESC, 4 DESC]], { id = id, at = at }))
    if not existed then
        rerror("not_found", (i18n._("CI '%s' did not exist at %s")):format(name, at), 3)
    end
    -- Only the standard fields and the rebuilt attributes: rec also holds
    -- the current attributes flat (from record()), which undo does not touch.
    local out = { attributes = {} }
    for k in pairs(STD) do out[k] = rec[k] end
    for k, v in pairs(rec.attributes) do
        out[k] = v
        out.attributes[k] = v
    end
    out.as_of, out.id = at, id
    return out
end

-- The full diff of a create recorded as {} (a bulk import's, hid = 0 while
-- its batch still tells it): the state right after it is the current one
-- with every later row undone.
local function create_diff(id, cur, hid, hat)
    -- Later means later in time (a deferred create is written after rows
    -- that followed it), then in id.
    local rec = undo(cur, sql([[SELECT action, diff FROM ci_history
        WHERE ci_id = :id AND (at > :at OR (at = :at AND id > :hid))
        ORDER BY at DESC, id DESC]], { id = id, at = hat, hid = hid or 0 }))
    local diff = {}
    for k in pairs(STD) do
        if rec[k] ~= nil then diff[k] = { nil, rec[k] } end
    end
    for k, v in pairs(rec.attributes) do
        diff[k] = { nil, v }
    end
    return diff
end

-- Normalise a time (ISO 8601 text or Unix seconds) to the stored format.
local function norm_time(at)
    local r
    if type(at) == "number" then
        r = sql("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', ?, 'unixepoch') AS t", at)[1]
    elseif type(at) == "string" then
        r = sql("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', ?) AS t", at)[1]
    end
    if not r or not r.t then
        rerror("invalid_argument", (i18n._("relm.cmdb.get: 'at' must be an ISO 8601 time or Unix seconds, got %s"))
            :format(tostring(at)), 3)
    end
    return r.t
end

--- The CI `name` as a record: fields, attributes (flat and under
--- `attributes`), created_at, updated_at. With {at = time}: as it was then.
--- Raises not_found.
---@param name string
---@param opts? {at?: string|number}
---@return table
function M.get(name, opts)
    check_name(name, "get")
    opts = check_opts(opts, "get")
    if opts.at ~= nil then
        local r = get_at(name, norm_time(opts.at))
        return r
    end
    local r = sql(RECORD_SQL .. " WHERE c.name = ?", name)[1]
    if not r then
        rerror("not_found", (i18n._("no CI named '%s'")):format(name) .. ci_hint(name), 2)
    end
    return record(r)
end

--- Add a CI. Attributes are given flat (cpu = 8) or under attributes = {}.
--- Raises unknown_type, unknown_attribute, invalid_attribute,
--- missing_attribute, invalid_field, duplicate.
---@param fields {type: string, name: string, status?: string, version?: string, serial?: string,
---  criticality?: string, owner_group?: string, location?: string, media?: string, attributes?: table}
---@param opts? {origin_release?: integer, origin?: string}
---@return table record the stored CI
function M.add(fields, opts)
    if type(fields) ~= "table" then
        rerror("invalid_argument", i18n._("relm.cmdb.add: argument must be a table {type=, name=, ...}"), 2)
    end
    opts = check_opts(opts, "add")
    if fields.type == nil then
        rerror("invalid_field", i18n._("relm.cmdb.add: field 'type' is required"), 2)
    end
    if fields.name == nil then
        rerror("invalid_field", i18n._("relm.cmdb.add: field 'name' is required"), 2)
    end
    check_field_name(fields.name, "add")
    check_name(fields.type, "add", "type")
    call(C.add, fields.type, flatten(fields, "add"), origin_of(opts))
    return M.get(fields.name)
end

--- Change fields and attributes of a CI (relm.cmdb.null clears one).
---@param name string
---@param fields table
---@param opts? {origin_release?: integer, origin?: string}
---@return table record the CI after the change
function M.update(name, fields, opts)
    check_name(name, "update")
    if type(fields) ~= "table" then
        rerror("invalid_argument", i18n._("relm.cmdb.update: argument 'fields' must be a table"), 2)
    end
    opts = check_opts(opts, "update")
    if fields.name ~= nil and fields.name ~= M.null then
        check_field_name(fields.name, "update")
    end
    call(C.update, name, flatten(fields, "update"), origin_of(opts))
    return M.get(fields.name or name)
end

--- Remove a CI; refused (in_use) while relationships, release links or
--- change/problem/incident records point at it, unless {force = true}
--- (then those links go too, each recorded in the CI's history).
---@param name string
---@param opts? {force?: boolean, origin_release?: integer, origin?: string}
function M.remove(name, opts)
    check_name(name, "remove")
    opts = check_opts(opts, "remove")
    call(C.remove, name, opts.force and true or false, origin_of(opts))
    return true
end

local ORDERS = {
    name = "c.name", type = "t.name", status = "c.status", created_at = "c.created_at",
    updated_at = "c.updated_at", id = "c.id", version = "c.version", criticality = "c.criticality",
    location = "c.location", serial = "c.serial",
}

local FIND_KEYS = { type = true, status = true, name = true, location = true, criticality = true,
                    attrs = true, limit = true, order = true }

--- CIs matching every given condition, as records.
---@param q? {type?: string, status?: string, name?: string, location?: string, criticality?: string,
---  attrs?: table, limit?: integer, order?: string}
---@return table[]
function M.find(q)
    q = check_opts(q, "find")
    -- A misspelt condition would otherwise match every CI.
    for k in pairs(q) do
        if not FIND_KEYS[k] then
            rerror("invalid_argument", (i18n._("relm.cmdb.find: unknown condition '%s' (type, status, name, ")
                .. i18n._("location, criticality, attrs, limit, order)")):format(tostring(k)), 2)
        end
    end
    local where, args = {}, {}
    local function add(cond, ...)
        where[#where + 1] = cond
        for _, v in ipairs({ ... }) do
            args[#args + 1] = v
        end
    end
    if q.type ~= nil then add("t.name = ?", q.type) end
    if q.status ~= nil then add("c.status = ?", (tostring(q.status):gsub(" ", "_"))) end
    if q.name ~= nil then add("c.name GLOB ?", q.name) end
    if q.location ~= nil then add("c.location = ?", q.location) end
    if q.criticality ~= nil then add("c.criticality = ?", q.criticality) end
    if q.attrs ~= nil then
        if type(q.attrs) ~= "table" then
            rerror("invalid_argument", i18n._("relm.cmdb.find: 'attrs' must be a table"), 2)
        end
        local keys = {}
        for k in pairs(q.attrs) do
            if type(k) ~= "string" or not k:match("^[%a_][%w_]*$") then
                rerror("invalid_argument",
                    (i18n._("relm.cmdb.find: attrs: '%s' is not an attribute name")):format(tostring(k)), 2)
            end
            keys[#keys + 1] = k
        end
        table.sort(keys)
        for _, k in ipairs(keys) do
            local v = q.attrs[k]
            if type(v) == "boolean" then v = v and 1 or 0 end
            add("json_extract(c.attributes, ?) = ?", '$."' .. k .. '"', v)
        end
    end
    local text = RECORD_SQL
    if #where > 0 then
        text = text .. " WHERE " .. table.concat(where, " AND ")
    end
    local order = q.order or "name"
    if type(order) ~= "string" then
        rerror("invalid_argument", i18n._("relm.cmdb.find: 'order' must be a string like \"name\" or \"cpu desc\""), 2)
    end
    local col, dir = order:match("^([%w_]+)%s*(%a*)$")
    dir = (dir or ""):lower()
    if not col or (dir ~= "" and dir ~= "asc" and dir ~= "desc") then
        rerror("invalid_argument", (i18n._("relm.cmdb.find: cannot order by '%s'")):format(order), 2)
    end
    if ORDERS[col] then
        text = text .. " ORDER BY " .. ORDERS[col] .. " " .. dir .. ", c.id"
    else
        text = text .. " ORDER BY json_extract(c.attributes, ?) " .. dir .. ", c.id"
        args[#args + 1] = '$."' .. col .. '"'
    end
    if q.limit ~= nil then
        if math.type(q.limit) ~= "integer" or q.limit < 0 then
            rerror("invalid_argument", i18n._("relm.cmdb.find: 'limit' must be a non-negative integer"), 2)
        end
        text = text .. " LIMIT ?"
        args[#args + 1] = q.limit
    end
    local out = {}
    for i, r in ipairs(sql(text, table.unpack(args))) do
        out[i] = record(r)
    end
    return out
end

-- ------------------------------------------------------- relationships

--- Relate two CIs: `from` depends on `to` (app "runs_on" server).
--- Raises not_found, unknown_relation, duplicate, invalid_argument (self).
---@param from string
---@param kind string
---@param to string
---@param opts? {origin_release?: integer, origin?: string}
function M.relate(from, kind, to, opts)
    check_name(from, "relate", "from")
    check_name(kind, "relate", "kind")
    check_name(to, "relate", "to")
    call(C.relate, from, kind, to, origin_of(check_opts(opts, "relate")))
    return true
end

--- Remove the relationship `from kind to` (not_found when absent).
function M.unrelate(from, kind, to, opts)
    check_name(from, "unrelate", "from")
    check_name(kind, "unrelate", "kind")
    check_name(to, "unrelate", "to")
    call(C.unrelate, from, kind, to, origin_of(check_opts(opts, "unrelate")))
    return true
end

--- Every relationship of a CI, both ways: {from=, kind=, to=, direction=}
--- with direction "out" (name depends on `to`) or "in".
---@param name string
---@return table[]
function M.relations(name)
    check_name(name, "relations")
    local id = sql("SELECT id FROM cis WHERE name = ?", name)[1]
    if not id then
        rerror("not_found", (i18n._("no CI named '%s'")):format(name) .. ci_hint(name), 2)
    end
    return sql([[SELECT f.name AS "from", k.name AS kind, t.name AS "to", 'out' AS direction
          FROM relationships r JOIN cis f ON f.id = r.from_id JOIN cis t ON t.id = r.to_id
          JOIN rel_types k ON k.id = r.kind_id WHERE r.from_id = :id
        UNION ALL
        SELECT f.name, k.name, t.name, 'in'
          FROM relationships r JOIN cis f ON f.id = r.from_id JOIN cis t ON t.id = r.to_id
          JOIN rel_types k ON k.id = r.kind_id WHERE r.to_id = :id
        ORDER BY 4 DESC, 2, 1, 3]], { id = id.id })
end

-- ------------------------------------------------------------- history

local STD_ORDER = { "name", "type", "status", "version", "serial", "criticality", "owner_group", "location", "media" }

-- A one-line reading of a diff for people: "cpu 4→8, location=dc1,
-- note cleared (was x)"; standard fields first, then the rest by name.
-- A relate/unrelate diff (relation set) reads "+runs_on srv1".
local function summary(diff, relation)
    local keys, seen = {}, {}
    for _, k in ipairs(STD_ORDER) do
        if diff[k] then keys[#keys + 1], seen[k] = k, true end
    end
    local rest = {}
    for k in pairs(diff) do
        if not seen[k] then rest[#rest + 1] = k end
    end
    table.sort(rest)
    table.move(rest, 1, #rest, #keys + 1, keys)
    local parts = {}
    for i, k in ipairs(keys) do
        local b, a = diff[k][1], diff[k][2]
        if relation then -- "runs_on" = {nil, "srv1"}: "+runs_on srv1"
            parts[i] = ("%s%s %s"):format(b == nil and "+" or "-", k, tostring(a or b))
        elseif b == nil then
            parts[i] = ("%s=%s"):format(k, tostring(a))
        elseif a == nil then
            parts[i] = ("%s cleared (was %s)"):format(k, tostring(b))
        else
            parts[i] = ("%s %s→%s"):format(k, tostring(b), tostring(a))
        end
    end
    return table.concat(parts, ", ")
end

--- Every change to the CI, oldest first: {at=, actor=, action=, diff=,
--- changes=, origin_release=, origin=}; diff maps each changed field to
--- {before, after}, changes reads it in one line ("cpu 4→8"). Works for
--- removed CIs too. Prints as a table.
---@param name string
---@return table[]
function M.history(name)
    check_name(name, "history")
    local id, cur = locate(name, 2)
    local out = {}
    -- ci_history, plus what a bulk import deferred: the CIs and relationships
    -- it created carry its batch (who, when, origin) instead of rows here.
    for i, r in ipairs(sql([[
        SELECT h.id, h.at, u.name AS actor, h.action, h.diff, h.ci_name AS name,
               h.origin_release_id AS origin_release, h.origin
          FROM ci_history h LEFT JOIN users u ON u.id = h.actor_id
         WHERE h.ci_id = :id
        UNION ALL
        SELECT NULL, b.at, u.name, 'create', '{}', c.name, b.origin_release_id, b.origin
          FROM cis c JOIN ci_batches b ON b.id = c.batch_id LEFT JOIN users u ON u.id = b.actor_id
         WHERE c.id = :id
        UNION ALL
        SELECT NULL, b.at, u.name, 'relate', json_object(k.name, json_array(NULL, t.name)),
               f.name, b.origin_release_id, b.origin
          FROM relationships r JOIN ci_batches b ON b.id = r.batch_id
          JOIN cis f ON f.id = r.from_id JOIN cis t ON t.id = r.to_id
          JOIN rel_types k ON k.id = r.kind_id LEFT JOIN users u ON u.id = b.actor_id
         WHERE r.from_id = :id AND r.batch_id IS NOT NULL
        UNION ALL
        SELECT NULL, b.at, u.name, 'relate', json_object(k.name || ' (in)', json_array(NULL, f.name)),
               t.name, b.origin_release_id, b.origin
          FROM relationships r JOIN ci_batches b ON b.id = r.batch_id
          JOIN cis f ON f.id = r.from_id JOIN cis t ON t.id = r.to_id
          JOIN rel_types k ON k.id = r.kind_id LEFT JOIN users u ON u.id = b.actor_id
         WHERE r.to_id = :id AND r.batch_id IS NOT NULL
        ORDER BY 2, 1]], { id = id })) do
        if r.action == "create" and r.diff == "{}" then
            r.diff = create_diff(id, cur, r.id, r.at)
        else
            r.diff = decode_diff(r.diff)
        end
        r.changes = r.action == "remove" and "(the whole record, in diff)"
            or summary(r.diff, r.action == "relate" or r.action == "unrelate")
        out[i] = r
    end
    return setmetatable(out, { columns = { "at", "actor", "action", "changes", "origin", "origin_release" } })
end

-- ------------------------------------------------------ import, export

--- Import CIs or relationships from a CSV or JSON Lines file. All or
--- nothing unless on_error = "skip" (then also returns the bad rows).
---@param path string
--- `progress(done, total)`, when given, is called at most about 10 times a
--- second and once at the end (done == total): bytes of the file read so
--- far and the file's size. An error it raises stops the import (nothing
--- written) and is raised by import.
---@param opts? {format?: "csv"|"jsonl", kind?: "cis"|"relationships", on_error?: "abort"|"skip",
---  origin_release?: integer, origin?: string, progress?: fun(done: integer, total: integer)}
---@return integer count
---@return table? report with on_error = "skip": {{row=, column=, code=, message=}...}
function M.import(path, opts)
    check_name(path, "import", "path")
    opts = check_opts(opts, "import")
    local format = opts.format or (path:match("%.jsonl$") and "jsonl") or "csv"
    local kind = opts.kind or "cis"
    local on_error = opts.on_error or "abort"
    check_choice("import", "format", format, "csv", "jsonl")
    check_choice("import", "kind", kind, "cis", "relationships")
    check_choice("import", "on_error", on_error, "abort", "skip")
    if opts.progress ~= nil and type(opts.progress) ~= "function" then
        rerror("invalid_argument", (i18n._("relm.cmdb.import: option 'progress' must be a function, got %s"))
            :format(type(opts.progress)), 2)
    end
    -- No callback: on a terminal, a progress line (bytes, rate, ETA) for an
    -- import that takes more than a second; nothing when stderr is a file.
    local progress = opts.progress or require("relm.progress").terminal("import " .. path, "bytes")
    local n, report = call(C.import, path, format, kind, on_error == "skip", origin_of(opts), progress)
    if on_error ~= "skip" then
        return n
    end
    -- Each problem as {row=, column=, code=, message=} (column nil when the
    -- whole row or JSON line is at fault), printed in that column order.
    for _, p in ipairs(report) do
        local code, msg = p.message:match("^([%w_]+): (.*)$")
        p.code, p.message = code, msg or p.message
        if p.column == 0 then p.column = nil end
    end
    return n, setmetatable(report, { columns = { "row", "column", "code", "message" } })
end

--- Export CIs or relationships in the format import reads.
---@param path string
---@param opts? {format?: "csv"|"jsonl", kind?: "cis"|"relationships", type?: string}
---@return integer count
function M.export(path, opts)
    check_name(path, "export", "path")
    opts = check_opts(opts, "export")
    local format = opts.format or (path:match("%.jsonl$") and "jsonl") or "csv"
    local kind = opts.kind or "cis"
    check_choice("export", "format", format, "csv", "jsonl")
    check_choice("export", "kind", kind, "cis", "relationships")
    local n = call(C.export, path, format, kind, opts.type)
    return n
end

-- ---------------------------------------------------------- composition
-- relm.cmdb is this file's functions, plus every function of every C module
-- preloaded as "relm.core.cmdb_*" (sorted by name), plus the functions of
-- the Lua module relm.cmdb_graph when it exists. Other parts of the CMDB
-- (impact, pictures, baselines) plug in that way without editing this file.
-- The functions defined above are never replaced; relm.cmdb_graph may replace
-- functions of the C modules (to wrap them). relm.cmdb_graph must not require
-- "relm.cmdb" while loading (that would be a require loop); it may do so
-- inside its functions.
do
    local mine = {}
    for k in pairs(M) do mine[k] = true end
    local names = {}
    for k in pairs(package.preload) do
        if type(k) == "string" and k:sub(1, #"relm.core.cmdb_") == "relm.core.cmdb_" then
            names[#names + 1] = k
        end
    end
    table.sort(names)
    for _, k in ipairs(names) do
        local mod = require(k)
        if type(mod) == "table" then
            for fname, fn in pairs(mod) do
                if type(fn) == "function" and M[fname] == nil then
                    -- A misspelt CI name (relm.cmdb.impact("crm_db")) gets
                    -- the hint as in this file's own functions.
                    local function wrapper(...)
                        local r = table.pack(pcall(fn, ...))
                        if r[1] then
                            return table.unpack(r, 2, r.n)
                        end
                        error(with_ci_hint(r[2]), 0)
                    end
                    M[fname] = wrapper
                    require("relm.help").wrapped[wrapper] = fn -- help(relm.cmdb.impact) finds fn's doc
                end
            end
        end
    end
    if package.searchpath("relm.cmdb_graph", package.path) then
        local mod = require "relm.cmdb_graph"
        if type(mod) == "table" then
            for fname, fn in pairs(mod) do
                if type(fn) == "function" and not mine[fname] then
                    M[fname] = fn
                end
            end
        end
    end
end

return M
