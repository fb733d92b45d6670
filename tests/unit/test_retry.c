/* Unit tests for core/retry: the schedule and the duration parser. */
#include <limits.h>
#include <stdint.h>

#include "harness.h"
#include "retry.h"

#define T0 1700000000LL

static void
test_schedule_default(void)
{
	struct retry_policy p;
	int64_t next = 0;

	retry_policy_default(&p);
	CHECK(p.first_interval == 300 && p.max_interval == 3600 && p.lifetime == 432000);
	CHECK(retry_policy_check(&p, NULL, 0) == 0);
	/* no attempt yet: now, at arrival */
	CHECK(retry_next(&p, 0, 0, T0, &next) == RETRY_AT && next == T0);
	/* 5 min, 10, 20, 40, then 1 h for ever */
	static const unsigned long want[] = {300, 600, 1200, 2400, 3600, 3600, 3600};
	for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++) {
		int64_t last = T0 + 1000;
		CHECK(retry_next(&p, i + 1, last, T0, &next) == RETRY_AT);
		CHECK(next == last + (int64_t)want[i]);
	}
	/* a huge attempt count neither overflows nor loops long */
	CHECK(retry_next(&p, UINT_MAX, T0 + 10, T0, &next) == RETRY_AT && next == T0 + 3610);
}

static void
test_expiry(void)
{
	struct retry_policy p;
	int64_t next = 0, expiry = T0 + 432000;

	retry_policy_default(&p);
	/* the last interval is cut so one try lands right at the expiry */
	CHECK(retry_next(&p, 40, expiry - 100, T0, &next) == RETRY_AT && next == expiry);
	CHECK(retry_next(&p, 41, expiry, T0, &next) == RETRY_EXPIRED);
	CHECK(retry_next(&p, 41, expiry + 5000, T0, &next) == RETRY_EXPIRED);
	CHECK(retry_next(&p, 3, expiry - 1, T0, &next) == RETRY_AT && next == expiry);
	/* a clock set back: counted from arrival */
	CHECK(retry_next(&p, 1, T0 - 5000, T0, &next) == RETRY_AT && next == T0 + 300);
	/* far future: clamped, no overflow */
	p.lifetime = ULONG_MAX;
	CHECK(retry_next(&p, 1, INT64_MAX - 10, T0, &next) == RETRY_AT && next == INT64_MAX);
}

static void
test_policy(void)
{
	struct retry_policy p = {60, 600, 3600};
	int64_t next = 0;
	char err[128];

	CHECK(retry_next(&p, 4, T0, T0, &next) == RETRY_AT && next == T0 + 480);
	CHECK(retry_next(&p, 5, T0, T0, &next) == RETRY_AT && next == T0 + 600);
	CHECK(retry_next(&p, 9, T0 + 3599, T0, &next) == RETRY_AT && next == T0 + 3600);

	p = (struct retry_policy){600, 300, 3600};
	CHECK(retry_policy_check(&p, err, sizeof err) == -1);
	CHECK_STR(err, "retry-max-interval is below retry-interval");
	/* still usable: the cap is raised to the first interval */
	CHECK(retry_next(&p, 3, T0, T0, &next) == RETRY_AT && next == T0 + 600);

	p = (struct retry_policy){0, 0, 0};
	CHECK(retry_policy_check(&p, err, sizeof err) == -1);
	CHECK(retry_next(&p, 1, T0, T0, &next) == RETRY_AT && next == T0 + 1);
	CHECK(retry_next(&p, 2, T0 + 1, T0, &next) == RETRY_EXPIRED);
	p = (struct retry_policy){1, 1, 0};
	CHECK(retry_policy_check(&p, err, sizeof err) == -1);
	CHECK_STR(err, "queue-lifetime must be at least 1s");
}

static void
test_parse_duration(void)
{
	static const struct {
		const char *in;
		unsigned long want;
	} good[] = {{"300", 300},   {"300s", 300},  {"5m", 300},     {"1h", 3600},
		    {"5d", 432000}, {"5D", 432000}, {"1h30m", 5400}, {"1d12h", 129600},
		    {"0s", 0},	    {"90M", 5400},  {"2m30s", 150}};
	static const char *const bad[] = {"",
					  "m",
					  "5x",
					  "5 m",
					  " 5m",
					  "5m ",
					  "-5m",
					  "1h30",
					  "5mm",
					  "1.5h",
					  "5w",
					  "99999999999999999999999d",
					  "18446744073709551615d"};
	unsigned long v;

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		v = 12345;
		CHECK(retry_parse_duration(good[i].in, &v) == 0);
		CHECK(v == good[i].want);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = 12345;
		CHECK(retry_parse_duration(bad[i], &v) == -1);
		CHECK(v == 12345);
	}
	CHECK(retry_parse_duration(NULL, &v) == -1);
	CHECK(retry_parse_duration("18446744073709551615", &v) == 0 && v == ULONG_MAX);
}

int
main(void)
{
	test_schedule_default();
	test_expiry();
	test_policy();
	test_parse_duration();
	return test_summary("test_retry");
}
