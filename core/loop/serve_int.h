/* serve_int.h: what serve.c, sla.c and deliver.c share: the running
 * serve's state, its settings and the structured log. Private to loop/. */
#ifndef RELM_SERVE_INT_H
#define RELM_SERVE_INT_H

#include <curl/curl.h>
#include <stdint.h>
#include <uv.h>

#include "base/store.h"
#include "loop/serve.h"

enum { RELM_SERVE_MAX_INFLIGHT = 64 };

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
    uv_signal_t sig_term, sig_int, sig_hup;
    int64_t data_version;
    CURLM *multi;
    int inflight;
    int stopping;
    int closing;             /* handles still to be closed */
    int stale_claims;        /* an outcome could not be recorded */
    double sla_next;         /* the next SLA moment known (0 = none) */
    uv_idle_t flush;         /* active while outcomes wait to be written */
    struct relm_outcome *done; /* RELM_SERVE_MAX_INFLIGHT of them */
    int ndone;
    void (*on_flush)(uv_idle_t *h);
    relm_serve_reload_fn reload;
    void *reload_ctx;
    int reload_failed;       /* definitions the last reload could not read */
    relm_serve_define_fn define;
    void *define_ctx;
    double schedule_next;    /* the next schedule moment known (0 = none) */
    double prune_next;       /* when to look for events to prune (0 = now) */
    void (*stop)(void *ctx);
    void *stop_ctx;
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

/* Delivery through curl multi on the loop. */
int relm_deliver_init(relm_serve *sv);
void relm_deliver_release_claims(relm_serve *sv);
/* Claim and start deliveries due at now while fewer than the maximum are in
 * flight; *next receives when the next queued one is due (0 = none). */
void relm_deliver_start(relm_serve *sv, double now, double *next);
void relm_deliver_close(relm_serve *sv);
/* Record the outcomes of the transfers finished since the last call, log
 * them, and look for more work. */
void relm_deliver_flush(relm_serve *sv);

#endif
