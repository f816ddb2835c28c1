/* l_base.c: relm.core.base, the top of the `relm` global: read-only SQL,
 * transactions, error objects and facts about the session. */
#include <lauxlib.h>
#include <string.h>

#include "base/context.h"
#include "auth.h"
#include "lua/host.h"
#include "lua/modules.h"
#include "base/version.h"

/* Bind Lua value at idx to parameter n of st; raises on a table or other
 * value SQL cannot hold, naming the argument. */
static void bind_value(lua_State *L, sqlite3_stmt *st, int n, int idx,
                       int argno)
{
    int rc = SQLITE_OK;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        rc = sqlite3_bind_null(st, n);
        break;
    case LUA_TBOOLEAN:
        rc = sqlite3_bind_int(st, n, lua_toboolean(L, idx));
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            rc = sqlite3_bind_int64(st, n, lua_tointeger(L, idx));
        else
            rc = sqlite3_bind_double(st, n, lua_tonumber(L, idx));
        break;
    case LUA_TSTRING: {
        size_t len;
        const char *v = lua_tolstring(L, idx, &len);
        rc = sqlite3_bind_text(st, n, v, (int)len, SQLITE_TRANSIENT);
        break;
    }
    default:
        sqlite3_reset(st);
        relm_lua_error(L, "invalid_argument",
                       "relm.sql: argument #%d: cannot bind a %s", argno,
                       luaL_typename(L, idx));
    }
    if (rc == SQLITE_RANGE) {
        sqlite3_reset(st);
        relm_lua_error(L, "invalid_argument",
                       "relm.sql: argument #%d: the query has only %d "
                       "parameters", argno, sqlite3_bind_parameter_count(st));
    }
}

/* Push column i of the current row. */
static void push_column(lua_State *L, sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        lua_pushinteger(L, sqlite3_column_int64(st, i));
        break;
    case SQLITE_FLOAT:
        lua_pushnumber(L, sqlite3_column_double(st, i));
        break;
    case SQLITE_NULL:
        lua_pushnil(L);
        break;
    default: {
        const char *v = (const char *)sqlite3_column_blob(st, i);
        lua_pushlstring(L, v != NULL ? v : "", (size_t)sqlite3_column_bytes(st, i));
        break;
    }
    }
}

/* What a relm.sql query may do, decided by SQLite's authorizer (see
 * relm_store_set_guard) while the query is prepared and stepped: read the
 * main database, call functions, recurse; nothing else. One guard at a
 * time: the engine runs one statement of relm.sql at a time and no Lua
 * runs inside sqlite3_step. */
typedef struct relm_sql_guard sql_guard;

/* The guard's state is the process context's (base/context.h). */
static sql_guard *const guard = &relm_process.sql_guard;

/* Columns only administrators read through relm.sql, as through the Lua
 * API. A non-administrator's query reads them as NULL (SQLITE_IGNORE)
 * rather than failing (SQLITE_DENY): `SELECT * FROM users` and the relm
 * modules that list people keep working and simply show nothing there. */
static const char *const admin_columns[][2] = {
    {"users", "email"},
    {"users", "phone"},
    {"users", "password_hash"},
    {"tokens", "hash"},
};

/* Introspection pragmas a query may use: they read the schema only. */
static const char *const read_pragmas[] = {
    "table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
    "foreign_key_list",
};

/* Settings a query may read by naming them without a value (`PRAGMA
 * synchronous`); given a value they would change the connection. */
static const char *const read_settings[] = {
    "synchronous", "journal_mode", "foreign_keys", "user_version",
    "application_id", "schema_version", "data_version", "page_size",
    "page_count", "freelist_count", "locking_mode", "journal_size_limit",
    "busy_timeout", "encoding", "compile_options", "integrity_check",
    "quick_check", "foreign_key_check", "collation_list", "function_list",
    "pragma_list", "module_list", "ignore_check_constraints", "cache_size",
    "temp_store",
};

static int in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (name != NULL && sqlite3_stricmp(name, list[i]) == 0)
            return 1;
    return 0;
}

/* 1 when PRAGMA name [= value] only reads (value NULL: none given). */
static int read_pragma(const char *name, const char *value)
{
    return in_list(name, read_pragmas,
                   sizeof read_pragmas / sizeof read_pragmas[0]) ||
           (value == NULL &&
            in_list(name, read_settings,
                    sizeof read_settings / sizeof read_settings[0]));
}

/* The action a refused code stands for, in words for the error message. */
static const char *action_words(int action)
{
    switch (action) {
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
        return "writing";
    case SQLITE_TRANSACTION:
        return "BEGIN, COMMIT or ROLLBACK";
    case SQLITE_SAVEPOINT:
        return "SAVEPOINT";
    case SQLITE_ATTACH:
        return "ATTACH of another database file";
    case SQLITE_DETACH:
        return "DETACH";
    case SQLITE_ANALYZE:
        return "ANALYZE";
    case SQLITE_REINDEX:
        return "REINDEX";
    default:
        return "changing the schema";
    }
}

/* The authorizer rules of relm.sql (see docs/sandbox.md). */
static int sql_authorize(void *ctx, int action, const char *a, const char *b,
                         const char *db, const char *inner)
{
    sql_guard *g = ctx;
    (void)inner;
    switch (action) {
    case SQLITE_FUNCTION:
        /* SQLite keeps both disabled on this connection; refusing them
         * here as well says so in words and survives a change of that. */
        if (b != NULL && (sqlite3_stricmp(b, "load_extension") == 0 ||
                          sqlite3_stricmp(b, "fts3_tokenizer") == 0)) {
            snprintf(g->refused, sizeof g->refused, "%s()", b);
            return SQLITE_DENY;
        }
        return SQLITE_OK;
    case SQLITE_SELECT:
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    case SQLITE_UPDATE:
        /* SQLite itself asks this while it sets up an eponymous virtual
         * table (pragma_table_info) on first use. A user's UPDATE of the
         * schema table still fails: it needs writable_schema, and
         * l_base_sql refuses any statement that is not read-only. */
        if (a != NULL && strcmp(a, "sqlite_master") == 0)
            return SQLITE_OK;
        snprintf(g->refused, sizeof g->refused, "%s", action_words(action));
        return SQLITE_DENY;
    case SQLITE_READ:
        /* A pragma's table-valued function (pragma_table_info) is read
         * like a table: the same allow-list as the PRAGMA statement. */
        if (a != NULL && strncmp(a, "pragma_", 7) == 0 &&
            !read_pragma(a + 7, NULL)) {
            snprintf(g->refused, sizeof g->refused, "%s()", a);
            return SQLITE_DENY;
        }
        if (db != NULL && strcmp(db, "main") != 0) {
            snprintf(g->refused, sizeof g->refused,
                     "reading database '%s'", db);
            return SQLITE_DENY;
        }
        if (!g->admin && a != NULL && b != NULL)
            for (size_t i = 0; i < sizeof admin_columns /
                                   sizeof admin_columns[0]; i++)
                if (strcmp(a, admin_columns[i][0]) == 0 &&
                    strcmp(b, admin_columns[i][1]) == 0) {
                    g->hid = 1;
                    return SQLITE_IGNORE;
                }
        return SQLITE_OK;
    case SQLITE_PRAGMA:
        if (read_pragma(a, b))
            return SQLITE_OK;
        snprintf(g->refused, sizeof g->refused, "PRAGMA %s", a ? a : "");
        return SQLITE_DENY;
    default:
        snprintf(g->refused, sizeof g->refused, "%s", action_words(action));
        return SQLITE_DENY;
    }
}

/* Step st with the guard set: a statement whose schema changed is
 * re-prepared inside sqlite3_step, and must be vetted again. */
static int guarded_step(relm_store *s, sqlite3_stmt *st)
{
    relm_store_guard_fn old;
    void *old_ctx;
    relm_store_set_guard(s, sql_authorize, guard, &old, &old_ctx);
    int rc = sqlite3_step(st);
    relm_store_set_guard(s, old, old_ctx, NULL, NULL);
    return rc;
}

/* Registry key of the table that remembers, per query text, whether the
 * query reads a column only administrators see: true when it does, else
 * the cache key its statement has (the same statement serves everyone).
 * Only a query that reads such a column costs a permission lookup. */
static const char query_class_key = 'q';

/* Above this many distinct queries, new ones are not remembered: they
 * take the slower path (a permission lookup per call) but stay right. */
enum { MAX_QUERY_CLASSES = 4096 };

/* Prepare the query (a string at index qi) with rules under key prefix
 * (admin or not). Leaves nothing on the stack; NULL with d filled. */
static sqlite3_stmt *prepare_as(lua_State *L, relm_store *s, int qi,
                                int admin, relm_diag *d)
{
    guard->admin = admin;
    guard->hid = 0;
    guard->refused[0] = '\0';
    lua_pushstring(L, admin ? "/* relm.sql: admin */ " : "/* relm.sql */ ");
    lua_pushvalue(L, qi);
    lua_concat(L, 2);
    relm_store_guard_fn old;
    void *old_ctx;
    relm_store_set_guard(s, sql_authorize, guard, &old, &old_ctx);
    sqlite3_stmt *st = relm_store_stmt(s, lua_tostring(L, -1), d);
    relm_store_set_guard(s, old, old_ctx, NULL, NULL);
    lua_pop(L, 1);
    return st;
}

/* Prepare the user's query (string at qi) with the guard set. The
 * statement cache keys it under a comment naming the rules it was vetted
 * by, so an administrator's statement (which reads every column) is never
 * reused for someone else. A query seen for the first time is prepared
 * with a non-administrator's rules, which tell whether it reads a hidden
 * column; remembered, that spares the common query the permission lookup.
 * Raises read_only when the guard refused something, sql_error for other
 * mistakes (more than one statement, syntax). */
static sqlite3_stmt *guarded_prepare(lua_State *L, relm_store *s, int qi)
{
    relm_diag d;
    sqlite3_stmt *st = NULL;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &query_class_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &query_class_key);
        lua_pushinteger(L, 0);
        lua_setfield(L, -2, "\1count"); /* no query text starts with \1 */
    }
    int classes = lua_gettop(L);
    lua_pushvalue(L, qi);
    int known = lua_rawget(L, classes);
    if (known == LUA_TSTRING) {
        /* Reads nothing hidden: one statement for everyone. */
        guard->admin = 0;
        guard->refused[0] = '\0';
        st = relm_store_stmt(s, lua_tostring(L, -1), &d);
    } else if (known == LUA_TBOOLEAN) {
        st = prepare_as(L, s, qi, relm_auth_is_admin(s), &d);
    } else {
        lua_getfield(L, classes, "\1count");
        lua_Integer n = lua_tointeger(L, -1);
        lua_pop(L, 1);
        st = prepare_as(L, s, qi, 0, &d);
        int hid = guard->hid;
        if (st != NULL && n < MAX_QUERY_CLASSES) {
            lua_pushvalue(L, qi);
            if (hid) {
                lua_pushboolean(L, 1);
            } else {
                lua_pushstring(L, "/* relm.sql */ ");
                lua_pushvalue(L, qi);
                lua_concat(L, 2);
            }
            lua_rawset(L, classes);
            lua_pushinteger(L, n + 1);
            lua_setfield(L, classes, "\1count");
        }
        if (st != NULL && (hid || n >= MAX_QUERY_CLASSES) &&
            relm_auth_is_admin(s))
            st = prepare_as(L, s, qi, 1, &d);
    }
    lua_settop(L, classes - 1);
    if (st == NULL && guard->refused[0] != '\0')
        relm_lua_error(L, "read_only", "relm.sql runs read-only queries: "
                       "%s is refused; use the relm modules (or relm.tx "
                       "with them) to write", guard->refused);
    if (st == NULL)
        relm_lua_error(L, "sql_error", "relm.sql: %s", d.msg);
    return st;
}

/* relm.sql(query, ...) -> rows. Positional parameters bind the extra
 * arguments; a single table argument binds :named parameters. The result
 * is an array of row tables keyed by column, whose metatable lists the
 * columns in order (for aligned printing). Refuses statements that write. */
static int l_base_sql(lua_State *L)
{
    const char *query = relm_lua_checktext(L, 1, "relm.sql: argument #1 (query)");
    int nargs = lua_gettop(L) - 1;
    relm_store *s = relm_host_store(L);
    relm_diag d;
    (void)query;
    sqlite3_stmt *st = guarded_prepare(L, s, 1);
    if (!sqlite3_stmt_readonly(st))
        return relm_lua_error(L, "read_only",
                              "relm.sql runs read-only queries; use the relm "
                              "modules (or relm.tx with them) to write");
    int nparams = sqlite3_bind_parameter_count(st);
    const char *first = nparams > 0 ? sqlite3_bind_parameter_name(st, 1) : NULL;
    if (nargs == 1 && lua_istable(L, 2) && first != NULL && first[0] != '?') {
        for (int i = 1; i <= nparams; i++) {
            const char *name = sqlite3_bind_parameter_name(st, i);
            if (name == NULL)
                continue;
            lua_getfield(L, 2, name + 1);
            bind_value(L, st, i, -1, 2);
            lua_pop(L, 1);
        }
    } else {
        for (int i = 1; i <= nargs; i++)
            bind_value(L, st, i, i + 1, i + 1);
    }
    int ncol = sqlite3_column_count(st);
    lua_newtable(L); /* rows */
    lua_createtable(L, 0, 2); /* its metatable */
    lua_createtable(L, ncol, 0);
    for (int i = 0; i < ncol; i++) {
        lua_pushstring(L, sqlite3_column_name(st, i));
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "columns");
    lua_pushliteral(L, RELM_ROWS_MT);
    lua_setfield(L, -2, "__name");
    lua_setmetatable(L, -2);
    int rc;
    lua_Integer n = 0;
    while ((rc = guarded_step(s, st)) == SQLITE_ROW) {
        lua_createtable(L, 0, ncol);
        for (int i = 0; i < ncol; i++) {
            push_column(L, st, i);
            lua_setfield(L, -2, sqlite3_column_name(st, i));
        }
        lua_rawseti(L, -2, ++n);
    }
    if (rc != SQLITE_DONE) {
        relm_store_fail(s, &d, "relm.sql");
        sqlite3_reset(st);
        return relm_lua_diag_error(L, &d);
    }
    sqlite3_reset(st);
    return 1;
}

/* relm.tx(fn, ...) -> fn's results. One transaction (a savepoint when
 * nested); rolled back and the error re-raised when fn raises. */
static int l_base_tx(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    relm_store *s = relm_host_store(L);
    relm_diag d;
    if (relm_store_begin(s, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    if (relm_host_pcall(L, lua_gettop(L) - 1, LUA_MULTRET) != LUA_OK) {
        relm_store_rollback(s);
        return lua_error(L);
    }
    if (relm_store_commit(s, &d) != RELM_OK) {
        relm_store_rollback(s);
        return relm_lua_diag_error(L, &d);
    }
    return lua_gettop(L);
}

/* relm.error(code, message [, level]) raises a relm error object. */
static int l_base_error(lua_State *L)
{
    const char *code = luaL_checkstring(L, 1);
    const char *msg = luaL_checkstring(L, 2);
    int level = (int)luaL_optinteger(L, 3, 1);
    relm_lua_push_error(L, code, msg, level > 0 ? level : 0);
    return lua_error(L);
}

/* relm.is_error(v [, code]) -> true when v is a relm error (of that code). */
static int l_base_is_error(lua_State *L)
{
    int ok = 0;
    if (lua_istable(L, 1) && lua_getmetatable(L, 1)) {
        luaL_getmetatable(L, RELM_ERROR_MT);
        ok = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        if (ok && !lua_isnoneornil(L, 2)) {
            lua_getfield(L, 1, "code");
            ok = lua_rawequal(L, -1, 2);
            lua_pop(L, 1);
        }
    }
    lua_pushboolean(L, ok);
    return 1;
}

/* relm.whoami() -> name of the acting user. */
static int l_base_whoami(lua_State *L)
{
    lua_pushstring(L, relm_store_actor_name(relm_host_store(L)));
    return 1;
}

/* relm.info() -> {version=, schema=, db=, user=, lua=, sqlite=}. */
static int l_base_info(lua_State *L)
{
    relm_store *s = relm_host_store(L);
    lua_createtable(L, 0, 6);
    lua_pushliteral(L, RELM_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushinteger(L, relm_store_schema_version());
    lua_setfield(L, -2, "schema");
    lua_pushstring(L, relm_store_path(s));
    lua_setfield(L, -2, "db");
    lua_pushstring(L, relm_store_actor_name(s));
    lua_setfield(L, -2, "user");
    lua_pushliteral(L, LUA_RELEASE);
    lua_setfield(L, -2, "lua");
    lua_pushstring(L, sqlite3_libversion());
    lua_setfield(L, -2, "sqlite");
    return 1;
}

int luaopen_relm_base(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"sql", l_base_sql},
        {"tx", l_base_tx},
        {"error", l_base_error},
        {"is_error", l_base_is_error},
        {"whoami", l_base_whoami},
        {"info", l_base_info},
        {NULL, NULL},
    };
    /* One-line docs for help() (convention: docs/internals.md). */
    static const char *const docs[][2] = {
        {"_module", "the relm global: read-only SQL, transactions, errors"},
        {"sql", "(query, ...) -> rows: read-only SQL with bound parameters"},
        {"tx", "(fn, ...) -> fn's results: one transaction; rolled back if "
               "fn raises"},
        {"error", "(code, message [, level]): raise a relm error"},
        {"is_error", "(v [, code]) -> boolean: v is a relm error (of that "
                     "code)"},
        {"whoami", "() -> string: the name of the acting user"},
        {"info", "() -> table: version, schema, db, user, lua, sqlite"},
    };
    luaL_newlib(L, fns);
    lua_pushliteral(L, RELM_VERSION);
    lua_setfield(L, -2, "version");
    relm_host_set_docs(L, docs, sizeof docs / sizeof docs[0]);
    return 1;
}
