/* serve.h: `relm serve`: the engine's event loop: SLA clocks and delivery
 * of the outbox, on the host's one libuv loop. */
#ifndef RELM_SERVE_H
#define RELM_SERVE_H

#include "base/store.h"

struct uv_loop_s;

/* How a reload reports a definition it could not read (what: e.g.
 * "workflow", message: "file:line: ..."); serve logs it. */
typedef void (*relm_serve_report_fn)(void *arg, const char *what,
                                     const char *message);
/* Re-read the definitions (workflows, rules, hooks, templates): all of
 * them (SIGHUP), or with changed_only those whose files changed since they
 * were read (after a commit elsewhere). One that fails keeps its old
 * version and is reported. Returns how many kinds were read. */
typedef int (*relm_serve_reload_fn)(void *ctx, int changed_only,
                                    relm_serve_report_fn report, void *arg);
/* Have the engine compile workflow before serve runs a primitive on a
 * release of it (RELM_OK, or RELM_ERR with d filled). */
typedef int (*relm_serve_define_fn)(void *ctx, const char *workflow,
                                    relm_diag *d);

typedef struct relm_serve_opts {
    int log_json;                /* 1: one JSON object per log line */
    relm_serve_reload_fn reload; /* extra work on SIGHUP (may be NULL) */
    void *reload_ctx;
    relm_serve_define_fn define; /* NULL: workflows are defined already */
    void *define_ctx;
    /* Started once the lock is held (the HTTP server of --listen): 0 to
     * go on (what it fills into where as KEY=VALUE, e.g.
     * "http=127.0.0.1:8080", is logged as "listening KEY=VALUE"), else
     * serve returns 1. stop runs when
     * stopping begins. */
    int (*start)(void *ctx, char *where, size_t size);
    void (*stop)(void *ctx);
    void *start_ctx;
} relm_serve_opts;

/* Run until SIGTERM or SIGINT on loop (the host's), then finish the
 * deliveries in flight and return 0. Returns 1 with a message on stderr
 * when it cannot start: another serve holds the lock file beside the
 * database (<db>.serve.lock, an flock), or libcurl fails to start. */
int relm_serve_run(relm_store *s, struct uv_loop_s *loop,
                   const relm_serve_opts *opts);

#endif
