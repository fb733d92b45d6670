/*
 * retry: when to try a deferred delivery again, and when to give up.
 *
 * The interval starts at first_interval after the first failed attempt and
 * doubles with each further one, up to max_interval; a message older than
 * lifetime (counted from its arrival) has expired and is bounced. The last
 * attempt is moved up to the expiry time when the interval would pass it,
 * so a message always gets one try at the very end of its life.
 *
 * Pure: the caller passes the times (seconds since the epoch), so the
 * schedule is a function of the input. Also the parser for the durations
 * of the `retry-interval`, `retry-max-interval` and `queue-lifetime`
 * directives.
 */
#ifndef MP_RETRY_H
#define MP_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RETRY_FIRST_DEFAULT 300UL	/* 5 minutes */
#define RETRY_MAX_DEFAULT 3600UL	/* 1 hour */
#define RETRY_LIFETIME_DEFAULT 432000UL /* 5 days */

struct retry_policy {
	unsigned long first_interval; /* after the first failed attempt */
	unsigned long max_interval;   /* the doubling stops here */
	unsigned long lifetime;	      /* from arrival; then the message expires */
};

enum retry_result {
	RETRY_AT,      /* try again at *next_r */
	RETRY_EXPIRED, /* give up: bounce the recipients still pending */
};

/* The defaults: 5 min doubling to 1 h, expiry after 5 days. */
void retry_policy_default(struct retry_policy *p);

/*
 * Is p usable: intervals and lifetime at least one second, max_interval not
 * below first_interval? -1 with a one-line message in err otherwise.
 */
int retry_policy_check(const struct retry_policy *p, char *err, size_t err_size);

/*
 * What to do after attempts failed attempts (0: none yet, so try at
 * arrival), the last one at last_attempt; the message arrived at arrival.
 * Expired when the last attempt was at or after arrival + lifetime; else
 * *next_r is last_attempt + the interval, but never past arrival +
 * lifetime. A policy that fails retry_policy_check is taken with every
 * zero value as one second, so a bad config cannot stall the queue.
 */
enum retry_result retry_next(const struct retry_policy *p, unsigned attempts, int64_t last_attempt,
			     int64_t arrival, int64_t *next_r);

/*
 * Parse a duration: a number with an optional unit, s (the default), m, h
 * or d, or several such ("1h30m"), upper or lower case, no spaces. -1 for
 * anything else, an empty string, or a value past ULONG_MAX seconds.
 */
int retry_parse_duration(const char *s, unsigned long *seconds_r);

#endif
