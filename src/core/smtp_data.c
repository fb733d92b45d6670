/*
 * smtp_data: the DATA decoder, the BDAT scanner and the dot-stuffing
 * encoder (RFC 5321 4.5.2, 4.1.1.4, 4.5.3.1.6; RFC 3030 2).
 *
 * Only CRLF ends a line: a bare LF or bare CR is content (and a flag), so
 * "." after one of them is neither a terminator nor unstuffed. This is what
 * keeps "\n.\n", "\r\n.\n", "\n.\r\n" and "\r.\r\n" from ending a message
 * early (SMTP smuggling, CVE-2023-51764 and its kin).
 * At most one input byte is held back between calls: a CR whose LF may be
 * in the next chunk. A line-start "." is never written, so holding it costs
 * nothing. Hence the output of any split of the input is the same, and one
 * call writes at most len + 1 bytes. Line length counts the line's octets
 * as delivered, without the stuffing dot and without the CRLF (4.5.3.1.6).
 */
#include "smtp_data.h"

#include "panic.h"

/* RFC 5321 4.5.3.1.6: 1000 octets including the CRLF. */
#define DATA_LINE_MAX (1000 - 2)

enum data_state {
	S_BOL,	  /* at the start of a line (or of the message) */
	S_TEXT,	  /* inside a line */
	S_CR,	  /* inside a line, a CR held back */
	S_DOT,	  /* "." at the start of a line, held back (dropped unless it ends) */
	S_DOT_CR, /* "." CR at the start of a line: the end if LF follows */
	S_DONE,	  /* the terminator has been seen */
};

void
smtp_data_init(struct smtp_data *d)
{
	d->state = S_BOL;
	d->line_len = 0;
	d->flags = 0;
	d->size = 0;
}

/* One more octet in the current line: past 998 it is long, past the hard cap huge. */
static void
count_octet(struct smtp_data *d)
{
	if (++d->line_len > DATA_LINE_MAX) {
		d->flags |= DATA_LONG_LINE;
		if (d->line_len > DATA_LINE_HARD_MAX)
			d->flags |= DATA_HUGE_LINE;
	}
}

/* One octet of line content (everything but a line-ending CRLF). */
static void
put_content(struct smtp_data *d, char *out, size_t *o, char c)
{
	out[(*o)++] = c;
	d->size++;
	count_octet(d);
}

/* The flags a content byte raises by itself; a bare CR is found by its successor. */
static void
note_byte(struct smtp_data *d, char c)
{
	if (c == '\n')
		d->flags |= DATA_BARE_LF;
	else if (c == '\0')
		d->flags |= DATA_NUL;
}

/*
 * A byte-level switch parser (nginx sw_* style), longer than the usual
 * function limit so that every transition is in one place.
 */
enum parse_rc
smtp_data_decode(struct smtp_data *d, const char *in, size_t len, char *out, size_t *out_len_r,
		 size_t *consumed_r)
{
	size_t o = 0;

	for (size_t i = 0; i < len && d->state != S_DONE; i++) {
		char c = in[i];
	again:
		switch ((enum data_state)d->state) {
		case S_BOL:
			if (c == '.') {
				d->state = S_DOT;
				break;
			}
			d->state = S_TEXT;
			goto again;
		case S_DOT:
			if (c == '\r') {
				d->state = S_DOT_CR;
				break;
			}
			d->state = S_TEXT; /* 4.5.2: the first dot of the line is dropped */
			goto again;
		case S_DOT_CR:
			if (c == '\n') {
				d->state = S_DONE;
				*out_len_r = o;
				*consumed_r = i + 1;
				return PARSE_DONE;
			}
			d->flags |= DATA_BARE_CR; /* "." CR x: an unstuffed bare CR */
			put_content(d, out, &o, '\r');
			d->state = S_TEXT;
			goto again;
		case S_TEXT:
			if (c == '\r') {
				d->state = S_CR;
				break;
			}
			note_byte(d, c);
			put_content(d, out, &o, c);
			break;
		case S_CR:
			if (c == '\n') {
				out[o++] = '\r';
				out[o++] = '\n';
				d->size += 2;
				d->line_len = 0;
				d->state = S_BOL;
				break;
			}
			d->flags |= DATA_BARE_CR;
			put_content(d, out, &o, '\r');
			d->state = S_TEXT;
			goto again;
		case S_DONE:
		default:
			/* a corrupted state is a bug, not bad input */
			mp_panic("smtp_data state %d", (int)d->state);
		}
	}
	*out_len_r = o;
	*consumed_r = d->state == S_DONE ? 0 : len;
	return d->state == S_DONE ? PARSE_DONE : PARSE_MORE;
}

void
smtp_data_scan(struct smtp_data *d, const char *p, size_t n)
{
	d->size += n;
	for (size_t i = 0; i < n; i++) {
		if (d->state == S_CR) {
			d->state = S_TEXT;
			if (p[i] == '\n') {
				d->line_len = 0;
				continue;
			}
			d->flags |= DATA_BARE_CR;
			count_octet(d);
		}
		if (p[i] == '\r') {
			d->state = S_CR;
			continue;
		}
		note_byte(d, p[i]);
		count_octet(d);
	}
}

void
smtp_data_scan_end(struct smtp_data *d)
{
	if (d->state == S_CR) {
		d->flags |= DATA_BARE_CR;
		count_octet(d);
	}
	d->state = S_DONE;
}

size_t
smtp_data_stuff(const char *in, size_t len, bool *at_line_start, char *out)
{
	bool bol = *at_line_start;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (bol && in[i] == '.')
			out[o++] = '.';
		out[o++] = in[i];
		/*
		 * After any CR or LF, not only CRLF: a receiver that is lenient
		 * about line ends must not see a terminator in the body either.
		 */
		bol = in[i] == '\n' || in[i] == '\r';
	}
	*at_line_start = bol;
	return o;
}
