/* test_utf8.c: the strict UTF-8 validator that guards scripts and imported
 * files: what it accepts, what it refuses, and where it says the fault is. */
#include <string.h>

#include "check.h"
#include "base/utf8.h"

/* Check that s (n bytes) is refused with the first bad byte at want. */
static void refused_at(const char *s, size_t n, size_t want)
{
    size_t bad = (size_t)-1;
    CHECK(relm_utf8_valid(s, n, &bad) == 0);
    CHECK(bad == want);
    if (bad != want)
        fprintf(stderr, "  %zu-byte input: bad byte at %zu, wanted %zu\n", n,
                bad, want);
}

static void accepted(const char *s, size_t n)
{
    size_t bad = 0;
    CHECK(relm_utf8_valid(s, n, &bad) == 1);
}

int main(void)
{
    accepted("", 0);
    accepted("plain ASCII\n", 12);
    accepted("caf\xc3\xa9", 5);                 /* U+00E9 */
    accepted("\xe2\x82\xac", 3);                /* U+20AC euro */
    accepted("\xf0\x9f\x98\x80", 4);            /* U+1F600 */
    accepted("\xef\xbb\xbfprint(1)", 11);       /* BOM then ASCII */
    accepted("\xf4\x8f\xbf\xbf", 4);            /* U+10FFFF, the last */
    accepted("a\0b", 3);                        /* NUL is valid UTF-8 */

    refused_at("caf\xe9", 4, 3);                /* Latin-1 e-acute */
    refused_at("ab\x80", 3, 2);                 /* lone continuation */
    refused_at("\xc0\xaf", 2, 0);               /* overlong '/' */
    refused_at("\xc1\xbf", 2, 0);               /* overlong */
    refused_at("\xe0\x80\xaf", 3, 0);           /* overlong 3-byte */
    refused_at("\xf0\x80\x80\xaf", 4, 0);       /* overlong 4-byte */
    refused_at("ok\xed\xa0\x80", 5, 2);         /* surrogate U+D800 */
    refused_at("\xf4\x90\x80\x80", 4, 0);       /* above U+10FFFF */
    refused_at("\xf5\x80\x80\x80", 4, 0);
    refused_at("\xff", 1, 0);
    refused_at("x\xe2\x82", 3, 1);              /* truncated at the end */
    refused_at("\xe2\x28\xa1", 3, 0);           /* bad second byte */
    refused_at("\xf0\x9f\x98\x28", 4, 0);       /* bad fourth byte */
    return CHECK_DONE("test_utf8");
}
