/*
 * client_run: the loop between a client_conn and the client session core.
 *
 * The core decides every byte of SMTP; this file only moves bytes and
 * performs the actions the core asks for. The body is dot-stuffed here as
 * it is written, in chunks, never copied whole.
 */
#include "client_run.h"

#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"
#include "str.h"
#include "xmalloc.h"

#define BODY_CHUNK 16384
#define REPLY_LINE_MAX 4096

/*
 * The core writes "S: " and "C: " lines; people know swaks' arrows, with a
 * tilde once the connection is encrypted: "<- ", " -> ", "<~ ", " ~> ".
 */
static void
flush_transcript(struct smtp_client *c, FILE *transcript, bool tls)
{
	struct buf *t = smtp_client_transcript(c);
	for (size_t i = 0; transcript && i < t->len;) {
		const char *line = t->data + i;
		const char *nl = memchr(line, '\n', t->len - i);
		size_t n = nl ? (size_t)(nl - line) + 1 : t->len - i;
		const char *arrow = NULL;
		if (n >= 3 && memcmp(line, "S: ", 3) == 0)
			arrow = tls ? "<~  " : "<-  ";
		else if (n >= 3 && memcmp(line, "C: ", 3) == 0)
			arrow = tls ? " ~> " : " -> ";
		if (arrow)
			fprintf(transcript, "%s%.*s", arrow, (int)(n - 3), line + 3);
		else
			fprintf(transcript, "%.*s", (int)n, line);
		i += n;
	}
	buf_reset(t);
}

static int
send_output(struct client_conn *conn, struct smtp_client *c, struct conn_error *err)
{
	struct buf *out = smtp_client_output(c);
	if (out->len == 0)
		return 0;
	int rc = client_conn_write(conn, out->data, out->len, err);
	/* AUTH lines carry secrets: do not leave them in memory. */
	explicit_bzero(out->data, out->len);
	buf_reset(out);
	return rc;
}

/* The message, dot-stuffed, then CRLF "." CRLF (RFC 5321 4.5.2). */
static int
send_body(struct client_conn *conn, const char *body, size_t len, struct conn_error *err)
{
	char *out = xmalloc(2 * BODY_CHUNK + 8);
	bool at_line_start = true;
	int rc = 0;
	for (size_t off = 0; off < len && rc == 0; off += BODY_CHUNK) {
		size_t n = len - off < BODY_CHUNK ? len - off : BODY_CHUNK;
		size_t m = smtp_data_stuff(body + off, n, &at_line_start, out);
		rc = client_conn_write(conn, out, m, err);
	}
	if (rc == 0) {
		bool ends_crlf = len >= 2 && body[len - 2] == '\r' && body[len - 1] == '\n';
		const char *end = ends_crlf || len == 0 ? ".\r\n" : "\r\n.\r\n";
		rc = client_conn_write(conn, end, strlen(end), err);
	}
	free(out);
	return rc;
}

/* Perform the core's pending action; false when the session is over. */
static bool
perform(struct client_conn *conn, struct smtp_client *c, const char *body, size_t body_len,
	struct client_run_result *r)
{
	struct conn_error err;
	switch (smtp_client_action(c)) {
	case CLIENT_ACT_NONE:
		return true;
	case CLIENT_ACT_START_TLS:
		if (client_conn_start_tls(conn, &err) < 0) {
			r->conn = err;
			/* What the refused certificate was (tls_used stays false). */
			if (client_conn_tls(conn) != NULL)
				r->tls = *client_conn_tls(conn);
			smtp_client_tls_done(c, false, err.detail);
			return smtp_client_action(c) != CLIENT_ACT_DONE;
		}
		r->tls_used = true;
		r->tls = *client_conn_tls(conn);
		smtp_client_tls_done(c, true, NULL);
		if (send_output(conn, c, &err) < 0) {
			r->conn = err;
			smtp_client_connection_lost(c, err.kind == CONN_TIMEOUT);
			return false;
		}
		return true;
	case CLIENT_ACT_SEND_BODY:
		if (send_body(conn, body ? body : "", body ? body_len : 0, &err) < 0) {
			r->conn = err;
			smtp_client_connection_lost(c, err.kind == CONN_TIMEOUT);
			return false;
		}
		smtp_client_body_sent(c);
		return true;
	case CLIENT_ACT_DONE:
		send_output(conn, c, &err); /* QUIT, best effort */
		return false;
	case CLIENT_ACT_IDLE: /* keep_open: the transaction is over, the connection kept */
		return false;
	}
	return false;
}

/*
 * Send what the core wrote, do what it asks, read the next reply line;
 * until the session is done or, with keep_open, idle between transactions.
 */
static void
dialogue(struct client_conn *conn, struct smtp_client *c, const char *body, size_t body_len,
	 FILE *transcript, struct client_run_result *r)
{
	char *line = xmalloc(REPLY_LINE_MAX);
	struct conn_error err;
	for (;;) {
		if (send_output(conn, c, &err) < 0) {
			r->conn = err;
			smtp_client_connection_lost(c, err.kind == CONN_TIMEOUT);
			break;
		}
		flush_transcript(c, transcript, r->tls_used);
		bool go_on = perform(conn, c, body, body_len, r);
		flush_transcript(c, transcript, r->tls_used);
		if (!go_on)
			break;
		size_t n;
		if (client_conn_read_line(conn, line, REPLY_LINE_MAX, &n, &err) < 0) {
			r->conn = err;
			smtp_client_connection_lost(c, err.kind == CONN_TIMEOUT);
			break;
		}
		if (!r->greeted && n >= 3 && memcmp(line, "220", 3) == 0)
			r->greeted = true;
		smtp_client_feed(c, (struct strv){line, n});
	}
	flush_transcript(c, transcript, r->tls_used);
	free(line);
}

struct client_session {
	struct client_conn *conn;
	struct smtp_client *c;
	struct smtp_client_config cfg;
	char host[256];
	FILE *transcript;
	bool tls_used;
	struct tls_info tls;
};

/* The core's result into r; its per-recipient results into rcpt_results. */
static void
collect(const struct client_session *s, const struct smtp_client_envelope *env,
	struct client_run_result *r, struct smtp_client_rcpt_result *rcpt_results)
{
	r->smtp = *smtp_client_result(s->c);
	r->caps = *smtp_client_caps(s->c);
	if (rcpt_results && r->smtp.rcpts && env)
		memcpy(rcpt_results, r->smtp.rcpts, env->nrcpts * sizeof *rcpt_results);
	r->smtp.rcpts = rcpt_results;
}

static bool
idle(const struct client_session *s)
{
	return smtp_client_action(s->c) == CLIENT_ACT_IDLE;
}

struct client_session *
client_session_open(const struct client_conn_opts *opts, const struct smtp_client_config *cfg,
		    const struct smtp_client_envelope *env, const char *body, size_t body_len,
		    FILE *transcript, struct client_run_result *r,
		    struct smtp_client_rcpt_result *rcpt_results)
{
	memset(r, 0, sizeof *r);
	struct client_session *s = xcalloc(1, sizeof *s);
	s->cfg = *cfg;
	if (cfg->host) {
		str_copy(s->host, sizeof s->host, cfg->host);
		s->cfg.host = s->host;
	}
	s->transcript = transcript;
	s->conn = client_conn_open(opts, &r->conn);
	if (s->conn == NULL) {
		free(s);
		return NULL;
	}
	r->connected = true;
	if (transcript)
		fprintf(transcript, "=== connected to %s:%u (%s)\n", opts->host, opts->port,
			client_conn_peer(s->conn));
	s->c = smtp_client_new(&s->cfg, env);
	if (cfg->tls == CLIENT_TLS_IMPLICIT) {
		if (client_conn_start_tls(s->conn, &r->conn) < 0) {
			client_session_close(&s);
			return NULL;
		}
		r->tls_used = true;
		r->tls = *client_conn_tls(s->conn);
	}
	if (transcript && r->tls_used)
		fprintf(transcript, "=== TLS %s %s\n", r->tls.version, r->tls.cipher);
	dialogue(s->conn, s->c, body, body_len, transcript, r);
	collect(s, env, r, rcpt_results);
	s->tls_used = r->tls_used;
	s->tls = r->tls;
	if (!idle(s))
		client_session_close(&s);
	return s;
}

bool
client_session_next(struct client_session *s, const struct smtp_client_envelope *env,
		    const char *body, size_t body_len, struct client_run_result *r,
		    struct smtp_client_rcpt_result *rcpt_results)
{
	memset(r, 0, sizeof *r);
	r->connected = r->greeted = r->reused = true;
	r->tls_used = s->tls_used;
	r->tls = s->tls;
	if (!smtp_client_next(s->c, env)) {
		collect(s, env, r, rcpt_results);
		return false;
	}
	dialogue(s->conn, s->c, body, body_len, s->transcript, r);
	collect(s, env, r, rcpt_results);
	return idle(s);
}

bool
client_session_quiet(const struct client_session *s)
{
	return idle(s) && client_conn_quiet(s->conn);
}

void
client_session_close(struct client_session **sp)
{
	struct client_session *s = *sp;
	if (s == NULL)
		return;
	if (s->c && idle(s)) {
		struct conn_error err;
		smtp_client_quit(s->c);
		send_output(s->conn, s->c, &err); /* QUIT, best effort */
		flush_transcript(s->c, s->transcript, s->tls_used);
	}
	smtp_client_free(&s->c);
	client_conn_close(&s->conn);
	free(s);
	*sp = NULL;
}

void
client_run(const struct client_conn_opts *opts, const struct smtp_client_config *cfg,
	   const struct smtp_client_envelope *env, const char *body, size_t body_len,
	   FILE *transcript, struct client_run_result *r,
	   struct smtp_client_rcpt_result *rcpt_results)
{
	struct client_session *s =
	    client_session_open(opts, cfg, env, body, body_len, transcript, r, rcpt_results);
	client_session_close(&s);
}
