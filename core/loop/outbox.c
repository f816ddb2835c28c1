/* outbox.c: write each release occurrence's event into the outbox table in
 * the primitive's own transaction, and queue it for every subscription. */
#include "loop/outbox.h"

#include <stdio.h>
#include <string.h>

void relm_outbox_event_name(const char *action, char *out, size_t size)
{
    if (strcmp(action, "register") == 0)
        snprintf(out, size, "release.registered");
    else if (strchr(action, '.') != NULL)
        snprintf(out, size, "%s", action);
    else
        snprintf(out, size, "release.%s", action);
}

/* Insert one event with the release's current fields as payload, then one
 * queued delivery per matching subscription (patterns are GLOBs, so
 * "release.*" matches every release event). */
static int add_event(relm_store *s, const char *event,
                     const relm_occurrence *o, int64_t occurrence_id,
                     relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "INSERT INTO outbox (event, release_id, occurrence_id, at, payload) "
        "SELECT ?1, id, ?3, ?4, json_object('id', id, 'number', number, "
        "'title', title, 'state', state, 'status', status, 'phase', phase, "
        "'priority', priority, 'workflow', workflow, 'deadline', deadline, "
        "'sla_seconds', sla_seconds) FROM releases WHERE id = ?2",
        d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_text(st, 1, event, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, o->subject_id);
    sqlite3_bind_int64(st, 3, occurrence_id);
    sqlite3_bind_text(st, 4, o->at, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return relm_store_fail(s, d, "outbox");
    if (sqlite3_changes(relm_store_db(s)) == 0)
        return RELM_OK; /* no such release: nothing to tell */
    int64_t eid = sqlite3_last_insert_rowid(relm_store_db(s));
    st = relm_store_stmt(
        s,
        "INSERT INTO deliveries (outbox_id, subscription_id) SELECT ?1, s.id "
        "FROM subscriptions s WHERE s.active = 1 AND EXISTS (SELECT 1 FROM "
        "json_each(s.events) e WHERE ?2 GLOB e.value)",
        d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, eid);
    sqlite3_bind_text(st, 2, event, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return relm_store_fail(s, d, "outbox deliveries");
    return RELM_OK;
}

/* 1 when the release's status is closed now and was not in the snapshot
 * before the action (so release.closed is sent once per closure). The
 * snapshot is parsed only when the release is closed (CASE evaluates
 * lazily; AND would parse it at every occurrence). */
static int just_closed(relm_store *s, const relm_occurrence *o, int *yes,
                       relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT CASE WHEN status = 'closed' THEN coalesce(json_extract(?2, "
        "'$.status'), '') <> 'closed' ELSE 0 END FROM releases WHERE id = ?1",
        d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, o->subject_id);
    if (o->before != NULL && o->before[0] == '{')
        sqlite3_bind_text(st, 2, o->before, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *yes = rc == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return relm_store_fail(s, d, "outbox");
    return RELM_OK;
}

int relm_outbox_add(relm_store *s, const relm_occurrence *o,
                    int64_t occurrence_id, relm_diag *d)
{
    if (o->subject == NULL || strcmp(o->subject, "release") != 0 ||
        o->subject_id == 0 || o->action == NULL)
        return RELM_OK;
    char event[96];
    relm_outbox_event_name(o->action, event, sizeof event);
    if (add_event(s, event, o, occurrence_id, d) != RELM_OK)
        return RELM_ERR;
    /* Dotted actions (activity.*, approval.*, sla.*) never close. */
    if (strchr(o->action, '.') != NULL)
        return RELM_OK;
    int closed = 0;
    if (just_closed(s, o, &closed, d) != RELM_OK)
        return RELM_ERR;
    return closed ? add_event(s, "release.closed", o, occurrence_id, d)
                  : RELM_OK;
}
