/*
 * spf_record: an SPF record's text -> its terms (RFC 7208 4.6.1, 5, 6 and
 * the ABNF of 12). The whole record is checked before any of it is used:
 * a syntax error anywhere is a permerror even when an earlier term would
 * have matched (4.6). Names of mechanisms and modifiers are
 * case-insensitive; unknown modifiers are checked for syntax and ignored
 * (6); redirect= and exp= may appear once each.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spf_internal.h"
#include "str.h"
#include "xmalloc.h"

static const char *const mech_names[] = {"all", "include", "a",	  "mx",
					 "ptr", "ip4",	   "ip6", "exists"};

const char *
spf_mech_name(enum spf_mech m)
{
	return (unsigned)m < sizeof mech_names / sizeof mech_names[0] ? mech_names[m] : "?";
}

bool
spf_mech_queries_dns(enum spf_mech m)
{
	return m == SPF_M_INCLUDE || m == SPF_M_A || m == SPF_M_MX || m == SPF_M_PTR ||
	       m == SPF_M_EXISTS;
}

bool
spf_record_is_spf(const char *txt)
{
	return strncasecmp(txt, "v=spf1", 6) == 0 && (txt[6] == 0 || txt[6] == ' ');
}

static int
fail(char *why, size_t why_size, const char *term, size_t len, const char *what)
{
	char shown[96];
	str_escape(shown, sizeof shown, term, len);
	snprintf(why, why_size, "'%s': %s", shown, what);
	return -1;
}

/* ip4-cidr-length / ip6-cidr-length digits: "0" or no leading zero, at most max. */
static bool
cidr_value(const char *p, size_t n, int max, int *v)
{
	if (n == 0 || n > 3 || (n > 1 && p[0] == '0'))
		return false;
	int x = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return false;
		x = x * 10 + (p[i] - '0');
	}
	if (x > max)
		return false;
	*v = x;
	return true;
}

/* Strict dotted quad (4.6.1 qnum: no leading zeros, 0-255). */
static bool
ip4_strict(const char *p, size_t n, unsigned char out[4])
{
	size_t i = 0;
	for (int k = 0; k < 4; k++) {
		if (k > 0) {
			if (i >= n || p[i] != '.')
				return false;
			i++;
		}
		size_t s = i;
		unsigned v = 0;
		while (i < n && isdigit((unsigned char)p[i]) && i - s < 4)
			v = v * 10 + (unsigned)(p[i++] - '0');
		if (i == s || i - s > 3 || v > 255 || (i - s > 1 && p[s] == '0'))
			return false;
		out[k] = (unsigned char)v;
	}
	return i == n;
}

/*
 * Splits a trailing dual-cidr-length ("/N", "//M", "/N//M") off rest[0..*n),
 * shortening *n. false on a malformed length.
 */
static bool
dual_cidr(const char *rest, size_t *n, struct spf_term *t)
{
	size_t end = *n, i = end;
	while (i > 0 && isdigit((unsigned char)rest[i - 1]))
		i--;
	if (i < end && i >= 2 && rest[i - 1] == '/' && rest[i - 2] == '/') {
		if (!cidr_value(rest + i, end - i, 128, &t->cidr6))
			return false;
		end = i - 2;
	}
	i = end;
	while (i > 0 && isdigit((unsigned char)rest[i - 1]))
		i--;
	if (i < end && i >= 1 && rest[i - 1] == '/') {
		if (!cidr_value(rest + i, end - i, 32, &t->cidr4))
			return false;
		end = i - 1;
	}
	*n = end;
	return true;
}

/* ":" domain-spec into t->domain; required or optional. */
static int
domain_arg(const char *rest, size_t n, bool required, struct spf_term *t, const char *term,
	   size_t tlen, char *why, size_t why_size)
{
	if (n == 0) {
		if (required)
			return fail(why, why_size, term, tlen, "needs ':' and a domain");
		return 0;
	}
	if (rest[0] != ':')
		return fail(why, why_size, term, tlen, "unexpected text after the mechanism name");
	char what[160];
	if (!spf_macro_check(rest + 1, n - 1, false, what, sizeof what))
		return fail(why, why_size, term, tlen, what);
	t->domain = xmalloc(n);
	memcpy(t->domain, rest + 1, n - 1);
	t->domain[n - 1] = 0;
	return 0;
}

static int
ip_arg(const char *rest, size_t n, struct spf_term *t, const char *term, size_t tlen, char *why,
       size_t why_size)
{
	if (n == 0 || rest[0] != ':')
		return fail(why, why_size, term, tlen, "needs ':' and an address");
	const char *addr = rest + 1;
	const char *slash = memchr(addr, '/', n - 1);
	size_t alen = slash ? (size_t)(slash - addr) : n - 1;
	bool v6 = t->mech == SPF_M_IP6;
	if (slash &&
	    !cidr_value(slash + 1, n - 1 - alen - 1, v6 ? 128 : 32, v6 ? &t->cidr6 : &t->cidr4))
		return fail(why, why_size, term, tlen, "a malformed prefix length");
	if (!v6) {
		if (!ip4_strict(addr, alen, t->ip))
			return fail(why, why_size, term, tlen, "not an IPv4 address");
		return 0;
	}
	char buf[64];
	if (alen == 0 || alen >= sizeof buf)
		return fail(why, why_size, term, tlen, "not an IPv6 address");
	memcpy(buf, addr, alen);
	buf[alen] = 0;
	if (inet_pton(AF_INET6, buf, t->ip) != 1)
		return fail(why, why_size, term, tlen, "not an IPv6 address");
	return 0;
}

static int
parse_mechanism(const char *term, size_t len, struct spf_term *t, char *why, size_t why_size)
{
	size_t i = 0;
	t->qualifier = '+';
	if (len > 0 && strchr("+-~?", term[0])) {
		t->qualifier = term[0];
		i = 1;
	}
	size_t name = i;
	while (i < len && isalnum((unsigned char)term[i]))
		i++;
	size_t k = 0, nk = sizeof mech_names / sizeof mech_names[0];
	while (k < nk && !(strlen(mech_names[k]) == i - name &&
			   strncasecmp(mech_names[k], term + name, i - name) == 0))
		k++;
	if (k == nk)
		return fail(why, why_size, term, len, "unknown mechanism");
	t->mech = (enum spf_mech)k;
	t->cidr4 = 32;
	t->cidr6 = 128;
	const char *rest = term + i;
	size_t n = len - i;
	switch (t->mech) {
	case SPF_M_ALL:
		return n == 0 ? 0 : fail(why, why_size, term, len, "'all' takes no argument");
	case SPF_M_INCLUDE:
	case SPF_M_EXISTS:
		return domain_arg(rest, n, true, t, term, len, why, why_size);
	case SPF_M_PTR:
		return domain_arg(rest, n, false, t, term, len, why, why_size);
	case SPF_M_A:
	case SPF_M_MX:
		if (!dual_cidr(rest, &n, t))
			return fail(why, why_size, term, len, "a malformed prefix length");
		return domain_arg(rest, n, false, t, term, len, why, why_size);
	case SPF_M_IP4:
	case SPF_M_IP6:
		return ip_arg(rest, n, t, term, len, why, why_size);
	}
	return fail(why, why_size, term, len, "unknown mechanism");
}

/* name "=" macro-string; name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) (6, 12). */
static size_t
modifier_name_len(const char *term, size_t len)
{
	if (len == 0 || !isalpha((unsigned char)term[0]))
		return 0;
	size_t i = 1;
	while (i < len && (isalnum((unsigned char)term[i]) || strchr("-_.", term[i])))
		i++;
	return i < len && term[i] == '=' ? i : 0;
}

static int
parse_modifier(const char *term, size_t len, size_t nlen, struct spf_record *r, char *why,
	       size_t why_size)
{
	const char *val = term + nlen + 1;
	size_t vlen = len - nlen - 1;
	char **slot = NULL;
	if (nlen == 8 && strncasecmp(term, "redirect", 8) == 0)
		slot = &r->redirect;
	else if (nlen == 3 && strncasecmp(term, "exp", 3) == 0)
		slot = &r->exp;
	char what[160];
	/* Unknown modifiers are ignored, but their value must still be a macro-string. */
	if (!spf_macro_check(val, vlen, slot == NULL, what, sizeof what))
		return fail(why, why_size, term, len, what);
	if (slot == NULL)
		return 0;
	if (*slot)
		return fail(why, why_size, term, len, "this modifier appears twice (RFC 7208 6)");
	*slot = xmalloc(vlen + 1);
	memcpy(*slot, val, vlen);
	(*slot)[vlen] = 0;
	return 0;
}

int
spf_record_parse(const char *txt, struct spf_record *r, char *why, size_t why_size)
{
	memset(r, 0, sizeof *r);
	if (!spf_record_is_spf(txt)) {
		snprintf(why, why_size, "not an SPF record (it must start with \"v=spf1\")");
		return -1;
	}
	for (const unsigned char *c = (const unsigned char *)txt; *c; c++)
		if (*c < 0x20 || *c > 0x7e) {
			snprintf(why, why_size,
				 "the record holds a byte that is not printable US-ASCII "
				 "(0x%02x; RFC 7208 3.1)",
				 *c);
			return -1;
		}
	size_t cap = 0;
	const char *p = txt + 6;
	while (*p) {
		while (*p == ' ')
			p++;
		if (*p == 0)
			break;
		size_t len = strcspn(p, " ");
		size_t nlen = modifier_name_len(p, len);
		int rc;
		if (nlen) {
			rc = parse_modifier(p, len, nlen, r, why, why_size);
		} else {
			if (r->nterms == cap) {
				cap = cap ? cap * 2 : 8;
				r->terms = xrealloc(r->terms, cap * sizeof *r->terms);
			}
			struct spf_term *t = &r->terms[r->nterms];
			memset(t, 0, sizeof *t);
			rc = parse_mechanism(p, len, t, why, why_size);
			str_copy_n(t->text, sizeof t->text, p,
				   len < sizeof t->text ? len : sizeof t->text - 1);
			r->nterms++;
			if (t->mech == SPF_M_ALL && rc == 0)
				r->has_all = true;
		}
		if (rc < 0) {
			spf_record_free(r);
			return -1;
		}
		p += len;
	}
	return 0;
}

void
spf_record_free(struct spf_record *r)
{
	for (size_t i = 0; i < r->nterms; i++)
		free(r->terms[i].domain);
	free(r->terms);
	free(r->redirect);
	free(r->exp);
	memset(r, 0, sizeof *r);
}

unsigned
spf_record_dns_terms(const struct spf_record *r)
{
	unsigned n = 0;
	for (size_t i = 0; i < r->nterms; i++)
		n += spf_mech_queries_dns(r->terms[i].mech);
	/* A redirect is ignored when the record has an "all" (6.1). */
	return n + (r->redirect && !r->has_all);
}
