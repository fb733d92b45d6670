/*
 * spf_census: the domain check's static view of a domain's SPF (see
 * spf.h): follows include and redirect targets written without macros,
 * counts the DNS-querying terms of every record reached, and names the
 * first problem. It asks the same questions check_host would, so what it
 * calls invalid is what makes receivers answer permerror: several records,
 * a syntax error, an include of a domain without a record, a loop, or more
 * than 10 DNS-querying terms in all (RFC 7208 4.5, 4.6, 4.6.4, 5.2).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spf.h"
#include "spf_internal.h"
#include "str.h"

#define CENSUS_DEPTH 12 /* beyond 10 terms every chain is over the limit anyway */

struct census {
	const struct ma_dns *dns;
	struct spf_census *out;
	const char *chain[CENSUS_DEPTH];
	size_t depth;
};

static enum spf_census_status problem(struct census *c, enum spf_census_status st, const char *fmt,
				      ...) __attribute__((format(printf, 3, 4)));

static enum spf_census_status
problem(struct census *c, enum spf_census_status st, const char *fmt, ...)
{
	if (c->out->status == SPF_CENSUS_OK || c->out->status == SPF_CENSUS_MISSING) {
		c->out->status = st;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->out->problem, sizeof c->out->problem, fmt, ap);
		va_end(ap);
	}
	return st;
}

static enum spf_census_status walk(struct census *c, const char *domain, const char *via);

static enum spf_census_status
follow(struct census *c, const char *spec, const char *via)
{
	if (strchr(spec, '%')) { /* depends on the sender or client: cannot be followed */
		c->out->has_macros = true;
		return SPF_CENSUS_OK;
	}
	char name[256];
	str_copy(name, sizeof name, spec);
	size_t n = strlen(name);
	if (n > 1 && name[n - 1] == '.')
		name[n - 1] = 0;
	return walk(c, name, via);
}

static enum spf_census_status
walk_record(struct census *c, const struct spf_record *r, const char *domain)
{
	c->out->records++;
	c->out->lookups += spf_record_dns_terms(r);
	char via[120];
	for (size_t i = 0; i < r->nterms; i++) {
		if (r->terms[i].mech == SPF_M_PTR)
			c->out->has_ptr = true;
		if (r->terms[i].mech != SPF_M_INCLUDE)
			continue;
		snprintf(via, sizeof via, "%.80s in %.30s", r->terms[i].text, domain);
		enum spf_census_status st = follow(c, r->terms[i].domain, via);
		if (st != SPF_CENSUS_OK)
			return st;
	}
	if (r->redirect && !r->has_all) {
		snprintf(via, sizeof via, "redirect=%.70s in %.30s", r->redirect, domain);
		return follow(c, r->redirect, via);
	}
	return SPF_CENSUS_OK;
}

static enum spf_census_status
walk(struct census *c, const char *domain, const char *via)
{
	for (size_t i = 0; i < c->depth; i++)
		if (strcasecmp(c->chain[i], domain) == 0)
			return problem(c, SPF_CENSUS_INVALID, "%s leads back to %s (a loop)", via,
				       domain);
	if (c->depth == CENSUS_DEPTH)
		return problem(c, SPF_CENSUS_INVALID, "%s: includes nest too deep (at %s)", via,
			       domain);
	if (!spf_domain_is_valid(domain))
		return problem(c, via ? SPF_CENSUS_INVALID : SPF_CENSUS_MISSING,
			       "%s: '%s' is not a valid domain name", via ? via : "the domain",
			       domain);
	struct ma_dns_answer a;
	memset(&a, 0, sizeof a);
	enum ma_dns_rc rc = c->dns->lookup(c->dns->ctx, MA_RR_TXT, domain, &a);
	if (rc == MA_DNS_TEMPFAIL)
		return problem(c, SPF_CENSUS_DNS_ERROR, "the TXT lookup of %s failed (%s)", domain,
			       "a temporary DNS error; try again");
	const char *rec = NULL;
	size_t n = 0;
	for (size_t i = 0; rc == MA_DNS_OK && i < a.n; i++)
		if (spf_record_is_spf(a.rr[i]) && n++ == 0)
			rec = a.rr[i];
	enum spf_census_status st = SPF_CENSUS_OK;
	struct spf_record r;
	char why[200];
	if (n == 0 && via == NULL)
		st = problem(c, SPF_CENSUS_MISSING,
			     "%s has no SPF record (a TXT record starting "
			     "with \"v=spf1\")%s",
			     domain, "");
	else if (n == 0)
		st = problem(c, SPF_CENSUS_INVALID,
			     "%s: %s has no SPF record (receivers answer permerror)", via, domain);
	else if (n > 1)
		st = problem(c, SPF_CENSUS_INVALID,
			     "%s has %s SPF records; publish exactly one (RFC 7208 4.5)", domain,
			     "several");
	if (n == 1 && via == NULL)
		str_copy(c->out->record, sizeof c->out->record, rec);
	if (n == 1 && spf_record_parse(rec, &r, why, sizeof why) < 0) {
		st = problem(c, SPF_CENSUS_INVALID, "%s's SPF record: %s", domain, why);
	} else if (n == 1) {
		c->chain[c->depth++] = domain;
		st = walk_record(c, &r, domain);
		c->depth--;
		spf_record_free(&r);
	}
	ma_dns_answer_free(&a);
	return st;
}

enum spf_census_status
spf_census(const struct ma_dns *dns, const char *domain, struct spf_census *out)
{
	memset(out, 0, sizeof *out);
	struct census c = {.dns = dns, .out = out};
	char name[256];
	if (!str_copy(name, sizeof name, domain ? domain : ""))
		name[0] = 0;
	size_t n = strlen(name);
	if (n > 1 && name[n - 1] == '.')
		name[n - 1] = 0;
	walk(&c, name, NULL);
	if (out->status == SPF_CENSUS_OK && out->lookups > SPF_MAX_DNS_TERMS) {
		char count[16];
		snprintf(count, sizeof count, "%u", out->lookups);
		problem(&c, SPF_CENSUS_INVALID,
			"%s DNS-querying terms (include, a, mx, ptr, exists, redirect) in all; "
			"the limit is 10 (RFC 7208 4.6.4): flatten includes into ip4:/ip6: terms%s",
			count, "");
	}
	return out->status;
}
