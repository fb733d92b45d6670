/*
 * mime_writer: the output side the message builders of src/mime share
 * (the header encoder, the MIME builder, message preparation, bounces).
 *
 * A writer appends to a caller-owned struct buf, tracks the column of the
 * line being written (for folding, RFC 5322 2.2.3) and remembers when the
 * buffer refused bytes (its max is the size limit), so a builder checks
 * the limit once at the end instead of after every append, and then
 * truncates out back to where it started (mime_truncate).
 *
 * Also here: walking text line by line whatever its line ends (CRLF, bare
 * LF, lone CR), copying it with CRLF only (RFC 5322 2.3), scanning it for
 * what forces an encoding (8-bit bytes, NULs, lines over 998 octets,
 * RFC 5322 2.1.1), the boundary check of RFC 2046 5.1.1, and the
 * one-line error text every builder returns.
 */
#ifndef MP_MIME_WRITER_H
#define MP_MIME_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* RFC 5322 2.1.1: a line is at most 998 octets without its CRLF. */
#define MIME_LINE_MAX 998
/* RFC 2046 5.1.1: a boundary is 1 to 70 characters. */
#define MIME_BOUNDARY_MAX 70

struct mime_writer {
	struct buf *out;
	size_t col;  /* bytes on the current line */
	bool tokens; /* the field has a token already: a fold may go before the next */
	bool full;   /* out refused bytes: over its max */
};

/* Append n bytes (which may hold line ends; col follows the last one). */
void mime_put(struct mime_writer *w, const void *p, size_t n);
void mime_put_str(struct mime_writer *w, const char *s);
/* printf-style append; col is not tracked (use it for whole lines). */
void mime_putf(struct mime_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Cut b back to len bytes (a failed build undoes its appends). */
void mime_truncate(struct buf *b, size_t len);

/* Format a one-line error into err[err_size]; nothing when err is NULL. */
void mime_set_err(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The line at pos of p[len]: its text ends at *end_r (before CRLF, LF or a
 * lone CR); returns where the next line starts.
 */
size_t mime_next_line(const char *p, size_t len, size_t pos, size_t *end_r);

/* Copy p with every line ended by CRLF, the last one included. */
void mime_copy_crlf(struct mime_writer *w, const char *p, size_t len);

struct mime_text_scan {
	bool has_8bit;	    /* a byte >= 0x80 */
	bool has_nul;	    /* a NUL byte */
	bool has_long_line; /* a line over MIME_LINE_MAX octets */
};

struct mime_text_scan mime_scan_text(const char *p, size_t len);

/* RFC 2046 5.1.1: 1-70 bchars (letters, digits, "'()+_,-./:=?" and inner spaces). */
bool mime_boundary_valid(const char *b);

#endif
