/* test_graph.c: the impact graph in C, on a real store filled with plain
 * SQL: directions, depth, limit, kinds, cycles, sparse ids, invalidation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cmdb/cmdb.h"
#include "cmdb/graph.h"
#include "base/store.h"

static relm_store *s;

/* Run SQL as C code that writes relationships itself must: telling the
 * cmdb, so that graphs rebuild. */
static void exec(const char *sql)
{
    relm_diag d;
    relm_cmdb_edges_changed();
    if (relm_store_exec(s, sql, &d) != RELM_OK)
        fprintf(stderr, "exec failed: %s\n", d.msg);
}

/* Run SQL behind the cmdb's back. */
static void exec_quiet(const char *sql)
{
    relm_diag d;
    if (relm_store_exec(s, sql, &d) != RELM_OK)
        fprintf(stderr, "exec failed: %s\n", d.msg);
}

static int64_t id_of(const char *name)
{
    int64_t id = -1;
    relm_diag d;
    if (relm_graph_ci_id(s, name, &id, &d) != RELM_OK)
        return -1;
    return id;
}

/* Is CI name in r, at the given depth? */
static int has(const relm_impact *r, const char *name, int depth)
{
    int64_t id = id_of(name);
    for (size_t i = 0; i < r->n; i++)
        if (relm_impact_id(r, i) == id)
            return relm_impact_depth(r, i) == depth;
    return 0;
}

static int run(relm_graph *g, const char *origin, int dir, int depth,
               int64_t limit, relm_impact *r)
{
    relm_graph_query q = {dir, depth, limit, NULL, 0};
    relm_diag d;
    int rc = relm_graph_impact(g, s, id_of(origin), &q, r, &d);
    if (rc != RELM_OK)
        fprintf(stderr, "impact failed: %s: %s\n", d.code, d.msg);
    return rc;
}

int main(void)
{
    char path[] = "test_graph.db";
    unlink(path);
    relm_store_opts opts = {0, 0, 1};
    relm_diag d;
    CHECK(relm_store_open(&s, path, &opts, NULL, &d) == RELM_OK);
    if (s == NULL)
        return CHECK_DONE("test_graph");

    /* svc -> app1 -> srv1 -> net; app2 -> srv1; disk part_of srv1;
     * a cycle app1 <-> app2 through depends_on. */
    exec("INSERT INTO ci_types(name) VALUES ('thing');"
         "INSERT INTO cis(name, type_id) VALUES ('svc', 1), ('app1', 1),"
         " ('app2', 1), ('srv1', 1), ('net', 1), ('disk', 1), ('lonely', 1);"
         "INSERT INTO relationships(from_id, kind_id, to_id) VALUES"
         " (1, 1, 2), (2, 2, 4), (3, 2, 4), (4, 1, 5), (6, 3, 4),"
         " (2, 1, 3), (3, 1, 2);");

    relm_graph *g = relm_graph_new();
    relm_impact r;
    CHECK(run(g, "net", RELM_GRAPH_UP, -1, -1, &r) == RELM_OK);
    CHECK(r.n == 5);
    CHECK(has(&r, "srv1", 1));
    CHECK(has(&r, "app1", 2) && has(&r, "app2", 2) && has(&r, "disk", 2));
    CHECK(has(&r, "svc", 3));
    CHECK(!has(&r, "lonely", 1));
    /* srv1 reached net stored as "srv1 depends_on net": stored_from = 1. */
    CHECK(r.parent[0] == -1 && (r.hop[0] & RELM_HOP_STORED_FROM) && RELM_HOP_KIND(r.hop[0]) == 1);

    CHECK(run(g, "net", RELM_GRAPH_UP, 2, -1, &r) == RELM_OK);
    CHECK(r.n == 4 && !has(&r, "svc", 3));

    CHECK(run(g, "net", RELM_GRAPH_UP, -1, 2, &r) == RELM_OK);
    CHECK(r.n == 2 && relm_impact_depth(&r, 0) == 1 && relm_impact_depth(&r, 1) == 2);

    CHECK(run(g, "net", RELM_GRAPH_UP, 0, -1, &r) == RELM_OK);
    CHECK(r.n == 0);

    CHECK(run(g, "svc", RELM_GRAPH_DOWN, -1, -1, &r) == RELM_OK);
    CHECK(r.n == 4 && has(&r, "app1", 1) && has(&r, "app2", 2) &&
          has(&r, "srv1", 2) && has(&r, "net", 3));
    CHECK(!has(&r, "disk", 3));

    /* Only runs_on (kind 2): net is reached by nothing. */
    int64_t runs_on = 0;
    CHECK(relm_graph_kind_id(s, "runs_on", &runs_on, &d) == RELM_OK);
    relm_graph_query q = {RELM_GRAPH_UP, -1, -1, &runs_on, 1};
    CHECK(relm_graph_impact(g, s, id_of("srv1"), &q, &r, &d) == RELM_OK);
    CHECK(r.n == 2 && has(&r, "app1", 1) && has(&r, "app2", 1));
    CHECK(relm_graph_kind_id(s, "hosts", &runs_on, &d) == RELM_ERR);
    CHECK(strcmp(d.code, "unknown_relation") == 0 && strstr(d.msg, "runs_on") != NULL);

    uint64_t builds;
    relm_graph_stats(g, NULL, NULL, &builds);
    CHECK(builds == 1);

    /* A reverse kind: part_of flowing from the part to the whole. */
    exec("UPDATE rel_types SET impact = 'reverse' WHERE name = 'part_of'");
    CHECK(run(g, "disk", RELM_GRAPH_UP, -1, -1, &r) == RELM_OK);
    CHECK(has(&r, "srv1", 1) && has(&r, "svc", 3));
    CHECK(!(r.hop[0] & RELM_HOP_STORED_FROM));
    relm_graph_stats(g, NULL, NULL, &builds);
    CHECK(builds == 2);

    /* Changes inside an open transaction are seen, and a rollback too. */
    CHECK(relm_store_begin(s, &d) == RELM_OK);
    exec("INSERT INTO relationships(from_id, kind_id, to_id) VALUES (7, 1, 5)");
    CHECK(run(g, "net", RELM_GRAPH_UP, 1, -1, &r) == RELM_OK);
    CHECK(has(&r, "lonely", 1));
    relm_store_rollback(s);
    CHECK(run(g, "net", RELM_GRAPH_UP, 1, -1, &r) == RELM_OK);
    CHECK(!has(&r, "lonely", 1) && r.n == 1);

    /* Writes that leave relationships alone keep the graph; a CI added
     * since the build has no results (and is no error). */
    CHECK(run(g, "net", RELM_GRAPH_UP, -1, -1, &r) == RELM_OK);
    size_t reached = r.n;
    relm_graph_stats(g, NULL, NULL, &builds);
    exec_quiet("UPDATE cis SET status = 'archived' WHERE name = 'svc';"
               "INSERT INTO cis(name, type_id) VALUES ('newer', 1)");
    CHECK(run(g, "newer", RELM_GRAPH_UP, -1, -1, &r) == RELM_OK && r.n == 0);
    CHECK(run(g, "net", RELM_GRAPH_UP, -1, -1, &r) == RELM_OK && r.n == reached);
    uint64_t builds2;
    relm_graph_stats(g, NULL, NULL, &builds2);
    CHECK(builds2 == builds);
    exec("DELETE FROM cis WHERE name = 'newer'");

    /* Unknown origin. */
    relm_graph_query all = {RELM_GRAPH_UP, -1, -1, NULL, 0};
    CHECK(relm_graph_impact(g, s, 999, &all, &r, &d) == RELM_ERR);
    CHECK(strcmp(d.code, "not_found") == 0);

    /* Sparse ids: one CI far away switches to the sorted-id mapping. */
    exec("INSERT INTO cis(id, name, type_id) VALUES (50000000, 'far', 1);"
         "INSERT INTO relationships(from_id, kind_id, to_id) VALUES (50000000, 1, 5)");
    CHECK(run(g, "net", RELM_GRAPH_UP, 1, -1, &r) == RELM_OK);
    CHECK(has(&r, "far", 1) && r.n == 2);
    size_t nodes;
    relm_graph_stats(g, &nodes, NULL, NULL);
    CHECK(nodes == 8);
    CHECK(run(g, "far", RELM_GRAPH_DOWN, -1, -1, &r) == RELM_OK);
    CHECK(r.n == 1 && relm_impact_id(&r, 0) == 5);

    char info[64], tiny[4] = "xyz";
    size_t need = 0;
    CHECK(relm_graph_ci_info(s, 5, info, sizeof info, &need, &d) == RELM_OK);
    CHECK(need == 17 && strcmp(info, "net") == 0 &&
          strcmp(info + 4, "thing") == 0 && strcmp(info + 10, "active") == 0);
    CHECK(relm_graph_ci_info(s, 5, tiny, sizeof tiny, &need, &d) == RELM_OK);
    CHECK(need == 17 && strcmp(tiny, "xyz") == 0);
    CHECK(relm_graph_ci_info(s, 4242, info, sizeof info, &need, &d) == RELM_ERR);
    CHECK(strcmp(d.code, "not_found") == 0);

    relm_graph_free(g);
    relm_store_close(s);
    unlink(path);
    return CHECK_DONE("test_graph");
}
