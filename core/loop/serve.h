/* serve.h: `relm serve`: the engine's event loop: SLA clocks and delivery
 * of the outbox, on the host's one libuv loop. */
#ifndef RELM_SERVE_H
#define RELM_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "base/store.h"
#include "loop/hooks.h"

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
/* One escalation rule that ran: its name, the stage or percentage it is
 * for, and ok, or the error (file:line first) that parked it. */
enum { RELM_SERVE_MAX_FIRED = 32 };
typedef struct relm_escalation_fired {
    char rule[128];
    char stage[32];
    int ok;
    char error[512];
    char notify[128];        /* the group to tell, "" for none */
} relm_escalation_fired;

/* Run the escalation rules of release id (SLA cycle) whose percentage of
 * the allowance lies in (from, to] (warn: the release's warning
 * percentage, what at = "warning" means); fill out (at most max); return
 * how many ran. Rules that ran before in this cycle are skipped. */
typedef int (*relm_serve_escalate_fn)(void *ctx, int64_t id, int64_t cycle,
                                      double from, double to, double warn,
                                      relm_escalation_fired *out, int max);
/* (Re)load the rules and give the percentages they need moments for (at
 * most max into out); returns how many. Rule files that did not load are
 * described in errors (one "file:line: message" per line, "" for none).
 * Asked at start and after SIGHUP. */
/* 1 when a rule file was written, added or removed since the rules were
 * last loaded: serve loads them again after another process's commit. */
typedef int (*relm_serve_changed_fn)(void *ctx);
typedef int (*relm_serve_pcts_fn)(void *ctx, double *out, int max,
                                  char *errors, size_t size);

typedef struct relm_serve_opts {
    int log_json;                /* 1: one JSON object per log line */
    relm_serve_reload_fn reload; /* extra work on SIGHUP (may be NULL) */
    void *reload_ctx;
    relm_serve_define_fn define; /* NULL: workflows are defined already */
    void *define_ctx;
    relm_serve_escalate_fn escalate; /* escalation rules (may be NULL) */
    relm_serve_pcts_fn escalation_pcts;
    relm_serve_changed_fn escalation_changed; /* may be NULL */
    void *escalate_ctx;
    /* Started once the lock is held (the HTTP server of --listen): 0 to
     * go on (what it fills into where as KEY=VALUE, e.g.
     * "http=127.0.0.1:8080", is logged as "listening KEY=VALUE"), else
     * serve returns 1. stop runs when
     * stopping begins. */
    int (*start)(void *ctx, char *where, size_t size);
    void (*stop)(void *ctx);
    void *start_ctx;
    const relm_hooks_iface *hooks; /* runs relm.on hooks (NULL: none) */
} relm_serve_opts;

/* Run until SIGTERM or SIGINT on loop (the host's), then finish the
 * deliveries in flight and return 0. Returns 1 with a message on stderr
 * when it cannot start: another serve holds the lock file beside the
 * database (<db>.serve.lock, an flock), or libcurl fails to start. */
int relm_serve_run(relm_store *s, struct uv_loop_s *loop,
                   const relm_serve_opts *opts);

#endif
