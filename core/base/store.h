/* store.h: the SQLite store: opening, migrations, cached statements and
 * nested transactions. Every other core module reaches the database here. */
#ifndef RELM_STORE_H
#define RELM_STORE_H

#include <sqlite3.h>
#include <stdint.h>

#include "base/diag.h"

/* "RELM" in ASCII; written into PRAGMA application_id so that a file made
 * by another program is recognised and refused. */
#define RELM_APPLICATION_ID 0x52454c4d

typedef struct relm_store relm_store;

typedef struct relm_store_opts {
    int synchronous_full; /* 1: PRAGMA synchronous=FULL, 0: NORMAL */
    int busy_timeout_ms;  /* 0 picks the default (5000 ms) */
    int create;           /* 1: create the file when it does not exist */
} relm_store_opts;

/* Open (and if needed create and migrate) the database at path. A file that
 * is not a relm database, is corrupt, or was written by a newer relm is
 * refused before anything is written to it. On success *out owns the
 * connection; on failure *out is NULL and d says why. *created is set to 1
 * when this call created the file (so a failed start can remove it). */
int relm_store_open(relm_store **out, const char *path,
                    const relm_store_opts *opts, int *created, relm_diag *d);

/* Finalize every cached statement and close. Accepts NULL. */
void relm_store_close(relm_store *s);

/* One slot for what the release engine keeps per store (its compiled
 * workflows, core/workflow.c): base/ knows nothing of its type, only how
 * to free it when the store closes. Setting it frees the previous one. */
typedef void (*relm_store_free_fn)(void *p);
void relm_store_set_engine_data(relm_store *s, void *p, relm_store_free_fn fn);
void *relm_store_engine_data(relm_store *s);

sqlite3 *relm_store_db(relm_store *s);
const char *relm_store_path(const relm_store *s);

/* The schema version this binary knows (the highest compiled migration). */
int relm_store_schema_version(void);

/* A prepared statement for sql, from the cache when it was prepared before.
 * sql must hold exactly one statement (text after it other than blanks and
 * comments is refused). It comes back reset with no bindings. The caller must be done with it
 * (stepped to the end or reset) before asking for the same SQL again.
 * The cache keeps the RELM_STORE_CACHE_MAX most recently used statements
 * and finalizes the least recently used one beyond that (never one that is
 * mid-step), so a statement must not be kept across more than that many
 * other requests. Returns NULL with d filled on a prepare error. */
enum { RELM_STORE_CACHE_MAX = 256 };
sqlite3_stmt *relm_store_stmt(relm_store *s, const char *sql, relm_diag *d);
/* How many statements the cache holds now (at most RELM_STORE_CACHE_MAX). */
int relm_store_cached(const relm_store *s);

/* Look up one integer (an id) by one text key: sql selects one column with
 * one parameter, e.g. "SELECT id FROM cis WHERE name = ?1". Returns RELM_OK
 * with *out set when a row exists, RELM_NOT_FOUND (d untouched) when none,
 * RELM_ERR with d filled when the query fails. */
enum { RELM_NOT_FOUND = 1 };
int relm_store_lookup(relm_store *s, const char *sql, const char *key,
                      int64_t *out, relm_diag *d);

/* Step the read statement st once. RELM_OK when it stands on a row: the
 * caller reads the columns, then resets st. Otherwise st is reset here and
 * the result is RELM_NOT_FOUND (no row; d untouched) or RELM_ERR (the step
 * failed; d filled by relm_store_fail with context). */
int relm_store_step_row(relm_store *s, sqlite3_stmt *st, relm_diag *d,
                        const char *context);

/* Step st once and return a malloc'd copy of the text of column 0 of its
 * row (the JSON snapshot of a row, say), then reset st. NULL when there
 * is no row, the value is NULL, the step failed or memory ran out: the
 * caller says which matters. */
char *relm_store_text(sqlite3_stmt *st);

/* *out = relm_store_text of sql (one statement) with ?1 bound to id: the
 * JSON snapshot of row id, say, e.g. "SELECT json_object(...) FROM media
 * WHERE id = ?1" (NULL when relm_store_text says so). RELM_ERR with d
 * filled, and *out NULL, only when sql does not prepare. */
int relm_store_id_text(relm_store *s, const char *sql, int64_t id,
                       char **out, relm_diag *d);

/* Bind v (which must outlive the step) to parameter i as text, or NULL
 * when v is NULL: the optional text fields of every write. */
void relm_store_bind_text(sqlite3_stmt *st, int i, const char *v);

/* Copy text column i of st's current row into out (size bytes, cut to
 * fit; "" for NULL). */
void relm_store_column_copy(sqlite3_stmt *st, int i, char *out, size_t size);

/* Run one or more statements without results (DDL, pragmas). */
int relm_store_exec(relm_store *s, const char *sql, relm_diag *d);

/* Transactions nest: the outermost begin is BEGIN IMMEDIATE, inner ones are
 * savepoints. commit and rollback close the innermost level. */
int relm_store_begin(relm_store *s, relm_diag *d);
int relm_store_commit(relm_store *s, relm_diag *d);
void relm_store_rollback(relm_store *s);
int relm_store_depth(const relm_store *s);
/* End the level relm_store_begin opened, as a primitive's last line:
 * commit when rc is RELM_OK, roll back otherwise or when the commit fails
 * (d then says why). Returns RELM_OK only when the work was committed. */
int relm_store_end(relm_store *s, int rc, relm_diag *d);

/* A read transaction, so that several queries see one snapshot: begun
 * (deferred, no write lock) only when no transaction is open, and then
 * *own is 1 and relm_store_read_end must end it. Reading does not count as
 * a change (relm_store_generation is not bumped). */
int relm_store_read_begin(relm_store *s, int *own, relm_diag *d);
void relm_store_read_end(relm_store *s, int own);

/* Map an SQLite result code from this connection into d, with context. */
int relm_store_fail(relm_store *s, relm_diag *d, const char *context);

/* Step the write statement st (INSERT, UPDATE, DELETE) to its end and reset
 * it. On failure d says why, naming the row by what (a printf format, e.g.
 * "a CI named '%s'"), with one code per cause:
 *   UNIQUE or PRIMARY KEY      duplicate         "<what> already exists"
 *   FOREIGN KEY on a DELETE    in_use            "<what> is still in use"
 *   FOREIGN KEY otherwise      not_found         "<what> refers to ..."
 *   CHECK, NOT NULL            invalid_argument  "<what>: <SQLite's words>"
 *   BUSY, LOCKED, other        as relm_store_fail (busy, never corrupt)
 * Returns RELM_OK when the statement ran (it may have changed no row). */
int relm_store_step_write(relm_store *s, sqlite3_stmt *st, relm_diag *d,
                          const char *what, ...)
    __attribute__((format(printf, 4, 5)));

/* The acting user: set once at start-up from --user; 0 means none yet. */
int relm_store_set_actor(relm_store *s, const char *name, relm_diag *d);
/* Like set_actor, but looked up when the id is first asked for: the
 * default user costs a start-up nothing (the first query parses the whole
 * schema, about a millisecond). While the name is unknown or inactive the
 * id is 0 and every outermost relm_store_begin fails with unknown_user, so
 * nothing is written in the name of nobody. */
void relm_store_defer_actor(relm_store *s, const char *name);
int64_t relm_store_actor_id(relm_store *s);
const char *relm_store_actor_name(const relm_store *s);

/* A guard vets every action of the statements prepared (or re-prepared)
 * while it is set, with sqlite3_set_authorizer's arguments and results
 * (SQLITE_OK, SQLITE_IGNORE, SQLITE_DENY). relm.sql sets one around its
 * prepare and step so a user's query may only read what the user may see.
 * The previous guard comes back in *old_fn and *old_ctx (either may be
 * NULL) for the caller to restore; fn NULL removes the guard. */
typedef int (*relm_store_guard_fn)(void *ctx, int action, const char *a,
                                   const char *b, const char *db,
                                   const char *inner);
void relm_store_set_guard(relm_store *s, relm_store_guard_fn fn, void *ctx,
                          relm_store_guard_fn *old_fn, void **old_ctx);

/* Bumped whenever this process or another one commits a change, so caches
 * built from the database can tell they are stale (PRAGMA data_version plus
 * a local counter for this connection's own commits). */
uint64_t relm_store_generation(relm_store *s);

#endif
