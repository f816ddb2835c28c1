/* check.h: the few macros the C tests need; each test file ends by printing
 * "name: N passed, N failed" for tests/run.sh to add up. */
#ifndef RELM_CHECK_H
#define RELM_CHECK_H

#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (cond) {                                                       \
            check_passed++;                                               \
        } else {                                                          \
            check_failed++;                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,        \
                    __LINE__, #cond);                                     \
        }                                                                 \
    } while (0)

#define CHECK_DONE(name)                                                  \
    (printf("%s: %d passed, %d failed\n", name, check_passed,            \
            check_failed),                                                \
     check_failed == 0 ? 0 : 1)

#endif
