/* import.c: bulk import and export of CIs and relationships (CSV via
 * libcsv, JSON Lines via SQLite JSON1), one transaction per file. */
#include "base/i18n.h"
#include "cmdb/import.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/context.h"
#include "base/grow.h"
#include "base/utf8.h"

/* ---- small helpers: an arena and a string hash map ---- */

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
} arena_block;

typedef struct arena {
    arena_block *head;
} arena;

/* Copy s[0..n) plus a NUL into the arena (1 MB blocks: a million names
 * cost a few dozen mallocs, not a million). NULL when out of memory. */
static char *arena_dup(arena *a, const char *s, size_t n)
{
    if (a->head == NULL || a->head->used + n + 1 > a->head->cap) {
        size_t cap = n + 1 > (1u << 20) ? n + 1 : (1u << 20);
        arena_block *b = malloc(sizeof *b + cap);
        if (b == NULL)
            return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    char *p = a->head->data + a->head->used;
    memcpy(p, s, n);
    p[n] = '\0';
    a->head->used += n + 1;
    return p;
}

/* Free every block of the arena. */
static void arena_free(arena *a)
{
    while (a->head != NULL) {
        arena_block *n = a->head->next;
        free(a->head);
        a->head = n;
    }
}

/* Open addressing, keys owned by the arena, value an int64 (a row number or
 * a CI id). */
typedef struct smap_slot {
    const char *key;
    uint32_t len, hash;
    int64_t val;
} smap_slot;

typedef struct smap {
    smap_slot *slots;
    size_t cap, n;
    arena keys;
} smap;

/* FNV-1a over the bytes: names are short and this is cheap. */
static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* Double the table (1024 slots to start), rehashing from stored hashes. */
static int smap_grow(smap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    smap_slot *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return RELM_ERR;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key == NULL)
            continue;
        size_t j = m->slots[i].hash & (cap - 1);
        while (slots[j].key != NULL)
            j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return RELM_OK;
}

/* Find key; returns the slot (key NULL when absent: fill it with
 * smap_put). */
static smap_slot *smap_find(smap *m, const char *key, size_t n, uint32_t h)
{
    size_t j = h & (m->cap - 1);
    while (m->slots[j].key != NULL) {
        smap_slot *sl = &m->slots[j];
        if (sl->hash == h && sl->len == n && memcmp(sl->key, key, n) == 0)
            return sl;
        j = (j + 1) & (m->cap - 1);
    }
    return &m->slots[j];
}

/* Insert key -> val unless present; *old receives the existing value and
 * the return is 1 when the key was already there, 0 when added, RELM_ERR on
 * out of memory. */
static int smap_put(smap *m, const char *key, size_t n, int64_t val,
                    int64_t *old)
{
    if ((m->n + 1) * 4 >= m->cap * 3 && smap_grow(m) != RELM_OK)
        return RELM_ERR;
    uint32_t h = hash_bytes(key, n);
    smap_slot *sl = smap_find(m, key, n, h);
    if (sl->key != NULL) {
        if (old != NULL)
            *old = sl->val;
        return 1;
    }
    if ((sl->key = arena_dup(&m->keys, key, n)) == NULL)
        return RELM_ERR;
    sl->len = (uint32_t)n;
    sl->hash = h;
    sl->val = val;
    m->n++;
    return 0;
}

/* 1 and *val when key is in the map, else 0. */
static int smap_get(smap *m, const char *key, size_t n, int64_t *val)
{
    if (m->cap == 0)
        return 0;
    smap_slot *sl = smap_find(m, key, n, hash_bytes(key, n));
    if (sl->key == NULL)
        return 0;
    *val = sl->val;
    return 1;
}

/* Free the table and its keys. */
static void smap_free(smap *m)
{
    free(m->slots);
    arena_free(&m->keys);
    memset(m, 0, sizeof *m);
}

/* ---- the importer ---- */

void relm_import_report_free(relm_import_report *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->items[i].message);
    free(r->items);
    r->items = NULL;
    r->n = r->cap = 0;
}

/* A CI type met in the file, with the column -> attribute map built once. */
typedef struct type_slot {
    cmdb_type *t;
    int *colmap;        /* per column: attribute index, or -1 */
} type_slot;

typedef struct kind_slot {
    char *name;
    int64_t id;
} kind_slot;

/* The state of one import: the row being read (CSV fields, or a JSON Lines
 * object as key, value pairs), the header, caches and the batch. */
typedef struct importer {
    relm_store *s;
    const char *path;
    const relm_cmdb_import_opts *o;
    relm_diag *d;
    relm_import_report *rep;
    int64_t row;            /* record number: 1 = header (CSV) / line (JSONL) */
    int64_t count;
    int failed;             /* abort mode: an error is in d; stop */
    /* the row being read (CSV) */
    cmdb_buf fields;        /* field bytes, each NUL-terminated */
    size_t *off, *len;
    size_t nf, fcap;
    int bad_utf8_col;       /* first field of this row with bad UTF-8 */
    int nul_col;            /* first field of this row holding a NUL byte */
    /* header */
    char **cols;
    size_t ncols;
    int col_name, col_type, col_from, col_kind, col_to;
    int *col_std;           /* per column: standard field index or -1 */
    /* CIs */
    type_slot *types;
    size_t ntypes;
    cmdb_ci *ci;
    smap seen;              /* names (CIs) met in this file -> row */
    int fresh;              /* the cis table was empty: every row is new */
    /* relationships */
    kind_slot *kinds;
    size_t nkinds;
    smap ids;               /* name -> CI id, for large relationship files */
    int use_ids;
    sqlite3_stmt *st_relate, *st_find; /* held across rows */
    int64_t batch;          /* this import's ci_batches row */
    char *note;             /* origin note "import <path>" */
    char now[40];           /* the import's timestamp, on every row */
    char *dropped[6];       /* definitions of indexes dropped for the load */
    size_t ndropped;
    int64_t cache_size;     /* PRAGMA cache_size to restore */
    relm_cmdb_origin origin;
    int64_t size;           /* file size in bytes (progress total) */
    double last_report;     /* monotonic seconds of the last progress call */
    int64_t done;           /* bytes read so far */
    int64_t reported;       /* done as last told to the progress hook */
} importer;

/* Monotonic clock in seconds. */
static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Tell the progress hook that `done` bytes of the file are read: on the
 * first block (a display appears at once), then at most every 0.1 s, and
 * always when final. Called once per 64 KB read (CSV) or 1024 lines (JSON
 * Lines), so a clock read per call costs nothing. */
static int report_progress(importer *im, int64_t done, int final)
{
    if (im->o->progress == NULL || im->failed)
        return RELM_OK;
    if (done > im->done)
        im->done = done;
    double t = mono_now();
    if (!final && t - im->last_report < 0.1)
        return RELM_OK;
    im->last_report = t;
    /* total: the size, or what was read when the size is unknown (a pipe) */
    int64_t total = im->size > im->done ? im->size : im->done;
    done = final ? total : im->done;
    if (done <= im->reported)
        return RELM_OK; /* told already (the last block ended the file) */
    im->reported = done;
    if (im->o->progress(im->o->progress_ud, done, total, im->d) != 0) {
        im->failed = 1;
        return RELM_ERR;
    }
    return RELM_OK;
}

/* Stop the import with d = "file:row[:column]: msg" (column 0: none). */
static int stop_at(importer *im, int column, const char *code,
                   const char *msg)
{
    if (column > 0)
        relm_diag_set(im->d, code, "%s:%lld:%d: %s", im->path,
                      (long long)im->row, column, msg);
    else
        relm_diag_set(im->d, code, "%s:%lld: %s", im->path,
                      (long long)im->row, msg);
    im->failed = 1;
    return RELM_ERR;
}

/* Record a problem at row:column. fatal (file_error: the header, I/O,
 * memory) always stops the import with d filled; otherwise (row_error) abort
 * mode stops too and skip mode adds it to the report. Returns RELM_ERR
 * either way (the row is bad). column: 1-based, or 0 for none. */
static int problem(importer *im, int fatal, int column, const char *code,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int problem(importer *im, int fatal, int column, const char *code,
                   const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    relm_import_report *r = im->rep;
    if (fatal || !im->o->skip_errors || r == NULL)
        return stop_at(im, column, code, msg);
    relm_import_problem *p = relm_grow(r->items, &r->cap, r->n + 1,
                                       sizeof *p, 16);
    if (p == NULL) {
        relm_diag_set(im->d, "out_of_memory", _("out of memory"));
        im->failed = 1;
        return RELM_ERR;
    }
    r->items = p;
    char full[1024];
    snprintf(full, sizeof full, "%s: %s", code, msg);
    r->items[r->n].row = im->row;
    r->items[r->n].column = column;
    r->items[r->n].message = strdup(full);
    r->n++;
    return RELM_ERR;
}

#define row_error(im, ...) problem((im), 0, __VA_ARGS__)
#define file_error(im, ...) problem((im), 1, __VA_ARGS__)

/* Move a core error (d) into the row's report, prefixed with the place. */
static int row_diag(importer *im, int column)
{
    char msg[sizeof im->d->msg];
    snprintf(msg, sizeof msg, "%s", im->d->msg);
    return row_error(im, column, im->d->code ? im->d->code : "error", "%s", msg);
}

/* The NUL-terminated text of field col of the current row. */
static const char *field(const importer *im, int col)
{
    return im->fields.p + im->off[col];
}

static const char *const ci_std[] = {
    "name", "type", "status", "version", "serial", "criticality",
    "owner_group", "location", "media",
};

/* The type slot for `name`, loading the schema and mapping the header's
 * columns to its attributes on first use. NULL with the row error set when
 * the type is unknown. */
static type_slot *type_for(importer *im, const char *name, int column)
{
    for (size_t i = 0; i < im->ntypes; i++)
        if (strcmp(im->types[i].t->name, name) == 0)
            return &im->types[i];
    cmdb_type *t = NULL;
    if (cmdb_type_load(im->s, name, &t, im->d) != RELM_OK) {
        row_diag(im, column);
        return NULL;
    }
    type_slot *ts = realloc(im->types, (im->ntypes + 1) * sizeof *ts);
    int *map = calloc(im->ncols ? im->ncols : 1, sizeof *map);
    if (ts != NULL)
        im->types = ts;
    if (ts == NULL || map == NULL) {
        free(map);
        cmdb_type_free(t);
        file_error(im, 0, "out_of_memory", _("out of memory"));
        return NULL;
    }
    for (size_t c = 0; c < im->ncols; c++)
        map[c] = im->col_std[c] >= 0 ? -1
                 : cmdb_type_attr(t, im->cols[c], strlen(im->cols[c]));
    type_slot *slot = &im->types[im->ntypes++];
    slot->t = t;
    slot->colmap = map;
    return slot;
}

/* True when the header (im->cols, filled) has a column called name: used
 * to tell a user who imports a file as the wrong kind what to pass. */
static int header_has(const importer *im, const char *name)
{
    for (size_t c = 0; c < im->ncols; c++)
        if (im->cols[c] != NULL && strcmp(im->cols[c], name) == 0)
            return 1;
    return 0;
}

/* Edit distance between two short names, a swap of neighbours counting
 * one (optimal string alignment, as relm.complete.distance); names longer
 * than 63 bytes are never near anything. */
static int name_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 63 || m > 63)
        return 64;
    int d[64][64];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < v)
                v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
                && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

/* How near cand is to the unknown column h: its edit distance when at most
 * two and shorter than h, 3 when cand starts with h (3 bytes or more), else
 * -1 (not near). */
static int column_nearness(const char *h, const char *cand)
{
    size_t hl = strlen(h);
    int dist = name_distance(h, cand);
    if (dist <= 2 && (size_t)dist < hl)
        return dist;
    return hl >= 3 && strncmp(cand, h, hl) == 0 ? 3 : -1;
}

/* " (did you mean 'status'?)" into out for the unknown header column h:
 * the nearest CI field or attribute name, or "" when none is near. Only
 * on the error path, once per file: it reads every attribute name. */
static void column_hint(importer *im, const char *h, char *out, size_t size)
{
    char best[128] = "";
    int best_d = 4;
    for (size_t k = 0; k < sizeof ci_std / sizeof ci_std[0]; k++) {
        int dist = column_nearness(h, ci_std[k]);
        if (dist >= 0 && dist < best_d) {
            best_d = dist;
            snprintf(best, sizeof best, "%s", ci_std[k]);
        }
    }
    sqlite3_stmt *st = relm_store_stmt(
        im->s, "SELECT DISTINCT name FROM ci_type_attrs ORDER BY name", im->d);
    while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        const char *cand = (const char *)sqlite3_column_text(st, 0);
        int dist = cand != NULL ? column_nearness(h, cand) : -1;
        if (dist >= 0 && dist < best_d) {
            best_d = dist;
            snprintf(best, sizeof best, "%s", cand);
        }
    }
    if (st != NULL)
        sqlite3_reset(st);
    snprintf(out, size, best[0] ? _(" (did you mean '%s'?)") : "", best);
}

/* Check the header row (CSV) and remember the columns. */
static int read_header(importer *im)
{
    if (im->bad_utf8_col > 0)
        return file_error(im, im->bad_utf8_col, "invalid_utf8", _("this "
                            "column of the header is not valid UTF-8"));
    if (im->nul_col > 0)
        return file_error(im, im->nul_col, "invalid_field", _("this column "
                          "of the header holds a NUL byte"));
    im->ncols = im->nf;
    im->cols = calloc(im->nf, sizeof *im->cols);
    im->col_std = calloc(im->nf, sizeof *im->col_std);
    if (im->cols == NULL || im->col_std == NULL)
        return file_error(im, 0, "out_of_memory", _("out of memory"));
    im->col_name = im->col_type = im->col_from = im->col_kind = im->col_to = -1;
    int unknown = -1; /* first column a relationships file cannot have */
    for (size_t c = 0; c < im->nf; c++) {
        if ((im->cols[c] = strdup(field(im, (int)c))) == NULL)
            return file_error(im, 0, "out_of_memory", _("out of memory"));
        if (im->cols[c][0] == '\0')
            return file_error(im, (int)c + 1, "invalid_header", _("this column "
                                "of the header has no name"));
        for (size_t k = 0; k < c; k++)
            if (strcmp(im->cols[k], im->cols[c]) == 0)
                return file_error(im, (int)c + 1, "invalid_header", _("column "
                                    "'%s' appears twice in the header (first "
                                    "as column %zu)"), im->cols[c], k + 1);
        im->col_std[c] = -1;
        const char *h = im->cols[c];
        if (im->o->relationships) {
            if (strcmp(h, "from") == 0)
                im->col_from = (int)c;
            else if (strcmp(h, "kind") == 0)
                im->col_kind = (int)c;
            else if (strcmp(h, "to") == 0)
                im->col_to = (int)c;
            else if (unknown < 0)
                unknown = (int)c;
            continue;
        }
        for (int k = 0; k < (int)(sizeof ci_std / sizeof ci_std[0]); k++)
            if (strcmp(h, ci_std[k]) == 0)
                im->col_std[c] = k;
        if (im->col_std[c] == 0)
            im->col_name = (int)c;
        else if (im->col_std[c] == 1)
            im->col_type = (int)c;
    }
    if (im->o->relationships) {
        /* No known column at all: the file starts with data. */
        if (im->col_from < 0 && im->col_kind < 0 && im->col_to < 0)
            return file_error(im, 0, "invalid_header", _("missing header: the first "
                              "row must name the columns from,kind,to%s"),
                              header_has(im, "name") && header_has(im, "type")
                                  ? " (this is a CI file: import it without "
                                    "kind = \"relationships\")"
                                  : "");
        if (unknown >= 0)
            return file_error(im, unknown + 1, "invalid_header", _("unknown "
                                "column '%s' (a relationships file has the "
                                "columns from,kind,to)"), im->cols[unknown]);
        if (im->col_from < 0 || im->col_kind < 0 || im->col_to < 0)
            return file_error(im, 0, "invalid_header", _("the header must name "
                              "the columns from,kind,to (missing: %s%s%s)"),
                              im->col_from < 0 ? "from " : "",
                              im->col_kind < 0 ? "kind " : "",
                              im->col_to < 0 ? "to" : "");
        return RELM_OK;
    }
    if (im->col_name < 0 || im->col_type < 0)
        return file_error(im, 0, "invalid_header", _("missing header: the first row "
                          "must name the columns name,type (then standard "
                          "fields and attributes)%s"),
                          header_has(im, "from") && header_has(im, "to")
                              ? "; this is a relationships file: import it with "
                                "{ kind = \"relationships\" }"
                              : "");
    /* Every other column must be an attribute of some type. */
    sqlite3_stmt *st = relm_store_stmt(
        im->s, "SELECT 1 FROM ci_type_attrs WHERE name = ?1 LIMIT 1", im->d);
    if (st == NULL)
        return file_error(im, 0, im->d->code, "%s", im->d->msg);
    for (size_t c = 0; c < im->nf; c++) {
        if (im->col_std[c] >= 0)
            continue;
        sqlite3_bind_text(st, 1, im->cols[c], -1, SQLITE_STATIC);
        int known = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_reset(st);
        if (!known) {
            char hint[160];
            column_hint(im, im->cols[c], hint, sizeof hint);
            return file_error(im, (int)c + 1, "unknown_attribute", _("unknown "
                                "column '%s'%s: not a CI field (name, type, "
                                "status, version, serial, criticality, "
                                "owner_group, location, media) nor an "
                                "attribute of any CI type"), im->cols[c], hint);
        }
    }
    return RELM_OK;
}

/* One CI from the current CSV row. */
static int ci_row(importer *im)
{
    const char *name = field(im, im->col_name);
    const char *tname = field(im, im->col_type);
    size_t nlen = im->len[im->col_name];
    if (nlen == 0)
        return row_error(im, im->col_name + 1, "invalid_field",
                         "field 'name' is empty");
    if (im->len[im->col_type] == 0)
        return row_error(im, im->col_type + 1, "invalid_field",
                         "field 'type' is empty");
    type_slot *ts = type_for(im, tname, im->col_type + 1);
    if (ts == NULL)
        return RELM_ERR;
    int64_t first = 0;
    int dup = smap_put(&im->seen, name, nlen, im->row, &first);
    if (dup < 0)
        return file_error(im, 0, "out_of_memory", _("out of memory"));
    if (dup == 1)
        return row_error(im, im->col_name + 1, "duplicate", "name '%s' "
                         "appears twice in the file (first at row %lld)",
                         name, (long long)first);
    int found = 0;
    if (!im->fresh) {
        found = cmdb_ci_load(im->s, im->ci, name, nlen, im->d);
        if (found < 0)
            return row_diag(im, 0);
    }
    relm_cmdb_value v;
    memset(&v, 0, sizeof v);
    v.from_text = 1;
    if (found) {
        v.key = "type";
        v.vtype = RELM_V_TEXT;
        v.s = tname;
        v.len = im->len[im->col_type];
        if (cmdb_ci_set(im->s, im->ci, &v, im->d) != RELM_OK)
            return row_diag(im, im->col_type + 1);
        /* A loaded CI carries its own copy of the schema; indexes agree
         * with the cached one (same type, same order). */
    } else {
        cmdb_ci_reset(im->ci, ts->t);
        v.key = "name";
        v.vtype = RELM_V_TEXT;
        v.s = name;
        v.len = nlen;
        if (cmdb_ci_set(im->s, im->ci, &v, im->d) != RELM_OK)
            return row_diag(im, im->col_name + 1);
    }
    for (size_t c = 0; c < im->ncols; c++) {
        int k = im->col_std[c];
        if (k == 0 || k == 1)
            continue;
        v.vtype = im->len[c] ? RELM_V_TEXT : RELM_V_NIL;
        v.s = field(im, (int)c);
        v.len = im->len[c];
        if (k > 1) {
            if (k == 2 && v.vtype == RELM_V_NIL)
                continue; /* an empty status keeps it (or means active) */
            v.key = ci_std[k];
            if (cmdb_ci_set(im->s, im->ci, &v, im->d) != RELM_OK)
                return row_diag(im, (int)c + 1);
            continue;
        }
        int idx = ts->colmap[c];
        if (idx < 0) {
            if (v.vtype == RELM_V_NIL)
                continue;
            return row_error(im, (int)c + 1, "unknown_attribute", "type '%s' "
                             "has no attribute '%s'", ts->t->name, im->cols[c]);
        }
        v.key = im->cols[c];
        if (cmdb_ci_set_attr(im->ci, idx, &v, im->d) != RELM_OK)
            return row_diag(im, (int)c + 1);
    }
    int changed;
    if (cmdb_ci_save(im->s, im->ci, &im->origin, &changed, im->d) != RELM_OK)
        return row_diag(im, 0);
    im->count++;
    return RELM_OK;
}

/* Id of the CI `name` for a relationship row: from the in-memory map when
 * it was built, else through the unique index. 0 when absent. */
static int64_t ci_id(importer *im, const char *name, size_t len)
{
    int64_t id = 0;
    if (im->use_ids) {
        smap_get(&im->ids, name, len, &id);
        return id;
    }
    sqlite3_stmt *st = cmdb_stmt(im->s, &im->st_find,
                                 "SELECT id FROM cis WHERE name = ?1", im->d);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, name, (int)len, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return id;
}

/* One relationship (from, kind, to) of the current row. Columns are
 * 1-based for messages. */
static int rel_row(importer *im, const char *from, size_t flen, int fcol,
                   const char *kind, int kcol, const char *to, size_t tlen,
                   int tcol)
{
    int64_t k = 0;
    for (size_t i = 0; i < im->nkinds; i++)
        if (strcmp(im->kinds[i].name, kind) == 0)
            k = im->kinds[i].id;
    if (k == 0) {
        if (kind[0] == '\0')
            return row_error(im, kcol, "invalid_field", "field 'kind' is empty");
        if ((k = cmdb_rel_kind(im->s, kind, im->d)) == 0)
            return row_diag(im, kcol);
        kind_slot *ks = realloc(im->kinds, (im->nkinds + 1) * sizeof *ks);
        if (ks == NULL)
            return file_error(im, 0, "out_of_memory", _("out of memory"));
        im->kinds = ks;
        ks[im->nkinds].name = strdup(kind);
        ks[im->nkinds].id = k;
        im->nkinds++;
    }
    int64_t a = ci_id(im, from, flen);
    if (a == 0)
        return row_error(im, fcol, "not_found", "no CI named '%s'", from);
    int64_t b = ci_id(im, to, tlen);
    if (b == 0)
        return row_error(im, tcol, "not_found", "no CI named '%s'", to);
    if (a < 0 || b < 0)
        return row_diag(im, 0);
    if (a == b)
        return row_error(im, tcol, "invalid_argument", "a CI cannot be "
                         "related to itself ('%s' %s '%s')", from, kind, to);
    sqlite3_stmt *st = cmdb_stmt(
        im->s, &im->st_relate, "INSERT INTO relationships (from_id, kind_id, "
               "to_id, created_at, batch_id) VALUES (?1, ?2, ?3, ?4, ?5) ON "
               "CONFLICT DO NOTHING", im->d);
    if (st == NULL)
        return row_diag(im, 0);
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, k);
    sqlite3_bind_int64(st, 3, b);
    sqlite3_bind_text(st, 4, im->now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, im->batch);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        relm_store_fail(im->s, im->d, "import");
        return row_diag(im, 0);
    }
    im->count++;
    return RELM_OK;
}

/* Process the CSV row collected in im (after the header). In skip mode a
 * bad row is rolled back to a savepoint so that nothing of it stays. */
static void data_row(importer *im)
{
    if (im->bad_utf8_col > 0) {
        row_error(im, im->bad_utf8_col, "invalid_utf8", "not valid UTF-8");
        return;
    }
    if (im->nul_col > 0) {
        row_error(im, im->nul_col, "invalid_field", "the field holds a NUL "
                  "byte; text may not");
        return;
    }
    if (im->nf != im->ncols) {
        row_error(im, (int)(im->nf < im->ncols ? im->nf : im->ncols) + 1,
                  "invalid_row", "this row has %zu field(s); the header has "
                  "%zu", im->nf, im->ncols);
        return;
    }
    int sp = im->o->skip_errors;
    if (sp && relm_store_begin(im->s, im->d) != RELM_OK) {
        im->failed = 1;
        return;
    }
    int rc;
    if (im->o->relationships)
        rc = rel_row(im, field(im, im->col_from), im->len[im->col_from],
                     im->col_from + 1, field(im, im->col_kind), im->col_kind + 1,
                     field(im, im->col_to), im->len[im->col_to], im->col_to + 1);
    else
        rc = ci_row(im);
    if (sp) {
        if (rc == RELM_OK) {
            if (relm_store_commit(im->s, im->d) != RELM_OK) {
                relm_store_rollback(im->s);
                im->failed = 1;
            }
        } else {
            relm_store_rollback(im->s);
        }
    }
}

/* libcsv: a field of the current row. */
static void on_field(void *data, size_t len, void *ud)
{
    importer *im = ud;
    if (im->failed)
        return;
    if (im->nf == im->fcap) {
        size_t cap = im->fcap ? im->fcap * 2 : 32;
        size_t *o = realloc(im->off, cap * sizeof *o);
        size_t *l = realloc(im->len, cap * sizeof *l);
        if (o != NULL)
            im->off = o;
        if (l != NULL)
            im->len = l;
        if (o == NULL || l == NULL) {
            file_error(im, 0, "out_of_memory", _("out of memory"));
            return;
        }
        im->fcap = cap;
    }
    const char *s = data != NULL ? data : "";
    size_t bad;
    if (im->bad_utf8_col == 0 && !relm_utf8_valid(s, len, &bad))
        im->bad_utf8_col = (int)im->nf + 1;
    /* NUL is valid UTF-8, but every later strlen would cut the text there. */
    if (im->nul_col == 0 && memchr(s, '\0', len) != NULL)
        im->nul_col = (int)im->nf + 1;
    im->off[im->nf] = im->fields.len;
    im->len[im->nf] = len;
    if (cmdb_buf_put(&im->fields, s, len) != RELM_OK ||
        cmdb_buf_put(&im->fields, "", 1) != RELM_OK) {
        file_error(im, 0, "out_of_memory", _("out of memory"));
        return;
    }
    im->nf++;
}

/* libcsv: end of a row. */
static void on_row(int c, void *ud)
{
    importer *im = ud;
    (void)c;
    if (im->failed)
        return;
    im->row++;
    if (im->row == 1)
        read_header(im);
    else
        data_row(im);
    im->nf = 0;
    im->fields.len = 0;
    im->bad_utf8_col = 0;
    im->nul_col = 0;
}

/* libcsv grows its field buffer blk_size bytes at a time (128 by default):
 * a 10 MB field took 80,000 reallocations, quadratic time under ASan. Its
 * realloc hook has no user pointer, so the parser being fed is kept in the
 * process context (base/context.h);
 * after each growth blk_size becomes the buffer's size, which doubles it
 * next time. A field may not outgrow CSV_FIELD_MAX: libcsv then reports
 * CSV_ENOMEM, turned into an error naming the row and column. */
#define CSV_FIELD_MAX ((size_t)32 << 20)

static void *csv_grow(void *ptr, size_t size)
{
    if (size > CSV_FIELD_MAX + 128)
        return NULL;
    void *q = realloc(ptr, size);
    struct csv_parser *p = relm_process.csv_growing;
    if (q != NULL && p != NULL)
        p->blk_size = size;
    return q;
}

static int import_csv(importer *im, FILE *f)
{
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return file_error(im, 0, "out_of_memory", _("out of memory"));
    csv_set_realloc_func(&p, csv_grow);
    relm_process.csv_growing = &p;
    static char buf[1 << 16];
    size_t n;
    int rc = RELM_OK;
    int first = 1;
    int64_t done = 0;
    while (!im->failed && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        done += (int64_t)n;
        const char *start = buf;
        if (first && n >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
            start += 3; /* a UTF-8 byte order mark, as spreadsheets write */
            n -= 3;
        }
        first = 0;
        if (csv_parse(&p, start, n, on_field, on_row, im) != n && !im->failed) {
            im->row++;
            int col = (int)im->nf + 1;
            /* A structural error leaves the parser in an unknown place:
             * always fatal, also in skip mode. */
            int big = csv_error(&p) == CSV_ENOMEM ||
                      csv_error(&p) == CSV_ETOOBIG;
            if (big)
                relm_diag_set(im->d, "invalid_csv", _("%s:%lld:%d: field "
                              "longer than %zu MB"), im->path,
                              (long long)im->row, col, CSV_FIELD_MAX >> 20);
            else
                relm_diag_set(im->d, "invalid_csv", _("%s:%lld:%d: %s (a "
                              "quote inside an unquoted field, or text after "
                              "a closing quote)"), im->path, (long long)im->row,
                              col, csv_strerror(csv_error(&p)));
            im->failed = 1;
        }
        report_progress(im, done, 0);
    }
    if (!im->failed && ferror(f))
        file_error(im, 0, "io_error", _("read error: %s"), strerror(errno));
    if (!im->failed && csv_fini(&p, on_field, on_row, im) != 0 && !im->failed) {
        im->row++;
        relm_diag_set(im->d, "invalid_csv", _("%s:%lld:%d: unterminated quoted "
                      "field (a \" opened and never closed)"), im->path,
                      (long long)im->row, (int)im->nf + 1);
        im->failed = 1;
    }
    csv_free(&p);
    relm_process.csv_growing = NULL;
    if (!im->failed && im->row == 0) {
        im->row = 1;
        file_error(im, 0, "invalid_csv", _("the file is empty (expected a header "
                   "row: %s)"), im->o->relationships ? "from,kind,to"
                                                     : "name,type,...");
    }
    if (im->failed)
        rc = RELM_ERR;
    return rc;
}

/* ---- JSON Lines ---- */

/* One JSONL object: decode with json_each into values, then write. */
static int jsonl_row(importer *im, const char *line, size_t len)
{
    size_t bad;
    if (!relm_utf8_valid(line, len, &bad))
        return row_error(im, (int)bad + 1, "invalid_utf8",
                         "not valid UTF-8 (byte %zu)", bad + 1);
    /* SQLite's JSON functions end a string at an escaped NUL (\u0000),
     * which would store "a" for "a\u0000b" silently: refuse the escape
     * (an odd run of backslashes before the u). */
    for (const char *p = line; (p = memchr(p, 'u', (size_t)(line + len - p)))
                               != NULL; p++)
        if (p > line && p[-1] == '\\' && line + len - p >= 5 &&
            memcmp(p + 1, "0000", 4) == 0) {
            size_t run = 0;
            for (const char *q = p - 1; q >= line && *q == '\\'; q--)
                run++;
            if (run % 2 == 1)
                return row_error(im, (int)(p - line), "invalid_field",
                                 "a NUL byte (\\u0000) in text; text may "
                                 "not hold NUL");
        }
    /* An object: json_each then fails on anything malformed after it. */
    size_t lead = 0;
    while (lead < len && (line[lead] == ' ' || line[lead] == '\t'))
        lead++;
    if (lead == len || line[lead] != '{')
        return row_error(im, 0, "invalid_json", "not a JSON object");
    sqlite3_stmt *st = relm_store_stmt(
        im->s, "SELECT key, value, type FROM json_each(?1)", im->d);
    if (st == NULL)
        return row_diag(im, 0);
    sqlite3_bind_text(st, 1, line, (int)len, SQLITE_STATIC);
    /* Copy the pairs out: the importer writes with other statements. */
    im->nf = 0;
    im->fields.len = 0;
    int types[256];
    int64_t ints[256];
    double reals[256];
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (im->nf >= 128) {
            sqlite3_reset(st);
            return row_error(im, 0, "invalid_row", "too many keys (128 at most)");
        }
        const char *k = (const char *)sqlite3_column_text(st, 0);
        const char *t = (const char *)sqlite3_column_text(st, 2);
        int slot = (int)im->nf;
        int vt;
        if (strcmp(t, "null") == 0)
            vt = RELM_V_NIL;
        else if (strcmp(t, "true") == 0 || strcmp(t, "false") == 0)
            vt = RELM_V_BOOL;
        else if (strcmp(t, "integer") == 0)
            vt = RELM_V_INT;
        else if (strcmp(t, "real") == 0)
            vt = RELM_V_REAL;
        else if (strcmp(t, "text") == 0)
            vt = RELM_V_TEXT;
        else {
            char kb[128], tb[16];
            snprintf(kb, sizeof kb, "%s", k);
            snprintf(tb, sizeof tb, "%s", t);
            sqlite3_reset(st);
            return row_error(im, 0, "invalid_field", "key '%s': a CI cannot "
                             "hold a JSON %s", kb, tb);
        }
        types[slot] = vt;
        ints[slot] = vt == RELM_V_BOOL ? strcmp(t, "true") == 0
                                       : sqlite3_column_int64(st, 1);
        reals[slot] = sqlite3_column_double(st, 1);
        /* key then value text, both NUL-terminated, in fields */
        on_field((void *)k, strlen(k), im);
        const char *txt = (const char *)sqlite3_column_text(st, 1);
        on_field((void *)(txt ? txt : ""), txt ? (size_t)sqlite3_column_bytes(st, 1) : 0, im);
        if (im->failed) {
            sqlite3_reset(st);
            return RELM_ERR;
        }
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE)
        return row_error(im, 0, "invalid_json", "not a JSON object (%s)",
                         sqlite3_errmsg(relm_store_db(im->s)));
    size_t npairs = im->nf / 2;
    if (im->o->relationships) {
        int f = -1, k = -1, t = -1;
        for (size_t i = 0; i < npairs; i++) {
            const char *key = field(im, (int)(2 * i));
            if (types[2 * i] != RELM_V_TEXT)
                return row_error(im, 0, "invalid_field", "key '%s' must be a "
                                 "string", key);
            if (strcmp(key, "from") == 0) f = (int)i;
            else if (strcmp(key, "kind") == 0) k = (int)i;
            else if (strcmp(key, "to") == 0) t = (int)i;
            else
                return row_error(im, 0, "invalid_field", "unknown key '%s' "
                                 "(from, kind, to)", key);
        }
        if (f < 0 || k < 0 || t < 0)
            return row_error(im, 0, "invalid_field", "a relationship needs "
                             "the keys from, kind and to");
        return rel_row(im, field(im, 2 * f + 1), im->len[2 * f + 1], 0,
                       field(im, 2 * k + 1), 0, field(im, 2 * t + 1),
                       im->len[2 * t + 1], 0);
    }
    int in = -1, it = -1;
    for (size_t i = 0; i < npairs; i++) {
        const char *key = field(im, (int)(2 * i));
        if (strcmp(key, "name") == 0) in = (int)i;
        else if (strcmp(key, "type") == 0) it = (int)i;
    }
    if (in < 0 || types[2 * in] != RELM_V_TEXT || im->len[2 * in + 1] == 0)
        return row_error(im, 0, "invalid_field", "key 'name' (a non-empty "
                         "string) is required");
    if (it < 0 || types[2 * it] != RELM_V_TEXT)
        return row_error(im, 0, "invalid_field", "key 'type' (a string) is "
                         "required");
    const char *name = field(im, 2 * in + 1);
    size_t nlen = im->len[2 * in + 1];
    cmdb_type *t = NULL;
    type_slot *ts = NULL;
    for (size_t i = 0; i < im->ntypes; i++)
        if (strcmp(im->types[i].t->name, field(im, 2 * it + 1)) == 0)
            ts = &im->types[i];
    if (ts == NULL) {
        if (cmdb_type_load(im->s, field(im, 2 * it + 1), &t, im->d) != RELM_OK)
            return row_diag(im, 0);
        type_slot *nts = realloc(im->types, (im->ntypes + 1) * sizeof *nts);
        if (nts == NULL) {
            cmdb_type_free(t);
            return file_error(im, 0, "out_of_memory", _("out of memory"));
        }
        im->types = nts;
        ts = &im->types[im->ntypes++];
        ts->t = t;
        ts->colmap = NULL;
    }
    int64_t first = 0;
    int dup = smap_put(&im->seen, name, nlen, im->row, &first);
    if (dup < 0)
        return file_error(im, 0, "out_of_memory", _("out of memory"));
    if (dup == 1)
        return row_error(im, 0, "duplicate", "name '%s' appears twice in the "
                         "file (first at line %lld)", name, (long long)first);
    int found = 0;
    if (!im->fresh && (found = cmdb_ci_load(im->s, im->ci, name, nlen,
                                            im->d)) < 0)
        return row_diag(im, 0);
    if (!found)
        cmdb_ci_reset(im->ci, ts->t);
    relm_cmdb_value val;
    memset(&val, 0, sizeof val);
    /* type first: attributes are checked against the row's type */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < npairs; i++) {
            const char *key = field(im, (int)(2 * i));
            int is_type = (int)i == it;
            if (pass == 0 ? !is_type : is_type)
                continue;
            if (is_type && !found)
                continue;
            val.key = key;
            val.vtype = types[2 * i];
            val.i = ints[2 * i];
            val.r = reals[2 * i];
            val.s = field(im, (int)(2 * i + 1));
            val.len = im->len[2 * i + 1];
            val.from_text = 0;
            if (cmdb_ci_set(im->s, im->ci, &val, im->d) != RELM_OK) {
                char msg[sizeof im->d->msg];
                snprintf(msg, sizeof msg, "%s", im->d->msg);
                return row_error(im, 0, im->d->code, "key '%s': %s", key, msg);
            }
        }
    }
    int changed;
    if (cmdb_ci_save(im->s, im->ci, &im->origin, &changed, im->d) != RELM_OK)
        return row_diag(im, 0);
    im->count++;
    return RELM_OK;
}

static int import_jsonl(importer *im, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int any = 0;
    int64_t done = 0;
    while (!im->failed && (n = getline(&line, &cap, f)) >= 0) {
        im->row++;
        done += (int64_t)n;
        if ((im->row & 1023) == 0 && report_progress(im, done, 0) != RELM_OK)
            break;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        size_t i = 0;
        while (i < (size_t)n && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == (size_t)n)
            continue; /* blank line */
        any = 1;
        int sp = im->o->skip_errors;
        if (sp && relm_store_begin(im->s, im->d) != RELM_OK) {
            im->failed = 1;
            break;
        }
        int rc = jsonl_row(im, line, (size_t)n);
        if (sp) {
            if (rc == RELM_OK && relm_store_commit(im->s, im->d) != RELM_OK)
                im->failed = 1;
            if (rc != RELM_OK || im->failed)
                relm_store_rollback(im->s);
        }
    }
    free(line);
    if (!im->failed && ferror(f))
        file_error(im, 0, "io_error", _("read error: %s"), strerror(errno));
    if (!im->failed && !any) {
        im->row = 1;
        file_error(im, 0, "invalid_json", _("the file is empty (expected one JSON "
                   "object per line)"));
    }
    return im->failed ? RELM_ERR : RELM_OK;
}

/* Load every CI name -> id into memory (used for large relationship files,
 * where a hash lookup beats two index probes per row). */
static int load_ids(importer *im)
{
    sqlite3_stmt *st = relm_store_stmt(im->s, "SELECT id, name FROM cis", im->d);
    if (st == NULL)
        return RELM_ERR;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *n = (const char *)sqlite3_column_text(st, 1);
        if (smap_put(&im->ids, n, (size_t)sqlite3_column_bytes(st, 1),
                     sqlite3_column_int64(st, 0), NULL) < 0) {
            sqlite3_reset(st);
            return relm_diag_set(im->d, "out_of_memory", _("out of memory"));
        }
    }
    sqlite3_reset(st);
    im->use_ids = 1;
    return RELM_OK;
}

/* Drop index `name` for the duration of a load into an empty table and
 * remember its definition so that finish_indexes can rebuild it: building
 * an index once from sorted data beats updating it row by row. */
static int drop_index(importer *im, const char *name)
{
    sqlite3_stmt *st = relm_store_stmt(
        im->s, "SELECT sql FROM sqlite_schema WHERE type = 'index' AND "
               "name = ?1", im->d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    char *def = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
        def = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (def == NULL)
        return RELM_OK; /* not there (already dropped elsewhere): nothing to do */
    char sql[128];
    snprintf(sql, sizeof sql, "DROP INDEX %s", name);
    if (im->ndropped == sizeof im->dropped / sizeof im->dropped[0] ||
        relm_store_exec(im->s, sql, im->d) != RELM_OK) {
        free(def);
        return RELM_ERR;
    }
    im->dropped[im->ndropped++] = def;
    return RELM_OK;
}

/* Recreate the indexes drop_index removed (inside the same transaction). */
static int finish_indexes(importer *im)
{
    for (size_t i = 0; i < im->ndropped; i++)
        if (relm_store_exec(im->s, im->dropped[i], im->d) != RELM_OK)
            return RELM_ERR;
    return RELM_OK;
}

/* Stamp the import: its time (on every row it writes) and its ci_batches
 * row (who, when, from where), which the CIs and relationships it creates
 * carry instead of a history row each. */
static int start_batch(importer *im)
{
    sqlite3_stmt *st = relm_store_stmt(
        im->s, "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", im->d);
    if (st == NULL)
        return RELM_ERR;
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(im->now, sizeof im->now, "%s", sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    im->origin.at = im->now;
    st = relm_store_stmt(im->s, "INSERT INTO ci_batches (at, actor_id, origin, "
                                "origin_release_id) VALUES (?1, ?2, ?3, ?4)",
                         im->d);
    if (st == NULL)
        return RELM_ERR;
    int64_t actor = relm_store_actor_id(im->s);
    sqlite3_bind_text(st, 1, im->now, -1, SQLITE_STATIC);
    if (actor > 0)
        sqlite3_bind_int64(st, 2, actor);
    sqlite3_bind_text(st, 3, im->origin.note, -1, SQLITE_STATIC);
    if (im->origin.release_id > 0)
        sqlite3_bind_int64(st, 4, im->origin.release_id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return relm_store_fail(im->s, im->d, "import");
    im->batch = sqlite3_last_insert_rowid(relm_store_db(im->s));
    cmdb_ci_batch(im->ci, im->batch);
    return RELM_OK;
}

/* The first column of the first row of sql (a count), or -1. */
static int64_t count_rows(relm_store *s, const char *sql)
{
    sqlite3_stmt *st = relm_store_stmt(s, sql, NULL);
    if (st == NULL)
        return -1;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return n;
}

/* The one occurrence of an import (not one per row: the batch row and
 * ci_history tell each CI): which file, what kind, how many rows. */
static int import_occurrence(importer *im)
{
    sqlite3_stmt *st = relm_store_stmt(
        im->s, "SELECT json_object('file', ?1, 'kind', ?2, 'format', ?3, "
               "'rows', ?4, 'skipped', ?5, 'batch', ?6)", im->d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_text(st, 1, im->path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, im->o->relationships ? "relationships" : "cis",
                      -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, im->o->format == RELM_IMPORT_JSONL ? "jsonl"
                                                                : "csv",
                      -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, im->count);
    sqlite3_bind_int64(st, 5, im->rep != NULL ? (int64_t)im->rep->n : 0);
    sqlite3_bind_int64(st, 6, im->batch);
    char *after = NULL;
    if (sqlite3_step(st) == SQLITE_ROW)
        after = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    int rc = cmdb_occurrence(im->s, "cmdb", im->batch, "import", im->note,
                             after, im->d);
    free(after);
    return rc;
}

int relm_cmdb_import(relm_store *s, const char *path,
                     const relm_cmdb_import_opts *o, int64_t *count,
                     relm_import_report *rep, relm_diag *d)
{
    *count = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return relm_diag_set(d, errno == ENOENT ? "not_found" : "io_error",
                             "%s: %s", path, strerror(errno));
    importer im;
    memset(&im, 0, sizeof im);
    im.s = s;
    im.path = path;
    im.o = o;
    im.d = d;
    im.rep = rep;
    size_t nl = strlen(path) + 8;
    im.note = malloc(nl);
    if (im.note != NULL)
        snprintf(im.note, nl, "import %s", path);
    im.origin.release_id = o->origin != NULL ? o->origin->release_id : 0;
    im.origin.note = o->origin != NULL && o->origin->note != NULL
                         ? o->origin->note : im.note;
    im.ci = cmdb_ci_new();
    if (im.ci == NULL || smap_grow(&im.seen) != RELM_OK) {
        fclose(f);
        free(im.note);
        cmdb_ci_free(im.ci);
        smap_free(&im.seen);
        return relm_diag_set(d, "out_of_memory", _("out of memory"));
    }
    int rc = RELM_ERR;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        im.size = size > 0 ? (int64_t)size : 0;
    }
    fseek(f, 0, SEEK_SET);
    /* Foreign keys off for the load, when this is the outermost transaction
     * (SQLite ignores the pragma inside one): every key the import writes
     * was just read in this transaction (type and kind ids, CI ids by name,
     * owner group and media resolved by name), and the checks cost three
     * parent lookups per relationship. Restored at `out`. */
    int fk_off = sqlite3_get_autocommit(relm_store_db(s)) &&
                 count_rows(s, "PRAGMA foreign_keys") == 1 &&
                 relm_store_exec(s, "PRAGMA foreign_keys = OFF", NULL) == RELM_OK;
    /* Checked once per import, inside its transaction, not per row. */
    if (cmdb_begin(s, "importing into the CMDB", d) != RELM_OK)
        goto out;
    /* A bigger page cache for the load (restored at the end): a million
     * rows touch far more index pages than the default 2 MB holds. */
    im.cache_size = count_rows(s, "PRAGMA cache_size");
    relm_store_exec(s, "PRAGMA cache_size = -131072", NULL);
    /* The CHECKs of cis (status IN (8 values), criticality IN (...)) cost
     * an ephemeral table built and freed per inserted row, a third of a
     * CI import; cmdb_ci_set has already checked both against the same
     * lists, and relationships' from <> to is checked in rel_row. Setting
     * the flag expires every prepared statement, so nothing compiled
     * without the checks outlives the import (restored at `out`). */
    relm_store_exec(s, "PRAGMA ignore_check_constraints = ON", NULL);
    if (start_batch(&im) != RELM_OK)
        goto fail;
    if (o->relationships)
        relm_cmdb_edges_changed();
    if (!o->relationships) {
        im.fresh = count_rows(s, "SELECT count(*) FROM (SELECT 1 FROM cis LIMIT 1)") == 0;
        /* Names are known unique through the in-memory set, so even the
         * unique name index can be built once at the end. */
        if (im.fresh && (drop_index(&im, "cis_type") != RELM_OK ||
                         drop_index(&im, "cis_name") != RELM_OK))
            goto fail;
        if (im.fresh && count_rows(s, "SELECT count(*) FROM (SELECT 1 FROM "
                                      "ci_history LIMIT 100000)") < 100000 &&
            drop_index(&im, "ci_history_ci") != RELM_OK)
            goto fail;
        /* Into an empty table no insert can conflict: creates go 64 rows
         * per INSERT (a statement per row costs its setup and the
         * AUTOINCREMENT counter's read and write each time). Not in skip
         * mode, where each row is its own savepoint. */
        cmdb_ci_defer(im.ci, im.fresh && !o->skip_errors);
    } else {
        if (count_rows(s, "SELECT count(*) FROM (SELECT 1 FROM relationships LIMIT 1)") == 0 &&
            drop_index(&im, "relationships_to") != RELM_OK)
            goto fail;
        /* Hash lookups pay off once the file is big compared to the cost of
         * reading every name; a megabyte is about 20,000 rows. */
        int64_t ncis = count_rows(s, "SELECT max(id) FROM cis");
        if (im.size > 0 && ncis >= 0 && im.size / 40 > ncis / 4 &&
            load_ids(&im) != RELM_OK)
            goto fail;
    }
    if (o->format == RELM_IMPORT_JSONL)
        rc = import_jsonl(&im, f);
    else
        rc = import_csv(&im, f);
    if (rc != RELM_OK || cmdb_ci_write_queued(s, im.ci, d) != RELM_OK ||
        finish_indexes(&im) != RELM_OK || import_occurrence(&im) != RELM_OK ||
        report_progress(&im, 0, 1) != RELM_OK)
        goto fail;
    if (relm_store_commit(s, d) != RELM_OK)
        goto fail;
    *count = im.count;
    rc = RELM_OK;
    goto out;
fail:
    rc = RELM_ERR;
    relm_store_rollback(s);
out:
    relm_store_exec(s, "PRAGMA ignore_check_constraints = OFF", NULL);
    if (fk_off)
        relm_store_exec(s, "PRAGMA foreign_keys = ON", NULL);
    if (im.cache_size != 0) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA cache_size = %lld",
                 (long long)im.cache_size);
        relm_store_exec(s, sql, NULL);
    }
    for (size_t i = 0; i < im.ndropped; i++)
        free(im.dropped[i]);
    fclose(f);
    cmdb_ci_free(im.ci);
    smap_free(&im.seen);
    smap_free(&im.ids);
    for (size_t i = 0; i < im.ntypes; i++) {
        cmdb_type_free(im.types[i].t);
        free(im.types[i].colmap);
    }
    free(im.types);
    for (size_t i = 0; i < im.nkinds; i++)
        free(im.kinds[i].name);
    free(im.kinds);
    for (size_t i = 0; i < im.ncols; i++)
        free(im.cols[i]);
    free(im.cols);
    free(im.col_std);
    free(im.off);
    free(im.len);
    cmdb_buf_free(&im.fields);
    free(im.note);
    return rc;
}

/* ---- export ---- */

/* Write one CSV field: quoted when it holds a comma, quote, line break or
 * leading/trailing space (libcsv would trim those), quotes doubled. */
static void csv_field(FILE *f, const char *s, size_t n, int first)
{
    if (!first)
        fputc(',', f);
    if (s == NULL)
        return;
    int quote = n > 0 && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' ||
                          s[n - 1] == '\t');
    for (size_t i = 0; i < n && !quote; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            quote = 1;
    if (!quote) {
        fwrite(s, 1, n, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

/* Write every relationship as from,kind,to (CSV with header) or one JSON
 * object per line, in the order they were made. */
static int export_relationships(relm_store *s, FILE *f, int jsonl,
                                int64_t *count, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT a.name, k.name, b.name, CASE WHEN ?1 THEN json_object("
           "'from', a.name, 'kind', k.name, 'to', b.name) END "
           "FROM relationships r JOIN cis a ON a.id = r.from_id "
           "JOIN cis b ON b.id = r.to_id JOIN rel_types k ON k.id = r.kind_id "
           "ORDER BY r.id", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int(st, 1, jsonl);
    if (!jsonl)
        fputs("from,kind,to\n", f);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (jsonl) {
            fwrite(sqlite3_column_text(st, 3), 1, (size_t)sqlite3_column_bytes(st, 3), f);
        } else {
            for (int i = 0; i < 3; i++)
                csv_field(f, (const char *)sqlite3_column_text(st, i),
                          (size_t)sqlite3_column_bytes(st, i), i == 0);
        }
        fputc('\n', f);
        (*count)++;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? RELM_OK : relm_store_fail(s, d, "export");
}

#define CI_EXPORT_SQL(filter)                                                  \
    "SELECT c.name, t.name, c.status, c.version, c.serial, c.criticality, "    \
    "g.name, c.location, CASE WHEN m.id IS NULL THEN NULL WHEN m.version = ''" \
    " THEN m.name ELSE m.name || '@' || m.version END, c.attributes, "         \
    "CASE WHEN ?2 THEN json_patch(json_object('name', c.name, 'type', t.name," \
    " 'status', c.status, 'version', c.version, 'serial', c.serial, "          \
    "'criticality', c.criticality, 'owner_group', g.name, 'location', "       \
    "c.location, 'media', CASE WHEN m.id IS NULL THEN NULL WHEN m.version = " \
    "'' THEN m.name ELSE m.name || '@' || m.version END), c.attributes) END, " \
    "CASE WHEN ?2 THEN (SELECT group_concat(name, ',') FROM (SELECT a.name "  \
    "FROM ci_type_attrs a WHERE a.type_id = c.type_id AND json_type("          \
    "c.attributes, '$.\"' || a.name || '\"') IS NULL ORDER BY a.position, "   \
    "a.name)) END "                                                            \
    "FROM cis c JOIN ci_types t ON t.id = c.type_id "                          \
    "LEFT JOIN groups g ON g.id = c.owner_group_id "                           \
    "LEFT JOIN media m ON m.id = c.media_id " filter " ORDER BY c.id"

/* Write the CIs (of one type when type is set): CSV with the standard
 * fields then every attribute column, or JSON Lines with attributes flat. */
static int export_cis(relm_store *s, FILE *f, int jsonl, const char *type,
                      int64_t *count, relm_diag *d)
{
    /* The attribute columns: every attribute of the exported types, in
     * type then schema order, each once. */
    char **acols = NULL;
    size_t nacols = 0;
    int rc = RELM_ERR;
    if (!jsonl) {
        sqlite3_stmt *st = relm_store_stmt(
            s, "SELECT a.name FROM ci_type_attrs a JOIN ci_types t ON "
               "t.id = a.type_id WHERE ?1 IS NULL OR t.name = ?1 "
               "GROUP BY a.name ORDER BY min(t.name || char(1) || "
               "printf('%08d', a.position))", d);
        if (st == NULL)
            return RELM_ERR;
        if (type != NULL)
            sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            char **a = realloc(acols, (nacols + 1) * sizeof *a);
            if (a == NULL)
                break;
            acols = a;
            acols[nacols++] = strdup((const char *)sqlite3_column_text(st, 0));
        }
        sqlite3_reset(st);
        for (size_t i = 0; i < relm_cmdb_nstd_fields; i++)
            csv_field(f, relm_cmdb_std_fields[i], strlen(relm_cmdb_std_fields[i]),
                      i == 0);
        for (size_t i = 0; i < nacols; i++)
            csv_field(f, acols[i], strlen(acols[i]), 0);
        fputc('\n', f);
    }
    const char **vals = calloc(nacols + 1, sizeof *vals);
    size_t *lens = calloc(nacols + 1, sizeof *lens);
    char **owned = calloc(nacols + 1, sizeof *owned);
    if (vals == NULL || lens == NULL || owned == NULL) {
        relm_diag_set(d, "out_of_memory", _("out of memory"));
        goto out;
    }
    sqlite3_stmt *st = relm_store_stmt(
        s, type != NULL ? CI_EXPORT_SQL("WHERE t.name = ?1") : CI_EXPORT_SQL(""),
        d);
    if (st == NULL)
        goto out;
    if (type != NULL)
        sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, jsonl);
    sqlite3_stmt *each = NULL;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        (*count)++;
        if (jsonl) {
            /* The attributes of its type the CI lacks are written as null,
             * as CSV writes an empty cell: importing the file back clears
             * them, so export -> import round-trips. Attribute names are
             * identifiers: they need no escaping. */
            size_t len = (size_t)sqlite3_column_bytes(st, 10);
            const char *missing = (const char *)sqlite3_column_text(st, 11);
            if (missing == NULL) {
                fwrite(sqlite3_column_text(st, 10), 1, len, f);
            } else {
                fwrite(sqlite3_column_text(st, 10), 1, len - 1, f);
                for (const char *p = missing; *p != '\0';) {
                    size_t n = strcspn(p, ",");
                    fprintf(f, ",\"%.*s\":null", (int)n, p);
                    p += n + (p[n] == ',');
                }
                fputc('}', f);
            }
            fputc('\n', f);
            continue;
        }
        for (int i = 0; i < 9; i++)
            csv_field(f, (const char *)sqlite3_column_text(st, i),
                      (size_t)sqlite3_column_bytes(st, i), i == 0);
        const char *attrs = (const char *)sqlite3_column_text(st, 9);
        for (size_t i = 0; i < nacols; i++) {
            vals[i] = NULL;
            lens[i] = 0;
        }
        if (attrs != NULL && strcmp(attrs, "{}") != 0) {
            if (each == NULL &&
                (each = relm_store_stmt(s, "SELECT key, CASE type WHEN 'true' "
                                           "THEN 'true' WHEN 'false' THEN "
                                           "'false' ELSE value END FROM "
                                           "json_each(?1)", d)) == NULL)
                goto out;
            sqlite3_bind_text(each, 1, attrs, -1, SQLITE_STATIC);
            while (sqlite3_step(each) == SQLITE_ROW) {
                const char *k = (const char *)sqlite3_column_text(each, 0);
                for (size_t i = 0; i < nacols; i++) {
                    if (strcmp(acols[i], k) == 0) {
                        free(owned[i]);
                        const char *v = (const char *)sqlite3_column_text(each, 1);
                        owned[i] = strdup(v ? v : "");
                        vals[i] = owned[i];
                        lens[i] = strlen(owned[i]);
                        break;
                    }
                }
            }
            sqlite3_reset(each);
        }
        for (size_t i = 0; i < nacols; i++)
            csv_field(f, vals[i], lens[i], 0);
        fputc('\n', f);
    }
    sqlite3_reset(st);
    if (src != SQLITE_DONE) {
        relm_store_fail(s, d, "export");
        goto out;
    }
    rc = RELM_OK;
out:
    for (size_t i = 0; i < nacols; i++) {
        free(acols[i]);
        if (owned != NULL)
            free(owned[i]);
    }
    free(acols);
    free(owned);
    free(vals);
    free(lens);
    return rc;
}

int relm_cmdb_export(relm_store *s, const char *path,
                     const relm_cmdb_export_opts *o, int64_t *count,
                     relm_diag *d)
{
    *count = 0;
    if (o->type != NULL && !o->relationships) {
        cmdb_type *t = NULL;
        if (cmdb_type_load(s, o->type, &t, d) != RELM_OK)
            return RELM_ERR;
        cmdb_type_free(t);
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return relm_diag_set(d, "io_error", "%s: %s", path, strerror(errno));
    int jsonl = o->format == RELM_IMPORT_JSONL;
    int rc = o->relationships ? export_relationships(s, f, jsonl, count, d)
                              : export_cis(s, f, jsonl, o->type, count, d);
    if (fclose(f) != 0 && rc == RELM_OK)
        rc = relm_diag_set(d, "io_error", "%s: %s", path, strerror(errno));
    return rc;
}
