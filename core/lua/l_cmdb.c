/* l_cmdb.c: relm.core.cmdb, the C half of relm.cmdb: turns Lua tables into
 * CMDB values, calls the core primitives and raises their errors. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "base/grow.h"
#include "cmdb/cmdb.h"
#include "cmdb/import.h"
#include "lua/host.h"
#include "lua/modules.h"

/* Fill v from the Lua value at idx for field `key`. nil and relm.cmdb.null
 * (a NULL light userdata, the same as cjson.null) mean "clear". Raises
 * invalid_argument for values a CI cannot hold. No stack effect. */
static void to_value(lua_State *L, int idx, const char *key,
                     relm_cmdb_value *v)
{
    memset(v, 0, sizeof *v);
    v->key = key;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        v->vtype = RELM_V_NIL;
        break;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) != NULL)
            goto bad;
        v->vtype = RELM_V_NIL;
        break;
    case LUA_TBOOLEAN:
        v->vtype = RELM_V_BOOL;
        v->i = lua_toboolean(L, idx);
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            v->vtype = RELM_V_INT;
            v->i = lua_tointeger(L, idx);
        } else {
            v->vtype = RELM_V_REAL;
            v->r = lua_tonumber(L, idx);
        }
        break;
    case LUA_TSTRING:
        v->vtype = RELM_V_TEXT;
        v->s = relm_lua_text(L, idx, key, &v->len);
        break;
    default:
    bad:
        relm_lua_error(L, "invalid_field", _("field '%s': a CI cannot hold a %s"),
                       key, luaL_typename(L, idx));
    }
}

/* Collect the string-keyed entries of the table at idx into a malloc'd
 * array of values (keys and strings point into the table, which stays on
 * the stack). Keys listed in skip are left out. Returns the count. */
static relm_cmdb_value *table_values(lua_State *L, int idx, size_t *n,
                                     const char *skip)
{
    size_t cap = 16, count = 0;
    relm_cmdb_value *f = malloc(cap * sizeof *f);
    if (f == NULL)
        luaL_error(L, _("out of memory"));
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            free(f);
            relm_lua_error(L, "invalid_field", _("field names must be strings; "
                           "got a %s key"), luaL_typename(L, -2));
        }
        const char *key = lua_tostring(L, -2);
        if (skip != NULL && strcmp(key, skip) == 0) {
            lua_pop(L, 1);
            continue;
        }
        relm_cmdb_value *g = relm_grow(f, &cap, count + 1, sizeof *f, 16);
        if (g == NULL) {
            free(f);
            luaL_error(L, _("out of memory"));
        }
        f = g;
        /* to_value may raise: do not leak f. */
        int t = lua_type(L, -1);
        size_t at = 0, klen = 0, vlen = 0;
        const char *kv = lua_tolstring(L, -2, &klen);
        const char *why = relm_text_problem(kv, klen, &at);
        const char *vv = t == LUA_TSTRING ? lua_tolstring(L, -1, &vlen) : NULL;
        if (why == NULL && vv != NULL)
            why = relm_text_problem(vv, vlen, &at);
        if (why != NULL) {
            free(f);
            relm_lua_error(L, "invalid_argument", _("field '%s': %s (at byte "
                           "%zu)"), key, why, at);
        }
        if (t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TTHREAD ||
            t == LUA_TUSERDATA ||
            (t == LUA_TLIGHTUSERDATA && lua_touserdata(L, -1) != NULL)) {
            free(f);
            relm_lua_error(L, "invalid_field", _("field '%s': a CI cannot hold "
                           "a %s"), key, luaL_typename(L, -1));
        }
        to_value(L, -1, key, &f[count++]);
        lua_pop(L, 1);
    }
    *n = count;
    return f;
}

/* Read the origin from the optional table at idx: {origin_release = id,
 * origin = "text"}. */
static void get_origin(lua_State *L, int idx, relm_cmdb_origin *o)
{
    o->release_id = 0;
    o->note = NULL;
    o->at = NULL;
    o->actor_id = 0;
    if (lua_isnoneornil(L, idx))
        return;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_getfield(L, idx, "origin_release");
    o->release_id = lua_isnil(L, -1) ? 0 : luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, idx, "origin");
    o->note = lua_isnil(L, -1) ? NULL : relm_lua_checktext(L, -1, "origin");
    lua_pop(L, 1); /* the string stays alive: the opts table holds it */
}

/* define_type(name, description|nil, attrs) where attrs is an array of
 * {name=, kind=, required=, default=, values={...}} (lua/relm/cmdb.lua
 * normalises the user's forms). Stack: no results. */
static int l_cmdb_define_type(lua_State *L)
{
    const char *name = relm_lua_checktext(L, 1, "name");
    const char *desc = relm_lua_opttext(L, 2, "description");
    luaL_checktype(L, 3, LUA_TTABLE);
    size_t n = (size_t)lua_rawlen(L, 3);
    relm_cmdb_attr_def *defs = lua_newuserdatauv(L, (n ? n : 1) * sizeof *defs, 0);
    memset(defs, 0, (n ? n : 1) * sizeof *defs);
    for (size_t i = 0; i < n; i++) {
        /* Every attribute leaves its strings on the stack (they must live
         * until the core call): make room for them. */
        luaL_checkstack(L, 8, "too many attributes");
        lua_rawgeti(L, 3, (lua_Integer)i + 1);
        int t = lua_gettop(L);
        luaL_checktype(L, t, LUA_TTABLE);
        lua_getfield(L, t, "name");
        defs[i].name = relm_lua_checktext(L, -1, "attribute name");
        lua_getfield(L, t, "kind");
        const char *kind = relm_lua_checktext(L, -1, "attribute kind");
        defs[i].kind = relm_cmdb_kind_of(kind);
        if (defs[i].kind < 0)
            return relm_lua_error(L, "invalid_argument", _("attribute '%s': "
                                  "unknown kind '%s' (string, integer, number, "
                                  "boolean, date, enum)"), defs[i].name, kind);
        lua_getfield(L, t, "required");
        defs[i].required = lua_toboolean(L, -1);
        lua_getfield(L, t, "default");
        to_value(L, -1, "default", &defs[i].def);
        lua_getfield(L, t, "values");
        if (!lua_isnil(L, -1)) {
            int vt = lua_gettop(L);
            luaL_checktype(L, vt, LUA_TTABLE);
            size_t nv = (size_t)lua_rawlen(L, vt);
            const char **vals = lua_newuserdatauv(L, (nv ? nv : 1) * sizeof *vals, 0);
            for (size_t j = 0; j < nv; j++) {
                lua_rawgeti(L, vt, (lua_Integer)j + 1);
                if (lua_type(L, -1) != LUA_TSTRING)
                    return relm_lua_error(L, "invalid_argument", _("attribute "
                                          "'%s': enum values must be strings"),
                                          defs[i].name);
                vals[j] = relm_lua_text(L, -1, "enum value", NULL);
                lua_pop(L, 1); /* kept alive by the values table */
            }
            defs[i].values = vals;
            defs[i].nvalues = nv;
        }
        /* Leave everything on the stack: the strings must outlive the call. */
    }
    relm_diag d;
    if (relm_cmdb_define_type(relm_host_store(L), name, desc, defs, n, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* define_relation(name, impact|nil, description|nil). No results. */
static int l_cmdb_define_relation(lua_State *L)
{
    const char *name = relm_lua_checktext(L, 1, "name");
    const char *impact = relm_lua_opttext(L, 2, "impact");
    const char *desc = relm_lua_opttext(L, 3, "description");
    relm_diag d;
    if (relm_cmdb_define_relation(relm_host_store(L), name, impact, desc, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* add(type, fields, opts) -> id. fields is a flat table of standard
 * fields and attributes ("type" in it is ignored). */
static int l_cmdb_add(lua_State *L)
{
    const char *type = relm_lua_checktext(L, 1, "type");
    luaL_checktype(L, 2, LUA_TTABLE);
    relm_cmdb_origin o;
    get_origin(L, 3, &o);
    size_t n;
    relm_cmdb_value *f = table_values(L, 2, &n, "type");
    relm_diag d;
    int64_t id = 0;
    int rc = relm_cmdb_add(relm_host_store(L), type, f, n, &o, &id, &d);
    free(f);
    if (rc != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, id);
    return 1;
}

/* update(name, fields, opts). No results. */
static int l_cmdb_update(lua_State *L)
{
    const char *name = relm_lua_checktext(L, 1, "name");
    luaL_checktype(L, 2, LUA_TTABLE);
    relm_cmdb_origin o;
    get_origin(L, 3, &o);
    size_t n;
    relm_cmdb_value *f = table_values(L, 2, &n, NULL);
    relm_diag d;
    int rc = relm_cmdb_update(relm_host_store(L), name, f, n, &o, &d);
    free(f);
    if (rc != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* remove(name, force, opts). No results. */
static int l_cmdb_remove(lua_State *L)
{
    const char *name = relm_lua_checktext(L, 1, "name");
    int force = lua_toboolean(L, 2);
    relm_cmdb_origin o;
    get_origin(L, 3, &o);
    relm_diag d;
    if (relm_cmdb_remove(relm_host_store(L), name, force, &o, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* The arguments (from, kind, to, opts) of relate and unrelate, handed to
 * the primitive fn. No results. */
static int edge_call(lua_State *L,
                     int (*fn)(relm_store *, const char *, const char *,
                               const char *, const relm_cmdb_origin *,
                               relm_diag *))
{
    const char *from = relm_lua_checktext(L, 1, "from");
    const char *kind = relm_lua_checktext(L, 2, "kind");
    const char *to = relm_lua_checktext(L, 3, "to");
    relm_cmdb_origin o;
    get_origin(L, 4, &o);
    relm_diag d;
    if (fn(relm_host_store(L), from, kind, to, &o, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* relate(from, kind, to, opts). No results. */
static int l_cmdb_relate(lua_State *L)
{
    return edge_call(L, relm_cmdb_relate);
}

/* unrelate(from, kind, to, opts). No results. */
static int l_cmdb_unrelate(lua_State *L)
{
    return edge_call(L, relm_cmdb_unrelate);
}

/* The Lua progress function of an import (stack slot fn) and, once it
 * failed, the slot of the error it raised. */
typedef struct import_progress {
    lua_State *L;
    int fn, err;
} import_progress;

/* relm_cmdb_import's progress hook: call fn(done, total). An error in it
 * stops the import (rolled back) and is re-raised as the user's own. */
static int l_import_progress(void *ud, int64_t done, int64_t total,
                             relm_diag *d)
{
    import_progress *p = ud;
    lua_pushvalue(p->L, p->fn);
    lua_pushinteger(p->L, done);
    lua_pushinteger(p->L, total);
    if (lua_pcall(p->L, 2, 0, 0) == LUA_OK)
        return 0;
    p->err = lua_gettop(p->L); /* left on the stack until re-raised */
    relm_diag_set(d, "progress", _("the progress function failed"));
    return 1;
}

/* import(path, format, kind, skip, opts, progress|nil) -> count, report.
 * report is an array of {row=, column=, message=} (empty unless skip). */
static int l_cmdb_import(lua_State *L)
{
    const char *path = relm_lua_checktext(L, 1, "path");
    const char *format = relm_lua_checktext(L, 2, "format");
    const char *kind = relm_lua_checktext(L, 3, "kind");
    int skip = lua_toboolean(L, 4);
    relm_cmdb_origin o;
    get_origin(L, 5, &o);
    relm_cmdb_import_opts io = {0};
    io.format = strcmp(format, "jsonl") == 0 ? RELM_IMPORT_JSONL : RELM_IMPORT_CSV;
    io.relationships = strcmp(kind, "relationships") == 0;
    io.skip_errors = skip;
    io.origin = &o;
    import_progress prog = {L, 6, 0};
    if (!lua_isnoneornil(L, 6)) {
        luaL_checktype(L, 6, LUA_TFUNCTION);
        io.progress = l_import_progress;
        io.progress_ud = &prog;
    }
    relm_import_report rep = {0};
    relm_diag d;
    int64_t count = 0;
    int rc = relm_cmdb_import(relm_host_store(L), path, &io, &count, &rep, &d);
    if (rc != RELM_OK) {
        relm_import_report_free(&rep);
        if (prog.err > 0) {
            lua_pushvalue(L, prog.err);
            return lua_error(L);
        }
        return relm_lua_diag_error(L, &d);
    }
    lua_pushinteger(L, count);
    lua_createtable(L, (int)rep.n, 0);
    for (size_t i = 0; i < rep.n; i++) {
        lua_createtable(L, 0, 3);
        lua_pushinteger(L, rep.items[i].row);
        lua_setfield(L, -2, "row");
        lua_pushinteger(L, rep.items[i].column);
        lua_setfield(L, -2, "column");
        lua_pushstring(L, rep.items[i].message);
        lua_setfield(L, -2, "message");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    relm_import_report_free(&rep);
    return 2;
}

/* export(path, format, kind, type|nil) -> count. */
static int l_cmdb_export(lua_State *L)
{
    const char *path = relm_lua_checktext(L, 1, "path");
    const char *format = relm_lua_checktext(L, 2, "format");
    const char *kind = relm_lua_checktext(L, 3, "kind");
    const char *type = relm_lua_opttext(L, 4, "type");
    relm_cmdb_export_opts eo = {0};
    eo.format = strcmp(format, "jsonl") == 0 ? RELM_IMPORT_JSONL : RELM_IMPORT_CSV;
    eo.relationships = strcmp(kind, "relationships") == 0;
    eo.type = type;
    relm_diag d;
    int64_t count = 0;
    if (relm_cmdb_export(relm_host_store(L), path, &eo, &count, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, count);
    return 1;
}

int luaopen_relm_cmdb(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"define_type", l_cmdb_define_type},
        {"define_relation", l_cmdb_define_relation},
        {"add", l_cmdb_add},
        {"update", l_cmdb_update},
        {"remove", l_cmdb_remove},
        {"relate", l_cmdb_relate},
        {"unrelate", l_cmdb_unrelate},
        {"import", l_cmdb_import},
        {"export", l_cmdb_export},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}
