/* serve_int.h: what serve.c, sla.c and deliver.c share: the running
 * serve's state, its settings and the structured log. Private to loop/. */
#ifndef RELM_SERVE_INT_H
#define RELM_SERVE_INT_H

#include <curl/curl.h>
#include <stdint.h>
#include <uv.h>

#include "base/store.h"
#include "loop/serve.h"
#include "loop/hooks.h"

enum { RELM_SERVE_MAX_INFLIGHT = 64 };
/* Claimed deliveries kept ready to start the moment a transfer ends, so
 * the pipe stays full while the next batch is claimed. */
enum { RELM_SERVE_READY = 2 * RELM_SERVE_MAX_INFLIGHT };

typedef struct relm_serve_settings {
    double warning_percent;  /* SLA warning at this share of the allowance */
    int max_tries;           /* dead letter after this many failed tries */
    double backoff;          /* seconds before the first retry, doubling */
    double timeout;          /* seconds for one try */
    char smtp_url[256];
    char smtp_from[256];
    char smtp_tls[16];       /* none, try, require */
    double due_lead;         /* activity.due: seconds before the due moment */
    double planned_start_lead; /* release.planned_start: seconds before */
    double keep_days;        /* delivered events kept this long */
    char hooks_dir[1024];    /* relm.on hook files ("": none) */
} relm_serve_settings;

struct relm_outcome;

typedef struct relm_serve {
    relm_store *s;
    uv_loop_t *loop;
    int log_json;
    relm_serve_settings set;
    uv_timer_t watch;        /* 1 s: other processes' commits */
    uv_timer_t due;          /* the next SLA moment or retry */
    uv_timer_t curl_timer;   /* libcurl's own timeout */
    uv_check_t kick;         /* after the poll phase: start what is ready */
    uv_signal_t sig_term, sig_int, sig_hup;
    int64_t data_version;
    CURLM *multi;
    int inflight;
    int stopping;
    int closing;             /* handles still to be closed */
    int stale_claims;        /* an outcome could not be recorded */
    double sla_next;         /* the next SLA moment known (0 = none) */
    double planned_percent;  /* the warning_percent moments were planned
                              * with (0 = not yet) */
    uv_idle_t flush;         /* active while outcomes wait to be written */
    struct relm_outcome *done; /* RELM_SERVE_MAX_INFLIGHT of them */
    int ndone;
    struct transfer **ready; /* claimed, not started (RELM_SERVE_READY) */
    int nready;
    int log_hold;            /* 1: relm_serve_log leaves stdout unflushed */
    CURL **pool;             /* easy handles kept for reuse (deliver.c) */
    int npool;
    struct sock_ctx **socks; /* the socket polls by fd (deliver.c) */
    int nsocks;
    void (*on_flush)(uv_idle_t *h);
    relm_serve_reload_fn reload;
    void *reload_ctx;
    int reload_failed;       /* definitions the last reload could not read */
    relm_serve_define_fn define;
    void *define_ctx;
    double schedule_next;    /* the next schedule moment known (0 = none) */
    double prune_next;       /* when to look for events to prune (0 = now) */
    relm_serve_escalate_fn escalate; /* escalation rules (may be NULL) */
    relm_serve_pcts_fn escalation_pcts;
    relm_serve_changed_fn escalation_changed;
    void *escalate_ctx;
    void (*stop)(void *ctx);
    void *stop_ctx;
    const relm_hooks_iface *hooks; /* NULL: no hooks run */
    int hooks_ok;            /* the hook files loaded: fan events out */
    int hooks_count;         /* how many relm.on they declare */
    char hooks_dir_loaded[1024];
    double hooks_next;       /* the next hook run due (0 = none) */
    int64_t hooks_cursor;    /* events up to this one are fanned out */
} relm_serve;

/* Seconds since the epoch, with a fraction. */
double relm_serve_now(void);

/* One log line: msg, then key/value string pairs ending with RELM_LOG_END.
 * Values that read as numbers are numbers in JSON. */
#define RELM_LOG_END ((const char *)0)
void relm_serve_log(relm_serve *sv, const char *msg, ...);

/* Look for work now: with sla, SLA moments due (after a commit elsewhere,
 * at the SLA timer, at start); always deliveries due; then re-arm the timer
 * for the next one. Called by timers, signals and finished transfers. */
void relm_serve_pump(relm_serve *sv, int sla);

/* Fire the SLA stages due at now (each once, in its own transaction,
 * through the occurrence log so the outbox carries it); *next receives the
 * next SLA moment (0 = none). */
void relm_sla_pass(relm_serve *sv, double now, double *next);

/* Reactivate the suspended releases whose reactivate_at has come and fire
 * the activity and planned-start reminders due at now (each once, through
 * the occurrence log); *next receives the next such moment (0 = none). */
void relm_schedule_pass(relm_serve *sv, double now, double *next);

/* Prune one small batch of delivered events older than the keep_days
 * setting (never dead letters, never occurrences); returns when to look
 * again. */
double relm_retention_pass(relm_serve *sv, double now);
/* Run the escalation rules of release id whose percentage lies in
 * (from, to] (after the stages were committed), record each firing once
 * per cycle (done, or failed with its error) and log it. */
void relm_sla_escalate(relm_serve *sv, int64_t id, int64_t cycle,
                       double from, double to, double warn);
/* The percentages the loaded escalation rules name (n of v): stored for
 * every process's planning; every clock planned again when they changed. */
void relm_sla_set_pcts(relm_serve *sv, const double *v, int n);
/* Ask the rules for their percentages (start, SIGHUP) and store them. */
void relm_sla_load_rules(relm_serve *sv);
/* The same after another process's commit, when a rule file changed. */
void relm_sla_reload_changed(relm_serve *sv);

/* Delivery through curl multi on the loop. */
int relm_deliver_init(relm_serve *sv);
void relm_deliver_release_claims(relm_serve *sv);
/* Claim and start deliveries due at now while fewer than the maximum are in
 * flight; *next receives when the next queued one is due (0 = none). */
void relm_deliver_start(relm_serve *sv, double now, double *next);
void relm_deliver_close(relm_serve *sv);
/* Close the socket polls (stopping, nothing in flight): curl closes the
 * sockets themselves later, in relm_deliver_close. */
void relm_deliver_stop(relm_serve *sv);
/* Record the outcomes of the transfers finished since the last call, log
 * them, and look for more work. */
void relm_deliver_flush(relm_serve *sv);

/* Hooks (hooks.c). start: release a killed serve's claims, load the
 * hook files. reload: load them again (SIGHUP, a new hooks_dir). pass: fan
 * new events out to hook runs, run those due, set hooks_next; changed: a
 * commit elsewhere may have queued runs (a replay), so look in the table. */
void relm_hooks_start(relm_serve *sv);
void relm_hooks_reload(relm_serve *sv);
void relm_hooks_pass(relm_serve *sv, double now, int changed);

#endif
