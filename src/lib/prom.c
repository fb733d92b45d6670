/*
 * prom: the registry and the text format (see the header). Families keep
 * the order they were registered in, series within them too, so a scrape
 * reads the same way every time.
 */
#include "prom.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM };

struct prom_counter {
	atomic_uint_least64_t value;
};

struct prom_histogram {
	double bounds[16];
	size_t nbounds;
	atomic_uint_least64_t buckets[17]; /* per bound (not cumulative), then +Inf */
	atomic_uint_least64_t count;
	atomic_uint_least64_t sum_micro; /* the sum in millionths: no atomic double in C17 */
};

struct prom_series {
	char *labels;
	struct prom_counter counter;
	struct prom_histogram hist;
	double (*fn)(void *);
	void *arg;
	struct prom_series *next;
};

struct prom_family {
	char *name, *help;
	enum prom_type type;
	struct prom_series *first, *last;
	struct prom_family *next;
};

struct prom_registry {
	pthread_mutex_t lock;
	struct prom_family *first, *last;
};

static struct prom_registry *_Atomic registry;

void
prom_enable(void)
{
	if (atomic_load(&registry) != NULL)
		return;
	struct prom_registry *r = xcalloc(1, sizeof *r);
	pthread_mutex_init(&r->lock, NULL);
	atomic_store(&registry, r);
}

int
prom_enabled(void)
{
	return atomic_load(&registry) != NULL;
}

/* The series name{labels} of type, made if new; under the registry's lock. */
static struct prom_series *
series(struct prom_registry *r, enum prom_type type, const char *name, const char *help,
       const char *labels)
{
	struct prom_family *f = r->first;
	while (f && strcmp(f->name, name) != 0)
		f = f->next;
	if (f == NULL) {
		f = xcalloc(1, sizeof *f);
		f->name = xstrdup(name);
		f->help = xstrdup(help);
		f->type = type;
		if (r->last)
			r->last->next = f;
		else
			r->first = f;
		r->last = f;
	}
	for (struct prom_series *s = f->first; s; s = s->next)
		if (strcmp(s->labels, labels) == 0)
			return s;
	struct prom_series *s = xcalloc(1, sizeof *s);
	s->labels = xstrdup(labels);
	if (f->last)
		f->last->next = s;
	else
		f->first = s;
	f->last = s;
	return s;
}

struct prom_counter *
prom_counter(const char *name, const char *help, const char *labels)
{
	struct prom_registry *r = atomic_load(&registry);
	if (r == NULL)
		return NULL;
	pthread_mutex_lock(&r->lock);
	struct prom_series *s = series(r, PROM_COUNTER, name, help, labels);
	pthread_mutex_unlock(&r->lock);
	return &s->counter;
}

void
prom_add(struct prom_counter *c, uint64_t n)
{
	if (c)
		atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

void
prom_gauge_fn(const char *name, const char *help, const char *labels, double (*fn)(void *arg),
	      void *arg)
{
	struct prom_registry *r = atomic_load(&registry);
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	struct prom_series *s = series(r, PROM_GAUGE, name, help, labels);
	s->fn = fn;
	s->arg = arg;
	pthread_mutex_unlock(&r->lock);
}

struct prom_histogram *
prom_histogram(const char *name, const char *help, const char *labels, const double *bounds,
	       size_t nbounds)
{
	struct prom_registry *r = atomic_load(&registry);
	if (r == NULL)
		return NULL;
	if (nbounds > 16)
		nbounds = 16;
	pthread_mutex_lock(&r->lock);
	struct prom_series *s = series(r, PROM_HISTOGRAM, name, help, labels);
	if (s->hist.nbounds == 0) {
		memcpy(s->hist.bounds, bounds, nbounds * sizeof *bounds);
		s->hist.nbounds = nbounds;
	}
	pthread_mutex_unlock(&r->lock);
	return &s->hist;
}

void
prom_observe(struct prom_histogram *h, double v)
{
	if (h == NULL)
		return;
	size_t i = 0;
	while (i < h->nbounds && v > h->bounds[i])
		i++;
	atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
	if (v > 0)
		atomic_fetch_add_explicit(&h->sum_micro, (uint64_t)llround(v * 1e6),
					  memory_order_relaxed);
}

/* name{labels[,extra]} with the braces only when there is a label. */
static void
series_name(struct buf *out, const char *name, const char *suffix, const char *labels,
	    const char *extra)
{
	buf_printf(out, "%s%s", name, suffix);
	if (labels[0] || extra[0])
		buf_printf(out, "{%s%s%s}", labels, labels[0] && extra[0] ? "," : "", extra);
}

static void
render_histogram(struct buf *out, const struct prom_family *f, const struct prom_series *s)
{
	const struct prom_histogram *h = &s->hist;
	uint64_t cum = 0;
	char le[64];
	for (size_t i = 0; i <= h->nbounds; i++) {
		cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
		if (i < h->nbounds)
			snprintf(le, sizeof le, "le=\"%.17g\"", h->bounds[i]);
		else
			snprintf(le, sizeof le, "le=\"+Inf\"");
		series_name(out, f->name, "_bucket", s->labels, le);
		buf_printf(out, " %llu\n", (unsigned long long)cum);
	}
	series_name(out, f->name, "_sum", s->labels, "");
	buf_printf(out, " %.6f\n",
		   (double)atomic_load_explicit(&h->sum_micro, memory_order_relaxed) / 1e6);
	series_name(out, f->name, "_count", s->labels, "");
	/* Read after the buckets: the count may run ahead of them, never behind. */
	uint64_t count = atomic_load_explicit(&h->count, memory_order_relaxed);
	buf_printf(out, " %llu\n", (unsigned long long)(count > cum ? count : cum));
}

void
prom_render(struct buf *out)
{
	static const char *types[] = {"counter", "gauge", "histogram"};
	struct prom_registry *r = atomic_load(&registry);
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	for (const struct prom_family *f = r->first; f; f = f->next) {
		buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
			   types[f->type]);
		for (const struct prom_series *s = f->first; s; s = s->next) {
			switch (f->type) {
			case PROM_COUNTER:
				series_name(out, f->name, "", s->labels, "");
				buf_printf(out, " %llu\n",
					   (unsigned long long)atomic_load_explicit(
					       &s->counter.value, memory_order_relaxed));
				break;
			case PROM_GAUGE: {
				double v = s->fn ? s->fn(s->arg) : 0;
				series_name(out, f->name, "", s->labels, "");
				if (isnan(v))
					buf_printf(out, " NaN\n");
				else
					buf_printf(out, " %.17g\n", v);
				break;
			}
			case PROM_HISTOGRAM:
				render_histogram(out, f, s);
				break;
			}
		}
	}
	pthread_mutex_unlock(&r->lock);
}

void
prom_reset(void)
{
	struct prom_registry *r = atomic_exchange(&registry, NULL);
	if (r == NULL)
		return;
	for (struct prom_family *f = r->first, *fn; f; f = fn) {
		fn = f->next;
		for (struct prom_series *s = f->first, *sn; s; s = sn) {
			sn = s->next;
			free(s->labels);
			free(s);
		}
		free(f->name);
		free(f->help);
		free(f);
	}
	pthread_mutex_destroy(&r->lock);
	free(r);
}
