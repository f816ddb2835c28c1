/* l_workflow.c: relm.core.workflow, the hand-off of a compiled workflow
 * to C (core/workflow.c). define exists only in the engine's private state. */
#include <lauxlib.h>
#include <string.h>

#include "base/i18n.h"
#include "conflict.h"
#include "lua/args.h"
#include "lua/host.h"
#include "lua/modules.h"
#include "workflow.h"

/* Room for one list of names read from a Lua array. */
typedef struct name_list {
    const char *v[RELM_WF_MAX_NAMES];
    int n;
} name_list;

/* Read t[key] (at idx), an array of strings, into out; the strings stay
 * valid while the table is on the stack. invalid_workflow for anything
 * else. */
static int read_names(lua_State *L, int idx, const char *key, name_list *out,
                      relm_diag *d)
{
    out->n = 0;
    lua_getfield(L, idx, key);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return RELM_OK;
    }
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return relm_diag_set(d, "invalid_workflow", _("%s must be a list of "
                             "names"), key);
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    if (n > RELM_WF_MAX_NAMES) {
        lua_pop(L, 1);
        return relm_diag_set(d, "invalid_workflow", _("%s: more than %d names"),
                             key, RELM_WF_MAX_NAMES);
    }
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 2);
            return relm_diag_set(d, "invalid_workflow",
                                 _("%s[%d] must be a name"), key, (int)i);
        }
        /* The string is anchored in the table, which the caller keeps. */
        out->v[out->n++] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return RELM_OK;
}

/* t[key] as a string or NULL; the string is anchored in t. */
static const char *opt_str(lua_State *L, int idx, const char *key)
{
    lua_getfield(L, idx, key);
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                   : NULL;
    lua_pop(L, 1);
    return s;
}

static int opt_bool(lua_State *L, int idx, const char *key)
{
    lua_getfield(L, idx, key);
    int b = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return b;
}

/* The conflict kinds named in t[key] (a list) as RELM_CONFLICT_* bits. */
static int read_conflicts(lua_State *L, int t, const char *key,
                          unsigned *mask, relm_diag *d)
{
    name_list l;
    *mask = 0;
    if (read_names(L, t, key, &l, d) != RELM_OK)
        return RELM_ERR;
    for (int i = 0; i < l.n; i++) {
        int k = relm_conflict_kind(l.v[i]);
        if (k == 0)
            return relm_diag_set(d, "invalid_workflow",
                                 _("%s: unknown conflict kind '%s'"), key,
                                 l.v[i]);
        *mask |= (unsigned)k;
    }
    return RELM_OK;
}

/* Build w from the plain table at idx (see l_workflow_define). */
static int build(lua_State *L, int idx, relm_workflow *w, relm_diag *d)
{
    if (relm_workflow_set_ends(w, opt_str(L, idx, "initial"),
                               opt_str(L, idx, "close_state"),
                               opt_str(L, idx, "cancel_state"),
                               opt_str(L, idx, "reopen_to"), d) != RELM_OK)
        return RELM_ERR;
    name_list a, b;
    lua_getfield(L, idx, "states");
    int states = lua_gettop(L);
    lua_Integer n = lua_istable(L, states) ? (lua_Integer)lua_rawlen(L, states)
                                           : 0;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, states, i);
        int st = lua_gettop(L);
        if (!lua_istable(L, st))
            return relm_diag_set(d, "invalid_workflow", _("states[%d] must be "
                                 "a table"), (int)i);
        unsigned flags = (opt_bool(L, st, "final") ? RELM_WF_FINAL : 0) |
                         (opt_bool(L, st, "suspend") ? RELM_WF_SUSPEND : 0) |
                         (opt_bool(L, st, "cancel") ? RELM_WF_CANCEL : 0);
        lua_getfield(L, st, "editable");
        if (!lua_isnil(L, -1))
            flags |= RELM_WF_EDITABLE;
        lua_pop(L, 1);
        if (read_names(L, st, "requires", &a, d) != RELM_OK ||
            read_names(L, st, "editable", &b, d) != RELM_OK ||
            relm_workflow_add_state(w, opt_str(L, st, "name"),
                                    opt_str(L, st, "phase"), flags, a.v, a.n,
                                    b.v, b.n, d) != RELM_OK)
            return RELM_ERR;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_getfield(L, idx, "transitions");
    int ts = lua_gettop(L);
    n = lua_istable(L, ts) ? (lua_Integer)lua_rawlen(L, ts) : 0;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, ts, i);
        int t = lua_gettop(L);
        if (!lua_istable(L, t))
            return relm_diag_set(d, "invalid_workflow", _("transitions[%d] "
                                 "must be a table"), (int)i);
        const char *by = opt_str(L, t, "by");
        int byk = by == NULL || strcmp(by, "anyone") == 0 ||
                          strcmp(by, "any") == 0
                      ? RELM_BY_ANY
                  : strcmp(by, "requester") == 0 ? RELM_BY_REQUESTER
                  : strcmp(by, "executor") == 0  ? RELM_BY_EXECUTOR
                                                 : -1;
        const char *perm = opt_str(L, t, "permission");
        if (read_names(L, t, "from", &a, d) != RELM_OK ||
            read_names(L, t, "requires", &b, d) != RELM_OK ||
            relm_workflow_add_transition(
                w, opt_str(L, t, "name"), a.v, a.n, opt_str(L, t, "to"),
                perm != NULL ? perm : "execute", byk,
                opt_bool(L, t, "approval"), b.v, b.n, d) != RELM_OK)
            return RELM_ERR;
        unsigned refuse, record;
        if (read_conflicts(L, t, "refuse_if", &refuse, d) != RELM_OK ||
            read_conflicts(L, t, "record_if", &record, d) != RELM_OK ||
            ((refuse | record) != 0 &&
             relm_workflow_set_conflicts(w, opt_str(L, t, "name"), refuse,
                                         record, d) != RELM_OK))
            return RELM_ERR;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return RELM_OK;
}

/* define(name, plain) -> digest. plain = {initial=, close_state=,
 * cancel_state=, reopen_to=, states = {{name=, phase=, final=, suspend=,
 * cancel=, requires={...}, editable={...}|nil}, ...}, transitions =
 * {{name=, from={...}, to=, permission=, by=, approval=, requires={...},
 * refuse_if={...}, record_if={...}},
 * ...}} in declaration order. Replaces the store's definition of name
 * unless its content is the same. Raises invalid_workflow, limit. */
static int l_workflow_define(lua_State *L)
{
    const char *name = relm_lua_checktext(L, 1, "name");
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    relm_diag d;
    relm_workflow *w = relm_workflow_new(name);
    if (w == NULL)
        return relm_lua_error(L, "invalid_workflow",
                              _("workflow name '%s' is empty or too long"), name);
    int top = lua_gettop(L);
    if (build(L, 2, w, &d) != RELM_OK) {
        lua_settop(L, top);
        relm_workflow_free(w);
        return relm_lua_diag_error(L, &d);
    }
    relm_store *s = relm_host_store(L);
    if (relm_workflow_define(s, w, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushstring(L, relm_workflow_digest(relm_workflow_find(s, name)));
    return 1;
}

/* digest(name) -> the hex digest of the definition in force, or nil. */
static int l_workflow_digest(lua_State *L)
{
    const relm_workflow *w = relm_workflow_find(
        relm_host_store(L), relm_lua_checktext(L, 1, "name"));
    if (w == NULL)
        lua_pushnil(L);
    else
        lua_pushstring(L, relm_workflow_digest(w));
    return 1;
}

/* Open relm.core.workflow: the engine's state gets define; every state
 * may ask which definition is in force (digest). */
int luaopen_relm_workflow(lua_State *L)
{
    static const luaL_Reg engine_fns[] = {
        {"define", l_workflow_define},
        {NULL, NULL},
    };
    static const luaL_Reg fns[] = {
        {"digest", l_workflow_digest},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    if (relm_host_is_engine(L))
        luaL_setfuncs(L, engine_fns, 0);
    return 1;
}
