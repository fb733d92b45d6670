/*
 * SHA-1 and HMAC-SHA1 against FIPS 180 and RFC 2202 vectors; SRS addresses
 * made and taken back, with the failures a forger or an old bounce meets.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "sha1.h"
#include "srs.h"

static void
hex(const unsigned char *d, char *out)
{
	for (int i = 0; i < SHA1_DIGEST; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void
test_sha1(void)
{
	unsigned char d[SHA1_DIGEST];
	char h[41];
	struct sha1 c;
	sha1_init(&c);
	sha1_update(&c, "abc", 3);
	sha1_final(&c, d);
	hex(d, h);
	CHECK_STR(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
	sha1_init(&c);
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha1_update(&c, m, strlen(m));
	sha1_final(&c, d);
	hex(d, h);
	CHECK_STR(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	/* A million 'a', fed in uneven pieces across block edges. */
	sha1_init(&c);
	char a[997];
	memset(a, 'a', sizeof a);
	size_t left = 1000000;
	while (left) {
		size_t n = left < sizeof a ? left : sizeof a;
		sha1_update(&c, a, n);
		left -= n;
	}
	sha1_final(&c, d);
	hex(d, h);
	CHECK_STR(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

static void
test_hmac(void)
{
	unsigned char d[SHA1_DIGEST], key[80];
	char h[41];
	struct hmac_sha1 m;
	/* RFC 2202 cases 2 and 6 (a key longer than a block). */
	hmac_sha1_init(&m, "Jefe", 4);
	hmac_sha1_update(&m, "what do ya want ", 16);
	hmac_sha1_update(&m, "for nothing?", 12);
	hmac_sha1_final(&m, d);
	hex(d, h);
	CHECK_STR(h, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
	memset(key, 0xaa, sizeof key);
	hmac_sha1_init(&m, key, 80);
	const char *t = "Test Using Larger Than Block-Size Key - Hash Key First";
	hmac_sha1_update(&m, t, strlen(t));
	hmac_sha1_final(&m, d);
	hex(d, h);
	CHECK_STR(h, "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}

static const struct srs_key key = {(const unsigned char *)"s3cret", 6};
static const struct srs_key other = {(const unsigned char *)"other", 5};
#define DAY 86400
static const long long T0 = 1780000000; /* any moment */

static void
test_forward_reverse(void)
{
	char fwd[600], back[600];
	CHECK(srs_forward(&key, "alice@origin.test", "fwd.test", T0, fwd, sizeof fwd) == SRS_OK);
	CHECK(strncmp(fwd, "SRS0=", 5) == 0);
	CHECK(strstr(fwd, "=origin.test=alice@fwd.test") != NULL);
	/* The same input gives the same address; another secret another hash. */
	char again[600], other_fwd[600];
	srs_forward(&key, "alice@origin.test", "fwd.test", T0, again, sizeof again);
	CHECK_STR(again, fwd);
	srs_forward(&other, "alice@origin.test", "fwd.test", T0, other_fwd, sizeof other_fwd);
	CHECK(strcmp(other_fwd, fwd) != 0);

	char local[200];
	snprintf(local, sizeof local, "%.*s", (int)(strrchr(fwd, '@') - fwd), fwd);
	CHECK(srs_reverse(&key, local, T0, back, sizeof back) == SRS_OK);
	CHECK_STR(back, "alice@origin.test");
	/* A hop that changes case breaks nothing. */
	for (char *p = local; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	CHECK(srs_reverse(&key, local, T0 + 3 * DAY, back, sizeof back) == SRS_OK);
	CHECK_STR(back, "alice@origin.test");
	/* Old, forged, mangled. */
	CHECK(srs_reverse(&key, local, T0 + 22 * DAY, back, sizeof back) == SRS_EXPIRED);
	CHECK(srs_reverse(&other, local, T0, back, sizeof back) == SRS_BAD_HASH);
	char forged[200];
	snprintf(forged, sizeof forged, "%s", local);
	forged[strlen(forged) - 1] = 'x'; /* alicx: the hash covers the user */
	CHECK(srs_reverse(&key, forged, T0, back, sizeof back) == SRS_BAD_HASH);
	CHECK(srs_reverse(&key, "SRS0=abcde=AA", T0, back, sizeof back) == SRS_MALFORMED);
	CHECK(srs_reverse(&key, "SRS0=abcde=A!=d=u", T0, back, sizeof back) == SRS_MALFORMED);
	CHECK(srs_reverse(&key, "alice", T0, back, sizeof back) == SRS_NOT_SRS);
	CHECK(srs_reverse(&key, "SRS2=x=y", T0, back, sizeof back) == SRS_NOT_SRS);
	/* The day counter wraps at 1024 days: still valid across the wrap. */
	long long wrap = (1024LL * 5 - 1) * DAY;
	srs_forward(&key, "a@b.test", "fwd.test", wrap, fwd, sizeof fwd);
	snprintf(local, sizeof local, "%.*s", (int)(strrchr(fwd, '@') - fwd), fwd);
	CHECK(srs_reverse(&key, local, wrap + 2 * DAY, back, sizeof back) == SRS_OK);
}

static void
test_srs1(void)
{
	char fwd[600], fwd2[600], back[600], local[200];
	/* origin -> first.test (SRS0) -> us (SRS1) -> back to first.test's SRS0. */
	srs_forward(&other, "bob@origin.test", "first.test", T0, fwd, sizeof fwd);
	CHECK(srs_forward(&key, fwd, "us.test", T0, fwd2, sizeof fwd2) == SRS_OK);
	CHECK(strncmp(fwd2, "SRS1=", 5) == 0);
	CHECK(strstr(fwd2, "=first.test==") != NULL);
	snprintf(local, sizeof local, "%.*s", (int)(strrchr(fwd2, '@') - fwd2), fwd2);
	CHECK(srs_reverse(&key, local, T0, back, sizeof back) == SRS_OK);
	CHECK_STR(back, fwd);
	/* An SRS1 forwarded again stays SRS1 with the same first forwarder. */
	char fwd3[600];
	CHECK(srs_forward(&other, fwd2, "third.test", T0, fwd3, sizeof fwd3) == SRS_OK);
	CHECK(strncmp(fwd3, "SRS1=", 5) == 0 && strstr(fwd3, "=first.test==") != NULL);
	snprintf(local, sizeof local, "%.*s", (int)(strrchr(fwd3, '@') - fwd3), fwd3);
	CHECK(srs_reverse(&other, local, T0, back, sizeof back) == SRS_OK);
	CHECK_STR(back, fwd);
	local[6] ^= 1;
	CHECK(srs_reverse(&other, local, T0, back, sizeof back) == SRS_BAD_HASH);
	CHECK(srs_reverse(&key, "SRS1=abcde=first.test", T0, back, sizeof back) == SRS_MALFORMED);
}

static void
test_too_long(void)
{
	char fwd[600];
	char sender[300];
	memset(sender, 'x', 60);
	snprintf(sender + 60, sizeof sender - 60, "@a-rather-long-origin-domain.example");
	CHECK(srs_forward(&key, sender, "fwd.test", T0, fwd, sizeof fwd) == SRS_TOO_LONG);
	CHECK(srs_forward(&key, "no-at-sign", "fwd.test", T0, fwd, sizeof fwd) == SRS_MALFORMED);
}

int
main(void)
{
	test_sha1();
	test_hmac();
	test_forward_reverse();
	test_srs1();
	test_too_long();
	return test_summary("test_srs");
}
