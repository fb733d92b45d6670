/*
 * A tiny test harness: CHECK records a failure with file:line and goes on,
 * so one run shows every broken case; main returns test_summary().
 * Output is TAP-like: "not ok" lines for failures, a count at the end.
 */
#ifndef MP_HARNESS_H
#define MP_HARNESS_H

#include <stdio.h>
#include <string.h>

static int harness_checks;
static int harness_failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		harness_checks++;                                                                  \
		if (!(cond)) {                                                                     \
			harness_failures++;                                                        \
			printf("not ok: %s:%d: %s\n", __FILE__, __LINE__, #cond);                  \
		}                                                                                  \
	} while (0)

#define CHECK_STR(got, want)                                                                       \
	do {                                                                                       \
		harness_checks++;                                                                  \
		const char *g_ = (got), *w_ = (want);                                              \
		if (g_ == NULL || strcmp(g_, w_) != 0) {                                           \
			harness_failures++;                                                        \
			printf("not ok: %s:%d: %s is \"%s\", want \"%s\"\n", __FILE__, __LINE__,   \
			       #got, g_ ? g_ : "(null)", w_);                                      \
		}                                                                                  \
	} while (0)

static inline int
test_summary(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, harness_checks, harness_failures);
	return harness_failures ? 1 : 0;
}

#endif
