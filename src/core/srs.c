/*
 * srs: SRS0/SRS1 addresses (srs.h). Fields are separated by '=' only; the
 * original local part may itself hold '=' (it is last, so it keeps them).
 */
#include "srs.h"

#include <stdio.h>
#include <string.h>

#include "sha1.h"
#include "smtp_addr.h"

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static int
b32_value(char c)
{
	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	const char *p = c ? strchr(b32, c) : NULL;
	return p ? (int)(p - b32) : -1;
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* HMAC-SHA1 over the lower-cased fields, each ended by a NUL so "ab"+"c" != "a"+"bc". */
static void
srs_hash(const struct srs_key *k, const char *const *fields, size_t n, char out[SRS_HASH_LEN + 1])
{
	struct hmac_sha1 m;
	hmac_sha1_init(&m, k->secret, k->len);
	for (size_t i = 0; i < n; i++) {
		for (const char *p = fields[i]; *p; p++) {
			char c = lower(*p);
			hmac_sha1_update(&m, &c, 1);
		}
		hmac_sha1_update(&m, "", 1);
	}
	unsigned char d[SHA1_DIGEST];
	hmac_sha1_final(&m, d);
	/* The first 25 bits, five at a time, most significant first. */
	uint32_t bits = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
	for (int i = 0; i < SRS_HASH_LEN; i++)
		out[i] = b32[(bits >> (27 - 5 * i)) & 31];
	out[SRS_HASH_LEN] = '\0';
}

static bool
hash_equal(const char *a, size_t alen, const char *b)
{
	if (alen != strlen(b))
		return false;
	unsigned diff = 0; /* no early exit: the time does not tell how much matched */
	for (size_t i = 0; i < alen; i++)
		diff |= (unsigned)(lower(a[i]) ^ lower(b[i]));
	return diff == 0;
}

static unsigned
today(int64_t now)
{
	return (unsigned)((now / 86400) % 1024);
}

bool
srs_is_srs(const char *local)
{
	return strlen(local) > 5 && (local[0] == 'S' || local[0] == 's') &&
	       (local[1] == 'R' || local[1] == 'r') && (local[2] == 'S' || local[2] == 's') &&
	       (local[3] == '0' || local[3] == '1') && local[4] == '=';
}

static enum srs_result
fits(int n, size_t size, const char *out)
{
	if (n < 0 || (size_t)n >= size)
		return SRS_TOO_LONG;
	const char *at = strrchr(out, '@');
	return at && at - out <= SMTP_LOCAL_MAX ? SRS_OK : SRS_TOO_LONG;
}

enum srs_result
srs_forward(const struct srs_key *k, const char *sender, const char *our_domain, int64_t now,
	    char *out, size_t size)
{
	char local[SMTP_LOCAL_MAX + 1], hash[SRS_HASH_LEN + 1];
	const char *at = strrchr(sender, '@');
	if (at == NULL || at == sender || (size_t)(at - sender) > SMTP_LOCAL_MAX || !at[1])
		return SRS_MALFORMED;
	memcpy(local, sender, (size_t)(at - sender));
	local[at - sender] = '\0';
	const char *domain = at + 1;
	if (srs_is_srs(local)) {
		/* SRS1 keeps the first forwarder and its opaque part: "first==opaque". */
		const char *first = NULL, *opaque = local + 5;
		char firstbuf[SMTP_LOCAL_MAX + 1];
		if (local[3] == '0') {
			first = domain;
		} else {
			const char *p = strchr(local + 5, '=');
			const char *sep = p ? strstr(p + 1, "==") : NULL;
			if (sep == NULL)
				return SRS_MALFORMED;
			memcpy(firstbuf, p + 1, (size_t)(sep - p - 1));
			firstbuf[sep - p - 1] = '\0';
			first = firstbuf;
			opaque = sep + 2;
		}
		const char *f[] = {first, opaque};
		srs_hash(k, f, 2, hash);
		return fits(
		    snprintf(out, size, "SRS1=%s=%s==%s@%s", hash, first, opaque, our_domain), size,
		    out);
	}
	char tt[3] = {b32[today(now) >> 5], b32[today(now) & 31], '\0'};
	const char *f[] = {tt, domain, local};
	srs_hash(k, f, 3, hash);
	return fits(snprintf(out, size, "SRS0=%s=%s=%s=%s@%s", hash, tt, domain, local, our_domain),
		    size, out);
}

/* Split "A=B=rest" at the first n '=' into fields; the last keeps the rest. */
static bool
split(char *s, char **f, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		f[i] = s;
		s = strchr(s, '=');
		if (s == NULL)
			return false;
		*s++ = '\0';
	}
	f[n - 1] = s;
	return true;
}

static enum srs_result
reverse_srs0(const struct srs_key *k, char *rest, int64_t now, char *out, size_t size)
{
	char *f[4]; /* hash, tt, domain, local */
	char hash[SRS_HASH_LEN + 1];
	if (!split(rest, f, 4) || strlen(f[1]) != 2 || !f[2][0] || !f[3][0])
		return SRS_MALFORMED;
	int hi = b32_value(f[1][0]), lo = b32_value(f[1][1]);
	if (hi < 0 || lo < 0)
		return SRS_MALFORMED;
	const char *h[] = {f[1], f[2], f[3]};
	srs_hash(k, h, 3, hash);
	if (!hash_equal(f[0], strlen(f[0]), hash))
		return SRS_BAD_HASH;
	unsigned age = (today(now) + 1024 - (unsigned)(hi * 32 + lo)) % 1024;
	if (age > SRS_MAX_AGE_DAYS)
		return SRS_EXPIRED;
	int n = snprintf(out, size, "%s@%s", f[3], f[2]);
	return n < 0 || (size_t)n >= size ? SRS_MALFORMED : SRS_OK;
}

static enum srs_result
reverse_srs1(const struct srs_key *k, char *rest, char *out, size_t size)
{
	char hash[SRS_HASH_LEN + 1];
	char *eq = strchr(rest, '=');
	char *sep = eq ? strstr(eq + 1, "==") : NULL;
	if (sep == NULL || sep == eq + 1 || !sep[2])
		return SRS_MALFORMED;
	*eq = '\0';
	*sep = '\0';
	const char *first = eq + 1, *opaque = sep + 2;
	const char *h[] = {first, opaque};
	srs_hash(k, h, 2, hash);
	if (!hash_equal(rest, strlen(rest), hash))
		return SRS_BAD_HASH;
	int n = snprintf(out, size, "SRS0=%s@%s", opaque, first);
	return n < 0 || (size_t)n >= size ? SRS_MALFORMED : SRS_OK;
}

enum srs_result
srs_reverse(const struct srs_key *k, const char *local, int64_t now, char *out, size_t size)
{
	char buf[SMTP_LOCAL_MAX + 1];
	if (!srs_is_srs(local))
		return SRS_NOT_SRS;
	if (strlen(local) > SMTP_LOCAL_MAX)
		return SRS_MALFORMED;
	memcpy(buf, local, strlen(local) + 1);
	return local[3] == '0' ? reverse_srs0(k, buf + 5, now, out, size)
			       : reverse_srs1(k, buf + 5, out, size);
}

const char *
srs_result_text(enum srs_result r)
{
	switch (r) {
	case SRS_OK:
		return "valid";
	case SRS_NOT_SRS:
		return "not an SRS address";
	case SRS_MALFORMED:
		return "not a well-formed SRS address";
	case SRS_BAD_HASH:
		return "its hash was not made with our secret";
	case SRS_EXPIRED:
		return "it is older than 21 days";
	case SRS_TOO_LONG:
		return "the rewritten local part would be longer than 64 octets";
	}
	return "?";
}
