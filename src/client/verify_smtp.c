/*
 * verify_smtp: asking a domain's MX about its addresses. One connection
 * (a "lane") carries many transactions: MAIL, a batch of RCPTs, RSET, and
 * again, never DATA. The made-up address that tells a catch-all domain
 * rides in the first transaction of the domain; its answer is kept for the
 * run. A server that hangs up between transactions (or says 421) gets a
 * new connection, a bounded number of times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "outcome.h"
#include "str.h"
#include "verify_int.h"
#include "xmalloc.h"

/* RCPTs per transaction: RFC 5321 4.5.3.1.8 makes servers take at least 100. */
#define VERIFY_BATCH 50
/* New connections per batch, when a server keeps hanging up part way. */
#define VERIFY_OPENS 8

struct lane {
	struct vctx *x;
	struct vdomain *d;
	struct client_session *s; /* NULL: no connection now */
	size_t host;		  /* the MX host in use: the one that answered last */
	/* The core keeps a pointer to the envelope between transactions. */
	struct smtp_client_envelope env;
	struct client_run_result r; /* of the last transaction */
};

static void
random_local(char *out, size_t size)
{
	unsigned char r[8] = {0};
	/* Unguessable, so no server can whitelist it: a catch-all says yes to it. */
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		snprintf((char *)r, sizeof r, "%07lx", (unsigned long)(size_t)out);
	snprintf(out, size, "mpv-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4],
		 r[5], r[6], r[7]);
}

static void
keep_reply(struct verify_item *it, const struct smtp_client_reply *rp)
{
	it->smtp_code = rp->code;
	snprintf(it->smtp_reply, sizeof it->smtp_reply, "%d%s%s %s", rp->code,
		 rp->esc[0] ? " " : "", rp->esc, rp->text);
}

static void
judge_5xx(struct verify_item *it, const struct smtp_client_reply *rp)
{
	if (strncmp(rp->esc, "5.7.", 4) == 0 || strcasestr(rp->text, "relay"))
		verify_set_verdict(
		    it, VERIFY_UNKNOWN, false,
		    "the MX refused to answer for the address (policy, not the mailbox)");
	else if (rp->code == 552 || strcmp(rp->esc, "5.2.2") == 0)
		verify_set_verdict(it, VERIFY_RISKY, true, "the mailbox is full");
	else if (rp->code == 550 || rp->code == 551 || rp->code == 553 ||
		 strncmp(rp->esc, "5.1.", 4) == 0)
		verify_set_verdict(it, VERIFY_UNDELIVERABLE, true, "the mailbox does not exist");
	else
		verify_set_verdict(it, VERIFY_UNDELIVERABLE, true, "the MX rejects the address");
}

/* One RCPT's reply, knowing whether the made-up address was accepted too. */
static void
judge_rcpt(struct verify_item *it, const struct smtp_client_reply *rp, bool catch_all)
{
	keep_reply(it, rp);
	if (rp->code / 100 == 2 && catch_all) {
		it->flags |= VERIFY_F_CATCH_ALL;
		verify_set_verdict(it, VERIFY_RISKY, true,
				   "catch-all domain: the MX accepts made-up addresses too");
	} else if (rp->code / 100 == 2) {
		verify_set_verdict(it, VERIFY_DELIVERABLE, true, "the MX accepts the address");
	} else if (rp->code / 100 == 5) {
		judge_5xx(it, rp);
	} else if (rp->code / 100 == 4) {
		it->flags |= VERIFY_F_TEMPFAIL;
		if (strcmp(rp->esc, "4.2.2") == 0) {
			verify_set_verdict(it, VERIFY_RISKY, true, "the mailbox is full (for now)");
		} else if (rp->code == 421 || rp->code == 452 || strcmp(rp->esc, "4.5.3") == 0) {
			verify_set_verdict(it, VERIFY_UNKNOWN, false,
					   "rate limited by the MX: try again later (not invalid)");
		} else {
			verify_set_verdict(
			    it, VERIFY_RISKY, true,
			    it->retried ? "temporarily refused twice (greylisting?): try "
					  "again later"
					: "temporarily refused (greylisting?): try again later");
			it->greylisted = !it->retried; /* one more try, after the pause */
		}
	} else {
		verify_set_verdict(it, VERIFY_UNKNOWN, false, "an unexpected reply to RCPT");
	}
}

/* No reply for it: why the session ended first. Not final: a retry may tell. */
static void
session_failed(struct verify_item *it, const struct client_run_result *r, const char *host)
{
	const struct outcome *oc;
	if (!r->connected) {
		enum conn_error_kind k = r->conn.kind;
		oc = k == CONN_TIMEOUT	     ? outcome_connect_timeout(VERIFY_PORT)
		     : k == CONN_REFUSED     ? outcome_get(OUTCOME_CONNECT_REFUSED)
		     : k == CONN_UNREACHABLE ? outcome_get(OUTCOME_CONNECT_UNREACHABLE)
					     : outcome_get(OUTCOME_CONNECTION_LOST);
	} else {
		oc = outcome_from_reply(r->smtp.failure, &r->smtp.reply);
		if (r->smtp.reply.code)
			keep_reply(it, &r->smtp.reply);
	}
	/* The client table's fixes are for submission; verify must use 25. */
	if (oc->id == OUTCOME_CONNECT_TIMEOUT_PORT25)
		verify_set_verdict(
		    it, VERIFY_UNKNOWN, false,
		    "%s (%s port %d): %s; run verify from a host whose provider allows "
		    "outbound port 25 (not invalid)",
		    oc->what, host, VERIFY_PORT, oc->cause);
	else if (oc->id == OUTCOME_CONNECT_REFUSED || oc->id == OUTCOME_CONNECT_UNREACHABLE)
		verify_set_verdict(
		    it, VERIFY_UNKNOWN, false,
		    "%s (%s port %d): the MX takes no connections now; try again later", oc->what,
		    host, VERIFY_PORT);
	else if (oc->id == OUTCOME_SENDER_REJECTED)
		verify_set_verdict(it, VERIFY_UNKNOWN, false,
				   "%s (%s port %d): try another --from (a real address of yours)",
				   oc->what, host, VERIFY_PORT);
	else
		verify_set_verdict(it, VERIFY_UNKNOWN, false, "%s (%s port %d): %s", oc->what, host,
				   VERIFY_PORT, oc->fix);
	it->decided = false;
}

/*
 * One transaction for rcpts[0..n): on the lane's connection, or on a new
 * one to the first MX host (from the one in use) that greets. The result
 * is in ln->r and rr; ln->s is NULL afterwards when the connection is over.
 */
static void
transact(struct lane *ln, const char *const *rcpts, size_t n, struct smtp_client_rcpt_result *rr)
{
	struct vctx *x = ln->x;
	struct vdomain *d = ln->d;
	ln->env = (struct smtp_client_envelope){.from = x->o->from, .rcpts = rcpts, .nrcpts = n};
	for (size_t i = 0; i < n; i++)
		ln->env.smtputf8 |= verify_has_8bit(rcpts[i]);
	memset(rr, 0, n * sizeof *rr);
	if (ln->s) {
		if (!client_session_next(ln->s, &ln->env, NULL, 0, &ln->r, rr))
			client_session_close(&ln->s);
		return;
	}
	for (size_t i = 0; i < d->nhosts; i++) {
		size_t h = (ln->host + i) % d->nhosts;
		struct smtp_client_config cfg = {
		    .ehlo_name = x->o->helo,
		    .tls = CLIENT_TLS_OPPORTUNISTIC,
		    .host = d->host[h],
		    .port = VERIFY_PORT,
		    .rset_instead_of_data = true, /* never DATA: nothing is ever sent */
		    .keep_open = true,
		};
		struct client_conn_opts copts = {
		    .host = d->host[h],
		    .port = VERIFY_PORT,
		    .connect_addr = d->addr[h],
		    .timeout_ms = x->o->timeout_ms,
		    /* MX TLS is opportunistic: encrypted, not authenticated (RFC 7435). */
		    .insecure = true,
		};
		memset(rr, 0, n * sizeof *rr);
		ln->host = h;
		ln->s = client_session_open(&copts, &cfg, &ln->env, NULL, 0, NULL, &ln->r, rr);
		if (ln->r.greeted)
			break; /* the next MX only when this one did not answer */
	}
}

static void
set_catch_all(struct vctx *x, struct vdomain *d, enum verify_catch_all v)
{
	pthread_mutex_lock(x->mu);
	d->catch_all = v;
	pthread_cond_broadcast(&x->cv); /* a second connection to d may start now */
	pthread_mutex_unlock(x->mu);
}

/*
 * The made-up address's reply, when this transaction carried it: 2xx and
 * 5xx are kept for the domain; a 4xx counts as "no" for this batch only
 * (as a single session would judge), and a later batch asks again.
 */
static bool
catch_all_of(struct vctx *x, struct vdomain *d, const struct smtp_client_reply *probe)
{
	if (probe == NULL) {
		pthread_mutex_lock(x->mu);
		bool yes = d->catch_all == CATCH_ALL_YES;
		pthread_mutex_unlock(x->mu);
		return yes;
	}
	int c = probe->code / 100;
	set_catch_all(x, d, c == 2 ? CATCH_ALL_YES : c == 5 ? CATCH_ALL_NO : CATCH_ALL_UNASKED);
	return c == 2;
}

/*
 * todo[0..n) through as many transactions as it takes; with probe, the
 * made-up address first. False when the MX cannot be asked about any
 * address of the domain now (no greeting, sender refused): ln->r says why.
 */
static bool
run_batch(struct lane *ln, struct verify_item **todo, size_t n, bool probe)
{
	struct vctx *x = ln->x;
	struct vdomain *d = ln->d;
	const char **rcpts = xcalloc(n + 1, sizeof *rcpts);
	char(*addrs)[SMTP_PATH_MAX + 1] = xcalloc(n + 1, sizeof *addrs);
	struct smtp_client_rcpt_result *rr = xcalloc(n + 1, sizeof *rr);
	bool ok = true;
	for (unsigned opens = 0; n > 0;) {
		bool fresh = ln->s == NULL;
		if (fresh && opens++ == VERIFY_OPENS)
			break; /* the reasons of the last try stand */
		size_t off = probe ? 1 : 0;
		if (probe)
			snprintf(addrs[0], sizeof addrs[0], "%s@%s", d->probe, d->name);
		for (size_t i = 0; i < n; i++)
			snprintf(addrs[off + i], sizeof addrs[0], "%s@%s", todo[i]->local, d->name);
		for (size_t i = 0; i < off + n; i++)
			rcpts[i] = addrs[i];
		transact(ln, rcpts, off + n, rr);
		bool sender_ok = ln->r.smtp.failure != CLIENT_SENDER_REJECTED;
		bool catch_all = false;
		if (probe && sender_ok && rr[0].reply.code) {
			catch_all = catch_all_of(x, d, &rr[0].reply);
			probe = false;
		} else if (!probe) {
			catch_all = catch_all_of(x, d, NULL);
		}
		size_t answered = 0, m = 0;
		for (size_t i = 0; i < n; i++) {
			struct verify_item *it = todo[i];
			str_copy(it->mx, sizeof it->mx, d->host[ln->host]);
			if (sender_ok && rr[off + i].reply.code) {
				judge_rcpt(it, &rr[off + i].reply, catch_all);
				answered++;
			} else {
				session_failed(it, &ln->r, d->host[ln->host]);
				todo[m++] = it;
			}
		}
		n = m;
		if (answered == 0 && fresh) {
			/* No greeting or no sender: no other batch would fare
			 * better. Anything else (SMTPUTF8 missing, ...) may be
			 * this batch's own. */
			ok = ln->r.greeted && ln->r.smtp.failure != CLIENT_SENDER_REJECTED;
			break;
		}
		/* A kept connection that answered nothing (lost, 421, MAIL
		 * refused): the next try is on a new one. */
		if (answered == 0)
			client_session_close(&ln->s);
	}
	if (probe) /* never answered: the next batch carries it */
		set_catch_all(x, d, CATCH_ALL_UNASKED);
	ln->env.rcpts = NULL;
	ln->env.nrcpts = 0;
	free(rr);
	free(addrs);
	free(rcpts);
	return ok;
}

/* An item as it starts a try: the second one of a greylisted address starts afresh. */
static void
begin_item(struct verify_item *it)
{
	if (!it->greylisted)
		return;
	it->greylisted = false;
	it->retried = true;
	it->decided = false;
	it->flags &= ~(unsigned)VERIFY_F_TEMPFAIL;
}

static void
finish_item(struct vctx *x, struct verify_item *dst, struct verify_item *it)
{
	if (it->retried && !it->greylisted && it->verdict != VERIFY_RISKY) {
		size_t len = strlen(it->reason);
		snprintf(it->reason + len, sizeof it->reason - len,
			 " (asked again after %d s: greylisting)", x->o->greylist_wait_ms / 1000);
	}
	verify_store(x, dst, it);
}

/*
 * The next batch of d's addresses for this lane (0: none left, or stop).
 * With per_domain > 1 the addresses are spread over the connections
 * allowed. *probe: this batch carries the made-up address.
 */
static size_t
take_batch(struct vctx *x, struct vdomain *d, size_t *from_r, bool *probe_r)
{
	size_t k = 0;
	pthread_mutex_lock(x->mu);
	if (!x->pg->stop && d->next < d->nitems) {
		unsigned cap = x->o->per_domain ? x->o->per_domain : 1;
		k = (d->nitems + cap - 1) / cap;
		k = k > VERIFY_BATCH ? VERIFY_BATCH : k;
		k = k > d->nitems - d->next ? d->nitems - d->next : k;
		*from_r = d->next;
		d->next += k;
		x->left -= k;
		*probe_r = d->catch_all == CATCH_ALL_UNASKED;
		if (*probe_r) {
			if (d->probe[0] == '\0')
				random_local(d->probe, sizeof d->probe);
			d->catch_all = CATCH_ALL_ASKING;
		}
		pthread_cond_broadcast(&x->cv);
	}
	pthread_mutex_unlock(x->mu);
	return k;
}

/* The MX cannot be asked now: d's addresses not yet taken get the same reason. */
static void
fail_rest(struct lane *ln)
{
	struct vctx *x = ln->x;
	struct vdomain *d = ln->d;
	pthread_mutex_lock(x->mu);
	for (; d->next < d->nitems && !x->pg->stop; d->next++, x->left--) {
		struct verify_item *it = &x->items[d->items[d->next]];
		begin_item(it);
		str_copy(it->mx, sizeof it->mx, d->host[ln->host]);
		session_failed(it, &ln->r, d->host[ln->host]);
		finish_item(x, it, it);
	}
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(x->mu);
}

/* The work is done on copies of the items, stored under the lock at the end of each batch. */
void
verify_lane(struct vctx *x, struct vdomain *d)
{
	struct lane ln = {.x = x, .d = d};
	struct verify_item **todo = xcalloc(VERIFY_BATCH, sizeof *todo);
	struct verify_item *copy = xcalloc(VERIFY_BATCH, sizeof *copy);
	size_t from, k;
	bool probe;
	while ((k = take_batch(x, d, &from, &probe)) > 0) {
		pthread_mutex_lock(x->mu);
		for (size_t i = 0; i < k; i++) {
			copy[i] = x->items[d->items[from + i]];
			begin_item(&copy[i]);
			todo[i] = &copy[i];
		}
		pthread_mutex_unlock(x->mu);
		bool ok = run_batch(&ln, todo, k, probe);
		pthread_mutex_lock(x->mu);
		for (size_t i = 0; i < k; i++)
			finish_item(x, &x->items[d->items[from + i]], &copy[i]);
		pthread_mutex_unlock(x->mu);
		if (!ok) {
			fail_rest(&ln);
			break;
		}
	}
	client_session_close(&ln.s);
	free(copy);
	free(todo);
}
