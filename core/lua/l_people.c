/* l_people.c: relm.core.people, the Lua face of core/people.c (users,
 * groups, memberships, permissions, justifications) plus as_user. */
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "base/i18n.h"
#include "auth.h"
#include "lua/args.h"
#include "lua/host.h"
#include "lua/modules.h"
#include "people.h"

/* String field k of the table at t, or NULL; raises when it is not a
 * string. The string stays alive while the table does. */
static const char *str_field(lua_State *L, int t, const char *k)
{
    lua_getfield(L, t, k);
    const char *v = NULL;
    if (lua_type(L, -1) == LUA_TSTRING)
        v = relm_lua_text(L, -1, k, NULL);
    else if (!lua_isnil(L, -1))
        relm_lua_error(L, "invalid_field", _("%s: must be a string, got %s"), k,
                       luaL_typename(L, -1));
    lua_pop(L, 1);
    return v;
}

/* Boolean field k: 1, 0, or dflt when absent; raises on a non-boolean. */
static int bool_field(lua_State *L, int t, const char *k, int dflt)
{
    lua_getfield(L, t, k);
    int v = dflt;
    if (lua_isboolean(L, -1))
        v = lua_toboolean(L, -1);
    else if (!lua_isnil(L, -1))
        relm_lua_error(L, "invalid_field", _("%s: must be a boolean, got %s"), k,
                       luaL_typename(L, -1));
    lua_pop(L, 1);
    return v;
}

/* user_add{name=, full_name=, email=, phone=, unit=, location=, admin=}
 * -> id. */
static int l_people_user_add(lua_State *L)
{
    static const char *const known[] = {"name", "full_name", "email", "phone",
                                        "unit", "location", "admin", NULL};
    luaL_checktype(L, 1, LUA_TTABLE);
    relm_lua_check_keys(L, 1, known, "invalid_field",
                        "relm.user.add", "field");
    relm_user_spec u = {
        .name = str_field(L, 1, "name"),
        .full_name = str_field(L, 1, "full_name"),
        .email = str_field(L, 1, "email"),
        .phone = str_field(L, 1, "phone"),
        .unit = str_field(L, 1, "unit"),
        .location = str_field(L, 1, "location"),
        .is_admin = bool_field(L, 1, "admin", 0),
    };
    int64_t id = 0;
    relm_diag d;
    if (relm_people_user_add(relm_host_store(L), &u, &id, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, id);
    return 1;
}

/* user_set_active(name, active). */
static int l_people_user_set_active(lua_State *L)
{
    const char *name = relm_lua_checktext(L, 1, "name");
    luaL_checktype(L, 2, LUA_TBOOLEAN);
    relm_diag d;
    if (relm_people_user_set_active(relm_host_store(L), name,
                                    lua_toboolean(L, 2), &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* group_add(name [, description]) -> id. */
static int l_people_group_add(lua_State *L)
{
    const char *name = relm_lua_checktext(L, 1, "name");
    const char *desc = relm_lua_opttext(L, 2, "description");
    int64_t id = 0;
    relm_diag d;
    if (relm_people_group_add(relm_host_store(L), name, desc, &id, &d) !=
        RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, id);
    return 1;
}

/* member(user, group, add [, role]): a role (adding only) sets the
 * member's role in the group. */
static int l_people_member(lua_State *L)
{
    const char *user = relm_lua_checktext(L, 1, "user");
    const char *group = relm_lua_checktext(L, 2, "group");
    const char *role = relm_lua_opttext(L, 4, "role");
    relm_diag d;
    int rc = role != NULL && lua_toboolean(L, 3)
                 ? relm_people_member_role(relm_host_store(L), user, group,
                                           role, &d)
                 : relm_people_member(relm_host_store(L), user, group,
                                      lua_toboolean(L, 3), &d);
    if (rc != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* permission(group, workflow, action, grant). */
static int l_people_permission(lua_State *L)
{
    const char *group = relm_lua_checktext(L, 1, "group");
    const char *wf = relm_lua_checktext(L, 2, "workflow");
    const char *action = relm_lua_checktext(L, 3, "action");
    relm_diag d;
    /* A grant names a workflow the engine can compile (not_found, with a
     * did-you-mean, for a typo that would grant nothing), and a workflow's
     * own permission name is checked against that compiled definition. */
    if (lua_toboolean(L, 4) && strcmp(wf, "*") != 0) {
        lua_pushvalue(L, 2);
        relm_host_engine_call(L, "relm.release", "define", 1);
        lua_settop(L, 4);
    }
    if (relm_people_permission(relm_host_store(L), group, wf, action,
                               lua_toboolean(L, 4), &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

static const char *const justification_keys[] = {
    "description", "suspend", "cancel", "reopen", "active", NULL};

/* justification_add{description=, suspend=, cancel=, reopen=, active=}
 * -> id. */
static int l_people_justification_add(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    relm_lua_check_keys(L, 1, justification_keys, "invalid_field",
                        "relm.justification.add", "field");
    relm_justification_spec j = {
        .description = str_field(L, 1, "description"),
        .suspend = bool_field(L, 1, "suspend", 0),
        .cancel = bool_field(L, 1, "cancel", 0),
        .reopen = bool_field(L, 1, "reopen", 0),
        .active = bool_field(L, 1, "active", 1),
    };
    int64_t id = 0;
    relm_diag d;
    if (relm_people_justification_add(relm_host_store(L), &j, &id, &d) !=
        RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, id);
    return 1;
}

/* justification_update(id, {fields}). */
static int l_people_justification_update(lua_State *L)
{
    int64_t id = luaL_checkinteger(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    relm_lua_check_keys(L, 2, justification_keys, "invalid_field",
                        "relm.justification.update", "field");
    relm_justification_spec j = {
        .description = str_field(L, 2, "description"),
        .suspend = bool_field(L, 2, "suspend", -1),
        .cancel = bool_field(L, 2, "cancel", -1),
        .reopen = bool_field(L, 2, "reopen", -1),
        .active = bool_field(L, 2, "active", -1),
    };
    relm_diag d;
    if (relm_people_justification_update(relm_host_store(L), id, &j, &d) !=
        RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* is_admin() -> whether the acting user is a superuser. */
static int l_people_is_admin(lua_State *L)
{
    lua_pushboolean(L, relm_auth_is_admin(relm_host_store(L)));
    return 1;
}

/* as_user(name, fn, ...) -> fn's results, run with name as the acting
 * user, then the previous actor again (also when fn raises, whose error is
 * re-raised). Administrators only: it is how an admin script or a spec
 * acts for someone else without a second process. */
static int l_people_as_user(lua_State *L)
{
    const char *name = relm_lua_checktext(L, 1, "name");
    luaL_checktype(L, 2, LUA_TFUNCTION);
    relm_store *s = relm_host_store(L);
    relm_diag d;
    if (relm_auth_require_admin(s, "acting as another user", &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    char prev[128];
    snprintf(prev, sizeof prev, "%s", relm_store_actor_name(s));
    if (relm_store_set_actor(s, name, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_remove(L, 1);
    int status = relm_host_pcall(L, lua_gettop(L) - 1, LUA_MULTRET);
    relm_diag d2;
    if (relm_store_set_actor(s, prev, &d2) != RELM_OK) {
        /* fn deactivated the previous actor: acting on as name would be
         * acting as the wrong person, so no one acts (writes then refuse
         * with unknown_user). */
        relm_store_defer_actor(s, prev);
        return relm_lua_diag_error(L, &d2);
    }
    if (status != LUA_OK)
        return lua_error(L);
    return lua_gettop(L);
}

/* Open relm.core.people: pushes the module table (with __doc). */
int luaopen_relm_people(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"user_add", l_people_user_add},
        {"user_set_active", l_people_user_set_active},
        {"group_add", l_people_group_add},
        {"member", l_people_member},
        {"permission", l_people_permission},
        {"justification_add", l_people_justification_add},
        {"justification_update", l_people_justification_update},
        {"is_admin", l_people_is_admin},
        {"as_user", l_people_as_user},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    /* _internal: help() and Tab completion offer the Lua modules instead. */
    lua_createtable(L, 0, 2);
    lua_pushliteral(L, "the C half of relm.user, relm.group, relm.permission "
                       "and relm.justification (use those)");
    lua_setfield(L, -2, "_module");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "_internal");
    lua_setfield(L, -2, "__doc");
    return 1;
}
