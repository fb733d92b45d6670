/*
 * Unit tests for spool/format: the one codec of the spool's files. The
 * expected bytes are the on-disk format of spool.h: a spool written by an
 * older mailport must read the same, so they are spelled out here, not
 * produced by the encoder under test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "harness.h"
#include "spool_format.h"

#define QID "0123456789ABCDEF"

static void
addr(struct smtp_addr *a, const char *local, const char *domain)
{
	memset(a, 0, sizeof *a);
	snprintf(a->local, sizeof a->local, "%s", local);
	snprintf(a->domain, sizeof a->domain, "%s", domain);
}

static void
test_ids(void)
{
	char id[SPOOL_QID_SIZE];
	spool_id_format(id, 0x65A1B2C3, 0x1234A, 0xBEEF);
	CHECK_STR(id, "65A1B2C3234ABEEF"); /* the counter keeps its low 16 bits */
	CHECK(spool_id_valid(id));
	CHECK(spool_id_valid(QID));
	CHECK(!spool_id_valid("0123456789abcdef")); /* file names are upper case */
	CHECK(!spool_id_valid("0123456789ABCDE"));
	CHECK(!spool_id_valid("0123456789ABCDEF0"));
	CHECK(!spool_id_valid("0123456789ABCDEF.state"));
	CHECK(!spool_id_valid("../3456789ABCDEF"));
	CHECK(!spool_id_valid(""));
}

/* Every byte that could break a line or a field is escaped; UTF-8 is not. */
static void
test_values(void)
{
	struct buf b, d;
	buf_init(&b, 0);
	buf_init(&d, 0);
	spool_value_put(&b, "a b%c\r\n\x7f\x01\xc3\xa9=");
	CHECK_STR(b.data, "a%20b%25c%0D%0A%7F%01\xc3\xa9=");
	CHECK(spool_value_decode(b.data, b.len, &d));
	CHECK_STR(d.data, "a b%c\r\n\x7f\x01\xc3\xa9=");
	CHECK(spool_value_decode("%2a%2A", 6, &d) && strcmp(d.data, "**") == 0);
	CHECK(spool_value_decode("", 0, &d) && d.data && d.data[0] == '\0');
	CHECK(!spool_value_decode("%00", 3, &d)); /* a NUL would cut the value */
	CHECK(!spool_value_decode("ab%4", 4, &d));
	CHECK(!spool_value_decode("ab%", 3, &d));
	CHECK(!spool_value_decode("%G1", 3, &d));
	buf_free(&b);
	buf_free(&d);
}

/* The bytes the spool has always written for this envelope. */
static void
test_encode_bytes(void)
{
	struct smtp_mail_args mail = {0};
	struct smtp_rcpt_args rcpts[3] = {0};
	addr(&mail.from, "s\xc3\xa9nder", "example.test");
	mail.ret = SMTP_RET_HDRS;
	mail.body = SMTP_BODY_8BITMIME;
	mail.smtputf8 = true;
	snprintf(mail.envid, sizeof mail.envid, "QQ+2Bx 1");
	addr(&rcpts[0].to, "a", "x.test");
	rcpts[0].notify_set = true;
	rcpts[0].notify = SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY;
	snprintf(rcpts[0].orcpt, sizeof rcpts[0].orcpt, "rfc822;a+20b@x.test");
	addr(&rcpts[1].to, "\"b c\"", "x.test");
	rcpts[1].notify_set = true;
	rcpts[1].notify = 0;
	addr(&rcpts[2].to, "c", "y.test");
	struct spool_envelope env = {&mail, rcpts, 3, "192.0.2.1", "client.test", NULL, 0};
	struct buf b;
	buf_init(&b, 0);
	spool_header_encode(&b, QID, 1700000000, &env);
	CHECK_STR(b.data, "version 1\n"
			  "id " QID "\n"
			  "arrival 1700000000\n"
			  "from s\xc3\xa9nder@example.test\n"
			  "ret HDRS\n"
			  "envid QQ+2Bx%201\n"
			  "body 8BITMIME\n"
			  "smtputf8\n"
			  "client 192.0.2.1\n"
			  "helo client.test\n"
			  "rcpt a@x.test notify=SUCCESS,DELAY orcpt=rfc822;a+20b@x.test\n"
			  "rcpt \"b%20c\"@x.test notify=NEVER\n"
			  "rcpt c@y.test\n"
			  "\n");
	/* The null sender: "from" alone; no optional line at all. */
	struct smtp_mail_args null = {0};
	null.from.is_null = true;
	struct spool_envelope env2 = {&null, rcpts + 2, 1, NULL, "", NULL, 0};
	buf_reset(&b);
	spool_header_encode(&b, QID, 5, &env2);
	CHECK_STR(b.data, "version 1\nid " QID "\narrival 5\nfrom\nrcpt c@y.test\n\n");
	/* RFC 8689 REQUIRETLS: one line of its own after smtputf8's place. */
	null.requiretls = true;
	buf_reset(&b);
	spool_header_encode(&b, QID, 5, &env2);
	CHECK_STR(b.data, "version 1\nid " QID "\narrival 5\nfrom\nrequiretls\nrcpt c@y.test\n\n");
	buf_free(&b);
}

/*
 * The pad line (room for spool_msg_prepend): last before the blank line,
 * exactly env->pad bytes with its '\n'; a decoder skips it and counts it
 * in the header's length, whatever is left of it (down to "pad\n").
 */
static void
test_pad(void)
{
	struct smtp_mail_args mail = {0};
	struct smtp_rcpt_args rcpt = {0};
	addr(&mail.from, "a", "b.test");
	addr(&rcpt.to, "c", "d.test");
	struct spool_envelope env = {&mail, &rcpt, 1, NULL, NULL, NULL, 16};
	struct buf b;
	buf_init(&b, 0);
	spool_header_encode(&b, QID, 7, &env);
	CHECK_STR(b.data, "version 1\nid " QID "\narrival 7\nfrom a@b.test\nrcpt c@d.test\n"
			  "pad            \n\n");
	size_t len = b.len;
	buf_append_str(&b, "X: y\r\n\r\nbody\r\n");
	struct spool_header h;
	const char *why = NULL;
	CHECK(spool_header_decode(b.data, b.len, &h, &why) == 0);
	CHECK(h.length == len);
	CHECK(h.nrcpts == 1 && strcmp(h.rcpts[0].addr, "c@d.test") == 0);
	spool_header_free(&h);

	/* After prepends that used all the room: the shortest pad line, "pad\n". */
	const char *shrunk = "version 1\nid " QID "\narrival 7\nfrom a@b.test\nrcpt c@d.test\n"
			     "pad\n\nA: 123456\r\nX: y\r\n\r\nbody\r\n";
	CHECK(spool_header_decode(shrunk, strlen(shrunk), &h, &why) == 0);
	CHECK(strncmp(shrunk + h.length, "A: 123456\r\n", 11) == 0);
	spool_header_free(&h);

	char line[8];
	spool_pad_line(line, SPOOL_PAD_MIN);
	CHECK(memcmp(line, "pad\n", 4) == 0);
	spool_pad_line(line, 6);
	CHECK(memcmp(line, "pad  \n", 6) == 0);
	buf_free(&b);
}

/* Encode, append a message, decode: every field comes back. */
static void
test_round_trip(void)
{
	enum { N = 300 };
	struct smtp_mail_args mail = {0};
	struct smtp_rcpt_args *rcpts = calloc(N, sizeof *rcpts);
	addr(&mail.from, "\xe7\x94\xa8\xe6\x88\xb7", "\xe4\xbe\x8b\xe5\xad\x90.test");
	mail.ret = SMTP_RET_FULL;
	mail.body = SMTP_BODY_BINARYMIME;
	mail.smtputf8 = true;
	mail.requiretls = true;
	snprintf(mail.envid, sizeof mail.envid, "id%%1 2");
	for (size_t i = 0; i < N; i++) {
		char local[32];
		snprintf(local, sizeof local, "r%zu", i);
		addr(&rcpts[i].to, local, "x.test");
		rcpts[i].notify_set = i % 3 != 0;
		rcpts[i].notify = (unsigned)(i % 8);
		if (i % 2)
			snprintf(rcpts[i].orcpt, sizeof rcpts[i].orcpt, "rfc822;r%zu+2B@x.test", i);
	}
	struct spool_envelope env = {&mail, rcpts, N, "2001:db8::1", "h\xc3\xa9lo", "us er", 0};
	struct buf b;
	buf_init(&b, 0);
	spool_header_encode(&b, QID, -1, &env);
	size_t header_len = b.len;
	buf_append_str(&b, "Subject: x\r\n\r\nbody\r\n");

	struct spool_header h;
	const char *why = "unset";
	CHECK(spool_header_decode(b.data, b.len, &h, &why) == 0 && why == NULL);
	CHECK_STR(h.id, QID);
	CHECK(h.arrival == -1);
	CHECK(h.length == header_len);
	CHECK_STR(h.from, "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.test");
	CHECK_STR(h.ret, "FULL");
	CHECK_STR(h.envid, "id%1 2");
	CHECK_STR(h.body, "BINARYMIME");
	CHECK(h.smtputf8);
	CHECK(h.requiretls);
	CHECK_STR(h.client, "2001:db8::1");
	CHECK_STR(h.helo, "h\xc3\xa9lo");
	CHECK_STR(h.auth, "us er");
	CHECK(h.nrcpts == N);
	static const char *notify[] = {
	    "NEVER", "SUCCESS",	      "FAILURE",       "SUCCESS,FAILURE",
	    "DELAY", "SUCCESS,DELAY", "FAILURE,DELAY", "SUCCESS,FAILURE,DELAY"};
	size_t bad = 0;
	for (size_t i = 0; i < h.nrcpts && i < N; i++) {
		char want[64];
		snprintf(want, sizeof want, "r%zu@x.test", i);
		bad += strcmp(h.rcpts[i].addr, want) != 0;
		if (i % 3 == 0)
			bad += h.rcpts[i].notify != NULL;
		else
			bad +=
			    h.rcpts[i].notify == NULL || strcmp(h.rcpts[i].notify, notify[i % 8]);
		snprintf(want, sizeof want, "rfc822;r%zu+2B@x.test", i);
		if (i % 2)
			bad += h.rcpts[i].orcpt == NULL || strcmp(h.rcpts[i].orcpt, want);
		else
			bad += h.rcpts[i].orcpt != NULL;
	}
	CHECK(bad == 0);
	spool_header_free(&h);
	CHECK(h.rcpts == NULL && h.from == NULL);
	buf_free(&b);
	free(rcpts);
}

/* A decode that must fail, with a reason that says why. */
static void
check_refused(const char *text, size_t len, const char *reason_part)
{
	struct spool_header h;
	const char *why = NULL;
	int rc = spool_header_decode(text, len, &h, &why);
	CHECK(rc == -1);
	CHECK(why != NULL && strstr(why, reason_part) != NULL);
	if (rc == -1)
		CHECK(h.from == NULL && h.rcpts == NULL && h.nrcpts == 0);
	else
		spool_header_free(&h);
}

#define REFUSED(text, reason) check_refused(text, sizeof text - 1, reason)
#define HEAD "version 1\nid " QID "\narrival 7\nfrom a@x.test\n"

static void
test_refused(void)
{
	REFUSED(HEAD "rcpt b@x.test\n", "no blank line");
	REFUSED(HEAD "rcpt b@x.test", "cut short");
	REFUSED("", "no blank line");
	REFUSED("version 2\nid " QID "\narrival 7\nfrom\n\n", "version 1");
	REFUSED("id " QID "\nversion 1\narrival 7\nfrom\n\n", "version 1");
	REFUSED("version 1\nid " QID "\narrival 7\n\n", "lacks");
	REFUSED("version 1\narrival 7\nfrom\nx y\n\n", "lacks");
	REFUSED("version 1\nid 0123\narrival 7\nfrom\n\n", "id line");
	REFUSED("version 1\nid " QID "\narrival 7x\nfrom\n\n", "arrival");
	REFUSED("version 1\nid " QID "\narrival\nfrom\n\n", "arrival");
	REFUSED(HEAD "rcpt b%4@x.test\n\n", "recipient");
	REFUSED(HEAD "rcpt \n\n", "empty recipient");
	REFUSED(HEAD "rcpt b@x.test notify=%ZZ\n\n", "parameter");
	REFUSED(HEAD "helo a%00b\n\n", "escape");
	REFUSED("version 1\nid " QID "\narrival 7\nfrom a%@x.test\n\n", "from");
	REFUSED(HEAD "helo a\0b\n\n", "NUL");
	char from[400] = "version 1\nid " QID "\narrival 7\nfrom ";
	memset(from + strlen(from), 'a', 257);
	strcat(from, "\n\n");
	check_refused(from, strlen(from), "from");

	/* Every cut of a good header before its blank line is refused. */
	static const char good[] = HEAD "ret FULL\nrcpt b@x.test notify=NEVER\n\n";
	size_t bad = 0;
	for (size_t len = 0; len < sizeof good - 1; len++) {
		struct spool_header h;
		const char *why = NULL;
		if (spool_header_decode(good, len, &h, &why) == 0) {
			bad++;
			spool_header_free(&h);
		} else {
			bad += why == NULL;
		}
	}
	CHECK(bad == 0);

	/* No blank line within SPOOL_HEADER_MAX: not a header we wrote. */
	size_t big = SPOOL_HEADER_MAX + 64;
	char *huge = malloc(big);
	memcpy(huge, HEAD, sizeof HEAD - 1);
	for (size_t i = sizeof HEAD - 1; i < big; i++)
		huge[i] = (i + 1) % 64 == 0 ? '\n' : 'x';
	check_refused(huge, big, "longer");
	free(huge);
}

static void
test_lenient(void)
{
	/* A newer writer's keys are skipped; keys match in any case; a
	 * repeated line's last value counts, a repeated parameter's first. */
	static const char text[] = "version 1\nID " QID "\nArrival 7\nfrom a@x.test\n"
				   "future-key whatever %%\nHELO one\nhelo two\n"
				   "RCPT b@x.test orcpt=1 orcpt=2 notify=NEVER x=y\n\n";
	struct spool_header h;
	const char *why = NULL;
	CHECK(spool_header_decode(text, sizeof text - 1, &h, &why) == 0);
	CHECK_STR(h.id, QID);
	CHECK_STR(h.helo, "two");
	CHECK(h.nrcpts == 1);
	if (h.nrcpts == 1) {
		CHECK_STR(h.rcpts[0].orcpt, "1");
		CHECK_STR(h.rcpts[0].notify, "NEVER");
	}
	CHECK(h.ret == NULL && h.auth == NULL && !h.smtputf8);
	CHECK(!h.requiretls); /* a file written before the key reads as off */
	spool_header_free(&h);
}

static void
test_state(void)
{
	struct buf b;
	buf_init(&b, 0);
	spool_state_encode(&b, "a b@x.test");
	spool_state_encode(&b, "c@x.test");
	CHECK_STR(b.data, "a%20b@x.test\nc@x.test\n");
	buf_append_str(&b, "bad%4\nd@x.te"); /* a bad line, and one a crash cut */
	char **done = NULL;
	size_t n = 0;
	spool_state_decode(b.data, b.len, &done, &n);
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(done[0], "a b@x.test");
		CHECK_STR(done[1], "c@x.test");
	}
	for (size_t i = 0; i < n; i++)
		free(done[i]);
	free(done);
	done = NULL, n = 0;
	spool_state_decode("", 0, &done, &n);
	CHECK(n == 0 && done == NULL);
	buf_free(&b);
}

static void
test_retry(void)
{
	struct spool_retry r = {.attempts = 3, .next_attempt = 1700000300}, back;
	snprintf(r.last_error, sizeof r.last_error, "451 4.3.0 try again\r\n100%% \x7f");
	struct buf b;
	buf_init(&b, 0);
	spool_retry_encode(&b, &r);
	CHECK_STR(b.data, "3 1700000300 451 4.3.0 try again%0D%0A100%25 %7F\n");
	memset(&back, 0, sizeof back);
	CHECK(spool_retry_decode(b.data, b.len, &back) == 0);
	CHECK(back.attempts == 3 && back.next_attempt == 1700000300);
	CHECK_STR(back.last_error, r.last_error);

	/* The longest error, every byte escaped, still round-trips whole. */
	memset(r.last_error, '%', sizeof r.last_error - 1);
	r.last_error[sizeof r.last_error - 1] = '\0';
	buf_reset(&b);
	spool_retry_encode(&b, &r);
	CHECK(spool_retry_decode(b.data, b.len, &back) == 0);
	CHECK_STR(back.last_error, r.last_error);

	CHECK(spool_retry_decode("2 99\n", 5, &back) == 0 && back.last_error[0] == '\0');
	CHECK(spool_retry_decode("2 99 50%x%4\n", 12, &back) == 0);
	CHECK_STR(back.last_error, "50%x%4"); /* not an escape we wrote: kept */
	CHECK(spool_retry_decode("", 0, &back) == -1);
	CHECK(spool_retry_decode("x 99 e\n", 7, &back) == -1);
	CHECK(spool_retry_decode("2\n", 2, &back) == -1);
	CHECK(spool_retry_decode("2 y e\n", 6, &back) == -1);
	CHECK(spool_retry_decode("2 99x e\n", 8, &back) == -1);
	buf_free(&b);
}

int
main(void)
{
	test_ids();
	test_values();
	test_encode_bytes();
	test_round_trip();
	test_pad();
	test_refused();
	test_lenient();
	test_state();
	test_retry();
	return test_summary("test_spool_format");
}
