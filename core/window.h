/* window.h: freeze windows (blackout and maintenance), one-off or recurring
 * by an RFC 5545 RRULE expanded through libical, scoped to CIs, types or
 * business services. */
#ifndef RELM_WINDOW_H
#define RELM_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "base/store.h"

/* What relm_window_add takes. starts is ISO-8601: with an offset (or Z) it
 * is an instant, without one a wall clock in tz (UTC when tz is NULL).
 * Either ends (same rules) or duration (seconds, > 0). rrule, tz and
 * reason may be NULL. scope is "cis", "types" or "services" and names
 * the nscope CIs, types or service CIs it covers. */
typedef struct relm_window_spec {
    const char *name;
    const char *kind; /* "blackout" or "maintenance" */
    const char *starts;
    const char *ends;
    int64_t duration;
    const char *rrule;
    const char *tz;
    const char *scope;
    const char *const *names;
    size_t nscope;
    const char *reason;
} relm_window_spec;

/* Define a window. Permission: the cmdb permission (checked after BEGIN).
 * Refuses with invalid_argument (kind, scope, times, ends not after
 * starts), invalid_rrule (naming the part libical cannot parse or a rule
 * that yields no occurrence), invalid_tz, not_found (an unknown CI, type
 * or service), duplicate (name taken). One transaction with an
 * occurrence; every open release with a planned window gets its conflicts
 * recomputed later (marked dirty). *id (may be NULL) gets the new id. */
int relm_window_add(relm_store *s, const relm_window_spec *w, int64_t *id,
                    relm_diag *d);

/* Remove the window called name (not_found when none). Same permission
 * and transaction rules as add. */
int relm_window_remove(relm_store *s, const char *name, relm_diag *d);

/* JSON of the window called name ({id, name, kind, starts, ends, ...,
 * scope, names}), or of every window (an array, by name) when name is
 * NULL; malloc'd into *json. not_found for an unknown name. */
int relm_window_get(relm_store *s, const char *name, char **json,
                    relm_diag *d);

/* Call fn for each occurrence of window id that overlaps [from, to)
 * (epoch seconds), in time order, until fn returns non-zero (which is
 * returned). Recurrences are expanded in the window's time zone. */
typedef int (*relm_window_span_fn)(void *ud, int64_t start, int64_t end);
int relm_window_spans(relm_store *s, int64_t id, int64_t from, int64_t to,
                      relm_window_span_fn fn, void *ud, relm_diag *d);

#endif
