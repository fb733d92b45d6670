/*
 * prom: counters, gauges and histograms in the Prometheus text exposition
 * format (version 0.0.4), for the `metrics` listener.
 *
 * One registry per process, made by serve when the config asks for
 * metrics (prom_enable). Until then every function here takes NULL and
 * does nothing, so the code that counts costs one test of a pointer when
 * metrics are off. Each module registers the series it reports when it
 * starts (a lookup under a lock) and keeps the pointers; adding to a series
 * is one relaxed atomic operation, from any thread.
 *
 * A series is a metric name plus a fixed label set written as Prometheus
 * writes it: `door="smtp",service="smtp"` ("" for none). Label values come
 * from the config and the code, never from clients, so the set is bounded.
 */
#ifndef MP_PROM_H
#define MP_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct prom_counter;
struct prom_histogram;

/* Make the process's registry (idempotent). */
void prom_enable(void);
/* Is there a registry? */
int prom_enabled(void);

/*
 * The counter name{labels}, registered on first use (name and help must
 * match for one name). NULL when metrics are off.
 */
struct prom_counter *prom_counter(const char *name, const char *help, const char *labels);
void prom_add(struct prom_counter *c, uint64_t n);
static inline void
prom_inc(struct prom_counter *c)
{
	prom_add(c, 1);
}

/*
 * A gauge read when the metrics are rendered: fn(arg) on the thread that
 * renders (the server's event loop).
 */
void prom_gauge_fn(const char *name, const char *help, const char *labels, double (*fn)(void *arg),
		   void *arg);

/* A histogram with these upper bounds (ascending; +Inf is added). */
struct prom_histogram *prom_histogram(const char *name, const char *help, const char *labels,
				      const double *bounds, size_t nbounds);
void prom_observe(struct prom_histogram *h, double v);

/* The whole registry in the text format, appended to out. */
void prom_render(struct buf *out);

/* For tests: forget the registry (no thread may use it any more). */
void prom_reset(void);

#endif
