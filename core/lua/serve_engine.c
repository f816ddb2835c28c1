/* serve_engine.c: serve's two calls into the engine's Lua state (defining
 * a workflow before a primitive, reloading definitions on SIGHUP). */
#include "lua/serve_engine.h"

#include "lua/host.h"

/* Protected part of define: relm.release's engine define(name). */
static int define_call(lua_State *L)
{
    return relm_host_engine_call(L, "relm.release", "define", 1);
}

static int engine_define(void *ctx, const char *workflow, relm_diag *d)
{
    lua_State *L = ctx;
    int top = lua_gettop(L);
    lua_pushcfunction(L, define_call);
    lua_pushstring(L, workflow);
    int rc = relm_host_pcall(L, 1, 0);
    if (rc != LUA_OK) {
        relm_diag_set(d, "not_defined", "%s", relm_lua_error_string(L, -1));
        lua_settop(L, top);
        return RELM_ERR;
    }
    lua_settop(L, top);
    return RELM_OK;
}

/* Protected part of reload: relm.reload's engine all() or changed() (the
 * upvalue) -> list of {what=, message=} for the definitions that failed,
 * with n = the kinds read. */
static int reload_call(lua_State *L)
{
    return relm_host_engine_call(
        L, "relm.reload", lua_toboolean(L, lua_upvalueindex(1)) ? "changed"
                                                                : "all",
        0);
}

static int engine_reload(void *ctx, int changed_only,
                         relm_serve_report_fn report, void *arg)
{
    lua_State *L = ctx;
    int top = lua_gettop(L);
    lua_pushboolean(L, changed_only);
    lua_pushcclosure(L, reload_call, 1);
    if (relm_host_pcall(L, 0, 1) != LUA_OK) {
        report(arg, "reload", relm_lua_error_string(L, -1));
        lua_settop(L, top);
        return 1;
    }
    int kinds = 0;
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "n");
        kinds = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        for (lua_Integer i = 1; lua_geti(L, -1, i) == LUA_TTABLE; i++) {
            lua_getfield(L, -1, "what");
            lua_getfield(L, -2, "message");
            const char *what = lua_tostring(L, -2);
            const char *msg = lua_tostring(L, -1);
            report(arg, what ? what : "?", msg ? msg : "?");
            lua_pop(L, 3);
        }
    }
    lua_settop(L, top);
    return kinds;
}

void relm_serve_engine_opts(lua_State *L, relm_serve_opts *o)
{
    o->define = engine_define;
    o->define_ctx = L;
    o->reload = engine_reload;
    o->reload_ctx = L;
}
