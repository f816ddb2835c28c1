/* test_store.c: the store seen from C, where Lua cannot reach: migrations,
 * refusing files that are not ours, the statement cache and savepoints. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "base/migrations.h"
#include "base/store.h"

static char dir[256];

/* A path inside this run's scratch directory. Returns a static buffer, so
 * callers copy it when they need two at once. */
static const char *path_of(const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return buf;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The whole content of a file (malloc'd), its length in *len; NULL when it
 * cannot be read. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *grown = realloc(buf, cap *= 2);
            if (grown == NULL)
                free(buf);
            buf = grown;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fwrite(data, 1, len, f);
    fclose(f);
}

/* Run sql on a plain SQLite connection (not the store): how the tests craft
 * files another program or a newer relm would have written. */
static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "raw_exec %s: %s\n", path, sqlite3_errmsg(db));
        exit(2);
    }
    sqlite3_close(db);
}

static int64_t scalar(relm_store *s, const char *sql)
{
    relm_diag d;
    sqlite3_stmt *st = relm_store_stmt(s, sql, &d);
    if (st == NULL) {
        fprintf(stderr, "scalar %s: %s\n", sql, d.msg);
        return -1;
    }
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0)
                                               : -1;
    sqlite3_reset(st);
    return v;
}

static relm_store *open_ok(const char *path, int *created)
{
    relm_diag d;
    relm_store *s = NULL;
    relm_store_opts o = {.create = 1};
    if (relm_store_open(&s, path, &o, created, &d) != RELM_OK)
        fprintf(stderr, "open %s: %s\n", path, d.msg);
    return s;
}

/* Open path expecting a refusal with code; check the file's bytes did not
 * change and that no -wal/-shm/-journal file appeared beside it. */
static void refused_untouched(const char *name, const char *code,
                              const char *in_message)
{
    char path[512], side[600];
    snprintf(path, sizeof path, "%s", path_of(name));
    size_t before_len = 0, after_len = 0;
    char *before = slurp(path, &before_len);
    relm_diag d = {0};
    relm_store *s = NULL;
    int created = 1;
    relm_store_opts o = {.create = 1};
    CHECK(relm_store_open(&s, path, &o, &created, &d) == RELM_ERR);
    CHECK(s == NULL);
    CHECK(created == 0);
    CHECK(d.code != NULL && strcmp(d.code, code) == 0);
    CHECK(strstr(d.msg, in_message) != NULL);
    if (d.code == NULL || strcmp(d.code, code) != 0 ||
        strstr(d.msg, in_message) == NULL)
        fprintf(stderr, "  %s: got %s: %s\n", name, d.code ? d.code : "-",
                d.msg);
    char *after = slurp(path, &after_len);
    CHECK(before != NULL && after != NULL && before_len == after_len &&
          memcmp(before, after, before_len) == 0);
    static const char *suffix[] = {"-wal", "-shm", "-journal"};
    for (int i = 0; i < 3; i++) {
        snprintf(side, sizeof side, "%s%s", path, suffix[i]);
        CHECK(!exists(side));
        if (exists(side))
            fprintf(stderr, "  %s: %s appeared\n", name, side);
    }
    free(before);
    free(after);
}

static void test_fresh_and_migrations(void)
{
    /* The compiled migrations are strictly increasing. */
    CHECK(relm_migration_count > 0);
    for (int i = 1; i < relm_migration_count; i++)
        CHECK(relm_migrations[i].version > relm_migrations[i - 1].version);

    int created = 0;
    relm_store *s = open_ok(path_of("fresh.db"), &created);
    CHECK(s != NULL);
    if (s == NULL)
        return;
    CHECK(created == 1);
    CHECK(scalar(s, "PRAGMA user_version") == relm_store_schema_version());
    CHECK(scalar(s, "PRAGMA application_id") == RELM_APPLICATION_ID);
    CHECK(scalar(s, "SELECT count(*) FROM pragma_journal_mode "
                    "WHERE journal_mode = 'wal'") == 1);
    CHECK(scalar(s, "PRAGMA foreign_keys") == 1);
    CHECK(scalar(s, "PRAGMA synchronous") == 1); /* NORMAL */
    /* A fresh database has the admin account, an administrator. */
    CHECK(scalar(s, "SELECT count(*) FROM users WHERE name = 'admin' "
                    "AND is_admin = 1 AND active = 1") == 1);
    relm_diag d;
    CHECK(relm_store_set_actor(s, "admin", &d) == RELM_OK);
    CHECK(relm_store_actor_id(s) > 0);
    CHECK(strcmp(relm_store_actor_name(s), "admin") == 0);
    CHECK(relm_store_set_actor(s, "nobody", &d) == RELM_ERR);
    CHECK(strcmp(d.code, "unknown_user") == 0);
    CHECK(strstr(d.msg, "nobody") != NULL);
    /* A deferred actor is looked up when first asked for; an unknown one
     * stays 0, which no permission check accepts. */
    relm_store_defer_actor(s, "admin");
    CHECK(strcmp(relm_store_actor_name(s), "admin") == 0);
    CHECK(relm_store_actor_id(s) == scalar(s, "SELECT id FROM users WHERE name = 'admin'"));
    relm_store_defer_actor(s, "nobody");
    CHECK(relm_store_actor_id(s) == 0);
    relm_store_close(s);

    /* Reopening changes nothing: same version, still one admin. */
    s = open_ok(path_of("fresh.db"), &created);
    CHECK(s != NULL);
    if (s == NULL)
        return;
    CHECK(created == 0);
    CHECK(scalar(s, "PRAGMA user_version") == relm_store_schema_version());
    CHECK(scalar(s, "SELECT count(*) FROM users") == 1);
    relm_store_close(s);
}

/* A database left at the first migration by an older relm gets the later
 * ones, in order, each bumping user_version. */
static void test_upgrade_from_first(void)
{
    if (relm_migration_count < 2)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s", path_of("old.db"));
    char sql[256];
    raw_exec(path, relm_migrations[0].sql);
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d; "
             "PRAGMA user_version = %d", RELM_APPLICATION_ID,
             relm_migrations[0].version);
    raw_exec(path, sql);
    int created = 1;
    relm_store *s = open_ok(path, &created);
    CHECK(s != NULL);
    if (s == NULL)
        return;
    CHECK(created == 0);
    CHECK(scalar(s, "PRAGMA user_version") == relm_store_schema_version());
    /* Every table the fresh database has, the upgraded one has too. */
    relm_store *fresh = open_ok(path_of("fresh.db"), NULL);
    CHECK(fresh != NULL);
    if (fresh != NULL) {
        CHECK(scalar(s, "SELECT count(*) FROM sqlite_schema") ==
              scalar(fresh, "SELECT count(*) FROM sqlite_schema"));
        relm_store_close(fresh);
    }
    CHECK(scalar(s, "SELECT count(*) FROM users WHERE name = 'admin'") == 1);
    relm_store_close(s);
}

static void test_refusals(void)
{
    /* A foreign SQLite database, in WAL mode as many programs use. */
    raw_exec(path_of("foreign.db"), "PRAGMA journal_mode = WAL; "
             "CREATE TABLE notes (body TEXT); "
             "INSERT INTO notes VALUES ('keep me')");
    refused_untouched("foreign.db", "not_relm_db", "another program");

    /* A foreign database whose application_id is unset but has tables. */
    raw_exec(path_of("plain.db"), "CREATE TABLE t (x); INSERT INTO t VALUES (1)");
    refused_untouched("plain.db", "not_relm_db", "not a relm database");

    /* Not a database at all, and a file that is too short to be one. */
    static const char text[] = "name,type\nweb01,server\n";
    write_file(path_of("notes.csv"), text, sizeof text - 1);
    refused_untouched("notes.csv", "not_relm_db", "not a relm database");
    write_file(path_of("short.db"), "SQLite format 3", 16);
    refused_untouched("short.db", "not_relm_db", "not a relm database");

    /* Random bytes after a real header: a corrupt relm database. */
    size_t len = 0;
    char *img = slurp(path_of("fresh.db"), &len);
    CHECK(img != NULL && len > 4096);
    if (img != NULL && len > 4096) {
        for (size_t i = 100; i < len; i++)
            img[i] = (char)(i * 7919 % 251);
        write_file(path_of("corrupt.db"), img, len);
        refused_untouched("corrupt.db", "not_relm_db", "corrupt");
    }
    free(img);

    /* Written by a newer relm. */
    char sql[160];
    snprintf(sql, sizeof sql, "CREATE TABLE future (x); "
             "PRAGMA application_id = %d; PRAGMA user_version = 999",
             RELM_APPLICATION_ID);
    raw_exec(path_of("newer.db"), sql);
    refused_untouched("newer.db", "newer_schema", "newer relm");

    /* A missing file is not created when create is off. */
    relm_diag d;
    relm_store *s = NULL;
    relm_store_opts o = {.create = 0};
    CHECK(relm_store_open(&s, path_of("absent.db"), &o, NULL, &d) == RELM_ERR);
    CHECK(strcmp(d.code, "not_found") == 0);
    CHECK(!exists(path_of("absent.db")));

    /* An empty file (touch relm.db) is a fresh database. */
    write_file(path_of("empty.db"), "", 0);
    int created = 1;
    s = open_ok(path_of("empty.db"), &created);
    CHECK(s != NULL);
    CHECK(created == 0);
    if (s != NULL) {
        CHECK(scalar(s, "PRAGMA user_version") == relm_store_schema_version());
        relm_store_close(s);
    }
}

static void test_stmt_cache(void)
{
    relm_store *s = open_ok(path_of("fresh.db"), NULL);
    CHECK(s != NULL);
    if (s == NULL)
        return;
    relm_diag d;
    const char *q = "SELECT name FROM users WHERE id = ?1";
    sqlite3_stmt *a = relm_store_stmt(s, q, &d);
    CHECK(a != NULL);
    if (a == NULL) {
        relm_store_close(s);
        return;
    }
    sqlite3_bind_int(a, 1, 1);
    CHECK(sqlite3_step(a) == SQLITE_ROW);
    /* Asked again mid-step: the same statement comes back reset and
     * unbound, so stepping it finds no row for a NULL id. */
    sqlite3_stmt *b = relm_store_stmt(s, q, &d);
    CHECK(a == b);
    CHECK(sqlite3_step(b) == SQLITE_DONE);
    sqlite3_reset(b);
    /* Many different statements: the cache stays bounded, keeping what
     * is used often and a statement that is mid-step. */
    char sql[64];
    sqlite3_stmt *first = relm_store_stmt(s, "SELECT 0", &d);
    sqlite3_stmt *held = relm_store_stmt(s, "SELECT 1 UNION ALL SELECT 2", &d);
    CHECK(held != NULL && sqlite3_step(held) == SQLITE_ROW);
    int all = 1, kept = 1, most = 0;
    for (int i = 1; i < 3000; i++) {
        snprintf(sql, sizeof sql, "SELECT %d", i);
        all &= relm_store_stmt(s, sql, &d) != NULL;
        if (i % 100 == 0)
            kept &= relm_store_stmt(s, "SELECT 0", &d) == first;
        if (relm_store_cached(s) > most)
            most = relm_store_cached(s);
    }
    CHECK(all);
    CHECK(kept);
    CHECK(most == RELM_STORE_CACHE_MAX);
    /* SQLite's own count of this connection's statements: nothing evicted
     * was left unfinalized. */
    int open = 0;
    for (sqlite3_stmt *p = sqlite3_next_stmt(relm_store_db(s), NULL); p;
         p = sqlite3_next_stmt(relm_store_db(s), p))
        open++;
    CHECK(open == RELM_STORE_CACHE_MAX);
    CHECK(sqlite3_step(held) == SQLITE_ROW);
    CHECK(sqlite3_column_int(held, 0) == 2);
    sqlite3_reset(held);
    /* An evicted statement is prepared again when asked for. */
    sqlite3_stmt *again = relm_store_stmt(s, q, &d);
    CHECK(again != NULL);
    sqlite3_bind_int(again, 1, 1);
    CHECK(again != NULL && sqlite3_step(again) == SQLITE_ROW);
    sqlite3_reset(again);
    /* A bad statement is an error with the SQLite message, not a crash. */
    CHECK(relm_store_stmt(s, "SELEKT 1", &d) == NULL);
    CHECK(strcmp(d.code, "sql_error") == 0);
    CHECK(strstr(d.msg, "syntax error") != NULL);
    relm_store_close(s);
}

/* Step one write with relm_store_step_write; the code it reports ("" for
 * success) and the message in msg. */
static const char *step_code(relm_store *s, const char *sql, char *msg,
                             size_t size)
{
    relm_diag d;
    relm_diag_clear(&d);
    sqlite3_stmt *st = relm_store_stmt(s, sql, &d);
    if (st == NULL) {
        fprintf(stderr, "prepare %s: %s\n", sql, d.msg);
        return "prepare";
    }
    int rc = relm_store_step_write(s, st, &d, "row '%s'", "x");
    snprintf(msg, size, "%s", d.msg);
    return rc == RELM_OK ? "" : d.code;
}

/* Each kind of failed write gets its own code, naming the row: a CHECK
 * failure is not "already exists" (people.c used to say it was). */
static void test_step_write(void)
{
    relm_store *s = open_ok(path_of("step.db"), NULL);
    CHECK(s != NULL);
    if (s == NULL)
        return;
    relm_diag d;
    char msg[1024];
    CHECK(relm_store_exec(s, "CREATE TABLE p (id INTEGER PRIMARY KEY, "
                          "name TEXT NOT NULL UNIQUE, n INTEGER CHECK (n > 0));"
                          "CREATE TABLE c (p_id INTEGER REFERENCES p(id));"
                          "INSERT INTO p VALUES (1, 'a', 1);"
                          "INSERT INTO c VALUES (1)", &d) == RELM_OK);
    CHECK(strcmp(step_code(s, "INSERT INTO p VALUES (2, 'b', 2)", msg,
                           sizeof msg), "") == 0);
    CHECK(strcmp(step_code(s, "INSERT INTO p VALUES (3, 'a', 1)", msg,
                           sizeof msg), "duplicate") == 0);
    CHECK(strcmp(msg, "row 'x' already exists") == 0);
    CHECK(strcmp(step_code(s, "INSERT INTO p VALUES (1, 'z', 1)", msg,
                           sizeof msg), "duplicate") == 0);
    CHECK(strcmp(step_code(s, "INSERT INTO p VALUES (4, 'c', 0)", msg,
                           sizeof msg), "invalid_argument") == 0);
    CHECK(strstr(msg, "row 'x': CHECK constraint failed") == msg);
    CHECK(strcmp(step_code(s, "INSERT INTO p VALUES (5, NULL, 1)", msg,
                           sizeof msg), "invalid_argument") == 0);
    CHECK(strstr(msg, "NOT NULL") != NULL);
    CHECK(strcmp(step_code(s, "INSERT INTO c VALUES (99)", msg, sizeof msg),
                 "not_found") == 0);
    CHECK(strcmp(step_code(s, "DELETE FROM p WHERE id = 1", msg, sizeof msg),
                 "in_use") == 0);
    CHECK(strcmp(msg, "row 'x' is still in use") == 0);
    CHECK(scalar(s, "SELECT count(*) FROM p") == 2);
    /* Another connection holds the write lock: busy, never corrupt. */
    sqlite3 *other = NULL;
    CHECK(sqlite3_open(path_of("step.db"), &other) == SQLITE_OK);
    CHECK(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) ==
          SQLITE_OK);
    sqlite3_busy_timeout(relm_store_db(s), 1);
    CHECK(strcmp(step_code(s, "INSERT INTO p VALUES (6, 'f', 1)", msg,
                           sizeof msg), "busy") == 0);
    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(other);
    relm_store_close(s);
}

static int64_t count_setting(relm_store *s, const char *key)
{
    relm_diag d;
    sqlite3_stmt *st =
        relm_store_stmt(s, "SELECT count(*) FROM settings WHERE key = ?1", &d);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0)
                                               : -1;
    sqlite3_reset(st);
    return n;
}

static int put_setting(relm_store *s, const char *key)
{
    relm_diag d;
    sqlite3_stmt *st = relm_store_stmt(
        s, "INSERT INTO settings (key, value) VALUES (?1, 'v')", &d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? RELM_OK : RELM_ERR;
}

static void test_transactions(void)
{
    relm_store *s = open_ok(path_of("fresh.db"), NULL);
    CHECK(s != NULL);
    if (s == NULL)
        return;
    relm_diag d;
    CHECK(relm_store_depth(s) == 0);
    CHECK(relm_store_begin(s, &d) == RELM_OK);
    CHECK(put_setting(s, "outer") == RELM_OK);
    CHECK(relm_store_begin(s, &d) == RELM_OK);
    CHECK(relm_store_depth(s) == 2);
    CHECK(put_setting(s, "inner") == RELM_OK);
    CHECK(count_setting(s, "inner") == 1);
    relm_store_rollback(s); /* the savepoint only */
    CHECK(relm_store_depth(s) == 1);
    CHECK(count_setting(s, "inner") == 0);
    CHECK(count_setting(s, "outer") == 1);
    CHECK(relm_store_begin(s, &d) == RELM_OK);
    CHECK(put_setting(s, "kept") == RELM_OK);
    CHECK(relm_store_commit(s, &d) == RELM_OK); /* releases the savepoint */
    CHECK(relm_store_commit(s, &d) == RELM_OK);
    CHECK(relm_store_depth(s) == 0);
    CHECK(relm_store_commit(s, &d) == RELM_ERR); /* nothing open */

    /* relm_store_end: a primitive's last line commits on RELM_OK and rolls
     * back on RELM_ERR. */
    CHECK(relm_store_begin(s, &d) == RELM_OK);
    CHECK(put_setting(s, "ended") == RELM_OK);
    CHECK(relm_store_end(s, RELM_OK, &d) == RELM_OK);
    CHECK(relm_store_begin(s, &d) == RELM_OK);
    CHECK(put_setting(s, "refused") == RELM_OK);
    CHECK(relm_store_end(s, RELM_ERR, &d) == RELM_ERR);
    CHECK(relm_store_depth(s) == 0);
    CHECK(count_setting(s, "ended") == 1);
    CHECK(count_setting(s, "refused") == 0);

    /* An outer rollback undoes what a released savepoint wrote. */
    CHECK(relm_store_begin(s, &d) == RELM_OK);
    CHECK(relm_store_begin(s, &d) == RELM_OK);
    CHECK(put_setting(s, "lost") == RELM_OK);
    CHECK(relm_store_commit(s, &d) == RELM_OK);
    relm_store_rollback(s);
    relm_store_close(s);

    /* What was committed is on disk for the next connection. */
    s = open_ok(path_of("fresh.db"), NULL);
    CHECK(s != NULL);
    if (s == NULL)
        return;
    CHECK(count_setting(s, "outer") == 1);
    CHECK(count_setting(s, "kept") == 1);
    CHECK(count_setting(s, "inner") == 0);
    CHECK(count_setting(s, "lost") == 0);
    relm_store_close(s);
}

static void test_synchronous_full(void)
{
    relm_diag d;
    relm_store *s = NULL;
    relm_store_opts o = {.synchronous_full = 1};
    CHECK(relm_store_open(&s, path_of("fresh.db"), &o, NULL, &d) == RELM_OK);
    if (s == NULL)
        return;
    CHECK(scalar(s, "PRAGMA synchronous") == 2); /* FULL */
    relm_store_close(s);

    /* The setting is deferred to the first statement; when that statement
     * comes inside a read transaction begun on the handle (as the impact
     * graph does), it must wait rather than fail, and still hold for the
     * writes after. */
    s = NULL;
    CHECK(relm_store_open(&s, path_of("fresh.db"), &o, NULL, &d) == RELM_OK);
    if (s == NULL)
        return;
    sqlite3 *db = relm_store_db(s);
    CHECK(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(scalar(s, "SELECT count(*) FROM users") >= 1);
    CHECK(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(relm_store_begin(s, &d) == RELM_OK);
    CHECK(relm_store_commit(s, &d) == RELM_OK);
    CHECK(scalar(s, "PRAGMA synchronous") == 2);
    relm_store_close(s);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Commit about 1,500 pages (6 MB) in one transaction. */
static int write_pages(relm_store *s, const char *prefix)
{
    relm_diag d;
    char sql[400];
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n "
             "WHERE x < 1500) INSERT INTO settings (key, value) SELECT "
             "'%s' || x, replace(hex(zeroblob(2000)), '0', 'x') FROM n",
             prefix);
    if (relm_store_begin(s, &d) != RELM_OK)
        return RELM_ERR;
    return relm_store_end(s, relm_store_exec(s, sql, &d), &d);
}

/* The write-ahead log does not keep what it no longer needs: once a
 * commit leaves nothing a reader still uses, the log starts over (the
 * next commit writes the -wal file from its start, so the same amount of
 * writing again does not make it grow) instead of waiting to reach 16 MB;
 * while another connection reads, the commit still succeeds and the log
 * waits for it. */
static void test_wal_restarts(void)
{
    char path[512], wal[520];
    snprintf(path, sizeof path, "%s", path_of("wal.db"));
    snprintf(wal, sizeof wal, "%s-wal", path);
    relm_store *s = open_ok(path, NULL);
    if (s == NULL)
        return;
    CHECK(write_pages(s, "a") == RELM_OK);
    long once = file_size(wal);
    CHECK(once > 0);
    CHECK(write_pages(s, "d") == RELM_OK);
    CHECK(file_size(wal) < once + once / 2); /* not appended: started over */

    /* A reader in another connection holds a snapshot from the log. */
    relm_store *r = open_ok(path, NULL);
    if (r == NULL) {
        relm_store_close(s);
        return;
    }
    CHECK(write_pages(s, "b") == RELM_OK);
    sqlite3 *rdb = relm_store_db(r);
    CHECK(sqlite3_exec(rdb, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(scalar(r, "SELECT count(*) FROM settings WHERE key LIKE 'b%'") ==
          1500);
    CHECK(write_pages(s, "c") == RELM_OK);
    CHECK(scalar(r, "SELECT count(*) FROM settings WHERE key LIKE 'c%'") ==
          0);
    CHECK(sqlite3_exec(rdb, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    relm_store_close(r);
    CHECK(scalar(s, "SELECT count(*) FROM settings WHERE key LIKE 'c%'") ==
          1500);
    relm_store_close(s);
    CHECK(file_size(wal) <= 0); /* emptied, or removed with the last close */
}

/* A deferred user that does not exist (the default admin, deactivated)
 * costs nothing until a write, and then refuses it: no row is written in
 * the name of nobody. */
static void test_deferred_actor(void)
{
    relm_diag d;
    relm_store *s = open_ok(path_of("fresh.db"), NULL);
    if (s == NULL)
        return;
    relm_store_defer_actor(s, "ghost");
    CHECK(relm_store_actor_id(s) == 0);
    CHECK(relm_store_begin(s, &d) == RELM_ERR);
    CHECK(strcmp(d.code, "unknown_user") == 0);
    CHECK(strstr(d.msg, "'ghost'") != NULL);
    CHECK(relm_store_depth(s) == 0);
    CHECK(relm_store_begin(s, &d) == RELM_ERR); /* still refused */
    relm_store_defer_actor(s, "admin");
    CHECK(relm_store_begin(s, &d) == RELM_OK);
    CHECK(relm_store_actor_id(s) > 0);
    CHECK(relm_store_commit(s, &d) == RELM_OK);
    relm_store_close(s);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/relm-test-store.XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    test_fresh_and_migrations();
    test_upgrade_from_first();
    test_refusals();
    test_stmt_cache();
    test_step_write();
    test_transactions();
    test_synchronous_full();
    test_deferred_actor();
    test_wal_restarts();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return CHECK_DONE("test_store");
}
