/* conflict.c: a release's conflicts worked out from the store and the CMDB
 * graph, and the kept copy the desktop counts (release_conflicts). */
#include "conflict.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/i18n.h"
#include "base/time.h"
#include "window.h"

static const char *const KIND_NAMES[] = {"scheduled", "blackout",
                                         "maintenance", "person"};

const char *relm_conflict_kind_name(int kind)
{
    for (int i = 0; i < 4; i++)
        if (kind == 1 << i)
            return KIND_NAMES[i];
    return NULL;
}

int relm_conflict_kind(const char *name)
{
    for (int i = 0; name != NULL && i < 4; i++)
        if (strcmp(name, KIND_NAMES[i]) == 0)
            return 1 << i;
    return 0;
}

void relm_conflicts_free(relm_conflicts *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].path);
        free(c->v[i].reason);
    }
    free(c->v);
    memset(c, 0, sizeof *c);
}

/* malloc'd printf. */
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s == NULL)
        return NULL;
    va_start(ap, f);
    vsnprintf(s, (size_t)n + 1, f, ap);
    va_end(ap);
    return s;
}

/* What one computation works with. */
typedef struct ctx {
    relm_store *s;
    relm_graph *g, *own; /* own: built for this call, freed after */
    relm_diag *d;
    int64_t id, responsible;
    char ps[32], pe[32];      /* planned window, stored form */
    int64_t ps_e, pe_e;
    int64_t *ci;              /* the release's CIs */
    int64_t *ci_type;
    size_t nci;
    int undated;              /* no planned window: blackouts at this moment */
    relm_conflicts *out;
} ctx;

static relm_graph *graph(ctx *c)
{
    if (c->g == NULL)
        c->g = c->own = relm_graph_new();
    if (c->g == NULL)
        relm_diag_set(c->d, "out_of_memory", _("out of memory"));
    return c->g;
}

/* The name of CI id into buf. */
static int ci_name(ctx *c, int64_t id, char *buf, size_t size)
{
    sqlite3_stmt *st = relm_store_stmt(c->s, "SELECT name FROM cis WHERE id "
                                             "= ?1", c->d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    int rc = relm_store_step_row(c->s, st, c->d, "CI name");
    if (rc == RELM_ERR)
        return RELM_ERR;
    snprintf(buf, size, "%s",
             rc == RELM_OK ? (const char *)sqlite3_column_text(st, 0) : "?");
    if (rc == RELM_OK)
        sqlite3_reset(st);
    return RELM_OK;
}

/* The path of result i of r as "a → b → c" in dependency order: a walk
 * down goes origin → ... → i, a walk up i → ... → origin. malloc'd. */
static char *path_of(ctx *c, const relm_impact *r, size_t i, int down)
{
    int64_t chain[256];
    size_t n = 0;
    for (int32_t k = (int32_t)i; k >= 0 && n < 255; k = r->parent[k])
        chain[n++] = relm_impact_id(r, (size_t)k);
    chain[n++] = r->origin;
    /* chain: i ... origin. */
    size_t cap = 64 * n + 1, len = 0;
    char *p = malloc(cap);
    if (p == NULL)
        return NULL;
    p[0] = '\0';
    for (size_t k = 0; k < n; k++) {
        char name[256];
        int64_t id = down ? chain[n - 1 - k] : chain[k];
        if (ci_name(c, id, name, sizeof name) != RELM_OK) {
            free(p);
            return NULL;
        }
        size_t need = len + strlen(name) + 6;
        if (need > cap) {
            char *q = realloc(p, cap = need * 2);
            if (q == NULL) {
                free(p);
                return NULL;
            }
            p = q;
        }
        len += (size_t)sprintf(p + len, "%s%s", k ? " \u2192 " : "", name);
    }
    return p;
}

/* Append a conflict; takes path (may be NULL) and builds the reason. */
static relm_conflict *add(ctx *c, int kind, int64_t ci, char *path)
{
    relm_conflicts *o = c->out;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 8;
        relm_conflict *v = realloc(o->v, cap * sizeof *v);
        if (v == NULL) {
            free(path);
            relm_diag_set(c->d, "out_of_memory", _("out of memory"));
            return NULL;
        }
        o->v = v;
        o->cap = cap;
    }
    relm_conflict *x = &o->v[o->n++];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->ci_id = ci;
    x->path = path;
    if (ci != 0 && ci_name(c, ci, x->ci, sizeof x->ci) != RELM_OK)
        return NULL;
    return x;
}

/* 1 when list holds id. */
static int has_id(const int64_t *v, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == id)
            return 1;
    return 0;
}

/* ---- scheduled: another release on a CI of ours or connected to it --- */

typedef struct other_ci {
    int64_t rel, ci;
    char number[32], starts[32], ends[32];
    int done;
} other_ci;

static int scheduled_hit(ctx *c, other_ci *o, int64_t mine, char *path)
{
    o->done = 1;
    relm_conflict *x = add(c, RELM_CONFLICT_SCHEDULED, mine, path);
    if (x == NULL)
        return RELM_ERR;
    if (x->path == NULL && (x->path = strdup(x->ci)) == NULL)
        return relm_diag_set(c->d, "out_of_memory", _("out of memory"));
    x->other_id = o->rel;
    snprintf(x->other, sizeof x->other, "%s", o->number);
    snprintf(x->starts, sizeof x->starts, "%s", o->starts);
    snprintf(x->ends, sizeof x->ends, "%s", o->ends);
    x->reason = fmt(_("%s is also changed by %s, planned %s to %s "
                      "(through %s)"),
                    x->ci, o->number, o->starts, o->ends, x->path);
    return x->reason != NULL ? RELM_OK
                             : relm_diag_set(c->d, "out_of_memory",
                                             _("out of memory"));
}

static int scheduled(ctx *c)
{
    sqlite3_stmt *st = relm_store_stmt(
        c->s,
        "SELECT r.id, r.number, r.planned_start, r.planned_end, rc.ci_id "
        "FROM releases r JOIN release_cis rc ON rc.release_id = r.id "
        "WHERE r.id <> ?1 AND r.status IN ('open', 'suspended') AND "
        "r.planned_start < ?3 AND r.planned_end > ?2 ORDER BY r.id, rc.ci_id",
        c->d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, c->id);
    sqlite3_bind_text(st, 2, c->ps, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, c->pe, -1, SQLITE_TRANSIENT);
    other_ci *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = relm_store_step_row(c->s, st, c->d, "conflicts")) ==
           RELM_OK) {
        if (n == cap) {
            other_ci *w = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *w);
            if (w == NULL) {
                sqlite3_reset(st);
                free(v);
                return relm_diag_set(c->d, "out_of_memory", _("out of memory"));
            }
            v = w;
        }
        other_ci *o = &v[n++];
        memset(o, 0, sizeof *o);
        o->rel = sqlite3_column_int64(st, 0);
        snprintf(o->number, sizeof o->number, "%s",
                 sqlite3_column_text(st, 1));
        snprintf(o->starts, sizeof o->starts, "%s",
                 sqlite3_column_text(st, 2));
        snprintf(o->ends, sizeof o->ends, "%s", sqlite3_column_text(st, 3));
        o->ci = sqlite3_column_int64(st, 4);
    }
    if (rc == RELM_ERR) {
        free(v);
        return RELM_ERR;
    }
    /* The same CI first (no walk), then what each of ours depends on,
     * then what depends on it: the nearest explanation wins. */
    rc = RELM_OK;
    for (size_t k = 0; rc == RELM_OK && k < n; k++)
        if (has_id(c->ci, c->nci, v[k].ci))
            rc = scheduled_hit(c, &v[k], v[k].ci, NULL);
    for (int dir = 0; rc == RELM_OK && n > 0 && dir < 2; dir++) {
        relm_graph_query q = {.direction = dir == 0 ? RELM_GRAPH_DOWN
                                                    : RELM_GRAPH_UP,
                              .depth = -1, .limit = -1};
        for (size_t t = 0; rc == RELM_OK && t < c->nci; t++) {
            relm_impact r;
            if (graph(c) == NULL ||
                relm_graph_impact(c->g, c->s, c->ci[t], &q, &r, c->d) !=
                    RELM_OK) {
                rc = RELM_ERR;
                break;
            }
            for (size_t i = 0; rc == RELM_OK && i < r.n; i++) {
                int64_t id = relm_impact_id(&r, i);
                for (size_t k = 0; rc == RELM_OK && k < n; k++) {
                    if (v[k].done || v[k].ci != id)
                        continue;
                    char *p = path_of(c, &r, i, dir == 0);
                    if (p == NULL) {
                        rc = RELM_ERR;
                        break;
                    }
                    rc = scheduled_hit(c, &v[k], c->ci[t], p);
                }
            }
        }
    }
    free(v);
    return rc;
}

/* ---- windows -------------------------------------------------------- */

typedef struct span_probe {
    int64_t ps, pe;
    int64_t start, end; /* the first occurrence found */
    int found, contains;
} span_probe;

/* First occurrence overlapping the planned window. */
static int probe_overlap(void *ud, int64_t start, int64_t end)
{
    span_probe *p = ud;
    p->start = start;
    p->end = end;
    p->found = 1;
    return 1;
}

/* An occurrence holding the whole planned window. */
static int probe_contains(void *ud, int64_t start, int64_t end)
{
    span_probe *p = ud;
    if (!p->found) {
        p->start = start;
        p->end = end;
        p->found = 1;
    }
    if (start <= p->ps && end >= p->pe) {
        p->contains = 1;
        return 1;
    }
    return 0;
}

/* For window wid of scope kind, the path by which each of our CIs is
 * covered (paths[t], malloc'd; NULL: not covered). */
static int covered(ctx *c, int64_t wid, const char *scope, char **paths)
{
    sqlite3_stmt *st = relm_store_stmt(
        c->s, "SELECT coalesce(ci_id, type_id) FROM window_scope WHERE "
              "window_id = ?1",
        c->d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, wid);
    int64_t refs[256];
    size_t nrefs = 0;
    int rc;
    while ((rc = relm_store_step_row(c->s, st, c->d, "window scope")) ==
           RELM_OK)
        if (nrefs < 256)
            refs[nrefs++] = sqlite3_column_int64(st, 0);
    if (rc == RELM_ERR)
        return RELM_ERR;
    int services = strcmp(scope, "services") == 0;
    int types = strcmp(scope, "types") == 0;
    for (size_t t = 0; t < c->nci; t++) {
        if (has_id(refs, nrefs, types ? c->ci_type[t] : c->ci[t])) {
            char name[256];
            if (ci_name(c, c->ci[t], name, sizeof name) != RELM_OK ||
                (paths[t] = strdup(name)) == NULL)
                return RELM_ERR;
        }
    }
    if (!services)
        return RELM_OK;
    /* A service covers everything it depends on. The walk goes up from
     * each of our CIs (what depends on it), which stays small where
     * releases usually touch (servers, databases), rather than down from
     * the service over all it needs. */
    relm_graph_query q = {.direction = RELM_GRAPH_UP, .depth = -1,
                          .limit = -1};
    for (size_t t = 0; t < c->nci; t++) {
        if (paths[t] != NULL)
            continue;
        relm_impact r;
        if (graph(c) == NULL ||
            relm_graph_impact(c->g, c->s, c->ci[t], &q, &r, c->d) != RELM_OK)
            return RELM_ERR;
        for (size_t i = 0; i < r.n && paths[t] == NULL; i++)
            if (has_id(refs, nrefs, relm_impact_id(&r, i)) &&
                (paths[t] = path_of(c, &r, i, 0)) == NULL)
                return RELM_ERR;
    }
    return RELM_OK;
}

static int window_hit(ctx *c, int kind, int64_t wid, const char *wname,
                      size_t t, char *path, const span_probe *p)
{
    relm_conflict *x = add(c, kind, c->ci[t], path);
    if (x == NULL)
        return RELM_ERR;
    x->window_id = wid;
    snprintf(x->window, sizeof x->window, "%s", wname);
    if (p->found) {
        relm_time_format(p->start, x->starts);
        relm_time_format(p->end, x->ends);
    }
    if (kind == RELM_CONFLICT_BLACKOUT)
        x->reason = fmt(_("%s is in blackout window '%s', %s to %s "
                          "(through %s)"),
                        x->ci, wname, x->starts, x->ends, path);
    else if (p->found)
        x->reason = fmt(_("%s is planned %s to %s, outside maintenance "
                          "window '%s' (nearest: %s to %s; through %s)"),
                        x->ci, c->ps, c->pe, wname, x->starts, x->ends, path);
    else
        x->reason = fmt(_("%s is planned %s to %s, outside maintenance "
                          "window '%s' (no occurrence then; through %s)"),
                        x->ci, c->ps, c->pe, wname, path);
    return x->reason != NULL ? RELM_OK
                             : relm_diag_set(c->d, "out_of_memory",
                                             _("out of memory"));
}

static int windows(ctx *c)
{
    sqlite3_stmt *st = relm_store_stmt(
        c->s,
        "SELECT id, name, kind, scope FROM windows WHERE kind = "
        "'maintenance' OR (starts < ?2 AND (last_end IS NULL OR last_end > "
        "?1)) ORDER BY kind, name",
        c->d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_text(st, 1, c->ps, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, c->pe, -1, SQLITE_TRANSIENT);
    typedef struct wrow {
        int64_t id;
        char name[256], scope[16];
        int blackout;
    } wrow;
    wrow *w = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = relm_store_step_row(c->s, st, c->d, "windows")) == RELM_OK) {
        if (n == cap) {
            wrow *x = realloc(w, (cap = cap ? cap * 2 : 8) * sizeof *x);
            if (x == NULL) {
                sqlite3_reset(st);
                free(w);
                return relm_diag_set(c->d, "out_of_memory", _("out of memory"));
            }
            w = x;
        }
        w[n].id = sqlite3_column_int64(st, 0);
        snprintf(w[n].name, sizeof w[n].name, "%s",
                 sqlite3_column_text(st, 1));
        w[n].blackout = strcmp((const char *)sqlite3_column_text(st, 2),
                               "blackout") == 0;
        snprintf(w[n].scope, sizeof w[n].scope, "%s",
                 sqlite3_column_text(st, 3));
        n++;
    }
    if (rc == RELM_ERR) {
        free(w);
        return RELM_ERR;
    }
    char **paths = calloc(c->nci ? c->nci : 1, sizeof *paths);
    /* Per CI: whether one of its maintenance windows holds the plan. */
    int *inside = calloc(c->nci ? c->nci : 1, sizeof *inside);
    rc = paths && inside
             ? RELM_OK
             : relm_diag_set(c->d, "out_of_memory", _("out of memory"));
    for (int pass = 0; rc == RELM_OK && pass < 2; pass++) {
        for (size_t k = 0; rc == RELM_OK && k < n; k++) {
            span_probe p = {.ps = c->ps_e, .pe = c->pe_e};
            if (c->undated && !w[k].blackout)
                continue;
            if (w[k].blackout) {
                if (pass == 1)
                    continue;
                if (relm_window_spans(c->s, w[k].id, c->ps_e, c->pe_e,
                                      probe_overlap, &p, c->d) < 0) {
                    rc = RELM_ERR;
                    break;
                }
                if (!p.found)
                    continue;
            } else {
                /* The nearest occurrence from a day before, to say when
                 * the window is open. */
                if (relm_window_spans(c->s, w[k].id, c->ps_e - 86400 * 7,
                                      c->pe_e + 86400 * 7, probe_contains,
                                      &p, c->d) < 0) {
                    rc = RELM_ERR;
                    break;
                }
            }
            memset(paths, 0, c->nci * sizeof *paths);
            if (covered(c, w[k].id, w[k].scope, paths) != RELM_OK)
                rc = RELM_ERR;
            for (size_t t = 0; t < c->nci; t++) {
                if (paths[t] == NULL)
                    continue;
                if (rc == RELM_OK && w[k].blackout) {
                    rc = window_hit(c, RELM_CONFLICT_BLACKOUT, w[k].id,
                                    w[k].name, t, paths[t], &p);
                    paths[t] = NULL;
                } else if (rc == RELM_OK && pass == 0) {
                    inside[t] |= p.contains;
                } else if (rc == RELM_OK && !inside[t]) {
                    rc = window_hit(c, RELM_CONFLICT_MAINTENANCE, w[k].id,
                                    w[k].name, t, paths[t], &p);
                    paths[t] = NULL;
                }
                free(paths[t]);
                paths[t] = NULL;
            }
        }
    }
    free(paths);
    free(inside);
    free(w);
    return rc;
}

/* ---- person --------------------------------------------------------- */

static int person(ctx *c)
{
    if (c->responsible == 0)
        return RELM_OK;
    sqlite3_stmt *st = relm_store_stmt(
        c->s,
        "SELECT r.id, r.number, r.planned_start, r.planned_end, u.name "
        "FROM releases r JOIN users u ON u.id = r.responsible_id "
        "WHERE r.responsible_id = ?1 AND r.id <> ?2 AND r.status IN "
        "('open', 'suspended') AND r.planned_start < ?4 AND "
        "r.planned_end > ?3 ORDER BY r.planned_start, r.id",
        c->d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, c->responsible);
    sqlite3_bind_int64(st, 2, c->id);
    sqlite3_bind_text(st, 3, c->ps, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, c->pe, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = relm_store_step_row(c->s, st, c->d, "conflicts")) ==
           RELM_OK) {
        relm_conflict *x = add(c, RELM_CONFLICT_PERSON, 0, NULL);
        if (x == NULL) {
            sqlite3_reset(st);
            return RELM_ERR;
        }
        x->other_id = sqlite3_column_int64(st, 0);
        snprintf(x->other, sizeof x->other, "%s", sqlite3_column_text(st, 1));
        snprintf(x->starts, sizeof x->starts, "%s",
                 sqlite3_column_text(st, 2));
        snprintf(x->ends, sizeof x->ends, "%s", sqlite3_column_text(st, 3));
        x->reason = fmt(_("%s is responsible for %s too, planned %s to %s"),
                        sqlite3_column_text(st, 4), x->other, x->starts,
                        x->ends);
        if (x->reason == NULL) {
            sqlite3_reset(st);
            return relm_diag_set(c->d, "out_of_memory", _("out of memory"));
        }
    }
    return rc == RELM_ERR ? RELM_ERR : RELM_OK;
}

/* Read the release and its CIs into c; *active 0 when it has nothing to
 * conflict about. */
/* The release's planned window, responsible and CIs. *active: 1 with a
 * planned window; with none, 2 when now_if_undated (an open release acted
 * on now is carried out now: the window is this second) and 0 otherwise. */
static int load(ctx *c, int now_if_undated, int *active)
{
    *active = 0;
    sqlite3_stmt *st = relm_store_stmt(
        c->s,
        "SELECT status IN ('open', 'suspended'), planned_start, planned_end, "
        "responsible_id FROM releases WHERE id = ?1",
        c->d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, c->id);
    int rc = relm_store_step_row(c->s, st, c->d, "release");
    if (rc == RELM_NOT_FOUND)
        return relm_diag_set(c->d, "not_found", _("no release with id %lld"),
                             (long long)c->id);
    if (rc != RELM_OK)
        return RELM_ERR;
    const char *ps = (const char *)sqlite3_column_text(st, 1);
    const char *pe = (const char *)sqlite3_column_text(st, 2);
    int open = sqlite3_column_int(st, 0);
    if (open && ps != NULL && pe != NULL &&
        relm_time_parse(ps, strlen(ps), &c->ps_e, NULL) &&
        relm_time_parse(pe, strlen(pe), &c->pe_e, NULL) && c->pe_e > c->ps_e) {
        *active = 1;
        snprintf(c->ps, sizeof c->ps, "%s", ps);
        snprintf(c->pe, sizeof c->pe, "%s", pe);
    }
    if (open && !*active && now_if_undated) {
        *active = 2;
        c->undated = 1;
        c->ps_e = relm_clock_now();
        c->pe_e = c->ps_e + 1;
        relm_time_format(c->ps_e, c->ps);
        relm_time_format(c->pe_e, c->pe);
    }
    c->responsible = sqlite3_column_int64(st, 3);
    sqlite3_reset(st);
    if (!*active)
        return RELM_OK;
    st = relm_store_stmt(c->s,
                         "SELECT rc.ci_id, c.type_id FROM release_cis rc "
                         "JOIN cis c ON c.id = rc.ci_id WHERE "
                         "rc.release_id = ?1 ORDER BY rc.created_at, "
                         "rc.ci_id",
                         c->d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, c->id);
    size_t cap = 0;
    while ((rc = relm_store_step_row(c->s, st, c->d, "release CIs")) ==
           RELM_OK) {
        if (c->nci == cap) {
            cap = cap ? cap * 2 : 8;
            int64_t *a = realloc(c->ci, cap * sizeof *a);
            if (a != NULL)
                c->ci = a;
            int64_t *b = realloc(c->ci_type, cap * sizeof *b);
            if (b != NULL)
                c->ci_type = b;
            if (a == NULL || b == NULL) {
                sqlite3_reset(st);
                return relm_diag_set(c->d, "out_of_memory", _("out of memory"));
            }
        }
        c->ci[c->nci] = sqlite3_column_int64(st, 0);
        c->ci_type[c->nci++] = sqlite3_column_int64(st, 1);
    }
    return rc == RELM_ERR ? RELM_ERR : RELM_OK;
}

static int compute(relm_store *s, relm_graph *g, int64_t id,
                   int now_if_undated, relm_conflicts *out, relm_diag *d)
{
    memset(out, 0, sizeof *out);
    ctx c = {.s = s, .g = g, .d = d, .id = id, .out = out};
    int active;
    int rc = load(&c, now_if_undated, &active);
    if (rc == RELM_OK && active == 1 && c.nci > 0)
        rc = scheduled(&c);
    if (rc == RELM_OK && active && c.nci > 0)
        rc = windows(&c);
    if (rc == RELM_OK && active == 1)
        rc = person(&c);
    free(c.ci);
    free(c.ci_type);
    relm_graph_free(c.own);
    if (rc != RELM_OK)
        relm_conflicts_free(out);
    return rc;
}

int relm_conflict_compute(relm_store *s, relm_graph *g, int64_t id,
                          relm_conflicts *out, relm_diag *d)
{
    return compute(s, g, id, 1, out, d);
}

/* Replace the kept conflicts of release id with c. */
static int save(relm_store *s, int64_t id, const relm_conflicts *c,
                relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "DELETE FROM release_conflicts WHERE release_id = ?1", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    if (relm_store_step_write(s, st, d, "release conflicts") != RELM_OK)
        return RELM_ERR;
    for (size_t i = 0; i < c->n; i++) {
        const relm_conflict *x = &c->v[i];
        st = relm_store_stmt(
            s,
            "INSERT INTO release_conflicts (release_id, seq, kind, ci_id, "
            "other_release_id, window_id, path, starts, ends, reason) "
            "VALUES (?1, ?2, ?3, nullif(?4, 0), nullif(?5, 0), nullif(?6, 0), "
            "?7, nullif(?8, ''), nullif(?9, ''), ?10)",
            d);
        if (st == NULL)
            return RELM_ERR;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, (int64_t)i + 1);
        sqlite3_bind_text(st, 3, relm_conflict_kind_name(x->kind), -1,
                          SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, x->ci_id);
        sqlite3_bind_int64(st, 5, x->other_id);
        sqlite3_bind_int64(st, 6, x->window_id);
        sqlite3_bind_text(st, 7, x->path, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, x->starts, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, x->ends, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 10, x->reason, -1, SQLITE_STATIC);
        if (relm_store_step_write(s, st, d, "release conflicts") != RELM_OK)
            return RELM_ERR;
    }
    st = relm_store_stmt(
        s,
        "INSERT INTO release_conflict_state (release_id, dirty, count) "
        "VALUES (?1, 0, ?2) ON CONFLICT (release_id) DO UPDATE SET "
        "dirty = 0, count = ?2",
        d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, (int64_t)c->n);
    return relm_store_step_write(s, st, d, "release conflicts");
}

int relm_conflict_refresh(relm_store *s, relm_graph *g, size_t *done,
                          relm_diag *d)
{
    if (done != NULL)
        *done = 0;
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT release_id FROM release_conflict_state WHERE dirty = 1 "
           "ORDER BY release_id",
        d);
    if (st == NULL)
        return RELM_ERR;
    /* Cheap when nothing is dirty: no transaction at all. */
    int first = relm_store_step_row(s, st, d, "release conflicts");
    if (first != RELM_OK)
        return first == RELM_ERR ? RELM_ERR : RELM_OK;
    sqlite3_reset(st);
    if (relm_store_begin(s, d) != RELM_OK)
        return RELM_ERR;
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    int rc;
    st = relm_store_stmt(
        s, "SELECT release_id FROM release_conflict_state WHERE dirty = 1 "
           "ORDER BY release_id",
        d);
    if (st == NULL)
        return relm_store_end(s, RELM_ERR, d);
    while ((rc = relm_store_step_row(s, st, d, "release conflicts")) ==
           RELM_OK) {
        if (n == cap) {
            int64_t *v = realloc(ids, (cap = cap ? cap * 2 : 64) * sizeof *v);
            if (v == NULL) {
                sqlite3_reset(st);
                rc = relm_diag_set(d, "out_of_memory", _("out of memory"));
                break;
            }
            ids = v;
        }
        ids[n++] = sqlite3_column_int64(st, 0);
    }
    rc = rc == RELM_ERR ? RELM_ERR : RELM_OK;
    /* One graph for the whole refresh when the caller has none. */
    relm_graph *own = g == NULL && n > 0 ? relm_graph_new() : NULL;
    for (size_t i = 0; rc == RELM_OK && i < n; i++) {
        relm_conflicts c;
        /* Kept conflicts follow the planned window only: "now" would be
         * stale by the time the desktop shows it. */
        rc = compute(s, g != NULL ? g : own, ids[i], 0, &c, d);
        if (rc == RELM_OK) {
            rc = save(s, ids[i], &c, d);
            relm_conflicts_free(&c);
        }
    }
    relm_graph_free(own);
    free(ids);
    if (relm_store_end(s, rc, d) != RELM_OK)
        return RELM_ERR;
    if (done != NULL)
        *done = n;
    return RELM_OK;
}

char *relm_conflict_describe(const relm_conflicts *c, unsigned mask)
{
    size_t len = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].kind & (int)mask)
            len += strlen(c->v[i].reason) + 2;
    if (len == 0)
        return NULL;
    char *s = malloc(len + 1), *p = s;
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].kind & (int)mask)
            p += sprintf(p, "%s%s", p == s ? "" : "; ", c->v[i].reason);
    return s;
}
