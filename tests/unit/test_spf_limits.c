/*
 * Unit tests of the processing limits of RFC 7208 4.6.4 (10 DNS-querying
 * terms over all records visited, 10 MX names per mx, 2 void lookups), of
 * the 7.3 cut of long expanded names during evaluation, and of the domain
 * check's census (spf_census), over a table DNS.
 */
#include <stdio.h>
#include <string.h>

#include "fake_dns.h"
#include "harness.h"
#include "spf.h"

static struct spf_outcome
run(struct fake_dns *d, const char *ip, const char *sender)
{
	struct ma_dns dns = fake_dns_iface(d);
	struct spf_request rq = {.ip = ip, .helo = "h.example", .sender = sender, .now = 1};
	struct spf_outcome o;
	spf_check(&dns, &rq, &o);
	return o;
}

#define RESULT(o) spf_result_name((o).result)

/* "v=spf1" + n terms "a:h<i>.example" + tail. */
static void
record_of(char *out, size_t size, int n, const char *tail)
{
	size_t len = (size_t)snprintf(out, size, "v=spf1");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, size - len, " a:h%d.example", i);
	snprintf(out + len, size - len, " %s", tail);
}

static void
test_dns_term_limit(void)
{
	struct fake_dns d = {0};
	char rec[2048];
	for (int i = 0; i < 12; i++) {
		char name[64];
		snprintf(name, sizeof name, "h%d.example", i);
		fake_dns_add(&d, name, MA_RR_A, "198.51.100.1"); /* exists, never the client */
	}
	record_of(rec, sizeof rec, 10, "ip4:192.0.2.1 -all");
	fake_dns_add(&d, "ten.example", MA_RR_TXT, rec);
	record_of(rec, sizeof rec, 11, "ip4:192.0.2.1 -all");
	fake_dns_add(&d, "eleven.example", MA_RR_TXT, rec);
	record_of(rec, sizeof rec, 11, "-all");
	char lazy[2100];
	snprintf(lazy, sizeof lazy, "v=spf1 ip4:192.0.2.1 %s", rec + 7);
	fake_dns_add(&d, "lazy.example", MA_RR_TXT, lazy);

	struct spf_outcome o = run(&d, "192.0.2.1", "u@ten.example");
	CHECK_STR(RESULT(o), "pass");
	CHECK(o.lookups == 10);
	o = run(&d, "192.0.2.1", "u@eleven.example");
	CHECK_STR(RESULT(o), "permerror"); /* the 11th DNS-querying term */
	CHECK(o.lookups == 11);
	CHECK(strstr(o.reason, "more than 10") != NULL);
	/* The limit is met during evaluation: a match before the 11th ends it. */
	CHECK_STR(RESULT(run(&d, "192.0.2.1", "u@lazy.example")), "pass");
	fake_dns_free(&d);

	/* Included records count toward the same 10; so do include and redirect. */
	struct fake_dns e = {0};
	fake_dns_add(&e, "top.example", MA_RR_TXT,
		     "v=spf1 include:i1.example include:i2.example ip4:192.0.2.1 -all");
	fake_dns_add(&e, "i1.example", MA_RR_TXT, "v=spf1 a:n.example a:n.example a:n.example");
	fake_dns_add(&e, "i2.example", MA_RR_TXT, "v=spf1 mx:n.example redirect=i3.example");
	fake_dns_add(&e, "i3.example", MA_RR_TXT, "v=spf1 exists:n.example exists:n.example");
	fake_dns_add(&e, "n.example", MA_RR_A, "198.51.100.9");
	fake_dns_add(&e, "n.example", MA_RR_MX, "n.example");
	o = run(&e, "192.0.2.1", "u@top.example");
	/* include + 3 a, include + mx + redirect + exists (n.example exists: a match,
	 * so i3 passes, so does i2 and with it the top) = 8, all counted together. */
	CHECK_STR(RESULT(o), "pass");
	CHECK(o.lookups == 8);
	fake_dns_add(&e, "loop.example", MA_RR_TXT, "v=spf1 include:loop.example -all");
	fake_dns_add(&e, "rloop.example", MA_RR_TXT, "v=spf1 redirect=rloop.example");
	o = run(&e, "192.0.2.1", "u@loop.example");
	CHECK_STR(RESULT(o), "permerror"); /* a loop ends at the limit */
	CHECK_STR(RESULT(run(&e, "192.0.2.1", "u@rloop.example")), "permerror");
	fake_dns_free(&e);
}

static void
test_mx_name_limit(void)
{
	struct fake_dns d = {0};
	fake_dns_add(&d, "ten.example", MA_RR_TXT, "v=spf1 mx -all");
	fake_dns_add(&d, "eleven.example", MA_RR_TXT, "v=spf1 mx -all");
	for (int i = 0; i < 11; i++) {
		char name[64];
		snprintf(name, sizeof name, "m%d.example", i);
		if (i < 10)
			fake_dns_add(&d, "ten.example", MA_RR_MX, name);
		fake_dns_add(&d, "eleven.example", MA_RR_MX, name);
		fake_dns_add(&d, name, MA_RR_A, i == 9 ? "192.0.2.1" : "198.51.100.1");
	}
	CHECK_STR(RESULT(run(&d, "192.0.2.1", "u@ten.example")), "pass");
	/* 4.6.4: an mx answering more than 10 names is a permerror. */
	struct spf_outcome o = run(&d, "192.0.2.1", "u@eleven.example");
	CHECK_STR(RESULT(o), "permerror");
	CHECK(strstr(o.reason, "10 MX") != NULL);
	fake_dns_free(&d);
}

static void
test_void_limit(void)
{
	struct fake_dns d = {0};
	fake_dns_add(&d, "nodata.example", MA_RR_TXT, "text");
	fake_dns_add(&d, "two.example", MA_RR_TXT,
		     "v=spf1 a:nx1.example mx:nodata.example ip4:192.0.2.1 -all");
	fake_dns_add(
	    &d, "three.example", MA_RR_TXT,
	    "v=spf1 a:nx1.example mx:nodata.example exists:nx2.example ip4:192.0.2.1 -all");
	fake_dns_add(&d, "inc.example", MA_RR_TXT, "v=spf1 a:nx1.example include:two.example -all");
	struct spf_outcome o = run(&d, "192.0.2.1", "u@two.example");
	CHECK_STR(RESULT(o), "pass");
	CHECK(o.void_lookups == 2);
	o = run(&d, "192.0.2.1", "u@three.example");
	CHECK_STR(RESULT(o), "permerror"); /* the third void lookup */
	CHECK(o.void_lookups == 3);
	CHECK(strstr(o.reason, "void") != NULL);
	/* Voids count over all the records visited. */
	CHECK_STR(RESULT(run(&d, "192.0.2.1", "u@inc.example")), "permerror");
	/* A void ptr lookup counts too. */
	fake_dns_add(&d, "ptr.example", MA_RR_TXT, "v=spf1 a:nx1.example a:nx2.example ptr -all");
	CHECK_STR(RESULT(run(&d, "192.0.2.1", "u@ptr.example")), "permerror");
	fake_dns_free(&d);
}

static void
test_long_names(void)
{
	/* 7.3: the expanded name is cut to 253 octets from the left before the query. */
	struct fake_dns d = {0};
	char local[200];
	memset(local, 0, sizeof local);
	for (int i = 0; i < 3; i++) {
		memset(local + i * 50, 'a' + i, 49);
		local[i * 50 + 49] = '.';
	}
	local[149] = 0; /* "aaa...a.bbb...b.ccc...c": 149 octets */
	char sender[300];
	snprintf(sender, sizeof sender, "%s@long.example", local);
	/* l.l.example: 149 + 1 + 149 + 1 + 12 = 312 octets -> drop whole labels -> <= 253 */
	fake_dns_add(&d, "long.example", MA_RR_TXT, "v=spf1 exists:%{l}.%{l}.long.example -all");
	char want[300];
	snprintf(want, sizeof want, "%s.%s.long.example", local + 100, local);
	CHECK(strlen(want) <= 253);
	fake_dns_add(&d, want, MA_RR_A, "127.0.0.2");
	CHECK_STR(RESULT(run(&d, "192.0.2.1", sender)), "pass");
	fake_dns_free(&d);
}

static enum spf_census_status
census(struct fake_dns *d, const char *domain, struct spf_census *c)
{
	struct ma_dns dns = fake_dns_iface(d);
	return spf_census(&dns, domain, c);
}

static void
test_census(void)
{
	struct fake_dns d = {0};
	struct spf_census c;
	fake_dns_add(&d, "ok.example", MA_RR_TXT,
		     "v=spf1 mx a include:_spf.ok.example include:%{ir}.x.example ~all");
	fake_dns_add(&d, "_spf.ok.example", MA_RR_TXT,
		     "v=spf1 ip4:192.0.2.0/24 redirect=r.ok.example");
	fake_dns_add(&d, "r.ok.example", MA_RR_TXT, "v=spf1 exists:e.ok.example -all");
	fake_dns_add(&d, "ptr.example", MA_RR_TXT, "v=spf1 include:r.ok.example ptr -all");
	CHECK(census(&d, "ptr.example", &c) == SPF_CENSUS_OK && c.has_ptr && c.lookups == 3);
	CHECK(census(&d, "ok.example", &c) == SPF_CENSUS_OK);
	CHECK(c.lookups == 4 + 1 + 1); /* mx a include include; redirect; exists */
	CHECK(c.records == 3);
	CHECK(c.has_macros && !c.has_ptr);
	CHECK(strncmp(c.record, "v=spf1 mx a", 11) == 0);
	CHECK_STR(c.problem, "");

	CHECK(census(&d, "none.example", &c) == SPF_CENSUS_MISSING);
	CHECK(strstr(c.problem, "no SPF record") != NULL);

	fake_dns_add(&d, "syntax.example", MA_RR_TXT, "v=spf1 ip4:192.0.2.0/33 -all");
	CHECK(census(&d, "syntax.example", &c) == SPF_CENSUS_INVALID);
	CHECK(strstr(c.problem, "ip4:192.0.2.0/33") != NULL);

	fake_dns_add(&d, "two.example", MA_RR_TXT, "v=spf1 -all");
	fake_dns_add(&d, "two.example", MA_RR_TXT, "v=spf1 +all");
	CHECK(census(&d, "two.example", &c) == SPF_CENSUS_INVALID);

	fake_dns_add(&d, "incnone.example", MA_RR_TXT, "v=spf1 include:nowhere.example -all");
	CHECK(census(&d, "incnone.example", &c) == SPF_CENSUS_INVALID);
	CHECK(strstr(c.problem, "nowhere.example has no SPF record") != NULL);

	fake_dns_add(&d, "loop.example", MA_RR_TXT, "v=spf1 include:loop2.example -all");
	fake_dns_add(&d, "loop2.example", MA_RR_TXT, "v=spf1 include:LOOP.example -all");
	CHECK(census(&d, "loop.example", &c) == SPF_CENSUS_INVALID);
	CHECK(strstr(c.problem, "loop") != NULL);

	char rec[1024];
	record_of(rec, sizeof rec, 11, "-all");
	fake_dns_add(&d, "many.example", MA_RR_TXT, rec);
	CHECK(census(&d, "many.example", &c) == SPF_CENSUS_INVALID);
	CHECK(c.lookups == 11);
	CHECK(strstr(c.problem, "11 DNS-querying terms") != NULL);

	fake_dns_timeout(&d, "slow.example", MA_RR_TXT);
	fake_dns_add(&d, "incslow.example", MA_RR_TXT, "v=spf1 include:slow.example -all");
	CHECK(census(&d, "incslow.example", &c) == SPF_CENSUS_DNS_ERROR);
	/* "redirect" is ignored next to "all", so not followed or counted (6.1). */
	fake_dns_add(&d, "rall.example", MA_RR_TXT, "v=spf1 redirect=nowhere.example -all");
	CHECK(census(&d, "rall.example", &c) == SPF_CENSUS_OK && c.lookups == 0);
	CHECK(census(&d, "[192.0.2.1]", &c) == SPF_CENSUS_MISSING);
	fake_dns_free(&d);
}

int
main(void)
{
	test_dns_term_limit();
	test_mx_name_limit();
	test_void_limit();
	test_long_names();
	test_census();
	return test_summary("test_spf_limits");
}
