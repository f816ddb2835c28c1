/* media.c: the definitive media library: software media with checksums and
 * licences, hardware spares, and the link from a CI to its media. */
#include "base/i18n.h"
#include "media.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdb/cmdb.h"
#include "base/sha256.h"

/* How a CI record shows its medium (as relm.cmdb.get does): "name@version",
 * or just "name" for a medium without a version. */
#define MEDIA_LABEL \
    "CASE WHEN m.version = '' THEN m.name ELSE m.name || '@' || m.version END"

int relm_media_is_sha256(const char *s)
{
    if (s == NULL || strlen(s) != 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!isxdigit((unsigned char)*p))
            return 0;
    return 1;
}

/* Lowercase copy of a checksum into out[65]. */
static void lower_hex(const char *in, char out[65])
{
    for (int i = 0; i < 64; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[64] = '\0';
}

int relm_media_sha256_file(const char *path, char out[65], relm_diag *d)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return relm_diag_set(d, "io_error", "%s: %s", path, strerror(errno));
    relm_sha256 c;
    relm_sha256_init(&c);
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        relm_sha256_update(&c, buf, n);
    int err = ferror(f);
    fclose(f);
    if (err)
        return relm_diag_set(d, "io_error", _("%s: read error"), path);
    unsigned char digest[32];
    relm_sha256_final(&c, digest);
    relm_sha256_tohex(digest, out);
    return RELM_OK;
}

/* The checksum to store for f: from sha256, from file, or both agreeing.
 * *sum is "" when neither is given. */
static int checksum_of(const relm_media_fields *f, char sum[65], relm_diag *d)
{
    sum[0] = '\0';
    if (f->sha256 != NULL) {
        if (!relm_media_is_sha256(f->sha256))
            return relm_diag_set(d, "invalid_argument", _("sha256 must be 64 "
                                 "hex digits, got '%.80s'"), f->sha256);
        lower_hex(f->sha256, sum);
    }
    if (f->file != NULL) {
        char got[65];
        if (relm_media_sha256_file(f->file, got, d) != RELM_OK)
            return RELM_ERR;
        if (sum[0] != '\0' && strcmp(sum, got) != 0)
            return relm_diag_set(d, "checksum_mismatch", _("%s has sha256 %s, "
                                 "not the %s given"), f->file, got, sum);
        memcpy(sum, got, 65);
    }
    return RELM_OK;
}

#define MEDIA_JSON                                                          \
    "SELECT json_object('name', name, 'version', version, 'sha256', "        \
    "sha256, 'logical_location', logical_location, 'physical_location', "   \
    "physical_location, 'licence_keys', json(licence_keys), "               \
    "'licence_count', licence_count, 'notes', notes) FROM media WHERE "     \
    "id = ?1"
#define SPARE_JSON                                                          \
    "SELECT json_object('name', name, 'model', model, 'serial', serial, "    \
    "'location', location, 'quantity', quantity, 'status', status) FROM "   \
    "spares WHERE id = ?1"

/* Append the occurrence of a write to medium or spare id: after is the row
 * as it now stands (json_sql selects it from ?1 = id), note names it. */
static int library_occurrence(relm_store *s, const char *subject, int64_t id,
                              const char *action, const char *json_sql,
                              const char *note, relm_diag *d)
{
    char *after;
    if (relm_store_id_text(s, json_sql, id, &after, d) != RELM_OK)
        return RELM_ERR;
    int rc = cmdb_occurrence(s, subject, id, action, note, after, d);
    free(after);
    return rc;
}

int relm_media_add(relm_store *s, const char *name, const char *version,
                   const relm_media_fields *f, int64_t *id, relm_diag *d)
{
    char sum[65];
    if (name == NULL || name[0] == '\0')
        return relm_diag_set(d, "invalid_argument", _("media name must not be "
                             "empty"));
    if (checksum_of(f, sum, d) != RELM_OK)
        return RELM_ERR;
    if (cmdb_begin(s, "adding a medium", d) != RELM_OK)
        return RELM_ERR;
    sqlite3_stmt *st = relm_store_stmt(
        s, "INSERT INTO media (name, version, sha256, logical_location, "
           "physical_location, licence_keys, licence_count, notes) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", d);
    if (st == NULL)
        goto fail;
    char what[300];
    snprintf(what, sizeof what, "media '%.128s' version '%.64s'", name,
             version ? version : "");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, version ? version : "", -1, SQLITE_STATIC);
    relm_store_bind_text(st, 3, sum[0] ? sum : NULL);
    relm_store_bind_text(st, 4, f->logical_location);
    relm_store_bind_text(st, 5, f->physical_location);
    relm_store_bind_text(st, 6, f->licence_keys);
    if (f->has_count)
        sqlite3_bind_int64(st, 7, f->licence_count);
    relm_store_bind_text(st, 8, f->notes);
    if (relm_store_step_write(s, st, d, "%s", what) != RELM_OK)
        goto fail;
    *id = sqlite3_last_insert_rowid(relm_store_db(s));
    if (library_occurrence(s, "media", *id, "add", MEDIA_JSON, what, d) !=
        RELM_OK)
        goto fail;
    return relm_store_end(s, RELM_OK, d);
fail:
    return relm_store_end(s, RELM_ERR, d);
}

/* Find medium name/version (version NULL: the latest registered). Fills
 * *id and, when sum is not NULL, the registered checksum ("" if none). */
static int find_media(relm_store *s, const char *name, const char *version,
                      int64_t *id, char sum[65], relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT id, sha256 FROM media WHERE name = ?1 AND "
           "(?2 IS NULL OR version = ?2) ORDER BY id DESC LIMIT 1", d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    relm_store_bind_text(st, 2, version);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        const char *v = (const char *)sqlite3_column_text(st, 1);
        if (sum != NULL)
            snprintf(sum, 65, "%s", v != NULL ? v : "");
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return RELM_OK;
    if (rc != SQLITE_DONE)
        return relm_store_fail(s, d, "media");
    if (version != NULL)
        return relm_diag_set(d, "not_found", _("no media '%s' version '%s'"),
                             name, version);
    return relm_diag_set(d, "not_found", _("no media named '%s'"), name);
}

int relm_media_update(relm_store *s, const char *name, const char *version,
                      const relm_media_fields *f, relm_diag *d)
{
    char sum[65];
    int64_t id;
    if (checksum_of(f, sum, d) != RELM_OK)
        return RELM_ERR;
    if (cmdb_begin(s, "changing a medium", d) != RELM_OK)
        return RELM_ERR;
    if (find_media(s, name, version, &id, NULL, d) != RELM_OK)
        goto fail;
    /* ?k is the flag "field k given", ?k+1 its value. */
    sqlite3_stmt *st = relm_store_stmt(
        s, "UPDATE media SET "
           "sha256 = CASE WHEN ?2 THEN ?3 ELSE sha256 END, "
           "logical_location = CASE WHEN ?4 THEN ?5 ELSE logical_location END, "
           "physical_location = CASE WHEN ?6 THEN ?7 ELSE physical_location END, "
           "licence_keys = CASE WHEN ?8 THEN ?9 ELSE licence_keys END, "
           "licence_count = CASE WHEN ?10 THEN ?11 ELSE licence_count END, "
           "notes = CASE WHEN ?12 THEN ?13 ELSE notes END "
           "WHERE id = ?1", d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, sum[0] != '\0');
    relm_store_bind_text(st, 3, sum[0] ? sum : NULL);
    const char *vals[] = {f->logical_location, f->physical_location,
                          f->licence_keys};
    for (int i = 0; i < 3; i++) {
        sqlite3_bind_int(st, 4 + 2 * i, vals[i] != NULL);
        relm_store_bind_text(st, 5 + 2 * i, vals[i]);
    }
    sqlite3_bind_int(st, 10, f->has_count);
    sqlite3_bind_int64(st, 11, f->licence_count);
    sqlite3_bind_int(st, 12, f->notes != NULL);
    relm_store_bind_text(st, 13, f->notes);
    if (relm_store_step_write(s, st, d, "media update") != RELM_OK)
        goto fail;
    char what[300];
    snprintf(what, sizeof what, "media '%.128s' version '%.64s'", name,
             version ? version : "(latest)");
    if (library_occurrence(s, "media", id, "update", MEDIA_JSON, what, d) !=
        RELM_OK)
        goto fail;
    return relm_store_end(s, RELM_OK, d);
fail:
    return relm_store_end(s, RELM_ERR, d);
}

int relm_media_verify(relm_store *s, const char *name, const char *version,
                      const char *what, char actual[65], relm_diag *d)
{
    int64_t id;
    char registered[65];
    if (find_media(s, name, version, &id, registered, d) != RELM_OK)
        return RELM_ERR;
    char label[400];
    if (version != NULL)
        snprintf(label, sizeof label, "media '%.150s' version '%.150s'", name,
                 version);
    else
        snprintf(label, sizeof label, "media '%.150s'", name);
    if (registered[0] == '\0')
        return relm_diag_set(d, "no_checksum", _("%s has no registered sha256; "
                             "set one with relm.media.update before "
                             "verifying"), label);
    const char *source = "the checksum given";
    if (relm_media_is_sha256(what)) {
        lower_hex(what, actual);
    } else {
        if (relm_media_sha256_file(what, actual, d) != RELM_OK)
            return RELM_ERR;
        source = what;
    }
    if (strcmp(actual, registered) != 0)
        return relm_diag_set(d, "checksum_mismatch", _("%s: %s has sha256 %s "
                             "but %s is registered"), label, source, actual,
                             registered);
    return RELM_OK;
}

int relm_media_link(relm_store *s, const char *ci, const char *name,
                    const char *version, relm_diag *d)
{
    int64_t media_id = 0, old_id = 0, ci_id;
    if (cmdb_begin(s, "linking a CI to a medium", d) != RELM_OK)
        return RELM_ERR;
    if (name != NULL && find_media(s, name, version, &media_id, NULL, d) != RELM_OK)
        goto fail;
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT id, media_id FROM cis WHERE name = ?1", d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_text(st, 1, ci, -1, SQLITE_STATIC);
    int rc = relm_store_step_row(s, st, d, "media link");
    if (rc != RELM_OK) {
        if (rc == RELM_NOT_FOUND)
            relm_diag_set(d, "not_found", _("no CI named '%s'"), ci);
        goto fail;
    }
    ci_id = sqlite3_column_int64(st, 0);
    old_id = sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    if (old_id == media_id)
        return relm_store_commit(s, d) == RELM_OK ? RELM_OK : RELM_ERR;
    st = relm_store_stmt(s, "UPDATE cis SET media_id = ?2, updated_at = "
                            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                            "WHERE id = ?1", d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_int64(st, 1, ci_id);
    if (media_id > 0)
        sqlite3_bind_int64(st, 2, media_id);
    if (relm_store_step_write(s, st, d, "media link") != RELM_OK)
        goto fail;
    /* History in the cmdb's shape, diff {media: [before, after]}, written
     * through the cmdb so that a creation an import batch still tells is
     * written before it. */
    st = relm_store_stmt(
        s, "SELECT json_object('media', json_array("
           "(SELECT " MEDIA_LABEL " FROM media m WHERE m.id = ?1), "
           "(SELECT " MEDIA_LABEL " FROM media m WHERE m.id = ?2)))", d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_int64(st, 1, old_id);
    sqlite3_bind_int64(st, 2, media_id);
    char *diff = relm_store_text(st);
    if (diff == NULL) {
        relm_diag_set(d, "out_of_memory", _("out of memory"));
        goto fail;
    }
    rc = cmdb_history(s, ci_id, ci, "update", diff, NULL, d);
    free(diff);
    if (rc != RELM_OK)
        goto fail;
    return relm_store_end(s, RELM_OK, d);
fail:
    return relm_store_end(s, RELM_ERR, d);
}

int relm_media_spare_add(relm_store *s, const char *name,
                         const relm_spare_fields *f, int64_t *id,
                         relm_diag *d)
{
    if (name == NULL || name[0] == '\0')
        return relm_diag_set(d, "invalid_argument", _("spare name must not be "
                             "empty"));
    if (f->has_quantity && f->quantity < 0)
        return relm_diag_set(d, "invalid_argument", _("quantity must be >= 0, "
                             "got %lld"), (long long)f->quantity);
    if (cmdb_begin(s, "adding a spare", d) != RELM_OK)
        return RELM_ERR;
    sqlite3_stmt *st = relm_store_stmt(
        s, "INSERT INTO spares (name, model, serial, location, quantity, "
           "status) VALUES (?1, ?2, ?3, ?4, coalesce(?5, 1), "
           "coalesce(?6, 'available'))", d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    relm_store_bind_text(st, 2, f->model);
    relm_store_bind_text(st, 3, f->serial);
    relm_store_bind_text(st, 4, f->location);
    if (f->has_quantity)
        sqlite3_bind_int64(st, 5, f->quantity);
    relm_store_bind_text(st, 6, f->status);
    if (relm_store_step_write(s, st, d, "spare") != RELM_OK)
        goto fail;
    *id = sqlite3_last_insert_rowid(relm_store_db(s));
    if (library_occurrence(s, "spare", *id, "add", SPARE_JSON, name, d) !=
        RELM_OK)
        goto fail;
    return relm_store_end(s, RELM_OK, d);
fail:
    return relm_store_end(s, RELM_ERR, d);
}
