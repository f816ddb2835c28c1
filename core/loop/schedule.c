/* schedule.c: serve's schedules: suspended releases reactivated at their
 * reactivate_at, activity due/overdue and planned-start reminders. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "base/i18n.h"
#include "base/time.h"
#include "loop/serve_int.h"
#include "release.h"

/* One reminder due: kind (the occurrence's action and the event's name),
 * the release and activity it is about, the moment it is for (the stored
 * date, as text: a changed date is a new reminder) and when it happened. */
typedef struct reminder {
    const char *kind;
    int64_t release_id;
    int64_t subject;      /* activity id, or the release id */
    int64_t at;           /* the moment it really happened */
    char moment[40];
    char title[200];
    char owner[160];
    char state[64];
} reminder;

typedef struct reminders {
    reminder *v;
    size_t n, cap;
} reminders;

static reminder *push(reminders *r)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        reminder *g = realloc(r->v, cap * sizeof *g);
        if (g == NULL)
            return NULL;
        r->v = g;
        r->cap = cap;
    }
    memset(&r->v[r->n], 0, sizeof r->v[0]);
    return &r->v[r->n++];
}

static void log_error(relm_serve *sv, const relm_diag *d)
{
    relm_serve_log(sv, "error", "what", "schedule", "code", d->code,
                   "message", d->msg, RELM_LOG_END);
}

/* The nearer of two moments, 0 meaning none. */
static double nearer(double a, double b)
{
    if (a <= 0)
        return b;
    if (b <= 0)
        return a;
    return a < b ? a : b;
}

/* The smallest value of the one-column query sql with ?1 = after (epoch
 * seconds), or 0 when it has none. */
static double next_moment(relm_serve *sv, const char *sql, int64_t after)
{
    relm_diag d;
    sqlite3_stmt *q = relm_store_stmt(sv->s, sql, &d);
    if (q == NULL) {
        log_error(sv, &d);
        return 0;
    }
    sqlite3_bind_int64(q, 1, after);
    double v = 0;
    if (sqlite3_step(q) == SQLITE_ROW &&
        sqlite3_column_type(q, 0) != SQLITE_NULL)
        v = sqlite3_column_double(q, 0);
    sqlite3_reset(q);
    return v;
}

/* ---- reminders ---------------------------------------------------------- */

/* The guard of each kind's INSERT: the subject still stands as it did at
 * the scan (open release, activity not finished, same date), so a change
 * committed since wins. ?1 subject, ?2 moment text. */
static const char *still_due(const char *kind)
{
    if (strcmp(kind, "release.planned_start") == 0)
        return "SELECT 1 FROM releases WHERE id = ?1 AND status = 'open' "
               "AND planned_start = ?2";
    return "SELECT 1 FROM activities a JOIN releases r ON r.id = "
           "a.release_id WHERE a.id = ?1 AND a.scheduled_at = ?2 AND "
           "a.status IN ('todo', 'in_progress') AND r.status = 'open'";
}

/* Record reminder m in one transaction: the fired row (once per subject
 * and moment, whoever tries again) and the release's occurrence, whose
 * event the outbox carries. Returns 0, or -1 when the write failed. */
static int fire(relm_serve *sv, const reminder *m)
{
    relm_diag d;
    char at[32], note[600], sql[400];
    relm_time_format(m->at, at);
    if (relm_store_begin(sv->s, &d) != RELM_OK)
        goto fail;
    snprintf(sql, sizeof sql,
             "INSERT OR IGNORE INTO schedule_fired (kind, subject, moment, "
             "at) SELECT ?3, ?1, ?2, ?4 WHERE EXISTS (%s)",
             still_due(m->kind));
    sqlite3_stmt *q = relm_store_stmt(sv->s, sql, &d);
    if (q == NULL)
        goto fail_tx;
    sqlite3_bind_int64(q, 1, m->subject);
    sqlite3_bind_text(q, 2, m->moment, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, m->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, at, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        relm_store_fail(sv->s, &d, "schedule");
        goto fail_tx;
    }
    if (sqlite3_changes(relm_store_db(sv->s)) == 0) {
        relm_store_rollback(sv->s);
        return 0;
    }
    const char *owner = m->owner[0] ? m->owner : _("nobody");
    if (strcmp(m->kind, "activity.due") == 0)
        snprintf(note, sizeof note,
                 _("activity %" PRId64 " \"%s\" (owner %s) is due at %s"),
                 m->subject, m->title, owner, m->moment);
    else if (strcmp(m->kind, "activity.overdue") == 0)
        snprintf(note, sizeof note,
                 _("activity %" PRId64 " \"%s\" (owner %s) is overdue: it "
                   "was due at %s"),
                 m->subject, m->title, owner, m->moment);
    else
        snprintf(note, sizeof note, _("the planned start %s is near"),
                 m->moment);
    relm_occurrence o = {.at = at, .subject = "release",
                         .subject_id = m->release_id, .action = m->kind,
                         .from_state = m->state, .to_state = m->state,
                         .note = note};
    if (relm_audit_append(sv->s, &o, NULL, &d) != RELM_OK)
        goto fail_tx;
    if (relm_store_commit(sv->s, &d) != RELM_OK)
        goto fail_tx;
    char rid[32], sid[32];
    snprintf(rid, sizeof rid, "%" PRId64, m->release_id);
    snprintf(sid, sizeof sid, "%" PRId64, m->subject);
    if (strcmp(m->kind, "release.planned_start") == 0)
        relm_serve_log(sv, m->kind, "release", rid, "at", at,
                       "planned_start", m->moment, RELM_LOG_END);
    else
        relm_serve_log(sv, m->kind, "release", rid, "activity", sid, "at",
                       at, "due", m->moment, "owner", m->owner,
                       RELM_LOG_END);
    return 0;
fail_tx:
    relm_store_rollback(sv->s);
fail:
    log_error(sv, &d);
    return -1;
}

/* Collect into out the reminders of kind due by now: the rows of sql
 * (?1 = now, ?2 = lead seconds, ?3 = kind) as release id, subject, moment
 * epoch, moment text, title, owner, state, subject written (epoch). offset: seconds from the
 * moment to when the reminder happens (-lead for a reminder ahead). */
static void collect(relm_serve *sv, const char *sql, const char *kind,
                    int64_t now, int64_t lead, int64_t offset, reminders *out)
{
    relm_diag d;
    sqlite3_stmt *q = relm_store_stmt(sv->s, sql, &d);
    if (q == NULL) {
        log_error(sv, &d);
        return;
    }
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int64(q, 2, lead);
    sqlite3_bind_text(q, 3, kind, -1, SQLITE_STATIC);
    while (sqlite3_step(q) == SQLITE_ROW) {
        reminder *m = push(out);
        if (m == NULL)
            break;
        m->kind = kind;
        m->release_id = sqlite3_column_int64(q, 0);
        m->subject = sqlite3_column_int64(q, 1);
        /* When it really happened: the moment, but not before the date
         * was set (a subject written since then, say registered with a
         * planned start within the lead) nor after now. */
        m->at = sqlite3_column_int64(q, 2) + offset;
        int64_t written = sqlite3_column_int64(q, 7);
        if (m->at < written)
            m->at = written;
        if (m->at > now)
            m->at = now;
        relm_store_column_copy(q, 3, m->moment, sizeof m->moment);
        relm_store_column_copy(q, 4, m->title, sizeof m->title);
        relm_store_column_copy(q, 5, m->owner, sizeof m->owner);
        relm_store_column_copy(q, 6, m->state, sizeof m->state);
    }
    sqlite3_reset(q);
}

/* Activities of open releases, not finished, scheduled (their due moment
 * is scheduled_at); owner: the person, else the group. From the
 * activities' due index outward (CROSS JOIN keeps that order): left to
 * itself the planner went through every open release by releases_status
 * and looked at each one's activities, a pass over all open releases per
 * look. */
#define ACTIVITY_ROWS                                                        \
    "SELECT a.release_id, a.id, unixepoch(a.scheduled_at), a.scheduled_at, " \
    "a.title, coalesce((SELECT name FROM users WHERE id = "                  \
    "a.owner_user_id), (SELECT name FROM groups WHERE id = "                 \
    "a.owner_group_id), ''), r.state, unixepoch(a.updated_at) FROM "         \
    "activities a CROSS JOIN releases r ON "                                 \
    "r.id = a.release_id WHERE a.scheduled_at IS NOT NULL AND a.status IN "  \
    "('todo', 'in_progress') AND r.status = 'open' AND NOT EXISTS (SELECT "  \
    "1 FROM schedule_fired f WHERE f.kind = ?3 AND f.subject = a.id AND "    \
    "f.moment = a.scheduled_at) AND "

/* Fire the reminders due at now; return the next reminder moment (0 =
 * none). A lead reminder whose moment itself has passed too (serve was
 * down through both) is left out: the overdue one says more. */
static double reminders_pass(relm_serve *sv, int64_t now, int *failed)
{
    int64_t due_lead = (int64_t)sv->set.due_lead;
    int64_t start_lead = (int64_t)sv->set.planned_start_lead;
    reminders r = {0};
    collect(sv, ACTIVITY_ROWS "unixepoch(a.scheduled_at) <= ?1",
            "activity.overdue", now, 0, 0, &r);
    collect(sv,
            ACTIVITY_ROWS "unixepoch(a.scheduled_at) > ?1 AND "
                          "unixepoch(a.scheduled_at) <= ?1 + ?2",
            "activity.due", now, due_lead, -due_lead, &r);
    collect(sv,
            "SELECT id, id, unixepoch(planned_start), planned_start, title, "
            "'', state, unixepoch(updated_at) FROM releases r INDEXED BY "
            "releases_planned_start WHERE "
            "planned_start IS NOT NULL AND "
            "status = 'open' AND unixepoch(planned_start) > ?1 AND "
            "unixepoch(planned_start) <= ?1 + ?2 AND NOT EXISTS (SELECT 1 "
            "FROM schedule_fired f WHERE f.kind = ?3 AND f.subject = r.id "
            "AND f.moment = r.planned_start)",
            "release.planned_start", now, start_lead, -start_lead, &r);
    for (size_t i = 0; i < r.n; i++)
        *failed |= fire(sv, &r.v[i]) != 0;
    free(r.v);
    /* The next moments, each from its index (see 0050_schedules.sql;
     * releases_planned_start named, or the planner takes releases_status
     * and reads every open release, as for the reminders above). */
    double next = next_moment(
        sv,
        "SELECT min(unixepoch(scheduled_at)) FROM activities WHERE "
        "scheduled_at IS NOT NULL AND status IN ('todo', 'in_progress') AND "
        "unixepoch(scheduled_at) > ?1",
        now);
    double ahead = next_moment(
        sv,
        "SELECT min(unixepoch(scheduled_at)) FROM activities WHERE "
        "scheduled_at IS NOT NULL AND status IN ('todo', 'in_progress') AND "
        "unixepoch(scheduled_at) > ?1",
        now + due_lead);
    next = nearer(next, ahead > 0 ? ahead - (double)due_lead : 0);
    ahead = next_moment(sv,
                        "SELECT min(unixepoch(planned_start)) FROM releases "
                        "INDEXED BY releases_planned_start "
                        "WHERE planned_start IS NOT NULL AND status = 'open' "
                        "AND unixepoch(planned_start) > ?1",
                        now + start_lead);
    return nearer(next, ahead > 0 ? ahead - (double)start_lead : 0);
}

/* ---- reactivation ------------------------------------------------------- */

/* Reactivate the suspended releases whose reactivate_at has come, each
 * through the real primitive as serve's user (permission `reactivate` on
 * the release's workflow, checked in C). Returns the next reactivate_at
 * (0 = none). */
static double reactivate_pass(relm_serve *sv, int64_t now, int *failed)
{
    relm_diag d;
    char now_text[32];
    relm_time_format(now, now_text);
    sqlite3_stmt *q = relm_store_stmt(
        sv->s,
        "SELECT id, reactivate_at, workflow FROM releases WHERE "
        "reactivate_at IS NOT NULL AND reactivate_at <= ?1 AND status = "
        "'suspended' ORDER BY reactivate_at LIMIT 64",
        &d);
    if (q == NULL) {
        log_error(sv, &d);
        *failed = 1;
        return 0;
    }
    struct due {
        int64_t id;
        char at[40];
        char workflow[128];
    } due[64];
    int n = 0;
    sqlite3_bind_text(q, 1, now_text, -1, SQLITE_STATIC);
    while (n < 64 && sqlite3_step(q) == SQLITE_ROW) {
        due[n].id = sqlite3_column_int64(q, 0);
        relm_store_column_copy(q, 1, due[n].at, sizeof due[n].at);
        relm_store_column_copy(q, 2, due[n].workflow,
                               sizeof due[n].workflow);
        n++;
    }
    sqlite3_reset(q);
    for (int i = 0; i < n; i++) {
        char note[200], id[32];
        snprintf(note, sizeof note,
                 _("reactivated by relm serve: reactivate_at %s"), due[i].at);
        snprintf(id, sizeof id, "%" PRId64, due[i].id);
        relm_release_op op = {.action = "reactivate", .note = note};
        /* The C primitive needs the workflow compiled by the engine. */
        if ((sv->define == NULL ||
             sv->define(sv->define_ctx, due[i].workflow, &d) == RELM_OK) &&
            relm_release_apply(sv->s, due[i].id, &op, NULL, &d) == RELM_OK) {
            relm_serve_log(sv, "reactivated", "release", id,
                           "reactivate_at", due[i].at, RELM_LOG_END);
            continue;
        }
        *failed = 1;
        relm_serve_log(sv, "error", "what", "reactivate", "release", id,
                       "code", d.code, "message", d.msg, RELM_LOG_END);
    }
    if (n == 64 && !*failed)
        return (double)now; /* more are due: at once */
    /* reactivate_at is stored in one form, whose text order is time's. */
    return next_moment(sv,
                       "SELECT unixepoch(min(reactivate_at)) FROM releases "
                       "WHERE reactivate_at IS NOT NULL AND reactivate_at > "
                       "strftime('%Y-%m-%dT%H:%M:%SZ', ?1, 'unixepoch')",
                       now);
}

void relm_schedule_pass(relm_serve *sv, double now, double *next)
{
    int failed = 0;
    int64_t t = (int64_t)floor(now);
    double keep = reactivate_pass(sv, t, &failed);
    keep = nearer(keep, reminders_pass(sv, t, &failed));
    /* A write that failed (busy past its timeout, a permission missing)
     * is tried again in a minute, not at once: no busy loop. */
    if (failed)
        keep = nearer(keep, now + 60);
    if (keep > 0 && keep <= now)
        keep = now;
    /* 10 ms late: the primitives' clock, time(), is coarse and may still
     * read the second before at the exact moment. */
    *next = keep > 0 ? keep + 0.01 : 0;
}
