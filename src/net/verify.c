/*
 * verify: the pipeline of `mailport verify` (see verify.h). Verdicts are
 * honest: an address is "deliverable" only when its MX said 250 to it and
 * not to a made-up address; anything that kept us from asking is
 * "unknown", never "undeliverable".
 */
#include "verify.h"

#include <idn2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "client_run.h"
#include "dns.h"
#include "outcome.h"
#include "str.h"
#include "verify_lists.h"
#include "xmalloc.h"

#define VERIFY_PORT 25
#define VERIFY_HOSTS 3	  /* MX hosts tried, best first */
#define VERIFY_CHUNK 40	  /* RCPTs per session: RFC 5321 4.5.3.1.8 allows >= 100 */
#define VERIFY_SESSIONS 4 /* sessions per chunk, when a server hangs up early */

/* One domain: its addresses, what DNS said, where to ask. */
struct vdomain {
	const char *name;
	size_t *items;
	size_t nitems, cap;
	size_t next;	 /* the first item not handed to a session yet */
	unsigned active; /* sessions running now */
	bool smtp;	 /* DNS found somewhere to ask */
	size_t nhosts;
	char host[VERIFY_HOSTS][256];
	char addr[VERIFY_HOSTS][64];
};

struct vctx {
	const struct verify_opts *o;
	struct verify_item *items;
	struct vdomain *doms;
	size_t ndoms;
	size_t next_dns;
	size_t left; /* items still waiting for SMTP */
	struct verify_progress *pg;
	pthread_mutex_t *mu; /* &pg->mu: the work queue and the items' results */
	pthread_cond_t cv;
	struct dns **dns; /* one resolver per worker */
};

static void set_verdict(struct verify_item *it, enum verify_verdict v, bool checked,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
set_verdict(struct verify_item *it, enum verify_verdict v, bool checked, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(it->reason, sizeof it->reason, fmt, ap);
	va_end(ap);
	it->verdict = v;
	it->checked = checked;
	it->decided = true;
}

static bool
has_8bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* A U-label domain into A-labels (IDNA2008, NFC first); false with the reason set. */
static bool
to_alabels(struct verify_item *it)
{
	char *ascii = NULL;
	int rc = idn2_to_ascii_8z(it->domain, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK || ascii == NULL || strlen(ascii) >= sizeof it->domain) {
		set_verdict(it, VERIFY_UNDELIVERABLE, true,
			    "bad syntax: the domain is not a valid internationalised name (%s)",
			    rc != IDN2_OK ? idn2_strerror(rc) : "too long");
		it->syntax_ok = false;
		idn2_free(ascii);
		return false;
	}
	str_copy(it->domain, sizeof it->domain, ascii);
	idn2_free(ascii);
	return true;
}

void
verify_prepare(struct verify_item *it, const char *input, const struct verify_opts *o)
{
	memset(it, 0, sizeof *it);
	str_copy(it->input, sizeof it->input, input);
	it->verdict = VERIFY_UNKNOWN;
	struct smtp_addr a;
	enum addr_err e = smtp_addr_parse_mailbox(strv_from(input), true, &a);
	if (strlen(input) >= sizeof it->input)
		e = ADDR_PATH_TOO_LONG;
	if (e != ADDR_OK) {
		set_verdict(it, VERIFY_UNDELIVERABLE, true, "bad syntax: %s",
			    smtp_addr_err_text(e));
		return;
	}
	it->syntax_ok = true;
	str_copy(it->local, sizeof it->local, a.local);
	str_copy(it->domain, sizeof it->domain, a.domain);
	if (has_8bit(it->domain) && !to_alabels(it))
		return;
	str_lower(it->domain);
	snprintf(it->normalized, sizeof it->normalized, "%s@%s", it->local, it->domain);
	if (verify_is_role(it->local))
		it->flags |= VERIFY_F_ROLE;
	if (verify_is_disposable(it->domain, o->disposable, o->ndisposable))
		it->flags |= VERIFY_F_DISPOSABLE;
	if (verify_is_free(it->domain))
		it->flags |= VERIFY_F_FREE;
	char fix[SMTP_DOMAIN_MAX + 1];
	if (verify_suggest_domain(it->domain, fix, sizeof fix))
		snprintf(it->suggestion, sizeof it->suggestion, "%s@%s", it->local, fix);
}

/* Role and disposable make an otherwise good address risky. */
static void
apply_flags(struct verify_item *it, bool no_smtp)
{
	bool good = it->verdict == VERIFY_DELIVERABLE ||
		    (no_smtp && it->checked && it->verdict == VERIFY_UNKNOWN);
	if (!good || !(it->flags & (VERIFY_F_ROLE | VERIFY_F_DISPOSABLE)))
		return;
	char was[sizeof it->reason];
	str_copy(was, sizeof was, it->reason);
	set_verdict(it, VERIFY_RISKY, true, "%s%s; %s",
		    it->flags & VERIFY_F_DISPOSABLE ? "disposable domain" : "role address",
		    (it->flags & VERIFY_F_DISPOSABLE) && (it->flags & VERIFY_F_ROLE)
			? ", role address"
			: "",
		    was);
}

/* Under x->mu: the result of *it is in place, unless the watcher said stop. */
static bool
store(struct vctx *x, struct verify_item *dst, const struct verify_item *src)
{
	if (x->pg->stop)
		return false;
	if (dst != src)
		*dst = *src;
	apply_flags(dst, x->o->no_smtp);
	if (!dst->done)
		x->pg->done++;
	dst->done = true;
	return true;
}

/* ---- grouping by domain ---- */

static struct vdomain *
find_domain(struct vctx *x, const char *name)
{
	/* Linear: lists are sorted by domain seldom enough; fine for thousands. */
	for (size_t i = x->ndoms; i-- > 0;)
		if (strcmp(x->doms[i].name, name) == 0)
			return &x->doms[i];
	return NULL;
}

static void
group(struct vctx *x, size_t n)
{
	x->doms = xcalloc(n ? n : 1, sizeof *x->doms);
	for (size_t i = 0; i < n; i++) {
		struct verify_item *it = &x->items[i];
		if (it->decided)
			continue;
		struct vdomain *d = find_domain(x, it->domain);
		if (d == NULL) {
			d = &x->doms[x->ndoms++];
			d->name = it->domain;
		}
		if (d->nitems == d->cap) {
			d->cap = d->cap ? 2 * d->cap : 8;
			d->items = xrealloc(d->items, d->cap * sizeof *d->items);
		}
		d->items[d->nitems++] = i;
	}
}

/* ---- DNS ---- */

/* Every address of d gets the same verdict (a DNS one). */
static void
domain_verdict(struct vctx *x, struct vdomain *d, enum verify_verdict v, bool checked,
	       const char *reason)
{
	pthread_mutex_lock(x->mu);
	for (size_t i = 0; i < d->nitems && !x->pg->stop; i++) {
		struct verify_item *it = &x->items[d->items[i]];
		set_verdict(it, v, checked, "%s", reason);
		store(x, it, it);
	}
	pthread_mutex_unlock(x->mu);
}

/* "[192.0.2.1]" / "[IPv6:::1]": no DNS, the address is given. */
static bool
literal_host(struct vdomain *d)
{
	size_t n = strlen(d->name);
	if (n < 3 || d->name[0] != '[' || d->name[n - 1] != ']')
		return false;
	const char *p = d->name + 1;
	if (strncmp(p, "ipv6:", 5) == 0)
		p += 5;
	str_copy(d->host[0], sizeof d->host[0], d->name);
	str_copy_n(d->addr[0], sizeof d->addr[0], p, (size_t)(d->name + n - 1 - p));
	d->nhosts = 1;
	return true;
}

/* The first address of each of the best MX hosts. */
static void
mx_addrs(struct dns *dns, struct vdomain *d, const struct dns_mx *mx, size_t nmx)
{
	for (size_t i = 0; i < nmx && d->nhosts < VERIFY_HOSTS; i++) {
		char addrs[DNS_MAX_ADDRS][64];
		size_t na = 0;
		if (dns_addrs(dns, mx[i].host, addrs, &na) != DNS_OK || na == 0)
			continue;
		str_copy(d->host[d->nhosts], sizeof d->host[0], mx[i].host);
		str_copy(d->addr[d->nhosts], sizeof d->addr[0], addrs[0]);
		d->nhosts++;
	}
}

static void
lookup_domain(struct vctx *x, struct dns *dns, struct vdomain *d)
{
	struct dns_mx mx[DNS_MAX_MX];
	size_t nmx = 0;
	if (literal_host(d)) {
		d->smtp = true;
		return;
	}
	switch (dns_mx(dns, d->name, mx, &nmx)) {
	case DNS_OK:
		mx_addrs(dns, d, mx, nmx);
		if (d->nhosts == 0) {
			domain_verdict(x, d, VERIFY_UNKNOWN, false,
				       "no MX host of the domain has an address");
			return;
		}
		d->smtp = true;
		return;
	case DNS_NULL_MX:
		domain_verdict(x, d, VERIFY_UNDELIVERABLE, true,
			       "null MX: the domain accepts no mail (RFC 7505)");
		return;
	case DNS_NXDOMAIN:
		domain_verdict(x, d, VERIFY_UNDELIVERABLE, true,
			       "the domain does not exist (NXDOMAIN)");
		return;
	case DNS_TEMPFAIL:
		domain_verdict(x, d, VERIFY_UNKNOWN, false,
			       "DNS lookup failed (SERVFAIL or timeout): try again later");
		return;
	case DNS_NODATA:
		break;
	}
	/* No MX: the domain's own address is its implicit MX (RFC 5321 5.1). */
	char addrs[DNS_MAX_ADDRS][64];
	size_t na = 0;
	enum dns_status s = dns_addrs(dns, d->name, addrs, &na);
	if (s == DNS_OK && na > 0) {
		str_copy(d->host[0], sizeof d->host[0], d->name);
		str_copy(d->addr[0], sizeof d->addr[0], addrs[0]);
		d->nhosts = 1;
		d->smtp = true;
	} else if (s == DNS_TEMPFAIL) {
		domain_verdict(x, d, VERIFY_UNKNOWN, false,
			       "DNS lookup failed (SERVFAIL or timeout): try again later");
	} else {
		domain_verdict(x, d, VERIFY_UNDELIVERABLE, true,
			       "no MX and no address record: the domain receives no mail");
	}
}

/* ---- SMTP ---- */

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
		set_verdict(it, VERIFY_UNKNOWN, false,
			    "the MX refused to answer for the address (policy, not the mailbox)");
	else if (rp->code == 552 || strcmp(rp->esc, "5.2.2") == 0)
		set_verdict(it, VERIFY_RISKY, true, "the mailbox is full");
	else if (rp->code == 550 || rp->code == 551 || rp->code == 553 ||
		 strncmp(rp->esc, "5.1.", 4) == 0)
		set_verdict(it, VERIFY_UNDELIVERABLE, true, "the mailbox does not exist");
	else
		set_verdict(it, VERIFY_UNDELIVERABLE, true, "the MX rejects the address");
}

/* One RCPT's reply, knowing whether the made-up address was accepted too. */
static void
judge_rcpt(struct verify_item *it, const struct smtp_client_reply *rp, bool catch_all)
{
	keep_reply(it, rp);
	if (rp->code / 100 == 2 && catch_all) {
		it->flags |= VERIFY_F_CATCH_ALL;
		set_verdict(it, VERIFY_RISKY, true,
			    "catch-all domain: the MX accepts made-up addresses too");
	} else if (rp->code / 100 == 2) {
		set_verdict(it, VERIFY_DELIVERABLE, true, "the MX accepts the address");
	} else if (rp->code / 100 == 5) {
		judge_5xx(it, rp);
	} else if (rp->code / 100 == 4) {
		it->flags |= VERIFY_F_TEMPFAIL;
		if (strcmp(rp->esc, "4.2.2") == 0) {
			set_verdict(it, VERIFY_RISKY, true, "the mailbox is full (for now)");
		} else if (rp->code == 421 || rp->code == 452 || strcmp(rp->esc, "4.5.3") == 0) {
			set_verdict(it, VERIFY_UNKNOWN, false,
				    "rate limited by the MX: try again later (not invalid)");
		} else {
			set_verdict(it, VERIFY_RISKY, true,
				    it->retried
					? "temporarily refused twice (greylisting?): try "
					  "again later"
					: "temporarily refused (greylisting?): try again later");
			it->greylisted = !it->retried; /* one more try, after the pause */
		}
	} else {
		set_verdict(it, VERIFY_UNKNOWN, false, "an unexpected reply to RCPT");
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
		set_verdict(it, VERIFY_UNKNOWN, false,
			    "%s (%s port %d): %s; run verify from a host whose provider allows "
			    "outbound port 25 (not invalid)",
			    oc->what, host, VERIFY_PORT, oc->cause);
	else if (oc->id == OUTCOME_CONNECT_REFUSED || oc->id == OUTCOME_CONNECT_UNREACHABLE)
		set_verdict(it, VERIFY_UNKNOWN, false,
			    "%s (%s port %d): the MX takes no connections now; try again later",
			    oc->what, host, VERIFY_PORT);
	else if (oc->id == OUTCOME_SENDER_REJECTED)
		set_verdict(it, VERIFY_UNKNOWN, false,
			    "%s (%s port %d): try another --from (a real address of yours)",
			    oc->what, host, VERIFY_PORT);
	else
		set_verdict(it, VERIFY_UNKNOWN, false, "%s (%s port %d): %s", oc->what, host,
			    VERIFY_PORT, oc->fix);
	it->decided = false;
}

/* One attempt at host h: the made-up address first, then the addresses. */
static void
run_session(struct vctx *x, struct vdomain *d, size_t h, const char *const *rcpts, size_t n,
	    struct client_run_result *r, struct smtp_client_rcpt_result *rr)
{
	struct smtp_client_config cfg = {
	    .ehlo_name = x->o->helo,
	    .tls = CLIENT_TLS_OPPORTUNISTIC,
	    .host = d->host[h],
	    .port = VERIFY_PORT,
	    .rset_instead_of_data = true, /* never DATA: nothing is ever sent */
	};
	struct smtp_client_envelope env = {.from = x->o->from, .rcpts = rcpts, .nrcpts = n};
	for (size_t i = 0; i < n; i++)
		env.smtputf8 |= has_8bit(rcpts[i]);
	struct client_conn_opts copts = {
	    .host = d->host[h],
	    .port = VERIFY_PORT,
	    .connect_addr = d->addr[h],
	    .timeout_ms = x->o->timeout_ms,
	    /* MX TLS is opportunistic: encrypted, not authenticated (RFC 7435). */
	    .insecure = true,
	};
	memset(rr, 0, n * sizeof *rr);
	client_run(&copts, &cfg, &env, NULL, 0, NULL, r, rr);
}

/* One session for todo[0..n): how many got a reply to their own RCPT. */
static size_t
ask(struct vctx *x, struct vdomain *d, struct verify_item **todo, size_t n)
{
	const char **rcpts = xcalloc(n + 1, sizeof *rcpts);
	char(*addrs)[SMTP_PATH_MAX + 1] = xcalloc(n + 1, sizeof *addrs);
	struct smtp_client_rcpt_result *rr = xcalloc(n + 1, sizeof *rr);
	char probe[32];
	random_local(probe, sizeof probe);
	snprintf(addrs[0], sizeof addrs[0], "%s@%s", probe, d->name);
	for (size_t i = 0; i <= n; i++) {
		if (i > 0)
			snprintf(addrs[i], sizeof addrs[i], "%s@%s", todo[i - 1]->local, d->name);
		rcpts[i] = addrs[i];
	}
	struct client_run_result r;
	size_t h = 0;
	for (;; h++) {
		run_session(x, d, h, rcpts, n + 1, &r, rr);
		if (r.greeted || h + 1 == d->nhosts)
			break; /* the next MX only when this one did not answer */
	}
	bool sender_ok = r.smtp.failure != CLIENT_SENDER_REJECTED;
	bool catch_all = rr[0].reply.code / 100 == 2;
	size_t answered = 0;
	for (size_t i = 0; i < n; i++) {
		str_copy(todo[i]->mx, sizeof todo[i]->mx, d->host[h]);
		if (sender_ok && rr[i + 1].reply.code) {
			judge_rcpt(todo[i], &rr[i + 1].reply, catch_all);
			answered++;
		} else {
			session_failed(todo[i], &r, d->host[h]);
		}
	}
	free(rr);
	free(addrs);
	free(rcpts);
	return answered;
}

/*
 * Items [from, from+k) of d; again for the rest when a server hangs up
 * early. The work is done on copies, stored under the lock at the end.
 */
static void
run_chunk(struct vctx *x, struct vdomain *d, size_t from, size_t k)
{
	struct verify_item **todo = xcalloc(k, sizeof *todo);
	struct verify_item *copy = xcalloc(k, sizeof *copy);
	pthread_mutex_lock(x->mu);
	for (size_t i = 0; i < k; i++) {
		copy[i] = x->items[d->items[from + i]];
		todo[i] = &copy[i];
		if (copy[i].greylisted) { /* the second try: start afresh */
			copy[i].greylisted = false;
			copy[i].retried = true;
			copy[i].decided = false;
			copy[i].flags &= ~(unsigned)VERIFY_F_TEMPFAIL;
		}
	}
	pthread_mutex_unlock(x->mu);
	size_t n = k;
	for (int s = 0; s < VERIFY_SESSIONS && n > 0; s++) {
		if (ask(x, d, todo, n) == 0)
			break; /* no progress: the reasons stand */
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (!todo[i]->decided)
				todo[m++] = todo[i];
		n = m;
	}
	pthread_mutex_lock(x->mu);
	for (size_t i = 0; i < k; i++) {
		struct verify_item *it = &copy[i];
		if (it->retried && !it->greylisted && it->verdict != VERIFY_RISKY) {
			size_t len = strlen(it->reason);
			snprintf(it->reason + len, sizeof it->reason - len,
				 " (asked again after %d s: greylisting)",
				 x->o->greylist_wait_ms / 1000);
		}
		store(x, &x->items[d->items[from + i]], it);
	}
	pthread_mutex_unlock(x->mu);
	free(copy);
	free(todo);
}

/* ---- the workers ---- */

struct vworker {
	struct vctx *x;
	struct dns *dns;
};

static void *
dns_worker(void *arg)
{
	struct vworker *w = arg;
	struct vctx *x = w->x;
	for (;;) {
		pthread_mutex_lock(x->mu);
		size_t i = x->next_dns++;
		bool stop = x->pg->stop;
		pthread_mutex_unlock(x->mu);
		if (i >= x->ndoms || stop)
			return NULL;
		if (w->dns == NULL)
			domain_verdict(x, &x->doms[i], VERIFY_UNKNOWN, false,
				       "the DNS resolver could not be set up");
		else
			lookup_domain(x, w->dns, &x->doms[i]);
	}
}

/* A chunk of a domain below its session cap; false when none is left. */
static bool
take_chunk(struct vctx *x, struct vdomain **d_r, size_t *from_r, size_t *k_r)
{
	unsigned cap = x->o->per_domain;
	pthread_mutex_lock(x->mu);
	while (x->left > 0 && !x->pg->stop) {
		for (size_t i = 0; i < x->ndoms; i++) {
			struct vdomain *d = &x->doms[i];
			if (!d->smtp || d->next >= d->nitems || d->active >= cap)
				continue;
			/* Spread a domain over its allowed sessions, in chunks. */
			size_t k = (d->nitems + cap - 1) / cap;
			k = k > VERIFY_CHUNK ? VERIFY_CHUNK : k;
			k = k > d->nitems - d->next ? d->nitems - d->next : k;
			*d_r = d;
			*from_r = d->next;
			*k_r = k;
			d->next += k;
			d->active++;
			x->left -= k;
			pthread_mutex_unlock(x->mu);
			return true;
		}
		pthread_cond_wait(&x->cv, x->mu);
	}
	pthread_mutex_unlock(x->mu);
	return false;
}

static void *
smtp_worker(void *arg)
{
	struct vworker *w = arg;
	struct vctx *x = w->x;
	struct vdomain *d;
	size_t from, k;
	while (take_chunk(x, &d, &from, &k)) {
		run_chunk(x, d, from, k);
		pthread_mutex_lock(x->mu);
		d->active--;
		pthread_cond_broadcast(&x->cv);
		pthread_mutex_unlock(x->mu);
	}
	/* Wake the others: they may wait for a chunk that will never come. */
	pthread_mutex_lock(x->mu);
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(x->mu);
	return NULL;
}

static void
pool(struct vctx *x, struct vworker *w, size_t nw, void *(*fn)(void *))
{
	pthread_t *t = xcalloc(nw, sizeof *t);
	size_t started = 0;
	for (; started < nw; started++)
		if (pthread_create(&t[started], NULL, fn, &w[started]) != 0)
			break;
	if (started == 0)
		fn(&w[0]); /* no thread to be had: do the work here */
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
	(void)x;
}

/* --no-smtp: the domain takes mail; the mailbox stays unasked. */
static void
stop_after_dns(struct vctx *x)
{
	for (size_t i = 0; i < x->ndoms; i++) {
		struct vdomain *d = &x->doms[i];
		pthread_mutex_lock(x->mu);
		for (size_t j = 0; d->smtp && j < d->nitems; j++) {
			struct verify_item *it = &x->items[d->items[j]];
			if (x->pg->stop)
				break;
			str_copy(it->mx, sizeof it->mx, d->host[0]);
			set_verdict(it, VERIFY_UNKNOWN, true,
				    "the domain accepts mail (MX %s); the mailbox was not asked "
				    "(--no-smtp)",
				    d->host[0]);
			store(x, it, it);
		}
		pthread_mutex_unlock(x->mu);
	}
}

/* The pause before the second try; false when the watcher said stop. */
static bool
greylist_pause(struct vctx *x)
{
	for (int waited = 0; waited < x->o->greylist_wait_ms; waited += 100) {
		pthread_mutex_lock(x->mu);
		bool stop = x->pg->stop;
		pthread_mutex_unlock(x->mu);
		if (stop)
			return false;
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return true;
}

/* The greylisted addresses of each domain, queued again; how many. */
static size_t
requeue_greylisted(struct vctx *x)
{
	size_t total = 0;
	pthread_mutex_lock(x->mu);
	for (size_t i = 0; i < x->ndoms; i++) {
		struct vdomain *d = &x->doms[i];
		size_t m = 0;
		for (size_t j = 0; d->smtp && j < d->nitems; j++)
			if (x->items[d->items[j]].greylisted)
				d->items[m++] = d->items[j];
		d->nitems = d->smtp ? m : 0;
		d->next = 0;
		total += d->nitems;
	}
	x->left = total;
	pthread_mutex_unlock(x->mu);
	return total;
}

void
verify_run(const struct verify_opts *o, struct verify_item *items, size_t n)
{
	struct verify_progress own = {.done = 0};
	struct vctx x = {.o = o, .items = items, .pg = o->progress ? o->progress : &own};
	if (o->progress == NULL)
		pthread_mutex_init(&own.mu, NULL);
	x.mu = &x.pg->mu;
	pthread_cond_init(&x.cv, NULL);
	pthread_mutex_lock(x.mu);
	for (size_t i = 0; i < n; i++)
		if (items[i].decided) /* bad syntax: done before any lookup */
			store(&x, &items[i], &items[i]);
	pthread_mutex_unlock(x.mu);
	group(&x, n);
	size_t nw = o->concurrency ? o->concurrency : 1;
	nw = nw > x.ndoms ? (x.ndoms ? x.ndoms : 1) : nw;
	struct vworker *w = xcalloc(nw, sizeof *w);
	for (size_t i = 0; i < nw; i++) {
		char err[256];
		w[i].x = &x;
		/* Made here, not in the threads: c-ares' setup is not for racing. */
		w[i].dns = dns_new(o->resolver, o->timeout_ms, err, sizeof err);
	}
	pool(&x, w, nw, dns_worker);
	if (o->no_smtp) {
		stop_after_dns(&x);
	} else {
		for (size_t i = 0; i < x.ndoms; i++)
			x.left += x.doms[i].smtp ? x.doms[i].nitems : 0;
		pool(&x, w, nw, smtp_worker);
		/* Greylisting: one more try, as a real sender would, after a pause. */
		if (o->greylist_wait_ms > 0 && requeue_greylisted(&x) > 0 && greylist_pause(&x))
			pool(&x, w, nw, smtp_worker);
	}
	for (size_t i = 0; i < nw; i++)
		dns_free(&w[i].dns);
	for (size_t i = 0; i < x.ndoms; i++)
		free(x.doms[i].items);
	free(x.doms);
	free(w);
	pthread_cond_destroy(&x.cv);
	if (o->progress == NULL)
		pthread_mutex_destroy(&own.mu);
}

const char *
verify_verdict_name(enum verify_verdict v)
{
	static const char *const names[] = {"deliverable", "undeliverable", "risky", "unknown"};
	return names[v];
}

void
verify_flags_text(unsigned flags, char *out, size_t size)
{
	static const char *const names[] = {"role", "disposable", "catch-all", "tempfail", "free"};
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (flags & (1u << i))
			len += (size_t)snprintf(out + len, len < size ? size - len : 0, "%s%s",
						len ? "," : "", names[i]);
}
