/* clock.h: the engine's one clock. Every primitive that stamps a row or
 * measures an SLA reads it here, so a test (or an admin) can fix it. */
#ifndef RELM_CLOCK_H
#define RELM_CLOCK_H

#include <stdint.h>

/* Epoch seconds: the system's clock, unless relm_clock_set fixed it. */
int64_t relm_clock_now(void);

/* The clock as ISO-8601 UTC ("2027-01-15T08:00:00Z"), the form every time
 * column holds, so that text order is time order. */
void relm_clock_now_iso(char out[32]);

/* Fix the clock at epoch (> 0); 0 (or less) restores the system clock. */
void relm_clock_set(int64_t epoch);

#endif
