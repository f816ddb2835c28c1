/* workflow.c: the compiled workflow kept in C, per store, defined by the
 * engine's state after it compiles a file; the release primitive reads it. */
#include "base/i18n.h"
#include "workflow.h"

#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "base/sha256.h"
#include "release.h"

struct relm_workflow {
    char *name;
    char *initial, *close_state, *cancel_state, *reopen_to;
    relm_wf_state *states;
    int nstates;
    relm_wf_transition *transitions;
    int ntransitions;
    relm_sha256 hash; /* over every call that built it, in order */
    char digest[65];
};

/* The store's definitions: a small array, found by name. */
typedef struct wf_set {
    relm_workflow *w[RELM_WF_MAX_PER_STORE];
    int n;
} wf_set;

static void set_free(void *p)
{
    wf_set *set = p;
    for (int i = 0; i < set->n; i++)
        relm_workflow_free(set->w[i]);
    free(set);
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

/* Feed one name (or the absence of one) into the digest, delimited so
 * ("ab","c") and ("a","bc") differ. */
static void hash_str(relm_workflow *w, const char *s)
{
    if (s == NULL) {
        relm_sha256_update(&w->hash, "\2", 1);
        return;
    }
    relm_sha256_update(&w->hash, s, strlen(s));
    relm_sha256_update(&w->hash, "\1", 1);
}

static void hash_int(relm_workflow *w, unsigned v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    relm_sha256_update(&w->hash, b, 4);
}

/* A name the engine may keep: non-empty, short, printable. */
static int name_ok(const char *s)
{
    if (s == NULL || s[0] == '\0' || strlen(s) >= RELM_WF_NAME_MAX)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* A permission name: a lower-case letter, then letters, digits or _, at
 * most 32 bytes (what the permissions table takes, migration 0031). */
static int permission_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > 32 || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_'))
            return 0;
    return 1;
}

static void names_free(relm_wf_names *n)
{
    for (int i = 0; i < n->n; i++)
        free(n->v[i]);
    free(n->v);
    n->v = NULL;
    n->n = 0;
}

/* Copy list into out (and the digest); invalid_workflow naming what for a
 * list too long or a bad name. */
static int names_copy(relm_workflow *w, relm_wf_names *out,
                      const char *const *list, int n, const char *what,
                      const char *owner, relm_diag *d)
{
    out->v = NULL;
    out->n = 0;
    if (n < 0 || n > RELM_WF_MAX_NAMES)
        return relm_diag_set(d, "invalid_workflow",
                             _("%s of '%s': more than %d names"), what, owner,
                             RELM_WF_MAX_NAMES);
    hash_int(w, (unsigned)n);
    if (n == 0)
        return RELM_OK;
    out->v = calloc((size_t)n, sizeof *out->v);
    if (out->v == NULL)
        return relm_diag_set(d, "out_of_memory", _("out of memory"));
    for (int i = 0; i < n; i++) {
        if (!name_ok(list[i])) {
            names_free(out);
            return relm_diag_set(d, "invalid_workflow",
                                 _("%s of '%s': a name must be 1 to %d "
                                 "printable bytes"), what, owner,
                                 RELM_WF_NAME_MAX - 1);
        }
        out->v[i] = strdup(list[i]);
        out->n = i + 1;
        if (out->v[i] == NULL) {
            names_free(out);
            return relm_diag_set(d, "out_of_memory", _("out of memory"));
        }
        hash_str(w, list[i]);
    }
    return RELM_OK;
}

relm_workflow *relm_workflow_new(const char *name)
{
    if (!name_ok(name))
        return NULL;
    relm_workflow *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->name = strdup(name);
    if (w->name == NULL) {
        free(w);
        return NULL;
    }
    relm_sha256_init(&w->hash);
    hash_str(w, name);
    return w;
}

void relm_workflow_free(relm_workflow *w)
{
    if (w == NULL)
        return;
    for (int i = 0; i < w->nstates; i++) {
        relm_wf_state *st = &w->states[i];
        free(st->name);
        free(st->phase);
        names_free(&st->requires);
        names_free(&st->editable);
    }
    for (int i = 0; i < w->ntransitions; i++) {
        relm_wf_transition *t = &w->transitions[i];
        free(t->name);
        free(t->to);
        free(t->permission);
        names_free(&t->from);
        names_free(&t->requires);
    }
    free(w->states);
    free(w->transitions);
    free(w->name);
    free(w->initial);
    free(w->close_state);
    free(w->cancel_state);
    free(w->reopen_to);
    free(w);
}

int relm_workflow_set_ends(relm_workflow *w, const char *initial,
                           const char *close_state, const char *cancel_state,
                           const char *reopen_to, relm_diag *d)
{
    if (!name_ok(initial))
        return relm_diag_set(d, "invalid_workflow",
                             _("workflow '%s' needs an initial state"), w->name);
    free(w->initial);
    free(w->close_state);
    free(w->cancel_state);
    free(w->reopen_to);
    w->initial = strdup(initial);
    w->close_state = dup_or_null(close_state);
    w->cancel_state = dup_or_null(cancel_state);
    w->reopen_to = dup_or_null(reopen_to);
    if (w->initial == NULL || (close_state && !w->close_state) ||
        (cancel_state && !w->cancel_state) || (reopen_to && !w->reopen_to))
        return relm_diag_set(d, "out_of_memory", _("out of memory"));
    hash_str(w, "ends");
    hash_str(w, initial);
    hash_str(w, close_state);
    hash_str(w, cancel_state);
    hash_str(w, reopen_to);
    return RELM_OK;
}

int relm_workflow_add_state(relm_workflow *w, const char *name,
                            const char *phase, unsigned flags,
                            const char *const *requires, int nrequires,
                            const char *const *editable, int neditable,
                            relm_diag *d)
{
    if (!name_ok(name) || !name_ok(phase))
        return relm_diag_set(d, "invalid_workflow",
                             _("workflow '%s': a state needs a name and a "
                             "phase"), w->name);
    if (relm_workflow_state(w, name) != NULL)
        return relm_diag_set(d, "invalid_workflow",
                             _("workflow '%s': state '%s' defined twice"),
                             w->name, name);
    if (w->nstates >= RELM_WF_MAX_STATES)
        return relm_diag_set(d, "limit", _("workflow '%s': more than %d states"),
                             w->name, RELM_WF_MAX_STATES);
    if (w->nstates % 16 == 0) {
        relm_wf_state *n = realloc(w->states, (size_t)(w->nstates + 16) *
                                                  sizeof *n);
        if (n == NULL)
            return relm_diag_set(d, "out_of_memory", _("out of memory"));
        w->states = n;
    }
    relm_wf_state *st = &w->states[w->nstates];
    memset(st, 0, sizeof *st);
    hash_str(w, "state");
    hash_str(w, name);
    hash_str(w, phase);
    hash_int(w, flags);
    st->name = strdup(name);
    st->phase = strdup(phase);
    st->flags = flags;
    w->nstates++; /* counted now so relm_workflow_free frees what is set */
    if (st->name == NULL || st->phase == NULL)
        return relm_diag_set(d, "out_of_memory", _("out of memory"));
    if (names_copy(w, &st->requires, requires, nrequires, "requires", name,
                   d) != RELM_OK ||
        names_copy(w, &st->editable, editable, neditable, "editable", name,
                   d) != RELM_OK)
        return RELM_ERR;
    return RELM_OK;
}

int relm_workflow_add_transition(relm_workflow *w, const char *name,
                                 const char *const *from, int nfrom,
                                 const char *to, const char *permission,
                                 int by, int approval,
                                 const char *const *requires, int nrequires,
                                 relm_diag *d)
{
    if (!name_ok(name) || !name_ok(to) || !name_ok(permission))
        return relm_diag_set(d, "invalid_workflow",
                             _("workflow '%s': a transition needs a name, a "
                             "target state and a permission"), w->name);
    if (!permission_ok(permission))
        return relm_diag_set(d, "invalid_workflow",
                             _("transition '%s': permission '%s' is not a "
                             "lower-case name of at most 32 bytes"), name,
                             permission);
    if (by < RELM_BY_ANY || by > RELM_BY_EXECUTOR)
        return relm_diag_set(d, "invalid_workflow",
                             _("transition '%s': unknown by"), name);
    if (relm_workflow_transition(w, name) != NULL)
        return relm_diag_set(d, "invalid_workflow",
                             _("workflow '%s': transition '%s' defined twice"),
                             w->name, name);
    if (w->ntransitions >= RELM_WF_MAX_TRANSITIONS)
        return relm_diag_set(d, "limit",
                             _("workflow '%s': more than %d transitions"),
                             w->name, RELM_WF_MAX_TRANSITIONS);
    if (w->ntransitions % 16 == 0) {
        relm_wf_transition *n = realloc(
            w->transitions, (size_t)(w->ntransitions + 16) * sizeof *n);
        if (n == NULL)
            return relm_diag_set(d, "out_of_memory", _("out of memory"));
        w->transitions = n;
    }
    relm_wf_transition *t = &w->transitions[w->ntransitions];
    memset(t, 0, sizeof *t);
    hash_str(w, "transition");
    hash_str(w, name);
    hash_str(w, to);
    hash_str(w, permission);
    hash_int(w, (unsigned)by);
    hash_int(w, approval ? 1u : 0u);
    t->name = strdup(name);
    t->to = strdup(to);
    t->permission = strdup(permission);
    t->by = by;
    t->approval = approval != 0;
    w->ntransitions++;
    if (t->name == NULL || t->to == NULL || t->permission == NULL)
        return relm_diag_set(d, "out_of_memory", _("out of memory"));
    if (names_copy(w, &t->from, from, nfrom, "from", name, d) != RELM_OK ||
        names_copy(w, &t->requires, requires, nrequires, "requires", name,
                   d) != RELM_OK)
        return RELM_ERR;
    return RELM_OK;
}

int relm_workflow_set_conflicts(relm_workflow *w, const char *name,
                                unsigned refuse_if, unsigned record_if,
                                relm_diag *d)
{
    relm_wf_transition *t = (relm_wf_transition *)relm_workflow_transition(
        w, name);
    if (t == NULL)
        return relm_diag_set(d, "invalid_workflow",
                             _("workflow '%s': no transition '%s'"), w->name,
                             name != NULL ? name : "");
    hash_str(w, "conflicts");
    hash_str(w, name);
    hash_int(w, refuse_if);
    hash_int(w, record_if);
    t->refuse_if = refuse_if;
    t->record_if = record_if;
    return RELM_OK;
}

/* A state name the workflow must declare (NULL allowed when optional). */
static int state_ref(const relm_workflow *w, const char *name,
                     const char *what, relm_diag *d)
{
    if (name == NULL || relm_workflow_state(w, name) != NULL)
        return RELM_OK;
    return relm_diag_set(d, "invalid_workflow",
                         _("workflow '%s': %s '%s' is not one of its states"),
                         w->name, what, name);
}

/* The checks C relies on when it acts: every state a transition or an end
 * names exists, and no transition hides a primitive. */
static int validate(const relm_workflow *w, relm_diag *d)
{
    if (w->initial == NULL)
        return relm_diag_set(d, "invalid_workflow",
                             _("workflow '%s' needs an initial state"), w->name);
    if (state_ref(w, w->initial, "initial", d) != RELM_OK ||
        state_ref(w, w->close_state, "close_state", d) != RELM_OK ||
        state_ref(w, w->cancel_state, "cancel_state", d) != RELM_OK ||
        state_ref(w, w->reopen_to, "reopen_to", d) != RELM_OK)
        return RELM_ERR;
    for (int i = 0; i < w->ntransitions; i++) {
        const relm_wf_transition *t = &w->transitions[i];
        for (int k = 0; relm_release_kind_name(k) != NULL; k++)
            if (strcmp(t->name, relm_release_kind_name(k)) == 0)
                return relm_diag_set(d, "invalid_workflow",
                                     _("workflow '%s': transition name '%s' "
                                     "is reserved for the primitive"),
                                     w->name, t->name);
        if (state_ref(w, t->to, "target of a transition", d) != RELM_OK)
            return RELM_ERR;
        for (int k = 0; k < t->from.n; k++)
            if (state_ref(w, t->from.v[k], "from-state of a transition",
                          d) != RELM_OK)
                return RELM_ERR;
    }
    return RELM_OK;
}

int relm_workflow_define(relm_store *s, relm_workflow *w, relm_diag *d)
{
    if (w == NULL)
        return relm_diag_set(d, "out_of_memory", _("out of memory"));
    if (validate(w, d) != RELM_OK) {
        relm_workflow_free(w);
        return RELM_ERR;
    }
    unsigned char raw[32];
    relm_sha256_final(&w->hash, raw);
    relm_sha256_tohex(raw, w->digest);
    wf_set *set = relm_store_engine_data(s);
    if (set == NULL) {
        set = calloc(1, sizeof *set);
        if (set == NULL) {
            relm_workflow_free(w);
            return relm_diag_set(d, "out_of_memory", _("out of memory"));
        }
        relm_store_set_engine_data(s, set, set_free);
    }
    for (int i = 0; i < set->n; i++) {
        if (strcmp(set->w[i]->name, w->name) != 0)
            continue;
        /* Same content: keep the one in place (callers may hold it). */
        if (strcmp(set->w[i]->digest, w->digest) != 0) {
            relm_workflow_free(set->w[i]);
            set->w[i] = w;
        } else {
            relm_workflow_free(w);
        }
        return RELM_OK;
    }
    if (set->n >= RELM_WF_MAX_PER_STORE) {
        int rc = relm_diag_set(d, "limit",
                               _("more than %d workflows defined in one store"),
                               RELM_WF_MAX_PER_STORE);
        relm_workflow_free(w);
        return rc;
    }
    set->w[set->n++] = w;
    return RELM_OK;
}

const relm_workflow *relm_workflow_find(relm_store *s, const char *name)
{
    wf_set *set = relm_store_engine_data(s);
    if (set == NULL || name == NULL)
        return NULL;
    for (int i = 0; i < set->n; i++)
        if (strcmp(set->w[i]->name, name) == 0)
            return set->w[i];
    return NULL;
}

const char *relm_workflow_name(const relm_workflow *w) { return w->name; }
const char *relm_workflow_initial(const relm_workflow *w)
{
    return w->initial;
}
const char *relm_workflow_close_state(const relm_workflow *w)
{
    return w->close_state;
}
const char *relm_workflow_cancel_state(const relm_workflow *w)
{
    return w->cancel_state;
}
const char *relm_workflow_reopen_to(const relm_workflow *w)
{
    return w->reopen_to;
}
const char *relm_workflow_digest(const relm_workflow *w)
{
    return w->digest;
}

const relm_wf_state *relm_workflow_state(const relm_workflow *w,
                                         const char *name)
{
    if (name == NULL)
        return NULL;
    for (int i = 0; i < w->nstates; i++)
        if (strcmp(w->states[i].name, name) == 0)
            return &w->states[i];
    return NULL;
}

const relm_wf_transition *relm_workflow_transition(const relm_workflow *w,
                                                   const char *name)
{
    if (name == NULL)
        return NULL;
    for (int i = 0; i < w->ntransitions; i++)
        if (strcmp(w->transitions[i].name, name) == 0)
            return &w->transitions[i];
    return NULL;
}

const relm_wf_transition *relm_workflow_transition_at(const relm_workflow *w,
                                                      int i)
{
    return i >= 0 && i < w->ntransitions ? &w->transitions[i] : NULL;
}

int relm_wf_names_has(const relm_wf_names *names, const char *name)
{
    for (int i = 0; i < names->n; i++)
        if (strcmp(names->v[i], name) == 0)
            return 1;
    return 0;
}

int relm_workflow_declares_permission(relm_store *s, const char *workflow,
                                      const char *action)
{
    const relm_workflow *w = relm_workflow_find(s, workflow);
    if (w == NULL)
        return 0;
    for (int i = 0; i < w->ntransitions; i++)
        if (strcmp(w->transitions[i].permission, action) == 0)
            return 1;
    return 0;
}
