/*
 * Unit tests for mailauth/mta_sts_policy: RFC 8461 3.2's example policy,
 * line endings (LF, CRLF, none at the end, a bare CR), each required field
 * missing or doubled, bad values (mode case, max_age digits and clamp, mx
 * patterns), extensions ignored, the mx cap; RFC 8461 4.1's wildcard rule;
 * the formatter's output read back; the cache file's header.
 */
#include <string.h>

#include "harness.h"
#include "mta_sts_policy.h"

static int
parse(const char *text, struct mta_sts_policy *p, char *why, size_t n)
{
	return mta_sts_policy_parse(text, strlen(text), p, why, n);
}

static void
test_rfc_example(void)
{
	struct mta_sts_policy p;
	char why[256];
	/* RFC 8461 3.2's example, CRLF lines. */
	CHECK(parse("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
		    "mx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n",
		    &p, why, sizeof why) == 0);
	CHECK(p.mode == MTA_STS_ENFORCE);
	CHECK(p.nmx == 3);
	CHECK_STR(p.mx[0], "mail.example.com");
	CHECK_STR(p.mx[1], "*.example.net");
	CHECK(p.max_age == 604800);
	CHECK(p.id[0] == '\0' && p.fetched == 0);
	/* LF lines, no final newline, tabs and spaces after ':', an extension, a blank line. */
	CHECK(parse("version:STSv1\nmode:\ttesting\n\nmx: MX.Example.ORG.x  \nfoo_bar-1.x: any "
		    "thing\nmax_age: 0",
		    &p, why, sizeof why) == 0);
	CHECK(p.mode == MTA_STS_TESTING);
	CHECK_STR(p.mx[0], "mx.example.org.x");
	CHECK(p.max_age == 0);
	/* mode none needs no mx. */
	CHECK(parse("version: STSv1\nmode: none\nmax_age: 86400\n", &p, why, sizeof why) == 0);
	CHECK(p.mode == MTA_STS_NONE && p.nmx == 0);
	/* Fields in any order. */
	CHECK(parse("max_age: 5\nmx: a.test\nmode: enforce\nversion: STSv1\n", &p, why,
		    sizeof why) == 0);
}

static void
test_refusals(void)
{
	struct mta_sts_policy p;
	char why[256];
	CHECK(parse("mode: enforce\nmx: a.test\nmax_age: 5\n", &p, why, sizeof why) < 0);
	CHECK(strstr(why, "version") != NULL);
	CHECK(parse("version: STSv1\nmx: a.test\nmax_age: 5\n", &p, why, sizeof why) < 0);
	CHECK(strstr(why, "mode") != NULL);
	CHECK(parse("version: STSv1\nmode: enforce\nmx: a.test\n", &p, why, sizeof why) < 0);
	CHECK(strstr(why, "max_age") != NULL);
	CHECK(parse("version: STSv1\nmode: enforce\nmax_age: 5\n", &p, why, sizeof why) < 0);
	CHECK(strstr(why, "no \"mx:\"") != NULL);
	CHECK(parse("version: STSv1\nmode: testing\nmax_age: 5\n", &p, why, sizeof why) < 0);
	CHECK(parse("version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 5\n", &p, why,
		    sizeof why) < 0);
	CHECK(strstr(why, "line 1") != NULL);
	CHECK(parse("version: STSv1\nmode: Enforce\nmx: a.test\nmax_age: 5\n", &p, why,
		    sizeof why) < 0);
	CHECK(strstr(why, "line 2") != NULL);
	CHECK(parse("Version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 5\n", &p, why,
		    sizeof why) < 0); /* an extension "Version", then no version */
	CHECK(parse("version: STSv1\nmode: enforce\nmode: testing\nmx: a.test\nmax_age: 5\n", &p,
		    why, sizeof why) < 0);
	CHECK(strstr(why, "second") != NULL);
	CHECK(parse("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 5\nmax_age: 6\n", &p, why,
		    sizeof why) < 0);
	CHECK(parse("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -5\n", &p, why,
		    sizeof why) < 0);
	CHECK(parse("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 12345678901\n", &p, why,
		    sizeof why) < 0);
	CHECK(parse("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 5s\n", &p, why,
		    sizeof why) < 0);
	CHECK(parse("version: STSv1\nmode: enforce\nmx: a.test\nmax_age:\n", &p, why, sizeof why) <
	      0);
	CHECK(parse("version: STSv1\nmode: enforce\nmx: a..test\nmax_age: 5\n", &p, why,
		    sizeof why) < 0);
	CHECK(parse("version: STSv1\nmode: enforce\nmx: *.*.test\nmax_age: 5\n", &p, why,
		    sizeof why) < 0);
	CHECK(parse("version: STSv1\nmode: enforce\nmx: a*.test\nmax_age: 5\n", &p, why,
		    sizeof why) < 0);
	CHECK(parse("version: STSv1\nmode: enforce\nmx: -a.test\nmax_age: 5\n", &p, why,
		    sizeof why) < 0);
	CHECK(parse("version: STSv1\nmode: enforce\nmx: a.test.\nmax_age: 5\n", &p, why,
		    sizeof why) < 0);
	CHECK(parse("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 5\nno colon\n", &p, why,
		    sizeof why) < 0);
	CHECK(strstr(why, "line 5") != NULL);
	CHECK(parse("version: STSv1\rmode: enforce\nmx: a.test\nmax_age: 5\n", &p, why,
		    sizeof why) < 0);
	CHECK(strstr(why, "bare CR") != NULL);
	CHECK(parse("version : STSv1\nmode: enforce\nmx: a.test\nmax_age: 5\n", &p, why,
		    sizeof why) < 0); /* no space before ':' in the ABNF */
	CHECK(parse("", &p, why, sizeof why) < 0);
	CHECK(parse("<html>not found</html>", &p, why, sizeof why) < 0);
	/* A NUL inside a value. */
	const char nul[] = "version: STSv1\nmode: enforce\nmx: a.te\0st\nmax_age: 5\n";
	CHECK(mta_sts_policy_parse(nul, sizeof nul - 1, &p, why, sizeof why) < 0);
}

static void
test_limits(void)
{
	struct mta_sts_policy p;
	char why[256], text[4096];
	/* max_age over a year is clamped to a year (RFC 8461 3.2). */
	CHECK(parse("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 9999999999\n", &p, why,
		    sizeof why) == 0);
	CHECK(p.max_age == MTA_STS_MAX_AGE_MAX);
	int len = snprintf(text, sizeof text, "version: STSv1\nmode: enforce\nmax_age: 60\n");
	for (int i = 0; i < MTA_STS_MAX_MX; i++)
		len += snprintf(text + len, sizeof text - (size_t)len, "mx: mx%d.test\n", i);
	CHECK(parse(text, &p, why, sizeof why) == 0);
	CHECK(p.nmx == MTA_STS_MAX_MX);
	snprintf(text + len, sizeof text - (size_t)len, "mx: one-more.test\n");
	CHECK(parse(text, &p, why, sizeof why) < 0);
	CHECK(strstr(why, "more than 16") != NULL);
}

static void
test_match(void)
{
	struct mta_sts_policy p;
	char why[256];
	CHECK(parse("version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\n"
		    "max_age: 60\n",
		    &p, why, sizeof why) == 0);
	CHECK(mta_sts_mx_match(&p, "mail.example.com"));
	CHECK(mta_sts_mx_match(&p, "MAIL.Example.COM."));
	CHECK(!mta_sts_mx_match(&p, "mail.example.com.evil.test"));
	CHECK(!mta_sts_mx_match(&p, "xmail.example.com"));
	CHECK(!mta_sts_mx_match(&p, "example.com"));
	CHECK(mta_sts_mx_match(&p, "mx1.example.net"));
	CHECK(mta_sts_mx_match(&p, "MX1.EXAMPLE.NET"));
	CHECK(!mta_sts_mx_match(&p, "example.net"));	 /* the wildcard needs a label */
	CHECK(!mta_sts_mx_match(&p, "a.b.example.net")); /* and only one */
	CHECK(!mta_sts_mx_match(&p, ".example.net"));
	CHECK(!mta_sts_mx_match(&p, "mx1.example.net.test")); /* not a suffix match */
	CHECK(!mta_sts_mx_match(&p, "mx1example.net"));
	CHECK(!mta_sts_mx_match(&p, ""));
	CHECK(!mta_sts_mx_match(&p, "."));
}

static void
test_format(void)
{
	struct mta_sts_policy p = {.mode = MTA_STS_ENFORCE, .nmx = 2, .max_age = 604800}, q;
	char out[1024], why[256];
	strcpy(p.mx[0], "mx1.example.org");
	strcpy(p.mx[1], "*.mail.example.org");
	int len = mta_sts_policy_format(&p, out, sizeof out);
	CHECK_STR(out, "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.org\r\n"
		       "mx: *.mail.example.org\r\nmax_age: 604800\r\n");
	CHECK(len == (int)strlen(out));
	CHECK(mta_sts_policy_parse(out, (size_t)len, &q, why, sizeof why) == 0);
	CHECK(q.mode == p.mode && q.nmx == 2 && q.max_age == p.max_age);
	CHECK(mta_sts_policy_format(&p, out, 20) < 0);
	strcpy(p.mx[1], "not a host");
	CHECK(mta_sts_policy_format(&p, out, sizeof out) < 0);
	p.nmx = 0;
	CHECK(mta_sts_policy_format(&p, out, sizeof out) < 0);
	p.mode = MTA_STS_NONE;
	CHECK(mta_sts_policy_format(&p, out, sizeof out) > 0);
	p.max_age = MTA_STS_MAX_AGE_MAX + 1;
	CHECK(mta_sts_policy_format(&p, out, sizeof out) < 0);
	CHECK(mta_sts_is_mx_pattern("*.a.test"));
	CHECK(!mta_sts_is_mx_pattern("*"));
	CHECK(!mta_sts_is_mx_pattern("a_b.test"));
	CHECK_STR(mta_sts_mode_name(MTA_STS_TESTING), "testing");
}

static void
test_cache_file(void)
{
	const char *pol = "version: STSv1\nmode: testing\nmx: a.test\nmax_age: 60\n";
	char out[512], why[256];
	struct mta_sts_policy p;
	int len =
	    mta_sts_cache_file_format("abc123", 1700000000, pol, strlen(pol), out, sizeof out);
	CHECK(len > 0);
	CHECK(strncmp(out, "mailport-mta-sts 1\nid: abc123\nfetched: 1700000000\n\n", 49) == 0);
	CHECK(mta_sts_cache_file_parse(out, (size_t)len, &p, why, sizeof why) == 0);
	CHECK_STR(p.id, "abc123");
	CHECK(p.fetched == 1700000000 && p.mode == MTA_STS_TESTING && p.max_age == 60);
	CHECK(mta_sts_cache_file_format("abc", 1, pol, strlen(pol), out, 40) < 0);
	CHECK(mta_sts_cache_file_parse("junk", 4, &p, why, sizeof why) < 0);
	const char *bad_id = "mailport-mta-sts 1\nid: a-b\nfetched: 1\n\nversion: STSv1\n";
	CHECK(mta_sts_cache_file_parse(bad_id, strlen(bad_id), &p, why, sizeof why) < 0);
	const char *bad_t = "mailport-mta-sts 1\nid: ab\nfetched: -1\n\nversion: STSv1\n";
	CHECK(mta_sts_cache_file_parse(bad_t, strlen(bad_t), &p, why, sizeof why) < 0);
	const char *no_blank = "mailport-mta-sts 1\nid: ab\nfetched: 1\nversion: STSv1\n";
	CHECK(mta_sts_cache_file_parse(no_blank, strlen(no_blank), &p, why, sizeof why) < 0);
	/* A header cut short. */
	CHECK(mta_sts_cache_file_parse(out, 30, &p, why, sizeof why) < 0);
	/* The policy part damaged. */
	len = mta_sts_cache_file_format("ab", 1, "version: STSv1\n", 15, out, sizeof out);
	CHECK(mta_sts_cache_file_parse(out, (size_t)len, &p, why, sizeof why) < 0);
}

int
main(void)
{
	test_rfc_example();
	test_refusals();
	test_limits();
	test_match();
	test_format();
	test_cache_file();
	return test_summary("test_mta_sts_policy");
}
