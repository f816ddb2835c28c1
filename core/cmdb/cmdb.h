/* cmdb.h: the configuration management database: CI types and their
 * attribute schema, CIs, relationship types, relationships and CI history. */
#ifndef RELM_CMDB_H
#define RELM_CMDB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/diag.h"
#include "base/store.h"

/* Attribute kinds of a CI type's schema. */
enum {
    RELM_CMDB_STRING, RELM_CMDB_INTEGER, RELM_CMDB_NUMBER,
    RELM_CMDB_BOOLEAN, RELM_CMDB_DATE, RELM_CMDB_ENUM, RELM_CMDB_NKINDS
};

/* Value types a caller hands to the CMDB. NIL clears a field or attribute
 * (in update) or means "absent". TEXT with from_text set came out of a file
 * (CSV): it is converted to the attribute's kind ("8" -> 8 for an integer);
 * TEXT without from_text must already be of the right kind. */
enum {
    RELM_V_NIL, RELM_V_INT, RELM_V_REAL, RELM_V_TEXT, RELM_V_BOOL
};

typedef struct relm_cmdb_value {
    const char *key;    /* field or attribute name */
    int vtype;          /* RELM_V_* */
    int from_text;      /* TEXT is to be parsed according to the kind */
    int64_t i;          /* INT; BOOL as 0/1 */
    double r;           /* REAL */
    const char *s;      /* TEXT, not necessarily NUL-terminated */
    size_t len;
} relm_cmdb_value;

/* Who or what caused a write, recorded in ci_history. */
typedef struct relm_cmdb_origin {
    int64_t release_id; /* a release did it; 0 = none */
    const char *note;   /* free text (e.g. "import cis.csv"); may be NULL */
    const char *at;     /* time to record (ISO 8601, as stored); NULL = now.
                           A bulk import stamps every row with its start. */
    int64_t actor_id;   /* who; 0 = the store's acting user */
} relm_cmdb_origin;

/* One attribute of a define_type call. */
typedef struct relm_cmdb_attr_def {
    const char *name;
    int kind;                   /* RELM_CMDB_* */
    int required;
    relm_cmdb_value def;        /* default; vtype NIL = none */
    const char *const *values;  /* enum values */
    size_t nvalues;
} relm_cmdb_attr_def;

/* The standard fields of a CI, in the order export writes them. Any other
 * key given to add/update is an attribute of the CI's type. */
extern const char *const relm_cmdb_std_fields[];
extern const size_t relm_cmdb_nstd_fields;

/* Kind name <-> number; relm_cmdb_kind_of returns -1 for an unknown name. */
const char *relm_cmdb_kind_name(int kind);
int relm_cmdb_kind_of(const char *name);

/* Create the type `name` or extend it with attributes it lacks. An attribute
 * it already has must be given with the same kind (else "conflict");
 * required, default and enum values are updated. Idempotent. Names of
 * standard fields cannot be attributes. One transaction. */
int relm_cmdb_define_type(relm_store *s, const char *name,
                          const char *description,
                          const relm_cmdb_attr_def *attrs, size_t nattrs,
                          relm_diag *d);

/* Create the relationship type `name`, or update its impact direction
 * ("forward", "reverse", "both"; NULL keeps it / defaults to forward). */
int relm_cmdb_define_relation(relm_store *s, const char *name,
                              const char *impact, const char *description,
                              relm_diag *d);

/* Add a CI of type `type` from fields (standard fields and attributes, one
 * entry per key; "name" is required). Validates against the type's schema,
 * fills defaults, writes one history row. *id receives the new row id
 * (may be NULL). */
int relm_cmdb_add(relm_store *s, const char *type, const relm_cmdb_value *f,
                  size_t n, const relm_cmdb_origin *o, int64_t *id,
                  relm_diag *d);

/* Change the CI `name`: each given key is set (RELM_V_NIL clears it);
 * "type" re-validates every attribute against the new type; "name"
 * renames. Writes one history row with the changed keys only (none when
 * nothing changed). */
int relm_cmdb_update(relm_store *s, const char *name,
                     const relm_cmdb_value *f, size_t n,
                     const relm_cmdb_origin *o, relm_diag *d);

/* Remove the CI `name`. Refused ("in_use") while relationships, release
 * links or change/problem/incident records (record_cis) point at it, unless
 * force is set: then those links are removed too, each recorded in the
 * CI's history. The history row keeps the whole record as it was. */
int relm_cmdb_remove(relm_store *s, const char *name, int force,
                     const relm_cmdb_origin *o, relm_diag *d);

/* Relate `from` kind `to` ("from depends on to"). Refuses self-loops
 * (invalid_argument), an existing edge (duplicate), an unknown kind
 * (unknown_relation) or CI (not_found). History row on `from`. */
int relm_cmdb_relate(relm_store *s, const char *from, const char *kind,
                     const char *to, const relm_cmdb_origin *o, relm_diag *d);

/* Remove the edge; not_found when it does not exist. */
int relm_cmdb_unrelate(relm_store *s, const char *from, const char *kind,
                       const char *to, const relm_cmdb_origin *o,
                       relm_diag *d);

/* A counter this process bumps before it writes relationships or
 * relationship types (committed or not). The impact graph rebuilds when it
 * moves; commits by other processes it sees through PRAGMA data_version.
 * Writes to CIs alone do not move it. */
uint64_t relm_cmdb_edge_epoch(void);
/* Move relm_cmdb_edge_epoch. The relm_cmdb_* primitives and the importer
 * call it before they write; C code that writes relationships or rel_types
 * with its own SQL must call it too (Lua cannot: relm.sql is read-only). */
void relm_cmdb_edges_changed(void);

/* Id of the CI `name`, or 0 with d filled (not_found). */
int64_t relm_cmdb_id(relm_store *s, const char *name, relm_diag *d);

/* ---- shared with the importer (cmdb_import.c); not a public API ---- */

typedef struct cmdb_attr {
    char *name;
    int kind;
    int required;
    char *default_json;   /* NULL = no default */
    char **values;        /* enum values */
    size_t nvalues;
} cmdb_attr;

typedef struct cmdb_type {
    int64_t id;
    char *name;
    cmdb_attr *attrs;
    size_t nattrs;
} cmdb_type;

/* Load the schema of type `name` (not_found as code "unknown_type"). */
int cmdb_type_load(relm_store *s, const char *name, cmdb_type **out,
                   relm_diag *d);
void cmdb_type_free(cmdb_type *t);
/* Index of attribute `name` in t, or -1. */
int cmdb_type_attr(const cmdb_type *t, const char *name, size_t len);

/* A growable byte buffer (JSON and CSV text). */
typedef struct cmdb_buf {
    char *p;
    size_t len, cap;
} cmdb_buf;
int cmdb_buf_grow(cmdb_buf *b, size_t n);

/* Append s[0..n) and keep the buffer NUL-terminated. Inline: an import
 * calls it a few dozen times per row. */
static inline int cmdb_buf_put(cmdb_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap && cmdb_buf_grow(b, n) != RELM_OK)
        return RELM_ERR;
    if (n > 0)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return RELM_OK;
}
int cmdb_buf_json_string(cmdb_buf *b, const char *s, size_t n);
void cmdb_buf_free(cmdb_buf *b);

/* A CI being written: standard fields and attributes as JSON texts. */
typedef struct cmdb_ci cmdb_ci;
cmdb_ci *cmdb_ci_new(void);
void cmdb_ci_free(cmdb_ci *c);
/* Reset c to an empty CI of type t (which must outlive the use of c). */
void cmdb_ci_reset(cmdb_ci *c, const cmdb_type *t);
/* Load the stored CI `name` into c (with its own copy of its type's
 * schema) and remember it as the "before" of the next save. Returns 0 when
 * absent, 1 when loaded, RELM_ERR on error. */
int cmdb_ci_load(relm_store *s, cmdb_ci *c, const char *name, size_t len,
                 relm_diag *d);
/* Creates saved through c carry the import batch `batch` (ci_batches) and
 * write no history row: the batch tells who created them, when and from
 * where, and cmdb_ci_flush writes the row when the CI is next written.
 * 0 = ordinary creates. */
void cmdb_ci_batch(cmdb_ci *c, int64_t batch);
/* With defer on, batch creates saved through c are queued and inserted 64
 * rows per statement (cmdb_ci_write_queued writes the rest): for a load
 * into an empty table, where no insert can conflict; the saved CI's id is
 * then unknown (c's id stays 0). */
void cmdb_ci_defer(cmdb_ci *c, int on);
int cmdb_ci_write_queued(relm_store *s, cmdb_ci *c, relm_diag *d);
/* If CI ci_id's creation is still told by its import batch, write that
 * "create" row to ci_history now (with the batch's time, actor and origin)
 * and detach the CI from the batch. Every history write does this first. */
int cmdb_ci_flush(relm_store *s, int64_t ci_id, relm_diag *d);
/* Apply one value (standard field or attribute) to c; errors name it. */
int cmdb_ci_set(relm_store *s, cmdb_ci *c, const relm_cmdb_value *v,
                relm_diag *d);
/* Apply one attribute by index in c's type (the importer's fast path). */
int cmdb_ci_set_attr(cmdb_ci *c, int idx, const relm_cmdb_value *v,
                     relm_diag *d);
/* Fill defaults, check required attributes, then insert or update the row
 * and write the history row. Returns RELM_OK with *changed = 0 when an
 * update changed nothing. */
int cmdb_ci_save(relm_store *s, cmdb_ci *c, const relm_cmdb_origin *o,
                 int *changed, relm_diag *d);
/* relm_store_stmt(s, sql) the first time, then the statement kept in *slot
 * (reset, bindings cleared): a bulk import skips the cache lookup per row.
 * slot may be NULL. */
sqlite3_stmt *cmdb_stmt(relm_store *s, sqlite3_stmt **slot, const char *sql,
                        relm_diag *d);
/* Write one ci_history row (cmdb_history_at: through a statement slot). */
int cmdb_history_at(relm_store *s, sqlite3_stmt **slot, int64_t ci_id,
                    const char *ci_name, const char *action, const char *diff,
                    const relm_cmdb_origin *o, relm_diag *d);
int cmdb_history(relm_store *s, int64_t ci_id, const char *ci_name,
                 const char *action, const char *diff,
                 const relm_cmdb_origin *o, relm_diag *d);
/* Id of the relationship type `kind`, 0 with unknown_relation. */
int64_t cmdb_rel_kind(relm_store *s, const char *kind, relm_diag *d);

/* Open a CMDB write: BEGIN, then the acting user's cmdb permission checked
 * inside the transaction (relm_auth_begin_cmdb). what names the write in
 * the refusal ("adding a CI"). Every CMDB, media and baseline primitive
 * opens its transaction here; nothing is open when it fails. */
int cmdb_begin(relm_store *s, const char *what, relm_diag *d);

/* Append the occurrence of a CMDB write that leaves no ci_history row
 * (types, relationship types, imports, baselines, media, spares) to the
 * hash-chained log. Precondition: inside the write's transaction. after
 * is a JSON snapshot (may be NULL), note a line for people (may be NULL). */
int cmdb_occurrence(relm_store *s, const char *subject, int64_t id,
                    const char *action, const char *note, const char *after,
                    relm_diag *d);

/* relm_cmdb_update without the permission check: for a primitive that has
 * already checked its own (a closing release updating its CIs' status
 * with the release as origin). Not reachable from Lua as such. */
int cmdb_update_checked_by_caller(relm_store *s, const char *name,
                                  const relm_cmdb_value *f, size_t n,
                                  const relm_cmdb_origin *o, relm_diag *d);

#endif
