/* deliver.c: send queued deliveries (webhooks, e-mail) through libcurl's
 * multi interface driven by serve's uv loop, as curl's multi-uv.c does. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/lazylib.h"
#include "base/sha256.h"
#include "base/time.h"
#include "loop/serve_int.h"

/* libcurl and OpenSSL's libcrypto (the signature's SHA-256) are opened when
 * serve starts rather than linked (base/lazylib.h): with the libraries
 * curl brings (GnuTLS, Kerberos, LDAP, ...) they would cost every relm
 * start, REPL or `relm -e`, about six milliseconds. */
#define CURL_FUNCTIONS(X)                                                    \
    X(curl_easy_cleanup)                                                     \
    X(curl_easy_getinfo)                                                     \
    X(curl_easy_init)                                                        \
    X(curl_easy_reset)                                                       \
    X(curl_easy_setopt)                                                      \
    X(curl_easy_strerror)                                                    \
    X(curl_global_cleanup)                                                   \
    X(curl_global_init)                                                      \
    X(curl_multi_add_handle)                                                 \
    X(curl_multi_assign)                                                     \
    X(curl_multi_cleanup)                                                    \
    X(curl_multi_info_read)                                                  \
    X(curl_multi_init)                                                       \
    X(curl_multi_remove_handle)                                              \
    X(curl_multi_setopt)                                                     \
    X(curl_multi_socket_action)                                              \
    X(curl_slist_append)                                                     \
    X(curl_slist_free_all)
RELM_LAZYLIB(curl, "libcurl.so.4", CURL_FUNCTIONS)
#define EVP_FUNCTIONS(X)                                                     \
    X(EVP_DigestFinal_ex)                                                    \
    X(EVP_DigestInit_ex)                                                     \
    X(EVP_DigestUpdate)                                                      \
    X(EVP_MD_CTX_free)                                                       \
    X(EVP_MD_CTX_new)                                                        \
    X(EVP_MD_fetch)                                                          \
    X(EVP_MD_free)
RELM_LAZYLIB(evp, "libcrypto.so.3", EVP_FUNCTIONS)
#define EVP_DigestFinal_ex RELM_LAZY(evp, EVP_DigestFinal_ex)
#define EVP_DigestInit_ex RELM_LAZY(evp, EVP_DigestInit_ex)
#define EVP_DigestUpdate RELM_LAZY(evp, EVP_DigestUpdate)
#define EVP_MD_CTX_free RELM_LAZY(evp, EVP_MD_CTX_free)
#define EVP_MD_CTX_new RELM_LAZY(evp, EVP_MD_CTX_new)
#define EVP_MD_fetch RELM_LAZY(evp, EVP_MD_fetch)
#define EVP_MD_free RELM_LAZY(evp, EVP_MD_free)
/* curl.h wraps these three in macros (type checks under GCC). */
#undef curl_easy_getinfo
#undef curl_easy_setopt
#undef curl_multi_setopt
#define curl_easy_cleanup RELM_LAZY(curl, curl_easy_cleanup)
#define curl_easy_getinfo RELM_LAZY(curl, curl_easy_getinfo)
#define curl_easy_init RELM_LAZY(curl, curl_easy_init)
#define curl_easy_reset RELM_LAZY(curl, curl_easy_reset)
#define curl_easy_setopt RELM_LAZY(curl, curl_easy_setopt)
#define curl_easy_strerror RELM_LAZY(curl, curl_easy_strerror)
#define curl_global_cleanup RELM_LAZY(curl, curl_global_cleanup)
#define curl_global_init RELM_LAZY(curl, curl_global_init)
#define curl_multi_add_handle RELM_LAZY(curl, curl_multi_add_handle)
#define curl_multi_assign RELM_LAZY(curl, curl_multi_assign)
#define curl_multi_cleanup RELM_LAZY(curl, curl_multi_cleanup)
#define curl_multi_info_read RELM_LAZY(curl, curl_multi_info_read)
#define curl_multi_init RELM_LAZY(curl, curl_multi_init)
#define curl_multi_remove_handle RELM_LAZY(curl, curl_multi_remove_handle)
#define curl_multi_setopt RELM_LAZY(curl, curl_multi_setopt)
#define curl_multi_socket_action RELM_LAZY(curl, curl_multi_socket_action)
#define curl_slist_append RELM_LAZY(curl, curl_slist_append)
#define curl_slist_free_all RELM_LAZY(curl, curl_slist_free_all)

/* One delivery in flight. */
typedef struct transfer {
    relm_serve *sv;
    CURL *easy;
    int64_t id;           /* deliveries.id */
    int64_t event_id;     /* outbox.id */
    int attempts;         /* tries before this one */
    int email;
    int no_server;        /* email with neither its own url nor smtp_url */
    char *body;           /* webhook JSON, or the whole mail message */
    size_t len, off;
    struct curl_slist *headers, *rcpt;
    char event[64];
    char target[256];
    char err[CURL_ERROR_SIZE];
} transfer;

/* What became of one try, written back in one transaction per batch. */
typedef struct relm_outcome {
    int64_t id;
    int status;            /* 0 retry, 1 delivered, 2 dead */
    double next_at;
    char reason[300];
    transfer *t;
} outcome;

/* The poll on one socket curl uses. A connection's socket keeps its poll
 * from the moment relm opens it (open_socket) until curl closes it
 * (close_socket): between transfers curl forgets the socket (REMOVE) and
 * asks for it again on the next one, and uv_poll_start on every such
 * change took the socket out of epoll and put it back, twice per delivery.
 * Sockets curl opens itself (the resolver's) are closed by curl without
 * telling: their polls end at REMOVE. */
typedef struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    relm_serve *sv;
    int events;    /* what the poll watches now (0: stopped) */
    int wanted;    /* curl asked for the socket and has not removed it */
    int kept;      /* opened by open_socket: lives until close_socket */
} sock_ctx;

/* SHA-256 fetched once from OpenSSL (its SHA-NI/AVX2 code signs a body
 * several times faster than base/sha256.c, and signing every webhook body
 * was a visible share of a busy round); NULL: base/sha256.c signs. */
static EVP_MD *sha256_md;
static EVP_MD_CTX *sha256_ctx;

static void check_done(relm_serve *sv, int in_poll);
static void free_transfer(transfer *t);

/* Easy handles kept for reuse: as many as can be in flight and ready. */
enum { POOL_MAX = RELM_SERVE_MAX_INFLIGHT + RELM_SERVE_READY };

/* ---- libcurl on the uv loop ------------------------------------------ */

static void on_poll(uv_poll_t *h, int status, int events)
{
    sock_ctx *c = h->data;
    int flags = 0, running;
    if (!c->wanted) {
        /* An idle kept connection became readable: the server closed it
         * or sent something unasked. curl finds out when it next uses it;
         * until then stop watching, or the loop would spin on it. */
        uv_poll_stop(h);
        c->events = 0;
        return;
    }
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    relm_serve *sv = c->sv;
    curl_multi_socket_action(sv->multi, c->fd, flags, &running);
    check_done(sv, 1);
}

static void free_sock(uv_handle_t *h)
{
    sock_ctx *c = h->data;
    c->sv->closing--;
    free(c);
}

static void close_sock(sock_ctx *c)
{
    relm_serve *sv = c->sv;
    if (c->fd >= 0 && c->fd < sv->nsocks && sv->socks[c->fd] == c)
        sv->socks[c->fd] = NULL;
    sv->closing++;
    uv_close((uv_handle_t *)&c->poll, free_sock);
}

/* A new poll for fd, in the table by fd; NULL when out of memory. */
static sock_ctx *new_sock(relm_serve *sv, curl_socket_t fd)
{
    if (fd >= sv->nsocks) {
        int n = fd + 64;
        sock_ctx **t = realloc(sv->socks, (size_t)n * sizeof *t);
        if (t == NULL)
            return NULL;
        memset(t + sv->nsocks, 0, (size_t)(n - sv->nsocks) * sizeof *t);
        sv->socks = t;
        sv->nsocks = n;
    }
    sock_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->fd = fd;
    c->sv = sv;
    c->poll.data = c;
    if (uv_poll_init_socket(sv->loop, &c->poll, fd) != 0) {
        free(c);
        return NULL;
    }
    sv->socks[fd] = c;
    return c;
}

/* CURLOPT_OPENSOCKETFUNCTION: open the connection's socket and its poll. */
static curl_socket_t open_socket(void *userp, curlsocktype purpose,
                                 struct curl_sockaddr *a)
{
    relm_serve *sv = userp;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    curl_socket_t fd = socket(a->family, a->socktype | SOCK_CLOEXEC,
                              a->protocol);
    if (fd == CURL_SOCKET_BAD)
        return fd;
    sock_ctx *c = new_sock(sv, fd);
    if (c == NULL) {
        close(fd);
        return CURL_SOCKET_BAD;
    }
    c->kept = 1;
    return fd;
}

/* CURLOPT_CLOSESOCKETFUNCTION: the poll goes before the socket does. */
static int close_socket(void *userp, curl_socket_t fd)
{
    relm_serve *sv = userp;
    if (fd >= 0 && fd < sv->nsocks && sv->socks[fd] != NULL)
        close_sock(sv->socks[fd]);
    return close(fd);
}

/* CURLMOPT_SOCKETFUNCTION: watch the socket for what curl asks. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *socketp)
{
    (void)easy;
    relm_serve *sv = userp;
    sock_ctx *c = socketp;
    if (c == NULL && fd >= 0 && fd < sv->nsocks)
        c = sv->socks[fd];
    if (what == CURL_POLL_REMOVE) {
        if (c != NULL && c->kept) {
            c->wanted = 0; /* watched on: see on_poll */
        } else if (c != NULL) {
            close_sock(c);
        }
        return 0;
    }
    if (c == NULL && (c = new_sock(sv, fd)) == NULL)
        return -1;
    curl_multi_assign(sv->multi, fd, c);
    c->wanted = 1;
    int ev = 0;
    if (what != CURL_POLL_IN)
        ev |= UV_WRITABLE;
    if (what != CURL_POLL_OUT)
        ev |= UV_READABLE;
    if (ev != c->events && uv_poll_start(&c->poll, ev, on_poll) != 0)
        return -1;
    c->events = ev;
    return 0;
}

static void on_curl_timeout(uv_timer_t *t)
{
    relm_serve *sv = t->data;
    int running;
    curl_multi_socket_action(sv->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(sv, 0);
}

/* CURLMOPT_TIMERFUNCTION: one timer for whatever curl waits on. */
static int on_curl_timer(CURLM *multi, long ms, void *userp)
{
    (void)multi;
    relm_serve *sv = userp;
    if (ms < 0)
        uv_timer_stop(&sv->curl_timer);
    else
        uv_timer_start(&sv->curl_timer, on_curl_timeout,
                       (uint64_t)(ms == 0 ? 1 : ms), 0);
    return 0;
}

int relm_deliver_init(relm_serve *sv)
{
    if (!relm_lazylib_load(&curl.lib) || !relm_lazylib_load(&evp.lib) ||
        curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return RELM_ERR;
    sv->multi = curl_multi_init();
    sv->done = calloc(RELM_SERVE_MAX_INFLIGHT, sizeof *sv->done);
    sv->ready = calloc(RELM_SERVE_READY, sizeof *sv->ready);
    sv->pool = calloc(POOL_MAX, sizeof *sv->pool);
    if (sv->multi == NULL || sv->done == NULL || sv->ready == NULL ||
        sv->pool == NULL)
        return RELM_ERR;
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    sha256_ctx = sha256_md != NULL ? EVP_MD_CTX_new() : NULL;
    uv_timer_init(sv->loop, &sv->curl_timer);
    sv->curl_timer.data = sv;
    uv_check_init(sv->loop, &sv->kick);
    sv->kick.data = sv;
    curl_multi_setopt(sv->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(sv->multi, CURLMOPT_SOCKETDATA, sv);
    curl_multi_setopt(sv->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(sv->multi, CURLMOPT_TIMERDATA, sv);
    /* curl's connection cache holds 4 connections per easy handle in the
     * multi by default, and finished transfers leave the multi until the
     * next ones start: when most finished together, the cache shrank and
     * closed connections the next round opened again (about 700 connects
     * for 5,000 webhooks to one receiver). Hold it at what a full multi gets:
     * room for every connection in use and as many idle ones to other
     * receivers (a cap of 64 closed a live receiver's connections while
     * transfers to one that was down held their places). */
    curl_multi_setopt(sv->multi, CURLMOPT_MAXCONNECTS,
                      (long)(4 * RELM_SERVE_MAX_INFLIGHT));
    return RELM_OK;
}

void relm_deliver_stop(relm_serve *sv)
{
    for (int i = 0; i < sv->nsocks; i++)
        if (sv->socks[i] != NULL)
            close_sock(sv->socks[i]);
}

void relm_deliver_close(relm_serve *sv)
{
    /* Claimed but never started: give them back to the next serve. */
    if (sv->nready > 0)
        relm_deliver_release_claims(sv);
    for (int i = 0; i < sv->nready; i++)
        free_transfer(sv->ready[i]);
    sv->nready = 0;
    free(sv->ready);
    sv->ready = NULL;
    for (int i = 0; i < sv->npool; i++)
        curl_easy_cleanup(sv->pool[i]);
    sv->npool = 0;
    free(sv->pool);
    sv->pool = NULL;
    if (sv->multi != NULL)
        curl_multi_cleanup(sv->multi);
    sv->multi = NULL;
    free(sv->socks);
    sv->socks = NULL;
    sv->nsocks = 0;
    free(sv->done);
    sv->done = NULL;
    EVP_MD_CTX_free(sha256_ctx);
    sha256_ctx = NULL;
    EVP_MD_free(sha256_md);
    sha256_md = NULL;
    curl_global_cleanup();
}

/* ---- claiming and starting ---------------------------------------------- */

void relm_deliver_release_claims(relm_serve *sv)
{
    relm_diag d;
    /* Only one serve runs per database (the lock), so every claim left
     * is from one that died mid-send: send those again (at least once). */
    if (relm_store_exec(sv->s,
                        "UPDATE deliveries SET claimed = 0 WHERE claimed = 1",
                        &d) != RELM_OK)
        relm_serve_log(sv, "error", "what", "release claims", "message",
                       d.msg, RELM_LOG_END);
}

/* CURLOPT_READFUNCTION for the mail upload. */
static size_t read_body(char *buf, size_t size, size_t n, void *userp)
{
    transfer *t = userp;
    size_t want = size * n, left = t->len - t->off;
    if (want > left)
        want = left;
    memcpy(buf, t->body + t->off, want);
    t->off += want;
    return want;
}

/* Discard what the server answers. */
static size_t sink(char *buf, size_t size, size_t n, void *userp)
{
    (void)buf;
    (void)userp;
    return size * n;
}

/* Free t; its easy handle (already out of the multi) is kept for the next
 * transfer: curl_easy_init allocates and clears several kilobytes, once
 * per delivery otherwise. A webhook's handle is kept as it is: the next
 * webhook sets every option it uses again, and an e-mail resets the
 * handle it takes (make_transfer). An e-mail's is reset here: its upload
 * options would turn a webhook's POST into a PUT. */
static void free_transfer(transfer *t)
{
    relm_serve *sv = t->sv;
    if (t->easy != NULL && sv->pool != NULL && sv->npool < POOL_MAX) {
        if (t->email)
            curl_easy_reset(t->easy);
        else /* the one option curl writes through: t goes now */
            curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, NULL);
        sv->pool[sv->npool++] = t->easy;
    } else if (t->easy != NULL) {
        curl_easy_cleanup(t->easy);
    }
    curl_slist_free_all(t->headers);
    curl_slist_free_all(t->rcpt);
    free(t->body);
    free(t);
}

/* Header the webhook is signed with: sha256=HEX(HMAC-SHA256(secret, body)). */
/* HMAC-SHA256 (RFC 2104) of body under key into mac[32]. */
static void hmac_sha256(const char *key, size_t klen, const char *body,
                        size_t len, unsigned char mac[32])
{
    unsigned char k0[64] = {0}, pad[64], inner[32];
    /* A key longer than a block is hashed first: rare, left to base. */
    if (sha256_ctx == NULL || klen > sizeof k0) {
        relm_hmac_sha256(key, klen, body, len, mac);
        return;
    }
    memcpy(k0, key, klen);
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] = k0[i] ^ 0x36;
    int ok = EVP_DigestInit_ex(sha256_ctx, sha256_md, NULL) &&
             EVP_DigestUpdate(sha256_ctx, pad, sizeof pad) &&
             EVP_DigestUpdate(sha256_ctx, body, len) &&
             EVP_DigestFinal_ex(sha256_ctx, inner, NULL);
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] = k0[i] ^ 0x5c;
    ok = ok && EVP_DigestInit_ex(sha256_ctx, sha256_md, NULL) &&
         EVP_DigestUpdate(sha256_ctx, pad, sizeof pad) &&
         EVP_DigestUpdate(sha256_ctx, inner, sizeof inner) &&
         EVP_DigestFinal_ex(sha256_ctx, mac, NULL);
    if (!ok)
        relm_hmac_sha256(key, klen, body, len, mac);
}

static struct curl_slist *sign(struct curl_slist *h, const char *secret,
                               const char *body, size_t len)
{
    unsigned char mac[32];
    char hex[65], line[100];
    hmac_sha256(secret, strlen(secret), body, len, mac);
    relm_sha256_tohex(mac, hex);
    snprintf(line, sizeof line, "X-Relm-Signature: sha256=%s", hex);
    return curl_slist_append(h, line);
}

/* Text of column i, "" for NULL. */
static const char *col(sqlite3_stmt *q, int i)
{
    const char *v = (const char *)sqlite3_column_text(q, i);
    return v != NULL ? v : "";
}

/* Append the Subject header's value: as it is when it is printable ASCII,
 * else as RFC 2047 encoded words (UTF-8, base64), each under 76 bytes and
 * never splitting a UTF-8 sequence. Line breaks become spaces. */
static void append_subject(sqlite3_str *m, const char *v)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int ascii = 1;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        ascii &= *p >= 0x20 && *p < 0x7f;
    if (ascii) {
        sqlite3_str_appendall(m, v);
        return;
    }
    const unsigned char *p = (const unsigned char *)v;
    size_t n = strlen(v);
    int first = 1;
    while (n > 0) {
        /* 45 bytes -> 60 base64 characters, inside a 76-byte word. */
        size_t k = n < 45 ? n : 45;
        while (k < n && (p[k] & 0xC0) == 0x80)
            k--;
        unsigned char chunk[48];
        for (size_t i = 0; i < k; i++)
            chunk[i] = p[i] == '\r' || p[i] == '\n' ? ' ' : p[i];
        sqlite3_str_appendall(m, first ? "=?UTF-8?B?" : "\r\n =?UTF-8?B?");
        for (size_t i = 0; i < k; i += 3) {
            unsigned x = (unsigned)chunk[i] << 16 |
                         (i + 1 < k ? (unsigned)chunk[i + 1] << 8 : 0) |
                         (i + 2 < k ? chunk[i + 2] : 0);
            char o[5] = {b64[x >> 18 & 63], b64[x >> 12 & 63],
                         i + 1 < k ? b64[x >> 6 & 63] : '=',
                         i + 2 < k ? b64[x & 63] : '=', 0};
            sqlite3_str_appendall(m, o);
        }
        sqlite3_str_appendall(m, "?=");
        p += k;
        n -= k;
        first = 0;
    }
}

/* Append text with every line ending as CRLF (SMTP's), bare LF included. */
static void append_crlf(sqlite3_str *m, const char *v)
{
    for (; *v; v++) {
        if (*v == '\r')
            continue;
        if (*v == '\n')
            sqlite3_str_appendall(m, "\r\n");
        else
            sqlite3_str_appendchar(m, 1, *v);
    }
    sqlite3_str_appendall(m, "\r\n");
}

/* The plain-text mail for the current row of the claim query: the model
 * template's rendered subject and body when the delivery has them
 * (columns 16, 17), else the generic event mail. */
static char *mail_text(relm_serve *sv, sqlite3_stmt *q, const char *to,
                       size_t *len)
{
    char date[64];
    /* Not time(): glibc reads the coarse clock, up to a tick behind, so a
     * mail about an event of 11:53:21 could be dated 11:53:20. */
    time_t now = (time_t)relm_serve_now();
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    const char *from = sv->set.smtp_from[0] ? sv->set.smtp_from
                                            : "relm@localhost";
    int templated = sqlite3_column_type(q, 17) != SQLITE_NULL;
    sqlite3_str *m = sqlite3_str_new(NULL);
    sqlite3_str_appendf(m, "Date: %s\r\nFrom: relm <%s>\r\nTo: <%s>\r\n"
                           "Subject: ", date, from, to);
    if (templated) {
        append_subject(m, col(q, 16));
    } else {
        /* Titles are the user's text: keep line breaks out of the header. */
        char *subject = sqlite3_mprintf("[relm] %s %s %s", col(q, 8),
                                        col(q, 11), col(q, 12));
        append_subject(m, subject != NULL ? subject : "[relm]");
        sqlite3_free(subject);
    }
    sqlite3_str_appendf(m,
                        "\r\nMessage-ID: <event-%s.delivery-%s@relm>\r\n"
                        "X-Relm-Event: %s\r\nX-Relm-Event-Id: %s\r\n"
                        "MIME-Version: 1.0\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Transfer-Encoding: 8bit\r\n\r\n",
                        col(q, 7), col(q, 0), col(q, 8), col(q, 7));
    if (templated)
        append_crlf(m, col(q, 17));
    else
        sqlite3_str_appendf(m,
                            "Event: %s\r\nRelease: %s %s\r\nState: %s (%s)\r\n"
                            "Time limit: %s\r\nAt: %s\r\nEvent id: %s\r\n",
                            col(q, 8), col(q, 11), col(q, 12), col(q, 13),
                            col(q, 14), col(q, 15), col(q, 9), col(q, 7));
    *len = (size_t)sqlite3_str_length(m);
    char *s = sqlite3_str_finish(m);
    char *out = s != NULL ? malloc(*len + 1) : NULL;
    if (out != NULL)
        memcpy(out, s, *len + 1);
    sqlite3_free(s);
    return out;
}

/* Append v to p as a JSON string, quotes included, escaped as SQLite's
 * json_object escapes it; p has room for 2 + 6 * strlen(v) bytes. */
static char *json_string(char *p, const char *v)
{
    static const char hex[] = "0123456789abcdef";
    *p++ = '"';
    for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *p++ = '\\';
            *p++ = (char)*c;
        } else if (*c < 0x20) {
            const char *short_form = *c == '\b'   ? "b"
                                     : *c == '\t' ? "t"
                                     : *c == '\n' ? "n"
                                     : *c == '\f' ? "f"
                                     : *c == '\r' ? "r"
                                                  : NULL;
            *p++ = '\\';
            if (short_form != NULL) {
                *p++ = *short_form;
            } else {
                memcpy(p, "u00", 3);
                p[3] = hex[*c >> 4];
                p[4] = hex[*c & 15];
                p += 5;
            }
        } else {
            *p++ = (char)*c;
        }
    }
    *p++ = '"';
    return p;
}

/* The webhook body for the current row of the claim query: {"id", "event",
 * "at", "release": the event's payload}, the bytes json_object would give.
 * Written here rather than in the query: json_object(..., json(payload))
 * parsed and rendered every payload again, once per delivery. The payload
 * goes in as stored (valid JSON by its CHECK; outbox.c writes it with
 * json_object, so already minified). Returns malloc'd text, NULL when out
 * of memory. */
static char *webhook_body(sqlite3_stmt *q, size_t *len)
{
    const char *event = col(q, 8), *at = col(q, 9), *payload = col(q, 10);
    size_t elen = strlen(event), alen = strlen(at), plen = strlen(payload);
    char *body = malloc(64 + 6 * (elen + alen) + plen);
    if (body == NULL)
        return NULL;
    char *p = body + sprintf(body, "{\"id\":%" PRId64 ",\"event\":",
                             (int64_t)sqlite3_column_int64(q, 7));
    p = json_string(p, event);
    memcpy(p, ",\"at\":", 6);
    p = json_string(p + 6, at);
    memcpy(p, ",\"release\":", 11);
    p += 11;
    memcpy(p, payload, plen);
    p += plen;
    *p++ = '}';
    *p = '\0';
    *len = (size_t)(p - body);
    return body;
}

/* Build the transfer for the current row of the claim query. */
static transfer *make_transfer(relm_serve *sv, sqlite3_stmt *q)
{
    transfer *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->sv = sv;
    t->id = sqlite3_column_int64(q, 0);
    t->attempts = sqlite3_column_int(q, 1);
    t->email = strcmp(col(q, 2), "email") == 0;
    t->event_id = sqlite3_column_int64(q, 7);
    snprintf(t->event, sizeof t->event, "%s", col(q, 8));
    t->easy = sv->npool > 0 ? sv->pool[--sv->npool] : curl_easy_init();
    if (t->easy == NULL) {
        free(t);
        return NULL;
    }
    if (t->email)
        curl_easy_reset(t->easy); /* may have been a webhook's */
    CURL *e = t->easy;
    long timeout = (long)(sv->set.timeout * 1000);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->err);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, sv);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, sv);
    if (!t->email) {
        t->body = webhook_body(q, &t->len);
        if (t->body == NULL) {
            free_transfer(t);
            return NULL;
        }
        snprintf(t->target, sizeof t->target, "%s", col(q, 3));
        char line[120];
        t->headers = curl_slist_append(NULL,
                                       "Content-Type: application/json");
        t->headers = curl_slist_append(t->headers, "Expect:");
        snprintf(line, sizeof line, "X-Relm-Event: %s", t->event);
        t->headers = curl_slist_append(t->headers, line);
        snprintf(line, sizeof line, "X-Relm-Event-Id: %" PRId64, t->event_id);
        t->headers = curl_slist_append(t->headers, line);
        if (sqlite3_column_type(q, 5) != SQLITE_NULL)
            t->headers = sign(t->headers, col(q, 5), t->body, t->len);
        curl_easy_setopt(e, CURLOPT_URL, t->target);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)t->len);
        return t;
    }
    const char *to = col(q, 4);
    const char *server = sqlite3_column_type(q, 3) != SQLITE_NULL
                             ? col(q, 3) : sv->set.smtp_url;
    snprintf(t->target, sizeof t->target, "%s", to);
    t->no_server = server[0] == '\0';
    t->body = mail_text(sv, q, to, &t->len);
    if (t->body == NULL) {
        free_transfer(t);
        return NULL;
    }
    char addr[300];
    snprintf(addr, sizeof addr, "<%s>", to);
    t->rcpt = curl_slist_append(NULL, addr);
    snprintf(addr, sizeof addr, "<%s>",
             sv->set.smtp_from[0] ? sv->set.smtp_from : "relm@localhost");
    /* No server yet: an empty URL fails the try with a reason, and the
     * delivery waits for the admin to set smtp_url (retries, then dead). */
    curl_easy_setopt(e, CURLOPT_URL, server);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, addr);
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, t->rcpt);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(e, CURLOPT_READDATA, t);
    curl_easy_setopt(e, CURLOPT_INFILESIZE, (long)t->len);
    long tls = strcmp(sv->set.smtp_tls, "require") == 0 ? CURLUSESSL_ALL
               : strcmp(sv->set.smtp_tls, "none") == 0  ? CURLUSESSL_NONE
                                                        : CURLUSESSL_TRY;
    curl_easy_setopt(e, CURLOPT_USE_SSL, tls);
    return t;
}

/* ids as a JSON array ("[3,4,9]") for json_each: one statement writes a
 * whole round, where a statement per row paid SQLite's per-statement cost
 * (program start, cursors, seeks from the root) once per delivery. buf
 * holds 2 + 21 * n bytes. */
static const char *id_list(char *buf, const int64_t *ids, int n)
{
    char *p = buf;
    *p++ = '[';
    for (int i = 0; i < n; i++)
        p += sprintf(p, i ? ",%" PRId64 : "%" PRId64, ids[i]);
    *p++ = ']';
    *p = '\0';
    return buf;
}

/* Write the outcomes of one round of finished tries; inside the caller's
 * transaction. The delivered ones (nearly all) in one statement, retries
 * and dead letters one by one. */
static int write_outcomes(relm_serve *sv, const outcome *out, int n,
                          relm_diag *d)
{
    if (n == 0)
        return RELM_OK;
    char now[32];
    relm_time_format((int64_t)relm_serve_now(), now);
    int64_t ids[RELM_SERVE_MAX_INFLIGHT];
    char list[2 + 21 * RELM_SERVE_MAX_INFLIGHT];
    int nd = 0;
    for (int i = 0; i < n; i++)
        if (out[i].status == 1)
            ids[nd++] = out[i].id;
    if (nd > 0) {
        sqlite3_stmt *u = relm_store_stmt(
            sv->s,
            "UPDATE deliveries SET claimed = 0, attempts = attempts + 1, "
            "status = 'delivered', last_error = NULL, delivered_at = ?2 "
            "WHERE id IN (SELECT value FROM json_each(?1))",
            d);
        if (u == NULL)
            return RELM_ERR;
        sqlite3_bind_text(u, 1, id_list(list, ids, nd), -1, SQLITE_STATIC);
        sqlite3_bind_text(u, 2, now, -1, SQLITE_STATIC);
        int rc = sqlite3_step(u);
        sqlite3_reset(u);
        if (rc != SQLITE_DONE)
            return relm_store_fail(sv->s, d, "delivery");
    }
    if (nd == n)
        return RELM_OK;
    sqlite3_stmt *u = relm_store_stmt(
        sv->s,
        "UPDATE deliveries SET claimed = 0, attempts = attempts + 1, "
        "status = CASE ?2 WHEN 2 THEN 'dead' ELSE 'queued' END, "
        "next_at = ?3, last_error = ?4 WHERE id = ?1",
        d);
    if (u == NULL)
        return RELM_ERR;
    for (int i = 0; i < n; i++) {
        if (out[i].status == 1)
            continue;
        sqlite3_bind_int64(u, 1, out[i].id);
        sqlite3_bind_int(u, 2, out[i].status);
        sqlite3_bind_double(u, 3, out[i].next_at);
        sqlite3_bind_text(u, 4, out[i].reason, -1, SQLITE_STATIC);
        int rc = sqlite3_step(u);
        sqlite3_reset(u);
        if (rc != SQLITE_DONE)
            return relm_store_fail(sv->s, d, "delivery");
    }
    return RELM_OK;
}

/* Claim up to want due deliveries (claimed = 1, so a later pass does not
 * take them twice) into the ready queue, in one transaction that also
 * writes the nout outcomes waiting: one commit per round, however many
 * transfers it covers. Nothing is sent from inside it: the ready ones start
 * after the commit. Returns how many were claimed, -1 on failure (logged;
 * the outcomes then stay unwritten and their rows claimed). */
static int sync_round(relm_serve *sv, double now, int want,
                      const outcome *out, int nout)
{
    relm_diag d;
    transfer **batch = sv->ready + sv->nready;
    int n = 0;
    if (relm_store_begin(sv->s, &d) != RELM_OK)
        goto fail;
    if (write_outcomes(sv, out, nout, &d) != RELM_OK)
        goto fail_tx;
    /* The mail fields are read only for e-mail: each ->> parses the JSON
     * again, seven parses per webhook row that nothing used. */
    sqlite3_stmt *q = want > 0 ? relm_store_stmt(
        sv->s,
        "SELECT d.id, d.attempts, s.channel, s.url, s.recipient, s.secret, "
        "s.id, o.id, o.event, o.at, o.payload, "
        "CASE s.channel WHEN 'email' THEN o.payload ->> 'number' END, "
        "CASE s.channel WHEN 'email' THEN o.payload ->> 'title' END, "
        "CASE s.channel WHEN 'email' THEN o.payload ->> 'state' END, "
        "CASE s.channel WHEN 'email' THEN o.payload ->> 'status' END, "
        "CASE s.channel WHEN 'email' THEN o.payload ->> 'deadline' END, "
        "CASE s.channel WHEN 'email' THEN d.message ->> 'subject' END, "
        "CASE s.channel WHEN 'email' THEN d.message ->> 'body' END "
        "FROM deliveries d JOIN subscriptions s ON s.id = "
        "d.subscription_id JOIN outbox o ON o.id = d.outbox_id WHERE "
        "d.status = 'queued' AND d.claimed = 0 AND d.next_at <= ?1 ORDER BY "
        "d.next_at, d.id LIMIT ?2",
        &d) : NULL;
    if (want > 0 && q == NULL)
        goto fail_tx;
    if (q != NULL) {
        sqlite3_bind_double(q, 1, now);
        sqlite3_bind_int(q, 2, want);
        while (n < want && sqlite3_step(q) == SQLITE_ROW) {
            transfer *t = make_transfer(sv, q);
            if (t == NULL)
                break;
            batch[n++] = t;
        }
        sqlite3_reset(q);
    }
    if (n > 0) {
        sqlite3_stmt *u = relm_store_stmt(
            sv->s,
            "UPDATE deliveries SET claimed = 1 WHERE id IN "
            "(SELECT value FROM json_each(?1))",
            &d);
        if (u == NULL)
            goto fail_tx;
        int64_t ids[RELM_SERVE_READY];
        char list[2 + 21 * RELM_SERVE_READY];
        for (int i = 0; i < n; i++)
            ids[i] = batch[i]->id;
        sqlite3_bind_text(u, 1, id_list(list, ids, n), -1, SQLITE_STATIC);
        int rc = sqlite3_step(u);
        sqlite3_reset(u);
        if (rc != SQLITE_DONE) {
            relm_store_fail(sv->s, &d, "claim");
            goto fail_tx;
        }
    }
    if (relm_store_commit(sv->s, &d) != RELM_OK)
        goto fail_tx;
    sv->nready += n;
    return n;
fail_tx:
    relm_store_rollback(sv->s);
fail:
    for (int i = 0; i < n; i++)
        free_transfer(batch[i]);
    if (nout > 0)
        sv->stale_claims = 1; /* sent again once nothing is in flight */
    relm_serve_log(sv, "error", "what", nout > 0 ? "record deliveries"
                                                 : "claim",
                   "code", d.code, "message", d.msg, RELM_LOG_END);
    return -1;
}

/* Start ready transfers while there is room; the oldest claimed first. */
static int add_ready(relm_serve *sv)
{
    int k = 0;
    while (k < sv->nready && sv->inflight < RELM_SERVE_MAX_INFLIGHT) {
        sv->inflight++;
        curl_multi_add_handle(sv->multi, sv->ready[k++]->easy);
    }
    sv->nready -= k;
    memmove(sv->ready, sv->ready + k, (size_t)sv->nready * sizeof *sv->ready);
    return k;
}

static void start_ready(relm_serve *sv)
{
    if (add_ready(sv) == 0)
        return;
    /* libcurl asks for a timer only when its earliest deadline changes; a
     * handle added while that deadline is unchanged would wait for some
     * unrelated wake-up. Kick it on the next loop iteration. */
    uv_timer_start(&sv->curl_timer, on_curl_timeout, 0, 0);
}

void relm_deliver_start(relm_serve *sv, double now, double *next)
{
    *next = 0;
    if (sv->stopping)
        return;
    start_ready(sv);
    if (sv->nready < RELM_SERVE_READY - RELM_SERVE_MAX_INFLIGHT) {
        int want = RELM_SERVE_READY - sv->nready;
        if (sync_round(sv, now, want, NULL, 0) < 0) {
            /* Logged; try again in a second rather than spin. */
            *next = now + 1;
            return;
        }
        start_ready(sv);
    }
    /* Something is ready: a finished transfer starts it; no timer needed. */
    if (sv->nready > 0)
        return;
    relm_diag d;
    sqlite3_stmt *q = relm_store_stmt(
        sv->s,
        "SELECT min(next_at) FROM deliveries WHERE status = 'queued' AND "
        "claimed = 0",
        &d);
    if (q == NULL)
        return;
    if (sqlite3_step(q) == SQLITE_ROW &&
        sqlite3_column_type(q, 0) != SQLITE_NULL)
        *next = sqlite3_column_double(q, 0);
    sqlite3_reset(q);
}

/* ---- outcomes ----------------------------------------------------------- */

/* Decide what one finished try means: delivered on 2xx (HTTP) or a mail
 * accepted; dead at once on an HTTP 4xx or an SMTP 5xx (the receiver
 * refuses: trying again cannot help); otherwise retry after
 * backoff * 2^(tries-1) seconds, dead after max_tries. */
static void judge(relm_serve *sv, transfer *t, CURLcode res, outcome *o)
{
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    o->id = t->id;
    int tries = t->attempts + 1;
    if (res == CURLE_OK && (t->email || (code >= 200 && code < 300))) {
        o->status = 1;
        snprintf(o->reason, sizeof o->reason, "%ld", code);
        return;
    }
    int permanent = 0;
    if (res == CURLE_OK) {
        snprintf(o->reason, sizeof o->reason, "HTTP %ld", code);
        permanent = code >= 400 && code < 500;
    } else if (t->no_server) {
        snprintf(o->reason, sizeof o->reason,
                 "no SMTP server: set relm.notify.set{smtp_url=...} or give "
                 "the subscription a url");
    } else {
        snprintf(o->reason, sizeof o->reason, "%s",
                 t->err[0] ? t->err : curl_easy_strerror(res));
        permanent = t->email && code >= 500 && code < 600;
    }
    if (permanent || tries >= sv->set.max_tries) {
        o->status = 2;
        return;
    }
    double wait = sv->set.backoff * pow(2.0, tries - 1);
    if (wait > 3600)
        wait = 3600;
    o->status = 0;
    o->next_at = relm_serve_now() + wait;
}

/* After the poll phase: the answers that arrived together are all read;
 * start the transfers they made room for, all in one go. */
static void on_kick(uv_check_t *h)
{
    relm_serve *sv = h->data;
    uv_check_stop(h);
    if (sv->stopping || add_ready(sv) == 0)
        return;
    int running;
    curl_multi_socket_action(sv->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(sv, 0);
}

/* Collect the finished transfers and judge them; the outcomes are written
 * on the next loop iteration (relm_deliver_flush, from serve's idle
 * handle, started only while outcomes wait), so that transfers finishing
 * together share one transaction. in_poll: called from the poll phase,
 * whose check phase follows in this iteration. */
static void check_done(relm_serve *sv, int in_poll)
{
    int left;
    CURLMsg *m;
    while (sv->ndone < RELM_SERVE_MAX_INFLIGHT &&
           (m = curl_multi_info_read(sv->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        transfer *t = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        CURLcode res = m->data.result;
        curl_multi_remove_handle(sv->multi, m->easy_handle);
        outcome *o = &sv->done[sv->ndone++];
        judge(sv, t, res, o);
        o->t = t;
        sv->inflight--;
    }
    /* Keep the pipe full: the next claimed deliveries start in this loop
     * iteration, not after the outcomes are written. From the poll phase
     * they wait for its end (on_kick); from elsewhere the poll phase may
     * be yet to come, and a check handle does not keep it from blocking
     * (with every transfer finished, nothing would wake it): start them
     * now. */
    if (!sv->stopping && sv->nready > 0 &&
        sv->inflight < RELM_SERVE_MAX_INFLIGHT) {
        if (in_poll)
            uv_check_start(&sv->kick, on_kick);
        else
            start_ready(sv);
    }
    if (sv->ndone > 0 && !uv_is_active((uv_handle_t *)&sv->flush))
        uv_idle_start(&sv->flush, sv->on_flush);
}

void relm_deliver_flush(relm_serve *sv)
{
    int n = sv->ndone;
    if (n == 0)
        return;
    outcome *out = sv->done;
    int want = sv->stopping ? 0 : RELM_SERVE_READY - sv->nready;
    sync_round(sv, relm_serve_now(), want, out, n);
    sv->log_hold = 1;
    for (int i = 0; i < n; i++) {
        transfer *t = out[i].t;
        char id[32], ev[32], tries[16];
        snprintf(id, sizeof id, "%" PRId64, t->id);
        snprintf(ev, sizeof ev, "%" PRId64, t->event_id);
        snprintf(tries, sizeof tries, "%d", t->attempts + 1);
        static const char *const what[] = {"retry", "delivered", "dead"};
        relm_serve_log(sv, what[out[i].status], "delivery", id, "event_id",
                       ev, "event", t->event, "channel",
                       t->email ? "email" : "webhook", "to", t->target,
                       "try", tries, out[i].status == 1 ? "status" : "reason",
                       out[i].reason, RELM_LOG_END);
        free_transfer(t);
    }
    sv->log_hold = 0;
    fflush(stdout);
    sv->ndone = 0;
    check_done(sv, 0); /* any finished beyond what one round holds */
    relm_serve_pump(sv, 0);
}
