/* test_grow.c: relm_grow, the one way the core grows its arrays: room for
 * what is asked, capacity doubled from the first size, contents kept. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "base/grow.h"

int main(void)
{
    /* From nothing: the first size, then doubling as elements come. */
    size_t cap = 0;
    int *v = NULL, grew = 1;
    for (int i = 0; i < 100 && grew; i++) {
        int *w = relm_grow(v, &cap, (size_t)i + 1, sizeof *w, 16);
        grew = w != NULL;
        if (grew) {
            v = w;
            v[i] = i * 3;
        }
    }
    CHECK(grew);
    if (!grew)
        return CHECK_DONE("test_grow");
    CHECK(cap == 128);
    int kept = 1;
    for (int i = 0; i < 100; i++)
        kept = kept && v[i] == i * 3;
    CHECK(kept);

    /* Enough room already: the same block, capacity untouched. */
    CHECK(relm_grow(v, &cap, 50, sizeof *v, 16) == v && cap == 128);

    /* A jump past several doublings lands on the first that holds it. */
    int *w = relm_grow(v, &cap, 1000, sizeof *v, 16);
    CHECK(w != NULL && cap == 1024);
    if (w != NULL)
        v = w;

    /* A size that cannot be had: NULL, the block and capacity as they were. */
    CHECK(relm_grow(v, &cap, SIZE_MAX / 2, sizeof *v, 16) == NULL);
    CHECK(cap == 1024 && v[99] == 297);
    free(v);
    return CHECK_DONE("test_grow");
}
