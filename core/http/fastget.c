/* fastget.c: the hot read of the HTTP API, `GET /api/v1/releases/{id}`, in C:
 * the same token check, snapshot and SLA clock as the Lua path, cached. */
#include "http/fastget.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/sha256.h"
#include "base/time.h"
#include "release.h"
#include "token.h"

/* Why this is not a second implementation: the token is checked by
 * relm_token_verify and the release read by relm_release_get, the very
 * functions the Lua path calls (relm.release.get asks nothing more than an
 * authenticated user). What the Lua path adds to the snapshot (to_release
 * in lua/relm/release.lua) is done here only for the releases where it is
 * plain arithmetic: the workflow's own fields lifted to the top, elapsed,
 * time_left, overdue. A release that needs more (suspended: reactivate_at;
 * a business calendar; kept conflicts) or whose JSON the Lua encoder would
 * write differently (reals and very large integers, nulls, empty objects
 * inside extra, extra keys that to_release overwrites) is left to Lua. */

#define PREFIX "/api/v1/releases/"
#define PREFIX_LEN (sizeof PREFIX - 1)

/* Tokens seen lately: a hit stands for relm_token_verify's RELM_OK during
 * the same clock second and store generation only, so a token revoked or
 * expired, or a user disabled, is refused at the next request after the
 * commit (a verify is exact to the second: expiry is in epoch seconds). */
enum { TOKEN_SLOTS = 16 };
typedef struct token_slot {
    char hash[65];
    uint64_t gen;
    int64_t second;
} token_slot;

/* Releases answered lately, by the path segment that named them, for one
 * store generation. slow: the Lua path must answer this one. base: the
 * document without its closing brace and without the clock's fields. */
enum { RELEASE_SLOTS = 64, SEGMENT_MAX = 40 };
typedef struct release_slot {
    char seg[SEGMENT_MAX];
    uint64_t gen;
    int used, slow;
    char *base;
    size_t base_len;
    int64_t row_version;
    int64_t elapsed_seconds;
    int has_active, has_deadline, has_closed, has_remaining;
    int64_t active_since, deadline, closed_at, remaining;
    int deadline_ok, closed_ok, active_ok;
} release_slot;

static token_slot tokens[TOKEN_SLOTS];
static release_slot releases[RELEASE_SLOTS];

/* What of a snapshot (?1) the C path needs, and whether Lua must answer
 * instead (see the comment at the top). Column 7 is the document to send
 * (extra {} written [] as the Lua encoder does, extra's keys lifted). */
static const char ANALYSE_SQL[] =
    "SELECT json_extract(?1, '$.row_version'),"
    " json_extract(?1, '$.elapsed_seconds'),"
    " json_extract(?1, '$.active_since'),"
    " json_extract(?1, '$.deadline'),"
    " json_extract(?1, '$.closed_at'),"
    " json_extract(?1, '$.remaining_seconds'),"
    " json_extract(?1, '$.status') = 'suspended'"
    "  OR json_type(?1, '$.calendar') IS NOT NULL"
    "  OR coalesce(json_type(?1, '$.extra'), 'object') <> 'object'"
    "  OR json_type(?1, '$.row_version') IS NOT 'integer'"
    "  OR EXISTS (SELECT 1 FROM json_tree(?1) t WHERE t.type IN ('real', 'null')"
    "   OR (t.type = 'integer' AND abs(t.atom) >= 100000000000000)"
    "   OR (t.type = 'object' AND t.value = '{}' AND t.fullkey <> '$.extra'))"
    "  OR EXISTS (SELECT 1 FROM json_each(?1, '$.extra') e WHERE e.key IN"
    "   ('elapsed', 'time_left', 'overdue', 'reactivate_at', 'conflicts'))"
    "  OR EXISTS (SELECT 1 FROM release_conflict_state WHERE release_id ="
    "   json_extract(?1, '$.id') AND (count > 0 OR dirty = 1)),"
    " json_patch(CASE WHEN json_extract(?1, '$.extra') = '{}'"
    "   THEN json_set(?1, '$.extra', json_array()) ELSE ?1 END,"
    "  (SELECT json_group_object(e.key, CASE WHEN e.type IN ('true', 'false')"
    "    THEN json(e.type) ELSE e.value END) FROM json_each(?1, '$.extra') e"
    "   WHERE e.key NOT IN (SELECT key FROM json_each(?1))))";

/* Column i of st as epoch seconds into *t; *ok 0 when it does not parse
 * (the Lua path then takes "now" or the other end, as C.seconds gives nil).
 * Returns whether the column is there at all. */
static int column_time(sqlite3_stmt *st, int i, int64_t *t, int *ok)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return 0;
    const char *v = (const char *)sqlite3_column_text(st, i);
    *ok = v != NULL && relm_time_parse(v, strlen(v), t, NULL);
    return 1;
}

/* Fill slot from the release the segment names: 0 on success (slot->slow
 * may still send the request to Lua), -1 when Lua must answer (not found,
 * an error: its message is the Lua path's to give). */
static int fill(relm_store *s, release_slot *slot, int64_t id, const char *number)
{
    relm_diag d;
    char *json = NULL;
    int64_t found;
    if (relm_release_get(s, id, number, &json, &found, &d) != RELM_OK)
        return -1;
    sqlite3_stmt *st = relm_store_stmt(s, ANALYSE_SQL, &d);
    if (st == NULL) {
        free(json);
        return -1;
    }
    sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
    int rc = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        free(slot->base);
        memset(slot, 0, sizeof *slot);
        slot->slow = sqlite3_column_int(st, 6) != 0;
        const char *doc = (const char *)sqlite3_column_text(st, 7);
        size_t n = doc != NULL ? (size_t)sqlite3_column_bytes(st, 7) : 0;
        if (!slot->slow && n >= 2 && doc[n - 1] == '}' &&
            (slot->base = malloc(n)) != NULL) {
            memcpy(slot->base, doc, n - 1); /* without the closing brace */
            slot->base_len = n - 1;
            slot->row_version = sqlite3_column_int64(st, 0);
            slot->elapsed_seconds = sqlite3_column_int64(st, 1);
            slot->has_active = column_time(st, 2, &slot->active_since,
                                           &slot->active_ok);
            slot->has_deadline = column_time(st, 3, &slot->deadline,
                                             &slot->deadline_ok);
            slot->has_closed = column_time(st, 4, &slot->closed_at,
                                           &slot->closed_ok);
            slot->has_remaining = sqlite3_column_type(st, 5) != SQLITE_NULL;
            slot->remaining = sqlite3_column_int64(st, 5);
        } else {
            slot->slow = 1;
        }
        slot->used = 1;
        rc = 0;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    free(json);
    return rc;
}

/* The document of slot as of now: base plus the SLA clock's fields, as
 * to_release computes them. */
static int respond(const release_slot *slot, relm_http_response *res)
{
    int64_t now = relm_clock_now();
    int64_t elapsed = slot->elapsed_seconds;
    if (slot->has_active) {
        int64_t since = slot->active_ok ? slot->active_since : now;
        elapsed += now - since > 0 ? now - since : 0;
    }
    int has_left = 1;
    int64_t left = 0;
    if (slot->has_deadline) {
        int64_t at = slot->has_closed && slot->closed_ok ? slot->closed_at : now;
        int64_t limit = slot->deadline_ok ? slot->deadline : at;
        left = limit - at;
    } else if (slot->has_remaining) {
        left = slot->remaining;
    } else {
        has_left = 0;
    }
    char tail[96];
    int tn = has_left
                 ? snprintf(tail, sizeof tail,
                            ",\"elapsed\":%" PRId64 ",\"time_left\":%" PRId64
                            ",\"overdue\":%s}",
                            elapsed, left, left < 0 ? "true" : "false")
                 : snprintf(tail, sizeof tail,
                            ",\"elapsed\":%" PRId64 ",\"overdue\":false}",
                            elapsed);
    char *body = malloc(slot->base_len + (size_t)tn + 1);
    if (body == NULL)
        return 0;
    memcpy(body, slot->base, slot->base_len);
    memcpy(body + slot->base_len, tail, (size_t)tn + 1);
    char etag[32];
    snprintf(etag, sizeof etag, "\"v%" PRId64 "\"", slot->row_version);
    res->status = 200;
    res->body = body;
    res->body_len = slot->base_len + (size_t)tn;
    relm_http_add_header(res, "ETag", etag);
    return 1;
}

/* The release named by the path, or 0 when this is not the route: *id for
 * digits (a number otherwise, in seg). Only plain segments: anything the
 * Lua router would unescape or refuse goes there. */
static int route(const relm_http_request *req, int64_t *id, char seg[SEGMENT_MAX])
{
    if (strcmp(req->method, "GET") != 0 || req->query_len != 0 ||
        req->path_len <= PREFIX_LEN ||
        req->path_len - PREFIX_LEN >= SEGMENT_MAX ||
        memcmp(req->path, PREFIX, PREFIX_LEN) != 0)
        return 0;
    size_t n = req->path_len - PREFIX_LEN;
    const char *p = req->path + PREFIX_LEN;
    int digits = 1;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        int digit = c >= '0' && c <= '9';
        if (!(digit || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              c == '-' || c == '_'))
            return 0;
        digits &= digit;
    }
    memcpy(seg, p, n);
    seg[n] = '\0';
    *id = 0;
    if (digits) {
        /* As Lua reads it: an integer (0 and 19 digits and more are left
         * to the Lua path, which has its own answer for them). */
        if (n > 18)
            return 0;
        *id = strtoll(seg, NULL, 10);
        if (*id <= 0)
            return 0;
    }
    return 1;
}

/* The slot of token in the cache (its hash is written into hash). */
static token_slot *token_slot_of(const char *token, char hash[65])
{
    relm_sha256_hex(token, strlen(token), hash);
    return &tokens[(unsigned char)hash[0] % TOKEN_SLOTS];
}

/* 1 when token was found live in this clock second and generation. */
static int token_cached(const char *token, uint64_t gen)
{
    char hash[65];
    token_slot *t = token_slot_of(token, hash);
    return t->gen == gen && t->second == relm_clock_now() &&
           strcmp(t->hash, hash) == 0;
}

/* 1 when token is live now (relm_token_verify says so; remembered for
 * this second and generation). */
static int token_ok(relm_store *s, const char *token, uint64_t gen)
{
    if (token_cached(token, gen))
        return 1;
    int64_t uid;
    char name[128];
    relm_diag d;
    if (relm_token_verify(s, token, "api", &uid, name, sizeof name, &d) !=
        RELM_OK)
        return 0;
    char hash[65];
    token_slot *t = token_slot_of(token, hash);
    memcpy(t->hash, hash, sizeof hash);
    t->gen = gen;
    t->second = relm_clock_now();
    return 1;
}

int relm_http_fastget(relm_store *s, const relm_http_request *req,
                      relm_http_response *res)
{
    int64_t id;
    char seg[SEGMENT_MAX];
    if (req->authorization == NULL ||
        strncmp(req->authorization, "Bearer ", 7) != 0 ||
        !route(req, &id, seg))
        return 0;
    /* A request for what is cached costs one read transaction: PRAGMA
     * data_version's. Otherwise one read transaction covers the generation,
     * the token and the release, so they are of one snapshot. */
    uint64_t gen = relm_store_generation(s);
    uint32_t h = 2166136261u; /* FNV-1a of the segment */
    for (const char *c = seg; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    release_slot *slot = &releases[h % RELEASE_SLOTS];
    if (token_cached(req->authorization + 7, gen) && slot->used &&
        slot->gen == gen && strcmp(slot->seg, seg) == 0)
        return !slot->slow && respond(slot, res);
    int own;
    relm_diag d;
    if (relm_store_read_begin(s, &own, &d) != RELM_OK)
        return 0;
    gen = relm_store_generation(s);
    int answered = 0;
    if (token_ok(s, req->authorization + 7, gen)) {
        if (!slot->used || slot->gen != gen || strcmp(slot->seg, seg) != 0) {
            if (fill(s, slot, id, id != 0 ? NULL : seg) == 0) {
                memcpy(slot->seg, seg, sizeof seg);
                slot->gen = gen;
            } else {
                slot->used = 0;
            }
        }
        if (slot->used && !slot->slow)
            answered = respond(slot, res);
    }
    relm_store_read_end(s, own);
    return answered;
}
