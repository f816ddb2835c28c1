/* sla_tool.c: the SLA tick benchmark (sla_tick.bench.sh): generate 100k
 * open releases on business calendars, then time serve's pass and a bare C
 * loop doing the same business-time arithmetic over every open release.
 *
 *   sla_tool gen DB N         N open releases on three calendars
 *   sla_tool tick DB REPS     relm_sla_pass at REPS successive moments
 *   sla_tool scan DB REPS     the bare loop, REPS times
 *
 * Results go to stderr as "tick|scan MIN MEDIAN ROWS" (CPU seconds);
 * stdout carries serve's log lines of the stages fired. Links the engine's
 * objects (build/obj/core). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/store.h"
#include "base/time.h"
#include "calendar.h"
#include "loop/serve_int.h"
#include "sla.h"

/* A Monday, 13:00 UTC: the moment the generated clocks are read at. */
#define T0 1796994000LL /* 2026-12-14T13:00:00Z */
#define SLA 28800       /* 8 business hours */
#define STEP 10         /* seconds between ticks */

static const char *const cals[3] = {"br-office", "ny-office", "lisbon-24x7"};

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *t, int n, long rows)
{
    qsort(t, (size_t)n, sizeof *t, cmp);
    fprintf(stderr, "%s %.9f %.9f %ld\n", what, t[0], t[n / 2], rows);
}

static relm_store *open_db(const char *path)
{
    relm_store *s = NULL;
    relm_diag d;
    relm_store_opts o = {.create = 1};
    if (relm_store_open(&s, path, &o, NULL, &d) != RELM_OK ||
        relm_store_set_actor(s, "admin", &d) != RELM_OK) {
        fprintf(stderr, "sla_tool: %s: %s\n", path, d.msg);
        exit(1);
    }
    return s;
}

static void must(int rc, const relm_diag *d, const char *what)
{
    if (rc != RELM_OK) {
        fprintf(stderr, "sla_tool: %s: %s: %s\n", what, d->code, d->msg);
        exit(1);
    }
}

static int gen(const char *path, long n)
{
    relm_store *s = open_db(path);
    relm_diag d;
    relm_calendar_spec br = {.name = cals[0], .tz = "America/Sao_Paulo"};
    relm_calendar_spec ny = {.name = cals[1], .tz = "America/New_York"};
    relm_calendar_spec all = {.name = cals[2], .tz = "Europe/Lisbon"};
    static const char *const hol[] = {"2026-12-24", "2026-12-25",
                                      "2027-01-01"};
    for (int w = 0; w < 7; w++) {
        if (w < 5) {
            br.hours[w][0] = "08:00-12:00";
            br.hours[w][1] = "13:00-18:00";
            br.nhours[w] = 2;
            ny.hours[w][0] = "09:00-17:00";
            ny.nhours[w] = 1;
        }
        all.hours[w][0] = "00:00-24:00";
        all.nhours[w] = 1;
    }
    br.holidays = ny.holidays = hol;
    br.nholidays = ny.nholidays = 3;
    must(relm_calendar_define(s, &br, &d), &d, "calendar");
    must(relm_calendar_define(s, &ny, &d), &d, "calendar");
    must(relm_calendar_define(s, &all, &d), &d, "calendar");
    must(relm_store_begin(s, &d), &d, "begin");
    sqlite3_stmt *q = relm_store_stmt(
        s, "INSERT INTO releases (number, title, workflow, state, phase, "
           "created_at, updated_at, active_since, sla_seconds, deadline, "
           "calendar, sla_stage, sla_next_at, sla_done_pct) VALUES (?1, "
           "'bench', 'standard', 'registered', 'registration', ?2, ?2, ?2, "
           "?3, ?4, ?5, ?7, ?6, ?8)", &d);
    if (q == NULL)
        must(RELM_ERR, &d, "prepare");
    char created[32], deadline[32], number[32];
    relm_time_format(T0 - 3600, created);
    srand(42);
    for (long i = 0; i < n; i++) {
        const char *cal = cals[i % 3];
        /* Clocks started over the last few days: what is left of each
         * allowance spreads the moments over the next days. */
        int64_t left = 1 + rand() % (3 * SLA), dl;
        must(relm_calendar_after(s, cal, T0, left, &dl, &d), &d, "after");
        double pct, at;
        must(relm_sla_next(s, cal, dl, SLA, 75, 0, NULL, &pct, &at, &d), &d,
             "next");
        double done = 0;
        if (at <= (double)T0) { /* warned already: the breach is next */
            done = 75;
            at = (double)dl;
        }
        relm_time_format(dl, deadline);
        snprintf(number, sizeof number, "REL-2026-%07ld", i + 1);
        sqlite3_bind_text(q, 1, number, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 2, created, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, SLA);
        sqlite3_bind_text(q, 4, deadline, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 5, cal, -1, SQLITE_STATIC);
        sqlite3_bind_double(q, 6, at);
        sqlite3_bind_text(q, 7, relm_sla_stage(done, 75), -1, SQLITE_STATIC);
        sqlite3_bind_double(q, 8, done);
        must(relm_store_step_write(s, q, &d, "release"), &d, "insert");
    }
    must(relm_store_commit(s, &d), &d, "commit");
    relm_store_close(s);
    return 0;
}

static int tick(const char *path, int reps)
{
    relm_serve sv;
    memset(&sv, 0, sizeof sv);
    sv.s = open_db(path);
    sv.set.warning_percent = 75;
    double *t = calloc((size_t)reps, sizeof *t);
    long fired = 0;
    sqlite3_stmt *c = relm_store_stmt(sv.s, "SELECT count(*) FROM "
                                            "sla_stages", NULL);
    for (int i = 0; i < reps; i++) {
        double next, a = cpu();
        relm_sla_pass(&sv, (double)(T0 + (int64_t)(i + 1) * STEP), &next);
        t[i] = cpu() - a;
    }
    if (c != NULL && sqlite3_step(c) == SQLITE_ROW)
        fired = sqlite3_column_int64(c, 0);
    if (c != NULL)
        sqlite3_reset(c);
    report("tick", t, reps, fired);
    free(t);
    relm_store_close(sv.s);
    return 0;
}

/* The baseline: every open release stepped by one prepared statement, its
 * next moment computed with the same calendar arithmetic (calendars looked
 * up once), compared with now. */
static int scan(const char *path, int reps)
{
    relm_store *s = open_db(path);
    relm_diag d;
    const relm_calendar *cc[3];
    for (int k = 0; k < 3; k++)
        cc[k] = relm_calendar_lookup(s, cals[k], &d);
    sqlite3 *db = relm_store_db(s);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, CAST(strftime('%s', deadline) AS "
                           "INTEGER), sla_seconds, sla_done_pct, calendar "
                           "FROM releases WHERE status = 'open' AND "
                           "deadline IS NOT NULL AND sla_seconds > 0",
                           -1, &q, NULL) != SQLITE_OK)
        return 1;
    double *t = calloc((size_t)reps, sizeof *t);
    long rows = 0, due = 0;
    for (int i = 0; i < reps; i++) {
        int64_t now = T0 + (int64_t)(i + 1) * STEP;
        double a = cpu();
        rows = 0;
        while (sqlite3_step(q) == SQLITE_ROW) {
            int64_t dl = sqlite3_column_int64(q, 1);
            int64_t sla = sqlite3_column_int64(q, 2);
            double done = sqlite3_column_double(q, 3);
            const char *cal = (const char *)sqlite3_column_text(q, 4);
            const relm_calendar *c = NULL;
            for (int k = 0; k < 3 && cal != NULL; k++)
                if (strcmp(cal, cals[k]) == 0)
                    c = cc[k];
            int64_t at = dl;
            if (done < 75 && c != NULL)
                at = relm_calendar_sub(c, dl, (int64_t)(sla * 0.25));
            due += at <= now;
            rows++;
        }
        sqlite3_reset(q);
        t[i] = cpu() - a;
    }
    sqlite3_finalize(q);
    report("scan", t, reps, rows);
    fprintf(stderr, "due %ld\n", due / reps);
    free(t);
    relm_store_close(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "gen") == 0)
        return gen(argv[2], atol(argv[3]));
    if (argc == 4 && strcmp(argv[1], "tick") == 0)
        return tick(argv[2], atoi(argv[3]));
    if (argc == 4 && strcmp(argv[1], "scan") == 0)
        return scan(argv[2], atoi(argv[3]));
    fprintf(stderr, "usage: sla_tool gen|tick|scan DB N\n");
    return 2;
}
