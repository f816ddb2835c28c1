/* sla.h: a release's SLA clock on its business calendar: the deadline and
 * the moments of its stages and escalations, set whenever the clock moves. */
#ifndef RELM_SLA_H
#define RELM_SLA_H

#include <stdint.h>

#include "base/diag.h"
#include "base/store.h"

enum { RELM_SLA_MAX_PCTS = 32 };

/* The percentages of the allowance at which something happens besides
 * the warning and the breach: those the escalation rules serve loaded
 * name (serve keeps them in serve_settings 'escalation_percents', so
 * every process plans the same moments). */
typedef struct relm_sla_pcts {
    double v[RELM_SLA_MAX_PCTS];
    int n;
} relm_sla_pcts;

/* serve's sla_warning_percent setting, else 75. */
double relm_sla_default_percent(relm_store *s);
void relm_sla_load_pcts(relm_store *s, relm_sla_pcts *p);

/* The next moment of a running clock after done (percent of the allowance
 * handled): the smallest of warn, 100 and p's percentages above done, in
 * *pct (0 = none left), and when it comes in *at (epoch seconds, with a
 * fraction on 24x7: a 3-second SLA warns 0.75 s before its deadline), on
 * calendar cal (NULL or "" = 24x7). */
int relm_sla_next(relm_store *s, const char *cal, int64_t deadline,
                  int64_t sla, double warn, double done,
                  const relm_sla_pcts *p, double *pct, double *at,
                  relm_diag *d);

/* The stage done percent means: "in_progress", "warning", "breached". */
const char *relm_sla_stage(double done, double warn);

/* Settle release id's clock after a write that started, stopped or
 * restarted it at now (register, suspend, reactivate, reopen, close):
 * the SQL of those writes counts seconds 24x7 from now; on a calendar this
 * turns them into business time (deadline = the instant the allowance
 * left is used up; remaining = business seconds left), then sets the stage
 * and the next moment serve waits for. Precondition: inside the write's
 * transaction. not_found when the release's calendar is unknown. */
int relm_sla_settle(relm_store *s, int64_t id, int64_t now, relm_diag *d);

/* Record that escalation rule `rule` ran for release id in SLA cycle
 * cycle at stage (its stage or percentage), once: status done (error NULL)
 * with an occurrence sla.escalated (its event reaches the subscriptions;
 * the note names the group to notify), or failed with the error (parked
 * for an admin: relm.escalation.fired()). One transaction. */
int relm_sla_record_escalation(relm_store *s, int64_t id, int64_t cycle,
                               const char *rule, const char *stage,
                               const char *notify, const char *error,
                               relm_diag *d);

#endif
