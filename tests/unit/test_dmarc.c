/*
 * Unit tests for mailauth/dmarc: the record's syntax (RFC 7489 6.3, 6.4 and
 * the examples of appendix B), the organizational domain from Debian's
 * Public Suffix List, alignment, the author domain from From: fields, and
 * discovery + evaluation over a table of DNS answers (6.6.3), pct sampling.
 */
#include <stdio.h>
#include <string.h>

#include "dmarc.h"
#include "harness.h"

static void
test_record(void)
{
	struct dmarc_record r;
	char why[256];

	/* RFC 7489 B.2.1 */
	CHECK(dmarc_record_parse("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com", &r, why,
				 sizeof why) == DMARC_REC_OK);
	CHECK(r.p == DMARC_POLICY_NONE && r.sp == DMARC_POLICY_UNSET && r.pct == 100);
	CHECK(r.adkim == DMARC_ALIGN_RELAXED && r.aspf == DMARC_ALIGN_RELAXED);
	CHECK_STR(r.rua, "mailto:dmarc-feedback@example.com");
	CHECK_STR(why, "");
	CHECK_STR(r.fo, "0");
	CHECK(r.ri == 86400);

	/* B.2.4: quarantine, pct, several URIs with a size limit */
	CHECK(dmarc_record_parse("v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,"
				 "mailto:tld-test@thirdparty.example.net!10m; pct=25",
				 &r, why, sizeof why) == DMARC_REC_OK);
	CHECK(r.p == DMARC_POLICY_QUARANTINE && r.pct == 25);
	CHECK_STR(r.rua,
		  "mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty.example.net!10m");

	/* every tag, spaces around "=" and ";", upper-case values, a trailing ";" */
	CHECK(dmarc_record_parse("v = DMARC1 ;p=REJECT; sp = Quarantine;adkim=s; aspf=S; "
				 "fo=0:1:d:s; ri=3600; ruf=mailto:f@example.com; rf=afrf; x=y;",
				 &r, why, sizeof why) == DMARC_REC_OK);
	CHECK(r.p == DMARC_POLICY_REJECT && r.sp == DMARC_POLICY_QUARANTINE);
	CHECK(r.adkim == DMARC_ALIGN_STRICT && r.aspf == DMARC_ALIGN_STRICT);
	CHECK_STR(r.fo, "0:1:d:s");
	CHECK(r.ri == 3600);
	CHECK_STR(r.ruf, "mailto:f@example.com");
	CHECK_STR(why, ""); /* unknown x=y is ignored silently (6.3) */

	/* v= must come first and be exactly DMARC1 */
	CHECK(dmarc_record_parse("p=reject; v=DMARC1", &r, why, sizeof why) == DMARC_REC_NOT_DMARC);
	CHECK(dmarc_record_parse("v=dmarc1; p=reject", &r, why, sizeof why) == DMARC_REC_NOT_DMARC);
	CHECK(dmarc_record_parse("v=DMARC10; p=reject", &r, why, sizeof why) ==
	      DMARC_REC_NOT_DMARC);
	CHECK(dmarc_record_parse("v=spf1 -all", &r, why, sizeof why) == DMARC_REC_NOT_DMARC);
	CHECK(dmarc_record_parse("", &r, why, sizeof why) == DMARC_REC_NOT_DMARC);
	CHECK(dmarc_record_parse("v=DMARC1", &r, why, sizeof why) == DMARC_REC_INVALID);
	CHECK(strstr(why, "no p= tag") != NULL);

	/* 6.6.3 step 6: no valid p= -> p=none if rua= is valid, else unusable */
	CHECK(dmarc_record_parse("v=DMARC1; p=block", &r, why, sizeof why) == DMARC_REC_INVALID);
	CHECK(strstr(why, "p=\"block\"") != NULL);
	CHECK(dmarc_record_parse("v=DMARC1; p=block; rua=mailto:a@example.com", &r, why,
				 sizeof why) == DMARC_REC_OK);
	CHECK(r.p == DMARC_POLICY_NONE && r.p_from_rua);
	CHECK(strstr(why, "read as p=none") != NULL);
	CHECK(dmarc_record_parse("v=DMARC1; p=reject; sp=bogus", &r, why, sizeof why) ==
	      DMARC_REC_INVALID);
	CHECK(strstr(why, "sp=\"bogus\"") != NULL);
	CHECK(dmarc_record_parse("v=DMARC1; rua=nonsense", &r, why, sizeof why) ==
	      DMARC_REC_INVALID);

	/* other bad tags: the default, and why says so */
	CHECK(dmarc_record_parse("v=DMARC1; p=reject; pct=101; adkim=x; aspf=; fo=2; ri=-1; "
				 "rua=mailto:ok@example.com, not a uri",
				 &r, why, sizeof why) == DMARC_REC_OK);
	CHECK(r.pct == 100 && r.adkim == DMARC_ALIGN_RELAXED && r.aspf == DMARC_ALIGN_RELAXED);
	CHECK_STR(r.fo, "0");
	CHECK(r.ri == 86400);
	CHECK_STR(r.rua, "mailto:ok@example.com");
	CHECK(strstr(why, "pct=\"101\"") != NULL && strstr(why, "adkim=\"x\"") != NULL);
	CHECK(strstr(why, "not a valid URI") != NULL);
	CHECK(dmarc_record_parse("v=DMARC1; p=none; pct=0", &r, why, sizeof why) == DMARC_REC_OK);
	CHECK(r.pct == 0);
	CHECK(dmarc_record_parse("v=DMARC1; p=none; garbage", &r, why, sizeof why) == DMARC_REC_OK);
	CHECK(strstr(why, "not tag=value") != NULL);
	CHECK(dmarc_record_parse("v=DMARC1; p=none; rua=mailto:a@b!x", &r, NULL, 0) ==
	      DMARC_REC_OK);
	CHECK_STR(r.rua, "");
}

static void
test_org_domain(void)
{
	char out[256];
	CHECK_STR(dmarc_org_domain("mail.example.com", out, sizeof out), "example.com");
	CHECK_STR(dmarc_org_domain("a.b.EXAMPLE.com.", out, sizeof out), "example.com");
	CHECK_STR(dmarc_org_domain("example.co.uk", out, sizeof out), "example.co.uk");
	CHECK_STR(dmarc_org_domain("x.y.example.co.uk", out, sizeof out), "example.co.uk");
	/* a wildcard rule of the list (*.kawasaki.jp) and its exception (!city.kawasaki.jp) */
	CHECK_STR(dmarc_org_domain("a.b.c.kawasaki.jp", out, sizeof out), "b.c.kawasaki.jp");
	CHECK_STR(dmarc_org_domain("www.city.kawasaki.jp", out, sizeof out), "city.kawasaki.jp");
	/* a public suffix is its own organizational domain */
	CHECK_STR(dmarc_org_domain("co.uk", out, sizeof out), "co.uk");
	/* names under an unlisted TLD: the "*" default rule (.test is not listed) */
	CHECK_STR(dmarc_org_domain("sub.example.test", out, sizeof out), "example.test");
	CHECK(dmarc_org_domain("example.com", out, 5) == NULL);

	CHECK(dmarc_aligned("example.com", "example.com", DMARC_ALIGN_STRICT));
	CHECK(dmarc_aligned("Example.COM", "example.com.", DMARC_ALIGN_STRICT));
	CHECK(!dmarc_aligned("example.com", "mail.example.com", DMARC_ALIGN_STRICT));
	CHECK(dmarc_aligned("example.com", "mail.example.com", DMARC_ALIGN_RELAXED));
	CHECK(dmarc_aligned("news.example.com", "mail.example.com", DMARC_ALIGN_RELAXED));
	CHECK(!dmarc_aligned("example.com", "example.net", DMARC_ALIGN_RELAXED));
	CHECK(!dmarc_aligned("a.example.co.uk", "b.other.co.uk", DMARC_ALIGN_RELAXED));
	CHECK(!dmarc_aligned("example.com", "", DMARC_ALIGN_RELAXED));
}

static int
author(const char *field, char *dom, char *why)
{
	struct strv f = strv_from(field);
	return dmarc_author_domain(&f, 1, dom, 256, why, 256);
}

static void
test_author(void)
{
	char dom[256], why[256];

	CHECK(author("From: user@Example.COM\r\n", dom, why) == 0);
	CHECK_STR(dom, "example.com");
	CHECK(author("From: \"Doe, John\" <john@example.org>\r\n", dom, why) == 0);
	CHECK_STR(dom, "example.org");
	CHECK(author("FROM:Joe (the <boss> @ x.test) <joe@example.net.>", dom, why) == 0);
	CHECK_STR(dom, "example.net");
	CHECK(author("From: \"a@evil.test\"@example.com\r\n", dom, why) == 0);
	CHECK_STR(dom, "example.com");
	CHECK(author("From: Jane\r\n\t<jane@example.com>\r\n", dom, why) == 0); /* folded */
	CHECK_STR(dom, "example.com");
	CHECK(author("From: <@relay.test,@other.test:u@example.com>\r\n", dom, why) == 0);
	CHECK_STR(dom, "example.com");
	CHECK(author("From: a@example.com, b@EXAMPLE.com\r\n", dom, why) == 0); /* one domain */
	CHECK_STR(dom, "example.com");
	CHECK(author("From: a@example.com, ,\r\n", dom, why) == 0); /* obs empty elements */
	CHECK(author("From: team: a@example.com, b@example.com;\r\n", dom, why) == 0);
	CHECK_STR(dom, "example.com");

	CHECK(author("From: a@example.com, b@evil.test\r\n", dom, why) == -1);
	CHECK(strstr(why, "more than one domain") != NULL);
	CHECK_STR(dom, "");
	CHECK(author("From: undisclosed:;\r\n", dom, why) == -1);
	CHECK(strstr(why, "no address") != NULL);
	CHECK(author("From: nobody\r\n", dom, why) == -1);
	CHECK(strstr(why, "has no domain") != NULL);
	CHECK(author("From: user@[192.0.2.1]\r\n", dom, why) == -1);
	CHECK(strstr(why, "domain literal") != NULL);
	CHECK(author("From: user@exa mple.com\r\n", dom, why) == 0); /* CFWS inside: obs */
	CHECK_STR(dom, "example.com");
	CHECK(author("From: user@ex!ample.com\r\n", dom, why) == -1);
	CHECK(author("From: <user@>\r\n", dom, why) == -1);
	CHECK(author("From: user@example..com\r\n", dom, why) == -1);
	CHECK(author("From: user@.example.com\r\n", dom, why) == -1);
	CHECK(author("From: user@example.com..\r\n", dom, why) == -1);
	CHECK(author("no colon", dom, why) == -1);

	struct strv two[2] = {strv_from("From: a@example.com\r\n"),
			      strv_from("From: b@example.com\r\n")};
	CHECK(dmarc_author_domain(two, 2, dom, sizeof dom, why, sizeof why) == -1);
	CHECK(strstr(why, "2 From: fields") != NULL);
	CHECK(dmarc_author_domain(NULL, 0, dom, sizeof dom, why, sizeof why) == -1);
	CHECK(strstr(why, "no From: field") != NULL);
}

/* ---- discovery over a table ---- */

struct rr {
	const char *name;
	const char *txt; /* NULL: the name fails with TEMPFAIL */
};

static const struct rr zone[] = {
    {"_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine; rua=mailto:r@example.com"},
    {"_dmarc.example.com", "some other TXT record"},
    {"_dmarc.strict.test", "v=DMARC1; p=reject; adkim=s; aspf=s"},
    {"_dmarc.own.example.com", "v=DMARC1; p=none"},
    {"_dmarc.two.test", "v=DMARC1; p=reject"},
    {"_dmarc.two.test", "v=DMARC1; p=none"},
    {"_dmarc.broken.test", NULL},
    {"_dmarc.bad.test", "v=DMARC1; p=maybe"},
    {"_dmarc.half.test", "v=DMARC1; p=quarantine; pct=30"},
    {"_dmarc.nosp.test", "v=DMARC1; p=reject"},
};

static unsigned lookups;

static enum ma_dns_rc
table_lookup(void *ctx, enum ma_rr type, const char *name, struct ma_dns_answer *out)
{
	(void)ctx;
	lookups++;
	if (type != MA_RR_TXT)
		return MA_DNS_NXDOMAIN;
	bool found = false;
	for (size_t i = 0; i < sizeof zone / sizeof zone[0]; i++) {
		if (strcasecmp(zone[i].name, name) != 0)
			continue;
		if (zone[i].txt == NULL)
			return MA_DNS_TEMPFAIL;
		ma_dns_answer_add(out, zone[i].txt, 0);
		found = true;
	}
	return found ? MA_DNS_OK : MA_DNS_NXDOMAIN;
}

static const struct ma_dns table = {table_lookup, NULL};

static void
run(const char *from, const char *spf_dom, enum dmarc_auth spf, const char *dkim_dom,
    enum dmarc_auth dkim, unsigned roll, struct dmarc_outcome *out)
{
	struct dmarc_ident d = {dkim_dom, dkim};
	struct dmarc_input in = {
	    .from_domain = from,
	    .spf = {spf_dom, spf},
	    .dkim = dkim_dom ? &d : NULL,
	    .ndkim = dkim_dom ? 1 : 0,
	    .pct_roll = roll,
	};
	lookups = 0;
	dmarc_check(&table, &in, out);
}

static void
test_check(void)
{
	struct dmarc_outcome o;
	const enum dmarc_auth P = DMARC_AUTH_PASS, T = DMARC_AUTH_TEMPERROR, X = DMARC_AUTH_OTHER;

	/* pass by relaxed SPF alignment; the record at the From domain: p */
	run("example.com", "bounce.example.com", P, NULL, X, 0, &o);
	CHECK(o.result == DMARC_RESULT_PASS && o.spf_aligned && !o.dkim_aligned);
	CHECK(o.policy == DMARC_POLICY_REJECT && o.disposition == DMARC_POLICY_NONE);
	CHECK_STR(o.record_domain, "example.com");
	CHECK(lookups == 1);
	/* pass by DKIM; SPF fails */
	run("example.com", "example.com", X, "example.com", P, 0, &o);
	CHECK(o.result == DMARC_RESULT_PASS && o.dkim_aligned && !o.spf_aligned);
	/* fail: the passing identifiers are of another domain */
	run("example.com", "evil.test", P, "evil.test", P, 0, &o);
	CHECK(o.result == DMARC_RESULT_FAIL && o.disposition == DMARC_POLICY_REJECT);
	CHECK(!o.maybe_transient);
	CHECK(strstr(o.reason, "no SPF or DKIM pass aligns with example.com") != NULL);
	/* a subdomain without a record: the org domain's record and its sp= (6.6.3 step 3) */
	run("news.example.com", "evil.test", P, NULL, X, 0, &o);
	CHECK(o.result == DMARC_RESULT_FAIL && o.policy == DMARC_POLICY_QUARANTINE);
	CHECK_STR(o.record_domain, "example.com");
	CHECK_STR(o.org_domain, "example.com");
	CHECK(lookups == 2);
	/* a subdomain with its own record: that record's p=, not the parent's sp= */
	run("own.example.com", "evil.test", P, NULL, X, 0, &o);
	CHECK(o.result == DMARC_RESULT_FAIL && o.policy == DMARC_POLICY_NONE);
	CHECK(lookups == 1);
	/* no sp=: p applies to subdomains */
	run("a.nosp.test", NULL, X, NULL, X, 0, &o);
	CHECK(o.policy == DMARC_POLICY_REJECT && o.result == DMARC_RESULT_FAIL);
	/* strict alignment: a subdomain's pass does not align */
	run("strict.test", "mail.strict.test", P, "mail.strict.test", P, 0, &o);
	CHECK(o.result == DMARC_RESULT_FAIL);
	run("strict.test", "strict.test", P, NULL, X, 0, &o);
	CHECK(o.result == DMARC_RESULT_PASS);
	/* no record anywhere */
	run("nothing.test", "nothing.test", P, NULL, X, 0, &o);
	CHECK(o.result == DMARC_RESULT_NONE && o.record_domain[0] == '\0');
	CHECK(strstr(o.reason, "no DMARC record at _dmarc.nothing.test") != NULL);
	run("a.nothing.test", NULL, X, NULL, X, 0, &o);
	CHECK(strstr(o.reason, "nor at _dmarc.nothing.test") != NULL && lookups == 2);
	/* several records: none, and the org domain is not asked */
	run("two.test", NULL, X, NULL, X, 0, &o);
	CHECK(o.result == DMARC_RESULT_NONE && strstr(o.reason, "2 DMARC records") != NULL);
	/* a record without a usable policy: permerror, no policy */
	run("bad.test", NULL, X, NULL, X, 0, &o);
	CHECK(o.result == DMARC_RESULT_PERMERROR && o.disposition == DMARC_POLICY_UNSET);
	CHECK(strstr(o.reason, "p=\"maybe\"") != NULL);
	/* the record cannot be fetched: temperror; it matters unless a strict pass */
	run("broken.test", "evil.test", P, NULL, X, 0, &o);
	CHECK(o.result == DMARC_RESULT_TEMPERROR && o.maybe_transient);
	run("broken.test", NULL, X, "broken.test", P, 0, &o);
	CHECK(o.result == DMARC_RESULT_TEMPERROR && !o.maybe_transient && o.dkim_aligned);
	run("sub.broken.test", "broken.test", P, NULL, X, 0, &o); /* relaxed only: matters */
	CHECK(o.result == DMARC_RESULT_TEMPERROR && o.maybe_transient);
	/* a fail where an aligned identifier had a temperror: maybe transient */
	run("example.com", "example.com", T, "evil.test", P, 0, &o);
	CHECK(o.result == DMARC_RESULT_FAIL && o.maybe_transient);
	run("example.com", "evil.test", T, "mail.example.com", T, 0, &o);
	CHECK(o.result == DMARC_RESULT_FAIL && o.maybe_transient);
	run("example.com", "evil.test", T, NULL, X, 0, &o); /* would not align anyway */
	CHECK(o.result == DMARC_RESULT_FAIL && !o.maybe_transient);
	/* pct=30: rolls 0..29 get quarantine, the rest the next milder policy (none) */
	run("half.test", NULL, X, NULL, X, 29, &o);
	CHECK(o.disposition == DMARC_POLICY_QUARANTINE);
	run("half.test", NULL, X, NULL, X, 30, &o);
	CHECK(o.disposition == DMARC_POLICY_NONE && o.policy == DMARC_POLICY_QUARANTINE);
	CHECK(strstr(o.reason, "pct=") != NULL);
	/* no author domain: permerror without a lookup */
	struct dmarc_input in = {.from_domain = NULL, .from_why = "the message has 2 From: fields"};
	lookups = 0;
	dmarc_check(&table, &in, &o);
	CHECK(o.result == DMARC_RESULT_PERMERROR && o.from_invalid && lookups == 0);
	CHECK_STR(o.reason, "the message has 2 From: fields");
	/* case and a trailing dot in the From domain */
	run("EXAMPLE.com.", "example.com", P, NULL, X, 0, &o);
	CHECK(o.result == DMARC_RESULT_PASS);
	CHECK_STR(o.from_domain, "example.com");

	CHECK_STR(dmarc_result_name(DMARC_RESULT_TEMPERROR), "temperror");
	CHECK_STR(dmarc_policy_name(DMARC_POLICY_QUARANTINE), "quarantine");
}

int
main(void)
{
	test_record();
	test_org_domain();
	test_author();
	test_check();
	return test_summary("test_dmarc");
}
