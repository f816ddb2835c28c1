/* activity.h: planning-phase and deployment-phase activities of a release
 * (a kanban board with owners, order, dependencies and schedule). */
#ifndef RELM_ACTIVITY_H
#define RELM_ACTIVITY_H

#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "base/store.h"

/* Which fields of a relm_activity_spec are given. A text field given as
 * NULL (or "") clears it, except title and phase which may not be empty. */
enum {
    RELM_ACT_PHASE = 1u << 0,
    RELM_ACT_TITLE = 1u << 1,
    RELM_ACT_DESCRIPTION = 1u << 2,
    RELM_ACT_GROUP = 1u << 3,
    RELM_ACT_OWNER = 1u << 4,
    RELM_ACT_SCHEDULED = 1u << 5,
    RELM_ACT_NOTES = 1u << 6,
    RELM_ACT_ORDER = 1u << 7,
    RELM_ACT_ESTIMATE = 1u << 8,
    RELM_ACT_ACTUAL = 1u << 9,
    RELM_ACT_STATUS = 1u << 10,
};

typedef struct relm_activity_spec {
    unsigned set;             /* RELM_ACT_* bits */
    const char *phase;        /* "planning" or "deployment" */
    const char *title;
    const char *description;
    const char *group;        /* owner group name */
    const char *owner;        /* owner person (user name) */
    const char *scheduled_at; /* YYYY-MM-DD[THH:MM[:SS]][Z] */
    const char *notes;
    const char *status;       /* todo, in_progress, done, cancelled */
    int64_t order;            /* position in the phase, >= 1 */
    int64_t estimated_minutes;
    int64_t actual_minutes;
} relm_activity_spec;

/* Add an activity to release release_id. Needs permission perm (NULL =
 * execute; registration pre-fills with create) on the release's workflow
 * and a release that is neither closed nor cancelled (not_allowed). phase and title are required; order defaults to the end
 * of the phase; status to todo. action names the occurrence appended to the
 * release's log ("activity.add", "activity.prefill"). One transaction. On
 * success *id is the new activity and *after (may be NULL; malloc'd) its
 * JSON snapshot. */
int relm_activity_add(relm_store *s, int64_t release_id,
                      const relm_activity_spec *a, const char *action,
                      const char *perm, int64_t *id, char **after,
                      relm_diag *d);

/* Change the fields of activity id that a->set names. Allowed to those
 * holding execute on the release's workflow and to the activity's owner
 * (the person, or a member of the owner group). Moving to in_progress or
 * done requires every activity it waits for to be done or cancelled
 * (not_allowed naming them). action names the occurrence ("activity.update",
 * "activity.move", "activity.schedule"); note goes with it. One transaction. */
int relm_activity_update(relm_store *s, int64_t id,
                         const relm_activity_spec *a, const char *action,
                         const char *note, char **after, relm_diag *d);

/* Make activity id wait for activity on (add = 1) or stop waiting (add =
 * 0). Both on the same release; a dependency that would close a cycle is
 * refused (not_allowed, naming the path); an existing one is duplicate; a
 * missing one (add = 0) not_found. Permission execute. One transaction. */
int relm_activity_depend(relm_store *s, int64_t id, int64_t on, int add,
                         char **after, relm_diag *d);

/* JSON snapshot of activity id (malloc'd into *json); not_found if none. */
int relm_activity_get(relm_store *s, int64_t id, char **json, relm_diag *d);

/* JSON array of the activities of release release_id, planning before
 * deployment, each phase in order (malloc'd into *json). not_found when
 * the release does not exist. */
int relm_activity_list(relm_store *s, int64_t release_id, char **json,
                       relm_diag *d);

#endif
