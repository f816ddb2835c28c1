/* l_related.c: relm.core.related, the Lua face of core/related.c: records,
 * links, the CI updates of a closing release and a release's impact. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "cmdb/graph.h"
#include "lua/args.h"
#include "lua/host.h"
#include "lua/modules.h"
#include "related.h"

/* The CMDB module keeps the process's graph here (core/l_cmdb_graph.c);
 * sharing it means one adjacency in memory and one build. */
#define CMDB_GRAPH_KEY "relm.graph_instance"
#define CMDB_GRAPH_MT "relm.graph"
#define OWN_GRAPH_MT "relm.related.graph"

/* Fill spec from the table at t; cis (an array of CI names) goes into a
 * userdata block left on the stack so it lives as long as the call.
 * Stack: +1 (the block, or nil). */
static void read_spec(lua_State *L, int t, relm_record_spec *spec,
                      const char *fn)
{
    static const char *const keys[] = {"number", "title", "description",
                                       "status", "url", "cis", NULL};
    relm_lua_check_keys(L, t, keys, "invalid_field", fn, "field");
    memset(spec, 0, sizeof *spec);
    spec->number = relm_lua_opt_string(L, t, "number", fn);
    spec->title = relm_lua_opt_string(L, t, "title", fn);
    spec->description = relm_lua_opt_string(L, t, "description", fn);
    spec->status = relm_lua_opt_string(L, t, "status", fn);
    spec->url = relm_lua_opt_string(L, t, "url", fn);
    int type = lua_getfield(L, t, "cis");
    if (type == LUA_TNIL) {
        return; /* leaves the nil */
    }
    if (type != LUA_TTABLE)
        relm_lua_error(L, "invalid_argument", _("%s: cis must be an array of "
                       "CI names, got %s"), fn, luaL_typename(L, -1));
    int arr = lua_gettop(L);
    size_t n = lua_rawlen(L, arr);
    const char **names = lua_newuserdatauv(L, (n ? n : 1) * sizeof *names, 0);
    for (size_t i = 0; i < n; i++) {
        if (lua_rawgeti(L, arr, (lua_Integer)i + 1) != LUA_TSTRING)
            relm_lua_error(L, "invalid_argument", _("%s: cis[%d] must be a CI "
                           "name, got %s"), fn, (int)i + 1, luaL_typename(L, -1));
        names[i] = relm_lua_text(L, -1, "CI name", NULL); /* kept alive by the array */
        lua_pop(L, 1);
    }
    lua_remove(L, arr); /* the caller's table (at t) keeps the array alive */
    spec->cis = names;
    spec->ncis = n;
}

/* record_add(kind, spec) -> id, number. Stack: kind spec -> id number. */
static int l_related_record_add(lua_State *L)
{
    const char *kind = relm_lua_checktext(L, 1, "kind");
    luaL_checktype(L, 2, LUA_TTABLE);
    relm_record_spec spec;
    read_spec(L, 2, &spec, "add");
    relm_diag d;
    int64_t id;
    char number[64];
    if (relm_related_record_add(relm_host_store(L), kind, &spec, &id, number,
                                sizeof number, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, id);
    lua_pushstring(L, number);
    return 2;
}

/* record_update(kind, number, spec) -> nothing. */
static int l_related_record_update(lua_State *L)
{
    const char *kind = relm_lua_checktext(L, 1, "kind");
    const char *number = relm_lua_checktext(L, 2, "number");
    luaL_checktype(L, 3, LUA_TTABLE);
    relm_record_spec spec;
    read_spec(L, 3, &spec, "update");
    relm_diag d;
    if (relm_related_record_update(relm_host_store(L), kind, number, &spec,
                                   &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* relate(id, kind, target, note) -> number of CIs linked. */
static int l_related_relate(lua_State *L)
{
    int64_t id = luaL_checkinteger(L, 1);
    const char *kind = relm_lua_checktext(L, 2, "kind");
    const char *target = relm_lua_checktext(L, 3, "target");
    const char *note = relm_lua_opttext(L, 4, "note");
    relm_diag d;
    int added;
    if (relm_related_relate(relm_host_store(L), id, kind, target, note, &added,
                            &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, added);
    return 1;
}

/* unrelate(id, kind, target) -> nothing. */
static int l_related_unrelate(lua_State *L)
{
    int64_t id = luaL_checkinteger(L, 1);
    const char *kind = relm_lua_checktext(L, 2, "kind");
    const char *target = relm_lua_checktext(L, 3, "target");
    relm_diag d;
    if (relm_related_unrelate(relm_host_store(L), id, kind, target, &d) !=
        RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* close_cis(id, {from_status = to_status, ...}) -> CIs updated. Stack:
 * id policy -> count. */
static int l_related_close_cis(lua_State *L)
{
    int64_t id = luaL_checkinteger(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
            return relm_lua_error(L, "invalid_argument", _("the CI policy maps "
                                  "a status to a status (strings)"));
        lua_pop(L, 1);
        n++;
    }
    const char **from = lua_newuserdatauv(L, (n ? n : 1) * 2 * sizeof *from, 0);
    const char **to = from + (n ? n : 1);
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        from[i] = lua_tostring(L, -2);
        to[i] = lua_tostring(L, -1);
        i++;
        lua_pop(L, 1);
    }
    relm_diag d;
    int changed;
    if (relm_related_close(relm_host_store(L), id, from, to, n, &changed, &d) !=
        RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, changed);
    return 1;
}

/* __gc of a graph this module made for itself. */
static int l_related_graph_gc(lua_State *L)
{
    relm_graph **g = luaL_checkudata(L, 1, OWN_GRAPH_MT);
    relm_graph_free(*g);
    *g = NULL;
    return 0;
}

/* The CMDB's graph when its module made one, else one of our own kept in
 * the registry. Stack: unchanged. */
static relm_graph *graph(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, CMDB_GRAPH_KEY);
    relm_graph **g = luaL_testudata(L, -1, CMDB_GRAPH_MT);
    lua_pop(L, 1);
    if (g != NULL && *g != NULL)
        return *g;
    lua_getfield(L, LUA_REGISTRYINDEX, OWN_GRAPH_MT);
    g = luaL_testudata(L, -1, OWN_GRAPH_MT);
    lua_pop(L, 1);
    if (g != NULL && *g != NULL)
        return *g;
    g = lua_newuserdatauv(L, sizeof *g, 0);
    *g = NULL;
    luaL_setmetatable(L, OWN_GRAPH_MT);
    *g = relm_graph_new();
    if (*g == NULL)
        return (relm_graph *)(intptr_t)luaL_error(L, _("out of memory"));
    lua_setfield(L, LUA_REGISTRYINDEX, OWN_GRAPH_MT);
    return *g;
}

/* Push {name=, type=, status=} for CI id, through the cache table at ci
 * (id -> row) and the statement st. Stack: +1. */
static void push_ci(lua_State *L, int cache, sqlite3_stmt *st, int64_t id)
{
    if (lua_rawgeti(L, cache, id) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    lua_createtable(L, 0, 3);
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        lua_pushstring(L, (const char *)sqlite3_column_text(st, 0));
        lua_setfield(L, -2, "name");
        lua_pushstring(L, (const char *)sqlite3_column_text(st, 1));
        lua_setfield(L, -2, "type");
        lua_pushstring(L, (const char *)sqlite3_column_text(st, 2));
        lua_setfield(L, -2, "status");
    } else {
        lua_pushfstring(L, "#%I (removed)", (lua_Integer)id);
        lua_setfield(L, -2, "name");
    }
    sqlite3_reset(st);
    lua_pushvalue(L, -1);
    lua_rawseti(L, cache, id);
}

/* Push the name of CI id (through the cache). Stack: +1. */
static void push_name(lua_State *L, int cache, sqlite3_stmt *st, int64_t id)
{
    push_ci(L, cache, st, id);
    lua_getfield(L, -1, "name");
    lua_remove(L, -2);
}

/* Push the impact r as {distinct=, by_ci={...}, services={names}}. */
static void push_impact(lua_State *L, const relm_release_impact *r,
                        sqlite3_stmt *st)
{
    lua_newtable(L);
    int cache = lua_gettop(L);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)r->distinct);
    lua_setfield(L, -2, "distinct");
    lua_createtable(L, (int)r->ngroups, 0);
    for (size_t i = 0; i < r->ngroups; i++) {
        const relm_rimpact_group *g = &r->groups[i];
        lua_createtable(L, 0, 8);
        push_ci(L, cache, st, g->ci);
        lua_getfield(L, -1, "name");
        lua_setfield(L, -3, "ci");
        lua_getfield(L, -1, "type");
        lua_setfield(L, -3, "type");
        lua_getfield(L, -1, "status");
        lua_setfield(L, -3, "status");
        lua_pop(L, 1);
        lua_pushinteger(L, (lua_Integer)g->count);
        lua_setfield(L, -2, "count");
        lua_pushboolean(L, g->nrows < g->count);
        lua_setfield(L, -2, "truncated");
        lua_createtable(L, (int)g->nrows, 0);
        for (size_t k = 0; k < g->nrows; k++) {
            lua_createtable(L, 0, 5);
            push_ci(L, cache, st, g->rows[k].id);
            lua_getfield(L, -1, "name");
            lua_setfield(L, -3, "name");
            lua_getfield(L, -1, "type");
            lua_setfield(L, -3, "type");
            lua_getfield(L, -1, "status");
            lua_setfield(L, -3, "status");
            lua_pop(L, 1);
            lua_pushinteger(L, g->rows[k].depth);
            lua_setfield(L, -2, "depth");
            push_name(L, cache, st, g->rows[k].through);
            lua_setfield(L, -2, "through");
            lua_rawseti(L, -2, (lua_Integer)k + 1);
        }
        lua_setfield(L, -2, "impacted");
        lua_createtable(L, (int)g->nservices, 0);
        for (size_t k = 0; k < g->nservices; k++) {
            push_name(L, cache, st, g->services[k]);
            lua_rawseti(L, -2, (lua_Integer)k + 1);
        }
        lua_setfield(L, -2, "services");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "by_ci");
    lua_createtable(L, (int)r->nservices, 0);
    for (size_t k = 0; k < r->nservices; k++) {
        push_ci(L, cache, st, r->services[k]);
        lua_rawseti(L, -2, (lua_Integer)k + 1);
    }
    lua_setfield(L, -2, "services");
    lua_remove(L, cache);
}

/* impact(id, depth, limit, service_types_json) -> {distinct=, by_ci=,
 * services=}. depth and limit: negative = unbounded. */
static int l_related_impact(lua_State *L)
{
    int64_t id = luaL_checkinteger(L, 1);
    relm_rimpact_opts o = {(int)luaL_optinteger(L, 2, -1),
                           luaL_optinteger(L, 3, -1),
                           luaL_optstring(L, 4, "[]")};
    relm_store *s = relm_host_store(L);
    relm_graph *g = graph(L);
    relm_release_impact r;
    relm_diag d;
    if (relm_related_impact(s, g, id, &o, &r, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT c.name, t.name, c.status FROM cis c JOIN ci_types t ON "
           "t.id = c.type_id WHERE c.id = ?1", &d);
    if (st == NULL) {
        relm_release_impact_free(&r);
        return relm_lua_diag_error(L, &d);
    }
    /* Only a Lua allocation failure can raise while pushing; r would leak
     * then, an accepted cost on a path where the state is out of memory. */
    push_impact(L, &r, st);
    relm_release_impact_free(&r);
    return 1;
}

int luaopen_relm_related(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"record_add", l_related_record_add},
        {"record_update", l_related_record_update},
        {"relate", l_related_relate},
        {"unrelate", l_related_unrelate},
        {"close_cis", l_related_close_cis},
        {"impact", l_related_impact},
        {NULL, NULL},
    };
    if (luaL_newmetatable(L, OWN_GRAPH_MT)) {
        lua_pushcfunction(L, l_related_graph_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    luaL_newlib(L, fns);
    return 1;
}
