-- relm/cmdb_graph.lua: pictures of the CMDB (relm.cmdb.dot and .svg), merged
-- into relm.cmdb next to impact() from the C module relm.core.cmdb_graph.
local i18n = require "relm.i18n"
local G = require "relm.core.cmdb_graph"
local base = require "relm.core.base"

local M = {}

-- Fill colours by CI status (Graphviz X11 colour names).
M.status_colours = {
    active = "palegreen",
    deactivated = "gray80",
    in_maintenance = "orange",
    deployment = "lightskyblue",
    homologation = "khaki",
    in_development = "lightcyan",
    archived = "gray95",
    to_validate = "pink",
}

local DEFAULT_DEPTH, DEFAULT_LIMIT = 2, 200

-- A DOT double-quoted string.
local function q(s)
    return '"' .. tostring(s):gsub('[\\"]', "\\%0"):gsub("\n", "\\n") .. '"'
end

local function check(fn, name, opts, allowed)
    if type(name) ~= "string" or name == "" then
        base.error("invalid_argument", fn .. i18n._(": argument #1 (name) must be a CI name, got ") .. type(name))
    end
    if opts ~= nil and type(opts) ~= "table" then
        base.error("invalid_argument", fn .. i18n._(": argument #2 (opts) must be a table, got ") .. type(opts))
    end
    require("relm.args").check_keys(opts or {}, allowed, fn)
    return opts or {}
end

local DOT_OPTS = { direction = true, depth = true, kinds = true, limit = true }

---Graphviz DOT of the neighbourhood of CI `name`: the CIs within `depth`
---hops (default 2) `direction` "up", "down" or "both" (default), at most
---`limit` CIs (default 200), every relationship among them labelled by its
---kind, CIs filled by status, the origin drawn bold with a double border.
---@param name string
---@param opts? {direction?:"up"|"down"|"both", depth?:integer, kinds?:string[], limit?:integer}
---@return string dot
function M.dot(name, opts)
    opts = check("relm.cmdb.dot", name, opts, DOT_OPTS)
    local depth, limit = opts.depth or DEFAULT_DEPTH, opts.limit or DEFAULT_LIMIT
    local res = G.impact(name, { direction = opts.direction or "both", depth = depth,
        kinds = opts.kinds, limit = limit + 1 })
    local truncated = #res > limit
    local origin = base.sql([[SELECT c.id, c.name, t.name AS type, c.status FROM cis c
        JOIN ci_types t ON t.id = c.type_id WHERE c.name = ?]], name)[1]
    local nodes = { origin }
    for i = 1, math.min(#res, limit) do
        nodes[#nodes + 1] = res[i]
    end
    local ids = {}
    for i, n in ipairs(nodes) do
        ids[i] = tostring(n.id)
    end
    local idlist = "[" .. table.concat(ids, ",") .. "]"
    local kindset
    if opts.kinds then
        kindset = {}
        for _, k in ipairs(opts.kinds) do
            kindset[k] = true
        end
    end
    local edges = base.sql([[SELECT r.from_id, k.name AS kind, r.to_id FROM relationships r
        JOIN rel_types k ON k.id = r.kind_id
        WHERE r.from_id IN (SELECT value FROM json_each(?1))
          AND r.to_id IN (SELECT value FROM json_each(?1))
        ORDER BY r.from_id, k.name, r.to_id]], idlist)

    local out = {
        "digraph cmdb {",
        "  rankdir=BT;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    }
    for i, n in ipairs(nodes) do
        local attrs = {
            "label=" .. q(n.name .. "\n" .. n.type .. " · " .. n.status),
            "fillcolor=" .. q(M.status_colours[n.status] or "white"),
            "tooltip=" .. q(n.status),
        }
        if i == 1 then
            attrs[#attrs + 1] = 'penwidth=3, peripheries=2, style="rounded,filled,bold"'
        end
        out[#out + 1] = ("  n%d [%s];"):format(n.id, table.concat(attrs, ", "))
    end
    for _, e in ipairs(edges) do
        if not kindset or kindset[e.kind] then
            out[#out + 1] = ("  n%d -> n%d [label=%s];"):format(e.from_id, e.to_id, q(e.kind))
        end
    end
    if truncated then
        out[#out + 1] = ('  more [shape=note, style=dashed, label=%s];')
            :format(q("more CIs not shown (limit " .. limit .. ")"))
    end
    out[#out + 1] = "}"
    return table.concat(out, "\n") .. "\n"
end

local SVG_OPTS = { direction = true, depth = true, kinds = true, limit = true, dot = true }

-- Is program an executable we can run (a path, or a name on $PATH)?
local function runnable(program)
    if program:find("/", 1, true) then
        local f = io.open(program, "rb")
        if f then
            f:close()
            return os.execute("test -x '" .. program:gsub("'", "'\\''") .. "'") == true
        end
        return false
    end
    return os.execute("command -v '" .. program:gsub("'", "'\\''") .. "' >/dev/null 2>&1") == true
end

---SVG of the same picture as dot(), rendered by Graphviz (`dot -Tsvg`).
---Raises graphviz_missing (saying how to install it) when Graphviz's dot
---is not installed; opts.dot names another dot program.
---@param name string
---@param opts? {direction?:"up"|"down"|"both", depth?:integer, kinds?:string[], limit?:integer, dot?:string}
---@return string svg
function M.svg(name, opts)
    opts = check("relm.cmdb.svg", name, opts, SVG_OPTS)
    local program = opts.dot or "dot"
    if type(program) ~= "string" or program == "" then
        base.error("invalid_argument", i18n._("relm.cmdb.svg: dot must be a program name or path"))
    end
    if not runnable(program) then
        base.error("graphviz_missing", i18n._("relm.cmdb.svg needs Graphviz to draw the picture but '") .. program
            .. i18n._("' was not found; install it with `apt-get install graphviz` (or use relm.cmdb.dot)"))
    end
    local dotopts = {}
    for k, v in pairs(opts) do
        if k ~= "dot" then
            dotopts[k] = v
        end
    end
    local src = M.dot(name, dotopts)
    local tmp = os.tmpname()
    local f = assert(io.open(tmp, "wb"))
    f:write(src)
    f:close()
    local quoted = "'" .. program:gsub("'", "'\\''") .. "'"
    local p = io.popen(quoted .. " -Tsvg '" .. tmp .. "' 2>&1")
    local svg = p:read("a")
    local ok = p:close()
    os.remove(tmp)
    if not ok or not svg:find("<svg", 1, true) then
        base.error("graphviz_failed", "relm.cmdb.svg: " .. program .. i18n._(" -Tsvg failed: ") .. svg:sub(1, 300))
    end
    return svg
end

---Baselines, oldest first: {name=, count=, created_at=, actor=, filter=}
---(filter as the JSON text it was stored with).
---@return table[]
function M.baselines()
    local out = {}
    for i, r in ipairs(base.sql([[SELECT b.name, b.id,
            (SELECT count(*) FROM baseline_items i WHERE i.baseline_id = b.id) AS count,
            b.created_at, u.name AS actor, b.filter
        FROM baselines b LEFT JOIN users u ON u.id = b.actor_id ORDER BY b.id]])) do
        out[i] = setmetatable(r, nil)
    end
    return out
end

return M
