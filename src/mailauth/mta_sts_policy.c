/*
 * mta_sts_policy: RFC 8461 3.2 policy files and 4.1 MX matching (see the
 * header). The parser walks the bytes line by line; nothing is copied but
 * the values it keeps, each into a bounded field.
 */
#include "mta_sts_policy.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "str.h"

static bool
is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* RFC 5321 Domain: sub-domains of letters, digits and inner hyphens, dot-separated. */
static bool
is_domain(const char *s)
{
	size_t total = strlen(s);
	if (total == 0 || total > 253)
		return false;
	while (*s) {
		size_t n = 0;
		while (s[n] && s[n] != '.') {
			if (!is_alnum(s[n]) && !(s[n] == '-' && n > 0))
				return false;
			n++;
		}
		if (n == 0 || n > 63 || s[n - 1] == '-')
			return false;
		s += n;
		if (*s == '.' && *++s == '\0')
			return false; /* a trailing dot or an empty label */
	}
	return true;
}

bool
mta_sts_is_mx_pattern(const char *pattern)
{
	if (strncmp(pattern, "*.", 2) == 0)
		pattern += 2;
	return is_domain(pattern);
}

const char *
mta_sts_mode_name(int mode)
{
	switch (mode) {
	case MTA_STS_ENFORCE:
		return "enforce";
	case MTA_STS_TESTING:
		return "testing";
	default:
		return "none";
	}
}

/* Bits of the fields seen, to refuse a second one (RFC 8461 3.2: "once"). */
enum { SEEN_VERSION = 1, SEEN_MODE = 2, SEEN_MAX_AGE = 4 };

/* RFC 5234 WSP. */
static bool
is_wsp(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* The values of the known fields; each returns 0, or -1 with why. */
static int
field_mode(const char *value, unsigned lineno, struct mta_sts_policy *p, char *why, size_t n)
{
	if (strcmp(value, "enforce") == 0)
		p->mode = MTA_STS_ENFORCE;
	else if (strcmp(value, "testing") == 0)
		p->mode = MTA_STS_TESTING;
	else if (strcmp(value, "none") == 0)
		p->mode = MTA_STS_NONE;
	else {
		snprintf(why, n,
			 "line %u: mode is \"%.40s\", not enforce, testing or none (lower case)",
			 lineno, value);
		return -1;
	}
	return 0;
}

static int
field_max_age(const char *value, unsigned lineno, struct mta_sts_policy *p, char *why, size_t n)
{
	size_t d = strspn(value, "0123456789");
	if (d == 0 || d > 10 || value[d] != '\0') {
		snprintf(why, n, "line %u: max_age is \"%.40s\", not 1 to 10 digits", lineno,
			 value);
		return -1;
	}
	long long age = 0;
	for (size_t i = 0; i < d; i++)
		age = age * 10 + (value[i] - '0');
	/* RFC 8461 3.2: at most 31557600; a longer one is kept for that long. */
	p->max_age = age > MTA_STS_MAX_AGE_MAX ? MTA_STS_MAX_AGE_MAX : (long)age;
	return 0;
}

static int
field_mx(char *value, unsigned lineno, struct mta_sts_policy *p, char *why, size_t n)
{
	if (!mta_sts_is_mx_pattern(value)) {
		snprintf(why, n, "line %u: mx \"%.80s\" is not a host name or *.domain", lineno,
			 value);
		return -1;
	}
	if (p->nmx == MTA_STS_MAX_MX) {
		snprintf(why, n, "more than %d mx lines; mailport reads at most %d", MTA_STS_MAX_MX,
			 MTA_STS_MAX_MX);
		return -1;
	}
	str_lower(value);
	str_copy(p->mx[p->nmx++], sizeof p->mx[0], value);
	return 0;
}

/* RFC 8461 3.2 sts-policy-ext-name: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / "."). */
static bool
is_ext_name(const char *name, size_t len)
{
	bool ok = len >= 1 && len <= 32 && is_alnum(name[0]);
	for (size_t i = 1; ok && i < len; i++)
		ok = is_alnum(name[i]) || name[i] == '_' || name[i] == '-' || name[i] == '.';
	return ok;
}

/* A known field seen before: refused (RFC 8461 3.2: "once"). */
static int
once(unsigned *seen, unsigned bit, const char *key, unsigned lineno, char *why, size_t n)
{
	if (*seen & bit) {
		snprintf(why, n, "line %u: a second \"%s:\" (RFC 8461 3.2: once)", lineno, key);
		return -1;
	}
	*seen |= bit;
	return 0;
}

/* One "key: value" line (no terminator); 0, or -1 with why. */
static int
parse_field(const char *line, size_t len, unsigned lineno, unsigned *seen, struct mta_sts_policy *p,
	    char *why, size_t n)
{
	const char *colon = memchr(line, ':', len);
	if (colon == NULL) {
		snprintf(why, n, "line %u has no ':' (RFC 8461 3.2: \"key: value\" lines)", lineno);
		return -1;
	}
	size_t kn = (size_t)(colon - line);
	const char *v = colon + 1, *end = line + len;
	while (v < end && is_wsp(*v))
		v++;
	while (end > v && is_wsp(end[-1]))
		end--;
	char value[300];
	if (!str_copy_n(value, sizeof value, v, (size_t)(end - v)) ||
	    memchr(v, '\0', (size_t)(end - v)) != NULL) {
		snprintf(why, n, "line %u: the value is too long or holds a NUL byte", lineno);
		return -1;
	}
#define KEY(k) (kn == sizeof(k) - 1 && memcmp(line, k, kn) == 0)
	if (KEY("version")) {
		if (once(seen, SEEN_VERSION, "version", lineno, why, n) < 0)
			return -1;
		if (strcmp(value, "STSv1") != 0) {
			snprintf(why, n, "line %u: version is \"%.40s\", not STSv1", lineno, value);
			return -1;
		}
		return 0;
	}
	if (KEY("mode"))
		return once(seen, SEEN_MODE, "mode", lineno, why, n) < 0
			   ? -1
			   : field_mode(value, lineno, p, why, n);
	if (KEY("max_age"))
		return once(seen, SEEN_MAX_AGE, "max_age", lineno, why, n) < 0
			   ? -1
			   : field_max_age(value, lineno, p, why, n);
	if (KEY("mx"))
		return field_mx(value, lineno, p, why, n);
#undef KEY
	/* Unknown fields are ignored (RFC 8461 3.2), if they are fields at all. */
	if (!is_ext_name(line, kn)) {
		snprintf(why, n, "line %u: \"%.*s\" is not a field name", lineno,
			 (int)(kn > 40 ? 40 : kn), line);
		return -1;
	}
	return 0;
}

int
mta_sts_policy_parse(const char *text, size_t len, struct mta_sts_policy *p, char *why, size_t n)
{
	memset(p, 0, sizeof *p);
	why[0] = '\0';
	unsigned seen = 0, lineno = 0;
	for (size_t at = 0; at < len;) {
		const char *line = text + at;
		const char *lf = memchr(line, '\n', len - at);
		size_t ll = lf ? (size_t)(lf - line) : len - at;
		at += ll + (lf ? 1 : 0);
		lineno++;
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if (memchr(line, '\r', ll) != NULL) {
			snprintf(why, n, "line %u holds a bare CR (lines end in LF or CRLF)",
				 lineno);
			return -1;
		}
		size_t sp = 0;
		while (sp < ll && is_wsp(line[sp]))
			sp++;
		if (sp == ll)
			continue; /* blank lines: not in the ABNF, harmless, often served */
		if (parse_field(line, ll, lineno, &seen, p, why, n) < 0)
			return -1;
	}
	if (!(seen & SEEN_VERSION)) {
		snprintf(why, n, "no \"version: STSv1\" line (RFC 8461 3.2)");
		return -1;
	}
	if (!(seen & SEEN_MODE)) {
		snprintf(why, n, "no \"mode:\" line (RFC 8461 3.2)");
		return -1;
	}
	if (!(seen & SEEN_MAX_AGE)) {
		snprintf(why, n, "no \"max_age:\" line (RFC 8461 3.2)");
		return -1;
	}
	if (p->nmx == 0 && p->mode != MTA_STS_NONE) {
		snprintf(why, n, "mode %s but no \"mx:\" line (RFC 8461 3.2)",
			 mta_sts_mode_name(p->mode));
		return -1;
	}
	return 0;
}

static bool
pattern_match(const char *pattern, const char *host, size_t hn)
{
	if (strncmp(pattern, "*.", 2) == 0) {
		/* RFC 8461 4.1: the wildcard stands for exactly one leftmost label. */
		const char *dot = memchr(host, '.', hn);
		if (dot == NULL || dot == host)
			return false;
		size_t rest = hn - (size_t)(dot + 1 - host);
		return strlen(pattern + 2) == rest && strncmp(dot + 1, pattern + 2, rest) == 0;
	}
	return strlen(pattern) == hn && strncmp(pattern, host, hn) == 0;
}

bool
mta_sts_mx_match(const struct mta_sts_policy *p, const char *mx_host)
{
	char host[256];
	if (!str_copy(host, sizeof host, mx_host))
		return false;
	str_lower(host);
	size_t hn = strlen(host);
	if (hn > 0 && host[hn - 1] == '.')
		host[--hn] = '\0';
	if (hn == 0)
		return false;
	for (size_t i = 0; i < p->nmx && i < MTA_STS_MAX_MX; i++)
		if (pattern_match(p->mx[i], host, hn))
			return true;
	return false;
}

int
mta_sts_policy_format(const struct mta_sts_policy *p, char *out, size_t size)
{
	if (p->max_age < 0 || p->max_age > MTA_STS_MAX_AGE_MAX || p->nmx > MTA_STS_MAX_MX ||
	    (p->nmx == 0 && p->mode != MTA_STS_NONE) ||
	    (p->mode != MTA_STS_NONE && p->mode != MTA_STS_TESTING && p->mode != MTA_STS_ENFORCE))
		return -1;
	int len = snprintf(out, size, "version: STSv1\r\nmode: %s\r\n", mta_sts_mode_name(p->mode));
	for (size_t i = 0; i < p->nmx; i++) {
		if (!mta_sts_is_mx_pattern(p->mx[i]) || len < 0 || (size_t)len >= size)
			return -1;
		len += snprintf(out + len, size - (size_t)len, "mx: %s\r\n", p->mx[i]);
	}
	if (len < 0 || (size_t)len >= size)
		return -1;
	len += snprintf(out + len, size - (size_t)len, "max_age: %ld\r\n", p->max_age);
	if (len < 0 || (size_t)len >= size)
		return -1;
	return len;
}

#define CACHE_MAGIC "mailport-mta-sts 1\n"

int
mta_sts_cache_file_format(const char *id, int64_t fetched, const char *policy, size_t len,
			  char *out, size_t size)
{
	int h = snprintf(out, size, CACHE_MAGIC "id: %s\nfetched: %" PRId64 "\n\n", id, fetched);
	if (h < 0 || (size_t)h + len >= size)
		return -1;
	memcpy(out + h, policy, len);
	out[(size_t)h + len] = '\0';
	return h + (int)len;
}

/* "key: value\n" at *at, the value into v[vsize]; false if it is not that. */
static bool
header_line(const char *text, size_t len, size_t *at, const char *key, char *v, size_t vsize)
{
	size_t kn = strlen(key);
	const char *line = text + *at;
	const char *lf = memchr(line, '\n', len - *at);
	if (lf == NULL || (size_t)(lf - line) < kn || memcmp(line, key, kn) != 0)
		return false;
	*at += (size_t)(lf - line) + 1;
	return str_copy_n(v, vsize, line + kn, (size_t)(lf - line) - kn) &&
	       memchr(line + kn, '\0', (size_t)(lf - line) - kn) == NULL;
}

int
mta_sts_cache_file_parse(const char *text, size_t len, struct mta_sts_policy *p, char *why,
			 size_t n)
{
	size_t at = sizeof CACHE_MAGIC - 1;
	char id[64], fetched[32];
	memset(p, 0, sizeof *p);
	if (len < at || memcmp(text, CACHE_MAGIC, at) != 0) {
		snprintf(why, n, "not a mailport MTA-STS cache file (first line)");
		return -1;
	}
	if (!header_line(text, len, &at, "id: ", id, sizeof id) ||
	    !header_line(text, len, &at, "fetched: ", fetched, sizeof fetched) || at >= len ||
	    text[at] != '\n') {
		snprintf(why, n, "the cache file's header is damaged");
		return -1;
	}
	at++;
	uint64_t t;
	size_t idn = strlen(id);
	if (idn == 0 || idn > 32 || !str_parse_u64(strv_from(fetched), &t) || t > INT64_MAX) {
		snprintf(why, n, "the cache file's id or fetch time is damaged");
		return -1;
	}
	for (size_t i = 0; i < idn; i++)
		if (!is_alnum(id[i])) {
			snprintf(why, n, "the cache file's id is damaged");
			return -1;
		}
	if (mta_sts_policy_parse(text + at, len - at, p, why, n) < 0)
		return -1;
	str_copy(p->id, sizeof p->id, id);
	p->fetched = (int64_t)t;
	return 0;
}
