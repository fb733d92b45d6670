/*
 * long_lines: make a message fit SMTP's line limit before it is relayed.
 *
 * RFC 5321 4.5.3.1.6 allows 998 octets per line (1000 with CRLF). mailport
 * accepts longer lines (real mail has them), so what it relays must be
 * brought back under the limit without changing what the recipient reads:
 * - a text or other leaf part with a long line is re-encoded as
 *   quoted-printable (RFC 2045 6.7), its Content-Transfer-Encoding changed
 *   (MIME-Version added at the top when missing); a CRLF becomes a hard
 *   line break, so decoding gives back the same octets;
 * - a base64 part is re-wrapped at 76 characters, a quoted-printable part
 *   with long lines decoded and encoded again;
 * - a long header line is folded at white space (RFC 5322 2.2.3);
 * - a preamble or epilogue (never shown) is broken at 998 octets;
 * - parts without a long line are copied octet for octet.
 * Signed mail is not touched: re-encoding a message that carries a
 * DKIM-Signature, or a multipart/signed part with a long line, would break
 * its signature, so the caller returns it to the sender (LL_SIGNED).
 *
 * Pure: works on the whole message in memory (the outbound agent holds it
 * anyway); the output is at most about 3.2 times the input.
 */
#ifndef MP_LONG_LINES_H
#define MP_LONG_LINES_H

#include <stdbool.h>

#include "buf.h"
#include "str.h"

/* RFC 5321 4.5.3.1.6: octets in a line, CRLF excluded. */
#define LONG_LINES_MAX 998

enum long_lines_rc {
	LL_UNCHANGED, /* no line over the limit: send msg as it is */
	LL_REENCODED, /* out holds the message to send instead */
	LL_SIGNED,    /* a long line in signed content: cannot send it unbroken */
	LL_UNFIXABLE, /* a header line with no place to fold, an unknown encoding, too big */
};

/* Is any line of p[0..n) longer than LONG_LINES_MAX octets (CRLF excluded)? */
bool long_lines_present(const char *p, size_t n);

/*
 * Bring msg (a whole RFC 5322 message with CRLF line ends) under the line
 * limit. out (the caller's, empty) receives the result on LL_REENCODED; on
 * other results its content is undefined.
 */
enum long_lines_rc long_lines_fix(struct strv msg, struct buf *out);

/* What a result means for the sender, for a bounce (static text). */
const char *long_lines_reason(enum long_lines_rc rc);

#endif
