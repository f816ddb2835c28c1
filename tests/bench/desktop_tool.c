/* desktop_tool.c: the desktop benchmark's C half: fill a relm database with
 * 100,000 releases and 500,000 activities in bulk, and the bare baseline.
 *
 *   desktop_tool gen DB                  groups, users, releases, shares,
 *                                        activities (INSERT ... SELECT)
 *   desktop_tool query DB USER REPS F..  run the SQL files F (the desktop's
 *                                        own queries, bound ?1 = user id,
 *                                        ?2 = NULL) and read every column
 *
 * The database must already carry relm's schema (relm -e 'return 1').
 * Timings are CPU seconds (clock()), like os.clock() on the Lua side. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 50 groups; 2,000 users, each in 3 groups; 100,000 releases (10% open,
 * 2% suspended, 3% cancelled, the rest closed) spread over the groups;
 * 5,000 shares; 5 activities per release, open ones only on open or
 * suspended releases. Deadlines of open releases straddle "now" (the
 * generation time) so that some are late. */
static const char *const GEN[] = {
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = OFF",
    "BEGIN",
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) "
    "INSERT INTO groups (name) SELECT printf('g%02d', i) FROM n",
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
    "INSERT INTO users (name, full_name, unit) SELECT printf('u%04d', i), "
    "printf('User %d', i), printf('unit-%d', i % 20) FROM n",
    /* Group ids 2..51 (1 is administrators); user ids 2..2001 (1 is admin). */
    "INSERT OR IGNORE INTO memberships (user_id, group_id) "
    "SELECT id, 2 + (id % 50) FROM users WHERE id > 1 UNION ALL "
    "SELECT id, 2 + ((id * 7 + 1) % 50) FROM users WHERE id > 1 UNION ALL "
    "SELECT id, 2 + ((id * 13 + 3) % 50) FROM users WHERE id > 1",
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) "
    "INSERT INTO releases (number, title, description, requester_id, contact_unit, "
    "workflow, contract, executor_group_id, current_group_id, responsible_id, "
    "impact, urgency, priority, status, state, phase, sla_seconds, deadline, "
    "remaining_seconds, created_at, updated_at, closed_at) "
    "SELECT printf('REL-2025-%06d', i), printf('Release %d of service %d', i, i % 997), "
    "'Generated for the desktop benchmark', 2 + (i * 11 % 2000), "
    "printf('unit-%d', i % 20), 'standard', printf('C-%d', i % 300), "
    "2 + (i % 50), 2 + (i % 50), CASE WHEN i % 2 = 0 THEN 2 + (i * 37 % 2000) END, "
    "'medium', 'medium', 1 + (i % 5), "
    "CASE WHEN i % 100 < 10 THEN 'open' WHEN i % 100 < 12 THEN 'suspended' "
    "WHEN i % 100 < 15 THEN 'cancelled' ELSE 'closed' END, "
    "CASE WHEN i % 100 < 12 THEN 'execution' ELSE 'closed' END, "
    "CASE WHEN i % 100 < 12 THEN 'deployment' ELSE 'closure' END, 86400, "
    "CASE WHEN i % 100 < 10 THEN strftime('%Y-%m-%dT%H:%M:%SZ', 'now', "
    "((i * 7919) % 1440 - 480) || ' minutes') END, "
    "CASE WHEN i % 100 BETWEEN 10 AND 11 THEN (i % 7) * 3600 - 7200 END, "
    "strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || (i % 700) || ' days'), "
    "strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), "
    "CASE WHEN i % 100 >= 12 THEN strftime('%Y-%m-%dT%H:%M:%SZ', 'now', "
    "'-' || (i % 600) || ' days') END FROM n",
    "INSERT OR IGNORE INTO release_shares (release_id, group_id, user_id, note, "
    "created_at) SELECT id * 20, CASE WHEN id % 2 = 0 THEN 2 + (id * 3 % 50) END, "
    "CASE WHEN id % 2 = 1 THEN 2 + (id * 17 % 2000) END, 'generated', "
    "strftime('%Y-%m-%dT%H:%M:%SZ', 'now') FROM releases WHERE id <= 5000",
    "WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < 5) "
    "INSERT INTO activities (release_id, phase, title, status, position, "
    "owner_group_id, owner_user_id, scheduled_at, estimated_minutes, "
    "created_at, updated_at) "
    "SELECT r.id, CASE WHEN k.j <= 2 THEN 'planning' ELSE 'deployment' END, "
    "printf('Step %d of %s', k.j, r.number), "
    "CASE WHEN r.status IN ('open', 'suspended') THEN "
    "  CASE WHEN k.j <= 2 THEN 'done' WHEN k.j = 3 THEN 'in_progress' ELSE 'todo' END "
    "  WHEN r.status = 'cancelled' THEN 'cancelled' ELSE 'done' END, k.j, "
    "2 + ((r.id + k.j) % 50), CASE WHEN k.j = 5 THEN 2 + (r.id * 29 % 2000) END, "
    "CASE WHEN k.j >= 3 THEN strftime('%Y-%m-%dT%H:%M', 'now', "
    "((r.id * 31 + k.j * 97) % 2880 - 1440) || ' minutes') END, 60, "
    "r.created_at, r.created_at FROM releases r CROSS JOIN k",
    "COMMIT",
    "ANALYZE",
    NULL,
};

static double now(void)
{
    return (double)clock() / CLOCKS_PER_SEC;
}

static int fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    return 1;
}

static int gen(const char *path)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return fail(db, path);
    for (int i = 0; GEN[i] != NULL; i++)
        if (sqlite3_exec(db, GEN[i], NULL, NULL, NULL) != SQLITE_OK)
            return fail(db, GEN[i]);
    sqlite3_close(db);
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s != NULL && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s != NULL)
        s[n] = '\0';
    fclose(f);
    return s;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Run the statements (prepared once) for user name, reps times, reading
 * every column of every row; print "bare MIN MEDIAN ROWS". */
static int query(const char *path, const char *user, int reps, char **files,
                 int nfiles)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return fail(db, path);
    sqlite3_stmt *u;
    if (sqlite3_prepare_v2(db, "SELECT id FROM users WHERE name = ?1", -1, &u,
                           NULL) != SQLITE_OK)
        return fail(db, "user");
    sqlite3_bind_text(u, 1, user, -1, SQLITE_STATIC);
    if (sqlite3_step(u) != SQLITE_ROW)
        return fail(db, "no such user");
    sqlite3_int64 uid = sqlite3_column_int64(u, 0);
    sqlite3_finalize(u);
    sqlite3_stmt *st[8];
    for (int i = 0; i < nfiles && i < 8; i++) {
        char *sql = slurp(files[i]);
        if (sql == NULL || sqlite3_prepare_v2(db, sql, -1, &st[i], NULL) !=
                               SQLITE_OK)
            return fail(db, files[i]);
        free(sql);
    }
    double *t = calloc((size_t)reps, sizeof *t);
    long rows = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        rows = 0;
        for (int i = 0; i < nfiles && i < 8; i++) {
            sqlite3_bind_int64(st[i], 1, uid);
            sqlite3_bind_null(st[i], 2);
            while (sqlite3_step(st[i]) == SQLITE_ROW) {
                int nc = sqlite3_column_count(st[i]);
                for (int c = 0; c < nc; c++)
                    (void)sqlite3_column_text(st[i], c);
                rows++;
            }
            sqlite3_reset(st[i]);
        }
        t[r] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp);
    printf("bare %.6f %.6f %ld\n", t[0], t[(reps - 1) / 2], rows);
    free(t);
    for (int i = 0; i < nfiles && i < 8; i++)
        sqlite3_finalize(st[i]);
    sqlite3_close(db);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "gen") == 0)
        return gen(argv[2]);
    if (argc >= 6 && strcmp(argv[1], "query") == 0)
        return query(argv[2], argv[3], atoi(argv[4]), argv + 5, argc - 5);
    fprintf(stderr, "usage: desktop_tool gen DB | query DB USER REPS SQL...\n");
    return 2;
}
