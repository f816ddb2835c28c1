/* store.c: the SQLite store: open and validate the file, apply migrations,
 * cache prepared statements and nest transactions as savepoints. */
#include "base/i18n.h"
#include "base/store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#include "base/migrations.h"

/* The statement cache: at most RELM_STORE_CACHE_MAX prepared statements,
 * found by their SQL text through a chained hash, kept in least-recently-
 * used order. A long-running server asks for statements whose text varies
 * (release updates by field set, searches by filter), so an unbounded cache
 * would grow for as long as the process lives. Entries are indices into
 * one array allocated on first use; -1 ends a chain or the list. */
enum { STMT_BUCKETS = 512 }; /* a power of two, twice the capacity */
typedef struct stmt_entry {
    char *sql;          /* owned copy of the key */
    sqlite3_stmt *stmt;
    size_t hash;
    int chain;          /* next entry in the same bucket */
    int newer, older;   /* neighbours in the LRU list */
} stmt_entry;

struct relm_store {
    sqlite3 *db;
    char *path;
    stmt_entry *cache;  /* RELM_STORE_CACHE_MAX entries, or NULL */
    int ncached;
    int bucket[STMT_BUCKETS]; /* first entry per hash bucket, -1 for none */
    int newest, oldest; /* ends of the LRU list */
    int depth;          /* transaction nesting: 0 = autocommit */
    const char *pending_pragma; /* run before the first statement */
    int64_t actor_id;
    int actor_pending;  /* actor_name is to be looked up on first use */
    char actor_name[128];
    uint64_t generation;
    int64_t data_version;
    relm_store_guard_fn guard; /* see relm_store_set_guard; NULL = none */
    void *guard_ctx;
    int busy_ms;        /* how long a locked database is waited for */
    uint64_t busy_since; /* when the current wait began (busy_wait) */
    uint64_t ckpt_until; /* end of a checkpoint's waits; 0 = none */
    uint64_t wait_from; /* when begin started waiting (queue + lock); 0 */
    struct wq_shared *wq; /* the writer queue (see there); NULL = none */
    int wq_fd;          /* DB-wq, open (and flocked) while wq is mapped */
    int wq_tried;       /* 1 once mapping it was tried (it may have failed) */
    int wq_in;          /* 1 while this store's ticket is in the queue */
    uint32_t wq_ticket; /* that ticket */
    int checkpoint_ok;  /* the file is known to be ours: may checkpoint */
    void *engine_data;  /* see relm_store_set_engine_data */
    relm_store_free_fn engine_free;
};

void relm_store_set_engine_data(relm_store *s, void *p, relm_store_free_fn fn)
{
    if (s->engine_data != NULL && s->engine_data != p && s->engine_free)
        s->engine_free(s->engine_data);
    s->engine_data = p;
    s->engine_free = fn;
}

void *relm_store_engine_data(relm_store *s)
{
    return s->engine_data;
}

int relm_store_schema_version(void)
{
    return relm_migration_count > 0
               ? relm_migrations[relm_migration_count - 1].version : 0;
}

sqlite3 *relm_store_db(relm_store *s)
{
    return s->db;
}

const char *relm_store_path(const relm_store *s)
{
    return s->path;
}

int relm_store_depth(const relm_store *s)
{
    return s->depth;
}

int relm_store_fail(relm_store *s, relm_diag *d, const char *context)
{
    int rc = sqlite3_extended_errcode(s->db);
    const char *code = "sql_error";
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        /* Another process holds a lock longer than the busy timeout: say
         * so in words a user can act on, never as damage to the file. */
        return relm_diag_set(d, "busy", _("%s: database is locked by another "
                             "process; try again"), context);
    case SQLITE_CONSTRAINT:
        code = "constraint";
        break;
    case SQLITE_READONLY:
        code = "read_only";
        break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        code = "corrupt";
        break;
    case SQLITE_INTERRUPT: /* sqlite3_interrupt from Ctrl-C in the REPL */
        code = "interrupted";
        break;
    default:
        break;
    }
    return relm_diag_set(d, code, "%s: %s", context, sqlite3_errmsg(s->db));
}

int relm_store_step_write(relm_store *s, sqlite3_stmt *st, relm_diag *d,
                          const char *what, ...)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
        sqlite3_reset(st);
        return RELM_OK;
    }
    /* Read the cause before the reset: the message is the step's. */
    int ext = sqlite3_extended_errcode(s->db);
    char name[256], why[512];
    va_list ap;
    va_start(ap, what);
    vsnprintf(name, sizeof name, what, ap);
    va_end(ap);
    snprintf(why, sizeof why, "%s", sqlite3_errmsg(s->db));
    const char *sql = sqlite3_sql(st);
    int deleting = sql != NULL && strncasecmp(sql, "DELETE", 6) == 0;
    int ret;
    switch (ext) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        ret = relm_diag_set(d, "duplicate", _("%s already exists"), name);
        break;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        ret = deleting
                  ? relm_diag_set(d, "in_use", _("%s is still in use"), name)
                  : relm_diag_set(d, "not_found", _("%s refers to something "
                                  "that does not exist"), name);
        break;
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
        ret = relm_diag_set(d, "invalid_argument", "%s: %s", name, why);
        break;
    default:
        ret = relm_store_fail(s, d, name);
        break;
    }
    sqlite3_reset(st);
    return ret;
}

/* FNV-1a: short SQL strings, few collisions, no dependency. */
static size_t hash_sql(const char *sql)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

/* Unlink entry i from the LRU list. */
static void lru_unlink(relm_store *s, int i)
{
    stmt_entry *e = &s->cache[i];
    if (e->newer >= 0)
        s->cache[e->newer].older = e->older;
    else
        s->newest = e->older;
    if (e->older >= 0)
        s->cache[e->older].newer = e->newer;
    else
        s->oldest = e->newer;
}

/* Put entry i at the newest end of the LRU list. */
static void lru_push(relm_store *s, int i)
{
    stmt_entry *e = &s->cache[i];
    e->newer = -1;
    e->older = s->newest;
    if (s->newest >= 0)
        s->cache[s->newest].newer = i;
    s->newest = i;
    if (s->oldest < 0)
        s->oldest = i;
}

/* Evict the least recently used statement that is not mid-step (a caller
 * may still be reading its rows) and return its free entry; -1 when every
 * cached statement is mid-step, which only a leak of unreset statements
 * can cause. */
static int cache_evict(relm_store *s)
{
    int i = s->oldest;
    while (i >= 0 && sqlite3_stmt_busy(s->cache[i].stmt))
        i = s->cache[i].newer;
    if (i < 0)
        return -1;
    stmt_entry *e = &s->cache[i];
    int *link = &s->bucket[e->hash & (STMT_BUCKETS - 1)];
    while (*link != i)
        link = &s->cache[*link].chain;
    *link = e->chain;
    lru_unlink(s, i);
    sqlite3_finalize(e->stmt);
    free(e->sql);
    e->sql = NULL;
    e->stmt = NULL;
    return i;
}

int relm_store_cached(const relm_store *s)
{
    return s->ncached;
}

/* Run the connection setting deferred by relm_store_open, once. SQLite
 * refuses to change the safety level inside a transaction, and a read
 * transaction may be open (relm_store_read_begin, graph.c):
 * then the setting waits for the next statement outside one. Every write
 * starts with relm_store_begin in autocommit, so none runs without it. */
static int apply_pending(relm_store *s, relm_diag *d)
{
    if (!sqlite3_get_autocommit(s->db))
        return RELM_OK;
    const char *sql = s->pending_pragma;
    s->pending_pragma = NULL;
    /* The engine's own setting, not the statement a guard is vetting. */
    relm_store_guard_fn guard = s->guard;
    s->guard = NULL;
    int rc = relm_store_exec(s, sql, d);
    s->guard = guard;
    return rc;
}

/* 1 when what follows a prepared statement is only blanks, semicolons and
 * comments. Asking SQLite to prepare the rest is the one exact test of
 * that (it yields no statement); it runs only when the rest is not plain
 * white space, so the common case costs a scan of a few bytes. */
static int blank_tail(relm_store *s, const char *tail)
{
    const char *p = tail;
    while (p != NULL && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
                         *p == ';'))
        p++;
    if (p == NULL || *p == '\0')
        return 1;
    /* Preparing runs nothing; the guard (which would refuse the rest for
     * what it does rather than for being there) is off meanwhile. */
    sqlite3_stmt *rest = NULL;
    const char *next = NULL;
    relm_store_guard_fn guard = s->guard;
    s->guard = NULL;
    int rc = sqlite3_prepare_v2(s->db, p, -1, &rest, &next);
    s->guard = guard;
    if (rest != NULL) {
        sqlite3_finalize(rest);
        return 0;
    }
    return rc == SQLITE_OK && next != NULL && *next == '\0';
}

sqlite3_stmt *relm_store_stmt(relm_store *s, const char *sql, relm_diag *d)
{
    if (s->pending_pragma != NULL && apply_pending(s, d) != RELM_OK)
        return NULL;
    if (s->cache == NULL) {
        s->cache = calloc(RELM_STORE_CACHE_MAX, sizeof *s->cache);
        if (s->cache == NULL) {
            relm_diag_set(d, "out_of_memory", _("statement cache: out of memory"));
            return NULL;
        }
    }
    size_t h = hash_sql(sql);
    for (int i = s->bucket[h & (STMT_BUCKETS - 1)]; i >= 0;
         i = s->cache[i].chain) {
        stmt_entry *e = &s->cache[i];
        if (e->hash == h && strcmp(e->sql, sql) == 0) {
            sqlite3_reset(e->stmt);
            sqlite3_clear_bindings(e->stmt);
            if (s->newest != i) {
                lru_unlink(s, i);
                lru_push(s, i);
            }
            return e->stmt;
        }
    }
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
                           &tail) != SQLITE_OK) {
        relm_store_fail(s, d, "prepare");
        return NULL;
    }
    if (st == NULL) {
        relm_diag_set(d, "sql_error", _("prepare: no statement in the text"));
        return NULL;
    }
    if (!blank_tail(s, tail)) {
        sqlite3_finalize(st);
        relm_diag_set(d, "sql_error", _("prepare: one statement at a time: "
                      "the text goes on after the first one at '%.40s'"),
                      tail);
        return NULL;
    }
    char *key = strdup(sql);
    int i = key == NULL ? -1
            : s->ncached < RELM_STORE_CACHE_MAX ? s->ncached
            : cache_evict(s);
    if (i < 0) {
        sqlite3_finalize(st);
        free(key);
        if (key == NULL)
            relm_diag_set(d, "out_of_memory", _("statement cache: out of memory"));
        else
            relm_diag_set(d, "internal", _("statement cache: all %d statements "
                          "are mid-step (one is never reset)"),
                          RELM_STORE_CACHE_MAX);
        return NULL;
    }
    if (i == s->ncached)
        s->ncached++;
    stmt_entry *e = &s->cache[i];
    e->sql = key;
    e->stmt = st;
    e->hash = h;
    e->chain = s->bucket[h & (STMT_BUCKETS - 1)];
    s->bucket[h & (STMT_BUCKETS - 1)] = i;
    lru_push(s, i);
    return st;
}

int relm_store_lookup(relm_store *s, const char *sql, const char *key,
                      int64_t *out, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(s, sql, d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = relm_store_step_row(s, st, d, "lookup");
    if (rc == RELM_OK) {
        *out = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    return rc;
}

int relm_store_step_row(relm_store *s, sqlite3_stmt *st, relm_diag *d,
                        const char *context)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return RELM_OK;
    /* Map the error before the reset, which would clear it. */
    int ret = rc == SQLITE_DONE ? RELM_NOT_FOUND
                                : relm_store_fail(s, d, context);
    sqlite3_reset(st);
    return ret;
}

char *relm_store_text(sqlite3_stmt *st)
{
    char *out = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        out = v != NULL ? strdup(v) : NULL;
    }
    sqlite3_reset(st);
    return out;
}

int relm_store_id_text(relm_store *s, const char *sql, int64_t id,
                       char **out, relm_diag *d)
{
    *out = NULL;
    sqlite3_stmt *st = relm_store_stmt(s, sql, d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    *out = relm_store_text(st);
    return RELM_OK;
}

void relm_store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v != NULL)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

void relm_store_column_copy(sqlite3_stmt *st, int i, char *out, size_t size)
{
    const char *v = (const char *)sqlite3_column_text(st, i);
    snprintf(out, size, "%s", v != NULL ? v : "");
}

int relm_store_exec(relm_store *s, const char *sql, relm_diag *d)
{
    if (s->pending_pragma != NULL && apply_pending(s, d) != RELM_OK)
        return RELM_ERR;
    char *err = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        int rc = relm_store_fail(s, d, "exec");
        if (d != NULL && err != NULL && strcmp(d->code, "busy") != 0)
            snprintf(d->msg, sizeof d->msg, "%s", err);
        sqlite3_free(err);
        return rc;
    }
    if (s->depth == 0)
        s->generation++;
    return RELM_OK;
}

/* Run one transaction-control statement (BEGIN IMMEDIATE, COMMIT,
 * SAVEPOINT, RELEASE) from the statement cache: a primitive runs four of
 * them, and sqlite3_exec would parse each anew every time. Errors are
 * reported as relm_store_exec reports them. */
static int control(relm_store *s, const char *sql, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(s, sql, d);
    if (st == NULL)
        return RELM_ERR;
    if (sqlite3_step(st) != SQLITE_DONE) {
        int rc = relm_store_fail(s, d, "exec");
        if (d != NULL && strcmp(d->code, "busy") != 0)
            snprintf(d->msg, sizeof d->msg, "%s", sqlite3_errmsg(s->db));
        sqlite3_reset(st);
        return rc;
    }
    sqlite3_reset(st);
    if (s->depth == 0)
        s->generation++;
    return RELM_OK;
}

static int resolve_actor(relm_store *s, relm_diag *d);
static uint64_t mono_ms(void);
static void wq_enter(relm_store *s);
static void wq_leave(relm_store *s);

int relm_store_begin(relm_store *s, relm_diag *d)
{
    char sql[64];
    /* Every write starts here: a deferred user who turns out not to exist
     * (the default admin, deactivated) must not write as nobody. */
    if (s->depth == 0 && s->actor_pending && resolve_actor(s, d) != RELM_OK)
        return RELM_ERR;
    if (s->depth == 0) {
        /* Wait for this process's turn (the writer queue), then for the
         * lock: one busy budget for both. */
        s->wait_from = mono_ms();
        wq_enter(s);
        snprintf(sql, sizeof sql, "BEGIN IMMEDIATE");
    } else {
        snprintf(sql, sizeof sql, "SAVEPOINT relm_sp%d", s->depth);
    }
    int rc = control(s, sql, d);
    s->wait_from = 0;
    if (rc != RELM_OK) {
        if (s->depth == 0)
            wq_leave(s);
        return RELM_ERR;
    }
    s->depth++;
    return RELM_OK;
}

int relm_store_commit(relm_store *s, relm_diag *d)
{
    char sql[64];
    if (s->depth <= 0)
        return relm_diag_set(d, "internal", _("commit without a transaction"));
    if (s->depth == 1)
        snprintf(sql, sizeof sql, "COMMIT");
    else
        snprintf(sql, sizeof sql, "RELEASE relm_sp%d", s->depth - 1);
    if (control(s, sql, d) != RELM_OK)
        return RELM_ERR;
    s->depth--;
    if (s->depth == 0) {
        s->generation++;
        wq_leave(s);
    }
    return RELM_OK;
}

int relm_store_end(relm_store *s, int rc, relm_diag *d)
{
    if (rc == RELM_OK && relm_store_commit(s, d) == RELM_OK)
        return RELM_OK;
    relm_store_rollback(s);
    return RELM_ERR;
}

void relm_store_rollback(relm_store *s)
{
    char sql[96];
    if (s->depth <= 0)
        return;
    if (s->depth == 1) {
        /* SQLite may already have rolled back on some errors; then ROLLBACK
         * fails harmlessly and the connection is in autocommit again. */
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        wq_leave(s);
    } else {
        snprintf(sql, sizeof sql, "ROLLBACK TO relm_sp%d; RELEASE relm_sp%d",
                 s->depth - 1, s->depth - 1);
        sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    }
    s->depth--;
}

int relm_store_read_begin(relm_store *s, int *own, relm_diag *d)
{
    *own = 0;
    if (!sqlite3_get_autocommit(s->db))
        return RELM_OK;
    if (sqlite3_exec(s->db, "BEGIN DEFERRED", NULL, NULL, NULL) != SQLITE_OK)
        return relm_store_fail(s, d, "begin read");
    *own = 1;
    return RELM_OK;
}

void relm_store_read_end(relm_store *s, int own)
{
    /* Ending a read-only transaction cannot lose anything; if SQLite has
     * already ended it, COMMIT fails harmlessly. */
    if (own)
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
}

/* The one authorizer of the connection, installed at open and never
 * replaced: sqlite3_set_authorizer expires every prepared statement, so
 * switching it per query would empty the statement cache. It forwards to
 * the guard while one is set (relm.sql) and allows everything otherwise.
 * SQLite calls it while preparing and while re-preparing a statement
 * whose schema changed, which happens inside sqlite3_step: so a guard is
 * kept set until the guarded statement is done. */
static int authorize(void *arg, int action, const char *a, const char *b,
                     const char *db, const char *inner)
{
    relm_store *s = arg;
    if (s->guard == NULL)
        return SQLITE_OK;
    return s->guard(s->guard_ctx, action, a, b, db, inner);
}

void relm_store_set_guard(relm_store *s, relm_store_guard_fn fn, void *ctx,
                          relm_store_guard_fn *old_fn, void **old_ctx)
{
    if (old_fn != NULL)
        *old_fn = s->guard;
    if (old_ctx != NULL)
        *old_ctx = s->guard_ctx;
    s->guard = fn;
    s->guard_ctx = ctx;
}

uint64_t relm_store_generation(relm_store *s)
{
    sqlite3_stmt *st = relm_store_stmt(s, "PRAGMA data_version", NULL);
    if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        int64_t v = sqlite3_column_int64(st, 0);
        if (v != s->data_version) {
            s->data_version = v;
            s->generation++;
        }
    }
    if (st != NULL)
        sqlite3_reset(st);
    return s->generation;
}

int relm_store_set_actor(relm_store *s, const char *name, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT id FROM users WHERE name = ?1 AND active = 1", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return relm_store_fail(s, d, "actor");
        return relm_diag_set(d, "unknown_user",
                             _("no active user named '%s'"),
                             name);
    }
    s->actor_id = sqlite3_column_int64(st, 0);
    s->actor_pending = 0;
    sqlite3_reset(st);
    snprintf(s->actor_name, sizeof s->actor_name, "%s", name);
    return RELM_OK;
}

void relm_store_defer_actor(relm_store *s, const char *name)
{
    s->actor_id = 0;
    s->actor_pending = 1;
    snprintf(s->actor_name, sizeof s->actor_name, "%s", name);
}

/* Look up the deferred user. On failure the name stays pending (so the
 * next outermost begin refuses again) and the id 0, which every
 * permission check refuses. */
static int resolve_actor(relm_store *s, relm_diag *d)
{
    char name[sizeof s->actor_name];
    snprintf(name, sizeof name, "%s", s->actor_name);
    if (relm_store_set_actor(s, name, d) != RELM_OK) {
        s->actor_id = 0;
        s->actor_pending = 1;
        if (d != NULL && d->code != NULL && strcmp(d->code, "unknown_user") == 0)
            relm_diag_set(d, "unknown_user", _("no active user named '%s' "
                          "(start relm with --user NAME)"), name);
        return RELM_ERR;
    }
    return RELM_OK;
}

int64_t relm_store_actor_id(relm_store *s)
{
    if (s->actor_pending)
        resolve_actor(s, NULL);
    return s->actor_id;
}

const char *relm_store_actor_name(const relm_store *s)
{
    return s->actor_name;
}

/* Read one integer pragma or scalar query; RELM_ERR when the file cannot be
 * read as a database. */
static int query_int(relm_store *s, const char *sql, int64_t *out,
                     relm_diag *d)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return relm_store_fail(s, d, "read");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return relm_store_fail(s, d, "read");
    return RELM_OK;
}

/* Apply every migration newer than the file's user_version, each in its own
 * transaction, re-reading the version inside it so that two processes
 * opening a fresh file at once do not both migrate. */
static int migrate(relm_store *s, relm_diag *d)
{
    for (int i = 0; i < relm_migration_count; i++) {
        const relm_migration *m = &relm_migrations[i];
        int64_t have = 0;
        if (relm_store_begin(s, d) != RELM_OK)
            return RELM_ERR;
        if (query_int(s, "PRAGMA user_version", &have, d) != RELM_OK)
            goto fail;
        if (have >= m->version) {
            relm_store_rollback(s);
            continue;
        }
        if (relm_store_exec(s, m->sql, d) != RELM_OK) {
            char why[sizeof d->msg];
            snprintf(why, sizeof why, "%s", d->msg);
            relm_diag_set(d, "migration", _("migration %04d_%s failed: %s"),
                          m->version, m->name, why);
            goto fail;
        }
        char sql[96];
        snprintf(sql, sizeof sql, "PRAGMA application_id = %d; "
                 "PRAGMA user_version = %d", RELM_APPLICATION_ID, m->version);
        if (relm_store_exec(s, sql, d) != RELM_OK)
            goto fail;
        if (relm_store_commit(s, d) != RELM_OK)
            goto fail;
    }
    return RELM_OK;
fail:
    relm_store_rollback(s);
    return RELM_ERR;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

/* Read the 100-byte SQLite header straight from the file, before SQLite
 * opens it: a connection on a foreign WAL database could create -wal and
 * -shm files beside it or checkpoint it on close, and a refused file must
 * be left exactly as it was. An empty file is a fresh database. The header
 * (100 bytes) holds user_version at offset 60 and application_id at offset 68; bytes
 * 18 and 19 are 2 once the file is in WAL mode, which sets *wal. */
static int check_header(const char *path, int *wal, relm_diag *d)
{
    static const char magic[16] = "SQLite format 3";
    unsigned char h[101];
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return relm_diag_set(d, "io_error", _("%s: cannot read: %s"), path,
                             strerror(errno));
    size_t n = fread(h, 1, sizeof h, f);
    int err = ferror(f);
    fclose(f);
    if (err)
        return relm_diag_set(d, "io_error", _("%s: cannot read"), path);
    if (n == 0)
        return RELM_OK;
    /* Byte 100 starts the schema's root page, a table b-tree page (leaf
     * 0x0d or interior 0x05). Checking it catches a garbled file without
     * parsing the schema, which would cost every start a millisecond; other
     * damage is reported as "corrupt" by the first query that meets it. */
    if (n < sizeof h || memcmp(h, magic, sizeof magic) != 0 ||
        (h[100] != 0x0d && h[100] != 0x05))
        return relm_diag_set(d, "not_relm_db", _("%s: not a relm database (not "
                             "an SQLite file, or corrupt); left untouched"),
                             path);
    *wal = h[18] == 2 && h[19] == 2;
    uint32_t app = be32(h + 68), ver = be32(h + 60);
    if (app == 0 && ver == 0)
        return RELM_OK; /* maybe an empty SQLite file: check_identity says */
    if (app != RELM_APPLICATION_ID)
        return relm_diag_set(d, "not_relm_db",
                             _("%s: not a relm database (it belongs to "
                             "another program); left untouched"), path);
    if (ver > (uint32_t)relm_store_schema_version())
        return relm_diag_set(d, "newer_schema",
                             _("%s: written by a newer relm (schema %u, this "
                             "relm knows up to %d); upgrade relm to open it"),
                             path, (unsigned)ver, relm_store_schema_version());
    return RELM_OK;
}

/* Decide from the schema whether this file is ours, fresh, foreign or
 * newer, before any statement that could write to it. check_header has
 * already refused most foreign files; this catches the rest (a WAL file
 * whose header is not yet checkpointed, an SQLite file with tables but no
 * application id). */
static int check_identity(relm_store *s, int64_t *version, relm_diag *d)
{
    int64_t app = 0, ver = 0, nobj = 0;
    /* The two header pragmas do not parse the schema; counting
     * sqlite_schema does (milliseconds on a full schema), so it is asked
     * only when the header cannot tell a fresh file from a foreign one. */
    if (query_int(s, "PRAGMA application_id", &app, d) != RELM_OK ||
        query_int(s, "PRAGMA user_version", &ver, d) != RELM_OK ||
        (app == 0 && ver == 0 &&
         query_int(s, "SELECT count(*) FROM sqlite_schema", &nobj, d) != RELM_OK)) {
        /* A lock held by another process (exclusive locking mode, a
         * recovery in progress) is not damage: report it as busy. */
        if (d->code != NULL && strcmp(d->code, "busy") == 0)
            return relm_diag_set(d, "busy", _("%s: database is locked by "
                                 "another process; try again"), s->path);
        char why[sizeof d->msg];
        snprintf(why, sizeof why, "%s", d->msg);
        return relm_diag_set(d, "not_relm_db", _("%s: not a relm database "
                             "or corrupt (%s); left untouched"), s->path, why);
    }
    *version = ver;
    if (app == 0 && nobj == 0 && ver == 0)
        return RELM_OK; /* empty: ours to initialise */
    if (app != RELM_APPLICATION_ID)
        return relm_diag_set(d, "not_relm_db",
                             _("%s: not a relm database (it belongs to "
                             "another program); left untouched"), s->path);
    if (ver > relm_store_schema_version())
        return relm_diag_set(d, "newer_schema",
                             _("%s: written by a newer relm (schema %lld, this "
                             "relm knows up to %d); upgrade relm to open it"),
                             s->path, (long long)ver,
                             relm_store_schema_version());
    return RELM_OK;
}

/* The files SQLite may create beside a database, which a refused file must
 * not be left with. */
static const char *side_suffix[] = {"-wal", "-shm", "-journal", "-wq"};
enum { NSIDE = sizeof side_suffix / sizeof side_suffix[0] };

/* Note which side files exist (bit i for side_suffix[i]). */
static unsigned side_files(const char *path)
{
    unsigned have = 0;
    char name[4200];
    struct stat st;
    for (unsigned i = 0; i < NSIDE; i++) {
        snprintf(name, sizeof name, "%s%s", path, side_suffix[i]);
        if (stat(name, &st) == 0)
            have |= 1u << i;
    }
    return have;
}

/* Remove the side files that were not there before (had) and are now. */
static void remove_new_side_files(const char *path, unsigned had)
{
    char name[4200];
    unsigned now = side_files(path);
    for (unsigned i = 0; i < NSIDE; i++)
        if ((now & ~had) & (1u << i)) {
            snprintf(name, sizeof name, "%s%s", path, side_suffix[i]);
            unlink(name);
        }
}

/* ---- WAL size ----
 * Under concurrent load the WAL grew to 2.28 GB in 60 s. The log only
 * starts over once every frame is copied into the database (checkpointed)
 * and no reader still holds a snapshot taken from the log. SQLite's own
 * automatic checkpoint is passive: it copies what readers allow but never
 * waits, and while scans overlap and writers keep committing there is
 * never a moment with both, so the file only grows. A restart needs such a
 * moment made on purpose: hold the write lock (no new frames, so readers
 * starting now read the database, not the log) while the readers already
 * in the log finish. That blocks every writer for as long as the longest
 * scan in flight, so it is done rarely, copies nothing, and is bounded:
 *  - once the log holds WAL_PASSIVE_PAGES, at every WAL_PASSIVE_STEP pages
 *    a passive checkpoint (never waits, never takes the write lock; at
 *    every commit, as SQLite's own, the checkpoint lock was always taken
 *    and the restart below could not run);
 *  - when that leaves nothing to copy, a restarting checkpoint that tries
 *    each lock once and waits for nothing (the log is idle: the next
 *    commit writes it from the start again; it is not: nothing lost). It
 *    does not truncate the file: a log emptied to 0 bytes every thousand
 *    pages had the file system allocate its blocks again and again (the
 *    truncating form cost a release's walk about a fifth of its time);
 *    the file keeps the size one round of checkpoints gives it (about
 *    1,200 pages) and is written over;
 *  - at WAL_RESTART_PAGES and at each WAL_RESTART_STEP pages beyond, the
 *    one commit that crosses the mark (whichever process makes it) runs a
 *    truncating checkpoint that waits for readers, up to wal_wait_ms: a
 *    failed try costs writers that much once per step, never once per
 *    commit (the old rule, a 100 ms try at every commit past the mark,
 *    held the write lock most of the time and starved writers into
 *    "busy" while readers outlasted every try);
 *  - closing the store tries as after a commit, without waiting.
 * journal_size_limit (64 MB) truncates a file that did grow once the log
 * starts over; the waiting checkpoint and closing truncate it to 0.
 * Statements are stepped to the end and reset (relm_store_stmt resets a
 * cached one before reuse), so no read snapshot is held between calls to
 * pin the log. */
#define WAL_PASSIVE_PAGES 1000
#define WAL_PASSIVE_STEP 200
#define WAL_RESTART_PAGES 4000
#define WAL_RESTART_STEP 2000
#define WAL_WAIT_MAX_MS 2000

/* Milliseconds on the monotonic clock. */
static uint64_t mono_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

/* The busy handler. SQLite's own (sqlite3_busy_timeout) sleeps longer and
 * longer, up to 100 ms between tries: under a stream of short write
 * transactions from other processes a waiting writer can wake, time after
 * time, just after the lock was taken again, and fail with "database is
 * locked" when its 5 s are up (the torture concurrency run saw it). This
 * one tries again every 1 to 4 ms (jittered, so waiters do not wake in
 * step; every 0.25 to 1 ms once it has waited long) until busy_ms have
 * passed. A checkpoint has its own budget
 * instead (ckpt_until; 1 for one that must not wait at all). */
static int busy_wait(void *arg, int count)
{
    relm_store *s = arg;
    uint64_t now = mono_ms();
    if (count == 0) /* a begin's budget started before its queue wait */
        s->busy_since = s->wait_from != 0 ? s->wait_from : now;
    if (s->ckpt_until != 0 ? now >= s->ckpt_until
                           : now - s->busy_since >= (uint64_t)s->busy_ms)
        return 0;
    uint64_t jitter = (now * 7919u + (uint64_t)count * 104729u) % 3000000u;
    struct timespec nap = {0, 1000000L + (long)jitter};
    /* Between two transactions of a busy writer the lock is free for a
     * few microseconds: a waiter napping milliseconds can miss every such
     * moment while four writers take turns, for seconds (measured: 0.7 s
     * lost to them after a restart checkpoint had already taken 1 s).
     * Past a quarter of its budget a waiter looks four times as often. */
    if (s->ckpt_until == 0 && now - s->busy_since >= (uint64_t)s->busy_ms / 4)
        nap.tv_nsec = 250000L + (long)(jitter / 4);
    nanosleep(&nap, NULL);
    return 1;
}

/* ---- The writer queue ----
 * SQLite's write lock is not fair: there is no queue, a waiter's busy
 * handler naps and tries again, and a writer that commits and begins again
 * at once finds the lock free before the nappers wake. Under five writers
 * a slowed one (niced, or on a loaded machine) could lose every race for
 * its whole 5 s and fail with "busy" (the long torture run: 13,697 of
 * 15,000 increments). So writers take turns first: a ticket lock shared by
 * every process through a small file beside the database, DB-wq, mapped
 * like SQLite's DB-shm. relm_store_begin takes the next ticket and waits
 * until `serving` reaches it, then runs BEGIN IMMEDIATE; the outermost
 * commit or rollback passes the turn on. Readers never queue.
 *
 * The queue only orders; SQLite's lock still excludes. So whatever goes
 * wrong with the queue costs fairness, never correctness, and every doubt
 * is settled by moving on: a waiter skips the turn in front of it when
 *  - its owner gave up (WQ_GONE: out of budget, or overtook, below): at
 *    once; its owner has died (no such pid, or a zombie): after
 *    WQ_OVERTAKE_MS;
 *  - nobody has said it is theirs (killed between taking the ticket and
 *    writing its slot, or more than WQ_SLOTS waiters): after WQ_UNSEEN_MS;
 *  - its owner lives but has not claimed it after a quarter of the busy
 *    budget, or holds it (its transaction runs, or is stopped) after the
 *    whole budget (waiters mostly overtake, below, before the first).
 * A turn whose owner is woken but not yet running after WQ_OVERTAKE_MS
 * (a niced process on a busy machine takes tens of ms) is overtaken: the
 * waiters behind give up their tickets and go to the lock, while the
 * turn stays its owner's; once it claims it, no one overtakes it, and it
 * waits only for the overtakers already at the lock. Without this, every
 * writer waited for the slowest one's wake-up at every round (a convoy:
 * the concurrency run with a niced writer took 2.6 times as long).
 * Limit: a stopped (SIGSTOP) process at the head of the queue costs each
 * later writer WQ_OVERTAKE_MS until it resumes or dies.
 * A writer whose turn was skipped, who overtook, or who could not map
 * the file (a read-only database, a directory it may not write), runs
 * BEGIN IMMEDIATE as before: SQLite's busy handler waits for the lock. Waiting
 * in the queue spends the same busy budget as waiting for the lock, so a
 * writer still fails with "busy" after busy_ms, as before.
 * An uncontended begin costs two atomic operations on the mapped page
 * (the file is opened once per store, at its first write). Waiters sleep
 * on a futex on `serving` (shared, so across processes) and the one who
 * passes the turn wakes them only when there are any. */
#define WQ_SLOTS 256
#define WQ_POLL_MS 5
#define WQ_UNSEEN_MS 200
#define WQ_OVERTAKE_MS 10
enum { WQ_WAITING = 1, WQ_HOLDING = 2, WQ_GONE = 3 };

/* Slot t % WQ_SLOTS describes ticket t in one word, so it is read whole:
 * ticket << 32 | state << 30 | pid (Linux pids stay below 2^22). */
struct wq_shared {
    _Atomic uint32_t next;    /* the next ticket to hand out */
    _Atomic uint32_t serving; /* the ticket whose turn it is (futex word) */
    uint32_t spare[14];       /* the slots start on their own cache line */
    _Atomic uint64_t slot[WQ_SLOTS];
};
_Static_assert(sizeof(_Atomic uint32_t) == 4, "futex word is 32 bits");

static void wq_set(struct wq_shared *q, uint32_t t, unsigned state)
{
    uint64_t w = (uint64_t)t << 32 | (uint64_t)state << 30 |
                 ((uint64_t)getpid() & 0x3fffffffu);
    atomic_store(&q->slot[t % WQ_SLOTS], w);
}

/* Sleep until *word may differ from val, or ms pass. */
static void wq_sleep(_Atomic uint32_t *word, uint32_t val, int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
#ifdef __linux__
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, val, &ts, NULL, 0);
#else
    (void)word;
    (void)val;
    nanosleep(&ts, NULL);
#endif
}

static void wq_wake(_Atomic uint32_t *word)
{
#ifdef __linux__
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
#else
    (void)word;
#endif
}

/* 1 when process pid is gone: no such process, or a zombie (killed but
 * not yet reaped by its parent: kill() still finds it, yet it holds
 * nothing any more). */
static int wq_dead(pid_t pid)
{
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return 1;
#ifdef __linux__
    char name[64], buf[256];
    snprintf(name, sizeof name, "/proc/%d/stat", (int)pid);
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* no /proc: trust kill() */
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 1;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* "pid (comm) S ...", comm may hold ')' */
    return p != NULL && (p[2] == 'Z' || p[2] == 'X');
#else
    return 0;
#endif
}

/* What a waiter does about the turn of ticket cur, unchanged for `waited`
 * ms (the rules above): wait on, skip the turn, or overtake it. */
enum { WQ_WAIT, WQ_SKIP, WQ_OVERTAKE };
static int wq_judge(const relm_store *s, uint32_t cur, uint64_t waited)
{
    uint64_t w = atomic_load(&s->wq->slot[cur % WQ_SLOTS]);
    unsigned state = (unsigned)(w >> 30) & 3u;
    if ((uint32_t)(w >> 32) != cur || state == 0)
        return waited >= WQ_UNSEEN_MS ? WQ_SKIP : WQ_WAIT;
    if (state == WQ_GONE)
        return WQ_SKIP;
    if (waited < WQ_OVERTAKE_MS)
        return WQ_WAIT;
    if (wq_dead((pid_t)(w & 0x3fffffffu)))
        return WQ_SKIP;
    if (state == WQ_WAITING)
        return waited >= (uint64_t)s->busy_ms / 4 ? WQ_SKIP : WQ_OVERTAKE;
    return waited >= (uint64_t)s->busy_ms ? WQ_SKIP : WQ_WAIT;
}

/* Map DB-wq (created with the database's permissions), once per store.
 * Every store that maps it holds a shared flock on it for as long, and
 * the last one to close removes it (relm_store_close), as SQLite removes
 * DB-shm: so an opener checks, once it holds the lock, that the name still
 * means the file it opened. Any failure leaves s->wq NULL: writers then go
 * straight to the lock. */
static void wq_map(relm_store *s)
{
    s->wq_tried = 1;
    char name[4200];
    struct stat st, qst, now;
    if (stat(s->path, &st) != 0 ||
        snprintf(name, sizeof name, "%s-wq", s->path) >= (int)sizeof name)
        return;
    for (int tries = 0; tries < 3; tries++) {
        int fd = open(name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                      st.st_mode & 0666);
        if (fd < 0)
            return;
        if (flock(fd, LOCK_SH) != 0 || fstat(fd, &qst) != 0 ||
            !S_ISREG(qst.st_mode)) {
            close(fd);
            return;
        }
        if (stat(name, &now) != 0 || now.st_ino != qst.st_ino ||
            now.st_dev != qst.st_dev) {
            close(fd); /* removed by a closing store meanwhile: again */
            continue;
        }
        if (qst.st_size == 0)
            (void)fchmod(fd, st.st_mode & 0666); /* as the database */
        void *p = MAP_FAILED;
        if (qst.st_size >= (off_t)sizeof *s->wq ||
            ftruncate(fd, (off_t)sizeof *s->wq) == 0)
            p = mmap(NULL, sizeof *s->wq, PROT_READ | PROT_WRITE, MAP_SHARED,
                     fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return;
        }
        s->wq = p;
        s->wq_fd = fd;
        return;
    }
}

/* Unmap DB-wq, and remove it when no other store has it mapped. */
static void wq_unmap(relm_store *s)
{
    if (s->wq == NULL)
        return;
    munmap(s->wq, sizeof *s->wq);
    s->wq = NULL;
    char name[4200];
    if (flock(s->wq_fd, LOCK_EX | LOCK_NB) == 0 &&
        snprintf(name, sizeof name, "%s-wq", s->path) < (int)sizeof name)
        unlink(name);
    close(s->wq_fd);
}

/* Pass on the turn of ticket t (when it is still t's) and wake waiters. */
static void wq_pass(struct wq_shared *q, uint32_t t)
{
    uint32_t expect = t;
    if (!atomic_compare_exchange_strong(&q->serving, &expect, t + 1))
        return;
    /* Tickets given up next in line (overtakers) are passed at once: no
     * waiter has to wake just to skip them. */
    for (t++; t != atomic_load(&q->next) &&
              atomic_load(&q->slot[t % WQ_SLOTS]) >> 30 ==
                  ((uint64_t)t << 2 | WQ_GONE);
         t++) {
        expect = t;
        if (!atomic_compare_exchange_strong(&q->serving, &expect, t + 1))
            return;
    }
    if (atomic_load(&q->next) != t)
        wq_wake(&q->serving);
}

/* Take a ticket and wait for its turn, within the busy budget that began
 * at s->wait_from. Returns having the turn (s->wq_in), or without it when
 * there is no queue, the turn was skipped or the budget ran out: the
 * caller then waits for SQLite's lock as before (with what is left). */
static void wq_enter(relm_store *s)
{
    if (!s->wq_tried)
        wq_map(s);
    struct wq_shared *q = s->wq;
    if (q == NULL)
        return;
    uint32_t t = atomic_fetch_add(&q->next, 1);
    wq_set(q, t, WQ_WAITING);
    uint32_t seen = t; /* not a turn ahead of t: the first look resets it */
    uint64_t seen_at = s->wait_from;
    for (;;) {
        uint32_t cur = atomic_load(&q->serving);
        int32_t ahead = (int32_t)(t - cur);
        if (ahead == 0) {
            wq_set(q, t, WQ_HOLDING);
            s->wq_ticket = t;
            s->wq_in = 1;
            return;
        }
        if (ahead < 0) /* skipped: see above */
            return;
        uint64_t now = mono_ms();
        if (cur != seen) {
            seen = cur;
            seen_at = now;
        }
        if (now - s->wait_from >= (uint64_t)s->busy_ms) {
            /* Out of budget: leave the queue (a waiter behind skips this
             * ticket at once) and let BEGIN IMMEDIATE say busy, or find
             * the lock free after all. */
            wq_set(q, t, WQ_GONE);
            wq_pass(q, t);
            return;
        }
        int judged = wq_judge(s, cur, now - seen_at);
        if (judged == WQ_SKIP) {
            uint32_t expect = cur;
            if (atomic_compare_exchange_strong(&q->serving, &expect, cur + 1))
                wq_wake(&q->serving);
            continue;
        }
        if (judged == WQ_OVERTAKE) {
            /* Go to the lock now and give up this ticket; cur keeps its
             * turn, and once it claims it no one overtakes it. */
            wq_set(q, t, WQ_GONE);
            wq_pass(q, t);
            return;
        }
        wq_sleep(&q->serving, cur, WQ_POLL_MS);
    }
}

/* The outermost transaction ended (or never began): pass the turn on. */
static void wq_leave(relm_store *s)
{
    if (!s->wq_in)
        return;
    s->wq_in = 0;
    wq_set(s->wq, s->wq_ticket, WQ_GONE);
    wq_pass(s->wq, s->wq_ticket);
}

/* How long a restart may keep writers waiting: it ends as soon as the
 * readers in the log have left, so a long budget costs only when a scan
 * outlasts it, and a short one that runs out has blocked writers for
 * nothing. WAL_WAIT_MAX_MS, and never more than half a writer's busy
 * timeout, so writers queued behind it still get their turn. */
static int wal_wait_ms(const relm_store *s)
{
    return s->busy_ms / 2 < WAL_WAIT_MAX_MS ? s->busy_ms / 2 : WAL_WAIT_MAX_MS;
}

/* One checkpoint of the given mode; *nlog and *nckpt are the frames in the
 * log and those copied, -1 when it could not start. Only one checkpoint
 * runs at a time in all processes, and SQLite never waits for another
 * (its checkpoint lock ignores the busy handler): until `until` (0: not
 * at all) it tries again every 1 to 4 ms while another one runs. Waits
 * inside the checkpoint (the write lock, readers) end at `until` too. */
static int checkpoint(relm_store *s, int mode, uint64_t until, int *nlog,
                      int *nckpt)
{
    s->ckpt_until = until != 0 ? until : 1; /* 1: waits for no one */
    int rc;
    for (;;) {
        *nlog = *nckpt = -1;
        rc = sqlite3_wal_checkpoint_v2(s->db, NULL, mode, nlog, nckpt);
        if (rc != SQLITE_BUSY || *nlog != -1 || mono_ms() >= s->ckpt_until)
            break;
        struct timespec nap = {0, 1000000L + (long)(mono_ms() % 3) * 1000000L};
        nanosleep(&nap, NULL);
    }
    s->ckpt_until = 0;
    return rc;
}

/* 1 when the log went from `before` to `pages` frames past a multiple of
 * step at or above `from`: of all the commits of all processes, only the
 * one that crosses the mark does what the mark asks. */
static int crossed(int before, int pages, int from, int step)
{
    return pages >= from && (before < from || pages / step != before / step);
}

/* sqlite3_wal_hook: runs after every commit, outside the write lock, with
 * the number of pages now in the log. Replaces the automatic checkpoint.
 * A checkpoint that cannot finish is not an error: a later commit tries
 * again. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    relm_store *s = arg;
    (void)name;
    /* Frames this connection wrote since its last commit: the log held
     * about pages - written before this one. */
    int written = 0, high = 0;
    sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_WRITE, &written, &high, 1);
    int before = pages - written;
    int nlog, nckpt;
    if (crossed(before, pages, WAL_RESTART_PAGES, WAL_RESTART_STEP)) {
        /* Copy first, outside the write lock, so the restart only waits. */
        uint64_t until = mono_ms() + (uint64_t)wal_wait_ms(s);
        checkpoint(s, SQLITE_CHECKPOINT_PASSIVE, until, &nlog, &nckpt);
        checkpoint(s, SQLITE_CHECKPOINT_TRUNCATE, until, &nlog, &nckpt);
    } else if (crossed(before, pages, WAL_PASSIVE_PAGES, WAL_PASSIVE_STEP) &&
               checkpoint(s, SQLITE_CHECKPOINT_PASSIVE, 0, &nlog, &nckpt)
                   == SQLITE_OK &&
               nlog > 0 && nckpt == nlog) {
        checkpoint(s, SQLITE_CHECKPOINT_RESTART, 0, &nlog, &nckpt);
    }
    return SQLITE_OK;
}

/* Process-wide SQLite settings, made once before the first connection
 * (sqlite3_config works only before SQLite initializes; later it returns
 * SQLITE_MISUSE and changes nothing, which is harmless).
 *
 * A primitive runs in a savepoint (relm_store_begin inside relm.tx), and
 * while one is open every page it changes is first copied into a
 * sub-journal so the savepoint can be rolled back. SQLite keeps that
 * journal in memory only up to 64 KiB, then moves it to a temporary file:
 * registering a release changes about 25 pages (the row, its indexes,
 * the full-text index, the occurrence, the outbox), so every registration
 * created, wrote and deleted a file in /var/tmp (measured: the larger
 * part of a registration's time). 4 MiB keeps a primitive's sub-journal in
 * memory; a bulk operation larger than that still spills to disk. */
#define STMT_JOURNAL_SPILL (4 << 20)

static void configure_sqlite(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, STMT_JOURNAL_SPILL);
}

int relm_store_open(relm_store **out, const char *path,
                    const relm_store_opts *opts, int *created, relm_diag *d)
{
    *out = NULL;
    configure_sqlite();
    if (created != NULL)
        *created = 0;
    struct stat stbuf;
    int exists = stat(path, &stbuf) == 0;
    if (exists && S_ISDIR(stbuf.st_mode))
        return relm_diag_set(d, "not_relm_db", _("%s: is a directory"), path);
    if (!exists && errno != ENOENT)
        return relm_diag_set(d, "io_error", "%s: %s", path, strerror(errno));
    if (!exists && !(opts != NULL && opts->create))
        return relm_diag_set(d, "not_found", _("%s: no such database"), path);

    relm_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->path = strdup(path)) == NULL) {
        free(s);
        return relm_diag_set(d, "out_of_memory", _("out of memory"));
    }
    int wal = 0;
    if (exists && check_header(path, &wal, d) != RELM_OK) {
        free(s->path);
        free(s);
        return RELM_ERR;
    }
    s->data_version = -1;
    s->newest = s->oldest = -1;
    memset(s->bucket, 0xff, sizeof s->bucket); /* every bucket -1: empty */
    unsigned had_side = side_files(path);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                (exists ? 0 : SQLITE_OPEN_CREATE);
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        relm_diag_set(d, "io_error", _("%s: cannot open: %s"), path,
                      s->db ? sqlite3_errmsg(s->db) : "out of memory");
        relm_store_close(s);
        return RELM_ERR;
    }
    if (!exists && created != NULL)
        *created = 1;
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_set_authorizer(s->db, authorize, s);
    int busy = opts != NULL && opts->busy_timeout_ms > 0
                   ? opts->busy_timeout_ms : 5000;
    s->busy_ms = busy;
    sqlite3_busy_handler(s->db, busy_wait, s);
    /* Until the file is known to be ours, closing must not checkpoint. */
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    int64_t version = 0;
    if (check_identity(s, &version, d) != RELM_OK) {
        relm_store_close(s);
        remove_new_side_files(path, had_side);
        return RELM_ERR;
    }
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);
    s->checkpoint_ok = 1; /* ours now: closing may checkpoint */
    /* PRAGMA synchronous parses the whole schema (about a millisecond),
     * as does any first statement: so it runs just before that statement,
     * and a start that never touches the database does not pay for it.
     * The page cache is 8 MB, not SQLite's 2 MB: an impact of a thousand
     * CIs on a million-CI database touches more pages than 2 MB hold and
     * read them all again through pread on every query; a larger cache
     * only fills more slowly under load (serve's memory, tests/bench
     * http_mixed). */
    s->pending_pragma = opts != NULL && opts->synchronous_full
                            ? "PRAGMA synchronous = FULL; "
                              "PRAGMA journal_size_limit = 67108864; "
                              "PRAGMA cache_size = -8192"
                            : "PRAGMA synchronous = NORMAL; "
                              "PRAGMA journal_size_limit = 67108864; "
                              "PRAGMA cache_size = -8192";
    if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_FKEY, 1, NULL)
        != SQLITE_OK) {
        relm_store_fail(s, d, "foreign keys");
        relm_store_close(s);
        return RELM_ERR;
    }
    /* journal_mode parses the whole schema too, so it is set only on files
     * not yet in WAL mode. An up-to-date file (every start but the first
     * after an upgrade) skips the write lock that migrate takes. */
    if ((!wal && relm_store_exec(s, "PRAGMA journal_mode = WAL", d) != RELM_OK) ||
        (version < relm_store_schema_version() && migrate(s, d) != RELM_OK)) {
        relm_store_close(s);
        return RELM_ERR;
    }
    sqlite3_wal_hook(s->db, on_wal_commit, s);
    *out = s;
    return RELM_OK;
}

void relm_store_close(relm_store *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < s->ncached; i++) {
        sqlite3_finalize(s->cache[i].stmt);
        free(s->cache[i].sql);
    }
    free(s->cache);
    /* Leave the log short for the next process (see WAL size above),
     * waiting for no one: a short process must not hold writers up. */
    wq_leave(s); /* a transaction left open is rolled back by the close */
    int nlog = 0, nckpt = 0;
    if (s->db != NULL && s->checkpoint_ok && sqlite3_get_autocommit(s->db) &&
        checkpoint(s, SQLITE_CHECKPOINT_PASSIVE, 0, &nlog, &nckpt)
            == SQLITE_OK && nlog > 0 && nckpt == nlog)
        checkpoint(s, SQLITE_CHECKPOINT_TRUNCATE, 0, &nlog, &nckpt);
    if (s->db != NULL)
        sqlite3_close_v2(s->db);
    if (s->engine_data != NULL && s->engine_free != NULL)
        s->engine_free(s->engine_data);
    wq_unmap(s);
    free(s->path);
    free(s);
}
