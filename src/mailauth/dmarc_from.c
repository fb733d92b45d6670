/*
 * dmarc_from: the author domain of a message, from its From: field(s)
 * (RFC 7489 6.6.1 over the RFC 5322 3.4 mailbox-list, with the obsolete
 * forms of 4.4: empty list elements, CFWS around the parts; and RFC 6854's
 * group syntax, whose members count as the field's addresses).
 *
 * One byte-level pass over the unfolded value: comments are skipped,
 * quoted strings kept whole, "<...>" gives the address of a name-addr,
 * otherwise the mailbox's text is the addr-spec. The domain is what follows
 * the last "@" outside quotes.
 */
#include "dmarc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "str.h"

#define ADDR_MAX 1024

struct mbox {
	char text[ADDR_MAX]; /* the addr-spec so far, without spaces and comments */
	size_t len;
	size_t at;  /* position of the last '@' outside quotes in text, +1 (0: none) */
	bool angle; /* a "<...>" was seen: text is its content */
	bool overflow;
};

struct from_scan {
	char domain[256];
	unsigned naddr;
	int err; /* 0, or -1 with why filled */
	char *why;
	size_t why_size;
};

static void
mbox_reset(struct mbox *m)
{
	m->len = 0;
	m->at = 0;
	m->angle = false;
	m->overflow = false;
}

static void
mbox_put(struct mbox *m, char c)
{
	if (m->len + 1 >= sizeof m->text) {
		m->overflow = true;
		return;
	}
	m->text[m->len++] = c;
}

static void scan_fail(struct from_scan *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
scan_fail(struct from_scan *s, const char *fmt, ...)
{
	va_list ap;
	if (s->err != 0)
		return;
	s->err = -1;
	if (s->why != NULL && s->why_size > 0) {
		va_start(ap, fmt);
		vsnprintf(s->why, s->why_size, fmt, ap);
		va_end(ap);
	}
}

static bool
domain_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c >= 0x80;
}

/* The end of one mailbox: its domain joins the field's (all must agree). */
static void
mbox_end(struct from_scan *s, struct mbox *m)
{
	if (m->len == 0 && !m->angle)
		return; /* an empty list element (RFC 5322 4.4 obs-mbox-list) */
	char esc[80];
	m->text[m->len] = '\0';
	str_escape(esc, sizeof esc, m->text, m->len);
	if (m->overflow) {
		scan_fail(s, "a From: address is longer than 1024 octets");
		return;
	}
	if (m->at == 0) {
		scan_fail(s, "the From: address \"%s\" has no domain", esc);
		return;
	}
	const char *d = m->text + m->at;
	size_t dl = strlen(d);
	if (dl > 0 && d[dl - 1] == '.')
		dl--;
	if (dl == 0) {
		scan_fail(s, "the From: address \"%s\" has no domain", esc);
		return;
	}
	if (d[0] == '[') {
		scan_fail(s, "the From: address \"%s\" has a domain literal, not a name", esc);
		return;
	}
	size_t label = 0;
	for (size_t i = 0; i < dl; i++) {
		/* RFC 1035 2.3.4: labels of 1 to 63 octets */
		label = d[i] == '.' ? 0 : label + 1;
		if (!domain_char((unsigned char)d[i]) || label > 63 ||
		    (d[i] == '.' && (i == 0 || i + 1 == dl || d[i - 1] == '.'))) {
			scan_fail(s, "the From: address \"%s\" has an invalid domain", esc);
			return;
		}
	}
	char dom[256];
	if (dl > 253 || !str_copy_n(dom, sizeof dom, d, dl)) {
		scan_fail(s, "the From: domain in \"%s\" is longer than 253 octets", esc);
		return;
	}
	str_lower(dom);
	if (s->naddr > 0 && strcmp(dom, s->domain) != 0) {
		scan_fail(s,
			  "the From: field has addresses in more than one domain (RFC 7489 6.6.1)");
		return;
	}
	str_copy(s->domain, sizeof s->domain, dom);
	s->naddr++;
}

/* Skips a comment starting at p[i] == '('; returns the index after it. */
static size_t
skip_comment(const char *p, size_t n, size_t i)
{
	unsigned depth = 0;
	for (; i < n; i++) {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '(')
			depth++;
		else if (p[i] == ')' && --depth == 0)
			return i + 1;
	}
	return n; /* unterminated: the rest is comment */
}

/* Copies a quoted string at p[i] == '"' into m (quotes kept); returns the index after it. */
static size_t
copy_quoted(const char *p, size_t n, size_t i, struct mbox *m)
{
	mbox_put(m, p[i++]);
	for (; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n) {
			mbox_put(m, p[i++]);
			mbox_put(m, p[i]);
		} else {
			mbox_put(m, p[i]);
			if (p[i] == '"')
				return i + 1;
		}
	}
	return n;
}

/*
 * Scans one field's value. Byte-level switch parser (STYLE.md allows its
 * length): '(' comment, '"' quoted, '<' angle address, ',' ';' ends a
 * mailbox, ':' starts a group (its display name is dropped).
 */
static void
scan_value(struct from_scan *s, const char *p, size_t n)
{
	struct mbox m;
	bool in_angle = false;
	mbox_reset(&m);
	for (size_t i = 0; i < n && s->err == 0;) {
		char c = p[i];
		switch (c) {
		case '(':
			i = skip_comment(p, n, i);
			continue;
		case '"':
			i = copy_quoted(p, n, i, &m);
			continue;
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			break;
		case '<':
			if (!in_angle) {
				/* the display name before it is not part of the address */
				mbox_reset(&m);
				m.angle = true;
				in_angle = true;
			}
			break;
		case '>':
			in_angle = false;
			break;
		case ':':
			if (in_angle) /* the end of an obsolete route "@a,@b:" */
				mbox_reset(&m), m.angle = true;
			else
				mbox_reset(&m); /* "group name:" */
			break;
		case ',':
			if (in_angle) { /* inside an obsolete route */
				mbox_reset(&m), m.angle = true;
				break;
			}
			/* fallthrough */
		case ';':
			mbox_end(s, &m);
			mbox_reset(&m);
			break;
		default:
			if (in_angle || !m.angle) {
				mbox_put(&m, c);
				if (c == '@')
					m.at = m.len;
			}
			break;
		}
		i++;
	}
	if (s->err == 0)
		mbox_end(s, &m);
}

int
dmarc_author_domain(const struct strv *fields, size_t nfields, char *out, size_t out_size,
		    char *why, size_t why_size)
{
	struct from_scan s = {.why = why, .why_size = why_size};

	if (why != NULL && why_size > 0)
		why[0] = '\0';
	if (out_size > 0)
		out[0] = '\0';
	if (nfields == 0) {
		scan_fail(&s, "the message has no From: field (RFC 5322 3.6 requires one)");
		return -1;
	}
	if (nfields > 1) {
		scan_fail(&s, "the message has %zu From: fields (RFC 5322 3.6 allows one)",
			  nfields);
		return -1;
	}
	const char *colon = memchr(fields[0].p, ':', fields[0].len);
	if (colon == NULL) {
		scan_fail(&s, "the From: field has no colon");
		return -1;
	}
	size_t off = (size_t)(colon - fields[0].p) + 1;
	scan_value(&s, colon + 1, fields[0].len - off);
	if (s.err == 0 && s.naddr == 0)
		scan_fail(&s, "the From: field holds no address");
	if (s.err != 0)
		return -1;
	if (!str_copy(out, out_size, s.domain)) {
		scan_fail(&s, "the From: domain does not fit");
		return -1;
	}
	return 0;
}
