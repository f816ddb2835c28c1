/* release.h: release records and the primitives every workflow gets
 * (transition, update, suspend, reactivate, cancel, reopen, close, capture,
 * delegate, share). Each primitive is one transaction that checks the
 * permission, runs the caller's hook (the workflow guard), writes, and
 * appends an occurrence. */
#ifndef RELM_RELEASE_H
#define RELM_RELEASE_H

#include <stdint.h>

#include "base/diag.h"
#include "base/store.h"

/* A set of field changes: name -> NULL, integer, text, boolean or real. A
 * name set twice keeps the last value. Names are release fields (see
 * relm_release_field) or "extra.<name>" for a workflow's own fields, kept in
 * releases.extra, where booleans and reals keep their JSON type (so they
 * read back as what was written). */
enum { RELM_FV_NULL, RELM_FV_INT, RELM_FV_TEXT, RELM_FV_BOOL, RELM_FV_REAL };
#define RELM_FIELDS_MAX 64

typedef struct relm_field_value {
    char name[64];
    int type;
    int64_t i; /* integer, or 0/1 for a boolean */
    double x;  /* real */
    char *s;   /* owned */
} relm_field_value;

typedef struct relm_fields {
    relm_field_value v[RELM_FIELDS_MAX];
    int n;
} relm_fields;

void relm_fields_init(relm_fields *f);
void relm_fields_free(relm_fields *f);
int relm_fields_set_null(relm_fields *f, const char *name, relm_diag *d);
int relm_fields_set_int(relm_fields *f, const char *name, int64_t v,
                        relm_diag *d);
int relm_fields_set_bool(relm_fields *f, const char *name, int v,
                         relm_diag *d);
int relm_fields_set_real(relm_fields *f, const char *name, double v,
                         relm_diag *d);
int relm_fields_set_text(relm_fields *f, const char *name, const char *v,
                         size_t len, relm_diag *d);
const relm_field_value *relm_fields_get(const relm_fields *f,
                                        const char *name);

/* Field metadata for callers that validate before calling: flags say
 * whether register and update/act accept the field, and whether a
 * workflow's entry/exit actions may set it (the hook's changes). */
enum { RELM_FIELD_REGISTER = 1, RELM_FIELD_UPDATE = 2, RELM_FIELD_WORKFLOW = 4 };
typedef struct relm_field_info {
    const char *name;
    const char *kind; /* "text", "level", "date", "user", "group", ... */
    unsigned flags;
} relm_field_info;
/* The i-th known field (NULL past the end). */
const relm_field_info *relm_release_field(int i);

/* Called inside the primitive's transaction, after the permission, status,
 * from-state, `by` and editable checks and before any write, with the
 * release as it is now (JSON snapshot). It may refuse (return RELM_ERR
 * with d filled, e.g. a guard said no) or add field changes to out (entry
 * and exit actions); required fields are checked after those changes. */
typedef int (*relm_release_hook)(void *ud, const char *snapshot,
                                 relm_fields *out, relm_diag *d);

typedef enum relm_release_kind {
    RELM_OP_TRANSITION,
    RELM_OP_UPDATE,
    RELM_OP_SUSPEND,
    RELM_OP_REACTIVATE,
    RELM_OP_CANCEL,
    RELM_OP_REOPEN,
    RELM_OP_CLOSE,
    RELM_OP_CAPTURE,
    RELM_OP_DELEGATE,
    RELM_OP_SHARE,
} relm_release_kind;

/* The name of a kind ("transition", "update", then the primitives every
 * workflow gets: "suspend" ... "share"), and the permission it needs (a
 * transition's own comes from its workflow); NULL past RELM_OP_SHARE. */
const char *relm_release_kind_name(int kind);
const char *relm_release_kind_permission(int kind);

/* One action on a release. The caller names the action only: C looks up
 * the release's compiled workflow (core/workflow.h, defined by the engine)
 * and works out the rest itself: whether it is a transition from the
 * current state or a primitive, the permission, the target state and
 * phase, closing, `by`, editable and required fields, the approval point.
 * Nothing in op can name a target or a permission. */
typedef struct relm_release_op {
    const char *action;      /* a transition of the release's workflow, or a
                              * primitive: update, suspend, reactivate,
                              * cancel, reopen, close, capture, delegate,
                              * share */
    int64_t justification_id;
    const char *note;
    const char *to_group;    /* delegate/share target group name */
    const char *to_user;     /* delegate/share target user name */
    const relm_fields *fields;
    const char *reactivate_at; /* suspend: when serve reactivates it (ISO
                                * 8601, in the future), or NULL */
    int64_t version;         /* compare-and-set: the row_version the caller
                              * read; 0 = do not compare. A release written
                              * since is refused with conflict */
    relm_release_hook hook;
    void *hook_ud;
} relm_release_op;

/* Register a new release of workflow in its initial state and phase, with
 * fields (title required). Permission: (workflow, create). The workflow
 * must be defined (relm_workflow_define); state and phase must be its
 * initial state and that state's phase, else not_allowed. On success *id
 * is the new id and *after (malloc'd, caller frees) its JSON snapshot. */
int relm_release_register(relm_store *s, const char *workflow,
                          const char *state, const char *phase,
                          const relm_fields *fields, int64_t *id,
                          char **after, relm_diag *d);

/* Run one action on release id. Refusals (not_found, permission_denied,
 * not_allowed, justification_required, invalid_field, not_defined when
 * the engine defined no workflow of that name, or the hook's code) write
 * nothing. On success *after (malloc'd, may be NULL when not wanted)
 * is the release's JSON snapshot after the action. */
int relm_release_apply(relm_store *s, int64_t id, const relm_release_op *op,
                       char **after, relm_diag *d);

/* The JSON snapshot of release id, or of the release numbered number when
 * id is 0 (malloc'd into *json). not_found when there is none. */
int relm_release_get(relm_store *s, int64_t id, const char *number,
                     char **json, int64_t *found_id, relm_diag *d);

/* Where a release stands, without building its snapshot: what callers
 * need to decide which primitive to run. By id, or by number when id is 0. */
typedef struct relm_release_head_info {
    int64_t id;
    char number[32];
    char workflow[128];
    char state[128];
    char status[16];
} relm_release_head_info;
int relm_release_head(relm_store *s, int64_t id, const char *number,
                      relm_release_head_info *h, relm_diag *d);

/* The workflow name of release id (for callers that must load it before
 * they act). out has room for size bytes. */
int relm_release_workflow(relm_store *s, int64_t id, char *out, size_t size,
                          relm_diag *d);

/* Check justification id can be used for use ("suspend", "cancel",
 * "reopen"): it exists, is active and is marked usable for that. */
int relm_release_check_justification(relm_store *s, int64_t id,
                                     const char *use, relm_diag *d);

#endif
