/*
 * libFuzzer harness for mailauth/dmarc: the input as a DMARC record, as a
 * From: field, and as the TXT answer of every name during discovery.
 * Invariants: a usable record has a policy and pct <= 100; an author
 * domain is lower case, not empty, without "@" or spaces; the outcome's
 * result is one of the five words, a pass has an aligned identifier, a fail
 * a disposition no stricter than the policy, and nothing but fail has a
 * disposition.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"
#include "panic.h"

static const char *answer;

static enum ma_dns_rc
lookup(void *ctx, enum ma_rr type, const char *name, struct ma_dns_answer *out)
{
	(void)ctx;
	(void)name;
	if (type != MA_RR_TXT || answer[0] == '\0')
		return MA_DNS_NXDOMAIN;
	if (answer[0] == '!')
		return MA_DNS_TEMPFAIL;
	/* records separated by '|' */
	const char *p = answer;
	for (;;) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);
		char *rr = strndup(p, n);
		ma_dns_answer_add(out, rr, 0);
		free(rr);
		if (bar == NULL)
			break;
		p = bar + 1;
	}
	return MA_DNS_OK;
}

static void
check_domain(const char *d)
{
	MP_ASSERT(d[0] != '\0');
	for (const char *p = d; *p; p++)
		MP_ASSERT(*p != '@' && *p != ' ' && !(*p >= 'A' && *p <= 'Z'));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size); /* up to the first NUL */
	struct dmarc_record r;
	char why[256], dom[256];

	int rc = dmarc_record_parse(s, &r, why, sizeof why);
	MP_ASSERT(rc == DMARC_REC_OK || rc == DMARC_REC_NOT_DMARC || rc == DMARC_REC_INVALID);
	if (rc == DMARC_REC_OK)
		MP_ASSERT(r.p != DMARC_POLICY_UNSET && r.pct <= 100);
	MP_ASSERT(strlen(why) < sizeof why);

	struct strv field = {(const char *)data, size};
	if (dmarc_author_domain(&field, 1, dom, sizeof dom, why, sizeof why) == 0)
		check_domain(dom);
	else
		MP_ASSERT(dom[0] == '\0' && why[0] != '\0');

	answer = s;
	struct ma_dns dns = {lookup, NULL};
	struct dmarc_ident dk[2] = {{"example.com", DMARC_AUTH_PASS},
				    {"sub.example.com", DMARC_AUTH_TEMPERROR}};
	struct dmarc_input in = {.from_domain = size % 2 ? "news.example.com" : "example.com",
				 .spf = {"bounce.other.test", DMARC_AUTH_PASS},
				 .dkim = dk,
				 .ndkim = size % 3 ? 1 : 0,
				 .pct_roll = (unsigned)size % 100};
	struct dmarc_outcome o;
	dmarc_check(&dns, &in, &o);
	MP_ASSERT(o.result <= DMARC_RESULT_PERMERROR);
	if (o.result == DMARC_RESULT_PASS)
		MP_ASSERT(o.dkim_aligned && in.ndkim == 1);
	if (o.result == DMARC_RESULT_FAIL)
		MP_ASSERT(o.disposition != DMARC_POLICY_UNSET && o.disposition <= o.policy);
	else
		MP_ASSERT(o.disposition == DMARC_POLICY_UNSET ||
			  o.disposition == DMARC_POLICY_NONE);
	/* a From field from the input feeds the check too */
	if (dmarc_author_domain(&field, 1, dom, sizeof dom, why, sizeof why) == 0) {
		in.from_domain = dom;
		dmarc_check(&dns, &in, &o);
		MP_ASSERT(strcmp(o.from_domain, dom) == 0 || strlen(dom) >= sizeof o.from_domain);
	}
	free(s);
	return 0;
}
