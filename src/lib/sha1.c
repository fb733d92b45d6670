/*
 * sha1: SHA-1 and HMAC-SHA1 (sha1.h), straight from FIPS 180-4 6.1 and
 * RFC 2104; tests/unit/test_lib.c holds the FIPS and RFC 2202 vectors.
 */
#include "sha1.h"

#include <string.h>

static uint32_t
rol(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static void
sha1_block(struct sha1 *c, const unsigned char *p)
{
	uint32_t w[80];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	uint32_t a = c->h[0], b = c->h[1], d = c->h[3], e = c->h[4], cc = c->h[2];
	for (int i = 0; i < 80; i++) {
		uint32_t f, k;
		if (i < 20) {
			f = (b & cc) | (~b & d);
			k = 0x5A827999;
		} else if (i < 40) {
			f = b ^ cc ^ d;
			k = 0x6ED9EBA1;
		} else if (i < 60) {
			f = (b & cc) | (b & d) | (cc & d);
			k = 0x8F1BBCDC;
		} else {
			f = b ^ cc ^ d;
			k = 0xCA62C1D6;
		}
		uint32_t t = rol(a, 5) + f + e + k + w[i];
		e = d;
		d = cc;
		cc = rol(b, 30);
		b = a;
		a = t;
	}
	c->h[0] += a;
	c->h[1] += b;
	c->h[2] += cc;
	c->h[3] += d;
	c->h[4] += e;
}

void
sha1_init(struct sha1 *c)
{
	static const uint32_t iv[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
	memcpy(c->h, iv, sizeof iv);
	c->len = 0;
	c->used = 0;
}

void
sha1_update(struct sha1 *c, const void *data, size_t n)
{
	const unsigned char *p = data;
	c->len += n;
	while (n > 0) {
		size_t take = 64 - c->used < n ? 64 - c->used : n;
		memcpy(c->block + c->used, p, take);
		c->used += take;
		p += take;
		n -= take;
		if (c->used == 64) {
			sha1_block(c, c->block);
			c->used = 0;
		}
	}
}

void
sha1_final(struct sha1 *c, unsigned char out[SHA1_DIGEST])
{
	uint64_t bits = c->len * 8;
	unsigned char pad = 0x80;
	sha1_update(c, &pad, 1);
	pad = 0;
	while (c->used != 56)
		sha1_update(c, &pad, 1);
	unsigned char len[8];
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha1_update(c, len, 8);
	for (int i = 0; i < 5; i++) {
		out[4 * i] = (unsigned char)(c->h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
		out[4 * i + 3] = (unsigned char)c->h[i];
	}
	memset(c, 0, sizeof *c);
}

void
hmac_sha1_init(struct hmac_sha1 *m, const void *key, size_t key_len)
{
	unsigned char k[64] = {0}, ikey[64];
	if (key_len > 64) {
		struct sha1 c;
		sha1_init(&c);
		sha1_update(&c, key, key_len);
		sha1_final(&c, k);
	} else {
		memcpy(k, key, key_len);
	}
	for (int i = 0; i < 64; i++) {
		ikey[i] = k[i] ^ 0x36;
		m->okey[i] = k[i] ^ 0x5c;
	}
	sha1_init(&m->inner);
	sha1_update(&m->inner, ikey, sizeof ikey);
	memset(k, 0, sizeof k);
	memset(ikey, 0, sizeof ikey);
}

void
hmac_sha1_update(struct hmac_sha1 *m, const void *p, size_t n)
{
	sha1_update(&m->inner, p, n);
}

void
hmac_sha1_final(struct hmac_sha1 *m, unsigned char out[SHA1_DIGEST])
{
	unsigned char ih[SHA1_DIGEST];
	sha1_final(&m->inner, ih);
	struct sha1 outer;
	sha1_init(&outer);
	sha1_update(&outer, m->okey, sizeof m->okey);
	sha1_update(&outer, ih, sizeof ih);
	sha1_final(&outer, out);
	memset(m, 0, sizeof *m);
}
