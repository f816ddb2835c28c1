/* people.c: administrative writes on users, groups, memberships,
 * permissions and justifications, each checked, transactional and logged. */
#include "base/i18n.h"
#include "people.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "auth.h"
#include "workflow.h"

/* Open an administrator-only write: begin, then check inside the
 * transaction, so a revocation committed meanwhile is honoured. */
static int begin_admin(relm_store *s, const char *what, relm_diag *d)
{
    return relm_auth_begin_admin(s, what, d);
}

/* The JSON snapshot sql selects from ?1 = id (malloc'd; NULL when there
 * is no row, or out of memory: the occurrence is then logged without it). */
static char *snapshot_json(relm_store *s, const char *sql, int64_t id)
{
    char *json;
    relm_store_id_text(s, sql, id, &json, NULL);
    return json;
}

/* Append the occurrence for an administrative write and commit; json_sql
 * selects a JSON snapshot of the subject from ?1 = subject_id (NULL for
 * none), before (malloc'd or NULL, freed here) is the one taken before the
 * write. On failure rolls back. */
static int log_commit(relm_store *s, const char *subject, int64_t sid,
                      const char *action, const char *json_sql, char *before,
                      const char *note, relm_diag *d)
{
    char *after = json_sql != NULL ? snapshot_json(s, json_sql, sid) : NULL;
    int rc = relm_audit_log(s, subject, sid, action, note, before, after, d);
    free(after);
    free(before);
    if (rc != RELM_OK)
        goto fail;
    return relm_store_end(s, RELM_OK, d);
fail:
    return relm_store_end(s, RELM_ERR, d);
}

/* Roll back the open write and report failure (d is already filled). */
static int fail_rb(relm_store *s)
{
    relm_store_rollback(s);
    return RELM_ERR;
}

/* Begin an administrator's write (what says which, for the refusal) and
 * prepare its statement sql; NULL, with the transaction rolled back and d
 * filled, when either fails. */
static sqlite3_stmt *begin_stmt(relm_store *s, const char *what,
                                const char *sql, relm_diag *d)
{
    if (begin_admin(s, what, d) != RELM_OK)
        return NULL;
    sqlite3_stmt *st = relm_store_stmt(s, sql, d);
    if (st == NULL)
        relm_store_rollback(s);
    return st;
}

/* Id of the user or group called name, or 0 (with not_found in d). */
static int64_t lookup(relm_store *s, int user, const char *name, relm_diag *d)
{
    int64_t id = 0;
    int rc = relm_store_lookup(s, user ? "SELECT id FROM users WHERE name = ?1"
                                       : "SELECT id FROM groups WHERE name = ?1",
                               name, &id, d);
    if (rc == RELM_NOT_FOUND)
        relm_diag_set(d, "not_found", _("no %s named '%s'"),
                      user ? "user" : "group", name);
    return rc == RELM_OK ? id : 0;
}

#define USER_JSON                                                          \
    "SELECT json_object('name', name, 'full_name', full_name, 'email', "   \
    "email, 'phone', phone, 'unit', unit, 'location', location, "          \
    "'active', active, 'is_admin', is_admin) FROM users WHERE id = ?1"

/* A user or group name: 1-100 characters, no blanks (it is typed in
 * commands and --user). */
static int valid_name(const char *name)
{
    if (name == NULL || name[0] == '\0' || strlen(name) > 100)
        return 0;
    for (const char *p = name; *p; p++)
        if (*p == ' ' || *p == '\t' || *p == '\n')
            return 0;
    return 1;
}

int relm_people_user_add(relm_store *s, const relm_user_spec *u, int64_t *id,
                         relm_diag *d)
{
    if (!valid_name(u->name))
        return relm_diag_set(d, "invalid_field",
                             _("name: a non-empty word without spaces "
                             "(at most 100 characters)"));
    sqlite3_stmt *st = begin_stmt(
        s, "adding a user",
        "INSERT INTO users (name, full_name, email, phone, unit, location, "
        "is_admin) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, u->full_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, u->email, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, u->phone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, u->unit, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, u->location, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 7, u->is_admin ? 1 : 0);
    if (relm_store_step_write(s, st, d, "user '%s'", u->name) != RELM_OK)
        return fail_rb(s);
    *id = sqlite3_last_insert_rowid(relm_store_db(s));
    return log_commit(s, "user", *id, "add", USER_JSON, NULL, NULL, d);
}

/* 1 when an active superuser other than user uid exists (so uid can be
 * deactivated without leaving the database without one). */
static int other_superuser(relm_store *s, int64_t uid)
{
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT 1 FROM users u WHERE u.id <> ?1 AND u.active = 1 AND "
        "(u.is_admin = 1 OR EXISTS (SELECT 1 FROM memberships m JOIN "
        "permissions p ON p.group_id = m.group_id WHERE m.user_id = u.id "
        "AND p.workflow = '*' AND p.action = 'admin')) LIMIT 1",
        NULL);
    if (st == NULL)
        return 0;
    sqlite3_bind_int64(st, 1, uid);
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return found;
}

int relm_people_user_set_active(relm_store *s, const char *name, int active,
                                relm_diag *d)
{
    if (begin_admin(s, "changing a user", d) != RELM_OK)
        return RELM_ERR;
    int64_t uid = lookup(s, 1, name, d);
    if (uid == 0)
        return fail_rb(s);
    if (!active && relm_auth_user_can(s, uid, "*", "admin") &&
        !other_superuser(s, uid)) {
        relm_diag_set(d, "not_allowed",
                      _("'%s' is the last active administrator; make another "
                      "one first (relm.user.add{admin = true})"), name);
        return fail_rb(s);
    }
    sqlite3_stmt *st = relm_store_stmt(
        s, "UPDATE users SET active = ?2 WHERE id = ?1", d);
    if (st == NULL)
        return fail_rb(s);
    char *before = snapshot_json(s, USER_JSON, uid);
    sqlite3_bind_int64(st, 1, uid);
    sqlite3_bind_int(st, 2, active ? 1 : 0);
    if (relm_store_step_write(s, st, d, "user '%s'", name) != RELM_OK) {
        free(before);
        return fail_rb(s);
    }
    return log_commit(s, "user", uid, active ? "activate" : "deactivate",
                      USER_JSON, before, NULL, d);
}

int relm_people_group_add(relm_store *s, const char *name,
                          const char *description, int64_t *id, relm_diag *d)
{
    if (!valid_name(name))
        return relm_diag_set(d, "invalid_field",
                             _("name: a non-empty word without spaces "
                             "(at most 100 characters)"));
    sqlite3_stmt *st = begin_stmt(
        s, "adding a group",
        "INSERT INTO groups (name, description) VALUES (?1, ?2)", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, description, -1, SQLITE_STATIC);
    if (relm_store_step_write(s, st, d, "group '%s'", name) != RELM_OK)
        return fail_rb(s);
    *id = sqlite3_last_insert_rowid(relm_store_db(s));
    return log_commit(s, "group", *id, "add",
                      "SELECT json_object('name', name, 'description', "
                      "description) FROM groups WHERE id = ?1",
                      NULL, NULL, d);
}

/* Add user to group or take them out; role (adding only, may be NULL)
 * sets their role in the group: NULL keeps the role an existing member has
 * ("member" for a new one). */
static int member_write(relm_store *s, const char *user, const char *group,
                        int add, const char *role, relm_diag *d)
{
    if (begin_admin(s, "changing group membership", d) != RELM_OK)
        return RELM_ERR;
    int64_t uid = lookup(s, 1, user, d);
    if (uid == 0)
        return fail_rb(s);
    int64_t gid = lookup(s, 0, group, d);
    if (gid == 0)
        return fail_rb(s);
    const char *sql =
        !add ? "DELETE FROM memberships WHERE user_id = ?1 AND group_id = ?2"
        : role == NULL
            ? "INSERT OR IGNORE INTO memberships (user_id, group_id) "
              "VALUES (?1, ?2)"
            : "INSERT INTO memberships (user_id, group_id, role) "
              "VALUES (?1, ?2, ?3) ON CONFLICT (user_id, group_id) DO "
              "UPDATE SET role = excluded.role WHERE role IS NOT "
              "excluded.role";
    sqlite3_stmt *st = relm_store_stmt(s, sql, d);
    if (st == NULL)
        return fail_rb(s);
    sqlite3_bind_int64(st, 1, uid);
    sqlite3_bind_int64(st, 2, gid);
    if (add && role != NULL)
        sqlite3_bind_text(st, 3, role, -1, SQLITE_STATIC);
    if (relm_store_step_write(s, st, d, "membership '%s'", user) != RELM_OK)
        return fail_rb(s);
    if (sqlite3_changes(relm_store_db(s)) == 0) {
        relm_store_rollback(s); /* nothing changed: nothing to log */
        return RELM_OK;
    }
    char note[256];
    snprintf(note, sizeof note, "%s %s %s%s%s", user, add ? "joins" : "leaves",
             group, add && role != NULL ? " as " : "",
             add && role != NULL ? role : "");
    return log_commit(s, "group", gid, add ? "add_member" : "remove_member",
                      "SELECT json_object('name', g.name, 'members', "
                      "(SELECT json_group_array(u.name) FROM memberships m "
                      "JOIN users u ON u.id = m.user_id WHERE m.group_id = "
                      "g.id), 'roles', (SELECT json_group_object(u.name, "
                      "m.role) FROM memberships m JOIN users u ON u.id = "
                      "m.user_id WHERE m.group_id = g.id AND m.role <> "
                      "'member')) FROM groups g WHERE g.id = ?1",
                      NULL, note, d);
}

int relm_people_member(relm_store *s, const char *user, const char *group,
                       int add, relm_diag *d)
{
    return member_write(s, user, group, add, NULL, d);
}

int relm_people_member_role(relm_store *s, const char *user,
                            const char *group, const char *role, relm_diag *d)
{
    if (role == NULL || role[0] == '\0')
        return relm_diag_set(d, "invalid_argument", _("a member's role must "
                             "be a non-empty name, like \"lead\""));
    return member_write(s, user, group, 1, role, d);
}

int relm_people_permission(relm_store *s, const char *group,
                           const char *workflow, const char *action,
                           int grant, relm_diag *d)
{
    if (workflow == NULL || workflow[0] == '\0')
        return relm_diag_set(d, "invalid_field",
                             _("workflow: a workflow name or \"*\""));
    /* A name outside the fixed list is a workflow's own permission (a
     * "supervise" role on a transition): granted only on that workflow,
     * and only when its compiled definition asks for it, so a typo is
     * refused rather than granting nothing. Revoking takes any name, to
     * clean up after a workflow dropped one. */
    if (!relm_auth_known_action(action) && grant &&
        (strcmp(workflow, "*") == 0 ||
         !relm_workflow_declares_permission(s, workflow, action)))
        return relm_diag_set(d, "invalid_field",
                             _("action: '%s' is not one of create, execute, "
                             "delegate, suspend, reactivate, reopen, cancel, "
                             "approve, admin, cmdb, nor a permission a "
                             "transition of workflow '%s' names"), action,
                             workflow);
    /* The CMDB belongs to no workflow: a cmdb grant on one would look
     * like a permission and grant nothing. */
    if (strcmp(action, "cmdb") == 0 && strcmp(workflow, "*") != 0)
        return relm_diag_set(d, "invalid_field",
                             _("workflow: the cmdb action is granted on "
                             "workflow \"*\" (the CMDB belongs to no "
                             "workflow), got \"%s\""), workflow);
    if (begin_admin(s, grant ? "granting a permission"
                             : "revoking a permission", d) != RELM_OK)
        return RELM_ERR;
    int64_t gid = lookup(s, 0, group, d);
    if (gid == 0)
        return fail_rb(s);
    sqlite3_stmt *st = relm_store_stmt(
        s, grant ? "INSERT OR IGNORE INTO permissions (group_id, workflow, "
                   "action) VALUES (?1, ?2, ?3)"
                 : "DELETE FROM permissions WHERE group_id = ?1 AND "
                   "workflow = ?2 AND action = ?3", d);
    if (st == NULL)
        return fail_rb(s);
    sqlite3_bind_int64(st, 1, gid);
    sqlite3_bind_text(st, 2, workflow, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
    if (relm_store_step_write(s, st, d, "permission '%s'", group) != RELM_OK)
        return fail_rb(s);
    if (sqlite3_changes(relm_store_db(s)) == 0) {
        relm_store_rollback(s);
        return RELM_OK;
    }
    char note[300];
    snprintf(note, sizeof note, "%s %s: %s on %s", grant ? "grant" : "revoke",
             group, action, workflow);
    return log_commit(s, "permission", gid, grant ? "grant" : "revoke", NULL,
                      NULL, note, d);
}

#define JUSTIFICATION_JSON                                                 \
    "SELECT json_object('id', id, 'description', description, "            \
    "'suspend', for_suspend, 'cancel', for_cancel, 'reopen', for_reopen, "  \
    "'active', active) FROM justifications WHERE id = ?1"

int relm_people_justification_add(relm_store *s,
                                  const relm_justification_spec *j,
                                  int64_t *id, relm_diag *d)
{
    if (j->description == NULL || j->description[0] == '\0')
        return relm_diag_set(d, "invalid_field",
                             _("description: required, a non-empty string"));
    if (j->suspend <= 0 && j->cancel <= 0 && j->reopen <= 0)
        return relm_diag_set(d, "invalid_field",
                             _("a justification must be usable for at least one "
                             "of suspend, cancel, reopen"));
    sqlite3_stmt *st = begin_stmt(
        s, "adding a justification",
        "INSERT INTO justifications (description, for_suspend, for_cancel, "
        "for_reopen, active) VALUES (?1, ?2, ?3, ?4, ?5)", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_text(st, 1, j->description, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, j->suspend > 0);
    sqlite3_bind_int(st, 3, j->cancel > 0);
    sqlite3_bind_int(st, 4, j->reopen > 0);
    sqlite3_bind_int(st, 5, j->active != 0);
    if (relm_store_step_write(s, st, d, "justification '%s'", j->description) != RELM_OK)
        return fail_rb(s);
    *id = sqlite3_last_insert_rowid(relm_store_db(s));
    return log_commit(s, "justification", *id, "add", JUSTIFICATION_JSON,
                      NULL, NULL, d);
}

int relm_people_justification_update(relm_store *s, int64_t id,
                                     const relm_justification_spec *j,
                                     relm_diag *d)
{
    if (j->description != NULL && j->description[0] == '\0')
        return relm_diag_set(d, "invalid_field",
                             _("description: may not be empty"));
    sqlite3_stmt *st = begin_stmt(
        s, "changing a justification",
        "UPDATE justifications SET description = coalesce(?2, description), "
        "for_suspend = CASE WHEN ?3 < 0 THEN for_suspend ELSE ?3 END, "
        "for_cancel = CASE WHEN ?4 < 0 THEN for_cancel ELSE ?4 END, "
        "for_reopen = CASE WHEN ?5 < 0 THEN for_reopen ELSE ?5 END, "
        "active = CASE WHEN ?6 < 0 THEN active ELSE ?6 END WHERE id = ?1", d);
    if (st == NULL)
        return RELM_ERR;
    char *before = snapshot_json(s, JUSTIFICATION_JSON, id);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, j->description, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, j->suspend < 0 ? -1 : j->suspend > 0);
    sqlite3_bind_int(st, 4, j->cancel < 0 ? -1 : j->cancel > 0);
    sqlite3_bind_int(st, 5, j->reopen < 0 ? -1 : j->reopen > 0);
    sqlite3_bind_int(st, 6, j->active < 0 ? -1 : j->active > 0);
    if (relm_store_step_write(s, st, d, "justification %lld", (long long)id) != RELM_OK) {
        free(before);
        return fail_rb(s);
    }
    if (sqlite3_changes(relm_store_db(s)) == 0) {
        free(before);
        relm_store_rollback(s);
        return relm_diag_set(d, "not_found",
                             _("no justification with id %" PRId64), id);
    }
    /* The same rule as add: a justification justifies something. */
    st = relm_store_stmt(s,
                         "SELECT for_suspend + for_cancel + for_reopen FROM "
                         "justifications WHERE id = ?1",
                         d);
    if (st == NULL) {
        free(before);
        return fail_rb(s);
    }
    sqlite3_bind_int64(st, 1, id);
    int uses = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_reset(st);
    if (uses == 0) {
        relm_diag_set(d, "invalid_field",
                      _("justification %" PRId64 " would be usable for none of "
                      "suspend, cancel, reopen (deactivate it instead: "
                      "active = false)"), id);
        free(before);
        return fail_rb(s);
    }
    return log_commit(s, "justification", id, "update", JUSTIFICATION_JSON,
                      before, NULL, d);
}
