/* token.c: credentials: users' passwords (argon2id via libsodium), named
 * API tokens and browser sessions, each kept only as a hash. */
#include "token.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "auth.h"
#include "base/clock.h"
#include "base/i18n.h"
#include "base/sha256.h"

int relm_token_init(relm_diag *d)
{
    if (sodium_init() < 0)
        return relm_diag_set(d, "internal", "%s",
                             _("libsodium failed to start"));
    return RELM_OK;
}

int relm_token_equal(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char diff = na != nb;
    for (size_t i = 0; i < na && i < nb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

void relm_token_csrf(const char *session, char csrf[65])
{
    static const char label[] = "relm csrf v1";
    unsigned char mac[32];
    relm_hmac_sha256(session, strlen(session), label, sizeof label - 1, mac);
    relm_sha256_tohex(mac, csrf);
}

/* The id of the active or inactive user called name, or 0 with not_found. */
static int64_t user_id(relm_store *s, const char *name, relm_diag *d)
{
    int64_t id = 0;
    int rc = relm_store_lookup(s, "SELECT id FROM users WHERE name = ?1",
                               name, &id, d);
    if (rc == RELM_NOT_FOUND)
        relm_diag_set(d, "not_found", _("no user named '%s'"), name);
    return rc == RELM_OK ? id : 0;
}

/* Inside the caller's transaction: RELM_OK when the acting user is uid or
 * a superuser; else permission_denied saying that what needed it. */
static int self_or_admin(relm_store *s, int64_t uid, const char *what,
                         relm_diag *d)
{
    if (relm_store_actor_id(s) == uid && uid != 0)
        return RELM_OK;
    return relm_auth_require_admin(s, what, d);
}

/* Begin a write on user's credentials: BEGIN IMMEDIATE, then the check,
 * so a revocation committed meanwhile is honoured. *uid receives the id. */
static int begin_for(relm_store *s, const char *user, const char *what,
                     int64_t *uid, relm_diag *d)
{
    if (relm_store_begin(s, d) != RELM_OK)
        return RELM_ERR;
    *uid = user_id(s, user, d);
    if (*uid == 0 || self_or_admin(s, *uid, what, d) != RELM_OK) {
        relm_store_rollback(s);
        return RELM_ERR;
    }
    return RELM_OK;
}

int relm_password_set(relm_store *s, const char *user, const char *password,
                      relm_diag *d)
{
    char hash[crypto_pwhash_STRBYTES];
    if (password != NULL && strlen(password) < 8)
        return relm_diag_set(d, "invalid_argument", "%s",
                             _("a password needs at least 8 characters"));
    if (password != NULL &&
        crypto_pwhash_str_alg(hash, password, strlen(password),
                              crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return relm_diag_set(d, "out_of_memory", "%s",
                             _("not enough memory to hash the password"));
    int64_t uid;
    if (begin_for(s, user, _("setting another user's password"), &uid, d) !=
        RELM_OK)
        return RELM_ERR;
    sqlite3_stmt *st = relm_store_stmt(
        s, "UPDATE users SET password_hash = ?2 WHERE id = ?1", d);
    int rc = st == NULL ? RELM_ERR : RELM_OK;
    if (rc == RELM_OK) {
        sqlite3_bind_int64(st, 1, uid);
        relm_store_bind_text(st, 2, password != NULL ? hash : NULL);
        rc = relm_store_step_write(s, st, d, "user '%s'", user);
    }
    if (rc == RELM_OK)
        rc = relm_audit_log(s, "user", uid,
                            password != NULL ? "set_password"
                                             : "clear_password",
                            NULL, NULL, NULL, d);
    sodium_memzero(hash, sizeof hash);
    return relm_store_end(s, rc, d);
}

/* A fresh token in out and the hex SHA-256 that is stored in hash. */
static void new_token(char out[RELM_TOKEN_BUF], char hash[65])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    memcpy(out, "relm_", 5);
    sodium_bin2base64(out + 5, RELM_TOKEN_BUF - 5, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    relm_sha256_hex(out, strlen(out), hash);
}

/* Insert a token row of kind for uid and log it, inside the caller's
 * transaction. */
static int insert_token(relm_store *s, int64_t uid, const char *name,
                        const char *kind, int64_t expires,
                        char out[RELM_TOKEN_BUF], int64_t *id, relm_diag *d)
{
    char hash[65];
    new_token(out, hash);
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "INSERT INTO tokens (user_id, name, kind, hash, expires_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",
        d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, uid);
    relm_store_bind_text(st, 2, name);
    relm_store_bind_text(st, 3, kind);
    relm_store_bind_text(st, 4, hash);
    if (expires > 0)
        sqlite3_bind_int64(st, 5, expires);
    else
        sqlite3_bind_null(st, 5);
    if (relm_store_step_write(s, st, d, "a token named '%s'", name) !=
        RELM_OK)
        return RELM_ERR;
    int64_t tid = sqlite3_last_insert_rowid(relm_store_db(s));
    if (id != NULL)
        *id = tid;
    return relm_audit_log(s, "token", tid, strcmp(kind, "api") == 0
                                               ? "create" : "login",
                          name, NULL, NULL, d);
}

int relm_token_create(relm_store *s, const char *user, const char *name,
                      int64_t expires, char out[RELM_TOKEN_BUF], int64_t *id,
                      relm_diag *d)
{
    int64_t uid;
    if (expires < 0 || (expires > 0 && expires <= relm_clock_now()))
        return relm_diag_set(d, "invalid_argument", "%s",
                             _("a token's expiry must be in the future"));
    if (begin_for(s, user, _("making a token for another user"), &uid, d) !=
        RELM_OK)
        return RELM_ERR;
    int rc = insert_token(s, uid, name, "api", expires, out, id, d);
    return relm_store_end(s, rc, d);
}

int relm_token_revoke(relm_store *s, int64_t id, relm_diag *d)
{
    if (relm_store_begin(s, d) != RELM_OK)
        return RELM_ERR;
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT user_id, name FROM tokens WHERE id = ?1 AND "
           "revoked_at IS NULL", d);
    int rc = st == NULL ? RELM_ERR : RELM_OK;
    int64_t uid = 0;
    char name[256] = "";
    if (rc == RELM_OK) {
        sqlite3_bind_int64(st, 1, id);
        rc = relm_store_step_row(s, st, d, "token");
        if (rc == RELM_OK) {
            uid = sqlite3_column_int64(st, 0);
            relm_store_column_copy(st, 1, name, sizeof name);
            sqlite3_reset(st);
        } else if (rc == RELM_NOT_FOUND) {
            rc = relm_diag_set(d, "not_found", _("no live token with id %lld"),
                               (long long)id);
        }
    }
    if (rc == RELM_OK)
        rc = self_or_admin(s, uid, _("revoking another user's token"), d);
    if (rc == RELM_OK && (st = relm_store_stmt(
                              s, "UPDATE tokens SET revoked_at = strftime("
                                 "'%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1",
                              d)) == NULL)
        rc = RELM_ERR;
    if (rc == RELM_OK) {
        sqlite3_bind_int64(st, 1, id);
        rc = relm_store_step_write(s, st, d, "token %lld", (long long)id);
    }
    if (rc == RELM_OK)
        rc = relm_audit_log(s, "token", id, "revoke", name, NULL, NULL, d);
    return relm_store_end(s, rc, d);
}

int relm_token_end_session(relm_store *s, const char *session, relm_diag *d)
{
    char hash[65];
    relm_sha256_hex(session, strlen(session), hash);
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT id FROM tokens WHERE hash = ?1 AND kind = 'session' AND "
           "revoked_at IS NULL", d);
    if (st == NULL)
        return RELM_ERR;
    relm_store_bind_text(st, 1, hash);
    int rc = relm_store_step_row(s, st, d, "session");
    if (rc == RELM_NOT_FOUND)
        return relm_diag_set(d, "not_found", "%s",
                             _("no live session with that token"));
    if (rc != RELM_OK)
        return RELM_ERR;
    int64_t id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    /* The revoke re-checks the row and who may end it inside its own
     * transaction; this lookup only finds the row. */
    return relm_token_revoke(s, id, d);
}

int relm_token_verify(relm_store *s, const char *token, const char *kind,
                      int64_t *uid, char *name, size_t name_size,
                      relm_diag *d)
{
    char hash[65];
    relm_sha256_hex(token, strlen(token), hash);
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT t.user_id, u.name, u.active, t.expires_at, t.revoked_at, "
        "t.kind FROM tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.hash = ?1",
        d);
    if (st == NULL)
        return RELM_ERR;
    relm_store_bind_text(st, 1, hash);
    int rc = relm_store_step_row(s, st, d, "token");
    if (rc == RELM_NOT_FOUND)
        return relm_diag_set(d, "unauthorized", "%s",
                             _("the token is not known"));
    if (rc != RELM_OK)
        return RELM_ERR;
    const char *why = NULL;
    const char *k = (const char *)sqlite3_column_text(st, 5);
    if (kind != NULL && (k == NULL || strcmp(k, kind) != 0))
        why = N_("the token is not known");
    else if (sqlite3_column_type(st, 4) != SQLITE_NULL)
        why = N_("the token was revoked");
    else if (sqlite3_column_type(st, 3) != SQLITE_NULL &&
             sqlite3_column_int64(st, 3) <= relm_clock_now())
        why = N_("the token has expired");
    else if (sqlite3_column_int64(st, 2) != 1)
        why = N_("the token's user is disabled");
    *uid = sqlite3_column_int64(st, 0);
    relm_store_column_copy(st, 1, name, name_size);
    sqlite3_reset(st);
    if (why != NULL)
        return relm_diag_set(d, "unauthorized", "%s", _(why));
    return RELM_OK;
}

int relm_token_login(relm_store *s, const char *user, const char *password,
                     int64_t ttl, char out[RELM_TOKEN_BUF], char csrf[65],
                     relm_diag *d)
{
    static const char *const refused =
        N_("unknown user or wrong password");
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT id, password_hash, active FROM users WHERE name = ?1", d);
    if (st == NULL)
        return RELM_ERR;
    relm_store_bind_text(st, 1, user);
    int rc = relm_store_step_row(s, st, d, "user");
    if (rc == RELM_ERR)
        return RELM_ERR;
    char hash[crypto_pwhash_STRBYTES] = "";
    int64_t uid = 0;
    int active = 0;
    if (rc == RELM_OK) {
        uid = sqlite3_column_int64(st, 0);
        relm_store_column_copy(st, 1, hash, sizeof hash);
        active = sqlite3_column_int(st, 2) == 1;
        sqlite3_reset(st);
    }
    /* Hash even when there is no user, so the time taken does not tell an
     * unknown name from a wrong password. */
    int ok = hash[0] != '\0' &&
             crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
    if (hash[0] == '\0') {
        char dummy[crypto_pwhash_STRBYTES];
        if (crypto_pwhash_str_alg(dummy, password, strlen(password),
                                  crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                  crypto_pwhash_MEMLIMIT_INTERACTIVE,
                                  crypto_pwhash_ALG_ARGON2ID13) != 0)
            (void)0; /* only the time it takes matters */
    }
    if (!ok || !active)
        return relm_diag_set(d, "unauthorized", "%s", _(refused));
    char prev[128];
    snprintf(prev, sizeof prev, "%s", relm_store_actor_name(s));
    /* The session is made, and logged, by the user who logs in. */
    if (relm_store_set_actor(s, user, d) != RELM_OK)
        return RELM_ERR;
    rc = relm_store_begin(s, d);
    if (rc == RELM_OK) {
        rc = insert_token(s, uid, "web session", "session",
                          relm_clock_now() + ttl, out, NULL, d);
        rc = relm_store_end(s, rc, d);
    }
    relm_diag d2;
    if (relm_store_set_actor(s, prev, &d2) != RELM_OK)
        relm_store_defer_actor(s, prev);
    if (rc == RELM_OK)
        relm_token_csrf(out, csrf);
    return rc;
}
