/* audit.c: append to and verify the occurrence log. Each row's hash covers
 * the previous row's hash and a canonical text of the row itself. */
#include "base/i18n.h"
#include "audit.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/migrations.h"
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

/* A text field and its length in bytes. The length is the stored one
 * (sqlite3_column_bytes), never strlen: text written into the file behind
 * relm's back may hold a NUL, and what follows it must count. Honest rows
 * never hold one (they are bound as NUL-terminated strings and every text
 * entering relm is refused if it holds a NUL), so for them both lengths
 * agree and chains written before this change verify unchanged. */
typedef struct text_view {
    const char *s;
    size_t n;
} text_view;

static text_view cstr(const char *v)
{
    text_view t = {v, v != NULL ? strlen(v) : 0};
    return t;
}

static void feed_str(relm_sha256 *c, text_view v)
{
    feed_text(c, v.s, v.n);
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
    text_view at;
    int64_t actor_id;
    int actor_null;
    text_view actor;
    text_view subject;
    int64_t subject_id;
    int subject_null;
    text_view action;
    text_view from_state;
    text_view to_state;
    int64_t justification_id;
    int justification_null;
    text_view note;
    text_view before;
    text_view after;
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

int relm_audit_log(relm_store *s, const char *subject, int64_t id,
                   const char *action, const char *note, const char *before,
                   const char *after, relm_diag *d)
{
    char now[32];
    relm_clock_now_iso(now);
    relm_occurrence o = {.at = now, .subject = subject, .subject_id = id,
                         .action = action, .note = note, .before = before,
                         .after = after};
    return relm_audit_append(s, &o, NULL, d);
}

int relm_audit_append(relm_store *s, const relm_occurrence *o, int64_t *id,
                      relm_diag *d)
{
    if (relm_store_depth(s) == 0)
        return relm_diag_set(d, "internal",
                             _("occurrence appended outside a transaction"));
    int64_t last = 0;
    char prev[65], hash[65];
    if (relm_audit_head(s, &last, prev, d) != RELM_OK)
        return RELM_ERR;
    int64_t actor_id = relm_store_actor_id(s);
    const char *actor = relm_store_actor_name(s);
    row_view r = {
        .id = last + 1, .at = cstr(o->at), .actor_id = actor_id,
        .actor_null = actor_id == 0, .actor = cstr(actor),
        .subject = cstr(o->subject), .subject_id = o->subject_id,
        .subject_null = o->subject_id == 0, .action = cstr(o->action),
        .from_state = cstr(o->from_state), .to_state = cstr(o->to_state),
        .justification_id = o->justification_id,
        .justification_null = o->justification_id == 0,
        .note = cstr(o->note), .before = cstr(o->before),
        .after = cstr(o->after),
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
    sqlite3_bind_text(st, 2, o->at, -1, SQLITE_STATIC);
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

/* Text of column i with its stored length in bytes (text after a NUL
 * included). sqlite3_column_bytes must follow sqlite3_column_text. */
static text_view col_view(sqlite3_stmt *st, int i)
{
    text_view t;
    t.s = (const char *)sqlite3_column_text(st, i);
    t.n = t.s != NULL ? (size_t)sqlite3_column_bytes(st, i) : 0;
    return t;
}

/* Record one discrepancy; the first also fills bad_id and reason. */
static void problem(relm_audit_report *r, const char *kind, int64_t id,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void problem(relm_audit_report *r, const char *kind, int64_t id,
                    const char *fmt, ...)
{
    char reason[sizeof r->reason];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (r->ok) {
        r->ok = 0;
        r->bad_id = id;
        memcpy(r->reason, reason, sizeof reason);
    }
    if (r->nproblems == RELM_AUDIT_MAX_PROBLEMS) {
        r->more++;
        return;
    }
    relm_audit_problem *p = &r->problems[r->nproblems++];
    p->kind = kind;
    p->id = id;
    memcpy(p->reason, reason, sizeof reason);
}

/* Walk the chain (see relm_audit_verify). */
static int verify_chain(relm_store *s, relm_audit_report *r, relm_diag *d)
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
            .at = col_view(st, 1),
            .actor_id = sqlite3_column_int64(st, 2),
            .actor_null = sqlite3_column_type(st, 2) == SQLITE_NULL,
            .actor = col_view(st, 3),
            .subject = col_view(st, 4),
            .subject_id = sqlite3_column_int64(st, 5),
            .subject_null = sqlite3_column_type(st, 5) == SQLITE_NULL,
            .action = col_view(st, 6),
            .from_state = col_view(st, 7),
            .to_state = col_view(st, 8),
            .justification_id = sqlite3_column_int64(st, 9),
            .justification_null = sqlite3_column_type(st, 9) == SQLITE_NULL,
            .note = col_view(st, 10),
            .before = col_view(st, 11),
            .after = col_view(st, 12),
        };
        const char *stored_prev = col_text(st, 13);
        const char *stored = col_text(st, 14);
        r->rows++;
        if (v.id != expect_id) {
            problem(r, "chain", v.id,
                    _("row %" PRId64 " is missing before row %" PRId64
                    " (deleted, or a row inserted out of sequence)"),
                    expect_id, v.id);
            break;
        }
        if (stored_prev == NULL || strcmp(stored_prev, prev) != 0) {
            problem(r, "chain", v.id,
                    _("row %" PRId64 ": prev_hash does not match the hash of "
                    "the row before"), v.id);
            break;
        }
        row_hash(prev, &v, want);
        if (stored == NULL || strcmp(stored, want) != 0) {
            problem(r, "chain", v.id,
                    _("row %" PRId64 ": content does not match its hash "
                    "(altered)"), v.id);
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

/* The kept head (id, hash) is still in the chain with that hash. */
static int verify_anchor(relm_store *s, int64_t id, const char *hash,
                         relm_audit_report *r, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT hash FROM occurrences WHERE id = ?1", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *h = col_text(st, 0);
        if (h == NULL || hash == NULL || strcmp(h, hash) != 0)
            problem(r, "anchor", id,
                    _("row %" PRId64 " no longer has the hash kept for it: "
                    "the log was rewritten from that row or before"), id);
    } else if (rc == SQLITE_DONE) {
        problem(r, "anchor", id,
                _("row %" PRId64 " is gone: the log ends at row %" PRId64
                " (its tail was truncated)"), id, r->rows);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return relm_store_fail(s, d, "verify");
    return RELM_OK;
}

/* The schema objects the chain's guarantees rest on: the log itself, the
 * triggers that make it append-only, the releases and the view their
 * snapshots come from (a redefined view could make an edited row look
 * like its snapshot). */
static const struct {
    const char *type, *name, *why;
} chain_objects[] = {
    {"table", "occurrences", "the occurrence log"},
    {"trigger", "occurrences_no_update", "the log is no longer append-only"},
    {"trigger", "occurrences_no_delete", "the log is no longer append-only"},
    {"table", "releases", "the releases the log describes"},
    {"view", "release_snapshots", "the snapshots the log records"},
};

/* The CREATE statement for name as the newest migration that made it
 * wrote it, without the semicolon (SQLite keeps exactly that text in
 * sqlite_schema): into out, or "" when no migration has it. A trigger
 * ends at its END, a view at the first semicolon. */
static void migration_text(const char *type, const char *name, char *out,
                           size_t size)
{
    const char *kw = strcmp(type, "trigger") == 0 ? "TRIGGER" : "VIEW";
    char head[2][128];
    snprintf(head[0], sizeof head[0], "CREATE %s %s ", kw, name);
    snprintf(head[1], sizeof head[1], "CREATE %s IF NOT EXISTS %s ", kw,
             name);
    out[0] = '\0';
    for (int i = relm_migration_count - 1; i >= 0; i--) {
        const char *p = NULL;
        /* The last definition in the file wins (a migration may drop and
         * create again). */
        for (int h = 0; h < 2; h++)
            for (const char *q = relm_migrations[i].sql;
                 (q = strstr(q, head[h])) != NULL; q++)
                if (p == NULL || q > p)
                    p = q;
        if (p == NULL)
            continue;
        const char *end = strcmp(type, "trigger") == 0 ? strstr(p, "END;")
                                                       : strchr(p, ';');
        if (end == NULL)
            return;
        if (strcmp(type, "trigger") == 0)
            end += 3;
        if ((size_t)(end - p) < size)
            snprintf(out, size, "%.*s", (int)(end - p), p);
        return;
    }
}

/* Each chain object exists, and a trigger or view reads as its migration
 * wrote it. Sets *releases_ok when the release checks can run. */
static int verify_schema(relm_store *s, relm_audit_report *r,
                         int *releases_ok, relm_diag *d)
{
    static char want[8192];
    *releases_ok = 1;
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT sql FROM sqlite_schema WHERE type = ?1 AND name = ?2", d);
    if (st == NULL)
        return RELM_ERR;
    for (size_t i = 0; i < sizeof chain_objects / sizeof chain_objects[0];
         i++) {
        const char *type = chain_objects[i].type, *name = chain_objects[i].name;
        sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            problem(r, "schema", 0, _("%s %s is missing (dropped): %s"), type,
                    name, chain_objects[i].why);
            if (strcmp(type, "trigger") != 0)
                *releases_ok = 0;
        } else if (rc == SQLITE_ROW && strcmp(type, "table") != 0) {
            migration_text(type, name, want, sizeof want);
            const char *have = col_text(st, 0);
            if (want[0] != '\0' && (have == NULL || strcmp(have, want) != 0)) {
                problem(r, "schema", 0, _("%s %s is not the one the migrations "
                        "made (redefined): %s"), type, name,
                        chain_objects[i].why);
                if (strcmp(type, "view") == 0)
                    *releases_ok = 0;
            }
        } else if (rc != SQLITE_ROW) {
            sqlite3_reset(st);
            return relm_store_fail(s, d, "verify");
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    return RELM_OK;
}

/* One field where a release's current snapshot and the snapshot of its
 * last occurrence differ, described into r as a "release" problem. */
static int release_field_problem(relm_store *s, relm_audit_report *r,
                                 int64_t id, const char *number,
                                 int64_t occ, const char *then,
                                 const char *now, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT j.key, json_extract(?2, j.fullkey), j.value "
        "FROM json_each(?1) j WHERE json_extract(?2, j.fullkey) IS NOT "
        "j.value UNION ALL SELECT j.key, j.value, NULL FROM json_each(?2) j "
        "WHERE json_extract(?1, j.fullkey) IS NULL LIMIT 1",
        d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_text(st, 1, then, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *key = col_text(st, 0), *v_now = col_text(st, 1),
                   *v_then = col_text(st, 2);
        problem(r, "release", id, _("release %s (id %" PRId64 "): %s is "
                "'%.40s' but its last occurrence (row %" PRId64 ") says "
                "'%.40s': changed without an occurrence"), number, id,
                key ? key : "?", v_now ? v_now : "nothing", occ,
                v_then ? v_then : "nothing");
    } else {
        problem(r, "release", id, _("release %s (id %" PRId64 ") differs "
                "from the snapshot of its last occurrence (row %" PRId64
                ")"), number, id, occ);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return relm_store_fail(s, d, "verify");
    return RELM_OK;
}

/* Every release is what the snapshot of its last occurrence says (every
 * write of a release appends one with the snapshot after it, in the same
 * transaction), and every release the log names still exists. Activity,
 * approval and link occurrences also have the release as subject but
 * record their own record's snapshot: a release snapshot is the one whose
 * id is the release's and which has a workflow and a phase. */
static int verify_releases(relm_store *s, relm_audit_report *r,
                           relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT v.id, v.number, v.snapshot, o.id, o.after "
        "FROM release_snapshots v LEFT JOIN occurrences o ON o.id = "
        "(SELECT id FROM occurrences WHERE subject = 'release' AND "
        "subject_id = v.id AND json_extract(after, '$.id') = v.id AND "
        "json_extract(after, '$.workflow') IS NOT NULL AND "
        "json_extract(after, '$.phase') IS NOT NULL ORDER BY id DESC "
        "LIMIT 1) ORDER BY v.id",
        d);
    if (st == NULL)
        return RELM_ERR;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        const char *number = col_text(st, 1);
        const char *now = col_text(st, 2);
        const char *then = col_text(st, 4);
        r->releases++;
        if (sqlite3_column_type(st, 3) == SQLITE_NULL) {
            problem(r, "release", id, _("release %s (id %" PRId64 ") has no "
                    "occurrence: written straight into the database"),
                    number ? number : "?", id);
        } else if (now == NULL || then == NULL || strcmp(now, then) != 0) {
            if (release_field_problem(s, r, id, number ? number : "?",
                                      sqlite3_column_int64(st, 3),
                                      then ? then : "{}", now ? now : "{}",
                                      d) != RELM_OK) {
                sqlite3_reset(st);
                return RELM_ERR;
            }
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return relm_store_fail(s, d, "verify");
    st = relm_store_stmt(
        s,
        "SELECT subject_id, max(id) FROM occurrences WHERE subject = "
        "'release' AND subject_id IS NOT NULL AND subject_id NOT IN "
        "(SELECT id FROM releases) GROUP BY subject_id ORDER BY subject_id",
        d);
    if (st == NULL)
        return RELM_ERR;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        problem(r, "release", sqlite3_column_int64(st, 0),
                _("release id %" PRId64 " is gone, though occurrence row %"
                PRId64 " records it: deleted behind relm's back"),
                (int64_t)sqlite3_column_int64(st, 0),
                (int64_t)sqlite3_column_int64(st, 1));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return relm_store_fail(s, d, "verify");
    return RELM_OK;
}

int relm_audit_verify(relm_store *s, relm_audit_report *r, relm_diag *d)
{
    return relm_audit_verify_kept(s, 0, NULL, r, d);
}

/* See audit.h: the chain, the kept head, the schema, the releases. */
int relm_audit_verify_kept(relm_store *s, int64_t id, const char *hash,
                           relm_audit_report *r, relm_diag *d)
{
    int releases_ok = 0;
    if (verify_chain(s, r, d) != RELM_OK ||
        (id > 0 && verify_anchor(s, id, hash, r, d) != RELM_OK) ||
        verify_schema(s, r, &releases_ok, d) != RELM_OK ||
        (releases_ok && verify_releases(s, r, d) != RELM_OK))
        return RELM_ERR;
    return RELM_OK;
}
