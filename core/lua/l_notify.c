/* l_notify.c: relm.core.notify, the Lua face of core/loop/notify.c
 * (subscriptions, serve's settings, replay of dead deliveries). */
#include <lauxlib.h>
#include <string.h>

#include "base/i18n.h"
#include "loop/notify.h"
#include "lua/host.h"
#include "lua/modules.h"

enum { MAX_EVENTS = 64 };

/* String field k of the table at t, or NULL; raises when it is not a
 * string. The string stays alive while the table does. */
static const char *str_field(lua_State *L, int t, const char *k)
{
    lua_getfield(L, t, k);
    const char *v = NULL;
    if (lua_type(L, -1) == LUA_TSTRING)
        v = lua_tostring(L, -1);
    else if (!lua_isnil(L, -1))
        relm_lua_error(L, "invalid_field", _("%s: must be a string, got %s"), k,
                       luaL_typename(L, -1));
    lua_pop(L, 1);
    return v;
}

/* subscribe{channel=, url=, to=, secret=, events={...}} -> id. Stack:
 * [-0, +1]. The Lua half has checked the keys. */
static int l_notify_subscribe(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    relm_subscription sub = {0};
    const char *events[MAX_EVENTS];
    sub.channel = str_field(L, 1, "channel");
    if (sub.channel == NULL)
        return relm_lua_error(L, "invalid_field",
                              _("channel is required (\"webhook\" or "
                              "\"email\")"));
    sub.url = str_field(L, 1, "url");
    sub.to = str_field(L, 1, "to");
    sub.secret = str_field(L, 1, "secret");
    lua_getfield(L, 1, "events");
    if (!lua_istable(L, -1))
        return relm_lua_error(L, "invalid_field",
                              _("events must be a list of event names or "
                              "patterns, got %s"), luaL_typename(L, -1));
    int n = (int)luaL_len(L, -1);
    if (n > MAX_EVENTS)
        return relm_lua_error(L, "invalid_field",
                              _("events: at most %d patterns"), MAX_EVENTS);
    for (int i = 1; i <= n; i++) {
        /* The strings stay referenced by the events table (on the stack). */
        if (lua_rawgeti(L, -1, i) != LUA_TSTRING)
            return relm_lua_error(L, "invalid_field",
                                  _("events[%d] must be a string, got %s"), i,
                                  luaL_typename(L, -1));
        events[i - 1] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    sub.events = events;
    sub.nevents = n;
    relm_diag d;
    int64_t id;
    if (relm_notify_subscribe(relm_host_store(L), &sub, &id, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, id);
    return 1;
}

/* unsubscribe(id). Stack: [-0, +0]. */
static int l_notify_unsubscribe(lua_State *L)
{
    relm_diag d;
    if (relm_notify_unsubscribe(relm_host_store(L), luaL_checkinteger(L, 1),
                                &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* replay(delivery_id). Stack: [-0, +0]. */
static int l_notify_replay(lua_State *L)
{
    relm_diag d;
    if (relm_notify_replay(relm_host_store(L), luaL_checkinteger(L, 1), &d) !=
        RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* purge(id, before) -> count: id 0 and before nil purge every dead
 * letter. Stack: [-0, +1]. */
static int l_notify_purge(lua_State *L)
{
    relm_diag d;
    int64_t n = 0;
    if (relm_notify_purge(relm_host_store(L), luaL_checkinteger(L, 1),
                          relm_lua_opttext(L, 2, "before"), &n, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, n);
    return 1;
}

/* set(key, value): value already turned into text by the Lua half.
 * Stack: [-0, +0]. */
static int l_notify_set(lua_State *L)
{
    relm_diag d;
    if (relm_notify_set(relm_host_store(L), luaL_checkstring(L, 1),
                        luaL_checkstring(L, 2), &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* address(group, email): "" removes the group's address. Stack: [-0, +0]. */
static int l_notify_address(lua_State *L)
{
    relm_diag d;
    if (relm_notify_group_address(relm_host_store(L), luaL_checkstring(L, 1),
                                  luaL_checkstring(L, 2), &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* Open relm.core.notify: pushes the module table (with __doc). */
int luaopen_relm_notify(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"subscribe", l_notify_subscribe},
        {"unsubscribe", l_notify_unsubscribe},
        {"replay", l_notify_replay},
        {"purge", l_notify_purge},
        {"set", l_notify_set},
        {"address", l_notify_address},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    lua_createtable(L, 0, 2);
    lua_pushliteral(L, "the C half of relm.notify (use that)");
    lua_setfield(L, -2, "_module");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "_internal");
    lua_setfield(L, -2, "__doc");
    return 1;
}
