/* l_cmdb_baseline.c: relm.core.cmdb_baseline, merged into relm.cmdb:
 * baseline() snapshots a filtered set of CIs, baseline_diff() compares. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "cmdb/baseline.h"
#include "lua/args.h"
#include "lua/host.h"
#include "lua/modules.h"

#define DIFF_MT "relm.baseline_diff"

/* relm.cmdb.baseline(name, {type=, status=, names={...}}) -> {name=, id=,
 * count=}. Every given filter must hold; no filter snapshots every CI.
 * Raises duplicate, not_found, invalid_argument. Stack: name [filter]. */
static int l_cmdb_baseline_create(lua_State *L)
{
    const char *fn = "relm.cmdb.baseline";
    if (lua_type(L, 1) != LUA_TSTRING || lua_rawlen(L, 1) == 0)
        return relm_lua_error(L, "invalid_argument", _("%s: argument #1 (name) "
                              "must be a non-empty string, got %s"), fn,
                              luaL_typename(L, 1));
    const char *name = relm_lua_text(L, 1, "relm.cmdb.baseline: name", NULL);
    relm_baseline_filter f = {NULL, NULL, NULL};
    if (!lua_isnoneornil(L, 2)) {
        if (!lua_istable(L, 2))
            return relm_lua_error(L, "invalid_argument", _("%s: argument #2 "
                                  "(filter) must be a table, got %s"), fn,
                                  luaL_typename(L, 2));
        static const char *const keys[] = {"type", "status", "names", NULL};
        relm_lua_check_keys(L, 2, keys, "invalid_argument", fn, "filter");
        f.type = relm_lua_opt_string(L, 2, "type", fn);
        f.status = relm_lua_opt_string(L, 2, "status", fn);
        int t = lua_getfield(L, 2, "names");
        if (t == LUA_TTABLE) {
            relm_lua_push_json_strings(L, -1, fn, "names", "a CI name",
                                       "CI name");
            f.names_json = lua_tostring(L, -1);
        } else if (t != LUA_TNIL) {
            return relm_lua_error(L, "invalid_argument", _("%s: names must be "
                                  "an array of CI names, got %s"), fn,
                                  luaL_typename(L, -1));
        }
    }
    relm_diag d;
    int64_t id, count;
    if (relm_baseline_create(relm_host_store(L), name, &f, &id, &count, &d)
        != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "name");
    lua_pushinteger(L, id);
    lua_setfield(L, -2, "id");
    lua_pushinteger(L, count);
    lua_setfield(L, -2, "count");
    return 1;
}

/* Push one side of a field change as a Lua value (nil when absent). */
static void push_value(lua_State *L, int kind, const char *text)
{
    switch (kind) {
    case RELM_BV_TRUE:
        lua_pushboolean(L, 1);
        break;
    case RELM_BV_FALSE:
        lua_pushboolean(L, 0);
        break;
    case RELM_BV_INTEGER:
        lua_pushinteger(L, text ? strtoll(text, NULL, 10) : 0);
        break;
    case RELM_BV_REAL:
        lua_pushnumber(L, text ? strtod(text, NULL) : 0);
        break;
    case RELM_BV_TEXT:
        lua_pushstring(L, text ? text : "");
        break;
    default:
        lua_pushnil(L);
    }
}

/* Build the Lua answer from diff (which the caller frees afterwards).
 * Pushes {added={names}, removed={names}, changed={{name=, fields={field=
 * {before=, after=}}}}}. */
static void push_diff(lua_State *L, const relm_baseline_changes *diff)
{
    lua_createtable(L, 0, 3);
    lua_newtable(L);
    lua_newtable(L);
    lua_newtable(L);
    int res = lua_gettop(L) - 3, added = res + 1, removed = res + 2,
        changed = res + 3;
    const char *last = NULL;
    for (size_t i = 0; i < diff->n; i++) {
        const relm_baseline_change *c = &diff->v[i];
        const char *ci = c->ci ? c->ci : "?";
        if (c->change == 'a' || c->change == 'r') {
            int t = c->change == 'a' ? added : removed;
            lua_pushstring(L, ci);
            lua_rawseti(L, t, (lua_Integer)lua_rawlen(L, t) + 1);
            continue;
        }
        if (last == NULL || strcmp(last, ci) != 0) {
            lua_createtable(L, 0, 2);
            lua_pushstring(L, ci);
            lua_setfield(L, -2, "name");
            lua_newtable(L);
            lua_setfield(L, -2, "fields");
            lua_rawseti(L, changed, (lua_Integer)lua_rawlen(L, changed) + 1);
            last = ci;
        }
        lua_rawgeti(L, changed, (lua_Integer)lua_rawlen(L, changed));
        lua_getfield(L, -1, "fields");
        lua_createtable(L, 0, 2);
        push_value(L, c->before_kind, c->before);
        lua_setfield(L, -2, "before");
        push_value(L, c->after_kind, c->after);
        lua_setfield(L, -2, "after");
        lua_setfield(L, -2, c->field ? c->field : "?");
        lua_pop(L, 2);
    }
    lua_setfield(L, res, "changed");
    lua_setfield(L, res, "removed");
    lua_setfield(L, res, "added");
}

/* relm.cmdb.baseline_diff(a [, b]) -> {added=, removed=, changed=}: what
 * differs from baseline a to baseline b, or to now when b is nil. Raises
 * not_found. Stack: a [b] -> diff. */
static int l_cmdb_baseline_diff(lua_State *L)
{
    const char *fn = "relm.cmdb.baseline_diff";
    if (lua_type(L, 1) != LUA_TSTRING)
        return relm_lua_error(L, "invalid_argument", _("%s: argument #1 must be "
                              "a baseline name, got %s"), fn, luaL_typename(L, 1));
    if (!lua_isnoneornil(L, 2) && lua_type(L, 2) != LUA_TSTRING)
        return relm_lua_error(L, "invalid_argument", _("%s: argument #2 must be "
                              "a baseline name or nil (now), got %s"), fn,
                              luaL_typename(L, 2));
    /* The C diff lives in a userdata so that a memory error while the Lua
     * tables are built cannot leak it. */
    relm_baseline_changes *diff = lua_newuserdatauv(L, sizeof *diff, 0);
    memset(diff, 0, sizeof *diff);
    luaL_setmetatable(L, DIFF_MT);
    relm_diag d;
    if (relm_baseline_diff(relm_host_store(L), lua_tostring(L, 1),
                           lua_isnoneornil(L, 2) ? NULL : lua_tostring(L, 2),
                           diff, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    push_diff(L, diff);
    relm_baseline_diff_free(diff);
    return 1;
}

/* __gc of the userdata holding a C diff. */
static int l_cmdb_baseline_diff_gc(lua_State *L)
{
    relm_baseline_diff_free(luaL_checkudata(L, 1, DIFF_MT));
    return 0;
}

int luaopen_relm_cmdb_baseline(lua_State *L)
{
    if (luaL_newmetatable(L, DIFF_MT)) {
        lua_pushcfunction(L, l_cmdb_baseline_diff_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {
        {"baseline", l_cmdb_baseline_create},
        {"baseline_diff", l_cmdb_baseline_diff},
        {NULL, NULL},
    };
    /* One-line docs for help() (convention: docs/internals.md). */
    static const char *const docs[][2] = {
        {"baseline", "(name [, {type=, status=, names={...}}]) -> {name=, "
                     "id=, count=}: snapshot the CIs matching the filter"},
        {"baseline_diff", "(a [, b]) -> {added=, removed=, changed=}: what "
                          "differs from baseline a to b, or to now"},
    };
    luaL_newlib(L, fns);
    relm_host_set_docs(L, docs, sizeof docs / sizeof docs[0]);
    return 1;
}
