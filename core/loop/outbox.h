/* outbox.h: the transactional outbox: the event an occurrence causes,
 * written in the same transaction, fanned out to matching subscriptions. */
#ifndef RELM_OUTBOX_H
#define RELM_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "base/diag.h"
#include "base/store.h"

/* Write the events occurrence o (row occurrence_id of the log) causes into
 * the outbox, with one queued delivery per active subscription whose
 * patterns match. Only occurrences about a release cause events:
 * "register" -> release.registered; a dotted action (activity.add,
 * sla.breached, ...) is its own event name; any other action a ->
 * release.a, plus release.closed when the release's status has just become
 * closed. Precondition: inside the caller's transaction (called from
 * relm_audit_append), so the event commits or rolls back with the write. */
int relm_outbox_add(relm_store *s, const relm_occurrence *o,
                    int64_t occurrence_id, relm_diag *d);

/* The event name occurrence action maps to, into out (size bytes). */
void relm_outbox_event_name(const char *action, char *out, size_t size);

#endif
