/* l_cmdb_graph.c: relm.core.cmdb_graph, merged into relm.cmdb: impact()
 * over the in-memory graph, answering with lazily materialized rows. */
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "cmdb/graph.h"
#include "lua/args.h"
#include "lua/host.h"
#include "lua/modules.h"

#define GRAPH_MT "relm.graph"
#define IMPACT_SET_MT "relm.impact_set"
#define IMPACT_MT "relm.impact"
#define IMPACT_SETS "relm.impact_sets"

/* The answer of one impact() call, copied out of the graph's scratch into
 * this userdata (so Lua's collector sees its real size): r points at the
 * arrays that follow the header. Uservalue 1 maps kind id -> kind name (as
 * of the query); uservalue 2 caches CI names by result position + 1 (0 =
 * the origin); uservalue 3 caches the text of the hop that reached each
 * result, since every `via` below it repeats it. */
typedef struct impact_set {
    relm_impact r;
} impact_set;

#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

/* __gc of the graph userdata. */
static int l_cmdb_graph_gc(lua_State *L)
{
    relm_graph **g = luaL_checkudata(L, 1, GRAPH_MT);
    relm_graph_free(*g);
    *g = NULL;
    return 0;
}

/* The process's graph, created (empty, built on first query) the first
 * time it is needed and kept in the registry. Stack: unchanged. */
static relm_graph *get_graph(lua_State *L)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, GRAPH_MT "_instance") == LUA_TUSERDATA) {
        relm_graph *g = *(relm_graph **)lua_touserdata(L, -1);
        lua_pop(L, 1);
        return g;
    }
    lua_pop(L, 1);
    relm_graph **slot = lua_newuserdatauv(L, sizeof *slot, 0);
    *slot = NULL;
    luaL_setmetatable(L, GRAPH_MT);
    *slot = relm_graph_new();
    if (*slot == NULL)
        luaL_error(L, _("out of memory"));
    lua_setfield(L, LUA_REGISTRYINDEX, GRAPH_MT "_instance");
    return *slot;
}

/* Push the name of result position pos (-1 = origin) of set at index si,
 * fetching and caching it (and remembering type and status in the row
 * being built when want_row is nonzero: pushes name, type, status then).
 * Returns the number of values pushed (1 or 3). */
static int push_ci(lua_State *L, int si, impact_set *set, int32_t pos,
                   int want_row)
{
    si = lua_absindex(L, si);
    if (!want_row) {
        lua_getiuservalue(L, si, 2);
        if (lua_rawgeti(L, -1, (lua_Integer)pos + 1) == LUA_TSTRING) {
            lua_remove(L, -2);
            return 1;
        }
        lua_pop(L, 2);
    }
    int64_t id = pos < 0 ? set->r.origin : relm_impact_id(&set->r, (size_t)pos);
    /* Names fit the stack buffer; a longer one goes to a userdata so that
     * nothing leaks if pushing the strings raises. */
    char small[512], *info = small;
    size_t need = 0;
    relm_diag d;
    int rc = relm_graph_ci_info(relm_host_store(L), id, small, sizeof small,
                                &need, &d);
    int box = 0; /* stack slot of the userdata buffer, kept until copied */
    if (rc == RELM_OK && need > sizeof small) {
        info = lua_newuserdatauv(L, need, 0);
        box = lua_gettop(L);
        rc = relm_graph_ci_info(relm_host_store(L), id, info, need, &need, &d);
    }
    if (rc != RELM_OK) {
        if (box)
            lua_remove(L, box);
        if (strcmp(d.code, "not_found") != 0)
            relm_lua_diag_error(L, &d);
        /* Removed since the query: say so rather than fail the whole row. */
        lua_pushfstring(L, "#%I (removed)", (lua_Integer)id);
        if (want_row) {
            lua_pushnil(L);
            lua_pushliteral(L, "removed");
            return 3;
        }
        return 1;
    }
    const char *name = info;
    const char *type = name + strlen(name) + 1;
    const char *status = type + strlen(type) + 1;
    lua_pushstring(L, name);
    lua_pushstring(L, type);
    lua_pushstring(L, status);
    if (box)
        lua_remove(L, box);
    lua_getiuservalue(L, si, 2);
    lua_pushvalue(L, -4);
    lua_rawseti(L, -2, (lua_Integer)pos + 1);
    lua_pop(L, 1);
    if (!want_row) {
        lua_pop(L, 2);
        return 1;
    }
    return 3;
}

/* Push the text of the hop that reached result pos: the relationship as
 * stored, "from kind to", so a person reads it the way it was entered. */
static void push_hop(lua_State *L, int si, impact_set *set, int32_t pos)
{
    si = lua_absindex(L, si);
    lua_getiuservalue(L, si, 3);
    if (lua_rawgeti(L, -1, (lua_Integer)pos + 1) == LUA_TSTRING) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 2);
    push_ci(L, si, set, pos, 0);
    push_ci(L, si, set, set->r.parent[pos], 0);
    lua_getiuservalue(L, si, 1);
    lua_rawgeti(L, -1, RELM_HOP_KIND(set->r.hop[pos]));
    lua_remove(L, -2);
    /* stack: this, parent, kind */
    if (set->r.hop[pos] & RELM_HOP_STORED_FROM)
        lua_pushfstring(L, "%s %s %s", lua_tostring(L, -3),
                        lua_tostring(L, -1), lua_tostring(L, -2));
    else
        lua_pushfstring(L, "%s %s %s", lua_tostring(L, -2),
                        lua_tostring(L, -1), lua_tostring(L, -3));
    lua_replace(L, -4);
    lua_pop(L, 2);
    lua_getiuservalue(L, si, 3);
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, (lua_Integer)pos + 1);
    lua_pop(L, 1);
}

/* Push the row for result position pos of the set at index si. */
static void push_row(lua_State *L, int si, impact_set *set, int32_t pos)
{
    si = lua_absindex(L, si);
    lua_createtable(L, 0, 9);
    push_ci(L, si, set, pos, 1);
    lua_setfield(L, -4, "status");
    lua_setfield(L, -3, "type");
    lua_setfield(L, -2, "name");
    lua_pushinteger(L, relm_impact_id(&set->r, (size_t)pos));
    lua_setfield(L, -2, "id");
    int32_t depth = relm_impact_depth(&set->r, (size_t)pos);
    lua_pushinteger(L, depth);
    lua_setfield(L, -2, "depth");
    lua_getiuservalue(L, si, 1);
    lua_rawgeti(L, -1, RELM_HOP_KIND(set->r.hop[pos]));
    lua_setfield(L, -3, "kind");
    lua_pop(L, 1);
    push_ci(L, si, set, set->r.parent[pos], 0);
    lua_setfield(L, -2, "through");
    /* via: hops from the origin outwards. */
    lua_createtable(L, depth, 0);
    int32_t p = pos;
    for (int32_t j = depth; j >= 1 && p >= 0; j--) {
        push_hop(L, si, set, p);
        lua_rawseti(L, -2, j);
        p = set->r.parent[p];
    }
    lua_setfield(L, -2, "via");
}

/* Push the impact set behind result table at idx (or raise). */
static impact_set *set_of(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_getfield(L, LUA_REGISTRYINDEX, IMPACT_SETS);
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    lua_remove(L, -2);
    impact_set *set = luaL_testudata(L, -1, IMPACT_SET_MT);
    if (set == NULL)
        luaL_error(L, _("not an impact result"));
    return set;
}

/* Rows are built this many at a time, in one read transaction: a lookup
 * per statement outside a transaction costs a lock and a read system call
 * each, several times the lookup itself. */
#define ROW_BLOCK 256

/* Results up to this many rows are built at once into a plain table; only
 * larger ones (an impact reaching much of a big CMDB, where building every
 * row would cost far more than the walk) are built as they are read. */
#define EAGER_ROWS 50000

/* Protected part of __index: build rows first..last (1-based) of result
 * table t that are not built yet. Stack: t set first last -> nothing. */
static int build_rows(lua_State *L)
{
    impact_set *set = lua_touserdata(L, 2);
    lua_Integer first = lua_tointeger(L, 3), last = lua_tointeger(L, 4);
    for (lua_Integer i = first; i <= last; i++) {
        if (lua_rawgeti(L, 1, i) != LUA_TNIL) {
            lua_pop(L, 1);
            continue;
        }
        lua_pop(L, 1);
        push_row(L, 2, set, (int32_t)(i - 1));
        lua_rawseti(L, 1, i);
    }
    return 0;
}

/* Build rows first..last of result table t from the set at index si, in
 * one read transaction. The transaction is ours only when none is open; a
 * Lua error while building must not leave it open, hence the protected
 * call. Raises what building raised. Stack: unchanged. */
static void materialize(lua_State *L, int t, int si, lua_Integer first,
                        lua_Integer last)
{
    t = lua_absindex(L, t);
    si = lua_absindex(L, si);
    relm_store *s = relm_host_store(L);
    int own = 0;
    /* Without a snapshot the rows are still right, each from its own. */
    (void)relm_store_read_begin(s, &own, NULL);
    lua_pushcfunction(L, build_rows);
    lua_pushvalue(L, t);
    lua_pushvalue(L, si);
    lua_pushinteger(L, first);
    lua_pushinteger(L, last);
    int rc = lua_pcall(L, 4, 0, 0);
    relm_store_read_end(s, own);
    if (rc != LUA_OK)
        lua_error(L);
}

/* __index(t, k) of a result table: build row k (and the rows after it, a
 * block at a time) on first access and keep them in t. Stack: t k -> row
 * or nil. */
static int l_cmdb_graph_result_index(lua_State *L)
{
    if (!lua_isinteger(L, 2))
        return 0;
    lua_Integer i = lua_tointeger(L, 2);
    impact_set *set = set_of(L, 1);
    if (i < 1 || (lua_Unsigned)i > set->r.n)
        return 0;
    lua_Integer last = i + ROW_BLOCK - 1;
    if ((lua_Unsigned)last > set->r.n)
        last = (lua_Integer)set->r.n;
    materialize(L, 1, -1, i, last); /* the set, left by set_of */
    lua_rawgeti(L, 1, i);
    return 1;
}

/* __len(t): the number of results, materialized or not. */
static int l_cmdb_graph_result_len(lua_State *L)
{
    impact_set *set = set_of(L, 1);
    lua_pushinteger(L, (lua_Integer)set->r.n);
    return 1;
}

/* Iterator for __pairs: (t, i) -> i + 1, t[i + 1]. */
static int result_next(lua_State *L)
{
    lua_Integer i = luaL_optinteger(L, 2, 0) + 1;
    if (lua_geti(L, 1, i) == LUA_TNIL)
        return 1;
    lua_pushinteger(L, i);
    lua_insert(L, -2);
    return 2;
}

/* __pairs(t): walk every row in order, materializing as it goes. */
static int l_cmdb_graph_result_pairs(lua_State *L)
{
    lua_pushcfunction(L, result_next);
    lua_pushvalue(L, 1);
    lua_pushinteger(L, 0);
    return 3;
}

/* An optional non-negative integer option; nil or math.huge mean "no
 * bound" (-1). Stack: unchanged. */
static lua_Integer opt_count(lua_State *L, int idx, const char *key,
                             const char *fn)
{
    int t = lua_getfield(L, idx, key);
    int isint = 0;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (t == LUA_TNIL || (t == LUA_TNUMBER && !isint &&
                          lua_tonumber(L, -1) == (lua_Number)HUGE_VAL)) {
        v = -1;
    } else if (t != LUA_TNUMBER || !isint) {
        relm_lua_error(L, "invalid_argument", _("%s: %s must be an integer, "
                       "got %s"), fn, key, lua_tostring(L, -1) != NULL
                       ? lua_tostring(L, -1) : luaL_typename(L, -1));
    } else if (v < 0) {
        relm_lua_error(L, "invalid_argument", _("%s: %s must be >= 0, got %lld"),
                       fn, key, (long long)v);
    } else if (v > INT32_MAX) {
        v = -1;
    }
    lua_pop(L, 1);
    return v;
}

/* relm.cmdb.impact(name, {direction=, depth=, kinds=, limit=}) -> array of
 * rows {name, id, type, status, depth, kind, through, via}: a plain table
 * up to EAGER_ROWS rows, else one whose rows are built on first access (#,
 * ipairs and pairs see them all). Raises not_found (CI or kind) and
 * invalid_argument. Stack: name [opts] -> result. */
static int l_cmdb_graph_impact(lua_State *L)
{
    static const char *const keys[] = {"direction", "depth", "kinds", "limit",
                                       NULL};
    const char *fn = "relm.cmdb.impact";
    if (lua_type(L, 1) != LUA_TSTRING)
        return relm_lua_error(L, "invalid_argument", _("%s: argument #1 (name) "
                              "must be a CI name, got %s"), fn,
                              luaL_typename(L, 1));
    const char *name = relm_lua_text(L, 1, "relm.cmdb.impact: name", NULL);
    if (!lua_isnoneornil(L, 2) && !lua_istable(L, 2))
        return relm_lua_error(L, "invalid_argument", _("%s: argument #2 (opts) "
                              "must be a table, got %s"), fn,
                              luaL_typename(L, 2));
    if (lua_isnone(L, 2))
        lua_pushnil(L);
    relm_graph_query q = {RELM_GRAPH_UP, -1, -1, NULL, 0};
    relm_store *s = relm_host_store(L);
    relm_diag d;
    int64_t *kinds = NULL;
    if (lua_istable(L, 2)) {
        relm_lua_check_keys(L, 2, keys, "invalid_argument", fn, "option");
        lua_getfield(L, 2, "direction");
        if (!lua_isnil(L, -1)) {
            const char *dir = lua_tostring(L, -1);
            if (lua_type(L, -1) != LUA_TSTRING)
                dir = NULL;
            if (dir != NULL && strcmp(dir, "up") == 0)
                q.direction = RELM_GRAPH_UP;
            else if (dir != NULL && strcmp(dir, "down") == 0)
                q.direction = RELM_GRAPH_DOWN;
            else if (dir != NULL && strcmp(dir, "both") == 0)
                q.direction = RELM_GRAPH_BOTH;
            else
                return relm_lua_error(L, "invalid_argument", _("%s: direction "
                                      "must be \"up\", \"down\" or \"both\", "
                                      "got %s"), fn, dir != NULL ? dir
                                      : luaL_typename(L, -1));
        }
        lua_pop(L, 1);
        q.depth = (int)opt_count(L, 2, "depth", fn);
        q.limit = opt_count(L, 2, "limit", fn);
        if (lua_getfield(L, 2, "kinds") != LUA_TNIL) {
            if (!lua_istable(L, -1))
                return relm_lua_error(L, "invalid_argument", _("%s: kinds must "
                                      "be an array of relationship kind "
                                      "names, got %s"), fn, luaL_typename(L, -1));
            size_t nk = lua_rawlen(L, -1);
            kinds = lua_newuserdatauv(L, (nk ? nk : 1) * sizeof *kinds, 0);
            for (size_t i = 0; i < nk; i++) {
                if (lua_rawgeti(L, -2, (lua_Integer)i + 1) != LUA_TSTRING)
                    return relm_lua_error(L, "invalid_argument", _("%s: kinds[%d] "
                                          "must be a string, got %s"), fn,
                                          (int)i + 1, luaL_typename(L, -1));
                if (relm_graph_kind_id(s, lua_tostring(L, -1), &kinds[i], &d)
                    != RELM_OK)
                    return relm_lua_diag_error(L, &d);
                lua_pop(L, 1);
            }
            q.kinds = kinds;
            q.nkinds = nk;
            /* keep the userdata on the stack until the query is done */
        } else {
            lua_pop(L, 1);
        }
    }
    int64_t origin;
    if (relm_graph_ci_id(s, name, &origin, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);

    relm_impact r;
    if (relm_graph_impact(get_graph(L), s, origin, &q, &r, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    /* Copy the answer out of the graph's scratch: [set][ids: int64, only
     * for sparse ids][node u32][parent i32][level u32][hop u16]. */
    size_t n = r.n, off_ids = ALIGN8(sizeof(impact_set));
    size_t off_node = off_ids + (r.ids != NULL ? n * sizeof(int64_t) : 0);
    size_t off_parent = off_node + n * sizeof(uint32_t);
    size_t off_level = off_parent + n * sizeof(int32_t);
    size_t off_hop = off_level + (r.nlevels + 1) * sizeof(uint32_t);
    size_t size = off_hop + n * sizeof(uint16_t);
    impact_set *set = lua_newuserdatauv(L, size, 3);
    char *base = (char *)set;
    uint32_t *node = (uint32_t *)(void *)(base + off_node);
    int32_t *parent = (int32_t *)(void *)(base + off_parent);
    uint32_t *level = (uint32_t *)(void *)(base + off_level);
    uint16_t *hop = (uint16_t *)(void *)(base + off_hop);
    if (r.ids != NULL) {
        /* Sparse ids: keep the ids themselves; node[i] = i indexes them. */
        int64_t *ids = (int64_t *)(void *)(base + off_ids);
        for (size_t i = 0; i < n; i++) {
            ids[i] = relm_impact_id(&r, i);
            node[i] = (uint32_t)i;
        }
        set->r.ids = ids;
    } else {
        memcpy(node, r.node, n * sizeof *node);
        set->r.ids = NULL;
    }
    memcpy(parent, r.parent, n * sizeof *parent);
    memcpy(level, r.level, (r.nlevels + 1) * sizeof *level);
    memcpy(hop, r.hop, n * sizeof *hop);
    set->r.n = n;
    set->r.origin = origin;
    set->r.node = node;
    set->r.parent = parent;
    set->r.level = level;
    set->r.nlevels = r.nlevels;
    set->r.hop = hop;
    luaL_setmetatable(L, IMPACT_SET_MT);
    int si = lua_gettop(L);

    /* Kind names as of now, and the origin's name at cache slot 0. */
    lua_newtable(L);
    sqlite3_stmt *st = relm_store_stmt(s, "SELECT id, name FROM rel_types", &d);
    if (st == NULL)
        return relm_lua_diag_error(L, &d);
    while (sqlite3_step(st) == SQLITE_ROW) {
        lua_Integer kid = sqlite3_column_int64(st, 0);
        const char *kname = (const char *)sqlite3_column_text(st, 1);
        lua_pushstring(L, kname != NULL ? kname : "?");
        lua_rawseti(L, -2, kid);
    }
    sqlite3_reset(st);
    lua_setiuservalue(L, si, 1);
    lua_newtable(L);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 0);
    lua_setiuservalue(L, si, 2);
    lua_newtable(L);
    lua_setiuservalue(L, si, 3);

    if (n <= EAGER_ROWS) {
        /* A plain table: next(), rawlen, table.insert and encoders all see
         * every row, as they would in any other array. */
        lua_createtable(L, (int)n, 0);
        materialize(L, -1, si, 1, (lua_Integer)n);
        return 1;
    }
    lua_newtable(L);
    luaL_setmetatable(L, IMPACT_MT);
    lua_getfield(L, LUA_REGISTRYINDEX, IMPACT_SETS);
    lua_pushvalue(L, -2);
    lua_pushvalue(L, si);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    return 1;
}

/* relm.cmdb.graph_stats() -> {nodes=, edges=, builds=}: the adjacency as
 * last built (builds counts rebuilds; tests use it to see invalidation). */
static int l_cmdb_graph_stats(lua_State *L)
{
    size_t nodes, edges;
    uint64_t builds;
    relm_graph_stats(get_graph(L), &nodes, &edges, &builds);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)nodes);
    lua_setfield(L, -2, "nodes");
    lua_pushinteger(L, (lua_Integer)edges);
    lua_setfield(L, -2, "edges");
    lua_pushinteger(L, (lua_Integer)builds);
    lua_setfield(L, -2, "builds");
    return 1;
}

int luaopen_relm_cmdb_graph(lua_State *L)
{
    if (luaL_newmetatable(L, GRAPH_MT)) {
        lua_pushcfunction(L, l_cmdb_graph_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    luaL_newmetatable(L, IMPACT_SET_MT);
    lua_pop(L, 1);
    if (luaL_newmetatable(L, IMPACT_MT)) {
        lua_pushcfunction(L, l_cmdb_graph_result_index);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_cmdb_graph_result_len);
        lua_setfield(L, -2, "__len");
        lua_pushcfunction(L, l_cmdb_graph_result_pairs);
        lua_setfield(L, -2, "__pairs");
    }
    lua_pop(L, 1);
    /* Result table -> its impact set; weak keys so both die together. */
    if (lua_getfield(L, LUA_REGISTRYINDEX, IMPACT_SETS) != LUA_TTABLE) {
        lua_newtable(L);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        lua_setfield(L, LUA_REGISTRYINDEX, IMPACT_SETS);
    }
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {
        {"impact", l_cmdb_graph_impact},
        {"graph_stats", l_cmdb_graph_stats},
        {NULL, NULL},
    };
    /* One-line docs for help() (convention: docs/internals.md). */
    static const char *const docs[][2] = {
        {"impact", "(name [, {direction=, depth=, kinds=, limit=}]) -> rows: "
                   "every CI that depends on name (\"up\", the default) or "
                   "that name depends on (\"down\") or both, with depth and path"},
        {"graph_stats", "() -> {nodes=, edges=, builds=}: the impact graph "
                        "as last built"},
    };
    luaL_newlib(L, fns);
    relm_host_set_docs(L, docs, sizeof docs / sizeof docs[0]);
    return 1;
}
