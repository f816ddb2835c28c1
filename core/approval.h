/* approval.h: approval rounds of a release: who was asked (groups with a
 * quorum, persons, level by level), their decisions, and the outcome. */
#ifndef RELM_APPROVAL_H
#define RELM_APPROVAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "base/store.h"

/* One thing a rule asks: a group (with a quorum) or a person, at a level.
 * Levels are per rule: level 2 of a rule starts when its level 1 is
 * approved. */
typedef struct relm_approval_ask {
    const char *rule;   /* the rule's name */
    const char *source; /* where the rule is written, "file:line" */
    int level;          /* >= 1 */
    const char *group;  /* a group name, or NULL */
    const char *user;   /* a person's user name, or NULL */
    const char *quorum; /* groups: "N", "P%" or "all"; NULL = "1" */
    int veto;           /* 1: one rejection rejects the request */
} relm_approval_ask;

/* Open a new approval round for release_id in its current state with the
 * n asks (n = 0 opens a round that is approved at once, which records that
 * no rule asked for approval). An open round the release still has is
 * withdrawn first. Needs a release that is open, and the acting user to
 * hold execute, create or approve on its workflow. A group without active
 * members, or a quorum larger than the group, is refused (not_allowed,
 * naming the rule and where it is written). One transaction; appends the
 * occurrence "approval.request". *round_id (may be NULL) is the new round. */
int relm_approval_open(relm_store *s, int64_t release_id,
                       const relm_approval_ask *asks, size_t n,
                       int64_t *round_id, relm_diag *d);

/* Record the acting user's decision ("approve" or "reject"; a rejection
 * needs a note) on every pending request of the release's open round they
 * are asked in (as the person, or as a member of the group). Refusals:
 * not_allowed when no round is open or the user is not asked (the message
 * says who still is), duplicate when they already decided, permission_denied
 * without the approve permission on the workflow. Levels advance and the
 * round's outcome is settled in the same transaction, which appends the
 * occurrence "approval.approve" or "approval.reject". status (16 bytes)
 * receives the round's status afterwards: open, approved or rejected. */
int relm_approval_decide(relm_store *s, int64_t release_id,
                         const char *decision, const char *note,
                         char status[16], relm_diag *d);

/* Withdraw the release's open round, if any (the release left the state it
 * was asked in). One transaction; appends "approval.withdraw" when there
 * was one. *withdrawn (may be NULL) is set to 1 when a round was closed. */
int relm_approval_withdraw(relm_store *s, int64_t release_id,
                           const char *note, int *withdrawn, relm_diag *d);

/* JSON of the release's latest round with its requests and decisions, or
 * "null" when it never had one (malloc'd into *json). */
int relm_approval_round(relm_store *s, int64_t release_id, char **json,
                        relm_diag *d);

/* RELM_OK when release_id's latest round was asked in state and is
 * approved (its quorum reached at every level); not_allowed otherwise,
 * saying why. The release primitive calls it, inside its transaction,
 * before any transition leaves an approval point (action names it). */
int relm_approval_satisfied(relm_store *s, int64_t release_id,
                            const char *state, const char *action,
                            relm_diag *d);

#endif
