/* serve.h: `relm serve`: the engine's event loop: SLA clocks and delivery
 * of the outbox, on the host's one libuv loop. */
#ifndef RELM_SERVE_H
#define RELM_SERVE_H

#include "base/store.h"
#include "loop/hooks.h"

struct uv_loop_s;

typedef struct relm_serve_opts {
    int log_json;                /* 1: one JSON object per log line */
    void (*reload)(void *ctx);   /* extra work on SIGHUP (may be NULL) */
    void *reload_ctx;
    const relm_hooks_iface *hooks; /* runs relm.on hooks (NULL: none) */
} relm_serve_opts;

/* Run until SIGTERM or SIGINT on loop (the host's), then finish the
 * deliveries in flight and return 0. Returns 1 with a message on stderr
 * when it cannot start: another serve holds the lock file beside the
 * database (<db>.serve.lock, an flock), or libcurl fails to start. */
int relm_serve_run(relm_store *s, struct uv_loop_s *loop,
                   const relm_serve_opts *opts);

#endif
