/* sla.h: a release's SLA clock on its business calendar: the deadline, the
 * warning moment and the next stage moment, set whenever the clock moves. */
#ifndef RELM_SLA_H
#define RELM_SLA_H

#include <stdint.h>

#include "base/diag.h"
#include "base/store.h"

/* The warning percentage when neither release, model nor portfolio names
 * one: serve's sla_warning_percent setting, else 75. */
double relm_sla_default_percent(relm_store *s);

/* Settle release id's clock after a write that started, stopped or
 * restarted it at now (register, suspend, reactivate, reopen, close):
 * the SQL of those writes counts seconds 24x7 from now; on a calendar this
 * turns them into business time (deadline = the instant the allowance
 * left is used up; remaining = business seconds left), then sets the
 * warning moment, the stage and the next stage moment serve waits for.
 * Precondition: inside the write's transaction. not_found when the
 * release's calendar is unknown. */
int relm_sla_settle(relm_store *s, int64_t id, int64_t now, relm_diag *d);

#endif
