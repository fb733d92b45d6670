/*
 * msg_headers: the header section of a message (RFC 5322 2.2), collected
 * as the message streams in, for DKIM (signing and verifying) and the
 * Authentication-Results / DMARC checks, which need the fields as they
 * were sent, byte for byte.
 *
 * Feed the message from its first byte; the collector keeps every field
 * whole (its folded lines and its final line end) and reports done when it
 * has consumed the empty line that ends the section. What is left of the
 * buffer given then is body. A line ends at LF (a CR before it belongs to
 * the line end); a message from SMTP has CRLF everywhere.
 *
 * Invariants: the collector never holds more than max_bytes of fields
 * (over that it sets too_big, keeps what it had and goes on only to find
 * the end of the section); a field is listed as soon as its first line is
 * complete and grows when a continuation line (one starting with SP or
 * HTAB) follows; a line without a colon is kept as a field whose name is
 * empty (name_len 0), so it matches no name but is not lost.
 *
 * Ownership: the msg_headers owns the bytes; a struct msg_header (and its
 * raw pointer) from msg_headers_at stays valid until the next feed or
 * msg_headers_free.
 */
#ifndef MP_MSG_HEADERS_H
#define MP_MSG_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

/* One field: raw is the whole field including folded lines and the final
 * line end; name_len is the length of the name before the colon (without
 * white space before the colon), 0 when the line had no colon. */
struct msg_header {
	const char *raw;
	size_t len;
	size_t name_len;
};

enum msg_headers_state {
	MSG_H_LINE_START, /* the next byte begins a line */
	MSG_H_CR_START,	  /* a line began with CR: an empty line if LF follows */
	MSG_H_IN_LINE,	  /* inside a line, up to its LF */
	MSG_H_DONE,	  /* the empty line was consumed */
};

struct msg_headers {
	bool too_big; /* more than max_bytes of fields: collection stopped */
	/* private */
	enum msg_headers_state state;
	char *data; /* the fields' bytes, one after the other */
	size_t len, cap, max;
	struct msg_header *fields;
	size_t nfields, cap_fields;
	size_t line_off; /* where the line being read starts in data */
	bool line_new;	 /* that line starts a field (not a continuation) */
	bool dropping;	 /* too_big: lines are only scanned now */
};

/* An empty collector that keeps at most max_bytes of fields (0: 1 MiB). */
void msg_headers_init(struct msg_headers *h, size_t max_bytes);
/*
 * Consumes header bytes from the message's start; *done once the empty
 * line that ends the section has been consumed (then and afterwards the
 * call consumes nothing). Returns the bytes consumed; the rest of p is body.
 * Before *done every byte is consumed.
 */
size_t msg_headers_feed(struct msg_headers *h, const char *p, size_t n, bool *done);
/* True once the empty line has been consumed. */
bool msg_headers_done(const struct msg_headers *h);
/* Fields with at least one complete line so far. */
size_t msg_headers_count(const struct msg_headers *h);
/* Field i (0 = first in the message); valid until the next feed or free. */
const struct msg_header *msg_headers_at(const struct msg_headers *h, size_t i);
/* Case-insensitive (ASCII) match of the field's name with name. */
bool msg_header_is(const struct msg_header *f, const char *name);
/* The field's value: the bytes after the colon up to (not including) the
 * final line end; empty for a field without a colon. Borrowed from f. */
const char *msg_header_value(const struct msg_header *f, size_t *len_r);
void msg_headers_free(struct msg_headers *h);

#endif
