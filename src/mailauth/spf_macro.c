/*
 * spf_macro: RFC 7208 section 7, the macro language of domain-specs and
 * explanation strings, and the small address and name helpers the SPF
 * files share.
 *
 * A macro-string is checked once when its record is parsed (any error is
 * the record's permerror, 4.6) and expanded at evaluation time, so
 * expansion can only fail on an output limit.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "spf_internal.h"
#include "str.h"

#define SPF_DOMAIN_MAX 253 /* RFC 7208 7.3: an expanded name is cut to this */

static const char spf_delims[] = ".-+,/_=";

static bool why_set(char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool
why_set(char *why, size_t why_size, const char *fmt, ...)
{
	if (why && why_size) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, why_size, fmt, ap);
		va_end(ap);
	}
	return false;
}

/* RFC 7208 4.8 toplabel: alphanumerics with a letter, or a hyphenated run of them. */
static bool
is_toplabel(const char *p, size_t n)
{
	if (n == 0 || !isalnum((unsigned char)p[0]) || !isalnum((unsigned char)p[n - 1]))
		return false;
	bool alpha = false, dash = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '-')
			dash = true;
		else if (isalpha(c))
			alpha = true;
		else if (!isdigit(c))
			return false;
	}
	return alpha || dash;
}

/* The literal tail after the last macro must be "." toplabel ["."] (4.8 domain-end). */
static bool
has_domain_end(const char *p, size_t n)
{
	if (n > 0 && p[n - 1] == '.')
		n--;
	size_t dot = n;
	while (dot > 0 && p[dot - 1] != '.')
		dot--;
	if (dot == 0)
		return false; /* no "." before the top label */
	return is_toplabel(p + dot, n - dot);
}

/*
 * Reads the macro at s[i] == '%' (i + 1 < len known): sets the letter (0
 * for %%, %_, %-), the digits, reverse, the delimiter set; returns the
 * index after it, 0 on a syntax error (why set).
 */
static size_t
macro_token(const char *s, size_t len, size_t i, bool exp_text, char *letter, unsigned *digits,
	    bool *reverse, char delims[8], char *why, size_t why_size)
{
	char n = s[i + 1];
	*letter = 0;
	if (n == '%' || n == '_' || n == '-')
		return i + 2;
	if (n != '{') {
		char bad[2] = {n, 0};
		why_set(why, why_size, "'%%%s' is not a macro (write %%%% for a percent sign)",
			isprint((unsigned char)n) ? bad : "?");
		return 0;
	}
	size_t j = i + 2;
	char l = j < len ? (char)tolower((unsigned char)s[j]) : 0;
	if (l == 0 || strchr("slodiphcrtv", l) == NULL) {
		why_set(why, why_size, "unknown macro letter in %s", "%{...}");
		return 0;
	}
	if (!exp_text && strchr("crt", l)) {
		char name[2] = {l, 0};
		why_set(why, why_size, "macro %%{%s} is allowed in exp= text only (RFC 7208 7.3)",
			name);
		return 0;
	}
	*letter = s[j++];
	*digits = 0;
	bool had_digits = false;
	while (j < len && isdigit((unsigned char)s[j])) {
		had_digits = true;
		if (*digits < 1000)
			*digits = *digits * 10 + (unsigned)(s[j] - '0');
		j++;
	}
	if (had_digits && *digits == 0) {
		why_set(why, why_size, "%s: a macro's digit transformer must not be 0", "%{...}");
		return 0;
	}
	*reverse = false;
	if (j < len && (s[j] == 'r' || s[j] == 'R')) {
		*reverse = true;
		j++;
	}
	size_t nd = 0;
	while (j < len && s[j] != 0 && strchr(spf_delims, s[j])) {
		if (nd < 7 && memchr(delims, s[j], nd) == NULL)
			delims[nd++] = s[j];
		j++;
	}
	delims[nd] = 0;
	if (j >= len || s[j] != '}') {
		why_set(why, why_size, "%s: a macro is not closed by '}' where expected", "%{...}");
		return 0;
	}
	return j + 1;
}

bool
spf_macro_check(const char *s, size_t len, bool exp_text, char *why, size_t why_size)
{
	size_t i = 0, tail = 0;
	bool any_macro = false;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 1 >= len)
				return why_set(
				    why, why_size, "%s",
				    "a lone '%' ends the text (write %% for a percent sign)");
			char letter, delims[8];
			unsigned digits;
			bool reverse;
			size_t next = macro_token(s, len, i, exp_text, &letter, &digits, &reverse,
						  delims, why, why_size);
			if (next == 0)
				return false;
			i = tail = next;
			any_macro = true;
			continue;
		}
		if (c == ' ' && exp_text) {
			i++;
			continue;
		}
		if (c < 0x21 || c > 0x7e)
			return why_set(why, why_size, "%s",
				       "a character that is not printable US-ASCII");
		i++;
	}
	if (exp_text)
		return true;
	if (len == 0)
		return why_set(why, why_size, "%s", "an empty domain-spec");
	if (any_macro && tail == len)
		return true; /* domain-end = macro-expand */
	if (!has_domain_end(s + tail, len - tail))
		return why_set(why, why_size, "%s",
			       "the domain does not end in a top-level label (RFC 7208 4.8)");
	return true;
}

static void
append_escaped(struct buf *out, const char *p, size_t n)
{
	/* Uppercase macro letters: URL-escape all but RFC 3986 unreserved (7.3). */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			buf_append(out, p + i, 1);
		else
			buf_printf(out, "%%%02X", c);
	}
}

static void
ip_reverse_dotted(const struct spf_macro_env *env, struct buf *v)
{
	if (env->family == 4) {
		buf_printf(v, "%u.%u.%u.%u", env->ip[0], env->ip[1], env->ip[2], env->ip[3]);
		return;
	}
	/* %{i} of IPv6: 32 nibbles, dot-separated, most significant first (7.3). */
	for (int k = 0; k < 16; k++)
		buf_printf(v, "%s%x.%x", k ? "." : "", env->ip[k] >> 4, env->ip[k] & 15);
}

/* The raw value of a macro letter (before the transformers). */
static void
macro_value(char letter, const struct spf_macro_env *env, struct buf *v)
{
	char tmp[64];
	const char *p = NULL;
	switch (tolower((unsigned char)letter)) {
	case 's':
		p = env->sender;
		break;
	case 'l':
		p = env->local;
		break;
	case 'o':
		p = env->sender_d;
		break;
	case 'd':
		p = env->domain;
		break;
	case 'h':
		p = env->helo;
		break;
	case 'r':
		p = env->receiver && *env->receiver ? env->receiver : "unknown";
		break;
	case 'v':
		p = env->family == 6 ? "ip6" : "in-addr";
		break;
	case 'i':
		ip_reverse_dotted(env, v);
		return;
	case 'c':
		spf_ip_format(env->family, env->ip, tmp, sizeof tmp);
		p = tmp;
		break;
	case 't':
		snprintf(tmp, sizeof tmp, "%" PRId64, env->now);
		p = tmp;
		break;
	case 'p':
		p = env->ptr_name ? env->ptr_name(env->ptr_arg) : NULL;
		if (p == NULL)
			p = "unknown";
		break;
	default:
		break;
	}
	buf_append_str(v, p ? p : "");
}

/* Split v on delims, reverse if asked, keep the rightmost digits parts, join with '.'. */
static bool
macro_transform(const struct buf *v, const char *delims, unsigned digits, bool reverse,
		struct buf *out, bool escape)
{
	enum { MAXPARTS = 256 };
	struct strv parts[MAXPARTS];
	size_t np = 0, start = 0;
	const char *d = *delims ? delims : ".";
	for (size_t i = 0; i <= v->len; i++) {
		if (i == v->len || strchr(d, v->data[i])) {
			if (np < MAXPARTS)
				parts[np++] = (struct strv){v->data + start, i - start};
			start = i + 1;
		}
	}
	if (reverse)
		for (size_t a = 0, b = np - 1; a < b; a++, b--) {
			struct strv t = parts[a];
			parts[a] = parts[b];
			parts[b] = t;
		}
	size_t first = digits && digits < np ? np - digits : 0;
	size_t before = out->len, want = 0;
	for (size_t k = first; k < np; k++) {
		want += (k > first) + parts[k].len;
		if (k > first)
			buf_append(out, ".", 1);
		if (escape)
			append_escaped(out, parts[k].p, parts[k].len);
		else
			buf_append(out, parts[k].p, parts[k].len);
	}
	return out->len - before >= want; /* escaping only grows it; less is a refused append */
}

/* RFC 7208 7.3: drop whole labels from the left until the name fits in 253 octets. */
static void
truncate_domain(struct buf *out)
{
	size_t cut = 0;
	while (out->len - cut > SPF_DOMAIN_MAX) {
		const char *dot = memchr(out->data + cut, '.', out->len - cut);
		if (dot == NULL) {
			cut = out->len;
			break;
		}
		cut = (size_t)(dot - out->data) + 1;
	}
	buf_consume(out, cut);
}

bool
spf_macro_expand(const char *s, size_t len, const struct spf_macro_env *env, bool exp_text,
		 struct buf *out, char *why, size_t why_size)
{
	buf_reset(out);
	if (why && why_size)
		*why = 0;
	struct buf v;
	buf_init(&v, 4096);
	bool ok = true;
	size_t i = 0;
	while (i < len && ok) {
		if (s[i] != '%') {
			size_t j = i;
			while (j < len && s[j] != '%')
				j++;
			ok = buf_append(out, s + i, j - i);
			i = j;
			if (!ok)
				why_set(why, why_size, "%s", "the expansion is too long");
			continue;
		}
		char letter, delims[8] = {0};
		unsigned digits = 0;
		bool reverse = false;
		size_t next = i + 1 < len ? macro_token(s, len, i, exp_text, &letter, &digits,
							&reverse, delims, why, why_size)
					  : 0;
		if (next == 0) {
			ok = i + 1 < len ? false : why_set(why, why_size, "%s", "a lone '%'");
			break;
		}
		if (letter == 0) {
			const char *lit = s[i + 1] == '%' ? "%" : s[i + 1] == '_' ? " " : "%20";
			ok = buf_append_str(out, lit);
		} else {
			buf_reset(&v);
			macro_value(letter, env, &v);
			ok = macro_transform(&v, delims, digits, reverse, out,
					     isupper((unsigned char)letter) != 0);
			if (!ok)
				why_set(why, why_size, "%s", "the expansion is too long");
		}
		i = next;
	}
	buf_free(&v);
	if (!ok && why && why_size && !*why)
		why_set(why, why_size, "%s", "the expansion is too long");
	if (ok && !exp_text)
		truncate_domain(out);
	return ok;
}

int
spf_ip_parse(const char *s, unsigned char ip[16])
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	unsigned char a6[16];
	memset(ip, 0, 16);
	if (s == NULL)
		return 0;
	if (inet_pton(AF_INET, s, ip) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, a6) != 1)
		return 0;
	if (memcmp(a6, mapped, 12) == 0) { /* ::ffff:a.b.c.d is the IPv4 client a.b.c.d */
		memcpy(ip, a6 + 12, 4);
		return 4;
	}
	memcpy(ip, a6, 16);
	return 6;
}

void
spf_ip_format(int family, const unsigned char ip[16], char *out, size_t out_size)
{
	if (inet_ntop(family == 6 ? AF_INET6 : AF_INET, ip, out, (socklen_t)out_size) == NULL)
		str_copy(out, out_size, "");
}

bool
spf_ip_prefix_eq(const unsigned char *a, const unsigned char *b, int bits)
{
	int bytes = bits / 8, rest = bits % 8;
	if (memcmp(a, b, (size_t)bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

bool
spf_domain_is_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;
	if (len > 0 && name[len - 1] == '.')
		len--;
	/* Structure only: a macro may put any octet in a name (RFC 7208 7.1 allows
	 * "foo:bar/baz.example.com"), and DNS carries any octet in a label. */
	if (len == 0 || len > SPF_DOMAIN_MAX || name[0] == '[')
		return false; /* "[192.0.2.1]" is a domain literal, not a domain */
	size_t labels = 0, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && name[i] != '.')
			continue;
		if (i - start == 0 || i - start > 63)
			return false;
		labels++;
		start = i + 1;
	}
	return labels >= 2;
}
