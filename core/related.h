/* related.h: what a release is linked to (CIs, changes, problems, incidents,
 * known errors, knowledge, documents, media, projects), minimal records of
 * those objects, the CI updates a closing release makes, and its impact. */
#ifndef RELM_RELATED_H
#define RELM_RELATED_H

#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "cmdb/graph.h"
#include "base/store.h"

/* 1 when kind names a record kind ("change", "problem", "incident",
 * "known_error", "knowledge", "document", "project"). */
int relm_related_is_record_kind(const char *kind);

/* The fields of a record; NULL means "not given" (add) or "unchanged"
 * (update). cis, when not NULL, is the full list of CI names (ncis of
 * them): add links them, update replaces the record's list with it. */
typedef struct relm_record_spec {
    const char *number;
    const char *title;
    const char *description;
    const char *status;
    const char *url;
    const char *const *cis;
    size_t ncis;
} relm_record_spec;

/* Add a record of kind. number defaults to the kind's prefix and the next
 * counter value (CHG-000001); title is required; status defaults to
 * "open". Refuses an unknown kind or CI (not_found), a number already used
 * for that kind (duplicate), a CI named twice (duplicate). One transaction
 * with an occurrence (subject = kind). *id gets the new id and number_out
 * (size bytes) its number. */
int relm_related_record_add(relm_store *s, const char *kind,
                            const relm_record_spec *spec, int64_t *id,
                            char *number_out, size_t size, relm_diag *d);

/* Change the record kind/number: each non-NULL field of spec (number
 * renames; cis replaces the CI list). Releases already linked to a change
 * keep the CIs it brought; new CIs reach them when the change is related
 * again. One transaction with an occurrence. */
int relm_related_record_update(relm_store *s, const char *kind,
                               const char *number,
                               const relm_record_spec *spec, relm_diag *d);

/* Link release id to target of kind ("ci" with a CI name, a record kind
 * with the record's number, "media" with "name" or "name@version"), with
 * an optional note. Relating a change also links the change's CIs that
 * the release does not have yet (*added counts every CI linked; may be
 * NULL). Refuses an unknown release or target (not_found), a link that
 * exists (duplicate), a closed or cancelled release (not_allowed), a user
 * with neither the execute nor the create permission on the release's
 * workflow (permission_denied). One transaction with an occurrence. */
int relm_related_relate(relm_store *s, int64_t id, const char *kind,
                        const char *target, const char *note, int *added,
                        relm_diag *d);

/* Remove the link; unrelating a change also removes the CIs it brought
 * (a CI another related change also lists stays, now through that one).
 * not_found when there is no such link. */
int relm_related_unrelate(relm_store *s, int64_t id, const char *kind,
                          const char *target, relm_diag *d);

/* The CI updates of a closing release: every CI linked to release id whose
 * status is from[i] gets status to[i] (n pairs), written through the CMDB
 * with the release as origin so the CI history shows it. Meant to run
 * inside the closure's transaction (it nests as a savepoint); no
 * permission check of its own: the closure checked it. *changed (may be
 * NULL) counts the CIs updated. */
int relm_related_close(relm_store *s, int64_t id, const char *const *from,
                       const char *const *to, size_t n, int *changed,
                       relm_diag *d);

/* ---- impact of a release ---------------------------------------------- */

/* One CI reached from a touched CI. */
typedef struct relm_rimpact_row {
    int64_t id;
    int64_t through;   /* the CI it was reached through */
    int32_t depth;
} relm_rimpact_row;

/* The impact of one CI the release touches. rows holds at most the limit
 * asked for; count is the true number reached and services the business
 * services among them (all of them, not limited). */
typedef struct relm_rimpact_group {
    int64_t ci;
    size_t count;
    relm_rimpact_row *rows;
    size_t nrows;
    int64_t *services;
    size_t nservices;
} relm_rimpact_group;

typedef struct relm_release_impact {
    relm_rimpact_group *groups;  /* one per touched CI, in link order */
    size_t ngroups;
    size_t distinct;             /* CIs reached by any, counted once */
    int64_t *services;           /* every business service reached, once */
    size_t nservices;
} relm_release_impact;

typedef struct relm_rimpact_opts {
    int depth;                        /* hops; < 0 = unlimited */
    int64_t limit;                    /* rows kept per group; < 0 = all */
    const char *service_types_json;   /* JSON array of CI type names */
} relm_rimpact_opts;

/* The union of the "up" impact of every CI linked to release id, grouped
 * by the CI that causes it, walking g (the CMDB's in-memory graph). A
 * touched CI that is itself a business service counts as reached. Free
 * out with relm_release_impact_free. not_found for an unknown release. */
int relm_related_impact(relm_store *s, relm_graph *g, int64_t id,
                        const relm_rimpact_opts *o, relm_release_impact *out,
                        relm_diag *d);
void relm_release_impact_free(relm_release_impact *r);

#endif
