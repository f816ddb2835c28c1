/* pattern.c: a Lua-pattern matcher that counts its steps and polls an
 * expiry flag, for string functions that a sandbox deadline can stop. */
#include "base/i18n.h"
#include "lua/pattern.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Why a matcher of our own: the standard library matches patterns in C
 * without ever returning to the interpreter, so no Lua hook can stop a
 * backtracking pattern such as twenty ".-" against a long subject; it runs
 * for hours. This one implements the same pattern language (classes, sets,
 * quantifiers * + - ?, anchors, captures, back-references, %b, %f) and
 * polls `expired` as it works. Errors are returned, never raised, so the
 * matcher knows nothing of Lua. */

#define ESC '%'
#define MAXDEPTH 200
#define CHECK_EVERY 4096u

static int fail(relm_pattern *ms, const char *msg)
{
    if (ms->error == NULL)
        ms->error = msg;
    return 0;
}

/* Account for n steps of work; nonzero when the caller must stop. */
static int spend(relm_pattern *ms, size_t n)
{
    ms->steps += n;
    if (ms->steps < ms->next_check)
        return ms->error != NULL;
    ms->next_check = ms->steps + CHECK_EVERY;
    if (ms->expired != NULL && ms->expired()) {
        ms->timed_out = 1;
        fail(ms, _("time limit exceeded"));
    }
    return ms->error != NULL;
}

void relm_pattern_init(relm_pattern *ms, const char *s, size_t ls,
                       const char *p, size_t lp, int (*expired)(void))
{
    memset(ms, 0, offsetof(relm_pattern, capture));
    ms->src_init = s;
    ms->src_end = s + ls;
    ms->p_end = p + lp;
    ms->expired = expired;
    ms->next_check = CHECK_EVERY;
}

int relm_pattern_is_plain(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i++)
        if (p[i] != '\0' && strchr("^$*+?.([%-", p[i]) != NULL)
            return 0;
    return 1;
}

/* The end of the single-character class starting at p: "x", "%x", "[set]"
 * (NULL with an error when malformed). */
static const char *class_end(relm_pattern *ms, const char *p)
{
    char c = *p++;
    if (c == ESC) {
        if (p >= ms->p_end) {
            fail(ms, _("malformed pattern (ends with '%')"));
            return NULL;
        }
        return p + 1;
    }
    if (c == '[') {
        if (*p == '^')
            p++;
        /* The first character of a set is itself even when it is ']'. */
        do {
            if (p >= ms->p_end) {
                fail(ms, _("malformed pattern (missing ']')"));
                return NULL;
            }
            c = *p++;
            if (c == ESC && p < ms->p_end)
                p++;
        } while (*p != ']');
        return p + 1;
    }
    return p;
}

/* Does character c belong to class %cl (upper case: the complement)? */
static int in_class(int c, int cl)
{
    int yes;
    switch (tolower(cl)) {
    case 'a': yes = isalpha(c); break;
    case 'c': yes = iscntrl(c); break;
    case 'd': yes = isdigit(c); break;
    case 'g': yes = isgraph(c); break;
    case 'l': yes = islower(c); break;
    case 'p': yes = ispunct(c); break;
    case 's': yes = isspace(c); break;
    case 'u': yes = isupper(c); break;
    case 'w': yes = isalnum(c); break;
    case 'x': yes = isxdigit(c); break;
    case 'z': yes = c == 0; break; /* deprecated, kept by Lua 5.4 */
    default: return cl == c;
    }
    if (isupper(cl))
        yes = !yes;
    return yes != 0;
}

/* Does c belong to the set from '[' at p to the closing ']' at close? */
static int in_set(int c, const char *p, const char *close)
{
    int negate = 0;
    p++;
    if (*p == '^') {
        negate = 1;
        p++;
    }
    while (p < close) {
        if (*p == ESC) {
            /* As Lua does, even when the escaped character is the ']'
             * class_end took for the close: "[a-%%]" ends at "%]". */
            if (in_class(c, (unsigned char)p[1]))
                return !negate;
            p += 2;
        } else if (p[1] == '-' && p + 2 < close) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2])
                return !negate;
            p += 3;
        } else {
            if ((unsigned char)*p == c)
                return !negate;
            p++;
        }
    }
    return negate;
}

/* Does the subject character at s match the class from p to ep? */
static int single(relm_pattern *ms, const char *s, const char *p,
                  const char *ep)
{
    if (s >= ms->src_end)
        return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.':
        return 1;
    case ESC:
        return in_class(c, (unsigned char)p[1]);
    case '[':
        return in_set(c, p, ep - 1);
    default:
        return (unsigned char)*p == c;
    }
}

static const char *match(relm_pattern *ms, const char *s, const char *p);

/* Greedy: take as many as possible, then give back one at a time. */
static const char *max_expand(relm_pattern *ms, const char *s,
                              const char *p, const char *ep)
{
    ptrdiff_t n = 0;
    while (single(ms, s + n, p, ep))
        n++;
    if (spend(ms, (size_t)n))
        return NULL;
    for (; n >= 0; n--) {
        const char *res = match(ms, s + n, ep + 1);
        if (res != NULL || ms->error != NULL)
            return res;
    }
    return NULL;
}

/* Lazy: take as few as possible, one more at a time. */
static const char *min_expand(relm_pattern *ms, const char *s,
                              const char *p, const char *ep)
{
    for (;;) {
        const char *res = match(ms, s, ep + 1);
        if (res != NULL || ms->error != NULL)
            return res;
        if (!single(ms, s, p, ep))
            return NULL;
        s++;
    }
}

static const char *start_capture(relm_pattern *ms, const char *s,
                                 const char *p, ptrdiff_t what)
{
    if (ms->level >= RELM_PATTERN_MAXCAPTURES) {
        fail(ms, _("too many captures"));
        return NULL;
    }
    ms->capture[ms->level].init = s;
    ms->capture[ms->level].len = what;
    ms->level++;
    const char *res = match(ms, s, p);
    if (res == NULL)
        ms->level--;
    return res;
}

static const char *end_capture(relm_pattern *ms, const char *s,
                               const char *p)
{
    int l = ms->level - 1;
    while (l >= 0 && ms->capture[l].len != RELM_PATTERN_CAP_UNFINISHED)
        l--;
    if (l < 0) {
        fail(ms, _("invalid pattern capture"));
        return NULL;
    }
    ms->capture[l].len = s - ms->capture[l].init;
    const char *res = match(ms, s, p);
    if (res == NULL)
        ms->capture[l].len = RELM_PATTERN_CAP_UNFINISHED;
    return res;
}

/* %bxy: a balanced run from x to its matching y. */
static const char *balance(relm_pattern *ms, const char *s, const char *p)
{
    if (p + 1 >= ms->p_end) {
        fail(ms, _("malformed pattern (missing arguments to '%b')"));
        return NULL;
    }
    if (s >= ms->src_end || *s != p[0])
        return NULL;
    const char *start = s;
    int open = 1;
    while (++s < ms->src_end) {
        if (*s == p[1]) {
            if (--open == 0) {
                spend(ms, (size_t)(s - start));
                return ms->error != NULL ? NULL : s + 1;
            }
        } else if (*s == p[0]) {
            open++;
        }
    }
    spend(ms, (size_t)(s - start));
    return NULL;
}

/* %1 .. %9: the text of an earlier, closed capture again. */
static const char *back_reference(relm_pattern *ms, const char *s, int digit)
{
    int l = digit - '1';
    if (l < 0 || l >= ms->level ||
        ms->capture[l].len == RELM_PATTERN_CAP_UNFINISHED) {
        snprintf(ms->errbuf, sizeof ms->errbuf, _("invalid capture index %%%d"),
                 l + 1);
        fail(ms, ms->errbuf);
        return NULL;
    }
    size_t len = (size_t)ms->capture[l].len;
    if ((size_t)(ms->src_end - s) >= len &&
        memcmp(ms->capture[l].init, s, len) == 0)
        return s + len;
    return NULL;
}

/* Match pattern p at s; see relm_pattern_match. Iterates along the
 * pattern and recurses only where it may have to back-track. */
static const char *match(relm_pattern *ms, const char *s, const char *p)
{
    if (ms->depth-- == 0) {
        fail(ms, _("pattern too complex"));
        return NULL;
    }
    if (spend(ms, 1)) {
        ms->depth++;
        return NULL;
    }
    while (s != NULL && p != ms->p_end) {
        const char *ep;
        if (*p == '(') {
            if (p + 1 < ms->p_end && p[1] == ')')
                s = start_capture(ms, s, p + 2, RELM_PATTERN_CAP_POSITION);
            else
                s = start_capture(ms, s, p + 1, RELM_PATTERN_CAP_UNFINISHED);
            break;
        }
        if (*p == ')') {
            s = end_capture(ms, s, p + 1);
            break;
        }
        if (*p == '$' && p + 1 == ms->p_end) {
            if (s != ms->src_end)
                s = NULL;
            break;
        }
        if (*p == ESC && p[1] == 'b') {
            s = balance(ms, s, p + 2);
            if (s != NULL)
                p += 4;
            continue;
        }
        if (*p == ESC && p[1] == 'f') {
            p += 2;
            if (*p != '[') {
                fail(ms, _("missing '[' after '%f' in pattern"));
                s = NULL;
                break;
            }
            ep = class_end(ms, p);
            if (ep == NULL) {
                s = NULL;
                break;
            }
            int prev = s == ms->src_init ? '\0' : (unsigned char)s[-1];
            int cur = s < ms->src_end ? (unsigned char)*s : '\0';
            if (!in_set(prev, p, ep - 1) && in_set(cur, p, ep - 1))
                p = ep;
            else
                s = NULL;
            continue;
        }
        if (*p == ESC && isdigit((unsigned char)p[1])) {
            s = back_reference(ms, s, (unsigned char)p[1]);
            if (s != NULL)
                p += 2;
            continue;
        }
        /* A single-character class, perhaps with a quantifier. */
        ep = class_end(ms, p);
        if (ep == NULL) {
            s = NULL;
            break;
        }
        if (!single(ms, s, p, ep)) {
            if (*ep == '*' || *ep == '?' || *ep == '-') {
                p = ep + 1; /* zero repetitions are fine */
                continue;
            }
            s = NULL;
            break;
        }
        if (*ep == '?') {
            const char *res = match(ms, s + 1, ep + 1);
            if (res != NULL || ms->error != NULL) {
                s = res;
                break;
            }
            p = ep + 1;
            continue;
        }
        if (*ep == '+') {
            s = max_expand(ms, s + 1, p, ep);
            break;
        }
        if (*ep == '*') {
            s = max_expand(ms, s, p, ep);
            break;
        }
        if (*ep == '-') {
            s = min_expand(ms, s, p, ep);
            break;
        }
        s++;
        p = ep;
    }
    ms->depth++;
    return ms->error != NULL ? NULL : s;
}

const char *relm_pattern_match(relm_pattern *ms, const char *s,
                               const char *p)
{
    ms->level = 0;
    ms->depth = MAXDEPTH;
    return match(ms, s, p);
}
