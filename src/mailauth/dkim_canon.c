/*
 * dkim_canon: RFC 6376 3.4's canonicalizations (see the header).
 *
 * The body is read byte by byte through a small state (a CR held, white
 * space held, empty lines held, whether the line has content) and written
 * through a buffer to the callback; header fields are short and done in
 * one go.
 */
#include "dkim_canon.h"

#include <string.h>

const char *
dkim_canon_name(enum dkim_canon_alg c)
{
	return c == DKIM_CANON_RELAXED ? "relaxed" : "simple";
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The field without its final line end (CRLF or LF). */
static size_t
without_line_end(const char *field, size_t len)
{
	if (len > 0 && field[len - 1] == '\n')
		len--;
	if (len > 0 && field[len - 1] == '\r')
		len--;
	return len;
}

/*
 * RFC 6376 3.4.2: name lower-cased; continuation lines unfolded; runs of
 * WSP to one SP; WSP at the end of the value and around the colon gone.
 */
static void
header_relaxed(const char *f, size_t len, dkim_canon_out out, void *ctx)
{
	char tmp[256];
	size_t t = 0;
	size_t i = 0;
#define PUT(ch)                                                                                    \
	do {                                                                                       \
		if (t == sizeof tmp) {                                                             \
			out(ctx, tmp, t);                                                          \
			t = 0;                                                                     \
		}                                                                                  \
		tmp[t++] = (ch);                                                                   \
	} while (0)

	const char *colon = memchr(f, ':', len);
	size_t name_end = colon ? (size_t)(colon - f) : len;
	size_t n = name_end;
	while (n > 0 && is_wsp(f[n - 1]))
		n--;
	for (i = 0; i < n; i++)
		if (f[i] != '\r' && f[i] != '\n') /* unfolded: no line end stays */
			PUT(lower(f[i]));
	if (colon == NULL) {
		out(ctx, tmp, t);
		return;
	}
	PUT(':');
	bool space = false, started = false;
	for (i = name_end + 1; i < len; i++) {
		char c = f[i];
		if (c == '\r' && i + 1 < len && f[i + 1] == '\n')
			continue; /* unfold: the CRLF goes, the WSP after it stays */
		if (c == '\n')
			continue;
		if (is_wsp(c)) {
			space = true;
			continue;
		}
		if (space && started)
			PUT(' ');
		space = false;
		started = true;
		PUT(c);
	}
	out(ctx, tmp, t);
#undef PUT
}

void
dkim_canon_header(enum dkim_canon_alg c, const char *field, size_t len, bool with_crlf,
		  dkim_canon_out out, void *ctx)
{
	size_t n = without_line_end(field, len);
	if (c == DKIM_CANON_SIMPLE) {
		/* RFC 6376 3.4.1: unchanged; the line end written as CRLF. */
		out(ctx, field, n);
		if (with_crlf)
			out(ctx, "\r\n", 2);
		return;
	}
	header_relaxed(field, n, out, ctx);
	if (with_crlf)
		out(ctx, "\r\n", 2);
}

void
dkim_body_canon_init(struct dkim_body_canon *b, enum dkim_canon_alg alg, uint64_t limit,
		     dkim_canon_out out, void *ctx)
{
	memset(b, 0, sizeof *b);
	b->alg = alg;
	b->out = out;
	b->ctx = ctx;
	b->limited = limit != UINT64_MAX;
	b->limit = limit;
}

static void
flush(struct dkim_body_canon *b)
{
	if (b->blen == 0)
		return;
	size_t n = b->blen;
	if (b->limited) {
		uint64_t room = b->limit - b->passed;
		if (n > room)
			n = (size_t)room;
	}
	if (n > 0)
		b->out(b->ctx, b->buf, n);
	b->passed += n;
	b->blen = 0;
}

static void
emit(struct dkim_body_canon *b, const char *p, size_t n)
{
	b->total += n;
	while (n > 0) {
		if (b->blen == sizeof b->buf)
			flush(b);
		size_t k = sizeof b->buf - b->blen;
		if (k > n)
			k = n;
		memcpy(b->buf + b->blen, p, k);
		b->blen += k;
		p += k;
		n -= k;
	}
}

/* A byte of content (not WSP, not a line end) in the current line. */
static void
content(struct dkim_body_canon *b, const char *p, size_t n)
{
	if (!b->content) {
		/* The empty lines held back were not the body's last. */
		for (; b->empties > 0; b->empties--)
			emit(b, "\r\n", 2);
		b->content = true;
	}
	if (b->wsp) {
		emit(b, " ", 1);
		b->wsp = false;
	}
	emit(b, p, n);
}

static void
line_end(struct dkim_body_canon *b)
{
	b->wsp = false; /* relaxed: WSP at the end of a line is dropped */
	if (b->content)
		emit(b, "\r\n", 2);
	else
		b->empties++;
	b->content = false;
}

void
dkim_body_canon_feed(struct dkim_body_canon *b, const char *p, size_t n)
{
	bool relaxed = b->alg == DKIM_CANON_RELAXED;
	size_t i = 0;

	while (i < n) {
		char c = p[i];
		if (b->cr) {
			b->cr = false;
			if (c == '\n') {
				i++;
				line_end(b);
				continue;
			}
			content(b, "\r", 1); /* a bare CR is content */
		}
		if (c == '\r') {
			b->cr = true;
			i++;
		} else if (c == '\n') {
			line_end(b);
			i++;
		} else if (is_wsp(c) && relaxed) {
			b->wsp = true;
			i++;
		} else {
			/* A run of plain bytes in one go. */
			size_t j = i + 1;
			while (j < n && p[j] != '\r' && p[j] != '\n' && !(relaxed && is_wsp(p[j])))
				j++;
			content(b, p + i, j - i);
			i = j;
		}
	}
}

void
dkim_body_canon_finish(struct dkim_body_canon *b)
{
	if (b->finished)
		return;
	b->finished = true;
	if (b->cr) {
		b->cr = false;
		content(b, "\r", 1);
	}
	/* A last line without its line end gets one (3.4.3, 3.4.4). */
	if (b->content)
		line_end(b);
	/* 3.4.3: an empty body is one CRLF in "simple"; "relaxed" leaves it
	 * empty (RFC 6376 erratum 1384). */
	if (b->total == 0 && b->alg == DKIM_CANON_SIMPLE)
		emit(b, "\r\n", 2);
	flush(b);
}

uint64_t
dkim_body_canon_length(const struct dkim_body_canon *b)
{
	return b->total;
}
