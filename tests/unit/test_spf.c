/*
 * Unit tests of SPF evaluation (RFC 7208 2.4, 4, 5, 6), over a table DNS:
 * one test per rule (record selection, initial processing, each mechanism
 * and qualifier, redirect and exp, temperror vs permerror), with records
 * and addresses taken from the RFC's text. The processing limits and the
 * domain check's census are in test_spf_limits.c.
 */
#include <string.h>

#include "fake_dns.h"
#include "harness.h"
#include "spf.h"

static struct spf_outcome
run(struct fake_dns *d, const char *ip, const char *helo, const char *sender)
{
	struct ma_dns dns = fake_dns_iface(d);
	struct spf_request rq = {.ip = ip,
				 .helo = helo,
				 .sender = sender,
				 .receiver = "mx.receiver.example",
				 .now = 1700000000};
	struct spf_outcome o;
	spf_check(&dns, &rq, &o);
	return o;
}

#define RESULT(o) spf_result_name((o).result)

static void
test_record_selection(void)
{
	struct fake_dns d = {0};
	fake_dns_add(&d, "one.example", MA_RR_TXT, "google-site-verification=abc");
	fake_dns_add(&d, "one.example", MA_RR_TXT, "v=spf1 -all");
	fake_dns_add(&d, "two.example", MA_RR_TXT, "v=spf1 +all");
	fake_dns_add(&d, "two.example", MA_RR_TXT, "V=SPF1 -all"); /* case-insensitive: a 2nd */
	fake_dns_add(&d, "other.example", MA_RR_TXT, "v=spf10 +all");
	fake_dns_add(&d, "other.example", MA_RR_TXT, "spf1 +all");
	fake_dns_add(&d, "noname.example", MA_RR_A, "192.0.2.9");
	fake_dns_timeout(&d, "slow.example", MA_RR_TXT);
	fake_dns_add(&d, "empty.example", MA_RR_TXT, "v=spf1");
	struct spf_outcome o = run(&d, "192.0.2.1", "h.example", "a@one.example");
	CHECK_STR(RESULT(o), "fail");
	CHECK_STR(o.identity, "mailfrom");
	CHECK_STR(o.domain, "one.example");
	CHECK_STR(o.sender, "a@one.example");
	o = run(&d, "192.0.2.1", "h.example", "a@two.example");
	CHECK_STR(RESULT(o), "permerror"); /* 4.5: more than one record */
	CHECK(strstr(o.reason, "more than one") != NULL);
	o = run(&d, "192.0.2.1", "h.example", "a@other.example");
	CHECK_STR(RESULT(o), "none"); /* no "v=spf1" record among the TXT */
	o = run(&d, "192.0.2.1", "h.example", "a@noname.example");
	CHECK_STR(RESULT(o), "none"); /* no TXT at all */
	o = run(&d, "192.0.2.1", "h.example", "a@nxdomain.example");
	CHECK_STR(RESULT(o), "none"); /* 4.3: NXDOMAIN */
	o = run(&d, "192.0.2.1", "h.example", "a@slow.example");
	CHECK_STR(RESULT(o), "temperror"); /* 4.4: a DNS error */
	o = run(&d, "192.0.2.1", "h.example", "a@empty.example");
	CHECK_STR(RESULT(o), "neutral"); /* 4.7: nothing matched, no redirect */
	fake_dns_free(&d);
}

static void
test_initial_processing(void)
{
	struct fake_dns d = {0};
	fake_dns_timeout(&d, "example.com", FAKE_DNS_ANY); /* any query there would temperror */
	fake_dns_add(&d, "example.net", MA_RR_TXT, "v=spf1 -all exp=exp.example.net");
	fake_dns_add(&d, "exp.example.net", MA_RR_TXT, "%{l}");
	char l63[100] = "x@", l64[100] = "x@";
	memset(l63 + 2, 'a', 63);
	strcpy(l63 + 65, ".example.net");
	memset(l64 + 2, 'a', 64);
	strcpy(l64 + 66, ".example.com");
	fake_dns_add(&d, l63 + 2, MA_RR_TXT, "v=spf1 -all");
	/* 4.3: a malformed domain is "none" before any DNS (not temperror). */
	CHECK_STR(RESULT(run(&d, "192.0.2.1", "h.example.net", l64)), "none");
	CHECK_STR(RESULT(run(&d, "192.0.2.1", "h.example.net", "x@a...example.com")), "none");
	CHECK_STR(RESULT(run(&d, "192.0.2.1", "h.example.net", "x@[192.0.2.1]")), "none");
	CHECK_STR(RESULT(run(&d, "192.0.2.1", "h.example.net", "x@localhost")), "none");
	CHECK(d.queries == 0);
	CHECK_STR(RESULT(run(&d, "192.0.2.1", "h.example.net", l63)), "fail"); /* 63 is fine */
	/* 4.3: no local part: "postmaster". */
	struct spf_outcome o = run(&d, "192.0.2.1", "h.example.net", "@example.net");
	CHECK_STR(RESULT(o), "fail");
	CHECK_STR(o.explanation, "postmaster");
	CHECK_STR(o.sender, "postmaster@example.net");
	/* A reverse-path in angle brackets, a source route: the address in it. */
	o = run(&d, "192.0.2.1", "h.example.net", "<@relay.example,@r2.example:joe@example.net>");
	CHECK_STR(o.explanation, "joe");
	/* A final dot is the root, not part of the domain. */
	o = run(&d, "192.0.2.1", "h.example.net", "joe@example.net.");
	CHECK_STR(RESULT(o), "fail");
	CHECK_STR(o.domain, "example.net");
	/* An unusable client address is the caller's error, said as such. */
	o = run(&d, "not-an-ip", "h.example.net", "joe@example.net");
	CHECK_STR(RESULT(o), "permerror");
	CHECK(strstr(o.reason, "not-an-ip") != NULL);
	fake_dns_free(&d);
}

static void
test_helo_identity(void)
{
	/* 2.4: MAIL FROM <> checks the HELO identity as postmaster@helo. */
	struct fake_dns d = {0};
	fake_dns_add(&d, "mail.example.org", MA_RR_TXT, "v=spf1 ip4:192.0.2.0/24 -all");
	fake_dns_add(&d, "x.example.org", MA_RR_TXT, "v=spf1 exists:%{l}.%{h}.example.org -all");
	fake_dns_add(&d, "postmaster.x.example.org.example.org", MA_RR_A, "127.0.0.2");
	const char *nulls[] = {"", "<>"};
	for (int i = 0; i < 2; i++) {
		struct spf_outcome o = run(&d, "192.0.2.7", "mail.example.org", nulls[i]);
		CHECK_STR(RESULT(o), "pass");
		CHECK_STR(o.identity, "helo");
		CHECK_STR(o.domain, "mail.example.org");
		CHECK_STR(o.sender, "postmaster@mail.example.org");
	}
	CHECK_STR(RESULT(run(&d, "198.51.100.1", "mail.example.org", "")), "fail");
	CHECK_STR(RESULT(run(&d, "198.51.100.1", "x.example.org", "")), "pass");
	/* A HELO that is an address literal or a single label: none (4.3). */
	CHECK_STR(RESULT(run(&d, "192.0.2.7", "[192.0.2.7]", "")), "none");
	CHECK_STR(RESULT(run(&d, "192.0.2.7", "OEMCOMPUTER", "")), "none");
	CHECK_STR(RESULT(run(&d, "192.0.2.7", NULL, "")), "none");
	fake_dns_free(&d);
}

static void
test_qualifiers_and_ip(void)
{
	struct fake_dns d = {0};
	fake_dns_add(&d, "q.example", MA_RR_TXT,
		     "v=spf1 +ip4:192.0.2.1 -ip4:192.0.2.2 ~ip4:192.0.2.3 ?ip4:192.0.2.4 "
		     "ip4:198.51.100.0/24 ip6:2001:db8:1::/48 -ip6:2001:db8::/32 "
		     "ip4:10.0.0.0/0 ip6:::/0");
	fake_dns_add(&d, "v4.example", MA_RR_TXT, "v=spf1 ip4:192.0.2.0/24 ip6:::ffff:0:0/96 -all");
	CHECK_STR(RESULT(run(&d, "192.0.2.1", "h", "a@q.example")), "pass");
	CHECK_STR(RESULT(run(&d, "192.0.2.2", "h", "a@q.example")), "fail");
	CHECK_STR(RESULT(run(&d, "192.0.2.3", "h", "a@q.example")), "softfail");
	CHECK_STR(RESULT(run(&d, "192.0.2.4", "h", "a@q.example")), "neutral");
	CHECK_STR(RESULT(run(&d, "198.51.100.255", "h", "a@q.example")), "pass");
	CHECK_STR(RESULT(run(&d, "2001:db8:1:ffff::1", "h", "a@q.example")), "pass");
	CHECK_STR(RESULT(run(&d, "2001:db8:2::1", "h", "a@q.example")), "fail");
	/* /0 matches every address of its family. */
	CHECK_STR(RESULT(run(&d, "203.0.113.5", "h", "a@q.example")), "pass");
	CHECK_STR(RESULT(run(&d, "2001:db9::1", "h", "a@q.example")), "pass");
	/* An IPv4-mapped client is IPv4: ip4 matches it, an ip6 of ::ffff:0:0/96 does not. */
	CHECK_STR(RESULT(run(&d, "::ffff:192.0.2.77", "h", "a@v4.example")), "pass");
	CHECK_STR(RESULT(run(&d, "::ffff:198.51.100.1", "h", "a@v4.example")), "fail");
	CHECK_STR(RESULT(run(&d, "2001:db8::1", "h", "a@v4.example")), "fail");
	struct spf_outcome o = run(&d, "192.0.2.2", "h", "a@q.example");
	CHECK(strstr(o.reason, "-ip4:192.0.2.2") != NULL); /* the reason names the term */
	CHECK(o.lookups == 0);
	fake_dns_free(&d);
}

static void
test_a_and_mx(void)
{
	struct fake_dns d = {0};
	fake_dns_add(&d, "a.example", MA_RR_TXT, "v=spf1 a -all");
	fake_dns_add(&d, "a.example", MA_RR_A, "192.0.2.10");
	fake_dns_add(&d, "a.example", MA_RR_AAAA, "2001:db8::10");
	fake_dns_add(&d, "cidr.example", MA_RR_TXT, "v=spf1 a:a.example/24//64 -all");
	fake_dns_add(&d, "mx.example", MA_RR_TXT, "v=spf1 mx/30 -all");
	fake_dns_add(&d, "mx.example", MA_RR_MX, "mail1.mx.example");
	fake_dns_add(&d, "mx.example", MA_RR_MX, "mail2.mx.example");
	fake_dns_add(&d, "mail1.mx.example", MA_RR_A, "198.51.100.1");
	fake_dns_add(&d, "mail2.mx.example", MA_RR_A, "198.51.100.20");
	fake_dns_add(&d, "mail2.mx.example", MA_RR_AAAA, "2001:db8:2::20");
	fake_dns_add(&d, "mx6.example", MA_RR_TXT, "v=spf1 mx:mx.example//120 -all");
	fake_dns_add(&d, "mxdown.example", MA_RR_TXT, "v=spf1 mx:down.example -all");
	fake_dns_add(&d, "down.example", MA_RR_MX, "m.down.example");
	fake_dns_timeout(&d, "m.down.example", MA_RR_A);
	fake_dns_add(&d, "atemp.example", MA_RR_TXT, "v=spf1 ip4:192.0.2.99 a:slow.example -all");
	fake_dns_timeout(&d, "slow.example", MA_RR_A);
	fake_dns_add(&d, "nullmx.example", MA_RR_TXT, "v=spf1 mx -all");
	fake_dns_add(&d, "nullmx.example", MA_RR_MX, ".");

	CHECK_STR(RESULT(run(&d, "192.0.2.10", "h", "u@a.example")), "pass");
	CHECK_STR(RESULT(run(&d, "192.0.2.11", "h", "u@a.example")), "fail");
	CHECK_STR(RESULT(run(&d, "2001:db8::10", "h", "u@a.example")), "pass"); /* AAAA for v6 */
	CHECK_STR(RESULT(run(&d, "192.0.2.200", "h", "u@cidr.example")), "pass");
	CHECK_STR(RESULT(run(&d, "192.0.3.1", "h", "u@cidr.example")), "fail");
	CHECK_STR(RESULT(run(&d, "2001:db8::ffff:1", "h", "u@cidr.example")), "pass");
	CHECK_STR(RESULT(run(&d, "2001:db8:0:1::1", "h", "u@cidr.example")), "fail");
	CHECK_STR(RESULT(run(&d, "198.51.100.3", "h", "u@mx.example")), "pass");
	CHECK_STR(RESULT(run(&d, "198.51.100.21", "h", "u@mx.example")), "pass");
	CHECK_STR(RESULT(run(&d, "198.51.100.5", "h", "u@mx.example")), "fail");
	CHECK_STR(RESULT(run(&d, "2001:db8:2::ff", "h", "u@mx6.example")), "pass");
	/* 5: a DNS error during a term's lookups is a temperror... */
	CHECK_STR(RESULT(run(&d, "192.0.2.1", "h", "u@mxdown.example")), "temperror");
	CHECK_STR(RESULT(run(&d, "192.0.2.1", "h", "u@atemp.example")), "temperror");
	/* ...unless an earlier term matched: evaluation stops there. */
	CHECK_STR(RESULT(run(&d, "192.0.2.99", "h", "u@atemp.example")), "pass");
	/* RFC 7505's null MX names no host. */
	CHECK_STR(RESULT(run(&d, "192.0.2.1", "h", "u@nullmx.example")), "fail");
	fake_dns_free(&d);
}

static void
test_ptr(void)
{
	/* 5.5: the client's PTR names whose addresses include the client. */
	struct fake_dns d = {0};
	fake_dns_add(&d, "p.example", MA_RR_TXT, "v=spf1 ptr -all");
	fake_dns_add(&d, "q.example", MA_RR_TXT, "v=spf1 ptr:example.org -all");
	fake_dns_add(&d, "10.2.0.192.in-addr.arpa", MA_RR_PTR, "mail.p.example");
	fake_dns_add(&d, "10.2.0.192.in-addr.arpa", MA_RR_PTR, "forged.q.example");
	fake_dns_add(&d, "10.2.0.192.in-addr.arpa", MA_RR_PTR, "Host.example.net");
	fake_dns_add(&d, "mail.p.example", MA_RR_A, "192.0.2.10");
	fake_dns_add(&d, "forged.q.example", MA_RR_A, "198.51.100.1"); /* not validated */
	fake_dns_add(&d, "host.example.net", MA_RR_A, "192.0.2.10");
	fake_dns_add(&d, "fakeexample.net", MA_RR_A, "192.0.2.11");
	fake_dns_add(&d, "11.2.0.192.in-addr.arpa", MA_RR_PTR, "fakeexample.net");
	fake_dns_timeout(&d, "12.2.0.192.in-addr.arpa", MA_RR_PTR);
	fake_dns_add(&d, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
		     MA_RR_PTR, "v6.p.example");
	fake_dns_add(&d, "v6.p.example", MA_RR_AAAA, "2001:db8::1");
	CHECK_STR(RESULT(run(&d, "192.0.2.10", "h", "u@p.example")), "pass");
	CHECK_STR(RESULT(run(&d, "192.0.2.10", "h", "u@q.example")), "fail"); /* not under */
	fake_dns_add(&d, "r.example", MA_RR_TXT, "v=spf1 ptr:q.example -all");
	CHECK_STR(RESULT(run(&d, "192.0.2.10", "h", "u@r.example")), "fail"); /* unvalidated */
	fake_dns_add(&d, "s.example", MA_RR_TXT, "v=spf1 ptr:example.net -all");
	CHECK_STR(RESULT(run(&d, "192.0.2.10", "h", "u@s.example")), "pass"); /* any case */
	/* "fakeexample.net" is not under "example.net": whole labels only. */
	CHECK_STR(RESULT(run(&d, "192.0.2.11", "h", "u@s.example")), "fail");
	/* A PTR lookup error: the mechanism does not match (not a temperror). */
	CHECK_STR(RESULT(run(&d, "192.0.2.12", "h", "u@s.example")), "fail");
	CHECK_STR(RESULT(run(&d, "2001:db8::1", "h", "u@p.example")), "pass");

	/* 4.6.4: only the first 10 PTR names are tried. */
	struct fake_dns e = {0};
	fake_dns_add(&e, "p.example", MA_RR_TXT, "v=spf1 ptr -all");
	for (int i = 0; i < 11; i++) {
		char name[64];
		snprintf(name, sizeof name, "n%d.%s", i, i == 10 ? "p.example" : "other.example");
		fake_dns_add(&e, "10.2.0.192.in-addr.arpa", MA_RR_PTR, name);
		fake_dns_add(&e, name, MA_RR_A, "192.0.2.10");
	}
	CHECK_STR(RESULT(run(&e, "192.0.2.10", "h", "u@p.example")), "fail");
	CHECK(e.per_type[MA_RR_A] == 10);
	fake_dns_free(&e);
	fake_dns_free(&d);
}

static void
test_exists_and_include(void)
{
	struct fake_dns d = {0};
	fake_dns_add(&d, "e.example", MA_RR_TXT, "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all");
	fake_dns_add(&d, "1.2.0.192.joe._spf.e.example", MA_RR_A, "127.0.0.2");
	fake_dns_add(&d,
		     "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.joe._spf."
		     "e.example",
		     MA_RR_A, "127.0.0.2");
	CHECK_STR(RESULT(run(&d, "192.0.2.1", "h", "joe-extension@e.example")), "pass");
	CHECK_STR(RESULT(run(&d, "192.0.2.1", "h", "ann@e.example")), "fail");
	/* exists asks for A records whatever the client's family (5.7). */
	CHECK_STR(RESULT(run(&d, "2001:db8::1", "h", "joe@e.example")), "pass");

	fake_dns_add(&d, "inc.example", MA_RR_TXT, "v=spf1 include:pass.example -all");
	fake_dns_add(&d, "pass.example", MA_RR_TXT, "v=spf1 ip4:192.0.2.0/24 ~all");
	fake_dns_add(&d, "incnone.example", MA_RR_TXT, "v=spf1 include:nothing.example +all");
	fake_dns_add(&d, "nothing.example", MA_RR_A, "192.0.2.1");
	fake_dns_add(&d, "inctemp.example", MA_RR_TXT, "v=spf1 include:slow.example +all");
	fake_dns_timeout(&d, "slow.example", MA_RR_TXT);
	fake_dns_add(&d, "incperm.example", MA_RR_TXT, "v=spf1 include:bad.example +all");
	fake_dns_add(&d, "bad.example", MA_RR_TXT, "v=spf1 nonsense");
	fake_dns_add(&d, "incneg.example", MA_RR_TXT, "v=spf1 -include:pass.example ?all");
	/* 5.2: include's target pass matches; fail, softfail, neutral do not. */
	CHECK_STR(RESULT(run(&d, "192.0.2.5", "h", "u@inc.example")), "pass");
	CHECK_STR(RESULT(run(&d, "198.51.100.5", "h", "u@inc.example")), "fail");
	CHECK_STR(RESULT(run(&d, "192.0.2.5", "h", "u@incneg.example")), "fail");
	CHECK_STR(RESULT(run(&d, "198.51.100.5", "h", "u@incneg.example")), "neutral");
	/* none in the target is a permerror; temperror and permerror pass through. */
	struct spf_outcome o = run(&d, "192.0.2.5", "h", "u@incnone.example");
	CHECK_STR(RESULT(o), "permerror");
	CHECK(strstr(o.reason, "no SPF record") != NULL);
	CHECK_STR(RESULT(run(&d, "192.0.2.5", "h", "u@inctemp.example")), "temperror");
	CHECK_STR(RESULT(run(&d, "192.0.2.5", "h", "u@incperm.example")), "permerror");
	fake_dns_free(&d);
}

static void
test_redirect(void)
{
	struct fake_dns d = {0};
	fake_dns_add(&d, "r.example", MA_RR_TXT,
		     "v=spf1 ip4:192.0.2.1 redirect=target.example exp=mine.example");
	fake_dns_add(&d, "target.example", MA_RR_TXT,
		     "v=spf1 ip4:192.0.2.2 -all exp=theirs.example");
	fake_dns_add(&d, "mine.example", MA_RR_TXT, "not this one");
	fake_dns_add(&d, "theirs.example", MA_RR_TXT, "%{d} refuses %{i}");
	fake_dns_add(&d, "rall.example", MA_RR_TXT, "v=spf1 redirect=target.example ?all");
	fake_dns_add(&d, "rnone.example", MA_RR_TXT, "v=spf1 redirect=nothing.example");
	fake_dns_add(&d, "rtemp.example", MA_RR_TXT, "v=spf1 redirect=slow.example");
	fake_dns_timeout(&d, "slow.example", FAKE_DNS_ANY);
	CHECK_STR(RESULT(run(&d, "192.0.2.1", "h", "u@r.example")), "pass");
	CHECK_STR(RESULT(run(&d, "192.0.2.2", "h", "u@r.example")), "pass");
	struct spf_outcome o = run(&d, "192.0.2.3", "h", "u@r.example");
	CHECK_STR(RESULT(o), "fail");
	/* 6.2: the target's exp= applies, with %{d} the target; the original's does not. */
	CHECK_STR(o.explanation, "target.example refuses 192.0.2.3");
	CHECK(o.lookups == 1);
	/* 6.1: a redirect is ignored when the record has an all. */
	CHECK_STR(RESULT(run(&d, "192.0.2.3", "h", "u@rall.example")), "neutral");
	/* 6.1: a redirect to a domain without a record is a permerror. */
	CHECK_STR(RESULT(run(&d, "192.0.2.3", "h", "u@rnone.example")), "permerror");
	CHECK_STR(RESULT(run(&d, "192.0.2.3", "h", "u@rtemp.example")), "temperror");
	fake_dns_free(&d);
}

static void
test_explanation(void)
{
	struct fake_dns d = {0};
	fake_dns_add(&d, "x.example", MA_RR_TXT, "v=spf1 -all exp=explain._spf.%{d}");
	fake_dns_add(&d, "explain._spf.x.example", MA_RR_TXT,
		     "%{i} is not one of %{d}'s designated mail servers; %{s} from %{h} at %{t} "
		     "to %{r} (%{c}, %{v}, 100%%)");
	fake_dns_add(&d, "noexp.example", MA_RR_TXT, "v=spf1 -all exp=missing.example");
	fake_dns_add(&d, "twoexp.example", MA_RR_TXT, "v=spf1 -all exp=two.example");
	fake_dns_add(&d, "two.example", MA_RR_TXT, "one");
	fake_dns_add(&d, "two.example", MA_RR_TXT, "two");
	fake_dns_add(&d, "badexp.example", MA_RR_TXT, "v=spf1 -all exp=bad.example");
	fake_dns_add(&d, "bad.example", MA_RR_TXT, "broken %{z} macro");
	fake_dns_add(&d, "slowexp.example", MA_RR_TXT, "v=spf1 -all exp=slow.example");
	fake_dns_timeout(&d, "slow.example", MA_RR_TXT);
	fake_dns_add(&d, "inc.example", MA_RR_TXT, "v=spf1 include:x.example -all");
	fake_dns_add(&d, "soft.example", MA_RR_TXT, "v=spf1 ~all exp=explain._spf.x.example");
	struct spf_outcome o = run(&d, "192.0.2.3", "helo.example", "joe@x.example");
	CHECK_STR(RESULT(o), "fail");
	CHECK_STR(o.explanation, "192.0.2.3 is not one of x.example's designated mail servers; "
				 "joe@x.example from helo.example at 1700000000 to "
				 "mx.receiver.example (192.0.2.3, in-addr, 100%)");
	/* No TXT, two TXT, a syntax error, a DNS error: the default explanation (6.2). */
	const char *deflt = "does not designate 192.0.2.3 as a permitted sender";
	const char *senders[] = {"u@noexp.example", "u@twoexp.example", "u@badexp.example",
				 "u@slowexp.example"};
	for (int i = 0; i < 4; i++) {
		o = run(&d, "192.0.2.3", "h.example", senders[i]);
		CHECK_STR(RESULT(o), "fail");
		CHECK(strstr(o.explanation, deflt) != NULL);
	}
	/* The exp lookup is not one of the 10 (4.6.4). */
	CHECK(o.lookups == 0);
	/* An included record's exp= is never used (6.2). */
	o = run(&d, "192.0.2.3", "h.example", "u@inc.example");
	CHECK_STR(RESULT(o), "fail");
	CHECK(strstr(o.explanation, "inc.example does not designate") != NULL);
	/* Only a fail is explained. */
	o = run(&d, "192.0.2.3", "h.example", "u@soft.example");
	CHECK_STR(RESULT(o), "softfail");
	CHECK_STR(o.explanation, "");
	fake_dns_free(&d);
}

static void
test_p_macro(void)
{
	/* 7.3 %{p}: the validated name, preferring the domain itself or a subdomain. */
	struct fake_dns d = {0};
	fake_dns_add(&d, "p.example", MA_RR_TXT, "v=spf1 -all exp=why.p.example");
	fake_dns_add(&d, "why.p.example", MA_RR_TXT, "connect from %{p}");
	fake_dns_add(&d, "10.2.0.192.in-addr.arpa", MA_RR_PTR, "other.example");
	fake_dns_add(&d, "10.2.0.192.in-addr.arpa", MA_RR_PTR, "mx.p.example");
	fake_dns_add(&d, "other.example", MA_RR_A, "192.0.2.10");
	fake_dns_add(&d, "mx.p.example", MA_RR_A, "192.0.2.10");
	CHECK_STR(run(&d, "192.0.2.10", "h", "u@p.example").explanation,
		  "connect from mx.p.example");
	CHECK_STR(run(&d, "192.0.2.11", "h", "u@p.example").explanation, "connect from unknown");
	fake_dns_free(&d);
}

static void
test_syntax_error_anywhere(void)
{
	/* 4.6: a syntax error anywhere is a permerror, even after a matching term. */
	struct fake_dns d = {0};
	fake_dns_add(&d, "s.example", MA_RR_TXT, "v=spf1 +all ip4:192.0.2.300");
	fake_dns_add(&d, "t.example", MA_RR_TXT,
		     "v=spf1 +all redirect=a.example redirect=b.example");
	struct spf_outcome o = run(&d, "192.0.2.1", "h", "u@s.example");
	CHECK_STR(RESULT(o), "permerror");
	CHECK(strstr(o.reason, "ip4:192.0.2.300") != NULL);
	CHECK_STR(RESULT(run(&d, "192.0.2.1", "h", "u@t.example")), "permerror");
	CHECK(strcmp(spf_result_name((enum spf_result)99), "permerror") == 0);
	fake_dns_free(&d);
}

int
main(void)
{
	test_record_selection();
	test_initial_processing();
	test_helo_identity();
	test_qualifiers_and_ip();
	test_a_and_mx();
	test_ptr();
	test_exists_and_include();
	test_redirect();
	test_explanation();
	test_p_macro();
	test_syntax_error_anywhere();
	return test_summary("test_spf");
}
