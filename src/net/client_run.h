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

#endif
