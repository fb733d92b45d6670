/*
 * Unit tests for core/smtp_addr: RFC 5321 4.1.2 paths and mailboxes, the
 * 4.5.3.1 limits, address literals, source routes and RFC 6531 UTF-8
 * (valid sequences only: no overlongs, no surrogates). Table-driven; the
 * tables are longer than a screen on purpose.
 */
#include <string.h>

#include "harness.h"
#include "smtp_addr.h"

struct path_case {
	const char *in;
	bool allow_null, utf8;
	enum addr_err err;
	const char *local, *domain; /* expected on ADDR_OK */
	size_t end;		    /* expected on ADDR_OK */
};

static const struct path_case path_cases[] = {
    {"<user@example.com>", false, false, ADDR_OK, "user", "example.com", 18},
    {"<user@example.com> SIZE=10", false, false, ADDR_OK, "user", "example.com", 18},
    {"<First.Last+tag@Sub.Example-1.COM>", false, false, ADDR_OK, "First.Last+tag",
     "Sub.Example-1.COM", 34},
    {"<!#$%&'*+-/=?^_`{|}~@x>", false, false, ADDR_OK, "!#$%&'*+-/=?^_`{|}~", "x", 23},
    {"<a@localhost>", false, false, ADDR_OK, "a", "localhost", 13},
    {"<>", true, false, ADDR_OK, "", "", 2},
    {"<> BODY=8BITMIME", true, false, ADDR_OK, "", "", 2},
    {"<>", false, false, ADDR_SYNTAX, NULL, NULL, 0},
    /* quoted local parts keep their quotes */
    {"<\"john doe\"@x.org>", false, false, ADDR_OK, "\"john doe\"", "x.org", 18},
    {"<\"a\\\"b\"@x.org>", false, false, ADDR_OK, "\"a\\\"b\"", "x.org", 14},
    {"<\"a>b\"@x.org>", false, false, ADDR_OK, "\"a>b\"", "x.org", 13},
    {"<\"\"@x.org>", false, false, ADDR_OK, "\"\"", "x.org", 10},
    {"<\"a\tb\"@x.org>", false, false, ADDR_BAD_LOCAL, NULL, NULL, 0},
    {"<\"a\\\x01\"@x.org>", false, false, ADDR_BAD_LOCAL, NULL, NULL, 0},
    {"<\"abc@x.org>", false, false, ADDR_SYNTAX, NULL, NULL, 0},
    {"<\"a\"b@x.org>", false, false, ADDR_BAD_LOCAL, NULL, NULL, 0},
    /* dot-strings */
    {"<.a@x>", false, false, ADDR_BAD_LOCAL, NULL, NULL, 0},
    {"<a.@x>", false, false, ADDR_BAD_LOCAL, NULL, NULL, 0},
    {"<a..b@x>", false, false, ADDR_BAD_LOCAL, NULL, NULL, 0},
    {"<a b@x>", false, false, ADDR_BAD_LOCAL, NULL, NULL, 0},
    {"<a(b)@x>", false, false, ADDR_BAD_LOCAL, NULL, NULL, 0},
    {"<a@b@x>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    /* shape */
    {"", false, false, ADDR_SYNTAX, NULL, NULL, 0},
    {"<", false, false, ADDR_SYNTAX, NULL, NULL, 0},
    {"user@x", false, false, ADDR_SYNTAX, NULL, NULL, 0},
    {"<user>", false, false, ADDR_SYNTAX, NULL, NULL, 0},
    {"<user@x", false, false, ADDR_SYNTAX, NULL, NULL, 0},
    {" <user@x>", false, false, ADDR_SYNTAX, NULL, NULL, 0},
    {"< user@x>", false, false, ADDR_BAD_LOCAL, NULL, NULL, 0},
    {"<user@x >", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    {"<@x>", false, false, ADDR_SYNTAX, NULL, NULL, 0},
    /* domains */
    {"<a@>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    {"<a@x.>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    {"<a@.x>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    {"<a@x..y>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    {"<a@-x.y>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    {"<a@x-.y>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    {"<a@x_y.z>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    {"<a@x-y.z>", false, false, ADDR_OK, "a", "x-y.z", 9},
    {"<a@123.example>", false, false, ADDR_OK, "a", "123.example", 15},
    /* address literals */
    {"<a@[192.0.2.1]>", false, false, ADDR_OK, "a", "[192.0.2.1]", 15},
    {"<a@[255.255.255.255]>", false, false, ADDR_OK, "a", "[255.255.255.255]", 21},
    {"<a@[256.0.0.1]>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    {"<a@[1.2.3]>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    {"<a@[1.2.3.4.5]>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    {"<a@[1.2.3.0004]>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    {"<a@[1..2.3]>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    {"<a@[]>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    {"<a@[1.2.3.4>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    {"<a@[IPv6:2001:db8::1]>", false, false, ADDR_OK, "a", "[IPv6:2001:db8::1]", 22},
    {"<a@[ipv6:::ffff:192.0.2.1]>", false, false, ADDR_OK, "a", "[ipv6:::ffff:192.0.2.1]", 27},
    {"<a@[IPv6:2001:db8::g]>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    {"<a@[IPv6:]>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    {"<a@[tag:x]>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    /* source routes are checked and dropped */
    {"<@r1.example:a@x.org>", false, false, ADDR_OK, "a", "x.org", 21},
    {"<@r1,@r2.example:a@x.org>", false, false, ADDR_OK, "a", "x.org", 25},
    {"<@r1,r2:a@x.org>", false, false, ADDR_SYNTAX, NULL, NULL, 0},
    {"<@r1:>", false, false, ADDR_BAD_LOCAL, NULL, NULL, 0},
    {"<@r_1:a@x.org>", false, false, ADDR_BAD_DOMAIN, NULL, NULL, 0},
    {"<@r1>", false, false, ADDR_SYNTAX, NULL, NULL, 0},
    /* UTF-8 (RFC 6531) */
    {"<j\xc3\xb6rg@x.org>", false, false, ADDR_NEED_UTF8, NULL, NULL, 0},
    {"<j\xc3\xb6rg@x.org>", false, true, ADDR_OK, "j\xc3\xb6rg", "x.org", 13},
    {"<a@b\xc3\xbc\x63her.de>", false, false, ADDR_NEED_UTF8, NULL, NULL, 0},
    {"<a@b\xc3\xbc\x63her.de>", false, true, ADDR_OK, "a", "b\xc3\xbc\x63her.de", 14},
    {"<\"\xe2\x82\xac\"@x>", false, true, ADDR_OK, "\"\xe2\x82\xac\"", "x", 9},
    {"<\xf0\x9f\x98\x80@x>", false, true, ADDR_OK, "\xf0\x9f\x98\x80", "x", 8},
    {"<\xc0\xaf@x>", false, true, ADDR_BAD_UTF8, NULL, NULL, 0},	 /* overlong */
    {"<\xe0\x80\xaf@x>", false, true, ADDR_BAD_UTF8, NULL, NULL, 0},	 /* overlong */
    {"<\xf0\x80\x80\xaf@x>", false, true, ADDR_BAD_UTF8, NULL, NULL, 0}, /* overlong */
    {"<\xed\xa0\x80@x>", false, true, ADDR_BAD_UTF8, NULL, NULL, 0},	 /* surrogate */
    {"<\xf4\x90\x80\x80@x>", false, true, ADDR_BAD_UTF8, NULL, NULL, 0}, /* > U+10FFFF */
    {"<\xc3@x>", false, true, ADDR_BAD_UTF8, NULL, NULL, 0},		 /* truncated */
    {"<\x80@x>", false, true, ADDR_BAD_UTF8, NULL, NULL, 0},
    {"<\xff@x>", false, true, ADDR_BAD_UTF8, NULL, NULL, 0},
    {"<a@x\xed\x9f\xbf>", false, true, ADDR_OK, "a", "x\xed\x9f\xbf", 8}, /* U+D7FF */
};

static void
test_paths(void)
{
	for (size_t i = 0; i < sizeof path_cases / sizeof path_cases[0]; i++) {
		const struct path_case *c = &path_cases[i];
		struct smtp_addr a;
		size_t end = 99;
		enum addr_err e =
		    smtp_addr_parse_path(strv_from(c->in), c->allow_null, c->utf8, &a, &end);
		CHECK(e == c->err);
		if (e != c->err) {
			printf("  path case %zu \"%s\": got %d want %d\n", i, c->in, e, c->err);
			continue;
		}
		if (e != ADDR_OK) {
			CHECK(end == 0 && a.local[0] == '\0' && a.domain[0] == '\0');
			continue;
		}
		CHECK_STR(a.local, c->local);
		CHECK_STR(a.domain, c->domain);
		CHECK(end == c->end);
		if (end != c->end)
			printf("  path case %zu: end %zu\n", i, end);
		CHECK(a.is_null == (c->local[0] == '\0'));
	}
}

static void
make(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
}

/* RFC 5321 4.5.3.1: local part 64, domain 255, path 256 octets. */
static void
test_limits(void)
{
	char local[80], label[70], in[700], dom[300];
	struct smtp_addr a;
	size_t end;

	make(local, 'l', 64);
	snprintf(in, sizeof in, "<%s@x.org>", local);
	CHECK(smtp_addr_parse_path(strv_from(in), false, false, &a, &end) == ADDR_OK);
	CHECK(strlen(a.local) == 64);
	make(local, 'l', 65);
	snprintf(in, sizeof in, "<%s@x.org>", local);
	CHECK(smtp_addr_parse_path(strv_from(in), false, false, &a, &end) == ADDR_LOCAL_TOO_LONG);

	make(label, 'd', 63);
	snprintf(in, sizeof in, "<a@%s.org>", label);
	CHECK(smtp_addr_parse_path(strv_from(in), false, false, &a, &end) == ADDR_OK);
	make(label, 'd', 64);
	snprintf(in, sizeof in, "<a@%s.org>", label);
	CHECK(smtp_addr_parse_path(strv_from(in), false, false, &a, &end) == ADDR_BAD_DOMAIN);

	/* 4 labels of 63 + 3 dots = 255 octets; a path of 1+1+1+255+1 = 259 */
	make(label, 'd', 63);
	snprintf(dom, sizeof dom, "%s.%s.%s.%s", label, label, label, label);
	CHECK(strlen(dom) == 255);
	CHECK(smtp_addr_parse_mailbox(strv_from("a@x"), false, &a) == ADDR_OK);
	snprintf(in, sizeof in, "a@%s", dom);
	CHECK(smtp_addr_parse_mailbox(strv_from(in), false, &a) == ADDR_OK);
	CHECK(strlen(a.domain) == 255);
	snprintf(in, sizeof in, "<a@%s>", dom);
	CHECK(smtp_addr_parse_path(strv_from(in), false, false, &a, &end) == ADDR_PATH_TOO_LONG);
	snprintf(in, sizeof in, "<a@x%s>", dom);
	CHECK(smtp_addr_parse_path(strv_from(in), false, false, &a, &end) == ADDR_DOMAIN_TOO_LONG);

	/* a path of exactly 256: "<" + 1 + "@" + 252 + ">" */
	make(label, 'd', 63);
	snprintf(dom, sizeof dom, "%s.%s.%s.%.60s", label, label, label, label);
	CHECK(strlen(dom) == 252);
	snprintf(in, sizeof in, "<a@%s>", dom);
	CHECK(smtp_addr_parse_path(strv_from(in), false, false, &a, &end) == ADDR_OK);
	CHECK(end == 256);
	snprintf(in, sizeof in, "<ab@%s>", dom);
	CHECK(smtp_addr_parse_path(strv_from(in), false, false, &a, &end) == ADDR_PATH_TOO_LONG);
}

static void
test_mailbox(void)
{
	static const struct {
		const char *in;
		bool utf8;
		enum addr_err err;
	} cases[] = {
	    {"user@example.com", false, ADDR_OK},
	    {"\"a b\"@example.com", false, ADDR_OK},
	    {"<user@example.com>", false, ADDR_BAD_LOCAL},
	    {"user@example.com>", false, ADDR_BAD_DOMAIN},
	    {"user", false, ADDR_SYNTAX},
	    {"", false, ADDR_BAD_LOCAL},
	    {"@example.com", false, ADDR_BAD_LOCAL},
	    {"user@", false, ADDR_BAD_DOMAIN},
	    {"user@[10.0.0.1]", false, ADDR_OK},
	    {"us\xc3\xa9r@x", false, ADDR_NEED_UTF8},
	    {"us\xc3\xa9r@x", true, ADDR_OK},
	    {"us\xe9r@x", true, ADDR_BAD_UTF8},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct smtp_addr a;
		enum addr_err e =
		    smtp_addr_parse_mailbox(strv_from(cases[i].in), cases[i].utf8, &a);
		CHECK(e == cases[i].err);
		if (e != cases[i].err)
			printf("  mailbox case %zu: got %d\n", i, e);
	}
}

static void
test_format(void)
{
	struct smtp_addr a;
	size_t end;
	char out[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 2], small[6];

	CHECK(smtp_addr_parse_path(STRV_LIT("<@r:\"x y\"@Example.ORG>"), false, false, &a, &end) ==
	      ADDR_OK);
	smtp_addr_format(&a, out, sizeof out);
	CHECK_STR(out, "\"x y\"@Example.ORG");
	smtp_addr_format(&a, small, sizeof small);
	CHECK_STR(small, "\"x y\"");
	CHECK(smtp_addr_parse_path(STRV_LIT("<>"), true, false, &a, &end) == ADDR_OK);
	smtp_addr_format(&a, out, sizeof out);
	CHECK_STR(out, "");
}

static void
test_err_text(void)
{
	for (int e = ADDR_OK; e <= ADDR_BAD_UTF8; e++) {
		const char *t = smtp_addr_err_text((enum addr_err)e);
		CHECK(t != NULL && strlen(t) > 10 && strchr(t, '\r') == NULL);
	}
	CHECK_STR(smtp_addr_err_text(ADDR_BAD_DOMAIN),
		  "the domain part is not a valid domain name");
}

int
main(void)
{
	test_paths();
	test_limits();
	test_mailbox();
	test_format();
	test_err_text();
	return test_summary("test_smtp_addr");
}
