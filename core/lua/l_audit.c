/* l_audit.c: relm.core.audit, the Lua face of core/audit.c: walk the
 * occurrence log's hash chain and read its head. */
#include <lauxlib.h>

#include "audit.h"
#include "lua/args.h"
#include "lua/host.h"
#include "lua/modules.h"

/* verify([id, hash]) -> true, rows | false, {id=, reason=, rows=,
 * releases=, problems={{kind=, id=, reason=}, ...}, more=}. With id and
 * hash (a head kept earlier), also checks that row is unchanged. */
static int l_audit_verify(lua_State *L)
{
    relm_audit_report r;
    relm_diag d;
    int64_t id = luaL_optinteger(L, 1, 0);
    const char *hash = id > 0 ? relm_lua_checktext(L, 2, "hash") : NULL;
    if (relm_audit_verify_kept(relm_host_store(L), id, hash, &r, &d) !=
        RELM_OK)
        return relm_lua_diag_error(L, &d);
    if (r.ok) {
        lua_pushboolean(L, 1);
        lua_pushinteger(L, r.rows);
        return 2;
    }
    lua_pushboolean(L, 0);
    lua_createtable(L, 0, 6);
    relm_lua_set_int(L, "id", r.bad_id);
    relm_lua_set_string(L, "reason", r.reason);
    relm_lua_set_int(L, "rows", r.rows);
    relm_lua_set_int(L, "releases", r.releases);
    relm_lua_set_int(L, "more", r.more);
    lua_createtable(L, r.nproblems, 0);
    for (int i = 0; i < r.nproblems; i++) {
        lua_createtable(L, 0, 3);
        relm_lua_set_string(L, "kind", r.problems[i].kind);
        relm_lua_set_int(L, "id", r.problems[i].id);
        relm_lua_set_string(L, "reason", r.problems[i].reason);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "problems");
    return 2;
}

/* head() -> id, hash of the last occurrence (0 and 64 zeros when empty). */
static int l_audit_head(lua_State *L)
{
    int64_t id;
    char hash[65];
    relm_diag d;
    if (relm_audit_head(relm_host_store(L), &id, hash, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, id);
    lua_pushstring(L, hash);
    return 2;
}

/* Open relm.core.audit: pushes the module table. */
int luaopen_relm_audit(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"verify", l_audit_verify},
        {"head", l_audit_head},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}
