/*
 * Unit tests for mailauth/dns_wire: answers built octet by octet here (a
 * question, a CNAME, TLSA records with compressed owners), the header's
 * AD bit and rcode, malformed answers refused with a reason, RFC 7672's
 * usable records, and the presentation format.
 */
#include <string.h>

#include "dns_wire.h"
#include "harness.h"

struct msg {
	uint8_t b[4096];
	size_t n;
};

static void
put(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void
put16(struct msg *m, unsigned v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(m, b, 2);
}

/* "_25._tcp.mx.example" as labels. */
static void
put_qname(struct msg *m)
{
	static const uint8_t name[] = "\x03_25\x04_tcp\x02mx\x07"
				      "example";
	put(m, name, sizeof name); /* with the root's zero octet */
}

static void
header(struct msg *m, uint8_t flags2, uint8_t flags3, unsigned qd, unsigned an)
{
	m->n = 0;
	put16(m, 0x1234);
	put(m, &flags2, 1);
	put(m, &flags3, 1);
	put16(m, qd);
	put16(m, an);
	put16(m, 0);
	put16(m, 0);
}

static void
rr_tlsa(struct msg *m, uint8_t u, uint8_t s, uint8_t t, const uint8_t *data, size_t n)
{
	put16(m, 0xc00c); /* the question's name */
	put16(m, DNS_TYPE_TLSA);
	put16(m, 1);
	put16(m, 0);
	put16(m, 300);
	put16(m, (unsigned)(3 + n));
	uint8_t h[3] = {u, s, t};
	put(m, h, 3);
	put(m, data, n);
}

static void
test_header(void)
{
	struct msg m;
	struct dns_wire_header h;
	header(&m, 0x81, 0xa0, 1, 0); /* QR RD, RA AD, NOERROR */
	CHECK(dns_wire_header(m.b, m.n, &h) == 0);
	CHECK(h.qr && h.rd && h.ra && h.ad && !h.cd && !h.tc && h.rcode == 0 && h.qdcount == 1);
	header(&m, 0x81, 0x82, 1, 0); /* RA, SERVFAIL, no AD */
	CHECK(dns_wire_header(m.b, m.n, &h) == 0);
	CHECK(!h.ad && h.rcode == DNS_RCODE_SERVFAIL);
	header(&m, 0x83, 0xb3, 0, 0); /* TC, AD CD, NXDOMAIN */
	CHECK(dns_wire_header(m.b, m.n, &h) == 0);
	CHECK(h.tc && h.ad && h.cd && h.rcode == DNS_RCODE_NXDOMAIN);
	CHECK(dns_wire_header(m.b, 11, &h) < 0);
	CHECK(dns_wire_header(NULL, 0, &h) < 0);
}

static void
test_tlsa(void)
{
	struct msg m;
	struct dns_tlsa t[4];
	size_t n, total;
	char why[200];
	uint8_t sha256[32], sha512[64], big[DNS_TLSA_DATA_MAX + 1];
	for (size_t i = 0; i < sizeof sha256; i++)
		sha256[i] = (uint8_t)i;
	memset(sha512, 0xab, sizeof sha512);
	memset(big, 0x11, sizeof big);
	header(&m, 0x81, 0xa0, 1, 5);
	put_qname(&m);
	put16(&m, DNS_TYPE_TLSA);
	put16(&m, 1);
	/* A CNAME first (the resolver followed it): skipped. */
	put16(&m, 0xc00c);
	put16(&m, 5);
	put16(&m, 1);
	put16(&m, 0);
	put16(&m, 60);
	put16(&m, 7);
	put(&m, "\x02tl\xc0\x15", 5); /* "tl" + a pointer into the question */
	put(&m, "\0\0", 2);
	rr_tlsa(&m, 3, 1, 1, sha256, sizeof sha256);
	rr_tlsa(&m, 2, 0, 2, sha512, sizeof sha512);
	rr_tlsa(&m, 1, 1, 1, sha256, sizeof sha256);
	rr_tlsa(&m, 3, 1, 0, big, sizeof big); /* counted, too long to keep */
	CHECK(dns_wire_tlsa(m.b, m.n, t, 4, &n, &total, why, sizeof why) == 0);
	CHECK(n == 3 && total == 4);
	CHECK(t[0].usage == 3 && t[0].selector == 1 && t[0].mtype == 1 && t[0].len == 32);
	CHECK(memcmp(t[0].data, sha256, 32) == 0);
	CHECK(t[1].usage == 2 && t[1].selector == 0 && t[1].mtype == 2 && t[1].len == 64);
	CHECK(t[2].usage == 1);
	/* max bounds what is stored, never what is counted. */
	CHECK(dns_wire_tlsa(m.b, m.n, t, 1, &n, &total, why, sizeof why) == 0);
	CHECK(n == 1 && total == 4);
	/* Every truncation of it is refused with a reason, or parsed within bounds. */
	for (size_t cut = 0; cut < m.n; cut++) {
		int rc = dns_wire_tlsa(m.b, cut, t, 4, &n, &total, why, sizeof why);
		CHECK(rc < 0 ? why[0] != '\0' : n <= 4);
		CHECK(rc < 0); /* the header says 5 answers: a cut one never parses */
	}
	/* A TLSA record without data. */
	header(&m, 0x81, 0xa0, 1, 1);
	put_qname(&m);
	put16(&m, DNS_TYPE_TLSA);
	put16(&m, 1);
	rr_tlsa(&m, 3, 1, 1, sha256, 0);
	CHECK(dns_wire_tlsa(m.b, m.n, t, 4, &n, &total, why, sizeof why) < 0);
	CHECK(strstr(why, "shorter than 4") != NULL);
	/* A reserved label type in the question. */
	header(&m, 0x81, 0xa0, 1, 0);
	put(&m, "\x41xx\0\0\x34\0\1", 8);
	CHECK(dns_wire_tlsa(m.b, m.n, t, 4, &n, &total, why, sizeof why) < 0);
	CHECK(strstr(why, "question") != NULL);
	/* A name of more than 255 octets. */
	header(&m, 0x81, 0xa0, 1, 0);
	for (int i = 0; i < 5; i++) {
		uint8_t l = 63, lab[63];
		memset(lab, 'a', sizeof lab);
		put(&m, &l, 1);
		put(&m, lab, sizeof lab);
	}
	put(&m, "\0\0\x34\0\1", 5);
	CHECK(dns_wire_tlsa(m.b, m.n, t, 4, &n, &total, why, sizeof why) < 0);
	/* No answers, NXDOMAIN: fine, nothing. */
	header(&m, 0x81, 0xa3, 1, 0);
	put_qname(&m);
	put16(&m, DNS_TYPE_TLSA);
	put16(&m, 1);
	CHECK(dns_wire_tlsa(m.b, m.n, t, 4, &n, &total, why, sizeof why) == 0 && total == 0);
}

static void
test_usable(void)
{
	struct dns_tlsa t = {.usage = 3, .selector = 1, .mtype = 1, .len = 32};
	CHECK(dns_tlsa_usable(&t));
	t.usage = 2;
	CHECK(dns_tlsa_usable(&t));
	t.usage = 1;
	CHECK(!dns_tlsa_usable(&t)); /* PKIX-EE: RFC 7672 3.1.3 */
	t.usage = 0;
	CHECK(!dns_tlsa_usable(&t));
	t.usage = 4;
	CHECK(!dns_tlsa_usable(&t));
	t.usage = 3;
	t.len = 31;
	CHECK(!dns_tlsa_usable(&t));
	t.mtype = 2;
	t.len = 64;
	CHECK(dns_tlsa_usable(&t));
	t.len = 32;
	CHECK(!dns_tlsa_usable(&t));
	t.mtype = 0;
	t.len = 294;
	CHECK(dns_tlsa_usable(&t));
	t.mtype = 3;
	CHECK(!dns_tlsa_usable(&t));
	t.mtype = 1;
	t.len = 32;
	t.selector = 2;
	CHECK(!dns_tlsa_usable(&t));
}

static void
test_format(void)
{
	struct dns_tlsa t = {.usage = 3, .selector = 1, .mtype = 1, .len = 4};
	memcpy(t.data, "\x0a\x1b\xff\x00", 4);
	char out[40];
	dns_tlsa_format(&t, out, sizeof out);
	CHECK_STR(out, "3 1 1 0a1bff00");
	t.len = 32;
	memset(t.data, 0xee, 32);
	dns_tlsa_format(&t, out, sizeof out);
	CHECK(strlen(out) == sizeof out - 1);
	CHECK(strncmp(out, "3 1 1 eeee", 10) == 0);
	CHECK(strcmp(out + strlen(out) - 3, "...") == 0);
	char small[8] = "x";
	dns_tlsa_format(&t, small, sizeof small);
	CHECK_STR(small, "");
}

int
main(void)
{
	test_header();
	test_tlsa();
	test_usable();
	test_format();
	return test_summary("dns_wire");
}
