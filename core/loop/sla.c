/* sla.c: serve's SLA clock: the warning, breach and escalation moments of
 * open releases (business time), each fired once, as occurrences and events. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "base/time.h"
#include "loop/serve_int.h"
#include "sla.h"

/* One release whose next moment has come, as the scan read it. */
typedef struct due_row {
    int64_t id;
    int64_t cycle;
    int64_t deadline;
    int64_t sla;
    double warn;
    double done;
    char state[64];
    char deadline_text[32];
    char calendar[128];
} due_row;

static const char *const snapshot_sql =
    "SELECT snapshot FROM release_snapshots WHERE id = ?1";

/* Record stage (warning or breached) of r at epoch at: the fired-stage row
 * (once per release and cycle, whoever tries again) and its occurrence,
 * whose event the outbox picks up. Inside the caller's transaction. */
static int record_stage(relm_serve *sv, const due_row *r, int breach,
                        int64_t at, const char *after, relm_diag *d)
{
    const char *stage = breach ? "breached" : "warning";
    char when[32], note[256];
    relm_time_format(at, when);
    sqlite3_stmt *q = relm_store_stmt(
        sv->s, "INSERT OR IGNORE INTO sla_stages (release_id, cycle, stage, "
               "at) VALUES (?1, ?2, ?3, ?4)", d);
    if (q == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(q, 1, r->id);
    sqlite3_bind_int64(q, 2, r->cycle);
    sqlite3_bind_text(q, 3, stage, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, when, -1, SQLITE_STATIC);
    if (relm_store_step_write(sv->s, q, d, "SLA stage") != RELM_OK)
        return RELM_ERR;
    if (sqlite3_changes(relm_store_db(sv->s)) == 0)
        return RELM_OK;
    /* The note is stored in the occurrence log: English, like the
     * log's other machine-written notes. */
    const char *cal = r->calendar[0] ? r->calendar : "24x7";
    if (breach)
        snprintf(note, sizeof note,
                 "SLA breached: the time limit %s passed (calendar %s)",
                 r->deadline_text, cal);
    else
        snprintf(note, sizeof note,
                 "SLA warning: %g%% of the allowance used; time limit %s "
                 "(calendar %s)", r->warn, r->deadline_text, cal);
    relm_occurrence o = {.at = when, .subject = "release",
                         .subject_id = r->id,
                         .action = breach ? "sla.breached" : "sla.warning",
                         .from_state = r->state, .to_state = r->state,
                         .note = note, .after = after};
    if (relm_audit_append(sv->s, &o, NULL, d) != RELM_OK)
        return RELM_ERR;
    char id[32];
    snprintf(id, sizeof id, "%" PRId64, r->id);
    relm_serve_log(sv, o.action, "release", id, "at", when, "deadline",
                   r->deadline_text, "calendar", cal, RELM_LOG_END);
    return RELM_OK;
}

/* Handle every moment of r that has come by now, in one transaction: the
 * stages reached, the new stage and next moment on the row; then (after the
 * commit) the escalation rules whose percentage was crossed. The UPDATE
 * re-checks the row is as scanned, so a suspend or close committed since
 * wins. Returns 0, or -1 when the write failed (logged). */
static int handle(relm_serve *sv, due_row *r, const relm_sla_pcts *pcts,
                  double now)
{
    relm_diag d;
    char *after = NULL;
    double from = r->done, done = r->done, pct, at;
    const char *cal = r->calendar[0] ? r->calendar : NULL;
    int warned = 0, breached = 0;
    double warn_at = 0;
    if (relm_store_begin(sv->s, &d) != RELM_OK)
        goto fail;
    for (;;) {
        if (relm_sla_next(sv->s, cal, r->deadline, r->sla, r->warn, done,
                          pcts, &pct, &at, &d) != RELM_OK)
            goto fail_tx;
        if (pct == 0 || at > now)
            break;
        if (pct >= 100)
            breached = 1;
        else if (pct == r->warn) {
            warned = 1;
            warn_at = at;
        }
        done = pct;
    }
    sqlite3_stmt *q = relm_store_stmt(
        sv->s, "UPDATE releases SET sla_done_pct = ?2, sla_stage = ?3, "
               "sla_next_at = ?4 WHERE id = ?1 AND status = 'open' AND "
               "reopen_count = ?5 AND deadline = ?6 AND sla_done_pct = ?7",
        &d);
    if (q == NULL)
        goto fail_tx;
    sqlite3_bind_int64(q, 1, r->id);
    sqlite3_bind_double(q, 2, done);
    sqlite3_bind_text(q, 3, relm_sla_stage(done, r->warn), -1, SQLITE_STATIC);
    if (pct > 0)
        sqlite3_bind_double(q, 4, at);
    else
        sqlite3_bind_null(q, 4);
    sqlite3_bind_int64(q, 5, r->cycle);
    sqlite3_bind_text(q, 6, r->deadline_text, -1, SQLITE_STATIC);
    sqlite3_bind_double(q, 7, r->done);
    if (relm_store_step_write(sv->s, q, &d, "release") != RELM_OK)
        goto fail_tx;
    if (sqlite3_changes(relm_store_db(sv->s)) == 0) {
        relm_store_rollback(sv->s);
        return 0;
    }
    if ((warned || breached) &&
        relm_store_id_text(sv->s, snapshot_sql, r->id, &after, &d) != RELM_OK)
        goto fail_tx;
    /* Whole seconds in the log: the warning in the second it came. */
    if (warned && record_stage(sv, r, 0, (int64_t)floor(warn_at), after,
                               &d) != RELM_OK)
        goto fail_tx;
    if (breached && record_stage(sv, r, 1, r->deadline, after, &d) != RELM_OK)
        goto fail_tx;
    if (relm_store_commit(sv->s, &d) != RELM_OK)
        goto fail_tx;
    free(after);
    if (done > from)
        relm_sla_escalate(sv, r->id, r->cycle, from, done, r->warn);
    return 0;
fail_tx:
    relm_store_rollback(sv->s);
fail:
    free(after);
    relm_serve_log(sv, "error", "what", "sla", "code", d.code, "message",
                   d.msg, RELM_LOG_END);
    return -1;
}

void relm_sla_escalate(relm_serve *sv, int64_t id, int64_t cycle,
                       double from, double to, double warn)
{
    if (sv->escalate == NULL)
        return;
    relm_escalation_fired out[RELM_SERVE_MAX_FIRED];
    int n = sv->escalate(sv->escalate_ctx, id, cycle, from, to, warn, out,
                         RELM_SERVE_MAX_FIRED);
    char rid[32];
    snprintf(rid, sizeof rid, "%" PRId64, id);
    for (int i = 0; i < n; i++) {
        relm_diag d;
        const relm_escalation_fired *f = &out[i];
        /* Done or parked (failed, with the error an admin reads in
         * relm.escalation.fired()): recorded either way, once. */
        int rc = relm_sla_record_escalation(sv->s, id, cycle, f->rule,
                                            f->stage, f->notify,
                                            f->ok ? NULL : f->error, &d);
        if (rc != RELM_OK)
            relm_serve_log(sv, "error", "what", "escalation", "code", d.code,
                           "message", d.msg, RELM_LOG_END);
        if (f->ok)
            relm_serve_log(sv, "escalation", "release", rid, "rule", f->rule,
                           "stage", f->stage, "notify", f->notify,
                           RELM_LOG_END);
        else
            relm_serve_log(sv, "escalation.failed", "release", rid, "rule",
                           f->rule, "stage", f->stage, "error", f->error,
                           RELM_LOG_END);
    }
}

/* The escalation percentages changed (serve loaded other rules): plan the
 * next moment of every running clock again, once. */
static void replan(relm_serve *sv, const relm_sla_pcts *pcts)
{
    relm_diag d;
    if (relm_store_begin(sv->s, &d) != RELM_OK)
        return;
    sqlite3_stmt *q = relm_store_stmt(
        sv->s, "SELECT id, CAST(strftime('%s', deadline) AS INTEGER), "
               "sla_seconds, coalesce(sla_warning_percent, ?1), sla_done_pct, "
               "calendar FROM releases WHERE status = 'open' AND deadline IS "
               "NOT NULL AND sla_seconds > 0", &d);
    sqlite3_stmt *u = relm_store_stmt(
        sv->s, "UPDATE releases SET sla_next_at = ?2 WHERE id = ?1", &d);
    if (q == NULL || u == NULL) {
        relm_store_rollback(sv->s);
        return;
    }
    sqlite3_bind_double(q, 1, sv->set.warning_percent);
    while (sqlite3_step(q) == SQLITE_ROW) {
        char cal[128];
        relm_store_column_copy(q, 5, cal, sizeof cal);
        double pct, at;
        if (relm_sla_next(sv->s, cal, sqlite3_column_int64(q, 1),
                          sqlite3_column_int64(q, 2),
                          sqlite3_column_double(q, 3),
                          sqlite3_column_double(q, 4), pcts, &pct, &at,
                          &d) != RELM_OK)
            continue;
        sqlite3_bind_int64(u, 1, sqlite3_column_int64(q, 0));
        if (pct > 0)
            sqlite3_bind_double(u, 2, at);
        else
            sqlite3_bind_null(u, 2);
        sqlite3_step(u);
        sqlite3_reset(u);
    }
    sqlite3_reset(q);
    relm_store_commit(sv->s, &d);
}

void relm_sla_set_pcts(relm_serve *sv, const double *v, int n)
{
    relm_diag d;
    char text[512] = "";
    size_t k = 0;
    for (int i = 0; i < n && i < RELM_SLA_MAX_PCTS; i++)
        k += (size_t)snprintf(text + k, sizeof text - k, "%s%g", i ? "," : "",
                              v[i]);
    relm_sla_pcts old;
    relm_sla_load_pcts(sv->s, &old);
    char was[512] = "";
    size_t w = 0;
    for (int i = 0; i < old.n; i++)
        w += (size_t)snprintf(was + w, sizeof was - w, "%s%g", i ? "," : "",
                              old.v[i]);
    if (strcmp(text, was) == 0)
        return;
    /* serve's own setting: which moments its rules need, for every
     * process that plans a clock. */
    sqlite3_stmt *q = relm_store_stmt(
        sv->s, "INSERT INTO serve_settings (key, value) VALUES "
               "('escalation_percents', ?1) ON CONFLICT (key) DO UPDATE SET "
               "value = excluded.value", &d);
    if (q == NULL || relm_store_begin(sv->s, &d) != RELM_OK)
        return;
    sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
    int rc = relm_store_step_write(sv->s, q, &d, "setting");
    if (rc != RELM_OK || relm_store_commit(sv->s, &d) != RELM_OK) {
        relm_store_rollback(sv->s);
        return;
    }
    relm_sla_pcts now;
    relm_sla_load_pcts(sv->s, &now);
    replan(sv, &now);
}

void relm_sla_load_rules(relm_serve *sv)
{
    double v[RELM_SLA_MAX_PCTS];
    char errors[2048] = "";
    int n = sv->escalation_pcts != NULL
                ? sv->escalation_pcts(sv->escalate_ctx, v, RELM_SLA_MAX_PCTS,
                                      errors, sizeof errors)
                : 0;
    for (char *line = errors, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (nl == NULL)
            nl = line + strlen(line) - 1;
        else
            *nl = '\0';
        relm_serve_log(sv, "error", "what", "escalation rules", "message",
                       line, RELM_LOG_END);
    }
    relm_sla_set_pcts(sv, v, n < 0 ? 0 : n);
}

void relm_sla_reload_changed(relm_serve *sv)
{
    if (sv->escalation_changed != NULL &&
        sv->escalation_changed(sv->escalate_ctx))
        relm_sla_load_rules(sv);
}

void relm_sla_pass(relm_serve *sv, double now, double *next)
{
    *next = 0;
    relm_diag d;
    /* Only the rows whose moment has come, through the partial index on
     * sla_next_at: a tick costs what is due, not every open release. The
     * unary + keeps SQLite off the status index, which would read every
     * open release. */
    sqlite3_stmt *q = relm_store_stmt(
        sv->s,
        "SELECT id, reopen_count, CAST(strftime('%s', deadline) AS INTEGER), "
        "sla_seconds, coalesce(sla_warning_percent, ?2), sla_done_pct, "
        "state, deadline, calendar FROM releases WHERE sla_next_at IS NOT "
        "NULL AND sla_next_at <= ?1 AND +status = 'open' AND deadline IS "
        "NOT NULL ORDER BY sla_next_at LIMIT 512",
        &d);
    if (q == NULL) {
        relm_serve_log(sv, "error", "what", "sla", "message", d.msg,
                       RELM_LOG_END);
        return;
    }
    sqlite3_bind_double(q, 1, now);
    sqlite3_bind_double(q, 2, sv->set.warning_percent);
    relm_sla_pcts pcts;
    relm_sla_load_pcts(sv->s, &pcts);
    /* sla_warning_percent changed: the moments of releases that follow
     * the setting move with it. */
    if (sv->planned_percent != sv->set.warning_percent) {
        if (sv->planned_percent != 0) {
            sqlite3_reset(q);
            replan(sv, &pcts);
        }
        sv->planned_percent = sv->set.warning_percent;
    }
    /* Collect first: handling writes, and q must be done before that. */
    due_row *due = NULL;
    size_t n = 0, cap = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            due_row *g = realloc(due, cap * sizeof *due);
            if (g == NULL)
                break;
            due = g;
        }
        due_row *r = &due[n++];
        r->id = sqlite3_column_int64(q, 0);
        r->cycle = sqlite3_column_int64(q, 1);
        r->deadline = sqlite3_column_int64(q, 2);
        r->sla = sqlite3_column_int64(q, 3);
        r->warn = sqlite3_column_double(q, 4);
        r->done = sqlite3_column_double(q, 5);
        relm_store_column_copy(q, 6, r->state, sizeof r->state);
        relm_store_column_copy(q, 7, r->deadline_text,
                               sizeof r->deadline_text);
        relm_store_column_copy(q, 8, r->calendar, sizeof r->calendar);
    }
    sqlite3_reset(q);
    int failed = 0;
    for (size_t i = 0; i < n; i++)
        failed |= handle(sv, &due[i], &pcts, now) != 0;
    free(due);
    q = relm_store_stmt(sv->s, "SELECT min(sla_next_at) FROM releases WHERE "
                               "sla_next_at IS NOT NULL", &d);
    if (q != NULL && sqlite3_step(q) == SQLITE_ROW &&
        sqlite3_column_type(q, 0) != SQLITE_NULL)
        *next = sqlite3_column_double(q, 0);
    if (q != NULL)
        sqlite3_reset(q);
    /* A moment still due (a write failed, the database busy past its
     * timeout, or more than one batch due) is tried again in a second at
     * the latest: never a busy loop. */
    if (*next > 0 && *next <= now)
        *next = failed || n == 0 ? now + 1 : now + 0.001;
}
