/* limit.h: counting failures per key (a user name, an address) in a
 * sliding window, so logins can be refused after too many in a row. */
#ifndef RELM_HTTP_LIMIT_H
#define RELM_HTTP_LIMIT_H

enum { RELM_LIMIT_SLOTS = 1024, RELM_LIMIT_KEY = 160 };

typedef struct relm_limit_slot {
    char key[RELM_LIMIT_KEY];
    double first;   /* when the window of this key started */
    int count;      /* failures since first */
} relm_limit_slot;

typedef struct relm_limiter {
    double window;  /* seconds */
    relm_limit_slot slots[RELM_LIMIT_SLOTS];
} relm_limiter;

/* Seconds to wait before key may try again (0: it may now) given at most
 * max failures per window. */
double relm_limit_wait(relm_limiter *l, const char *key, int max, double now);
/* Count a failure of key at now. */
void relm_limit_fail(relm_limiter *l, const char *key, double now);
/* Forget key's failures (after a success). */
void relm_limit_clear(relm_limiter *l, const char *key);

#endif
