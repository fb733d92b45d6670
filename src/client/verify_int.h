/*
 * verify_int: what the parts of `mailport verify` share (not for other
 * modules). verify.c runs the pipeline and owns the work queue,
 * verify_dns.c looks a domain up once, verify_smtp.c asks its MX over one
 * kept connection.
 */
#ifndef MP_VERIFY_INT_H
#define MP_VERIFY_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "client_run.h"
#include "dns.h"
#include "verify.h"

#define VERIFY_PORT 25
#define VERIFY_HOSTS 3 /* MX hosts tried, best first */

/* What the made-up address told about a domain; asked once, kept for the run. */
enum verify_catch_all {
	CATCH_ALL_UNASKED, /* not asked, or no clear answer yet (4xx, connection lost) */
	CATCH_ALL_ASKING,  /* a transaction carrying the probe is under way */
	CATCH_ALL_YES,
	CATCH_ALL_NO,
};

/* One domain: its addresses, and what DNS and the catch-all probe said, for the whole run. */
struct vdomain {
	const char *name;
	size_t *items;
	size_t nitems, cap;
	size_t next;	 /* the first item not handed to a connection yet */
	unsigned active; /* connections open to it now */
	bool smtp;	 /* DNS found somewhere to ask */
	size_t nhosts;
	char host[VERIFY_HOSTS][256];
	char addr[VERIFY_HOSTS][64];
	enum verify_catch_all catch_all;
	char probe[32]; /* the made-up local part, the same on every try */
};

struct vctx {
	const struct verify_opts *o;
	struct verify_item *items;
	struct vdomain *doms;
	size_t ndoms;
	size_t next_dns;
	size_t left; /* items not handed to a connection yet */
	struct verify_progress *pg;
	pthread_mutex_t *mu; /* &pg->mu: the work queue, the domains' caches, the items' results */
	pthread_cond_t cv;   /* signalled when a connection ends or a domain's state changes */
};

void verify_set_verdict(struct verify_item *it, enum verify_verdict v, bool checked,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));
bool verify_has_8bit(const char *s);
/* Under x->mu: the result of *src goes into *dst, unless the watcher said stop. */
bool verify_store(struct vctx *x, struct verify_item *dst, const struct verify_item *src);
/* Every address of d gets the same verdict (takes x->mu). */
void verify_domain_verdict(struct vctx *x, struct vdomain *d, enum verify_verdict v, bool checked,
			   const char *reason);

/* verify_dns.c: where to ask for d, or a verdict for all its addresses. */
void verify_lookup_domain(struct vctx *x, struct dns *dns, struct vdomain *d);

/*
 * verify_smtp.c: one connection to d's MX (the caller counted it in
 * d->active) that asks for d's addresses, a batch per transaction, until
 * none is left to take; reconnects when the server hangs up between
 * transactions.
 */
void verify_lane(struct vctx *x, struct vdomain *d);

#endif
