/* notify.h: notification subscriptions, serve's settings and the dead-letter
 * replay: the administrative writes behind relm.notify. */
#ifndef RELM_NOTIFY_H
#define RELM_NOTIFY_H

#include <stdint.h>

#include "base/diag.h"
#include "base/store.h"

typedef struct relm_subscription {
    const char *channel;   /* "webhook" or "email" */
    const char *url;       /* webhook: http(s) URL; email: smtp(s):// server
                              (NULL: the smtp_url setting) */
    const char *to;        /* email: the recipient address */
    const char *secret;    /* webhook: HMAC key (NULL: unsigned) */
    const char *const *events; /* names or GLOB patterns */
    int nevents;
} relm_subscription;

/* Store a subscription after checking it (admin only; one transaction with
 * its occurrence). Errors: permission_denied, invalid_field. */
int relm_notify_subscribe(relm_store *s, const relm_subscription *sub,
                          int64_t *id, relm_diag *d);

/* Deactivate subscription id: its queued deliveries stay and are sent. */
int relm_notify_unsubscribe(relm_store *s, int64_t id, relm_diag *d);

/* Queue dead delivery id again with a fresh count of tries (admin only).
 * Errors: permission_denied, not_found (no dead delivery with that id). */
int relm_notify_replay(relm_store *s, int64_t id, relm_diag *d);

/* Delete dead deliveries for good (admin only, one transaction with its
 * occurrence): id (when not 0), else those dead before the ISO-8601 moment
 * before (when not NULL), else all. *n receives how many. Errors:
 * permission_denied, invalid_field (before unreadable), not_found (no
 * dead delivery with that id). */
int relm_notify_purge(relm_store *s, int64_t id, const char *before,
                      int64_t *n, relm_diag *d);

/* Queue dead hook run id (relm.on, see loop/hooks.h) again with a fresh
 * count of tries (admin only). Errors: permission_denied, not_found. */
int relm_notify_replay_hook(relm_store *s, int64_t id, relm_diag *d);

/* Give group its own e-mail address (admin only; "" removes it, and mail
 * to the group goes to its members' addresses). Errors: invalid_field (not
 * an address), not_found (no such group), permission_denied. */
int relm_notify_group_address(relm_store *s, const char *group,
                              const char *email, relm_diag *d);

/* Set one of serve's settings (admin only), checked: sla_warning_percent
 * (1..99), max_tries (>= 1), backoff_seconds (> 0), timeout_seconds (> 0),
 * smtp_url (smtp:// or smtps://), smtp_from (an address), smtp_tls
 * ("none", "try" or "require"), due_lead_seconds and
 * planned_start_lead_seconds (>= 0), outbox_keep_days (> 0), hooks_dir
 * (a readable directory, or "" for none). Errors: invalid_field. */
int relm_notify_set(relm_store *s, const char *key, const char *value,
                    relm_diag *d);

/* A setting as a number, or dflt when it is not set. */
double relm_notify_setting_num(relm_store *s, const char *key, double dflt);
/* A setting as text into out (size bytes), or dflt when not set. */
void relm_notify_setting_str(relm_store *s, const char *key,
                             const char *dflt, char *out, size_t size);

#endif
