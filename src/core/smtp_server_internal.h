/*
 * smtp_server_internal: what the files of the server session share. The
 * session is one module in three files: smtp_server.c (the command table,
 * the dispatcher, the reply path, the life cycle), smtp_server_auth.c (AUTH,
 * RFC 4954) and smtp_server_data.c (the transaction's message: DATA, BDAT,
 * the spool hooks). Nothing outside these files includes this header.
 */
#ifndef MP_SMTP_SERVER_INTERNAL_H
#define MP_SMTP_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "replies.h"
#include "smtp_data.h"
#include "smtp_server.h"
#include "str.h"

#define HELO_MAX 255

enum smtp_phase {
	P_GREETING,  /* no EHLO/HELO yet (also right after STARTTLS) */
	P_READY,     /* EHLO done, no transaction */
	P_MAIL,	     /* MAIL accepted, no RCPT yet */
	P_RCPT,	     /* at least one RCPT accepted */
	P_BDAT_OPEN, /* between two BDAT chunks */
	P_DATA,	     /* message bytes after 354 */
	P_BDAT,	     /* inside a BDAT chunk */
	P_AUTH,	     /* waiting for a SASL continuation line */
	P_CLOSED,
};
enum auth_step { AUTH_PLAIN, AUTH_LOGIN_USER, AUTH_LOGIN_PASS };

struct smtp_server {
	const struct smtp_server_config *cfg;
	const struct smtp_server_hooks *hooks;
	enum smtp_phase phase;
	enum smtp_action action;

	bool tls;
	bool esmtp;
	bool authed;
	char client_addr[64];
	char helo[HELO_MAX + 1];
	char auth_user[SASL_FIELD_MAX + 1];
	char tls_version[32];
	char tls_cipher[96];

	/* The transaction. */
	struct smtp_mail_args mail;
	struct smtp_rcpt_args *rcpts;
	size_t nrcpts;
	size_t rcpt_cap;
	bool spooling;	   /* spool_begin succeeded, not yet committed/aborted */
	bool spool_failed; /* a spool_write failed */
	char qid[64];
	struct smtp_data data;
	char *scratch; /* decoded DATA bytes on their way to the spool */
	size_t scratch_cap;
	uint64_t bdat_left; /* octets of the current chunk still to come */
	bool bdat_last;
	bool bdat_discard;	     /* the chunk was refused: read and drop it */
	enum reply_id bdat_refusal;  /* the reply after a dropped chunk (R_COUNT: none) */
	enum smtp_phase bdat_resume; /* where a dropped chunk returns to */

	/* AUTH in progress. */
	enum auth_step auth_step;
	const char *auth_mech;
	struct sasl_creds creds;
	unsigned auth_failures;
	bool auth_seen; /* an AUTH command came, accepted or not */

	unsigned errors;
	unsigned rcpt_refusals; /* refused RCPTs this session (see counts_as_error) */
	bool input_follows;	/* bytes were waiting behind the current line */
	struct buf out;
};

/* smtp_server.c: the one place replies are written and counted. */
void smtp_server_log(struct smtp_server *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void smtp_server_close(struct smtp_server *s);
void smtp_server_enter(struct smtp_server *s, enum smtp_phase phase);
/* One per reply signature (replies.h), so the argument's type is checked. */
void smtp_server_reply(struct smtp_server *s, enum reply_id id);
void smtp_server_reply_str(struct smtp_server *s, enum reply_id id, const char *arg);
void smtp_server_reply_num(struct smtp_server *s, enum reply_id id, unsigned long long arg);
/* a's text for a log line, escaped, in out[size]; returns out. */
const char *smtp_server_addr_for_log(const struct smtp_addr *a, char *out, size_t size);

/* smtp_server_data.c: the transaction and its message. */
/* Forget the transaction (and drop its spool file); back to READY. */
void smtp_server_tx_reset(struct smtp_server *s);
/* Abort the spool file in progress, if any. */
void smtp_server_spool_drop(struct smtp_server *s);
void smtp_server_cmd_data(struct smtp_server *s, struct strv args);
void smtp_server_cmd_bdat(struct smtp_server *s, struct strv args);
/* Input in P_DATA and P_BDAT: the bytes used (0: need more). */
size_t smtp_server_feed_data(struct smtp_server *s, const char *p, size_t len);
size_t smtp_server_feed_bdat(struct smtp_server *s, const char *p, size_t len);

/* smtp_server_auth.c */
void smtp_server_cmd_auth(struct smtp_server *s, struct strv args);
/* One SASL response line in P_AUTH. */
void smtp_server_auth_input(struct smtp_server *s, struct strv resp);

#endif
