/*
 * delivery_metrics: what the delivery agents report to the `metrics`
 * listener: each recipient's outcome (local or remote; sent, deferred or
 * bounced) and, once it is final, how long it took from arrival.
 */
#ifndef MP_DELIVERY_METRICS_H
#define MP_DELIVERY_METRICS_H

#include <stdint.h>

enum delivery_kind { DELIVERY_LOCAL, DELIVERY_REMOTE };
enum delivery_status { DELIVERY_SENT, DELIVERY_DEFERRED, DELIVERY_BOUNCED };

/* Register the series now, so a scrape shows them at 0 before any delivery. */
void delivery_metrics_register(void);

/* One recipient's attempt; delay_s is seconds since the message arrived. */
void delivery_metrics_note(enum delivery_kind kind, enum delivery_status status, int64_t delay_s);

#endif
