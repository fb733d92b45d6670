/*
 * domain_check_txt: the TXT policies a receiver or a sender looks up
 * beside the domain: MTA-STS (RFC 8461 3.1: "_mta-sts.DOMAIN", v=STSv1,
 * id=) and SMTP TLS reporting (RFC 8460 3: "_smtp._tls.DOMAIN",
 * v=TLSRPTv1, rua=). Both are optional: missing is advice. The MTA-STS
 * policy file itself (https://mta-sts.DOMAIN/.well-known/mta-sts.txt) is
 * not fetched here; the fix says it is needed.
 */
#include "domain_check_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tls_policy.h"

static void
sts_fix(struct dc_ctx *c, struct dc_item *it, const char *name)
{
	char id[32], txt[64];
	time_t t = (time_t)c->o->now;
	struct tm tm;
	gmtime_r(&t, &tm);
	/* A new id each time the policy changes; the date and time is the usual choice. */
	strftime(id, sizeof id, "%Y%m%d%H%M%S", &tm);
	snprintf(txt, sizeof txt, "v=STSv1; id=%s", id);
	dc_fix_txt(it, name, txt);
	dc_fix(it,
	       "publish the record below, and serve the policy at "
	       "https://mta-sts.%s/.well-known/mta-sts.txt (RFC 8461 3.2: \"version: STSv1\", "
	       "\"mode: testing\" then \"enforce\", an \"mx:\" line per MX host, \"max_age: "
	       "86400\"), with a certificate valid for mta-sts.%s",
	       c->o->domain, c->o->domain);
}

void
dc_check_mta_sts(struct dc_ctx *c)
{
	struct dc_item *it = &c->r->items[DC_MTA_STS];
	char name[300], id[64], why[300];
	snprintf(name, sizeof name, "_mta-sts.%s", c->o->domain);
	struct ma_dns_answer a;
	size_t others;
	enum ma_dns_rc rc = dc_tagged_txt(c, name, "v=STSv1", true, &a, &others);
	if (rc == MA_DNS_TEMPFAIL) {
		dc_dns_error(it, name, "TXT", rc);
	} else if (rc != MA_DNS_OK) {
		dc_set(it, DC_MISSING,
		       "no MTA-STS record at %s: senders may deliver to %s without TLS or to an "
		       "impostor MX (RFC 8461 lets a domain require verified TLS)",
		       name, c->o->domain);
		sts_fix(c, it, name);
	} else if (a.n > 1) {
		dc_set(it, DC_INVALID,
		       "%zu v=STSv1 records at %s: RFC 8461 3.1 needs exactly one, senders ignore "
		       "them all",
		       a.n, name);
		sts_fix(c, it, name);
		dc_fix(it, "keep one record: remove the others and publish the one below");
	} else if (mta_sts_record_parse(a.rr[0], id, sizeof id, why, sizeof why) < 0) {
		dc_set(it, DC_INVALID, "the record at %s (\"%s\"): %s: senders ignore it", name,
		       a.rr[0], why);
		sts_fix(c, it, name);
	} else {
		dc_set(it, DC_OK, "v=STSv1, id=%s (the policy file itself is not fetched here)",
		       id);
	}
	ma_dns_answer_free(&a);
}

static void
tls_rpt_fix(struct dc_ctx *c, struct dc_item *it, const char *name)
{
	char txt[400];
	snprintf(txt, sizeof txt, "v=TLSRPTv1; rua=mailto:postmaster@%s", c->o->domain);
	dc_fix_txt(it, name, txt);
	dc_fix(it, "publish the record below: senders then mail you a daily report of the TLS "
		   "failures they met delivering to you (RFC 8460)");
}

void
dc_check_tls_rpt(struct dc_ctx *c)
{
	struct dc_item *it = &c->r->items[DC_TLS_RPT];
	char name[300], rua[600], why[600];
	snprintf(name, sizeof name, "_smtp._tls.%s", c->o->domain);
	struct ma_dns_answer a;
	size_t others;
	enum ma_dns_rc rc = dc_tagged_txt(c, name, "v=TLSRPTv1", true, &a, &others);
	if (rc == MA_DNS_TEMPFAIL) {
		dc_dns_error(it, name, "TXT", rc);
	} else if (rc != MA_DNS_OK) {
		dc_set(it, DC_MISSING,
		       "no TLS-RPT record at %s: nobody tells you when senders "
		       "fail to reach you over TLS",
		       name);
		tls_rpt_fix(c, it, name);
	} else if (a.n > 1) {
		dc_set(it, DC_INVALID,
		       "%zu v=TLSRPTv1 records at %s: RFC 8460 3 needs exactly one, senders ignore "
		       "them all",
		       a.n, name);
		tls_rpt_fix(c, it, name);
	} else if (tlsrpt_record_parse(a.rr[0], rua, sizeof rua, why, sizeof why) < 0) {
		dc_set(it, DC_INVALID, "the record at %s (\"%s\"): %s: senders send no reports",
		       name, a.rr[0], why);
		tls_rpt_fix(c, it, name);
	} else {
		dc_set(it, DC_OK, "v=TLSRPTv1, reports to %s", rua);
	}
	ma_dns_answer_free(&a);
}
