/* sha256.h: SHA-256 (FIPS 180-4) for the occurrence log's hash chain and media checksums.
 * Streaming interface plus a one-call helper that yields lowercase hex. */
#ifndef RELM_SHA256_H
#define RELM_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct relm_sha256 {
    uint32_t h[8];
    uint64_t len;       /* bytes hashed so far */
    unsigned char buf[64];
    size_t nbuf;
} relm_sha256;

void relm_sha256_init(relm_sha256 *c);
void relm_sha256_update(relm_sha256 *c, const void *data, size_t n);
/* Write the 32-byte digest to out; c must be re-initialised to reuse it. */
void relm_sha256_final(relm_sha256 *c, unsigned char out[32]);
/* Digest of data as 64 lowercase hex digits and a NUL in hex. */
void relm_sha256_hex(const void *data, size_t n, char hex[65]);
/* Turn a digest into 64 hex digits and a NUL. */
void relm_sha256_tohex(const unsigned char digest[32], char hex[65]);
/* HMAC-SHA256 (RFC 2104) of msg under key, as 32 bytes into out: the
 * signature of webhook bodies. */
void relm_hmac_sha256(const void *key, size_t keylen, const void *msg,
                      size_t n, unsigned char out[32]);

#endif
