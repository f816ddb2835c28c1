/* pattern.h: Lua string patterns (manual section 6.4.1) matched with a
 * step budget, so a sandboxed find/match/gmatch/gsub can be stopped. */
#ifndef RELM_PATTERN_H
#define RELM_PATTERN_H

#include <stddef.h>

#define RELM_PATTERN_MAXCAPTURES 32
#define RELM_PATTERN_CAP_UNFINISHED (-1)
#define RELM_PATTERN_CAP_POSITION (-2)

/* One match attempt's state. Pure C: no Lua state is touched, so a match
 * can be abandoned at any step. */
typedef struct relm_pattern {
    const char *src_init;  /* the subject */
    const char *src_end;
    const char *p_end;     /* end of the pattern (which is NUL-terminated) */
    int level;             /* captures open or closed so far */
    int depth;             /* recursion left before "pattern too complex" */
    size_t steps;          /* work done, for the expiry check */
    size_t next_check;
    int (*expired)(void);  /* polled every few thousand steps; may be NULL */
    int timed_out;         /* set with error when expired() said so */
    const char *error;     /* message, NULL while all is well */
    char errbuf[48];       /* holds error when it had to be formatted */
    struct {
        const char *init;
        ptrdiff_t len;     /* or RELM_PATTERN_CAP_UNFINISHED/_POSITION */
    } capture[RELM_PATTERN_MAXCAPTURES];
} relm_pattern;

/* Prepare ms for subject s (ls bytes) and pattern p (lp bytes, p[lp] must
 * be '\0' as in every Lua string). */
void relm_pattern_init(relm_pattern *ms, const char *s, size_t ls,
                       const char *p, size_t lp, int (*expired)(void));

/* Try to match pattern p (a suffix of the pattern given to init, without a
 * leading '^' anchor) at subject position s. Returns the end of the match,
 * or NULL: no match when ms->error is NULL, else a malformed pattern or
 * ms->timed_out. Captures are in ms->capture[0 .. ms->level - 1]. */
const char *relm_pattern_match(relm_pattern *ms, const char *s,
                               const char *p);

/* Nonzero when p (lp bytes) has no magic characters: a plain search. */
int relm_pattern_is_plain(const char *p, size_t lp);

#endif
