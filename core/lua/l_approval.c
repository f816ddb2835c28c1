/* l_approval.c: relm.core.approval, the Lua face of core/approval.c. The
 * engine's private state runs the rules and opens rounds; scripts decide. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "approval.h"
#include "auth.h"
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
                                  _("ask #%zu is not a table"), i + 1);
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

/* last_rejection(release_id) -> user, note of the latest rejection in a
 * rejected round of the release, or nothing: ctx.rejected_by and
 * ctx.rejection_note for guards and actions (one cached statement). */
static int l_approval_last_rejection(lua_State *L)
{
    relm_store *s = relm_host_store(L);
    relm_diag d;
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT u.name, d.note FROM approval_rounds ro "
        "JOIN approval_requests q ON q.round_id = ro.id "
        "JOIN approval_decisions d ON d.request_id = q.id "
        "JOIN users u ON u.id = d.user_id "
        "WHERE ro.release_id = ?1 AND ro.status = 'rejected' "
        "AND d.decision = 'reject' ORDER BY d.id DESC LIMIT 1",
        &d);
    if (st == NULL)
        return relm_lua_diag_error(L, &d);
    sqlite3_bind_int64(st, 1, luaL_checkinteger(L, 1));
    int rc = sqlite3_step(st), n = 0;
    if (rc == SQLITE_ROW) {
        lua_pushstring(L, (const char *)sqlite3_column_text(st, 0));
        if (sqlite3_column_type(st, 1) == SQLITE_NULL)
            lua_pushnil(L);
        else
            lua_pushstring(L, (const char *)sqlite3_column_text(st, 1));
        n = 2;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        relm_store_fail(s, &d, "approval decisions");
        return relm_lua_diag_error(L, &d);
    }
    return n;
}

/* decide(release_id, decision [, note]) -> status, in the user's state: the
 * engine records the decision (checked in C: the user is asked and holds
 * approve) and, when it settles the round as rejected, takes the release
 * through the workflow's on_reject transition, in the same transaction. */
static int l_approval_decide_user(lua_State *L)
{
    luaL_checkinteger(L, 1);
    luaL_checkstring(L, 2);
    luaL_optstring(L, 3, NULL);
    lua_settop(L, 3);
    return relm_host_engine_call(L, "relm.approval", "decide", 3);
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
    return relm_lua_id_json(L, relm_approval_round);
}

/* request(release_id) -> round_id: the engine asks its rules (which a
 * script cannot replace) and opens a round with the approvers they name. */
static int l_approval_request(lua_State *L)
{
    luaL_checkinteger(L, 1);
    lua_settop(L, 1);
    return relm_host_engine_call(L, "relm.approval", "request", 1);
}

/* reask(release_id) -> whether a new round was opened: relate/unrelate
 * call it (in their transaction) so the engine asks its rules again when
 * what a release touches changes while it waits at an approval point. */
static int l_approval_reask(lua_State *L)
{
    luaL_checkinteger(L, 1);
    lua_settop(L, 1);
    return relm_host_engine_call(L, "relm.approval", "reask", 1);
}

/* configure(opts) / load(path): where the engine reads approval rules
 * from. Administrators only: rules decide who must approve. */
static int engine_admin(lua_State *L, const char *fn, const char *what)
{
    relm_diag d;
    lua_settop(L, 1);
    if (relm_auth_require_admin(relm_host_store(L), what, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return relm_host_engine_call(L, "relm.approval", fn, 1);
}

static int l_approval_configure(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    return engine_admin(L, "configure", "configuring approval rules");
}

static int l_approval_load(lua_State *L)
{
    luaL_checkstring(L, 1);
    return engine_admin(L, "load", "loading approval rules");
}

int luaopen_relm_approval(lua_State *L)
{
    /* open and withdraw take the approvers and the moment from the caller:
     * only the engine's state has them. */
    static const luaL_Reg engine_fns[] = {
        {"open", l_approval_open},
        {"withdraw", l_approval_withdraw},
        {"decide", l_approval_decide},
        {"last_rejection", l_approval_last_rejection},
        {NULL, NULL},
    };
    static const luaL_Reg user_fns[] = {
        {"decide", l_approval_decide_user},
        {"request", l_approval_request},
        {"reask", l_approval_reask},
        {"configure", l_approval_configure},
        {"load", l_approval_load},
        {NULL, NULL},
    };
    static const luaL_Reg fns[] = {
        {"round", l_approval_round},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    luaL_setfuncs(L, relm_host_is_engine(L) ? engine_fns : user_fns, 0);
    return 1;
}
