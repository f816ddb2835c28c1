/* l_release.c: relm.core.release, the Lua face of core/release.c. In the
 * engine's private state it offers the primitives (apply, register); in the
 * user's state only calls that the engine plans itself (act, update, ...). */
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/i18n.h"
#include "auth.h"
#include "base/clock.h"
#include "base/time.h"
#include "lua/args.h"
#include "lua/host.h"
#include "lua/modules.h"
#include "release.h"

/* Copy the Lua table at idx (field name -> string, number or boolean) into
 * f. Returns RELM_ERR with d filled for a value a field cannot hold. */
static int table_to_fields(lua_State *L, int idx, relm_fields *f,
                           relm_diag *d)
{
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            return relm_diag_set(d, "invalid_field",
                                 _("field names must be strings"));
        }
        const char *name = lua_tostring(L, -2);
        int rc;
        switch (lua_type(L, -1)) {
        case LUA_TSTRING: {
            size_t len, at = 0;
            const char *v = lua_tolstring(L, -1, &len);
            const char *why = relm_text_problem(v, len, &at);
            rc = why != NULL
                     ? relm_diag_set(d, "invalid_argument", _("field '%s': %s "
                                     "(at byte %zu)"), name, why, at)
                     : relm_fields_set_text(f, name, v, len, d);
            break;
        }
        case LUA_TNUMBER:
            if (lua_isinteger(L, -1)) {
                rc = relm_fields_set_int(f, name, lua_tointeger(L, -1), d);
            } else {
                double x = lua_tonumber(L, -1);
                if (x == floor(x) && fabs(x) < 9e15)
                    rc = relm_fields_set_int(f, name, (int64_t)x, d);
                else
                    rc = relm_fields_set_real(f, name, x, d);
            }
            break;
        case LUA_TBOOLEAN:
            rc = relm_fields_set_bool(f, name, lua_toboolean(L, -1), d);
            break;
        default:
            rc = relm_diag_set(d, "invalid_field",
                               _("%s: cannot store a %s in a release field"),
                               name, luaL_typename(L, -1));
            break;
        }
        lua_pop(L, 1);
        if (rc != RELM_OK) {
            lua_pop(L, 1);
            return RELM_ERR;
        }
    }
    return RELM_OK;
}

/* Push the malloc'd JSON text and free it. */
static void push_json(lua_State *L, char *json)
{
    if (json != NULL)
        lua_pushstring(L, json);
    else
        lua_pushnil(L);
    free(json);
}

/* ---- snapshots as Lua tables ----
 * A snapshot (JSON text the core writes, always valid) becomes the table
 * cjson.decode followed by relm.json.integers would give: objects as
 * tables, arrays as sequences, null as cjson.null (a NULL light userdata),
 * numbers read with strtod and given back as integers when the double is
 * a whole number in range (math.tointeger's rule), strings unescaped
 * (\uXXXX, surrogate pairs included, as UTF-8). Every action decoded two
 * snapshots that way, and cjson's parse plus the Lua pass over every
 * number were a tenth of an action's instructions. */
typedef struct snap_parser {
    lua_State *L;
    const char *p, *end;
} snap_parser;

static int snap_value(snap_parser *sp, int depth);

static void snap_blank(snap_parser *sp)
{
    while (sp->p < sp->end && (*sp->p == ' ' || *sp->p == '\t' ||
                               *sp->p == '\n' || *sp->p == '\r'))
        sp->p++;
}

/* Four hex digits at p into *out; 0 when they are not. */
static int snap_hex4(const char *p, const char *end, unsigned *out)
{
    unsigned v = 0;
    if (end - p < 4)
        return 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* The string at sp->p (on its opening quote), pushed. 0 on bad JSON. */
static int snap_string(snap_parser *sp)
{
    const char *p = ++sp->p, *run = p;
    lua_State *L = sp->L;
    luaL_Buffer b;
    int buffered = 0;
    for (; p < sp->end && *p != '"'; p++) {
        if (*p != '\\')
            continue;
        if (!buffered) {
            luaL_buffinit(L, &b);
            buffered = 1;
        }
        luaL_addlstring(&b, run, (size_t)(p - run));
        if (++p >= sp->end)
            return 0;
        char c = *p;
        switch (c) {
        case '"': case '\\': case '/': luaL_addchar(&b, c); break;
        case 'b': luaL_addchar(&b, '\b'); break;
        case 'f': luaL_addchar(&b, '\f'); break;
        case 'n': luaL_addchar(&b, '\n'); break;
        case 'r': luaL_addchar(&b, '\r'); break;
        case 't': luaL_addchar(&b, '\t'); break;
        case 'u': {
            unsigned u, lo;
            if (!snap_hex4(p + 1, sp->end, &u))
                return 0;
            p += 4;
            if (u >= 0xd800 && u <= 0xdbff && sp->end - p > 6 &&
                p[1] == '\\' && p[2] == 'u' &&
                snap_hex4(p + 3, sp->end, &lo) && lo >= 0xdc00 &&
                lo <= 0xdfff) {
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            } else if (u >= 0xd800 && u <= 0xdfff) {
                return 0; /* a lone surrogate: cjson refuses it too */
            }
            char utf[4];
            int n;
            if (u < 0x80) {
                utf[0] = (char)u;
                n = 1;
            } else if (u < 0x800) {
                utf[0] = (char)(0xc0 | (u >> 6));
                utf[1] = (char)(0x80 | (u & 0x3f));
                n = 2;
            } else if (u < 0x10000) {
                utf[0] = (char)(0xe0 | (u >> 12));
                utf[1] = (char)(0x80 | ((u >> 6) & 0x3f));
                utf[2] = (char)(0x80 | (u & 0x3f));
                n = 3;
            } else {
                utf[0] = (char)(0xf0 | (u >> 18));
                utf[1] = (char)(0x80 | ((u >> 12) & 0x3f));
                utf[2] = (char)(0x80 | ((u >> 6) & 0x3f));
                utf[3] = (char)(0x80 | (u & 0x3f));
                n = 4;
            }
            luaL_addlstring(&b, utf, (size_t)n);
            break;
        }
        default:
            return 0;
        }
        run = p + 1;
    }
    if (p >= sp->end)
        return 0;
    if (buffered) {
        luaL_addlstring(&b, run, (size_t)(p - run));
        luaL_pushresult(&b);
    } else {
        lua_pushlstring(L, run, (size_t)(p - run));
    }
    sp->p = p + 1;
    return 1;
}

/* The number at sp->p, pushed (an integer when whole and in range). */
static int snap_number(snap_parser *sp)
{
    char buf[64];
    size_t n = 0;
    const char *p = sp->p;
    while (p < sp->end && n < sizeof buf - 1 &&
           (strchr("0123456789+-.eE", *p) != NULL))
        buf[n++] = *p++;
    buf[n] = '\0';
    char *stop;
    double x = strtod(buf, &stop);
    if (n == 0 || *stop != '\0')
        return 0;
    lua_Integer i;
    if (x >= -9223372036854775808.0 && x < 9223372036854775808.0 &&
        (double)(i = (lua_Integer)x) == x)
        lua_pushinteger(sp->L, i);
    else
        lua_pushnumber(sp->L, x);
    sp->p = p;
    return 1;
}

static int snap_literal(snap_parser *sp, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(sp->end - sp->p) < n || memcmp(sp->p, word, n) != 0)
        return 0;
    sp->p += n;
    return 1;
}

static int snap_value(snap_parser *sp, int depth)
{
    lua_State *L = sp->L;
    snap_blank(sp);
    if (sp->p >= sp->end || depth > 1000)
        return 0;
    luaL_checkstack(L, 4, "snapshot");
    switch (*sp->p) {
    case '{':
        sp->p++;
        /* A snapshot has about 30 fields: sized once, not grown by
         * rehashing seven times. */
        lua_createtable(L, 0, depth == 0 ? 32 : 4);
        snap_blank(sp);
        if (sp->p < sp->end && *sp->p == '}') {
            sp->p++;
            return 1;
        }
        for (;;) {
            snap_blank(sp);
            if (sp->p >= sp->end || *sp->p != '"' || !snap_string(sp))
                return 0;
            snap_blank(sp);
            if (sp->p >= sp->end || *sp->p++ != ':' ||
                !snap_value(sp, depth + 1))
                return 0;
            lua_rawset(L, -3);
            snap_blank(sp);
            if (sp->p < sp->end && *sp->p == ',') {
                sp->p++;
                continue;
            }
            if (sp->p < sp->end && *sp->p == '}') {
                sp->p++;
                return 1;
            }
            return 0;
        }
    case '[': {
        sp->p++;
        lua_newtable(L);
        snap_blank(sp);
        if (sp->p < sp->end && *sp->p == ']') {
            sp->p++;
            return 1;
        }
        for (lua_Integer k = 1;; k++) {
            if (!snap_value(sp, depth + 1))
                return 0;
            lua_rawseti(L, -2, k);
            snap_blank(sp);
            if (sp->p < sp->end && *sp->p == ',') {
                sp->p++;
                continue;
            }
            if (sp->p < sp->end && *sp->p == ']') {
                sp->p++;
                return 1;
            }
            return 0;
        }
    }
    case '"':
        return snap_string(sp);
    case 't':
        if (!snap_literal(sp, "true"))
            return 0;
        lua_pushboolean(L, 1);
        return 1;
    case 'f':
        if (!snap_literal(sp, "false"))
            return 0;
        lua_pushboolean(L, 0);
        return 1;
    case 'n':
        if (!snap_literal(sp, "null"))
            return 0;
        lua_pushlightuserdata(L, NULL);
        return 1;
    default:
        return snap_number(sp);
    }
}

/* decode(json) -> table: a snapshot's text as a Lua table (see above).
 * Text that is not JSON is misuse (the core writes snapshots): raises. */
static int l_release_decode(lua_State *L)
{
    size_t n;
    const char *json = luaL_checklstring(L, 1, &n);
    snap_parser sp = {.L = L, .p = json, .end = json + n};
    int top = lua_gettop(L);
    int ok = snap_value(&sp, 0);
    if (ok) {
        snap_blank(&sp);
        ok = sp.p == sp.end;
    }
    if (!ok) {
        lua_settop(L, top);
        return luaL_error(L, _("decode: not JSON at byte %d"),
                          (int)(sp.p - json) + 1);
    }
    return 1;
}

/* register(workflow, state, phase, fields) -> id, snapshot_json. */
static int l_release_register(lua_State *L)
{
    const char *workflow = relm_lua_checktext(L, 1, "workflow");
    const char *state = relm_lua_checktext(L, 2, "state");
    const char *phase = relm_lua_checktext(L, 3, "phase");
    luaL_checktype(L, 4, LUA_TTABLE);
    relm_diag d;
    relm_fields f;
    relm_fields_init(&f);
    if (table_to_fields(L, 4, &f, &d) != RELM_OK) {
        relm_fields_free(&f);
        return relm_lua_diag_error(L, &d);
    }
    int64_t id = 0;
    char *after = NULL;
    int rc = relm_release_register(relm_host_store(L), workflow, state, phase,
                                   &f, &id, &after, &d);
    relm_fields_free(&f);
    if (rc != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, id);
    push_json(L, after);
    return 2;
}

/* get(id | number) -> snapshot_json, id. Raises not_found. */
static int l_release_get(lua_State *L)
{
    relm_diag d;
    char *json = NULL;
    int64_t id = 0;
    int rc;
    if (lua_type(L, 1) == LUA_TNUMBER)
        rc = relm_release_get(relm_host_store(L), luaL_checkinteger(L, 1),
                              NULL, &json, &id, &d);
    else
        rc = relm_release_get(relm_host_store(L), 0, relm_lua_checktext(L, 1, NULL),
                              &json, &id, &d);
    if (rc != RELM_OK)
        return relm_lua_diag_error(L, &d);
    push_json(L, json);
    lua_pushinteger(L, id);
    return 2;
}

/* head(id | number) -> {id=, number=, workflow=, state=, status=}.
 * Raises not_found. */
static int l_release_head(lua_State *L)
{
    relm_diag d;
    relm_release_head_info h;
    int rc;
    if (lua_type(L, 1) == LUA_TNUMBER)
        rc = relm_release_head(relm_host_store(L), luaL_checkinteger(L, 1),
                               NULL, &h, &d);
    else
        rc = relm_release_head(relm_host_store(L), 0, relm_lua_checktext(L, 1, NULL),
                               &h, &d);
    if (rc != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_createtable(L, 0, 5);
    relm_lua_set_int(L, "id", h.id);
    relm_lua_set_string(L, "number", h.number);
    relm_lua_set_string(L, "workflow", h.workflow);
    relm_lua_set_string(L, "state", h.state);
    relm_lua_set_string(L, "status", h.status);
    return 1;
}

/* workflow(id) -> name of the release's workflow. Raises not_found. */
static int l_release_workflow(lua_State *L)
{
    char name[128];
    relm_diag d;
    if (relm_release_workflow(relm_host_store(L), luaL_checkinteger(L, 1),
                              name, sizeof name, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushstring(L, name);
    return 1;
}

/* The hook's context: the Lua state, the stack slot of the function, and
 * room for an error code raised by Lua (d->code points there: it lives on
 * the binding's stack until the error is raised, not in a static buffer
 * that a second state or a nested call would overwrite). */
typedef struct hook_ctx {
    lua_State *L;
    int fn;
    char code[64];
} hook_ctx;

/* Turn the error value on top of the stack into d and pop it. A relm
 * error keeps its code (copied into code); anything else becomes a guard
 * failure. */
static void error_to_diag(lua_State *L, relm_diag *d, char code[64])
{
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "code");
        lua_getfield(L, -2, "message");
        if (lua_isstring(L, -2)) {
            snprintf(code, 64, "%s", lua_tostring(L, -2));
            relm_diag_set(d, code, "%s", luaL_optstring(L, -1, ""));
            lua_pop(L, 3);
            return;
        }
        lua_pop(L, 2);
    }
    relm_diag_set(d, "not_allowed", "%s", relm_lua_error_string(L, -1));
    lua_pop(L, 2);
}

/* Called by the core inside the transaction: fn(snapshot_json) -> nil or
 * a table of field changes. Stack-neutral. */
static int run_hook(void *ud, const char *snapshot, relm_fields *out,
                    relm_diag *d)
{
    hook_ctx *h = ud;
    lua_State *L = h->L;
    lua_pushvalue(L, h->fn);
    lua_pushstring(L, snapshot);
    if (relm_host_pcall(L, 1, 1) != LUA_OK) {
        error_to_diag(L, d, h->code);
        return RELM_ERR;
    }
    int rc = RELM_OK;
    if (lua_istable(L, -1))
        rc = table_to_fields(L, -1, out, d);
    else if (!lua_isnil(L, -1))
        rc = relm_diag_set(d, "invalid_argument",
                           _("the workflow hook must return a table of field "
                           "changes or nil, not a %s"), luaL_typename(L, -1));
    lua_pop(L, 1);
    return rc;
}

/* apply(id, action, opts [, hook]) -> snapshot_json. action names a
 * transition of the release's workflow or a primitive; opts is {note=,
 * justification=, to_group=, to_user=, fields=, version=, reactivate_at=}:
 * nothing in it
 * names a target, a permission or a phase, which C works out from the
 * compiled workflow (core/workflow.c). hook(snapshot_json) runs inside
 * the transaction and may return field changes or raise to refuse. */
static int l_release_apply(lua_State *L)
{
    int64_t id = luaL_checkinteger(L, 1);
    const char *action = relm_lua_checktext(L, 2, "action");
    luaL_checktype(L, 3, LUA_TTABLE);
    if (!lua_isnoneornil(L, 4))
        luaL_checktype(L, 4, LUA_TFUNCTION);
    lua_settop(L, 4);
    relm_release_op op = {.action = action};
    op.note = relm_lua_field_string(L, 3, "note");
    op.to_group = relm_lua_field_string(L, 3, "to_group");
    op.to_user = relm_lua_field_string(L, 3, "to_user");
    op.reactivate_at = relm_lua_field_string(L, 3, "reactivate_at");
    lua_getfield(L, 3, "justification");
    op.justification_id = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
    lua_getfield(L, 3, "version");
    op.version = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
    lua_pop(L, 2);
    relm_diag d;
    relm_fields f;
    relm_fields_init(&f);
    lua_getfield(L, 3, "fields"); /* index 5 */
    if (lua_istable(L, 5) && table_to_fields(L, 5, &f, &d) != RELM_OK) {
        relm_fields_free(&f);
        return relm_lua_diag_error(L, &d);
    }
    op.fields = &f;
    hook_ctx h = {.L = L, .fn = 4};
    if (!lua_isnil(L, 4)) {
        op.hook = run_hook;
        op.hook_ud = &h;
    }
    char *after = NULL;
    int rc = relm_release_apply(relm_host_store(L), id, &op, &after, &d);
    relm_fields_free(&f);
    if (rc != RELM_OK)
        return relm_lua_diag_error(L, &d);
    push_json(L, after);
    return 1;
}

/* can(workflow, action [, user]) -> boolean: may the acting user (or the
 * active user named user) do it? An unknown user may not. */
static int l_release_can(lua_State *L)
{
    const char *wf = relm_lua_checktext(L, 1, "workflow");
    const char *action = relm_lua_checktext(L, 2, "action");
    relm_store *s = relm_host_store(L);
    if (lua_isnoneornil(L, 3)) {
        lua_pushboolean(L, relm_auth_check(s, wf, action, NULL) == RELM_OK);
        return 1;
    }
    int64_t uid = 0;
    relm_diag d;
    int rc = relm_store_lookup(s, "SELECT id FROM users WHERE name = ?1",
                               relm_lua_checktext(L, 3, NULL), &uid, &d);
    if (rc == RELM_ERR)
        return relm_lua_diag_error(L, &d);
    lua_pushboolean(L, rc == RELM_OK && relm_auth_user_can(s, uid, wf, action));
    return 1;
}

/* justification_ok(id, use) -> true | false, message. */
static int l_release_justification_ok(lua_State *L)
{
    relm_diag d;
    int64_t id = lua_isinteger(L, 1) ? lua_tointeger(L, 1) : 0;
    const char *use = relm_lua_checktext(L, 2, "use");
    if (relm_release_check_justification(relm_host_store(L), id, use, &d) ==
        RELM_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushboolean(L, 0);
    lua_pushstring(L, d.msg);
    return 2;
}

/* fields() -> array of {name=, kind=, register=, update=, workflow=}. */
static int l_release_fields(lua_State *L)
{
    lua_newtable(L);
    const relm_field_info *fi;
    for (int i = 0; (fi = relm_release_field(i)) != NULL; i++) {
        lua_createtable(L, 0, 5);
        lua_pushstring(L, fi->name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, fi->kind);
        lua_setfield(L, -2, "kind");
        lua_pushboolean(L, (fi->flags & RELM_FIELD_REGISTER) != 0);
        lua_setfield(L, -2, "register");
        lua_pushboolean(L, (fi->flags & RELM_FIELD_UPDATE) != 0);
        lua_setfield(L, -2, "update");
        lua_pushboolean(L, (fi->flags & RELM_FIELD_WORKFLOW) != 0);
        lua_setfield(L, -2, "workflow");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* primitives() -> array of {name=, permission=}: the actions every workflow
 * gets besides its own transitions, each with its fixed permission (close
 * takes the closing transition's own). The one list. */
static int l_release_primitives(lua_State *L)
{
    lua_newtable(L);
    for (int k = RELM_OP_SUSPEND; k <= RELM_OP_SHARE; k++) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, relm_release_kind_name(k));
        lua_setfield(L, -2, "name");
        lua_pushstring(L, relm_release_kind_permission(k));
        lua_setfield(L, -2, "permission");
        lua_rawseti(L, -2, k - RELM_OP_SUSPEND + 1);
    }
    return 1;
}

/* now() -> epoch seconds of the engine's clock. */
static int l_release_now(lua_State *L)
{
    lua_pushinteger(L, relm_clock_now());
    return 1;
}

/* set_clock(epoch | nil): fix the engine's clock (tests), nil restores the
 * system clock. Administrators only, since it changes recorded times. */
static int l_release_set_clock(lua_State *L)
{
    relm_diag d;
    if (relm_auth_require_admin(relm_host_store(L), "setting the clock", &d) !=
        RELM_OK)
        return relm_lua_diag_error(L, &d);
    relm_clock_set(luaL_optinteger(L, 1, 0));
    return 0;
}

/* seconds(iso) -> epoch seconds of an ISO-8601 UTC time (date-only is
 * midnight), or nil when it does not parse. */
static int l_release_seconds(lua_State *L)
{
    const char *v = relm_lua_checktext(L, 1, "v");
    size_t n = strlen(v); /* checktext refused NUL bytes */
    int64_t t;
    if (relm_time_parse(v, n, &t, NULL))
        lua_pushinteger(L, (lua_Integer)t);
    else
        lua_pushnil(L);
    return 1;
}

/* actor_groups() -> names of the acting user's groups, in name order: the
 * ctx.groups every guard and action sees (one cached statement, since the
 * engine builds that ctx on every guarded move). */
static int l_release_actor_groups(lua_State *L)
{
    relm_store *s = relm_host_store(L);
    relm_diag d;
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT g.name FROM memberships m JOIN groups g ON g.id = m.group_id "
        "WHERE m.user_id = ?1 ORDER BY g.name",
        &d);
    if (st == NULL)
        return relm_lua_diag_error(L, &d);
    sqlite3_bind_int64(st, 1, relm_store_actor_id(s));
    lua_newtable(L);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        lua_pushstring(L, (const char *)sqlite3_column_text(st, 0));
        lua_rawseti(L, -2, ++n);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        relm_store_fail(s, &d, "groups");
        return relm_lua_diag_error(L, &d);
    }
    return 1;
}

/* The user's side: each call is planned by the engine (relm.release's
 * _engine functions in the private state), never by the caller. */

/* act(id, action, opts) -> the release after (plain table, decoded once in
 * the engine and copied here) | dry-run report. */
static int l_release_act(lua_State *L)
{
    if (lua_type(L, 1) != LUA_TNUMBER && lua_type(L, 1) != LUA_TSTRING)
        luaL_typeerror(L, 1, "release id or number");
    luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);
    return relm_host_engine_call(L, "relm.release", "act", 3);
}

/* update(id, fields, opts) -> snapshot_json. */
static int l_release_update(lua_State *L)
{
    if (lua_type(L, 1) != LUA_TNUMBER && lua_type(L, 1) != LUA_TSTRING)
        luaL_typeerror(L, 1, "release id or number");
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);
    return relm_host_engine_call(L, "relm.release", "update", 3);
}

/* register(workflow_name, fields) -> snapshot_json: the engine picks the
 * initial state and phase and runs the entry actions. */
static int l_release_register_user(lua_State *L)
{
    luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    return relm_host_engine_call(L, "relm.release", "register", 2);
}

/* actions(id) -> names of the actions whose dry run passes. */
static int l_release_actions(lua_State *L)
{
    if (lua_type(L, 1) != LUA_TNUMBER && lua_type(L, 1) != LUA_TSTRING)
        luaL_typeerror(L, 1, "release id or number");
    lua_settop(L, 1);
    return relm_host_engine_call(L, "relm.release", "actions", 1);
}

/* install(path) -> name: compile the workflow file at path in the engine
 * and use it under its name. Administrators only: it changes what the
 * engine enforces for every release of that workflow. */
static int l_release_install(lua_State *L)
{
    luaL_checkstring(L, 1);
    lua_settop(L, 1);
    relm_diag d;
    if (relm_auth_require_admin(relm_host_store(L), "installing a workflow "
                                "from a path", &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return relm_host_engine_call(L, "relm.release", "install", 1);
}

/* reload(name): the engine compiles workflow name again from the workflow
 * path (after its file changed). */
static int l_release_reload(lua_State *L)
{
    luaL_checkstring(L, 1);
    lua_settop(L, 1);
    return relm_host_engine_call(L, "relm.release", "reload", 1);
}

/* Open relm.core.release: pushes the module table (the engine's or the
 * user's, see the file comment). */
int luaopen_relm_release(lua_State *L)
{
    static const luaL_Reg engine_fns[] = {
        {"register", l_release_register},
        {"apply", l_release_apply},
        {"actor_groups", l_release_actor_groups},
        {NULL, NULL},
    };
    static const luaL_Reg user_fns[] = {
        {"act", l_release_act},
        {"update", l_release_update},
        {"register", l_release_register_user},
        {"actions", l_release_actions},
        {"install", l_release_install},
        {"reload", l_release_reload},
        {NULL, NULL},
    };
    static const luaL_Reg fns[] = {
        {"get", l_release_get},
        {"decode", l_release_decode},
        {"head", l_release_head},
        {"workflow", l_release_workflow},
        {"can", l_release_can},
        {"justification_ok", l_release_justification_ok},
        {"fields", l_release_fields},
        {"primitives", l_release_primitives},
        {"now", l_release_now},
        {"set_clock", l_release_set_clock},
        {"seconds", l_release_seconds},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    luaL_setfuncs(L, relm_host_is_engine(L) ? engine_fns : user_fns, 0);
    return 1;
}
