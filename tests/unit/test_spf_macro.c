/*
 * Unit tests of SPF macro expansion (RFC 7208 section 7): every example of
 * 7.4, each macro letter, the transformers and delimiters, %% %_ %-, URL
 * escaping of uppercase letters, the 253-octet cut of 7.3, the exp-only
 * letters c r t, and the syntax errors that make a record a permerror.
 */
#include <string.h>

#include "harness.h"
#include "spf_internal.h"

static const char *
ptr_name(void *arg)
{
	return arg;
}

/* The 7.4 environment: strong-bad@email.example.com from 192.0.2.3 (or 2001:db8::cb01). */
static struct spf_macro_env
env74(int family)
{
	struct spf_macro_env e = {
	    .sender = "strong-bad@email.example.com",
	    .local = "strong-bad",
	    .sender_d = "email.example.com",
	    .domain = "email.example.com",
	    .helo = "mx.example.org",
	    .receiver = "mx.receiver.example",
	    .now = 1234567890,
	    .ptr_name = ptr_name,
	    .ptr_arg = "mx.example.org",
	};
	e.family = spf_ip_parse(family == 4 ? "192.0.2.3" : "2001:db8::cb01", e.ip);
	return e;
}

static char out_text[4096];

/* Expands s in env (as a domain-spec unless exp), "ERR: why" on an error. */
static const char *
expand(const struct spf_macro_env *env, const char *s, bool exp)
{
	struct buf b;
	buf_init(&b, 8192);
	char why[160];
	if (!spf_macro_check(s, strlen(s), exp, why, sizeof why) ||
	    !spf_macro_expand(s, strlen(s), env, exp, &b, why, sizeof why))
		snprintf(out_text, sizeof out_text, "ERR: %s", why);
	else
		snprintf(out_text, sizeof out_text, "%s", b.data);
	buf_free(&b);
	return out_text;
}

static void
test_rfc_7_4_examples(void)
{
	struct spf_macro_env e = env74(4);
	CHECK_STR(expand(&e, "%{s}", true), "strong-bad@email.example.com");
	CHECK_STR(expand(&e, "%{o}", true), "email.example.com");
	CHECK_STR(expand(&e, "%{d}", true), "email.example.com");
	CHECK_STR(expand(&e, "%{d4}", true), "email.example.com");
	CHECK_STR(expand(&e, "%{d3}", true), "email.example.com");
	CHECK_STR(expand(&e, "%{d2}", true), "example.com");
	CHECK_STR(expand(&e, "%{d1}", true), "com");
	CHECK_STR(expand(&e, "%{dr}", true), "com.example.email");
	CHECK_STR(expand(&e, "%{d2r}", true), "example.email");
	CHECK_STR(expand(&e, "%{l}", true), "strong-bad");
	CHECK_STR(expand(&e, "%{l-}", true), "strong.bad");
	CHECK_STR(expand(&e, "%{lr}", true), "strong-bad");
	CHECK_STR(expand(&e, "%{lr-}", true), "bad.strong");
	CHECK_STR(expand(&e, "%{l1r-}", true), "strong");
	CHECK_STR(expand(&e, "%{ir}.%{v}._spf.%{d2}", false), "3.2.0.192.in-addr._spf.example.com");
	CHECK_STR(expand(&e, "%{lr-}.lp._spf.%{d2}", false), "bad.strong.lp._spf.example.com");
	CHECK_STR(expand(&e, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", false),
		  "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
	CHECK_STR(expand(&e, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", false),
		  "3.2.0.192.in-addr.strong.lp._spf.example.com");
	CHECK_STR(expand(&e, "%{d2}.trusted-domains.example.net", false),
		  "example.com.trusted-domains.example.net");
	struct spf_macro_env e6 = env74(6);
	CHECK_STR(expand(&e6, "%{ir}.%{v}._spf.%{d2}", false),
		  "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf."
		  "example.com");
}

static void
test_letters(void)
{
	struct spf_macro_env e = env74(4);
	CHECK_STR(expand(&e, "%{h}", true), "mx.example.org");
	CHECK_STR(expand(&e, "%{i}", true), "192.0.2.3");
	CHECK_STR(expand(&e, "%{v}", true), "in-addr");
	CHECK_STR(expand(&e, "%{p}", true), "mx.example.org");
	CHECK_STR(expand(&e, "%{c}", true), "192.0.2.3");
	CHECK_STR(expand(&e, "%{r}", true), "mx.receiver.example");
	CHECK_STR(expand(&e, "%{t}", true), "1234567890");
	e.receiver = NULL; /* 7.3: r is "unknown" when the receiver has no name to give */
	CHECK_STR(expand(&e, "%{r}", true), "unknown");
	e.ptr_arg = NULL; /* no validated name: "unknown" */
	CHECK_STR(expand(&e, "%{p}", true), "unknown");
	struct spf_macro_env e6 = env74(6);
	CHECK_STR(expand(&e6, "%{v}", true), "ip6");
	CHECK_STR(expand(&e6, "%{c}", true), "2001:db8::cb01"); /* RFC 5952 form */
	CHECK_STR(expand(&e6, "%{i}", true),
		  "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1");
	/* Letters are case-insensitive; only the escaping differs. */
	CHECK_STR(expand(&e, "%{D2}", true), "example.com");
}

static void
test_escapes_and_transformers(void)
{
	struct spf_macro_env e = env74(4);
	CHECK_STR(expand(&e, "100%% %_ %-", true), "100%   %20");
	/* Uppercase: URL-escaped (7.3), all but RFC 3986 unreserved characters. */
	e.local = "a b@c/d~e";
	CHECK_STR(expand(&e, "%{L}", true), "a%20b%40c%2Fd~e");
	CHECK_STR(expand(&e, "%{l}", true), "a b@c/d~e");
	e.sender = "foo-bar+zip+quux@example.com";
	e.local = "foo-bar+zip+quux";
	CHECK_STR(expand(&e, "%{l+-}", true), "foo.bar.zip.quux");
	CHECK_STR(expand(&e, "%{l2r+-}", true), "bar.foo");
	/* Every delimiter of 7.1. */
	e.local = "a.b-c+d,e/f_g=h";
	CHECK_STR(expand(&e, "%{l.-+,/_=}", true), "a.b.c.d.e.f.g.h");
	CHECK_STR(expand(&e, "%{l1=}", true), "h");
	/* More digits than parts: all parts. */
	CHECK_STR(expand(&e, "%{d128}", true), "email.example.com");
	CHECK_STR(expand(&e, "%{d99999999999}", true), "email.example.com");
	/* Empty parts stay. */
	e.local = "a..b";
	CHECK_STR(expand(&e, "%{lr}", true), "b..a");
}

static void
test_syntax_errors(void)
{
	struct spf_macro_env e = env74(4);
	CHECK(strncmp(expand(&e, "%{d0}.example.com", false), "ERR", 3) == 0);
	CHECK(strncmp(expand(&e, "%{x}.example.com", false), "ERR", 3) == 0);
	CHECK(strncmp(expand(&e, "%{d.example.com", false), "ERR", 3) == 0);
	CHECK(strncmp(expand(&e, "%(ir).example.com", false), "ERR", 3) == 0);
	CHECK(strncmp(expand(&e, "foo%.example.com", false), "ERR", 3) == 0);
	CHECK(strncmp(expand(&e, "a%", true), "ERR", 3) == 0);
	CHECK(strncmp(expand(&e, "%{d2x}.example.com", false), "ERR", 3) == 0);
	/* c, r, t belong to exp= text only (7.3). */
	CHECK(strncmp(expand(&e, "%{c}.example.com", false), "ERR", 3) == 0);
	CHECK(strncmp(expand(&e, "%{r}.example.com", false), "ERR", 3) == 0);
	CHECK(strncmp(expand(&e, "%{t}.example.com", false), "ERR", 3) == 0);
	CHECK_STR(expand(&e, "%{c} %{r} %{t}", true), "192.0.2.3 mx.receiver.example 1234567890");
	/* A domain-spec ends in "." toplabel or a macro (4.8). */
	CHECK(strncmp(expand(&e, "example", false), "ERR", 3) == 0);
	CHECK(strncmp(expand(&e, "example.", false), "ERR", 3) == 0);
	CHECK(strncmp(expand(&e, "foo.example.123", false), "ERR", 3) == 0);
	CHECK(strncmp(expand(&e, "foo.example.-com", false), "ERR", 3) == 0);
	CHECK(strncmp(expand(&e, "", false), "ERR", 3) == 0);
	CHECK_STR(expand(&e, "foo.example.com.", false), "foo.example.com.");
	CHECK_STR(expand(&e, "foo.example.xn--p1ai", false), "foo.example.xn--p1ai");
	CHECK_STR(expand(&e, "foo.1-2", false), "foo.1-2");
	CHECK_STR(expand(&e, "%{d}", false), "email.example.com");
	CHECK_STR(expand(&e, "x.%-", false), "x.%20");
	/* Space is literal only in explanation text; non-ASCII nowhere. */
	CHECK(strncmp(expand(&e, "a b.example.com", false), "ERR", 3) == 0);
	CHECK(strncmp(expand(&e, "caf\xc3\xa9.example.com", false), "ERR", 3) == 0);
}

static void
test_truncation(void)
{
	/* 7.3: an expanded name over 253 octets loses whole labels from the left. */
	struct spf_macro_env e = env74(4);
	char local[300] = "";
	for (int i = 0; i < 4; i++) { /* four 60-octet labels: 243 octets */
		char label[62];
		memset(label, i == 0 ? 'x' : 'y', 60);
		label[60] = i < 3 ? '.' : 0;
		label[61] = 0;
		strcat(local, label);
	}
	e.local = local;
	const char *got = expand(&e, "%{l}.%{d}", false);
	CHECK(strlen(got) <= 253);
	/* 243 + 1 + 17 = 261 > 253: the first label goes, the rest stays whole. */
	CHECK(strlen(got) == 261 - 61);
	CHECK(strncmp(got, "yyy", 3) == 0);
	CHECK(strcmp(got + strlen(got) - 17, "email.example.com") == 0);
	/* Not in explanation text. */
	CHECK(strlen(expand(&e, "%{l}.%{d}", true)) == 261);
	/* A single label longer than 253 leaves nothing to ask. */
	char big[300];
	memset(big, 'z', 299);
	big[299] = 0;
	e.local = big;
	CHECK_STR(expand(&e, "%{l}", false), "");
}

int
main(void)
{
	test_rfc_7_4_examples();
	test_letters();
	test_escapes_and_transformers();
	test_syntax_errors();
	test_truncation();
	return test_summary("test_spf_macro");
}
