/* activity.c: activities of a release. Every write is one transaction:
 * permission, release still open, checks, write, occurrence in its log. */
#include "base/i18n.h"
#include "activity.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "auth.h"
#include "release.h"
#include "base/clock.h"
#include "base/time.h"

/* The snapshot of an activity as the Lua table a user sees: names instead
 * of ids, JSON nulls dropped, the activities it waits for as an array. */
#define ACTIVITY_JSON                                                          \
    "json_patch('{}', json_object('id', a.id, 'release_id', a.release_id, "    \
    "'release', r.number, 'phase', a.phase, 'title', a.title, "                \
    "'description', a.description, 'status', a.status, 'order', a.position, " \
    "'group', g.name, 'owner', u.name, 'scheduled_at', a.scheduled_at, "       \
    "'estimated_minutes', a.estimated_minutes, "                               \
    "'actual_minutes', a.actual_minutes, 'notes', a.notes, "                   \
    "'started_at', a.started_at, 'finished_at', a.finished_at, "               \
    "'created_at', a.created_at, 'updated_at', a.updated_at)) "
#define ACTIVITY_FROM                                                          \
    "FROM activities a JOIN releases r ON r.id = a.release_id "                \
    "LEFT JOIN groups g ON g.id = a.owner_group_id "                           \
    "LEFT JOIN users u ON u.id = a.owner_user_id "

/* depends_on is patched in separately: json_patch would merge the array
 * element-wise into nothing, so it is set after. */
#define WITH_DEPS(x)                                                           \
    "json_set(" x ", '$.depends_on', (SELECT json_group_array(depends_on) "    \
    "FROM (SELECT depends_on FROM activity_deps WHERE activity_id = a.id "     \
    "ORDER BY depends_on)))"

/* Run sql (a JSON-returning SELECT with ?1 = key) and copy the first
 * column of the first row into *json. none is the not_found message
 * (with %lld for key) used when there is no row. */
static int json_query(relm_store *s, const char *sql, int64_t key,
                      const char *none, char **json, relm_diag *d)
{
    *json = NULL;
    sqlite3_stmt *st = relm_store_stmt(s, sql, d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *json = strdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_reset(st);
        if (*json == NULL)
            return relm_diag_set(d, "out_of_memory", _("out of memory"));
        return RELM_OK;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return relm_diag_set(d, "not_found", none, (long long)key);
    return relm_store_fail(s, d, "activity");
}

int relm_activity_get(relm_store *s, int64_t id, char **json, relm_diag *d)
{
    return json_query(s,
                      "SELECT " WITH_DEPS(ACTIVITY_JSON) " " ACTIVITY_FROM
                      "WHERE a.id = ?1",
                      id, "no activity with id %lld", json, d);
}

int relm_activity_list(relm_store *s, int64_t release_id, char **json,
                       relm_diag *d)
{
    /* The release must exist; an empty list is then "[]". */
    sqlite3_stmt *st =
        relm_store_stmt(s, "SELECT 1 FROM releases WHERE id = ?1", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, release_id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return relm_diag_set(d, "not_found", _("no release with id %" PRId64),
                             release_id);
    if (rc != SQLITE_ROW)
        return relm_store_fail(s, d, "activities");
    return json_query(
        s,
        "SELECT coalesce(json_group_array(json(x)), '[]') FROM (SELECT "
        WITH_DEPS(ACTIVITY_JSON) " AS x " ACTIVITY_FROM
        "WHERE a.release_id = ?1 ORDER BY a.phase = 'deployment', "
        "a.position, a.id)",
        release_id, "no release with id %lld", json, d);
}

/* What the writes need to know about a release. */
typedef relm_release_head_info rel_info;

/* Read release id into r; not_found when there is none. */
static int read_release(relm_store *s, int64_t id, rel_info *r, relm_diag *d)
{
    return relm_release_head(s, id, NULL, r, d);
}

/* Closed and cancelled releases are history: their activities are frozen. */
static int check_open(const rel_info *r, relm_diag *d)
{
    if (strcmp(r->status, "closed") == 0 || strcmp(r->status, "cancelled") == 0)
        return relm_diag_set(d, "not_allowed",
                             _("release %s is %s: its activities can no longer "
                             "change"), r->number, r->status);
    return RELM_OK;
}

/* The release activity id belongs to, and its current status. */
static int read_activity(relm_store *s, int64_t id, int64_t *release_id,
                         char status[16], relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT release_id, status FROM activities WHERE id = ?1", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    int rc = relm_store_step_row(s, st, d, "activity");
    if (rc == RELM_NOT_FOUND)
        return relm_diag_set(d, "not_found", _("no activity with id %" PRId64),
                             id);
    if (rc != RELM_OK)
        return RELM_ERR;
    *release_id = sqlite3_column_int64(st, 0);
    if (status != NULL)
        relm_store_column_copy(st, 1, status, 16);
    sqlite3_reset(st);
    return RELM_OK;
}

/* Resolve an owner group or person name to its id (0 for NULL or ""). */
static int resolve(relm_store *s, const char *name, int is_user,
                   int64_t *out, relm_diag *d)
{
    *out = 0;
    if (name == NULL || name[0] == '\0')
        return RELM_OK;
    int rc = relm_store_lookup(
        s,
        is_user ? "SELECT id FROM users WHERE name = ?1 AND active = 1"
                : "SELECT id FROM groups WHERE name = ?1",
        name, out, d);
    if (rc != RELM_NOT_FOUND)
        return rc;
    return relm_diag_set(d, "invalid_field", _("%s: no %s named '%s'"),
                         is_user ? "owner" : "group",
                         is_user ? "active user" : "group", name);
}

/* 1 when v is one of the NULL-terminated set. */
static int is_one_of(const char *v, const char *const *set)
{
    for (; *set != NULL; set++)
        if (v != NULL && strcmp(v, *set) == 0)
            return 1;
    return 0;
}

static const char *const phases[] = {"planning", "deployment", NULL};
static const char *const columns[] = {"todo", "in_progress", "done",
                                      "cancelled", NULL};

/* Check the given fields of a before anything is read or written. */
static int check_spec(const relm_activity_spec *a, relm_diag *d)
{
    if ((a->set & RELM_ACT_PHASE) && !is_one_of(a->phase, phases))
        return relm_diag_set(d, "invalid_field",
                             _("phase: must be planning or deployment, got '%s'"),
                             a->phase ? a->phase : "nothing");
    if ((a->set & RELM_ACT_TITLE) && (a->title == NULL || !a->title[0]))
        return relm_diag_set(d, "invalid_field", _("title: may not be empty"));
    if ((a->set & RELM_ACT_STATUS) && !is_one_of(a->status, columns))
        return relm_diag_set(d, "invalid_field",
                             _("status: must be todo, in_progress, done or "
                             "cancelled, got '%s'"),
                             a->status ? a->status : "nothing");
    if ((a->set & RELM_ACT_SCHEDULED) && a->scheduled_at != NULL &&
        a->scheduled_at[0] && !relm_time_valid(a->scheduled_at, RELM_TIME_CLOCK))
        return relm_diag_set(d, "invalid_field",
                             _("scheduled_at: must be a date YYYY-MM-DD or "
                             "YYYY-MM-DDTHH:MM[:SS][Z], got '%s'"),
                             a->scheduled_at);
    if ((a->set & RELM_ACT_ORDER) && a->order < 1)
        return relm_diag_set(d, "invalid_field",
                             _("order: must be a positive integer"));
    if ((a->set & RELM_ACT_ESTIMATE) && a->estimated_minutes < 0)
        return relm_diag_set(d, "invalid_field",
                             _("estimated_minutes: may not be negative"));
    if ((a->set & RELM_ACT_ACTUAL) && a->actual_minutes < 0)
        return relm_diag_set(d, "invalid_field",
                             _("actual_minutes: may not be negative"));
    return RELM_OK;
}

/* Bind text or NULL ("" counts as NULL: it clears the field). */
static void bind_opt_text(sqlite3_stmt *st, int n, const char *v)
{
    if (v != NULL && v[0])
        sqlite3_bind_text(st, n, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, n);
}

/* Bind id v to parameter n, or NULL when v is 0 (no group / person). */
static void bind_opt_id(sqlite3_stmt *st, int n, int64_t v)
{
    if (v != 0)
        sqlite3_bind_int64(st, n, v);
    else
        sqlite3_bind_null(st, n);
}

/* An update field is two parameters: n says whether flag is set in a
 * (given), n + 1 holds the value (text, an id or a number), so that "clear"
 * and "unchanged" differ. */
static void bind_given_text(sqlite3_stmt *st, int n,
                            const relm_activity_spec *a, unsigned flag,
                            const char *v)
{
    sqlite3_bind_int(st, n, (a->set & flag) != 0);
    bind_opt_text(st, n + 1, v);
}

static void bind_given_id(sqlite3_stmt *st, int n, const relm_activity_spec *a,
                          unsigned flag, int64_t v)
{
    sqlite3_bind_int(st, n, (a->set & flag) != 0);
    bind_opt_id(st, n + 1, v);
}

static void bind_given_int(sqlite3_stmt *st, int n,
                           const relm_activity_spec *a, unsigned flag,
                           int64_t v)
{
    sqlite3_bind_int(st, n, (a->set & flag) != 0);
    sqlite3_bind_int64(st, n + 1, v);
}

/* The common end of a failed write: free the snapshots before and snap,
 * roll back, RELM_ERR. */
static int fail_write(relm_store *s, char *before, char *snap)
{
    free(before);
    free(snap);
    relm_store_rollback(s);
    return RELM_ERR;
}

/* The common start of add and update: check spec a, then BEGIN IMMEDIATE
 * and stamp now. The caller reads the release and checks the permission
 * after the begin, so that a grant revoked by a commit that lands before
 * ours is seen (issue 9, races). */
static int begin_spec(relm_store *s, const relm_activity_spec *a,
                      char now[32], relm_diag *d)
{
    if (check_spec(a, d) != RELM_OK || relm_store_begin(s, d) != RELM_OK)
        return RELM_ERR;
    relm_clock_now_iso(now);
    return RELM_OK;
}

/* Append the occurrence of an activity write to the release's log. */
static int log_write(relm_store *s, const rel_info *r, const char *now,
                     const char *action, const char *note, const char *before,
                     const char *after, relm_diag *d)
{
    relm_occurrence o = {.at = now, .subject = "release", .subject_id = r->id,
                         .action = action, .from_state = r->state,
                         .to_state = r->state, .note = note,
                         .before = before, .after = after};
    return relm_audit_append(s, &o, NULL, d);
}

/* Finish the write the caller began on release r: log action (log_write),
 * commit, and hand snap (the activity as it now stands) to *after, or free
 * it when after is NULL. Rolls back when either step fails. Takes before
 * and snap (malloc'd or NULL): both are freed here unless handed over. */
static int log_commit(relm_store *s, const rel_info *r, const char *now,
                      const char *action, const char *note, char *before,
                      char *snap, char **after, relm_diag *d)
{
    int rc = relm_store_end(
        s, log_write(s, r, now, action, note, before, snap, d), d);
    free(before);
    if (rc == RELM_OK && after != NULL)
        *after = snap;
    else
        free(snap);
    return rc;
}

int relm_activity_add(relm_store *s, int64_t release_id,
                      const relm_activity_spec *a, const char *action,
                      const char *perm, int64_t *id, char **after,
                      relm_diag *d)
{
    char *snap = NULL;
    rel_info r;
    int64_t gid = 0, uid = 0;
    char now[32];
    *id = 0;
    if (after != NULL)
        *after = NULL;
    if (!(a->set & RELM_ACT_PHASE))
        return relm_diag_set(d, "invalid_field",
                             _("phase: required (planning or deployment)"));
    if (!(a->set & RELM_ACT_TITLE))
        return relm_diag_set(d, "invalid_field", _("title: required"));
    if (begin_spec(s, a, now, d) != RELM_OK)
        return RELM_ERR;
    if (read_release(s, release_id, &r, d) != RELM_OK ||
        relm_auth_check(s, r.workflow, perm ? perm : "execute", d) !=
            RELM_OK ||
        check_open(&r, d) != RELM_OK)
        goto fail;
    if (resolve(s, (a->set & RELM_ACT_GROUP) ? a->group : NULL, 0, &gid, d) !=
            RELM_OK ||
        resolve(s, (a->set & RELM_ACT_OWNER) ? a->owner : NULL, 1, &uid, d) !=
            RELM_OK)
        goto fail;
    const char *status = (a->set & RELM_ACT_STATUS) ? a->status : "todo";
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "INSERT INTO activities (release_id, phase, title, description, "
        "status, position, owner_group_id, owner_user_id, scheduled_at, "
        "estimated_minutes, actual_minutes, notes, started_at, finished_at, "
        "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, coalesce(?6, "
        "(SELECT coalesce(max(position), 0) + 1 FROM activities WHERE "
        "release_id = ?1 AND phase = ?2)), ?7, ?8, ?9, ?10, ?11, ?12, "
        "CASE WHEN ?5 <> 'todo' THEN ?13 END, "
        "CASE WHEN ?5 IN ('done', 'cancelled') THEN ?13 END, ?13, ?13)",
        d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_int64(st, 1, release_id);
    sqlite3_bind_text(st, 2, a->phase, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->title, -1, SQLITE_STATIC);
    bind_opt_text(st, 4, (a->set & RELM_ACT_DESCRIPTION) ? a->description : NULL);
    sqlite3_bind_text(st, 5, status, -1, SQLITE_STATIC);
    if (a->set & RELM_ACT_ORDER)
        sqlite3_bind_int64(st, 6, a->order);
    bind_opt_id(st, 7, gid);
    bind_opt_id(st, 8, uid);
    bind_opt_text(st, 9, (a->set & RELM_ACT_SCHEDULED) ? a->scheduled_at : NULL);
    if (a->set & RELM_ACT_ESTIMATE)
        sqlite3_bind_int64(st, 10, a->estimated_minutes);
    if (a->set & RELM_ACT_ACTUAL)
        sqlite3_bind_int64(st, 11, a->actual_minutes);
    bind_opt_text(st, 12, (a->set & RELM_ACT_NOTES) ? a->notes : NULL);
    sqlite3_bind_text(st, 13, now, -1, SQLITE_STATIC);
    if (relm_store_step_write(s, st, d, "add activity") != RELM_OK)
        goto fail;
    *id = sqlite3_last_insert_rowid(relm_store_db(s));
    if (relm_activity_get(s, *id, &snap, d) != RELM_OK)
        goto fail;
    char note[300];
    snprintf(note, sizeof note, "%s activity #%" PRId64 ": %s", a->phase, *id,
             a->title);
    if (log_commit(s, &r, now, action ? action : "activity.add", note, NULL,
                   snap, after, d) != RELM_OK) {
        *id = 0;
        return RELM_ERR;
    }
    return RELM_OK;
fail:
    *id = 0;
    return fail_write(s, NULL, snap);
}

/* 1 when the acting user owns activity id: its person, or a member of its
 * group. Owners may work their activities without the execute permission. */
static int is_owner(relm_store *s, int64_t id)
{
    relm_diag d;
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT 1 FROM activities WHERE id = ?1 AND (owner_user_id = ?2 OR "
        "owner_group_id IN (SELECT group_id FROM memberships WHERE "
        "user_id = ?2))",
        &d);
    if (st == NULL)
        return 0;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, relm_store_actor_id(s));
    int yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return yes;
}

/* Refuse to start or finish activity id while an activity it waits for is
 * neither done nor cancelled; the message names them. */
static int check_waits(relm_store *s, int64_t id, const char *to,
                       relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT group_concat('#' || a.id || ' ''' || a.title || ''' (' || "
        "a.status || ')', ', '), count(*) FROM activity_deps x JOIN "
        "activities a ON a.id = x.depends_on WHERE x.activity_id = ?1 AND "
        "a.status NOT IN ('done', 'cancelled')",
        d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return relm_store_fail(s, d, "dependencies");
    }
    int rc2 = RELM_OK;
    if (sqlite3_column_int64(st, 1) > 0)
        rc2 = relm_diag_set(d, "not_allowed",
                            _("activity #%" PRId64 " cannot move to %s: it "
                            "waits for %s"),
                            id, to, (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc2;
}

int relm_activity_update(relm_store *s, int64_t id,
                         const relm_activity_spec *a, const char *action,
                         const char *note, char **after, relm_diag *d)
{
    char *before = NULL, *snap = NULL;
    rel_info r;
    int64_t release_id = 0, gid = 0, uid = 0;
    char status[16], now[32];
    if (after != NULL)
        *after = NULL;
    if (a->set == 0)
        return relm_diag_set(d, "invalid_argument", _("nothing to change"));
    if (begin_spec(s, a, now, d) != RELM_OK)
        return RELM_ERR;
    /* The owner may move their own activity; anyone else needs execute.
     * Checked inside the transaction (issue 9, races). */
    if (read_activity(s, id, &release_id, status, d) != RELM_OK ||
        read_release(s, release_id, &r, d) != RELM_OK ||
        (!is_owner(s, id) &&
         relm_auth_check(s, r.workflow, "execute", d) != RELM_OK) ||
        check_open(&r, d) != RELM_OK)
        goto fail;
    if ((a->set & RELM_ACT_STATUS) &&
        (strcmp(a->status, "in_progress") == 0 ||
         strcmp(a->status, "done") == 0) &&
        check_waits(s, id, a->status, d) != RELM_OK)
        goto fail;
    if (((a->set & RELM_ACT_GROUP) &&
         resolve(s, a->group, 0, &gid, d) != RELM_OK) ||
        ((a->set & RELM_ACT_OWNER) &&
         resolve(s, a->owner, 1, &uid, d) != RELM_OK))
        goto fail;
    if (relm_activity_get(s, id, &before, d) != RELM_OK)
        goto fail;
    /* One statement whatever is set: ?n IS NULL cannot tell "clear" from
     * "unchanged", so each field carries its own "given" flag. */
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "UPDATE activities SET "
        "phase = CASE WHEN ?2 THEN ?3 ELSE phase END, "
        "title = CASE WHEN ?4 THEN ?5 ELSE title END, "
        "description = CASE WHEN ?6 THEN ?7 ELSE description END, "
        "owner_group_id = CASE WHEN ?8 THEN ?9 ELSE owner_group_id END, "
        "owner_user_id = CASE WHEN ?10 THEN ?11 ELSE owner_user_id END, "
        "scheduled_at = CASE WHEN ?12 THEN ?13 ELSE scheduled_at END, "
        "notes = CASE WHEN ?14 THEN ?15 ELSE notes END, "
        "position = CASE WHEN ?16 THEN ?17 ELSE position END, "
        "estimated_minutes = CASE WHEN ?18 THEN ?19 ELSE estimated_minutes "
        "END, "
        "actual_minutes = CASE WHEN ?20 THEN ?21 ELSE actual_minutes END, "
        "started_at = CASE WHEN ?22 AND ?23 <> 'todo' THEN coalesce("
        "started_at, ?24) WHEN ?22 THEN NULL ELSE started_at END, "
        "finished_at = CASE WHEN ?22 AND ?23 IN ('done', 'cancelled') THEN "
        "?24 WHEN ?22 THEN NULL ELSE finished_at END, "
        "status = CASE WHEN ?22 THEN ?23 ELSE status END, "
        "updated_at = ?24 WHERE id = ?1",
        d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_int64(st, 1, id);
    bind_given_text(st, 2, a, RELM_ACT_PHASE, a->phase);
    bind_given_text(st, 4, a, RELM_ACT_TITLE, a->title);
    bind_given_text(st, 6, a, RELM_ACT_DESCRIPTION, a->description);
    bind_given_id(st, 8, a, RELM_ACT_GROUP, gid);
    bind_given_id(st, 10, a, RELM_ACT_OWNER, uid);
    bind_given_text(st, 12, a, RELM_ACT_SCHEDULED, a->scheduled_at);
    bind_given_text(st, 14, a, RELM_ACT_NOTES, a->notes);
    bind_given_int(st, 16, a, RELM_ACT_ORDER, a->order);
    bind_given_int(st, 18, a, RELM_ACT_ESTIMATE, a->estimated_minutes);
    bind_given_int(st, 20, a, RELM_ACT_ACTUAL, a->actual_minutes);
    bind_given_text(st, 22, a, RELM_ACT_STATUS, a->status);
    sqlite3_bind_text(st, 24, now, -1, SQLITE_STATIC);
    if (relm_store_step_write(s, st, d, "update activity") != RELM_OK)
        goto fail;
    if (relm_activity_get(s, id, &snap, d) != RELM_OK)
        goto fail;
    char buf[300];
    if (note == NULL && (a->set & RELM_ACT_STATUS)) {
        snprintf(buf, sizeof buf, "activity #%" PRId64 ": %s -> %s", id,
                 status, a->status);
        note = buf;
    } else if (note == NULL) {
        snprintf(buf, sizeof buf, "activity #%" PRId64, id);
        note = buf;
    }
    return log_commit(s, &r, now, action ? action : "activity.update", note,
                      before, snap, after, d);
fail:
    return fail_write(s, before, snap);
}

/* When activity id would wait for on, is there already a path from on
 * back to id? Fills path ("#on -> ... -> #id") and returns 1 if so. */
static int find_cycle(relm_store *s, int64_t id, int64_t on, char *path,
                      size_t size, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "WITH RECURSIVE walk(node, path) AS (SELECT ?2, '#' || ?2 UNION ALL "
        "SELECT x.depends_on, walk.path || ' -> #' || x.depends_on FROM "
        "activity_deps x JOIN walk ON x.activity_id = walk.node) "
        "SELECT path FROM walk WHERE node = ?1 LIMIT 1",
        d);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, on);
    int rc = sqlite3_step(st);
    int found = rc == SQLITE_ROW;
    if (found)
        relm_store_column_copy(st, 0, path, size);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        relm_store_fail(s, d, "dependencies");
        return -1;
    }
    return found;
}

/* Stamp updated_at of activity id. */
static int exec_touch(relm_store *s, int64_t id, const char *now,
                      relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "UPDATE activities SET updated_at = ?2 WHERE id = ?1", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
    return relm_store_step_write(s, st, d, "activity");
}

int relm_activity_depend(relm_store *s, int64_t id, int64_t on, int add,
                         char **after, relm_diag *d)
{
    char *before = NULL, *snap = NULL;
    rel_info r;
    int64_t rel_a = 0, rel_b = 0;
    char now[32];
    if (after != NULL)
        *after = NULL;
    if (relm_store_begin(s, d) != RELM_OK)
        return RELM_ERR;
    relm_clock_now_iso(now);
    if (read_activity(s, id, &rel_a, NULL, d) != RELM_OK ||
        read_activity(s, on, &rel_b, NULL, d) != RELM_OK ||
        read_release(s, rel_a, &r, d) != RELM_OK ||
        relm_auth_check(s, r.workflow, "execute", d) != RELM_OK)
        goto fail;
    if (rel_a != rel_b) {
        relm_diag_set(d, "invalid_argument",
                      _("activity #%" PRId64 " and #%" PRId64 " belong "
                      "to different releases"), id, on);
        goto fail;
    }
    if (add && id == on) {
        relm_diag_set(d, "not_allowed",
                      _("dependency cycle: activity #%" PRId64 " cannot "
                      "wait for itself"), id);
        goto fail;
    }
    if (check_open(&r, d) != RELM_OK)
        goto fail;
    if (relm_activity_get(s, id, &before, d) != RELM_OK)
        goto fail;
    sqlite3_stmt *st;
    if (add) {
        char path[512];
        int cyc = find_cycle(s, id, on, path, sizeof path, d);
        if (cyc < 0)
            goto fail;
        if (cyc) {
            relm_diag_set(d, "not_allowed",
                          _("dependency cycle: #%" PRId64 " cannot wait for #%"
                          PRId64 ", which already waits for it (%s)"),
                          id, on, path);
            goto fail;
        }
        st = relm_store_stmt(s,
                             "INSERT INTO activity_deps (activity_id, "
                             "depends_on) VALUES (?1, ?2) ON CONFLICT DO "
                             "NOTHING",
                             d);
    } else {
        st = relm_store_stmt(s,
                             "DELETE FROM activity_deps WHERE activity_id = "
                             "?1 AND depends_on = ?2",
                             d);
    }
    if (st == NULL)
        goto fail;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, on);
    if (relm_store_step_write(s, st, d, "dependency") != RELM_OK)
        goto fail;
    if (sqlite3_changes(relm_store_db(s)) == 0) {
        if (add)
            relm_diag_set(d, "duplicate",
                          _("activity #%" PRId64 " already waits for #%" PRId64),
                          id, on);
        else
            relm_diag_set(d, "not_found",
                          _("activity #%" PRId64 " does not wait for #%" PRId64),
                          id, on);
        goto fail;
    }
    if (exec_touch(s, id, now, d) != RELM_OK)
        goto fail;
    if (relm_activity_get(s, id, &snap, d) != RELM_OK)
        goto fail;
    char note[128];
    snprintf(note, sizeof note, "activity #%" PRId64 " %s #%" PRId64, id,
             add ? "waits for" : "no longer waits for", on);
    return log_commit(s, &r, now,
                      add ? "activity.depend" : "activity.undepend", note,
                      before, snap, after, d);
fail:
    return fail_write(s, before, snap);
}
