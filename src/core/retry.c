/*
 * retry: the retry schedule and duration parser (see retry.h).
 *
 * Doubling is done by a loop that stops at the cap rather than by a shift
 * by the attempt count, so a large count can neither overflow nor shift
 * past the width of the type; the loop runs at most about 64 times.
 * Times are int64_t seconds: the sum last_attempt + interval is clamped
 * instead of overflowing for absurd inputs.
 */
#include "retry.h"

#include <limits.h>
#include <stdio.h>

void
retry_policy_default(struct retry_policy *p)
{
	p->first_interval = RETRY_FIRST_DEFAULT;
	p->max_interval = RETRY_MAX_DEFAULT;
	p->lifetime = RETRY_LIFETIME_DEFAULT;
}

int
retry_policy_check(const struct retry_policy *p, char *err, size_t err_size)
{
	const char *bad = NULL;

	if (p->first_interval == 0)
		bad = "retry-interval must be at least 1s";
	else if (p->max_interval == 0)
		bad = "retry-max-interval must be at least 1s";
	else if (p->max_interval < p->first_interval)
		bad = "retry-max-interval is below retry-interval";
	else if (p->lifetime == 0)
		bad = "queue-lifetime must be at least 1s";
	if (bad == NULL)
		return 0;
	if (err != NULL && err_size > 0)
		snprintf(err, err_size, "%s", bad);
	return -1;
}

/* a + b for b >= 0, stopping at INT64_MAX */
static int64_t
add_clamped(int64_t a, unsigned long b)
{
	if (b > (unsigned long long)INT64_MAX || a > INT64_MAX - (int64_t)b)
		return INT64_MAX;
	return a + (int64_t)b;
}

enum retry_result
retry_next(const struct retry_policy *p, unsigned attempts, int64_t last_attempt, int64_t arrival,
	   int64_t *next_r)
{
	unsigned long first = p->first_interval ? p->first_interval : 1;
	unsigned long cap = p->max_interval ? p->max_interval : 1;
	unsigned long life = p->lifetime ? p->lifetime : 1;
	unsigned long interval = first;
	int64_t expiry = add_clamped(arrival, life);

	if (attempts == 0) {
		*next_r = arrival;
		return RETRY_AT;
	}
	if (last_attempt >= expiry)
		return RETRY_EXPIRED;
	if (cap < first)
		cap = first;
	for (unsigned i = 1; i < attempts && interval < cap; i++)
		interval = interval > cap / 2 ? cap : interval * 2;
	/* a last attempt before arrival (a clock set back) counts from arrival */
	*next_r = add_clamped(last_attempt > arrival ? last_attempt : arrival, interval);
	if (*next_r > expiry)
		*next_r = expiry;
	return RETRY_AT;
}

static unsigned long
unit_seconds(char c)
{
	switch (c) {
	case 's':
	case 'S':
		return 1;
	case 'm':
	case 'M':
		return 60;
	case 'h':
	case 'H':
		return 3600;
	case 'd':
	case 'D':
		return 86400;
	default:
		return 0;
	}
}

int
retry_parse_duration(const char *s, unsigned long *seconds_r)
{
	unsigned long total = 0;
	size_t groups = 0;

	if (s == NULL || *s == '\0')
		return -1;
	while (*s != '\0') {
		unsigned long n = 0, unit;
		const char *start = s;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (n > (ULONG_MAX - (unsigned long)(*s - '0')) / 10)
				return -1;
			n = n * 10 + (unsigned long)(*s - '0');
		}
		if (s == start)
			return -1; /* a unit without a number, or garbage */
		unit = *s == '\0' ? 1 : unit_seconds(*s);
		if (unit == 0)
			return -1;
		/* a bare number is seconds, but only alone: "1h30" is a typo */
		if (*s == '\0' && groups > 0)
			return -1;
		if (*s != '\0')
			s++;
		if (n > ULONG_MAX / unit || total > ULONG_MAX - n * unit)
			return -1;
		total += n * unit;
		groups++;
	}
	*seconds_r = total;
	return 0;
}
