/*
 * replies: every SMTP reply the server sends, in one table.
 *
 * A reply is (code, enhanced status code, text). Texts say what happened
 * and, where the client can do something about it, the fix, in the words
 * of the reference article's "Common Errors and Fixes" table. Handlers pick
 * a reply by id; nobody writes reply strings anywhere else. A text may
 * hold one conversion ("%s" or "%llu", see tmpl.h); its row declares it
 * ("s", "u" or ""), test_replies checks every row, and the caller picks the
 * typed function that matches (a mismatch panics).
 * Enhanced codes: RFC 3463 and the IANA registry (RFC 5248).
 */
#ifndef MP_REPLIES_H
#define MP_REPLIES_H

#include "buf.h"

enum reply_id {
	R_GREETING, /* %s hostname */
	R_HELO,	    /* %s hostname */
	R_ACK,
	R_MAIL_OK,
	R_RCPT_OK,
	R_DATA_GO,
	R_QUEUED,  /* %s queue id */
	R_BDAT_OK, /* %llu octets */
	R_QUIT,	   /* %s hostname */
	R_HELP,
	R_VRFY,
	R_EXPN,
	R_STARTTLS_GO,
	R_TLS_ACTIVE,
	R_TLS_UNAVAILABLE,
	R_AUTH_OK,
	R_AUTH_CHALLENGE, /* %s base64 challenge */
	R_AUTH_FAILED,
	R_AUTH_NEEDS_TLS,
	R_AUTH_NOT_HERE,
	R_AUTH_ALREADY,
	R_AUTH_MECH,
	R_AUTH_CANCELLED,
	R_AUTH_BAD_B64,
	R_AUTH_TOO_MANY,
	R_AUTH_TEMPFAIL,
	R_AUTH_IN_TX,
	R_MAIL_NEEDS_AUTH,
	R_NEED_HELO,
	R_NESTED_MAIL,
	R_NEED_MAIL,
	R_NEED_RCPT,
	R_NO_VALID_RCPT,
	R_UNKNOWN_CMD, /* %s the verb, escaped */
	R_UNKNOWN_CMD_HIDDEN,
	R_ARG_SYNTAX, /* %s what is wrong */
	R_NO_ARGS,    /* %s verb */
	R_EHLO_NEEDS_ARG,
	R_BAD_ADDRESS, /* %s what is wrong */
	R_PARAM_UNKNOWN,
	R_PARAM_VALUE,	 /* %s what is wrong */
	R_SIZE_EXCEEDED, /* %llu limit */
	R_RELAY_DENIED,
	R_NO_SUCH_USER, /* %s address */
	R_RCPT_LOOP,	/* %s address: an alias loop (RFC 3463 5.4.6) */
	R_TOO_MANY_RCPTS,
	R_SENDER_NOT_OWNED, /* %s the authenticated user */
	R_NEED_SMTPUTF8,
	R_DATA_BARE_LF,
	R_DATA_LONG_LINE,
	R_DATA_NUL,
	R_PIPELINE_SYNC,
	R_LINE_TOO_LONG,
	R_CMD_BARE_LF,
	R_CMD_NUL,
	R_TOO_MANY_ERRORS,
	R_TIMEOUT,  /* %s hostname */
	R_SHUTDOWN, /* %s hostname */
	R_TOO_MANY_CONN,
	R_TOO_MANY_CONN_IP,
	R_SPOOL_FAIL,
	R_SPOOL_FULL,
	R_BDAT_AFTER_DATA,
	R_BDAT_SYNTAX,
	R_DATA_AFTER_BDAT,
	R_BAD_SEQUENCE, /* %s verb */
	R_EHLO_BAD_ARG,
	R_BINARYMIME,
	R_DMARC_REJECT,	     /* %s the check's detail: names DMARC and the From domain */
	R_MSG_AUTH_TEMPFAIL, /* %s the check's detail */
	R_HEADER_TOO_BIG,    /* %llu limit */
	R_TOO_MANY_HOPS,     /* %llu limit: a mail loop (RFC 5321 6.3) */
	R_SIGN_FAILED,
	R_REQUIRETLS_NO_TLS,
	R_COUNT,
};

/*
 * Whether a refusal counts toward the session's error limit (421 "Too many
 * errors"). Only a client's protocol mistakes do; a verdict on a
 * well-formed recipient is the normal course of mail (RFC 5321 4.5.3.1.10:
 * the client retries recipients refused with 452), and our own temporary
 * trouble is not the client's fault.
 */
enum reply_kind {
	RK_PROTOCOL = 0, /* the default: counts */
	RK_RCPT_VERDICT, /* counts only once a session has had many (see smtp_server.c) */
	RK_SERVER,	 /* our own temporary failure: never counts */
};

struct reply_def {
	int code;
	const char *esc; /* "" when the code has none (220, 334, 354) */
	const char *sig; /* the text's conversions: "", "s" (a string) or "u" (a number) */
	const char *text;
};

const struct reply_def *reply_def(enum reply_id id);
/* How a refusal counts (meaningful for codes >= 400). */
enum reply_kind reply_kind(enum reply_id id);

/*
 * Append "code esc text\r\n", the text's conversion (if any) filled from
 * the argument. Each function is for the rows of one signature: calling
 * it for a row of another is a bug and panics.
 */
void reply_append(struct buf *out, enum reply_id id);				/* sig "" */
void reply_append_str(struct buf *out, enum reply_id id, const char *s);	/* sig "s" */
void reply_append_num(struct buf *out, enum reply_id id, unsigned long long n); /* sig "u" */

#endif
