/* test_store_lock.c: a database another process holds locked is reported
 * as busy, never as corrupt, and relm.sql's guard sees every statement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "base/store.h"

static char dir[256];

/* A guard that refuses every pragma and counts what it was asked. */
static int asked;
static int no_pragma(void *ctx, int action, const char *a, const char *b,
                     const char *db, const char *inner)
{
    (void)ctx, (void)a, (void)b, (void)db, (void)inner;
    asked++;
    return action == SQLITE_PRAGMA ? SQLITE_DENY : SQLITE_OK;
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/relm-test-lock.XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/locked.db", dir);
    relm_diag d = {0};
    relm_store *s = NULL;
    relm_store_opts o = {.create = 1, .busy_timeout_ms = 50};
    CHECK(relm_store_open(&s, path, &o, NULL, &d) == RELM_OK);

    /* The guard vets statements prepared while it is set, and only those. */
    relm_store_set_guard(s, no_pragma, NULL, NULL, NULL);
    CHECK(relm_store_stmt(s, "PRAGMA user_version = 7", &d) == NULL);
    CHECK(asked > 0);
    relm_store_set_guard(s, NULL, NULL, NULL, NULL);
    asked = 0;
    CHECK(relm_store_stmt(s, "SELECT 1 FROM users", &d) != NULL);
    CHECK(asked == 0);
    /* One statement per text: what follows the first is refused. */
    CHECK(relm_store_stmt(s, "SELECT 1; SELECT 2", &d) == NULL);
    CHECK(strstr(d.msg, "one statement") != NULL);
    CHECK(relm_store_stmt(s, "SELECT 2; -- done\n", &d) != NULL);
    relm_store_close(s);

    /* Another connection in exclusive locking mode holds the file: an
     * open must say busy and locked, not "not a relm database". */
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA locking_mode = EXCLUSIVE; "
                           "BEGIN IMMEDIATE; COMMIT; "
                           "SELECT count(*) FROM users", NULL, NULL,
                       NULL) == SQLITE_OK);
    s = NULL;
    memset(&d, 0, sizeof d);
    CHECK(relm_store_open(&s, path, &o, NULL, &d) == RELM_ERR);
    CHECK(d.code != NULL && strcmp(d.code, "busy") == 0);
    CHECK(strstr(d.msg, "locked by another process") != NULL);
    CHECK(strstr(d.msg, "corrupt") == NULL);
    if (d.code != NULL && strcmp(d.code, "busy") != 0)
        fprintf(stderr, "got %s: %s\n", d.code, d.msg);
    sqlite3_close(db);
    /* Once the lock is gone the same file opens. */
    CHECK(relm_store_open(&s, path, &o, NULL, &d) == RELM_OK);
    relm_store_close(s);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return CHECK_DONE("test_store_lock");
}
