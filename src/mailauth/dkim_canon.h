/*
 * dkim_canon: DKIM's canonical forms (RFC 6376 3.4), header and body,
 * "simple" and "relaxed". Pure: the canonical bytes go to a callback, so
 * the crypto layer (src/authn) hashes them without a copy of the message.
 *
 * The body canonicalizer streams: any cutting of the body into chunks gives
 * the same output, byte for byte. What it cannot decide yet it holds back
 * (a CR until its LF, the white space at the end of a line, empty lines
 * that may turn out to be the body's last: RFC 6376 3.4.3 and 3.4.4 drop
 * those), never the body itself. An l= limit (3.5) caps what reaches the
 * callback; the full canonical length is counted anyway, so a verifier can
 * say when l= covered less than the whole body, or more than there was.
 *
 * Line ends: a message from SMTP has CRLF. A bare LF is taken as a line
 * end too (the server stores lines with CRLF, so the signer and the
 * verifier see the same thing); a bare CR is an ordinary byte.
 */
#ifndef MP_DKIM_CANON_H
#define MP_DKIM_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dkim_canon_alg { DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED };

/* Receives canonical bytes, in order. */
typedef void (*dkim_canon_out)(void *ctx, const char *p, size_t n);

/* "simple" or "relaxed". */
const char *dkim_canon_name(enum dkim_canon_alg c);

/*
 * One header field in canonical form, to out. field is the whole raw
 * field (name, colon, value, folded lines, final line end, as
 * msg_headers keeps it). with_crlf: end with CRLF; false for the
 * DKIM-Signature field being signed or verified, which RFC 6376 3.7 hashes
 * without its final CRLF (then field may come without one too).
 */
void dkim_canon_header(enum dkim_canon_alg c, const char *field, size_t len, bool with_crlf,
		       dkim_canon_out out, void *ctx);

#define DKIM_CANON_BUF 4096

struct dkim_body_canon {
	/* private */
	enum dkim_canon_alg alg;
	dkim_canon_out out;
	void *ctx;
	bool limited;
	uint64_t limit;	  /* l=: at most this many bytes reach out */
	uint64_t passed;  /* bytes given to out */
	uint64_t total;	  /* the whole canonical body's length */
	uint64_t empties; /* empty lines held back */
	bool cr;	  /* a CR held back, waiting for its LF */
	bool wsp;	  /* relaxed: white space held back in the line */
	bool content;	  /* the current line has content */
	bool finished;
	size_t blen;
	char buf[DKIM_CANON_BUF];
};

/* limit: l= value, or UINT64_MAX for none. */
void dkim_body_canon_init(struct dkim_body_canon *b, enum dkim_canon_alg alg, uint64_t limit,
			  dkim_canon_out out, void *ctx);
void dkim_body_canon_feed(struct dkim_body_canon *b, const char *p, size_t n);
/* The end of the body: what was held back is settled and given to out. */
void dkim_body_canon_finish(struct dkim_body_canon *b);
/* After finish: the length of the whole canonical body (ignoring l=). */
uint64_t dkim_body_canon_length(const struct dkim_body_canon *b);

#endif
