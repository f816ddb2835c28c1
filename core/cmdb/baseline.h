/* baseline.h: CMDB baselines: a named snapshot of a filtered set of CIs,
 * and the difference between two baselines or a baseline and now. */
#ifndef RELM_BASELINE_H
#define RELM_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "base/store.h"

/* Which CIs a baseline holds; NULL members do not filter. names_json is a
 * JSON array of CI names. */
typedef struct relm_baseline_filter {
    const char *type;
    const char *status;
    const char *names_json;
} relm_baseline_filter;

/* Snapshot every CI matching f under name (one transaction). Fails with
 * duplicate (name taken), not_found (unknown type or a listed CI missing)
 * or invalid_argument (unknown status). *count is the number of CIs. */
int relm_baseline_create(relm_store *s, const char *name,
                         const relm_baseline_filter *f, int64_t *id,
                         int64_t *count, relm_diag *d);

/* JSON value kinds of a diff side. */
enum {
    RELM_BV_ABSENT = 0, RELM_BV_NULL, RELM_BV_TRUE, RELM_BV_FALSE,
    RELM_BV_INTEGER, RELM_BV_REAL, RELM_BV_TEXT
};

/* One line of a diff: a CI added or removed (field NULL), or one field of a
 * changed CI ("status", "attributes.cpu", "relations", ...). */
typedef struct relm_baseline_change {
    char change;            /* 'a' added, 'r' removed, 'c' changed */
    char *ci;
    char *field;
    int before_kind, after_kind;
    char *before, *after;   /* text of the value (NULL when absent/null) */
} relm_baseline_change;

typedef struct relm_baseline_changes {
    relm_baseline_change *v;
    size_t n, cap;
} relm_baseline_changes;

/* Compare baseline a with baseline b, or with the current CMDB when b is
 * NULL (the CIs matching a's filter now plus a's CIs that still exist).
 * Entries come by kind (added, changed, removed), then CI name and field.
 * The caller releases out with relm_baseline_diff_free. */
int relm_baseline_diff(relm_store *s, const char *a, const char *b,
                       relm_baseline_changes *out, relm_diag *d);
void relm_baseline_diff_free(relm_baseline_changes *diff);

#endif
