/* l_hooks.c: the bridge between serve's hook runner (core/loop/hooks.c) and
 * lua/relm/hooks.lua: load, match and run relm.on hooks in the Lua state. */
#include "lua/l_hooks.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop/notify.h"
#include "lua/host.h"
#include "lua/modules.h"

/* Push relm.hooks[fn]. Stack: [-0, +1]; 0, or -1 with the error pushed. */
static int push_fn(lua_State *L, const char *fn)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "relm.hooks");
    if (relm_host_pcall(L, 1, 1) != LUA_OK)
        return -1;
    lua_getfield(L, -1, fn);
    lua_remove(L, -2);
    return 0;
}

/* Copy the error value on top into err and pop it. */
static void take_error(lua_State *L, char *err, size_t size)
{
    snprintf(err, size, "%s", relm_lua_error_string(L, -1));
    lua_pop(L, 2);
}

/* The strings of the list at idx, each followed by '\n', into out. */
static int join_lines(lua_State *L, int idx, char *out, size_t size)
{
    size_t k = 0;
    idx = lua_absindex(L, idx);
    int n = lua_istable(L, idx) ? (int)luaL_len(L, idx) : 0, kept = 0;
    out[0] = '\0';
    for (int i = 1; i <= n; i++) {
        size_t len;
        lua_rawgeti(L, idx, i);
        const char *v = lua_tolstring(L, -1, &len);
        if (v != NULL && k + len + 2 <= size) {
            memcpy(out + k, v, len);
            k += len;
            out[k++] = '\n';
            out[k] = '\0';
            kept++;
        }
        lua_pop(L, 1);
    }
    return kept;
}

static int hooks_reload(void *ctx, const char *dir, int *count, char *err,
                        size_t size)
{
    lua_State *L = ctx;
    int top = lua_gettop(L);
    if (push_fn(L, "reload") != 0) {
        take_error(L, err, size);
        lua_settop(L, top);
        return -1;
    }
    lua_pushstring(L, dir);
    if (relm_host_pcall(L, 1, 1) != LUA_OK) {
        take_error(L, err, size);
        lua_settop(L, top);
        return -1;
    }
    *count = (int)lua_tointeger(L, -1);
    lua_settop(L, top);
    return 0;
}

static int hooks_changed(void *ctx)
{
    lua_State *L = ctx;
    int top = lua_gettop(L), changed = 0;
    if (push_fn(L, "changed") == 0 && relm_host_pcall(L, 0, 1) == LUA_OK)
        changed = lua_toboolean(L, -1);
    lua_settop(L, top);
    return changed;
}

static int hooks_match(void *ctx, const char *event, char *out, size_t size)
{
    lua_State *L = ctx;
    int top = lua_gettop(L), n = 0;
    out[0] = '\0';
    if (push_fn(L, "match") == 0) {
        lua_pushstring(L, event);
        if (relm_host_pcall(L, 1, 1) == LUA_OK)
            n = join_lines(L, -1, out, size);
    }
    lua_settop(L, top);
    return n;
}

/* The mails {to=, subject=, body=} of the list at idx into mails. */
static int take_mails(lua_State *L, int idx, relm_hooks_mail *mails)
{
    idx = lua_absindex(L, idx);
    int n = lua_istable(L, idx) ? (int)luaL_len(L, idx) : 0, k = 0;
    static const char *const keys[] = {"to", "subject", "body"};
    for (int i = 1; i <= n && k < RELM_HOOKS_MAX_MAILS; i++) {
        lua_rawgeti(L, idx, i);
        char *v[3];
        for (int f = 0; f < 3; f++) {
            lua_getfield(L, -1 - f, keys[f]);
            const char *s = lua_tostring(L, -1);
            v[f] = strdup(s != NULL ? s : "");
        }
        lua_pop(L, 4);
        mails[k++] = (relm_hooks_mail){v[0], v[1], v[2]};
    }
    return k;
}

static int hooks_run(void *ctx, const char *hook, const char *body,
                     char *logs, size_t logsize, relm_hooks_mail *mails,
                     int *nmails, char *err, size_t size)
{
    lua_State *L = ctx;
    int top = lua_gettop(L), rc = -1;
    logs[0] = '\0';
    *nmails = 0;
    if (push_fn(L, "run") != 0) {
        take_error(L, err, size);
        lua_settop(L, top);
        return -1;
    }
    lua_pushstring(L, hook);
    lua_pushstring(L, body);
    /* ok, logs or reason, mails or logs, permanent */
    if (relm_host_pcall(L, 2, 4) != LUA_OK) {
        take_error(L, err, size);
    } else if (lua_toboolean(L, -4)) {
        join_lines(L, -3, logs, logsize);
        *nmails = take_mails(L, -2, mails);
        rc = 0;
    } else {
        snprintf(err, size, "%s", luaL_optstring(L, -3, "failed"));
        join_lines(L, -2, logs, logsize);
        rc = lua_toboolean(L, -1) ? -2 : -1;
    }
    lua_settop(L, top);
    return rc;
}

void relm_lua_hooks_bind(lua_State *L, relm_hooks_iface *h)
{
    h->ctx = L;
    h->reload = hooks_reload;
    h->changed = hooks_changed;
    h->match = hooks_match;
    h->run = hooks_run;
}

/* relm.core.hooks.replay(run_id): queue dead hook run run_id again with a
 * fresh count of tries (admin only). Stack: [-0, +0]. */
static int l_hooks_replay(lua_State *L)
{
    relm_diag d;
    if (relm_notify_replay_hook(relm_host_store(L), luaL_checkinteger(L, 1),
                                &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* Open relm.core.hooks: pushes the module table. */
int luaopen_relm_hooks(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"replay", l_hooks_replay},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    lua_createtable(L, 0, 2);
    lua_pushliteral(L, "the C half of relm.hooks (use relm.notify.replay)");
    lua_setfield(L, -2, "_module");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "_internal");
    lua_setfield(L, -2, "__doc");
    return 1;
}
