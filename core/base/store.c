/* store.c: the SQLite store: open and validate the file, apply migrations,
 * cache prepared statements and nest transactions as savepoints. */
#include "base/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/migrations.h"

typedef struct stmt_slot {
    char *sql;          /* owned copy of the key; NULL for an empty slot */
    sqlite3_stmt *stmt;
} stmt_slot;

struct relm_store {
    sqlite3 *db;
    char *path;
    stmt_slot *slots;   /* open-addressing hash table keyed by SQL text */
    size_t nslots;      /* a power of two */
    size_t nused;
    int depth;          /* transaction nesting: 0 = autocommit */
    const char *pending_pragma; /* run before the first statement */
    int64_t actor_id;
    int actor_pending;  /* actor_name is to be looked up on first use */
    char actor_name[128];
    uint64_t generation;
    int64_t data_version;
    int busy_ms;        /* how long a locked database is waited for */
    uint64_t busy_since; /* when the current wait began (busy_wait) */
    uint64_t ckpt_until; /* end of a checkpoint's waits; 0 = none */
    int checkpoint_ok;  /* the file is known to be ours: may checkpoint */
};

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
        code = "busy";
        break;
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

static int cache_grow(relm_store *s)
{
    size_t n = s->nslots ? s->nslots * 2 : 64;
    stmt_slot *slots = calloc(n, sizeof *slots);
    if (slots == NULL)
        return RELM_ERR;
    for (size_t i = 0; i < s->nslots; i++) {
        if (s->slots[i].sql == NULL)
            continue;
        size_t j = hash_sql(s->slots[i].sql) & (n - 1);
        while (slots[j].sql != NULL)
            j = (j + 1) & (n - 1);
        slots[j] = s->slots[i];
    }
    free(s->slots);
    s->slots = slots;
    s->nslots = n;
    return RELM_OK;
}

/* Run the connection setting deferred by relm_store_open, once. SQLite
 * refuses to change the safety level inside a transaction, and a read
 * transaction may have been begun directly on the handle (graph.c does):
 * then the setting waits for the next statement outside one. Every write
 * starts with relm_store_begin in autocommit, so none runs without it. */
static int apply_pending(relm_store *s, relm_diag *d)
{
    if (!sqlite3_get_autocommit(s->db))
        return RELM_OK;
    const char *sql = s->pending_pragma;
    s->pending_pragma = NULL;
    return relm_store_exec(s, sql, d);
}

sqlite3_stmt *relm_store_stmt(relm_store *s, const char *sql, relm_diag *d)
{
    if (s->pending_pragma != NULL && apply_pending(s, d) != RELM_OK)
        return NULL;
    if (s->nused * 2 >= s->nslots && cache_grow(s) != RELM_OK) {
        relm_diag_set(d, "out_of_memory", "statement cache: out of memory");
        return NULL;
    }
    size_t i = hash_sql(sql) & (s->nslots - 1);
    while (s->slots[i].sql != NULL) {
        if (strcmp(s->slots[i].sql, sql) == 0) {
            sqlite3_stmt *st = s->slots[i].stmt;
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return st;
        }
        i = (i + 1) & (s->nslots - 1);
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
                           NULL) != SQLITE_OK) {
        relm_store_fail(s, d, "prepare");
        return NULL;
    }
    char *key = strdup(sql);
    if (key == NULL) {
        sqlite3_finalize(st);
        relm_diag_set(d, "out_of_memory", "statement cache: out of memory");
        return NULL;
    }
    s->slots[i].sql = key;
    s->slots[i].stmt = st;
    s->nused++;
    return st;
}

int relm_store_lookup(relm_store *s, const char *sql, const char *key,
                      int64_t *out, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(s, sql, d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return RELM_OK;
    if (rc == SQLITE_DONE)
        return RELM_NOT_FOUND;
    return relm_store_fail(s, d, "lookup");
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
        if (d != NULL && err != NULL)
            snprintf(d->msg, sizeof d->msg, "%s", err);
        sqlite3_free(err);
        return rc;
    }
    if (s->depth == 0)
        s->generation++;
    return RELM_OK;
}

static int resolve_actor(relm_store *s, relm_diag *d);

int relm_store_begin(relm_store *s, relm_diag *d)
{
    char sql[64];
    /* Every write starts here: a deferred user who turns out not to exist
     * (the default admin, deactivated) must not write as nobody. */
    if (s->depth == 0 && s->actor_pending && resolve_actor(s, d) != RELM_OK)
        return RELM_ERR;
    if (s->depth == 0)
        snprintf(sql, sizeof sql, "BEGIN IMMEDIATE");
    else
        snprintf(sql, sizeof sql, "SAVEPOINT relm_sp%d", s->depth);
    if (relm_store_exec(s, sql, d) != RELM_OK)
        return RELM_ERR;
    s->depth++;
    return RELM_OK;
}

int relm_store_commit(relm_store *s, relm_diag *d)
{
    char sql[64];
    if (s->depth <= 0)
        return relm_diag_set(d, "internal", "commit without a transaction");
    if (s->depth == 1)
        snprintf(sql, sizeof sql, "COMMIT");
    else
        snprintf(sql, sizeof sql, "RELEASE relm_sp%d", s->depth - 1);
    if (relm_store_exec(s, sql, d) != RELM_OK)
        return RELM_ERR;
    s->depth--;
    if (s->depth == 0)
        s->generation++;
    return RELM_OK;
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
    } else {
        snprintf(sql, sizeof sql, "ROLLBACK TO relm_sp%d; RELEASE relm_sp%d",
                 s->depth - 1, s->depth - 1);
        sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    }
    s->depth--;
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
                             "no active user named '%s'",
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
            relm_diag_set(d, "unknown_user", "no active user named '%s' "
                          "(start relm with --user NAME)", name);
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
            relm_diag_set(d, "migration", "migration %04d_%s failed: %s",
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
        return relm_diag_set(d, "io_error", "%s: cannot read: %s", path,
                             strerror(errno));
    size_t n = fread(h, 1, sizeof h, f);
    int err = ferror(f);
    fclose(f);
    if (err)
        return relm_diag_set(d, "io_error", "%s: cannot read", path);
    if (n == 0)
        return RELM_OK;
    /* Byte 100 starts the schema's root page, a table b-tree page (leaf
     * 0x0d or interior 0x05). Checking it catches a garbled file without
     * parsing the schema, which would cost every start a millisecond; other
     * damage is reported as "corrupt" by the first query that meets it. */
    if (n < sizeof h || memcmp(h, magic, sizeof magic) != 0 ||
        (h[100] != 0x0d && h[100] != 0x05))
        return relm_diag_set(d, "not_relm_db", "%s: not a relm database (not "
                             "an SQLite file, or corrupt); left untouched",
                             path);
    *wal = h[18] == 2 && h[19] == 2;
    uint32_t app = be32(h + 68), ver = be32(h + 60);
    if (app == 0 && ver == 0)
        return RELM_OK; /* maybe an empty SQLite file: check_identity says */
    if (app != RELM_APPLICATION_ID)
        return relm_diag_set(d, "not_relm_db",
                             "%s: not a relm database (it belongs to "
                             "another program); left untouched", path);
    if (ver > (uint32_t)relm_store_schema_version())
        return relm_diag_set(d, "newer_schema",
                             "%s: written by a newer relm (schema %u, this "
                             "relm knows up to %d); upgrade relm to open it",
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
        char why[sizeof d->msg];
        snprintf(why, sizeof why, "%s", d->msg);
        return relm_diag_set(d, "not_relm_db", "%s: not a relm database "
                             "or corrupt (%s); left untouched", s->path, why);
    }
    *version = ver;
    if (app == 0 && nobj == 0 && ver == 0)
        return RELM_OK; /* empty: ours to initialise */
    if (app != RELM_APPLICATION_ID)
        return relm_diag_set(d, "not_relm_db",
                             "%s: not a relm database (it belongs to "
                             "another program); left untouched", s->path);
    if (ver > relm_store_schema_version())
        return relm_diag_set(d, "newer_schema",
                             "%s: written by a newer relm (schema %lld, this "
                             "relm knows up to %d); upgrade relm to open it",
                             s->path, (long long)ver,
                             relm_store_schema_version());
    return RELM_OK;
}

/* The files SQLite may create beside a database, which a refused file must
 * not be left with. */
static const char *side_suffix[] = {"-wal", "-shm", "-journal"};
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
 * Under concurrent load the WAL grew to 2.28 GB in 60 s: SQLite's own
 * automatic checkpoint is passive, so while readers keep old snapshots it
 * copies what it can but never starts the log over, and the file only
 * grows. So: journal_size_limit (64 MB) truncates the file whenever the
 * log does start over; after a commit that leaves WAL_PASSIVE_PAGES or
 * more in the log a passive checkpoint runs (as SQLite's would); past
 * WAL_RESTART_PAGES a truncating checkpoint waits up to WAL_RESTART_WAIT_MS
 * in all for readers to move on, so the log restarts from the beginning;
 * closing the store does the same. A checkpoint that cannot finish is
 * not an error: the next commit tries again. Statements are stepped to
 * the end and reset (relm_store_stmt resets a cached one before reuse),
 * so no read snapshot is held between calls to pin the log. */
#define WAL_PASSIVE_PAGES 1000
#define WAL_RESTART_PAGES 4000
#define WAL_RESTART_WAIT_MS 100

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
 * step) until busy_ms have passed, or until the end of a checkpoint's own
 * budget (ckpt_until). */
static int busy_wait(void *arg, int count)
{
    relm_store *s = arg;
    uint64_t now = mono_ms();
    if (count == 0)
        s->busy_since = now;
    if (now - s->busy_since >= (uint64_t)s->busy_ms ||
        (s->ckpt_until != 0 && now >= s->ckpt_until))
        return 0;
    uint64_t jitter = (now * 7919u + (uint64_t)count * 104729u) % 3000000u;
    struct timespec nap = {0, 1000000L + (long)jitter};
    nanosleep(&nap, NULL);
    return 1;
}

/* A truncating checkpoint. It holds the write lock while it waits for
 * readers to leave the log, so all its waits together are bounded by
 * WAL_RESTART_WAIT_MS: writers of other processes wait for it. */
static void checkpoint_truncate(relm_store *s)
{
    s->ckpt_until = mono_ms() + WAL_RESTART_WAIT_MS;
    sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
                              NULL);
    s->ckpt_until = 0;
}

/* sqlite3_wal_hook: runs after every commit, outside the write lock, with
 * the number of pages now in the log. Replaces the automatic checkpoint. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    relm_store *s = arg;
    (void)db;
    (void)name;
    if (pages >= WAL_RESTART_PAGES)
        checkpoint_truncate(s);
    else if (pages >= WAL_PASSIVE_PAGES)
        sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                  NULL, NULL);
    return SQLITE_OK;
}

int relm_store_open(relm_store **out, const char *path,
                    const relm_store_opts *opts, int *created, relm_diag *d)
{
    *out = NULL;
    if (created != NULL)
        *created = 0;
    struct stat stbuf;
    int exists = stat(path, &stbuf) == 0;
    if (exists && S_ISDIR(stbuf.st_mode))
        return relm_diag_set(d, "not_relm_db", "%s: is a directory", path);
    if (!exists && errno != ENOENT)
        return relm_diag_set(d, "io_error", "%s: %s", path, strerror(errno));
    if (!exists && !(opts != NULL && opts->create))
        return relm_diag_set(d, "not_found", "%s: no such database", path);

    relm_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->path = strdup(path)) == NULL) {
        free(s);
        return relm_diag_set(d, "out_of_memory", "out of memory");
    }
    int wal = 0;
    if (exists && check_header(path, &wal, d) != RELM_OK) {
        free(s->path);
        free(s);
        return RELM_ERR;
    }
    s->data_version = -1;
    unsigned had_side = side_files(path);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                (exists ? 0 : SQLITE_OPEN_CREATE);
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        relm_diag_set(d, "io_error", "%s: cannot open: %s", path,
                      s->db ? sqlite3_errmsg(s->db) : "out of memory");
        relm_store_close(s);
        return RELM_ERR;
    }
    if (!exists && created != NULL)
        *created = 1;
    sqlite3_extended_result_codes(s->db, 1);
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
     * and a start that never touches the database does not pay for it. */
    s->pending_pragma = opts != NULL && opts->synchronous_full
                            ? "PRAGMA synchronous = FULL; "
                              "PRAGMA journal_size_limit = 67108864"
                            : "PRAGMA synchronous = NORMAL; "
                              "PRAGMA journal_size_limit = 67108864";
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
    for (size_t i = 0; i < s->nslots; i++) {
        if (s->slots[i].sql == NULL)
            continue;
        sqlite3_finalize(s->slots[i].stmt);
        free(s->slots[i].sql);
    }
    free(s->slots);
    /* Leave the log short for the next process (see WAL size above); a
     * log already short is left alone, so short processes do not wait. */
    int nlog = 0;
    if (s->db != NULL && s->checkpoint_ok && sqlite3_get_autocommit(s->db) &&
        sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                  &nlog, NULL) == SQLITE_OK &&
        nlog >= WAL_PASSIVE_PAGES)
        checkpoint_truncate(s);
    if (s->db != NULL)
        sqlite3_close_v2(s->db);
    free(s->path);
    free(s);
}
