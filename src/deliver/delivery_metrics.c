/*
 * delivery_metrics: the series, registered at the first outcome (the
 * metrics listener starts before the delivery agents do).
 */
#include "delivery_metrics.h"

#include <pthread.h>
#include <stdio.h>

#include "prom.h"

static struct prom_counter *outcomes[2][3];
static struct prom_histogram *delays[2];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* From a local delivery's milliseconds to a bounce after days in the queue. */
static const double delay_bounds[] = {0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600, 21600, 86400};

static void
register_series(void)
{
	static const char *const kinds[] = {"local", "remote"};
	static const char *const statuses[] = {"sent", "deferred", "bounced"};
	for (size_t k = 0; k < 2; k++) {
		char labels[64];
		for (size_t st = 0; st < 3; st++) {
			snprintf(labels, sizeof labels, "kind=\"%s\",status=\"%s\"", kinds[k],
				 statuses[st]);
			outcomes[k][st] = prom_counter(
			    "mailport_deliveries_total",
			    "Delivery attempts per recipient, by destination kind and outcome",
			    labels);
		}
		snprintf(labels, sizeof labels, "kind=\"%s\"", kinds[k]);
		delays[k] = prom_histogram(
		    "mailport_delivery_delay_seconds",
		    "Seconds from a message's arrival to its recipient's final outcome (sent or "
		    "bounced)",
		    labels, delay_bounds, sizeof delay_bounds / sizeof delay_bounds[0]);
	}
}

void
delivery_metrics_register(void)
{
	pthread_once(&once, register_series);
}

void
delivery_metrics_note(enum delivery_kind kind, enum delivery_status status, int64_t delay_s)
{
	delivery_metrics_register();
	prom_inc(outcomes[kind][status]);
	if (status != DELIVERY_DEFERRED)
		prom_observe(delays[kind], delay_s < 0 ? 0 : (double)delay_s);
}
