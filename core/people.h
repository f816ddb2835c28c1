/* people.h: users, groups, memberships, permissions and the justification
 * catalogue. Every write here is administrator-only, one transaction, and
 * appends an occurrence. */
#ifndef RELM_PEOPLE_H
#define RELM_PEOPLE_H

#include <stdint.h>

#include "base/diag.h"
#include "base/store.h"

typedef struct relm_user_spec {
    const char *name; /* required, unique */
    const char *full_name, *email, *phone, *unit, *location;
    int is_admin;
} relm_user_spec;

/* Add a user; duplicate when the name is taken. */
int relm_people_user_add(relm_store *s, const relm_user_spec *u, int64_t *id,
                         relm_diag *d);
/* Activate or deactivate a user (inactive users cannot act). */
int relm_people_user_set_active(relm_store *s, const char *name, int active,
                                relm_diag *d);

/* Add a group; duplicate when the name is taken. */
int relm_people_group_add(relm_store *s, const char *name,
                          const char *description, int64_t *id, relm_diag *d);

/* Add (add = 1) or remove user from group. Idempotent. */
int relm_people_member(relm_store *s, const char *user, const char *group,
                       int add, relm_diag *d);

/* Put user in group with role ("lead", ...), or change the role of a
 * member: one transaction, administrators only, logged. */
int relm_people_member_role(relm_store *s, const char *user,
                            const char *group, const char *role, relm_diag *d);

/* Grant (grant = 1) or revoke (group, workflow, action). workflow "*" is
 * every workflow; action one of create, execute, delegate, suspend,
 * reactivate, reopen, cancel, approve, admin. Idempotent. */
int relm_people_permission(relm_store *s, const char *group,
                           const char *workflow, const char *action,
                           int grant, relm_diag *d);

/* A justification; flags are 0/1, or -1 for "unchanged" in update. */
typedef struct relm_justification_spec {
    const char *description; /* NULL = unchanged in update */
    int suspend, cancel, reopen, active;
} relm_justification_spec;

int relm_people_justification_add(relm_store *s,
                                  const relm_justification_spec *j,
                                  int64_t *id, relm_diag *d);
int relm_people_justification_update(relm_store *s, int64_t id,
                                     const relm_justification_spec *j,
                                     relm_diag *d);

#endif
