/* token.h: credentials: users' passwords (argon2id), named API tokens and
 * browser sessions, stored only as hashes; and who presents which. */
#ifndef RELM_TOKEN_H
#define RELM_TOKEN_H

#include <stdint.h>

#include "base/diag.h"
#include "base/store.h"

/* A token as handed out: "relm_" and 43 characters of base64url (32 random
 * bytes), NUL-terminated. */
enum { RELM_TOKEN_LEN = 48, RELM_TOKEN_BUF = 64 };

/* Start libsodium (idempotent). RELM_ERR when it cannot. */
int relm_token_init(relm_diag *d);

/* Set user's password (argon2id through libsodium; only the hash is
 * kept). The user themselves or an administrator; one transaction,
 * logged (without the hash). password NULL clears it (no web login). */
int relm_password_set(relm_store *s, const char *user, const char *password,
                      relm_diag *d);

/* Make a named API token for user, valid until expires (epoch seconds, 0 =
 * never). The user themselves or an administrator. The token is written
 * into out once and only its SHA-256 is stored. *id receives its row. */
int relm_token_create(relm_store *s, const char *user, const char *name,
                      int64_t expires, char out[RELM_TOKEN_BUF], int64_t *id,
                      relm_diag *d);

/* Revoke token id (an API token or a session): its owner or an
 * administrator. not_found when there is no live token with that id. */
int relm_token_revoke(relm_store *s, int64_t id, relm_diag *d);

/* End the browser session whose token is session (logout): the same as
 * relm_token_revoke on its row, so its owner or an administrator. not_found
 * when session is no live session token. */
int relm_token_end_session(relm_store *s, const char *session, relm_diag *d);

/* Who presents token: its user's id and name when the token is live (not
 * revoked, not expired) and the user active. kind is "api" or "session"
 * (NULL: either). Otherwise unauthorized in d, saying which of these it
 * was. Reads only. */
int relm_token_verify(relm_store *s, const char *token, const char *kind,
                      int64_t *uid, char *name, size_t name_size,
                      relm_diag *d);

/* Log user in with password: on success a session token (valid for ttl
 * seconds) is written into out, and the session's CSRF token (derived
 * from it, see relm_token_csrf) into csrf. unauthorized for an unknown
 * user, a wrong password, no password set or an inactive user: one
 * message for all, so a caller learns nothing of which. */
int relm_token_login(relm_store *s, const char *user, const char *password,
                     int64_t ttl, char out[RELM_TOKEN_BUF],
                     char csrf[65], relm_diag *d);

/* The CSRF token of session token: hex HMAC-SHA256 of a fixed label keyed
 * by the session token, so it needs no storage and is worthless without
 * the session cookie it belongs to. */
void relm_token_csrf(const char *session, char csrf[65]);

/* 1 when a and b (NUL-terminated) are equal, in time independent of where
 * they differ. */
int relm_token_equal(const char *a, const char *b);

#endif
