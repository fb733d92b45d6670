/*
 * smtp_line: splits SMTP command lines, strictly.
 *
 * A command line ends with CRLF and nothing else (RFC 5321 2.3.8). A bare CR
 * or a bare LF is an error, never a line end: accepting "\n" would let one
 * packet carry two commands where a strict peer sees one (the smuggling
 * family). A NUL byte is an error. A line longer than max octets (CRLF
 * included; RFC 5321 4.5.3.1.4 says 512) is an error as soon as max bytes
 * arrived without a CRLF, so a peer cannot make us buffer without bound.
 */
#ifndef MP_SMTP_LINE_H
#define MP_SMTP_LINE_H

#include <stddef.h>

#include "parse.h"

enum line_err {
	LINE_OK,
	LINE_TOO_LONG,
	LINE_BARE_CR,
	LINE_BARE_LF,
	LINE_NUL,
};

/*
 * Look for one line at the start of p[0..len).
 * DONE: *line_len_r is the length without CRLF, *consumed_r = line_len + 2.
 * MORE: no CRLF yet and no error in what arrived (fewer than max bytes).
 * ERR:  *err_r says why; *consumed_r is the offset just past the offending
 *       byte (callers usually close the connection anyway).
 */
enum parse_rc smtp_line_next(const char *p, size_t len, size_t max, size_t *line_len_r,
			     size_t *consumed_r, enum line_err *err_r);

#endif
