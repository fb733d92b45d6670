/*
 * libFuzzer harness for mailauth/mta_sts_policy: the input as a policy file
 * and as a cache file. Invariants: an accepted policy has a known mode, at
 * most MTA_STS_MAX_MX valid patterns (and at least one unless mode is
 * none), max_age within RFC 8461's year; formatting it and parsing the
 * result gives the same policy; every pattern matches a host made from it;
 * a refusal always says why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mta_sts_policy.h"
#include "panic.h"

static void
check_policy(const struct mta_sts_policy *p)
{
	char out[MTA_STS_MAX_MX * 300 + 200], why[256], host[300];
	struct mta_sts_policy q;
	MP_ASSERT(p->mode == MTA_STS_NONE || p->mode == MTA_STS_TESTING ||
		  p->mode == MTA_STS_ENFORCE);
	MP_ASSERT(p->nmx <= MTA_STS_MAX_MX);
	MP_ASSERT(p->nmx > 0 || p->mode == MTA_STS_NONE);
	MP_ASSERT(p->max_age >= 0 && p->max_age <= MTA_STS_MAX_AGE_MAX);
	for (size_t i = 0; i < p->nmx; i++) {
		MP_ASSERT(mta_sts_is_mx_pattern(p->mx[i]));
		if (strncmp(p->mx[i], "*.", 2) == 0)
			snprintf(host, sizeof host, "x%s", p->mx[i] + 1);
		else
			snprintf(host, sizeof host, "%s", p->mx[i]);
		MP_ASSERT(mta_sts_mx_match(p, host));
	}
	int len = mta_sts_policy_format(p, out, sizeof out);
	MP_ASSERT(len > 0);
	MP_ASSERT(mta_sts_policy_parse(out, (size_t)len, &q, why, sizeof why) == 0);
	MP_ASSERT(q.mode == p->mode && q.nmx == p->nmx && q.max_age == p->max_age);
	for (size_t i = 0; i < p->nmx; i++)
		MP_ASSERT(strcmp(q.mx[i], p->mx[i]) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mta_sts_policy p;
	char why[512];
	why[0] = 'x';
	if (mta_sts_policy_parse((const char *)data, size, &p, why, sizeof why) == 0)
		check_policy(&p);
	else
		MP_ASSERT(why[0] != '\0');
	if (mta_sts_cache_file_parse((const char *)data, size, &p, why, sizeof why) == 0) {
		check_policy(&p);
		MP_ASSERT(p.id[0] != '\0' && p.fetched >= 0);
	} else {
		MP_ASSERT(why[0] != '\0');
	}
	/* The input as an MX host name against a fixed policy. */
	static const char pol[] = "version: STSv1\nmode: enforce\nmx: *.a.test\nmx: b.test\n"
				  "max_age: 1\n";
	if (mta_sts_policy_parse(pol, sizeof pol - 1, &p, why, sizeof why) == 0) {
		char *host = strndup((const char *)data, size);
		(void)mta_sts_mx_match(&p, host);
		free(host);
	}
	return 0;
}
