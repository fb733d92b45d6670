/*
 * domain_check_dmarc: the domain's DMARC record (RFC 7489 6.1, 6.6.3):
 * exactly one v=DMARC1 record at _dmarc.DOMAIN (or, for a subdomain
 * without one, at its organizational domain: sp= applies), that
 * mailauth/dmarc parses without ignoring a tag. p=none and a missing
 * rua= are fine but said: the first protects nothing, the second leaves
 * the owner blind.
 *
 * The record a fix proposes asks for reports at postmaster@DOMAIN (an
 * address every mail domain must have, RFC 5321 4.5.1), and p=quarantine
 * when this same run found SPF and DKIM in order (the domain's own mail
 * passes, so a policy is safe), else p=none until they are.
 */
#include "domain_check_int.h"

#include <stdio.h>
#include <string.h>

#include "dmarc.h"

static void
dmarc_fix(struct dc_ctx *c, struct dc_item *it, const char *name)
{
	char txt[600];
	bool ready = c->r->items[DC_SPF].status == DC_OK && c->r->items[DC_DKIM].status == DC_OK;
	snprintf(txt, sizeof txt, "v=DMARC1; p=%s; rua=mailto:postmaster@%s",
		 ready ? "quarantine" : "none", c->o->domain);
	dc_fix_txt(it, name, txt);
	dc_fix(it, "publish the record below at %s, replacing any v=DMARC1 record there%s", name,
	       ready ? "" : " (p=none until SPF and DKIM pass: then p=quarantine)");
}

/* One usable record: the detail, with what a person should know about it. */
static void
dmarc_ok(struct dc_item *it, const char *where, const struct dmarc_record *rec, bool inherited)
{
	char sp[64] = "";
	if (rec->sp != DMARC_POLICY_UNSET)
		snprintf(sp, sizeof sp, ", sp=%s", dmarc_policy_name(rec->sp));
	dc_set(it, DC_OK, "%s: p=%s%s, pct=%u, reports to %s%s%s", where, dmarc_policy_name(rec->p),
	       sp, rec->pct, rec->rua[0] ? rec->rua : "nobody (no rua=)",
	       inherited ? " (the organizational domain's record; for this subdomain sp= applies)"
			 : "",
	       rec->p == DMARC_POLICY_NONE
		   ? "; p=none only asks for reports: move to p=quarantine once they show your "
		     "mail passing"
		   : "");
}

/* The v=DMARC1 records at name: -1 on a DNS failure (item set), else how many (first in rec). */
static int
lookup(struct dc_ctx *c, struct dc_item *it, const char *name, struct ma_dns_answer *a)
{
	size_t others;
	enum ma_dns_rc rc = dc_tagged_txt(c, name, "v=DMARC1", true, a, &others);
	if (rc == MA_DNS_TEMPFAIL) {
		dc_dns_error(it, name, "TXT", rc);
		return -1;
	}
	return rc == MA_DNS_OK ? (int)a->n : 0;
}

void
dc_check_dmarc(struct dc_ctx *c)
{
	struct dc_item *it = &c->r->items[DC_DMARC];
	char name[300], org[256], why[512];
	snprintf(name, sizeof name, "_dmarc.%s", c->o->domain);
	struct ma_dns_answer a = {0};
	static struct dmarc_record rec;
	int n = lookup(c, it, name, &a);
	if (n == 0 && dmarc_org_domain(c->o->domain, org, sizeof org) != NULL &&
	    strcmp(org, c->o->domain) != 0) {
		/* RFC 7489 6.6.3: no record at the domain: the organizational domain's applies. */
		char org_name[300];
		snprintf(org_name, sizeof org_name, "_dmarc.%s", org);
		ma_dns_answer_free(&a);
		int m = lookup(c, it, org_name, &a);
		if (m == 1 && dmarc_record_parse(a.rr[0], &rec, why, sizeof why) == DMARC_REC_OK &&
		    !why[0] && !rec.p_from_rua) {
			dmarc_ok(it, org_name, &rec, true);
			ma_dns_answer_free(&a);
			return;
		}
		n = m < 0 ? -1 : 0;
	}
	if (n < 0) {
		ma_dns_answer_free(&a);
		return;
	}
	if (n == 0) {
		dc_set(
		    it, DC_MISSING,
		    "no DMARC record at %s: receivers apply no policy to mail forged in %s's name, "
		    "and Gmail and Yahoo refuse bulk mail from domains without one",
		    name, c->o->domain);
		dmarc_fix(c, it, name);
	} else if (n > 1) {
		dc_set(it, DC_INVALID,
		       "%d v=DMARC1 records at %s: with more than one, receivers apply none (RFC "
		       "7489 6.6.3)",
		       n, name);
		dmarc_fix(c, it, name);
	} else {
		int rc = dmarc_record_parse(a.rr[0], &rec, why, sizeof why);
		if (rc != DMARC_REC_OK || why[0] || rec.p_from_rua) {
			dc_set(it, DC_INVALID, "\"%s\" at %s: %s", a.rr[0], name,
			       rc != DMARC_REC_OK ? why
			       : why[0]		  ? why
					: "no valid p= (read as p=none because rua= is valid)");
			dmarc_fix(c, it, name);
		} else {
			dmarc_ok(it, name, &rec, false);
		}
	}
	ma_dns_answer_free(&a);
}
