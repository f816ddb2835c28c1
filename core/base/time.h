/* time.h: the engine's one ISO-8601 parser and formatter. Every date a
 * user gives (release fields, schedules, CMDB dates) is checked here. */
#ifndef RELM_TIME_H
#define RELM_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Which optional parts a parsed time had (relm_time_parse's *parts). */
enum {
    RELM_TIME_CLOCK = 1,    /* THH:MM or THH:MM:SS after the date */
    RELM_TIME_FRACTION = 2, /* .fff after the seconds */
    RELM_TIME_OFFSET = 4    /* +HH:MM or -HH:MM (Z counts as UTC, no offset) */
};

/* Parse s[0..n) as YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|+HH:MM|-HH:MM]: a
 * real calendar date (leap years counted), hours 0-23, minutes 0-59,
 * seconds 0-60 (a leap second), years 1900-9999 (an earlier year is a
 * typo in this domain, "0202" for "2020"). Returns 1 and sets *epoch (UTC
 * seconds, the offset applied, a date alone is midnight) and *parts (either
 * may be NULL) when it parses; 0 otherwise. */
int relm_time_parse(const char *s, size_t n, int64_t *epoch, unsigned *parts);

/* 1 when the NUL-terminated s parses and has no optional part outside
 * allow: relm_time_valid(v, RELM_TIME_CLOCK) is the form release fields
 * and schedules store (UTC, whole seconds). */
int relm_time_valid(const char *s, unsigned allow);

/* The stored form of epoch: ISO-8601 UTC "2027-01-15T08:00:00Z", whose
 * text order is time order. */
void relm_time_format(int64_t epoch, char out[32]);

#endif
