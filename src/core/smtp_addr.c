/*
 * smtp_addr: parser for RFC 5321 4.1.2 paths and mailboxes, with the
 * RFC 6531 3.3 UTF-8 extensions when the client gave SMTPUTF8.
 *
 * Strict by design: a Dot-string is atoms of atext joined by single dots, a
 * Quoted-string is qtextSMTP and quoted-pairSMTP, a domain is LDH labels of
 * 1..63 octets with no leading or trailing hyphen and no trailing dot, or an
 * address literal (a dotted quad, or "IPv6:" and hex/colon/dot characters,
 * checked loosely). A source route (4.1.1.3, Appendix C) is validated for
 * shape and then dropped. Bytes >= 0x80 are taken only with utf8 and only
 * as whole, shortest-form UTF-8 sequences without surrogates (RFC 3629 4).
 * The error that is reported is the first one met from left to right, but
 * length limits (4.5.3.1) beat the characters of the part they measure.
 * Pure: nothing is allocated; the result is copied into struct smtp_addr.
 */
#include "smtp_addr.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "utf8.h"

/* RFC 5321 4.1.2 / RFC 5322 3.2.3 atext, ASCII part. */
static bool
is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool
is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool
in_range(const unsigned char *p, size_t i, size_t n, unsigned lo, unsigned hi)
{
	return i < n && p[i] >= lo && p[i] <= hi;
}

/* An 8-bit byte at p: how many bytes the character takes, or why it is refused. */
static enum addr_err
eight_bit(const unsigned char *p, size_t n, bool utf8, size_t *seq_r)
{
	if (!utf8)
		return ADDR_NEED_UTF8;
	*seq_r = utf8_seq_len(p, n);
	return *seq_r ? ADDR_OK : ADDR_BAD_UTF8;
}

/* RFC 5321 4.1.2 Quoted-string; p[i] is the opening quote. */
static enum addr_err
scan_quoted(const unsigned char *p, size_t n, size_t i, bool utf8, size_t *end_r)
{
	enum addr_err e;
	size_t seq;

	for (i++; i < n; i++) {
		unsigned char c = p[i];
		if (c == '"') {
			*end_r = i + 1;
			return ADDR_OK;
		}
		if (c == '\\') {
			if (!in_range(p, i + 1, n, 32, 126))
				return ADDR_BAD_LOCAL;
			i++;
		} else if (c >= 0x80) {
			if ((e = eight_bit(p + i, n - i, utf8, &seq)) != ADDR_OK)
				return e;
			i += seq - 1;
		} else if (c < 32 || c == 127) {
			return ADDR_BAD_LOCAL;
		}
	}
	return ADDR_SYNTAX; /* no closing quote */
}

/* RFC 5321 4.1.2 Dot-string: Atom *("." Atom). Ends at the first other byte. */
static enum addr_err
scan_dot_string(const unsigned char *p, size_t n, size_t i, bool utf8, size_t *end_r)
{
	bool need_atom = true;
	enum addr_err e;
	size_t seq;

	while (i < n) {
		unsigned char c = p[i];
		if (c >= 0x80) {
			if ((e = eight_bit(p + i, n - i, utf8, &seq)) != ADDR_OK)
				return e;
			i += seq;
		} else if (is_atext(c)) {
			i++;
		} else if (c == '.' && !need_atom) {
			i++;
			need_atom = true;
			continue;
		} else if (c == '.') {
			return ADDR_BAD_LOCAL; /* leading or double dot */
		} else {
			break;
		}
		need_atom = false;
	}
	*end_r = i;
	return need_atom ? ADDR_BAD_LOCAL : ADDR_OK;
}

/* RFC 5321 4.1.3, loosely for IPv6: the tag and then hex digits, colons, dots. */
static bool
is_address_literal(const unsigned char *p, size_t n)
{
	if (n >= 5 && strncasecmp((const char *)p, "IPv6:", 5) == 0) {
		size_t colons = 0;
		for (size_t i = 5; i < n; i++) {
			if (!is_hex(p[i]) && p[i] != ':' && p[i] != '.')
				return false;
			colons += p[i] == ':';
		}
		return colons >= 2;
	}
	size_t parts = 0, i = 0;
	while (parts < 4) {
		unsigned v = 0;
		size_t digits = 0;
		for (; i < n && p[i] >= '0' && p[i] <= '9' && digits < 4; i++, digits++)
			v = v * 10 + (unsigned)(p[i] - '0');
		if (digits == 0 || digits > 3 || v > 255)
			return false;
		if (++parts < 4 && (i >= n || p[i++] != '.'))
			return false;
	}
	return i == n;
}

/* One label: 1..63 octets of letters, digits, hyphens (and UTF-8 with utf8). */
static enum addr_err
check_label(const unsigned char *p, size_t n, bool utf8)
{
	enum addr_err e;
	size_t seq;

	if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-')
		return ADDR_BAD_DOMAIN;
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 0x80) {
			if ((e = eight_bit(p + i, n - i, utf8, &seq)) != ADDR_OK)
				return e;
			i += seq - 1;
		} else if (!is_alnum(p[i]) && p[i] != '-') {
			return ADDR_BAD_DOMAIN;
		}
	}
	return ADDR_OK;
}

/* RFC 5321 4.1.2 Domain / address-literal, the whole of p[0..n). */
static enum addr_err
check_domain(const unsigned char *p, size_t n, bool utf8)
{
	enum addr_err e;
	size_t start = 0;

	if (n > 0 && p[0] == '[') {
		if (n < 2 || p[n - 1] != ']' || !is_address_literal(p + 1, n - 2))
			return ADDR_BAD_DOMAIN;
		return ADDR_OK;
	}
	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != '.')
			continue;
		/* A trailing dot makes an empty last label and is refused. */
		if ((e = check_label(p + start, i - start, utf8)) != ADDR_OK)
			return e;
		start = i + 1;
	}
	return ADDR_OK;
}

/*
 * "local@domain" starting at p[i]. In a path the domain ends at the first
 * '>' (no valid domain contains one) and *end_r is that '>'; otherwise the
 * domain is the rest of the input.
 */
static enum addr_err
parse_mailbox_at(const unsigned char *p, size_t n, size_t i, bool in_path, bool utf8,
		 struct smtp_addr *a, size_t *end_r)
{
	enum addr_err e;
	size_t at, end;

	if (i < n && p[i] == '"')
		e = scan_quoted(p, n, i, utf8, &at);
	else
		e = scan_dot_string(p, n, i, utf8, &at);
	if (e != ADDR_OK)
		return e;
	if (at >= n || (in_path && p[at] == '>'))
		return ADDR_SYNTAX; /* no '@' at all */
	if (p[at] != '@')
		return ADDR_BAD_LOCAL;
	if (at - i > SMTP_LOCAL_MAX)
		return ADDR_LOCAL_TOO_LONG;
	end = n;
	if (in_path) {
		const unsigned char *gt = memchr(p + at + 1, '>', n - at - 1);
		if (gt == NULL)
			return ADDR_SYNTAX;
		end = (size_t)(gt - p);
	}
	if (end - at - 1 > SMTP_DOMAIN_MAX)
		return ADDR_DOMAIN_TOO_LONG;
	if ((e = check_domain(p + at + 1, end - at - 1, utf8)) != ADDR_OK)
		return e;
	memcpy(a->local, p + i, at - i);
	a->local[at - i] = '\0';
	memcpy(a->domain, p + at + 1, end - at - 1);
	a->domain[end - at - 1] = '\0';
	*end_r = end;
	return ADDR_OK;
}

/* RFC 5321 4.1.2 A-d-l "@a,@b:" after the '<'; *i_r is moved past the ':'. */
static enum addr_err
skip_source_route(const unsigned char *p, size_t n, bool utf8, size_t *i_r)
{
	enum addr_err e;
	size_t i = *i_r;

	for (;;) {
		if (i >= n || p[i] != '@')
			return ADDR_SYNTAX;
		size_t start = ++i;
		while (i < n && p[i] != ',' && p[i] != ':' && p[i] != '>')
			i++;
		if ((e = check_domain(p + start, i - start, utf8)) != ADDR_OK)
			return e;
		if (i >= n || p[i] == '>')
			return ADDR_SYNTAX;
		if (p[i++] == ':')
			break;
	}
	*i_r = i;
	return ADDR_OK;
}

enum addr_err
smtp_addr_parse_path(struct strv s, bool allow_null, bool utf8, struct smtp_addr *addr_r,
		     size_t *end_r)
{
	const unsigned char *p = (const unsigned char *)s.p;
	enum addr_err e;
	size_t i = 1, gt;

	memset(addr_r, 0, sizeof *addr_r);
	*end_r = 0;
	if (s.len < 2 || p[0] != '<')
		return ADDR_SYNTAX;
	if (p[1] == '>') {
		if (!allow_null)
			return ADDR_SYNTAX;
		addr_r->is_null = true;
		*end_r = 2;
		return ADDR_OK;
	}
	if (p[1] == '@' && (e = skip_source_route(p, s.len, utf8, &i)) != ADDR_OK)
		return e;
	if ((e = parse_mailbox_at(p, s.len, i, true, utf8, addr_r, &gt)) != ADDR_OK)
		goto fail;
	/* RFC 5321 4.5.3.1.3: 256 octets including the punctuation. */
	if (gt + 1 > SMTP_PATH_MAX) {
		e = ADDR_PATH_TOO_LONG;
		goto fail;
	}
	*end_r = gt + 1;
	return ADDR_OK;
fail:
	memset(addr_r, 0, sizeof *addr_r);
	return e;
}

enum addr_err
smtp_addr_parse_mailbox(struct strv s, bool utf8, struct smtp_addr *addr_r)
{
	enum addr_err e;
	size_t end;

	memset(addr_r, 0, sizeof *addr_r);
	e = parse_mailbox_at((const unsigned char *)s.p, s.len, 0, false, utf8, addr_r, &end);
	if (e != ADDR_OK)
		memset(addr_r, 0, sizeof *addr_r);
	return e;
}

void
smtp_addr_format(const struct smtp_addr *a, char *out, size_t size)
{
	if (size == 0)
		return;
	if (a->is_null)
		out[0] = '\0';
	else
		snprintf(out, size, "%s@%s", a->local, a->domain);
}

const char *
smtp_addr_err_text(enum addr_err e)
{
	switch (e) {
	case ADDR_OK:
		return "the address is valid";
	case ADDR_SYNTAX:
		return "the address is not of the form <local-part@domain>";
	case ADDR_LOCAL_TOO_LONG:
		return "the local part is longer than 64 octets";
	case ADDR_DOMAIN_TOO_LONG:
		return "the domain part is longer than 255 octets";
	case ADDR_PATH_TOO_LONG:
		return "the address is longer than 256 octets";
	case ADDR_BAD_LOCAL:
		return "the local part contains characters that are not allowed";
	case ADDR_BAD_DOMAIN:
		return "the domain part is not a valid domain name";
	case ADDR_NEED_UTF8:
		return "the address has 8-bit characters but SMTPUTF8 was not given";
	case ADDR_BAD_UTF8:
		return "the address has bytes that are not valid UTF-8";
	}
	return "the address is not valid";
}
