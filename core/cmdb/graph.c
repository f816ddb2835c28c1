/* graph.c: the in-memory relationship graph behind impact analysis: CSR
 * adjacency in both directions, rebuilt when relationships may have changed. */
#include "base/i18n.h"
#include "cmdb/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdb/cmdb.h"

/* Impact codes of rel_types.impact. */
enum { IMPACT_FORWARD = 0, IMPACT_REVERSE = 1, IMPACT_BOTH = 2 };

/* Past this many CI ids, a sparse id range is mapped through a sorted id
 * array instead of indexing arrays by id directly. */
#define DIRECT_MAX_SLACK 4

struct relm_graph {
    int built;
    int built_in_tx;        /* built inside a transaction: trust it once */
    uint64_t edge_epoch;    /* relm_cmdb_edge_epoch at the build */
    int64_t data_version;   /* PRAGMA data_version at the build */
    uint64_t builds;

    /* Node index = CI id when ids == NULL, else the position of the id in
     * the sorted array ids. nnodes counts index slots. */
    int64_t *ids;
    size_t nnodes;
    size_t nedges;

    /* CSR: out_* lists, for each node, the relationships stored with it as
     * `from` (out_to = their `to`); in_* those with it as `to`. */
    uint32_t *out_off, *out_to;
    uint32_t *in_off, *in_from;
    uint16_t *out_kind, *in_kind;

    /* Indexed by rel_types id: impact code, or 0xff for no such kind. */
    uint8_t *kind_impact;
    size_t nkinds;

    /* Breadth-first scratch, reused by every query so that a query writes
     * to memory that is already mapped: visit stamps (a byte per node,
     * cleared when the epoch wraps), the queue of node indexes (which is
     * the result list), parents, hops and level boundaries. */
    uint8_t *stamp;
    uint8_t epoch;
    uint32_t *queue;
    int32_t *parent;
    uint16_t *hop;
    uint32_t *level;
};

relm_graph *relm_graph_new(void)
{
    return calloc(1, sizeof(relm_graph));
}

/* Drop the adjacency (not the counters) so the next refresh rebuilds. */
static void graph_clear(relm_graph *g)
{
    free(g->ids);
    free(g->out_off);
    free(g->out_to);
    free(g->out_kind);
    free(g->in_off);
    free(g->in_from);
    free(g->in_kind);
    free(g->kind_impact);
    free(g->stamp);
    free(g->queue);
    free(g->parent);
    free(g->hop);
    free(g->level);
    g->parent = NULL;
    g->hop = NULL;
    g->level = NULL;
    g->ids = NULL;
    g->out_off = g->out_to = g->in_off = g->in_from = NULL;
    g->out_kind = g->in_kind = NULL;
    g->kind_impact = NULL;
    g->stamp = NULL;
    g->queue = NULL;
    g->nnodes = g->nedges = g->nkinds = 0;
    g->epoch = 0;
    g->built = 0;
}

void relm_graph_free(relm_graph *g)
{
    if (g == NULL)
        return;
    graph_clear(g);
    free(g);
}

void relm_graph_stats(const relm_graph *g, size_t *nodes, size_t *edges,
                      uint64_t *builds)
{
    if (nodes != NULL)
        *nodes = g->nnodes;
    if (edges != NULL)
        *edges = g->nedges;
    if (builds != NULL)
        *builds = g->builds;
}

/* Node index of CI id, or -1 when the id is not in the graph. */
static int64_t node_of(const relm_graph *g, int64_t id)
{
    if (g->ids == NULL)
        return id >= 0 && (uint64_t)id < g->nnodes ? id : -1;
    size_t lo = 0, hi = g->nnodes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->nnodes && g->ids[lo] == id ? (int64_t)lo : -1;
}

/* One integer from a query without parameters (0 when NULL/no row). */
static int scalar(relm_store *s, const char *sql, int64_t *out, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(s, sql, d);
    if (st == NULL)
        return RELM_ERR;
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        relm_store_fail(s, d, "graph");
        sqlite3_reset(st);
        return RELM_ERR;
    }
    sqlite3_reset(st);
    return RELM_OK;
}

static int oom(relm_diag *d)
{
    return relm_diag_set(d, "out_of_memory",
                         _("impact graph: out of memory building the adjacency"));
}

/* Read rel_types into g->kind_impact. */
static int load_kinds(relm_graph *g, relm_store *s, relm_diag *d)
{
    int64_t maxid;
    if (scalar(s, "SELECT max(id) FROM rel_types", &maxid, d) != RELM_OK)
        return RELM_ERR;
    if (maxid >= 0x7fff)
        return relm_diag_set(d, "internal", _("impact graph: relationship kind "
                             "ids above 32766 are not supported"));
    g->nkinds = (size_t)maxid + 1;
    g->kind_impact = malloc(g->nkinds);
    if (g->kind_impact == NULL)
        return oom(d);
    memset(g->kind_impact, 0xff, g->nkinds);
    sqlite3_stmt *st = relm_store_stmt(s, "SELECT id, impact FROM rel_types", d);
    if (st == NULL)
        return RELM_ERR;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        const char *imp = (const char *)sqlite3_column_text(st, 1);
        uint8_t code = IMPACT_FORWARD;
        if (imp != NULL && strcmp(imp, "reverse") == 0)
            code = IMPACT_REVERSE;
        else if (imp != NULL && strcmp(imp, "both") == 0)
            code = IMPACT_BOTH;
        if (id >= 0 && (size_t)id < g->nkinds)
            g->kind_impact[id] = code;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return relm_store_fail(s, d, "impact graph: reading kinds");
    return RELM_OK;
}

/* Decide how CI ids map to node indexes and size the node arrays. Ids made
 * by SQLite are dense, so indexing by id wastes little and saves a lookup
 * per relationship; a sparse range falls back to a sorted id array. */
static int load_nodes(relm_graph *g, relm_store *s, relm_diag *d)
{
    int64_t maxid, count = 0;
    if (scalar(s, "SELECT max(id) FROM cis", &maxid, d) != RELM_OK)
        return RELM_ERR;
    if (maxid < 0)
        maxid = 0;
    int sparse = 0;
    if (maxid > (1 << 20)) {
        if (scalar(s, "SELECT count(*) FROM cis", &count, d) != RELM_OK)
            return RELM_ERR;
        sparse = maxid > DIRECT_MAX_SLACK * count + (1 << 20);
    }
    if (maxid >= UINT32_MAX - 1 && !sparse)
        sparse = 1;
    if (!sparse) {
        g->nnodes = (size_t)maxid + 1;
        return RELM_OK;
    }
    if (count >= (int64_t)UINT32_MAX - 1)
        return relm_diag_set(d, "internal", _("impact graph: too many CIs"));
    g->ids = malloc(((size_t)count + 1) * sizeof *g->ids);
    if (g->ids == NULL)
        return oom(d);
    sqlite3_stmt *st = relm_store_stmt(s, "SELECT id FROM cis ORDER BY id", d);
    if (st == NULL)
        return RELM_ERR;
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < (size_t)count + 1)
        g->ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return relm_store_fail(s, d, "impact graph: reading CI ids");
    g->nnodes = n;
    return RELM_OK;
}

/* Fill one direction's CSR from the edge list: off has nnodes + 1 slots,
 * key[i] is the node the edge is listed under, val[i] the other end. */
static int build_csr(size_t nnodes, size_t m, const uint32_t *key,
                     const uint32_t *val, const uint16_t *kind,
                     uint32_t **off_out, uint32_t **dst_out,
                     uint16_t **kind_out)
{
    uint32_t *off = calloc(nnodes + 1, sizeof *off);
    uint32_t *dst = malloc((m ? m : 1) * sizeof *dst);
    uint16_t *knd = malloc((m ? m : 1) * sizeof *knd);
    if (off == NULL || dst == NULL || knd == NULL) {
        free(off);
        free(dst);
        free(knd);
        return RELM_ERR;
    }
    for (size_t i = 0; i < m; i++)
        off[key[i] + 1]++;
    for (size_t i = 0; i < nnodes; i++)
        off[i + 1] += off[i];
    /* Fill using off[k] as the cursor of node k, then shift back. */
    for (size_t i = 0; i < m; i++) {
        uint32_t p = off[key[i]]++;
        dst[p] = val[i];
        knd[p] = kind[i];
    }
    for (size_t i = nnodes; i > 0; i--)
        off[i] = off[i - 1];
    off[0] = 0;
    *off_out = off;
    *dst_out = dst;
    *kind_out = knd;
    return RELM_OK;
}

/* Read every relationship once into flat arrays, then lay them out twice
 * (by `from` and by `to`). */
static int load_edges(relm_graph *g, relm_store *s, relm_diag *d)
{
    int64_t hint;
    if (scalar(s, "SELECT max(id) FROM relationships", &hint, d) != RELM_OK)
        return RELM_ERR;
    size_t cap = hint > 0 ? (size_t)hint : 16, m = 0;
    uint32_t *from = malloc(cap * sizeof *from);
    uint32_t *to = malloc(cap * sizeof *to);
    uint16_t *kind = malloc(cap * sizeof *kind);
    int ret = RELM_ERR;
    if (from == NULL || to == NULL || kind == NULL) {
        oom(d);
        goto done;
    }
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT from_id, kind_id, to_id FROM relationships", d);
    if (st == NULL)
        goto done;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t f = node_of(g, sqlite3_column_int64(st, 0));
        int64_t k = sqlite3_column_int64(st, 1);
        int64_t t = node_of(g, sqlite3_column_int64(st, 2));
        if (f < 0 || t < 0 || k < 0 || (size_t)k >= g->nkinds)
            continue; /* a row written after our node snapshot */
        if (m == cap) {
            cap *= 2;
            uint32_t *nf = realloc(from, cap * sizeof *from);
            if (nf != NULL)
                from = nf;
            uint32_t *nt = realloc(to, cap * sizeof *to);
            if (nt != NULL)
                to = nt;
            uint16_t *nk = realloc(kind, cap * sizeof *kind);
            if (nk != NULL)
                kind = nk;
            if (nf == NULL || nt == NULL || nk == NULL) {
                sqlite3_reset(st);
                oom(d);
                goto done;
            }
        }
        from[m] = (uint32_t)f;
        to[m] = (uint32_t)t;
        kind[m] = (uint16_t)k;
        m++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        relm_store_fail(s, d, "impact graph: reading relationships");
        goto done;
    }
    if (build_csr(g->nnodes, m, from, to, kind, &g->out_off, &g->out_to,
                  &g->out_kind) != RELM_OK ||
        build_csr(g->nnodes, m, to, from, kind, &g->in_off, &g->in_from,
                  &g->in_kind) != RELM_OK) {
        oom(d);
        goto done;
    }
    g->nedges = m;
    ret = RELM_OK;
done:
    free(from);
    free(to);
    free(kind);
    return ret;
}

/* Build everything from the database. Reads happen in one transaction so
 * that kinds, nodes and edges come from the same snapshot. */
static int graph_build(relm_graph *g, relm_store *s, relm_diag *d)
{
    graph_clear(g);
    /* A read transaction: reading does not count as a change. */
    int own_tx = 0;
    if (relm_store_read_begin(s, &own_tx, d) != RELM_OK)
        return RELM_ERR;
    int rc = load_kinds(g, s, d);
    if (rc == RELM_OK)
        rc = load_nodes(g, s, d);
    if (rc == RELM_OK)
        rc = load_edges(g, s, d);
    relm_store_read_end(s, own_tx);
    if (rc == RELM_OK) {
        size_t n = g->nnodes + 1;
        g->stamp = calloc(n, sizeof *g->stamp);
        g->queue = malloc(n * sizeof *g->queue);
        g->parent = malloc(n * sizeof *g->parent);
        g->hop = malloc(n * sizeof *g->hop);
        g->level = malloc((n + 1) * sizeof *g->level);
        if (g->stamp == NULL || g->queue == NULL || g->parent == NULL ||
            g->hop == NULL || g->level == NULL)
            rc = oom(d);
    }
    if (rc != RELM_OK) {
        graph_clear(g);
        return RELM_ERR;
    }
    g->built = 1;
    g->builds++;
    return RELM_OK;
}

int relm_graph_refresh(relm_graph *g, relm_store *s, relm_diag *d)
{
    /* Not relm_store_generation: it also moves on this process's commits
     * that leave relationships alone (a CI update, a release). */
    int64_t dv;
    if (scalar(s, "PRAGMA data_version", &dv, d) != RELM_OK)
        return RELM_ERR;
    uint64_t epoch = relm_cmdb_edge_epoch();
    if (g->built && !g->built_in_tx && epoch == g->edge_epoch &&
        dv == g->data_version)
        return RELM_OK;
    if (graph_build(g, s, d) != RELM_OK)
        return RELM_ERR;
    g->edge_epoch = epoch;
    g->data_version = dv;
    g->built_in_tx = relm_store_depth(s) > 0 ||
                     !sqlite3_get_autocommit(relm_store_db(s));
    return RELM_OK;
}

/* Is there a CI with this id? (Errors read as "no".) */
static int ci_exists(relm_store *s, int64_t id)
{
    sqlite3_stmt *st = relm_store_stmt(s, "SELECT 1 FROM cis WHERE id = ?1",
                                       NULL);
    if (st == NULL)
        return 0;
    sqlite3_bind_int64(st, 1, id);
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return found;
}

int relm_graph_impact(relm_graph *g, relm_store *s, int64_t origin,
                      const relm_graph_query *q, relm_impact *out,
                      relm_diag *d)
{
    memset(out, 0, sizeof *out);
    out->origin = origin;
    if (relm_graph_refresh(g, s, d) != RELM_OK)
        return RELM_ERR;
    /* A CI added since the build is not a node yet; it has no
     * relationships (adding one moves the edge epoch), so no results. */
    int64_t start = node_of(g, origin);
    if (start < 0 && !ci_exists(s, origin))
        return relm_diag_set(d, "not_found", _("no CI with id %lld"),
                             (long long)origin);

    /* Which side of each kind to follow: the "in" list of a node holds
     * relationships where it is `to`, i.e. CIs that depend on it. */
    uint8_t follow_in[0x8000 / 8], follow_out[0x8000 / 8];
    memset(follow_in, 0, sizeof follow_in);
    memset(follow_out, 0, sizeof follow_out);
    int any_in = 0, any_out = 0, all_in = 1, all_out = 1;
    for (size_t k = 0; k < g->nkinds; k++) {
        if (g->kind_impact[k] == 0xff)
            continue;
        int wanted = q->kinds == NULL;
        for (size_t j = 0; j < q->nkinds && !wanted; j++)
            wanted = q->kinds[j] == (int64_t)k;
        int imp = g->kind_impact[k];
        int in = 0, outw = 0;
        if (wanted && (q->direction == RELM_GRAPH_UP ||
                       q->direction == RELM_GRAPH_BOTH)) {
            in |= imp != IMPACT_REVERSE;
            outw |= imp != IMPACT_FORWARD;
        }
        if (wanted && (q->direction == RELM_GRAPH_DOWN ||
                       q->direction == RELM_GRAPH_BOTH)) {
            outw |= imp != IMPACT_REVERSE;
            in |= imp != IMPACT_FORWARD;
        }
        if (in)
            follow_in[k >> 3] |= (uint8_t)(1u << (k & 7));
        if (outw)
            follow_out[k >> 3] |= (uint8_t)(1u << (k & 7));
        any_in |= in;
        any_out |= outw;
        all_in &= in;
        all_out &= outw;
    }

    size_t cap = g->nnodes ? g->nnodes - 1 : 0;
    if (q->limit >= 0 && (uint64_t)q->limit < cap)
        cap = (size_t)q->limit;
    out->node = g->queue + 1;
    out->parent = g->parent;
    out->hop = g->hop;
    out->level = g->level;
    out->ids = g->ids;
    g->level[0] = 0;
    if (start < 0 || cap == 0 || q->depth == 0)
        return RELM_OK;

    if (++g->epoch == 0) {
        memset(g->stamp, 0, g->nnodes * sizeof *g->stamp);
        g->epoch = 1;
    }
    const uint8_t ep = g->epoch;
    uint8_t *stamp = g->stamp;
    uint32_t *queue = g->queue, *level = g->level;
    int32_t *parent = g->parent;
    uint16_t *hop = g->hop;
    const uint32_t *in_off = g->in_off, *in_from = g->in_from;
    const uint32_t *out_off = g->out_off, *out_to = g->out_to;
    const uint16_t *in_kind = g->in_kind, *out_kind = g->out_kind;
    /* queue[i] for i >= 1 is result i - 1; results are appended as they
     * are discovered, so parent, hop and level line up with the queue. */
    size_t head = 0, tail = 1, n = 0, depth = 0, level_end = 1;
    size_t maxdepth = q->depth < 0 ? SIZE_MAX : (size_t)q->depth;
    queue[0] = (uint32_t)start;
    stamp[start] = ep;

/* Visit node v reached from queue position head over hop h (shared by
 * both directions and both the filtered and the unfiltered loop). */
#define VISIT(v, h)                                                          \
    do {                                                                     \
        stamp[v] = ep;                                                       \
        queue[tail++] = (v);                                                 \
        parent[n] = (int32_t)head - 1;                                       \
        hop[n] = (uint16_t)(h);                                              \
        if (++n == cap)                                                      \
            goto done;                                                       \
    } while (0)

    while (head < tail) {
        if (head == level_end) { /* every node of this depth expanded */
            level[++depth] = (uint32_t)n;
            level_end = tail;
        }
        if (depth >= maxdepth)
            break;
        uint32_t u = queue[head];
        if (any_in) {
            for (uint32_t e = in_off[u]; e < in_off[u + 1]; e++) {
                uint32_t v = in_from[e];
                if (stamp[v] == ep)
                    continue;
                uint16_t k = in_kind[e];
                if (!all_in && !(follow_in[k >> 3] & (1u << (k & 7))))
                    continue;
                VISIT(v, k | RELM_HOP_STORED_FROM);
            }
        }
        if (any_out) {
            for (uint32_t e = out_off[u]; e < out_off[u + 1]; e++) {
                uint32_t v = out_to[e];
                if (stamp[v] == ep)
                    continue;
                uint16_t k = out_kind[e];
                if (!all_out && !(follow_out[k >> 3] & (1u << (k & 7))))
                    continue;
                VISIT(v, k);
            }
        }
        head++;
    }
#undef VISIT
done:
    out->n = n;
    /* Close the level being filled: results after level[depth] sit one
     * level deeper than `depth` unless the walk stopped at a boundary. */
    if (n > level[depth])
        level[++depth] = (uint32_t)n;
    out->nlevels = depth;
    return RELM_OK;
}

int relm_graph_ci_info(relm_store *s, int64_t id, char *buf, size_t cap,
                       size_t *need, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT c.name, t.name, c.status FROM cis c "
           "JOIN ci_types t ON t.id = c.type_id WHERE c.id = ?1", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    int rc = relm_store_step_row(s, st, d, "impact");
    if (rc == RELM_NOT_FOUND)
        return relm_diag_set(d, "not_found", _("no CI with id %lld"),
                             (long long)id);
    if (rc != RELM_OK)
        return RELM_ERR;
    size_t len[3], total = 0;
    for (int i = 0; i < 3; i++) {
        len[i] = (size_t)sqlite3_column_bytes(st, i);
        total += len[i] + 1;
    }
    *need = total;
    if (total <= cap) {
        char *p = buf;
        for (int i = 0; i < 3; i++) {
            const unsigned char *v = sqlite3_column_text(st, i);
            if (len[i] > 0 && v != NULL)
                memcpy(p, v, len[i]);
            p[len[i]] = '\0';
            p += len[i] + 1;
        }
    }
    sqlite3_reset(st);
    return RELM_OK;
}

int relm_graph_ci_id(relm_store *s, const char *name, int64_t *id,
                     relm_diag *d)
{
    *id = relm_cmdb_id(s, name, d);
    return *id != 0 ? RELM_OK : RELM_ERR;
}

int relm_graph_kind_id(relm_store *s, const char *name, int64_t *id,
                       relm_diag *d)
{
    *id = cmdb_rel_kind(s, name, d);
    return *id != 0 ? RELM_OK : RELM_ERR;
}
