/* retention.c: serve prunes delivered events older than outbox_keep_days,
 * a small batch at a time when idle; dead letters and occurrences stay. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "base/time.h"
#include "loop/serve_int.h"

/* Events per batch: one short write transaction, so a REPL committing at
 * the same moment waits a few milliseconds at most. */
enum { BATCH = 200 };

/* Delete the events ids[0..n) and their (all delivered) deliveries in one
 * transaction. Returns RELM_OK or RELM_ERR with d filled. */
static int delete_batch(relm_serve *sv, const int64_t *ids, int n,
                        relm_diag *d)
{
    static const char *const sql[] = {
        "DELETE FROM deliveries WHERE outbox_id = ?1",
        "DELETE FROM outbox WHERE id = ?1",
    };
    if (relm_store_begin(sv->s, d) != RELM_OK)
        return RELM_ERR;
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof sql / sizeof sql[0]; k++) {
            sqlite3_stmt *q = relm_store_stmt(sv->s, sql[k], d);
            if (q == NULL)
                goto fail;
            sqlite3_bind_int64(q, 1, ids[i]);
            int rc = sqlite3_step(q);
            sqlite3_reset(q);
            if (rc != SQLITE_DONE) {
                relm_store_fail(sv->s, d, "outbox retention");
                goto fail;
            }
        }
    }
    return relm_store_commit(sv->s, d);
fail:
    relm_store_rollback(sv->s);
    return RELM_ERR;
}

double relm_retention_pass(relm_serve *sv, double now)
{
    relm_diag d;
    char cutoff[32];
    relm_time_format((int64_t)floor(now - sv->set.keep_days * 86400), cutoff);
    /* Events older than the cutoff whose every delivery was delivered (or
     * that had none); one with a queued or dead delivery is kept whole. */
    sqlite3_stmt *q = relm_store_stmt(
        sv->s,
        "SELECT id FROM outbox o WHERE at < ?1 AND NOT EXISTS (SELECT 1 FROM "
        "deliveries d WHERE d.outbox_id = o.id AND d.status <> 'delivered') "
        "ORDER BY at LIMIT ?2",
        &d);
    if (q == NULL)
        goto fail;
    int64_t ids[BATCH];
    int n = 0;
    sqlite3_bind_text(q, 1, cutoff, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, BATCH);
    while (n < BATCH && sqlite3_step(q) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    if (n > 0) {
        if (delete_batch(sv, ids, n, &d) != RELM_OK)
            goto fail;
        char k[16];
        snprintf(k, sizeof k, "%d", n);
        relm_serve_log(sv, "pruned", "events", k, "before", cutoff,
                       RELM_LOG_END);
        if (n == BATCH)
            return now + 0.05; /* more to do: soon, letting others in */
    }
    /* The next event to come of age: the oldest one younger than the
     * cutoff (through the index on at). One still undelivered then is
     * passed over by the cutoff moving on, so this never spins. */
    q = relm_store_stmt(sv->s,
                        "SELECT unixepoch(min(at)) FROM outbox WHERE at >= ?1",
                        &d);
    if (q == NULL)
        goto fail;
    sqlite3_bind_text(q, 1, cutoff, -1, SQLITE_STATIC);
    double next = 0;
    if (sqlite3_step(q) == SQLITE_ROW &&
        sqlite3_column_type(q, 0) != SQLITE_NULL)
        next = sqlite3_column_double(q, 0) + sv->set.keep_days * 86400 + 1;
    sqlite3_reset(q);
    return next;
fail:
    relm_serve_log(sv, "error", "what", "retention", "code", d.code,
                   "message", d.msg, RELM_LOG_END);
    return now + 60;
}
