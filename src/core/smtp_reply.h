/*
 * smtp_reply: reading what an SMTP server says, for the client core:
 * replies of one or more lines (RFC 5321 4.2) with their enhanced status
 * codes (RFC 3463), and the keywords of an EHLO reply (RFC 5321 4.1.1.1,
 * RFC 4954 AUTH, RFC 1870 SIZE).
 */
#ifndef MP_SMTP_REPLY_H
#define MP_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "smtp_client.h"
#include "str.h"

/* A reply being read, line by line; zero it before the first line. */
struct smtp_reply_reader {
	struct smtp_client_reply r;
	unsigned lines;
	size_t bytes;
};

enum smtp_reply_line {
	REPLY_MORE, /* a "250-" line: more follow */
	REPLY_LAST, /* the reply is complete in r */
	REPLY_BAD,  /* not a reply line, another code, or too much */
};

/* One line (without CRLF) into a; *text_r: the text after the code. */
enum smtp_reply_line smtp_reply_add_line(struct smtp_reply_reader *a, struct strv line,
					 struct strv *text_r);

/*
 * One keyword line of an EHLO reply (not the first: that is the server's
 * name) into k. tls: the session is encrypted (AUTH offered in clear is a
 * finding). *size_offered_r is set when SIZE is offered.
 */
void smtp_ehlo_keyword(struct smtp_client_caps *k, struct strv text, bool tls,
		       bool *size_offered_r);

#endif
