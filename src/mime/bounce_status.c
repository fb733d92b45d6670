/*
 * bounce_status: what a bounce reads from an SMTP reply (see bounce.h and
 * bounce_internal.h): the RFC 3463 enhanced status code ("550 5.1.1
 * ...", RFC 2034 puts it after the reply code) and the reply as one line
 * of diagnostic text for the DSN's Diagnostic-Code field (RFC 3464 2.3.6)
 * and the human-readable part.
 *
 * Replies come from remote servers and are untrusted: every byte that
 * leaves here as text is printable ASCII, and the line is capped at
 * BOUNCE_DIAG_MAX.
 */
#include "bounce_internal.h"

#include <stdio.h>
#include <string.h>

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of an RFC 3463 code at p (followed by the end, a space or a tab), or 0. */
static size_t
status_len(const char *p, size_t n)
{
	size_t i = 0, digits;

	if (n < 5 || (p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		for (digits = 0; i < n && is_digit(p[i]) && digits < 4; i++)
			digits++;
		if (digits == 0 || digits > 3)
			return 0;
		if (part == 0 && (i >= n || p[i++] != '.'))
			return 0;
	}
	return i == n || p[i] == ' ' || p[i] == '\t' ? i : 0;
}

bool
bounce_status_valid(const char *s)
{
	size_t n = strlen(s);

	return n < BOUNCE_STATUS_SIZE && status_len(s, n) == n;
}

/* Length of the first line of s (up to CR, LF or the end). */
static size_t
line_len(const char *s)
{
	return strcspn(s, "\r\n");
}

/* "NNN" then a space, a '-' or the end: the reply code's length (3), else 0. */
static size_t
code_len(const char *p, size_t n)
{
	if (n < 3 || !is_digit(p[0]) || !is_digit(p[1]) || !is_digit(p[2]))
		return 0;
	return n == 3 || p[3] == ' ' || p[3] == '-' ? 3 : 0;
}

bool
bounce_status_from_reply(const char *reply, char status[BOUNCE_STATUS_SIZE])
{
	size_t n = reply ? line_len(reply) : 0, st;

	status[0] = '\0';
	if (code_len(reply ? reply : "", n) == 0 || (reply[0] != '4' && reply[0] != '5'))
		return false;
	st = n > 4 ? status_len(reply + 4, n - 4) : 0;
	if (st > 0 && st < BOUNCE_STATUS_SIZE && reply[4] == reply[0]) {
		memcpy(status, reply + 4, st);
		status[st] = '\0';
	} else {
		snprintf(status, BOUNCE_STATUS_SIZE, "%c.0.0", reply[0]);
	}
	return true;
}

/* ---- one-line text from untrusted replies ---- */

/*
 * Append the words of p[n] to d, single-spaced: white space and control
 * bytes separate words, other bytes outside printable ASCII become '?'.
 */
static void
append_words(struct buf *d, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c <= 0x20 || c == 0x7f) {
			if (d->len > 0 && d->data[d->len - 1] != ' ')
				buf_append(d, " ", 1);
			continue;
		}
		buf_append(d, c < 0x7f ? (const char *)&p[i] : "?", 1);
	}
}

/*
 * The reply as one line: "550 5.1.1 first line second line ...", the code
 * and enhanced code of continuation lines dropped when they repeat the
 * first line's, so the text reads as the server meant it. A reply that is
 * not "NNN text" (our own reason) is just made one line.
 */
void
bounce_status_diag(const char *text, struct buf *d)
{
	const char *p = text, *code = NULL, *st = NULL;
	size_t st_n = 0;

	while (*p != '\0') {
		size_t n = line_len(p);
		const char *q = p;
		size_t m = n;
		if (code == NULL && p == text && code_len(p, n) == 3) {
			code = p;
			st_n = n > 4 ? status_len(p + 4, n - 4) : 0;
			st = p + 4;
		} else if (code != NULL && code_len(p, n) == 3 && memcmp(p, code, 3) == 0) {
			q += n > 3 ? 4 : 3;
			m -= n > 3 ? 4 : 3;
			if (st_n > 0 && m >= st_n && memcmp(q, st, st_n) == 0 &&
			    status_len(q, m) == st_n) {
				q += st_n;
				m -= st_n;
			}
		}
		if (q == code && m > 3 && q[3] == '-') {
			/* "550-" on the first line of a multiline reply reads as "550 " */
			buf_append(d, q, 3);
			buf_append(d, " ", 1);
			q += 4;
			m -= 4;
		}
		append_words(d, q, m);
		if (d->len > 0 && d->data[d->len - 1] != ' ')
			buf_append(d, " ", 1);
		p += n;
		p += strspn(p, "\r\n");
	}
	while (d->len > 0 && d->data[d->len - 1] == ' ')
		d->data[--d->len] = '\0';
	if (d->len > BOUNCE_DIAG_MAX) {
		d->len = BOUNCE_DIAG_MAX - 3;
		memcpy(d->data + d->len, "...", 4);
		d->len += 3;
	}
}
