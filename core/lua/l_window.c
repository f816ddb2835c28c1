/* l_window.c: relm.core.window, freeze windows (core/window.c) and release
 * conflicts (core/conflict.c); lua/relm/window.lua checks arguments. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "conflict.h"
#include "lua/args.h"
#include "lua/host.h"
#include "lua/modules.h"
#include "base/time.h"
#include "window.h"

/* The CMDB module's graph when it made one (so its adjacency is reused),
 * else NULL: core/conflict.c then builds one for the call. */
static relm_graph *cmdb_graph(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "relm.graph_instance");
    relm_graph **g = luaL_testudata(L, -1, "relm.graph");
    lua_pop(L, 1);
    return g != NULL ? *g : NULL;
}

/* add(name, kind, starts, ends|nil, duration|nil, rrule|nil, tz|nil, scope,
 * {names}, reason|nil) -> id. Raises the codes of relm_window_add. */
static int l_window_add(lua_State *L)
{
    relm_window_spec w = {0};
    w.name = relm_lua_checktext(L, 1, "name");
    w.kind = relm_lua_checktext(L, 2, "kind");
    w.starts = relm_lua_checktext(L, 3, "starts");
    w.ends = relm_lua_opttext(L, 4, "ends");
    w.duration = (int64_t)luaL_optinteger(L, 5, 0);
    w.rrule = relm_lua_opttext(L, 6, "rrule");
    w.tz = relm_lua_opttext(L, 7, "tz");
    w.scope = relm_lua_checktext(L, 8, "scope");
    luaL_checktype(L, 9, LUA_TTABLE);
    w.reason = relm_lua_opttext(L, 10, "reason");
    size_t n = (size_t)lua_rawlen(L, 9);
    const char **names = calloc(n ? n : 1, sizeof *names);
    if (names == NULL)
        return luaL_error(L, _("out of memory"));
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 9, (lua_Integer)i + 1);
        names[i] = lua_tostring(L, -1); /* anchored in the table */
        lua_pop(L, 1);
        if (names[i] == NULL) {
            free(names);
            return relm_lua_error(L, "invalid_argument", "%s",
                                  _("relm.window.add: scope names must be "
                                    "strings"));
        }
    }
    w.names = names;
    w.nscope = n;
    relm_diag d;
    int64_t id = 0;
    int rc = relm_window_add(relm_host_store(L), &w, &id, &d);
    free(names);
    if (rc != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, (lua_Integer)id);
    return 1;
}

/* remove(name) -> true. Raises not_found, permission_denied. */
static int l_window_remove(lua_State *L)
{
    relm_diag d;
    if (relm_window_remove(relm_host_store(L), relm_lua_checktext(L, 1, "name"),
                           &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushboolean(L, 1);
    return 1;
}

/* get(name|nil) -> JSON text of the window, or of every window. */
static int l_window_get(lua_State *L)
{
    relm_diag d;
    char *json = NULL;
    if (relm_window_get(relm_host_store(L), relm_lua_opttext(L, 1, "name"),
                        &json, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushstring(L, json);
    free(json);
    return 1;
}

/* Collect occurrences into the table at the top of the stack. */
static int push_span(void *ud, int64_t start, int64_t end)
{
    lua_State *L = ud;
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    lua_createtable(L, 2, 0);
    lua_pushinteger(L, (lua_Integer)start);
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, (lua_Integer)end);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, n + 1);
    return n + 1 >= 10000; /* enough for any picture */
}

/* spans(id, from, to) -> {{start, end}, ...} epoch seconds, the window's
 * occurrences overlapping [from, to). */
static int l_window_spans(lua_State *L)
{
    lua_Integer id = luaL_checkinteger(L, 1);
    lua_Integer from = luaL_checkinteger(L, 2);
    lua_Integer to = luaL_checkinteger(L, 3);
    lua_newtable(L);
    relm_diag d;
    if (relm_window_spans(relm_host_store(L), (int64_t)id, (int64_t)from,
                          (int64_t)to, push_span, L, &d) < 0)
        return relm_lua_diag_error(L, &d);
    return 1;
}

/* conflicts(id) -> array of {kind=, ci=, release=, window=, starts=, ends=,
 * path=, reason=} computed now. Raises not_found. */
static int l_window_conflicts(lua_State *L)
{
    lua_Integer id = luaL_checkinteger(L, 1);
    relm_conflicts c;
    relm_diag d;
    if (relm_conflict_compute(relm_host_store(L), cmdb_graph(L), (int64_t)id,
                              &c, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_createtable(L, (int)c.n, 0);
    for (size_t i = 0; i < c.n; i++) {
        const relm_conflict *x = &c.v[i];
        lua_createtable(L, 0, 8);
        relm_lua_set_string(L, "kind", relm_conflict_kind_name(x->kind));
        if (x->ci[0])
            relm_lua_set_string(L, "ci", x->ci);
        if (x->other[0]) {
            relm_lua_set_string(L, "release", x->other);
            relm_lua_set_int(L, "release_id", (lua_Integer)x->other_id);
        }
        if (x->window[0])
            relm_lua_set_string(L, "window", x->window);
        if (x->starts[0])
            relm_lua_set_string(L, "starts", x->starts);
        if (x->ends[0])
            relm_lua_set_string(L, "ends", x->ends);
        if (x->path != NULL)
            relm_lua_set_string(L, "path", x->path);
        relm_lua_set_string(L, "reason", x->reason);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    relm_conflicts_free(&c);
    return 1;
}

/* refresh() -> how many releases had their kept conflicts recomputed. */
static int l_window_refresh(lua_State *L)
{
    relm_diag d;
    size_t n = 0;
    if (relm_conflict_refresh(relm_host_store(L), cmdb_graph(L), &n, &d) !=
        RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/* iso(epoch) -> "2027-01-15T08:00:00Z". */
static int l_window_iso(lua_State *L)
{
    char out[32];
    relm_time_format((int64_t)luaL_checkinteger(L, 1), out);
    lua_pushstring(L, out);
    return 1;
}

int luaopen_relm_window(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"add", l_window_add},
        {"remove", l_window_remove},
        {"get", l_window_get},
        {"spans", l_window_spans},
        {"conflicts", l_window_conflicts},
        {"refresh", l_window_refresh},
        {"iso", l_window_iso},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}
