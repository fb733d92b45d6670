/*
 * dmarc_check: policy discovery (RFC 7489 6.6.3) through struct ma_dns,
 * then alignment (3.1), the result (6.6.2) and the policy to apply with
 * pct sampling (6.6.4). Choices (see also dmarc.h):
 *  - several DMARC records at the name where the search stopped: none
 *    (6.6.3 step 5), the organizational domain is not asked then;
 *  - a record that cannot be fetched (SERVFAIL, timeout): temperror. RFC
 *    7489 6.6.3 leaves DNS errors to the receiver; maybe_transient tells
 *    the caller whether the answer could still matter: not when an
 *    identifier passed and equals the From: domain (it aligns in either
 *    mode, so no record could make the message fail);
 *  - a fail whose missing alignment might be a DNS hiccup (an SPF or DKIM
 *    temperror for a domain that would align) is marked maybe_transient,
 *    so the caller can defer instead of rejecting for good.
 */
#include "dmarc.h"

#include <stdio.h>
#include <string.h>

#include "str.h"

enum fetch_rc { FETCH_FOUND, FETCH_EMPTY, FETCH_SEVERAL, FETCH_TEMP, FETCH_INVALID };

/* The DMARC records at _dmarc.<domain> (the TXT records that start with v=DMARC1). */
static enum fetch_rc
fetch(const struct ma_dns *dns, const char *domain, struct dmarc_record *rec, char *why,
      size_t why_size, unsigned *count)
{
	char name[300];
	struct ma_dns_answer ans = {0};
	enum fetch_rc rc = FETCH_EMPTY;

	*count = 0;
	/* RFC 1035 2.3.4: a name longer than 253 octets cannot exist */
	if (snprintf(name, sizeof name, "_dmarc.%s", domain) > 253)
		return FETCH_EMPTY;
	enum ma_dns_rc d = dns->lookup(dns->ctx, MA_RR_TXT, name, &ans);
	if (d == MA_DNS_TEMPFAIL) {
		snprintf(why, why_size, "the DNS lookup of %s TXT failed, a temporary error", name);
		return FETCH_TEMP;
	}
	if (d != MA_DNS_OK)
		return FETCH_EMPTY;
	for (size_t i = 0; i < ans.n; i++) {
		struct dmarc_record r;
		char w[200];
		int prc = dmarc_record_parse(ans.rr[i], &r, w, sizeof w);
		if (prc == DMARC_REC_NOT_DMARC)
			continue; /* 6.6.3 step 2: other TXT records are discarded */
		if (++*count == 1) {
			*rec = r;
			rc = prc == DMARC_REC_OK ? FETCH_FOUND : FETCH_INVALID;
			if (prc == DMARC_REC_OK && w[0] != '\0')
				snprintf(why, why_size, "%s: %s", name, w);
			else if (prc != DMARC_REC_OK)
				snprintf(why, why_size, "the DMARC record at %s is not usable: %s",
					 name, w);
		}
	}
	if (*count > 1) {
		rc = FETCH_SEVERAL;
		snprintf(
		    why, why_size,
		    "%s has %u DMARC records; with more than one none applies (RFC 7489 6.6.3)",
		    name, *count);
	}
	ma_dns_answer_free(&ans);
	return rc;
}

static bool
ident_passes(const struct dmarc_ident *id, const char *from, enum dmarc_align mode)
{
	return id->result == DMARC_AUTH_PASS && dmarc_aligned(from, id->domain, mode);
}

/* Alignment of every identifier with the record's modes; sets spf/dkim_aligned. */
static void
align(const struct dmarc_input *in, const struct dmarc_record *rec, struct dmarc_outcome *out)
{
	const char *from = out->from_domain;
	if (in->spf.domain != NULL && ident_passes(&in->spf, from, rec->aspf)) {
		out->spf_aligned = true;
		str_copy(out->aligned_domain, sizeof out->aligned_domain, in->spf.domain);
	}
	for (size_t i = 0; i < in->ndkim; i++) {
		if (in->dkim[i].domain != NULL && ident_passes(&in->dkim[i], from, rec->adkim)) {
			out->dkim_aligned = true;
			str_copy(out->aligned_domain, sizeof out->aligned_domain,
				 in->dkim[i].domain);
			break;
		}
	}
}

/* Could a retry change a fail? An identifier that would align had a temperror. */
static bool
transient_fail(const struct dmarc_input *in, const struct dmarc_record *rec, const char *from)
{
	if (in->spf.result == DMARC_AUTH_TEMPERROR && in->spf.domain != NULL &&
	    dmarc_aligned(from, in->spf.domain, rec->aspf))
		return true;
	for (size_t i = 0; i < in->ndkim; i++) {
		if (in->dkim[i].result == DMARC_AUTH_TEMPERROR && in->dkim[i].domain != NULL &&
		    dmarc_aligned(from, in->dkim[i].domain, rec->adkim))
			return true;
	}
	return false;
}

/* RFC 7489 6.6.4 and 6.3 pct=: a message left out of the sample gets the next milder policy. */
static enum dmarc_policy
sample(enum dmarc_policy p, unsigned pct, unsigned roll)
{
	if (pct >= 100 || roll % 100 < pct)
		return p;
	return p == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE : DMARC_POLICY_NONE;
}

static void
evaluate(const struct dmarc_input *in, struct dmarc_outcome *out)
{
	const struct dmarc_record *rec = &out->rec;
	bool at_org = strcmp(out->record_domain, out->from_domain) != 0;
	char base[200];

	out->policy = at_org && rec->sp != DMARC_POLICY_UNSET ? rec->sp : rec->p;
	align(in, rec, out);
	snprintf(base, sizeof base, "%s; adkim=%c aspf=%c", out->reason[0] ? out->reason : "",
		 rec->adkim == DMARC_ALIGN_STRICT ? 's' : 'r',
		 rec->aspf == DMARC_ALIGN_STRICT ? 's' : 'r');
	const char *b = base[0] == ';' ? base + 2 : base;
	if (out->spf_aligned || out->dkim_aligned) {
		out->result = DMARC_RESULT_PASS;
		out->disposition = DMARC_POLICY_NONE;
		snprintf(out->reason, sizeof out->reason, "%s %s aligns with %s; %s",
			 out->dkim_aligned ? "the DKIM signature of" : "the SPF domain",
			 out->aligned_domain, out->from_domain, b);
		return;
	}
	out->result = DMARC_RESULT_FAIL;
	out->disposition = sample(out->policy, rec->pct, in->pct_roll);
	out->maybe_transient = transient_fail(in, rec, out->from_domain);
	snprintf(out->reason, sizeof out->reason, "no SPF or DKIM pass aligns with %s; %s%s%s",
		 out->from_domain, b, out->disposition != out->policy ? "; left out by pct=" : "",
		 out->maybe_transient ? "; an aligned check had a temporary error" : "");
}

/* A record we could not fetch can still not matter: see the file's comment. */
static void
temperror(const struct dmarc_input *in, struct dmarc_outcome *out)
{
	struct dmarc_record strict = {.adkim = DMARC_ALIGN_STRICT, .aspf = DMARC_ALIGN_STRICT};
	out->result = DMARC_RESULT_TEMPERROR;
	align(in, &strict, out);
	out->maybe_transient = !out->spf_aligned && !out->dkim_aligned;
}

void
dmarc_check(const struct ma_dns *dns, const struct dmarc_input *in, struct dmarc_outcome *out)
{
	unsigned count = 0;
	memset(out, 0, sizeof *out);
	if (in->from_domain == NULL || in->from_domain[0] == '\0') {
		out->result = DMARC_RESULT_PERMERROR;
		out->from_invalid = true;
		str_copy(out->reason, sizeof out->reason,
			 in->from_why ? in->from_why : "no author domain");
		return;
	}
	size_t n = strlen(in->from_domain);
	if (n > 0 && in->from_domain[n - 1] == '.')
		n--;
	str_copy_n(out->from_domain, sizeof out->from_domain, in->from_domain, n);
	str_lower(out->from_domain);
	if (dmarc_org_domain(out->from_domain, out->org_domain, sizeof out->org_domain) == NULL)
		str_copy(out->org_domain, sizeof out->org_domain, out->from_domain);

	const char *where = out->from_domain;
	enum fetch_rc rc = fetch(dns, where, &out->rec, out->reason, sizeof out->reason, &count);
	if (rc == FETCH_EMPTY && strcmp(out->org_domain, out->from_domain) != 0) {
		where = out->org_domain; /* 6.6.3 step 3 */
		rc = fetch(dns, where, &out->rec, out->reason, sizeof out->reason, &count);
	}
	switch (rc) {
	case FETCH_TEMP:
		temperror(in, out);
		return;
	case FETCH_EMPTY:
		out->result = DMARC_RESULT_NONE;
		snprintf(out->reason, sizeof out->reason, "no DMARC record at _dmarc.%s%s%s",
			 out->from_domain, where != out->from_domain ? " nor at _dmarc." : "",
			 where != out->from_domain ? out->org_domain : "");
		return;
	case FETCH_SEVERAL:
		out->result = DMARC_RESULT_NONE;
		return;
	case FETCH_INVALID:
		out->result = DMARC_RESULT_PERMERROR;
		return;
	case FETCH_FOUND:
		str_copy(out->record_domain, sizeof out->record_domain, where);
		evaluate(in, out);
		return;
	}
}
