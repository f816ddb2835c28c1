/* grow.c: capacity doubling for the core's growable arrays (desktop rows,
 * CMDB buffers, baseline changes, id lists): see grow.h. */
#include "base/grow.h"

#include <stdint.h>
#include <stdlib.h>

void *relm_grow(void *p, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap : first;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return NULL;
        n *= 2;
    }
    if (elem != 0 && n > SIZE_MAX / elem)
        return NULL;
    void *q = realloc(p, n * elem);
    if (q != NULL)
        *cap = n;
    return q;
}
