/* server.h: the HTTP server of `relm serve --listen`: H2O (libh2o, built
 * on libuv) on the host's loop, handing each request to one handler. */
#ifndef RELM_HTTP_SERVER_H
#define RELM_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "base/store.h"

struct uv_loop_s;

/* A request as the handler sees it: plain bytes, nothing of H2O's, so a
 * test or a fuzzer can build one and call relm_http_dispatch directly.
 * Header values are NUL-terminated copies (NULL when absent; a value with
 * a NUL byte in it is cut there). */
typedef struct relm_http_request {
    const char *method;
    const char *path;      /* without the query, still percent-encoded */
    size_t path_len;
    const char *query;     /* after '?', percent-encoded ("" for none) */
    size_t query_len;
    const char *body;
    size_t body_len;
    const char *authorization, *cookie, *if_match, *csrf, *content_type,
        *last_event_id, *accept, *accept_language;
    const char *peer;      /* the client's address, e.g. "127.0.0.1" */
} relm_http_request;

enum { RELM_HTTP_MAX_HEADERS = 8 };

/* The handler's answer. body is malloc'd (the server frees it). An
 * event stream (stream = 1) stays open and gets the outbox's events
 * after stream_from, as server-sent events. */
typedef struct relm_http_response {
    int status;
    char *body;
    size_t body_len;
    /* A Content-Type among the headers replaces application/json. */
    int nheaders;
    char *header_name[RELM_HTTP_MAX_HEADERS];  /* malloc'd pairs */
    char *header_value[RELM_HTTP_MAX_HEADERS];
    int stream;
    int64_t stream_from;
} relm_http_response;

typedef void (*relm_http_handler)(void *ctx, const relm_http_request *req,
                                  relm_http_response *res);

typedef struct relm_http_config {
    relm_http_handler handle;
    void *ctx;
    relm_store *store;           /* the event streams read its outbox */
    size_t max_body;             /* bytes; larger bodies get 413 */
    unsigned header_timeout_ms;  /* a request's headers must arrive within */
    const char *tls_cert;        /* PEM certificate chain: HTTPS (or NULL) */
    const char *tls_key;         /* its PEM private key */
} relm_http_config;

typedef struct relm_http_server relm_http_server;

/* Listen on listen ("HOST:PORT", "[v6]:PORT" or "PORT" for 127.0.0.1) on
 * loop and serve until relm_http_stop. NULL with d filled (bad address,
 * port taken). */
relm_http_server *relm_http_start(struct uv_loop_s *loop, const char *listen,
                                  const relm_http_config *c, relm_diag *d);

/* The port actually bound (useful with port 0). */
int relm_http_port(const relm_http_server *sv);

/* Stop listening and end the event streams. sv itself stays allocated
 * (connections kept alive may still use it until the process ends). */
void relm_http_stop(relm_http_server *sv);

/* Call the handler as for a request that came in, and free nothing: the
 * caller owns res and frees it with relm_http_response_free. */
void relm_http_dispatch(relm_http_server *sv, const relm_http_request *req,
                        relm_http_response *res);
void relm_http_response_free(relm_http_response *res);

/* Add a header to res (copies both). Ignored past RELM_HTTP_MAX_HEADERS. */
void relm_http_add_header(relm_http_response *res, const char *name,
                          const char *value);

#endif
