/* l_approval.c: relm.core.approval, the Lua face of core/approval.c.
 * lua/relm/approval.lua runs the rules (sandboxed) and calls these writes. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "approval.h"
#include "lua/args.h"
#include "lua/host.h"
#include "lua/modules.h"

/* open(release_id, asks) -> round_id. asks is an array of {rule=, source=,
 * level=, group= | user=, quorum=, veto=}. Stack: args -> round_id (the
 * asks' strings stay alive in arg 2 while the core reads them). */
static int l_approval_open(lua_State *L)
{
    int64_t rid = luaL_checkinteger(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t n = (size_t)luaL_len(L, 2);
    /* A userdata, not malloc: an error while reading the asks (a field
     * access can raise) leaves nothing to free. */
    relm_approval_ask *asks = lua_newuserdatauv(L, (n ? n : 1) * sizeof *asks,
                                                0);
    memset(asks, 0, (n ? n : 1) * sizeof *asks);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 2, (lua_Integer)i + 1);
        int t = lua_gettop(L);
        if (!lua_istable(L, t))
            return relm_lua_error(L, "invalid_argument",
                                  "ask #%zu is not a table", i + 1);
        relm_approval_ask *a = &asks[i];
        a->rule = relm_lua_field_string(L, t, "rule");
        a->source = relm_lua_field_string(L, t, "source");
        a->group = relm_lua_field_string(L, t, "group");
        a->user = relm_lua_field_string(L, t, "user");
        a->quorum = relm_lua_field_string(L, t, "quorum");
        lua_getfield(L, t, "level");
        a->level = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
        lua_getfield(L, t, "veto");
        a->veto = lua_isnil(L, -1) ? 1 : lua_toboolean(L, -1);
        lua_pop(L, 3); /* the ask table stays referenced by arg 2 */
    }
    relm_diag d;
    int64_t round = 0;
    int rc = relm_approval_open(relm_host_store(L), rid, asks, n, &round, &d);
    if (rc != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, round);
    return 1;
}

/* decide(release_id, decision, note) -> status of the round afterwards
 * ("open", "approved", "rejected"). */
static int l_approval_decide(lua_State *L)
{
    int64_t rid = luaL_checkinteger(L, 1);
    const char *decision = relm_lua_checktext(L, 2, "decision");
    const char *note = relm_lua_opttext(L, 3, "note");
    relm_diag d;
    char status[16];
    if (relm_approval_decide(relm_host_store(L), rid, decision, note, status,
                             &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushstring(L, status);
    return 1;
}

/* withdraw(release_id [, note]) -> true when an open round was withdrawn. */
static int l_approval_withdraw(lua_State *L)
{
    int64_t rid = luaL_checkinteger(L, 1);
    const char *note = relm_lua_opttext(L, 2, "note");
    relm_diag d;
    int done = 0;
    if (relm_approval_withdraw(relm_host_store(L), rid, note, &done, &d) !=
        RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushboolean(L, done);
    return 1;
}

/* round(release_id) -> JSON text of the latest round ("null" if none). */
static int l_approval_round(lua_State *L)
{
    relm_diag d;
    char *json = NULL;
    if (relm_approval_round(relm_host_store(L), luaL_checkinteger(L, 1),
                            &json, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushstring(L, json);
    free(json);
    return 1;
}

int luaopen_relm_approval(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"open", l_approval_open},
        {"decide", l_approval_decide},
        {"withdraw", l_approval_withdraw},
        {"round", l_approval_round},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}
