/*
 * sha1: SHA-1 (FIPS 180-4) and HMAC-SHA1 (RFC 2104) in plain C, for SRS's
 * address hashes (srs.h). SRS needs a MAC that only we check, which SHA-1's
 * HMAC still is; it lives here, not behind OpenSSL, so the pure modules
 * that build SRS addresses link, test and fuzz without a crypto library
 * (libsrs2 carries its own SHA-1 for the same reason).
 */
#ifndef MP_SHA1_H
#define MP_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_DIGEST 20

struct sha1 {
	uint32_t h[5];
	uint64_t len; /* bytes hashed so far */
	unsigned char block[64];
	size_t used;
};

void sha1_init(struct sha1 *c);
void sha1_update(struct sha1 *c, const void *p, size_t n);
void sha1_final(struct sha1 *c, unsigned char out[SHA1_DIGEST]);

/* HMAC-SHA1 in steps: init with the key, feed the message, final. */
struct hmac_sha1 {
	struct sha1 inner;
	unsigned char okey[64];
};

void hmac_sha1_init(struct hmac_sha1 *m, const void *key, size_t key_len);
void hmac_sha1_update(struct hmac_sha1 *m, const void *p, size_t n);
void hmac_sha1_final(struct hmac_sha1 *m, unsigned char out[SHA1_DIGEST]);

#endif
