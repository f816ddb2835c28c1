/* test_hmac.c: relm_hmac_sha256 against the RFC 4231 test vectors (cases
 * 1-4, 6 and 7; case 5 is a truncated output). */
#include <string.h>

#include "base/sha256.h"
#include "check.h"

/* Bytes of the hex text h into out; returns the count. */
static size_t unhex(const char *h, unsigned char *out)
{
    size_t n = 0;
    for (; h[0] && h[1]; h += 2) {
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (unsigned char)v;
    }
    return n;
}

/* 1 when HMAC(key, msg) is want (64 hex digits). */
static int vector(const char *key_hex, const char *msg_hex, const char *want)
{
    unsigned char key[256], msg[256], mac[32];
    char got[65];
    size_t kn = unhex(key_hex, key), mn = unhex(msg_hex, msg);
    relm_hmac_sha256(key, kn, msg, mn, mac);
    relm_sha256_tohex(mac, got);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "got  %s\nwant %s\n", got, want);
    return strcmp(got, want) == 0;
}

/* s repeated as hex, n times. */
static const char *rep(const char *byte, int n)
{
    static char buf[4][512];
    static int k;
    char *b = buf[k++ % 4];
    b[0] = '\0';
    for (int i = 0; i < n; i++)
        strcat(b, byte);
    return b;
}

int main(void)
{
    /* 1: 20 bytes of 0x0b, "Hi There". */
    CHECK(vector(rep("0b", 20), "4869205468657265",
                 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"));
    /* 2: "Jefe", "what do ya want for nothing?". */
    CHECK(vector("4a656665",
                 "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
                 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
    /* 3: 20 x 0xaa, 50 x 0xdd. */
    CHECK(vector(rep("aa", 20), rep("dd", 50),
                 "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"));
    /* 4: key 0x01..0x19, 50 x 0xcd. */
    CHECK(vector("0102030405060708090a0b0c0d0e0f10111213141516171819",
                 rep("cd", 50),
                 "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"));
    /* 6: a 131-byte key (hashed first), "Test Using Larger Than Block-Size
     * Key - Hash Key First". */
    CHECK(vector(rep("aa", 131),
                 "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
                 "65204b6579202d2048617368204b6579204669727374",
                 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"));
    /* 7: a 131-byte key and a long message. */
    CHECK(vector(rep("aa", 131),
                 "5468697320697320612074657374207573696e672061206c6172676572207468"
                 "616e20626c6f636b2d73697a65206b657920616e642061206c61726765722074"
                 "68616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565"
                 "647320746f20626520686173686564206265666f7265206265696e6720757365"
                 "642062792074686520484d414320616c676f726974686d2e",
                 "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"));
    return CHECK_DONE("test_hmac");
}
