/* l_desktop.c: relm.core.desktop, the Lua face of core/desktop.c: the
 * desktop's items as tables and its counts (lua/relm/desktop.lua on top). */
#include <lauxlib.h>
#include <string.h>

#include "base/i18n.h"
#include "desktop.h"
#include "lua/args.h"
#include "lua/host.h"
#include "lua/modules.h"

static const char *const SITUATION[] = {"in execution", "suspended", "late"};
static const char *const KIND[] = {"release", "activity", "approval"};

/* t[k] = the arena string at off, when there is one. Stack: t at -1. */
static void set_text(lua_State *L, const relm_desktop *dt, const char *k,
                     size_t off)
{
    const char *v = relm_desktop_text(dt, off);
    if (v == NULL)
        return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

/* t[k] = v. Stack: t at -1. */
static void set_int(lua_State *L, const char *k, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

/* Push item it as a table. Stack: +1. */
static void push_item(lua_State *L, const relm_desktop *dt,
                      const relm_desk_item *it)
{
    lua_createtable(L, 0, 16);
    lua_pushstring(L, KIND[it->kind]);
    lua_setfield(L, -2, "kind");
    set_text(L, dt, "number", it->number);
    set_int(L, "release_id", it->release_id);
    if (it->kind == RELM_DESK_ACTIVITY)
        set_int(L, "activity_id", it->activity_id);
    else if (it->kind == RELM_DESK_APPROVAL)
        set_int(L, "request_id", it->activity_id);
    set_text(L, dt, "title", it->title);
    set_text(L, dt, "requester", it->requester);
    set_text(L, dt, "created", it->created);
    set_int(L, "priority", it->priority);
    set_text(L, dt, "time_limit", it->time_limit);
    set_int(L, "delay", it->delay);
    lua_pushstring(L, SITUATION[it->situation]);
    lua_setfield(L, -2, "situation");
    set_text(L, dt, "task", it->task);
    set_text(L, dt, "group", it->group);
    set_text(L, dt, "responsible", it->responsible);
    set_text(L, dt, "shared_with", it->shared_with);
    set_int(L, "conflicts", it->conflicts);
    lua_pushstring(L, it->shared ? "shared" : "assigned");
    lua_setfield(L, -2, "why");
    if (it->has_left)
        set_int(L, "time_left", it->left);
    set_text(L, dt, "calendar", it->calendar);
    set_text(L, dt, "sla_stage", it->sla_stage);
}

/* Push the counts of dt. Stack: +1. */
static void push_counts(lua_State *L, const relm_desktop *dt)
{
    lua_createtable(L, 0, 6);
    set_int(L, "total", (lua_Integer)dt->n);
    set_int(L, "releases", (lua_Integer)dt->by_kind[RELM_DESK_RELEASE]);
    set_int(L, "activities", (lua_Integer)dt->by_kind[RELM_DESK_ACTIVITY]);
    set_int(L, "approvals", (lua_Integer)dt->by_kind[RELM_DESK_APPROVAL]);
    lua_createtable(L, 0, 3);
    for (int i = 0; i < 3; i++)
        set_int(L, SITUATION[i], (lua_Integer)dt->by_situation[i]);
    lua_setfield(L, -2, "situation");
    lua_createtable(L, 5, 0);
    for (int p = 1; p <= 5; p++) {
        lua_pushinteger(L, (lua_Integer)dt->by_priority[p]);
        lua_rawseti(L, -2, p);
    }
    lua_setfield(L, -2, "priority");
    lua_createtable(L, 0, (int)dt->ngroups);
    for (size_t i = 0; i < dt->ngroups; i++) {
        const char *g = relm_desktop_text(dt, dt->groups[i].name);
        set_int(L, g != NULL ? g : "(none)", (lua_Integer)dt->groups[i].count);
    }
    lua_setfield(L, -2, "group");
}

/* The truth of field k of the table at t. Stack: unchanged. */
static int opt_bool(lua_State *L, int t, const char *k)
{
    lua_getfield(L, t, k);
    int v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* load(user_id, now, filter, limit) -> items, counts. filter: {number_glob=,
 * number=, assigned=, shared=, kind="release"|"activity"|"approval",
 * group=}; limit
 * (nil = every item) caps the items pushed, not the counts. The arena is
 * freed before anything that may raise runs, or leaks only on a Lua
 * allocation failure. Stack: 4 args -> items counts. */
static int l_desktop_load(lua_State *L)
{
    int64_t user = luaL_checkinteger(L, 1);
    int64_t now = luaL_checkinteger(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_Integer limit = luaL_optinteger(L, 4, -1);
    relm_desk_filter f = {0};
    f.number_glob = relm_lua_field_string(L, 3, "number_glob");
    f.number = relm_lua_field_string(L, 3, "number");
    f.assigned = opt_bool(L, 3, "assigned");
    f.shared = opt_bool(L, 3, "shared");
    f.group = relm_lua_field_string(L, 3, "group");
    const char *kind = relm_lua_field_string(L, 3, "kind");
    f.kind = RELM_DESK_ALL;
    if (kind != NULL) {
        f.kind = -2;
        for (int k = 0; k < 3; k++)
            if (strcmp(kind, KIND[k]) == 0)
                f.kind = k;
        if (f.kind == -2)
            return relm_lua_error(L, "invalid_argument", _("kind must be "
                                  "\"release\", \"activity\" or "
                                  "\"approval\", got %s"), kind);
    }
    relm_desktop dt;
    relm_diag d;
    if (relm_desktop_load(relm_host_store(L), user, now, &f, &dt, &d) !=
        RELM_OK) {
        relm_desktop_free(&dt);
        return relm_lua_diag_error(L, &d);
    }
    size_t n = limit >= 0 && (size_t)limit < dt.n ? (size_t)limit : dt.n;
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        push_item(L, &dt, &dt.items[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    push_counts(L, &dt);
    relm_desktop_free(&dt);
    return 2;
}

/* sql() -> the releases, activities and approvals queries (?1 = user id). */
static int l_desktop_sql(lua_State *L)
{
    for (int i = 0; i < 3; i++)
        lua_pushstring(L, relm_desktop_sql[i]);
    return 3;
}

int luaopen_relm_desktop(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"load", l_desktop_load},
        {"sql", l_desktop_sql},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}
