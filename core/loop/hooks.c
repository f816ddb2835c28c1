/* hooks.c: serve's side of relm.on hooks: fan each outbox event out to the
 * hooks it matches (durable hook_runs rows), run them, retry, dead-letter. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/time.h"
#include "loop/serve_int.h"

enum { FANOUT_BATCH = 1000, RUN_BATCH = 32, REASON_MAX = 600 };

void relm_hooks_reload(relm_serve *sv)
{
    const relm_hooks_iface *h = sv->hooks;
    if (h == NULL)
        return;
    char err[REASON_MAX], n[16];
    int count = 0;
    snprintf(sv->hooks_dir_loaded, sizeof sv->hooks_dir_loaded, "%s",
             sv->set.hooks_dir);
    sv->hooks_next = relm_serve_now(); /* runs may wait for these hooks */
    if (h->reload(h->ctx, sv->set.hooks_dir, &count, err, sizeof err) != 0) {
        /* Events stay unfanned (the cursor waits) until the files load:
         * a hook fixed later still sees what happened meanwhile. */
        sv->hooks_ok = 0;
        static const char code[] = "invalid_hook: ";
        if (strncmp(err, code, sizeof code - 1) == 0)
            memmove(err, err + sizeof code - 1, strlen(err) - sizeof code + 2);
        relm_serve_log(sv, "error", "what", "hooks", "code", "invalid_hook",
                       "message", err, RELM_LOG_END);
        return;
    }
    sv->hooks_ok = 1;
    sv->hooks_count = count;
    if (sv->set.hooks_dir[0] == '\0')
        return;
    snprintf(n, sizeof n, "%d", count);
    relm_serve_log(sv, "hooks.loaded", "dir", sv->set.hooks_dir, "hooks", n,
                   RELM_LOG_END);
}

void relm_hooks_start(relm_serve *sv)
{
    relm_diag d;
    if (sv->hooks == NULL)
        return;
    /* As for deliveries: only one serve runs, so every claim is an orphan
     * of a killed one: run those again (at least once). */
    if (relm_store_exec(sv->s,
                        "UPDATE hook_runs SET claimed = 0 WHERE claimed = 1",
                        &d) != RELM_OK)
        relm_serve_log(sv, "error", "what", "release hook claims", "message",
                       d.msg, RELM_LOG_END);
    sqlite3_stmt *q = relm_store_stmt(
        sv->s, "SELECT outbox_id FROM hook_cursor WHERE id = 1", &d);
    if (q != NULL && sqlite3_step(q) == SQLITE_ROW)
        sv->hooks_cursor = sqlite3_column_int64(q, 0);
    if (q != NULL)
        sqlite3_reset(q);
    relm_hooks_reload(sv);
}

/* Queue one run per hook the events (from, to] match, through the Lua
 * runner; *last = the last event looked at (at most FANOUT_BATCH). */
static int fan_out_hooks(relm_serve *sv, int64_t from, int64_t to,
                         int64_t *last, int *fanned, relm_diag *d)
{
    const relm_hooks_iface *h = sv->hooks;
    sqlite3_stmt *q = relm_store_stmt(
        sv->s,
        "SELECT id, event FROM outbox WHERE id > ?1 AND id <= ?2 ORDER BY id "
        "LIMIT ?3",
        d);
    sqlite3_stmt *ins = relm_store_stmt(
        sv->s,
        "INSERT OR IGNORE INTO hook_runs (outbox_id, hook) VALUES (?1, ?2)",
        d);
    if (q == NULL || ins == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(q, 1, from);
    sqlite3_bind_int64(q, 2, to);
    sqlite3_bind_int(q, 3, FANOUT_BATCH);
    char keys[8192];
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        *last = sqlite3_column_int64(q, 0);
        const char *event = (const char *)sqlite3_column_text(q, 1);
        if (h->match(h->ctx, event, keys, sizeof keys) == 0)
            continue;
        for (char *k = keys, *nl; (nl = strchr(k, '\n')) != NULL;
             k = nl + 1) {
            *nl = '\0';
            *fanned = 1;
            sqlite3_bind_int64(ins, 1, *last);
            sqlite3_bind_text(ins, 2, k, -1, SQLITE_STATIC);
            int irc = sqlite3_step(ins);
            sqlite3_reset(ins);
            if (irc != SQLITE_DONE) {
                sqlite3_reset(q);
                return relm_store_fail(sv->s, d, "hook runs");
            }
        }
    }
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? RELM_OK : relm_store_fail(sv->s, d, "outbox");
}

/* Run the INSERT ... SELECT sql over the events (from, to]: ?1 and ?2 are
 * the range; *fanned = 1 when it queued runs. */
static int fan_out_range(relm_serve *sv, const char *sql, const char *what,
                         int64_t from, int64_t to, int *fanned, relm_diag *d)
{
    sqlite3_stmt *q = relm_store_stmt(sv->s, sql, d);
    if (q == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(q, 1, from);
    sqlite3_bind_int64(q, 2, to);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return relm_store_fail(sv->s, d, what);
    if (sqlite3_changes(relm_store_db(sv->s)) > 0)
        *fanned = 1;
    return RELM_OK;
}

/* Queue a run of the release model's e-mail template for each event in
 * (from, to] that has one: creation (registered), closure (closed),
 * actions (any other release action); and, for an escalation rule's
 * notify = "group", the mail to that group, run as the templates are
 * (relm.hooks "escalation:notify" reads the group from the sla.escalated
 * occurrence core/sla.c wrote). One statement each for the range; the
 * first skips the range at once when no model has templates (SQLite tests
 * that uncorrelated EXISTS once, before the join over every event). */
static int fan_out_templates(relm_serve *sv, int64_t from, int64_t to,
                             int *fanned, relm_diag *d)
{
    if (fan_out_range(
            sv,
            "INSERT OR IGNORE INTO hook_runs (outbox_id, hook) SELECT id, "
            "'template:' || which FROM (SELECT o.id, m.templates, CASE WHEN "
            "o.event = 'release.registered' THEN 'creation' WHEN o.event = "
            "'release.closed' THEN 'closure' WHEN o.event GLOB 'release.*' "
            "THEN 'actions' END AS which FROM outbox o JOIN releases r ON "
            "r.id = o.release_id JOIN models m ON m.id = r.model_id WHERE "
            "o.id > ?1 AND o.id <= ?2 AND m.templates <> '{}' AND EXISTS "
            "(SELECT 1 FROM models WHERE templates <> '{}')) WHERE which "
            "IS NOT NULL AND json_type(templates, '$.' || which) IS NOT NULL",
            "template runs", from, to, fanned, d) != RELM_OK)
        return RELM_ERR;
    return fan_out_range(
        sv,
        "INSERT OR IGNORE INTO hook_runs (outbox_id, hook) SELECT x.id, "
        "'escalation:notify' FROM outbox x JOIN occurrences o ON o.id = "
        "x.occurrence_id WHERE x.id > ?1 AND x.id <= ?2 AND x.event = "
        "'sla.escalated' AND o.note GLOB '*: notify group ?*'",
        "escalation mail runs", from, to, fanned, d);
}

/* Give each event past the cursor its queued runs (hooks, templates) and
 * move the cursor, in one transaction. With no hooks loaded this is a few
 * statements whatever the number of events. Returns RELM_OK or RELM_ERR
 * (d); *fanned = 1 when runs were queued or events are left. */
static int fan_out(relm_serve *sv, int *fanned, relm_diag *d)
{
    *fanned = 0;
    /* Most passes find nothing new: a read, not a write transaction. */
    sqlite3_stmt *m = relm_store_stmt(sv->s, "SELECT max(id) FROM outbox", d);
    if (m == NULL)
        return RELM_ERR;
    int64_t top = sqlite3_step(m) == SQLITE_ROW ? sqlite3_column_int64(m, 0)
                                                : 0;
    sqlite3_reset(m);
    int64_t from = sv->hooks_cursor, last = top;
    if (top <= from)
        return RELM_OK;
    if (relm_store_begin(sv->s, d) != RELM_OK)
        return RELM_ERR;
    sqlite3_stmt *cur = relm_store_stmt(
        sv->s, "UPDATE hook_cursor SET outbox_id = ?1 WHERE id = 1", d);
    if (cur == NULL ||
        (sv->hooks_count > 0 &&
         fan_out_hooks(sv, from, top, &last, fanned, d) != RELM_OK) ||
        fan_out_templates(sv, from, last, fanned, d) != RELM_OK)
        goto fail;
    sqlite3_bind_int64(cur, 1, last);
    int rc = sqlite3_step(cur);
    sqlite3_reset(cur);
    if (rc != SQLITE_DONE) {
        relm_store_fail(sv->s, d, "hook cursor");
        goto fail;
    }
    if (relm_store_commit(sv->s, d) != RELM_OK)
        goto fail;
    sv->hooks_cursor = last;
    if (last < top)
        *fanned = 1; /* more than a batch: come back at once */
    return RELM_OK;
fail:
    relm_store_rollback(sv->s);
    return RELM_ERR;
}

/* One claimed run. */
typedef struct run {
    int64_t id, event_id;
    int attempts;
    char hook[256];
    char event[64];
    char *body;
} run;

/* Claim up to RUN_BATCH due runs (claimed = 1) in one transaction, so the
 * hooks themselves run outside it (their primitives open their own). */
static int claim_runs(relm_serve *sv, double now, run *runs, relm_diag *d)
{
    int n = 0;
    if (relm_store_begin(sv->s, d) != RELM_OK)
        return -1;
    sqlite3_stmt *q = relm_store_stmt(
        sv->s,
        "SELECT r.id, r.hook, r.attempts, o.id, o.event, json_object('id', "
        "o.id, 'event', o.event, 'at', o.at, 'release', json(o.payload)) "
        "FROM hook_runs r JOIN outbox o ON o.id = r.outbox_id WHERE "
        "r.status = 'queued' AND r.claimed = 0 AND r.next_at <= ?1 ORDER BY "
        "r.next_at, r.id LIMIT ?2",
        d);
    sqlite3_stmt *u = relm_store_stmt(
        sv->s, "UPDATE hook_runs SET claimed = 1 WHERE id = ?1", d);
    if (q == NULL || u == NULL)
        goto fail;
    sqlite3_bind_double(q, 1, now);
    sqlite3_bind_int(q, 2, RUN_BATCH);
    while (n < RUN_BATCH && sqlite3_step(q) == SQLITE_ROW) {
        run *r = &runs[n];
        r->id = sqlite3_column_int64(q, 0);
        relm_store_column_copy(q, 1, r->hook, sizeof r->hook);
        r->attempts = sqlite3_column_int(q, 2);
        r->event_id = sqlite3_column_int64(q, 3);
        relm_store_column_copy(q, 4, r->event, sizeof r->event);
        r->body = strdup((const char *)sqlite3_column_text(q, 5));
        if (r->body == NULL)
            break;
        n++;
    }
    sqlite3_reset(q);
    for (int i = 0; i < n; i++) {
        sqlite3_bind_int64(u, 1, runs[i].id);
        int rc = sqlite3_step(u);
        sqlite3_reset(u);
        if (rc != SQLITE_DONE) {
            relm_store_fail(sv->s, d, "claim hook runs");
            goto fail;
        }
    }
    if (relm_store_commit(sv->s, d) != RELM_OK)
        goto fail;
    return n;
fail:
    relm_store_rollback(sv->s);
    for (int i = 0; i < n; i++)
        free(runs[i].body);
    return -1;
}

/* Queue mail m of the run's event: to its address through the internal
 * subscription for that address (channel email, no events, inactive, so
 * no event fans out to it), with the rendered message. In the caller's
 * transaction. */
static int queue_mail(relm_serve *sv, const run *r, const relm_hooks_mail *m,
                      relm_diag *d)
{
    sqlite3_stmt *find = relm_store_stmt(
        sv->s,
        "SELECT id FROM subscriptions WHERE channel = 'email' AND recipient "
        "= ?1 AND url IS NULL AND events = '[]' AND active = 0",
        d);
    sqlite3_stmt *add = relm_store_stmt(
        sv->s,
        "INSERT INTO subscriptions (channel, recipient, events, active) "
        "VALUES ('email', ?1, '[]', 0)",
        d);
    sqlite3_stmt *ins = relm_store_stmt(
        sv->s,
        "INSERT OR IGNORE INTO deliveries (outbox_id, subscription_id, "
        "message) VALUES (?1, ?2, json_object('subject', ?3, 'body', ?4))",
        d);
    if (find == NULL || add == NULL || ins == NULL)
        return RELM_ERR;
    sqlite3_bind_text(find, 1, m->to, -1, SQLITE_STATIC);
    int64_t sub = 0;
    if (sqlite3_step(find) == SQLITE_ROW)
        sub = sqlite3_column_int64(find, 0);
    sqlite3_reset(find);
    if (sub == 0) {
        sqlite3_bind_text(add, 1, m->to, -1, SQLITE_STATIC);
        int rc = sqlite3_step(add);
        sqlite3_reset(add);
        if (rc != SQLITE_DONE)
            return relm_store_fail(sv->s, d, "mail subscription");
        sub = sqlite3_last_insert_rowid(relm_store_db(sv->s));
    }
    sqlite3_bind_int64(ins, 1, r->event_id);
    sqlite3_bind_int64(ins, 2, sub);
    sqlite3_bind_text(ins, 3, m->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 4, m->body, -1, SQLITE_STATIC);
    int rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    return rc == SQLITE_DONE ? RELM_OK : relm_store_fail(sv->s, d, "mail");
}

/* Write one run's outcome (status 1 done, 2 dead, 0 retry at next_at) and
 * queue its mails, in one transaction. */
static void record_run(relm_serve *sv, const run *r, int status,
                       double next_at, const char *reason,
                       const relm_hooks_mail *mails, int nmails)
{
    relm_diag d;
    char now[32];
    relm_time_format((int64_t)time(NULL), now);
    if (relm_store_begin(sv->s, &d) != RELM_OK)
        goto fail;
    sqlite3_stmt *u = relm_store_stmt(
        sv->s,
        "UPDATE hook_runs SET claimed = 0, attempts = attempts + 1, status = "
        "CASE ?2 WHEN 1 THEN 'done' WHEN 2 THEN 'dead' ELSE 'queued' END, "
        "next_at = ?3, last_error = CASE ?2 WHEN 1 THEN NULL ELSE ?4 END, "
        "done_at = CASE ?2 WHEN 1 THEN ?5 END WHERE id = ?1",
        &d);
    if (u == NULL)
        goto fail_tx;
    sqlite3_bind_int64(u, 1, r->id);
    sqlite3_bind_int(u, 2, status);
    sqlite3_bind_double(u, 3, next_at);
    sqlite3_bind_text(u, 4, reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(u, 5, now, -1, SQLITE_STATIC);
    int rc = sqlite3_step(u);
    sqlite3_reset(u);
    if (rc != SQLITE_DONE) {
        relm_store_fail(sv->s, &d, "hook run");
        goto fail_tx;
    }
    for (int i = 0; i < nmails; i++)
        if (queue_mail(sv, r, &mails[i], &d) != RELM_OK)
            goto fail_tx;
    if (relm_store_commit(sv->s, &d) == RELM_OK)
        return;
fail_tx:
    relm_store_rollback(sv->s);
fail:
    /* The row stays claimed: run again by the next serve (at least once). */
    relm_serve_log(sv, "error", "what", "record hook run", "code", d.code,
                   "message", d.msg, RELM_LOG_END);
}

/* Run one claimed hook, log it and record what became of it: done, or a
 * retry after backoff * 2^(tries-1) seconds, or dead after max_tries. */
static void run_one(relm_serve *sv, run *r)
{
    const relm_hooks_iface *h = sv->hooks;
    char err[REASON_MAX] = "", logs[4096] = "";
    relm_hooks_mail mails[RELM_HOOKS_MAX_MAILS];
    int nmails = 0;
    int rc = h->run(h->ctx, r->hook, r->body, logs, sizeof logs, mails,
                    &nmails, err, sizeof err);
    int failed = rc != 0;
    char id[32], ev[32], tries[16];
    snprintf(id, sizeof id, "%" PRId64, r->id);
    snprintf(ev, sizeof ev, "%" PRId64, r->event_id);
    snprintf(tries, sizeof tries, "%d", r->attempts + 1);
    for (char *l = logs, *nl; (nl = strchr(l, '\n')) != NULL; l = nl + 1) {
        *nl = '\0';
        relm_serve_log(sv, "hook.log", "hook", r->hook, "event_id", ev,
                       "message", l, RELM_LOG_END);
    }
    int status = 1;
    double next_at = 0;
    if (failed) {
        int tries_n = r->attempts + 1;
        status = rc == -2 || tries_n >= sv->set.max_tries ? 2 : 0;
        double wait = sv->set.backoff * pow(2.0, tries_n - 1);
        next_at = relm_serve_now() + (wait > 3600 ? 3600 : wait);
    }
    record_run(sv, r, status, next_at, err, mails, nmails);
    for (int i = 0; i < nmails; i++) {
        free(mails[i].to);
        free(mails[i].subject);
        free(mails[i].body);
    }
    static const char *const what[] = {"hook.retry", "hook.done",
                                       "hook.dead"};
    relm_serve_log(sv, what[status], "run", id, "hook", r->hook, "event_id",
                   ev, "event", r->event, "try", tries,
                   failed ? "reason" : RELM_LOG_END, err, RELM_LOG_END);
}

void relm_hooks_pass(relm_serve *sv, double now, int changed)
{
    if (sv->hooks == NULL || sv->stopping)
        return;
    relm_diag d;
    /* Another process's commit re-reads what changed on disk (serve's
     * reload does so for workflows and rules): hook files too. */
    if (strcmp(sv->hooks_dir_loaded, sv->set.hooks_dir) != 0 ||
        (changed && sv->hooks->changed != NULL &&
         sv->hooks->changed(sv->hooks->ctx)))
        relm_hooks_reload(sv);
    int fanned = 0;
    if (sv->hooks_ok && fan_out(sv, &fanned, &d) != RELM_OK) {
        relm_serve_log(sv, "error", "what", "hooks", "code", d.code,
                       "message", d.msg, RELM_LOG_END);
        sv->hooks_next = now + 1;
        return;
    }
    /* Claim only when something may be due: new runs, the known next
     * moment passed, or another process's commit (a replay). */
    if (!fanned && !changed &&
        (sv->hooks_next == 0 || sv->hooks_next > now))
        return;
    run runs[RUN_BATCH];
    int n = claim_runs(sv, now, runs, &d);
    if (n < 0) {
        relm_serve_log(sv, "error", "what", "claim hook runs", "code",
                       d.code, "message", d.msg, RELM_LOG_END);
        sv->hooks_next = now + 1;
        return;
    }
    for (int i = 0; i < n; i++) {
        run_one(sv, &runs[i]);
        free(runs[i].body);
    }
    sv->hooks_next = 0;
    /* A full batch may have more behind it, and what the hooks did made
     * events of its own: look again at once. */
    if (n > 0 || fanned) {
        sv->hooks_next = now;
        return;
    }
    sqlite3_stmt *q = relm_store_stmt(
        sv->s,
        "SELECT min(next_at) FROM hook_runs WHERE status = 'queued' AND "
        "claimed = 0",
        &d);
    if (q == NULL)
        return;
    if (sqlite3_step(q) == SQLITE_ROW &&
        sqlite3_column_type(q, 0) != SQLITE_NULL)
        sv->hooks_next = sqlite3_column_double(q, 0);
    sqlite3_reset(q);
}
