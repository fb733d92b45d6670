/*
 * smtp_line: the strict CRLF splitter for command lines (RFC 5321 2.3.8,
 * 4.1.1, 4.5.3.1.4).
 *
 * Only the first max bytes are ever looked at: a line whose CRLF is not
 * among them is too long, whatever follows, so the verdict on a prefix
 * never changes when more input arrives and the caller's buffer is bounded
 * by max. Errors are reported in the order their bytes occur, so "a\0" +
 * 600 bytes is a NUL, not a long line. A CR is judged by the byte after it;
 * when that byte would lie beyond max the line is too long instead.
 * Pure: no allocation, no state between calls.
 */
#include "smtp_line.h"

static enum parse_rc
line_fail(enum line_err err, size_t at, size_t *consumed_r, enum line_err *err_r)
{
	*err_r = err;
	*consumed_r = at;
	return PARSE_ERR;
}

enum parse_rc
smtp_line_next(const char *p, size_t len, size_t max, size_t *line_len_r, size_t *consumed_r,
	       enum line_err *err_r)
{
	size_t window = len < max ? len : max;

	*line_len_r = 0;
	*consumed_r = 0;
	*err_r = LINE_OK;
	for (size_t i = 0; i < window; i++) {
		switch (p[i]) {
		case '\0':
			return line_fail(LINE_NUL, i + 1, consumed_r, err_r);
		case '\n':
			/* A CR before it was handled below, so this LF is bare. */
			return line_fail(LINE_BARE_LF, i + 1, consumed_r, err_r);
		case '\r':
			if (i + 1 >= window)
				break; /* undecided, or the CRLF cannot fit in max */
			if (p[i + 1] != '\n')
				return line_fail(LINE_BARE_CR, i + 1, consumed_r, err_r);
			*line_len_r = i;
			*consumed_r = i + 2;
			return PARSE_DONE;
		default:
			break;
		}
	}
	if (len >= max)
		return line_fail(LINE_TOO_LONG, max, consumed_r, err_r);
	return PARSE_MORE;
}
