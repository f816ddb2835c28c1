/* graph.h: the in-memory relationship graph behind impact analysis: CSR
 * adjacency in both directions, rebuilt when relationships may have changed. */
#ifndef RELM_GRAPH_H
#define RELM_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "base/store.h"

typedef struct relm_graph relm_graph;

/* Which way a query walks. UP: the CIs a change to the origin can break;
 * DOWN: what the origin needs; BOTH: the union (used for pictures). */
enum { RELM_GRAPH_UP = 0, RELM_GRAPH_DOWN = 1, RELM_GRAPH_BOTH = 2 };

typedef struct relm_graph_query {
    int direction;          /* RELM_GRAPH_UP, _DOWN or _BOTH */
    int depth;              /* hops to follow; < 0 means unlimited */
    int64_t limit;          /* results to return; < 0 means unlimited */
    const int64_t *kinds;   /* rel_types ids to follow; NULL means all */
    size_t nkinds;
} relm_graph_query;

/* The answer to one query, in breadth-first order (nearest first). It
 * points into the graph's scratch space: valid until the next query,
 * refresh or free of the same graph (copy what must outlive that).
 * Result i is node node[i]; it was reached from result parent[i] (-1: from
 * the origin) over one relationship whose kind id is hop[i] & 0x7fff,
 * stored as "i kind parent" when hop[i] & 0x8000 and as "parent kind i"
 * otherwise. Results level[d - 1] .. level[d] - 1 are at depth d
 * (level[0] = 0, level[nlevels] = n). */
typedef struct relm_impact {
    size_t n;
    int64_t origin;
    const uint32_t *node;
    const int32_t *parent;
    const uint16_t *hop;
    const uint32_t *level;
    size_t nlevels;
    const int64_t *ids;     /* node -> CI id; NULL when they are equal */
} relm_impact;

#define RELM_HOP_STORED_FROM 0x8000u
#define RELM_HOP_KIND(h) ((int64_t)((h) & 0x7fffu))

/* CI id of result i. */
static inline int64_t relm_impact_id(const relm_impact *r, size_t i)
{
    return r->ids != NULL ? r->ids[r->node[i]] : (int64_t)r->node[i];
}

/* Depth of result i (1 = next to the origin). */
static inline int relm_impact_depth(const relm_impact *r, size_t i)
{
    size_t lo = 1, hi = r->nlevels;
    while (lo < hi) { /* first d with level[d] > i */
        size_t mid = (lo + hi) / 2;
        if (r->level[mid] > i)
            hi = mid;
        else
            lo = mid + 1;
    }
    return (int)lo;
}

relm_graph *relm_graph_new(void);
void relm_graph_free(relm_graph *g);

/* Make g reflect the database: rebuild the adjacency when it was never
 * built, when this process wrote relationships or relationship types since
 * (relm_cmdb_edge_epoch; committed or not), when another connection
 * committed (PRAGMA data_version), or when the last build happened inside
 * a transaction that may since have been rolled back. Writes of this
 * process that leave relationships alone do not rebuild it. Cheap when
 * nothing changed. */
int relm_graph_refresh(relm_graph *g, relm_store *s, relm_diag *d);

/* Walk from CI id origin per q and describe the result in *out (see
 * relm_impact for how long it stays valid). Refreshes g first. The origin
 * itself is not part of the result. Fails with not_found when origin is
 * not a CI. */
int relm_graph_impact(relm_graph *g, relm_store *s, int64_t origin,
                      const relm_graph_query *q, relm_impact *out,
                      relm_diag *d);

/* Facts for tests and benchmarks: node slots, relationships, and how many
 * times the adjacency was built since relm_graph_new. */
void relm_graph_stats(const relm_graph *g, size_t *nodes, size_t *edges,
                      uint64_t *builds);

/* Name, type name and status of CI id written to buf as
 * "name\0type\0status\0", or not_found. *need is the size that takes;
 * when it exceeds cap nothing is written (call again with a bigger buf). */
int relm_graph_ci_info(relm_store *s, int64_t id, char *buf, size_t cap,
                       size_t *need, relm_diag *d);

/* The id of the CI called name, or not_found ("no CI named ..."). */
int relm_graph_ci_id(relm_store *s, const char *name, int64_t *id,
                     relm_diag *d);

/* The id of the relationship kind called name, or unknown_relation
 * naming the kinds that exist (the cmdb's code for it). */
int relm_graph_kind_id(relm_store *s, const char *name, int64_t *id,
                       relm_diag *d);

#endif
