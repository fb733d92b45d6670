/*
 * outbound_tls: the facts each MX host's TLS plan (tls_plan) is decided
 * from, gathered on the delivery thread — the domain's tls-policy level,
 * its MTA-STS policy (mta_sts_cache), the message's REQUIRETLS flag and
 * TLS-Required header, the DNSSEC state of the MX and address answers and
 * the host's TLSA records — and the decision.
 *
 * DANE (RFC 7672 2.2): TLSA records are looked up only when the MX answer
 * and the host's address answers are authenticated (AD from the
 * configured, validating resolver), and count only when their own answer
 * is; a failed TLSA lookup there (SERVFAIL: bogus) makes dnssec -1, which
 * defers, and so does a failed address lookup of a host whose other
 * address answer was fine (else breaking one lookup would turn DANE off). An insecure name is never
 * asked for TLSA: broken servers of unsigned zones time out on it (RFC 7672 2.2.2).
 */
#include <stdio.h>
#include <string.h>

#include "dns.h"
#include "log.h"
#include "mta_sts_cache.h"
#include "outbound_int.h"
#include "str.h"
#include "tls_required.h"

void
outbound_tls_domain(struct worker *w, const struct spool_entry *e, const struct buf *body,
		    const char *domain, bool mx_secure, struct domain_tls *d)
{
	struct outbound *ob = w->ob;
	memset(d, 0, sizeof *d);
	str_copy(d->domain, sizeof d->domain, domain);
	d->mx_secure = mx_secure;
	d->explicit = ob->cfg.tls_level(domain, &d->level, ob->cfg.arg);
	d->requiretls = e->requiretls;
	d->tls_required_no = body->data && tls_required_no(body->data, body->len);
	/* A tls-policy line decides alone: no policy fetch for it. */
	if (d->explicit || ob->sts == NULL)
		return;
	d->sts = mta_sts_cache_get(ob->sts, w->dns, domain, (int64_t)time(NULL), &d->sts_policy,
				   d->sts_why, sizeof d->sts_why);
	if (d->sts < 0) {
		char why[600];
		log_info("id=%s event=mta_sts_unavailable domain=%s reason=\"%s\" "
			 "note=\"delivered as without a policy; a cached one would have applied\"",
			 e->id, domain,
			 str_escape(why, sizeof why, d->sts_why, strlen(d->sts_why)));
	}
}

/* Does the domain's MTA-STS policy apply (fetched, mode testing or enforce)? */
static bool
sts_applies(const struct domain_tls *d)
{
	return d->sts == 1 && d->sts_policy.mode != MTA_STS_NONE;
}

/* The TLSA records of host, when its names are secure: the dnssec input of the plan. */
static int
lookup_tlsa(struct worker *w, const char *host, struct mx_tls *m, bool *unusable_r)
{
	struct dns_tlsa all[DNS_MAX_TLSA];
	size_t n = 0;
	bool secure = false;
	char why[300];
	*unusable_r = false;
	enum dns_status st =
	    dns_tlsa(w->dns, host, 25, all, DNS_MAX_TLSA, &n, &secure, why, sizeof why);
	if (st == DNS_TEMPFAIL) {
		str_copy(m->dns_why, sizeof m->dns_why, why);
		return -1;
	}
	if (st != DNS_OK || !secure)
		return 0; /* none, or not authenticated: as if none (RFC 7672 2.2) */
	m->ntlsa = 0;
	for (size_t i = 0; i < n; i++)
		if (dns_tlsa_usable(&all[i]))
			m->tlsa[m->ntlsa++] = all[i];
	*unusable_r = m->ntlsa == 0;
	return m->ntlsa > 0 ? 1 : 0;
}

/* Which TLS-RPT policy the attempt is counted under (RFC 8460 4.4). */
static const char *
policy_type(const struct tls_plan *p)
{
	if (p->dane || p->source == TLS_SRC_DANE)
		return "tlsa";
	if (p->source == TLS_SRC_MTA_STS)
		return "sts";
	return "no-policy-found";
}

enum dns_status
outbound_tls_host(struct worker *w, const struct domain_tls *d, const char *host, char addrs[][64],
		  size_t *naddrs, struct mx_tls *m)
{
	memset(m, 0, sizeof *m);
	int addr_dnssec = 0;
	enum dns_status st = d->mx_secure ? dns_addrs_ad(w->dns, host, addrs, naddrs, &addr_dnssec)
					  : dns_addrs(w->dns, host, addrs, naddrs);
	if (st != DNS_OK)
		return st;
	/* The levels that never use TLSA do not look them up. */
	bool wants_dane =
	    !d->explicit || d->level == TLS_LEVEL_DANE || d->level == TLS_LEVEL_DANE_ONLY;
	struct tls_plan_in in = {
	    .configured = d->level,
	    .configured_explicit = d->explicit,
	    .sts_policy = sts_applies(d),
	    .sts_enforce = sts_applies(d) && d->sts_policy.mode == MTA_STS_ENFORCE,
	    .mx_in_sts = sts_applies(d) && mta_sts_mx_match(&d->sts_policy, host),
	    .sts_failed = d->sts < 0,
	    .requiretls = d->requiretls,
	    .tls_required_no = d->tls_required_no,
	};
	if (wants_dane && d->mx_secure && addr_dnssec > 0)
		in.dnssec = lookup_tlsa(w, host, m, &in.tlsa_unusable);
	else if (wants_dane && d->mx_secure && addr_dnssec < 0) {
		in.dnssec = -1;
		snprintf(m->dns_why, sizeof m->dns_why,
			 "an address lookup of %s failed in a signed zone", host);
	}
	tls_plan_decide(&in, &m->plan);
	if (!m->plan.dane)
		m->ntlsa = 0;
	m->policy_type = policy_type(&m->plan);
	if (in.dnssec < 0)
		str_copy(m->result_type, sizeof m->result_type, "dnssec-invalid");
	else if (m->plan.defer && m->plan.level == TLS_LEVEL_DANE_ONLY)
		str_copy(m->result_type, sizeof m->result_type, "dane-required");
	else if (m->plan.defer && m->plan.source == TLS_SRC_MTA_STS)
		str_copy(m->result_type, sizeof m->result_type, "validation-failure");
	return DNS_OK;
}

const char *
outbound_tls_result(const struct mx_tls *m, const struct client_run_result *r)
{
	if (m->result_type[0])
		return m->result_type;
	/* Only a policy that checks the certificate (or would: testing) fails on it. */
	bool judged = m->plan.dane || m->plan.verify_ca || m->plan.sts_testing;
	if (r->smtp.failure == CLIENT_STARTTLS_MISSING ||
	    (judged && r->greeted && !r->tls_used && r->conn.kind == CONN_OK))
		return "starttls-not-supported";
	if (judged && r->tls.result_type[0] && (r->tls_used || r->conn.kind == CONN_TLS_CERT))
		return r->tls.result_type;
	if (r->smtp.failure == CLIENT_TLS_FAILED)
		return "validation-failure"; /* the handshake itself failed */
	return NULL;
}
