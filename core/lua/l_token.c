/* l_token.c: relm.core.token, the Lua face of core/token.c: API tokens
 * (create, list, revoke) and passwords. */
#include <lauxlib.h>

#include "base/i18n.h"
#include "lua/args.h"
#include "lua/host.h"
#include "lua/modules.h"
#include "token.h"

/* create(user, name, expires) -> token, id. expires: epoch seconds or 0. */
static int l_token_create(lua_State *L)
{
    const char *user = relm_lua_checktext(L, 1, "user");
    const char *name = relm_lua_checktext(L, 2, "name");
    lua_Integer expires = luaL_optinteger(L, 3, 0);
    relm_diag d;
    char token[RELM_TOKEN_BUF];
    int64_t id;
    if (relm_token_init(&d) != RELM_OK ||
        relm_token_create(relm_host_store(L), user, name, expires, token, &id,
                          &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushstring(L, token);
    lua_pushinteger(L, id);
    return 2;
}

/* revoke(id) */
static int l_token_revoke(lua_State *L)
{
    relm_diag d;
    if (relm_token_revoke(relm_host_store(L), luaL_checkinteger(L, 1), &d) !=
        RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* set_password(user, password|nil) */
static int l_token_set_password(lua_State *L)
{
    const char *user = relm_lua_checktext(L, 1, "user");
    const char *pw = relm_lua_opttext(L, 2, "password");
    relm_diag d;
    if (relm_token_init(&d) != RELM_OK ||
        relm_password_set(relm_host_store(L), user, pw, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* Open relm.core.token: pushes the module table. */
int luaopen_relm_token(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"create", l_token_create},
        {"revoke", l_token_revoke},
        {"set_password", l_token_set_password},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}
