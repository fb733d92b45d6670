/* Unit tests for core/bounce: RFC 3464 delivery status notifications. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "harness.h"

#define DATE "Mon, 1 Jan 2024 00:06:00 +0000"
#define BOUNDARY "=_bounce_42"
#define ORIGINAL                                                                                   \
	"Received: from client\r\nFrom: Ann <ann@example.com>\r\nSubject: hello\r\n"               \
	"Message-ID: <orig@example.com>\r\n\r\nHello Bob,\r\nsee you.\r\n"

/* CRLF only, no line over 998 octets: what every notification must be */
static bool
well_formed(const char *p, size_t n)
{
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n'))
			return false;
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return false;
		col = p[i] == '\r' || p[i] == '\n' ? 0 : col + 1;
		if (col > 998 || p[i] == '\0')
			return false;
	}
	return n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n';
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static struct bounce_rcpt
failed_rcpt(void)
{
	return (struct bounce_rcpt){
	    .addr = "bob@example.net",
	    .orcpt = "rfc822;Bob+2Bmail@example.net",
	    .action = BOUNCE_FAILED,
	    .remote_mta = "mx.example.net",
	    .reply = "550-5.1.1 The email account that you tried to reach does not exist.\r\n"
		     "550-5.1.1 Please check the address\r\n"
		     "550 5.1.1 for typos. x12-gsmtp",
	    .last_attempt = "Mon, 1 Jan 2024 00:05:00 +0000",
	};
}

static struct bounce_spec
base_spec(const struct bounce_rcpt *r, size_t n)
{
	return (struct bounce_spec){
	    .hostname = "mail.example.com",
	    .sender = "ann@example.com",
	    .envid = "Q+2B1",
	    .arrival = "Mon, 1 Jan 2024 00:00:00 +0000",
	    .date = DATE,
	    .message_id = "<dsn.1@mail.example.com>",
	    .boundary = BOUNDARY,
	    .rcpts = r,
	    .rcpt_count = n,
	    .original = STRV_LIT(ORIGINAL),
	    .full_max = BOUNCE_FULL_MAX_DEFAULT,
	};
}

static void
test_failed(void)
{
	struct bounce_rcpt r = failed_rcpt();
	struct bounce_spec s = base_spec(&r, 1);
	struct bounce_info info;
	struct buf b;
	char err[256];

	buf_init(&b, 0);
	CHECK(bounce_build(&s, &b, &info, err, sizeof err) == BOUNCE_OK);
	CHECK(well_formed(b.data, b.len));
	CHECK(info.size == b.len && !info.has_8bit && !info.smtputf8 && !info.delay);
	CHECK(info.returned == BOUNCE_RETURNED_FULL);
	CHECK(strncmp(b.data, "Date: " DATE "\r\n", strlen(DATE) + 8) == 0);
	CHECK(
	    strstr(b.data, "\r\nFrom: Mail Delivery System <MAILER-DAEMON@mail.example.com>\r\n"));
	CHECK(strstr(b.data, "\r\nTo: <ann@example.com>\r\n"));
	CHECK(strstr(b.data, "\r\nSubject: Undelivered Mail Returned to Sender\r\n"));
	CHECK(strstr(b.data, "\r\nAuto-Submitted: auto-replied\r\n"));
	CHECK(strstr(b.data, "\r\nMIME-Version: 1.0\r\n"));
	CHECK(strstr(b.data, "\r\nContent-Type: multipart/report; report-type=delivery-status;"
			     "\r\n\tboundary=\"" BOUNDARY "\"\r\n\r\n"));
	/* three parts, in order */
	const char *p1 = strstr(b.data, "\r\n--" BOUNDARY "\r\nContent-Description: Notification"
					"\r\nContent-Type: text/plain; charset=us-ascii\r\n");
	const char *p2 =
	    strstr(b.data, "\r\n--" BOUNDARY "\r\nContent-Description: Delivery report"
			   "\r\nContent-Type: message/delivery-status\r\n\r\n"
			   "Reporting-MTA: dns; mail.example.com\r\n"
			   "Original-Envelope-Id: Q+1\r\n"
			   "Arrival-Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n"
			   "Original-Recipient: rfc822; Bob+mail@example.net\r\n"
			   "Final-Recipient: rfc822; bob@example.net\r\n"
			   "Action: failed\r\nStatus: 5.1.1\r\n"
			   "Remote-MTA: dns; mx.example.net\r\n"
			   "Diagnostic-Code: smtp; 550 5.1.1 The email account that you "
			   "tried to reach\r\n does not exist. Please check the address "
			   "for typos. x12-gsmtp\r\n"
			   "Last-Attempt-Date: Mon, 1 Jan 2024 00:05:00 +0000\r\n\r\n--");
	const char *p3 = strstr(b.data, "\r\n--" BOUNDARY "\r\nContent-Description: Undelivered "
					"Message\r\nContent-Type: message/rfc822\r\n\r\n" ORIGINAL
					"\r\n--" BOUNDARY "--\r\n");
	CHECK(p1 != NULL && p2 != NULL && p3 != NULL && p1 < p2 && p2 < p3);
	CHECK(p3 != NULL &&
	      strcmp(p3 + strlen(p3) - strlen(BOUNDARY) - 6, "--" BOUNDARY "--\r\n") == 0);
	CHECK(count(b.data, "\n--" BOUNDARY) == 4);
	/* the human part: the server's words and what to do */
	CHECK(strstr(b.data, "\r\n<bob@example.net>: delivery failed (status 5.1.1)\r\n"
			     "    The server mx.example.net said: 550 5.1.1 The email account"));
	CHECK(strstr(b.data, "What to do: Check the address"));
	CHECK(strstr(b.data, "The original message is attached below."));
	buf_free(&b);
}

static void
test_null_sender(void)
{
	struct bounce_rcpt r = failed_rcpt();
	struct bounce_spec s = base_spec(&r, 1);
	struct buf b;
	char err[256];

	buf_init(&b, 0);
	buf_append_str(&b, "keep");
	s.sender = "";
	CHECK(bounce_build(&s, &b, NULL, err, sizeof err) == BOUNCE_NULL_SENDER);
	s.sender = "<>";
	s.hostname = NULL; /* looked at before anything else */
	CHECK(bounce_build(&s, &b, NULL, err, sizeof err) == BOUNCE_NULL_SENDER);
	CHECK(strstr(err, "<>") != NULL);
	CHECK_STR(b.data, "keep");
	buf_free(&b);
}

static void
test_bad_input(void)
{
	struct bounce_rcpt r;
	struct bounce_spec s;
	struct buf b;
	char err[256];

	buf_init(&b, 0);
#define BAD(stmt)                                                                                  \
	do {                                                                                       \
		r = failed_rcpt();                                                                 \
		s = base_spec(&r, 1);                                                              \
		stmt;                                                                              \
		CHECK(bounce_build(&s, &b, NULL, err, sizeof err) == BOUNCE_ERR_INPUT);            \
		CHECK(b.len == 0);                                                                 \
	} while (0)
	BAD(r.addr = "bob@example.net\r\nBcc: x@y");
	BAD(r.addr = "bob@exa\nmple.net");
	BAD(r.addr = "");
	BAD(r.addr = "bad\xff@utf8");
	BAD(r.orcpt = "rfc822;a\r\n");
	BAD(r.status = "5.1");
	BAD(r.status = "6.1.1");
	BAD(r.status = "5.1.1\r\n");
	BAD(r.remote_mta = "mx.example.net\r\nX: y");
	BAD(r.remote_mta = "mx example");
	BAD(r.last_attempt = "Mon\n");
	BAD(r.retry_until = "\t");
	BAD(r.action = (enum bounce_action)7);
	BAD(s.sender = "ann@example.com\r\nBcc: evil@x");
	BAD(s.sender = "<ann@example.com>");
	BAD(s.hostname = "mail.example.com\n");
	BAD(s.hostname = NULL);
	BAD(s.date = "Mon,\r\n 1 Jan");
	BAD(s.date = NULL);
	BAD(s.message_id = "no-brackets@x");
	BAD(s.message_id = "<a b@x>");
	BAD(s.boundary = "bad\"quote");
	BAD(s.boundary = "");
	BAD(s.boundary = "0123456789012345678901234567890123456789012345678901234567890123456789X");
	BAD(s.envid = "a\nb");
	BAD(s.arrival = "x\r");
	BAD(s.rcpt_count = 0);
	BAD(s.original.p = NULL);
#undef BAD
	CHECK(strstr(err, "bounce: ") == err);
	buf_free(&b);
}

static void
test_status_from_reply(void)
{
	static const struct {
		const char *reply, *want;
	} cases[] = {
	    {"550 5.1.1 <x@y>: user unknown", "5.1.1"},
	    {"550-5.7.26 unauthenticated\r\n550 5.7.26 more", "5.7.26"},
	    {"451 4.7.1 greylisted", "4.7.1"},
	    {"550 4.1.1 wrong class", "5.0.0"},
	    {"554 rejected", "5.0.0"},
	    {"421", "4.0.0"},
	    {"552 5.3.4 too big", "5.3.4"},
	    {"550 5.1.10 null MX", "5.1.10"},
	    {"550 5.1.1234 too long", "5.0.0"},
	    {"550 5.1.1x", "5.0.0"},
	    {"550 5.1.1\r\n", "5.1.1"},
	};
	static const char *const not_failures[] = {"250 2.0.0 ok", "354 go", "5.1.1 x", "55 x", "",
						   "550x5.1.1",	   "hello"};
	char st[BOUNCE_STATUS_SIZE];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK(bounce_status_from_reply(cases[i].reply, st));
		CHECK_STR(st, cases[i].want);
	}
	for (size_t i = 0; i < sizeof not_failures / sizeof not_failures[0]; i++) {
		CHECK(!bounce_status_from_reply(not_failures[i], st));
		CHECK(st[0] == '\0');
	}
	CHECK(!bounce_status_from_reply(NULL, st));
	CHECK(bounce_status_valid("5.1.10") && bounce_status_valid("4.4.7"));
	CHECK(!bounce_status_valid("3.1.1") && !bounce_status_valid("5.1.") &&
	      !bounce_status_valid("5.1.1 ") && !bounce_status_valid("5.1111.1"));
}

static void
test_headers_only(void)
{
	struct bounce_rcpt r = failed_rcpt();
	struct bounce_spec s = base_spec(&r, 1);
	struct bounce_info info;
	struct buf b;
	char err[256];
	const char *want = "Content-Type: text/rfc822-headers\r\n\r\n"
			   "Received: from client\r\nFrom: Ann <ann@example.com>\r\n"
			   "Subject: hello\r\nMessage-ID: <orig@example.com>\r\n"
			   "\r\n--" BOUNDARY "--\r\n";

	buf_init(&b, 0);
	s.ret = BOUNCE_RET_HDRS;
	CHECK(bounce_build(&s, &b, &info, err, sizeof err) == BOUNCE_OK);
	CHECK(info.returned == BOUNCE_RETURNED_HEADERS && well_formed(b.data, b.len));
	CHECK(strstr(b.data, want) != NULL && strstr(b.data, "Hello Bob") == NULL);
	CHECK(strstr(b.data, "Content-Description: Undelivered Message Headers\r\n"));
	CHECK(strstr(b.data, "The header of the original message is attached below."));
	/* too large for the whole, and full_max 0: the header too */
	buf_reset(&b);
	s.ret = BOUNCE_RET_FULL;
	s.full_max = strlen(ORIGINAL) - 1;
	CHECK(bounce_build(&s, &b, &info, err, sizeof err) == BOUNCE_OK);
	CHECK(info.returned == BOUNCE_RETURNED_HEADERS && strstr(b.data, want) != NULL);
	buf_reset(&b);
	s.full_max = 0;
	CHECK(bounce_build(&s, &b, &info, err, sizeof err) == BOUNCE_OK);
	CHECK(info.returned == BOUNCE_RETURNED_HEADERS);
	/* exactly full_max: whole */
	buf_reset(&b);
	s.full_max = strlen(ORIGINAL);
	CHECK(bounce_build(&s, &b, &info, err, sizeof err) == BOUNCE_OK);
	CHECK(info.returned == BOUNCE_RETURNED_FULL);
	buf_free(&b);
}

static void
test_delayed(void)
{
	struct bounce_rcpt r = {
	    .addr = "carl@example.org",
	    .action = BOUNCE_DELAYED,
	    .remote_mta = "mx.example.org",
	    .reply = "451 4.7.1 Greylisted, try again later",
	    .last_attempt = "Mon, 1 Jan 2024 04:00:00 +0000",
	    .retry_until = "Sat, 6 Jan 2024 00:00:00 +0000",
	};
	struct bounce_spec s = base_spec(&r, 1);
	struct bounce_info info;
	struct buf b;
	char err[256];

	buf_init(&b, 0);
	CHECK(bounce_build(&s, &b, &info, err, sizeof err) == BOUNCE_OK);
	CHECK(well_formed(b.data, b.len) && info.delay);
	CHECK(strstr(b.data, "\r\nSubject: Delayed Mail (still being retried)\r\n"));
	CHECK(strstr(b.data, "\r\nAction: delayed\r\nStatus: 4.7.1\r\n"));
	CHECK(strstr(b.data, "\r\nWill-Retry-Until: Sat, 6 Jan 2024 00:00:00 +0000\r\n"));
	CHECK(strstr(b.data, "No action needed: we will keep trying until Sat, 6 Jan 2024"));
	CHECK(strstr(b.data, "What to do") == NULL);
	/* still queued: only the header goes back */
	CHECK(info.returned == BOUNCE_RETURNED_HEADERS && strstr(b.data, "Hello Bob") == NULL);

	/* failed and delayed together: a bounce, each recipient as it stands */
	struct bounce_rcpt two[2] = {failed_rcpt(), r};
	two[1].retry_until = NULL;
	s = base_spec(two, 2);
	buf_reset(&b);
	CHECK(bounce_build(&s, &b, &info, err, sizeof err) == BOUNCE_OK);
	CHECK(!info.delay && info.returned == BOUNCE_RETURNED_FULL);
	CHECK(strstr(b.data, "Subject: Undelivered Mail Returned to Sender"));
	CHECK(strstr(b.data, "Action: failed") && strstr(b.data, "Action: delayed"));
	CHECK(strstr(b.data, "Will-Retry-Until") == NULL);
	CHECK(strstr(b.data, "keep trying for a while"));
	/* two recipient groups, each after a blank line */
	CHECK(count(b.data, "\r\n\r\nFinal-Recipient: ") == 1);
	CHECK(count(b.data, "\r\n\r\nOriginal-Recipient: ") == 1);
	CHECK(count(b.data, "\r\n\r\nReporting-MTA: ") == 1);
	buf_free(&b);
}

static void
test_advice(void)
{
	struct bounce_rcpt r = failed_rcpt();
	struct bounce_spec s = base_spec(&r, 1);
	struct buf b;
	char err[256];

	buf_init(&b, 0);
	r.reply = "550 5.7.1 Message rejected as spam";
	CHECK(bounce_build(&s, &b, NULL, err, sizeof err) == BOUNCE_OK);
	CHECK(strstr(b.data, "Status: 5.7.1\r\n"));
	CHECK(strstr(b.data, "The receiving server refused the message by policy"));
	/* no reply: our reason, the status given by the caller */
	buf_reset(&b);
	r.reply = NULL;
	r.remote_mta = NULL;
	r.status = "4.4.7";
	r.reason = "message expired after 5 days\r\nconnect to mx.example.net: timed out";
	CHECK(bounce_build(&s, &b, NULL, err, sizeof err) == BOUNCE_OK);
	CHECK(well_formed(b.data, b.len));
	CHECK(strstr(b.data, "Status: 4.4.7\r\n") && strstr(b.data, "Remote-MTA") == NULL);
	CHECK(
	    strstr(b.data, "Diagnostic-Code: X-mailport; message expired after 5 days connect to"));
	CHECK(strstr(b.data, "    Reason: message expired after 5 days connect to"));
	CHECK(strstr(b.data, "We kept trying until the message expired."));
	/* nothing at all: a default status by action */
	buf_reset(&b);
	r.status = NULL;
	r.reason = NULL;
	CHECK(bounce_build(&s, &b, NULL, err, sizeof err) == BOUNCE_OK);
	CHECK(strstr(b.data, "Status: 5.0.0\r\n") && strstr(b.data, "Diagnostic-Code") == NULL);
	buf_free(&b);
}

static void
test_hostile_reply(void)
{
	struct bounce_rcpt r = failed_rcpt();
	struct bounce_spec s = base_spec(&r, 1);
	struct buf b;
	char err[256];
	char *longw = malloc(3001);

	memset(longw, 'A', 3000);
	memcpy(longw, "550 ", 4);
	longw[3000] = '\0';
	buf_init(&b, 0);
	r.reply = longw;
	CHECK(bounce_build(&s, &b, NULL, err, sizeof err) == BOUNCE_OK);
	CHECK(well_formed(b.data, b.len));
	CHECK(strstr(b.data, "A...\r\n") != NULL);
	CHECK(strstr(b.data, "Status: 5.0.0\r\n"));
	buf_reset(&b);
	/* bare CR and LF, controls, 8-bit and a fake boundary in the reply */
	r.reply = "550 bad\rBcc: x\n\x01\x7f\xc3\xa9t\xc3\xa9\r\n--" BOUNDARY "--\r\n.\r\n";
	CHECK(bounce_build(&s, &b, NULL, err, sizeof err) == BOUNCE_OK);
	CHECK(well_formed(b.data, b.len));
	CHECK(strstr(b.data, "Diagnostic-Code: smtp; 550 bad Bcc: x ??t?? --" BOUNDARY "-- .\r\n"));
	CHECK(count(b.data, "\n--" BOUNDARY) == 4);
	CHECK(strstr(b.data, "\nBcc:") == NULL);
	buf_free(&b);
	free(longw);
}

static void
test_original_forms(void)
{
	struct bounce_rcpt r = failed_rcpt();
	struct bounce_spec s = base_spec(&r, 1);
	struct bounce_info info;
	struct buf b;
	char err[256];

	buf_init(&b, 0);
	/* bare LF and lone CR become CRLF, a last line gets its end */
	s.original = STRV_LIT("Subject: a\nX: b\r\rbody\nend");
	CHECK(bounce_build(&s, &b, &info, err, sizeof err) == BOUNCE_OK);
	CHECK(well_formed(b.data, b.len));
	CHECK(strstr(b.data,
		     "message/rfc822\r\n\r\nSubject: a\r\nX: b\r\n\r\nbody\r\nend\r\n\r\n--"));
	/* 8-bit: 8bit transfer encoding, and the caller is told */
	buf_reset(&b);
	s.original = STRV_LIT("Subject: caf\xc3\xa9\r\n\r\nd\xc3\xa9j\xc3\xa0\r\n");
	CHECK(bounce_build(&s, &b, &info, err, sizeof err) == BOUNCE_OK);
	CHECK(info.has_8bit && info.returned == BOUNCE_RETURNED_FULL);
	CHECK(strstr(b.data, "message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"));
	/* a NUL in the body cannot be embedded: the header only */
	buf_reset(&b);
	s.original = (struct strv){"Subject: x\r\n\r\na\0b\r\n", 19};
	CHECK(bounce_build(&s, &b, &info, err, sizeof err) == BOUNCE_OK);
	CHECK(info.returned == BOUNCE_RETURNED_HEADERS && !info.has_8bit);
	/* no header at all and only the header wanted: no third part */
	buf_reset(&b);
	s.original = STRV_LIT("\r\njust a body\r\n");
	s.ret = BOUNCE_RET_HDRS;
	CHECK(bounce_build(&s, &b, &info, err, sizeof err) == BOUNCE_OK);
	CHECK(info.returned == BOUNCE_RETURNED_NONE && well_formed(b.data, b.len));
	CHECK(count(b.data, "\n--" BOUNDARY) == 3 && strstr(b.data, "attached") == NULL);
	/* no original */
	buf_reset(&b);
	s.original = (struct strv){NULL, 0};
	CHECK(bounce_build(&s, &b, &info, err, sizeof err) == BOUNCE_OK);
	CHECK(info.returned == BOUNCE_RETURNED_NONE);
	CHECK(strstr(b.data, "delivery-status\r\n\r\nReporting-MTA"));
	buf_free(&b);
}

static void
test_boundary_and_limit(void)
{
	struct bounce_rcpt r = failed_rcpt();
	struct bounce_spec s = base_spec(&r, 1);
	struct buf b;
	char err[256];

	buf_init(&b, 0);
	buf_append_str(&b, "prefix");
	s.original = STRV_LIT("Subject: x\r\n\r\n--" BOUNDARY "\r\nfake part\r\n");
	CHECK(bounce_build(&s, &b, NULL, err, sizeof err) == BOUNCE_ERR_BOUNDARY);
	CHECK_STR(b.data, "prefix");
	s.boundary = "=_other";
	CHECK(bounce_build(&s, &b, NULL, err, sizeof err) == BOUNCE_OK);
	CHECK(strncmp(b.data, "prefixDate: ", 12) == 0 && well_formed(b.data + 6, b.len - 6));
	buf_free(&b);

	buf_init(&b, 500);
	CHECK(bounce_build(&s, &b, NULL, err, sizeof err) == BOUNCE_ERR_FULL);
	CHECK(b.len == 0);
	buf_free(&b);
}

static void
test_utf8_and_xtext(void)
{
	struct bounce_rcpt r = failed_rcpt();
	struct bounce_spec s = base_spec(&r, 1);
	struct bounce_info info;
	struct buf b;
	char err[256];

	buf_init(&b, 0);
	r.addr = "j\xc3\xb6rg+x=y@b\xc3\xbc"
		 "cher.example";
	s.sender = "\xc3\xa5sa@example.se";
	CHECK(bounce_build(&s, &b, &info, err, sizeof err) == BOUNCE_OK);
	CHECK(info.has_8bit && info.smtputf8);
	CHECK(strstr(b.data, "\r\nTo: <\xc3\xa5sa@example.se>\r\n"));
	CHECK(strstr(b.data, "Final-Recipient: utf-8; j\\x{F6}rg\\x{2B}x\\x{3D}y@b\\x{FC}cher."
			     "example\r\n"));
	CHECK(strstr(b.data, "text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit"));
	/* an ENVID or ORCPT that does not decode to text is left out */
	buf_reset(&b);
	s = base_spec(&r, 1);
	r = failed_rcpt();
	s.envid = "a+0Db";
	r.orcpt = "rfc822;x+ZZ";
	CHECK(bounce_build(&s, &b, &info, err, sizeof err) == BOUNCE_OK);
	CHECK(strstr(b.data, "Original-Envelope-Id") == NULL);
	CHECK(strstr(b.data, "Original-Recipient") == NULL);
	buf_reset(&b);
	s.envid = "a+";
	r.orcpt = "no-semicolon";
	CHECK(bounce_build(&s, &b, &info, err, sizeof err) == BOUNCE_OK);
	CHECK(strstr(b.data, "Original-Envelope-Id") == NULL);
	CHECK(strstr(b.data, "Original-Recipient") == NULL);
	buf_free(&b);
}

int
main(void)
{
	test_failed();
	test_null_sender();
	test_bad_input();
	test_status_from_reply();
	test_headers_only();
	test_delayed();
	test_advice();
	test_hostile_reply();
	test_original_forms();
	test_boundary_and_limit();
	test_utf8_and_xtext();
	return test_summary("test_bounce");
}
