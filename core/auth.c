/* auth.c: permission checks against groups, memberships and permissions.
 * Reads only; writers check inside their write transaction (see auth.h). */
#include "base/i18n.h"
#include "auth.h"

#include <string.h>

static const char *const actions[] = {"create", "execute", "delegate",
                                      "suspend", "reactivate", "reopen",
                                      "cancel", "approve", "admin", "cmdb",
                                      NULL};

/* See auth.h. */
int relm_auth_known_action(const char *action)
{
    for (int i = 0; actions[i] != NULL; i++)
        if (strcmp(actions[i], action) == 0)
            return 1;
    return 0;
}

/* See auth.h. Runs the membership query for (workflow, action); 1 when a
 * row matches. Superusers match through the ('*', 'admin') row or
 * users.is_admin. */
int relm_auth_user_can(relm_store *s, int64_t uid, const char *workflow,
                       const char *action)
{
    if (uid == 0)
        return 0;
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT 1 FROM users u WHERE u.id = ?1 AND u.active = 1 AND "
        "(u.is_admin = 1 OR EXISTS (SELECT 1 FROM memberships m "
        "JOIN permissions p ON p.group_id = m.group_id WHERE m.user_id = ?1 "
        "AND (p.workflow = ?2 OR p.workflow = '*') "
        "AND (p.action = ?3 OR p.action = 'admin')))",
        NULL);
    if (st == NULL)
        return 0;
    sqlite3_bind_int64(st, 1, uid);
    sqlite3_bind_text(st, 2, workflow, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
    int ok = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return ok;
}

int relm_auth_is_admin(relm_store *s)
{
    /* '*' as the workflow asks for a permission valid everywhere, which
     * only ('*', 'admin') or is_admin grant. */
    return relm_auth_user_can(s, relm_store_actor_id(s), "*", "admin");
}

int relm_auth_check(relm_store *s, const char *workflow, const char *action,
                    relm_diag *d)
{
    if (relm_auth_user_can(s, relm_store_actor_id(s), workflow, action))
        return RELM_OK;
    const char *who = relm_store_actor_name(s);
    return relm_diag_set(d, "permission_denied",
                         _("user '%s' may not %s releases of workflow '%s' "
                         "(no group of theirs holds that permission; an "
                         "administrator grants it with relm.permission.grant"
                         "{ group = ..., workflow = '%s', action = '%s' })"),
                         who[0] ? who : "(nobody)", action, workflow,
                         workflow, action);
}

int relm_auth_require_admin(relm_store *s, const char *what, relm_diag *d)
{
    if (relm_auth_is_admin(s))
        return RELM_OK;
    const char *who = relm_store_actor_name(s);
    return relm_diag_set(d, "permission_denied",
                         _("%s needs an administrator; user '%s' is not one"),
                         what, who[0] ? who : "(nobody)");
}

/* See auth.h. */
int relm_auth_require_cmdb(relm_store *s, const char *what, relm_diag *d)
{
    /* '*' as the workflow: the CMDB belongs to no workflow, so only a
     * ('*', 'cmdb') or ('*', 'admin') grant, or is_admin, lets one in. */
    if (relm_auth_user_can(s, relm_store_actor_id(s), "*", "cmdb"))
        return RELM_OK;
    const char *who = relm_store_actor_name(s);
    return relm_diag_set(d, "permission_denied",
                         _("%s needs the cmdb permission; user '%s' has not "
                         "got it (an administrator grants it with "
                         "relm.permission.grant{ group = ..., workflow = "
                         "'*', action = 'cmdb' })"),
                         what, who[0] ? who : "(nobody)");
}

/* Open the write transaction, then check inside it: BEGIN IMMEDIATE takes
 * the write lock first, so a revocation another connection commits before
 * this point is seen, and none can land between check and write. On
 * failure nothing is left open. */
static int begin_checked(relm_store *s, int cmdb, const char *what,
                         relm_diag *d)
{
    if (relm_store_begin(s, d) != RELM_OK)
        return RELM_ERR;
    int rc = cmdb ? relm_auth_require_cmdb(s, what, d)
                  : relm_auth_require_admin(s, what, d);
    if (rc != RELM_OK)
        relm_store_rollback(s);
    return rc;
}

int relm_auth_begin_admin(relm_store *s, const char *what, relm_diag *d)
{
    return begin_checked(s, 0, what, d);
}

int relm_auth_begin_cmdb(relm_store *s, const char *what, relm_diag *d)
{
    return begin_checked(s, 1, what, d);
}
