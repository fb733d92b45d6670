/* proxy_header: PROXY protocol v1 and v2, whole, cut short, and wrong. */
#include <string.h>
#include <sys/socket.h>

#include "harness.h"
#include "proxy_header.h"

static int
parse(const char *s, size_t n, struct proxy_header *h, const char **why)
{
	return proxy_header_parse((const unsigned char *)s, n, h, why);
}

static void
test_v1(void)
{
	struct proxy_header h;
	const char *why;
	static const char line[] = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 25\r\nEHLO x\r\n";
	CHECK(parse(line, sizeof line - 1, &h, &why) == 44);
	CHECK(h.version == 1 && !h.local && h.family == AF_INET);
	CHECK_STR(h.src, "192.0.2.7");
	CHECK_STR(h.dst, "198.51.100.1");
	CHECK(h.src_port == 56324 && h.dst_port == 25);
	for (size_t k = 0; k < 44; k++) /* cut short anywhere: wait for more */
		CHECK(parse(line, k, &h, &why) == 0);
	static const char v6[] = "PROXY TCP6 2001:DB8:0:0::7 2001:db8::1 1 587\r\n";
	CHECK(parse(v6, sizeof v6 - 1, &h, &why) == (int)sizeof v6 - 1);
	CHECK(h.family == AF_INET6);
	CHECK_STR(h.src, "2001:db8::7"); /* canonical text */
	static const char unknown[] = "PROXY UNKNOWN ffff:f...f:ffff 1 2\r\n";
	CHECK(parse(unknown, sizeof unknown - 1, &h, &why) == (int)sizeof unknown - 1);
	CHECK(h.local);
	static const struct {
		const char *in, *why;
	} bad[] = {
	    {"EHLO client.example\r\n", "no PROXY protocol header"},
	    {"PROXY TCP4 192.0.2.7 198.51.100.1 56324 25\n", "not ended by CRLF"},
	    {"PROXY TCP4 2001:db8::7 198.51.100.1 1 2\r\n", "not of its protocol"},
	    {"PROXY TCP4 192.0.2.7 198.51.100.1 65536 25\r\n", "port"},
	    {"PROXY TCP4 192.0.2.7 198.51.100.1 025 25\r\n", "port"},
	    {"PROXY TCP4 192.0.2.7  198.51.100.1 1 25\r\n", "too many fields"},
	    {"PROXY UDP4 192.0.2.7 198.51.100.1 1 25\r\n", "other than TCP4"},
	    {"PROXY TCP4 192.0.2.7 198.51.100.1 1\r\n", "four addresses"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(parse(bad[i].in, strlen(bad[i].in), &h, &why) == -1);
		CHECK(strstr(why, bad[i].why) != NULL);
	}
	char longer[200];
	memset(longer, 'x', sizeof longer);
	memcpy(longer, "PROXY TCP4 ", 11);
	CHECK(parse(longer, sizeof longer, &h, &why) == -1 && strstr(why, "107 bytes"));
}

static void
test_v2(void)
{
	static const unsigned char sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
					      0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
	unsigned char b[64];
	struct proxy_header h;
	const char *why;
	/* TCP over IPv4 with a 7-byte TLV after the addresses, then SMTP. */
	memcpy(b, sig, 12);
	unsigned char rest[] = {0x21, 0x11, 0,	 19,   192,  0,	  2,   7,    198,
				51,   100,  1,	 0xDC, 0x04, 0,	  25,  0x04, 0,
				4,    'a',  'b', 'c',  'd',  'E', 'H', 'L',  'O'};
	memcpy(b + 12, rest, sizeof rest);
	size_t n = 12 + sizeof rest;
	CHECK(proxy_header_parse(b, n, &h, &why) == 35);
	CHECK(h.version == 2 && !h.local && h.family == AF_INET);
	CHECK_STR(h.src, "192.0.2.7");
	CHECK(h.src_port == 56324 && h.dst_port == 25);
	for (size_t k = 0; k < 35; k++)
		CHECK(proxy_header_parse(b, k, &h, &why) == 0);
	b[12] = 0x20; /* LOCAL: a health check */
	CHECK(proxy_header_parse(b, n, &h, &why) == 35 && h.local);
	b[12] = 0x11; /* version 1 in binary */
	CHECK(proxy_header_parse(b, n, &h, &why) == -1 && strstr(why, "another version"));
	b[12] = 0x22;
	CHECK(proxy_header_parse(b, n, &h, &why) == -1 && strstr(why, "LOCAL or PROXY"));
	b[12] = 0x21;
	b[15] = 8; /* IPv4 addresses need 12 bytes */
	CHECK(proxy_header_parse(b, n, &h, &why) == -1 && strstr(why, "do not fit"));
	b[14] = 0x10; /* 4096 + 8 bytes */
	CHECK(proxy_header_parse(b, n, &h, &why) == -1 && strstr(why, "1024"));
}

int
main(void)
{
	test_v1();
	test_v2();
	return test_summary("test_proxy_header");
}
