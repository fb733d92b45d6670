/*
 * domain_check_txt: the TXT policies a receiver or a sender looks up
 * beside the domain: MTA-STS (RFC 8461 3.1: "_mta-sts.DOMAIN", v=STSv1,
 * id=) and SMTP TLS reporting (RFC 8460 3: "_smtp._tls.DOMAIN",
 * v=TLSRPTv1, rua=). Both are optional: missing is advice. The MTA-STS
 * policy file the record announces is checked in domain_check_sts.c.
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

static void
tls_rpt_fix(struct dc_ctx *c, struct dc_item *it, const char *name)
{
	char txt[400];
	snprintf(txt, sizeof txt, "v=TLSRPTv1; rua=mailto:postmaster@%s", c->o->domain);
	dc_fix_txt(it, name, txt);
	dc_fix(it, "publish the record below: senders then mail you a daily report of the TLS "
		   "failures they met delivering to you (RFC 8460)");
}

/* One of the optional TXT policies, and what to say about it. */
struct txt_policy {
	enum dc_check check;
	const char *label;   /* the record's name is LABEL.DOMAIN */
	const char *name;    /* for people: "MTA-STS" */
	const char *version; /* the first tag: "v=STSv1" */
	const char *rfc;     /* where "exactly one" is written */
	const char *missing; /* what its absence costs */
	const char *broken;  /* what a record receivers cannot read costs */
	/* value: the tag the OK line shows (id=, rua=) */
	int (*parse)(const char *txt, char *value, size_t size, char *why, size_t why_size);
	const char *ok_before, *ok_after; /* the OK line, around the value */
	void (*fix)(struct dc_ctx *c, struct dc_item *it, const char *name);
};

static void
check_txt_policy(struct dc_ctx *c, const struct txt_policy *p)
{
	struct dc_item *it = &c->r->items[p->check];
	char name[300], value[600], why[600];
	snprintf(name, sizeof name, "%s.%s", p->label, c->o->domain);
	struct ma_dns_answer a;
	size_t others;
	enum ma_dns_rc rc = dc_tagged_txt(c, name, p->version, true, &a, &others);
	if (rc == MA_DNS_TEMPFAIL) {
		dc_dns_error(it, name, "TXT", rc);
	} else if (rc != MA_DNS_OK) {
		dc_set(it, DC_MISSING, "no %s record at %s: %s", p->name, name, p->missing);
		p->fix(c, it, name);
	} else if (a.n > 1) {
		dc_set(it, DC_INVALID,
		       "%zu %s records at %s: %s needs exactly one, senders ignore them all", a.n,
		       p->version, name, p->rfc);
		p->fix(c, it, name);
		dc_fix(it, "keep one record: remove the others and publish the one below");
	} else if (p->parse(a.rr[0], value, sizeof value, why, sizeof why) < 0) {
		dc_set(it, DC_INVALID, "the record at %s (\"%s\"): %s: %s", name, a.rr[0], why,
		       p->broken);
		p->fix(c, it, name);
	} else if (p->check == DC_MTA_STS) {
		dc_check_sts_policy(c, it, value);
	} else {
		dc_set(it, DC_OK, "%s%s%s", p->ok_before, value, p->ok_after);
	}
	ma_dns_answer_free(&a);
}

void
dc_check_mta_sts(struct dc_ctx *c)
{
	static const struct txt_policy sts = {
	    DC_MTA_STS,
	    "_mta-sts",
	    "MTA-STS",
	    "v=STSv1",
	    "RFC 8461 3.1",
	    "senders may deliver without TLS or to an impostor MX (RFC 8461 lets a domain "
	    "require verified TLS)",
	    "senders ignore it",
	    mta_sts_record_parse,
	    "v=STSv1, id=",
	    "",
	    sts_fix,
	};
	check_txt_policy(c, &sts);
}

void
dc_check_tls_rpt(struct dc_ctx *c)
{
	static const struct txt_policy rpt = {
	    DC_TLS_RPT,
	    "_smtp._tls",
	    "TLS-RPT",
	    "v=TLSRPTv1",
	    "RFC 8460 3",
	    "nobody tells you when senders fail to reach you over TLS",
	    "senders send no reports",
	    tlsrpt_record_parse,
	    "v=TLSRPTv1, reports to ",
	    "",
	    tls_rpt_fix,
	};
	check_txt_policy(c, &rpt);
}
