/* import.h: bulk import and export of CIs and relationships as CSV
 * (libcsv) or JSON Lines, in one transaction, built for millions of rows. */
#ifndef RELM_CMDB_IMPORT_H
#define RELM_CMDB_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "cmdb/cmdb.h"

enum { RELM_IMPORT_CSV, RELM_IMPORT_JSONL };

typedef struct relm_cmdb_import_opts {
    int format;                    /* RELM_IMPORT_CSV or _JSONL */
    int relationships;             /* 0: CIs, 1: relationships */
    int skip_errors;               /* 1: skip bad rows and report them */
    const relm_cmdb_origin *origin;
    /* Optional: told how far the import is, at most about 10 times a
     * second and once at the end (done == total). done and total are bytes
     * of the file (read so far, file size). A non-zero return stops the
     * import (nothing written; the caller's message is taken from d, which
     * the hook fills). NULL: nothing is measured. */
    int (*progress)(void *ud, int64_t done, int64_t total, relm_diag *d);
    void *progress_ud;
} relm_cmdb_import_opts;

/* One skipped row (skip_errors). row counts records from 1 = the header
 * (CSV) or lines from 1 (JSONL); column is the 1-based field, 0 = the
 * whole row. */
typedef struct relm_import_problem {
    int64_t row;
    int column;
    char *message;
} relm_import_problem;

typedef struct relm_import_report {
    relm_import_problem *items;
    size_t n, cap;
} relm_import_report;

void relm_import_report_free(relm_import_report *r);

/* Import the file at path. CIs are upserted by name, relationships added
 * unless they exist. Without skip_errors the first bad row aborts
 * ("file:row:column: what is wrong") and nothing is written; with it, bad
 * rows are left out and listed in rep. *count = rows written or already
 * present. One transaction. */
int relm_cmdb_import(relm_store *s, const char *path,
                     const relm_cmdb_import_opts *o, int64_t *count,
                     relm_import_report *rep, relm_diag *d);

typedef struct relm_cmdb_export_opts {
    int format;
    int relationships;
    const char *type;              /* CIs of this type only; NULL = all */
} relm_cmdb_export_opts;

/* Write CIs or relationships to path in the format import reads, so that
 * export -> import round-trips. *count = rows written. */
int relm_cmdb_export(relm_store *s, const char *path,
                     const relm_cmdb_export_opts *o, int64_t *count,
                     relm_diag *d);

#endif
