/* audit.h: the occurrence log: one hash-chained, append-only row per
 * action, and the verification that walks the chain. */
#ifndef RELM_AUDIT_H
#define RELM_AUDIT_H

#include <stdint.h>

#include "base/diag.h"
#include "base/store.h"

/* What happened. Strings may be NULL except subject, action and at;
 * before/after are JSON snapshots of the subject. */
typedef struct relm_occurrence {
    const char *at;          /* ISO-8601 UTC */
    const char *subject;     /* "release", "justification", "user", ... */
    int64_t subject_id;      /* 0 = none */
    const char *action;
    const char *from_state;
    const char *to_state;
    int64_t justification_id; /* 0 = none */
    const char *note;
    const char *before;
    const char *after;
} relm_occurrence;

/* Append o to the log, chained to the last row. Precondition: inside a
 * transaction of the caller (relm_store_begin), so the read of the last
 * hash and the insert cannot interleave with another writer. The actor is
 * the store's. *id (may be NULL) receives the new row's id. */
int relm_audit_append(relm_store *s, const relm_occurrence *o, int64_t *id,
                      relm_diag *d);

/* Result of walking the chain from the first row. */
typedef struct relm_audit_report {
    int ok;             /* 1: every link holds */
    int64_t rows;       /* rows checked */
    int64_t bad_id;     /* first broken link (row id), when !ok */
    char reason[256];
} relm_audit_report;

/* Recompute every hash in id order; stops at the first broken link: a row
 * whose content no longer matches its hash, whose prev_hash is not the hash
 * of the row before, or a gap in the ids (a deleted row). RELM_ERR only
 * when the log cannot be read. */
int relm_audit_verify(relm_store *s, relm_audit_report *r, relm_diag *d);

/* relm_audit_verify, then check that row id (a head kept outside the
 * database earlier, see relm_audit_head) is still there with that hash. The
 * chain alone cannot show a truncated tail, nor a log rewritten from some
 * row on with freshly computed hashes (the hash has no secret); a kept
 * head shows both when it is at or after the first changed row. id <= 0
 * checks the chain only. */
int relm_audit_verify_kept(relm_store *s, int64_t id, const char *hash,
                           relm_audit_report *r, relm_diag *d);

/* The hash of the last row (64 zeros for an empty log), for keeping an
 * outside copy that also detects truncation of the tail. */
int relm_audit_head(relm_store *s, int64_t *id, char hash[65], relm_diag *d);

#endif
