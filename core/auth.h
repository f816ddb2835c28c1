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

/* RELM_OK when the acting user may write the CMDB (CIs, types,
 * relationships, imports, baselines, media, spares, change/problem/...
 * records): a group of theirs holds ('*', 'cmdb') or ('*', 'admin'), or
 * they are a superuser. Else permission_denied saying what needed it. */
int relm_auth_require_cmdb(relm_store *s, const char *what, relm_diag *d);

/* relm_store_begin, then relm_auth_require_admin (resp. _cmdb) inside the
 * transaction just opened; on refusal the transaction is rolled back and
 * d filled. Checking after BEGIN IMMEDIATE means a revocation committed
 * by another connection is always honoured: nothing can land between the
 * check and the write. Writers call these instead of check-then-begin. */
int relm_auth_begin_admin(relm_store *s, const char *what, relm_diag *d);
int relm_auth_begin_cmdb(relm_store *s, const char *what, relm_diag *d);

/* 1 when action is one of the permission actions the schema knows. */
int relm_auth_known_action(const char *action);

#endif
