/* utf8.h: strict UTF-8 validation for scripts and imported files. */
#ifndef RELM_UTF8_H
#define RELM_UTF8_H

#include <stddef.h>

/* Return 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates, at
 * most U+10FFFF); otherwise 0 and *bad is the offset of the first bad byte. */
int relm_utf8_valid(const char *s, size_t n, size_t *bad);

#endif
