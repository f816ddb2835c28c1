/* conflict.h: why a release's planned window collides with something: a CI
 * (or one it depends on, or one depending on it) in another release, a
 * blackout window, a missed maintenance window, a responsible booked twice. */
#ifndef RELM_CONFLICT_H
#define RELM_CONFLICT_H

#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "base/store.h"
#include "cmdb/graph.h"

/* Kinds, as bits so a workflow can name a set of them. */
enum {
    RELM_CONFLICT_SCHEDULED = 1,
    RELM_CONFLICT_BLACKOUT = 2,
    RELM_CONFLICT_MAINTENANCE = 4,
    RELM_CONFLICT_PERSON = 8
};

typedef struct relm_conflict {
    int kind;           /* one RELM_CONFLICT_* */
    int64_t ci_id;      /* the release's CI (0 for person) */
    char ci[256];
    int64_t other_id;   /* the other release (scheduled, person), else 0 */
    char other[32];     /* its number */
    int64_t window_id;  /* the window (blackout, maintenance), else 0 */
    char window[256];
    char starts[32];    /* the other release's planned window, or the */
    char ends[32];      /* window's occurrence that collides */
    char *path;         /* "web-svc → app-01 → db-01" (arrows: depends
                         * on), malloc'd; NULL for person */
    char *reason;       /* a sentence for people, translated, malloc'd */
} relm_conflict;

typedef struct relm_conflicts {
    relm_conflict *v;
    size_t n, cap;
} relm_conflicts;

/* "scheduled", "blackout", "maintenance", "person" for a kind bit (NULL
 * for anything else), and back (0 for an unknown name). */
const char *relm_conflict_kind_name(int kind);
int relm_conflict_kind(const char *name);

/* Every conflict of release id as things stand now (nothing written).
 * A closed or cancelled release has none. An open one without a planned
 * window would be carried out now if acted on: it has the blackouts of
 * its CIs standing at this moment (relm_clock_now), and no other kind. g is
 * the CMDB graph to walk, or NULL to build one for this call. not_found
 * for an unknown release. Free out with relm_conflicts_free. */
int relm_conflict_compute(relm_store *s, relm_graph *g, int64_t id,
                          relm_conflicts *out, relm_diag *d);
void relm_conflicts_free(relm_conflicts *c);

/* Recompute and keep the conflicts of every release marked dirty (the
 * triggers of migration 0060 mark them when planned dates, responsible,
 * status or CIs change; window add/remove marks every open one). One
 * transaction (a savepoint inside the caller's). *done (may be NULL)
 * counts the releases recomputed. */
int relm_conflict_refresh(relm_store *s, relm_graph *g, size_t *done,
                          relm_diag *d);

/* The conflicts of c whose kind is in mask, as one line ("reason; reason")
 * malloc'd, or NULL when none is. */
char *relm_conflict_describe(const relm_conflicts *c, unsigned mask);

#endif
