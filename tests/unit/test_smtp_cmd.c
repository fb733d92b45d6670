/*
 * Unit tests for core/smtp_cmd: verb splitting (RFC 5321 4.1.1), MAIL and
 * RCPT arguments with their ESMTP parameters (RFC 1870, 6152, 3030, 6531,
 * 3461) and BDAT (RFC 3030). Table-driven; the tables are long on purpose.
 */
#include <string.h>

#include "harness.h"
#include "smtp_cmd.h"

static void
test_verbs(void)
{
	static const struct {
		const char *line;
		enum smtp_verb verb;
		const char *verb_text, *args;
	} cases[] = {
	    {"EHLO client.example", SMTP_V_EHLO, "EHLO", "client.example"},
	    {"ehlo", SMTP_V_EHLO, "ehlo", ""},
	    {"HeLo x", SMTP_V_HELO, "HeLo", "x"},
	    {"MAIL FROM:<a@b>", SMTP_V_MAIL, "MAIL", "FROM:<a@b>"},
	    {"rcpt TO:<a@b>", SMTP_V_RCPT, "rcpt", "TO:<a@b>"},
	    {"DATA", SMTP_V_DATA, "DATA", ""},
	    {"BDAT 10 LAST", SMTP_V_BDAT, "BDAT", "10 LAST"},
	    {"RSET", SMTP_V_RSET, "RSET", ""},
	    {"NOOP anything", SMTP_V_NOOP, "NOOP", "anything"},
	    {"QUIT", SMTP_V_QUIT, "QUIT", ""},
	    {"HELP", SMTP_V_HELP, "HELP", ""},
	    {"VRFY x", SMTP_V_VRFY, "VRFY", "x"},
	    {"EXPN x", SMTP_V_EXPN, "EXPN", "x"},
	    {"StartTLS", SMTP_V_STARTTLS, "StartTLS", ""},
	    {"AUTH PLAIN AGFiAGM=", SMTP_V_AUTH, "AUTH", "PLAIN AGFiAGM="},
	    {"EHLO  two", SMTP_V_EHLO, "EHLO", " two"},
	    {"EHLO ", SMTP_V_EHLO, "EHLO", ""},
	    {"DATAX", SMTP_V_UNKNOWN, "DATAX", ""},
	    {"XCLIENT a=b", SMTP_V_UNKNOWN, "XCLIENT", "a=b"},
	    {" QUIT", SMTP_V_UNKNOWN, "", "QUIT"},
	    {"", SMTP_V_UNKNOWN, "", ""},
	    {"QUIT\t", SMTP_V_UNKNOWN, "QUIT\t", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct smtp_cmd cmd;
		smtp_cmd_parse(strv_from(cases[i].line), &cmd);
		CHECK(cmd.verb == cases[i].verb);
		CHECK(strv_eq_ci(cmd.verb_text, cases[i].verb_text) &&
		      memcmp(cmd.verb_text.p, cases[i].verb_text, cmd.verb_text.len) == 0);
		CHECK(cmd.args.len == strlen(cases[i].args) &&
		      memcmp(cmd.args.p, cases[i].args, cmd.args.len) == 0);
	}
	CHECK_STR(smtp_verb_name(SMTP_V_STARTTLS), "STARTTLS");
	CHECK_STR(smtp_verb_name(SMTP_V_BDAT), "BDAT");
	CHECK_STR(smtp_verb_name(SMTP_V_UNKNOWN), "UNKNOWN");
	CHECK_STR(smtp_verb_name(SMTP_V_COUNT), "UNKNOWN");
	for (int v = 0; v < SMTP_V_COUNT; v++)
		CHECK(smtp_verb_name((enum smtp_verb)v) != NULL);
}

struct mail_case {
	const char *args;
	enum param_err rc;
	enum addr_err addr;
	const char *from; /* formatted, on PARAM_OK */
	bool has_size;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
	enum smtp_ret ret;
	const char *envid;
};

static const struct mail_case mail_cases[] = {
    {"FROM:<a@b.c>", PARAM_OK, ADDR_OK, "a@b.c", false, 0, SMTP_BODY_NONE, false, 0, ""},
    {"from:<a@b.c>", PARAM_OK, ADDR_OK, "a@b.c", false, 0, SMTP_BODY_NONE, false, 0, ""},
    {"FROM: <a@b.c>", PARAM_OK, ADDR_OK, "a@b.c", false, 0, SMTP_BODY_NONE, false, 0, ""},
    {"FROM:<>", PARAM_OK, ADDR_OK, "", false, 0, SMTP_BODY_NONE, false, 0, ""},
    {"FROM:<a@b.c> SIZE=12345", PARAM_OK, ADDR_OK, "a@b.c", true, 12345, 0, false, 0, ""},
    {"FROM:<a@b.c> size=0", PARAM_OK, ADDR_OK, "a@b.c", true, 0, 0, false, 0, ""},
    {"FROM:<a@b.c> SIZE=18446744073709551615", PARAM_OK, ADDR_OK, "a@b.c", true, UINT64_MAX, 0,
     false, 0, ""},
    {"FROM:<a@b.c> SIZE=18446744073709551616", PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> SIZE=000000000000000000001", PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, 0, 0, 0,
     NULL},
    {"FROM:<a@b.c> SIZE=", PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> SIZE", PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> SIZE=-1", PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> SIZE=1x", PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> BODY=8bitmime", PARAM_OK, ADDR_OK, "a@b.c", false, 0, SMTP_BODY_8BITMIME, false,
     0, ""},
    {"FROM:<a@b.c> BODY=7BIT", PARAM_OK, ADDR_OK, "a@b.c", false, 0, SMTP_BODY_7BIT, false, 0, ""},
    {"FROM:<a@b.c> BODY=BINARYMIME", PARAM_OK, ADDR_OK, "a@b.c", false, 0, SMTP_BODY_BINARYMIME,
     false, 0, ""},
    {"FROM:<a@b.c> BODY=8BIT", PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> SMTPUTF8", PARAM_OK, ADDR_OK, "a@b.c", false, 0, 0, true, 0, ""},
    {"FROM:<a@b.c> SMTPUTF8=yes", PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> RET=hdrs", PARAM_OK, ADDR_OK, "a@b.c", false, 0, 0, false, SMTP_RET_HDRS, ""},
    {"FROM:<a@b.c> RET=FULL", PARAM_OK, ADDR_OK, "a@b.c", false, 0, 0, false, SMTP_RET_FULL, ""},
    {"FROM:<a@b.c> RET=ALL", PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> ENVID=QQ314159+2B+20x", PARAM_OK, ADDR_OK, "a@b.c", false, 0, 0, false, 0,
     "QQ314159+2B+20x"},
    {"FROM:<a@b.c> ENVID=a+2", PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> ENVID=a+zz", PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> ENVID=", PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> ENVID=a=b", PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c>  SIZE=1   BODY=7BIT  ", PARAM_OK, ADDR_OK, "a@b.c", true, 1, SMTP_BODY_7BIT,
     false, 0, ""},
    {"FROM:<a@b.c> SIZE=1 SIZE=2", PARAM_DUPLICATE, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> SIZE=1 size=1", PARAM_DUPLICATE, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> SMTPUTF8 SMTPUTF8", PARAM_DUPLICATE, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> FOO=bar", PARAM_UNKNOWN, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> NOTIFY=NEVER", PARAM_UNKNOWN, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    /* RFC 4954 5: AUTH= as sent by relaying MTAs is accepted and ignored. */
    {"FROM:<a@b.c> AUTH=<>", PARAM_OK, ADDR_OK, "a@b.c", false, 0, 0, false, 0, ""},
    {"FROM:<a@b.c> AUTH=alice+40example.test", PARAM_OK, ADDR_OK, "a@b.c", false, 0, 0, false, 0,
     ""},
    {"FROM:<a@b.c> AUTH=", PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> AUTH=<> AUTH=<>", PARAM_DUPLICATE, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> =x", PARAM_SYNTAX, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> -X", PARAM_SYNTAX, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> SI_ZE=1", PARAM_SYNTAX, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c>SIZE=1", PARAM_SYNTAX, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c>\tSIZE=1", PARAM_SYNTAX, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c> ", PARAM_OK, ADDR_OK, "a@b.c", false, 0, 0, false, 0, ""},
    /* the path */
    {"FROM:", PARAM_ADDR, ADDR_SYNTAX, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:a@b.c", PARAM_ADDR, ADDR_SYNTAX, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:  <a@b.c>", PARAM_ADDR, ADDR_SYNTAX, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@b.c", PARAM_ADDR, ADDR_SYNTAX, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<a@-b.c>", PARAM_ADDR, ADDR_BAD_DOMAIN, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<\"a> b\"@b.c> SIZE=5", PARAM_OK, ADDR_OK, "\"a> b\"@b.c", true, 5, 0, false, 0, ""},
    {"FROM:<\"a\\\" b>\"@b.c>", PARAM_OK, ADDR_OK, "\"a\\\" b>\"@b.c", false, 0, 0, false, 0, ""},
    {"FROM:<a@b.c>>", PARAM_SYNTAX, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM <a@b.c>", PARAM_SYNTAX, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"TO:<a@b.c>", PARAM_SYNTAX, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    {"", PARAM_SYNTAX, ADDR_OK, NULL, 0, 0, 0, 0, 0, NULL},
    /* SMTPUTF8 after the path decides about the path's UTF-8 */
    {"FROM:<j\xc3\xb6rg@b.c>", PARAM_ADDR, ADDR_NEED_UTF8, NULL, 0, 0, 0, 0, 0, NULL},
    {"FROM:<j\xc3\xb6rg@b.c> SMTPUTF8", PARAM_OK, ADDR_OK, "j\xc3\xb6rg@b.c", false, 0, 0, true, 0,
     ""},
    {"FROM:<j\xc3\xb6rg@b.c> BODY=8BITMIME smtputf8", PARAM_OK, ADDR_OK, "j\xc3\xb6rg@b.c", false,
     0, SMTP_BODY_8BITMIME, true, 0, ""},
    {"FROM:<j\xf6rg@b.c> SMTPUTF8", PARAM_ADDR, ADDR_BAD_UTF8, NULL, 0, 0, 0, 0, 0, NULL},
};

static void
test_mail(void)
{
	for (size_t i = 0; i < sizeof mail_cases / sizeof mail_cases[0]; i++) {
		const struct mail_case *c = &mail_cases[i];
		struct smtp_mail_args r;
		enum addr_err ae = ADDR_BAD_UTF8;
		char from[400];
		enum param_err rc = smtp_cmd_parse_mail(strv_from(c->args), &r, &ae);
		CHECK(rc == c->rc && ae == c->addr);
		if (rc != c->rc || ae != c->addr) {
			printf("  mail case %zu \"%s\": rc %d addr %d\n", i, c->args, rc, ae);
			continue;
		}
		if (rc != PARAM_OK)
			continue;
		smtp_addr_format(&r.from, from, sizeof from);
		CHECK_STR(from, c->from);
		CHECK(r.from.is_null == (c->from[0] == '\0'));
		CHECK(r.has_size == c->has_size && r.size == c->size);
		CHECK(r.body == c->body);
		CHECK(r.smtputf8 == c->smtputf8);
		CHECK(r.ret == c->ret);
		CHECK_STR(r.envid, c->envid);
	}
}

static void
test_envid_limit(void)
{
	char args[200], envid[120];
	struct smtp_mail_args r;
	enum addr_err ae;

	memset(envid, 'e', 100);
	envid[100] = '\0';
	snprintf(args, sizeof args, "FROM:<a@b> ENVID=%s", envid);
	CHECK(smtp_cmd_parse_mail(strv_from(args), &r, &ae) == PARAM_OK);
	CHECK(strlen(r.envid) == 100);
	snprintf(args, sizeof args, "FROM:<a@b> ENVID=%sf", envid);
	CHECK(smtp_cmd_parse_mail(strv_from(args), &r, &ae) == PARAM_BAD_VALUE);
}

/* RFC 8689 3: REQUIRETLS on MAIL only, without a value, once. */
static void
test_requiretls(void)
{
	struct smtp_mail_args r;
	enum addr_err ae;
	CHECK(smtp_cmd_parse_mail(strv_from("FROM:<a@b.c>"), &r, &ae) == PARAM_OK && !r.requiretls);
	CHECK(smtp_cmd_parse_mail(strv_from("FROM:<a@b.c> REQUIRETLS"), &r, &ae) == PARAM_OK &&
	      r.requiretls);
	CHECK(smtp_cmd_parse_mail(strv_from("FROM:<a@b.c> SIZE=10 requiretls"), &r, &ae) ==
		  PARAM_OK &&
	      r.requiretls && r.size == 10);
	CHECK(smtp_cmd_parse_mail(strv_from("FROM:<a@b.c> REQUIRETLS=1"), &r, &ae) ==
	      PARAM_BAD_VALUE);
	CHECK(smtp_cmd_parse_mail(strv_from("FROM:<a@b.c> REQUIRETLS REQUIRETLS"), &r, &ae) ==
	      PARAM_DUPLICATE);
	struct smtp_rcpt_args rr;
	CHECK(smtp_cmd_parse_rcpt(strv_from("TO:<a@b.c> REQUIRETLS"), false, &rr, &ae) ==
	      PARAM_UNKNOWN);
}

struct rcpt_case {
	const char *args;
	bool utf8;
	enum param_err rc;
	enum addr_err addr;
	const char *to;
	bool notify_set;
	unsigned notify;
	const char *orcpt;
};

static const struct rcpt_case rcpt_cases[] = {
    {"TO:<a@b.c>", false, PARAM_OK, ADDR_OK, "a@b.c", false, 0, ""},
    {"to: <a@b.c>", false, PARAM_OK, ADDR_OK, "a@b.c", false, 0, ""},
    {"TO:<>", false, PARAM_ADDR, ADDR_SYNTAX, NULL, false, 0, NULL},
    {"TO:<postmaster>", false, PARAM_ADDR, ADDR_SYNTAX, NULL, false, 0, NULL},
    {"TO:<@relay.example:a@b.c>", false, PARAM_OK, ADDR_OK, "a@b.c", false, 0, ""},
    {"TO:<a@b.c> NOTIFY=NEVER", false, PARAM_OK, ADDR_OK, "a@b.c", true, 0, ""},
    {"TO:<a@b.c> NOTIFY=success,DELAY", false, PARAM_OK, ADDR_OK, "a@b.c", true,
     SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY, ""},
    {"TO:<a@b.c> NOTIFY=FAILURE", false, PARAM_OK, ADDR_OK, "a@b.c", true, SMTP_NOTIFY_FAILURE, ""},
    {"TO:<a@b.c> NOTIFY=NEVER,SUCCESS", false, PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, NULL},
    {"TO:<a@b.c> NOTIFY=SUCCESS,NEVER", false, PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, NULL},
    {"TO:<a@b.c> NOTIFY=SUCCESS,", false, PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, NULL},
    {"TO:<a@b.c> NOTIFY=", false, PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, NULL},
    {"TO:<a@b.c> NOTIFY", false, PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, NULL},
    {"TO:<a@b.c> NOTIFY=SOMETIMES", false, PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, NULL},
    {"TO:<a@b.c> ORCPT=rfc822;a+40b.c", false, PARAM_OK, ADDR_OK, "a@b.c", false, 0,
     "rfc822;a+40b.c"},
    {"TO:<a@b.c> ORCPT=utf-8;x NOTIFY=DELAY", false, PARAM_OK, ADDR_OK, "a@b.c", true,
     SMTP_NOTIFY_DELAY, "utf-8;x"},
    {"TO:<a@b.c> ORCPT=rfc822", false, PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, NULL},
    {"TO:<a@b.c> ORCPT=;x", false, PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, NULL},
    {"TO:<a@b.c> ORCPT=rfc822;", false, PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, NULL},
    {"TO:<a@b.c> ORCPT=rfc822;a+4", false, PARAM_BAD_VALUE, ADDR_OK, NULL, 0, 0, NULL},
    {"TO:<a@b.c> NOTIFY=NEVER notify=NEVER", false, PARAM_DUPLICATE, ADDR_OK, NULL, 0, 0, NULL},
    {"TO:<a@b.c> SIZE=10", false, PARAM_UNKNOWN, ADDR_OK, NULL, 0, 0, NULL},
    {"TO:<a@b.c>NOTIFY=NEVER", false, PARAM_SYNTAX, ADDR_OK, NULL, 0, 0, NULL},
    {"TO:<j\xc3\xb6rg@b.c>", false, PARAM_ADDR, ADDR_NEED_UTF8, NULL, 0, 0, NULL},
    {"TO:<j\xc3\xb6rg@b.c>", true, PARAM_OK, ADDR_OK, "j\xc3\xb6rg@b.c", false, 0, ""},
    {"TO:<a@b.c", false, PARAM_ADDR, ADDR_SYNTAX, NULL, 0, 0, NULL},
    {"FROM:<a@b.c>", false, PARAM_SYNTAX, ADDR_OK, NULL, 0, 0, NULL},
    {"TO", false, PARAM_SYNTAX, ADDR_OK, NULL, 0, 0, NULL},
};

static void
test_rcpt(void)
{
	for (size_t i = 0; i < sizeof rcpt_cases / sizeof rcpt_cases[0]; i++) {
		const struct rcpt_case *c = &rcpt_cases[i];
		struct smtp_rcpt_args r;
		enum addr_err ae = ADDR_BAD_UTF8;
		char to[400];
		enum param_err rc = smtp_cmd_parse_rcpt(strv_from(c->args), c->utf8, &r, &ae);
		CHECK(rc == c->rc && ae == c->addr);
		if (rc != c->rc || ae != c->addr) {
			printf("  rcpt case %zu \"%s\": rc %d addr %d\n", i, c->args, rc, ae);
			continue;
		}
		if (rc != PARAM_OK)
			continue;
		smtp_addr_format(&r.to, to, sizeof to);
		CHECK_STR(to, c->to);
		CHECK(r.notify_set == c->notify_set && r.notify == c->notify);
		CHECK_STR(r.orcpt, c->orcpt);
	}
}

static void
test_orcpt_limit(void)
{
	char args[700], x[520];
	struct smtp_rcpt_args r;
	enum addr_err ae;

	memset(x, 'x', 493);
	x[493] = '\0'; /* "rfc822;" + 493 = 500 */
	snprintf(args, sizeof args, "TO:<a@b> ORCPT=rfc822;%s", x);
	CHECK(smtp_cmd_parse_rcpt(strv_from(args), false, &r, &ae) == PARAM_OK);
	CHECK(strlen(r.orcpt) == 500);
	snprintf(args, sizeof args, "TO:<a@b> ORCPT=rfc822;%sx", x);
	CHECK(smtp_cmd_parse_rcpt(strv_from(args), false, &r, &ae) == PARAM_BAD_VALUE);
}

static void
test_bdat(void)
{
	static const struct {
		const char *args;
		bool ok;
		uint64_t size;
		bool last;
	} cases[] = {
	    {"0", true, 0, false},
	    {"1000", true, 1000, false},
	    {"1000 LAST", true, 1000, true},
	    {"0 last", true, 0, true},
	    {"5  LaSt  ", true, 5, true},
	    {"5 ", true, 5, false},
	    {"18446744073709551615 LAST", true, UINT64_MAX, true},
	    {"18446744073709551616", false, 0, false},
	    {"000000000000000000001", false, 0, false},
	    {"", false, 0, false},
	    {" 5", false, 0, false},
	    {"LAST", false, 0, false},
	    {"5 LAST x", false, 0, false},
	    {"5 LASTX", false, 0, false},
	    {"5LAST", false, 0, false},
	    {"-5", false, 0, false},
	    {"+5", false, 0, false},
	    {"5\tLAST", false, 0, false},
	    {"0x10", false, 0, false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t size = 7;
		bool last = true;
		bool ok = smtp_cmd_parse_bdat(strv_from(cases[i].args), &size, &last);
		CHECK(ok == cases[i].ok);
		if (ok != cases[i].ok)
			printf("  bdat case %zu \"%s\"\n", i, cases[i].args);
		if (ok && cases[i].ok)
			CHECK(size == cases[i].size && last == cases[i].last);
	}
}

int
main(void)
{
	test_verbs();
	test_mail();
	test_envid_limit();
	test_requiretls();
	test_rcpt();
	test_orcpt_limit();
	test_bdat();
	return test_summary("test_smtp_cmd");
}
