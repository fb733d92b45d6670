/*
 * Unit tests for mailauth/spf_flat: terms found and placed, records merged,
 * and records flattened over a table DNS (fake_dns.h): include, a, mx and
 * redirect replaced by today's addresses with their CIDR lengths and the
 * include's qualifier, only an include's pass terms carried out, macros,
 * exists and unreadable includes kept as written, the remaining lookups
 * counted as RFC 7208 4.6.4 counts them, a DNS failure and a result too
 * long refused.
 */
#include <string.h>

#include "fake_dns.h"
#include "harness.h"
#include "spf_flat.h"

static void
test_terms(void)
{
	CHECK(spf_flat_has_term("v=spf1 ip4:192.0.2.1 -all", "ip4:192.0.2.1"));
	CHECK(spf_flat_has_term("v=spf1 +ip4:192.0.2.1 -all", "ip4:192.0.2.1"));
	CHECK(spf_flat_has_term("v=spf1  IP4:192.0.2.1", "ip4:192.0.2.1"));
	CHECK(!spf_flat_has_term("v=spf1 ip4:192.0.2.10 -all", "ip4:192.0.2.1"));
	CHECK(!spf_flat_has_term("v=spf1 -ip4:192.0.2.1", "ip4:192.0.2.1"));
	CHECK(!spf_flat_has_term("", "ip4:192.0.2.1"));

	const char *r = "v=spf1 a mx -all";
	CHECK(spf_flat_tail_offset(r) == strlen("v=spf1 a mx "));
	r = "v=spf1 a redirect=_spf.example.test";
	CHECK(spf_flat_tail_offset(r) == strlen("v=spf1 a "));
	r = "v=spf1 a ~all redirect=x.test";
	CHECK(spf_flat_tail_offset(r) == strlen("v=spf1 a "));
	r = "v=spf1 a allx";
	CHECK(spf_flat_tail_offset(r) == strlen(r));
	r = "v=spf1 ?all exp=e.test";
	CHECK(spf_flat_tail_offset(r) == strlen("v=spf1 "));
}

static void
test_merge(void)
{
	struct buf b;
	buf_init(&b, 0);
	const char *two[] = {"v=spf1 ip4:192.0.2.1 -all",
			     "v=spf1 include:a.test ip4:192.0.2.1 ~all"};
	spf_flat_merge(two, 2, &b);
	CHECK_STR(b.data, "v=spf1 ip4:192.0.2.1 include:a.test -all");
	buf_reset(&b);
	const char *redirect[] = {"v=spf1 a redirect=x.test", "v=spf1 mx"};
	spf_flat_merge(redirect, 2, &b);
	CHECK_STR(b.data, "v=spf1 a mx redirect=x.test");
	buf_reset(&b);
	const char *bare[] = {"v=spf1 a", "v=spf1 +a  mx"};
	spf_flat_merge(bare, 2, &b);
	CHECK_STR(b.data, "v=spf1 a mx ~all");
	buf_free(&b);
}

static struct fake_dns d;

static void
zone(void)
{
	fake_dns_free(&d);
	fake_dns_add(&d, "d.test", MA_RR_TXT, "v=spf1 include:i.test a:h.test mx -all");
	fake_dns_add(&d, "d.test", MA_RR_MX, "mx.d.test");
	fake_dns_add(&d, "mx.d.test", MA_RR_A, "10.4.4.4");
	fake_dns_add(&d, "i.test", MA_RR_TXT, "v=spf1 ip4:10.0.0.0/8 -ip4:10.1.1.1 a:ih.test ~all");
	fake_dns_add(&d, "ih.test", MA_RR_A, "10.2.2.2");
	fake_dns_add(&d, "h.test", MA_RR_A, "10.3.3.3");
	fake_dns_add(&d, "h.test", MA_RR_AAAA, "2001:db8::3");
	fake_dns_add(&d, "i2.test", MA_RR_TXT, "v=spf1 exists:%{i}.y.test -all");
	fake_dns_add(&d, "r.test", MA_RR_TXT, "v=spf1 a:h.test ?all");
}

/* The flattened record of domain for record; lookups into *left; -1 on refusal. */
static int
flat(const char *domain, const char *record, struct buf *out, unsigned *left)
{
	struct ma_dns dns = fake_dns_iface(&d);
	char why[256];
	buf_reset(out);
	return spf_flat_flatten(&dns, domain, record, out, left, why, sizeof why);
}

static void
test_flatten(void)
{
	struct buf b;
	buf_init(&b, 0);
	unsigned left = 99;
	zone();
	CHECK(flat("d.test", "v=spf1 include:i.test a:h.test mx -all", &b, &left) == 0);
	/* i.test's pass terms only (not -ip4, not ~all); a and mx by address. */
	CHECK_STR(b.data, "v=spf1 ip4:10.0.0.0/8 ip4:10.2.2.2 ip4:10.3.3.3 ip6:2001:db8::3 "
			  "ip4:10.4.4.4 -all");
	CHECK(left == 0);

	/* The include's qualifier goes to every term it brings. */
	CHECK(flat("d.test", "v=spf1 ~include:i.test -all", &b, &left) == 0);
	CHECK_STR(b.data, "v=spf1 ~ip4:10.0.0.0/8 ~ip4:10.2.2.2 -all");

	/* CIDR lengths, IPv4 and IPv6. */
	CHECK(flat("d.test", "v=spf1 a:h.test/24//64 -all", &b, &left) == 0);
	CHECK_STR(b.data, "v=spf1 ip4:10.3.3.3/24 ip6:2001:db8::3/64 -all");

	/* Macros, exists, an include using exists: kept, and counted. */
	CHECK(flat("d.test", "v=spf1 exists:%{i}.x.test include:i2.test a:h.test -all", &b,
		   &left) == 0);
	CHECK_STR(b.data, "v=spf1 exists:%{i}.x.test include:i2.test ip4:10.3.3.3 "
			  "ip6:2001:db8::3 -all");
	CHECK(left == 3); /* exists, include, and i2's exists */

	/* redirect= is followed when no all ends the record; exp= kept. */
	CHECK(flat("d.test", "v=spf1 ip4:192.0.2.1 redirect=r.test exp=e.d.test", &b, &left) == 0);
	CHECK_STR(b.data, "v=spf1 ip4:192.0.2.1 exp=e.d.test ip4:10.3.3.3 ip6:2001:db8::3 ?all");
	CHECK(left == 0);

	/* Terms after an all are never reached: dropped. */
	CHECK(flat("d.test", "v=spf1 -all a:h.test", &b, &left) == 0);
	CHECK_STR(b.data, "v=spf1 -all");

	/* An include without a record stays (the census will say why). */
	CHECK(flat("d.test", "v=spf1 include:none.test -all", &b, &left) == 0);
	CHECK_STR(b.data, "v=spf1 include:none.test -all");

	/* A lookup that fails: no record to propose. */
	fake_dns_timeout(&d, "h.test", FAKE_DNS_ANY);
	CHECK(flat("d.test", "v=spf1 a:h.test -all", &b, &left) < 0);

	/* A redirect (or include) loop ends at the depth limit, the last hop kept. */
	zone();
	fake_dns_add(&d, "loop.test", MA_RR_TXT, "v=spf1 ip4:192.0.2.9 redirect=loop.test");
	CHECK(flat("loop.test", "v=spf1 redirect=loop.test", &b, &left) == 0);
	CHECK_STR(b.data, "v=spf1 ip4:192.0.2.9 redirect=loop.test");
	fake_dns_add(&d, "il.test", MA_RR_TXT, "v=spf1 ip4:192.0.2.8 include:il.test");
	CHECK(flat("il.test", "v=spf1 include:il.test -all", &b, &left) == 0);
	/* The nested include cannot be flattened, so neither can the first: kept. */
	CHECK_STR(b.data, "v=spf1 include:il.test -all");

	/* Duplicates appear once. */
	zone();
	CHECK(flat("d.test", "v=spf1 a:h.test a:h.test ip4:10.3.3.3 -all", &b, &left) == 0);
	CHECK_STR(b.data, "v=spf1 ip4:10.3.3.3 ip6:2001:db8::3 -all");

	/* Too long to publish. */
	char name[32];
	for (int i = 0; i < 400; i++) {
		snprintf(name, sizeof name, "10.9.%d.%d", i / 250, i % 250);
		fake_dns_add(&d, "big.test", MA_RR_A, name);
	}
	CHECK(flat("d.test", "v=spf1 a:big.test -all", &b, &left) < 0);
	fake_dns_free(&d);
	buf_free(&b);
}

int
main(void)
{
	test_terms();
	test_merge();
	test_flatten();
	return test_summary("test_spf_flat");
}
