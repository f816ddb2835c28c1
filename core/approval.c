/* approval.c: approval rounds: asking groups and persons, recording their
 * decisions, advancing levels and settling the outcome, one transaction each. */
#include "base/i18n.h"
#include "approval.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "auth.h"
#include "release.h"
#include "base/clock.h"

/* The round with its requests and their decisions, as the Lua table a user
 * sees (names instead of ids, nulls dropped). ?1 = round id. */
#define ROUND_JSON_SQL                                                         \
    "SELECT json_set(json_patch('{}', json_object('id', ro.id, "               \
    "'release_id', ro.release_id, 'state', ro.state, 'status', ro.status, "    \
    "'created_at', ro.created_at, 'closed_at', ro.closed_at)), "               \
    "'$.requests', (SELECT json_group_array(json(x)) FROM (SELECT "            \
    "json_set(json_patch('{}', json_object('id', q.id, 'rule', q.rule, "       \
    "'source', q.source, 'level', q.level, 'group', g.name, "                  \
    "'person', u.name, 'quorum', q.quorum, 'needed', q.needed, "               \
    "'veto', json(CASE q.veto WHEN 1 THEN 'true' ELSE 'false' END), "          \
    "'status', q.status, 'decided_at', q.decided_at, "                         \
    "'approvals', (SELECT count(*) FROM approval_decisions dd WHERE "          \
    "dd.request_id = q.id AND dd.decision = 'approve'), "                      \
    "'rejections', (SELECT count(*) FROM approval_decisions dd WHERE "         \
    "dd.request_id = q.id AND dd.decision = 'reject'))), '$.decisions', "      \
    "(SELECT json_group_array(json(y)) FROM (SELECT json_patch('{}', "         \
    "json_object('user', du.name, 'decision', dc.decision, 'note', "           \
    "dc.note, 'at', dc.at)) AS y FROM approval_decisions dc JOIN users du "    \
    "ON du.id = dc.user_id WHERE dc.request_id = q.id ORDER BY dc.id))) "      \
    "AS x FROM approval_requests q LEFT JOIN groups g ON g.id = q.group_id "   \
    "LEFT JOIN users u ON u.id = q.user_id WHERE q.round_id = ro.id "          \
    "ORDER BY q.rule, q.level, q.id))) FROM approval_rounds ro "               \
    "WHERE ro.id = ?1"

/* Run sql binding ?1 = a and ?2 = b (or the text t instead, when given)
 * and finish it. Binding a parameter the SQL does not use is harmless. */
static int exec2(relm_store *s, const char *sql, int64_t a, int64_t b,
                 const char *t, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(s, sql, d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, a);
    if (t != NULL)
        sqlite3_bind_text(st, 2, t, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(st, 2, b);
    return relm_store_step_write(s, st, d, "approval");
}

/* The first integer column of the first row of sql with ?1 = a, ?2 = b
 * (def when there is no row). */
static int query_int(relm_store *s, const char *sql, int64_t a, int64_t b,
                     int64_t def, int64_t *out, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(s, sql, d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : def;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return relm_store_fail(s, d, "approval");
    return RELM_OK;
}

int relm_approval_round(relm_store *s, int64_t release_id, char **json,
                        relm_diag *d)
{
    *json = NULL;
    int64_t rid;
    if (query_int(s,
                  "SELECT id FROM approval_rounds WHERE release_id = ?1 "
                  "ORDER BY id DESC LIMIT 1",
                  release_id, 0, 0, &rid, d) != RELM_OK)
        return RELM_ERR;
    if (rid == 0) {
        *json = strdup("null");
        return *json ? RELM_OK
                     : relm_diag_set(d, "out_of_memory", _("out of memory"));
    }
    sqlite3_stmt *st = relm_store_stmt(s, ROUND_JSON_SQL, d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, rid);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *json = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return relm_store_fail(s, d, "approval round");
    return *json ? RELM_OK : relm_diag_set(d, "out_of_memory", _("out of memory"));
}

/* What the writes need to know about a release. */
typedef relm_release_head_info rel_info;

/* Read what the approval writes need of release id (not_found if none). */
static int read_release(relm_store *s, int64_t id, rel_info *r, relm_diag *d)
{
    return relm_release_head(s, id, NULL, r, d);
}

/* Append an approval occurrence to the release's log with the round's JSON
 * before and after. */
static int log_round(relm_store *s, int64_t release_id, const rel_info *r,
                     const char *now, const char *action, const char *note,
                     const char *before, relm_diag *d)
{
    char *after = NULL;
    if (relm_approval_round(s, release_id, &after, d) != RELM_OK)
        return RELM_ERR;
    /* A release that never had a round has no "before" snapshot. */
    if (before != NULL && strcmp(before, "null") == 0)
        before = NULL;
    relm_occurrence o = {.at = now, .subject = "release",
                         .subject_id = release_id, .action = action,
                         .from_state = r->state, .to_state = r->state,
                         .note = note, .before = before, .after = after};
    int rc = relm_audit_append(s, &o, NULL, d);
    free(after);
    return rc;
}

/* Parse a quorum ("N", "P%", "all") against members: the number of
 * approvals it needs. RELM_ERR naming the rule when it cannot be met. */
static int quorum_needed(const relm_approval_ask *a, int64_t members,
                         int64_t *needed, relm_diag *d)
{
    const char *q = a->quorum != NULL && a->quorum[0] ? a->quorum : "1";
    char *end = NULL;
    if (members == 0)
        return relm_diag_set(d, "not_allowed",
                             _("rule '%s' (%s) asks group '%s' to approve, but "
                             "it has no active members: add the approvers "
                             "to it first (relm.group.add_member)"),
                             a->rule, a->source ? a->source : "?", a->group);
    if (strcmp(q, "all") == 0) {
        *needed = members;
        return RELM_OK;
    }
    long v = strtol(q, &end, 10);
    if (end != q && strcmp(end, "%") == 0 && v >= 1 && v <= 100) {
        *needed = (members * v + 99) / 100;
        if (*needed < 1)
            *needed = 1;
        return RELM_OK;
    }
    if (end == q || *end != '\0' || v < 1)
        return relm_diag_set(d, "invalid_field",
                             _("rule '%s' (%s): quorum '%s' must be a number, "
                             "a percentage like \"50%%\" or \"all\""),
                             a->rule, a->source ? a->source : "?", q);
    if (v > members)
        return relm_diag_set(d, "not_allowed",
                             n_("rule '%s' (%s) asks %ld approvals of group '%s', "
                                "which has %" PRId64 " active member",
                                "rule '%s' (%s) asks %ld approvals of group '%s', "
                                "which has %" PRId64 " active members", members),
                             a->rule, a->source ? a->source : "?", v,
                             a->group, members);
    *needed = v;
    return RELM_OK;
}

/* Resolve a group or active user name to its id (not_allowed naming the
 * rule when there is none: the rule points at nobody). */
static int resolve_ask(relm_store *s, const relm_approval_ask *a, int is_user,
                       int64_t *id, relm_diag *d)
{
    const char *name = is_user ? a->user : a->group;
    int rc = relm_store_lookup(
        s,
        is_user ? "SELECT id FROM users WHERE name = ?1 AND active = 1"
                : "SELECT id FROM groups WHERE name = ?1",
        name, id, d);
    if (rc != RELM_NOT_FOUND)
        return rc;
    return relm_diag_set(d, "not_allowed",
                         _("rule '%s' (%s) asks %s '%s', %s"), a->rule,
                         a->source ? a->source : "?",
                         is_user ? "person" : "group", name,
                         is_user ? "who is not an active user"
                                 : "which does not exist (create it with "
                                   "relm.group.add, or change the rule)");
}

/* Withdraw every open round of the release inside the caller's
 * transaction; *n receives how many rounds were open. */
static int withdraw_open(relm_store *s, int64_t release_id, const char *now,
                         int64_t *n, relm_diag *d)
{
    if (query_int(s,
                  "SELECT count(*) FROM approval_rounds WHERE release_id = ?1 "
                  "AND status = 'open'",
                  release_id, 0, 0, n, d) != RELM_OK)
        return RELM_ERR;
    if (*n == 0)
        return RELM_OK;
    if (exec2(s,
              "UPDATE approval_requests SET status = 'withdrawn', "
              "decided_at = ?2 WHERE status IN ('pending', 'waiting') AND "
              "round_id IN (SELECT id FROM approval_rounds WHERE release_id "
              "= ?1 AND status = 'open')",
              release_id, 0, now, d) != RELM_OK)
        return RELM_ERR;
    return exec2(s,
                 "UPDATE approval_rounds SET status = 'withdrawn', closed_at "
                 "= ?2 WHERE release_id = ?1 AND status = 'open'",
                 release_id, 0, now, d);
}

int relm_approval_open(relm_store *s, int64_t release_id,
                       const relm_approval_ask *asks, size_t n,
                       int64_t *round_id, relm_diag *d)
{
    rel_info r;
    char now[32], *before = NULL;
    int64_t rid = 0, open_before = 0;
    if (round_id != NULL)
        *round_id = 0;
    for (size_t i = 0; i < n; i++) {
        const relm_approval_ask *a = &asks[i];
        if (a->rule == NULL || a->level < 1 ||
            (a->group == NULL) == (a->user == NULL))
            return relm_diag_set(d, "invalid_argument",
                                 _("ask #%zu: needs a rule, a level >= 1 and "
                                 "either a group or a person"), i + 1);
    }
    if (relm_store_begin(s, d) != RELM_OK)
        return RELM_ERR;
    relm_clock_now_iso(now);
    /* The permission inside the transaction (issue 9, races). */
    if (read_release(s, release_id, &r, d) != RELM_OK)
        goto fail;
    if (relm_auth_check(s, r.workflow, "execute", NULL) != RELM_OK &&
        relm_auth_check(s, r.workflow, "create", NULL) != RELM_OK &&
        relm_auth_check(s, r.workflow, "approve", d) != RELM_OK)
        goto fail;
    if (strcmp(r.status, "open") != 0) {
        relm_diag_set(d, "not_allowed",
                      _("cannot ask for approval of release %s: it is %s"),
                      r.number, r.status);
        goto fail;
    }
    if (relm_approval_round(s, release_id, &before, d) != RELM_OK)
        goto fail;
    if (withdraw_open(s, release_id, now, &open_before, d) != RELM_OK)
        goto fail;
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "INSERT INTO approval_rounds (release_id, state, status, created_at, "
        "closed_at) VALUES (?1, ?2, ?3, ?4, CASE WHEN ?3 = 'approved' THEN "
        "?4 END)",
        d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_int64(st, 1, release_id);
    sqlite3_bind_text(st, 2, r.state, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, n > 0 ? "open" : "approved", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
    if (relm_store_step_write(s, st, d, "approval round") != RELM_OK)
        goto fail;
    rid = sqlite3_last_insert_rowid(relm_store_db(s));
    for (size_t i = 0; i < n; i++) {
        const relm_approval_ask *a = &asks[i];
        int64_t who = 0, needed = 1, members = 0;
        int is_user = a->user != NULL;
        if (resolve_ask(s, a, is_user, &who, d) != RELM_OK)
            goto fail;
        if (!is_user) {
            if (query_int(s,
                          "SELECT count(*) FROM memberships m JOIN users u "
                          "ON u.id = m.user_id AND u.active = 1 WHERE "
                          "m.group_id = ?1",
                          who, 0, 0, &members, d) != RELM_OK ||
                quorum_needed(a, members, &needed, d) != RELM_OK)
                goto fail;
        }
        st = relm_store_stmt(
            s,
            "INSERT INTO approval_requests (round_id, release_id, rule, "
            "source, level, group_id, user_id, quorum, needed, veto, status, "
            "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
            "'waiting', ?11)",
            d);
        if (st == NULL)
            goto fail;
        sqlite3_bind_int64(st, 1, rid);
        sqlite3_bind_int64(st, 2, release_id);
        sqlite3_bind_text(st, 3, a->rule, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, a->source, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 5, a->level);
        if (is_user)
            sqlite3_bind_int64(st, 7, who);
        else
            sqlite3_bind_int64(st, 6, who);
        sqlite3_bind_text(st, 8,
                          is_user ? "1"
                          : a->quorum != NULL && a->quorum[0] ? a->quorum
                                                              : "1",
                          -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 9, needed);
        sqlite3_bind_int(st, 10, a->veto ? 1 : 0);
        sqlite3_bind_text(st, 11, now, -1, SQLITE_STATIC);
        if (relm_store_step_write(s, st, d, "approval request") != RELM_OK)
            goto fail;
    }
    /* The lowest level of each rule starts now. */
    if (exec2(s,
              "UPDATE approval_requests SET status = 'pending' WHERE "
              "round_id = ?1 AND level = (SELECT min(level) FROM "
              "approval_requests q WHERE q.round_id = ?1 AND q.rule = "
              "approval_requests.rule)",
              rid, 0, NULL, d) != RELM_OK)
        goto fail;
    char note[320];
    if (n == 0)
        snprintf(note, sizeof note, "no approval rule applies in state '%s'",
                 r.state);
    else
        snprintf(note, sizeof note,
                 "%zu approval request%s in state '%s'%s", n,
                 n == 1 ? "" : "s", r.state,
                 open_before ? " (the previous round is withdrawn)" : "");
    if (log_round(s, release_id, &r, now, "approval.request", note, before,
                  d) != RELM_OK)
        goto fail;
    if (relm_store_commit(s, d) != RELM_OK)
        goto fail;
    free(before);
    if (round_id != NULL)
        *round_id = rid;
    return RELM_OK;
fail:
    free(before);
    relm_store_rollback(s);
    return RELM_ERR;
}

/* The open round of the release in its current state (0 when none). */
static int open_round(relm_store *s, int64_t release_id, const rel_info *r,
                      int64_t *rid, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT id FROM approval_rounds WHERE release_id = ?1 AND status = "
        "'open' AND state = ?2 ORDER BY id DESC LIMIT 1",
        d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, release_id);
    sqlite3_bind_text(st, 2, r->state, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *rid = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return relm_store_fail(s, d, "approval round");
    return RELM_OK;
}

/* "group 'cab' (1 of 2), person 'gina'": who the open round still waits
 * for at its current levels, into buf. */
static int waiting_for(relm_store *s, int64_t rid, char *buf, size_t size,
                       relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT group_concat(CASE WHEN q.group_id IS NOT NULL THEN 'group ''' "
        "|| g.name || ''' (' || (SELECT count(*) FROM approval_decisions dd "
        "WHERE dd.request_id = q.id AND dd.decision = 'approve') || ' of ' || "
        "q.needed || ' approvals)' ELSE 'person ''' || u.name || '''' END, "
        "', ') FROM approval_requests q LEFT JOIN groups g ON g.id = "
        "q.group_id LEFT JOIN users u ON u.id = q.user_id WHERE q.round_id = "
        "?1 AND q.status = 'pending'",
        d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, rid);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        relm_store_column_copy(st, 0, buf, size);
    else
        snprintf(buf, size, "nobody");
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return relm_store_fail(s, d, "approval");
    return RELM_OK;
}

int relm_approval_decide(relm_store *s, int64_t release_id,
                         const char *decision, const char *note,
                         char status[16], relm_diag *d)
{
    rel_info r;
    char now[32], who[600], *before = NULL;
    int64_t rid = 0, asked = 0, decided = 0;
    int64_t me = relm_store_actor_id(s);
    if (status != NULL)
        status[0] = '\0';
    if (decision == NULL || (strcmp(decision, "approve") != 0 &&
                             strcmp(decision, "reject") != 0))
        return relm_diag_set(d, "invalid_argument",
                             _("decision must be \"approve\" or \"reject\", got "
                             "'%s'"), decision ? decision : "nothing");
    if (strcmp(decision, "reject") == 0 && (note == NULL || !note[0]))
        return relm_diag_set(d, "invalid_field",
                             _("a rejection needs a note saying why"));
    if (read_release(s, release_id, &r, d) != RELM_OK)
        return RELM_ERR;
    if (relm_store_begin(s, d) != RELM_OK)
        return RELM_ERR;
    relm_clock_now_iso(now);
    if (read_release(s, release_id, &r, d) != RELM_OK ||
        open_round(s, release_id, &r, &rid, d) != RELM_OK)
        goto fail;
    if (rid == 0 || strcmp(r.status, "open") != 0) {
        relm_diag_set(d, "not_allowed",
                      _("no approval is waiting on release %s (%s, state '%s')"),
                      r.number, r.status, r.state);
        goto fail;
    }
    /* Requests the user is asked in and has not answered yet. */
#define ASKED_SQL                                                              \
    "FROM approval_requests q WHERE q.round_id = ?1 AND q.status = "           \
    "'pending' AND (q.user_id = ?2 OR q.group_id IN (SELECT group_id FROM "    \
    "memberships WHERE user_id = ?2)) AND NOT EXISTS (SELECT 1 FROM "          \
    "approval_decisions x WHERE x.request_id = q.id AND x.user_id = ?2)"
    if (query_int(s, "SELECT count(*) " ASKED_SQL, rid, me, 0, &asked, d) !=
        RELM_OK)
        goto fail;
    if (asked == 0) {
        if (query_int(s,
                      "SELECT count(*) FROM approval_decisions WHERE "
                      "round_id = ?1 AND user_id = ?2",
                      rid, me, 0, &decided, d) != RELM_OK ||
            waiting_for(s, rid, who, sizeof who, d) != RELM_OK)
            goto fail;
        if (decided > 0)
            relm_diag_set(d, "duplicate",
                          _("%s has already decided on release %s; waiting "
                          "for %s"),
                          relm_store_actor_name(s), r.number, who);
        else
            relm_diag_set(d, "not_allowed",
                          _("%s is not asked to approve release %s; waiting "
                          "for %s"),
                          relm_store_actor_name(s), r.number, who);
        goto fail;
    }
    if (relm_auth_check(s, r.workflow, "approve", d) != RELM_OK)
        goto fail;
    if (relm_approval_round(s, release_id, &before, d) != RELM_OK)
        goto fail;
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "INSERT INTO approval_decisions (request_id, round_id, user_id, "
        "decision, note, at) SELECT q.id, q.round_id, ?2, ?3, ?4, ?5 " ASKED_SQL,
        d);
#undef ASKED_SQL
    if (st == NULL)
        goto fail;
    sqlite3_bind_int64(st, 1, rid);
    sqlite3_bind_int64(st, 2, me);
    sqlite3_bind_text(st, 3, decision, -1, SQLITE_STATIC);
    if (note != NULL && note[0])
        sqlite3_bind_text(st, 4, note, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
    if (relm_store_step_write(s, st, d, "approval decision") != RELM_OK)
        goto fail;
    /* Settle each pending request: approved at its quorum; rejected by one
     * rejection under veto, else once the quorum can no longer be met. */
    if (exec2(s,
              "UPDATE approval_requests SET decided_at = ?2, status = CASE "
              "WHEN (SELECT count(*) FROM approval_decisions x WHERE "
              "x.request_id = approval_requests.id AND x.decision = "
              "'approve') >= needed THEN 'approved' "
              "WHEN (SELECT count(*) FROM approval_decisions x WHERE "
              "x.request_id = approval_requests.id AND x.decision = 'reject') "
              "> CASE WHEN veto = 1 OR user_id IS NOT NULL THEN 0 ELSE "
              "(SELECT count(*) FROM memberships m JOIN users u ON u.id = "
              "m.user_id AND u.active = 1 WHERE m.group_id = "
              "approval_requests.group_id) - needed END THEN 'rejected' "
              "ELSE status END WHERE round_id = ?1 AND status = 'pending'",
              rid, 0, now, d) != RELM_OK)
        goto fail;
    if (exec2(s,
              "UPDATE approval_requests SET decided_at = NULL WHERE round_id "
              "= ?1 AND status = 'pending'",
              rid, 0, NULL, d) != RELM_OK)
        goto fail;
    int64_t rejected = 0, left = 0;
    if (query_int(s,
                  "SELECT count(*) FROM approval_requests WHERE round_id = ?1 "
                  "AND status = 'rejected'",
                  rid, 0, 0, &rejected, d) != RELM_OK)
        goto fail;
    const char *outcome = "open";
    if (rejected > 0) {
        outcome = "rejected";
        if (exec2(s,
                  "UPDATE approval_requests SET status = 'withdrawn', "
                  "decided_at = ?2 WHERE round_id = ?1 AND status IN "
                  "('pending', 'waiting')",
                  rid, 0, now, d) != RELM_OK)
            goto fail;
    } else {
        /* The next level of a rule starts when its lower levels are all
         * approved. */
        if (exec2(s,
                  "UPDATE approval_requests SET status = 'pending' WHERE "
                  "round_id = ?1 AND status = 'waiting' AND level = (SELECT "
                  "min(level) FROM approval_requests q WHERE q.round_id = ?1 "
                  "AND q.rule = approval_requests.rule AND q.status <> "
                  "'approved')",
                  rid, 0, NULL, d) != RELM_OK ||
            query_int(s,
                      "SELECT count(*) FROM approval_requests WHERE round_id "
                      "= ?1 AND status <> 'approved'",
                      rid, 0, 0, &left, d) != RELM_OK)
            goto fail;
        if (left == 0)
            outcome = "approved";
    }
    if (strcmp(outcome, "open") != 0 &&
        exec2(s,
              "UPDATE approval_rounds SET status = ?2, closed_at = (SELECT "
              "max(decided_at) FROM approval_requests WHERE round_id = ?1) "
              "WHERE id = ?1",
              rid, 0, outcome, d) != RELM_OK)
        goto fail;
    if (log_round(s, release_id, &r, now,
                  strcmp(decision, "approve") == 0 ? "approval.approve"
                                                   : "approval.reject",
                  note, before, d) != RELM_OK)
        goto fail;
    if (relm_store_commit(s, d) != RELM_OK)
        goto fail;
    free(before);
    if (status != NULL)
        snprintf(status, 16, "%s", outcome);
    return RELM_OK;
fail:
    free(before);
    relm_store_rollback(s);
    return RELM_ERR;
}

int relm_approval_withdraw(relm_store *s, int64_t release_id,
                           const char *note, int *withdrawn, relm_diag *d)
{
    rel_info r;
    char now[32], *before = NULL;
    int64_t n = 0;
    if (withdrawn != NULL)
        *withdrawn = 0;
    /* Most transitions leave no open round behind: answer those without
     * opening a transaction. */
    if (query_int(s,
                  "SELECT count(*) FROM approval_rounds WHERE release_id = ?1 "
                  "AND status = 'open'",
                  release_id, 0, 0, &n, d) != RELM_OK)
        return RELM_ERR;
    if (n == 0)
        return RELM_OK;
    if (relm_store_begin(s, d) != RELM_OK)
        return RELM_ERR;
    relm_clock_now_iso(now);
    if (read_release(s, release_id, &r, d) != RELM_OK ||
        relm_approval_round(s, release_id, &before, d) != RELM_OK ||
        withdraw_open(s, release_id, now, &n, d) != RELM_OK)
        goto fail;
    if (n > 0 && log_round(s, release_id, &r, now, "approval.withdraw",
                           note ? note : "the release left the state it was "
                                         "asked in",
                           before, d) != RELM_OK)
        goto fail;
    if (relm_store_commit(s, d) != RELM_OK)
        goto fail;
    free(before);
    if (withdrawn != NULL)
        *withdrawn = n > 0;
    return RELM_OK;
fail:
    free(before);
    relm_store_rollback(s);
    return RELM_ERR;
}

int relm_approval_satisfied(relm_store *s, int64_t release_id,
                            const char *state, const char *action,
                            relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT state, status FROM approval_rounds WHERE release_id = ?1 "
        "ORDER BY id DESC LIMIT 1",
        d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, release_id);
    int rc = sqlite3_step(st);
    char rstate[128] = "", rstatus[16] = "";
    if (rc == SQLITE_ROW) {
        relm_store_column_copy(st, 0, rstate, sizeof rstate);
        relm_store_column_copy(st, 1, rstatus, sizeof rstatus);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return relm_store_fail(s, d, "approval round");
    if (rc == SQLITE_ROW && strcmp(rstate, state) == 0 &&
        strcmp(rstatus, "approved") == 0)
        return RELM_OK;
    return relm_diag_set(d, "not_allowed",
                         _("'%s' leaves approval point '%s': %s"), action, state,
                         rc != SQLITE_ROW || strcmp(rstate, state) != 0
                             ? "no approval round was opened there"
                         : strcmp(rstatus, "open") == 0
                             ? "the round is still waiting for approvers"
                             : strcmp(rstatus, "rejected") == 0
                                   ? "the round was rejected"
                                   : "the round was withdrawn");
}
