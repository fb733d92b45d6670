/*
 * conn_cache: slots and idle connections per destination (see the header).
 *
 * One mutex guards the counts and the idle lists; connections are closed
 * outside it, since a QUIT waits on the network. A destination with no slot
 * taken and nothing idle is forgotten, so the list stays as short as the
 * connections that exist.
 */
#include "conn_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client_run.h"
#include "elapsed.h"
#include "str.h"
#include "xmalloc.h"

struct dest {
	char key[256];
	unsigned busy;		  /* slots taken */
	unsigned nidle;		  /* connections kept */
	struct cached_conn *idle; /* newest first */
	struct dest *next;
};

struct conn_cache {
	pthread_mutex_t lock;
	unsigned max_total, max_per_dest;
	unsigned total; /* slots taken plus connections kept, over all destinations */
	bool stopping;
	struct dest *dests;
};

struct conn_cache *
conn_cache_new(unsigned max_total, unsigned max_per_dest)
{
	struct conn_cache *cc = xcalloc(1, sizeof *cc);
	pthread_mutex_init(&cc->lock, NULL);
	cc->max_total = max_total ? max_total : 1;
	cc->max_per_dest = max_per_dest ? max_per_dest : 1;
	return cc;
}

void
cached_conn_close(struct cached_conn **cp)
{
	struct cached_conn *c = *cp;
	if (c == NULL)
		return;
	client_session_close(&c->session);
	free(c);
	*cp = NULL;
}

static struct dest *
find(struct conn_cache *cc, const char *key, bool create)
{
	for (struct dest *d = cc->dests; d; d = d->next)
		if (strcasecmp(d->key, key) == 0)
			return d;
	if (!create)
		return NULL;
	struct dest *d = xcalloc(1, sizeof *d);
	str_copy(d->key, sizeof d->key, key);
	d->next = cc->dests;
	cc->dests = d;
	return d;
}

static void
forget_if_unused(struct conn_cache *cc, struct dest *d)
{
	if (d->busy || d->nidle)
		return;
	for (struct dest **pp = &cc->dests; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			free(d);
			return;
		}
}

/* Unlink the oldest idle connection of any destination but except; NULL if none. */
static struct cached_conn *
take_oldest_idle(struct conn_cache *cc, const struct dest *except)
{
	struct dest *best_d = NULL;
	struct cached_conn **best = NULL;
	for (struct dest *d = cc->dests; d; d = d->next) {
		if (d == except)
			continue;
		for (struct cached_conn **pp = &d->idle; *pp; pp = &(*pp)->next)
			if (best == NULL || (*pp)->parked < (*best)->parked) {
				best = pp;
				best_d = d;
			}
	}
	if (best == NULL)
		return NULL;
	struct cached_conn *c = *best;
	*best = c->next;
	c->next = NULL;
	best_d->nidle--;
	cc->total--;
	forget_if_unused(cc, best_d);
	return c;
}

/*
 * Called with the lock held: may a slot to d be taken, and must an idle
 * connection elsewhere go for it (*evict)?
 */
static bool
slot_free(const struct conn_cache *cc, const struct dest *d, bool *evict)
{
	*evict = false;
	if (d && d->idle)
		return true;
	if (d && d->busy + d->nidle >= cc->max_per_dest)
		return false;
	if (cc->total < cc->max_total)
		return true;
	for (const struct dest *o = cc->dests; o; o = o->next)
		if (o != d && o->nidle) {
			*evict = true;
			return true;
		}
	return false;
}

enum conn_slot
conn_cache_acquire(struct conn_cache *cc, const char *dest, struct cached_conn **kept_r)
{
	struct cached_conn *evicted = NULL;
	enum conn_slot got = SLOT_FULL;
	bool evict;
	*kept_r = NULL;
	pthread_mutex_lock(&cc->lock);
	struct dest *d = find(cc, dest, false);
	if (cc->stopping) {
		got = SLOT_STOPPING;
	} else if (slot_free(cc, d, &evict)) {
		if (evict)
			evicted = take_oldest_idle(cc, d);
		if (d == NULL)
			d = find(cc, dest, true);
		d->busy++;
		if (d->idle) { /* the newest: the least likely to have been closed */
			*kept_r = d->idle;
			d->idle = d->idle->next;
			(*kept_r)->next = NULL;
			d->nidle--;
			got = SLOT_KEPT;
		} else {
			cc->total++;
			got = SLOT_NEW;
		}
	}
	pthread_mutex_unlock(&cc->lock);
	cached_conn_close(&evicted);
	return got;
}

bool
conn_cache_full(struct conn_cache *cc, const char *dest)
{
	bool evict;
	pthread_mutex_lock(&cc->lock);
	bool full = !slot_free(cc, find(cc, dest, false), &evict);
	pthread_mutex_unlock(&cc->lock);
	return full;
}

void
conn_cache_release(struct conn_cache *cc, const char *dest, struct cached_conn *keep)
{
	pthread_mutex_lock(&cc->lock);
	struct dest *d = find(cc, dest, false);
	if (d && d->busy > 0) {
		d->busy--;
		if (keep && !cc->stopping) {
			keep->parked = (int64_t)elapsed_now_ms();
			keep->next = d->idle;
			d->idle = keep;
			d->nidle++;
			keep = NULL;
		} else {
			cc->total--;
		}
		forget_if_unused(cc, d);
	}
	pthread_mutex_unlock(&cc->lock);
	cached_conn_close(&keep);
}

void
conn_cache_expire(struct conn_cache *cc, int64_t max_idle_ms)
{
	struct cached_conn *old = NULL;
	int64_t now = (int64_t)elapsed_now_ms();
	pthread_mutex_lock(&cc->lock);
	for (struct dest *d = cc->dests, *next; d; d = next) {
		next = d->next;
		for (struct cached_conn **pp = &d->idle; *pp;) {
			struct cached_conn *c = *pp;
			if (!cc->stopping && now - c->parked <= max_idle_ms) {
				pp = &c->next;
				continue;
			}
			*pp = c->next;
			c->next = old;
			old = c;
			d->nidle--;
			cc->total--;
		}
		forget_if_unused(cc, d);
	}
	pthread_mutex_unlock(&cc->lock);
	while (old) {
		struct cached_conn *next = old->next;
		cached_conn_close(&old);
		old = next;
	}
}

void
conn_cache_stop(struct conn_cache *cc)
{
	pthread_mutex_lock(&cc->lock);
	cc->stopping = true;
	pthread_mutex_unlock(&cc->lock);
}

void
conn_cache_free(struct conn_cache **ccp)
{
	struct conn_cache *cc = *ccp;
	if (cc == NULL)
		return;
	conn_cache_stop(cc);
	conn_cache_expire(cc, 0); /* stopping: every idle connection goes */
	for (struct dest *d = cc->dests, *next; d; d = next) {
		next = d->next;
		free(d);
	}
	pthread_mutex_destroy(&cc->lock);
	free(cc);
	*ccp = NULL;
}
