/* calendar.h: business calendars (weekly hours, holidays, a time zone from
 * the tz database) and the business-time arithmetic the SLA clock runs on. */
#ifndef RELM_CALENDAR_H
#define RELM_CALENDAR_H

#include <stdint.h>

#include "base/diag.h"
#include "base/store.h"

enum { RELM_CAL_MAX_INTERVALS = 8, RELM_CAL_MAX_HOLIDAYS = 4096 };

/* What define{} was given: hours[w] for weekday w (0 = Monday), each
 * "HH:MM-HH:MM" (end may be 24:00); holidays "YYYY-MM-DD" local dates. */
typedef struct relm_calendar_spec {
    const char *name;
    const char *tz;
    const char *hours[7][RELM_CAL_MAX_INTERVALS];
    int nhours[7];
    const char *const *holidays;
    int nholidays;
} relm_calendar_spec;

typedef struct relm_calendar relm_calendar;

/* The weekday names define{} takes, Monday first: "mon" .. "sun". */
extern const char *const relm_calendar_days[7];

/* Check spec and compile it; NULL and d filled (code invalid_argument,
 * naming the weekday, interval or date) when it is wrong. */
relm_calendar *relm_calendar_compile(const relm_calendar_spec *spec,
                                     relm_diag *d);
void relm_calendar_free(relm_calendar *c);

/* Business seconds in [a, b) (0 when b <= a). */
int64_t relm_calendar_seconds(const relm_calendar *c, int64_t a, int64_t b);

/* The instant at which n business seconds after t are used up (t when
 * n <= 0); INT64_MAX when the calendar has no business time left. */
int64_t relm_calendar_add(const relm_calendar *c, int64_t t, int64_t n);

/* The instant x before t with n business seconds in [x, t) (t when
 * n <= 0); INT64_MIN when there are not that many. */
int64_t relm_calendar_sub(const relm_calendar *c, int64_t t, int64_t n);

/* Store the calendar (admin, one transaction, occurrence logged); replaces
 * one of the same name. */
int relm_calendar_define(relm_store *s, const relm_calendar_spec *spec,
                         relm_diag *d);
/* Remove it (admin); not_found when there is none; conflict while an open
 * or suspended release or a model still names it. */
int relm_calendar_remove(relm_store *s, const char *name, relm_diag *d);

/* The compiled calendar named name, from a per-process cache that follows
 * the database (other connections' commits included); NULL and d filled
 * (not_found) when there is none. The pointer stays valid until the next
 * lookup after a calendar changed. */
const relm_calendar *relm_calendar_lookup(relm_store *s, const char *name,
                                          relm_diag *d);

/* Business seconds between a and b on calendar name, or b - a when name is
 * NULL (24x7). -1 and d filled when the calendar is unknown. */
int relm_calendar_between(relm_store *s, const char *name, int64_t a,
                          int64_t b, int64_t *out, relm_diag *d);
/* t + n business seconds on calendar name (NULL: 24x7). */
int relm_calendar_after(relm_store *s, const char *name, int64_t t, int64_t n,
                        int64_t *out, relm_diag *d);

/* t - n business seconds on calendar name (NULL: 24x7). */
int relm_calendar_before(relm_store *s, const char *name, int64_t t,
                         int64_t n, int64_t *out, relm_diag *d);

#endif
