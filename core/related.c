/* related.c: links from a release to CIs and other records, the minimal
 * change/problem/incident records, CI updates on closure, release impact. */
#include "base/i18n.h"
#include "related.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "auth.h"
#include "cmdb/cmdb.h"
#include "base/clock.h"
#include "base/grow.h"
#include "release.h"

/* Record kinds and the prefix of their generated numbers. */
static const struct {
    const char *kind;
    const char *prefix;
} record_kinds[] = {
    {"change", "CHG"},     {"problem", "PRB"},   {"incident", "INC"},
    {"known_error", "KE"}, {"knowledge", "KB"},  {"document", "DOC"},
    {"project", "PRJ"},
};
#define NRECORD_KINDS (sizeof record_kinds / sizeof record_kinds[0])

static const char *const KIND_LIST =
    "ci, change, problem, incident, known_error, knowledge, document, "
    "media, project";

int relm_related_is_record_kind(const char *kind)
{
    for (size_t i = 0; i < NRECORD_KINDS; i++)
        if (strcmp(record_kinds[i].kind, kind) == 0)
            return 1;
    return 0;
}

/* The prefix of kind's generated numbers ("CHG"), NULL for no record kind. */
static const char *record_prefix(const char *kind)
{
    for (size_t i = 0; i < NRECORD_KINDS; i++)
        if (strcmp(record_kinds[i].kind, kind) == 0)
            return record_kinds[i].prefix;
    return NULL;
}

/* Step a statement expected to yield one integer (0 when no row). */
static int step_int(relm_store *s, sqlite3_stmt *st, int64_t *out,
                    const char *what, relm_diag *d)
{
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return relm_store_fail(s, d, what);
    return RELM_OK;
}

/* The JSON text of a record (for the occurrence log), malloc'd. */
static char *record_json(relm_store *s, int64_t id, relm_diag *d)
{
    char *out;
    if (relm_store_id_text(
            s,
            "SELECT json_patch('{}', json_object('kind', kind, 'number', number, "
            "'title', title, 'description', description, 'status', status, "
            "'url', url, 'cis', (SELECT json_group_array(c.name) FROM record_cis "
            "rc JOIN cis c ON c.id = rc.ci_id WHERE rc.record_id = r.id))) "
            "FROM records r WHERE id = ?1",
            id, &out, d) != RELM_OK)
        return NULL;
    if (out == NULL)
        relm_diag_set(d, "not_found", _("no record with id %" PRId64), id);
    return out;
}

/* Run the write sql (one statement whose parameters are all ids) with ?1,
 * ?2, ?3 bound to a, b, c as far as it has them; its errors name the rows
 * as what ("release links"). */
static int exec_ids(relm_store *s, const char *what, const char *sql,
                    int64_t a, int64_t b, int64_t c, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(s, sql, d);
    if (st == NULL)
        return RELM_ERR;
    const int64_t v[3] = {a, b, c};
    for (int i = 0; i < 3 && i < sqlite3_bind_parameter_count(st); i++)
        sqlite3_bind_int64(st, i + 1, v[i]);
    return relm_store_step_write(s, st, d, "%s", what);
}

/* ---- records ------------------------------------------------------------ */

/* Replace the CI list of record id with names (ncis of them). */
static int set_record_cis(relm_store *s, int64_t id, const char *kind,
                          const char *const *names, size_t n, relm_diag *d)
{
    if (exec_ids(s, "record cis", "DELETE FROM record_cis WHERE record_id = "
                 "?1", id, 0, 0, d) != RELM_OK)
        return RELM_ERR;
    for (size_t i = 0; i < n; i++) {
        relm_diag cd;
        int64_t ci = relm_cmdb_id(s, names[i], &cd);
        if (ci == 0)
            return relm_diag_set(d, strcmp(cd.code, "not_found") == 0
                                        ? "not_found" : cd.code,
                                 "%s: %s", kind, cd.msg);
        if (exec_ids(s, "record cis", "INSERT OR IGNORE INTO record_cis "
                     "(record_id, ci_id) VALUES (?1, ?2)", id, ci, 0, d) !=
            RELM_OK)
            return RELM_ERR;
        if (sqlite3_changes(relm_store_db(s)) == 0)
            return relm_diag_set(d, "duplicate", _("%s: CI '%s' is listed twice"),
                                 kind, names[i]);
    }
    return RELM_OK;
}

/* Append the occurrence of an action on a record. */
static int record_occurrence(relm_store *s, const char *kind, int64_t id,
                             const char *action, const char *at, char *before,
                             relm_diag *d)
{
    char *after = record_json(s, id, d);
    if (after == NULL)
        return RELM_ERR;
    relm_occurrence o = {.at = at, .subject = kind, .subject_id = id,
                         .action = action, .before = before, .after = after};
    int rc = relm_audit_append(s, &o, NULL, d);
    free(after);
    return rc;
}

/* RELM_OK when kind is a record kind, else invalid_argument listing them. */
static int check_kind(const char *kind, relm_diag *d)
{
    if (kind == NULL || !relm_related_is_record_kind(kind))
        return relm_diag_set(d, "invalid_argument",
                             _("unknown record kind '%s' (change, problem, "
                             "incident, known_error, knowledge, document, "
                             "project)"), kind ? kind : "(nil)");
    return RELM_OK;
}

int relm_related_record_add(relm_store *s, const char *kind,
                            const relm_record_spec *spec, int64_t *id,
                            char *number_out, size_t size, relm_diag *d)
{
    if (check_kind(kind, d) != RELM_OK)
        return RELM_ERR;
    if (spec->title == NULL || spec->title[0] == '\0')
        return relm_diag_set(d, "invalid_field", _("%s: title is required"),
                             kind);
    if (spec->number != NULL && spec->number[0] == '\0')
        return relm_diag_set(d, "invalid_field", _("%s: number must not be "
                             "empty"), kind);
    if (spec->status != NULL && spec->status[0] == '\0')
        return relm_diag_set(d, "invalid_field", _("%s: status must not be "
                             "empty"), kind);
    if (cmdb_begin(s, "adding a change/problem/incident record", d) !=
        RELM_OK)
        return RELM_ERR;
    char at[32], number[64];
    relm_clock_now_iso(at);
    sqlite3_stmt *st;
    int rc = RELM_ERR;
    if (spec->number != NULL) {
        snprintf(number, sizeof number, "%s", spec->number);
    } else {
        /* Next free generated number: a number given by hand may already
         * hold the counter's next value, so skip past it. */
        for (;;) {
            int64_t last;
            st = relm_store_stmt(
                s, "INSERT INTO record_numbers (kind, last) VALUES (?1, 1) "
                   "ON CONFLICT (kind) DO UPDATE SET last = last + 1 "
                   "RETURNING last", d);
            if (st == NULL)
                goto fail;
            sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
            if (step_int(s, st, &last, "record number", d) != RELM_OK)
                goto fail;
            snprintf(number, sizeof number, "%s-%06" PRId64,
                     record_prefix(kind), last);
            int64_t taken;
            st = relm_store_stmt(s, "SELECT count(*) FROM records WHERE "
                                    "kind = ?1 AND number = ?2", d);
            if (st == NULL)
                goto fail;
            sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, number, -1, SQLITE_STATIC);
            if (step_int(s, st, &taken, "record number", d) != RELM_OK)
                goto fail;
            if (taken == 0)
                break;
        }
    }
    st = relm_store_stmt(
        s, "INSERT INTO records (kind, number, title, description, status, "
           "url, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, "
           "coalesce(?5, 'open'), ?6, ?7, ?7)", d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, number, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, spec->title, -1, SQLITE_STATIC);
    relm_store_bind_text(st, 4, spec->description);
    relm_store_bind_text(st, 5, spec->status);
    relm_store_bind_text(st, 6, spec->url);
    sqlite3_bind_text(st, 7, at, -1, SQLITE_STATIC);
    if (relm_store_step_write(s, st, d, "a %s numbered '%s'", kind, number) !=
        RELM_OK)
        goto fail;
    *id = sqlite3_last_insert_rowid(relm_store_db(s));
    if (spec->cis != NULL &&
        set_record_cis(s, *id, kind, spec->cis, spec->ncis, d) != RELM_OK)
        goto fail;
    rc = record_occurrence(s, kind, *id, "add", at, NULL, d);
fail:
    if (relm_store_end(s, rc, d) != RELM_OK) {
        *id = 0;
        return RELM_ERR;
    }
    snprintf(number_out, size, "%s", number);
    return RELM_OK;
}

/* Id of the record kind/number, 0 with not_found. */
static int64_t record_id(relm_store *s, const char *kind, const char *number,
                         relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT id FROM records WHERE kind = ?1 AND number = ?2", d);
    if (st == NULL)
        return 0;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, number, -1, SQLITE_STATIC);
    int64_t id;
    if (step_int(s, st, &id, "record", d) != RELM_OK)
        return 0;
    if (id == 0)
        relm_diag_set(d, "not_found", _("no %s numbered '%s'"), kind, number);
    return id;
}

int relm_related_record_update(relm_store *s, const char *kind,
                               const char *number,
                               const relm_record_spec *spec, relm_diag *d)
{
    if (check_kind(kind, d) != RELM_OK)
        return RELM_ERR;
    const char *empty = spec->title != NULL && !spec->title[0]     ? "title"
                        : spec->number != NULL && !spec->number[0] ? "number"
                        : spec->status != NULL && !spec->status[0] ? "status"
                                                                   : NULL;
    if (empty != NULL)
        return relm_diag_set(d, "invalid_field", _("%s: %s must not be empty"),
                             kind, empty);
    if (cmdb_begin(s, "changing a change/problem/incident record", d) !=
        RELM_OK)
        return RELM_ERR;
    char at[32];
    relm_clock_now_iso(at);
    char *before = NULL;
    int rc = RELM_ERR;
    int64_t id = record_id(s, kind, number, d);
    if (id == 0)
        goto fail;
    before = record_json(s, id, d);
    if (before == NULL)
        goto fail;
    sqlite3_stmt *st = relm_store_stmt(
        s, "UPDATE records SET number = coalesce(?2, number), title = "
           "coalesce(?3, title), description = coalesce(?4, description), "
           "status = coalesce(?5, status), url = coalesce(?6, url), "
           "updated_at = ?7 WHERE id = ?1", d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_int64(st, 1, id);
    relm_store_bind_text(st, 2, spec->number);
    relm_store_bind_text(st, 3, spec->title);
    relm_store_bind_text(st, 4, spec->description);
    relm_store_bind_text(st, 5, spec->status);
    relm_store_bind_text(st, 6, spec->url);
    sqlite3_bind_text(st, 7, at, -1, SQLITE_STATIC);
    if (relm_store_step_write(s, st, d, "a %s numbered '%s'", kind,
                              spec->number) != RELM_OK)
        goto fail;
    if (spec->cis != NULL &&
        set_record_cis(s, id, kind, spec->cis, spec->ncis, d) != RELM_OK)
        goto fail;
    rc = record_occurrence(s, kind, id, "update", at, before, d);
fail:
    free(before);
    return relm_store_end(s, rc, d);
}

/* ---- links --------------------------------------------------------------- */

/* What relate/unrelate need to know about the release. */
typedef relm_release_head_info release_info;

/* Read release id and check the acting user may change its links: it
 * exists, is open or suspended, and they hold execute or create on its
 * workflow. */
static int release_for_links(relm_store *s, int64_t id, const char *action,
                             release_info *r, relm_diag *d)
{
    if (relm_release_head(s, id, NULL, r, d) != RELM_OK)
        return RELM_ERR;
    /* Who may work the release, or register one (so a requester can name
     * the change a release is for), may relate things to it. */
    if (relm_auth_check(s, r->workflow, "create", NULL) != RELM_OK &&
        relm_auth_check(s, r->workflow, "execute", d) != RELM_OK)
        return RELM_ERR;
    if (strcmp(r->status, "open") != 0 && strcmp(r->status, "suspended") != 0)
        return relm_diag_set(d, "not_allowed", _("cannot %s: release %s is %s"),
                             action, r->number, r->status);
    return RELM_OK;
}

/* Resolve "name" or "name@version" to a medium's id; invalid_argument when
 * a bare name has several versions. */
static int64_t media_id(relm_store *s, const char *target, relm_diag *d)
{
    char name[512];
    const char *at = strrchr(target, '@');
    const char *version = NULL;
    if (at != NULL && at != target) {
        snprintf(name, sizeof name, "%.*s", (int)(at - target), target);
        version = at + 1;
    } else {
        snprintf(name, sizeof name, "%s", target);
    }
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT id, version FROM media WHERE name = ?1 AND "
           "(?2 IS NULL OR version = ?2) ORDER BY version", d);
    if (st == NULL)
        return 0;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    relm_store_bind_text(st, 2, version);
    int64_t id = 0;
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        n++;
    }
    sqlite3_reset(st);
    if (n == 0) {
        relm_diag_set(d, "not_found", _("no medium named '%s' in the "
                      "definitive media library"), target);
        return 0;
    }
    if (n > 1) {
        relm_diag_set(d, "invalid_argument", _("medium '%s' has %d versions; "
                      "say which as name@version"), name, n);
        return 0;
    }
    return id;
}

/* Append the occurrence of relate/unrelate on release id: the note says
 * what in words; after is {kind, target, note, cis} (cis: the CI names
 * the link brought or took, for a CI or a change). */
static int link_occurrence(relm_store *s, int64_t id, const release_info *r,
                           const char *action, const char *kind,
                           const char *target, const char *note,
                           const char *cis_json, const char *at, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT json_patch('{}', json_object('kind', ?1, 'target', ?2, "
           "'note', ?3, 'cis', json(?4)))", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
    relm_store_bind_text(st, 3, note);
    relm_store_bind_text(st, 4, cis_json);
    char *after = relm_store_text(st);
    if (after == NULL)
        return relm_store_fail(s, d, "occurrence");
    char text[1024];
    snprintf(text, sizeof text, "%s %s%s%s", kind, target,
             note != NULL ? ": " : "", note != NULL ? note : "");
    relm_occurrence o = {.at = at, .subject = "release", .subject_id = id,
                         .action = action, .from_state = r->state,
                         .to_state = r->state, .note = text, .after = after};
    int rc = relm_audit_append(s, &o, NULL, d);
    free(after);
    return rc;
}

/* JSON array of the names of release id's CIs brought by record rec (or
 * the single CI ci when rec is 0), malloc'd. */
static char *cis_json(relm_store *s, int64_t id, int64_t rec, int64_t ci,
                      relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT json_group_array(c.name) FROM release_cis rc JOIN cis c "
           "ON c.id = rc.ci_id WHERE rc.release_id = ?1 AND "
           "(rc.via_record_id = ?2 OR rc.ci_id = ?3)", d);
    if (st == NULL)
        return NULL;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, rec);
    sqlite3_bind_int64(st, 3, ci);
    char *out = relm_store_text(st);
    if (out == NULL)
        relm_store_fail(s, d, "release cis");
    return out;
}

/* *ci = the id of the CI named name; RELM_ERR with the CMDB's diagnosis
 * when there is none. */
static int ci_named(relm_store *s, const char *name, int64_t *ci,
                    relm_diag *d)
{
    relm_diag cd;
    *ci = relm_cmdb_id(s, name, &cd);
    if (*ci != 0)
        return RELM_OK;
    *d = cd;
    return RELM_ERR;
}

/* Resolve the target of a record or media link: *med for media, else *rec
 * (the record kind/target); RELM_ERR with not_found when there is none. */
static int link_target(relm_store *s, const char *kind, const char *target,
                       int64_t *rec, int64_t *med, relm_diag *d)
{
    if (strcmp(kind, "media") == 0)
        *med = media_id(s, target, d);
    else
        *rec = record_id(s, kind, target, d);
    return *rec == 0 && *med == 0 ? RELM_ERR : RELM_OK;
}

/* Link CI ci (named name) to release id directly. */
static int relate_ci(relm_store *s, int64_t id, const release_info *r,
                     const char *name, const char *note, const char *at,
                     int64_t *ci, relm_diag *d)
{
    if (ci_named(s, name, ci, d) != RELM_OK)
        return RELM_ERR;
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT rc.via_record_id, r.number FROM release_cis rc LEFT JOIN "
           "records r ON r.id = rc.via_record_id WHERE rc.release_id = ?1 "
           "AND rc.ci_id = ?2", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, *ci);
    if (sqlite3_step(st) == SQLITE_ROW) {
        char via[128] = "";
        if (sqlite3_column_type(st, 1) != SQLITE_NULL)
            snprintf(via, sizeof via, " (through change %s)",
                     (const char *)sqlite3_column_text(st, 1));
        sqlite3_reset(st);
        return relm_diag_set(d, "duplicate", _("release %s is already linked "
                             "to CI '%s'%s"), r->number, name, via);
    }
    sqlite3_reset(st);
    st = relm_store_stmt(
        s, "INSERT INTO release_cis (release_id, ci_id, note, actor_id, "
           "created_at) VALUES (?1, ?2, ?3, nullif(?4, 0), ?5)", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, *ci);
    relm_store_bind_text(st, 3, note);
    sqlite3_bind_int64(st, 4, relm_store_actor_id(s));
    sqlite3_bind_text(st, 5, at, -1, SQLITE_STATIC);
    return relm_store_step_write(s, st, d, "release cis");
}

/* Link record or medium target_id of kind to release id. */
static int relate_link(relm_store *s, int64_t id, const release_info *r,
                       const char *kind, const char *target, int64_t rec,
                       int64_t med, const char *note, const char *at,
                       relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "INSERT OR IGNORE INTO release_links (release_id, kind, "
           "record_id, media_id, note, actor_id, created_at) VALUES (?1, ?2, "
           "nullif(?3, 0), nullif(?4, 0), ?5, nullif(?6, 0), ?7)", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, rec);
    sqlite3_bind_int64(st, 4, med);
    relm_store_bind_text(st, 5, note);
    sqlite3_bind_int64(st, 6, relm_store_actor_id(s));
    sqlite3_bind_text(st, 7, at, -1, SQLITE_STATIC);
    if (relm_store_step_write(s, st, d, "release links") != RELM_OK)
        return RELM_ERR;
    if (sqlite3_changes(relm_store_db(s)) == 0)
        return relm_diag_set(d, "duplicate", _("release %s is already linked "
                             "to %s '%s'"), r->number, kind, target);
    return RELM_OK;
}

/* The common start of relate and unrelate: stamp at, check kind and
 * target, begin
 * the transaction and read the release inside it, so that its status and
 * permission cannot change between the check and the write. On RELM_OK a
 * transaction is open for the caller to commit or roll back. */
static int begin_link(relm_store *s, int64_t id, const char *verb,
                      const char *kind, const char *target, release_info *r,
                      char at[32], relm_diag *d)
{
    relm_clock_now_iso(at);
    if (strcmp(kind, "ci") != 0 && strcmp(kind, "media") != 0 &&
        !relm_related_is_record_kind(kind))
        return relm_diag_set(d, "invalid_argument", _("unknown kind '%s' (%s)"),
                             kind, KIND_LIST);
    if (target == NULL || target[0] == '\0')
        return relm_diag_set(d, "invalid_argument", _("%s: the target (a %s) "
                             "must be a non-empty name"), verb, kind);
    if (relm_store_begin(s, d) != RELM_OK)
        return RELM_ERR;
    if (release_for_links(s, id, verb, r, d) != RELM_OK) {
        relm_store_rollback(s);
        return RELM_ERR;
    }
    return RELM_OK;
}

/* The common end of relate and unrelate: free cis (the occurrence's CI
 * names) and commit when rc is RELM_OK, else roll back. */
static int end_link(relm_store *s, int rc, char *cis, relm_diag *d)
{
    free(cis);
    return relm_store_end(s, rc, d);
}

int relm_related_relate(relm_store *s, int64_t id, const char *kind,
                        const char *target, const char *note, int *added,
                        relm_diag *d)
{
    if (added != NULL)
        *added = 0;
    int is_ci = strcmp(kind, "ci") == 0;
    release_info r;
    char at[32];
    if (begin_link(s, id, "relate", kind, target, &r, at, d) != RELM_OK)
        return RELM_ERR;
    char *cis = NULL;
    int64_t rec = 0, med = 0, ci = 0;
    int rc = RELM_ERR;
    if (is_ci) {
        if (relate_ci(s, id, &r, target, note, at, &ci, d) != RELM_OK)
            goto fail;
        if (added != NULL)
            *added = 1;
    } else {
        if (link_target(s, kind, target, &rec, &med, d) != RELM_OK)
            goto fail;
        if (relate_link(s, id, &r, kind, target, rec, med, note, at, d) !=
            RELM_OK)
            goto fail;
        if (strcmp(kind, "change") == 0) {
            /* The change's CIs the release does not have yet. */
            sqlite3_stmt *st = relm_store_stmt(
                s, "INSERT INTO release_cis (release_id, ci_id, via_record_id, "
                   "actor_id, created_at) SELECT ?1, rc.ci_id, ?2, "
                   "nullif(?3, 0), ?4 FROM record_cis rc WHERE rc.record_id = "
                   "?2 AND NOT EXISTS (SELECT 1 FROM release_cis x WHERE "
                   "x.release_id = ?1 AND x.ci_id = rc.ci_id) ORDER BY "
                   "rc.ci_id", d);
            if (st == NULL)
                goto fail;
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_int64(st, 2, rec);
            sqlite3_bind_int64(st, 3, relm_store_actor_id(s));
            sqlite3_bind_text(st, 4, at, -1, SQLITE_STATIC);
            if (relm_store_step_write(s, st, d, "release cis") != RELM_OK)
                goto fail;
            if (added != NULL)
                *added = sqlite3_changes(relm_store_db(s));
        }
    }
    if (is_ci || strcmp(kind, "change") == 0) {
        cis = cis_json(s, id, rec, ci, d);
        if (cis == NULL)
            goto fail;
    }
    rc = link_occurrence(s, id, &r, "relate", kind, target, note, cis, at, d);
fail:
    rc = end_link(s, rc, cis, d);
    if (rc != RELM_OK && added != NULL)
        *added = 0;
    return rc;
}

int relm_related_unrelate(relm_store *s, int64_t id, const char *kind,
                          const char *target, relm_diag *d)
{
    int is_ci = strcmp(kind, "ci") == 0;
    release_info r;
    char at[32];
    if (begin_link(s, id, "unrelate", kind, target, &r, at, d) != RELM_OK)
        return RELM_ERR;
    char *cis = NULL;
    int64_t rec = 0, med = 0, ci = 0;
    int rc = RELM_ERR;
    if (is_ci) {
        if (ci_named(s, target, &ci, d) != RELM_OK)
            goto fail;
        cis = cis_json(s, id, 0, ci, d);
        if (cis == NULL ||
            exec_ids(s, "release links", "DELETE FROM release_cis WHERE "
                     "release_id = ?1 AND ci_id = ?2", id, ci, 0, d) != RELM_OK)
            goto fail;
    } else {
        if (link_target(s, kind, target, &rec, &med, d) != RELM_OK)
            goto fail;
        if (strcmp(kind, "change") == 0) {
            /* CIs another related change also lists stay, now through
             * that change; those only this change brought (still "via"
             * it) are the ones the occurrence names, and go. */
            if (exec_ids(s, "release links",
                         "UPDATE release_cis SET via_record_id = coalesce(("
                         "SELECT l.record_id FROM release_links l JOIN "
                         "record_cis rc ON rc.record_id = l.record_id WHERE "
                         "l.release_id = ?1 AND l.kind = 'change' AND "
                         "l.record_id <> ?2 AND rc.ci_id = release_cis.ci_id "
                         "ORDER BY l.id LIMIT 1), via_record_id) WHERE "
                         "release_id = ?1 AND via_record_id = ?2", id, rec, 0,
                         d) != RELM_OK)
                goto fail;
            cis = cis_json(s, id, rec, 0, d);
            if (cis == NULL ||
                exec_ids(s, "release links",
                         "DELETE FROM release_cis WHERE release_id = ?1 AND "
                         "via_record_id = ?2", id, rec, 0, d) != RELM_OK)
                goto fail;
        }
        if (exec_ids(s, "release links",
                     "DELETE FROM release_links WHERE release_id = ?1 AND "
                     "ifnull(record_id, 0) = ?2 AND ifnull(media_id, 0) = ?3",
                     id, rec, med, d) != RELM_OK)
            goto fail;
    }
    if (sqlite3_changes(relm_store_db(s)) == 0) {
        relm_diag_set(d, "not_found", _("release %s is not linked to %s '%s'"),
                      r.number, is_ci ? "CI" : kind, target);
        goto fail;
    }
    rc = link_occurrence(s, id, &r, "unrelate", kind, target, NULL, cis, at,
                         d);
fail:
    return end_link(s, rc, cis, d);
}

/* ---- closure ------------------------------------------------------------- */

/* The checks of relm_related_close, inside its transaction: release id
 * exists (its number into number) and is closed; the acting user may
 * execute its workflow (as whoever closed it) or write the CMDB; and its
 * CIs have not been updated for this closure yet, so the status policy
 * applies once per closure and cannot be replayed on a closed release
 * later (closed_at has whole seconds, history times milliseconds: they
 * are compared as times, not text). The policy itself still comes from
 * the caller (the workflow's ci_on_close, read in Lua): see
 * docs/permissions.md. */
static int close_allowed(relm_store *s, int64_t id, char *number,
                         size_t size, relm_diag *d)
{
    char workflow[128] = "", status[16] = "";
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT number, workflow, status, (SELECT count(*) FROM "
           "ci_history h WHERE h.origin_release_id = r.id AND "
           "julianday(h.at) >= julianday(r.closed_at)) FROM releases r "
           "WHERE id = ?1", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    int64_t applied = 0;
    if (rc == SQLITE_ROW) {
        relm_store_column_copy(st, 0, number, size);
        relm_store_column_copy(st, 1, workflow, sizeof workflow);
        relm_store_column_copy(st, 2, status, sizeof status);
        applied = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return relm_diag_set(d, "not_found", _("no release with id %" PRId64),
                             id);
    if (rc != SQLITE_ROW)
        return relm_store_fail(s, d, "release");
    if (relm_auth_check(s, workflow, "execute", NULL) != RELM_OK &&
        relm_auth_require_cmdb(s, "updating the CIs of a closed release",
                               d) != RELM_OK)
        return RELM_ERR;
    if (strcmp(status, "closed") != 0)
        return relm_diag_set(d, "not_allowed", _("release %s is %s: its CIs "
                             "are updated when it closes"), number, status);
    if (applied > 0)
        return relm_diag_set(d, "not_allowed", _("the CIs of release %s were "
                             "already updated for its closure"), number);
    return RELM_OK;
}

int relm_related_close(relm_store *s, int64_t id, const char *const *from,
                       const char *const *to, size_t n, int *changed,
                       relm_diag *d)
{
    if (changed != NULL)
        *changed = 0;
    if (n == 0)
        return RELM_OK;
    if (relm_store_begin(s, d) != RELM_OK)
        return RELM_ERR;
    char number[64] = "", origin[128];
    char **names = NULL, **status = NULL;
    size_t count = 0, cap = 0;
    if (close_allowed(s, id, number, sizeof number, d) != RELM_OK)
        goto fail;
    sqlite3_stmt *st;
    snprintf(origin, sizeof origin, "release %s closed", number);
    /* Collect first: the CMDB's update reads and writes cis itself. */
    st = relm_store_stmt(s, "SELECT c.name, c.status FROM release_cis rc JOIN "
                            "cis c ON c.id = rc.ci_id WHERE rc.release_id = ?1 "
                            "ORDER BY c.name", d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_int64(st, 1, id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (count == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            char **ns = nn ? realloc(status, cap * sizeof *ns) : NULL;
            if (nn != NULL)
                names = nn;
            if (ns == NULL) {
                sqlite3_reset(st);
                relm_diag_set(d, "out_of_memory", _("out of memory"));
                goto fail;
            }
            status = ns;
        }
        names[count] = strdup((const char *)sqlite3_column_text(st, 0));
        status[count] = strdup((const char *)sqlite3_column_text(st, 1));
        if (names[count++] == NULL || status[count - 1] == NULL) {
            sqlite3_reset(st);
            relm_diag_set(d, "out_of_memory", _("out of memory"));
            goto fail;
        }
    }
    sqlite3_reset(st);
    relm_cmdb_origin o = {.release_id = id, .note = origin};
    for (size_t i = 0; i < count; i++) {
        for (size_t k = 0; k < n; k++) {
            if (strcmp(status[i], from[k]) != 0)
                continue;
            relm_cmdb_value v = {.key = "status", .vtype = RELM_V_TEXT,
                                 .s = to[k], .len = strlen(to[k])};
            if (cmdb_update_checked_by_caller(s, names[i], &v, 1, &o, d) !=
                RELM_OK)
                goto fail;
            if (changed != NULL)
                (*changed)++;
            break;
        }
    }
    if (relm_store_commit(s, d) != RELM_OK)
        goto fail;
    for (size_t i = 0; i < count; i++) {
        free(names[i]);
        free(status[i]);
    }
    free(names);
    free(status);
    return RELM_OK;
fail:
    for (size_t i = 0; i < count; i++) {
        free(names[i]);
        free(status[i]);
    }
    free(names);
    free(status);
    relm_store_rollback(s);
    if (changed != NULL)
        *changed = 0;
    return RELM_ERR;
}

/* ---- impact -------------------------------------------------------------- */

/* The CI that hit i of the graph's answer r was reached through (the
 * origin for a first hop). The answer lives in the graph's scratch space
 * until its next query: everything kept is copied out before that. */
static int64_t hit_through(const relm_impact *r, size_t i)
{
    return r->parent[i] < 0 ? r->origin
                            : relm_impact_id(r, (size_t)r->parent[i]);
}

/* A set of CI ids: open addressing, power-of-two table, 0 = empty. */
typedef struct idset {
    int64_t *slot;
    size_t cap, n;
} idset;

/* Slot of v in a table of mask + 1 slots (Fibonacci hashing). */
static size_t idset_hash(int64_t v, size_t mask)
{
    uint64_t x = (uint64_t)v * 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 17) & mask;
}

/* Add v (> 0); returns 1 when new, 0 when present, -1 out of memory. */
static int idset_add(idset *s, int64_t v)
{
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        int64_t *slot = calloc(cap, sizeof *slot);
        if (slot == NULL)
            return -1;
        for (size_t i = 0; i < s->cap; i++) {
            if (s->slot[i] == 0)
                continue;
            size_t j = idset_hash(s->slot[i], cap - 1);
            while (slot[j] != 0)
                j = (j + 1) & (cap - 1);
            slot[j] = s->slot[i];
        }
        free(s->slot);
        s->slot = slot;
        s->cap = cap;
    }
    size_t j = idset_hash(v, s->cap - 1);
    while (s->slot[j] != 0) {
        if (s->slot[j] == v)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->slot[j] = v;
    s->n++;
    return 1;
}

/* A growable array of ids. */
typedef struct idvec {
    int64_t *v;
    size_t n, cap;
} idvec;

/* Append x; 0 on success, -1 out of memory. */
static int idvec_push(idvec *a, int64_t x)
{
    int64_t *v = relm_grow(a->v, &a->cap, a->n + 1, sizeof *v, 16);
    if (v == NULL)
        return -1;
    a->v = v;
    a->v[a->n++] = x;
    return 0;
}

/* qsort/bsearch order of ids. */
static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* 1 when id is in services (sorted). */
static int is_service(const idvec *services, int64_t id)
{
    return services->n > 0 &&
           bsearch(&id, services->v, services->n, sizeof id, cmp_id) != NULL;
}

void relm_release_impact_free(relm_release_impact *r)
{
    for (size_t i = 0; i < r->ngroups; i++) {
        free(r->groups[i].rows);
        free(r->groups[i].services);
    }
    free(r->groups);
    free(r->services);
    memset(r, 0, sizeof *r);
}

/* Ids read by sql (binding ?1 to an integer and ?2 to text) into out. */
static int read_ids(relm_store *s, const char *sql, int64_t a, const char *b,
                    idvec *out, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(s, sql, d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, a);
    relm_store_bind_text(st, 2, b);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (idvec_push(out, sqlite3_column_int64(st, 0)) != 0) {
            sqlite3_reset(st);
            return relm_diag_set(d, "out_of_memory", _("out of memory"));
        }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return relm_store_fail(s, d, "impact");
    return RELM_OK;
}

int relm_related_impact(relm_store *s, relm_graph *g, int64_t id,
                        const relm_rimpact_opts *o, relm_release_impact *out,
                        relm_diag *d)
{
    memset(out, 0, sizeof *out);
    idvec touched = {0}, services = {0}, all_services = {0};
    idset seen = {0}, seen_services = {0};
    int64_t exists;
    sqlite3_stmt *st =
        relm_store_stmt(s, "SELECT count(*) FROM releases WHERE id = ?1", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    if (step_int(s, st, &exists, "release", d) != RELM_OK)
        return RELM_ERR;
    if (!exists)
        return relm_diag_set(d, "not_found", _("no release with id %" PRId64), id);
    if (read_ids(s, "SELECT ci_id FROM release_cis WHERE release_id = ?1 "
                    "ORDER BY created_at, ci_id", id, NULL, &touched,
                 d) != RELM_OK)
        goto fail;
    if (read_ids(s, "SELECT c.id FROM cis c WHERE c.type_id IN (SELECT t.id "
                    "FROM ci_types t WHERE t.name IN (SELECT value FROM "
                    "json_each(?2))) AND ?1 = ?1",
                 0, o->service_types_json ? o->service_types_json : "[]",
                 &services, d) != RELM_OK)
        goto fail;
    if (services.n > 0) /* qsort(NULL, 0, ...) is undefined behaviour */
        qsort(services.v, services.n, sizeof *services.v, cmp_id);
    out->groups = calloc(touched.n ? touched.n : 1, sizeof *out->groups);
    if (out->groups == NULL)
        goto oom;
    relm_graph_query q = {RELM_GRAPH_UP, o->depth, -1, NULL, 0};
    for (size_t t = 0; t < touched.n; t++) {
        relm_rimpact_group *grp = &out->groups[out->ngroups++];
        grp->ci = touched.v[t];
        idvec gs = {0};
        if (is_service(&services, grp->ci)) {
            if (idvec_push(&gs, grp->ci) != 0)
                goto oom;
            int added = idset_add(&seen_services, grp->ci);
            if (added < 0 || (added && idvec_push(&all_services, grp->ci)))
                goto oom;
        }
        relm_impact r;
        if (relm_graph_impact(g, s, grp->ci, &q, &r, d) != RELM_OK) {
            free(gs.v);
            goto fail;
        }
        grp->count = r.n;
        size_t keep = o->limit < 0 || (size_t)o->limit > r.n ? r.n
                                                              : (size_t)o->limit;
        grp->rows = calloc(keep ? keep : 1, sizeof *grp->rows);
        if (grp->rows == NULL) {
            free(gs.v);
            goto oom;
        }
        for (size_t i = 0; i < r.n; i++) {
            int64_t ci = relm_impact_id(&r, i);
            if (i < keep) {
                grp->rows[i].id = ci;
                grp->rows[i].depth = relm_impact_depth(&r, i);
                grp->rows[i].through = hit_through(&r, i);
            }
            if (idset_add(&seen, ci) < 0)
                goto oom_hit;
            if (is_service(&services, ci)) {
                if (idvec_push(&gs, ci) != 0)
                    goto oom_hit;
                int added = idset_add(&seen_services, ci);
                if (added < 0 || (added && idvec_push(&all_services, ci)))
                    goto oom_hit;
            }
            continue;
        oom_hit:
            free(gs.v);
            goto oom;
        }
        grp->nrows = keep;
        grp->services = gs.v;
        grp->nservices = gs.n;
    }
    out->distinct = seen.n;
    out->services = all_services.v;
    out->nservices = all_services.n;
    free(touched.v);
    free(services.v);
    free(seen.slot);
    free(seen_services.slot);
    return RELM_OK;
oom:
    relm_diag_set(d, "out_of_memory", _("out of memory"));
fail:
    free(touched.v);
    free(services.v);
    free(all_services.v);
    free(seen.slot);
    free(seen_services.slot);
    relm_release_impact_free(out);
    return RELM_ERR;
}
