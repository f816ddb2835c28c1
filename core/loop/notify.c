/* notify.c: subscriptions, settings and replay of dead deliveries: the
 * checked administrative writes that relm.notify offers; serve reads them. */
#include "loop/notify.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "auth.h"
#include "base/clock.h"
#include "base/i18n.h"
#include "base/time.h"

/* Append the occurrence of an administrative notify write and commit, or
 * roll back. after is a JSON snapshot (never holding a secret). */
static int log_commit(relm_store *s, const char *subject, int64_t sid,
                      const char *action, const char *after, relm_diag *d)
{
    char now[32];
    relm_clock_now_iso(now);
    relm_occurrence o = {.at = now, .subject = subject, .subject_id = sid,
                         .action = action, .after = after};
    if (relm_audit_append(s, &o, NULL, d) != RELM_OK ||
        relm_store_commit(s, d) != RELM_OK) {
        relm_store_rollback(s);
        return RELM_ERR;
    }
    return RELM_OK;
}

/* 1 when v has a CR or LF (which would let a value forge mail headers). */
static int has_newline(const char *v)
{
    return strpbrk(v, "\r\n") != NULL;
}

/* An e-mail address good enough to hand to an SMTP server: local@domain,
 * no spaces, angle brackets or line breaks. */
static int plausible_address(const char *v)
{
    const char *at = strchr(v, '@');
    if (at == NULL || at == v || at[1] == '\0' || strchr(at + 1, '@'))
        return 0;
    for (const char *p = v; *p; p++)
        if (isspace((unsigned char)*p) || *p == '<' || *p == '>' ||
            *p == ',' || *p == '"')
            return 0;
    return 1;
}

/* Check an event pattern: letters, digits, '_', '-', '.', and '*'. */
static int valid_pattern(const char *v)
{
    if (*v == '\0')
        return 0;
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && strchr("_-.*", *p) == NULL)
            return 0;
    return 1;
}

/* Check sub; RELM_OK or invalid_field naming what is wrong. */
static int check_subscription(const relm_subscription *sub, relm_diag *d)
{
    int webhook = strcmp(sub->channel, "webhook") == 0;
    if (!webhook && strcmp(sub->channel, "email") != 0)
        return relm_diag_set(d, "invalid_field",
                             "channel must be \"webhook\" or \"email\", not "
                             "\"%s\"", sub->channel);
    if (sub->nevents == 0)
        return relm_diag_set(d, "invalid_field",
                             "events: give at least one event name or "
                             "pattern (e.g. \"release.*\")");
    for (int i = 0; i < sub->nevents; i++)
        if (!valid_pattern(sub->events[i]))
            return relm_diag_set(d, "invalid_field",
                                 "events[%d]: '%s' is not an event name or "
                                 "pattern (letters, digits, . _ - and *)",
                                 i + 1, sub->events[i]);
    if (webhook) {
        if (sub->url == NULL || (strncmp(sub->url, "http://", 7) != 0 &&
                                 strncmp(sub->url, "https://", 8) != 0))
            return relm_diag_set(d, "invalid_field",
                                 "url: a webhook needs an http:// or "
                                 "https:// URL, got '%s'",
                                 sub->url ? sub->url : "nothing");
        if (has_newline(sub->url) || strchr(sub->url, ' '))
            return relm_diag_set(d, "invalid_field",
                                 "url: has spaces or line breaks");
        if (sub->to != NULL)
            return relm_diag_set(d, "invalid_field",
                                 "to: only an email subscription has one");
        return RELM_OK;
    }
    if (sub->to == NULL || !plausible_address(sub->to))
        return relm_diag_set(d, "invalid_field",
                             "to: an email subscription needs an address "
                             "like ops@example.org, got '%s'",
                             sub->to ? sub->to : "nothing");
    if (sub->url != NULL && ((strncmp(sub->url, "smtp://", 7) != 0 &&
                              strncmp(sub->url, "smtps://", 8) != 0) ||
                             has_newline(sub->url)))
        return relm_diag_set(d, "invalid_field",
                             "url: an email subscription's server must be "
                             "smtp://host:port or smtps://host:port, got "
                             "'%s'", sub->url);
    if (sub->secret != NULL)
        return relm_diag_set(d, "invalid_field",
                             "secret: only a webhook is signed");
    return RELM_OK;
}

int relm_notify_subscribe(relm_store *s, const relm_subscription *sub,
                          int64_t *id, relm_diag *d)
{
    *id = 0;
    if (check_subscription(sub, d) != RELM_OK)
        return RELM_ERR;
    /* Patterns are checked above to hold no quote or backslash, so they
     * can be written into the JSON array as they are. */
    sqlite3_str *js = sqlite3_str_new(NULL);
    sqlite3_str_appendchar(js, 1, '[');
    for (int i = 0; i < sub->nevents; i++)
        sqlite3_str_appendf(js, "%s\"%s\"", i ? "," : "", sub->events[i]);
    sqlite3_str_appendchar(js, 1, ']');
    char *events = sqlite3_str_finish(js);
    if (events == NULL)
        return relm_diag_set(d, "internal", "out of memory");
    if (relm_auth_begin_admin(s, "notify.subscribe", d) != RELM_OK) {
        sqlite3_free(events);
        return RELM_ERR;
    }
    char smtp[16];
    relm_notify_setting_str(s, "smtp_url", "", smtp, sizeof smtp);
    if (strcmp(sub->channel, "email") == 0 && sub->url == NULL &&
        smtp[0] == '\0') {
        relm_diag_set(d, "invalid_field",
                      "url: no SMTP server to send through: give "
                      "url=\"smtp://host:port\" or set one for every "
                      "subscription first with relm.notify.set{smtp_url=...}");
        goto fail;
    }
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "INSERT INTO subscriptions (channel, url, recipient, events, secret) "
        "VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id, json_object('channel', "
        "channel, 'url', url, 'to', recipient, 'events', json(events), "
        "'signed', secret IS NOT NULL)",
        d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_text(st, 1, sub->channel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sub->url, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, sub->to, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, events, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, sub->secret, -1, SQLITE_STATIC);
    if (relm_store_step_row(s, st, d, "subscribe") != RELM_OK)
        goto fail;
    *id = sqlite3_column_int64(st, 0);
    char *after = strdup((const char *)sqlite3_column_text(st, 1));
    sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_free(events);
    int rc = log_commit(s, "subscription", *id, "subscribe", after, d);
    free(after);
    return rc;
fail:
    sqlite3_free(events);
    relm_store_rollback(s);
    return RELM_ERR;
}

/* One UPDATE of one row by id inside an admin-only transaction with its
 * occurrence; not_found (message what) when no row changed. */
static int admin_update(relm_store *s, const char *what, const char *sql,
                        int64_t id, const char *subject, const char *action,
                        relm_diag *d)
{
    if (relm_auth_begin_admin(s, action, d) != RELM_OK)
        return RELM_ERR;
    sqlite3_stmt *st = relm_store_stmt(s, sql, d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        relm_store_fail(s, d, action);
        goto fail;
    }
    if (sqlite3_changes(relm_store_db(s)) == 0) {
        relm_diag_set(d, "not_found", "%s", what);
        goto fail;
    }
    return log_commit(s, subject, id, action, NULL, d);
fail:
    relm_store_rollback(s);
    return RELM_ERR;
}

int relm_notify_unsubscribe(relm_store *s, int64_t id, relm_diag *d)
{
    return admin_update(s, "no active subscription with that id",
                        "UPDATE subscriptions SET active = 0 WHERE id = ?1 "
                        "AND active = 1",
                        id, "subscription", "unsubscribe", d);
}

int relm_notify_replay(relm_store *s, int64_t id, relm_diag *d)
{
    return admin_update(s, "no dead delivery with that id (see "
                           "relm.notify.dead())",
                        "UPDATE deliveries SET status = 'queued', attempts = "
                        "0, next_at = 0, last_error = NULL WHERE id = ?1 AND "
                        "status = 'dead'",
                        id, "delivery", "replay", d);
}

int relm_notify_purge(relm_store *s, int64_t id, const char *before,
                      int64_t *n, relm_diag *d)
{
    *n = 0;
    int64_t t = 0;
    char cutoff[32] = "";
    if (id == 0 && before != NULL) {
        if (!relm_time_parse(before, strlen(before), &t, NULL))
            return relm_diag_set(d, "invalid_field",
                                 _("before: '%s' is not a date and time "
                                   "(e.g. 2026-12-01T00:00:00Z)"),
                                 before);
        relm_time_format(t, cutoff);
    }
    if (relm_auth_begin_admin(s, "purge", d) != RELM_OK)
        return RELM_ERR;
    /* ?1 one delivery, else ?2 a cutoff on the event's time, else all. */
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "DELETE FROM deliveries WHERE status = 'dead' AND (?1 = 0 OR id = "
        "?1) AND (?2 IS NULL OR outbox_id IN (SELECT id FROM outbox WHERE "
        "at < ?2))",
        d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_int64(st, 1, id);
    if (cutoff[0])
        sqlite3_bind_text(st, 2, cutoff, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) {
        relm_store_fail(s, d, "purge");
        goto fail;
    }
    *n = sqlite3_changes(relm_store_db(s));
    if (id != 0 && *n == 0) {
        relm_diag_set(d, "not_found", _("no dead delivery with id %lld (see "
                                        "relm.notify.dead())"),
                      (long long)id);
        goto fail;
    }
    char after[64];
    snprintf(after, sizeof after, "{\"purged\":%lld}", (long long)*n);
    return log_commit(s, "delivery", id, "purge", after, d);
fail:
    relm_store_rollback(s);
    return RELM_ERR;
}

/* Check value for setting key; RELM_OK or invalid_field. */
static int check_setting(const char *key, const char *value, relm_diag *d)
{
    char *end;
    double v = strtod(value, &end);
    int num = end != value && *end == '\0';
    if (strcmp(key, "sla_warning_percent") == 0) {
        if (!num || v <= 0 || v >= 100)
            return relm_diag_set(d, "invalid_field",
                                 "sla_warning_percent must be a number "
                                 "between 0 and 100 (exclusive), got '%s'",
                                 value);
    } else if (strcmp(key, "max_tries") == 0) {
        if (!num || v < 1 || v != (double)(long)v)
            return relm_diag_set(d, "invalid_field",
                                 "max_tries must be a whole number >= 1, "
                                 "got '%s'", value);
    } else if (strcmp(key, "due_lead_seconds") == 0 ||
               strcmp(key, "planned_start_lead_seconds") == 0) {
        if (!num || v < 0)
            return relm_diag_set(d, "invalid_field",
                                 _("%s must be a number of seconds >= 0, "
                                   "got '%s'"),
                                 key, value);
    } else if (strcmp(key, "backoff_seconds") == 0 ||
               strcmp(key, "timeout_seconds") == 0 ||
               strcmp(key, "outbox_keep_days") == 0 ||
               strcmp(key, "http_header_timeout_seconds") == 0 ||
               strcmp(key, "http_max_body_bytes") == 0) {
        if (!num || v <= 0)
            return relm_diag_set(d, "invalid_field",
                                 "%s must be a positive number, got '%s'",
                                 key, value);
    } else if (strcmp(key, "smtp_url") == 0) {
        if ((strncmp(value, "smtp://", 7) != 0 &&
             strncmp(value, "smtps://", 8) != 0) || has_newline(value))
            return relm_diag_set(d, "invalid_field",
                                 "smtp_url must be smtp://host:port or "
                                 "smtps://host:port, got '%s'", value);
    } else if (strcmp(key, "smtp_from") == 0) {
        if (!plausible_address(value))
            return relm_diag_set(d, "invalid_field",
                                 "smtp_from must be an address like "
                                 "relm@example.org, got '%s'", value);
    } else if (strcmp(key, "smtp_tls") == 0) {
        if (strcmp(value, "none") != 0 && strcmp(value, "try") != 0 &&
            strcmp(value, "require") != 0)
            return relm_diag_set(d, "invalid_field",
                                 "smtp_tls must be \"none\", \"try\" or "
                                 "\"require\", got '%s'", value);
    } else {
        return relm_diag_set(d, "invalid_field",
                             "unknown setting '%s' (see docs/serve.md)", key);
    }
    return RELM_OK;
}

int relm_notify_set(relm_store *s, const char *key, const char *value,
                    relm_diag *d)
{
    if (check_setting(key, value, d) != RELM_OK)
        return RELM_ERR;
    if (relm_auth_begin_admin(s, "notify.set", d) != RELM_OK)
        return RELM_ERR;
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "INSERT INTO serve_settings (key, value) VALUES (?1, ?2) ON CONFLICT "
        "(key) DO UPDATE SET value = excluded.value RETURNING "
        "json_object(key, value)",
        d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    if (relm_store_step_row(s, st, d, "notify.set") != RELM_OK)
        goto fail;
    char *after = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_step(st);
    sqlite3_reset(st);
    int rc = log_commit(s, "setting", 0, "set", after, d);
    free(after);
    return rc;
fail:
    relm_store_rollback(s);
    return RELM_ERR;
}

void relm_notify_setting_str(relm_store *s, const char *key,
                             const char *dflt, char *out, size_t size)
{
    relm_diag d;
    snprintf(out, size, "%s", dflt);
    sqlite3_stmt *st = relm_store_stmt(
        s, "SELECT value FROM serve_settings WHERE key = ?1", &d);
    if (st == NULL)
        return;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        relm_store_column_copy(st, 0, out, size);
    sqlite3_reset(st);
}

double relm_notify_setting_num(relm_store *s, const char *key, double dflt)
{
    char buf[64];
    relm_notify_setting_str(s, key, "", buf, sizeof buf);
    char *end;
    double v = strtod(buf, &end);
    return buf[0] != '\0' && *end == '\0' ? v : dflt;
}
