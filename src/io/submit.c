/*
 * submit: tries the doors in order (see submit.h).
 */
#include "submit.h"

#include <string.h>

#include "str.h"

size_t
submit_default_doors(struct door *doors)
{
	doors[0] = (struct door){587, CLIENT_TLS_STARTTLS};
	doors[1] = (struct door){465, CLIENT_TLS_IMPLICIT};
	doors[2] = (struct door){2525, CLIENT_TLS_STARTTLS};
	return 3;
}

/* The connection failed before SMTP could start (or TLS broke it). */
static const struct outcome *
conn_outcome(const struct client_run_result *r, struct door door)
{
	switch (r->conn.kind) {
	case CONN_DNS:
		return outcome_get(OUTCOME_DNS_ERROR);
	case CONN_REFUSED:
		return outcome_get(OUTCOME_CONNECT_REFUSED);
	case CONN_UNREACHABLE:
		return outcome_get(OUTCOME_CONNECT_UNREACHABLE);
	case CONN_TIMEOUT:
		return r->connected ? outcome_get(OUTCOME_REPLY_TIMEOUT)
				    : outcome_connect_timeout(door.port);
	case CONN_TLS_CERT:
		return outcome_from_tls(r->conn.detail, true, door.tls == CLIENT_TLS_IMPLICIT);
	case CONN_TLS_HANDSHAKE:
		return outcome_from_tls(r->conn.detail, false, door.tls == CLIENT_TLS_IMPLICIT);
	default:
		return outcome_get(OUTCOME_CONNECTION_LOST);
	}
}

const struct outcome *
run_outcome(const struct client_run_result *r, struct door door)
{
	if (!r->connected)
		return conn_outcome(r, door);
	/* Implicit TLS that never got going: usually a plaintext door. */
	if (door.tls == CLIENT_TLS_IMPLICIT && !r->tls_used)
		return conn_outcome(r, door);
	if (!r->greeted) {
		if (r->conn.kind == CONN_TIMEOUT || r->conn.kind == CONN_CLOSED)
			return outcome_no_greeting(door.port, door.tls);
		if (r->smtp.reply.code >= 500)
			return outcome_get(OUTCOME_GREETING_REFUSED);
		return outcome_no_greeting(door.port, door.tls);
	}
	if (r->conn.kind == CONN_TLS_CERT || r->conn.kind == CONN_TLS_HANDSHAKE)
		return conn_outcome(r, door);
	if (r->smtp.failure == CLIENT_OK)
		return outcome_get(OUTCOME_OK);
	return outcome_from_reply(r->smtp.failure, &r->smtp.reply);
}

int
submit(const struct submit_opts *o, struct door_attempt *attempts, size_t *n_r,
       struct smtp_client_rcpt_result *rcpt_results)
{
	*n_r = 0;
	for (size_t i = 0; i < o->ndoors && i < SUBMIT_MAX_DOORS; i++) {
		struct door_attempt *a = &attempts[i];
		struct smtp_client_config cfg = *o->cfg;
		struct client_conn_opts copts = {
		    .host = o->host,
		    .port = o->doors[i].port,
		    .timeout_ms = o->timeout_ms,
		    .cafile = o->cafile,
		    .insecure = o->insecure,
		};
		cfg.tls = o->doors[i].tls;
		cfg.port = o->doors[i].port;
		cfg.host = o->host;
		a->door = o->doors[i];
		if (o->transcript)
			fprintf(o->transcript, "=== trying %s:%u (%s)\n", o->host, a->door.port,
				door_tls_name(a->door.tls));
		client_run(&copts, &cfg, o->env, o->body, o->body_len, o->transcript, &a->run,
			   rcpt_results);
		a->outcome = run_outcome(&a->run, a->door);
		*n_r = i + 1;
		if (a->outcome->id == OUTCOME_OK)
			return (int)i;
		if (!a->outcome->next_door)
			return -1;
	}
	return -1;
}
