/* auth.h: who may do what. Permissions are group x workflow x action; the
 * acting user is the store's actor. Every write primitive asks here first. */
#ifndef RELM_AUTH_H
#define RELM_AUTH_H

#include "base/diag.h"
#include "base/store.h"

/* 1 when the acting user is a superuser: users.is_admin, or a member of a
 * group holding ('*', 'admin'). 0 otherwise (and when there is no actor). */
int relm_auth_is_admin(relm_store *s);

/* RELM_OK when the acting user may perform action on releases of workflow:
 * a group of theirs holds (workflow or '*', action or 'admin'), or they are
 * a superuser. Otherwise permission_denied naming user, action, workflow. */
int relm_auth_check(relm_store *s, const char *workflow, const char *action,
                    relm_diag *d);

/* 1 when user uid (active) may perform action on releases of workflow,
 * by the same rule as relm_auth_check; 0 otherwise. For checks about
 * someone other than the actor (the person a release is delegated to). */
int relm_auth_user_can(relm_store *s, int64_t uid, const char *workflow,
                       const char *action);

/* RELM_OK for a superuser, else permission_denied saying what needed it. */
int relm_auth_require_admin(relm_store *s, const char *what, relm_diag *d);

/* 1 when action is one of the permission actions the schema knows. */
int relm_auth_known_action(const char *action);

#endif
