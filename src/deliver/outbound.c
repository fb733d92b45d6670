/*
 * outbound: the remote delivery agent (see the header).
 *
 * One thread. Each pass lists the queue and looks at the messages that
 * were kicked or whose retry time has come; for each, the recipients of
 * other domains are grouped by domain and delivered one domain at a time,
 * all of a domain's recipients in one transaction. Every recipient ends a
 * pass as sent, failed (bounced) or deferred, and the first two are
 * recorded in the spool before anything else happens, so a crash repeats
 * at most the delivery in flight.
 *
 * The retry schedule is kept beside each message in the spool
 * (spool_retry_*), so a restart goes on backing off where it was.
 */
#include "outbound.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "bounce.h"
#include "client_run.h"
#include "date.h"
#include "dns.h"
#include "log.h"
#include "smtp_addr.h"
#include "spool.h"
#include "str.h"
#include "submit.h"
#include "xmalloc.h"

#define PASS_SECONDS 1 /* how often the queue is looked at for due retries */
#define BODY_MAX (256u * 1024 * 1024)

struct outbound {
	struct spool *sp;
	struct outbound_config cfg;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	bool flush_all;
	bool kicked;
	struct dns *dns;
	size_t relay_door;    /* index of the relay host door that worked last */
	char last_relay[400]; /* "host[ip]:port" of the last attempt that did not decide */
};

enum rcpt_state { RS_PENDING, RS_SENT, RS_FAILED, RS_DEFERRED };

struct rcpt_outcome {
	const char *addr;
	enum rcpt_state state;
	char dsn[BOUNCE_STATUS_SIZE];
	char reply[600];
	char relay[400]; /* "host[ip]:port" */
	char mta[256];	 /* the host that said it, for the DSN */
	char tls[32];
};

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

static bool
has_8bit(const char *p, size_t n)
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
	bool relay; /* AUTH and a verified certificate */
};

/* Did the session get as far as MAIL? Before that, another host may do better. */
static bool
reached_mail(const struct client_run_result *r)
{
	const char *p = r->smtp.phase ? r->smtp.phase : "";
	return r->greeted &&
	       (strcmp(p, "mail") == 0 || strcmp(p, "rcpt") == 0 || strcmp(p, "data") == 0 ||
		strcmp(p, "body") == 0 || strcmp(p, "quit") == 0 || strcmp(p, "done") == 0);
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
	default:
		return NULL;
	}
}

/* Turn a session that reached MAIL into per-recipient outcomes. */
static void
judge(const struct client_run_result *r, const struct target *t, struct rcpt_outcome **group,
      size_t n)
{
	const struct smtp_client_reply *final = &r->smtp.reply;
	for (size_t i = 0; i < n; i++) {
		const struct smtp_client_rcpt_result *rr = &r->smtp.rcpts[i];
		const struct smtp_client_reply *rep =
		    rr->accepted || rr->reply.code == 0 ? final : &rr->reply;
		char text[700], dsn[BOUNCE_STATUS_SIZE];
		reply_text(rep, text, sizeof text);
		struct rcpt_outcome *o = group[i];
		snprintf(o->relay, sizeof o->relay, "%s[%s]:%u", t->host, t->addr, t->door.port);
		str_copy(o->mta, sizeof o->mta, t->host);
		str_copy(o->tls, sizeof o->tls, r->tls_used ? r->tls.version : "none");
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

/* One connection: true when the outcome is decided (no other host needed). */
static bool
attempt(struct outbound *ob, const struct spool_entry *e, const struct buf *body,
	const struct target *t, struct rcpt_outcome **group, size_t n, char *why, size_t why_size)
{
	const char **rcpts = xcalloc(n, sizeof *rcpts);
	bool utf8 = has_8bit(e->from, strlen(e->from));
	for (size_t i = 0; i < n; i++) {
		rcpts[i] = group[i]->addr;
		utf8 = utf8 || has_8bit(rcpts[i], strlen(rcpts[i]));
	}
	const char *secret = t->relay && ob->cfg.relay_user[0] ? ob->cfg.relay_secret : "";
	bool tls_required = t->relay || ob->cfg.requires_tls(domain_of(rcpts[0]), ob->cfg.arg);
	struct smtp_client_config cfg = {
	    .ehlo_name = ob->cfg.hostname,
	    .tls = t->door.tls == CLIENT_TLS_IMPLICIT ? CLIENT_TLS_IMPLICIT
		   : tls_required		      ? CLIENT_TLS_STARTTLS
						      : CLIENT_TLS_OPPORTUNISTIC,
	    .user = t->relay && ob->cfg.relay_user[0] ? ob->cfg.relay_user : NULL,
	    .password = secret[0] ? secret : NULL,
	    .host = t->host,
	    .port = t->door.port,
	    .strict_8bitmime = true,
	};
	struct smtp_client_envelope env = {
	    .from = e->from,
	    .rcpts = rcpts,
	    .nrcpts = n,
	    .size = body->len,
	    .eightbit = has_8bit(body->data ? body->data : "", body->len),
	    .smtputf8 = utf8,
	};
	struct client_conn_opts copts = {
	    .host = t->host,
	    .port = t->door.port,
	    .connect_addr = t->addr,
	    .timeout_ms = (int)ob->cfg.timeout * 1000,
	    .cafile = t->relay && ob->cfg.relay_cafile[0] ? ob->cfg.relay_cafile : NULL,
	    /* MX delivery is opportunistic: encrypted, not authenticated (RFC 7435). */
	    .insecure = !t->relay,
	};
	struct smtp_client_rcpt_result *rr = xcalloc(n, sizeof *rr);
	struct client_run_result r;
	client_run(&copts, &cfg, &env, body->data ? body->data : "", body->len, NULL, &r, rr);
	bool decided = reached_mail(&r) || permanent_failure(r.smtp.failure);
	if (decided) {
		judge(&r, t, group, n);
	} else {
		const struct outcome *oc = run_outcome(&r, t->door);
		char rep[700];
		reply_text(&r.smtp.reply, rep, sizeof rep);
		/* The core's own words may already be the outcome's: say them once. */
		const char *more = rep[0] ? rep : r.conn.detail;
		if (strcmp(more, oc->what) == 0)
			more = "";
		snprintf(ob->last_relay, sizeof ob->last_relay, "%s[%s]:%u", t->host, t->addr,
			 t->door.port);
		snprintf(why, why_size, "%s: %s%s%s", ob->last_relay, oc->what, more[0] ? ": " : "",
			 more);
		/* Postfix-style: say why this host did not do, before trying the next. */
		char esc[900];
		log_info("id=%s event=attempt relay=%s[%s]:%u status=%s reason=\"%s\"", e->id,
			 t->host, t->addr, t->door.port, outcome_status_name(oc->status),
			 str_escape(esc, sizeof esc, why, strlen(why)));
	}
	free(rr);
	free(rcpts);
	return decided;
}

/* ---- routing ---- */

/* relay: the host that was tried last, or NULL when none was (DNS). */
static void
defer_all(struct rcpt_outcome **group, size_t n, const char *dsn, const char *why,
	  const char *relay)
{
	for (size_t i = 0; i < n; i++) {
		set_outcome(group[i], RS_DEFERRED, dsn, why);
		if (relay && relay[0])
			str_copy(group[i]->relay, sizeof group[i]->relay, relay);
	}
}

static void
fail_all(struct rcpt_outcome **group, size_t n, const char *dsn, const char *why)
{
	for (size_t i = 0; i < n; i++)
		set_outcome(group[i], RS_FAILED, dsn, why);
}

/* Try each address of host on each door; true when decided. */
static bool
try_host(struct outbound *ob, const struct spool_entry *e, const struct buf *body, const char *host,
	 const struct door *doors, size_t ndoors, bool relay, struct rcpt_outcome **group, size_t n,
	 char *why, size_t why_size, size_t *door_r)
{
	char addrs[DNS_MAX_ADDRS][64];
	size_t naddrs = 0;
	enum dns_status st = dns_addrs(ob->dns, host, addrs, &naddrs);
	if (st != DNS_OK) {
		snprintf(why, why_size, "%s: no address (%s)", host, dns_status_name(st));
		return false;
	}
	for (size_t d = 0; d < ndoors; d++)
		for (size_t a = 0; a < naddrs; a++) {
			struct target t = {.door = doors[d], .relay = relay};
			str_copy(t.host, sizeof t.host, host);
			str_copy(t.addr, sizeof t.addr, addrs[a]);
			if (attempt(ob, e, body, &t, group, n, why, why_size)) {
				*door_r = d;
				return true;
			}
		}
	return false;
}

static void
deliver_via_relay(struct outbound *ob, const struct spool_entry *e, const struct buf *body,
		  struct rcpt_outcome **group, size_t n)
{
	char host[256], why[800] = "no relay host answered";
	struct door doors[SUBMIT_MAX_DOORS];
	size_t ndoors;
	const char *colon = strrchr(ob->cfg.relayhost, ':');
	if (colon && ob->cfg.relayhost[0] != '[' && strchr(ob->cfg.relayhost, ':') == colon) {
		str_copy_n(host, sizeof host, ob->cfg.relayhost,
			   (size_t)(colon - ob->cfg.relayhost));
		unsigned port = (unsigned)atoi(colon + 1);
		doors[0] = (struct door){(unsigned short)port,
					 port == 465 ? CLIENT_TLS_IMPLICIT : CLIENT_TLS_STARTTLS};
		ndoors = 1;
	} else {
		str_copy(host, sizeof host, ob->cfg.relayhost);
		ndoors = submit_default_doors(doors); /* 587, 465, 2525 */
	}
	/* The door that worked last time goes first, until it fails. */
	struct door order[SUBMIT_MAX_DOORS];
	size_t first = ob->relay_door < ndoors ? ob->relay_door : 0, worked = 0;
	for (size_t i = 0; i < ndoors; i++)
		order[i] = doors[(first + i) % ndoors];
	if (try_host(ob, e, body, host, order, ndoors, true, group, n, why, sizeof why, &worked))
		ob->relay_door = (first + worked) % ndoors;
	else
		defer_all(group, n, "4.4.1", why, ob->last_relay);
}

static void
deliver_via_mx(struct outbound *ob, const struct spool_entry *e, const struct buf *body,
	       const char *domain, struct rcpt_outcome **group, size_t n)
{
	struct dns_mx mx[DNS_MAX_MX];
	size_t nmx = 0;
	char why[800];
	enum dns_status st = dns_mx(ob->dns, domain, mx, &nmx);
	switch (st) {
	case DNS_NULL_MX:
		fail_all(group, n, "5.1.10", "the domain accepts no mail (null MX, RFC 7505)");
		return;
	case DNS_NXDOMAIN:
		fail_all(group, n, "5.1.2", "the recipient's domain does not exist (NXDOMAIN)");
		return;
	case DNS_TEMPFAIL:
		defer_all(group, n, "4.4.3", "DNS lookup of the domain's MX failed (will retry)",
			  NULL);
		return;
	case DNS_NODATA: /* no MX: the domain itself (RFC 5321 5.1) */
		str_copy(mx[0].host, sizeof mx[0].host, domain);
		nmx = 1;
		break;
	case DNS_OK:
		break;
	}
	struct door port25 = {25, CLIENT_TLS_OPPORTUNISTIC};
	snprintf(why, sizeof why, "no mail server for %s answered", domain);
	size_t door;
	for (size_t i = 0; i < nmx; i++)
		if (try_host(ob, e, body, mx[i].host, &port25, 1, false, group, n, why, sizeof why,
			     &door))
			return;
	defer_all(group, n, "4.4.1", why, ob->last_relay);
}

/* ---- bounces ---- */

/* Queue b (a DSN) from <> to sender, durably, on this thread. */
static int
queue_bounce(struct outbound *ob, const char *sender, const struct buf *b, char *qid,
	     size_t qid_size)
{
	struct smtp_mail_args mail = {.from = {.is_null = true}};
	struct smtp_rcpt_args rcpt = {0};
	if (smtp_addr_parse_mailbox(strv_from(sender), true, &rcpt.to) != ADDR_OK)
		return -1;
	mail.smtputf8 = has_8bit(sender, strlen(sender));
	struct spool_envelope env = {.mail = &mail, .rcpts = &rcpt, .nrcpts = 1};
	struct spool_msg *m = spool_msg_begin(ob->sp, &env);
	if (m == NULL)
		return -1;
	str_copy(qid, qid_size, spool_msg_id(m));
	if (spool_msg_write(m, b->data, b->len) < 0) {
		spool_msg_abort(&m);
		return -1;
	}
	enum spool_result res = spool_msg_commit_now(m);
	spool_msg_free(&m);
	return res == SPOOL_OK ? 0 : -1;
}

static void
bounce(struct outbound *ob, const struct spool_entry *e, const struct buf *body,
       struct rcpt_outcome *out, size_t n)
{
	struct bounce_rcpt br[n ? n : 1];
	size_t nb = 0;
	char date[64], arrival[64], mid[300], boundary[64], rnd[16];
	date_rfc5322(time(NULL), date, sizeof date);
	date_rfc5322((time_t)e->arrival, arrival, sizeof arrival);
	for (size_t i = 0; i < n; i++)
		if (out[i].state == RS_FAILED)
			br[nb++] = (struct bounce_rcpt){
			    .addr = out[i].addr,
			    .action = BOUNCE_FAILED,
			    .status = out[i].dsn,
			    .remote_mta = out[i].mta[0] ? out[i].mta : NULL,
			    .reply = out[i].mta[0] ? out[i].reply : NULL,
			    .reason = out[i].mta[0] ? NULL : out[i].reply,
			    .last_attempt = date,
			};
	if (nb == 0)
		return;
	struct bounce_spec spec = {
	    .hostname = ob->cfg.hostname,
	    .sender = e->from,
	    .arrival = arrival,
	    .date = date,
	    .message_id = mid,
	    .boundary = boundary,
	    .rcpts = br,
	    .rcpt_count = nb,
	    .original = {body->data ? body->data : "", body->len},
	    .ret = BOUNCE_RET_FULL,
	    .full_max = BOUNCE_FULL_MAX_DEFAULT,
	};
	struct buf b;
	char err[256], qid[SPOOL_QID_SIZE];
	enum bounce_result rc;
	buf_init(&b, BODY_MAX);
	do { /* a boundary that occurs in the content is drawn again */
		buf_reset(&b);
		if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
			memset(rnd, 0x5a, sizeof rnd);
		snprintf(boundary, sizeof boundary, "=_bounce_%08x%08x", *(unsigned *)rnd,
			 *(unsigned *)(rnd + 4));
		snprintf(mid, sizeof mid, "<%s.%s@%s>", e->id, boundary + 9, ob->cfg.hostname);
		rc = bounce_build(&spec, &b, NULL, err, sizeof err);
	} while (rc == BOUNCE_ERR_BOUNDARY);
	if (rc == BOUNCE_NULL_SENDER)
		log_info("id=%s event=bounce_dropped reason=\"the sender is <>: no bounce for a "
			 "bounce\"",
			 e->id);
	else if (rc != BOUNCE_OK)
		log_err("id=%s event=bounce_failed reason=\"%s\"", e->id, err);
	else if (queue_bounce(ob, e->from, &b, qid, sizeof qid) < 0)
		log_err("id=%s event=bounce_failed reason=\"cannot queue the bounce: %s\"", e->id,
			strerror(errno));
	else {
		log_info("id=%s event=bounce bounce_id=%s to=<%s> nrcpt=%zu", e->id, qid, e->from,
			 nb);
		ob->cfg.queued(qid, ob->cfg.arg);
	}
	buf_free(&b);
}

/* ---- one message ---- */

static void
log_outcome(const struct spool_entry *e, const struct rcpt_outcome *o, int64_t now)
{
	static const char *const names[] = {"pending", "sent", "bounced", "deferred"};
	char to[600], reply[700];
	str_escape(to, sizeof to, o->addr, strlen(o->addr));
	str_escape(reply, sizeof reply, o->reply, strlen(o->reply));
	log_info("id=%s event=delivery to=<%s> relay=%s tls=%s delay=%" PRId64
		 " dsn=%s status=%s reply=\"%s\"",
		 e->id, to, o->relay[0] ? o->relay : "none", o->tls[0] ? o->tls : "none",
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
deliver_remote(struct outbound *ob, const struct spool_entry *e, const struct buf *body,
	       struct rcpt_outcome *out, size_t n)
{
	struct rcpt_outcome **order = xcalloc(n, sizeof *order);
	for (size_t i = 0; i < n; i++)
		order[i] = &out[i];
	qsort(order, n, sizeof *order, by_domain);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && by_domain(&order[i], &order[j]) == 0)
			j++;
		if (ob->cfg.relayhost[0])
			deliver_via_relay(ob, e, body, order + i, j - i);
		else
			deliver_via_mx(ob, e, body, domain_of(order[i]->addr), order + i, j - i);
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

static void
process(struct outbound *ob, const char *qid, bool force)
{
	int64_t now = (int64_t)time(NULL);
	struct spool_retry rs;
	bool scheduled = spool_retry_read(ob->sp, qid, &rs) == 0;
	if (scheduled && !force && rs.next_attempt > now)
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
	ob->last_relay[0] = '\0';
	if (n > 0 && read_body(&e, &body) == 0) {
		size_t deferred = deliver_remote(ob, &e, &body, out, n);
		rs.attempts = scheduled ? rs.attempts + 1 : 1;
		str_copy(rs.id, sizeof rs.id, qid);
		int64_t next = now;
		bool expired = deferred > 0 && retry_next(&ob->cfg.retry, rs.attempts, now,
							  e.arrival, &next) == RETRY_EXPIRED;
		for (size_t i = 0; i < n; i++) {
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
		bounce(ob, &e, &body, out, n);
		if (deferred > 0 && !expired)
			schedule(ob, &rs, out, n, next);
		else if (scheduled)
			spool_retry_clear(ob->sp, qid);
		struct spool_entry left;
		if (spool_entry_read(ob->sp, qid, &left) == 0) {
			if (left.nrcpts == 0 && spool_entry_remove(ob->sp, qid) == 0)
				log_info("id=%s event=removed", qid);
			spool_entry_free(&left);
		}
	}
	buf_free(&body);
	free(out);
	spool_entry_free(&e);
}

/* ---- the thread ---- */

static void
pass(struct outbound *ob, bool force)
{
	char **ids;
	size_t n;
	if (spool_list(ob->sp, &ids, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&ob->lock);
		bool stopping = ob->stopping;
		pthread_mutex_unlock(&ob->lock);
		if (stopping)
			break;
		process(ob, ids[i], force);
	}
	spool_ids_free(ids, n);
}

static void *
outbound_main(void *arg)
{
	struct outbound *ob = arg;
	pthread_mutex_lock(&ob->lock);
	while (!ob->stopping) {
		bool force = ob->flush_all;
		ob->flush_all = false;
		ob->kicked = false;
		pthread_mutex_unlock(&ob->lock);
		pass(ob, force);
		pthread_mutex_lock(&ob->lock);
		if (ob->stopping || ob->kicked || ob->flush_all)
			continue;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += PASS_SECONDS;
		pthread_cond_timedwait(&ob->wake, &ob->lock, &until);
	}
	pthread_mutex_unlock(&ob->lock);
	return NULL;
}

struct outbound *
outbound_start(struct spool *sp, const struct outbound_config *cfg)
{
	char err[256];
	struct outbound *ob = xcalloc(1, sizeof *ob);
	ob->sp = sp;
	ob->cfg = *cfg;
	ob->dns = dns_new(cfg->resolver, (int)cfg->timeout * 1000, err, sizeof err);
	if (ob->dns == NULL) {
		log_err("event=outbound_failed reason=\"%s\"", err);
		free(ob);
		return NULL;
	}
	pthread_mutex_init(&ob->lock, NULL);
	pthread_cond_init(&ob->wake, NULL);
	if (pthread_create(&ob->thread, NULL, outbound_main, ob) != 0) {
		dns_free(&ob->dns);
		free(ob);
		return NULL;
	}
	return ob;
}

static void
wake(struct outbound *ob, bool all)
{
	if (ob == NULL)
		return;
	pthread_mutex_lock(&ob->lock);
	ob->kicked = true;
	ob->flush_all = ob->flush_all || all;
	pthread_cond_signal(&ob->wake);
	pthread_mutex_unlock(&ob->lock);
}

void
outbound_kick(struct outbound *ob, const char *qid)
{
	(void)qid; /* a pass looks at every message that is due; a new one is due */
	wake(ob, false);
}

void
outbound_flush(struct outbound *ob)
{
	wake(ob, true);
}

void
outbound_stop(struct outbound **obp)
{
	struct outbound *ob = *obp;
	if (ob == NULL)
		return;
	pthread_mutex_lock(&ob->lock);
	ob->stopping = true;
	pthread_cond_signal(&ob->wake);
	pthread_mutex_unlock(&ob->lock);
	pthread_join(ob->thread, NULL);
	dns_free(&ob->dns);
	pthread_mutex_destroy(&ob->lock);
	pthread_cond_destroy(&ob->wake);
	explicit_bzero(ob->cfg.relay_secret, sizeof ob->cfg.relay_secret);
	free(ob);
	*obp = NULL;
}
