-- relm/related.lua: what a release is linked to (CIs, changes, problems,
-- incidents, known errors, knowledge, documents, media, projects),
-- the minimal records of those objects, the CI updates a closing release
-- makes and the impact of a release. relm.release.relate/unrelate/related/
-- impact/for_ci are this module's functions. See docs/related.md.
local i18n = require "relm.i18n"
local C = require "relm.core.related"

local M = {}

--- Kinds of link, in the order related() lists them.
M.kinds = { "ci", "change", "problem", "incident", "known_error", "knowledge", "document", "media", "project" }
local KIND = {}
for _, k in ipairs(M.kinds) do
    KIND[k] = true
end
--- Kinds that are records (numbered, with a title, a status and CIs).
M.record_kinds = { "change", "problem", "incident", "known_error", "knowledge", "document", "project" }
local RECORD = {}
for _, k in ipairs(M.record_kinds) do
    RECORD[k] = true
end

--- CI types whose CIs count as business services in impact().
M.service_types = { "service", "business_service" }

--- What a closing release does to its CIs when its workflow does not say:
--- status before -> status after. A workflow says with `ci_on_close`
--- (the same shape; false or {} to leave CIs alone).
M.default_ci_on_close = { in_development = "active" }

-- Raise a relm error. Its position is the user's line however deep this
-- is called from: relm errors skip the engine's own frames (core/host.c).
local function fail(code, msg)
    relm.error(code, msg, 1)
end

-- Release id from an id or a number ("REL-2026-000001").
local function release_id(id, fn)
    if math.type(id) == "integer" then
        return id
    end
    if type(id) ~= "string" then
        fail("invalid_argument", fn .. i18n._(": argument #1 (release) must be a release id or number, got ")
            .. type(id))
    end
    local row = relm.sql("SELECT id FROM releases WHERE number = ?", id)[1]
    if not row then
        fail("not_found", i18n._("no release numbered '") .. id .. "'")
    end
    return row.id
end

local function check_kind(kind, fn)
    if type(kind) ~= "string" or not KIND[kind] then
        fail("invalid_argument", (i18n._("%s: argument #2 (kind) must be one of %s, got %s"))
            :format(fn, table.concat(M.kinds, ", "), tostring(kind)))
    end
end

local function check_target(target, fn)
    if type(target) ~= "string" or target == "" then
        fail("invalid_argument", fn .. i18n._(": argument #3 (target) must be a name or number, got ") .. type(target))
    end
end

-- Raise err again; a "no CI named 'x'" for a CI link gets the CMDB's
-- " (did you mean 'crm-db'?)" as relm.cmdb.get gives it (error path only).
local function with_ci_hint(err, kind)
    local missing = kind == "ci" and relm.is_error(err, "not_found") and type(err.message) == "string"
        and i18n.match(err.message, "no CI named '%s'")
    if missing then
        fail("not_found", err.message .. require("relm.cmdb").ci_hint(missing))
    end
    error(err, 0)
end

-- What the release touches changed: the engine asks the approval rules
-- again when the release waits at an approval point (relm.approval).
local function reask(rid)
    local A = require "relm.core.approval"
    if A.reask then
        A.reask(rid)
    end
end

---Link release `id` to `target` of `kind` ("ci" + a CI name; "change",
---"problem", "incident", "known_error", "knowledge", "document", "project"
---+ the record's number; "media" + "name" or "name@version"), with
---opts.note. Relating a change also links its CIs. Returns the number of
---CIs linked. Raises not_found (release or target), duplicate (already
---linked), not_allowed (closed or cancelled release), permission_denied.
---@param id integer|string release id or number
---@param kind string
---@param target string
---@param opts? {note?: string}
---@return integer cis_linked
function M.relate(id, kind, target, opts)
    local fn = "relm.release.relate"
    local rid = release_id(id, fn)
    check_kind(kind, fn)
    check_target(target, fn)
    if opts ~= nil and type(opts) ~= "table" then
        fail("invalid_argument", fn .. i18n._(": argument #4 (opts) must be a table {note=}"))
    end
    opts = opts or {}
    for k in pairs(opts) do
        if k ~= "note" then
            fail("invalid_argument", fn .. i18n._(": unknown option '") .. tostring(k) .. i18n._("' (note)"))
        end
    end
    if opts.note ~= nil and type(opts.note) ~= "string" then
        fail("invalid_argument", fn .. i18n._(": note must be a string"))
    end
    local ok, n = pcall(relm.tx, function()
        local linked = C.relate(rid, kind, target, opts.note)
        reask(rid)
        return linked
    end)
    if not ok then
        with_ci_hint(n, kind)
    end
    return n
end

---Remove the link between release `id` and `target` of `kind`; a change
---takes away the CIs it brought. Raises not_found when there is no link.
---@param id integer|string
---@param kind string
---@param target string
function M.unrelate(id, kind, target)
    local fn = "relm.release.unrelate"
    local rid = release_id(id, fn)
    check_kind(kind, fn)
    check_target(target, fn)
    local ok, err = pcall(relm.tx, function()
        C.unrelate(rid, kind, target)
        reask(rid)
    end)
    if not ok then
        with_ci_hint(err, kind)
    end
end

---What release `id` is linked to: an array of {kind=, target=, title=,
---status=, note=, via=, at=} (CIs first, then the other kinds; `via` names
---the change that brought a CI).
---@param id integer|string
---@return table[]
function M.related(id)
    local rid = release_id(id, "relm.release.related")
    local rows = relm.sql([[
        SELECT 'ci' AS kind, c.name AS target, t.name AS title, c.status,
               rc.note, r.number AS via, rc.created_at AS at, 0 AS k
        FROM release_cis rc JOIN cis c ON c.id = rc.ci_id
        JOIN ci_types t ON t.id = c.type_id
        LEFT JOIN records r ON r.id = rc.via_record_id
        WHERE rc.release_id = ?1
        UNION ALL
        SELECT l.kind, coalesce(r.number, m.name || CASE WHEN m.version <> ''
                   THEN '@' || m.version ELSE '' END),
               coalesce(r.title, m.name), r.status, l.note, NULL, l.created_at, l.id
        FROM release_links l LEFT JOIN records r ON r.id = l.record_id
        LEFT JOIN media m ON m.id = l.media_id
        WHERE l.release_id = ?1
        ORDER BY k, at, target]], rid)
    local order = {}
    for i, k in ipairs(M.kinds) do
        order[k] = i
    end
    table.sort(rows, function(a, b)
        if a.kind ~= b.kind then
            return order[a.kind] < order[b.kind]
        end
        return a.target < b.target
    end)
    for _, r in ipairs(rows) do
        r.k = nil
    end
    return setmetatable(rows, { columns = { "kind", "target", "title", "status", "via", "note" } })
end

---The releases linked to CI `name` (directly or through a change): an
---array of {number=, title=, status=, state=, via=, note=}, newest first.
---@param name string CI name
---@return table[]
function M.for_ci(name)
    if type(name) ~= "string" then
        fail("invalid_argument", i18n._("relm.release.for_ci: argument #1 (name) must be a CI name, got ")
            .. type(name))
    end
    local ci = relm.sql("SELECT id FROM cis WHERE name = ?", name)[1]
    if not ci then
        fail("not_found", i18n._("no CI named '") .. name .. "'" .. require("relm.cmdb").ci_hint(name))
    end
    local rows = relm.sql([[
        SELECT r.id, r.number, r.title, r.status, r.state, v.number AS via, rc.note
        FROM release_cis rc JOIN releases r ON r.id = rc.release_id
        LEFT JOIN records v ON v.id = rc.via_record_id
        WHERE rc.ci_id = ? ORDER BY r.id DESC]], ci.id)
    return setmetatable(rows, { columns = { "number", "title", "status", "state", "via", "note" } })
end
M.releases = M.for_ci

---The transition_done hook relm.release calls (M.extensions) inside every
---action's transaction once the action is written: when the action closed
---the release, apply the workflow's CI policy (ci_on_close) to its CIs, so
---the closure and the CI updates commit or fail together.
function M.transition_done(before, after, wf)
    if after.status ~= "closed" or before.status == "closed" then
        return
    end
    local policy = wf and wf.ci_on_close
    if policy == nil then
        policy = M.default_ci_on_close
    end
    if policy then
        C.close_cis(after.id, policy)
    end
end

-- "1 CI", "3 CIs".
-- How an impact prints in the REPL, for a CAB: what the release touches
-- and what can break, a line per touched CI with the business services it
-- reaches, then every service reached (the fields hold everything).
local IMPACT_MT = { __name = "relm.release_impact", columns = { "ci", "type", "status", "reaches", "services" } }
IMPACT_MT.__tostring = function(imp)
    local pretty = require "relm.pretty"
    local width = pretty.width and pretty.width > 0 and pretty.width or 80
    local head = i18n._("%s touches %s; %s can be affected (%s)")
        :format(imp.release, i18n.n_("%d CI", "%d CIs", imp.touched):format(imp.touched),
            i18n.n_("%d CI", "%d CIs", imp.impacted):format(imp.impacted),
            i18n.n_("%d business service", "%d business services", #imp.services):format(#imp.services))
    local out = { #head > width and (head:gsub("; ", "\n", 1)) or head }
    if imp.touched > 0 then
        local rows = {}
        for i, g in ipairs(imp.by_ci) do
            rows[i] = { ["touched CI"] = g.ci, type = g.type, status = g.status, reaches = g.count,
                ["services reached"] = #g.services == 0 and "-"
                    or (#g.services > 3 and #g.services .. ": " or "") .. table.concat(g.services, ", ") }
        end
        out[2] = pretty.table(rows, { "touched CI", "type", "status", "reaches", "services reached" },
            { width = width, max_rows = pretty.max_rows, labels = {
                ["touched CI"] = i18n._("touched CI"), type = i18n._("type"), status = i18n._("status"),
                reaches = i18n._("reaches"), ["services reached"] = i18n._("services reached") } })
    end
    if #imp.services > 0 then
        -- Every service, wrapped; a CMDB with hundreds stops after a
        -- screenful and says how many more imp.services holds.
        local label, max_lines = i18n._("services:"), 8
        local line, lines, shown = label, {}, 0
        for i, sv in ipairs(imp.services) do
            local piece = sv.name .. (i < #imp.services and "," or "")
            if line ~= label and pretty.display_width(line) + #piece + 1 > width then
                lines[#lines + 1] = line
                line = string.rep(" ", pretty.display_width(label))
                if #lines == max_lines - 1 then
                    break
                end
            end
            line = line .. " " .. piece
            shown = i
        end
        if shown < #imp.services then
            line = line .. i18n._(" … %d more (.services)"):format(#imp.services - shown)
        end
        lines[#lines + 1] = line
        out[#out + 1] = table.concat(lines, "\n")
    end
    return table.concat(out, "\n")
end

---The impact of release `id`: the union of the "up" impact of every CI it
---touches, grouped by the CI that causes it, with the business services
---reached (CIs whose type is in relm.related.service_types). opts.depth
---limits the hops (default unlimited), opts.limit the rows listed per CI
---(default 200; counts stay exact). Returns {release=, touched=,
---impacted=, services={{name=, type=, status=, causes={...}}}, by_ci=
---{{ci=, type=, status=, count=, truncated=, services={...}, impacted=
---{{name=, type=, status=, depth=, through=}}}}}. Prints in the REPL as
---a line per touched CI and the services reached.
---@param id integer|string
---@param opts? {depth?: integer, limit?: integer}
---@return table
function M.impact(id, opts)
    local fn = "relm.release.impact"
    local rid = release_id(id, fn)
    if opts ~= nil and type(opts) ~= "table" then
        fail("invalid_argument", fn .. i18n._(": argument #2 (opts) must be a table {depth=, limit=}"))
    end
    opts = opts or {}
    for k, v in pairs(opts) do
        if k ~= "depth" and k ~= "limit" then
            fail("invalid_argument", fn .. i18n._(": unknown option '") .. tostring(k) .. i18n._("' (depth, limit)"))
        end
        if math.type(v) ~= "integer" or v < 0 then
            fail("invalid_argument", fn .. ": " .. k .. i18n._(" must be a non-negative integer"))
        end
    end
    -- Share the CMDB's in-memory graph: loading its module makes it.
    local G = require "relm.core.cmdb_graph"
    G.graph_stats()
    local types = {}
    for i, t in ipairs(M.service_types) do
        types[i] = '"' .. tostring(t):gsub('[\\"]', "\\%0") .. '"'
    end
    local r = C.impact(rid, opts.depth or -1, opts.limit or 200, "[" .. table.concat(types, ",") .. "]")
    local number = relm.sql("SELECT number FROM releases WHERE id = ?", rid)[1].number
    local causes = {}
    for _, g in ipairs(r.by_ci) do
        table.sort(g.services)
        for _, s in ipairs(g.services) do
            local list = causes[s] or {}
            list[#list + 1] = g.ci
            causes[s] = list
        end
    end
    for _, s in ipairs(r.services) do
        s.causes = causes[s.name] or {}
    end
    table.sort(r.services, function(a, b) return a.name < b.name end)
    -- The array part holds the summary's rows, flat, so that relm.mode
    -- csv/json/... and relm.export write them (IMPACT_MT.columns).
    local imp = {
        release = number, touched = #r.by_ci, impacted = r.distinct,
        services = r.services, by_ci = r.by_ci,
    }
    for i, g in ipairs(r.by_ci) do
        imp[i] = { ci = g.ci, type = g.type, status = g.status, reaches = g.count,
            services = table.concat(g.services, ", ") }
    end
    return setmetatable(imp, IMPACT_MT)
end

-- ---- records --------------------------------------------------------------

local RECORD_FIELDS = { number = true, title = true, description = true, status = true, url = true, cis = true }

local function check_record_kind(kind, fn)
    if type(kind) ~= "string" or not RECORD[kind] then
        fail("invalid_argument", (i18n._("%s: kind must be one of %s, got %s"))
            :format(fn, table.concat(M.record_kinds, ", "), tostring(kind)))
    end
end

local function record_row(kind, number)
    local r = relm.sql([[SELECT id, kind, number, title, description, status, url,
            created_at, updated_at FROM records WHERE kind = ? AND number = ?]], kind, number)[1]
    if not r then
        return nil
    end
    local cis = {}
    for i, c in ipairs(relm.sql([[SELECT c.name FROM record_cis rc JOIN cis c ON c.id = rc.ci_id
            WHERE rc.record_id = ? ORDER BY c.name]], r.id)) do
        cis[i] = c.name
    end
    r.cis = cis
    return r
end

---Add a record: spec {kind=, title=, number=?, description=?, status=?
---(default "open"), url=?, cis={names}?}. The number defaults to the
---next of its kind (CHG-000001, PRB-, INC-, KE-, KB-, DOC-, PRJ-).
---Raises invalid_field, not_found (CI), duplicate (number or CI twice).
---@param spec table
---@return table record
function M.add(spec)
    if type(spec) ~= "table" then
        fail("invalid_argument", i18n._("relm.related.add: argument #1 must be a table {kind=, title=, ...}"))
    end
    local kind = spec.kind
    check_record_kind(kind, "relm.related.add")
    local fields = {}
    for k, v in pairs(spec) do
        if k ~= "kind" then
            fields[k] = v
        end
    end
    local _, number = C.record_add(kind, fields)
    return record_row(kind, number)
end

---Change a record's fields (title, description, status, url, number; cis
---replaces its CI list).
---@param kind string
---@param number string
---@param fields table
---@return table record
function M.update(kind, number, fields)
    check_record_kind(kind, "relm.related.update")
    if type(number) ~= "string" then
        fail("invalid_argument", i18n._("relm.related.update: argument #2 (number) must be a string"))
    end
    if type(fields) ~= "table" then
        fail("invalid_argument", i18n._("relm.related.update: argument #3 (fields) must be a table"))
    end
    C.record_update(kind, number, fields)
    return record_row(kind, fields.number or number)
end

---A record by kind and number (nil when there is none).
---@param kind string
---@param number string
---@return table?
function M.get(kind, number)
    check_record_kind(kind, "relm.related.get")
    return record_row(kind, number)
end

---Records of kind, oldest first; opts.status filters.
---@param kind string
---@param opts? {status?: string}
---@return table[]
function M.list(kind, opts)
    check_record_kind(kind, "relm.related.list")
    opts = opts or {}
    local rows = relm.sql([[SELECT number, title, status, url, created_at FROM records
        WHERE kind = ?1 AND (?2 IS NULL OR status = ?2) ORDER BY id]], kind, opts.status)
    return setmetatable(rows, { columns = { "number", "title", "status", "url", "created_at" } })
end

---The API of one record kind: add{title=, ...}, get(number),
---update(number, fields), list{status=}. relm.change, relm.problem and
---relm.incident are built with it.
---@param kind string
---@return table
function M.api(kind)
    check_record_kind(kind, "relm.related.api")
    local A = {}
    function A.add(spec)
        if type(spec) ~= "table" then
            fail("invalid_argument", "relm." .. kind .. i18n._(".add: argument #1 must be a table {title=, cis=, ...}"))
        end
        for k in pairs(spec) do
            if not RECORD_FIELDS[k] then
                fail("invalid_field",
                    (i18n._("relm.%s.add: unknown field '%s' (number, title, description, status, url, cis)"))
                    :format(kind, tostring(k)))
            end
        end
        local s = { kind = kind }
        for k, v in pairs(spec) do
            s[k] = v
        end
        return M.add(s)
    end
    function A.get(number)
        return M.get(kind, number)
    end
    function A.update(number, fields)
        return M.update(kind, number, fields)
    end
    function A.list(opts)
        return M.list(kind, opts)
    end
    -- One-line docs for help() (these functions are not written out per kind).
    A.__doc = {
        add = "({title=, number=, description=, status=, url=, cis={...}}) -> table: record a " .. kind,
        get = "(number) -> table?: the " .. kind .. " with that number, or nil",
        update = "(number, fields) -> table: change fields of a " .. kind,
        list = "([{status=}]) -> table[]: every " .. kind .. ", oldest first",
    }
    return A
end

M.releases = M.for_ci

return M
