/* escalate.c: serve's calls into relm.escalation (load the rule files, run
 * the rules of a release) through the host's protected call. */
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "base/i18n.h"
#include "lua/escalate.h"
#include "lua/host.h"

/* Push relm.escalation[fn], or return 0 (with an error line on stderr). */
static int push_fn(lua_State *L, const char *fn)
{
    lua_getglobal(L, "require");
    lua_pushstring(L, "relm.escalation");
    if (relm_host_pcall(L, 1, 1) != LUA_OK) {
        fprintf(stderr, _("relm: serve: escalation rules: %s\n"),
                relm_lua_error_string(L, -1));
        lua_pop(L, 1);
        return 0;
    }
    lua_getfield(L, -1, fn);
    lua_remove(L, -2);
    return 1;
}

int relm_lua_escalation_pcts(void *ctx, double *out, int max, char *errors,
                             size_t size)
{
    lua_State *L = ctx;
    int top = lua_gettop(L), n = 0;
    size_t used = 0;
    errors[0] = '\0';
    if (!push_fn(L, "load"))
        return 0;
    /* Files that fail are reported and left out: serve keeps running. */
    if (relm_host_pcall(L, 0, 2) == LUA_OK) {
        lua_Integer ne = luaL_len(L, -1);
        for (lua_Integer i = 1; i <= ne && used < size; i++) {
            lua_rawgeti(L, -1, i);
            used += (size_t)snprintf(errors + used, size - used, "%s\n",
                                     lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    } else {
        snprintf(errors, size, "%s\n", relm_lua_error_string(L, -1));
    }
    lua_settop(L, top);
    if (!push_fn(L, "percents"))
        return 0;
    if (relm_host_pcall(L, 0, 1) == LUA_OK && lua_istable(L, -1)) {
        lua_Integer np = luaL_len(L, -1);
        for (lua_Integer i = 1; i <= np && n < max; i++) {
            lua_rawgeti(L, -1, i);
            out[n++] = lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
    }
    lua_settop(L, top);
    return n;
}

int relm_lua_escalation_changed(void *ctx)
{
    lua_State *L = ctx;
    int top = lua_gettop(L), changed = 0;
    if (push_fn(L, "changed") && relm_host_pcall(L, 0, 1) == LUA_OK)
        changed = lua_toboolean(L, -1);
    lua_settop(L, top);
    return changed;
}

/* Copy field k of the table on top (a string) into out. */
static void copy_field(lua_State *L, const char *k, char *out, size_t n)
{
    lua_getfield(L, -1, k);
    const char *v = lua_tostring(L, -1);
    snprintf(out, n, "%s", v != NULL ? v : "");
    lua_pop(L, 1);
}

int relm_lua_escalate(void *ctx, int64_t id, int64_t cycle, double from,
                      double to, double warn, relm_escalation_fired *out,
                      int max)
{
    lua_State *L = ctx;
    int top = lua_gettop(L), n = 0;
    if (!push_fn(L, "_run"))
        return 0;
    lua_pushinteger(L, id);
    lua_pushinteger(L, cycle);
    lua_pushnumber(L, from);
    lua_pushnumber(L, to);
    lua_pushnumber(L, warn);
    if (relm_host_pcall(L, 5, 1) != LUA_OK) {
        /* The runner itself failed (not a rule): one parked record. */
        memset(&out[0], 0, sizeof out[0]);
        snprintf(out[0].rule, sizeof out[0].rule, "*");
        snprintf(out[0].stage, sizeof out[0].stage, "%g%%", to);
        snprintf(out[0].error, sizeof out[0].error, "%s",
                 relm_lua_error_string(L, -1));
        lua_settop(L, top);
        return max > 0 ? 1 : 0;
    }
    lua_Integer nr = lua_istable(L, -1) ? luaL_len(L, -1) : 0;
    for (lua_Integer i = 1; i <= nr && n < max; i++) {
        lua_rawgeti(L, -1, i);
        relm_escalation_fired *f = &out[n++];
        memset(f, 0, sizeof *f);
        copy_field(L, "rule", f->rule, sizeof f->rule);
        copy_field(L, "stage", f->stage, sizeof f->stage);
        copy_field(L, "error", f->error, sizeof f->error);
        copy_field(L, "notify", f->notify, sizeof f->notify);
        lua_getfield(L, -1, "ok");
        f->ok = lua_toboolean(L, -1);
        lua_pop(L, 2);
    }
    lua_settop(L, top);
    return n;
}
