/* sha256.h: SHA-256 (FIPS 180-4) for checksums of definitive media; small,
 * dependency-free, streaming. */
#ifndef RELM_SHA256_H
#define RELM_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct relm_sha256 {
    uint32_t h[8];
    uint64_t len;       /* bytes hashed so far */
    uint8_t buf[64];
    size_t fill;        /* bytes waiting in buf */
} relm_sha256;

void relm_sha256_init(relm_sha256 *c);
void relm_sha256_update(relm_sha256 *c, const void *data, size_t n);
/* Finish and write the digest as 64 lowercase hex digits plus NUL. */
void relm_sha256_hex(relm_sha256 *c, char out[65]);

#endif
