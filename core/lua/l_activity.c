/* l_activity.c: relm.core.activity, the Lua face of core/activity.c.
 * lua/relm/activity.lua checks arguments and decodes the JSON snapshots. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "activity.h"
#include "base/time.h"
#include "lua/args.h"
#include "lua/host.h"
#include "lua/modules.h"

/* Text fields of a spec: key, bit, and where the value goes. */
typedef struct text_field {
    const char *key;
    unsigned bit;
    size_t off;
} text_field;

static const text_field text_fields[] = {
    {"phase", RELM_ACT_PHASE, offsetof(relm_activity_spec, phase)},
    {"title", RELM_ACT_TITLE, offsetof(relm_activity_spec, title)},
    {"description", RELM_ACT_DESCRIPTION,
     offsetof(relm_activity_spec, description)},
    {"group", RELM_ACT_GROUP, offsetof(relm_activity_spec, group)},
    {"owner", RELM_ACT_OWNER, offsetof(relm_activity_spec, owner)},
    {"scheduled_at", RELM_ACT_SCHEDULED,
     offsetof(relm_activity_spec, scheduled_at)},
    {"notes", RELM_ACT_NOTES, offsetof(relm_activity_spec, notes)},
    {"status", RELM_ACT_STATUS, offsetof(relm_activity_spec, status)},
};

typedef struct int_field {
    const char *key;
    unsigned bit;
    size_t off;
} int_field;

static const int_field int_fields[] = {
    {"order", RELM_ACT_ORDER, offsetof(relm_activity_spec, order)},
    {"estimated_minutes", RELM_ACT_ESTIMATE,
     offsetof(relm_activity_spec, estimated_minutes)},
    {"actual_minutes", RELM_ACT_ACTUAL,
     offsetof(relm_activity_spec, actual_minutes)},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Read the spec table at idx into a. A string sets a text field, false
 * clears it; integers set the numeric fields. The strings stay alive
 * while the table is on the stack. Raises invalid_field on a bad type. */
static void read_spec(lua_State *L, int idx, relm_activity_spec *a)
{
    memset(a, 0, sizeof *a);
    for (size_t i = 0; i < NELEM(text_fields); i++) {
        const text_field *f = &text_fields[i];
        int t = lua_getfield(L, idx, f->key);
        if (t == LUA_TSTRING) {
            *(const char **)((char *)a + f->off) =
                relm_lua_text(L, -1, f->key, NULL);
            a->set |= f->bit;
        } else if (t == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
            a->set |= f->bit;
        } else if (t != LUA_TNIL) {
            relm_lua_error(L, "invalid_field", _("%s: must be a string, got %s"),
                           f->key, luaL_typename(L, -1));
        }
        lua_pop(L, 1);
    }
    for (size_t i = 0; i < NELEM(int_fields); i++) {
        const int_field *f = &int_fields[i];
        int t = lua_getfield(L, idx, f->key);
        if (t == LUA_TNUMBER && lua_isinteger(L, -1)) {
            *(int64_t *)((char *)a + f->off) = lua_tointeger(L, -1);
            a->set |= f->bit;
        } else if (t != LUA_TNIL) {
            relm_lua_error(L, "invalid_field", _("%s: must be an integer, got %s"),
                           f->key, luaL_typename(L, -1));
        }
        lua_pop(L, 1);
    }
}

/* Push the malloc'd JSON text and free it. */
static void push_json(lua_State *L, char *json)
{
    lua_pushstring(L, json != NULL ? json : "null");
    free(json);
}

/* add(release_id, spec [, action [, permission]]) -> id, snapshot_json.
 * The occurrence name and the permission (create, for a model's pre-filled
 * activities at registration) are the engine's to choose: in the user's
 * state an activity is added under execute, logged as activity.add. */
static int l_activity_add(lua_State *L)
{
    int64_t rid = luaL_checkinteger(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    int engine = relm_host_is_engine(L);
    const char *action = engine ? relm_lua_opttext(L, 3, "action") : NULL;
    const char *perm = engine ? relm_lua_opttext(L, 4, "permission") : NULL;
    relm_activity_spec a;
    read_spec(L, 2, &a);
    relm_diag d;
    int64_t id = 0;
    char *after = NULL;
    if (relm_activity_add(relm_host_store(L), rid, &a, action, perm, &id,
                          &after, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, id);
    push_json(L, after);
    return 2;
}

/* update(id, spec [, action [, note]]) -> snapshot_json. */
static int l_activity_update(lua_State *L)
{
    int64_t id = luaL_checkinteger(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    /* The occurrence says what kind of change it was: one of these. */
    static const char *const actions[] = {"activity.update", "activity.move",
                                          "activity.schedule", NULL};
    const char *action =
        actions[luaL_checkoption(L, 3, "activity.update", actions)];
    const char *note = relm_lua_opttext(L, 4, "note");
    relm_activity_spec a;
    read_spec(L, 2, &a);
    relm_diag d;
    char *after = NULL;
    if (relm_activity_update(relm_host_store(L), id, &a, action, note, &after,
                             &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    push_json(L, after);
    return 1;
}

/* depend(id, on, add) -> snapshot_json of id. */
static int l_activity_depend(lua_State *L)
{
    int64_t id = luaL_checkinteger(L, 1);
    int64_t on = luaL_checkinteger(L, 2);
    int add = lua_toboolean(L, 3);
    relm_diag d;
    char *after = NULL;
    if (relm_activity_depend(relm_host_store(L), id, on, add, &after, &d) !=
        RELM_OK)
        return relm_lua_diag_error(L, &d);
    push_json(L, after);
    return 1;
}

/* get(id) -> snapshot_json. Raises not_found. */
static int l_activity_get(lua_State *L)
{
    return relm_lua_id_json(L, relm_activity_get);
}

/* list(release_id) -> JSON array text. Raises not_found. */
static int l_activity_list(lua_State *L)
{
    return relm_lua_id_json(L, relm_activity_list);
}

/* valid_date(text) -> boolean. */
static int l_activity_valid_date(lua_State *L)
{
    lua_pushboolean(L, relm_time_valid(relm_lua_checktext(L, 1, NULL), RELM_TIME_CLOCK));
    return 1;
}

int luaopen_relm_activity(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"add", l_activity_add},
        {"update", l_activity_update},
        {"depend", l_activity_depend},
        {"get", l_activity_get},
        {"list", l_activity_list},
        {"valid_date", l_activity_valid_date},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}
