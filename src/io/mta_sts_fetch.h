/*
 * mta_sts_fetch: one fetch of a domain's MTA-STS policy (RFC 8461 3.3):
 * GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt through https_get
 * (certificate verified for that name, no redirects, 200 and text/plain
 * only, size and time capped), then the policy parsed. The addresses of
 * mta-sts.DOMAIN are the caller's (its resolver: the delivery's c-ares, the
 * probe's). Shared by the delivery's cache and probe --domain-check.
 */
#ifndef MP_MTA_STS_FETCH_H
#define MP_MTA_STS_FETCH_H

#include <stddef.h>

#include "buf.h"
#include "mta_sts_policy.h"

/* How a fetch ended, as RFC 8460 4.3.1 counts it. */
enum mta_sts_fetch_rc {
	STS_FETCH_OK,
	STS_FETCH_ERROR,   /* no address, no connection, TLS, HTTP status, type, size, time */
	STS_FETCH_WEBPKI,  /* the certificate did not verify or is not for mta-sts.DOMAIN */
	STS_FETCH_INVALID, /* fetched, but not a valid policy */
};

struct mta_sts_fetch_opts {
	const char *cafile; /* NULL/"": the system's store */
	long timeout_ms;    /* 0: 10000 */
	size_t max_bytes;   /* 0: MTA_STS_POLICY_MAX */
};

/*
 * Fetch and parse. STS_FETCH_OK with *p (id and fetched cleared) and the
 * policy as served in body (replaced); else the kind and why (the URL, what
 * happened). body may be NULL.
 */
enum mta_sts_fetch_rc mta_sts_fetch(const char *domain, const char (*addrs)[64], size_t naddrs,
				    const struct mta_sts_fetch_opts *o, struct mta_sts_policy *p,
				    struct buf *body, char *why, size_t n);

/* "sts-policy-fetch-error" "sts-webpki-invalid" "sts-policy-invalid"; NULL for OK. */
const char *mta_sts_fetch_result_type(enum mta_sts_fetch_rc rc);

#endif
