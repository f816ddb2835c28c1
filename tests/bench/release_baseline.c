/* release_baseline.c: the baseline of the release benchmark: a bare C
 * program doing the row writes relm does to take N releases through S
 * steps of `standard` (insert + occurrence, then per step update +
 * occurrence, each write its own transaction, SHA-256 chained) with no
 * permission check, workflow, guard or Lua. Like relm, each occurrence
 * puts its event into the outbox in the same transaction (the closing one
 * a second, release.closed), and entering the state whose way out needs
 * an approval (the one before the last two steps) writes the approval
 * round relm opens there (approved at once: no rule applies) with its
 * approval.request occurrence and event. What relm reads to decide
 * (permissions, rules, subscriptions to fan events out to) it does not.
 * Prints "baseline_walk N S SECONDS".
 *   release_baseline DB N S      (DB made by relm, so the schema is there) */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/sha256.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static sqlite3 *db;

static sqlite3_stmt *prep(const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "prepare: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    return st;
}

static void step(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "step: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
}

static void exec(const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "exec: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
}

/* A snapshot of the size and shape relm writes. */
static int snapshot(char *buf, size_t n, long long id, const char *number,
                    const char *state, const char *status, const char *at)
{
    return snprintf(buf, n,
        "{\"id\":%lld,\"number\":\"%s\",\"title\":\"bench release\","
        "\"requester\":\"admin\",\"contact_name\":\"Administrator\","
        "\"workflow\":\"standard\",\"executor_group\":\"administrators\","
        "\"current_group\":\"administrators\",\"impact\":\"medium\","
        "\"urgency\":\"medium\",\"priority\":3,\"notify\":true,"
        "\"status\":\"%s\",\"state\":\"%s\",\"phase\":\"deployment\","
        "\"reopen_count\":0,\"sla_seconds\":86400,"
        "\"deadline\":\"2027-01-16T08:00:00Z\",\"elapsed_seconds\":0,"
        "\"active_since\":\"%s\",\"extra\":{},\"shared_with\":[],"
        "\"created_at\":\"%s\",\"updated_at\":\"%s\"}",
        id, number, status, state, at, at, at);
}

/* The outbox payload relm writes with each event: the release's head. */
static int payload(char *buf, size_t n, long long id, const char *number,
                   const char *state, const char *status, const char *phase)
{
    return snprintf(buf, n,
        "{\"id\":%lld,\"number\":\"%s\",\"title\":\"bench release\","
        "\"state\":\"%s\",\"status\":\"%s\",\"phase\":\"%s\","
        "\"priority\":3,\"workflow\":\"standard\","
        "\"deadline\":\"2027-01-16T08:00:00Z\",\"sla_seconds\":86400}",
        id, number, state, status, phase);
}

static sqlite3_stmt *occ, *evt;
static char prev[65];
static long long occ_id;

/* Append one occurrence (hash-chained on prev) and its outbox event(s). */
static void occurrence(const char *at, long long id, const char *action,
                       const char *from, const char *to, const char *before,
                       int bl, const char *after, int al, const char *note,
                       const char *event, const char *event2,
                       const char *pay, int pl)
{
    char hash[65];
    relm_sha256 c;
    unsigned char dig[32];
    relm_sha256_init(&c);
    relm_sha256_update(&c, prev, 64);
    relm_sha256_update(&c, at, strlen(at));
    relm_sha256_update(&c, to, strlen(to));
    if (before != NULL)
        relm_sha256_update(&c, before, (size_t)bl);
    relm_sha256_update(&c, after, (size_t)al);
    if (note != NULL)
        relm_sha256_update(&c, note, strlen(note));
    relm_sha256_final(&c, dig);
    relm_sha256_tohex(dig, hash);
    sqlite3_bind_int64(occ, 1, ++occ_id);
    sqlite3_bind_text(occ, 2, at, -1, SQLITE_STATIC);
    sqlite3_bind_int64(occ, 3, id);
    sqlite3_bind_text(occ, 4, action, -1, SQLITE_STATIC);
    if (from != NULL)
        sqlite3_bind_text(occ, 5, from, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(occ, 5);
    sqlite3_bind_text(occ, 6, to, -1, SQLITE_STATIC);
    if (before != NULL)
        sqlite3_bind_text(occ, 7, before, bl, SQLITE_STATIC);
    else
        sqlite3_bind_null(occ, 7);
    sqlite3_bind_text(occ, 8, after, al, SQLITE_STATIC);
    sqlite3_bind_text(occ, 9, prev, 64, SQLITE_STATIC);
    sqlite3_bind_text(occ, 10, hash, 64, SQLITE_STATIC);
    if (note != NULL)
        sqlite3_bind_text(occ, 11, note, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(occ, 11);
    step(occ);
    sqlite3_reset(occ);
    memcpy(prev, hash, 65);
    for (int e = 0; e < 2; e++) {
        const char *name = e == 0 ? event : event2;
        if (name == NULL)
            break;
        sqlite3_bind_text(evt, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(evt, 2, id);
        sqlite3_bind_int64(evt, 3, occ_id);
        sqlite3_bind_text(evt, 4, at, -1, SQLITE_STATIC);
        sqlite3_bind_text(evt, 5, pay, pl, SQLITE_STATIC);
        step(evt);
        sqlite3_reset(evt);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: release_baseline DB N STEPS\n");
        return 2;
    }
    int n = atoi(argv[2]), steps = atoi(argv[3]);
    if (sqlite3_open(argv[1], &db) != SQLITE_OK)
        return 1;
    exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
         "PRAGMA foreign_keys = ON");
    sqlite3_stmt *num = prep(
        "INSERT INTO release_numbers (year, last) VALUES (?1, 1) ON CONFLICT "
        "(year) DO UPDATE SET last = last + 1 RETURNING last");
    sqlite3_stmt *ins = prep(
        "INSERT INTO releases (number, title, workflow, state, phase, status, "
        "requester_id, executor_group_id, current_group_id, impact, urgency, "
        "priority, sla_seconds, deadline, created_at, updated_at, "
        "active_since) VALUES (?1, 'bench release', 'standard', ?2, "
        "'registration', 'open', 1, 1, 1, 'medium', 'medium', 3, 86400, "
        "'2027-01-16T08:00:00Z', ?3, ?3, ?3)");
    sqlite3_stmt *upd = prep(
        "UPDATE releases SET state = ?2, phase = 'deployment', updated_at = "
        "?3 WHERE id = ?1");
    sqlite3_stmt *cls = prep(
        "UPDATE releases SET state = ?2, phase = 'closure', status = "
        "'closed', release_date = '2027-01-20', solution_category = "
        "'deployed', closure_text = 'done', closed_at = ?3, updated_at = ?3 "
        "WHERE id = ?1");
    occ = prep(
        "INSERT INTO occurrences (id, at, actor_id, actor, subject, "
        "subject_id, action, from_state, to_state, before, after, prev_hash, "
        "hash, note) VALUES (?1, ?2, 1, 'admin', 'release', ?3, ?4, ?5, ?6, "
        "?7, ?8, ?9, ?10, ?11)");
    evt = prep(
        "INSERT INTO outbox (event, release_id, occurrence_id, at, payload) "
        "VALUES (?1, ?2, ?3, ?4, ?5)");
    sqlite3_stmt *round = prep(
        "INSERT INTO approval_rounds (release_id, state, status, created_at, "
        "closed_at) VALUES (?1, ?2, 'approved', ?3, ?3)");
    char before[2048], after[2048], number[32], at[32], pay[512], rjson[512];
    char from[32], to[32], event[64];
    memset(prev, '0', 64);
    prev[64] = '\0';
    sqlite3_stmt *last = prep("SELECT coalesce(max(id), 0), coalesce((SELECT "
                              "hash FROM occurrences ORDER BY id DESC LIMIT "
                              "1), '') FROM occurrences");
    step(last);
    occ_id = sqlite3_column_int64(last, 0);
    if (occ_id > 0)
        snprintf(prev, sizeof prev, "%s", sqlite3_column_text(last, 1));
    sqlite3_finalize(last);
    /* The state entered by step k == approval needs an approval to leave. */
    int approval = steps >= 3 ? steps - 2 : -1;

    double t0 = now();
    for (int i = 0; i < n; i++) {
        time_t tt = time(NULL);
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
        exec("BEGIN IMMEDIATE");
        sqlite3_bind_int(num, 1, tm.tm_year + 1900);
        step(num);
        snprintf(number, sizeof number, "REL-%04d-%06lld", tm.tm_year + 1900,
                 (long long)sqlite3_column_int64(num, 0));
        sqlite3_reset(num);
        sqlite3_bind_text(ins, 1, number, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, "s0", -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, at, -1, SQLITE_STATIC);
        step(ins);
        sqlite3_reset(ins);
        long long id = (long long)sqlite3_last_insert_rowid(db);
        for (int k = 0; k <= steps; k++) {
            snprintf(from, sizeof from, "s%d", k - 1);
            snprintf(to, sizeof to, "s%d", k);
            int closing = k == steps;
            if (k > 0) {
                exec("BEGIN IMMEDIATE");
                sqlite3_stmt *u = closing ? cls : upd;
                sqlite3_bind_int64(u, 1, id);
                sqlite3_bind_text(u, 2, to, -1, SQLITE_STATIC);
                sqlite3_bind_text(u, 3, at, -1, SQLITE_STATIC);
                step(u);
                sqlite3_reset(u);
            }
            int bl = snapshot(before, sizeof before, id, number, from, "open", at);
            int al = snapshot(after, sizeof after, id, number, to,
                              closing ? "closed" : "open", at);
            const char *status = closing ? "closed" : "open";
            const char *phase = k == 0 ? "registration"
                                : closing ? "closure" : "deployment";
            int pl = payload(pay, sizeof pay, id, number, to, status, phase);
            snprintf(event, sizeof event, "release.%s",
                     k == 0 ? "registered" : "step");
            occurrence(at, id, k == 0 ? "register" : "step",
                       k > 0 ? from : NULL, to, k > 0 ? before : NULL, bl,
                       after, al, NULL, event,
                       closing ? "release.closed" : NULL, pay, pl);
            if (k == approval) {
                sqlite3_bind_int64(round, 1, id);
                sqlite3_bind_text(round, 2, to, -1, SQLITE_STATIC);
                sqlite3_bind_text(round, 3, at, -1, SQLITE_STATIC);
                step(round);
                sqlite3_reset(round);
                int rl = snprintf(rjson, sizeof rjson,
                    "{\"id\":%lld,\"release_id\":%lld,\"state\":\"%s\","
                    "\"status\":\"approved\",\"created_at\":\"%s\","
                    "\"closed_at\":\"%s\",\"requests\":[]}",
                    (long long)sqlite3_last_insert_rowid(db), id, to, at, at);
                occurrence(at, id, "approval.request", to, to, NULL, 0, rjson,
                           rl, "no approval rule applies", "approval.request",
                           NULL, pay, pl);
            }
            exec("COMMIT");
        }
    }
    double dt = now() - t0;
    printf("baseline_walk %d %d %.6f\n", n, steps, dt);
    sqlite3_finalize(num);
    sqlite3_finalize(ins);
    sqlite3_finalize(upd);
    sqlite3_finalize(cls);
    sqlite3_finalize(occ);
    sqlite3_finalize(evt);
    sqlite3_finalize(round);
    sqlite3_close(db);
    return 0;
}
