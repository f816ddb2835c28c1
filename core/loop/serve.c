/* serve.c: `relm serve`: one process per database that runs the host's uv
 * loop: picks up other processes' commits, fires SLA stages, delivers. */
#include "loop/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "base/i18n.h"
#include "loop/notify.h"
#include "loop/serve_int.h"

double relm_serve_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the log ------------------------------------------------------------ */

/* 1 when v is a plain decimal number (written unquoted in JSON). */
static int numeric(const char *v)
{
    if (*v == '-')
        v++;
    if (*v < '0' || *v > '9' || (v[0] == '0' && v[1] >= '0' && v[1] <= '9'))
        return 0;
    while (*v >= '0' && *v <= '9')
        v++;
    return *v == '\0';
}

/* One log line is built here and written with one fwrite: a busy round
 * logs thousands of lines, and printf per field was a visible share of
 * it. Text longer than the buffer goes out in pieces. */
typedef struct log_line {
    size_t n;
    char b[2048];
} log_line;

static void put(log_line *l, const char *s, size_t k)
{
    if (l->n + k > sizeof l->b) {
        fwrite(l->b, 1, l->n, stdout);
        l->n = 0;
        if (k > sizeof l->b) {
            fwrite(s, 1, k, stdout);
            return;
        }
    }
    memcpy(l->b + l->n, s, k);
    l->n += k;
}

static void puts_(log_line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* v as a JSON string body (quotes added by the caller). */
static void json_text(log_line *l, const char *v)
{
    const unsigned char *p = (const unsigned char *)v;
    for (;;) {
        const unsigned char *run = p;
        while (*p >= 0x20 && *p != '"' && *p != '\\')
            p++;
        put(l, (const char *)run, (size_t)(p - run));
        if (*p == '\0')
            return;
        char esc[8];
        if (*p == '"' || *p == '\\')
            snprintf(esc, sizeof esc, "\\%c", *p);
        else
            snprintf(esc, sizeof esc, "\\u%04x", *p);
        puts_(l, esc);
        p++;
    }
}

/* v in a text line: quoted (" and \ escaped, line breaks as \n) when empty
 * or when it holds a space, quote, equals sign, tab or line break. */
static void text_value(log_line *l, const char *key, const char *v)
{
    put(l, " ", 1);
    puts_(l, key);
    put(l, "=", 1);
    if (*v != '\0' && strpbrk(v, " \"=\t\n") == NULL) {
        puts_(l, v);
        return;
    }
    put(l, "\"", 1);
    for (const char *p = v; *p; p++)
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', *p};
            put(l, esc, 2);
        } else if (*p == '\n') {
            put(l, "\\n", 2);
        } else {
            put(l, p, 1);
        }
    put(l, "\"", 1);
}

void relm_serve_log(relm_serve *sv, const char *msg, ...)
{
    /* The seconds part of the time changes once a second, not per line. */
    static time_t stamp_sec = -1;
    static char stamp[32];
    static size_t stamp_len;
    double now = relm_serve_now();
    time_t tt = (time_t)now;
    if (tt != stamp_sec) {
        struct tm tm;
        gmtime_r(&tt, &tm);
        stamp_len = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        stamp_sec = tt;
    }
    int ms = (int)((now - (double)tt) * 1000);
    char frac[8] = {'.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10),
                    (char)('0' + ms % 10), 'Z'};
    log_line l;
    l.n = 0;
    if (sv->log_json)
        put(&l, "{\"at\":\"", 7);
    put(&l, stamp, stamp_len);
    put(&l, frac, 5);
    if (sv->log_json) {
        put(&l, "\",\"msg\":\"", 9);
        json_text(&l, msg);
        put(&l, "\"", 1);
    } else {
        put(&l, " ", 1);
        puts_(&l, msg);
    }
    va_list ap;
    va_start(ap, msg);
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        if (v == NULL)
            v = "";
        if (!sv->log_json) {
            text_value(&l, key, v);
            continue;
        }
        put(&l, ",\"", 2);
        puts_(&l, key);
        put(&l, "\":", 2);
        if (numeric(v)) {
            puts_(&l, v);
        } else {
            put(&l, "\"", 1);
            json_text(&l, v);
            put(&l, "\"", 1);
        }
    }
    va_end(ap);
    if (sv->log_json)
        put(&l, "}", 1);
    put(&l, "\n", 1);
    fwrite(l.b, 1, l.n, stdout);
    /* A round of deliveries logs many lines: flushed once at its end. */
    if (!sv->log_hold)
        fflush(stdout);
}

/* ---- settings ----------------------------------------------------------- */

static void load_settings(relm_serve *sv)
{
    relm_serve_settings *t = &sv->set;
    t->warning_percent =
        relm_notify_setting_num(sv->s, "sla_warning_percent", 75);
    t->max_tries = (int)relm_notify_setting_num(sv->s, "max_tries", 8);
    t->backoff = relm_notify_setting_num(sv->s, "backoff_seconds", 1);
    t->timeout = relm_notify_setting_num(sv->s, "timeout_seconds", 10);
    relm_notify_setting_str(sv->s, "smtp_url", "", t->smtp_url,
                            sizeof t->smtp_url);
    relm_notify_setting_str(sv->s, "smtp_from", "relm@localhost",
                            t->smtp_from, sizeof t->smtp_from);
    relm_notify_setting_str(sv->s, "smtp_tls", "try", t->smtp_tls,
                            sizeof t->smtp_tls);
    t->due_lead = relm_notify_setting_num(sv->s, "due_lead_seconds", 3600);
    t->planned_start_lead =
        relm_notify_setting_num(sv->s, "planned_start_lead_seconds", 86400);
    t->keep_days = relm_notify_setting_num(sv->s, "outbox_keep_days", 30);
    relm_notify_setting_str(sv->s, "hooks_dir", "", t->hooks_dir,
                            sizeof t->hooks_dir);
}

/* ---- the loop ----------------------------------------------------------- */

static void on_due(uv_timer_t *t)
{
    relm_serve_pump(t->data, 1);
}

void relm_serve_pump(relm_serve *sv, int sla)
{
    if (sv->stopping)
        return;
    double now = relm_serve_now();
    double send_next = 0;
    /* The scan of open releases runs when something may have changed
     * them, not after every finished transfer. */
    if (sla || (sv->sla_next > 0 && sv->sla_next <= now))
        relm_sla_pass(sv, now, &sv->sla_next);
    if (sla || (sv->schedule_next > 0 && sv->schedule_next <= now))
        relm_schedule_pass(sv, now, &sv->schedule_next);
    /* An outcome that could not be written left its row claimed; with
     * nothing in flight every claim is such a one: send them again. */
    if (sv->stale_claims && sv->inflight == 0 && sv->nready == 0) {
        relm_deliver_release_claims(sv);
        sv->stale_claims = 0;
    }
    relm_deliver_start(sv, relm_serve_now(), &send_next);
    relm_hooks_pass(sv, relm_serve_now(), sla);
    /* Pruning is idle work: nothing in flight, nothing due now. A commit
     * (new events) while busy makes it due for the next idle moment. */
    int idle = sv->inflight == 0 && (send_next == 0 || send_next > now);
    if (idle && (sla || (sv->prune_next > 0 && sv->prune_next <= now)))
        sv->prune_next = relm_retention_pass(sv, relm_serve_now());
    else if (sla && !idle)
        sv->prune_next = now;
    /* Wake at the nearest of the next SLA moment, schedule moment, prune
     * and retry; a delivery due now but waiting for room starts when a
     * transfer ends. */
    double next = sv->sla_next;
    if (sv->schedule_next > 0 && (next == 0 || sv->schedule_next < next))
        next = sv->schedule_next;
    if (idle && sv->prune_next > 0 && (next == 0 || sv->prune_next < next))
        next = sv->prune_next;
    if (send_next > 0 && sv->inflight < RELM_SERVE_MAX_INFLIGHT &&
        (next == 0 || send_next < next))
        next = send_next;
    if (sv->hooks_next > 0 && (next == 0 || sv->hooks_next < next))
        next = sv->hooks_next;
    uv_timer_stop(&sv->due);
    if (next > 0) {
        double ms = (next - relm_serve_now()) * 1000;
        uv_timer_start(&sv->due, on_due, ms < 1 ? 1 : (uint64_t)ms + 1, 0);
    }
}

/* PRAGMA data_version changes when another connection commits. */
static int64_t data_version(relm_serve *sv)
{
    relm_diag d;
    int64_t v = 0;
    sqlite3_stmt *q = relm_store_stmt(sv->s, "PRAGMA data_version", &d);
    if (q != NULL && sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    if (q != NULL)
        sqlite3_reset(q);
    return v;
}

static void reload(relm_serve *sv, int changed_only);

/* Every second: a commit by another process (a REPL, a batch, a
 * subscription or setting changed) means new events, deadlines or
 * settings: read the settings and the definition files that changed
 * again, and look for work. */
static void on_watch(uv_timer_t *t)
{
    relm_serve *sv = t->data;
    int64_t v = data_version(sv);
    if (v == sv->data_version)
        return;
    sv->data_version = v;
    load_settings(sv);
    reload(sv, 1);
    relm_sla_reload_changed(sv);
    relm_serve_pump(sv, 1);
}

static void on_closed(uv_handle_t *h)
{
    relm_serve *sv = h->data;
    sv->closing--;
}

static void close_handle(relm_serve *sv, uv_handle_t *h)
{
    if (uv_is_closing(h))
        return;
    sv->closing++;
    uv_close(h, on_closed);
}

static void on_flush(uv_idle_t *h)
{
    uv_idle_stop(h);
    relm_deliver_flush(h->data);
}

/* The last step of stopping, once nothing is in flight. */
static void finish(relm_serve *sv)
{
    relm_deliver_flush(sv);
    relm_deliver_stop(sv);
    close_handle(sv, (uv_handle_t *)&sv->flush);
    close_handle(sv, (uv_handle_t *)&sv->watch);
    close_handle(sv, (uv_handle_t *)&sv->due);
    close_handle(sv, (uv_handle_t *)&sv->curl_timer);
    close_handle(sv, (uv_handle_t *)&sv->kick);
    close_handle(sv, (uv_handle_t *)&sv->sig_term);
    close_handle(sv, (uv_handle_t *)&sv->sig_int);
    close_handle(sv, (uv_handle_t *)&sv->sig_hup);
    uv_stop(sv->loop);
}

/* Called after every finished transfer while stopping. */
static void on_stop_check(uv_timer_t *t)
{
    relm_serve *sv = t->data;
    if (sv->inflight == 0)
        finish(sv);
}

/* A definition that failed to reload: logged; its old version stays. */
static void report_reload(void *arg, const char *what, const char *message)
{
    relm_serve *sv = arg;
    sv->reload_failed++;
    relm_serve_log(sv, "reload_error", "what", what, "message", message,
                   RELM_LOG_END);
}

/* Re-read the definitions (all, or with changed_only those whose files
 * changed) and log it; with changed_only nothing is logged when nothing
 * changed. */
static void reload(relm_serve *sv, int changed_only)
{
    sv->reload_failed = 0;
    int kinds = sv->reload != NULL
                    ? sv->reload(sv->reload_ctx, changed_only, report_reload,
                                 sv)
                    : 0;
    if (changed_only && kinds == 0)
        return;
    char n[16];
    snprintf(n, sizeof n, "%d", sv->reload_failed);
    relm_serve_log(sv, "reloaded", "failed", n, RELM_LOG_END);
}

static void on_signal(uv_signal_t *h, int signum)
{
    relm_serve *sv = h->data;
    if (signum == SIGHUP) {
        load_settings(sv);
        reload(sv, 0);
        relm_sla_load_rules(sv);
        relm_hooks_reload(sv);
        relm_serve_pump(sv, 1);
        return;
    }
    if (sv->stopping)
        return;
    char n[16];
    snprintf(n, sizeof n, "%d", sv->inflight);
    relm_serve_log(sv, "stopping", "signal",
                   signum == SIGTERM ? "SIGTERM" : "SIGINT", "in_flight", n,
                   RELM_LOG_END);
    sv->stopping = 1;
    if (sv->stop != NULL)
        sv->stop(sv->stop_ctx);
    uv_timer_stop(&sv->due);
    uv_timer_stop(&sv->watch);
    /* Transfers in flight end within the timeout; check every 50 ms. */
    uv_timer_start(&sv->watch, on_stop_check, 0, 50);
}

/* Say why serve cannot start, in the form every start-up refusal takes
 * (repl/main.c's start_http too): "relm: serve: CODE: MESSAGE", the code
 * stable, the message in the user's language. */
static void start_error(const char *code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void start_error(const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "relm: serve: %s: ", code);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Take the lock file beside the database: one serve per database. The
 * flock goes with the process, so a killed serve leaves no stale lock. */
static int take_lock(relm_store *s, int *fd_out)
{
    char path[4200];
    snprintf(path, sizeof path, "%s.serve.lock", relm_store_path(s));
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        start_error("io_error", _("cannot open the lock file %s: %s"), path,
                    strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        if (pid[0] != '\0')
            start_error("busy",
                        _("another relm serve (pid %s) is already running "
                          "on %s (it holds %s); one serve per database"),
                        pid, relm_store_path(s), path);
        else
            start_error("busy",
                        _("another relm serve is already running on %s (it "
                          "holds %s); one serve per database"),
                        relm_store_path(s), path);
        close(fd);
        return -1;
    }
    char pid[32];
    int k = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)k, 0) < 0)
        (void)0; /* the pid is a courtesy for the message above */
    *fd_out = fd;
    return 0;
}

int relm_serve_run(relm_store *s, uv_loop_t *loop,
                   const relm_serve_opts *opts)
{
    relm_serve sv;
    memset(&sv, 0, sizeof sv);
    sv.s = s;
    sv.loop = loop;
    sv.log_json = opts->log_json;
    sv.reload = opts->reload;
    sv.reload_ctx = opts->reload_ctx;
    sv.define = opts->define;
    sv.define_ctx = opts->define_ctx;
    sv.escalate = opts->escalate;
    sv.escalate_ctx = opts->escalate_ctx;
    sv.escalation_pcts = opts->escalation_pcts;
    sv.escalation_changed = opts->escalation_changed;
    sv.hooks = opts->hooks;
    int lock_fd = -1;
    if (take_lock(s, &lock_fd) != 0)
        return 1;
    if (relm_deliver_init(&sv) != RELM_OK) {
        start_error("unavailable",
                    _("libcurl (libcurl.so.4) or libcrypto (libcrypto.so.3), "
                      "from the Debian packages libcurl4 and libssl3, cannot "
                      "be loaded or failed to start"));
        close(lock_fd);
        return 1;
    }
    sv.stop = opts->stop;
    sv.stop_ctx = opts->start_ctx;
    char where[300] = "";
    if (opts->start != NULL &&
        opts->start(opts->start_ctx, where, sizeof where) != 0) {
        relm_deliver_close(&sv);
        close(lock_fd);
        return 1;
    }
    load_settings(&sv);
    relm_deliver_release_claims(&sv);
    relm_hooks_start(&sv);
    uv_handle_t *hs[] = {(uv_handle_t *)&sv.watch, (uv_handle_t *)&sv.due,
                         (uv_handle_t *)&sv.curl_timer,
                         (uv_handle_t *)&sv.sig_term,
                         (uv_handle_t *)&sv.sig_int,
                         (uv_handle_t *)&sv.sig_hup,
                         (uv_handle_t *)&sv.flush};
    uv_timer_init(loop, &sv.watch);
    uv_timer_init(loop, &sv.due);
    uv_signal_init(loop, &sv.sig_term);
    uv_signal_init(loop, &sv.sig_int);
    uv_signal_init(loop, &sv.sig_hup);
    uv_idle_init(loop, &sv.flush);
    sv.on_flush = on_flush;
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        hs[i]->data = &sv;
    uv_signal_start(&sv.sig_term, on_signal, SIGTERM);
    uv_signal_start(&sv.sig_int, on_signal, SIGINT);
    uv_signal_start(&sv.sig_hup, on_signal, SIGHUP);
    sv.data_version = data_version(&sv);
    uv_timer_start(&sv.watch, on_watch, 1000, 1000);
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    relm_serve_log(&sv, "started", "db", relm_store_path(s), "pid", pid,
                   RELM_LOG_END);
    /* where is "KEY=VALUE", e.g. "http=127.0.0.1:8080". */
    char *eq = strchr(where, '=');
    if (eq != NULL) {
        *eq = '\0';
        relm_serve_log(&sv, "listening", where, eq + 1, RELM_LOG_END);
    }
    relm_sla_load_rules(&sv);
    /* Start what is queued before the first look at every open release,
     * from the loop, so the transfers overlap that scan: the scan waits one
     * millisecond, time for the loop to see the new connections writable
     * and send the requests; the answers come while it runs. */
    double queued_next;
    relm_deliver_start(&sv, relm_serve_now(), &queued_next);
    /* The loop's clock still reads the moment it was made: a millisecond
     * from then had long passed, and the scan ran before the requests went
     * out. */
    uv_update_time(loop);
    uv_timer_start(&sv.due, on_due, 1, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    /* Let the close callbacks run before sv goes out of scope. */
    while (sv.closing > 0)
        uv_run(loop, UV_RUN_NOWAIT);
    relm_deliver_close(&sv);
    relm_serve_log(&sv, "stopped", RELM_LOG_END);
    close(lock_fd);
    return 0;
}
