/*
 * client_run: drives one client session (core/smtp_client) over one
 * connection (client_conn): connect, implicit TLS or STARTTLS, the
 * dialogue, the body. Shared by send, probe and verify.
 */
#ifndef MP_CLIENT_RUN_H
#define MP_CLIENT_RUN_H

#include <stdbool.h>
#include <stdio.h>

#include "client_conn.h"
#include "smtp_client.h"

struct client_run_result {
	/* Set when the connection (not the SMTP dialogue) failed. */
	struct conn_error conn;
	bool connected;
	bool greeted;	     /* a 220 arrived */
	struct tls_info tls; /* valid when tls_used */
	bool tls_used;
	struct smtp_client_result smtp; /* rcpts points into nothing after return */
	struct smtp_client_caps caps;
	bool reused; /* the transaction ran on a connection kept from before */
};

/*
 * One attempt. body/body_len: the message (CRLF lines, not dot-stuffed),
 * or NULL for probe/verify. transcript: where -v output goes, or NULL.
 * rcpt_results: room for env->nrcpts per-recipient results, or NULL.
 */
void client_run(const struct client_conn_opts *opts, const struct smtp_client_config *cfg,
		const struct smtp_client_envelope *env, const char *body, size_t body_len,
		FILE *transcript, struct client_run_result *r,
		struct smtp_client_rcpt_result *rcpt_results);

/*
 * A connection kept for more transactions (cfg->keep_open): outbound
 * delivery reuses one per destination, verify one per domain.
 *
 * client_session_open() connects and runs the first transaction like
 * client_run(); it returns the session when the connection is idle and fit
 * for another, else NULL (closed; r says why). The session copies cfg
 * (the strings it points to must outlive it) and keeps transcript.
 */
struct client_session;
struct client_session *client_session_open(const struct client_conn_opts *opts,
					   const struct smtp_client_config *cfg,
					   const struct smtp_client_envelope *env, const char *body,
					   size_t body_len, FILE *transcript,
					   struct client_run_result *r,
					   struct smtp_client_rcpt_result *rcpt_results);
/*
 * The next transaction on the connection. Returns false when the session
 * is over (lost, refused, or 421): then r says why and the caller closes
 * it. A connection lost before MAIL's reply leaves r->reused set and
 * r->smtp.phase "mail": nothing was accepted, a new connection may try.
 */
bool client_session_next(struct client_session *s, const struct smtp_client_envelope *env,
			 const char *body, size_t body_len, struct client_run_result *r,
			 struct smtp_client_rcpt_result *rcpt_results);
/* Idle and nothing said since (client_conn_quiet): fit for the next transaction. */
bool client_session_quiet(const struct client_session *s);
/* QUIT when idle, close, free. NULL-safe. */
void client_session_close(struct client_session **sp);

#endif
