/* test_store_queue.c: writers take turns (the writer queue of base/store.c):
 * a slowed writer among busy ones still gets its turns, a dead one holds
 * nobody up, and without the queue file writers work as before. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "base/store.h"

static char path[512];

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static relm_store *open_store(int busy_ms)
{
    relm_diag d = {0};
    relm_store *s = NULL;
    relm_store_opts o = {.busy_timeout_ms = busy_ms};
    if (relm_store_open(&s, path, &o, NULL, &d) != RELM_OK) {
        fprintf(stderr, "open: %s: %s\n", d.code, d.msg);
        _exit(3);
    }
    return s;
}

/* One increment of the counter in its own transaction, the lock held for
 * hold_ms. 0 when done, else prints why. */
static int increment(relm_store *s, long hold_ms, const char *who)
{
    relm_diag d = {0};
    if (relm_store_begin(s, &d) != RELM_OK) {
        fprintf(stderr, "%s: begin: %s: %s\n", who, d.code, d.msg);
        return 1;
    }
    int rc = relm_store_exec(s, "UPDATE ctr SET n = n + 1", &d);
    if (hold_ms > 0)
        nap_ms(hold_ms);
    if (relm_store_end(s, rc, &d) != RELM_OK) {
        fprintf(stderr, "%s: %s: %s\n", who, d.code, d.msg);
        return 1;
    }
    return 0;
}

static long counter(void)
{
    relm_store *s = open_store(5000);
    relm_diag d = {0};
    sqlite3_stmt *st = relm_store_stmt(s, "SELECT n FROM ctr", &d);
    long n = st != NULL && relm_store_step_row(s, st, &d, "ctr") == RELM_OK
                 ? (long)sqlite3_column_int64(st, 0) : -1;
    if (st != NULL)
        sqlite3_reset(st);
    relm_store_close(s);
    return n;
}

/* A child that increments until killed, taking the lock again as soon as
 * it let it go (the pattern that starved others without the queue). */
static pid_t hammer(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        relm_store *s = open_store(5000);
        for (;;)
            if (increment(s, 2, "hammer") != 0)
                _exit(1);
    }
    return pid;
}

/* Four hammering writers and a niced one with a short budget (300 ms):
 * without turns it loses race after race and fails with busy; with them
 * it waits for at most the four transactions ahead of it. */
static void test_slowed_writer_gets_turns(void)
{
    pid_t h[4];
    for (int i = 0; i < 4; i++)
        h[i] = hammer();
    nap_ms(100);
    pid_t slow = fork();
    if (slow == 0) {
        if (setpriority(PRIO_PROCESS, 0, 19) != 0)
            perror("setpriority");
        relm_store *s = open_store(300);
        for (int i = 0; i < 200; i++)
            if (increment(s, 0, "niced writer") != 0) {
                fprintf(stderr, "niced writer: failed at increment %d\n", i);
                _exit(1);
            }
        relm_store_close(s);
        _exit(0);
    }
    int status = -1;
    waitpid(slow, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (int i = 0; i < 4; i++) {
        kill(h[i], SIGKILL);
        waitpid(h[i], NULL, 0);
    }
}

/* A writer killed -9 in its transaction (and not yet reaped: a zombie,
 * which kill(pid, 0) still finds) holds nobody up: the next writer, with
 * a 1 s budget, gets the turn and the lock. */
static void test_killed_holder(void)
{
    long before = counter();
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t victim = fork();
    if (victim == 0) {
        relm_store *s = open_store(5000);
        relm_diag d = {0};
        if (relm_store_begin(s, &d) != RELM_OK ||
            relm_store_exec(s, "UPDATE ctr SET n = n + 1000", &d) != RELM_OK)
            _exit(1);
        if (write(fds[1], "x", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    char c;
    CHECK(read(fds[0], &c, 1) == 1);
    kill(victim, SIGKILL);
    nap_ms(50); /* dead by now, still unreaped */
    pid_t next = fork();
    if (next == 0) {
        relm_store *s = open_store(1000);
        _exit(increment(s, 0, "writer after a killed one"));
    }
    int status = -1;
    waitpid(next, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    waitpid(victim, NULL, 0);
    close(fds[0]);
    close(fds[1]);
    CHECK(counter() == before + 1); /* the killed one's write is gone */
}

/* A queue left behind by processes that died with tickets (turns nobody
 * claims) is skipped. */
static void test_stale_queue(void)
{
    relm_store *s = open_store(1000);
    CHECK(increment(s, 0, "first writer") == 0); /* maps DB-wq */
    /* Hand out tickets that nobody will use: they stay unclaimed. */
    char wq[600];
    snprintf(wq, sizeof wq, "%s-wq", path);
    FILE *f = fopen(wq, "r+b");
    CHECK(f != NULL);
    if (f != NULL) {
        unsigned char b[8];
        CHECK(fread(b, 1, 8, f) == 8);
        unsigned next = b[0] | b[1] << 8 | (unsigned)b[2] << 16 |
                        (unsigned)b[3] << 24;
        next += 2;
        for (int i = 0; i < 4; i++)
            b[i] = (unsigned char)(next >> (8 * i));
        fseek(f, 0, SEEK_SET);
        CHECK(fwrite(b, 1, 4, f) == 4);
        fclose(f);
    }
    long before = counter();
    CHECK(increment(s, 0, "writer behind stale tickets") == 0);
    CHECK(counter() == before + 1);
    relm_store_close(s);
}

/* Nothing to map (DB-wq is a directory here, as when the database's
 * directory may not be written): writers go straight to SQLite's lock,
 * and a lock held past the budget is still reported as busy. */
static void test_no_queue_file(void)
{
    char wq[600];
    snprintf(wq, sizeof wq, "%s-wq", path);
    unlink(wq);
    CHECK(mkdir(wq, 0755) == 0);
    long before = counter();
    relm_store *s = open_store(100);
    CHECK(increment(s, 0, "writer without a queue") == 0);
    CHECK(counter() == before + 1);

    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    relm_diag d = {0};
    CHECK(relm_store_begin(s, &d) == RELM_ERR);
    CHECK(d.code != NULL && strcmp(d.code, "busy") == 0);
    CHECK(strstr(d.msg, "locked by another process") != NULL);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    relm_store_close(s);
    rmdir(wq);
}

/* The last store to close removes DB-wq, as SQLite removes DB-shm; one
 * that another store still maps stays. */
static void test_last_close_removes(void)
{
    char wq[600];
    snprintf(wq, sizeof wq, "%s-wq", path);
    struct stat st;
    relm_store *a = open_store(1000), *b = open_store(1000);
    CHECK(increment(a, 0, "a") == 0 && increment(b, 0, "b") == 0);
    CHECK(stat(wq, &st) == 0);
    relm_store_close(a);
    CHECK(stat(wq, &st) == 0);
    CHECK(increment(b, 0, "b again") == 0);
    relm_store_close(b);
    CHECK(stat(wq, &st) != 0);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[256];
    snprintf(dir, sizeof dir, "%s/relm-test-queue.XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(path, sizeof path, "%s/queue.db", dir);
    relm_diag d = {0};
    relm_store *s = NULL;
    relm_store_opts o = {.create = 1};
    CHECK(relm_store_open(&s, path, &o, NULL, &d) == RELM_OK);
    CHECK(relm_store_exec(s, "CREATE TABLE ctr(n INTEGER NOT NULL); "
                             "INSERT INTO ctr VALUES (0)", &d) == RELM_OK);
    relm_store_close(s);

    test_slowed_writer_gets_turns();
    test_killed_holder();
    test_stale_queue();
    test_no_queue_file();
    test_last_close_removes();

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return CHECK_DONE("test_store_queue");
}
