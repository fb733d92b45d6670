/* The RFC 8460 report: its JSON from counted rows, its file name, its mail. */
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "buf.h"
#include "harness.h"
#include "tlsrpt.h"

static struct tlsrpt_count
row(const char *type, const char *mx, const char *ip, const char *result, unsigned long n)
{
	struct tlsrpt_count c = {.sessions = n};
	snprintf(c.policy_type, sizeof c.policy_type, "%s", type);
	snprintf(c.mx_host, sizeof c.mx_host, "%s", mx);
	snprintf(c.ip, sizeof c.ip, "%s", ip);
	snprintf(c.result_type, sizeof c.result_type, "%s", result);
	return c;
}

static struct tlsrpt_report
report(const struct tlsrpt_count *rows, size_t n)
{
	return (struct tlsrpt_report){
	    .organization = "mx.sender.test",
	    .contact = "postmaster@sender.test",
	    .report_id = "20261205.example.test.1a2b@mx.sender.test",
	    .policy_domain = "example.test",
	    .start = 1796428800, /* 2026-12-05T00:00:00Z */
	    .end = 1796515199,	 /* 2026-12-05T23:59:59Z */
	    .counts = rows,
	    .ncounts = n,
	};
}

/* The exact bytes: rows merged, grouped per policy type, sorted. */
static void
test_json_exact(void)
{
	struct tlsrpt_count rows[] = {
	    row("tlsa", "mx1.example.test", "127.0.0.1", "", 3),
	    row("tlsa", "mx2.example.test", "127.0.0.2", "validation-failure", 1),
	    row("tlsa", "mx1.example.test", "127.0.0.1", "", 2),
	    row("tlsa", "mx2.example.test", "127.0.0.2", "validation-failure", 4),
	    row("sts", "mx3.example.test", "::1", "certificate-host-mismatch", 1),
	};
	struct tlsrpt_report r = report(rows, 5);
	struct buf b;
	buf_init(&b, 0);
	CHECK(tlsrpt_json(&r, &b) == 0);
	CHECK_STR(b.data,
		  "{\"organization-name\":\"mx.sender.test\","
		  "\"date-range\":{\"start-datetime\":\"2026-12-05T00:00:00Z\","
		  "\"end-datetime\":\"2026-12-05T23:59:59Z\"},"
		  "\"contact-info\":\"postmaster@sender.test\","
		  "\"report-id\":\"20261205.example.test.1a2b@mx.sender.test\","
		  "\"policies\":["
		  "{\"policy\":{\"policy-type\":\"sts\",\"policy-domain\":\"example.test\","
		  "\"mx-host\":[\"mx3.example.test\"]},"
		  "\"summary\":{\"total-successful-session-count\":0,"
		  "\"total-failure-session-count\":1},"
		  "\"failure-details\":[{\"result-type\":\"certificate-host-mismatch\","
		  "\"receiving-mx-hostname\":\"mx3.example.test\",\"receiving-ip\":\"::1\","
		  "\"failed-session-count\":1}]},"
		  "{\"policy\":{\"policy-type\":\"tlsa\",\"policy-domain\":\"example.test\","
		  "\"mx-host\":[\"mx1.example.test\",\"mx2.example.test\"]},"
		  "\"summary\":{\"total-successful-session-count\":5,"
		  "\"total-failure-session-count\":5},"
		  "\"failure-details\":[{\"result-type\":\"validation-failure\","
		  "\"receiving-mx-hostname\":\"mx2.example.test\",\"receiving-ip\":\"127.0.0.2\","
		  "\"failed-session-count\":5}]}]}");
	/* The caller's rows are not touched. */
	CHECK(rows[2].sessions == 2 && strcmp(rows[0].policy_type, "tlsa") == 0);
	buf_free(&b);
}

/* policy-string: the policy type's own text, never for no-policy-found. */
static void
test_policy_string(void)
{
	struct tlsrpt_count rows[] = {
	    row("sts", "mx1.example.test", "", "", 1),
	    row("no-policy-found", "mx2.example.test", "", "", 1),
	};
	const char *sts[] = {"version: STSv1", "mode: testing", "mx: *.example.test",
			     "max_age: 86400"};
	const char *junk[] = {"x"};
	struct tlsrpt_policy_text texts[] = {
	    {"tlsa", junk, 1}, /* no tlsa rows: not shown */
	    {"sts", sts, 4},
	    {"no-policy-found", junk, 1},
	};
	struct tlsrpt_report r = report(rows, 2);
	r.texts = texts;
	r.ntexts = 3;
	struct buf b;
	buf_init(&b, 0);
	CHECK(tlsrpt_json(&r, &b) == 0);
	CHECK(strstr(b.data, "{\"policy-type\":\"sts\",\"policy-string\":[\"version: STSv1\","
			     "\"mode: testing\",\"mx: *.example.test\",\"max_age: 86400\"],"
			     "\"policy-domain\":\"example.test\"") != NULL);
	CHECK(strstr(b.data, "\"x\"") == NULL);
	CHECK(strstr(b.data, "{\"policy-type\":\"no-policy-found\",\"policy-domain\"") != NULL);
	buf_free(&b);
}

/* Words the schema lacks never reach a report; JSON text is escaped. */
static void
test_json_unknown_words(void)
{
	struct tlsrpt_count rows[] = {
	    row("dane?", "mx\"1", "", "", 1),
	    row("no-policy-found", "mx\"1", "", "made-up-failure", 2),
	};
	struct tlsrpt_report r = report(rows, 2);
	struct buf b;
	buf_init(&b, 0);
	CHECK(tlsrpt_json(&r, &b) == 0);
	CHECK(strstr(b.data, "\"policy-type\":\"no-policy-found\"") != NULL);
	CHECK(strstr(b.data, "dane?") == NULL);
	CHECK(strstr(b.data, "made-up-failure") == NULL);
	CHECK(strstr(b.data, "\"result-type\":\"validation-failure\"") != NULL);
	CHECK(strstr(b.data, "\"mx\\\"1\"") != NULL);
	CHECK(strstr(b.data, "\"total-successful-session-count\":1,"
			     "\"total-failure-session-count\":2") != NULL);
	/* No rows: no report. */
	struct tlsrpt_report empty = report(rows, 0);
	buf_reset(&b);
	CHECK(tlsrpt_json(&empty, &b) == -1);
	buf_free(&b);
}

static void
test_words(void)
{
	CHECK(tlsrpt_result_type_valid("starttls-not-supported"));
	CHECK(tlsrpt_result_type_valid("sts-webpki-invalid"));
	CHECK(tlsrpt_result_type_valid("dane-required"));
	CHECK(!tlsrpt_result_type_valid("ok"));
	CHECK(!tlsrpt_result_type_valid(""));
	CHECK(!tlsrpt_result_type_valid(NULL));
	CHECK(tlsrpt_policy_type_valid("sts") && tlsrpt_policy_type_valid("tlsa") &&
	      tlsrpt_policy_type_valid("no-policy-found"));
	CHECK(!tlsrpt_policy_type_valid("dane"));
}

static void
test_file_name(void)
{
	struct tlsrpt_count rows[] = {row("sts", "mx", "", "", 1)};
	struct tlsrpt_report r = report(rows, 1);
	char name[200];
	CHECK(tlsrpt_file_name("mx.sender.test", &r, "001", name, sizeof name));
	CHECK_STR(name, "mx.sender.test!example.test!1796428800!1796515199!001.json.gz");
	CHECK(tlsrpt_file_name("mx.sender.test", &r, NULL, name, sizeof name));
	CHECK_STR(name, "mx.sender.test!example.test!1796428800!1796515199.json.gz");
	CHECK(!tlsrpt_file_name("mx.sender.test", &r, "001", name, 20));
}

static void
test_mail(void)
{
	struct tlsrpt_count rows[] = {row("sts", "mx", "", "", 1)};
	struct tlsrpt_report r = report(rows, 1);
	unsigned char gz[100];
	for (size_t i = 0; i < sizeof gz; i++)
		gz[i] = (unsigned char)(i * 7);
	struct tlsrpt_mail m = {
	    .from = "postmaster@sender.test",
	    .to = "tlsrpt@example.test",
	    .submitter = "mx.sender.test",
	    .date = "Sat, 06 Dec 2026 00:10:00 +0000",
	    .message_id = "<r1@mx.sender.test>",
	    .boundary = "=_tlsrpt_1",
	    .file_name = "mx.sender.test!example.test!1796428800!1796515199!001.json.gz",
	    .report = &r,
	    .gz = gz,
	    .gz_len = sizeof gz,
	};
	struct buf b;
	buf_init(&b, 0);
	CHECK(tlsrpt_mail_build(&m, &b) == 0);
	const char *want[] = {
	    "From: <postmaster@sender.test>\r\nTo: <tlsrpt@example.test>\r\n",
	    ("\r\nSubject: Report Domain: example.test Submitter: mx.sender.test Report-ID: "
	     "<20261205.example.test.1a2b@mx.sender.test>\r\n"),
	    "\r\nTLS-Report-Domain: example.test\r\nTLS-Report-Submitter: mx.sender.test\r\n",
	    "\r\nTLS-Required: No\r\n",
	    "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n\tboundary=\"=_tlsrpt_1\"",
	    "\r\n--=_tlsrpt_1\r\nContent-Type: application/tlsrpt+gzip\r\n",
	    "filename=\"mx.sender.test!example.test!1796428800!1796515199!001.json.gz\"",
	    "\r\n--=_tlsrpt_1--\r\n",
	};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		CHECK(strstr(b.data, want[i]) != NULL);
		if (strstr(b.data, want[i]) == NULL)
			printf("  missing: %s\n", want[i]);
	}
	/* The attachment decodes to the bytes given: two lines of base64. */
	const char *p = strstr(b.data, "json.gz\"\r\n\r\n");
	CHECK(p != NULL);
	if (p) {
		p += strlen("json.gz\"\r\n\r\n");
		char joined[400] = "";
		const char *end = strstr(p, "\r\n\r\n--");
		size_t k = 0;
		for (const char *q = p; end && q < end && k + 1 < sizeof joined; q++)
			if (*q != '\r' && *q != '\n')
				joined[k++] = *q;
		joined[k] = '\0';
		unsigned char back[200];
		size_t n = 0;
		CHECK(b64_decode(joined, k, back, sizeof back, &n) && n == sizeof gz &&
		      memcmp(back, gz, n) == 0);
		CHECK(strchr(p, '\n') - p == 77); /* 76 characters and the CR */
	}
	/* A value with CR or LF, or a quote, would break the header: refused. */
	m.to = "a@b\r\nBcc: x@y";
	buf_reset(&b);
	CHECK(tlsrpt_mail_build(&m, &b) == -1);
	m.to = "tlsrpt@example.test";
	m.boundary = "TLS report"; /* occurs in the text part */
	CHECK(tlsrpt_mail_build(&m, &b) == -1);
	buf_free(&b);
}

int
main(void)
{
	test_json_exact();
	test_json_unknown_words();
	test_policy_string();
	test_words();
	test_file_name();
	test_mail();
	return test_summary("test_tlsrpt");
}
