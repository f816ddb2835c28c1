/* sla.c: serve's SLA clock: the warning and breach moments of every open
 * release, each stage fired once as an occurrence (and so an outbox event). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "base/time.h"
#include "loop/serve_int.h"

typedef struct due_stage {
    int64_t release_id;
    int64_t cycle;
    int64_t at;           /* the moment it really happened */
    int64_t deadline;
    int64_t sla;
    int breach;
    char state[64];
    char deadline_text[32];
} due_stage;

/* Record stage st in one transaction: the fired-stage row (which makes it
 * happen once per release and SLA cycle, whoever tries again) and the
 * occurrence, whose event the outbox picks up. The INSERT re-checks that
 * the release is still open on the same deadline, so a suspend committed
 * since the scan wins. Returns 0, or -1 when the write failed (logged). */
static int fire(relm_serve *sv, const due_stage *st)
{
    relm_diag d;
    const char *stage = st->breach ? "breached" : "warning";
    char at[32], note[200];
    relm_time_format(st->at, at);
    if (relm_store_begin(sv->s, &d) != RELM_OK)
        goto fail;
    sqlite3_stmt *q = relm_store_stmt(
        sv->s,
        "INSERT OR IGNORE INTO sla_stages (release_id, cycle, stage, at) "
        "SELECT id, reopen_count, ?2, ?3 FROM releases WHERE id = ?1 AND "
        "status = 'open' AND reopen_count = ?4 AND deadline = ?5",
        &d);
    if (q == NULL)
        goto fail_tx;
    sqlite3_bind_int64(q, 1, st->release_id);
    sqlite3_bind_text(q, 2, stage, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, at, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, st->cycle);
    sqlite3_bind_text(q, 5, st->deadline_text, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        relm_store_fail(sv->s, &d, "sla");
        goto fail_tx;
    }
    if (sqlite3_changes(relm_store_db(sv->s)) == 0) {
        relm_store_rollback(sv->s);
        return 0;
    }
    if (st->breach)
        snprintf(note, sizeof note, "SLA breached: the time limit %s passed",
                 st->deadline_text);
    else
        snprintf(note, sizeof note,
                 "SLA warning: %g%% of the allowance used; time limit %s",
                 sv->set.warning_percent, st->deadline_text);
    relm_occurrence o = {.at = at, .subject = "release",
                         .subject_id = st->release_id,
                         .action = st->breach ? "sla.breached" : "sla.warning",
                         .from_state = st->state, .to_state = st->state,
                         .note = note};
    if (relm_audit_append(sv->s, &o, NULL, &d) != RELM_OK)
        goto fail_tx;
    if (relm_store_commit(sv->s, &d) != RELM_OK)
        goto fail_tx;
    char id[32];
    snprintf(id, sizeof id, "%" PRId64, st->release_id);
    relm_serve_log(sv, st->breach ? "sla.breached" : "sla.warning",
                   "release", id, "at", at, "deadline", st->deadline_text,
                   RELM_LOG_END);
    return 0;
fail_tx:
    relm_store_rollback(sv->s);
fail:
    relm_serve_log(sv, "error", "what", "sla", "code", d.code, "message",
                   d.msg, RELM_LOG_END);
    return -1;
}

void relm_sla_pass(relm_serve *sv, double now, double *next)
{
    *next = 0;
    relm_diag d;
    sqlite3_stmt *q = relm_store_stmt(
        sv->s,
        "SELECT r.id, r.reopen_count, CAST(strftime('%s', r.deadline) AS "
        "INTEGER), r.sla_seconds, r.state, r.deadline, EXISTS (SELECT 1 FROM "
        "sla_stages s WHERE s.release_id = r.id AND s.cycle = r.reopen_count "
        "AND s.stage = 'warning'), EXISTS (SELECT 1 FROM sla_stages s WHERE "
        "s.release_id = r.id AND s.cycle = r.reopen_count AND s.stage = "
        "'breached') FROM releases r WHERE r.status = 'open' AND r.deadline "
        "IS NOT NULL AND r.sla_seconds > 0",
        &d);
    if (q == NULL) {
        relm_serve_log(sv, "error", "what", "sla", "message", d.msg, RELM_LOG_END);
        return;
    }
    /* Collect first: firing writes, and q must be done before that. */
    due_stage *due = NULL;
    size_t n = 0, cap = 0;
    double keep = 0;
    double frac = 1.0 - sv->set.warning_percent / 100.0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        due_stage st = {0};
        st.release_id = sqlite3_column_int64(q, 0);
        st.cycle = sqlite3_column_int64(q, 1);
        st.deadline = sqlite3_column_int64(q, 2);
        st.sla = sqlite3_column_int64(q, 3);
        relm_store_column_copy(q, 4, st.state, sizeof st.state);
        relm_store_column_copy(q, 5, st.deadline_text,
                               sizeof st.deadline_text);
        int warned = sqlite3_column_int(q, 6);
        int breached = sqlite3_column_int(q, 7);
        if (breached)
            continue;
        /* The warning comes when warning_percent of the allowance is used:
         * deadline - (1 - p) * allowance, whatever suspensions moved the
         * deadline by (the time left is what the deadline counts down).
         * In fractions of a second: a 3-second SLA warns 0.75 s before its
         * deadline, not at it (whole seconds rounded the 0.75 away). */
        double warn_at = (double)st.deadline - (double)st.sla * frac;
        double moments[2] = {warn_at, (double)st.deadline};
        for (int k = warned ? 1 : 0; k < 2; k++) {
            if (moments[k] > now) {
                if (keep == 0 || moments[k] < keep)
                    keep = moments[k];
                break;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                due_stage *g = realloc(due, cap * sizeof *due);
                if (g == NULL)
                    break;
                due = g;
            }
            st.breach = k == 1;
            st.at = (int64_t)floor(moments[k]); /* stored in whole seconds */
            due[n++] = st;
        }
    }
    sqlite3_reset(q);
    int failed = 0;
    for (size_t i = 0; i < n; i++)
        failed |= fire(sv, &due[i]) != 0;
    free(due);
    /* A stage that could not be written (the database busy past its
     * timeout) is tried again in a second. */
    if (failed && (keep == 0 || keep > now + 1))
        keep = now + 1;
    *next = keep;
}
