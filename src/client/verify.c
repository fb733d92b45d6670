/*
 * verify: the pipeline of `mailport verify` (see verify.h). Verdicts are
 * honest: an address is "deliverable" only when its MX said 250 to it and
 * not to a made-up address; anything that kept us from asking is
 * "unknown", never "undeliverable".
 */
#include <idn2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"
#include "str.h"
#include "verify_int.h"
#include "verify_lists.h"
#include "xmalloc.h"

void
verify_set_verdict(struct verify_item *it, enum verify_verdict v, bool checked, const char *fmt,
		   ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(it->reason, sizeof it->reason, fmt, ap);
	va_end(ap);
	it->verdict = v;
	it->checked = checked;
	it->decided = true;
}

bool
verify_has_8bit(const char *s)
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
		verify_set_verdict(
		    it, VERIFY_UNDELIVERABLE, true,
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
		verify_set_verdict(it, VERIFY_UNDELIVERABLE, true, "bad syntax: %s",
				   smtp_addr_err_text(e));
		return;
	}
	it->syntax_ok = true;
	str_copy(it->local, sizeof it->local, a.local);
	str_copy(it->domain, sizeof it->domain, a.domain);
	if (verify_has_8bit(it->domain) && !to_alabels(it))
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
	verify_set_verdict(it, VERIFY_RISKY, true, "%s%s; %s",
			   it->flags & VERIFY_F_DISPOSABLE ? "disposable domain" : "role address",
			   (it->flags & VERIFY_F_DISPOSABLE) && (it->flags & VERIFY_F_ROLE)
			       ? ", role address"
			       : "",
			   was);
}

bool
verify_store(struct vctx *x, struct verify_item *dst, const struct verify_item *src)
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

/* The items by domain, in order of first appearance; one lookup per item. */
static void
group(struct vctx *x, size_t n)
{
	x->doms = xcalloc(n ? n : 1, sizeof *x->doms);
	struct hash by_name; /* domain -> its vdomain; keys live in the items */
	hash_init(&by_name);
	for (size_t i = 0; i < n; i++) {
		struct verify_item *it = &x->items[i];
		if (it->decided)
			continue;
		struct vdomain *d = hash_get(&by_name, it->domain);
		if (d == NULL) {
			d = &x->doms[x->ndoms++];
			d->name = it->domain;
			hash_put(&by_name, d->name, d);
		}
		if (d->nitems == d->cap) {
			d->cap = d->cap ? 2 * d->cap : 8;
			d->items = xrealloc(d->items, d->cap * sizeof *d->items);
		}
		d->items[d->nitems++] = i;
	}
	hash_free(&by_name);
}

/* ---- DNS ---- */

void
verify_domain_verdict(struct vctx *x, struct vdomain *d, enum verify_verdict v, bool checked,
		      const char *reason)
{
	pthread_mutex_lock(x->mu);
	for (size_t i = 0; i < d->nitems && !x->pg->stop; i++) {
		struct verify_item *it = &x->items[d->items[i]];
		verify_set_verdict(it, v, checked, "%s", reason);
		verify_store(x, it, it);
	}
	pthread_mutex_unlock(x->mu);
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
			verify_domain_verdict(x, &x->doms[i], VERIFY_UNKNOWN, false,
					      "the DNS resolver could not be set up");
		else
			verify_lookup_domain(x, w->dns, &x->doms[i]);
	}
}

/*
 * A domain for a new connection under both caps (a worker is one
 * connection, and at most per_domain at once go to one domain); false
 * when no address is left to hand out. A second connection to a domain
 * waits for the catch-all answer, so the made-up address is asked once.
 */
static bool
take_lane(struct vctx *x, struct vdomain **d_r)
{
	unsigned cap = x->o->per_domain ? x->o->per_domain : 1;
	pthread_mutex_lock(x->mu);
	while (x->left > 0 && !x->pg->stop) {
		struct vdomain *best = NULL;
		for (size_t i = 0; i < x->ndoms; i++) {
			struct vdomain *d = &x->doms[i];
			if (!d->smtp || d->next >= d->nitems || d->active >= cap)
				continue;
			if (d->active > 0 && d->catch_all != CATCH_ALL_YES &&
			    d->catch_all != CATCH_ALL_NO)
				continue;
			if (best == NULL || d->active < best->active)
				best = d; /* domains nobody is at come first */
			if (d->active == 0)
				break;
		}
		if (best) {
			best->active++;
			*d_r = best;
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
	while (take_lane(x, &d)) {
		verify_lane(x, d);
		pthread_mutex_lock(x->mu);
		d->active--;
		pthread_cond_broadcast(&x->cv);
		pthread_mutex_unlock(x->mu);
	}
	/* Wake the others: they may wait for a domain that will never come. */
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
			verify_set_verdict(
			    it, VERIFY_UNKNOWN, true,
			    "the domain accepts mail (MX %s); the mailbox was not asked "
			    "(--no-smtp)",
			    d->host[0]);
			verify_store(x, it, it);
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
			verify_store(&x, &items[i], &items[i]);
	pthread_mutex_unlock(x.mu);
	group(&x, n);
	/* A worker is one lookup or one connection at a time: no more than can be busy. */
	size_t conc = o->concurrency ? o->concurrency : 1;
	size_t per = o->per_domain ? o->per_domain : 1;
	size_t ndns = conc < x.ndoms ? conc : (x.ndoms ? x.ndoms : 1);
	size_t nsmtp = conc / per < x.ndoms ? conc : (x.ndoms ? x.ndoms * per : 1);
	size_t nw = ndns > nsmtp ? ndns : nsmtp;
	struct vworker *w = xcalloc(nw, sizeof *w);
	for (size_t i = 0; i < nw; i++) {
		char err[256];
		w[i].x = &x;
		/* Made here, not in the threads: c-ares' setup is not for racing. */
		if (i < ndns)
			w[i].dns = dns_new(o->resolver, o->timeout_ms, err, sizeof err);
	}
	pool(&x, w, ndns, dns_worker);
	if (o->no_smtp) {
		stop_after_dns(&x);
	} else {
		for (size_t i = 0; i < x.ndoms; i++)
			x.left += x.doms[i].smtp ? x.doms[i].nitems : 0;
		pool(&x, w, nsmtp, smtp_worker);
		/* Greylisting: one more try, as a real sender would, after a pause. */
		if (o->greylist_wait_ms > 0 && requeue_greylisted(&x) > 0 && greylist_pause(&x))
			pool(&x, w, nsmtp, smtp_worker);
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
