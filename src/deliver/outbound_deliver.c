/*
 * outbound_deliver: one message's remote recipients, on a worker's thread.
 *
 * The recipients are grouped by domain, all of a domain's recipients in
 * one transaction, each domain on a slot of the connection cache
 * (conn_cache): on the connection kept from the message before when there
 * is one, else routed anew — the relay host if configured, else the MX
 * hosts by preference, else the domain's A/AAAA (RFC 5321 5.1). Every
 * recipient ends an attempt as sent, failed (bounced) or deferred, and the
 * first two are recorded in the spool before anything else happens, so a
 * crash repeats at most the deliveries in flight. The retry schedule is
 * kept beside each message (spool_retry_*), so a restart goes on backing
 * off where it was.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "bounce.h"
#include "bounce_queue.h"
#include "client_run.h"
#include "conn_cache.h"
#include "date.h"
#include "delivery_metrics.h"
#include "dns.h"
#include "log.h"
#include "long_lines.h"
#include "outbound_int.h"
#include "smtp_addr.h"
#include "str.h"
#include "submit.h"
#include "xmalloc.h"

#define BODY_MAX (256u * 1024 * 1024)
#define CONN_MAX_USES 100	 /* transactions on one connection, then a fresh one */
#define RELAY_DEST "[relayhost]" /* the destination key: no domain has brackets */

/* ---- small helpers ---- */

static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : "";
}

static void
set_outcome(struct rcpt_outcome *o, enum rcpt_state st, const char *dsn, const char *reply)
{
	o->state = st;
	str_copy(o->dsn, sizeof o->dsn, dsn);
	str_copy(o->reply, sizeof o->reply, reply);
}

static void
reply_text(const struct smtp_client_reply *r, char *out, size_t size)
{
	if (r->code)
		snprintf(out, size, "%d %s%s%s", r->code, r->esc, r->esc[0] ? " " : "", r->text);
	else
		str_copy(out, size, r->text);
}

static int
read_body(const struct spool_entry *e, struct buf *body)
{
	FILE *fp = fopen(e->path, "rb");
	if (fp == NULL || fseeko(fp, (off_t)e->body_offset, SEEK_SET) < 0) {
		if (fp)
			fclose(fp);
		return -1;
	}
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		if (!buf_append(body, chunk, n))
			break;
	fclose(fp);
	return 0;
}

bool
outbound_has_8bit(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return true;
	return false;
}

/* ---- one attempt at one host address ---- */

struct target {
	char host[256];
	char addr[64];
	struct door door;
	bool relay;		/* AUTH and a verified certificate */
	const struct mx_tls *m; /* an MX host's TLS plan (NULL for the relay host) */
};

/* The relay host's certificate is verified (CA + name): the verify level. */
#define RELAY_POLICY "policy=verify"

/*
 * Did this host decide the recipients' fate? Not before MAIL, and not when
 * MAIL met a 4xx or the end of the connection: the next MX host may take
 * the message then, as RFC 5321 5.1 asks. From the RCPTs on, each reply
 * decides its recipient.
 */
static bool
host_decided(const struct client_run_result *r)
{
	const char *p = r->smtp.phase ? r->smtp.phase : "";
	if (!r->greeted)
		return false;
	if (strcmp(p, "mail") == 0)
		return r->smtp.reply.code >= 500;
	return strcmp(p, "rcpt") == 0 || strcmp(p, "data") == 0 || strcmp(p, "body") == 0 ||
	       strcmp(p, "quit") == 0 || strcmp(p, "idle") == 0 || strcmp(p, "done") == 0;
}

static const char *
dsn_of(const struct smtp_client_reply *r, char buf[BOUNCE_STATUS_SIZE])
{
	char text[700];
	reply_text(r, text, sizeof text);
	if (r->esc[0] && bounce_status_valid(r->esc))
		return r->esc;
	if (!bounce_status_from_reply(text, buf))
		str_copy(buf, BOUNCE_STATUS_SIZE, r->code >= 500 ? "5.0.0" : "4.0.0");
	return buf;
}

/* Failures decided before MAIL that no other host would change; their DSN. */
static const char *
permanent_failure(enum client_failure f)
{
	switch (f) {
	case CLIENT_SIZE_EXCEEDED:
		return "5.3.4"; /* message too big for system */
	case CLIENT_UTF8_UNSUPPORTED:
		return "5.6.7"; /* RFC 6531: non-ASCII addresses not permitted */
	case CLIENT_8BIT_UNSUPPORTED:
		return "5.6.3"; /* conversion required but not supported */
	case CLIENT_REQUIRETLS_UNSUPPORTED:
		return "5.7.30"; /* RFC 8689 7.3: REQUIRETLS support required */
	default:
		return NULL;
	}
}

/* Turn a session that reached MAIL into per-recipient outcomes. */
static void
judge(const struct client_run_result *r, const char *host, const char *relay, const char *policy,
      struct rcpt_outcome **group, size_t n)
{
	const struct smtp_client_reply *final = &r->smtp.reply;
	for (size_t i = 0; i < n; i++) {
		const struct smtp_client_rcpt_result *rr = &r->smtp.rcpts[i];
		const struct smtp_client_reply *rep =
		    rr->accepted || rr->reply.code == 0 ? final : &rr->reply;
		char text[700], dsn[BOUNCE_STATUS_SIZE];
		reply_text(rep, text, sizeof text);
		struct rcpt_outcome *o = group[i];
		str_copy(o->relay, sizeof o->relay, relay);
		str_copy(o->mta, sizeof o->mta, host);
		str_copy(o->tls, sizeof o->tls, r->tls_used ? r->tls.version : "none");
		str_copy(o->policy, sizeof o->policy, policy);
		o->verified = r->tls_used && r->tls.verified;
		if (rr->accepted && r->smtp.failure == CLIENT_OK)
			set_outcome(o, RS_SENT, final->esc[0] ? final->esc : "2.0.0", text);
		else if (rep->code >= 500 || permanent_failure(r->smtp.failure))
			set_outcome(o, RS_FAILED,
				    rep->code >= 500 ? dsn_of(rep, dsn)
						     : permanent_failure(r->smtp.failure),
				    text);
		else
			set_outcome(o, RS_DEFERRED, rep->code ? dsn_of(rep, dsn) : "4.4.2", text);
	}
}

/* The envelope of a group's transaction; rcpts (n entries) is the caller's. */
static void
group_envelope(const struct spool_entry *e, const struct buf *body, struct rcpt_outcome **group,
	       size_t n, const char **rcpts, struct smtp_client_envelope *env)
{
	bool utf8 = outbound_has_8bit(e->from, strlen(e->from));
	for (size_t i = 0; i < n; i++) {
		rcpts[i] = group[i]->addr;
		utf8 = utf8 || outbound_has_8bit(rcpts[i], strlen(rcpts[i]));
	}
	*env = (struct smtp_client_envelope){
	    .from = e->from,
	    .rcpts = rcpts,
	    .nrcpts = n,
	    .size = body->len,
	    .eightbit = outbound_has_8bit(body->data ? body->data : "", body->len),
	    .smtputf8 = utf8,
	    .requiretls = e->requiretls, /* RFC 8689 4.2.1: passed on to the next hop */
	};
}

/* A new connection's first transaction is decided: keep it for the next, if it is idle. */
static struct cached_conn *
keep_session(struct client_session *s, const char *host, const char *relay, const char *policy,
	     const struct client_run_result *r)
{
	if (s == NULL)
		return NULL;
	struct cached_conn *c = xcalloc(1, sizeof *c);
	c->session = s;
	str_copy(c->host, sizeof c->host, host);
	str_copy(c->relay, sizeof c->relay, relay);
	str_copy(c->policy, sizeof c->policy, policy);
	c->verified = r->tls_used && r->tls.verified;
	c->uses = 1;
	return c;
}

/*
 * The group on a connection kept from before. False when it had gone
 * stale (closed before MAIL had a reply): nothing was decided, and the
 * caller connects anew. *keep: the connection, if it may serve again.
 */
static bool
reuse(const struct spool_entry *e, const struct buf *body, struct cached_conn *cc,
      struct rcpt_outcome **group, size_t n, struct cached_conn **keep)
{
	/* Anything said while it was idle is its end, or a 421 before the end. */
	bool stale = !client_session_quiet(cc->session), idle = false;
	if (!stale) {
		const char **rcpts = xcalloc(n, sizeof *rcpts);
		struct smtp_client_envelope env;
		group_envelope(e, body, group, n, rcpts, &env);
		struct smtp_client_rcpt_result *rr = xcalloc(n, sizeof *rr);
		struct client_run_result r;
		idle = client_session_next(cc->session, &env, body->data ? body->data : "",
					   body->len, &r, rr);
		const char *phase = r.smtp.phase ? r.smtp.phase : "";
		/* ... or it ended just now, before MAIL had a reply. */
		stale = !idle && strcmp(phase, "mail") == 0 &&
			(r.smtp.reply.code == 0 || r.smtp.reply.code == 421);
		if (!stale) {
			judge(&r, cc->host, cc->relay, cc->policy, group, n);
			cc->uses++;
		}
		free(rr);
		free(rcpts);
	}
	if (stale)
		log_info("id=%s event=reuse_failed relay=%s reason=\"the kept connection was "
			 "closed; connecting again\"",
			 e->id, cc->relay);
	if (idle && !stale && cc->uses < CONN_MAX_USES)
		*keep = cc;
	else
		cached_conn_close(&cc);
	return !stale;
}

/* The client's TLS mode and the connection's trust, from the target's plan. */
static void
tls_settings(const struct outbound *ob, const struct target *t, struct smtp_client_config *cfg,
	     struct client_conn_opts *copts)
{
	if (t->door.tls == CLIENT_TLS_IMPLICIT)
		cfg->tls = CLIENT_TLS_IMPLICIT;
	else if (t->relay || t->m->plan.starttls_required)
		cfg->tls = CLIENT_TLS_STARTTLS; /* never plaintext: no STARTTLS = this host fails */
	else
		cfg->tls = CLIENT_TLS_OPPORTUNISTIC;
	if (t->relay) {
		copts->cafile = ob->cfg.relay_cafile[0] ? ob->cfg.relay_cafile : NULL;
		return;
	}
	/* The certificate is always checked, so the log can say verified=yes|no;
	 * only DANE and the verify level (MTA-STS enforce) refuse a bad one.
	 * Otherwise MX delivery is encrypted, not authenticated (RFC 7435). */
	copts->cafile = ob->cfg.outbound_cafile[0] ? ob->cfg.outbound_cafile : NULL;
	copts->insecure = !(t->m->plan.dane || t->m->plan.verify_ca);
	copts->tlsa = t->m->plan.dane ? t->m->tlsa : NULL;
	copts->ntlsa = t->m->plan.dane ? t->m->ntlsa : 0;
}

/* The attempt log line of a host that did not decide (Postfix-style, with send's fix). */
static void
log_attempt(const struct spool_entry *e, const char *relay, const char *status, const char *why,
	    const char *fix, const char *policy, bool verified, const char *tls_result)
{
	char esc[900], fx[600];
	log_info(
	    "id=%s event=attempt relay=%s status=%s reason=\"%s\" fix=\"%s\" %s verified=%s%s%s",
	    e->id, relay, status, str_escape(esc, sizeof esc, why, strlen(why)),
	    str_escape(fx, sizeof fx, fix, strlen(fix)), policy, verified ? "yes" : "no",
	    tls_result ? " tls_result=" : "", tls_result ? tls_result : "");
}

/* One connection: true when the outcome is decided (no other host needed). */
static bool
attempt(struct worker *w, const struct spool_entry *e, const struct buf *body,
	const struct target *t, struct rcpt_outcome **group, size_t n, char *why, size_t why_size,
	struct cached_conn **keep)
{
	struct outbound *ob = w->ob;
	const char **rcpts = xcalloc(n, sizeof *rcpts);
	struct smtp_client_envelope env;
	group_envelope(e, body, group, n, rcpts, &env);
	const char *secret = t->relay && ob->cfg.relay_user[0] ? ob->cfg.relay_secret : "";
	const char *policy = t->relay ? RELAY_POLICY : t->m->plan.why;
	struct smtp_client_config cfg = {
	    .ehlo_name = ob->cfg.hostname,
	    .user = t->relay && ob->cfg.relay_user[0] ? ob->cfg.relay_user : NULL,
	    .password = secret[0] ? secret : NULL,
	    .host = t->host,
	    .port = t->door.port,
	    .strict_8bitmime = true,
	    .keep_open = true,
	};
	struct client_conn_opts copts = {
	    .host = t->host,
	    .port = t->door.port,
	    .connect_addr = t->addr,
	    .timeout_ms = (int)ob->cfg.timeout * 1000,
	};
	tls_settings(ob, t, &cfg, &copts);
	char relay[400];
	snprintf(relay, sizeof relay, "%s[%s]:%u", t->host, t->addr, t->door.port);
	struct smtp_client_rcpt_result *rr = xcalloc(n, sizeof *rr);
	struct client_run_result r;
	struct client_session *s = client_session_open(
	    &copts, &cfg, &env, body->data ? body->data : "", body->len, NULL, &r, rr);
	/* RFC 8460: what TLS-RPT counts for this session. */
	const char *tls_result = t->m && r.greeted ? outbound_tls_result(t->m, &r) : NULL;
	if (t->m && r.greeted)
		outbound_note_session(ob, t->m, domain_of(group[0]->addr), t->host, t->addr, &r,
				      tls_result, body);
	/* RFC 8689 4.2.1: an MX host without REQUIRETLS is passed over for the next
	 * one; only when none has it is the message returned (deliver_via_mx). */
	bool rtls = t->m && r.smtp.failure == CLIENT_REQUIRETLS_UNSUPPORTED;
	bool decided = host_decided(&r) || (permanent_failure(r.smtp.failure) && !rtls);
	if (!decided)
		*(rtls ? &w->rtls_refused : &w->other_failures) += 1;
	if (decided) {
		/* RFC 8461 5: testing mode delivers whatever the checks said; say what they said.
		 */
		if (t->m && t->m->plan.sts_testing && tls_result != NULL)
			log_info("id=%s event=mta_sts_testing_failure relay=%s tls_result=%s "
				 "note=\"delivered: the policy is in testing mode\"",
				 e->id, relay, tls_result);
		judge(&r, t->host, relay, policy, group, n);
		*keep = keep_session(s, t->host, relay, policy, &r);
	} else {
		client_session_close(&s);
		const struct outcome *oc = run_outcome(&r, t->door);
		char rep[700];
		reply_text(&r.smtp.reply, rep, sizeof rep);
		/* The core's own words may already be the outcome's: say them once. */
		const char *more = rep[0] ? rep : r.conn.detail;
		if (strcmp(more, oc->what) == 0)
			more = "";
		str_copy(w->last_relay, sizeof w->last_relay, relay);
		str_copy(w->last_policy, sizeof w->last_policy, policy);
		snprintf(why, why_size, "%s: %s%s%s", relay, oc->what, more[0] ? ": " : "", more);
		log_attempt(e, relay, outcome_status_name(oc->status), why, oc->fix, policy,
			    r.tls_used && r.tls.verified, tls_result);
	}
	free(rr);
	free(rcpts);
	return decided;
}

/* ---- routing ---- */

/* relay: the host that was tried last, or NULL when none was (DNS). */
static void
defer_all(struct worker *w, struct rcpt_outcome **group, size_t n, const char *dsn, const char *why,
	  const char *relay)
{
	for (size_t i = 0; i < n; i++) {
		set_outcome(group[i], RS_DEFERRED, dsn, why);
		if (relay && relay[0])
			str_copy(group[i]->relay, sizeof group[i]->relay, relay);
		if (relay && relay[0] && w->last_policy[0])
			str_copy(group[i]->policy, sizeof group[i]->policy, w->last_policy);
	}
}

static void
fail_all(struct rcpt_outcome **group, size_t n, const char *dsn, const char *why)
{
	for (size_t i = 0; i < n; i++)
		set_outcome(group[i], RS_FAILED, dsn, why);
}

/* Try each address of the relay host on each door; true when decided. */
static bool
try_relay(struct worker *w, const struct spool_entry *e, const struct buf *body, const char *host,
	  const struct door *doors, size_t ndoors, struct rcpt_outcome **group, size_t n, char *why,
	  size_t why_size, size_t *door_r, struct cached_conn **keep)
{
	char addrs[DNS_MAX_ADDRS][64];
	size_t naddrs = 0;
	enum dns_status st = dns_addrs(w->dns, host, addrs, &naddrs);
	if (st != DNS_OK) {
		snprintf(why, why_size, "%s: no address (%s)", host, dns_status_name(st));
		return false;
	}
	for (size_t d = 0; d < ndoors; d++)
		for (size_t a = 0; a < naddrs; a++) {
			struct target t = {.door = doors[d], .relay = true};
			str_copy(t.host, sizeof t.host, host);
			str_copy(t.addr, sizeof t.addr, addrs[a]);
			if (attempt(w, e, body, &t, group, n, why, why_size, keep)) {
				*door_r = d;
				return true;
			}
		}
	return false;
}

/*
 * One MX host: its addresses and TLS plan, then each address on port 25.
 * True when decided — delivered or refused there, or bounced because the
 * message's REQUIRETLS cannot be met. A plan that defers (bogus DNSSEC,
 * dane-only without TLSA, not in the MTA-STS policy) skips the host.
 */
static bool
try_mx(struct worker *w, const struct spool_entry *e, const struct buf *body, struct domain_tls *d,
       const char *host, struct rcpt_outcome **group, size_t n, char *why, size_t why_size,
       struct cached_conn **keep)
{
	char addrs[DNS_MAX_ADDRS][64];
	size_t naddrs = 0;
	struct mx_tls *m = xcalloc(1, sizeof *m); /* TLSA data: too big for a thread's stack */
	bool decided = false;
	enum dns_status st = outbound_tls_host(w, d, host, addrs, &naddrs, m);
	if (st != DNS_OK) {
		snprintf(why, why_size, "%s: no address (%s)", host, dns_status_name(st));
		w->other_failures++;
		goto out;
	}
	outbound_note_policy(w->ob, d, m);
	if (m->plan.bounce) {
		/* Only this host cannot be authenticated: another (with TLSA) may be. */
		snprintf(why, why_size, "%s", m->plan.detail);
		log_attempt(e, host, "skipped", m->plan.detail, m->plan.fix, m->plan.why, false,
			    NULL);
		d->unverifiable++;
		goto out;
	}
	if (m->plan.defer) {
		char what[700];
		w->other_failures++;
		snprintf(what, sizeof what, "%s%s%s", m->plan.detail, m->dns_why[0] ? ": " : "",
			 m->dns_why);
		snprintf(why, why_size, "%s: %s", host, what);
		str_copy(w->last_relay, sizeof w->last_relay, host);
		str_copy(w->last_policy, sizeof w->last_policy, m->plan.why);
		log_attempt(e, host, "deferred", what, m->plan.fix, m->plan.why, false,
			    m->result_type[0] ? m->result_type : NULL);
		outbound_note_plan_failure(w->ob, d, m, host);
		goto out;
	}
	struct door port25 = {25, CLIENT_TLS_OPPORTUNISTIC};
	for (size_t a = 0; a < naddrs && !decided; a++) {
		struct target t = {.door = port25, .m = m};
		str_copy(t.host, sizeof t.host, host);
		str_copy(t.addr, sizeof t.addr, addrs[a]);
		decided = attempt(w, e, body, &t, group, n, why, why_size, keep);
	}
	/* A connection opened under TLS-Required: No (RFC 8689 5) may be weaker
	 * than the domain's policy: it must not carry the next message. */
	if (d->tls_required_no && *keep != NULL)
		cached_conn_close(keep);
out:
	free(m);
	return decided;
}

static void
deliver_via_relay(struct worker *w, const struct spool_entry *e, const struct buf *body,
		  struct rcpt_outcome **group, size_t n, struct cached_conn **keep)
{
	struct outbound *ob = w->ob;
	char host[256], why[800] = "no relay host answered";
	struct door doors[SUBMIT_MAX_DOORS];
	size_t ndoors;
	/* Parsed once by the config (bracketed IPv6 included): no text is split here. */
	str_copy(host, sizeof host, ob->cfg.relayhost.host);
	unsigned short port = ob->cfg.relayhost.port;
	if (port != 0) {
		doors[0] =
		    (struct door){port, port == 465 ? CLIENT_TLS_IMPLICIT : CLIENT_TLS_STARTTLS};
		ndoors = 1;
	} else {
		ndoors = submit_default_doors(doors); /* 587, 465, 2525 */
	}
	/* The door that worked last time goes first, until it fails. */
	struct door order[SUBMIT_MAX_DOORS];
	pthread_mutex_lock(&ob->lock);
	size_t first = ob->relay_door < ndoors ? ob->relay_door : 0, worked = 0;
	pthread_mutex_unlock(&ob->lock);
	for (size_t i = 0; i < ndoors; i++)
		order[i] = doors[(first + i) % ndoors];
	if (try_relay(w, e, body, host, order, ndoors, group, n, why, sizeof why, &worked, keep)) {
		pthread_mutex_lock(&ob->lock);
		ob->relay_door = (first + worked) % ndoors;
		pthread_mutex_unlock(&ob->lock);
	} else {
		defer_all(w, group, n, "4.4.1", why, w->last_relay);
	}
}

static void
deliver_via_mx(struct worker *w, const struct spool_entry *e, const struct buf *body,
	       const char *domain, struct rcpt_outcome **group, size_t n, struct cached_conn **keep)
{
	struct dns_mx mx[DNS_MAX_MX];
	size_t nmx = 0;
	char why[800];
	bool secure = false;
	enum dns_status st = dns_mx_ad(w->dns, domain, mx, &nmx, &secure);
	switch (st) {
	case DNS_NULL_MX:
		fail_all(group, n, "5.1.10", "the domain accepts no mail (null MX, RFC 7505)");
		return;
	case DNS_NXDOMAIN:
		fail_all(group, n, "5.1.2", "the recipient's domain does not exist (NXDOMAIN)");
		return;
	case DNS_TEMPFAIL:
		/* A validating resolver's SERVFAIL for a bogus MX answer lands here too. */
		defer_all(w, group, n, "4.4.3",
			  "DNS lookup of the domain's MX failed (SERVFAIL, or DNSSEC bogus; will "
			  "retry)",
			  NULL);
		return;
	case DNS_NODATA: /* no MX: the domain itself (RFC 5321 5.1) */
		str_copy(mx[0].host, sizeof mx[0].host, domain);
		nmx = 1;
		break;
	case DNS_OK:
		break;
	}
	struct domain_tls d;
	outbound_tls_domain(w, e, body, domain, secure, &d);
	snprintf(why, sizeof why, "no mail server for %s answered", domain);
	w->rtls_refused = w->other_failures = 0;
	for (size_t i = 0; i < nmx; i++)
		if (try_mx(w, e, body, &d, mx[i].host, group, n, why, sizeof why, keep))
			return;
	/* RFC 8689 4.2.1: no MX host could be authenticated for REQUIRETLS mail. */
	if (d.unverifiable == nmx) {
		fail_all(group, n, "5.7.10", why);
		return;
	}
	if (w->rtls_refused > 0 && w->other_failures == 0) {
		fail_all(group, n, "5.7.30", why); /* RFC 8689: no MX host offers REQUIRETLS */
		for (size_t i = 0; i < n; i++)
			str_copy(group[i]->relay, sizeof group[i]->relay, w->last_relay);
	} else
		defer_all(w, group, n, "4.4.1", why, w->last_relay);
}

/*
 * One domain's recipients (all of them, to a relay host): on a slot of the
 * connection cache, on the connection kept from before when there is one,
 * else routed anew.
 */
static void
deliver_group(struct worker *w, const struct spool_entry *e, const struct buf *body,
	      const char *domain, struct rcpt_outcome **group, size_t n)
{
	struct outbound *ob = w->ob;
	const char *dest = ob->cfg.relayhost.host[0] ? RELAY_DEST : domain;
	struct cached_conn *kept;
	enum conn_slot slot = conn_cache_acquire(ob->conns, dest, &kept);
	if (slot == SLOT_STOPPING || slot == SLOT_FULL) {
		/* Left pending: after the restart, or when the destination has room. */
		w->aborted = true;
		if (slot == SLOT_FULL)
			str_copy(w->blocked_on, sizeof w->blocked_on, dest);
		return;
	}
	/* The policy the lines say when no attempt is made (DNS failed): the configured one. */
	char policy[64] = RELAY_POLICY;
	enum tls_level level = TLS_LEVEL_MAY;
	if (!ob->cfg.relayhost.host[0]) {
		ob->cfg.tls_level(domain, &level, ob->cfg.arg);
		snprintf(policy, sizeof policy, "policy=%s", tls_level_name(level));
	}
	for (size_t i = 0; i < n; i++)
		str_copy(group[i]->policy, sizeof group[i]->policy, policy);
	struct cached_conn *keep = NULL;
	/* REQUIRETLS needs a verified peer: an unverified kept connection will not do. */
	if (kept != NULL && e->requiretls && !kept->verified)
		cached_conn_close(&kept);
	if (kept == NULL || !reuse(e, body, kept, group, n, &keep)) {
		if (ob->cfg.relayhost.host[0])
			deliver_via_relay(w, e, body, group, n, &keep);
		else
			deliver_via_mx(w, e, body, domain, group, n, &keep);
	}
	conn_cache_release(ob->conns, dest, keep);
	/* Messages put aside for this destination may go now. */
	pthread_mutex_lock(&ob->lock);
	pthread_cond_broadcast(&ob->work);
	pthread_mutex_unlock(&ob->lock);
}

/* ---- one message ---- */

/*
 * RFC 5321 4.5.3.1.6: no line over 998 octets leaves here. A message that
 * has one (accepted, as real mail has them) is re-encoded (long_lines.h);
 * one that cannot be without breaking its signature, or at all, is
 * returned to the sender: false, every recipient failed.
 */
static bool
fit_lines(const struct spool_entry *e, struct buf *body, struct rcpt_outcome *out, size_t n)
{
	struct buf fixed;
	buf_init(&fixed, BODY_MAX);
	enum long_lines_rc rc =
	    long_lines_fix((struct strv){body->data ? body->data : "", body->len}, &fixed);
	if (rc == LL_REENCODED) {
		log_info("id=%s event=reencoded reason=long_lines size=%zu new_size=%zu", e->id,
			 body->len, fixed.len);
		buf_free(body);
		*body = fixed;
		return true;
	}
	buf_free(&fixed);
	if (rc == LL_UNCHANGED)
		return true;
	for (size_t i = 0; i < n; i++)
		set_outcome(&out[i], RS_FAILED, "5.6.3", long_lines_reason(rc));
	return false;
}

static void
log_outcome(const struct spool_entry *e, const struct rcpt_outcome *o, int64_t now)
{
	static const char *const names[] = {"pending", "sent", "bounced", "deferred"};
	char to[600], reply[700];
	str_escape(to, sizeof to, o->addr, strlen(o->addr));
	str_escape(reply, sizeof reply, o->reply, strlen(o->reply));
	if (o->state != RS_PENDING)
		delivery_metrics_note(DELIVERY_REMOTE,
				      o->state == RS_SENT     ? DELIVERY_SENT
				      : o->state == RS_FAILED ? DELIVERY_BOUNCED
							      : DELIVERY_DEFERRED,
				      now - e->arrival);
	log_info("id=%s event=delivery to=<%s> relay=%s tls=%s %s verified=%s delay=%" PRId64
		 " dsn=%s status=%s reply=\"%s\"",
		 e->id, to, o->relay[0] ? o->relay : "none", o->tls[0] ? o->tls : "none",
		 o->policy[0] ? o->policy : "policy=none", o->verified ? "yes" : "no",
		 now - e->arrival, o->dsn, names[o->state], reply);
}

static int
by_domain(const void *a, const void *b)
{
	const struct rcpt_outcome *const *x = a, *const *y = b;
	return strcasecmp(domain_of((*x)->addr), domain_of((*y)->addr));
}

/* Deliver the remote recipients of e; returns how many are still deferred. */
static size_t
deliver_remote(struct worker *w, const struct spool_entry *e, const struct buf *body,
	       struct rcpt_outcome *out, size_t n)
{
	struct rcpt_outcome **order = xcalloc(n, sizeof *order);
	for (size_t i = 0; i < n; i++)
		order[i] = &out[i];
	qsort(order, n, sizeof *order, by_domain);
	for (size_t i = 0; i < n && !w->aborted;) {
		size_t j = i + 1;
		while (j < n && by_domain(&order[i], &order[j]) == 0)
			j++;
		deliver_group(w, e, body, domain_of(order[i]->addr), order + i, j - i);
		i = j;
	}
	free(order);
	size_t deferred = 0;
	for (size_t i = 0; i < n; i++)
		deferred += out[i].state == RS_DEFERRED;
	return deferred;
}

/* Keep the schedule beside the message: the next attempt and the last error. */
static void
schedule(struct outbound *ob, struct spool_retry *rs, const struct rcpt_outcome *out, size_t n,
	 int64_t next)
{
	rs->next_attempt = next;
	rs->last_error[0] = '\0';
	for (size_t i = 0; i < n && !rs->last_error[0]; i++)
		if (out[i].state == RS_DEFERRED)
			str_copy(rs->last_error, sizeof rs->last_error, out[i].reply);
	if (spool_retry_write(ob->sp, rs) < 0)
		log_warn("id=%s event=retry_write_failed reason=\"%s\"", rs->id, strerror(errno));
}

/* Is a message with this schedule due for an attempt? */
bool
outbound_due(const struct spool_retry *rs, bool scheduled, bool force, int64_t now)
{
	return !scheduled || force || rs->next_attempt <= now;
}

void
outbound_process(struct worker *w, const char *qid, bool force)
{
	struct outbound *ob = w->ob;
	int64_t now = (int64_t)time(NULL);
	struct spool_retry rs;
	bool scheduled = spool_retry_read(ob->sp, qid, &rs) == 0;
	if (!outbound_due(&rs, scheduled, force, now))
		return;
	struct spool_entry e;
	if (spool_entry_read(ob->sp, qid, &e) < 0)
		return;
	struct rcpt_outcome *out = xcalloc(e.nrcpts ? e.nrcpts : 1, sizeof *out);
	size_t n = 0;
	for (size_t i = 0; i < e.nrcpts; i++)
		if (!ob->cfg.is_local(domain_of(e.rcpts[i]), ob->cfg.arg))
			out[n++].addr = e.rcpts[i];
	struct buf body;
	buf_init(&body, BODY_MAX);
	/* The envelope as sent: SRS may change its sender; bounces use e's. */
	struct spool_entry *sent = xmalloc(sizeof *sent);
	*sent = e;
	if (n > 0)
		outbound_srs_sender(ob, &e, now, sent->from, sizeof sent->from);
	w->last_relay[0] = '\0';
	w->last_policy[0] = '\0';
	w->aborted = false;
	w->blocked_on[0] = '\0';
	if (n > 0 && read_body(&e, &body) == 0) {
		size_t deferred =
		    fit_lines(&e, &body, out, n) ? deliver_remote(w, sent, &body, out, n) : 0;
		rs.attempts = scheduled ? rs.attempts + 1 : 1;
		str_copy(rs.id, sizeof rs.id, qid);
		int64_t next = now;
		bool expired = deferred > 0 && retry_next(&ob->cfg.retry, rs.attempts, now,
							  e.arrival, &next) == RETRY_EXPIRED;
		for (size_t i = 0; i < n; i++) {
			if (out[i].state == RS_PENDING)
				continue; /* the server is stopping: not attempted */
			if (expired && out[i].state == RS_DEFERRED) {
				char why[700];
				snprintf(why, sizeof why, "gave up after %u attempts: %s",
					 rs.attempts, out[i].reply);
				set_outcome(&out[i], RS_FAILED, "4.4.7", why);
			}
			log_outcome(&e, &out[i], now);
			if (out[i].state == RS_SENT || out[i].state == RS_FAILED)
				spool_entry_mark_done(ob->sp, qid, out[i].addr);
		}
		outbound_bounce(ob, &e, &body, out, n);
		/* Stopping part way: the schedule stays as it was, the rest goes after the restart.
		 */
		if (!w->aborted && deferred > 0 && !expired)
			schedule(ob, &rs, out, n, next);
		else if (!w->aborted && scheduled && n == e.nrcpts)
			spool_retry_clear(ob->sp, qid); /* local recipients left keep theirs */
		struct spool_entry left;
		if (spool_entry_read(ob->sp, qid, &left) == 0) {
			if (left.nrcpts == 0 && spool_entry_remove(ob->sp, qid) == 0)
				log_info("id=%s event=removed", qid);
			spool_entry_free(&left);
		}
	}
	buf_free(&body);
	free(out);
	free(sent); /* shares e's recipients */
	spool_entry_free(&e);
}
