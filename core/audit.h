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

/* relm_audit_append of the occurrence stamped now of action on subject id:
 * note is a line for people, before and after JSON snapshots of the
 * subject (each may be NULL). The one way a primitive that keeps no state
 * machine of its own (people, portfolios, the CMDB's side tables) logs
 * what it did. Precondition: as relm_audit_append. */
int relm_audit_log(relm_store *s, const char *subject, int64_t id,
                   const char *action, const char *note, const char *before,
                   const char *after, relm_diag *d);

/* One discrepancy verify found. kind: "chain" (a broken link: id is the
 * occurrence row), "anchor" (a kept head no longer in the chain: id is its
 * row), "schema" (a table, view or trigger the chain depends on is gone or
 * changed: id 0), "release" (a release's row disagrees with its last
 * occurrence's snapshot, or has none: id is the release). */
typedef struct relm_audit_problem {
    const char *kind;
    int64_t id;
    char reason[256];
} relm_audit_problem;

enum { RELM_AUDIT_MAX_PROBLEMS = 16 };

/* Result of verify: ok, and the problems found, first the chain's (the
 * walk stops at the first broken link), then the anchor's, the schema's
 * and the releases'. bad_id and reason repeat the first problem. */
typedef struct relm_audit_report {
    int ok;             /* 1: no problem found */
    int64_t rows;       /* occurrence rows checked */
    int64_t releases;   /* releases compared with their last occurrence */
    int64_t bad_id;     /* the first problem's id, when !ok */
    char reason[256];   /* the first problem's reason */
    int nproblems;      /* problems[0 .. nproblems) */
    int64_t more;       /* problems found beyond RELM_AUDIT_MAX_PROBLEMS */
    relm_audit_problem problems[RELM_AUDIT_MAX_PROBLEMS];
} relm_audit_report;

/* Recompute every hash in id order, stopping at the first broken link: a
 * row whose content (every byte of every field) no longer matches its
 * hash, whose prev_hash is not the hash of the row before, or a gap in the
 * ids (a deleted row). Then check what the chain cannot show by itself:
 * that the triggers keeping the log append-only, the tables and the
 * snapshot view exist as the migrations made them, and that every release
 * is what the snapshot of its last occurrence says (a row edited straight
 * in the file, or written with no occurrence). RELM_ERR only when the
 * database cannot be read. */
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
