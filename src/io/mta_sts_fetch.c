/*
 * mta_sts_fetch: the policy fetch and parse (see the header).
 */
#include "mta_sts_fetch.h"

#include <stdio.h>

#include "https_get.h"

const char *
mta_sts_fetch_result_type(enum mta_sts_fetch_rc rc)
{
	switch (rc) {
	case STS_FETCH_OK:
		return NULL;
	case STS_FETCH_ERROR:
		return "sts-policy-fetch-error";
	case STS_FETCH_WEBPKI:
		return "sts-webpki-invalid";
	case STS_FETCH_INVALID:
		return "sts-policy-invalid";
	}
	return "sts-policy-fetch-error";
}

enum mta_sts_fetch_rc
mta_sts_fetch(const char *domain, const char (*addrs)[64], size_t naddrs,
	      const struct mta_sts_fetch_opts *o, struct mta_sts_policy *p, struct buf *body,
	      char *why, size_t n)
{
	char host[300], w[512];
	struct buf own;
	struct buf *b = body;
	size_t max = o->max_bytes ? o->max_bytes : MTA_STS_POLICY_MAX;
	if (b == NULL) {
		buf_init(&own, max);
		b = &own;
	}
	snprintf(host, sizeof host, "mta-sts.%s", domain);
	struct https_get_opts g = {
	    .host = host,
	    .path = "/.well-known/mta-sts.txt",
	    .addrs = addrs,
	    .naddrs = naddrs,
	    .cafile = o->cafile,
	    .max_bytes = max,
	    .timeout_ms = o->timeout_ms ? o->timeout_ms : 10000,
	    .content_type = "text/plain", /* RFC 8461 3.2 */
	};
	enum mta_sts_fetch_rc rc = STS_FETCH_OK;
	enum https_get_rc hrc = https_get(&g, b, w, sizeof w);
	if (hrc != HTTPS_OK) {
		/* RFC 8460 4.3.1: a certificate problem is sts-webpki-invalid. */
		rc = hrc == HTTPS_ERR_CERT ? STS_FETCH_WEBPKI : STS_FETCH_ERROR;
		snprintf(why, n, "https://%s%s: %s", host, g.path, w);
	} else if (mta_sts_policy_parse(b->data, b->len, p, w, sizeof w) < 0) {
		rc = STS_FETCH_INVALID;
		snprintf(why, n, "https://%s%s: %s", host, g.path, w);
	}
	if (b == &own)
		buf_free(&own);
	return rc;
}
