/*
 * smtp_client: the client side of one SMTP session, as a state machine
 * with no I/O (RFC 5321, 3207 STARTTLS, 4954 AUTH, 2920 PIPELINING,
 * 1870 SIZE, 6531 SMTPUTF8). One core for `send`, `probe`, `verify` and
 * outbound delivery.
 *
 * The glue connects, then feeds every reply line the server sends with
 * smtp_client_feed() and sends what smtp_client_output() holds. Actions
 * the core cannot do itself are asked for with smtp_client_action():
 * the TLS handshake, streaming the message body, closing. The core never
 * sends AUTH or MAIL before TLS unless the config says TLS is not wanted
 * (CLIENT_TLS_NONE) or optional (opportunistic, for MX delivery): STARTTLS
 * missing or failing is a failure, never a silent downgrade (STRIPTLS).
 *
 * Secrets: AUTH lines go to the output buffer as they must, and to the
 * transcript (smtp_client_transcript) with the secret replaced by "****".
 */
#ifndef MP_SMTP_CLIENT_H
#define MP_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "str.h"

enum client_tls {
	CLIENT_TLS_STARTTLS,	  /* STARTTLS required before AUTH/MAIL */
	CLIENT_TLS_IMPLICIT,	  /* the glue did TLS before the banner */
	CLIENT_TLS_NONE,	  /* plaintext, on purpose (--tls none, localhost) */
	CLIENT_TLS_OPPORTUNISTIC, /* STARTTLS when offered, else plaintext (MX) */
};

/* SASL mechanisms, strongest first: the order of preference. */
enum client_mech {
	CLIENT_MECH_NONE = 0,
	CLIENT_MECH_XOAUTH2 = 1,
	CLIENT_MECH_OAUTHBEARER = 2,
	CLIENT_MECH_PLAIN = 4,
	CLIENT_MECH_LOGIN = 8,
};

struct smtp_client_config {
	const char *ehlo_name; /* our name in EHLO */
	enum client_tls tls;
	const char *user;	 /* NULL: no AUTH */
	const char *password;	 /* for PLAIN/LOGIN */
	const char *oauth_token; /* for XOAUTH2/OAUTHBEARER */
	const char *host;	 /* server name, for OAUTHBEARER's host= */
	unsigned short port;
	unsigned allowed_mechs;	     /* CLIENT_MECH_* bits; 0 = any we can use */
	bool stop_after_auth;	     /* probe: EHLO, TLS, AUTH, then QUIT */
	bool rset_instead_of_data;   /* probe/verify: MAIL + RCPT, then RSET, QUIT */
	bool all_recipients_or_none; /* send: any RCPT refused -> RSET and fail */
	bool strict_8bitmime;	     /* relaying MTA: 8-bit body needs 8BITMIME (RFC 6152 3) */
	/* Outbound and verify: a finished transaction leaves the session
	 * idle (CLIENT_ACT_IDLE) instead of sending QUIT, and one refused part
	 * way is closed with RSET; smtp_client_next() starts the next one on
	 * the same connection. */
	bool keep_open;
	/*
	 * LMTP (RFC 2033): LHLO instead of EHLO (no HELO fallback), and after
	 * the body one reply per accepted recipient, in RCPT order (4.2): it
	 * replaces that recipient's RCPT reply in the result, and a refusal
	 * clears its accepted flag. The session fails only when every one was
	 * refused.
	 */
	bool lmtp;
};

struct smtp_client_envelope {
	const char *from; /* "" for the null sender */
	const char *const *rcpts;
	size_t nrcpts;
	uint64_t size; /* for SIZE=, 0 when unknown */
	bool eightbit; /* BODY=8BITMIME needed */
	bool smtputf8; /* SMTPUTF8 needed (UTF-8 addresses) */
	/* RFC 8689: send MAIL FROM ... REQUIRETLS; a session that is not TLS,
	 * or a server that does not offer REQUIRETLS, fails before MAIL with
	 * CLIENT_REQUIRETLS_UNSUPPORTED (whether the TLS was verified is the
	 * glue's to decide: the core does not see certificates). */
	bool requiretls;
};

enum smtp_client_action {
	CLIENT_ACT_NONE,      /* send the output, wait for the next reply line */
	CLIENT_ACT_START_TLS, /* send the output, do the TLS handshake, call tls_done */
	CLIENT_ACT_SEND_BODY, /* stream the dot-stuffed body and CRLF.CRLF, call body_sent */
	CLIENT_ACT_DONE,      /* send the output (QUIT) and close: see result */
	CLIENT_ACT_IDLE,      /* keep_open: the transaction is over (see result); call
				 smtp_client_next() or smtp_client_quit() */
};

/* Why a session failed; maps to probe statuses and sysexits in one table. */
enum client_failure {
	CLIENT_OK,
	CLIENT_NO_GREETING, /* not 220 (or nothing) */
	CLIENT_EHLO_FAILED,
	CLIENT_STARTTLS_MISSING, /* TLS required, not offered */
	CLIENT_TLS_FAILED,	 /* 454 to STARTTLS, or the handshake failed */
	CLIENT_AUTH_MISSING,	 /* credentials given, AUTH not offered (or no shared mechanism) */
	CLIENT_AUTH_FAILED,	 /* 535 and friends */
	CLIENT_SENDER_REJECTED,
	CLIENT_RELAY_DENIED,	       /* RCPT 550 5.7.1 / 554 relay */
	CLIENT_RCPT_REJECTED,	       /* other RCPT refusals */
	CLIENT_DATA_REJECTED,	       /* DATA or end-of-data refused */
	CLIENT_TEMPFAIL,	       /* a 4xx somewhere: try again later */
	CLIENT_PROTOCOL,	       /* a reply that makes no sense here */
	CLIENT_SIZE_EXCEEDED,	       /* larger than the server's SIZE */
	CLIENT_UTF8_UNSUPPORTED,       /* SMTPUTF8 needed, not offered */
	CLIENT_8BIT_UNSUPPORTED,       /* strict_8bitmime: an 8-bit body, 8BITMIME not offered */
	CLIENT_REQUIRETLS_UNSUPPORTED, /* REQUIRETLS needed: no TLS, or not offered (RFC 8689) */
};

struct smtp_client_reply {
	int code;	/* 0: none */
	char esc[16];	/* "5.7.1" or "" */
	char text[512]; /* all lines joined with " " (trimmed) */
};

/* Per recipient, for outbound delivery and the report of `send`. */
struct smtp_client_rcpt_result {
	bool accepted;
	struct smtp_client_reply reply;
};

struct smtp_client_result {
	enum client_failure failure;
	const char *phase;		/* where it stopped: "greeting", "ehlo", "starttls", ... */
	struct smtp_client_reply reply; /* the reply that decided it (or the final 250) */
	struct smtp_client_rcpt_result *rcpts; /* nrcpts entries */
	size_t accepted;		       /* how many recipients were accepted */
	unsigned used_mech;		       /* CLIENT_MECH_* used, or 0 */
	bool tls;			       /* TLS was active when MAIL was sent */
	/* Opportunistic TLS: the refusal of STARTTLS, after which the
	 * session went on in clear (code 0: not refused). */
	struct smtp_client_reply starttls_reply;
	bool eightbit_unannounced; /* 8-bit body, server without 8BITMIME */
};

/* What the server offered in its (last) EHLO reply, for probe and logs. */
struct smtp_client_caps {
	bool esmtp;
	bool starttls;
	bool pipelining;
	bool smtputf8;
	bool eightbitmime;
	bool chunking;
	bool enhancedstatuscodes;
	bool dsn;
	bool requiretls;      /* RFC 8689 (only ever offered over TLS) */
	uint64_t size;	      /* 0: not advertised or no limit */
	unsigned auth_mechs;  /* CLIENT_MECH_* the server offers that we know */
	char auth_line[256];  /* the AUTH keywords as offered */
	bool auth_before_tls; /* AUTH was offered before TLS */
	char greeting[512];
	/* Every keyword line of the EHLO reply as offered (known or not: DSN,
	 * VRFY, ETRN, HELP, XCLIENT ...), in the server's order, each ended by
	 * '\n', controls as '?'; from the first line that does not fit on,
	 * lines are left out and counted in keywords_dropped. For probe. */
	char keywords[1024];
	unsigned keywords_dropped;
};

struct smtp_client;

/* cfg and env (and everything they point to) must outlive the session. */
struct smtp_client *smtp_client_new(const struct smtp_client_config *cfg,
				    const struct smtp_client_envelope *env);
void smtp_client_free(struct smtp_client **cp);

/* One reply line from the server, without its CRLF. */
void smtp_client_feed(struct smtp_client *c, struct strv line);
/* Commands to send; the glue sends and buf_reset()s it. */
struct buf *smtp_client_output(struct smtp_client *c);
/* The dialogue for -v, secrets redacted: "C: ..." and "S: ..." lines. Glue resets it. */
struct buf *smtp_client_transcript(struct smtp_client *c);
enum smtp_client_action smtp_client_action(const struct smtp_client *c);

/* The handshake after STARTTLS: ok, or failed with OpenSSL's reason. */
void smtp_client_tls_done(struct smtp_client *c, bool ok, const char *reason);
/* The glue wrote the body and the final CRLF "." CRLF. */
void smtp_client_body_sent(struct smtp_client *c);
/* The connection ended or timed out (phase kept for the result). */
void smtp_client_connection_lost(struct smtp_client *c, bool timeout);

/*
 * keep_open, action IDLE: the next transaction on this connection (false
 * when the session is not idle). env must outlive it; the result of the
 * one before is gone, the capabilities and TLS stay.
 */
bool smtp_client_next(struct smtp_client *c, const struct smtp_client_envelope *env);
/* keep_open, action IDLE: QUIT (action DONE). */
void smtp_client_quit(struct smtp_client *c);

const struct smtp_client_result *smtp_client_result(const struct smtp_client *c);
const struct smtp_client_caps *smtp_client_caps(const struct smtp_client *c);
const char *smtp_client_mech_name(unsigned mech);
/* "ok", "no-greeting", "relay-denied", ...: a static string, for logs and tests. */
const char *smtp_client_failure_name(enum client_failure f);

#endif
