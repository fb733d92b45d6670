/*
 * domain_check_sts: the MTA-STS policy behind the "_mta-sts" record
 * (RFC 8461 3.2, 3.3): the address of mta-sts.DOMAIN, the fetch (through
 * the opts' sts_fetch: HTTPS is the wiring's, the checks do no I/O), the
 * policy's syntax, and whether every MX host matches one of its "mx:"
 * patterns (4.1). Each MX host is a part: ok, or mismatch when senders that
 * enforce the policy would refuse it.
 */
#include "domain_check_int.h"

#include <stdio.h>
#include <string.h>

#include "mta_sts_fetch.h"
#include "str.h"

/* The IPv4 and IPv6 addresses of host; the lookup's worst rc when there are none. */
static enum ma_dns_rc
host_addrs(struct dc_ctx *c, const char *host, char addrs[][64], size_t max, size_t *n)
{
	static const enum ma_rr types[] = {MA_RR_A, MA_RR_AAAA};
	enum ma_dns_rc worst = MA_DNS_NXDOMAIN;
	*n = 0;
	for (size_t t = 0; t < 2; t++) {
		struct ma_dns_answer a = {0};
		enum ma_dns_rc rc = c->dns->lookup(c->dns->ctx, types[t], host, &a);
		if (rc == MA_DNS_TEMPFAIL || (rc == MA_DNS_NODATA && worst == MA_DNS_NXDOMAIN))
			worst = rc;
		for (size_t i = 0; rc == MA_DNS_OK && i < a.n && *n < max; i++)
			str_copy(addrs[(*n)++], 64, a.rr[i]);
		ma_dns_answer_free(&a);
	}
	return *n ? MA_DNS_OK : worst;
}

/* The fetched policy against the domain's MX hosts: a part each. */
static void
check_coverage(struct dc_ctx *c, struct dc_item *it, const struct mta_sts_policy *p, const char *id)
{
	char pats[1200] = "", missed[1200] = "";
	for (size_t i = 0; i < p->nmx; i++)
		snprintf(pats + strlen(pats), sizeof pats - strlen(pats), "%s%s", i ? ", " : "",
			 p->mx[i]);
	struct ma_dns_answer a = {0};
	enum ma_dns_rc rc = c->dns->lookup(c->dns->ctx, MA_RR_MX, c->o->domain, &a);
	for (size_t i = 0; rc == MA_DNS_OK && i < a.n; i++) {
		char host[256];
		str_copy(host, sizeof host, a.rr[i]);
		size_t hn = strlen(host);
		if (hn > 0 && host[hn - 1] == '.')
			host[hn - 1] = '\0';
		if (host[0] == '\0')
			continue; /* null MX: the mx check speaks of it */
		bool ok = mta_sts_mx_match(p, host);
		dc_add_part(it, host, ok ? DC_OK : DC_MISMATCH,
			    ok ? "matches the policy" : "matches no mx: line of the policy");
		if (!ok)
			snprintf(missed + strlen(missed), sizeof missed - strlen(missed), "%s%s",
				 missed[0] ? ", " : "", host);
	}
	ma_dns_answer_free(&a);
	if (p->mode == MTA_STS_NONE) {
		dc_set(it, DC_OK, "v=STSv1, id=%s; the policy says mode none: MTA-STS is withdrawn",
		       id);
	} else if (missed[0]) {
		dc_set(it, DC_MISMATCH,
		       "v=STSv1, id=%s; policy mode %s, mx: %s; the MX host(s) %s match no mx: "
		       "line: senders %s",
		       id, mta_sts_mode_name(p->mode), pats, missed,
		       p->mode == MTA_STS_ENFORCE ? "that enforce it do not deliver to them"
						  : "report each delivery to them as a failure");
		dc_fix(
		    it,
		    "add an \"mx:\" line for each MX host to the policy (mailport mta-sts policy "
		    "--mx NAME... prints one), then publish a new id in _mta-sts.%s",
		    c->o->domain);
	} else {
		dc_set(it, DC_OK, "v=STSv1, id=%s; policy mode %s, max_age %ld, mx: %s; %s", id,
		       mta_sts_mode_name(p->mode), p->max_age, pats,
		       rc == MA_DNS_OK ? "every MX host matches" : "no MX host to match");
	}
}

/* What to do about a fetch that failed, by its kind. */
static void
fetch_failed(struct dc_ctx *c, struct dc_item *it, enum mta_sts_fetch_rc rc, const char *why)
{
	const char *d = c->o->domain;
	if (rc == STS_FETCH_WEBPKI) {
		dc_set(
		    it, DC_INVALID,
		    "the policy's HTTPS certificate does not verify: %s: senders ignore the policy",
		    why);
		dc_fix(it,
		       "serve https://mta-sts.%s with a certificate for mta-sts.%s from a CA "
		       "senders trust (with its intermediate certificates), valid today",
		       d, d);
	} else if (rc == STS_FETCH_INVALID) {
		dc_set(it, DC_INVALID, "the policy is not valid: %s: senders ignore it", why);
		dc_fix(
		    it,
		    "serve the file `mailport mta-sts policy` prints (RFC 8461 3.2), then publish "
		    "a new id in _mta-sts.%s",
		    d);
	} else {
		dc_set(it, DC_ERROR,
		       "the policy could not be fetched: %s: senders ignore the record", why);
		dc_fix(
		    it,
		    "serve the policy at https://mta-sts.%s/.well-known/mta-sts.txt: status 200, "
		    "Content-Type text/plain, no redirect (RFC 8461 3.3), at most 64 KiB",
		    d);
	}
}

void
dc_check_sts_policy(struct dc_ctx *c, struct dc_item *it, const char *id)
{
	char host[300], addrs[8][64], why[1024];
	size_t naddrs;
	if (c->o->sts_fetch == NULL) {
		dc_set(it, DC_OK, "v=STSv1, id=%s (the policy file itself is not fetched here)",
		       id);
		return;
	}
	snprintf(host, sizeof host, "mta-sts.%s", c->o->domain);
	enum ma_dns_rc rc = host_addrs(c, host, addrs, 8, &naddrs);
	if (rc == MA_DNS_TEMPFAIL) {
		dc_dns_error(it, host, "A/AAAA", rc);
		return;
	}
	if (rc != MA_DNS_OK) {
		dc_set(it, DC_ERROR,
		       "v=STSv1, id=%s, but %s has no address (%s): senders cannot "
		       "fetch the policy",
		       id, host, ma_dns_rc_name(rc));
		dc_fix(it,
		       "publish an A (and AAAA) record for %s pointing at the web server that "
		       "serves https://%s/.well-known/mta-sts.txt",
		       host, host);
		return;
	}
	struct mta_sts_policy p;
	enum mta_sts_fetch_rc frc = c->o->sts_fetch(
	    c->o->sts_ctx, c->o->domain, (const char(*)[64])addrs, naddrs, &p, why, sizeof why);
	if (frc != STS_FETCH_OK)
		fetch_failed(c, it, frc, why);
	else
		check_coverage(c, it, &p, id);
}
