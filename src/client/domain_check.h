/*
 * domain_check: `mailport probe DOMAIN --domain-check`: is a sending
 * domain's DNS what receivers check? MX (present, not null, each host
 * resolves), SPF (one record, valid, within RFC 7208's 10 DNS-querying
 * terms, covering this host's addresses), DKIM (a key published for each
 * selector, the same as the local key), DMARC (present, valid, policy,
 * reports), MTA-STS and TLS-RPT (RFC 8461, RFC 8460: optional), DANE (RFC
 * 7672: DNSSEC, TLSA records, the certificate each MX serves; optional), and the
 * reverse DNS of the MX addresses and this host's (a PTR that resolves
 * back to the address). Each problem comes with the record to publish.
 *
 * Every lookup goes through one struct ma_dns (the caller's: c-ares with a
 * time bound, authn/auth_dns), so the checks do no I/O of their own; the
 * result is plain data (report/domain_report.h).
 */
#ifndef MP_DOMAIN_CHECK_H
#define MP_DOMAIN_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "dkim_keys.h"
#include "dns_wire.h"
#include "domain_report.h"
#include "ma_dns.h"
#include "mta_sts_fetch.h"
#include "tls_info.h"

#define DC_MAX_SELECTORS 16
#define DC_MAX_IPS 8

/* A signing key of this host for the domain (a config "dkim" line). */
struct dc_local_key {
	const char *selector;
	const struct dkim_key *key; /* loaded; NULL when the file could not be read: */
	char error[512];	    /* why (dkim_key_load's words) */
};

/*
 * The DANE check's effects (the wiring's: io/dns with the AD bit, a
 * STARTTLS to port 25). AD is the configured resolver's word: the check
 * is only as good as that resolver's validation.
 */
struct dc_dane_io {
	/* The MX hosts (MA_DNS_NODATA: none, the domain itself), *ad_r: authenticated. */
	enum ma_dns_rc (*mx)(void *ctx, const char *domain, struct ma_dns_answer *out, bool *ad_r);
	/* Are host's address answers authenticated (RFC 7672 2.2.2)? */
	bool (*addrs_secure)(void *ctx, const char *host);
	/* The TLSA records of _25._tcp.host (MA_DNS_TEMPFAIL: SERVFAIL, i.e. bogus, or no
	 * answer; why says which), at most max, *n_r; *ad_r: authenticated. */
	enum ma_dns_rc (*tlsa)(void *ctx, const char *host, struct dns_tlsa *out, size_t max,
			       size_t *n_r, bool *ad_r, char *why, size_t why_size);
	/* STARTTLS to host:25, DANE against t[0..n) when n > 0 (else unverified): 0 and
	 * *ti, or -1 and why (*no_starttls_r: the server does not offer STARTTLS). */
	int (*tls)(void *ctx, const char *host, const struct dns_tlsa *t, size_t n,
		   struct tls_info *ti, bool *no_starttls_r, char *why, size_t why_size);
	void *ctx;
};

struct domain_check_opts {
	const char *domain;
	/* our name (config "hostname"), for the SPF check's HELO, the MX and PTR fixes; may be NULL
	 */
	const char *hostname;
	/* --selector values, else the configured ones (keys[].selector) */
	const char *selectors[DC_MAX_SELECTORS];
	size_t nselectors;
	const struct dc_local_key *keys; /* the configured keys of this domain */
	size_t nkeys;
	/* this host's sending addresses (--ip); none: the addresses of hostname */
	const char *ips[DC_MAX_IPS];
	size_t nips;
	int64_t now; /* seconds since the epoch: SPF's %{t}, the MTA-STS id of a fix */
	/*
	 * Fetches the domain's MTA-STS policy from the addresses of mta-sts.DOMAIN
	 * (the wiring's HTTPS: io/mta_sts_fetch); NULL: the policy is not fetched.
	 */
	enum mta_sts_fetch_rc (*sts_fetch)(void *ctx, const char *domain, const char (*addrs)[64],
					   size_t naddrs, struct mta_sts_policy *p, char *why,
					   size_t n);
	void *sts_ctx;
	const struct dc_dane_io *dane; /* NULL: the DANE check is not run (it says so) */
};

/* Runs every check into r (r->domain and r->resolver are the caller's to fill). */
void domain_check_run(const struct domain_check_opts *o, const struct ma_dns *dns,
		      struct domain_report *r);

#endif
