/* cmdb_tool.c: the CMDB benchmarks' C half: generate the synthetic 1M-CI
 * CMDB as CSV, and the bare baselines (SQLite insert loop, CSR + BFS).
 *
 *   cmdb_tool gen DIR [DIV]           DIR/cis.csv, DIR/rels.csv (every tier
 *                                     divided by DIV: 10 = 100k CIs)
 *   cmdb_tool servers FILE N          N servers, 11 columns (4 attributes)
 *   cmdb_tool import DB CIS RELS      tuned prepared-statement loop, one tx
 *   cmdb_tool impact DB NAME REPS     bare adjacency build + BFS "up"
 *   cmdb_tool names DB                the alternative to fetching names per
 *                                     result: an id -> name array of every CI
 *
 * Timings are CPU seconds (clock()), like os.clock() on the Lua side. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Tiers: 1 root (shared infrastructure: everything depends on it through
 * the clusters), 1,000 clusters, 10,000 services, 90,000 apps, 200,000
 * servers, 698,999 components = 1,000,000 CIs. Relationships: cluster
 * depends_on root (1,000), server runs_on cluster (200,000), service
 * depends_on app (90,000), app runs_on 2 servers (180,000), app depends_on
 * app (28,000, with cycles), component part_of server (698,999) =
 * 1,197,999. */
static int N_CLUSTER = 1000, N_SERVICE = 10000, N_APP = 90000,
           N_SERVER = 200000, N_COMPONENT = 698999, N_APPDEP = 28000;

static uint64_t rng = 88172645463325252ull;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static double now(void)
{
    return (double)clock() / CLOCKS_PER_SEC;
}

static int gen(const char *dir, int div)
{
    N_CLUSTER /= div;
    N_SERVICE /= div;
    N_APP /= div;
    N_SERVER /= div;
    N_COMPONENT = (N_COMPONENT + 1) / div - 1;
    N_APPDEP /= div;
    char path[4096];
    snprintf(path, sizeof path, "%s/cis.csv", dir);
    FILE *c = fopen(path, "w");
    snprintf(path, sizeof path, "%s/rels.csv", dir);
    FILE *r = fopen(path, "w");
    if (c == NULL || r == NULL) {
        perror(dir);
        return 1;
    }
    long ncis = 0, nrels = 0;
    fputs("name,type\n", c);
    fputs("from,kind,to\n", r);
    fputs("root,network\n", c);
    ncis++;
    for (int i = 0; i < N_CLUSTER; i++, ncis++) {
        fprintf(c, "cluster-%04d,cluster\n", i);
        fprintf(r, "cluster-%04d,depends_on,root\n", i);
        nrels++;
    }
    for (int i = 0; i < N_SERVICE; i++, ncis++)
        fprintf(c, "svc-%05d,service\n", i);
    for (int i = 0; i < N_SERVER; i++, ncis++) {
        fprintf(c, "srv-%06d,server\n", i);
        fprintf(r, "srv-%06d,runs_on,cluster-%04d\n", i, i % N_CLUSTER);
        nrels++;
    }
    for (int i = 0; i < N_APP; i++, ncis++) {
        fprintf(c, "app-%05d,app\n", i);
        fprintf(r, "svc-%05d,depends_on,app-%05d\n", i % N_SERVICE, i);
        int s1 = (int)(next_rand() % N_SERVER);
        int s2 = (s1 + 1 + (int)(next_rand() % (N_SERVER - 1))) % N_SERVER;
        fprintf(r, "app-%05d,runs_on,srv-%06d\n", i, s1);
        fprintf(r, "app-%05d,runs_on,srv-%06d\n", i, s2);
        nrels += 3;
    }
    for (int i = 0; i < N_APPDEP; i++) {
        int k = (int)(((long)i * 7919 + 13) % N_APP);
        if (k == i)
            k = (k + 1) % N_APP;
        fprintf(r, "app-%05d,depends_on,app-%05d\n", i, k);
        nrels++;
    }
    for (int i = 0; i < N_COMPONENT; i++, ncis++) {
        fprintf(c, "comp-%06d,component\n", i);
        fprintf(r, "comp-%06d,part_of,srv-%06d\n", i, i % N_SERVER);
        nrels++;
    }
    fclose(c);
    fclose(r);
    printf("%ld cis, %ld relationships\n", ncis, nrels);
    return ncis == 1000000 / div && nrels == 1198000 / div - 1 ? 0 : 1;
}

/* N servers with the 7 standard columns relm knows and 4 attributes of the
 * type `server` (os, cpu, ram_gb, ip): the file both relm.cmdb.import and
 * the sqlite3 shell's .import read. */
static int servers(const char *path, long n)
{
    static const char *const os[] = {"linux", "bsd", "windows"};
    static const char *const crit[] = {"low", "medium", "high", "critical"};
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    fputs("name,type,status,version,serial,criticality,location,os,cpu,"
          "ram_gb,ip\n", f);
    for (long i = 0; i < n; i++) {
        uint32_t r = next_rand();
        fprintf(f, "srv-%07ld,server,active,%u.%u,SN%08lX,%s,dc%u-rack%02u,%s,"
                   "%u,%u,10.%u.%u.%u\n", i, r % 5, r % 17, (unsigned long)i * 2654435761ul % 0xffffffff,
                crit[r % 4], r % 3, r % 40, os[r % 3], 1u << (r % 6),
                4u << (r % 7), (unsigned)(i >> 16) & 255, (unsigned)(i >> 8) & 255,
                (unsigned)i & 255);
    }
    return fclose(f) == 0 ? 0 : 1;
}

static int fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    return 1;
}

/* Split a generated CSV line (no quoting) into up to 3 fields in place. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == ',') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

/* The tuned loop, as a skilled engineer writes it: one transaction,
 * prepared INSERTs, a 256 MB page cache, the relationship indexes dropped
 * for the load and built once after it; names resolved with a prepared
 * SELECT per endpoint (through cis_name), types and kinds looked up once.
 * The database already has relm's schema and the CI types. */
static int import(const char *dbpath, const char *cis, const char *rels)
{
    sqlite3 *db;
    double t0 = now();
    if (sqlite3_open(dbpath, &db) != SQLITE_OK)
        return fail(db, dbpath);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                     "PRAGMA foreign_keys=ON; PRAGMA cache_size=-262144",
                 NULL, NULL, NULL);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, "begin");
    if (sqlite3_exec(db, "DROP INDEX relationships_edge; "
                         "DROP INDEX relationships_to", NULL, NULL, NULL))
        return fail(db, "drop index");
    sqlite3_stmt *type, *ins, *kind, *find, *rel;
    if (sqlite3_prepare_v2(db, "SELECT id FROM ci_types WHERE name = ?1", -1, &type, NULL) ||
        sqlite3_prepare_v2(db, "INSERT INTO cis (name, type_id) VALUES (?1, ?2)", -1, &ins, NULL) ||
        sqlite3_prepare_v2(db, "SELECT id FROM rel_types WHERE name = ?1", -1, &kind, NULL) ||
        sqlite3_prepare_v2(db, "SELECT id FROM cis WHERE name = ?1", -1, &find, NULL) ||
        sqlite3_prepare_v2(db, "INSERT INTO relationships (from_id, kind_id, to_id) "
                               "VALUES (?1, ?2, ?3)", -1, &rel, NULL))
        return fail(db, "prepare");
    char line[512], last_type[64] = "", last_kind[64] = "";
    int64_t type_id = 0, kind_id = 0;
    char *f[3];
    FILE *in = fopen(cis, "r");
    if (in == NULL || fgets(line, sizeof line, in) == NULL)
        return fail(db, cis);
    long n = 0;
    while (fgets(line, sizeof line, in)) {
        if (split(line, f, 2) != 2)
            continue;
        if (strcmp(f[1], last_type) != 0) {
            sqlite3_bind_text(type, 1, f[1], -1, SQLITE_STATIC);
            type_id = sqlite3_step(type) == SQLITE_ROW ? sqlite3_column_int64(type, 0) : 0;
            sqlite3_reset(type);
            snprintf(last_type, sizeof last_type, "%s", f[1]);
        }
        sqlite3_bind_text(ins, 1, f[0], -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 2, type_id);
        if (sqlite3_step(ins) != SQLITE_DONE)
            return fail(db, "insert ci");
        sqlite3_reset(ins);
        n++;
    }
    fclose(in);
    in = fopen(rels, "r");
    if (in == NULL || fgets(line, sizeof line, in) == NULL)
        return fail(db, rels);
    long m = 0;
    while (fgets(line, sizeof line, in)) {
        if (split(line, f, 3) != 3)
            continue;
        if (strcmp(f[1], last_kind) != 0) {
            sqlite3_bind_text(kind, 1, f[1], -1, SQLITE_STATIC);
            kind_id = sqlite3_step(kind) == SQLITE_ROW ? sqlite3_column_int64(kind, 0) : 0;
            sqlite3_reset(kind);
            snprintf(last_kind, sizeof last_kind, "%s", f[1]);
        }
        int64_t ends[2];
        for (int e = 0; e < 2; e++) {
            sqlite3_bind_text(find, 1, f[e * 2], -1, SQLITE_STATIC);
            ends[e] = sqlite3_step(find) == SQLITE_ROW ? sqlite3_column_int64(find, 0) : 0;
            sqlite3_reset(find);
        }
        sqlite3_bind_int64(rel, 1, ends[0]);
        sqlite3_bind_int64(rel, 2, kind_id);
        sqlite3_bind_int64(rel, 3, ends[1]);
        if (sqlite3_step(rel) != SQLITE_DONE)
            return fail(db, "insert relationship");
        sqlite3_reset(rel);
        m++;
    }
    fclose(in);
    if (sqlite3_exec(db, "CREATE UNIQUE INDEX relationships_edge ON "
                         "relationships(from_id, kind_id, to_id); "
                         "CREATE INDEX relationships_to ON relationships(to_id)",
                     NULL, NULL, NULL))
        return fail(db, "create index");
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, "commit");
    sqlite3_finalize(type);
    sqlite3_finalize(ins);
    sqlite3_finalize(kind);
    sqlite3_finalize(find);
    sqlite3_finalize(rel);
    sqlite3_close(db);
    printf("imported %ld cis %ld relationships cpu %.3f\n", n, m, now() - t0);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The bare baseline for "up": read (from, to) once, CSR by `to` (the
 * dependants of each CI), BFS with a visited array. Every kind in the
 * generated data flows forward, so kinds are not consulted. */
static int impact(const char *dbpath, const char *name, int reps)
{
    sqlite3 *db;
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return fail(db, dbpath);
    sqlite3_stmt *st;
    int64_t origin = 0, maxid = 0;
    sqlite3_prepare_v2(db, "SELECT id FROM cis WHERE name = ?1", -1, &st, NULL);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        origin = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);

    double t0 = now();
    sqlite3_prepare_v2(db, "SELECT max(id) FROM cis", -1, &st, NULL);
    if (sqlite3_step(st) == SQLITE_ROW)
        maxid = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    size_t nn = (size_t)maxid + 1, cap = 1 << 20, m = 0;
    uint32_t *from = malloc(cap * 4), *to = malloc(cap * 4);
    sqlite3_prepare_v2(db, "SELECT from_id, to_id FROM relationships", -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (m == cap) {
            cap *= 2;
            from = realloc(from, cap * 4);
            to = realloc(to, cap * 4);
        }
        from[m] = (uint32_t)sqlite3_column_int64(st, 0);
        to[m] = (uint32_t)sqlite3_column_int64(st, 1);
        m++;
    }
    sqlite3_finalize(st);
    uint32_t *off = calloc(nn + 1, 4), *adj = malloc(m * 4);
    for (size_t i = 0; i < m; i++)
        off[to[i] + 1]++;
    for (size_t i = 0; i < nn; i++)
        off[i + 1] += off[i];
    for (size_t i = 0; i < m; i++)
        adj[off[to[i]]++] = from[i];
    for (size_t i = nn; i > 0; i--)
        off[i] = off[i - 1];
    off[0] = 0;
    free(from);
    free(to);
    double build = now() - t0;

    uint8_t *seen = malloc(nn);
    uint32_t *queue = malloc(nn * 4);
    double *t = malloc((size_t)reps * sizeof *t);
    size_t reached = 0;
    for (int r = 0; r < reps; r++) {
        double b0 = now();
        memset(seen, 0, nn);
        size_t head = 0, tail = 0;
        queue[tail++] = (uint32_t)origin;
        seen[origin] = 1;
        while (head < tail) {
            uint32_t u = queue[head++];
            for (uint32_t e = off[u]; e < off[u + 1]; e++) {
                uint32_t v = adj[e];
                if (!seen[v]) {
                    seen[v] = 1;
                    queue[tail++] = v;
                }
            }
        }
        t[r] = now() - b0;
        reached = tail - 1;
    }
    double first = build + t[0];
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    printf("build %.6f\nfirst %.6f\nbfs %.6f %.6f\nreached %zu\n", build,
           first, t[0], t[(reps - 1) / 2], reached);
    sqlite3_close(db);
    return 0;
}

/* What keeping every CI name in memory next to the adjacency would cost:
 * one pass over cis into an id-indexed array of strings. */
static int names(const char *dbpath)
{
    sqlite3 *db;
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return fail(db, dbpath);
    double t0 = now();
    sqlite3_stmt *st;
    int64_t maxid = 0;
    sqlite3_prepare_v2(db, "SELECT max(id) FROM cis", -1, &st, NULL);
    if (sqlite3_step(st) == SQLITE_ROW)
        maxid = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    char **name = calloc((size_t)maxid + 1, sizeof *name);
    size_t bytes = ((size_t)maxid + 1) * sizeof *name, n = 0;
    sqlite3_prepare_v2(db, "SELECT id, name FROM cis", -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        name[id] = strdup((const char *)sqlite3_column_text(st, 1));
        bytes += strlen(name[id]) + 1;
        n++;
    }
    sqlite3_finalize(st);
    printf("names %zu in %.6f s, %.1f MB\n", n, now() - t0, bytes / 1048576.0);
    sqlite3_close(db);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "names") == 0)
        return names(argv[2]);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "gen") == 0)
        return gen(argv[2], argc == 4 && atoi(argv[3]) > 0 ? atoi(argv[3]) : 1);
    if (argc == 4 && strcmp(argv[1], "servers") == 0)
        return servers(argv[2], atol(argv[3]));
    if (argc == 5 && strcmp(argv[1], "import") == 0)
        return import(argv[2], argv[3], argv[4]);
    if (argc == 5 && strcmp(argv[1], "impact") == 0)
        return impact(argv[2], argv[3], atoi(argv[4]) > 0 ? atoi(argv[4]) : 1);
    fprintf(stderr, "usage: cmdb_tool gen DIR [DIV] | servers FILE N | "
                    "import DB CIS RELS | "
                    "impact DB NAME REPS\n");
    return 2;
}
