/* cmdb.c: CI types with an attribute schema, CIs validated against it,
 * relationships and the history row every write to them leaves behind. */
#include "base/i18n.h"
#include "cmdb/cmdb.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/context.h"
#include "base/grow.h"
#include "base/time.h"
#include "audit.h"
#include "auth.h"

#define NOW_SQL "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

enum { F_NAME, F_TYPE, F_STATUS, F_VERSION, F_SERIAL, F_CRITICALITY,
       F_OWNER_GROUP, F_LOCATION, F_MEDIA, NSTD };

const char *const relm_cmdb_std_fields[] = {
    "name", "type", "status", "version", "serial", "criticality",
    "owner_group", "location", "media", NULL,
};
const size_t relm_cmdb_nstd_fields = NSTD;

static const char *const kind_names[] = {
    "string", "integer", "number", "boolean", "date", "enum",
};

static const char *const statuses[] = {
    "active", "deactivated", "in_maintenance", "deployment", "homologation",
    "in_development", "archived", "to_validate", NULL,
};

static const char *const criticalities[] = {
    "low", "medium", "high", "critical", NULL,
};

const char *relm_cmdb_kind_name(int kind)
{
    return kind >= 0 && kind < RELM_CMDB_NKINDS ? kind_names[kind] : "?";
}

int relm_cmdb_kind_of(const char *name)
{
    for (int k = 0; k < RELM_CMDB_NKINDS; k++)
        if (strcmp(name, kind_names[k]) == 0)
            return k;
    return -1;
}

/* Index of a standard field name in relm_cmdb_std_fields, or -1 for an
 * attribute. key need not be NUL-terminated. */
static int std_index(const char *key, size_t len)
{
    for (int i = 0; i < NSTD; i++)
        if (strlen(relm_cmdb_std_fields[i]) == len &&
            memcmp(relm_cmdb_std_fields[i], key, len) == 0)
            return i;
    return -1;
}

/* ---- statements held across rows ---- */

sqlite3_stmt *cmdb_stmt(relm_store *s, sqlite3_stmt **slot, const char *sql,
                        relm_diag *d)
{
    if (slot != NULL && *slot != NULL) {
        sqlite3_reset(*slot);
        sqlite3_clear_bindings(*slot);
        return *slot;
    }
    sqlite3_stmt *st = relm_store_stmt(s, sql, d);
    if (slot != NULL)
        *slot = st;
    return st;
}

/* ---- buffers ---- */

/* Make room for n more bytes and a NUL (cmdb_buf_put's slow path). */
int cmdb_buf_grow(cmdb_buf *b, size_t n)
{
    char *p = relm_grow(b->p, &b->cap, b->len + n + 1, 1, 256);
    if (p == NULL)
        return RELM_ERR;
    b->p = p;
    return RELM_OK;
}

#define PUTS(b, lit) cmdb_buf_put((b), (lit), sizeof(lit) - 1)

/* Append s as a JSON string literal (quotes, escapes for ", \ and control
 * characters; UTF-8 passes through). */
int cmdb_buf_json_string(cmdb_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (PUTS(b, "\"") != RELM_OK)
        return RELM_ERR;
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (cmdb_buf_put(b, s + start, i - start) != RELM_OK)
            return RELM_ERR;
        char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t elen = 2;
        switch (c) {
        case '"': case '\\': break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
            esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
            elen = 6;
        }
        if (cmdb_buf_put(b, esc, elen) != RELM_OK)
            return RELM_ERR;
        start = i + 1;
    }
    if (cmdb_buf_put(b, s + start, n - start) != RELM_OK)
        return RELM_ERR;
    return PUTS(b, "\"");
}

void cmdb_buf_free(cmdb_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* A NUL-terminated malloc'd copy of s[0..n), or NULL. */
static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Fill d for an allocation failure; returns RELM_ERR. */
static int oom(relm_diag *d)
{
    return relm_diag_set(d, "out_of_memory", _("out of memory"));
}

/* ---- types ---- */

void cmdb_type_free(cmdb_type *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nattrs; i++) {
        free(t->attrs[i].name);
        free(t->attrs[i].default_json);
        for (size_t j = 0; j < t->attrs[i].nvalues; j++)
            free(t->attrs[i].values[j]);
        free(t->attrs[i].values);
    }
    free(t->attrs);
    free(t->name);
    free(t);
}

int cmdb_type_attr(const cmdb_type *t, const char *name, size_t len)
{
    for (size_t i = 0; i < t->nattrs; i++)
        if (strlen(t->attrs[i].name) == len &&
            memcmp(t->attrs[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

/* Read the enum values stored as a JSON array into a. */
static int load_enum(relm_store *s, cmdb_attr *a, const char *json,
                     relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT value FROM json_each(?1) ORDER BY key", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
    size_t cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        char **vs = relm_grow(a->values, &cap, a->nvalues + 1, sizeof *vs, 8);
        if (vs == NULL) {
            sqlite3_reset(st);
            return oom(d);
        }
        a->values = vs;
        const char *v = (const char *)sqlite3_column_text(st, 0);
        if ((a->values[a->nvalues] = strdup(v ? v : "")) == NULL) {
            sqlite3_reset(st);
            return oom(d);
        }
        a->nvalues++;
    }
    sqlite3_reset(st);
    return RELM_OK;
}

int cmdb_type_load(relm_store *s, const char *name, cmdb_type **out,
                   relm_diag *d)
{
    *out = NULL;
    int64_t id = 0;
    int rc = relm_store_lookup(s, "SELECT id FROM ci_types WHERE name = ?1",
                               name, &id, d);
    if (rc == RELM_NOT_FOUND)
        return relm_diag_set(d, "unknown_type",
                             _("no CI type named '%s' (see relm.cmdb.types(); "
                             "create it with relm.cmdb.define_type)"), name);
    if (rc != RELM_OK)
        return RELM_ERR;
    cmdb_type *t = calloc(1, sizeof *t);
    if (t == NULL || (t->name = strdup(name)) == NULL) {
        free(t);
        return oom(d);
    }
    t->id = id;
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT name, kind, required, default_value, enum_values FROM "
           "ci_type_attrs WHERE type_id = ?1 ORDER BY position, name", d);
    if (st == NULL) {
        cmdb_type_free(t);
        return RELM_ERR;
    }
    sqlite3_bind_int64(st, 1, id);
    size_t cap = 0;
    rc = RELM_OK;
    /* Enum values are read after this statement is done with, because
     * load_enum uses another cached statement. */
    char **enums = NULL;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (t->nattrs == cap) {
            cap = cap ? cap * 2 : 8;
            cmdb_attr *a = realloc(t->attrs, cap * sizeof *a);
            char **e = realloc(enums, cap * sizeof *e);
            if (a != NULL)
                t->attrs = a;
            if (e != NULL)
                enums = e;
            if (a == NULL || e == NULL) {
                rc = oom(d);
                break;
            }
        }
        cmdb_attr *a = &t->attrs[t->nattrs];
        memset(a, 0, sizeof *a);
        const char *an = (const char *)sqlite3_column_text(st, 0);
        const char *kn = (const char *)sqlite3_column_text(st, 1);
        const char *dv = (const char *)sqlite3_column_text(st, 3);
        const char *ev = (const char *)sqlite3_column_text(st, 4);
        a->name = strdup(an ? an : "");
        a->kind = relm_cmdb_kind_of(kn ? kn : "");
        a->required = sqlite3_column_int(st, 2);
        a->default_json = dv ? strdup(dv) : NULL;
        enums[t->nattrs] = ev ? strdup(ev) : NULL;
        t->nattrs++;
    }
    sqlite3_reset(st);
    for (size_t i = 0; i < t->nattrs; i++) {
        if (rc == RELM_OK && enums[i] != NULL)
            rc = load_enum(s, &t->attrs[i], enums[i], d);
        free(enums[i]);
    }
    free(enums);
    if (rc != RELM_OK) {
        cmdb_type_free(t);
        return RELM_ERR;
    }
    *out = t;
    return RELM_OK;
}

/* ---- values ---- */

/* A short printable rendering of v for error messages. */
static void show_value(const relm_cmdb_value *v, char *out, size_t n)
{
    switch (v->vtype) {
    case RELM_V_NIL: snprintf(out, n, "%s", _("nothing")); break;
    case RELM_V_INT: snprintf(out, n, _("the integer %lld"), (long long)v->i); break;
    case RELM_V_REAL: snprintf(out, n, _("the number %.17g"), v->r); break;
    case RELM_V_BOOL: snprintf(out, n, _("the boolean %s"), v->i ? "true" : "false"); break;
    default:
        snprintf(out, n, "\"%.*s%s\"", (int)(v->len > 60 ? 60 : v->len), v->s,
                 v->len > 60 ? "..." : "");
    }
}

/* The text value v as a JSON string in *json (malloc'd). */
static int json_text(const relm_cmdb_value *v, char **json, relm_diag *d)
{
    cmdb_buf b = {0};
    if (cmdb_buf_json_string(&b, v->s, v->len) != RELM_OK) {
        cmdb_buf_free(&b);
        return oom(d);
    }
    *json = b.p;
    return RELM_OK;
}

/* Encode v as the JSON text of an attribute of kind a->kind, or fail with
 * invalid_attribute naming the attribute and type. *json is malloc'd. */
/* True when s[0..n) is an integer written as JSON and %lld write it:
 * an optional '-', then "0" or up to 15 digits not starting with 0. Such
 * text (most numbers in an import file) is stored as it is. */
static int canonical_int(const char *s, size_t n)
{
    size_t i = n > 0 && s[0] == '-';
    if (i == n || n - i > 15 || (s[i] == '0' && n - i > 1) ||
        (s[i] == '0' && i == 1))
        return 0;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int encode_attr(const cmdb_attr *a, const char *type,
                       const relm_cmdb_value *v, char **json, relm_diag *d)
{
    char num[64], shown[96];
    const char *want = NULL;
    *json = NULL;
    switch (a->kind) {
    case RELM_CMDB_STRING:
        if (v->vtype == RELM_V_TEXT)
            return json_text(v, json, d);
        want = "a string";
        break;
    case RELM_CMDB_INTEGER:
        if (v->vtype == RELM_V_TEXT && v->from_text && canonical_int(v->s, v->len))
            return (*json = strndup(v->s, v->len)) ? RELM_OK : oom(d);
        if (v->vtype == RELM_V_INT) {
            snprintf(num, sizeof num, "%lld", (long long)v->i);
        } else if (v->vtype == RELM_V_REAL && v->r == floor(v->r) &&
                   fabs(v->r) < 9.0e15) {
            snprintf(num, sizeof num, "%lld", (long long)v->r);
        } else if (v->vtype == RELM_V_TEXT && v->from_text && v->len > 0 &&
                   v->len < 30) {
            char t[32], *end;
            memcpy(t, v->s, v->len);
            t[v->len] = '\0';
            errno = 0;
            long long x = strtoll(t, &end, 10);
            if (*end != '\0' || errno != 0 || isspace((unsigned char)t[0])) {
                want = "an integer";
                break;
            }
            snprintf(num, sizeof num, "%lld", x);
        } else {
            want = "an integer";
            break;
        }
        return (*json = strdup(num)) ? RELM_OK : oom(d);
    case RELM_CMDB_NUMBER: {
        double x;
        if (v->vtype == RELM_V_TEXT && v->from_text && canonical_int(v->s, v->len))
            return (*json = strndup(v->s, v->len)) ? RELM_OK : oom(d);
        if (v->vtype == RELM_V_INT) {
            snprintf(num, sizeof num, "%lld", (long long)v->i);
            return (*json = strdup(num)) ? RELM_OK : oom(d);
        } else if (v->vtype == RELM_V_REAL) {
            x = v->r;
        } else if (v->vtype == RELM_V_TEXT && v->from_text && v->len > 0 &&
                   v->len < 60) {
            char t[64], *end;
            memcpy(t, v->s, v->len);
            t[v->len] = '\0';
            x = strtod(t, &end);
            if (*end != '\0' || isspace((unsigned char)t[0])) {
                want = "a number";
                break;
            }
        } else {
            want = "a number";
            break;
        }
        if (!isfinite(x)) {
            want = "a finite number";
            break;
        }
        /* Whole numbers (most imported numbers) print as integers, which
         * is what %.17g gives for them, at a tenth of the cost (-0 stays
         * "-0"). */
        if (x == floor(x) && fabs(x) < 1e15 && (x != 0 || !signbit(x)))
            snprintf(num, sizeof num, "%lld", (long long)x);
        else
            snprintf(num, sizeof num, "%.17g", x);
        return (*json = strdup(num)) ? RELM_OK : oom(d);
    }
    case RELM_CMDB_BOOLEAN:
        if (v->vtype == RELM_V_BOOL)
            return (*json = strdup(v->i ? "true" : "false")) ? RELM_OK : oom(d);
        if (v->vtype == RELM_V_TEXT && v->from_text) {
            static const char *const t[] = {"true", "yes", "1"};
            static const char *const f[] = {"false", "no", "0"};
            for (int i = 0; i < 3; i++) {
                if (strlen(t[i]) == v->len && strncasecmp(v->s, t[i], v->len) == 0)
                    return (*json = strdup("true")) ? RELM_OK : oom(d);
                if (strlen(f[i]) == v->len && strncasecmp(v->s, f[i], v->len) == 0)
                    return (*json = strdup("false")) ? RELM_OK : oom(d);
            }
        }
        want = "a boolean (true/false)";
        break;
    case RELM_CMDB_DATE:
        if (v->vtype == RELM_V_TEXT && relm_time_parse(v->s, v->len, NULL, NULL))
            return json_text(v, json, d);
        want = "a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)";
        break;
    case RELM_CMDB_ENUM:
        if (v->vtype == RELM_V_TEXT) {
            for (size_t i = 0; i < a->nvalues; i++) {
                if (strlen(a->values[i]) == v->len &&
                    memcmp(a->values[i], v->s, v->len) == 0)
                    return json_text(v, json, d);
            }
        }
        {
            char list[512];
            size_t off = 0;
            list[0] = '\0';
            for (size_t i = 0; i < a->nvalues && off < sizeof list - 1; i++)
                off += (size_t)snprintf(list + off, sizeof list - off, "%s%s",
                                        i ? ", " : "", a->values[i]);
            show_value(v, shown, sizeof shown);
            return relm_diag_set(d, "invalid_attribute",
                                 _("attribute '%s' of type '%s' must be one of "
                                 "%s; got %s"), a->name, type, list, shown);
        }
    default:
        break;
    }
    show_value(v, shown, sizeof shown);
    return relm_diag_set(d, "invalid_attribute",
                         _("attribute '%s' of type '%s' must be %s; got %s"),
                         a->name, type, want ? want : "valid", shown);
}

/* ---- a CI being written ---- */

/* Queued creates: rows per multi-row INSERT, and the values of each:
 * name, type_id, status, version, serial, criticality, owner_group_id,
 * location, media_id, attributes. */
enum { QROWS = 64, QCOLS = 10 };

struct cmdb_ci {
    int64_t id;                 /* 0: not stored yet */
    const cmdb_type *type;
    cmdb_type *owned_type;      /* loaded by cmdb_ci_load or a type change */
    char *std[NSTD];            /* raw text values; NULL = absent */
    char *std_before[NSTD];
    char **attr;                /* JSON text per attribute of type */
    size_t nattr, attr_cap;
    /* attributes as stored before this write, by name */
    char **before_names, **before_json;
    size_t nbefore;
    int64_t owner_group_id, media_id;
    int64_t batch;              /* creates carry this import batch (cmdb_ci_batch) */
    cmdb_buf diff, attrs;       /* reused from one save to the next */
    sqlite3_stmt *st_insert, *st_update, *st_history; /* held across saves */
    /* queued creates (cmdb_ci_defer): per row QCOLS values, each an
     * offset into qtext (-1 = NULL) or, for ids, the number itself */
    int defer;
    size_t nq;
    int64_t q[QROWS][QCOLS];
    cmdb_buf qtext;
    char *qat;                  /* the time the queued rows carry */
    sqlite3_stmt *st_multi;
};

cmdb_ci *cmdb_ci_new(void)
{
    return calloc(1, sizeof(cmdb_ci));
}

/* Free every value c holds and forget the stored CI it was loaded from;
 * the attribute array and the reused buffers and statements stay. */
static void ci_clear(cmdb_ci *c)
{
    for (int i = 0; i < NSTD; i++) {
        free(c->std[i]);
        free(c->std_before[i]);
        c->std[i] = c->std_before[i] = NULL;
    }
    for (size_t i = 0; i < c->nattr; i++) {
        free(c->attr[i]);
        c->attr[i] = NULL;
    }
    for (size_t i = 0; i < c->nbefore; i++) {
        free(c->before_names[i]);
        free(c->before_json[i]);
    }
    free(c->before_names);
    free(c->before_json);
    c->before_names = c->before_json = NULL;
    c->nbefore = 0;
    cmdb_type_free(c->owned_type);
    c->owned_type = NULL;
    c->id = 0;
    c->owner_group_id = c->media_id = 0;
}

void cmdb_ci_free(cmdb_ci *c)
{
    if (c == NULL)
        return;
    ci_clear(c);
    free(c->attr);
    cmdb_buf_free(&c->diff);
    cmdb_buf_free(&c->attrs);
    cmdb_buf_free(&c->qtext);
    free(c->qat);
    free(c);
}

void cmdb_ci_defer(cmdb_ci *c, int on)
{
    c->defer = on;
}

/* Append s (or NULL) to the queue's text; its offset, or -1 for NULL. */
static int64_t queue_text(cmdb_ci *c, const char *s, size_t n)
{
    if (s == NULL)
        return -1;
    int64_t off = (int64_t)c->qtext.len;
    if (cmdb_buf_put(&c->qtext, s, n) != RELM_OK ||
        cmdb_buf_put(&c->qtext, "", 1) != RELM_OK)
        return -2;
    return off;
}

/* Bind queued row r's values from parameter `first` on. */
static void bind_queued(sqlite3_stmt *st, const cmdb_ci *c, size_t r, int first)
{
    for (int k = 0; k < QCOLS; k++) {
        int64_t v = c->q[r][k];
        int i = first + k;
        if (k == 1 || k == 6 || k == 8) { /* ids: 0 = none */
            if (v > 0)
                sqlite3_bind_int64(st, i, v);
        } else if (v >= 0) {
            sqlite3_bind_text(st, i, c->qtext.p + v, -1, SQLITE_STATIC);
        }
    }
}

/* The SQL inserting n queued rows: ?1 = time, ?2 = batch, then QCOLS
 * parameters per row. */
static char *queued_sql(size_t n)
{
    cmdb_buf b = {0};
    char row[200];
    if (PUTS(&b, "INSERT INTO cis (name, type_id, status, version, serial, "
                 "criticality, owner_group_id, location, media_id, "
                 "attributes, created_at, updated_at, batch_id) VALUES ") != RELM_OK)
        return NULL;
    for (size_t r = 0; r < n; r++) {
        int p = 3 + (int)r * QCOLS;
        snprintf(row, sizeof row, "%s(?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, "
                 "?%d, ?%d, ?1, ?1, ?2)", r ? ", " : "", p, p + 1, p + 2,
                 p + 3, p + 4, p + 5, p + 6, p + 7, p + 8, p + 9);
        if (cmdb_buf_put(&b, row, strlen(row)) != RELM_OK) {
            cmdb_buf_free(&b);
            return NULL;
        }
    }
    return b.p;
}

int cmdb_ci_write_queued(relm_store *s, cmdb_ci *c, relm_diag *d)
{
    size_t done = 0;
    while (done < c->nq) {
        size_t n = c->nq - done >= QROWS ? QROWS : 1;
        sqlite3_stmt *st;
        if (n == QROWS) {
            if (c->st_multi == NULL) {
                char *sql = queued_sql(QROWS);
                if (sql == NULL)
                    return oom(d);
                st = cmdb_stmt(s, &c->st_multi, sql, d);
                free(sql);
            } else {
                st = cmdb_stmt(s, &c->st_multi, NULL, d);
            }
        } else {
            st = relm_store_stmt(
                s, "INSERT INTO cis (name, type_id, status, version, serial, "
                   "criticality, owner_group_id, location, media_id, "
                   "attributes, created_at, updated_at, batch_id) VALUES "
                   "(?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?1, ?1, ?2)", d);
        }
        if (st == NULL)
            return RELM_ERR;
        sqlite3_bind_text(st, 1, c->qat, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, c->batch);
        for (size_t r = 0; r < n; r++)
            bind_queued(st, c, done + r, 3 + (int)r * QCOLS);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return relm_store_fail(s, d, "cmdb");
        done += n;
    }
    c->nq = 0;
    c->qtext.len = 0;
    return RELM_OK;
}

/* Make room for the attributes of t (all absent). */
static int ci_set_type(cmdb_ci *c, const cmdb_type *t)
{
    for (size_t i = 0; i < c->nattr; i++) {
        free(c->attr[i]);
        c->attr[i] = NULL;
    }
    if (t->nattrs > c->attr_cap) {
        char **a = realloc(c->attr, t->nattrs * sizeof *a);
        if (a == NULL)
            return RELM_ERR;
        c->attr = a;
        c->attr_cap = t->nattrs;
    }
    c->nattr = t->nattrs;
    for (size_t i = 0; i < c->nattr; i++)
        c->attr[i] = NULL;
    c->type = t;
    return RELM_OK;
}

void cmdb_ci_batch(cmdb_ci *c, int64_t batch)
{
    c->batch = batch;
}

void cmdb_ci_reset(cmdb_ci *c, const cmdb_type *t)
{
    ci_clear(c);
    ci_set_type(c, t);
    c->std[F_TYPE] = strdup(t->name);
}

int cmdb_ci_set_attr(cmdb_ci *c, int idx, const relm_cmdb_value *v,
                     relm_diag *d)
{
    char *json = NULL;
    if (v->vtype != RELM_V_NIL &&
        encode_attr(&c->type->attrs[idx], c->type->name, v, &json, d) != RELM_OK)
        return RELM_ERR;
    free(c->attr[idx]);
    c->attr[idx] = json;
    return RELM_OK;
}

/* Text of a standard-field value: strings as they are, numbers printed
 * (version = 2 means "2"); booleans are refused. */
static int std_text(const relm_cmdb_value *v, char **out, relm_diag *d)
{
    char num[64];
    switch (v->vtype) {
    case RELM_V_TEXT:
        *out = dup_n(v->s, v->len);
        break;
    case RELM_V_INT:
        snprintf(num, sizeof num, "%lld", (long long)v->i);
        *out = strdup(num);
        break;
    case RELM_V_REAL:
        snprintf(num, sizeof num, "%.17g", v->r);
        *out = strdup(num);
        break;
    default:
        return relm_diag_set(d, "invalid_field", _("field '%s' must be a "
                             "string; got a boolean"), v->key);
    }
    return *out != NULL ? RELM_OK : oom(d);
}

/* Is v one of the NULL-terminated list? */
static int one_of(const char *v, const char *const *list)
{
    for (int i = 0; list[i] != NULL; i++)
        if (strcmp(v, list[i]) == 0)
            return 1;
    return 0;
}

/* Switch c to the type named by text, carrying over the attributes the new
 * type also has; an attribute it lacks is an error. */
static int ci_change_type(relm_store *s, cmdb_ci *c, const char *name,
                          relm_diag *d)
{
    if (c->type != NULL && strcmp(c->type->name, name) == 0)
        return RELM_OK;
    cmdb_type *t = NULL;
    if (cmdb_type_load(s, name, &t, d) != RELM_OK)
        return RELM_ERR;
    char **old = NULL;
    const cmdb_type *ot = c->type;
    size_t n = c->nattr;
    if (n > 0) {
        old = malloc(n * sizeof *old);
        if (old == NULL) {
            cmdb_type_free(t);
            return oom(d);
        }
        memcpy(old, c->attr, n * sizeof *old);
        for (size_t i = 0; i < n; i++)
            c->attr[i] = NULL;
    }
    c->nattr = 0;
    if (ci_set_type(c, t) != RELM_OK) {
        cmdb_type_free(t);
        free(old);
        return oom(d);
    }
    int rc = RELM_OK;
    for (size_t i = 0; i < n; i++) {
        if (old[i] == NULL)
            continue;
        int j = cmdb_type_attr(t, ot->attrs[i].name, strlen(ot->attrs[i].name));
        if (j < 0 || t->attrs[j].kind != ot->attrs[i].kind) {
            if (rc == RELM_OK)
                rc = relm_diag_set(d, "unknown_attribute",
                                   _("type '%s' has no %s attribute '%s' (clear "
                                   "it with relm.cmdb.null when changing the "
                                   "type)"), name,
                                   relm_cmdb_kind_name(ot->attrs[i].kind),
                                   ot->attrs[i].name);
            free(old[i]);
            continue;
        }
        c->attr[j] = old[i];
    }
    free(old);
    /* The old type (possibly the one c owned) is no longer referenced. */
    cmdb_type_free(c->owned_type);
    c->owned_type = t;
    free(c->std[F_TYPE]);
    c->std[F_TYPE] = strdup(name);
    return rc;
}

int cmdb_ci_set(relm_store *s, cmdb_ci *c, const relm_cmdb_value *v,
                relm_diag *d)
{
    size_t klen = strlen(v->key);
    int f = std_index(v->key, klen);
    if (f < 0) {
        int idx = cmdb_type_attr(c->type, v->key, klen);
        if (idx < 0 && v->vtype == RELM_V_NIL)
            return RELM_OK; /* clearing what the type lacks: nothing to do */
        if (idx < 0)
            return relm_diag_set(d, "unknown_attribute",
                                 _("type '%s' has no attribute '%s' (see "
                                 "relm.cmdb.type('%s'))"), c->type->name,
                                 v->key, c->type->name);
        return cmdb_ci_set_attr(c, idx, v, d);
    }
    char *text = NULL;
    if (v->vtype != RELM_V_NIL && std_text(v, &text, d) != RELM_OK)
        return RELM_ERR;
    switch (f) {
    case F_NAME:
        if (text == NULL || text[0] == '\0') {
            free(text);
            return relm_diag_set(d, "invalid_field",
                                 _("field 'name' must be a non-empty string"));
        }
        break;
    case F_TYPE:
        if (text == NULL) {
            return relm_diag_set(d, "invalid_field",
                                 _("field 'type' cannot be cleared"));
        }
        {
            int rc = ci_change_type(s, c, text, d);
            free(text);
            return rc;
        }
    case F_STATUS:
        if (text == NULL) {
            return relm_diag_set(d, "invalid_field",
                                 _("field 'status' cannot be cleared"));
        }
        for (char *p = text; *p; p++)
            *p = *p == ' ' ? '_' : (char)tolower((unsigned char)*p);
        if (!one_of(text, statuses)) {
            relm_diag_set(d, "invalid_field", _("field 'status' must be one of "
                          "active, deactivated, in_maintenance, deployment, "
                          "homologation, in_development, archived, "
                          "to_validate; got \"%s\""), text);
            free(text);
            return RELM_ERR;
        }
        break;
    case F_CRITICALITY:
        if (text != NULL && !one_of(text, criticalities)) {
            relm_diag_set(d, "invalid_field", _("field 'criticality' must be "
                          "one of low, medium, high, critical; got \"%s\""),
                          text);
            free(text);
            return RELM_ERR;
        }
        break;
    default:
        break;
    }
    free(c->std[f]);
    c->std[f] = text;
    return RELM_OK;
}

/* Remember the stored attributes (by name) for the diff. */
static int ci_snapshot(cmdb_ci *c)
{
    for (int i = 0; i < NSTD; i++)
        if (c->std[i] != NULL && (c->std_before[i] = strdup(c->std[i])) == NULL)
            return RELM_ERR;
    size_t n = 0;
    for (size_t i = 0; i < c->nattr; i++)
        n += c->attr[i] != NULL;
    if (n == 0)
        return RELM_OK;
    c->before_names = calloc(n, sizeof(char *));
    c->before_json = calloc(n, sizeof(char *));
    if (c->before_names == NULL || c->before_json == NULL)
        return RELM_ERR;
    for (size_t i = 0; i < c->nattr; i++) {
        if (c->attr[i] == NULL)
            continue;
        c->before_names[c->nbefore] = strdup(c->type->attrs[i].name);
        c->before_json[c->nbefore] = strdup(c->attr[i]);
        c->nbefore++;
    }
    return RELM_OK;
}

int cmdb_ci_load(relm_store *s, cmdb_ci *c, const char *name, size_t len,
                 relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT c.id, c.name, t.name, c.status, c.version, c.serial, "
           "c.criticality, g.name, c.location, "
           "CASE WHEN m.id IS NULL THEN NULL WHEN m.version = '' THEN m.name "
           "ELSE m.name || '@' || m.version END, c.owner_group_id, c.media_id, "
           "c.attributes "
           "FROM cis c JOIN ci_types t ON t.id = c.type_id "
           "LEFT JOIN groups g ON g.id = c.owner_group_id "
           "LEFT JOIN media m ON m.id = c.media_id WHERE c.name = ?1", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_text(st, 1, name, (int)len, SQLITE_STATIC);
    int rc = relm_store_step_row(s, st, d, "cmdb");
    if (rc != RELM_OK)
        return rc == RELM_NOT_FOUND ? 0 : RELM_ERR;
    ci_clear(c);
    cmdb_type *t = NULL;
    char *tname = strdup((const char *)sqlite3_column_text(st, 2));
    c->id = sqlite3_column_int64(st, 0);
    for (int i = 0; i < NSTD; i++) {
        const char *v = (const char *)sqlite3_column_text(st, 1 + i);
        c->std[i] = v != NULL ? strdup(v) : NULL;
    }
    c->owner_group_id = sqlite3_column_int64(st, 10);
    c->media_id = sqlite3_column_int64(st, 11);
    char *attrs = strdup((const char *)sqlite3_column_text(st, 12));
    sqlite3_reset(st);
    if (tname == NULL || attrs == NULL) {
        free(tname);
        free(attrs);
        return oom(d);
    }
    rc = cmdb_type_load(s, tname, &t, d);
    free(tname);
    if (rc != RELM_OK || ci_set_type(c, t) != RELM_OK) {
        free(attrs);
        cmdb_type_free(t);
        return RELM_ERR;
    }
    c->owned_type = t;
    st = relm_store_stmt(s, "SELECT key, CASE WHEN type IN ('true', 'false') "
                            "THEN type ELSE json_quote(value) END "
                            "FROM json_each(?1)", d);
    if (st == NULL) {
        free(attrs);
        return RELM_ERR;
    }
    sqlite3_bind_text(st, 1, attrs, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        int idx = cmdb_type_attr(t, k, strlen(k));
        if (idx >= 0)
            c->attr[idx] = strdup((const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_reset(st);
    free(attrs);
    if (ci_snapshot(c) != RELM_OK)
        return oom(d);
    return 1;
}

/* Append "key":[before,after] to a diff when they differ. */
static int diff_pair(cmdb_buf *b, const char *key, const char *before,
                     const char *after, int raw)
{
    if ((before == NULL && after == NULL) ||
        (before != NULL && after != NULL && strcmp(before, after) == 0))
        return RELM_OK;
    if (cmdb_buf_put(b, b->len > 1 ? "," : "", b->len > 1) != RELM_OK ||
        cmdb_buf_json_string(b, key, strlen(key)) != RELM_OK ||
        PUTS(b, ":[") != RELM_OK)
        return RELM_ERR;
    const char *v[2] = {before, after};
    for (int i = 0; i < 2; i++) {
        int rc;
        if (i == 1 && PUTS(b, ",") != RELM_OK)
            return RELM_ERR;
        if (v[i] == NULL)
            rc = PUTS(b, "null");
        else if (raw)
            rc = cmdb_buf_json_string(b, v[i], strlen(v[i]));
        else
            rc = cmdb_buf_put(b, v[i], strlen(v[i]));
        if (rc != RELM_OK)
            return RELM_ERR;
    }
    return PUTS(b, "]");
}

/* The stored JSON of attribute `name` before this write, or NULL. */
static const char *before_attr(const cmdb_ci *c, const char *name)
{
    for (size_t i = 0; i < c->nbefore; i++)
        if (strcmp(c->before_names[i], name) == 0)
            return c->before_json[i];
    return NULL;
}

/* Resolve the owner group and media names to ids. */
static int resolve_refs(relm_store *s, cmdb_ci *c, relm_diag *d)
{
    c->owner_group_id = 0;
    if (c->std[F_OWNER_GROUP] != NULL) {
        int rc = relm_store_lookup(s, "SELECT id FROM groups WHERE name = ?1",
                                   c->std[F_OWNER_GROUP], &c->owner_group_id,
                                   d);
        if (rc == RELM_ERR)
            return RELM_ERR;
        if (rc == RELM_NOT_FOUND)
            return relm_diag_set(d, "invalid_field", _("field 'owner_group': no "
                                 "group named '%s'"), c->std[F_OWNER_GROUP]);
    }
    c->media_id = 0;
    if (c->std[F_MEDIA] != NULL) {
        const char *m = c->std[F_MEDIA];
        const char *at = strrchr(m, '@');
        sqlite3_stmt *st = relm_store_stmt(
            s, "SELECT id FROM media WHERE (name = ?1 AND (?2 IS NULL OR "
               "version = ?2)) OR (?3 IS NOT NULL AND name = ?3 AND "
               "version = ?4) ORDER BY id LIMIT 2", d);
        if (st == NULL)
            return RELM_ERR;
        sqlite3_bind_text(st, 1, m, -1, SQLITE_STATIC);
        if (at != NULL) {
            sqlite3_bind_text(st, 3, m, (int)(at - m), SQLITE_STATIC);
            sqlite3_bind_text(st, 4, at + 1, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, "", 0, SQLITE_STATIC);
        }
        int n = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            c->media_id = sqlite3_column_int64(st, 0);
            n++;
        }
        sqlite3_reset(st);
        if (n == 0)
            return relm_diag_set(d, "invalid_field", _("field 'media': no "
                                 "medium named '%s' (name or name@version)"), m);
        if (n > 1)
            return relm_diag_set(d, "invalid_field", _("field 'media': '%s' "
                                 "names several versions; say name@version"), m);
    }
    return RELM_OK;
}

int cmdb_history(relm_store *s, int64_t ci_id, const char *ci_name,
                 const char *action, const char *diff,
                 const relm_cmdb_origin *o, relm_diag *d)
{
    return cmdb_history_at(s, NULL, ci_id, ci_name, action, diff, o, d);
}

static int history_insert(relm_store *s, sqlite3_stmt **slot, int64_t ci_id,
                          const char *ci_name, const char *action,
                          const char *diff, const relm_cmdb_origin *o,
                          relm_diag *d);

int cmdb_ci_flush(relm_store *s, int64_t ci_id, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT c.name, b.at, b.actor_id, b.origin, b.origin_release_id "
           "FROM cis c JOIN ci_batches b ON b.id = c.batch_id WHERE c.id = ?1",
        d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, ci_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return RELM_OK; /* nothing deferred */
    }
    const char *name = (const char *)sqlite3_column_text(st, 0);
    const char *at = (const char *)sqlite3_column_text(st, 1);
    const char *note = (const char *)sqlite3_column_text(st, 3);
    char *name_c = strdup(name != NULL ? name : "");
    char *at_c = strdup(at != NULL ? at : "");
    char *note_c = note != NULL ? strdup(note) : NULL;
    relm_cmdb_origin bo = {sqlite3_column_int64(st, 4), note_c, at_c,
                           sqlite3_column_int64(st, 2)};
    sqlite3_reset(st);
    int rc = RELM_ERR;
    if (name_c == NULL || at_c == NULL) {
        oom(d);
        goto out;
    }
    st = relm_store_stmt(s, "UPDATE cis SET batch_id = NULL WHERE id = ?1", d);
    if (st == NULL)
        goto out;
    sqlite3_bind_int64(st, 1, ci_id);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE) {
        relm_store_fail(s, d, "ci history");
        goto out;
    }
    /* The diff "{}": the created state is rebuilt on reading (the current
     * record with every later change undone). */
    rc = history_insert(s, NULL, ci_id, name_c, "create", "{}", &bo, d);
out:
    free(name_c);
    free(at_c);
    free(note_c);
    return rc;
}

int cmdb_history_at(relm_store *s, sqlite3_stmt **slot, int64_t ci_id,
                    const char *ci_name, const char *action, const char *diff,
                    const relm_cmdb_origin *o, relm_diag *d)
{
    if (cmdb_ci_flush(s, ci_id, d) != RELM_OK)
        return RELM_ERR;
    return history_insert(s, slot, ci_id, ci_name, action, diff, o, d);
}

/* Insert one ci_history row (no deferred-create check). */
static int history_insert(relm_store *s, sqlite3_stmt **slot, int64_t ci_id,
                          const char *ci_name, const char *action,
                          const char *diff, const relm_cmdb_origin *o,
                          relm_diag *d)
{
    sqlite3_stmt *st = cmdb_stmt(
        s, slot, "INSERT INTO ci_history (ci_id, ci_name, actor_id, action, diff, "
           "origin_release_id, origin, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
           "coalesce(?8, " NOW_SQL "))", d);
    if (st == NULL)
        return RELM_ERR;
    int64_t actor = o != NULL && o->actor_id > 0 ? o->actor_id
                                                 : relm_store_actor_id(s);
    sqlite3_bind_int64(st, 1, ci_id);
    sqlite3_bind_text(st, 2, ci_name, -1, SQLITE_STATIC);
    if (actor > 0)
        sqlite3_bind_int64(st, 3, actor);
    sqlite3_bind_text(st, 4, action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, diff, -1, SQLITE_STATIC);
    if (o != NULL && o->release_id > 0)
        sqlite3_bind_int64(st, 6, o->release_id);
    if (o != NULL && o->note != NULL)
        sqlite3_bind_text(st, 7, o->note, -1, SQLITE_STATIC);
    if (o != NULL && o->at != NULL)
        sqlite3_bind_text(st, 8, o->at, -1, SQLITE_STATIC);
    return relm_store_step_write(s, st, d, "ci history");
}

int cmdb_ci_save(relm_store *s, cmdb_ci *c, const relm_cmdb_origin *o,
                 int *changed, relm_diag *d)
{
    const cmdb_type *t = c->type;
    *changed = 0;
    if (c->std[F_NAME] == NULL)
        return relm_diag_set(d, "invalid_field", _("field 'name' is required"));
    if (c->std[F_STATUS] == NULL && (c->std[F_STATUS] = strdup("active")) == NULL)
        return oom(d);
    for (size_t i = 0; i < t->nattrs; i++) {
        if (c->attr[i] != NULL)
            continue;
        if (t->attrs[i].default_json != NULL) {
            if ((c->attr[i] = strdup(t->attrs[i].default_json)) == NULL)
                return oom(d);
        } else if (t->attrs[i].required) {
            return relm_diag_set(d, "missing_attribute",
                                 _("attribute '%s' of type '%s' is required"),
                                 t->attrs[i].name, t->name);
        }
    }
    /* The diff: standard fields, then attributes (set now or before). */
    cmdb_buf *diff = &c->diff, *attrs = &c->attrs;
    /* A create in a batch writes no history row: skip building the diff. */
    int want_diff = !(c->batch > 0 && c->id == 0);
    diff->len = attrs->len = 0;
    int rc = RELM_ERR;
    if (PUTS(diff, "{") != RELM_OK || PUTS(attrs, "{") != RELM_OK)
        goto nomem;
    for (int i = 0; i < NSTD && want_diff; i++)
        if (diff_pair(diff, relm_cmdb_std_fields[i], c->std_before[i],
                      c->std[i], 1) != RELM_OK)
            goto nomem;
    for (size_t i = 0; i < t->nattrs; i++) {
        const char *name = t->attrs[i].name;
        if (want_diff &&
            diff_pair(diff, name, before_attr(c, name), c->attr[i], 0) != RELM_OK)
            goto nomem;
        if (c->attr[i] == NULL)
            continue;
        if (cmdb_buf_put(attrs, attrs->len > 1 ? "," : "", attrs->len > 1) != RELM_OK ||
            cmdb_buf_json_string(attrs, name, strlen(name)) != RELM_OK ||
            PUTS(attrs, ":") != RELM_OK ||
            cmdb_buf_put(attrs, c->attr[i], strlen(c->attr[i])) != RELM_OK)
            goto nomem;
    }
    /* Attributes stored before that the (new) type does not know. */
    for (size_t i = 0; i < c->nbefore; i++)
        if (cmdb_type_attr(t, c->before_names[i], strlen(c->before_names[i])) < 0 &&
            diff_pair(diff, c->before_names[i], c->before_json[i], NULL, 0) != RELM_OK)
            goto nomem;
    if (PUTS(diff, "}") != RELM_OK || PUTS(attrs, "}") != RELM_OK)
        goto nomem;
    if (c->id != 0 && diff->len <= 2) {
        rc = RELM_OK; /* nothing changed: no write, no history */
        goto done;
    }
    if (resolve_refs(s, c, d) != RELM_OK)
        goto done;
    /* A creation still told by its import batch is written first, while the
     * row carries the name it was created under (a rename comes next). */
    if (c->id != 0 && cmdb_ci_flush(s, c->id, d) != RELM_OK)
        goto done;
    if (c->id == 0 && c->batch > 0 && c->defer && o != NULL && o->at != NULL) {
        /* Queued: the values are copied (c is reset for the next row). */
        if (c->qat == NULL && (c->qat = strdup(o->at)) == NULL)
            goto nomem;
        const char *txt[QCOLS] = {c->std[F_NAME], NULL, c->std[F_STATUS],
                                  c->std[F_VERSION], c->std[F_SERIAL],
                                  c->std[F_CRITICALITY], NULL,
                                  c->std[F_LOCATION], NULL, attrs->p};
        int64_t *q = c->q[c->nq];
        for (int k = 0; k < QCOLS; k++) {
            if (k == 1 || k == 6 || k == 8)
                continue;
            q[k] = queue_text(c, txt[k], txt[k] != NULL ? strlen(txt[k]) : 0);
            if (q[k] == -2)
                goto nomem;
        }
        q[1] = t->id;
        q[6] = c->owner_group_id;
        q[8] = c->media_id;
        if (++c->nq == QROWS && cmdb_ci_write_queued(s, c, d) != RELM_OK)
            goto done;
        *changed = 1;
        rc = RELM_OK;
        goto done;
    }
    sqlite3_stmt *st;
    if (c->id == 0)
        st = cmdb_stmt(
            s, &c->st_insert, "INSERT INTO cis (name, type_id, status, version, serial, "
               "criticality, owner_group_id, location, media_id, attributes, "
               "created_at, updated_at, batch_id) VALUES (?1, ?2, ?3, ?4, ?5, "
               "?6, ?7, ?8, ?9, ?10, coalesce(?12, " NOW_SQL "), coalesce(?12, "
               NOW_SQL "), ?13)", d);
    else
        st = cmdb_stmt(
            s, &c->st_update, "UPDATE cis SET name = ?1, type_id = ?2, status = ?3, "
               "version = ?4, serial = ?5, criticality = ?6, "
               "owner_group_id = ?7, location = ?8, media_id = ?9, "
               "attributes = ?10, updated_at = coalesce(?12, " NOW_SQL ") "
               "WHERE id = ?11", d);
    if (st == NULL)
        goto done;
    sqlite3_bind_text(st, 1, c->std[F_NAME], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, t->id);
    sqlite3_bind_text(st, 3, c->std[F_STATUS], -1, SQLITE_STATIC);
    relm_store_bind_text(st, 4, c->std[F_VERSION]);
    relm_store_bind_text(st, 5, c->std[F_SERIAL]);
    relm_store_bind_text(st, 6, c->std[F_CRITICALITY]);
    if (c->owner_group_id > 0)
        sqlite3_bind_int64(st, 7, c->owner_group_id);
    relm_store_bind_text(st, 8, c->std[F_LOCATION]);
    if (c->media_id > 0)
        sqlite3_bind_int64(st, 9, c->media_id);
    sqlite3_bind_text(st, 10, attrs->p, (int)attrs->len, SQLITE_STATIC);
    if (c->id != 0)
        sqlite3_bind_int64(st, 11, c->id);
    if (o != NULL && o->at != NULL)
        sqlite3_bind_text(st, 12, o->at, -1, SQLITE_STATIC);
    if (c->id == 0 && c->batch > 0)
        sqlite3_bind_int64(st, 13, c->batch);
    if (relm_store_step_write(s, st, d, "a CI named '%s'", c->std[F_NAME]) !=
        RELM_OK)
        goto done;
    const char *action = "update";
    if (c->id == 0) {
        c->id = sqlite3_last_insert_rowid(relm_store_db(s));
        action = "create";
    }
    /* A create in a batch is told by the batch (see cmdb_ci_batch). */
    if (!(c->batch > 0 && strcmp(action, "create") == 0) &&
        cmdb_history_at(s, &c->st_history, c->id, c->std[F_NAME], action,
                        diff->p, o, d) != RELM_OK)
        goto done;
    *changed = 1;
    rc = RELM_OK;
    goto done;
nomem:
    oom(d);
done:
    return rc;
}

/* ---- public primitives ---- */

/* One counter per process (base/context.h): a process with two stores on
 * different files only rebuilds a graph more often than it needs to. */

uint64_t relm_cmdb_edge_epoch(void)
{
    return relm_process.edge_epoch;
}

void relm_cmdb_edges_changed(void)
{
    relm_process.edge_epoch++;
}

int64_t relm_cmdb_id(relm_store *s, const char *name, relm_diag *d)
{
    int64_t id = 0;
    if (relm_store_lookup(s, "SELECT id FROM cis WHERE name = ?1", name, &id,
                          d) == RELM_NOT_FOUND)
        relm_diag_set(d, "not_found", _("no CI named '%s'"), name);
    return id;
}

int64_t cmdb_rel_kind(relm_store *s, const char *kind, relm_diag *d)
{
    int64_t id = 0;
    if (relm_store_lookup(s, "SELECT id FROM rel_types WHERE name = ?1", kind,
                          &id, d) != RELM_NOT_FOUND)
        return id;
    char known[512] = "";
    sqlite3_stmt *st = relm_store_stmt(s, "SELECT group_concat(name, ', ') FROM "
                                          "(SELECT name FROM rel_types ORDER BY name)",
                                       NULL);
    if (st != NULL) {
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
            snprintf(known, sizeof known, "%s", sqlite3_column_text(st, 0));
        sqlite3_reset(st);
    }
    relm_diag_set(d, "unknown_relation", _("no relationship type named '%s' "
                  "(known: %s; create one with relm.cmdb.define_relation)"),
                  kind, known);
    return 0;
}

/* Letters, digits and _, not starting with a digit: safe as a CSV header,
 * a JSON path step and a Lua field name. */
static int valid_ident(const char *s)
{
    if (s == NULL || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

/* Whether a is a plain declaration of a free-text standard field, such as
 * attributes={version="string"}: a CI of every type has it already, so
 * the declaration asks for nothing new and is accepted as it stands. */
static int declares_std_text(const relm_cmdb_attr_def *a)
{
    return a->name != NULL && a->kind == RELM_CMDB_STRING && !a->required &&
           a->def.vtype == RELM_V_NIL && a->nvalues == 0 &&
           (strcmp(a->name, "version") == 0 || strcmp(a->name, "serial") == 0 ||
            strcmp(a->name, "location") == 0);
}

/* Validate one attribute definition and encode its default and enum
 * values as JSON. */
static int check_attr_def(const char *type, const relm_cmdb_attr_def *a,
                          char **def_json, char **enum_json, relm_diag *d)
{
    *def_json = *enum_json = NULL;
    if (!valid_ident(a->name))
        return relm_diag_set(d, "invalid_argument", _("attribute name '%s' of "
                             "type '%s': use letters, digits and _ (not "
                             "starting with a digit)"), a->name ? a->name : "",
                             type);
    if (std_index(a->name, strlen(a->name)) >= 0 ||
        strcmp(a->name, "id") == 0 || strcmp(a->name, "attributes") == 0 ||
        strcmp(a->name, "created_at") == 0 || strcmp(a->name, "updated_at") == 0 ||
        strcmp(a->name, "as_of") == 0)
        return relm_diag_set(d, "invalid_argument", _("attribute '%s' of type "
                             "'%s': '%s' is a standard CI field, not an "
                             "attribute (leave it out of attributes)"),
                             a->name, type, a->name);
    if (a->kind < 0 || a->kind >= RELM_CMDB_NKINDS)
        return relm_diag_set(d, "invalid_argument", _("attribute '%s' of type "
                             "'%s': unknown kind (string, integer, number, "
                             "boolean, date, enum)"), a->name, type);
    if ((a->kind == RELM_CMDB_ENUM) != (a->nvalues > 0))
        return relm_diag_set(d, "invalid_argument", _("attribute '%s' of type "
                             "'%s': %s"), a->name, type, a->kind == RELM_CMDB_ENUM
                             ? "an enum needs values={...}"
                             : "values= is only for kind 'enum'");
    cmdb_attr tmp = {(char *)a->name, a->kind, a->required, NULL,
                     (char **)a->values, a->nvalues};
    if (a->nvalues > 0) {
        cmdb_buf b = {0};
        PUTS(&b, "[");
        for (size_t i = 0; i < a->nvalues; i++) {
            if (i > 0)
                PUTS(&b, ",");
            cmdb_buf_json_string(&b, a->values[i], strlen(a->values[i]));
        }
        if (PUTS(&b, "]") != RELM_OK) {
            cmdb_buf_free(&b);
            return oom(d);
        }
        *enum_json = b.p;
    }
    if (a->def.vtype != RELM_V_NIL &&
        encode_attr(&tmp, type, &a->def, def_json, d) != RELM_OK) {
        char why[sizeof d->msg];
        snprintf(why, sizeof why, "%s", d->msg);
        free(*enum_json);
        *enum_json = NULL;
        return relm_diag_set(d, "invalid_argument", _("default: %s"), why);
    }
    return RELM_OK;
}

int cmdb_begin(relm_store *s, const char *what, relm_diag *d)
{
    return relm_auth_begin_cmdb(s, what, d);
}

int cmdb_occurrence(relm_store *s, const char *subject, int64_t id,
                    const char *action, const char *note, const char *after,
                    relm_diag *d)
{
    return relm_audit_log(s, subject, id, action, note, NULL, after, d);
}

/* The type `name` as JSON (description and every attribute with kind,
 * required, default and enum values, in order), malloc'd; NULL when there
 * is no such type. Compared before and after a define_type to tell
 * whether it changed anything, and logged as the occurrence's after. */
static char *type_json(relm_store *s, const char *name, int64_t *id)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT t.id, json_object('name', t.name, 'description', "
           "t.description, 'attributes', (SELECT json_group_array("
           "json_object('name', a.name, 'kind', a.kind, 'required', "
           "a.required, 'default', json(a.default_value), 'values', "
           "json(a.enum_values))) FROM (SELECT * FROM ci_type_attrs WHERE "
           "type_id = t.id ORDER BY position) a)) FROM ci_types t WHERE "
           "t.name = ?1", NULL);
    if (st == NULL)
        return NULL;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    char *json = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        if (id != NULL)
            *id = sqlite3_column_int64(st, 0);
        json = strdup((const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_reset(st);
    return json;
}

/* The occurrence of a define_type, when it changed the type (before is
 * its JSON before the call, NULL when it is new): an idempotent call that
 * changed nothing leaves no trail. */
static int type_occurrence(relm_store *s, const char *name,
                           const char *before, relm_diag *d)
{
    int64_t id = 0;
    char *after = type_json(s, name, &id);
    int rc = RELM_OK;
    if (after == NULL)
        rc = relm_store_fail(s, d, "define_type");
    else if (before == NULL || strcmp(before, after) != 0)
        rc = cmdb_occurrence(s, "ci_type", id, before ? "change" : "define",
                             name, after, d);
    free(after);
    return rc;
}

int relm_cmdb_define_type(relm_store *s, const char *name,
                          const char *description,
                          const relm_cmdb_attr_def *attrs, size_t nattrs,
                          relm_diag *d)
{
    if (name == NULL || name[0] == '\0')
        return relm_diag_set(d, "invalid_argument", _("type name must be a "
                             "non-empty string"));
    for (size_t i = 0; i < nattrs; i++)
        for (size_t j = 0; j < i; j++)
            if (attrs[i].name && attrs[j].name &&
                strcmp(attrs[i].name, attrs[j].name) == 0)
                return relm_diag_set(d, "invalid_argument", _("attribute '%s' "
                                     "given twice"), attrs[i].name);
    if (cmdb_begin(s, "defining a CI type", d) != RELM_OK)
        return RELM_ERR;
    char *before = type_json(s, name, NULL);
    sqlite3_stmt *st = relm_store_stmt(
        s, "INSERT INTO ci_types (name, description) VALUES (?1, ?2) "
           "ON CONFLICT (name) DO UPDATE SET description = "
           "coalesce(excluded.description, description)", d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    relm_store_bind_text(st, 2, description);
    if (sqlite3_step(st) != SQLITE_DONE) {
        sqlite3_reset(st);
        relm_store_fail(s, d, "define_type");
        goto fail;
    }
    sqlite3_reset(st);
    cmdb_type *t = NULL;
    if (cmdb_type_load(s, name, &t, d) != RELM_OK)
        goto fail;
    int has_cis = 0;
    st = relm_store_stmt(s, "SELECT 1 FROM cis WHERE type_id = ?1 LIMIT 1", d);
    if (st == NULL) {
        cmdb_type_free(t);
        goto fail;
    }
    sqlite3_bind_int64(st, 1, t->id);
    has_cis = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    for (size_t i = 0; i < nattrs; i++) {
        const relm_cmdb_attr_def *a = &attrs[i];
        char *def = NULL, *en = NULL;
        if (declares_std_text(a))
            continue;
        if (check_attr_def(name, a, &def, &en, d) != RELM_OK) {
            cmdb_type_free(t);
            goto fail;
        }
        int have = cmdb_type_attr(t, a->name, strlen(a->name));
        const char *problem = NULL;
        if (have >= 0 && t->attrs[have].kind != a->kind) {
            relm_diag_set(d, "conflict", _("type '%s' already has attribute "
                          "'%s' of kind %s; it cannot become %s (define a "
                          "new attribute instead)"), name, a->name,
                          relm_cmdb_kind_name(t->attrs[have].kind),
                          relm_cmdb_kind_name(a->kind));
            problem = "x";
        } else if (has_cis && a->required && def == NULL &&
                   (have < 0 || !t->attrs[have].required)) {
            relm_diag_set(d, "invalid_argument", _("attribute '%s': type '%s' "
                          "already has CIs, so a new required attribute "
                          "needs a default"), a->name, name);
            problem = "x";
        }
        if (problem == NULL) {
            st = relm_store_stmt(
                s, "INSERT INTO ci_type_attrs (type_id, name, kind, required, "
                   "default_value, enum_values, position) VALUES (?1, ?2, ?3, "
                   "?4, ?5, ?6, (SELECT count(*) FROM ci_type_attrs WHERE "
                   "type_id = ?1)) ON CONFLICT (type_id, name) DO UPDATE SET "
                   "required = excluded.required, default_value = "
                   "excluded.default_value, enum_values = excluded.enum_values",
                d);
            if (st != NULL) {
                sqlite3_bind_int64(st, 1, t->id);
                sqlite3_bind_text(st, 2, a->name, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 3, relm_cmdb_kind_name(a->kind), -1,
                                  SQLITE_STATIC);
                sqlite3_bind_int(st, 4, a->required ? 1 : 0);
                relm_store_bind_text(st, 5, def);
                relm_store_bind_text(st, 6, en);
                if (sqlite3_step(st) != SQLITE_DONE) {
                    relm_store_fail(s, d, "define_type");
                    problem = "x";
                }
                sqlite3_reset(st);
            } else {
                problem = "x";
            }
        }
        free(def);
        free(en);
        if (problem != NULL) {
            cmdb_type_free(t);
            goto fail;
        }
    }
    cmdb_type_free(t);
    int rc = type_occurrence(s, name, before, d);
    free(before);
    return relm_store_end(s, rc, d);
fail:
    free(before);
    return relm_store_end(s, RELM_ERR, d);
}

int relm_cmdb_define_relation(relm_store *s, const char *name,
                              const char *impact, const char *description,
                              relm_diag *d)
{
    if (!valid_ident(name))
        return relm_diag_set(d, "invalid_argument", _("relationship type name "
                             "'%s': use letters, digits and _"), name ? name : "");
    if (impact != NULL && strcmp(impact, "forward") != 0 &&
        strcmp(impact, "reverse") != 0 && strcmp(impact, "both") != 0)
        return relm_diag_set(d, "invalid_argument", _("impact must be "
                             "\"forward\", \"reverse\" or \"both\"; got \"%s\""),
                             impact);
    if (cmdb_begin(s, "defining a relationship type", d) != RELM_OK)
        return RELM_ERR;
    relm_cmdb_edges_changed();
    sqlite3_stmt *st = relm_store_stmt(
        s, "INSERT INTO rel_types (name, impact, description) VALUES "
           "(?1, coalesce(?2, 'forward'), ?3) ON CONFLICT (name) DO UPDATE "
           "SET impact = coalesce(excluded.impact, impact), description = "
           "coalesce(?3, description) WHERE impact IS NOT coalesce("
           "excluded.impact, impact) OR description IS NOT coalesce(?3, "
           "description) RETURNING id, json_object('name', name, 'impact', "
           "impact, 'description', description)", d);
    if (st == NULL)
        return relm_store_end(s, RELM_ERR, d);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    relm_store_bind_text(st, 2, impact);
    relm_store_bind_text(st, 3, description);
    /* A row comes back only when the type was made or changed: an
     * idempotent call that changed nothing leaves no trail. */
    int rc = sqlite3_step(st);
    int64_t rid = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    char *after = rc == SQLITE_ROW
                      ? strdup((const char *)sqlite3_column_text(st, 1)) : NULL;
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        rc = relm_store_fail(s, d, "define_relation");
    else if (rc == SQLITE_ROW)
        rc = cmdb_occurrence(s, "rel_type", rid, "define", name, after, d);
    else
        rc = RELM_OK;
    free(after);
    return relm_store_end(s, rc, d);
}

int relm_cmdb_add(relm_store *s, const char *type, const relm_cmdb_value *f,
                  size_t n, const relm_cmdb_origin *o, int64_t *id,
                  relm_diag *d)
{
    cmdb_type *t = NULL;
    if (type == NULL)
        return relm_diag_set(d, "invalid_field", _("field 'type' is required"));
    if (cmdb_type_load(s, type, &t, d) != RELM_OK)
        return RELM_ERR;
    cmdb_ci *c = cmdb_ci_new();
    if (c == NULL) {
        cmdb_type_free(t);
        return oom(d);
    }
    cmdb_ci_reset(c, t);
    int rc = RELM_ERR, changed;
    if (cmdb_begin(s, "adding a CI", d) != RELM_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(f[i].key, "type") == 0)
            continue;
        if (cmdb_ci_set(s, c, &f[i], d) != RELM_OK)
            goto fail;
    }
    if (c->std[F_NAME] != NULL && relm_cmdb_id(s, c->std[F_NAME], NULL) != 0) {
        relm_diag_set(d, "duplicate", _("a CI named '%s' already exists"),
                      c->std[F_NAME]);
        goto fail;
    }
    rc = relm_store_end(s, cmdb_ci_save(s, c, o, &changed, d), d);
    if (rc == RELM_OK && id != NULL)
        *id = c->id;
    goto out;
fail:
    relm_store_rollback(s);
out:
    cmdb_ci_free(c);
    cmdb_type_free(t);
    return rc;
}

/* relm_cmdb_update; checked = 1 checks the cmdb permission inside the
 * transaction, 0 leaves it to a caller that checked its own. */
static int update_ci(relm_store *s, const char *name,
                     const relm_cmdb_value *f, size_t n,
                     const relm_cmdb_origin *o, int checked, relm_diag *d)
{
    cmdb_ci *c = cmdb_ci_new();
    if (c == NULL)
        return oom(d);
    int rc = RELM_ERR, changed;
    if ((checked ? cmdb_begin(s, "changing a CI", d)
                 : relm_store_begin(s, d)) != RELM_OK)
        goto out;
    int found = cmdb_ci_load(s, c, name, strlen(name), d);
    if (found == 0)
        relm_diag_set(d, "not_found", _("no CI named '%s'"), name);
    if (found != 1)
        goto fail;
    /* Attributes being cleared go first (so a type change may drop them),
     * then the type, so that the rest are checked against the new one. */
    for (size_t i = 0; i < n; i++)
        if (f[i].vtype == RELM_V_NIL && std_index(f[i].key, strlen(f[i].key)) < 0 &&
            cmdb_type_attr(c->type, f[i].key, strlen(f[i].key)) >= 0 &&
            cmdb_ci_set(s, c, &f[i], d) != RELM_OK)
            goto fail;
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].key, "type") == 0 && cmdb_ci_set(s, c, &f[i], d) != RELM_OK)
            goto fail;
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].key, "type") != 0 && cmdb_ci_set(s, c, &f[i], d) != RELM_OK)
            goto fail;
    rc = relm_store_end(s, cmdb_ci_save(s, c, o, &changed, d), d);
    goto out;
fail:
    relm_store_rollback(s);
out:
    cmdb_ci_free(c);
    return rc;
}

int relm_cmdb_update(relm_store *s, const char *name,
                     const relm_cmdb_value *f, size_t n,
                     const relm_cmdb_origin *o, relm_diag *d)
{
    return update_ci(s, name, f, n, o, 1, d);
}

int cmdb_update_checked_by_caller(relm_store *s, const char *name,
                                  const relm_cmdb_value *f, size_t n,
                                  const relm_cmdb_origin *o, relm_diag *d)
{
    return update_ci(s, name, f, n, o, 0, d);
}

/* Write the relate/unrelate history rows on both ends. */
static int edge_history(relm_store *s, int64_t from_id, const char *from,
                        const char *kind, int64_t to_id, const char *to,
                        int added, const relm_cmdb_origin *o, relm_diag *d)
{
    cmdb_buf b = {0};
    int rc = RELM_ERR;
    for (int side = 0; side < 2; side++) {
        b.len = 0;
        const char *other = side == 0 ? to : from;
        char key[160];
        snprintf(key, sizeof key, side == 0 ? "%s" : "%s (in)", kind);
        if (PUTS(&b, "{") != RELM_OK ||
            cmdb_buf_json_string(&b, key, strlen(key)) != RELM_OK ||
            PUTS(&b, ":[") != RELM_OK ||
            (added ? PUTS(&b, "null,") : RELM_OK) != RELM_OK ||
            cmdb_buf_json_string(&b, other, strlen(other)) != RELM_OK ||
            (added ? RELM_OK : PUTS(&b, ",null")) != RELM_OK ||
            PUTS(&b, "]}") != RELM_OK) {
            oom(d);
            goto done;
        }
        if (cmdb_history(s, side == 0 ? from_id : to_id, side == 0 ? from : to,
                         added ? "relate" : "unrelate", b.p, o, d) != RELM_OK)
            goto done;
    }
    rc = RELM_OK;
done:
    cmdb_buf_free(&b);
    return rc;
}

/* A relationship made by a bulk import carries its batch id instead of
 * history rows (see 0003_cmdb_batches.sql). Before it goes, write the relate
 * rows it deferred, with the batch's time, actor and origin. */
static int edge_deferred(relm_store *s, int64_t batch, int64_t from_id,
                         const char *from, const char *kind, int64_t to_id,
                         const char *to, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT at, actor_id, origin, origin_release_id FROM ci_batches "
           "WHERE id = ?1", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, batch);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return RELM_OK; /* the batch is gone: nothing more to tell */
    }
    const char *at = (const char *)sqlite3_column_text(st, 0);
    const char *note = (const char *)sqlite3_column_text(st, 2);
    char *at_c = strdup(at != NULL ? at : "");
    char *note_c = note != NULL ? strdup(note) : NULL;
    relm_cmdb_origin bo = {sqlite3_column_int64(st, 3), note_c, at_c,
                           sqlite3_column_int64(st, 1)};
    sqlite3_reset(st);
    int rc = at_c == NULL ? oom(d)
                          : edge_history(s, from_id, from, kind, to_id, to, 1,
                                         &bo, d);
    free(at_c);
    free(note_c);
    return rc;
}

/* Resolve the edge `from kind to` to ids: e[0] = from, e[1] = kind,
 * e[2] = to. Fails with unknown_relation or not_found. */
static int edge_ids(relm_store *s, const char *from, const char *kind,
                    const char *to, int64_t e[3], relm_diag *d)
{
    if ((e[1] = cmdb_rel_kind(s, kind, d)) == 0 ||
        (e[0] = relm_cmdb_id(s, from, d)) == 0 ||
        (e[2] = relm_cmdb_id(s, to, d)) == 0)
        return RELM_ERR;
    return RELM_OK;
}

/* Bind e (edge_ids) as ?1 from, ?2 kind, ?3 to. */
static void bind_edge(sqlite3_stmt *st, const int64_t e[3])
{
    for (int i = 0; i < 3; i++)
        sqlite3_bind_int64(st, i + 1, e[i]);
}

/* Run the write sql on edge e (bound as bind_edge does); *changed is 1
 * when it changed a row, which is how relate and unrelate tell a no-op. */
static int edge_write(relm_store *s, const char *sql, const int64_t e[3],
                      int *changed, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(s, sql, d);
    if (st == NULL)
        return RELM_ERR;
    bind_edge(st, e);
    if (relm_store_step_write(s, st, d, "the relationship") != RELM_OK)
        return RELM_ERR;
    *changed = sqlite3_changes(relm_store_db(s)) > 0;
    return RELM_OK;
}

int relm_cmdb_relate(relm_store *s, const char *from, const char *kind,
                     const char *to, const relm_cmdb_origin *o, relm_diag *d)
{
    int64_t e[3];
    if (edge_ids(s, from, kind, to, e, d) != RELM_OK)
        return RELM_ERR;
    int64_t a = e[0], b = e[2];
    if (a == b)
        return relm_diag_set(d, "invalid_argument", _("a CI cannot be related "
                             "to itself ('%s' %s '%s')"), from, kind, to);
    if (cmdb_begin(s, "relating CIs", d) != RELM_OK)
        return RELM_ERR;
    relm_cmdb_edges_changed();
    int changed = 0;
    if (edge_write(s, "INSERT INTO relationships (from_id, kind_id, to_id) "
                   "VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING", e, &changed,
                   d) != RELM_OK)
        goto fail;
    if (!changed) {
        relm_diag_set(d, "duplicate", _("'%s' %s '%s' already exists"), from,
                      kind, to);
        goto fail;
    }
    if (edge_history(s, a, from, kind, b, to, 1, o, d) != RELM_OK)
        goto fail;
    return relm_store_end(s, RELM_OK, d);
fail:
    return relm_store_end(s, RELM_ERR, d);
}

int relm_cmdb_unrelate(relm_store *s, const char *from, const char *kind,
                       const char *to, const relm_cmdb_origin *o,
                       relm_diag *d)
{
    int64_t e[3];
    if (edge_ids(s, from, kind, to, e, d) != RELM_OK)
        return RELM_ERR;
    int64_t a = e[0], b = e[2];
    if (cmdb_begin(s, "unrelating CIs", d) != RELM_OK)
        return RELM_ERR;
    relm_cmdb_edges_changed();
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT batch_id FROM relationships WHERE from_id = ?1 AND "
           "kind_id = ?2 AND to_id = ?3", d);
    if (st == NULL)
        goto fail;
    bind_edge(st, e);
    int64_t batch = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (batch > 0 && edge_deferred(s, batch, a, from, kind, b, to, d) != RELM_OK)
        goto fail;
    int changed = 0;
    if (edge_write(s, "DELETE FROM relationships WHERE from_id = ?1 AND "
                   "kind_id = ?2 AND to_id = ?3", e, &changed, d) != RELM_OK)
        goto fail;
    if (!changed) {
        relm_diag_set(d, "not_found", _("there is no relationship '%s' %s '%s'"),
                      from, kind, to);
        goto fail;
    }
    if (edge_history(s, a, from, kind, b, to, 0, o, d) != RELM_OK)
        goto fail;
    return relm_store_end(s, RELM_OK, d);
fail:
    return relm_store_end(s, RELM_ERR, d);
}

/* Tables of other modules that link records to CIs by ci_id: the CMDB
 * knows their shape but not their module, and each may be absent. For each:
 * how to count the links to CI ?1, how to name each one in a history diff
 * ({"<what>": ["<number>", null]}) and how to drop them. */
static const struct ci_link {
    const char *table, *what, *count, *diffs, *drop;
} ci_links[] = {
    {"release_cis", "release link(s)",
     "SELECT count(*) FROM release_cis WHERE ci_id = ?1",
     "SELECT json_object('release', json_array(r.number, NULL)) FROM "
     "release_cis l JOIN releases r ON r.id = l.release_id WHERE "
     "l.ci_id = ?1 ORDER BY r.id",
     "DELETE FROM release_cis WHERE ci_id = ?1"},
    {"record_cis", "change/problem/incident link(s)",
     "SELECT count(*) FROM record_cis WHERE ci_id = ?1",
     "SELECT json_object(r.kind, json_array(r.number, NULL)) FROM "
     "record_cis l JOIN records r ON r.id = l.record_id WHERE "
     "l.ci_id = ?1 ORDER BY r.id",
     "DELETE FROM record_cis WHERE ci_id = ?1"},
};
#define NLINK_TABLES (sizeof ci_links / sizeof ci_links[0])

/* Count the links of kind k to CI id; 0 when the table does not exist. */
static int64_t link_count(relm_store *s, const struct ci_link *k, int64_t id)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        NULL);
    if (st == NULL)
        return 0;
    sqlite3_bind_text(st, 1, k->table, -1, SQLITE_STATIC);
    int exists = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    if (!exists || (st = relm_store_stmt(s, k->count, NULL)) == NULL)
        return 0;
    sqlite3_bind_int64(st, 1, id);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return n;
}

/* Drop the links of kind k to CI id (name), each told in the CI's history
 * as an "unrelate" naming the record (the record keeps its own log). */
static int link_drop(relm_store *s, const struct ci_link *k, int64_t id,
                     const char *name, const relm_cmdb_origin *o,
                     relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(s, k->diffs, d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    int ok = RELM_OK;
    while (ok == RELM_OK && sqlite3_step(st) == SQLITE_ROW) {
        char *diff = strdup((const char *)sqlite3_column_text(st, 0));
        ok = diff != NULL ? cmdb_history(s, id, name, "unrelate", diff, o, d)
                          : oom(d);
        free(diff);
    }
    sqlite3_reset(st);
    if (ok != RELM_OK || (st = relm_store_stmt(s, k->drop, d)) == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_DONE ? RELM_OK : relm_store_fail(s, d, "remove");
}

int relm_cmdb_remove(relm_store *s, const char *name, int force,
                     const relm_cmdb_origin *o, relm_diag *d)
{
    cmdb_ci *c = cmdb_ci_new();
    if (c == NULL)
        return oom(d);
    int rc = RELM_ERR;
    if (cmdb_begin(s, "removing a CI", d) != RELM_OK)
        goto out;
    int found = cmdb_ci_load(s, c, name, strlen(name), d);
    if (found == 0)
        relm_diag_set(d, "not_found", _("no CI named '%s'"), name);
    if (found != 1)
        goto fail;
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT (SELECT count(*) FROM relationships WHERE from_id = ?1) + "
           "(SELECT count(*) FROM relationships WHERE to_id = ?1)", d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_int64(st, 1, c->id);
    int64_t nrel = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    int64_t nlinks[NLINK_TABLES], nany = nrel;
    char uses[256];
    int off = snprintf(uses, sizeof uses, n_("%lld relationship", "%lld relationships", nrel),
                       (long long)nrel);
    for (size_t i = 0; i < NLINK_TABLES; i++) {
        nlinks[i] = link_count(s, &ci_links[i], c->id);
        nany += nlinks[i];
        if (nlinks[i] > 0 && off > 0 && (size_t)off < sizeof uses)
            off += snprintf(uses + off, sizeof uses - (size_t)off, ", %lld %s",
                            (long long)nlinks[i], ci_links[i].what);
    }
    if (nany > 0 && !force) {
        relm_diag_set(d, "in_use", _("CI '%s' is still in use (%s); remove "
                      "them first or pass {force = true}"), name, uses);
        goto fail;
    }
    if (nrel > 0) {
        relm_cmdb_edges_changed();
        /* Record each removed edge on both ends before deleting it. */
        st = relm_store_stmt(
            s, "SELECT f.id, f.name, k.name, t.id, t.name, r.batch_id "
               "FROM relationships r "
               "JOIN cis f ON f.id = r.from_id JOIN cis t ON t.id = r.to_id "
               "JOIN rel_types k ON k.id = r.kind_id "
               "WHERE r.from_id = ?1 OR r.to_id = ?1", d);
        if (st == NULL)
            goto fail;
        sqlite3_bind_int64(st, 1, c->id);
        int ok = RELM_OK;
        while (ok == RELM_OK && sqlite3_step(st) == SQLITE_ROW) {
            char *fn = strdup((const char *)sqlite3_column_text(st, 1));
            char *kn = strdup((const char *)sqlite3_column_text(st, 2));
            char *tn = strdup((const char *)sqlite3_column_text(st, 4));
            int64_t fid = sqlite3_column_int64(st, 0);
            int64_t tid = sqlite3_column_int64(st, 3);
            int64_t batch = sqlite3_column_int64(st, 5);
            if (fn && kn && tn) {
                ok = batch > 0 ? edge_deferred(s, batch, fid, fn, kn, tid, tn, d)
                               : RELM_OK;
                if (ok == RELM_OK)
                    ok = edge_history(s, fid, fn, kn, tid, tn, 0, o, d);
            } else
                ok = oom(d);
            free(fn);
            free(kn);
            free(tn);
        }
        sqlite3_reset(st);
        if (ok != RELM_OK)
            goto fail;
        st = relm_store_stmt(s, "DELETE FROM relationships WHERE from_id = ?1 "
                                "OR to_id = ?1", d);
        if (st == NULL)
            goto fail;
        sqlite3_bind_int64(st, 1, c->id);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src != SQLITE_DONE) {
            relm_store_fail(s, d, "remove");
            goto fail;
        }
    }
    for (size_t i = 0; i < NLINK_TABLES; i++)
        if (nlinks[i] > 0 &&
            link_drop(s, &ci_links[i], c->id, name, o, d) != RELM_OK)
            goto fail;
    /* The history row keeps the whole record (every field: [value, null]),
     * so the CI can be reconstructed as of any moment before. */
    cmdb_buf diff = {0};
    PUTS(&diff, "{");
    for (int i = 0; i < NSTD; i++)
        diff_pair(&diff, relm_cmdb_std_fields[i], c->std[i], NULL, 1);
    for (size_t i = 0; i < c->nattr; i++)
        diff_pair(&diff, c->type->attrs[i].name, c->attr[i], NULL, 0);
    if (PUTS(&diff, "}") != RELM_OK) {
        cmdb_buf_free(&diff);
        oom(d);
        goto fail;
    }
    /* A creation the import batch still tells must reach ci_history
     * before the row that tells the batch goes. */
    if (cmdb_ci_flush(s, c->id, d) != RELM_OK) {
        cmdb_buf_free(&diff);
        goto fail;
    }
    st = relm_store_stmt(s, "DELETE FROM cis WHERE id = ?1", d);
    int src = SQLITE_ERROR;
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, c->id);
        src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src != SQLITE_DONE)
            relm_store_fail(s, d, "remove");
    }
    rc = src == SQLITE_DONE
             ? cmdb_history(s, c->id, name, "remove", diff.p, o, d)
             : RELM_ERR;
    cmdb_buf_free(&diff);
    rc = relm_store_end(s, rc, d);
    goto out;
fail:
    relm_store_rollback(s);
out:
    cmdb_ci_free(c);
    return rc;
}
