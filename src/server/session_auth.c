/*
 * session_auth: mail authentication in the session (issue 14): the header
 * block held and cleaned, DKIM signing of submitted mail, SPF + DKIM +
 * DMARC of mail from other servers, and the end-of-data verdict.
 *
 * The core writes the message through hook_spool_write, our Received:
 * header first in one call. What follows is the message as the client
 * sent it: its header block is held here (msg_headers) until the empty
 * line that ends it, then written to the spool without any
 * Authentication-Results field that claims our authserv-id (on every door:
 * only we may speak in our name, and a forged one must never reach a
 * mailbox, RFC 8601 5); the body passes straight through. Signer and
 * checker see the fields as sent and every body byte as it streams, so the
 * body hash is computed on the way and the message is never read again.
 *
 * At the end of data, before the commit and before the 250, the finish
 * step (DNS lookups, which block, and the RSA/Ed25519 signing) runs on
 * the auth worker's threads, never on the event loop; its result is put in
 * front of the message with spool_msg_prepend (the room was reserved at
 * spool_msg_begin), then the message is committed, or refused: 550 5.7.1
 * for a DMARC reject, 451 4.7.1 when the verdict could change on a retry
 * (DNS failed where it mattered; auth_check.h says when).
 *
 * Which door does what:
 *   smtp door, client not authenticated: auth_check (SPF of MAIL FROM or
 *     HELO, every DKIM signature, DMARC); our Authentication-Results opens
 *     the message, and "X-Spam-Flag: YES" too when DMARC says quarantine.
 *   submission/submissions (or an authenticated client on any door), with
 *     DKIM keys loaded: signed with every key of the From: domain.
 *
 * Bounds: the held header block is at most HEADER_HOLD_MAX bytes. A message
 * whose header is longer is refused at its end with 552 5.3.4 (permanent,
 * so the sender learns of it through its own server's bounce: nothing is
 * lost silently), since we could neither clean it nor check it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_check.h"
#include "auth_dns.h"
#include "auth_results.h"
#include "dkim_sign.h"
#include "log.h"
#include "msg_headers.h"
#include "session_internal.h"
#include "spool.h"
#include "str.h"
#include "worker.h"
#include "xmalloc.h"

/*
 * More Received: fields than this and the message is in a loop (RFC 5321
 * 6.3), e.g. an alias forwarding to a server that forwards back: refused,
 * so the sender's server returns it. Postfix's hopcount_limit is 50 too.
 */
#define HOPS_MAX 50
/* The most header bytes held (Postfix's header_size_limit is 100 KiB). */
#define HEADER_HOLD_MAX (256 * 1024)
/* Room for our Authentication-Results (auth_verdict.header) and the mark. */
#define PAD_CHECK (sizeof(((struct auth_verdict *)0)->header) + 64 + SPOOL_PAD_MIN)
/* Room per signing key: an RSA-4096 signature with a long header list and
 * long names, folded, stays well under this. */
#define PAD_PER_KEY 2048
/* One DNS query's own bound; the message's budget (auth-timeout) caps all. */
#define QUERY_TIMEOUT_MS 5000

struct session_msg {
	struct worker_job job; /* first: the worker hands it back */
	struct session *s;
	bool received;	   /* our Received: header (the first write) went out */
	bool headers_done; /* the header block was written; body passes */
	bool too_big;
	struct msg_headers hdrs;
	struct buf raw; /* the header bytes as received, while held */
	unsigned removed;
	struct dkim_signer *signer;
	struct auth_check *check;
	int budget_ms;
	/* The sender as given (SPF), kept while the check lives. */
	char ip[64], helo[256], sender[SMTP_PATH_MAX + 1];
	/* When the job was handed to the worker, began and ended there (µs), for the log. */
	long long submitted_us, ran_us, finished_us;
	/* Results, filled on the worker. */
	struct auth_verdict verdict;
	struct buf sigs;
	int nsigs;
	char why[256];
};

static void
msg_free(struct session_msg **mp)
{
	struct session_msg *m = *mp;
	if (m == NULL)
		return;
	msg_headers_free(&m->hdrs);
	buf_free(&m->raw);
	buf_free(&m->sigs);
	dkim_signer_free(&m->signer);
	auth_check_free(&m->check);
	free(m);
	*mp = NULL;
}

void
session_auth_drop(struct session *s)
{
	msg_free(&s->auth_msg);
}

void
session_auth_free(struct session *s)
{
	session_auth_drop(s);
	auth_dns_free(&s->dns);
}

/* The session's resolver, made at its first check (its cache serves the
 * session's later messages). NULL when c-ares cannot be set up. */
static struct auth_dns *
session_dns(struct session *s)
{
	if (s->dns)
		return s->dns;
	char resolver[300], err[256];
	config_hostport_format(&s->srv->cfg.resolver, resolver, sizeof resolver);
	s->dns = auth_dns_new(resolver, QUERY_TIMEOUT_MS, err, sizeof err);
	if (s->dns == NULL)
		log_err("session=%s event=auth_dns_failed error=\"%s\" fix=\"check the resolver "
			"line of the config\"",
			s->id, err);
	return s->dns;
}

size_t
session_auth_begin(struct session *s, const struct smtp_envelope *env)
{
	session_auth_drop(s);
	struct session_msg *m = xcalloc(1, sizeof *m);
	m->s = s;
	msg_headers_init(&m->hdrs, HEADER_HOLD_MAX);
	buf_init(&m->raw, HEADER_HOLD_MAX);
	buf_init(&m->sigs, 0);
	s->auth_msg = m;
	struct server *srv = s->srv;
	bool inbound = s->l->policy->service == SVC_SMTP && env->auth_user == NULL;
	size_t pad = 0;
	if (inbound) {
		str_copy(m->ip, sizeof m->ip, env->client_addr);
		str_copy(m->helo, sizeof m->helo, env->helo);
		if (!env->mail->from.is_null)
			snprintf(m->sender, sizeof m->sender, "%s@%s", env->mail->from.local,
				 env->mail->from.domain);
		struct spf_request rq = {
		    .ip = m->ip,
		    .helo = m->helo,
		    .sender = m->sender,
		    .receiver = s->hostname,
		    .now = (int64_t)time(NULL),
		};
		m->check = auth_check_new(&rq, s->hostname, srv->cfg.dmarc_policy);
		m->budget_ms = (int)srv->cfg.auth_timeout * 1000;
		pad = PAD_CHECK;
	} else if (srv->dkim_keys != NULL) {
		m->signer = dkim_signer_new(srv->dkim_keys, (int64_t)time(NULL));
		pad = PAD_PER_KEY * (srv->dkim_nkeys + 1) + SPOOL_PAD_MIN;
	}
	return pad;
}

/* Feed the checks a piece of the body. */
static void
feed_body(struct session_msg *m, const char *p, size_t n)
{
	if (m->signer)
		dkim_signer_body(m->signer, p, n);
	if (m->check)
		auth_check_body(m->check, p, n);
}

/*
 * The header block is complete (or the message ended inside it): write
 * it without our-authserv-id Authentication-Results, then whatever
 * followed the last field (the empty line, or a last line cut short).
 */
static int
write_headers(struct session *s, struct session_msg *m)
{
	m->headers_done = true;
	if (m->too_big)
		return 0; /* refused at the end; nothing more is stored */
	if (m->signer)
		dkim_signer_headers(m->signer, &m->hdrs);
	if (m->check)
		auth_check_headers(m->check, &m->hdrs);
	size_t fields = 0;
	for (size_t i = 0; i < msg_headers_count(&m->hdrs); i++) {
		const struct msg_header *f = msg_headers_at(&m->hdrs, i);
		fields += f->len;
		if (msg_header_is(f, "Authentication-Results") &&
		    auth_results_is_ours(f->raw, f->len, s->hostname)) {
			m->removed++;
			continue;
		}
		if (spool_msg_write(s->msg, f->raw, f->len) < 0)
			return -1;
	}
	if (m->removed)
		log_info("session=%s id=%s event=auth_results_removed count=%u "
			 "note=\"the message claimed our authserv-id %s\"",
			 s->id, spool_msg_id(s->msg), m->removed, s->hostname);
	if (fields < m->raw.len &&
	    spool_msg_write(s->msg, m->raw.data + fields, m->raw.len - fields) < 0)
		return -1;
	buf_free(&m->raw);
	buf_init(&m->raw, 0);
	return 0;
}

int
session_auth_write(struct session *s, const char *p, size_t n)
{
	struct session_msg *m = s->auth_msg;
	if (m == NULL || !m->received) {
		if (m)
			m->received = true; /* our Received: comes whole, first */
		return spool_msg_write(s->msg, p, n);
	}
	if (!m->headers_done) {
		bool done = false;
		size_t used = msg_headers_feed(&m->hdrs, p, n, &done);
		if (!m->too_big && (m->hdrs.too_big || !buf_append(&m->raw, p, used)))
			m->too_big = true;
		if (!done)
			return 0;
		if (write_headers(s, m) < 0)
			return -1;
		p += used;
		n -= used;
	}
	if (m->too_big || n == 0)
		return 0;
	feed_body(m, p, n);
	return spool_msg_write(s->msg, p, n);
}

/* ---- the end of data ---- */

static long long
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
finish_run(struct worker_job *job)
{
	struct session_msg *m = (struct session_msg *)job;
	m->ran_us = now_us();
	if (m->check) {
		struct auth_dns *dns = m->s->dns;
		auth_dns_start(dns, m->budget_ms);
		struct ma_dns iface = auth_dns_iface(dns);
		auth_check_finish(m->check, &iface, &m->verdict);
	}
	if (m->signer)
		m->nsigs = dkim_signer_finish(m->signer, &m->sigs, m->why, sizeof m->why);
	m->finished_us = now_us();
}

/* The value of tag t ("d", "s") in a DKIM-Signature field, for the log. */
static void
sig_tag(const char *f, size_t len, const char *t, char *out, size_t size)
{
	out[0] = '\0';
	size_t tl = strlen(t);
	for (size_t i = 0; i + tl + 1 < len; i++) {
		if ((i == 0 || f[i - 1] == ';' || f[i - 1] == ' ' || f[i - 1] == '\t' ||
		     f[i - 1] == ':') &&
		    strncmp(f + i, t, tl) == 0 && f[i + tl] == '=') {
			size_t j = i + tl + 1, k = 0;
			while (j < len && f[j] != ';' && f[j] != '\r' && k + 1 < size)
				out[k++] = f[j++];
			out[k] = '\0';
			return;
		}
	}
}

static void
log_signatures(struct session *s, const struct session_msg *m)
{
	const char *p = m->sigs.data, *end = m->sigs.data + m->sigs.len;
	while (p < end) {
		/* A field ends at a CRLF not followed by folding white space. */
		const char *q = p;
		while (q + 2 < end &&
		       !(q[0] == '\r' && q[1] == '\n' && q[2] != ' ' && q[2] != '\t'))
			q++;
		q = q + 2 < end ? q + 2 : end;
		char d[256], sel[256];
		sig_tag(p, (size_t)(q - p), "d", d, sizeof d);
		sig_tag(p, (size_t)(q - p), "s", sel, sizeof sel);
		log_info("session=%s id=%s event=dkim_signed domain=%s selector=%s", s->id,
			 spool_msg_id(s->msg), d, sel);
		p = q;
	}
}

/* How long the message waited for a worker and how long its checks took there. */
static void
log_verdict(struct session *s, const struct session_msg *m)
{
	const struct auth_verdict *v = &m->verdict;
	char dkim[128] = "none";
	size_t o = 0;
	for (size_t i = 0; i < v->ndkim && o + 20 < sizeof dkim; i++)
		o += (size_t)snprintf(dkim + o, sizeof dkim - o, "%s%s", i ? "," : "",
				      v->dkim[i].result);
	char detail[300];
	log_info("session=%s id=%s event=auth spf=%s dkim=%s dmarc=%s action=%s wait_ms=%.1f "
		 "check_ms=%.1f detail=\"%s\"",
		 s->id, spool_msg_id(s->msg), spf_result_name(v->spf.result), dkim,
		 dmarc_result_name(v->dmarc.result), auth_action_name(v->action),
		 (double)(m->ran_us - m->submitted_us) / 1000.0,
		 (double)(m->finished_us - m->ran_us) / 1000.0,
		 str_escape(detail, sizeof detail, v->detail, strlen(v->detail)));
}

/* Refuse the message: its file goes, the client gets why. */
static void
refuse(struct session *s, enum smtp_refusal why, const char *detail)
{
	spool_msg_abort(&s->msg);
	s->committing = false;
	smtp_server_message_refused(
	    s->smtp, why, detail,
	    why == SMTP_REFUSE_TOO_MANY_HOPS ? HOPS_MAX : HEADER_HOLD_MAX); /* copies detail */
	session_auth_drop(s); /* detail may be the verdict's: dropped only now */
	session_resume(s);
}

/* Put the verdict's fields in front of the message; false when refused. */
static bool
apply_verdict(struct session *s, struct session_msg *m)
{
	const struct auth_verdict *v = &m->verdict;
	log_verdict(s, m);
	if (v->action == AUTH_REJECT) {
		refuse(s, SMTP_REFUSE_DMARC, v->detail);
		return false;
	}
	if (v->action == AUTH_TEMPFAIL) {
		refuse(s, SMTP_REFUSE_AUTH_TEMPFAIL, v->detail);
		return false;
	}
	/* Prepended last goes first: the mark, then our header above it. */
	static const char mark[] = "X-Spam-Flag: YES\r\n";
	if ((v->action == AUTH_QUARANTINE &&
	     spool_msg_prepend(s->msg, mark, sizeof mark - 1) < 0) ||
	    spool_msg_prepend(s->msg, v->header, strlen(v->header)) < 0) {
		log_err("session=%s id=%s event=prepend_failed error=\"%s\"", s->id,
			spool_msg_id(s->msg), strerror(errno));
		refuse(s, SMTP_REFUSE_AUTH_TEMPFAIL, "the verdict could not be stored");
		return false;
	}
	return true;
}

static bool
apply_signatures(struct session *s, struct session_msg *m)
{
	if (m->nsigs < 0) {
		char why[300];
		log_err("session=%s id=%s event=dkim_sign_failed error=\"%s\"", s->id,
			spool_msg_id(s->msg), str_escape(why, sizeof why, m->why, strlen(m->why)));
		refuse(s, SMTP_REFUSE_SIGN_FAILED, NULL);
		return false;
	}
	if (m->nsigs == 0) {
		log_info("session=%s id=%s event=dkim_unsigned reason=\"no key for the From: "
			 "domain\"",
			 s->id, spool_msg_id(s->msg));
		return true;
	}
	if (spool_msg_prepend(s->msg, m->sigs.data, m->sigs.len) < 0) {
		log_err("session=%s id=%s event=prepend_failed bytes=%zu error=\"%s\"", s->id,
			spool_msg_id(s->msg), m->sigs.len, strerror(errno));
		refuse(s, SMTP_REFUSE_SIGN_FAILED, NULL);
		return false;
	}
	log_signatures(s, m);
	return true;
}

static void
finish_done(struct worker_job *job)
{
	struct session_msg *m = (struct session_msg *)job;
	struct session *s = m->s;
	if (s->dead) {
		spool_msg_abort(&s->msg);
		session_auth_drop(s);
		s->committing = false;
		session_release(s);
		return;
	}
	bool ok = m->check ? apply_verdict(s, m) : true;
	if (ok && m->signer)
		ok = apply_signatures(s, m);
	if (!ok)
		return;
	session_auth_drop(s);
	session_commit(s);
}

void
session_auth_end(struct session *s)
{
	struct session_msg *m = s->auth_msg;
	s->committing = true; /* until on_commit or a refusal */
	if (m == NULL) {
		session_commit(s);
		return;
	}
	if (!m->headers_done && write_headers(s, m) < 0) {
		/* The write error is sticky: the commit reports it (451). */
		session_auth_drop(s);
		session_commit(s);
		return;
	}
	if (m->too_big) {
		log_info("session=%s id=%s event=header_too_big limit=%d", s->id,
			 spool_msg_id(s->msg), HEADER_HOLD_MAX);
		refuse(s, SMTP_REFUSE_HEADER_TOO_BIG, NULL);
		return;
	}
	size_t hops = 0;
	for (size_t i = 0; i < msg_headers_count(&m->hdrs); i++)
		hops += msg_header_is(msg_headers_at(&m->hdrs, i), "Received");
	if (hops > HOPS_MAX) {
		log_info("session=%s id=%s event=mail_loop received=%zu limit=%d", s->id,
			 spool_msg_id(s->msg), hops, HOPS_MAX);
		refuse(s, SMTP_REFUSE_TOO_MANY_HOPS, NULL);
		return;
	}
	if (m->check == NULL && m->signer == NULL) {
		session_auth_drop(s);
		session_commit(s);
		return;
	}
	if (m->check && session_dns(s) == NULL) {
		refuse(s, SMTP_REFUSE_AUTH_TEMPFAIL,
		       "DNS is not available for the SPF, DKIM and "
		       "DMARC checks");
		return;
	}
	m->job.run = finish_run;
	m->job.done = finish_done;
	m->submitted_us = now_us();
	worker_submit(s->srv->auth_worker, &m->job);
}
