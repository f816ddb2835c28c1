/* calendar.c: business calendars: definition (checked, stored), the compiled
 * form (weekly intervals, holidays, the zone's UTC offsets) and its math. */
#define _DEFAULT_SOURCE /* tm_gmtoff, setenv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "auth.h"
#include "base/i18n.h"
#include "base/time.h"
#include "calendar.h"

#define DAY 86400
#define ZONEINFO "/usr/share/zoneinfo/"

const char *const relm_calendar_days[7] = {"mon", "tue", "wed", "thu",
                                           "fri", "sat", "sun"};

/* The compiled calendar. Offsets: the zone's UTC offset is off0 before
 * tr_at[0] and tr_off[i] from tr_at[i] on (every change from 1970 to 2200,
 * read once through localtime_r), so converting an instant never touches
 * the process's TZ again. */
struct relm_calendar {
    int32_t iv[7][RELM_CAL_MAX_INTERVALS][2]; /* local seconds of the day */
    int niv[7];
    int64_t week;       /* business seconds in a week without changes */
    int64_t *hol;       /* holidays, local day numbers, sorted */
    int nhol;
    int64_t *tr_at;
    int32_t *tr_off;
    int ntr;
    int32_t off0;
};

void relm_calendar_free(relm_calendar *c)
{
    if (c == NULL)
        return;
    free(c->hol);
    free(c->tr_at);
    free(c->tr_off);
    free(c);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* ---- the zone ---------------------------------------------------------- */

/* Index of the first of the n sorted values v[] that is >= x (n when
 * none): the transitions and the holidays. */
static int lower64(const int64_t *v, int n, int64_t x)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int32_t offset_at(const relm_calendar *c, int64_t t)
{
    int i = lower64(c->tr_at, c->ntr, t + 1); /* first transition after t */
    return i == 0 ? c->off0 : c->tr_off[i - 1];
}

/* Index of the first transition at or after t. */
static int transition_from(const relm_calendar *c, int64_t t)
{
    return lower64(c->tr_at, c->ntr, t);
}

/* The UTC instant of local wall-clock time L (seconds since the local
 * epoch). In an overlap (clocks set back) the first of the two instants;
 * in a gap (clocks set forward, L never shows) the moment of the jump,
 * so business hours that start inside a gap start when the clock does. */
static int64_t to_utc(const relm_calendar *c, int64_t L)
{
    int32_t before = offset_at(c, L - DAY), after = offset_at(c, L + DAY);
    int64_t u1 = L - before, u2 = L - after;
    int ok1 = offset_at(c, u1) == before, ok2 = offset_at(c, u2) == after;
    if (ok1 && ok2)
        return u1 < u2 ? u1 : u2;
    if (ok1)
        return u1;
    if (ok2)
        return u2;
    int64_t lo = u1 < u2 ? u1 : u2;
    int i = transition_from(c, lo);
    return i < c->ntr ? c->tr_at[i] : lo;
}

static int32_t gmtoff(time_t t)
{
    struct tm tm;
    if (localtime_r(&t, &tm) == NULL)
        return 0;
    return (int32_t)tm.tm_gmtoff;
}

/* Fill c's offsets from zone tz through the C library: TZ is switched to
 * tz for the scan and put back (the engine is single-threaded; nothing
 * else reads the local time meanwhile). Weekly steps, each change found to
 * the second by bisection. */
static int load_zone(relm_calendar *c, const char *tz)
{
    char *old = getenv("TZ") != NULL ? strdup(getenv("TZ")) : NULL;
    setenv("TZ", tz, 1);
    tzset();
    const int64_t start = 0, end = 7258118400; /* 1970 .. 2200 */
    int cap = 0, rc = 0;
    c->off0 = gmtoff((time_t)start);
    int32_t prev = c->off0;
    for (int64_t t = start; t < end; t += 7 * DAY) {
        int64_t next = t + 7 * DAY;
        int32_t o = gmtoff((time_t)next);
        /* Two changes inside one week (rare) are found one at a time. */
        while (o != prev) {
            int64_t lo = t, hi = next; /* offset(lo) == prev, (hi) != */
            while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;
                if (gmtoff((time_t)mid) == prev)
                    lo = mid;
                else
                    hi = mid;
            }
            if (c->ntr == cap) {
                cap = cap ? cap * 2 : 64;
                int64_t *a = realloc(c->tr_at, (size_t)cap * sizeof *a);
                if (a == NULL) { rc = -1; goto out; }
                c->tr_at = a;
                int32_t *b = realloc(c->tr_off, (size_t)cap * sizeof *b);
                if (b == NULL) { rc = -1; goto out; }
                c->tr_off = b;
            }
            prev = gmtoff((time_t)hi);
            c->tr_at[c->ntr] = hi;
            c->tr_off[c->ntr++] = prev;
            t = hi;
        }
    }
out:
    if (old != NULL)
        setenv("TZ", old, 1);
    else
        unsetenv("TZ");
    tzset();
    free(old);
    return rc;
}

/* A zone name the tz database has: letters, digits, _ + - and /, no "..",
 * and a file under /usr/share/zoneinfo (package tzdata). */
static int known_zone(const char *tz)
{
    if (tz[0] == '\0' || tz[0] == '/' || strstr(tz, "..") != NULL ||
        strlen(tz) > 100)
        return 0;
    for (const char *p = tz; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || strchr("_+-/", *p) != NULL))
            return 0;
    char path[160];
    snprintf(path, sizeof path, ZONEINFO "%s", tz);
    return access(path, R_OK) == 0;
}

/* ---- definition -------------------------------------------------------- */

static int two_digits(const char *p)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
        return -1;
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* "HH:MM" at p -> seconds of the day, -1 not that shape, -2 impossible. */
static int32_t clock_at(const char *p)
{
    int h = two_digits(p), m = two_digits(p + 3);
    if (h < 0 || m < 0 || p[2] != ':')
        return -1;
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return -2;
    return h * 3600 + m * 60;
}

static int parse_interval(const char *cal, const char *day, const char *s,
                          int32_t out[2], relm_diag *d)
{
    if (strlen(s) != 11 || s[5] != '-')
        return relm_diag_set(d, "invalid_argument",
                             _("calendar '%s': %s: interval '%s' is not "
                               "HH:MM-HH:MM"), cal, day, s);
    int32_t a = clock_at(s), b = clock_at(s + 6);
    if (a == -1 || b == -1)
        return relm_diag_set(d, "invalid_argument",
                             _("calendar '%s': %s: interval '%s' is not "
                               "HH:MM-HH:MM"), cal, day, s);
    if (a == -2 || b == -2 || a == DAY)
        return relm_diag_set(d, "invalid_argument",
                             _("calendar '%s': %s: interval '%s' is not a "
                               "time of day (hours 00-23, minutes 00-59; "
                               "24:00 only as an end)"), cal, day, s);
    if (b <= a)
        return relm_diag_set(d, "invalid_argument",
                             _("calendar '%s': %s: interval '%s' ends before "
                               "it starts"), cal, day, s);
    out[0] = a;
    out[1] = b;
    return RELM_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

relm_calendar *relm_calendar_compile(const relm_calendar_spec *spec,
                                     relm_diag *d)
{
    const char *name = spec->name != NULL ? spec->name : "?";
    if (spec->tz == NULL || !known_zone(spec->tz)) {
        relm_diag_set(d, "invalid_argument",
                      _("calendar '%s': unknown time zone '%s' (a name of "
                        "the tz database, e.g. America/Sao_Paulo; see "
                        "/usr/share/zoneinfo)"), name,
                      spec->tz != NULL ? spec->tz : "");
        return NULL;
    }
    relm_calendar *c = calloc(1, sizeof *c);
    if (c == NULL) {
        relm_diag_set(d, "out_of_memory", _("calendar: out of memory"));
        return NULL;
    }
    for (int w = 0; w < 7; w++) {
        int n = spec->nhours[w];
        for (int k = 0; k < n; k++)
            if (parse_interval(name, relm_calendar_days[w], spec->hours[w][k],
                               c->iv[w][k], d) != RELM_OK)
                goto fail;
        /* Sort by start (insertion sort: at most 8), then no overlap. */
        const char *text[RELM_CAL_MAX_INTERVALS];
        for (int k = 0; k < n; k++)
            text[k] = spec->hours[w][k];
        for (int k = 1; k < n; k++)
            for (int j = k; j > 0 && c->iv[w][j][0] < c->iv[w][j - 1][0];
                 j--) {
                int32_t t0 = c->iv[w][j][0], t1 = c->iv[w][j][1];
                c->iv[w][j][0] = c->iv[w][j - 1][0];
                c->iv[w][j][1] = c->iv[w][j - 1][1];
                c->iv[w][j - 1][0] = t0;
                c->iv[w][j - 1][1] = t1;
                const char *tt = text[j];
                text[j] = text[j - 1];
                text[j - 1] = tt;
            }
        for (int k = 1; k < n; k++)
            if (c->iv[w][k][0] < c->iv[w][k - 1][1]) {
                relm_diag_set(d, "invalid_argument",
                              _("calendar '%s': %s: intervals '%s' and '%s' "
                                "overlap"), name, relm_calendar_days[w],
                              text[k - 1], text[k]);
                goto fail;
            }
        c->niv[w] = n;
        for (int k = 0; k < n; k++)
            c->week += c->iv[w][k][1] - c->iv[w][k][0];
    }
    if (c->week == 0) {
        relm_diag_set(d, "invalid_argument",
                      _("calendar '%s': no business hours on any weekday "
                        "(hours={mon={\"08:00-18:00\"}, ...})"), name);
        goto fail;
    }
    if (spec->nholidays > 0) {
        c->hol = malloc((size_t)spec->nholidays * sizeof *c->hol);
        if (c->hol == NULL) {
            relm_diag_set(d, "out_of_memory", _("calendar: out of memory"));
            goto fail;
        }
    }
    for (int i = 0; i < spec->nholidays; i++) {
        const char *h = spec->holidays[i];
        int64_t e;
        unsigned parts;
        if (strlen(h) != 10 || !relm_time_parse(h, 10, &e, &parts) ||
            parts != 0) {
            relm_diag_set(d, "invalid_argument",
                          _("calendar '%s': holiday '%s' is not a date "
                            "YYYY-MM-DD"), name, h);
            goto fail;
        }
        c->hol[c->nhol++] = e / DAY;
    }
    if (c->nhol > 1) /* qsort may not be given NULL, even for none */
        qsort(c->hol, (size_t)c->nhol, sizeof *c->hol, cmp_i64);
    if (load_zone(c, spec->tz) != 0) {
        relm_diag_set(d, "out_of_memory", _("calendar: out of memory"));
        goto fail;
    }
    return c;
fail:
    relm_calendar_free(c);
    return NULL;
}

/* ---- arithmetic -------------------------------------------------------- */

static int is_holiday(const relm_calendar *c, int64_t day)
{
    int i = lower64(c->hol, c->nhol, day);
    return i < c->nhol && c->hol[i] == day;
}

/* 1 when the local week [day, day + 7) has no holiday and no offset change
 * between its UTC bounds, so it holds exactly c->week business seconds;
 * *from and *to receive those bounds. */
static int plain_week(const relm_calendar *c, int64_t day, int64_t *from,
                      int64_t *to)
{
    *from = to_utc(c, day * DAY);
    *to = to_utc(c, (day + 7) * DAY);
    int h = lower64(c->hol, c->nhol, day);
    if (h < c->nhol && c->hol[h] < day + 7)
        return 0;
    int i = transition_from(c, *from);
    return !(i < c->ntr && c->tr_at[i] < *to);
}

static int weekday(int64_t day)
{
    return (int)((day % 7 + 7 + 3) % 7); /* 1970-01-01 was a Thursday */
}

/* The UTC bounds of interval k of local day `day` (weekday w). */
static void bounds(const relm_calendar *c, int64_t day, int w, int k,
                   int64_t *u0, int64_t *u1)
{
    *u0 = to_utc(c, day * DAY + c->iv[w][k][0]);
    *u1 = to_utc(c, day * DAY + c->iv[w][k][1]);
}

int64_t relm_calendar_seconds(const relm_calendar *c, int64_t a, int64_t b)
{
    if (b <= a)
        return 0;
    int64_t day = floor_div(a + offset_at(c, a), DAY) - 1;
    int64_t last = floor_div(b + offset_at(c, b), DAY) + 1;
    int64_t total = 0;
    while (day <= last) {
        int64_t f, t;
        if (last - day > 8 && plain_week(c, day, &f, &t) && f >= a &&
            t <= b) {
            total += c->week;
            day += 7;
            continue;
        }
        if (!is_holiday(c, day)) {
            int w = weekday(day);
            for (int k = 0; k < c->niv[w]; k++) {
                int64_t u0, u1;
                bounds(c, day, w, k, &u0, &u1);
                if (u0 < a)
                    u0 = a;
                if (u1 > b)
                    u1 = b;
                if (u1 > u0)
                    total += u1 - u0;
            }
        }
        day++;
    }
    return total;
}

int64_t relm_calendar_add(const relm_calendar *c, int64_t t, int64_t n)
{
    if (n <= 0)
        return t;
    int64_t day = floor_div(t + offset_at(c, t), DAY) - 1;
    /* A finite holiday list cannot empty every week: the bound only stops
     * a calendar whose holidays cover the next 400 years. */
    for (int64_t stop = day + 146097; day < stop;) {
        int64_t f, to;
        if (n > c->week && plain_week(c, day, &f, &to) && f >= t) {
            n -= c->week;
            day += 7;
            continue;
        }
        if (!is_holiday(c, day)) {
            int w = weekday(day);
            for (int k = 0; k < c->niv[w]; k++) {
                int64_t u0, u1;
                bounds(c, day, w, k, &u0, &u1);
                if (u0 < t)
                    u0 = t;
                if (u1 <= u0)
                    continue;
                if (n <= u1 - u0)
                    return u0 + n;
                n -= u1 - u0;
            }
        }
        day++;
    }
    return INT64_MAX;
}

int64_t relm_calendar_sub(const relm_calendar *c, int64_t t, int64_t n)
{
    if (n <= 0)
        return t;
    int64_t day = floor_div(t + offset_at(c, t), DAY) + 1;
    for (int64_t stop = day - 146097; day > stop;) {
        int64_t f, to;
        if (n > c->week && plain_week(c, day - 6, &f, &to) && to <= t) {
            n -= c->week;
            day -= 7;
            continue;
        }
        if (!is_holiday(c, day)) {
            int w = weekday(day);
            for (int k = c->niv[w] - 1; k >= 0; k--) {
                int64_t u0, u1;
                bounds(c, day, w, k, &u0, &u1);
                if (u1 > t)
                    u1 = t;
                if (u1 <= u0)
                    continue;
                if (n <= u1 - u0)
                    return u1 - n;
                n -= u1 - u0;
            }
        }
        day--;
    }
    return INT64_MIN;
}

/* ---- the per-process cache --------------------------------------------- */

/* A compiled calendar with the row text it came from: after any commit
 * (the store's generation moved) an entry is checked against its row with
 * one indexed read and compiled again only when the row changed, so a
 * commit elsewhere costs a lookup a comparison, not a tz scan. */
typedef struct cached {
    char name[128];
    char *row;            /* tz, hours and holidays as stored, joined */
    uint64_t checked;     /* the generation it was last checked at */
    relm_calendar *c;
} cached;

static struct {
    relm_store *s;
    cached *v;
    int n, cap;
} cache;

static void cache_clear(void)
{
    for (int i = 0; i < cache.n; i++) {
        relm_calendar_free(cache.v[i].c);
        free(cache.v[i].row);
    }
    cache.n = 0;
}

/* Read calendar name's row: *row the stored text (tz, hours, holidays
 * joined; malloc'd) that tells whether a cached compile is current, tz its
 * zone, *nh its number of holidays. not_found when there is none. */
static int read_row(relm_store *s, const char *name, char **row,
                    char tz[128], int *nh, relm_diag *d)
{
    *row = NULL;
    sqlite3_stmt *q = relm_store_stmt(
        s, "SELECT tz || '|' || hours || '|' || holidays, tz, "
           "json_array_length(holidays) FROM calendars WHERE name = ?1", d);
    if (q == NULL)
        return RELM_ERR;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    int rc = relm_store_step_row(s, q, d, "calendar");
    if (rc == RELM_NOT_FOUND)
        return relm_diag_set(d, "not_found",
                             _("no calendar named '%s' (relm.calendar.list())"),
                             name);
    if (rc != RELM_OK)
        return RELM_ERR;
    const char *t = (const char *)sqlite3_column_text(q, 0);
    *row = strdup(t != NULL ? t : "");
    relm_store_column_copy(q, 1, tz, 128);
    *nh = sqlite3_column_int(q, 2);
    sqlite3_reset(q);
    if (*row == NULL)
        return relm_diag_set(d, "out_of_memory", _("calendar: out of memory"));
    return RELM_OK;
}

/* Read calendar name's hours and its nh holidays into a spec in zone tz
 * and compile it. */
static relm_calendar *load(relm_store *s, const char *name, const char *tz,
                           int nh, relm_diag *d)
{
    relm_calendar_spec spec = {.name = name, .tz = tz};
    char hours[7][RELM_CAL_MAX_INTERVALS][16];
    char (*hol)[16] = NULL;
    const char **holp = NULL;
    relm_calendar *c = NULL;
    sqlite3_stmt *q = relm_store_stmt(
        s, "SELECT j.key, v.value FROM calendars c, json_each(c.hours) j, "
           "json_each(j.value) v WHERE c.name = ?1", d);
    if (q == NULL)
        return NULL;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *day = (const char *)sqlite3_column_text(q, 0);
        for (int w = 0; w < 7; w++)
            if (day != NULL && strcmp(day, relm_calendar_days[w]) == 0 &&
                spec.nhours[w] < RELM_CAL_MAX_INTERVALS) {
                int k = spec.nhours[w]++;
                relm_store_column_copy(q, 1, hours[w][k], sizeof hours[0][0]);
                spec.hours[w][k] = hours[w][k];
            }
    }
    sqlite3_reset(q);
    if (nh > 0) {
        hol = calloc((size_t)nh, sizeof *hol);
        holp = calloc((size_t)nh, sizeof *holp);
        if (hol == NULL || holp == NULL) {
            relm_diag_set(d, "out_of_memory", _("calendar: out of memory"));
            goto out;
        }
        q = relm_store_stmt(s, "SELECT v.value FROM calendars c, "
                               "json_each(c.holidays) v WHERE c.name = ?1", d);
        if (q == NULL)
            goto out;
        sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
        while (spec.nholidays < nh && sqlite3_step(q) == SQLITE_ROW) {
            relm_store_column_copy(q, 0, hol[spec.nholidays], sizeof hol[0]);
            holp[spec.nholidays] = hol[spec.nholidays];
            spec.nholidays++;
        }
        sqlite3_reset(q);
        spec.holidays = holp;
    }
    c = relm_calendar_compile(&spec, d);
out:
    free(hol);
    free(holp);
    return c;
}

const relm_calendar *relm_calendar_lookup(relm_store *s, const char *name,
                                          relm_diag *d)
{
    uint64_t g = relm_store_generation(s);
    if (cache.s != s) {
        cache_clear();
        cache.s = s;
    }
    int i = 0;
    while (i < cache.n && strcmp(cache.v[i].name, name) != 0)
        i++;
    if (i < cache.n && cache.v[i].checked == g)
        return cache.v[i].c;
    if (strlen(name) >= sizeof cache.v[0].name) {
        relm_diag_set(d, "not_found", _("no calendar named '%s'"), name);
        return NULL;
    }
    char *row, tz[128];
    int nh = 0;
    if (read_row(s, name, &row, tz, &nh, d) != RELM_OK)
        return NULL;
    if (i < cache.n && strcmp(cache.v[i].row, row) == 0) {
        free(row);
        cache.v[i].checked = g;
        return cache.v[i].c;
    }
    relm_calendar *c = load(s, name, tz, nh, d);
    if (c == NULL) {
        free(row);
        return NULL;
    }
    if (i == cache.n) {
        if (cache.n == cache.cap) {
            int cap = cache.cap ? cache.cap * 2 : 8;
            cached *v = realloc(cache.v, (size_t)cap * sizeof *v);
            if (v == NULL) {
                relm_calendar_free(c);
                free(row);
                relm_diag_set(d, "out_of_memory", _("calendar: out of memory"));
                return NULL;
            }
            cache.v = v;
            cache.cap = cap;
        }
        snprintf(cache.v[i].name, sizeof cache.v[0].name, "%s", name);
        cache.n++;
    } else {
        relm_calendar_free(cache.v[i].c);
        free(cache.v[i].row);
    }
    cache.v[i].c = c;
    cache.v[i].row = row;
    cache.v[i].checked = g;
    return c;
}

/* The calendar named name, or NULL with *all_day set for none (24x7). */
static const relm_calendar *named(relm_store *s, const char *name,
                                  int *all_day, relm_diag *d)
{
    *all_day = name == NULL || name[0] == '\0';
    return *all_day ? NULL : relm_calendar_lookup(s, name, d);
}

int relm_calendar_between(relm_store *s, const char *name, int64_t a,
                          int64_t b, int64_t *out, relm_diag *d)
{
    int all_day;
    const relm_calendar *c = named(s, name, &all_day, d);
    if (c == NULL && !all_day)
        return RELM_ERR;
    *out = c != NULL ? relm_calendar_seconds(c, a, b) : b > a ? b - a : 0;
    return RELM_OK;
}

int relm_calendar_after(relm_store *s, const char *name, int64_t t, int64_t n,
                        int64_t *out, relm_diag *d)
{
    int all_day;
    const relm_calendar *c = named(s, name, &all_day, d);
    if (c == NULL && !all_day)
        return RELM_ERR;
    *out = c != NULL ? relm_calendar_add(c, t, n) : n > 0 ? t + n : t;
    return RELM_OK;
}

int relm_calendar_before(relm_store *s, const char *name, int64_t t,
                         int64_t n, int64_t *out, relm_diag *d)
{
    int all_day;
    const relm_calendar *c = named(s, name, &all_day, d);
    if (c == NULL && !all_day)
        return RELM_ERR;
    *out = c != NULL ? relm_calendar_sub(c, t, n) : n > 0 ? t - n : t;
    return RELM_OK;
}

/* ---- the writes -------------------------------------------------------- */

static const char *const snapshot_sql =
    "SELECT json_object('name', name, 'tz', tz, 'hours', json(hours), "
    "'holidays', json(holidays)) FROM calendars WHERE id = ?1";

int relm_calendar_define(relm_store *s, const relm_calendar_spec *spec,
                         relm_diag *d)
{
    if (spec->name == NULL || spec->name[0] == '\0' ||
        strlen(spec->name) > 100)
        return relm_diag_set(d, "invalid_argument", "%s",
                             _("calendar: name is required (at most 100 "
                               "bytes)"));
    /* Compiling checks everything a user can get wrong. */
    relm_calendar *c = relm_calendar_compile(spec, d);
    if (c == NULL)
        return RELM_ERR;
    relm_calendar_free(c);
    sqlite3_str *h = sqlite3_str_new(NULL), *hol = sqlite3_str_new(NULL);
    /* Every string was checked above: times and dates, nothing to escape. */
    sqlite3_str_appendchar(h, 1, '{');
    int first = 1;
    for (int w = 0; w < 7; w++) {
        if (spec->nhours[w] == 0)
            continue;
        sqlite3_str_appendf(h, "%s\"%s\":[", first ? "" : ",",
                            relm_calendar_days[w]);
        first = 0;
        for (int k = 0; k < spec->nhours[w]; k++)
            sqlite3_str_appendf(h, "%s\"%s\"", k ? "," : "",
                                spec->hours[w][k]);
        sqlite3_str_appendchar(h, 1, ']');
    }
    sqlite3_str_appendchar(h, 1, '}');
    sqlite3_str_appendchar(hol, 1, '[');
    for (int i = 0; i < spec->nholidays; i++)
        sqlite3_str_appendf(hol, "%s\"%s\"", i ? "," : "", spec->holidays[i]);
    sqlite3_str_appendchar(hol, 1, ']');
    char *hours_json = sqlite3_str_finish(h), *hol_json = sqlite3_str_finish(hol);
    char *after = NULL;
    int rc = RELM_ERR;
    if (hours_json == NULL || hol_json == NULL) {
        relm_diag_set(d, "out_of_memory", _("calendar: out of memory"));
        goto out;
    }
    if (relm_auth_begin_admin(s, "define a calendar", d) != RELM_OK)
        goto out;
    sqlite3_stmt *q = relm_store_stmt(
        s, "INSERT INTO calendars (name, tz, hours, holidays) VALUES (?1, ?2, "
           "?3, ?4) ON CONFLICT (name) DO UPDATE SET tz = excluded.tz, hours "
           "= excluded.hours, holidays = excluded.holidays", d);
    if (q == NULL)
        goto tx;
    sqlite3_bind_text(q, 1, spec->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 2, spec->tz, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 3, hours_json, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 4, hol_json, -1, SQLITE_TRANSIENT);
    if (relm_store_step_write(s, q, d, "calendar '%s'", spec->name) != RELM_OK)
        goto tx;
    int64_t id = 0;
    if (relm_store_lookup(s, "SELECT id FROM calendars WHERE name = ?1",
                          spec->name, &id, d) != RELM_OK ||
        relm_store_id_text(s, snapshot_sql, id, &after, d) != RELM_OK)
        goto tx;
    if (relm_audit_log(s, "calendar", id, "calendar.define", spec->name, NULL,
                       after, d) != RELM_OK)
        goto tx;
    rc = RELM_OK;
tx:
    rc = relm_store_end(s, rc, d);
out:
    free(after);
    sqlite3_free(hours_json);
    sqlite3_free(hol_json);
    return rc;
}

int relm_calendar_remove(relm_store *s, const char *name, relm_diag *d)
{
    if (relm_auth_begin_admin(s, "remove a calendar", d) != RELM_OK)
        return RELM_ERR;
    int64_t id = 0, used = 0;
    char *before = NULL;
    int rc = relm_store_lookup(s, "SELECT id FROM calendars WHERE name = ?1",
                               name, &id, d);
    if (rc == RELM_NOT_FOUND) {
        relm_diag_set(d, "not_found",
                      _("no calendar named '%s' (relm.calendar.list())"),
                      name);
        rc = RELM_ERR;
        goto tx;
    }
    if (rc != RELM_OK)
        goto tx;
    rc = relm_store_lookup(
        s, "SELECT count(*) FROM (SELECT 1 FROM releases WHERE calendar = ?1 "
           "AND status IN ('open', 'suspended') UNION ALL SELECT 1 FROM "
           "models WHERE calendar = ?1)", name, &used, d);
    if (rc != RELM_OK)
        goto tx;
    if (used > 0) {
        relm_diag_set(d, "conflict",
                      _("calendar '%s' is still named by a model or an "
                        "open release"), name);
        rc = RELM_ERR;
        goto tx;
    }
    rc = relm_store_id_text(s, snapshot_sql, id, &before, d);
    if (rc != RELM_OK)
        goto tx;
    sqlite3_stmt *q = relm_store_stmt(s, "DELETE FROM calendars WHERE id = ?1",
                                      d);
    if (q == NULL) {
        rc = RELM_ERR;
        goto tx;
    }
    sqlite3_bind_int64(q, 1, id);
    rc = relm_store_step_write(s, q, d, "calendar '%s'", name);
    if (rc == RELM_OK)
        rc = relm_audit_log(s, "calendar", id, "calendar.remove", name, before,
                            NULL, d);
tx:
    free(before);
    return relm_store_end(s, rc, d);
}
