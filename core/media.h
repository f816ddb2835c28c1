/* media.h: the definitive media library: software media with checksums and
 * licences, hardware spares, and the link from a CI to its media. */
#ifndef RELM_MEDIA_H
#define RELM_MEDIA_H

#include <stdint.h>

#include "base/diag.h"
#include "base/store.h"

/* Fields of a software medium. NULL strings (and has_count = 0) mean "not
 * given": add stores NULL, update leaves the column as it is. */
typedef struct relm_media_fields {
    const char *sha256;            /* 64 hex digits, any case */
    const char *file;              /* compute sha256 from this file */
    const char *logical_location;
    const char *physical_location;
    const char *licence_keys;      /* JSON array of strings */
    int has_count;
    int64_t licence_count;
    const char *notes;
} relm_media_fields;

/* Register medium name/version (version NULL means ""). When both sha256
 * and file are given they must agree (checksum_mismatch otherwise). One
 * transaction; duplicate when name/version exists. */
int relm_media_add(relm_store *s, const char *name, const char *version,
                   const relm_media_fields *f, int64_t *id, relm_diag *d);

/* Change the given fields of an existing medium (not_found otherwise). */
int relm_media_update(relm_store *s, const char *name, const char *version,
                      const relm_media_fields *f, relm_diag *d);

/* SHA-256 of the file at path as 64 lowercase hex digits (io_error). */
int relm_media_sha256_file(const char *path, char out[65], relm_diag *d);

/* Compare what = a file path or a 64-hex checksum against the registered
 * checksum of name/version. RELM_OK and actual filled when they match;
 * checksum_mismatch, no_checksum, not_found or io_error otherwise. */
int relm_media_verify(relm_store *s, const char *name, const char *version,
                      const char *what, char actual[65], relm_diag *d);

/* Point CI ci at medium name/version (name NULL: clear the link), writing
 * the change to ci_history. One transaction. */
int relm_media_link(relm_store *s, const char *ci, const char *name,
                    const char *version, relm_diag *d);

typedef struct relm_spare_fields {
    const char *model, *serial, *location, *status;
    int has_quantity;
    int64_t quantity;
} relm_spare_fields;

/* Register a hardware spare; returns its id. */
int relm_media_spare_add(relm_store *s, const char *name,
                         const relm_spare_fields *f, int64_t *id,
                         relm_diag *d);

/* True when s holds exactly 64 hex digits. */
int relm_media_is_sha256(const char *s);

#endif
