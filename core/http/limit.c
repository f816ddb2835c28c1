/* limit.c: failures per key in a window, in a fixed table: when it is full
 * the oldest window is dropped, so memory stays bounded under attack. */
#include "http/limit.h"

#include <stdio.h>
#include <string.h>

/* FNV-1a: spreads keys over the slots. */
static unsigned hash(const char *k)
{
    unsigned h = 2166136261u;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 16777619u;
    return h;
}

/* The slot holding key, or NULL. Probes a run of 8 slots. */
static relm_limit_slot *find(relm_limiter *l, const char *key, int make,
                             double now)
{
    unsigned h = hash(key);
    relm_limit_slot *oldest = NULL;
    for (unsigned i = 0; i < 8; i++) {
        relm_limit_slot *s = &l->slots[(h + i) % RELM_LIMIT_SLOTS];
        if (s->count > 0 && strncmp(s->key, key, RELM_LIMIT_KEY - 1) == 0)
            return s;
        if (s->count == 0 || now - s->first > l->window) {
            if (oldest == NULL || oldest->count > 0)
                oldest = s;
        } else if (oldest == NULL ||
                   (oldest->count > 0 && s->first < oldest->first)) {
            oldest = s;
        }
    }
    if (!make)
        return NULL;
    snprintf(oldest->key, sizeof oldest->key, "%s", key);
    oldest->count = 0;
    oldest->first = now;
    return oldest;
}

double relm_limit_wait(relm_limiter *l, const char *key, int max, double now)
{
    relm_limit_slot *s = find(l, key, 0, now);
    if (s == NULL || now - s->first > l->window)
        return 0;
    return s->count >= max ? l->window - (now - s->first) : 0;
}

void relm_limit_fail(relm_limiter *l, const char *key, double now)
{
    relm_limit_slot *s = find(l, key, 1, now);
    if (now - s->first > l->window) {
        s->first = now;
        s->count = 0;
    }
    s->count++;
}

void relm_limit_clear(relm_limiter *l, const char *key)
{
    relm_limit_slot *s = find(l, key, 0, 0);
    if (s != NULL)
        s->count = 0;
}
