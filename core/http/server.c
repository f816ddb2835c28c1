/* server.c: the HTTP server on the host's loop: H2O parses and answers,
 * one handler (core/lua/l_http.c) decides; the outbox as event streams. */
#define H2O_USE_LIBUV 1
#include "http/server.h"

#include <h2o.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "base/i18n.h"
#include "base/lazylib.h"

/* H2O and OpenSSL are opened when a server starts rather than linked
 * (base/lazylib.h): libcrypto's relocations alone cost every relm start,
 * REPL or `relm -e`, about a millisecond. Functions and the two data
 * symbols H2O's macros name (h2o__tokens behind H2O_TOKEN_*). */
#define H2O_SYMBOLS(X)                                                       \
    X(h2o__tokens)                                                           \
    X(h2o_accept)                                                            \
    X(h2o_add_header)                                                        \
    X(h2o_add_header_by_str)                                                 \
    X(h2o_config_dispose)                                                    \
    X(h2o_config_init)                                                       \
    X(h2o_config_register_host)                                              \
    X(h2o_config_register_path)                                              \
    X(h2o_context_init)                                                      \
    X(h2o_create_handler)                                                    \
    X(h2o_find_header)                                                       \
    X(h2o_find_header_by_str)                                                \
    X(h2o_http2_alpn_protocols)                                              \
    X(h2o_mem_alloc_pool)                                                    \
    X(h2o_send)                                                              \
    X(h2o_send_inline)                                                       \
    X(h2o_socket_getnumerichost)                                             \
    X(h2o_ssl_register_alpn_protocols)                                       \
    X(h2o_start_response)                                                    \
    X(h2o_uv_socket_create)
RELM_LAZYLIB(h2o, "libh2o.so.0.13", H2O_SYMBOLS)
#define SSL_FUNCTIONS(X)                                                     \
    X(SSL_CTX_check_private_key)                                             \
    X(SSL_CTX_ctrl)                                                          \
    X(SSL_CTX_free)                                                          \
    X(SSL_CTX_new)                                                           \
    X(SSL_CTX_use_PrivateKey_file)                                           \
    X(SSL_CTX_use_certificate_chain_file)                                    \
    X(TLS_server_method)
RELM_LAZYLIB(ssl, "libssl.so.3", SSL_FUNCTIONS)
#define CRYPTO_FUNCTIONS(X)                                                  \
    X(ERR_error_string_n)                                                    \
    X(ERR_get_error)
RELM_LAZYLIB(crypto, "libcrypto.so.3", CRYPTO_FUNCTIONS)
#define h2o__tokens RELM_LAZY(h2o, h2o__tokens)
#define h2o_accept RELM_LAZY(h2o, h2o_accept)
#define h2o_add_header RELM_LAZY(h2o, h2o_add_header)
#define h2o_add_header_by_str RELM_LAZY(h2o, h2o_add_header_by_str)
#define h2o_config_dispose RELM_LAZY(h2o, h2o_config_dispose)
#define h2o_config_init RELM_LAZY(h2o, h2o_config_init)
#define h2o_config_register_host RELM_LAZY(h2o, h2o_config_register_host)
#define h2o_config_register_path RELM_LAZY(h2o, h2o_config_register_path)
#define h2o_context_init RELM_LAZY(h2o, h2o_context_init)
#define h2o_create_handler RELM_LAZY(h2o, h2o_create_handler)
#define h2o_find_header RELM_LAZY(h2o, h2o_find_header)
#define h2o_find_header_by_str RELM_LAZY(h2o, h2o_find_header_by_str)
#define h2o_http2_alpn_protocols RELM_LAZY(h2o, h2o_http2_alpn_protocols)
#define h2o_mem_alloc_pool RELM_LAZY(h2o, h2o_mem_alloc_pool)
#define h2o_send RELM_LAZY(h2o, h2o_send)
#define h2o_send_inline RELM_LAZY(h2o, h2o_send_inline)
#define h2o_socket_getnumerichost RELM_LAZY(h2o, h2o_socket_getnumerichost)
#define h2o_ssl_register_alpn_protocols RELM_LAZY(h2o, h2o_ssl_register_alpn_protocols)
#define h2o_start_response RELM_LAZY(h2o, h2o_start_response)
#define h2o_uv_socket_create RELM_LAZY(h2o, h2o_uv_socket_create)
#define SSL_CTX_check_private_key RELM_LAZY(ssl, SSL_CTX_check_private_key)
#define SSL_CTX_ctrl RELM_LAZY(ssl, SSL_CTX_ctrl)
#define SSL_CTX_free RELM_LAZY(ssl, SSL_CTX_free)
#define SSL_CTX_new RELM_LAZY(ssl, SSL_CTX_new)
#define SSL_CTX_use_PrivateKey_file RELM_LAZY(ssl, SSL_CTX_use_PrivateKey_file)
#define SSL_CTX_use_certificate_chain_file RELM_LAZY(ssl, SSL_CTX_use_certificate_chain_file)
#define TLS_server_method RELM_LAZY(ssl, TLS_server_method)
#define ERR_error_string_n RELM_LAZY(crypto, ERR_error_string_n)
#define ERR_get_error RELM_LAZY(crypto, ERR_get_error)

/* One open event stream: a request kept open, fed the outbox's events. */
typedef struct stream {
    h2o_generator_t gen;   /* first: H2O hands back a pointer to it */
    h2o_req_t *req;
    struct relm_http_server *sv;
    int64_t last;          /* the last event id sent */
    int sending;           /* an h2o_send is not yet proceeded */
    char *buf;             /* what is being sent (freed on proceed) */
    struct stream *next, *prev;
} stream;

struct relm_http_server {
    relm_http_config c;
    uv_loop_t *loop;
    uv_tcp_t listener;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    uv_timer_t tick;       /* polls the outbox for the event streams */
    stream *streams;
    int nstreams;
    int port;
    int closing;
    int stopped;
};

/* ---- responses ----------------------------------------------------------- */

void relm_http_add_header(relm_http_response *res, const char *name,
                          const char *value)
{
    if (res->nheaders >= RELM_HTTP_MAX_HEADERS)
        return;
    char *n = strdup(name), *v = strdup(value);
    if (n == NULL || v == NULL) { /* out of memory: the header is lost */
        free(n);
        free(v);
        return;
    }
    res->header_name[res->nheaders] = n;
    res->header_value[res->nheaders] = v;
    res->nheaders++;
}

void relm_http_response_free(relm_http_response *res)
{
    free(res->body);
    for (int i = 0; i < res->nheaders; i++) {
        free(res->header_name[i]);
        free(res->header_value[i]);
    }
    memset(res, 0, sizeof *res);
}

void relm_http_dispatch(relm_http_server *sv, const relm_http_request *req,
                        relm_http_response *res)
{
    memset(res, 0, sizeof *res);
    sv->c.handle(sv->c.ctx, req, res);
    if (res->status == 0)
        res->status = 500;
}

/* A NUL-terminated copy of header name's value from the pool, or NULL. */
static const char *header(h2o_req_t *req, const h2o_token_t *tok,
                          const char *name)
{
    ssize_t i = tok != NULL
                    ? h2o_find_header(&req->headers, tok, -1)
                    : h2o_find_header_by_str(&req->headers, name,
                                             strlen(name), -1);
    if (i < 0)
        return NULL;
    h2o_iovec_t v = req->headers.entries[i].value;
    char *out = h2o_mem_alloc_pool(&req->pool, v.len + 1);
    memcpy(out, v.base, v.len);
    out[v.len] = '\0';
    return out;
}

/* The reason phrase of each status relm sends (RFC 9110, section 15). */
static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default:
        return status < 200 ? "Informational" : status < 300 ? "Success"
             : status < 400 ? "Redirection" : status < 500 ? "Client Error"
                            : "Server Error";
    }
}

/* ---- event streams --------------------------------------------------------- */

static void stream_unlink(stream *st)
{
    relm_http_server *sv = st->sv;
    if (st->prev != NULL)
        st->prev->next = st->next;
    else if (sv->streams == st)
        sv->streams = st->next;
    if (st->next != NULL)
        st->next->prev = st->prev;
    st->next = st->prev = NULL;
    sv->nstreams--;
    if (sv->nstreams == 0)
        uv_timer_stop(&sv->tick);
}

/* Send the events after st->last (at most a batch), or a comment line to
 * keep the connection alive when keepalive and there are none. */
static void stream_pump(stream *st, int keepalive)
{
    if (st->sending)
        return;
    relm_diag d;
    sqlite3_stmt *q = relm_store_stmt(
        st->sv->c.store,
        "SELECT id, event, payload, at FROM outbox WHERE id > ?1 "
        "ORDER BY id LIMIT 200",
        &d);
    if (q == NULL)
        return;
    sqlite3_bind_int64(q, 1, st->last);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL) {
        sqlite3_reset(q);
        return;
    }
    while (sqlite3_step(q) == SQLITE_ROW) {
        st->last = sqlite3_column_int64(q, 0);
        /* The payload is one line of JSON (SQLite's json output never
         * holds a raw newline), so one data: line carries it. */
        fprintf(f, "id: %" PRId64 "\nevent: %s\ndata: {\"id\":%" PRId64
                   ",\"event\":\"%s\",\"at\":\"%s\",\"release\":%s}\n\n",
                st->last, (const char *)sqlite3_column_text(q, 1), st->last,
                (const char *)sqlite3_column_text(q, 1),
                (const char *)sqlite3_column_text(q, 3),
                (const char *)sqlite3_column_text(q, 2));
    }
    sqlite3_reset(q);
    if (len == 0 && keepalive)
        fputs(": keepalive\n\n", f);
    fclose(f);
    if (len == 0) {
        free(buf);
        return;
    }
    st->buf = buf;
    st->sending = 1;
    h2o_iovec_t v = h2o_iovec_init(buf, len);
    h2o_send(st->req, &v, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static void stream_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    (void)req;
    stream *st = (stream *)g;
    free(st->buf);
    st->buf = NULL;
    st->sending = 0;
    if (!st->sv->stopped)
        stream_pump(st, 0);
}

static void stream_stop(h2o_generator_t *g, h2o_req_t *req)
{
    (void)req;
    stream *st = (stream *)g;
    free(st->buf);
    st->buf = NULL;
    stream_unlink(st);
}

static void on_tick(uv_timer_t *t)
{
    relm_http_server *sv = t->data;
    static unsigned ticks;
    /* A comment every 15 s keeps proxies from closing idle streams. */
    int keepalive = (++ticks % 60) == 0;
    for (stream *st = sv->streams; st != NULL; st = st->next)
        stream_pump(st, keepalive);
}

static void stream_open(relm_http_server *sv, h2o_req_t *req, int64_t from)
{
    stream *st = h2o_mem_alloc_pool(&req->pool, sizeof *st);
    memset(st, 0, sizeof *st);
    st->gen.proceed = stream_proceed;
    st->gen.stop = stream_stop;
    st->req = req;
    st->sv = sv;
    st->last = from;
    st->next = sv->streams;
    if (sv->streams != NULL)
        sv->streams->prev = st;
    sv->streams = st;
    if (sv->nstreams++ == 0)
        uv_timer_start(&sv->tick, on_tick, 250, 250);
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
                   NULL, H2O_STRLIT("text/event-stream"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL,
                   NULL, H2O_STRLIT("no-store"));
    h2o_start_response(req, &st->gen);
    /* The first line tells the browser how soon to reconnect. */
    st->buf = strdup("retry: 2000\n\n");
    st->sending = 1;
    h2o_iovec_t v = h2o_iovec_init(st->buf, strlen(st->buf));
    h2o_send(req, &v, 1, H2O_SEND_STATE_IN_PROGRESS);
}

/* ---- requests -------------------------------------------------------------- */

static int on_req(h2o_handler_t *self, h2o_req_t *hreq)
{
    relm_http_server *sv = *(relm_http_server **)(self + 1);
    relm_http_request req;
    memset(&req, 0, sizeof req);
    char *method = h2o_mem_alloc_pool(&hreq->pool, hreq->method.len + 1);
    memcpy(method, hreq->method.base, hreq->method.len);
    method[hreq->method.len] = '\0';
    req.method = method;
    size_t plen = hreq->path.len;
    const char *q = memchr(hreq->path.base, '?', plen);
    req.path = hreq->path.base;
    req.path_len = q != NULL ? (size_t)(q - hreq->path.base) : plen;
    req.query = q != NULL ? q + 1 : "";
    req.query_len = q != NULL ? plen - req.path_len - 1 : 0;
    req.body = hreq->entity.base != NULL ? hreq->entity.base : "";
    req.body_len = hreq->entity.base != NULL ? hreq->entity.len : 0;
    req.authorization = header(hreq, H2O_TOKEN_AUTHORIZATION, NULL);
    req.cookie = header(hreq, H2O_TOKEN_COOKIE, NULL);
    req.if_match = header(hreq, H2O_TOKEN_IF_MATCH, NULL);
    req.content_type = header(hreq, H2O_TOKEN_CONTENT_TYPE, NULL);
    req.accept = header(hreq, H2O_TOKEN_ACCEPT, NULL);
    req.accept_language = header(hreq, H2O_TOKEN_ACCEPT_LANGUAGE, NULL);
    req.csrf = header(hreq, NULL, "x-csrf-token");
    req.last_event_id = header(hreq, NULL, "last-event-id");
    char peer[64] = "";
    struct sockaddr_storage ss;
    socklen_t sl = hreq->conn->callbacks->get_peername(
        hreq->conn, (struct sockaddr *)&ss);
    if (sl > 0 &&
        h2o_socket_getnumerichost((struct sockaddr *)&ss, sl, peer) ==
            SIZE_MAX)
        peer[0] = '\0';
    req.peer = peer;

    relm_http_response res;
    relm_http_dispatch(sv, &req, &res);
    if (res.stream && res.status == 200) {
        int64_t from = res.stream_from;
        relm_http_response_free(&res);
        stream_open(sv, hreq, from);
        return 0;
    }
    hreq->res.status = res.status;
    hreq->res.reason = reason(res.status);
    /* A response without a type of its own is JSON, unless it has no
     * body at all (a redirect, 204, 304): then it has no type either. A
     * HEAD answer keeps the type its GET would have. */
    int typed = 0;
    for (int i = 0; i < res.nheaders; i++)
        typed |= strcasecmp(res.header_name[i], "content-type") == 0;
    int head = hreq->method.len == 4 &&
               memcmp(hreq->method.base, "HEAD", 4) == 0;
    int bodiless = res.body_len == 0 &&
                   (!head || res.status == 204 || res.status == 304 ||
                    (res.status >= 300 && res.status < 400));
    if (!typed && !bodiless)
        h2o_add_header(&hreq->pool, &hreq->res.headers,
                       H2O_TOKEN_CONTENT_TYPE, NULL,
                       H2O_STRLIT("application/json"));
    for (int i = 0; i < res.nheaders; i++) {
        size_t nl = strlen(res.header_name[i]);
        size_t vl = strlen(res.header_value[i]);
        char *n = h2o_mem_alloc_pool(&hreq->pool, nl + 1);
        char *v = h2o_mem_alloc_pool(&hreq->pool, vl + 1);
        memcpy(n, res.header_name[i], nl + 1);
        memcpy(v, res.header_value[i], vl + 1);
        h2o_add_header_by_str(&hreq->pool, &hreq->res.headers, n, nl, 1,
                              NULL, v, vl);
    }
    char *body = h2o_mem_alloc_pool(&hreq->pool, res.body_len + 1);
    if (res.body_len > 0)
        memcpy(body, res.body, res.body_len);
    size_t blen = res.body_len;
    relm_http_response_free(&res);
    hreq->res.content_length = blen;
    h2o_send_inline(hreq, body, blen);
    return 0;
}

/* ---- connections ----------------------------------------------------------- */

static void free_conn(uv_handle_t *h)
{
    free(h);
}

static void on_accept(uv_stream_t *listener, int status)
{
    relm_http_server *sv = listener->data;
    if (status != 0 || sv->stopped)
        return;
    uv_tcp_t *conn = malloc(sizeof *conn);
    if (conn == NULL)
        return;
    uv_tcp_init(listener->loop, conn);
    if (uv_accept(listener, (uv_stream_t *)conn) != 0) {
        uv_close((uv_handle_t *)conn, free_conn);
        return;
    }
    uv_tcp_nodelay(conn, 1);
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)conn, free_conn);
    h2o_accept(&sv->accept_ctx, sock);
}

/* Split listen into host and port: "HOST:PORT", "[V6]:PORT" or "PORT". */
static int parse_listen(const char *listen, char *host, size_t hsize,
                        int *port, relm_diag *d)
{
    const char *colon = strrchr(listen, ':');
    const char *p = colon != NULL ? colon + 1 : listen;
    char *end;
    long n = strtol(p, &end, 10);
    if (*p == '\0' || *end != '\0' || n < 0 || n > 65535)
        return relm_diag_set(d, "invalid_argument",
                             _("--listen %s: expected HOST:PORT, e.g. "
                               "127.0.0.1:8080"), listen);
    *port = (int)n;
    if (colon == NULL) {
        snprintf(host, hsize, "127.0.0.1");
    } else {
        size_t len = (size_t)(colon - listen);
        if (len >= 2 && listen[0] == '[' && listen[len - 1] == ']') {
            listen++;
            len -= 2;
        }
        if (len == 0 || len >= hsize)
            return relm_diag_set(d, "invalid_argument",
                                 _("--listen %s: expected HOST:PORT"), listen);
        memcpy(host, listen, len);
        host[len] = '\0';
    }
    return RELM_OK;
}

/* The TLS context for c's certificate and key (TLS 1.2 or later, HTTP/2
 * offered by ALPN), or NULL with d saying which file was refused. */
static SSL_CTX *tls_context(const relm_http_config *c, relm_diag *d)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        relm_diag_set(d, "tls", "%s", _("OpenSSL failed to start"));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    const char *bad = NULL;
    if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1)
        bad = c->tls_cert;
    else if (c->tls_key == NULL ||
             SSL_CTX_use_PrivateKey_file(ctx, c->tls_key, SSL_FILETYPE_PEM) !=
                 1 ||
             SSL_CTX_check_private_key(ctx) != 1)
        bad = c->tls_key != NULL ? c->tls_key : "--tls-key";
    if (bad != NULL) {
        char err[256];
        ERR_error_string_n(ERR_get_error(), err, sizeof err);
        relm_diag_set(d, "tls", _("TLS: %s is not usable: %s"), bad, err);
        SSL_CTX_free(ctx);
        return NULL;
    }
    h2o_ssl_register_alpn_protocols(ctx, h2o_http2_alpn_protocols);
    return ctx;
}

relm_http_server *relm_http_start(uv_loop_t *loop, const char *listen,
                                  const relm_http_config *c, relm_diag *d)
{
    char host[256];
    int port = 0;
    if (parse_listen(listen, host, sizeof host, &port, d) != RELM_OK)
        return NULL;
    struct sockaddr_storage addr;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) != 0) {
        relm_diag_set(d, "invalid_argument",
                      _("--listen %s: '%s' is not an IP address"), listen,
                      host);
        return NULL;
    }
    static relm_lazylib *const libs[] = {&h2o.lib, &ssl.lib, &crypto.lib};
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++)
        if (!relm_lazylib_load(libs[i])) {
            relm_diag_set(d, "unavailable",
                          _("the HTTP server needs %s, which cannot be "
                            "loaded (Debian packages libh2o0.13 and "
                            "libssl3)"),
                          libs[i]->soname);
            return NULL;
        }
    /* A client that hangs up while its answer is written must cost the
     * server an EPIPE on that connection, not the process. */
    signal(SIGPIPE, SIG_IGN);
    /* H2O takes and gives back its buffers on every request; with glibc's
     * default 128 KiB trim threshold the heap's top shrinks and grows
     * again each time, a page fault per page (a third of the CPU of a
     * small GET). Keep up to 64 MiB of freed top for the next request. */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 1 << 20);
    relm_http_server *sv = calloc(1, sizeof *sv);
    if (sv == NULL) {
        relm_diag_set(d, "out_of_memory", "%s", _("out of memory"));
        return NULL;
    }
    sv->c = *c;
    sv->loop = loop;
    h2o_config_init(&sv->config);
    sv->config.server_name = h2o_iovec_init(H2O_STRLIT("relm"));
    sv->config.max_request_entity_size = c->max_body;
    sv->config.http1.req_timeout = c->header_timeout_ms;
    sv->config.http2.idle_timeout = c->header_timeout_ms;
    h2o_hostconf_t *hc = h2o_config_register_host(
        &sv->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pc = h2o_config_register_path(hc, "/", 0);
    h2o_handler_t *h = h2o_create_handler(pc, sizeof *h + sizeof sv);
    h->on_req = on_req;
    *(relm_http_server **)(h + 1) = sv;

    uv_tcp_init(loop, &sv->listener);
    sv->listener.data = sv;
    int rc = uv_tcp_bind(&sv->listener, (struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&sv->listener, 511, on_accept);
    if (rc != 0) {
        relm_diag_set(d, "listen_failed", _("--listen %s: %s"), listen,
                      uv_strerror(rc));
        uv_close((uv_handle_t *)&sv->listener, NULL);
        uv_run(loop, UV_RUN_NOWAIT);
        h2o_config_dispose(&sv->config);
        free(sv);
        return NULL;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&sv->listener, (struct sockaddr *)&bound, &blen);
    sv->port = ntohs(bound.ss_family == AF_INET6
                         ? ((struct sockaddr_in6 *)&bound)->sin6_port
                         : ((struct sockaddr_in *)&bound)->sin_port);
    h2o_context_init(&sv->ctx, loop, &sv->config);
    sv->accept_ctx.ctx = &sv->ctx;
    sv->accept_ctx.hosts = sv->config.hosts;
    if (c->tls_cert != NULL &&
        (sv->accept_ctx.ssl_ctx = tls_context(c, d)) == NULL) {
        uv_close((uv_handle_t *)&sv->listener, NULL);
        uv_run(loop, UV_RUN_NOWAIT);
        return NULL; /* sv stays: H2O's context is not disposed (see stop) */
    }
    uv_timer_init(loop, &sv->tick);
    sv->tick.data = sv;
    return sv;
}

int relm_http_port(const relm_http_server *sv)
{
    return sv->port;
}

static void on_closed(uv_handle_t *h)
{
    relm_http_server *sv = h->data;
    sv->closing--;
}

void relm_http_stop(relm_http_server *sv)
{
    if (sv == NULL || sv->stopped)
        return;
    sv->stopped = 1;
    /* End the event streams so their connections close. */
    while (sv->streams != NULL) {
        stream *st = sv->streams;
        stream_unlink(st);
        if (!st->sending)
            h2o_send(st->req, NULL, 0, H2O_SEND_STATE_FINAL);
    }
    /* H2O's context and configuration stay: connections kept alive may
     * still be open (H2O asserts that a context has no timeouts pending
     * when disposed), and serve ends the process once its own work is
     * done. They stay reachable from the caller's pointer to sv. */
    sv->closing = 2;
    uv_close((uv_handle_t *)&sv->listener, on_closed);
    uv_close((uv_handle_t *)&sv->tick, on_closed);
}
