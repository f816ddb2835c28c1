/* sla.c: the SLA clock of one release in business time, settled by the
 * primitives that move it (core/loop/sla.c fires the stages it names). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "calendar.h"
#include "sla.h"

double relm_sla_default_percent(relm_store *s)
{
    relm_diag d;
    sqlite3_stmt *q = relm_store_stmt(
        s, "SELECT value FROM serve_settings WHERE key = "
           "'sla_warning_percent'", &d);
    double v = 75;
    if (q != NULL && sqlite3_step(q) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(q, 0);
        char *end;
        double x = t != NULL ? strtod(t, &end) : 0;
        if (t != NULL && end != t && *end == '\0' && x > 0 && x < 100)
            v = x;
    }
    if (q != NULL)
        sqlite3_reset(q);
    return v;
}

int relm_sla_settle(relm_store *s, int64_t id, int64_t now, relm_diag *d)
{
    sqlite3_stmt *q = relm_store_stmt(
        s, "SELECT status, calendar, sla_seconds, CAST(strftime('%s', "
           "deadline) AS INTEGER), remaining_seconds, sla_warning_percent, "
           "(SELECT group_concat(stage) FROM sla_stages s WHERE s.release_id "
           "= r.id AND s.cycle = r.reopen_count) FROM releases r WHERE id = ?1",
        d);
    if (q == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(q, 1, id);
    int rc = relm_store_step_row(s, q, d, "sla");
    if (rc != RELM_OK)
        return rc == RELM_NOT_FOUND ? RELM_OK : RELM_ERR;
    char status[16], cal[128], fired[64];
    relm_store_column_copy(q, 0, status, sizeof status);
    relm_store_column_copy(q, 1, cal, sizeof cal);
    int64_t sla = sqlite3_column_int64(q, 2);
    int has_deadline = sqlite3_column_type(q, 3) != SQLITE_NULL;
    int64_t deadline = sqlite3_column_int64(q, 3);
    int has_rem = sqlite3_column_type(q, 4) != SQLITE_NULL;
    int64_t rem = sqlite3_column_int64(q, 4);
    double pct = sqlite3_column_type(q, 5) != SQLITE_NULL
                     ? sqlite3_column_double(q, 5) : 0;
    relm_store_column_copy(q, 6, fired, sizeof fired);
    sqlite3_reset(q);
    if (sla <= 0)
        return RELM_OK;
    if (pct <= 0)
        pct = relm_sla_default_percent(s);
    const char *stage = strstr(fired, "breached") ? "breached"
                        : strstr(fired, "warning") ? "warning"
                                                   : "in_progress";
    int open = strcmp(status, "open") == 0 && has_deadline;
    double warn_at = 0, next_at = 0;
    if (open) {
        /* The write set deadline = now + allowance left, 24x7. */
        int64_t left = deadline - now;
        if (cal[0] != '\0' &&
            relm_calendar_after(s, cal, now, left, &deadline, d) != RELM_OK)
            return RELM_ERR;
        double thr = (double)sla * (1.0 - pct / 100.0);
        if (cal[0] == '\0') {
            /* In fractions of a second: a 3-second SLA warns 0.75 s before
             * its deadline, not at it. */
            warn_at = (double)deadline - thr;
        } else {
            int64_t w = now;
            if ((double)left > thr &&
                relm_calendar_after(s, cal, now,
                                    (int64_t)floor((double)left - thr), &w,
                                    d) != RELM_OK)
                return RELM_ERR;
            warn_at = (double)w;
        }
        if (strcmp(stage, "in_progress") == 0)
            next_at = warn_at;
        else if (strcmp(stage, "warning") == 0)
            next_at = (double)deadline;
    } else if (strcmp(status, "suspended") == 0 && has_rem && cal[0] != '\0') {
        /* The write kept remaining = old deadline - now, 24x7. */
        if (relm_calendar_between(s, cal, now, now + rem, &rem, d) != RELM_OK)
            return RELM_ERR;
    }
    char dl[32];
    relm_time_format(deadline, dl);
    q = relm_store_stmt(
        s, "UPDATE releases SET deadline = CASE WHEN ?2 THEN ?3 ELSE "
           "deadline END, remaining_seconds = CASE WHEN ?4 THEN ?5 ELSE "
           "remaining_seconds END, sla_stage = ?6, sla_warn_at = ?7, "
           "sla_next_at = ?8 WHERE id = ?1", d);
    if (q == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int(q, 2, open);
    sqlite3_bind_text(q, 3, dl, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(q, 4, has_rem && !open);
    sqlite3_bind_int64(q, 5, rem);
    sqlite3_bind_text(q, 6, stage, -1, SQLITE_STATIC);
    if (open)
        sqlite3_bind_double(q, 7, warn_at);
    else
        sqlite3_bind_null(q, 7);
    if (next_at > 0)
        sqlite3_bind_double(q, 8, next_at);
    else
        sqlite3_bind_null(q, 8);
    return relm_store_step_write(s, q, d, "release %lld", (long long)id);
}
