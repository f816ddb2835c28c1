/* grow.h: the one way the core grows an array in place: capacity doubled
 * from a first size, and the old block kept intact when memory runs out. */
#ifndef RELM_GROW_H
#define RELM_GROW_H

#include <stddef.h>

/* Make room for need elements of elem bytes in block p, which holds *cap
 * elements (p may be NULL when *cap is 0). When need > *cap the block is
 * reallocated to *cap (first, when *cap is 0) doubled until need fits, and
 * *cap updated. Returns the block, maybe moved; NULL when memory ran out
 * or the size would overflow: p is then still valid and still the
 * caller's, and *cap unchanged. Precondition: first > 0. */
void *relm_grow(void *p, size_t *cap, size_t need, size_t elem, size_t first);

#endif
