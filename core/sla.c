/* sla.c: the SLA clock of one release in business time, settled by the
 * primitives that move it (core/loop/sla.c fires the moments it plans). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "base/clock.h"
#include "base/time.h"
#include "calendar.h"
#include "sla.h"

/* Setting key as text into out ("" when absent). */
static void setting(relm_store *s, const char *key, char *out, size_t n)
{
    relm_diag d;
    out[0] = '\0';
    sqlite3_stmt *q = relm_store_stmt(
        s, "SELECT value FROM serve_settings WHERE key = ?1", &d);
    if (q == NULL)
        return;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW)
        relm_store_column_copy(q, 0, out, n);
    sqlite3_reset(q);
}

double relm_sla_default_percent(relm_store *s)
{
    char t[64];
    setting(s, "sla_warning_percent", t, sizeof t);
    char *end;
    double x = strtod(t, &end);
    return end != t && *end == '\0' && x > 0 && x < 100 ? x : 75;
}

void relm_sla_load_pcts(relm_store *s, relm_sla_pcts *p)
{
    char t[512];
    setting(s, "escalation_percents", t, sizeof t);
    p->n = 0;
    for (char *c = t; *c && p->n < RELM_SLA_MAX_PCTS;) {
        char *end;
        double x = strtod(c, &end);
        if (end == c)
            break;
        if (x > 0 && x <= 100)
            p->v[p->n++] = x;
        c = *end == ',' ? end + 1 : end;
    }
}

const char *relm_sla_stage(double done, double warn)
{
    return done >= 100 ? "breached" : done >= warn ? "warning" : "in_progress";
}

int relm_sla_next(relm_store *s, const char *cal, int64_t deadline,
                  int64_t sla, double warn, double done,
                  const relm_sla_pcts *p, double *pct, double *at,
                  relm_diag *d)
{
    double best = done < warn ? warn : done < 100 ? 100 : 0;
    for (int i = 0; p != NULL && i < p->n; i++)
        if (p->v[i] > done && (best == 0 || p->v[i] < best))
            best = p->v[i];
    *pct = best;
    *at = 0;
    if (best == 0)
        return RELM_OK;
    double left = (double)sla * (1.0 - best / 100.0);
    if (best >= 100 || cal == NULL || cal[0] == '\0') {
        *at = (double)deadline - left;
        return RELM_OK;
    }
    int64_t t;
    if (relm_calendar_before(s, cal, deadline, (int64_t)ceil(left), &t, d)
        != RELM_OK)
        return RELM_ERR;
    *at = (double)t;
    return RELM_OK;
}

int relm_sla_settle(relm_store *s, int64_t id, int64_t now, relm_diag *d)
{
    sqlite3_stmt *q = relm_store_stmt(
        s, "SELECT status, calendar, sla_seconds, CAST(strftime('%s', "
           "deadline) AS INTEGER), remaining_seconds, sla_warning_percent, "
           "sla_done_pct FROM releases WHERE id = ?1", d);
    if (q == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(q, 1, id);
    int rc = relm_store_step_row(s, q, d, "sla");
    if (rc != RELM_OK)
        return rc == RELM_NOT_FOUND ? RELM_OK : RELM_ERR;
    char status[16], cal[128];
    relm_store_column_copy(q, 0, status, sizeof status);
    relm_store_column_copy(q, 1, cal, sizeof cal);
    int64_t sla = sqlite3_column_int64(q, 2);
    int has_deadline = sqlite3_column_type(q, 3) != SQLITE_NULL;
    int64_t deadline = sqlite3_column_int64(q, 3);
    int has_rem = sqlite3_column_type(q, 4) != SQLITE_NULL;
    int64_t rem = sqlite3_column_int64(q, 4);
    double warn = sqlite3_column_type(q, 5) != SQLITE_NULL
                      ? sqlite3_column_double(q, 5) : 0;
    double done = sqlite3_column_double(q, 6);
    sqlite3_reset(q);
    if (sla <= 0)
        return RELM_OK;
    if (warn <= 0)
        warn = relm_sla_default_percent(s);
    int open = strcmp(status, "open") == 0 && has_deadline;
    double next_at = 0;
    if (open) {
        /* The write set deadline = now + allowance left, 24x7. */
        if (cal[0] != '\0' &&
            relm_calendar_after(s, cal, now, deadline - now, &deadline, d)
                != RELM_OK)
            return RELM_ERR;
        relm_sla_pcts p;
        relm_sla_load_pcts(s, &p);
        double pct;
        if (relm_sla_next(s, cal, deadline, sla, warn, done, &p, &pct,
                          &next_at, d) != RELM_OK)
            return RELM_ERR;
    } else if (strcmp(status, "suspended") == 0 && has_rem && cal[0] != '\0') {
        /* The write kept remaining = old deadline - now, 24x7 (negative:
         * overdue by that much at the stop). */
        int64_t a = rem >= 0 ? now : now + rem, b = rem >= 0 ? now + rem : now;
        int64_t n;
        if (relm_calendar_between(s, cal, a, b, &n, d) != RELM_OK)
            return RELM_ERR;
        rem = rem >= 0 ? n : -n;
    }
    char dl[32];
    relm_time_format(deadline, dl);
    q = relm_store_stmt(
        s, "UPDATE releases SET deadline = CASE WHEN ?2 THEN ?3 ELSE "
           "deadline END, remaining_seconds = CASE WHEN ?4 THEN ?5 ELSE "
           "remaining_seconds END, sla_stage = ?6, sla_next_at = ?7 "
           "WHERE id = ?1", d);
    if (q == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int(q, 2, open);
    sqlite3_bind_text(q, 3, dl, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(q, 4, has_rem && !open);
    sqlite3_bind_int64(q, 5, rem);
    /* A release closed or cancelled within its allowance has no stage: its
     * clock stopped for good (time_left keeps what was left). A breach
     * stays on record. */
    int ended = strcmp(status, "open") != 0 && strcmp(status, "suspended") != 0;
    const char *stage = relm_sla_stage(done, warn);
    if (ended && strcmp(stage, "breached") != 0)
        sqlite3_bind_null(q, 6);
    else
        sqlite3_bind_text(q, 6, stage, -1, SQLITE_STATIC);
    if (next_at > 0)
        sqlite3_bind_double(q, 7, next_at);
    else
        sqlite3_bind_null(q, 7);
    return relm_store_step_write(s, q, d, "release %lld", (long long)id);
}

int relm_sla_record_escalation(relm_store *s, int64_t id, int64_t cycle,
                               const char *rule, const char *stage,
                               const char *notify, const char *error,
                               relm_diag *d)
{
    char at[32], note[400], state[64] = "";
    relm_time_format(relm_clock_now(), at);
    char *after = NULL;
    if (relm_store_begin(s, d) != RELM_OK)
        return RELM_ERR;
    int rc = RELM_ERR;
    sqlite3_stmt *q = relm_store_stmt(
        s, "INSERT OR IGNORE INTO escalations (release_id, cycle, rule, "
           "stage, at, status, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", d);
    if (q == NULL)
        goto out;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, cycle);
    sqlite3_bind_text(q, 3, rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, stage, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, at, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, error != NULL ? "failed" : "done", -1,
                      SQLITE_STATIC);
    relm_store_bind_text(q, 7, error);
    if (relm_store_step_write(s, q, d, "escalation '%s'", rule) != RELM_OK)
        goto out;
    if (error != NULL || sqlite3_changes(relm_store_db(s)) == 0) {
        rc = RELM_OK;
        goto out;
    }
    if (relm_store_id_text(s, "SELECT snapshot FROM release_snapshots "
                              "WHERE id = ?1", id, &after, d) != RELM_OK)
        goto out;
    q = relm_store_stmt(s, "SELECT state FROM releases WHERE id = ?1", d);
    if (q == NULL)
        goto out;
    sqlite3_bind_int64(q, 1, id);
    if (sqlite3_step(q) == SQLITE_ROW)
        relm_store_column_copy(q, 0, state, sizeof state);
    sqlite3_reset(q);
    /* The occurrence log's notes are written in English (machine text). */
    if (notify != NULL && notify[0] != '\0')
        snprintf(note, sizeof note, "SLA escalation rule '%s' (%s): notify "
                 "group %s", rule, stage, notify);
    else
        snprintf(note, sizeof note, "SLA escalation rule '%s' (%s)", rule,
                 stage);
    relm_occurrence o = {.at = at, .subject = "release", .subject_id = id,
                         .action = "sla.escalated", .from_state = state,
                         .to_state = state, .note = note, .after = after};
    rc = relm_audit_append(s, &o, NULL, d);
out:
    free(after);
    return relm_store_end(s, rc, d);
}
