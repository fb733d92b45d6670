/*
 * smtp_client_internal: what the files of the client session share. The
 * session is one module in four files: smtp_client.c (the output and the
 * transcript, phases and the result, the reply dispatcher, the life
 * cycle), smtp_client_hello.c (the greeting, EHLO/HELO and capabilities,
 * STARTTLS), smtp_client_auth.c (AUTH, RFC 4954) and smtp_client_tx.c (the
 * mail transaction: MAIL, RCPT, DATA, the body, RSET). Nothing outside
 * these files includes this header.
 */
#ifndef MP_SMTP_CLIENT_INTERNAL_H
#define MP_SMTP_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "smtp_client.h"
#include "smtp_reply.h"
#include "str.h"

enum client_phase {
	P_GREETING, /* waiting for the 220 banner */
	P_EHLO,
	P_HELO,	    /* EHLO refused with 5xx, HELO sent */
	P_STARTTLS, /* STARTTLS sent */
	P_TLS,	    /* 220 to STARTTLS: the glue does the handshake */
	P_AUTH,
	P_MAIL,
	P_RCPT, /* rcpt_idx: whose reply comes next */
	P_DATA,
	P_BODY, /* 354 received: the glue streams, then the final reply */
	P_RSET, /* the way out of a transaction: QUIT, or idle with keep_open */
	P_IDLE, /* keep_open: a transaction ended, the session waits for the next */
	P_DONE,
};

enum auth_step {
	AS_REPLY,      /* the final reply (235) comes next */
	AS_LOGIN_USER, /* "AUTH LOGIN" sent: the username prompt comes next */
	AS_LOGIN_PASS, /* username sent: the password prompt comes next */
	AS_ABORTED,    /* error challenge answered or "*" sent: a 5xx comes next */
};

struct smtp_client {
	const struct smtp_client_config *cfg;
	const struct smtp_client_envelope *env;
	enum client_phase phase;
	enum smtp_client_action action;

	bool tls;	       /* TLS is on (implicit, or the handshake succeeded) */
	bool starttls_refused; /* opportunistic: the server said no, go on in clear */
	bool pipelined;	       /* MAIL and the RCPTs went out as one group (RFC 2920) */
	bool data_sent;	       /* ... and DATA with them */
	bool mail_ok;
	bool go; /* the transaction goes on to the body */
	bool body_sent;
	bool secret_out; /* the output buffer held a secret: wipe before reuse */
	size_t rcpt_idx;
	size_t lmtp_idx; /* LMTP: the recipient whose reply to the body comes next */
	enum auth_step auth_step;

	struct smtp_reply_reader acc;
	struct smtp_client_caps caps;
	struct smtp_client_caps next_caps; /* read from the EHLO reply in progress */
	bool size_offered, next_size_offered;
	struct smtp_client_result result;
	struct buf out;
	struct buf transcript;
};

/* smtp_client.c: the one place commands, the transcript and the result are written. */
/* A control character (CR, LF, ESC ...) in s: it would smuggle a command. */
bool smtp_client_has_ctl(const char *s);
void smtp_client_send(struct smtp_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* prefix + base64(raw) to the output; `shown` to the transcript instead. */
void smtp_client_send_secret(struct smtp_client *c, const char *prefix, const void *raw, size_t n,
			     const char *shown);
void smtp_client_enter(struct smtp_client *c, enum client_phase phase);
/* The first failure decided is the one reported; later ones are ignored. */
void smtp_client_fail(struct smtp_client *c, enum client_failure f,
		      const struct smtp_client_reply *r);
/* A failure no reply stated (code 0): our own words in reply.text. */
void smtp_client_fail_text(struct smtp_client *c, enum client_failure f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 4xx: TEMPFAIL; 5xx: on_5xx; anything else: PROTOCOL. */
enum client_failure smtp_client_failure_by_class(int code, enum client_failure on_5xx);
/* The session is over (action DONE), with QUIT sent first or not. */
void smtp_client_finish(struct smtp_client *c, bool quit);

/* smtp_client_hello.c: the session's opening. */
/* One line of the EHLO reply in progress (lineno 1: the server's name). */
void smtp_client_caps_line(struct smtp_client *c, struct strv t, unsigned lineno);
void smtp_client_on_greeting(struct smtp_client *c, const struct smtp_client_reply *r);
void smtp_client_on_hello(struct smtp_client *c, const struct smtp_client_reply *r);
void smtp_client_on_starttls(struct smtp_client *c, const struct smtp_client_reply *r);

/* smtp_client_auth.c */
/* AUTH when credentials are configured, then the transaction (or QUIT). */
void smtp_client_auth_start(struct smtp_client *c);
void smtp_client_on_auth(struct smtp_client *c, const struct smtp_client_reply *r);

/* smtp_client_tx.c: the mail transaction. */
/* Check the envelope, then MAIL (and, pipelined, the RCPTs and DATA). */
void smtp_client_mail_start(struct smtp_client *c);
void smtp_client_on_mail(struct smtp_client *c, const struct smtp_client_reply *r);
void smtp_client_on_rcpt(struct smtp_client *c, const struct smtp_client_reply *r);
void smtp_client_on_data(struct smtp_client *c, const struct smtp_client_reply *r);
void smtp_client_on_body(struct smtp_client *c, const struct smtp_client_reply *r);
void smtp_client_on_rset(struct smtp_client *c, const struct smtp_client_reply *r);

#endif
