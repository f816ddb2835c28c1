/* audit.c: append to and verify the occurrence log. Each row's hash covers
 * the previous row's hash and a canonical text of the row itself. */
#include "audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/sha256.h"
#include "loop/outbox.h"

static const char genesis[65] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* Feed one field as "<length>:<bytes>;" (or "-;" for NULL), so that no
 * choice of values can make two different rows hash alike. */
static void feed_text(relm_sha256 *c, const char *v, size_t n)
{
    char len[32];
    if (v == NULL) {
        relm_sha256_update(c, "-;", 2);
        return;
    }
    int k = snprintf(len, sizeof len, "%zu:", n);
    relm_sha256_update(c, len, (size_t)k);
    relm_sha256_update(c, v, n);
    relm_sha256_update(c, ";", 1);
}

/* Feed a NUL-terminated text (or NULL) as one field. */
static void feed_str(relm_sha256 *c, const char *v)
{
    feed_text(c, v, v != NULL ? strlen(v) : 0);
}

/* Feed an integer as its decimal text, or NULL. */
static void feed_int(relm_sha256 *c, int64_t v, int is_null)
{
    char buf[32];
    if (is_null) {
        feed_text(c, NULL, 0);
        return;
    }
    int k = snprintf(buf, sizeof buf, "%" PRId64, v);
    feed_text(c, buf, (size_t)k);
}

/* The row as the chain sees it; the order here is the canonical order. */
typedef struct row_view {
    int64_t id;
    const char *at;
    int64_t actor_id;
    int actor_null;
    const char *actor;
    const char *subject;
    int64_t subject_id;
    int subject_null;
    const char *action;
    const char *from_state;
    const char *to_state;
    int64_t justification_id;
    int justification_null;
    const char *note;
    const char *before;
    const char *after;
} row_view;

/* hash = sha256(prev_hash || canonical text of the row), as 64 hex
 * digits: the link verify recomputes. */
static void row_hash(const char *prev, const row_view *r, char out[65])
{
    relm_sha256 c;
    unsigned char dig[32];
    relm_sha256_init(&c);
    relm_sha256_update(&c, prev, 64);
    feed_int(&c, r->id, 0);
    feed_str(&c, r->at);
    feed_int(&c, r->actor_id, r->actor_null);
    feed_str(&c, r->actor);
    feed_str(&c, r->subject);
    feed_int(&c, r->subject_id, r->subject_null);
    feed_str(&c, r->action);
    feed_str(&c, r->from_state);
    feed_str(&c, r->to_state);
    feed_int(&c, r->justification_id, r->justification_null);
    feed_str(&c, r->note);
    feed_str(&c, r->before);
    feed_str(&c, r->after);
    relm_sha256_final(&c, dig);
    relm_sha256_tohex(dig, out);
}

int relm_audit_head(relm_store *s, int64_t *id, char hash[65], relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT id, hash FROM occurrences ORDER BY id DESC LIMIT 1", d);
    if (st == NULL)
        return RELM_ERR;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        const char *h = (const char *)sqlite3_column_text(st, 1);
        snprintf(hash, 65, "%s", h != NULL ? h : "");
    } else if (rc == SQLITE_DONE) {
        *id = 0;
        memcpy(hash, genesis, 65);
    } else {
        sqlite3_reset(st);
        return relm_store_fail(s, d, "occurrence log");
    }
    sqlite3_reset(st);
    return RELM_OK;
}

int relm_audit_append(relm_store *s, const relm_occurrence *o, int64_t *id,
                      relm_diag *d)
{
    if (relm_store_depth(s) == 0)
        return relm_diag_set(d, "internal",
                             "occurrence appended outside a transaction");
    int64_t last = 0;
    char prev[65], hash[65];
    if (relm_audit_head(s, &last, prev, d) != RELM_OK)
        return RELM_ERR;
    int64_t actor_id = relm_store_actor_id(s);
    const char *actor = relm_store_actor_name(s);
    row_view r = {
        .id = last + 1, .at = o->at, .actor_id = actor_id,
        .actor_null = actor_id == 0, .actor = actor, .subject = o->subject,
        .subject_id = o->subject_id, .subject_null = o->subject_id == 0,
        .action = o->action, .from_state = o->from_state,
        .to_state = o->to_state, .justification_id = o->justification_id,
        .justification_null = o->justification_id == 0, .note = o->note,
        .before = o->before, .after = o->after,
    };
    row_hash(prev, &r, hash);
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "INSERT INTO occurrences (id, at, actor_id, actor, subject, "
        "subject_id, action, from_state, to_state, justification_id, note, "
        "before, after, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
        "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, r.id);
    sqlite3_bind_text(st, 2, r.at, -1, SQLITE_STATIC);
    if (!r.actor_null)
        sqlite3_bind_int64(st, 3, actor_id);
    sqlite3_bind_text(st, 4, actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, o->subject, -1, SQLITE_STATIC);
    if (!r.subject_null)
        sqlite3_bind_int64(st, 6, o->subject_id);
    sqlite3_bind_text(st, 7, o->action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, o->from_state, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, o->to_state, -1, SQLITE_STATIC);
    if (!r.justification_null)
        sqlite3_bind_int64(st, 10, o->justification_id);
    sqlite3_bind_text(st, 11, o->note, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 12, o->before, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, o->after, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 14, prev, 64, SQLITE_STATIC);
    sqlite3_bind_text(st, 15, hash, 64, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return relm_store_fail(s, d, "occurrence log");
    /* The event goes out in the same transaction (transactional outbox). */
    if (relm_outbox_add(s, o, r.id, d) != RELM_OK)
        return RELM_ERR;
    if (id != NULL)
        *id = r.id;
    return RELM_OK;
}

/* Text of column i of the current row (NULL for NULL). */
static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

int relm_audit_verify(relm_store *s, relm_audit_report *r, relm_diag *d)
{
    memset(r, 0, sizeof *r);
    r->ok = 1;
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT id, at, actor_id, actor, subject, subject_id, action, "
        "from_state, to_state, justification_id, note, before, after, "
        "prev_hash, hash FROM occurrences ORDER BY id",
        d);
    if (st == NULL)
        return RELM_ERR;
    char prev[65], want[65];
    memcpy(prev, genesis, 65);
    int64_t expect_id = 1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_view v = {
            .id = sqlite3_column_int64(st, 0),
            .at = col_text(st, 1),
            .actor_id = sqlite3_column_int64(st, 2),
            .actor_null = sqlite3_column_type(st, 2) == SQLITE_NULL,
            .actor = col_text(st, 3),
            .subject = col_text(st, 4),
            .subject_id = sqlite3_column_int64(st, 5),
            .subject_null = sqlite3_column_type(st, 5) == SQLITE_NULL,
            .action = col_text(st, 6),
            .from_state = col_text(st, 7),
            .to_state = col_text(st, 8),
            .justification_id = sqlite3_column_int64(st, 9),
            .justification_null = sqlite3_column_type(st, 9) == SQLITE_NULL,
            .note = col_text(st, 10),
            .before = col_text(st, 11),
            .after = col_text(st, 12),
        };
        const char *stored_prev = col_text(st, 13);
        const char *stored = col_text(st, 14);
        r->rows++;
        if (v.id != expect_id) {
            r->ok = 0;
            r->bad_id = v.id;
            snprintf(r->reason, sizeof r->reason,
                     "row %" PRId64 " is missing before row %" PRId64
                     " (deleted, or a row inserted out of sequence)",
                     expect_id, v.id);
            break;
        }
        if (stored_prev == NULL || strcmp(stored_prev, prev) != 0) {
            r->ok = 0;
            r->bad_id = v.id;
            snprintf(r->reason, sizeof r->reason,
                     "row %" PRId64 ": prev_hash does not match the hash of "
                     "the row before", v.id);
            break;
        }
        row_hash(prev, &v, want);
        if (stored == NULL || strcmp(stored, want) != 0) {
            r->ok = 0;
            r->bad_id = v.id;
            snprintf(r->reason, sizeof r->reason,
                     "row %" PRId64 ": content does not match its hash "
                     "(altered)", v.id);
            break;
        }
        memcpy(prev, want, 65);
        expect_id++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sqlite3_reset(st);
        return relm_store_fail(s, d, "verify");
    }
    sqlite3_reset(st);
    return RELM_OK;
}

/* See audit.h. An intact chain (ids 1..rows, every link holding) plus
 * the kept row still there with the kept hash. */
int relm_audit_verify_kept(relm_store *s, int64_t id, const char *hash,
                           relm_audit_report *r, relm_diag *d)
{
    if (relm_audit_verify(s, r, d) != RELM_OK)
        return RELM_ERR;
    if (!r->ok || id <= 0)
        return RELM_OK;
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT hash FROM occurrences WHERE id = ?1", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *h = col_text(st, 0);
        if (h == NULL || hash == NULL || strcmp(h, hash) != 0) {
            r->ok = 0;
            r->bad_id = id;
            snprintf(r->reason, sizeof r->reason,
                     "row %" PRId64 " no longer has the hash kept for it: "
                     "the log was rewritten from that row or before", id);
        }
    } else if (rc == SQLITE_DONE) {
        r->ok = 0;
        r->bad_id = id;
        snprintf(r->reason, sizeof r->reason,
                 "row %" PRId64 " is gone: the log ends at row %" PRId64
                 " (its tail was truncated)", id, r->rows);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return relm_store_fail(s, d, "verify");
    return RELM_OK;
}
