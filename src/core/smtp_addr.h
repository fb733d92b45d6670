/*
 * smtp_addr: RFC 5321 paths (4.1.2) and mailboxes, RFC 6531 for UTF-8.
 *
 * Parses "<local@domain>" (with an optional, ignored source route
 * "<@a,@b:local@domain>", RFC 5321 4.1.1.3 and C) and the null path "<>".
 * The local part is a Dot-string or a Quoted-string; the domain is a
 * dot-separated hostname or an address literal "[192.0.2.1]" /
 * "[IPv6:...]". Bytes >= 0x80 are accepted only when utf8 is true (the
 * client gave SMTPUTF8), and must then be valid UTF-8.
 * Limits (RFC 5321 4.5.3.1): local part 64 octets, domain 255, path 256.
 */
#ifndef MP_SMTP_ADDR_H
#define MP_SMTP_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

#define SMTP_LOCAL_MAX 64
#define SMTP_DOMAIN_MAX 255
#define SMTP_PATH_MAX 256

struct smtp_addr {
	bool is_null;			  /* "<>" */
	char local[SMTP_LOCAL_MAX + 1];	  /* as written (quotes kept if quoted) */
	char domain[SMTP_DOMAIN_MAX + 1]; /* as written */
};

enum addr_err {
	ADDR_OK,
	ADDR_SYNTAX, /* not a path at all: missing <>, stray characters */
	ADDR_LOCAL_TOO_LONG,
	ADDR_DOMAIN_TOO_LONG,
	ADDR_PATH_TOO_LONG,
	ADDR_BAD_LOCAL,	 /* local part characters */
	ADDR_BAD_DOMAIN, /* domain syntax */
	ADDR_NEED_UTF8,	 /* 8-bit bytes without SMTPUTF8 */
	ADDR_BAD_UTF8,	 /* 8-bit bytes that are not UTF-8 */
};

/*
 * Parse a path at the start of s. On success *end_r is the number of bytes
 * used (the parameters, if any, follow after a space). allow_null: accept
 * "<>" (MAIL FROM yes, RCPT TO no).
 */
enum addr_err smtp_addr_parse_path(struct strv s, bool allow_null, bool utf8,
				   struct smtp_addr *addr_r, size_t *end_r);

/* Parse a bare mailbox "local@domain" (whole string, no angle brackets). */
enum addr_err smtp_addr_parse_mailbox(struct strv s, bool utf8, struct smtp_addr *addr_r);

/* "local@domain" into out[size] (empty string for the null path). */
void smtp_addr_format(const struct smtp_addr *a, char *out, size_t size);

/* Human words for an error, for reply texts: "the domain is not valid". */
const char *smtp_addr_err_text(enum addr_err e);

#endif
