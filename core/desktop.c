/* desktop.c: the release desktop's query in one pass over two statements:
 * items, situation and delay computed in C, sorted, counted. */
#include "base/i18n.h"
#include "desktop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/grow.h"
#include "base/time.h"
#include "calendar.h"

/* The queries return the same columns:
 *  0 kind  1 number  2 release_id  3 activity or request id  4 title
 *  5 requester  6 created  7 priority  8 deadline  9 scheduled_at
 * 10 estimated_minutes  11 status  12 remaining_seconds  13 task  14 group
 * 15 responsible  16 shared (0/1)  17 shared_with  18 conflicts (the
 * release's kept count, core/conflict.c)  19 calendar  20 sla_stage
 * Every lookup goes through an index that leads with the owner (see
 * 0009_related.sql). The release's status is returned, not filtered in the
 * final join: any condition on r there makes SQLite build a Bloom filter by
 * scanning every release (four times slower at 100,000 releases); the few
 * rows of closed releases (old shares) are dropped here instead. */
#define SHARED_WITH                                                          \
    "(SELECT group_concat(coalesce(sg.name, su.name), ', ') FROM "           \
    "release_shares sh LEFT JOIN groups sg ON sg.id = sh.group_id LEFT "     \
    "JOIN users su ON su.id = sh.user_id WHERE sh.release_id = r.id)"
#define CONFLICTS                                                            \
    ", (SELECT count FROM release_conflict_state cs WHERE cs.release_id = "  \
    "r.id)"

const char *const relm_desktop_sql[3] = {
    "WITH g(id) AS (SELECT group_id FROM memberships WHERE user_id = ?1), "
    "mine(id) AS ("
    " SELECT r.id FROM releases r WHERE r.current_group_id IN (SELECT id FROM "
    "g) AND r.status IN ('open', 'suspended')"
    " UNION SELECT r.id FROM releases r WHERE r.responsible_id = ?1 AND "
    "r.status IN ('open', 'suspended')), "
    "shared(id) AS ("
    " SELECT sh.release_id FROM release_shares sh WHERE sh.user_id = ?1"
    " UNION SELECT sh.release_id FROM release_shares sh WHERE sh.group_id IN "
    "(SELECT id FROM g)), "
    "q(id, why) AS (SELECT id, 0 FROM mine UNION ALL SELECT id, 1 FROM shared "
    "WHERE id NOT IN (SELECT id FROM mine)) "
    "SELECT 0, r.number, r.id, NULL, r.title, ru.name, r.created_at, "
    "r.priority, r.deadline, NULL, NULL, r.status, r.remaining_seconds, "
    "r.state, cg.name, rs.name, q.why, " SHARED_WITH CONFLICTS ", r.calendar, "
    "r.sla_stage "
    "FROM q JOIN releases r ON r.id = q.id "
    "LEFT JOIN users ru ON ru.id = r.requester_id "
    "LEFT JOIN groups cg ON cg.id = r.current_group_id "
    "LEFT JOIN users rs ON rs.id = r.responsible_id",

    "WITH g(id) AS (SELECT group_id FROM memberships WHERE user_id = ?1), "
    "q(id) AS ("
    " SELECT a.id FROM activities a WHERE a.owner_group_id IN (SELECT id FROM "
    "g) AND a.status IN ('todo', 'in_progress')"
    " UNION SELECT a.id FROM activities a WHERE a.owner_user_id = ?1 AND "
    "a.status IN ('todo', 'in_progress')) "
    "SELECT 1, r.number, r.id, a.id, r.title, ru.name, a.created_at, "
    "r.priority, r.deadline, a.scheduled_at, a.estimated_minutes, r.status, "
    "r.remaining_seconds, a.title, og.name, ou.name, 0, " SHARED_WITH CONFLICTS ", r.calendar, "
    "r.sla_stage "
    "FROM q JOIN activities a ON a.id = q.id "
    "JOIN releases r ON r.id = a.release_id "
    "LEFT JOIN users ru ON ru.id = r.requester_id "
    "LEFT JOIN groups og ON og.id = a.owner_group_id "
    "LEFT JOIN users ou ON ou.id = a.owner_user_id",

    /* Approval requests waiting for the user's decision: the same rows as
     * relm.approval.pending (an open round in the release's current
     * state, the request pending, no decision of theirs yet). */
    "WITH g(id) AS (SELECT group_id FROM memberships WHERE user_id = ?1), "
    "p(id) AS ("
    " SELECT id FROM approval_requests WHERE user_id = ?1 AND status = "
    "'pending'"
    " UNION SELECT id FROM approval_requests WHERE group_id IN (SELECT id "
    "FROM g) AND status = 'pending') "
    "SELECT 2, r.number, r.id, q.id, r.title, ru.name, q.created_at, "
    "r.priority, r.deadline, NULL, NULL, r.status, r.remaining_seconds, "
    "'approve (' || q.rule || ')', qg.name, qu.name, 0, " SHARED_WITH CONFLICTS ", r.calendar, "
    "r.sla_stage "
    "FROM p JOIN approval_requests q ON q.id = p.id "
    "JOIN approval_rounds ro ON ro.id = q.round_id AND ro.status = 'open' "
    "JOIN releases r ON r.id = q.release_id AND r.status = 'open' AND "
    "r.state = ro.state "
    "LEFT JOIN users ru ON ru.id = r.requester_id "
    "LEFT JOIN groups qg ON qg.id = q.group_id "
    "LEFT JOIN users qu ON qu.id = q.user_id "
    "WHERE NOT EXISTS (SELECT 1 FROM approval_decisions x WHERE "
    "x.request_id = q.id AND x.user_id = ?1)",
};

/* Epoch seconds of an ISO-8601 time column, 0 when it does not parse. */
static int64_t iso_seconds(const char *s)
{
    int64_t t = 0;
    return s != NULL && relm_time_parse(s, strlen(s), &t, NULL) ? t : 0;
}

/* Copy n bytes of s into the arena; returns its offset (0 for NULL). */
static size_t arena_put(relm_desktop *dt, const char *s, size_t n, int *oom)
{
    if (s == NULL)
        return 0;
    char *t = relm_grow(dt->text, &dt->tcap, dt->tlen + n + 1, 1, 1 << 16);
    if (t == NULL) {
        *oom = 1;
        return 0;
    }
    dt->text = t;
    size_t off = dt->tlen;
    memcpy(dt->text + off, s, n);
    dt->text[off + n] = '\0';
    dt->tlen += n + 1;
    return off;
}

/* Column col of the current row of st into the arena (0 for NULL). */
static size_t put_col(relm_desktop *dt, sqlite3_stmt *st, int col, int *oom)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    return arena_put(dt, v, (size_t)sqlite3_column_bytes(st, col), oom);
}

const char *relm_desktop_text(const relm_desktop *dt, size_t off)
{
    return off == 0 ? NULL : dt->text + off;
}

void relm_desktop_free(relm_desktop *dt)
{
    free(dt->items);
    free(dt->groups);
    free(dt->text);
    memset(dt, 0, sizeof *dt);
}

/* Count item it under its group. */
static int count_group(relm_desktop *dt, const relm_desk_item *it)
{
    const char *name = relm_desktop_text(dt, it->group);
    for (size_t i = 0; i < dt->ngroups; i++) {
        const char *g = relm_desktop_text(dt, dt->groups[i].name);
        if ((g == NULL && name == NULL) ||
            (g != NULL && name != NULL && strcmp(g, name) == 0)) {
            dt->groups[i].count++;
            return 0;
        }
    }
    relm_desk_group_count *g = relm_grow(dt->groups, &dt->gcap,
                                         dt->ngroups + 1, sizeof *g, 16);
    if (g == NULL)
        return -1;
    dt->groups = g;
    dt->groups[dt->ngroups].name = it->group;
    dt->groups[dt->ngroups].count = 1;
    dt->ngroups++;
    return 0;
}

/* 1 when the row at st passes the filter f. */
static int wanted(sqlite3_stmt *st, const relm_desk_filter *f)
{
    const char *status = (const char *)sqlite3_column_text(st, 11);
    if (status == NULL ||
        (strcmp(status, "open") != 0 && strcmp(status, "suspended") != 0))
        return 0;
    int shared = sqlite3_column_int(st, 16);
    if ((f->assigned && shared) || (f->shared && !shared))
        return 0;
    const char *number = (const char *)sqlite3_column_text(st, 1);
    if (f->number_glob != NULL &&
        (number == NULL || sqlite3_strglob(f->number_glob, number) != 0))
        return 0;
    if (f->number != NULL && (number == NULL || strcmp(f->number, number)))
        return 0;
    if (f->group != NULL) {
        const char *g = (const char *)sqlite3_column_text(st, 14);
        if (g == NULL || strcmp(g, f->group) != 0)
            return 0;
    }
    return 1;
}

/* Read every row of st into dt. */
static int read_rows(relm_store *s, sqlite3_stmt *st, int64_t now,
                     const relm_desk_filter *f, relm_desktop *dt,
                     relm_diag *d)
{
    int rc, oom = 0;
    char buf[32];
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!wanted(st, f))
            continue;
        relm_desk_item *items = relm_grow(dt->items, &dt->cap, dt->n + 1,
                                          sizeof *items, 256);
        if (items == NULL) {
            oom = 1;
            break;
        }
        dt->items = items;
        relm_desk_item *it = &dt->items[dt->n];
        memset(it, 0, sizeof *it);
        it->kind = sqlite3_column_int(st, 0);
        it->number = put_col(dt, st, 1, &oom);
        it->release_id = sqlite3_column_int64(st, 2);
        it->activity_id = sqlite3_column_int64(st, 3);
        it->title = put_col(dt, st, 4, &oom);
        it->requester = put_col(dt, st, 5, &oom);
        it->created = put_col(dt, st, 6, &oom);
        it->priority = sqlite3_column_int(st, 7);
        if (it->priority < 1 || it->priority > 5)
            it->priority = 3;
        /* An activity's time limit is the end of its schedule (start +
         * estimate); without a schedule, the release's. */
        if (sqlite3_column_type(st, 9) != SQLITE_NULL) {
            it->limit = iso_seconds((const char *)sqlite3_column_text(st, 9)) +
                        60 * sqlite3_column_int64(st, 10);
            relm_time_format(it->limit, buf);
            it->time_limit = arena_put(dt, buf, strlen(buf), &oom);
        } else if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
            it->limit = iso_seconds((const char *)sqlite3_column_text(st, 8));
            it->time_limit = put_col(dt, st, 8, &oom);
        }
        const char *status = (const char *)sqlite3_column_text(st, 11);
        if (strcmp(status, "suspended") == 0) {
            /* The clock is stopped: late by what was overdue at the stop. */
            int64_t rem = sqlite3_column_int64(st, 12);
            it->situation = RELM_DESK_SUSPENDED;
            it->delay = sqlite3_column_type(st, 12) != SQLITE_NULL && rem < 0
                            ? -rem : 0;
        } else if (it->limit != 0 && now > it->limit) {
            it->situation = RELM_DESK_LATE;
            it->delay = now - it->limit;
        } else {
            it->situation = RELM_DESK_RUNNING;
        }
        it->task = put_col(dt, st, 13, &oom);
        it->group = put_col(dt, st, 14, &oom);
        it->responsible = put_col(dt, st, 15, &oom);
        it->shared = sqlite3_column_int(st, 16);
        it->shared_with = put_col(dt, st, 17, &oom);
        it->conflicts = sqlite3_column_int(st, 18);
        it->calendar = put_col(dt, st, 19, &oom);
        it->sla_stage = put_col(dt, st, 20, &oom);
        /* Time left on the release's clock: business time on its
         * calendar; what was left at the stop while suspended. */
        const char *cal = (const char *)sqlite3_column_text(st, 19);
        if (it->situation == RELM_DESK_SUSPENDED) {
            it->has_left = sqlite3_column_type(st, 12) != SQLITE_NULL;
            it->left = sqlite3_column_int64(st, 12);
        } else if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
            int64_t dl = iso_seconds((const char *)sqlite3_column_text(st, 8));
            int64_t a = now < dl ? now : dl, b = now < dl ? dl : now, n;
            if (relm_calendar_between(s, cal, a, b, &n, d) != RELM_OK) {
                sqlite3_reset(st);
                return RELM_ERR;
            }
            it->has_left = 1;
            it->left = now < dl ? n : -n;
            /* Late by business time too, on a calendar. */
            if (it->situation == RELM_DESK_LATE && it->kind != RELM_DESK_ACTIVITY)
                it->delay = n;
        }
        if (oom)
            break;
        dt->n++;
        dt->by_kind[it->kind]++;
        dt->by_situation[it->situation]++;
        dt->by_priority[it->priority]++;
        if (count_group(dt, it) != 0) {
            oom = 1;
            break;
        }
    }
    sqlite3_reset(st);
    if (oom)
        return relm_diag_set(d, "out_of_memory", _("out of memory"));
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return relm_store_fail(s, d, "desktop");
    return RELM_OK;
}

/* Most urgent first: priority, then the nearest time limit (none last),
 * then number (text is the arena), then activity id, so the order is
 * total. */
static int by_urgency(const void *pa, const void *pb, void *text)
{
    const relm_desk_item *a = pa, *b = pb;
    const char *sort_text = text;
    if (a->priority != b->priority)
        return a->priority - b->priority;
    if ((a->limit == 0) != (b->limit == 0))
        return a->limit == 0 ? 1 : -1;
    if (a->limit != b->limit)
        return a->limit < b->limit ? -1 : 1;
    int c = strcmp(sort_text + a->number, sort_text + b->number);
    if (c != 0)
        return c;
    return (a->activity_id > b->activity_id) - (a->activity_id < b->activity_id);
}

int relm_desktop_load(relm_store *s, int64_t user_id, int64_t now,
                      const relm_desk_filter *f, relm_desktop *out,
                      relm_diag *d)
{
    memset(out, 0, sizeof *out);
    int oom = 0;
    arena_put(out, "", 0, &oom); /* offset 0 stands for NULL */
    if (oom)
        return relm_diag_set(d, "out_of_memory", _("out of memory"));
    /* The tables behind each kind; activities and approvals are other
     * modules' and may not be there. Only releases can be shared. */
    static const char *const table[3] = {"releases", "activities",
                                         "approval_requests"};
    for (int q = 0; q < 3; q++) {
        if ((f->kind != RELM_DESK_ALL && f->kind != q) || (q > 0 && f->shared))
            continue;
        if (q > 0) {
            sqlite3_stmt *st = relm_store_stmt(
                s, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                   "name = ?1", d);
            if (st == NULL)
                return RELM_ERR;
            sqlite3_bind_text(st, 1, table[q], -1, SQLITE_STATIC);
            int there = sqlite3_step(st) == SQLITE_ROW;
            sqlite3_reset(st);
            if (!there)
                continue;
        }
        sqlite3_stmt *st = relm_store_stmt(s, relm_desktop_sql[q], d);
        if (st == NULL)
            return RELM_ERR;
        sqlite3_bind_int64(st, 1, user_id);
        if (read_rows(s, st, now, f, out, d) != RELM_OK)
            return RELM_ERR;
    }
    if (out->n > 1) {
        /* qsort_r, not qsort: the numbers live in this desktop's arena. */
        qsort_r(out->items, out->n, sizeof *out->items, by_urgency, out->text);
    }
    return RELM_OK;
}
