/*
 * local_lmtp: the LMTP transport of local delivery (local_lmtp.h), on the
 * client core in LMTP mode (smtp_client.h: LHLO, a reply per recipient
 * after the body) and the blocking runner the outbound agent uses.
 *
 * The message goes as queued: our Received: header leads it, and the
 * server adds Return-Path (RFC 2033 4.3 leaves that to the final
 * delivery). A kept connection that turns out closed when the next
 * message starts is replaced once, at once.
 */
#include "local_lmtp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "client_run.h"
#include "spool.h"
#include "str.h"
#include "xmalloc.h"

#define LMTP_BODY_MAX (256u * 1024 * 1024)

struct local_lmtp {
	struct config_endpoint ep;
	char hostname[256];
	char relay[160];
	unsigned timeout_s;
	struct client_session *s; /* kept between messages; NULL when none */
	struct smtp_client_config cfg;
	struct client_conn_opts opts;
};

struct local_lmtp *
local_lmtp_new(const struct config_endpoint *ep, const char *hostname, unsigned timeout_s)
{
	struct local_lmtp *l = xcalloc(1, sizeof *l);
	l->ep = *ep;
	str_copy(l->hostname, sizeof l->hostname, hostname);
	char where[140];
	config_endpoint_format(ep, where, sizeof where);
	snprintf(l->relay, sizeof l->relay, "lmtp:%s", where);
	l->timeout_s = timeout_s ? timeout_s : 30;
	l->cfg = (struct smtp_client_config){
	    .ehlo_name = l->hostname,
	    .tls = CLIENT_TLS_NONE, /* a local socket or a trusted host, as Postfix's lmtp */
	    .host = ep->unix_path[0] ? "localhost" : l->ep.hp.host,
	    .keep_open = true,
	    .lmtp = true,
	};
	l->opts = (struct client_conn_opts){
	    .host = ep->unix_path[0] ? "localhost" : l->ep.hp.host,
	    .port = ep->hp.port,
	    .unix_path = ep->unix_path[0] ? l->ep.unix_path : NULL,
	    .timeout_ms = (int)l->timeout_s * 1000,
	};
	return l;
}

void
local_lmtp_free(struct local_lmtp **lp)
{
	struct local_lmtp *l = *lp;
	if (l == NULL)
		return;
	client_session_close(&l->s);
	free(l);
	*lp = NULL;
}

void
local_lmtp_close(struct local_lmtp *l)
{
	client_session_close(&l->s);
}

const char *
local_lmtp_relay(const struct local_lmtp *l)
{
	return l->relay;
}

int
local_lmtp_read_body(const struct spool_entry *e, struct buf *body)
{
	FILE *fp = fopen(e->path, "rb");
	if (fp == NULL || fseeko(fp, (off_t)e->body_offset, SEEK_SET) < 0) {
		if (fp)
			fclose(fp);
		return -1;
	}
	char chunk[65536];
	size_t n;
	bool ok = true;
	while (ok && (n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		ok = buf_append(body, chunk, n);
	bool err = ferror(fp);
	fclose(fp);
	return ok && !err ? 0 : -1;
}

static bool
has_8bit(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return true;
	return false;
}

static void
defer_all(struct lmtp_rcpt_result *res, size_t n, const char *why)
{
	for (size_t i = 0; i < n; i++) {
		res[i].outcome = LMTP_DEFERRED;
		str_copy(res[i].dsn, sizeof res[i].dsn, "4.4.1");
		str_copy(res[i].reply, sizeof res[i].reply, why);
		res[i].from_server = false;
	}
}

static void
reply_text(const struct smtp_client_reply *r, char *out, size_t size)
{
	snprintf(out, size, "%d %s%s%s", r->code, r->esc, r->esc[0] ? " " : "", r->text);
}

/* The session did not reach the recipients: our words for why, with the server's. */
static void
session_failed(const struct local_lmtp *l, const struct client_run_result *r, char *why,
	       size_t size)
{
	if (!r->connected)
		snprintf(why, size,
			 "cannot connect to the LMTP server %s: %s; is Dovecot running, and its "
			 "lmtp service listening there (service lmtp { unix_listener ... })?",
			 l->relay, r->conn.detail);
	else if (r->smtp.reply.code)
		snprintf(why, size, "the LMTP server %s answered %d %s%s%s (phase %s)", l->relay,
			 r->smtp.reply.code, r->smtp.reply.esc, r->smtp.reply.esc[0] ? " " : "",
			 r->smtp.reply.text, r->smtp.phase ? r->smtp.phase : "?");
	else
		snprintf(why, size, "the LMTP server %s: %s", l->relay,
			 r->smtp.reply.text[0] ? r->smtp.reply.text : r->conn.detail);
}

/* One transaction: on the kept connection, or a new one. */
static void
run(struct local_lmtp *l, const struct smtp_client_envelope *env, const struct buf *body,
    struct client_run_result *r, struct smtp_client_rcpt_result *rr)
{
	if (l->s && client_session_quiet(l->s)) {
		if (client_session_next(l->s, env, body->data, body->len, r, rr))
			return;
		/* Lost before MAIL's reply: nothing was delivered; a new one tries. */
		bool again = r->reused && r->smtp.phase && strcmp(r->smtp.phase, "mail") == 0 &&
			     r->smtp.failure == CLIENT_TEMPFAIL && r->smtp.reply.code == 0;
		client_session_close(&l->s);
		if (!again)
			return;
	}
	client_session_close(&l->s);
	memset(rr, 0, env->nrcpts * sizeof *rr);
	l->s = client_session_open(&l->opts, &l->cfg, env, body->data, body->len, NULL, r, rr);
}

void
local_lmtp_deliver(struct local_lmtp *l, const struct spool_entry *e, const char *const *rcpts,
		   size_t n, struct lmtp_rcpt_result *res)
{
	struct buf body;
	buf_init(&body, LMTP_BODY_MAX);
	if (local_lmtp_read_body(e, &body) < 0) {
		char why[300];
		snprintf(why, sizeof why, "cannot read the queued message %s: %s", e->path,
			 strerror(errno ? errno : EIO));
		defer_all(res, n, why);
		buf_free(&body);
		return;
	}
	bool utf8 = has_8bit(e->from, strlen(e->from));
	for (size_t i = 0; i < n; i++)
		utf8 = utf8 || has_8bit(rcpts[i], strlen(rcpts[i]));
	struct smtp_client_envelope env = {
	    .from = e->from,
	    .rcpts = rcpts,
	    .nrcpts = n,
	    .size = body.len,
	    .eightbit = has_8bit(body.data ? body.data : "", body.len),
	    .smtputf8 = utf8,
	};
	struct smtp_client_rcpt_result *rr = xcalloc(n ? n : 1, sizeof *rr);
	struct client_run_result r;
	run(l, &env, &body, &r, rr);
	bool reached = r.smtp.phase &&
		       (strcmp(r.smtp.phase, "rcpt") == 0 || strcmp(r.smtp.phase, "data") == 0 ||
			strcmp(r.smtp.phase, "body") == 0 || strcmp(r.smtp.phase, "idle") == 0 ||
			strcmp(r.smtp.phase, "done") == 0 || strcmp(r.smtp.phase, "quit") == 0);
	char why[600];
	session_failed(l, &r, why, sizeof why);
	/* Refusals decided before any command: no later attempt can do better. */
	if (r.smtp.failure == CLIENT_SIZE_EXCEEDED || r.smtp.failure == CLIENT_UTF8_UNSUPPORTED) {
		const char *dsn = r.smtp.failure == CLIENT_SIZE_EXCEEDED ? "5.3.4" : "5.6.7";
		for (size_t i = 0; i < n; i++) {
			res[i] = (struct lmtp_rcpt_result){.outcome = LMTP_BOUNCED};
			str_copy(res[i].dsn, sizeof res[i].dsn, dsn);
			snprintf(res[i].reply, sizeof res[i].reply, "the LMTP server %s: %s",
				 l->relay, r.smtp.reply.text);
		}
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct lmtp_rcpt_result *o = &res[i];
		const struct smtp_client_reply *rep = &rr[i].reply;
		if (rr[i].accepted) {
			o->outcome = LMTP_SENT;
		} else if (reached && rep->code >= 500 && rep->code < 600) {
			o->outcome = LMTP_BOUNCED; /* this recipient, refused by the server */
		} else if (reached && rep->code >= 400) {
			o->outcome = LMTP_DEFERRED;
		} else {
			defer_all(o, 1, why);
			continue;
		}
		o->from_server = true;
		reply_text(rep, o->reply, sizeof o->reply);
		str_copy(o->dsn, sizeof o->dsn,
			 rep->esc[0]		      ? rep->esc
			 : o->outcome == LMTP_SENT    ? "2.0.0"
			 : o->outcome == LMTP_BOUNCED ? "5.0.0"
						      : "4.0.0");
	}
out:
	free(rr);
	buf_free(&body);
}
