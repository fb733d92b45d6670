/*
 * Unit tests for mailauth/auth_results: the header we write (RFC 8601
 * syntax, folding at 78 octets, comments and values escaped) and the test
 * that finds an incoming field claiming our authserv-id (RFC 8601 5), with
 * the forms a forger might try.
 */
#include <stdio.h>
#include <string.h>

#include "auth_results.h"
#include "harness.h"

static bool
ours(const char *field)
{
	return auth_results_is_ours(field, strlen(field), "mx.example.org");
}

static void
test_is_ours(void)
{
	CHECK(ours("Authentication-Results: mx.example.org; spf=pass\r\n"));
	CHECK(ours("authentication-results:MX.Example.ORG;spf=pass"));
	CHECK(ours("Authentication-Results: mx.example.org. 1; none\r\n"));
	CHECK(ours("Authentication-Results: (a (nested) comment)\r\n mx.example.org; dkim=pass"));
	CHECK(ours("Authentication-Results: \"mx.example.org\"; dkim=pass"));
	CHECK(ours("Authentication-Results: \"mx.ex\\ample.org\"; dkim=pass")); /* quoted-pair */
	CHECK(ours("Authentication-Results: mx.example.org(comment); dkim=pass"));
	CHECK(ours("Authentication-Results : mx.example.org; dkim=pass")); /* obs WSP */
	CHECK(ours("Authentication-Results: mx.example.org"));		   /* no resinfo */
	/* others' fields are kept */
	CHECK(!ours("Authentication-Results: mx.google.com; spf=pass\r\n"));
	CHECK(!ours("Authentication-Results: mx.example.org.evil.test; spf=pass"));
	CHECK(!ours("Authentication-Results: example.org; spf=pass"));
	CHECK(!ours("Authentication-Results: \"other\"; spf=pass"));
	CHECK(!ours("Authentication-Results: other 1; spf=pass"));
	CHECK(!ours("Received: from mx.example.org"));
	CHECK(!ours("X-Authentication-Results: mx.example.org; spf=pass"));
	/* what we cannot read counts as ours */
	CHECK(ours("Authentication-Results:\r\n"));
	CHECK(ours("Authentication-Results: (unterminated comment mx.example.org"));
	CHECK(ours("Authentication-Results: \"unterminated"));
	CHECK(ours("Authentication-Results: ; spf=pass"));
	CHECK(ours("Authentication-Results: other.test/x; spf=pass"));
	CHECK(ours("Authentication-Results"));
	/* only len bytes are read */
	const char *f = "Authentication-Results: mx.example.orgX";
	CHECK(auth_results_is_ours(f, strlen(f) - 1, "mx.example.org"));
	CHECK(!auth_results_is_ours(f, strlen(f), "mx.example.org"));
}

/* Every line of a field at most 78 octets, each continuation starts with WSP. */
static bool
folded_ok(const char *h)
{
	const char *line = h;
	for (;;) {
		const char *crlf = strstr(line, "\r\n");
		if (crlf == NULL)
			return false; /* must end in CRLF */
		if (crlf - line > AUTH_RESULTS_FOLD)
			return false;
		if (crlf[2] == '\0')
			return true;
		if (crlf[2] != ' ' && crlf[2] != '\t')
			return false;
		line = crlf + 2;
	}
}

static void
test_writer(void)
{
	struct auth_results ar;
	size_t len;
	const char *h;

	auth_results_init(&ar, "mx.example.org", true);
	auth_results_method(&ar, "spf", "pass", "192.0.2.1 is allowed by example.com: ip4");
	auth_results_prop(&ar, "smtp.mailfrom", "user@example.com");
	auth_results_method(&ar, "dkim", "pass", NULL);
	auth_results_prop(&ar, "header.d", "example.com");
	auth_results_prop(&ar, "header.s", "sel");
	auth_results_prop(&ar, "header.b", "Ab+/cd=E");
	auth_results_method(&ar, "dmarc", "pass", "p=REJECT sp=REJECT dis=NONE");
	auth_results_prop(&ar, "header.from", "example.com");
	h = auth_results_finish(&ar, &len);
	CHECK(len == strlen(h));
	CHECK_STR(h, "Authentication-Results: mx.example.org;\r\n"
		     "\tspf=pass (192.0.2.1 is allowed by example.com: ip4)\r\n"
		     "\tsmtp.mailfrom=user@example.com;\r\n"
		     "\tdkim=pass header.d=example.com header.s=sel header.b=\"Ab+/cd=E\";\r\n"
		     "\tdmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com\r\n");
	CHECK(folded_ok(h));
	/* what we write, we recognize as ours */
	CHECK(auth_results_is_ours(h, len, "mx.example.org"));
	auth_results_free(&ar);

	/* nothing to say: "; none" */
	auth_results_init(&ar, "mx.example.org", true);
	CHECK_STR(auth_results_finish(&ar, NULL),
		  "Authentication-Results: mx.example.org; none\r\n");
	auth_results_free(&ar);

	/* hostile text: parentheses, backslashes, CR LF, 8-bit, long words */
	auth_results_init(&ar, "mx.example.org", true);
	auth_results_method(&ar, "spf", "fail",
			    "evil) \\ (x\r\nX-Injected: yes \xc3\xa9 and a long explanation that "
			    "goes on and on past the end of the line for sure");
	auth_results_prop(&ar, "smtp.mailfrom", "\"odd local\"@example.com");
	auth_results_prop(&ar, "smtp.helo", "");
	auth_results_method(&ar, "dkim", "none", "");
	h = auth_results_finish(&ar, &len);
	CHECK(folded_ok(h));
	CHECK(strstr(h, "\r\nX-Injected") == NULL);
	CHECK(strstr(h, "(evil\\) \\\\ \\(x X-Injected: yes ?? and") != NULL);
	CHECK(strstr(h, "smtp.mailfrom=\"\\\"odd local\\\"@example.com\"") != NULL);
	CHECK(strstr(h, "smtp.helo") == NULL);
	CHECK(strstr(h, ";\r\n\tdkim=none\r\n") != NULL);
	auth_results_free(&ar);

	/* without comments */
	auth_results_init(&ar, "mx.example.org", false);
	auth_results_method(&ar, "spf", "pass", "a reason");
	h = auth_results_finish(&ar, NULL);
	CHECK_STR(h, "Authentication-Results: mx.example.org;\r\n\tspf=pass\r\n");
	auth_results_free(&ar);

	/* a value longer than a line stays whole on a line of its own */
	char longv[120];
	memset(longv, 'a', sizeof longv - 1);
	longv[sizeof longv - 1] = '\0';
	auth_results_init(&ar, "mx.example.org", true);
	auth_results_method(&ar, "dkim", "pass", "short");
	auth_results_prop(&ar, "header.s", longv);
	auth_results_prop(&ar, "header.d", "example.com");
	h = auth_results_finish(&ar, NULL);
	CHECK(strstr(h, "(short)\r\n\theader.s=aaaa") != NULL);
	CHECK(strstr(h, "aaa\r\n\theader.d=example.com\r\n") != NULL);
	auth_results_free(&ar);
}

int
main(void)
{
	test_is_ours();
	test_writer();
	return test_summary("test_auth_results");
}
