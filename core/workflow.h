/* workflow.h: the compiled workflow as C keeps it (states, transitions, who
 * may take them, required and editable fields, approval points), per store. */
#ifndef RELM_WORKFLOW_H
#define RELM_WORKFLOW_H

#include "base/diag.h"
#include "base/store.h"

/* Bounds: a definition past them is refused, so a store's graphs stay
 * small whatever a workflow file says. */
#define RELM_WF_MAX_PER_STORE 64
#define RELM_WF_MAX_STATES 128
#define RELM_WF_MAX_TRANSITIONS 256
#define RELM_WF_MAX_NAMES 64 /* requires, editable, from lists */
#define RELM_WF_NAME_MAX 64

/* Who a transition expects (`by`). */
enum { RELM_BY_ANY, RELM_BY_REQUESTER, RELM_BY_EXECUTOR };

/* State flags. */
enum {
    RELM_WF_FINAL = 1,   /* no transition leaves it */
    RELM_WF_SUSPEND = 2, /* suspend allowed there */
    RELM_WF_CANCEL = 4,  /* cancel allowed there */
    RELM_WF_EDITABLE = 8 /* the editable list applies (else every field
                          * update accepts) */
};

typedef struct relm_wf_names {
    char **v;
    int n;
} relm_wf_names;

typedef struct relm_wf_state {
    char *name;
    char *phase;
    unsigned flags;
    relm_wf_names requires; /* needed to leave the state */
    relm_wf_names editable; /* fields act/update may change there */
} relm_wf_state;

typedef struct relm_wf_transition {
    char *name;
    relm_wf_names from;
    char *to;
    char *permission; /* a fixed action name or one the workflow declares */
    int by;           /* RELM_BY_* */
    int approval;     /* leaving through it needs an approved round */
    relm_wf_names requires;
    unsigned refuse_if; /* RELM_CONFLICT_* kinds that refuse it while they
                         * stand (core/conflict.h) */
    unsigned record_if; /* kinds written into its occurrence's note */
} relm_wf_transition;

typedef struct relm_workflow relm_workflow;

/* Start a definition called name; states and transitions are added in
 * declaration order (the order `close` looks for the closing transition).
 * NULL when out of memory. */
relm_workflow *relm_workflow_new(const char *name);
void relm_workflow_free(relm_workflow *w);

/* initial, close_state, cancel_state, reopen_to (the last three may be
 * NULL). */
int relm_workflow_set_ends(relm_workflow *w, const char *initial,
                           const char *close_state, const char *cancel_state,
                           const char *reopen_to, relm_diag *d);
int relm_workflow_add_state(relm_workflow *w, const char *name,
                            const char *phase, unsigned flags,
                            const char *const *requires, int nrequires,
                            const char *const *editable, int neditable,
                            relm_diag *d);
int relm_workflow_add_transition(relm_workflow *w, const char *name,
                                 const char *const *from, int nfrom,
                                 const char *to, const char *permission,
                                 int by, int approval,
                                 const char *const *requires, int nrequires,
                                 relm_diag *d);

/* Set the conflict kinds (RELM_CONFLICT_* bits) that refuse the
 * transition called name, and those its occurrence records. invalid_workflow
 * for an unknown transition. */
int relm_workflow_set_conflicts(relm_workflow *w, const char *name,
                                unsigned refuse_if, unsigned record_if,
                                relm_diag *d);

/* Check w (every state named exists, the ends, no transition named like a
 * primitive, names well formed) and make it the definition of its name in
 * store s, replacing an older one unless it has the same digest (then w
 * is dropped: nothing changed). Takes w in every case. invalid_workflow
 * or limit on a refusal (the old definition stays). */
int relm_workflow_define(relm_store *s, relm_workflow *w, relm_diag *d);

/* The definition of name in s, or NULL when the engine defined none. */
const relm_workflow *relm_workflow_find(relm_store *s, const char *name);

/* Read access for the release primitive. */
const char *relm_workflow_name(const relm_workflow *w);
const char *relm_workflow_initial(const relm_workflow *w);
const char *relm_workflow_close_state(const relm_workflow *w);
const char *relm_workflow_cancel_state(const relm_workflow *w);
const char *relm_workflow_reopen_to(const relm_workflow *w);
const relm_wf_state *relm_workflow_state(const relm_workflow *w,
                                         const char *name);
const relm_wf_transition *relm_workflow_transition(const relm_workflow *w,
                                                   const char *name);
/* The i-th transition in declaration order, NULL past the end. */
const relm_wf_transition *relm_workflow_transition_at(const relm_workflow *w,
                                                      int i);
/* The hex digest of the definition (what "same content" means). */
const char *relm_workflow_digest(const relm_workflow *w);

/* 1 when names holds name. */
int relm_wf_names_has(const relm_wf_names *names, const char *name);
/* 1 when some transition of workflow in s asks for permission action. */
int relm_workflow_declares_permission(relm_store *s, const char *workflow,
                                      const char *action);

#endif
