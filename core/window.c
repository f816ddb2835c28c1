/* window.c: freeze windows kept in the store and expanded on demand through
 * libical (RRULE in the window's own time zone, from the tz database). */
#include "window.h"

#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "auth.h"
#include "base/clock.h"
#include "base/i18n.h"
#include "base/lazylib.h"
#include "base/time.h"

/* libical is opened on first use rather than linked (base/lazylib.h): it
 * brings in ICU, whose relocations would cost every relm start. */
#define ICAL_FUNCTIONS(X)                                                    \
    X(icalerror_clear_errno)                                                 \
    X(icalrecur_iterator_free)                                               \
    X(icalrecur_iterator_new)                                                \
    X(icalrecur_iterator_next)                                               \
    X(icalrecur_iterator_set_start)                                          \
    X(icalrecurrencetype_from_string)                                        \
    X(icaltime_as_ical_string)                                               \
    X(icaltime_as_timet_with_zone)                                           \
    X(icaltime_from_string)                                                  \
    X(icaltime_from_timet_with_zone)                                         \
    X(icaltime_is_null_time)                                                 \
    X(icaltime_set_timezone)                                                 \
    X(icaltimezone_get_builtin_timezone)                                     \
    X(icaltimezone_get_utc_timezone)
RELM_LAZYLIB(ical, "libical.so.3", ICAL_FUNCTIONS)
#define icalerror_clear_errno RELM_LAZY(ical, icalerror_clear_errno)
#define icalrecur_iterator_free RELM_LAZY(ical, icalrecur_iterator_free)
#define icalrecur_iterator_new RELM_LAZY(ical, icalrecur_iterator_new)
#define icalrecur_iterator_next RELM_LAZY(ical, icalrecur_iterator_next)
#define icalrecur_iterator_set_start RELM_LAZY(ical, icalrecur_iterator_set_start)
#define icalrecurrencetype_from_string RELM_LAZY(ical, icalrecurrencetype_from_string)
#define icaltime_as_ical_string RELM_LAZY(ical, icaltime_as_ical_string)
#define icaltime_as_timet_with_zone RELM_LAZY(ical, icaltime_as_timet_with_zone)
#define icaltime_from_string RELM_LAZY(ical, icaltime_from_string)
#define icaltime_from_timet_with_zone RELM_LAZY(ical, icaltime_from_timet_with_zone)
#define icaltime_is_null_time RELM_LAZY(ical, icaltime_is_null_time)
#define icaltime_set_timezone RELM_LAZY(ical, icaltime_set_timezone)
#define icaltimezone_get_builtin_timezone RELM_LAZY(ical, icaltimezone_get_builtin_timezone)
#define icaltimezone_get_utc_timezone RELM_LAZY(ical, icaltimezone_get_utc_timezone)

/* RELM_OK once libical is loaded, or RELM_ERR naming what is missing. */
static int ical_load(relm_diag *d)
{
    if (relm_lazylib_load(&ical.lib))
        return RELM_OK;
    return relm_diag_set(d, "unavailable", "%s",
                         _("freeze windows need libical (libical.so.3, from "
                           "the Debian package libical3), which cannot be "
                           "loaded"));
}

/* Expansion stops after this many occurrences: 270 years of a daily rule,
 * so a rule that never ends still answers quickly. */
#define MAX_STEPS 100000

/* The RRULE parts libical knows (RFC 5545 3.3.10). */
static const char *const RRULE_PARTS[] = {
    "FREQ", "INTERVAL", "COUNT", "UNTIL", "BYSECOND", "BYMINUTE", "BYHOUR",
    "BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS",
    "WKST", NULL,
};

/* The zone called tz (NULL: UTC), or NULL with invalid_tz. */
static icaltimezone *zone_of(const char *tz, relm_diag *d)
{
    if (ical_load(d) != RELM_OK)
        return NULL;
    if (tz == NULL)
        return icaltimezone_get_utc_timezone();
    icaltimezone *z = icaltimezone_get_builtin_timezone(tz);
    if (z == NULL)
        relm_diag_set(d, "invalid_tz",
                      _("unknown time zone '%s' (a tz database name such as "
                        "Europe/Paris)"), tz);
    return z;
}

/* Parse an ISO-8601 time as given to add: an instant when it has an offset
 * or Z, else a wall clock in z. *wall gets the wall clock in z, *epoch the
 * instant. what names the argument in the error. */
static int parse_time(const char *s, icaltimezone *z, const char *what,
                      struct icaltimetype *wall, int64_t *epoch, relm_diag *d)
{
    int64_t e;
    unsigned parts;
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || !relm_time_parse(s, n, &e, &parts))
        return relm_diag_set(d, "invalid_argument",
                             _("%s: '%s' is not a date and time "
                               "(YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM])"),
                             what, s != NULL ? s : "");
    int instant = (parts & RELM_TIME_OFFSET) || s[n - 1] == 'Z';
    if (instant) {
        *wall = icaltime_from_timet_with_zone((time_t)e, 0, z);
        *epoch = e;
    } else {
        *wall = icaltime_from_timet_with_zone(
            (time_t)e, 0, icaltimezone_get_utc_timezone());
        icaltime_set_timezone(wall, z);
        *epoch = (int64_t)icaltime_as_timet_with_zone(*wall, z);
    }
    return RELM_OK;
}

/* Check rrule part by part so the error names the part libical refuses;
 * then parse it whole into *out. */
static int parse_rrule(const char *rrule, struct icalrecurrencetype *out,
                       relm_diag *d)
{
    char buf[512], freq[64] = "";
    if (strlen(rrule) >= sizeof buf)
        return relm_diag_set(d, "invalid_rrule",
                             _("RRULE is longer than %d bytes"),
                             (int)sizeof buf - 1);
    int has_count = 0, has_until = 0;
    for (int pass = 0; pass < 2; pass++) {
        memcpy(buf, rrule, strlen(rrule) + 1);
        char *save = NULL;
        for (char *p = strtok_r(buf, ";", &save); p != NULL;
             p = strtok_r(NULL, ";", &save)) {
            char *eq = strchr(p, '=');
            size_t klen = eq != NULL ? (size_t)(eq - p) : strlen(p);
            int known = 0;
            for (int i = 0; RRULE_PARTS[i] != NULL; i++)
                if (strlen(RRULE_PARTS[i]) == klen &&
                    strncmp(RRULE_PARTS[i], p, klen) == 0)
                    known = 1;
            if (eq == NULL || !known)
                return relm_diag_set(d, "invalid_rrule",
                                     _("RRULE part '%s' is not one of FREQ, "
                                       "INTERVAL, COUNT, UNTIL, BYDAY, "
                                       "BYMONTHDAY, BYMONTH, ... as NAME=value"),
                                     p);
            if (pass == 0) {
                if (strncmp(p, "FREQ=", 5) == 0)
                    snprintf(freq, sizeof freq, "%s", p);
                has_count |= strncmp(p, "COUNT=", 6) == 0;
                has_until |= strncmp(p, "UNTIL=", 6) == 0;
                continue;
            }
            /* Each part alone after the frequency: the first one libical
             * refuses is the one to name. */
            char one[600];
            snprintf(one, sizeof one, "%s;%s", freq, p);
            icalerror_clear_errno();
            struct icalrecurrencetype r = icalrecurrencetype_from_string(
                strncmp(p, "FREQ=", 5) == 0 ? p : one);
            if (r.freq == ICAL_NO_RECURRENCE)
                return relm_diag_set(d, "invalid_rrule",
                                     _("RRULE part '%s' cannot be read"), p);
        }
        if (pass == 0 && freq[0] == '\0')
            return relm_diag_set(d, "invalid_rrule",
                                 _("RRULE '%s' has no FREQ part (FREQ=DAILY, "
                                   "WEEKLY, MONTHLY or YEARLY)"), rrule);
        if (pass == 0 && has_count && has_until)
            return relm_diag_set(d, "invalid_rrule",
                                 _("RRULE '%s' has both COUNT and UNTIL: "
                                   "give one"), rrule);
    }
    icalerror_clear_errno();
    *out = icalrecurrencetype_from_string(rrule);
    if (out->freq == ICAL_NO_RECURRENCE)
        return relm_diag_set(d, "invalid_rrule",
                             _("RRULE '%s' cannot be read"), rrule);
    return RELM_OK;
}

/* One window as expansion needs it. */
typedef struct win {
    struct icaltimetype dtstart; /* wall clock in zone */
    icaltimezone *zone;
    int64_t duration;
    int has_rule;
    struct icalrecurrencetype rule;
} win;

/* Walk the occurrences of w overlapping [from, to) (to < 0: all, then
 * more than MAX_STEPS is an error), calling fn. */
static int expand(const win *w, int64_t from, int64_t to,
                  relm_window_span_fn fn, void *ud, relm_diag *d)
{
    if (!w->has_rule) {
        int64_t st = (int64_t)icaltime_as_timet_with_zone(w->dtstart,
                                                          w->zone);
        if (st + w->duration > from && (to < 0 || st < to))
            return fn(ud, st, st + w->duration);
        return 0;
    }
    icalrecur_iterator *it = icalrecur_iterator_new(w->rule, w->dtstart);
    if (it == NULL)
        return relm_diag_set(d, "invalid_rrule", "%s",
                             _("RRULE cannot be expanded from this start"));
    /* Far from the first occurrence, start the walk a day before the
     * period (libical allows it without COUNT), so an hourly rule begun
     * years ago still reaches it within MAX_STEPS. */
    int64_t first = (int64_t)icaltime_as_timet_with_zone(w->dtstart, w->zone);
    int64_t skip_to = from - w->duration - 86400;
    if (w->rule.count == 0 && to >= 0 && skip_to > first + 86400) {
        struct icaltimetype st = icaltime_from_timet_with_zone(
            (time_t)skip_to, 0, w->zone);
        if (!icalrecur_iterator_set_start(it, st)) {
            icalrecur_iterator_free(it);
            it = icalrecur_iterator_new(w->rule, w->dtstart);
            if (it == NULL)
                return relm_diag_set(d, "invalid_rrule", "%s",
                                     _("RRULE cannot be expanded from this "
                                       "start"));
        }
    }
    int rc = 0;
    long steps = 0;
    for (struct icaltimetype o = icalrecur_iterator_next(it);
         !icaltime_is_null_time(o); o = icalrecur_iterator_next(it)) {
        if (++steps > MAX_STEPS) {
            if (to < 0)
                rc = relm_diag_set(d, "invalid_rrule",
                                   _("RRULE yields more than %d "
                                     "occurrences"), MAX_STEPS);
            break;
        }
        int64_t st = (int64_t)icaltime_as_timet_with_zone(o, w->zone);
        if (to >= 0 && st >= to)
            break;
        if (st + w->duration <= from)
            continue;
        if ((rc = fn(ud, st, st + w->duration)) != 0)
            break;
    }
    icalrecur_iterator_free(it);
    return rc;
}

/* Collect the first and last occurrence (for add). */
typedef struct bounds {
    int64_t first, last_end;
    long n;
} bounds;

static int note_bounds(void *ud, int64_t start, int64_t end)
{
    bounds *b = ud;
    if (b->n++ == 0)
        b->first = start;
    b->last_end = end;
    return 0;
}

static int stop_first(void *ud, int64_t start, int64_t end)
{
    bounds *b = ud;
    b->first = start;
    b->last_end = end;
    b->n = 1;
    return 1;
}

/* Fill ids with the id of each scope name (CIs, types or services). */
static int resolve_scope(relm_store *s, const relm_window_spec *w,
                         int is_type, int64_t *ids, relm_diag *d)
{
    for (size_t i = 0; i < w->nscope; i++) {
        const char *sql = is_type ? "SELECT id FROM ci_types WHERE name = ?1"
                                  : "SELECT id FROM cis WHERE name = ?1";
        int rc = relm_store_lookup(s, sql, w->names[i], &ids[i], d);
        if (rc == RELM_ERR)
            return RELM_ERR;
        if (rc == RELM_NOT_FOUND)
            return relm_diag_set(
                d, "not_found",
                is_type ? _("window '%s': no CI type named '%s'")
                : strcmp(w->scope, "services") == 0
                    ? _("window '%s': no service (CI) named '%s'")
                    : _("window '%s': no CI named '%s'"),
                w->name, w->names[i]);
    }
    return RELM_OK;
}

/* Every check add makes before it writes; fills the times to store. */
typedef struct checked {
    char wall[32], starts[32], ends[32], last_end[32];
    int64_t duration;
    int has_last;
} checked;

static int check_spec(const relm_window_spec *w, checked *c, relm_diag *d)
{
    if (ical_load(d) != RELM_OK)
        return RELM_ERR;
    if (w->name == NULL || w->name[0] == '\0' || strlen(w->name) > 200)
        return relm_diag_set(d, "invalid_argument", "%s",
                             _("a window needs a name (1 to 200 bytes)"));
    if (w->kind == NULL || (strcmp(w->kind, "blackout") != 0 &&
                            strcmp(w->kind, "maintenance") != 0))
        return relm_diag_set(d, "invalid_argument",
                             _("window '%s': kind must be \"blackout\" or "
                               "\"maintenance\", got '%s'"),
                             w->name, w->kind ? w->kind : "nothing");
    if (w->scope == NULL || (strcmp(w->scope, "cis") != 0 &&
                             strcmp(w->scope, "types") != 0 &&
                             strcmp(w->scope, "services") != 0) ||
        w->nscope == 0)
        return relm_diag_set(d, "invalid_argument",
                             _("window '%s': scope must name cis, types or "
                               "services (a non-empty list)"), w->name);
    win x = {0};
    if ((x.zone = zone_of(w->tz, d)) == NULL)
        return RELM_ERR;
    int64_t st, en;
    if (parse_time(w->starts, x.zone, "starts", &x.dtstart, &st, d) != RELM_OK)
        return RELM_ERR;
    if ((w->ends != NULL) == (w->duration > 0))
        return relm_diag_set(d, "invalid_argument",
                             _("window '%s': give ends or duration (one of "
                               "them)"), w->name);
    if (w->ends != NULL) {
        struct icaltimetype t;
        if (parse_time(w->ends, x.zone, "ends", &t, &en, d) != RELM_OK)
            return RELM_ERR;
        if (en <= st)
            return relm_diag_set(d, "invalid_argument",
                                 _("window '%s': ends (%s) is not after "
                                   "starts (%s)"), w->name, w->ends,
                                 w->starts);
    } else {
        en = st + w->duration;
    }
    x.duration = en - st;
    if (w->rrule != NULL) {
        if (parse_rrule(w->rrule, &x.rule, d) != RELM_OK)
            return RELM_ERR;
        x.has_rule = 1;
    }
    bounds b = {0};
    int bounded = !x.has_rule || x.rule.count > 0 ||
                  !icaltime_is_null_time(x.rule.until);
    int rc = bounded ? expand(&x, INT64_MIN / 2, -1, note_bounds, &b, d)
                     : expand(&x, INT64_MIN / 2, INT64_MAX / 2, stop_first,
                              &b, d);
    if (rc < 0)
        return RELM_ERR;
    if (b.n == 0)
        return relm_diag_set(d, "invalid_rrule",
                             _("window '%s': RRULE '%s' yields no occurrence "
                               "from %s"), w->name, w->rrule, w->starts);
    snprintf(c->wall, sizeof c->wall, "%s", icaltime_as_ical_string(x.dtstart));
    relm_time_format(b.first, c->starts);
    relm_time_format(b.first + x.duration, c->ends);
    c->has_last = bounded;
    if (bounded)
        relm_time_format(b.last_end, c->last_end);
    c->duration = x.duration;
    return RELM_OK;
}

/* Mark every open release with a planned window for recomputation: a
 * window changed, so any of them may have gained or lost a conflict. */
static int mark_all_dirty(relm_store *s, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "INSERT INTO release_conflict_state (release_id, dirty) "
        "SELECT id, 1 FROM releases WHERE planned_start IS NOT NULL AND "
        "status IN ('open', 'suspended') "
        "ON CONFLICT (release_id) DO UPDATE SET dirty = 1",
        d);
    if (st == NULL)
        return RELM_ERR;
    return relm_store_step_write(s, st, d, "release conflicts");
}

/* The JSON of one window (a correlated subquery over w). */
#define WINDOW_JSON                                                          \
    "json_object('id', w.id, 'name', w.name, 'kind', w.kind, 'starts', "   \
    "w.starts, 'ends', w.ends, 'duration', w.duration_seconds, 'rrule', "  \
    "w.rrule, 'tz', w.tz, 'until', w.last_end, 'scope', w.scope, "         \
    "'reason', w.reason, 'names', (SELECT json_group_array(coalesce(c.name, " \
    "t.name)) FROM window_scope x LEFT JOIN cis c ON c.id = x.ci_id "      \
    "LEFT JOIN ci_types t ON t.id = x.type_id WHERE x.window_id = w.id))"

/* The JSON of window id into *json (malloc'd), for the occurrence's
 * snapshot. */
static int window_json(relm_store *s, int64_t id, char **json, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(s, "SELECT " WINDOW_JSON
                                          " FROM windows w WHERE w.id = ?1",
                                       d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    *json = relm_store_text(st);
    return *json != NULL ? RELM_OK
                         : relm_diag_set(d, "out_of_memory", _("out of memory"));
}

int relm_window_add(relm_store *s, const relm_window_spec *w, int64_t *id,
                    relm_diag *d)
{
    checked c;
    if (check_spec(w, &c, d) != RELM_OK)
        return RELM_ERR;
    int64_t *ids = calloc(w->nscope, sizeof *ids);
    if (ids == NULL)
        return relm_diag_set(d, "out_of_memory", _("out of memory"));
    if (relm_auth_begin_cmdb(s, _("defining a freeze window"), d) != RELM_OK) {
        free(ids);
        return RELM_ERR;
    }
    int is_type = strcmp(w->scope, "types") == 0;
    int rc = resolve_scope(s, w, is_type, ids, d);
    int64_t exists;
    if (rc == RELM_OK) {
        int f = relm_store_lookup(s, "SELECT id FROM windows WHERE name = ?1",
                                  w->name, &exists, d);
        if (f == RELM_OK)
            rc = relm_diag_set(d, "duplicate",
                               _("a window named '%s' exists (remove it "
                                 "first)"), w->name);
        else if (f == RELM_ERR)
            rc = RELM_ERR;
    }
    char now[32];
    relm_time_format(relm_clock_now(), now);
    sqlite3_stmt *st = rc != RELM_OK ? NULL : relm_store_stmt(
        s,
        "INSERT INTO windows (name, kind, wall_start, tz, duration_seconds, "
        "rrule, starts, ends, last_end, scope, reason, created_at) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        d);
    if (st != NULL) {
        sqlite3_bind_text(st, 1, w->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, w->kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, c.wall, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, w->tz, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, c.duration);
        sqlite3_bind_text(st, 6, w->rrule, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, c.starts, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, c.ends, -1, SQLITE_STATIC);
        if (c.has_last)
            sqlite3_bind_text(st, 9, c.last_end, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 10, w->scope, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 11, w->reason, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 12, now, -1, SQLITE_STATIC);
        rc = relm_store_step_write(s, st, d, "window %s", w->name);
    } else if (rc == RELM_OK) {
        rc = RELM_ERR;
    }
    int64_t wid = sqlite3_last_insert_rowid(relm_store_db(s));
    for (size_t i = 0; rc == RELM_OK && i < w->nscope; i++) {
        st = relm_store_stmt(s,
                             is_type ? "INSERT INTO window_scope (window_id, "
                                       "type_id) VALUES (?1, ?2)"
                                     : "INSERT INTO window_scope (window_id, "
                                       "ci_id) VALUES (?1, ?2)",
                             d);
        if (st == NULL) {
            rc = RELM_ERR;
            break;
        }
        sqlite3_bind_int64(st, 1, wid);
        sqlite3_bind_int64(st, 2, ids[i]);
        rc = relm_store_step_write(s, st, d, "window scope");
    }
    free(ids);
    char *after = NULL;
    if (rc == RELM_OK)
        rc = window_json(s, wid, &after, d);
    if (rc == RELM_OK)
        rc = mark_all_dirty(s, d);
    if (rc == RELM_OK)
        rc = relm_audit_log(s, "window", wid, "add", w->reason, NULL, after,
                            d);
    free(after);
    if (relm_store_end(s, rc, d) != RELM_OK)
        return RELM_ERR;
    if (id != NULL)
        *id = wid;
    return RELM_OK;
}

int relm_window_remove(relm_store *s, const char *name, relm_diag *d)
{
    if (relm_auth_begin_cmdb(s, _("removing a freeze window"), d) != RELM_OK)
        return RELM_ERR;
    int64_t wid = 0;
    int rc = relm_store_lookup(s, "SELECT id FROM windows WHERE name = ?1",
                               name, &wid, d);
    if (rc == RELM_NOT_FOUND)
        rc = relm_diag_set(d, "not_found", _("no window named '%s'"), name);
    char *before = NULL;
    sqlite3_stmt *st;
    if (rc == RELM_OK)
        rc = window_json(s, wid, &before, d);
    if (rc == RELM_OK && (st = relm_store_stmt(
                              s, "DELETE FROM windows WHERE id = ?1", d)) ==
                             NULL)
        rc = RELM_ERR;
    if (rc == RELM_OK) {
        sqlite3_bind_int64(st, 1, wid);
        rc = relm_store_step_write(s, st, d, "window %s", name);
    }
    if (rc == RELM_OK)
        rc = mark_all_dirty(s, d);
    if (rc == RELM_OK)
        rc = relm_audit_log(s, "window", wid, "remove", NULL, before, NULL, d);
    free(before);
    return relm_store_end(s, rc, d);
}

int relm_window_get(relm_store *s, const char *name, char **json,
                    relm_diag *d)
{
    *json = NULL;
    sqlite3_stmt *st = relm_store_stmt(
        s,
        name != NULL ? "SELECT " WINDOW_JSON " FROM windows w WHERE w.name = ?1"
                     : "SELECT json_group_array(json(j)) FROM (SELECT "
                       WINDOW_JSON " AS j FROM windows w ORDER BY w.name)",
        d);
    if (st == NULL)
        return RELM_ERR;
    if (name != NULL)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    *json = relm_store_text(st);
    if (*json == NULL && name != NULL)
        return relm_diag_set(d, "not_found", _("no window named '%s'"), name);
    if (*json == NULL)
        return relm_diag_set(d, "out_of_memory", _("out of memory"));
    return RELM_OK;
}

int relm_window_spans(relm_store *s, int64_t id, int64_t from, int64_t to,
                      relm_window_span_fn fn, void *ud, relm_diag *d)
{
    if (ical_load(d) != RELM_OK)
        return RELM_ERR;
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT wall_start, tz, duration_seconds, rrule FROM windows WHERE "
        "id = ?1",
        d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    int rc = relm_store_step_row(s, st, d, "window");
    if (rc == RELM_NOT_FOUND)
        return relm_diag_set(d, "not_found", _("no window with id %lld"),
                             (long long)id);
    if (rc != RELM_OK)
        return RELM_ERR;
    win w = {0};
    char tz[128] = "", rrule[512] = "";
    const char *wall = (const char *)sqlite3_column_text(st, 0);
    w.dtstart = icaltime_from_string(wall != NULL ? wall : "");
    if (sqlite3_column_type(st, 1) != SQLITE_NULL)
        snprintf(tz, sizeof tz, "%s", sqlite3_column_text(st, 1));
    w.duration = sqlite3_column_int64(st, 2);
    if (sqlite3_column_type(st, 3) != SQLITE_NULL)
        snprintf(rrule, sizeof rrule, "%s", sqlite3_column_text(st, 3));
    sqlite3_reset(st);
    if ((w.zone = zone_of(tz[0] ? tz : NULL, d)) == NULL)
        return RELM_ERR;
    icaltime_set_timezone(&w.dtstart, w.zone);
    if (rrule[0]) {
        icalerror_clear_errno();
        w.rule = icalrecurrencetype_from_string(rrule);
        if (w.rule.freq == ICAL_NO_RECURRENCE)
            return relm_diag_set(d, "invalid_rrule",
                                 _("RRULE '%s' cannot be read"), rrule);
        w.has_rule = 1;
    }
    return expand(&w, from, to, fn, ud, d);
}
