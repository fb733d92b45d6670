/*
 * smtp_cmd: command lines into verbs and arguments; MAIL/RCPT parameters.
 *
 * A command is VERB [SP args] (RFC 5321 4.1.1); verbs are case-insensitive.
 * MAIL FROM:<path> [params] and RCPT TO:<path> [params] are split into a
 * parsed path and ESMTP parameters: SIZE (RFC 1870), BODY (RFC 6152, 3030),
 * SMTPUTF8 (RFC 6531), RET/ENVID (RFC 3461 MAIL), REQUIRETLS (RFC 8689 MAIL),
 * NOTIFY/ORCPT (RCPT).
 * Unknown or repeated parameters are errors (555), as RFC 5321 4.1.1.11 asks.
 * Lenient in one way only, like Postfix: a space after "FROM:" / "TO:" is
 * accepted because widely deployed clients send it.
 */
#ifndef MP_SMTP_CMD_H
#define MP_SMTP_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include "smtp_addr.h"
#include "str.h"

enum smtp_verb {
	SMTP_V_UNKNOWN,
	SMTP_V_HELO,
	SMTP_V_EHLO,
	SMTP_V_MAIL,
	SMTP_V_RCPT,
	SMTP_V_DATA,
	SMTP_V_BDAT,
	SMTP_V_RSET,
	SMTP_V_NOOP,
	SMTP_V_QUIT,
	SMTP_V_HELP,
	SMTP_V_VRFY,
	SMTP_V_EXPN,
	SMTP_V_STARTTLS,
	SMTP_V_AUTH,
	SMTP_V_COUNT,
};

struct smtp_cmd {
	enum smtp_verb verb;
	struct strv verb_text; /* as the client wrote it */
	struct strv args;      /* after the single space; empty if none */
};

/* Split a line (without CRLF). Never fails: unknown verbs are SMTP_V_UNKNOWN. */
void smtp_cmd_parse(struct strv line, struct smtp_cmd *cmd_r);
const char *smtp_verb_name(enum smtp_verb v);

enum smtp_body { SMTP_BODY_NONE, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME, SMTP_BODY_BINARYMIME };
enum smtp_ret { SMTP_RET_NONE, SMTP_RET_FULL, SMTP_RET_HDRS };

/* RFC 3461 NOTIFY bits; NOTIFY=NEVER is 0 with notify_set true. */
enum { SMTP_NOTIFY_SUCCESS = 1, SMTP_NOTIFY_FAILURE = 2, SMTP_NOTIFY_DELAY = 4 };

#define SMTP_ENVID_MAX 100 /* RFC 3461 4.4 */
#define SMTP_ORCPT_MAX 500 /* RFC 3461 4.2: 500 characters */

struct smtp_mail_args {
	struct smtp_addr from;
	bool has_size;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
	bool requiretls; /* RFC 8689: deliver only over verified TLS, onward too */
	enum smtp_ret ret;
	char envid[SMTP_ENVID_MAX + 1]; /* xtext as received */
};

struct smtp_rcpt_args {
	struct smtp_addr to;
	bool notify_set;
	unsigned notify;
	char orcpt[SMTP_ORCPT_MAX + 1]; /* "rfc822;xtext" as received */
};

enum param_err {
	PARAM_OK,
	PARAM_SYNTAX,	 /* "FROM:" / "TO:" missing, or garbage: 501 */
	PARAM_ADDR,	 /* the path is bad: see addr_err_r */
	PARAM_UNKNOWN,	 /* a parameter we do not implement: 555 */
	PARAM_BAD_VALUE, /* a known parameter with a bad value: 501 */
	PARAM_DUPLICATE, /* the same parameter twice: 501 */
};

/* args is the text after "MAIL " (so it starts with "FROM:"). */
enum param_err smtp_cmd_parse_mail(struct strv args, struct smtp_mail_args *r,
				   enum addr_err *addr_err_r);
/* args is the text after "RCPT "; utf8 from the transaction's MAIL. */
enum param_err smtp_cmd_parse_rcpt(struct strv args, bool utf8, struct smtp_rcpt_args *r,
				   enum addr_err *addr_err_r);

/* "BDAT <size> [LAST]" (RFC 3030): false on a syntax error. */
bool smtp_cmd_parse_bdat(struct strv args, uint64_t *size_r, bool *last_r);

#endif
