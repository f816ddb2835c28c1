/* time.c: ISO-8601 dates and times to epoch seconds and back, in UTC and
 * without the C library's local time zone (no timegm, no TZ). */
#include "base/time.h"

#include <stdio.h>
#include <string.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil): exact for every year, no table, no time zone. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Read exactly k digits at s[*i] (within n) into *out. */
static int digits(const char *s, size_t n, size_t *i, int k, int *out)
{
    int v = 0;
    if (*i + (size_t)k > n)
        return 0;
    for (int j = 0; j < k; j++) {
        char c = s[*i + (size_t)j];
        if (c < '0' || c > '9')
            return 0;
        v = v * 10 + (c - '0');
    }
    *i += (size_t)k;
    *out = v;
    return 1;
}

/* Expect the character c at s[*i]. */
static int expect(const char *s, size_t n, size_t *i, char c)
{
    if (*i >= n || s[*i] != c)
        return 0;
    (*i)++;
    return 1;
}

int relm_time_parse(const char *s, size_t n, int64_t *epoch, unsigned *parts)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, da, h = 0, mi = 0, se = 0, oh = 0, om = 0, sign = 0;
    unsigned got = 0;
    size_t i = 0;
    if (s == NULL)
        return 0;
    if (!digits(s, n, &i, 4, &y) || !expect(s, n, &i, '-') ||
        !digits(s, n, &i, 2, &mo) || !expect(s, n, &i, '-') ||
        !digits(s, n, &i, 2, &da))
        return 0;
    if (i < n && (s[i] == 'T' || s[i] == ' ')) {
        i++;
        got |= RELM_TIME_CLOCK;
        if (!digits(s, n, &i, 2, &h) || !expect(s, n, &i, ':') ||
            !digits(s, n, &i, 2, &mi))
            return 0;
        if (i < n && s[i] == ':') {
            i++;
            if (!digits(s, n, &i, 2, &se))
                return 0;
            if (i < n && s[i] == '.') {
                size_t start = ++i;
                while (i < n && s[i] >= '0' && s[i] <= '9')
                    i++;
                if (i == start)
                    return 0;
                got |= RELM_TIME_FRACTION;
            }
        }
        if (i < n && s[i] == 'Z') {
            i++;
        } else if (i < n && (s[i] == '+' || s[i] == '-')) {
            sign = s[i++] == '-' ? -1 : 1;
            if (!digits(s, n, &i, 2, &oh) || !expect(s, n, &i, ':') ||
                !digits(s, n, &i, 2, &om) || oh > 23 || om > 59)
                return 0;
            got |= RELM_TIME_OFFSET;
        }
    }
    if (i != n)
        return 0;
    if (y < 1900 || mo < 1 || mo > 12 || da < 1 || da > mdays[mo - 1] ||
        h > 23 || mi > 59 || se > 60)
        return 0;
    if (mo == 2 && da == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return 0;
    if (epoch != NULL)
        *epoch = days_from_civil(y, mo, da) * 86400 + h * 3600 + mi * 60 + se -
                 sign * (oh * 3600 + om * 60);
    if (parts != NULL)
        *parts = got;
    return 1;
}

int relm_time_valid(const char *s, unsigned allow)
{
    unsigned parts = 0;
    return s != NULL && relm_time_parse(s, strlen(s), NULL, &parts) &&
           (parts & ~(allow | RELM_TIME_CLOCK)) == 0;
}

void relm_time_format(int64_t epoch, char out[32])
{
    int64_t days = epoch / 86400, secs = epoch % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    /* civil_from_days, the inverse of days_from_civil. */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    int64_t y = yoe + era * 400 + (m <= 2);
    snprintf(out, 32, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}
