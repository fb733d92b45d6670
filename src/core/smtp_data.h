/*
 * smtp_data: the DATA stream decoder (RFC 5321 4.5.2, 3.3).
 *
 * Feeds on the raw bytes that follow a 354 and writes the message: dot-
 * unstuffed, with CRLF line ends as received. The message ends with
 * CRLF "." CRLF and with nothing else: a "." line after a bare LF or a bare
 * CR does not end it (the smuggling family, CVE-2023-51764). Bare CR, bare
 * LF, NUL, lines over 1000 octets (4.5.3.1.6) and lines over the hard cap
 * are remembered as flags while decoding continues to the real end, so
 * that the caller can refuse the message with a 5xx reply and stay in step
 * with the client. A long line is only noted: real mail has them (HTML
 * newsletters), and whoever relays it re-encodes it (long_lines.h).
 *
 * The decoder holds no input: what it cannot yet decide about (a CR at the
 * end of a chunk, a line start ".") is kept in its small state, so any
 * split of the input gives the same output.
 */
#ifndef MP_SMTP_DATA_H
#define MP_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"

enum {
	DATA_BARE_CR = 1,
	DATA_BARE_LF = 2,
	DATA_LONG_LINE = 4, /* a line over 1000 octets including CRLF: noted, not refused */
	DATA_NUL = 8,
	DATA_HUGE_LINE = 16, /* a line over DATA_LINE_HARD_MAX octets */
};
/* The flags that make a message unacceptable. */
#define DATA_REFUSED (DATA_BARE_CR | DATA_BARE_LF | DATA_NUL | DATA_HUGE_LINE)

/*
 * The longest line accepted, CRLF excluded. Everything streams, so this
 * bounds what a line-oriented reader downstream (a mail client, a filter)
 * must hold, not our memory; 1 MiB passes minified HTML.
 */
#define DATA_LINE_HARD_MAX (1024u * 1024u)

struct smtp_data {
	int state;	 /* private */
	size_t line_len; /* private: octets in the current line */
	unsigned flags;	 /* DATA_* seen so far */
	uint64_t size;	 /* octets written to out so far */
};

void smtp_data_init(struct smtp_data *d);

/*
 * Decode in[0..len). Writes at most len + 2 bytes to out (held-back bytes
 * of an earlier call may be released) and sets *out_len_r. *consumed_r is
 * how much input was used: all of it on MORE; on DONE, the bytes up to and
 * including the final CRLF "." CRLF (what follows is the next command).
 * Never returns PARSE_ERR: bad input only sets flags.
 */
enum parse_rc smtp_data_decode(struct smtp_data *d, const char *in, size_t len, char *out,
			       size_t *out_len_r, size_t *consumed_r);

/*
 * BDAT chunks (RFC 3030) carry the message as is, with no dot-stuffing and
 * no terminator; scan one chunk only to update flags and size, with the
 * same rules for bare CR/LF, NUL and line length as DATA. Lines may span
 * chunks.
 */
void smtp_data_scan(struct smtp_data *d, const char *p, size_t n);
/*
 * After the LAST chunk: a CR that ended it was bare, which only now is
 * known; this flags it. The decoder is done afterwards.
 */
void smtp_data_scan_end(struct smtp_data *d);

/*
 * Encoder for the client side: dot-stuff in[0..len) for transmission.
 * at_line_start says whether the previous chunk ended with a CRLF (begin
 * with true). out needs 2 * len bytes at most. Returns bytes written.
 */
size_t smtp_data_stuff(const char *in, size_t len, bool *at_line_start, char *out);

#endif
