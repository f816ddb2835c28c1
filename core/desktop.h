/* desktop.h: the release desktop's query: the releases and activities waiting
 * for a user and their groups, with situation, delay and counts, in one pass. */
#ifndef RELM_DESKTOP_H
#define RELM_DESKTOP_H

#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "base/store.h"

enum { RELM_DESK_RUNNING = 0, RELM_DESK_SUSPENDED = 1, RELM_DESK_LATE = 2 };
/* Kinds of item (and of the kind filter; RELM_DESK_ALL = every kind). */
enum { RELM_DESK_ALL = -1, RELM_DESK_RELEASE = 0, RELM_DESK_ACTIVITY = 1,
       RELM_DESK_APPROVAL = 2 };

/* One item. Text fields are offsets into the desktop's text arena (0 means
 * NULL); relm_desktop_text turns them into strings. */
typedef struct relm_desk_item {
    int kind;              /* RELM_DESK_RELEASE, _ACTIVITY or _APPROVAL */
    int shared;            /* 1: shared with the user, 0: assigned */
    int situation;         /* RELM_DESK_* */
    int priority;
    int64_t release_id;
    int64_t activity_id;   /* the activity, or the approval request */
    int64_t limit;         /* time limit, epoch seconds; 0 = none */
    int64_t delay;         /* seconds past the limit (0: not late) */
    int conflicts;         /* the release's conflicts (core/conflict.h) */
    size_t number, title, requester, created, time_limit, task, group,
        responsible, shared_with, calendar, sla_stage;
    int has_left;          /* 1: left is set */
    int64_t left;          /* time left on the release's SLA clock, in
                            * business seconds on its calendar (negative:
                            * late by) */
} relm_desk_item;

/* Which items: number_glob (a GLOB pattern) or number (exact), NULL for
 * any; assigned / shared keep only those; kind one RELM_DESK_* kind or
 * RELM_DESK_ALL; group keeps only items of that group (NULL: any). */
typedef struct relm_desk_filter {
    const char *number_glob;
    const char *number;
    int assigned, shared;
    int kind;
    const char *group;
} relm_desk_filter;

typedef struct relm_desk_group_count {
    size_t name;   /* arena offset; 0 = no group */
    size_t count;
} relm_desk_group_count;

/* The answer: items most urgent first (priority, then the nearest time
 * limit, items without one last, then number), and counts over all. */
typedef struct relm_desktop {
    relm_desk_item *items;
    size_t n, cap;
    size_t by_kind[3];             /* releases, activities, approvals */
    size_t by_situation[3];
    size_t by_priority[6];         /* index 1..5 */
    relm_desk_group_count *groups;
    size_t ngroups, gcap;
    char *text;                    /* arena */
    size_t tlen, tcap;
} relm_desktop;

/* Load the desktop of user user_id as of now (epoch seconds). Activities
 * and approval requests are read only when their tables exist. Free with
 * relm_desktop_free, also after an error. */
int relm_desktop_load(relm_store *s, int64_t user_id, int64_t now,
                      const relm_desk_filter *f, relm_desktop *out,
                      relm_diag *d);
void relm_desktop_free(relm_desktop *dt);

/* The string at arena offset off (NULL for 0). */
const char *relm_desktop_text(const relm_desktop *dt, size_t off);

/* The queries (releases, activities, approvals), for the benchmark's
 * baseline. ?1 is the user id. */
extern const char *const relm_desktop_sql[3];

#endif
