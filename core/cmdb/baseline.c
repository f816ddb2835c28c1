/* baseline.c: CMDB baselines: a named snapshot of a filtered set of CIs,
 * and the difference between two baselines or a baseline and now. */
#include "base/i18n.h"
#include "cmdb/baseline.h"

#include "base/grow.h"
#include "cmdb/cmdb.h"

#include <stdlib.h>
#include <string.h>

/* One CI as a JSON object: the record fields, its attributes as an object,
 * and its outgoing relationships as readable text ("runs_on srv1, ..."),
 * so that a baseline diff shows relationship changes too. */
#define SNAPSHOT_COLS                                                        \
    "c.id, c.name, json_object("                                             \
    "'name', c.name, 'type', t.name, 'status', c.status, "                   \
    "'version', c.version, 'serial', c.serial, "                             \
    "'criticality', c.criticality, 'owner_group', g.name, "                  \
    "'location', c.location, "                                               \
    "'media', CASE WHEN m.id IS NULL THEN NULL WHEN m.version = '' "         \
    "THEN m.name ELSE m.name || '@' || m.version END, "                      \
    "'attributes', CASE WHEN json_valid(c.attributes) "                      \
    "THEN json(c.attributes) ELSE json('{}') END, "                          \
    "'relations', (SELECT group_concat(x, ', ') FROM (SELECT k.name || ' ' " \
    "|| o.name AS x FROM relationships r JOIN rel_types k ON k.id = "        \
    "r.kind_id JOIN cis o ON o.id = r.to_id WHERE r.from_id = c.id "         \
    "ORDER BY 1)))"

#define SNAPSHOT_FROM                                                        \
    " FROM cis c JOIN ci_types t ON t.id = c.type_id "                       \
    "LEFT JOIN groups g ON g.id = c.owner_group_id "                         \
    "LEFT JOIN media m ON m.id = c.media_id "

/* The filter over parameters ?T (type), ?S (status), ?N (names JSON). */
#define FILTER(T, S, N)                                                      \
    "(" T " IS NULL OR t.name = " T ") AND (" S " IS NULL OR c.status = "    \
    S ") AND (" N " IS NULL OR c.name IN (SELECT value FROM json_each("      \
    N ")))"

static const char *const statuses[] = {
    "active", "deactivated", "in_maintenance", "deployment", "homologation",
    "in_development", "archived", "to_validate", NULL};

/* Check the filter names things that exist, before writing anything. */
static int check_filter(relm_store *s, const relm_baseline_filter *f,
                        relm_diag *d)
{
    if (f->status != NULL) {
        int ok = 0;
        for (const char *const *p = statuses; *p && !ok; p++)
            ok = strcmp(*p, f->status) == 0;
        if (!ok)
            return relm_diag_set(d, "invalid_argument", _("unknown status '%s' "
                                 "(active, deactivated, in_maintenance, "
                                 "deployment, homologation, in_development, "
                                 "archived, to_validate)"), f->status);
    }
    if (f->type != NULL) {
        sqlite3_stmt *st = relm_store_stmt(s, "SELECT 1 FROM ci_types WHERE name = ?1", d);
        if (st == NULL)
            return RELM_ERR;
        sqlite3_bind_text(st, 1, f->type, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_ROW)
            return relm_diag_set(d, "unknown_type", _("no CI type named '%s'"), f->type);
    }
    if (f->names_json != NULL) {
        sqlite3_stmt *st = relm_store_stmt(
            s, "SELECT value FROM json_each(?1) WHERE value NOT IN "
               "(SELECT name FROM cis) LIMIT 1", d);
        if (st == NULL)
            return RELM_ERR;
        sqlite3_bind_text(st, 1, f->names_json, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            relm_diag_set(d, "not_found", _("no CI named '%s'"),
                          (const char *)sqlite3_column_text(st, 0));
            sqlite3_reset(st);
            return RELM_ERR;
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return relm_store_fail(s, d, "baseline");
    }
    return RELM_OK;
}

int relm_baseline_create(relm_store *s, const char *name,
                         const relm_baseline_filter *f, int64_t *id,
                         int64_t *count, relm_diag *d)
{
    if (name == NULL || name[0] == '\0')
        return relm_diag_set(d, "invalid_argument", _("a baseline needs a name"));
    if (cmdb_begin(s, "taking a baseline", d) != RELM_OK)
        return RELM_ERR;
    if (check_filter(s, f, d) != RELM_OK)
        goto fail;
    sqlite3_stmt *st = relm_store_stmt(
        s, "INSERT INTO baselines (name, filter, actor_id) VALUES (?1, "
           "json_object('type', ?2, 'status', ?3, 'names', json(?4)), ?5)", d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    relm_store_bind_text(st, 2, f->type);
    relm_store_bind_text(st, 3, f->status);
    relm_store_bind_text(st, 4, f->names_json);
    if (relm_store_actor_id(s) > 0)
        sqlite3_bind_int64(st, 5, relm_store_actor_id(s));
    if (relm_store_step_write(s, st, d, "a baseline named '%s'", name) !=
        RELM_OK)
        goto fail;
    *id = sqlite3_last_insert_rowid(relm_store_db(s));
    st = relm_store_stmt(
        s, "INSERT INTO baseline_items (baseline_id, ci_id, ci_name, snapshot) "
           "SELECT ?1, " SNAPSHOT_COLS SNAPSHOT_FROM "WHERE "
           FILTER("?2", "?3", "?4"), d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_int64(st, 1, *id);
    relm_store_bind_text(st, 2, f->type);
    relm_store_bind_text(st, 3, f->status);
    relm_store_bind_text(st, 4, f->names_json);
    if (relm_store_step_write(s, st, d, "the snapshot of baseline '%s'",
                              name) != RELM_OK)
        goto fail;
    *count = sqlite3_changes64(relm_store_db(s));
    /* The items are the snapshot; the occurrence says who took it, when,
     * with which filter and how many CIs it holds. */
    st = relm_store_stmt(s, "SELECT json_object('name', name, 'filter', "
                            "json(filter), 'cis', ?2) FROM baselines WHERE "
                            "id = ?1", d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_int64(st, 1, *id);
    sqlite3_bind_int64(st, 2, *count);
    char *after = relm_store_text(st);
    int rc = cmdb_occurrence(s, "baseline", *id, "create", name, after, d);
    free(after);
    if (rc != RELM_OK)
        goto fail;
    return relm_store_end(s, RELM_OK, d);
fail:
    return relm_store_end(s, RELM_ERR, d);
}

void relm_baseline_diff_free(relm_baseline_changes *diff)
{
    for (size_t i = 0; i < diff->n; i++) {
        free(diff->v[i].ci);
        free(diff->v[i].field);
        free(diff->v[i].before);
        free(diff->v[i].after);
    }
    free(diff->v);
    memset(diff, 0, sizeof *diff);
}

static char *dup_col(sqlite3_stmt *st, int i)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    return v != NULL ? strdup((const char *)v) : NULL;
}

static int kind_of(const char *json_type)
{
    if (json_type == NULL)
        return RELM_BV_ABSENT;
    if (strcmp(json_type, "null") == 0)
        return RELM_BV_NULL;
    if (strcmp(json_type, "true") == 0)
        return RELM_BV_TRUE;
    if (strcmp(json_type, "false") == 0)
        return RELM_BV_FALSE;
    if (strcmp(json_type, "integer") == 0)
        return RELM_BV_INTEGER;
    if (strcmp(json_type, "real") == 0)
        return RELM_BV_REAL;
    return RELM_BV_TEXT;
}

/* Append one entry; the strings are copied from row columns. */
static int push_change(relm_baseline_changes *out, char change, sqlite3_stmt *st,
                       int ci_col, int field_col, int bt, int bv, int at,
                       int av)
{
    relm_baseline_change *v = relm_grow(out->v, &out->cap, out->n + 1,
                                        sizeof *v, 32);
    if (v == NULL)
        return RELM_ERR;
    out->v = v;
    relm_baseline_change *c = &out->v[out->n++];
    memset(c, 0, sizeof *c);
    c->change = change;
    c->ci = dup_col(st, ci_col);
    if (field_col >= 0) {
        c->field = dup_col(st, field_col);
        c->before_kind = kind_of((const char *)sqlite3_column_text(st, bt));
        c->after_kind = kind_of((const char *)sqlite3_column_text(st, at));
        c->before = dup_col(st, bv);
        c->after = dup_col(st, av);
    }
    return RELM_OK;
}

/* Id and filter of baseline name. */
static int find_baseline(relm_store *s, const char *name, int64_t *id,
                         relm_diag *d)
{
    int rc = relm_store_lookup(s, "SELECT id FROM baselines WHERE name = ?1",
                               name, id, d);
    return rc == RELM_NOT_FOUND
               ? relm_diag_set(d, "not_found", _("no baseline named '%s'"), name)
               : rc;
}

/* Field-level differences of two snapshots: top-level fields, attributes
 * flattened as "attributes.<name>". */
#define FIELDS_OF(P)                                                         \
    "SELECT key, type, atom FROM json_each(" P ") WHERE key <> 'attributes' " \
    "UNION ALL SELECT 'attributes.' || key, type, atom FROM json_each(" P    \
    ", '$.attributes')"

int relm_baseline_diff(relm_store *s, const char *a, const char *b,
                       relm_baseline_changes *out, relm_diag *d)
{
    memset(out, 0, sizeof *out);
    int64_t ida, idb = 0;
    if (find_baseline(s, a, &ida, d) != RELM_OK)
        return RELM_ERR;
    if (b != NULL && find_baseline(s, b, &idb, d) != RELM_OK)
        return RELM_ERR;
    /* One read transaction so both sides come from the same moment. */
    sqlite3 *db = relm_store_db(s);
    int own_tx = sqlite3_get_autocommit(db);
    if (own_tx && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return relm_store_fail(s, d, "baseline diff");
    int ret = RELM_ERR;
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "WITH f AS (SELECT json_extract(filter, '$.type') AS ty, "
        "  json_extract(filter, '$.status') AS stt, "
        "  json_extract(filter, '$.names') AS nm FROM baselines WHERE id = ?1), "
        "a AS (SELECT ci_id, ci_name, snapshot FROM baseline_items "
        "  WHERE baseline_id = ?1), "
        "b AS (SELECT ci_id, ci_name, snapshot FROM baseline_items "
        "  WHERE baseline_id = ?2 AND ?2 IS NOT NULL "
        "  UNION ALL SELECT " SNAPSHOT_COLS SNAPSHOT_FROM ", f WHERE ?2 IS NULL "
        "  AND ((" FILTER("f.ty", "f.stt", "f.nm") ") OR c.id IN "
        "  (SELECT ci_id FROM a))) "
        "SELECT 'a', b.ci_name, NULL, NULL FROM b "
        "  WHERE b.ci_id NOT IN (SELECT ci_id FROM a) "
        "UNION ALL SELECT 'r', a.ci_name, NULL, NULL FROM a "
        "  WHERE a.ci_id NOT IN (SELECT ci_id FROM b) "
        "UNION ALL SELECT 'c', b.ci_name, a.snapshot, b.snapshot FROM a "
        "  JOIN b ON a.ci_id = b.ci_id WHERE a.snapshot <> b.snapshot "
        "ORDER BY 1, 2", d);
    sqlite3_stmt *fields = relm_store_stmt(
        s, "WITH x AS (" FIELDS_OF("?1") "), y AS (" FIELDS_OF("?2") ") "
           "SELECT ?3, coalesce(x.key, y.key) AS k, x.type, x.atom, y.type, "
           "y.atom FROM x FULL JOIN y ON x.key = y.key "
           "WHERE x.type IS NOT y.type OR x.atom IS NOT y.atom ORDER BY k", d);
    if (st == NULL || fields == NULL)
        goto done;
    sqlite3_bind_int64(st, 1, ida);
    if (b != NULL)
        sqlite3_bind_int64(st, 2, idb);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *change = (const char *)sqlite3_column_text(st, 0);
        if (change[0] != 'c') {
            if (push_change(out, change[0], st, 1, -1, 0, 0, 0, 0) != RELM_OK)
                goto oom;
            continue;
        }
        sqlite3_bind_text(fields, 1, (const char *)sqlite3_column_text(st, 2),
                          -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(fields, 2, (const char *)sqlite3_column_text(st, 3),
                          -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(fields, 3, (const char *)sqlite3_column_text(st, 1),
                          -1, SQLITE_TRANSIENT);
        int frc;
        while ((frc = sqlite3_step(fields)) == SQLITE_ROW)
            if (push_change(out, 'c', fields, 0, 1, 2, 3, 4, 5) != RELM_OK) {
                sqlite3_reset(fields);
                goto oom;
            }
        sqlite3_reset(fields);
        if (frc != SQLITE_DONE) {
            relm_store_fail(s, d, "baseline diff");
            goto done;
        }
    }
    if (rc != SQLITE_DONE) {
        relm_store_fail(s, d, "baseline diff");
        goto done;
    }
    ret = RELM_OK;
    goto done;
oom:
    relm_diag_set(d, "out_of_memory", _("baseline diff: out of memory"));
done:
    if (st != NULL)
        sqlite3_reset(st);
    if (own_tx)
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (ret != RELM_OK)
        relm_baseline_diff_free(out);
    return ret;
}
