/*
 * Unit tests for core/dovecot_auth: the server lines Dovecot 2.3 sends
 * (taken from its auth-client protocol), malformed ones, the AUTH line we
 * build (escaping, the PLAIN payload, secured/lip/rip) and the exchange's
 * verdicts. Table-driven.
 */
#include <string.h>

#include "b64.h"
#include "dovecot_auth.h"
#include "harness.h"

static struct strv
sv(const char *s)
{
	return (struct strv){s, strlen(s)};
}

struct line_case {
	const char *line;
	enum dovecot_line kind;
};

static const struct line_case line_cases[] = {
    {"VERSION\t1\t2", DOVECOT_L_VERSION},
    {"MECH\tPLAIN\tplaintext", DOVECOT_L_MECH},
    {"MECH\tLOGIN\tplaintext", DOVECOT_L_MECH},
    {"SPID\t26947", DOVECOT_L_SPID},
    {"CUID\t1", DOVECOT_L_CUID},
    {"COOKIE\t8d6c1b4b2a6a1e3b9f2d3c4e5f6a7b8c", DOVECOT_L_COOKIE},
    {"DONE", DOVECOT_L_DONE},
    {"OK\t1\tuser=alice@example.test", DOVECOT_L_OK},
    {"FAIL\t1\tuser=alice@example.test", DOVECOT_L_FAIL},
    {"CONT\t1\t", DOVECOT_L_CONT},
    {"NEWCOMMAND\tx", DOVECOT_L_OTHER},
    /* malformed */
    {"", DOVECOT_L_BAD},
    {"VERSION\t1", DOVECOT_L_BAD},
    {"VERSION\tone\t2", DOVECOT_L_BAD},
    {"VERSION\t99999999999999999999\t1", DOVECOT_L_BAD},
    {"MECH", DOVECOT_L_BAD},
    {"MECH\t", DOVECOT_L_BAD},
    {"SPID\t-1", DOVECOT_L_BAD},
    {"OK", DOVECOT_L_BAD},
    {"OK\tx1\tuser=a", DOVECOT_L_BAD},
    {"OK\t1\tuser=a\001", DOVECOT_L_BAD},
    {"FAIL\t1\treason=bad\001x", DOVECOT_L_BAD},
};

static void
test_lines(void)
{
	for (size_t i = 0; i < sizeof line_cases / sizeof line_cases[0]; i++) {
		struct dovecot_reply r;
		enum dovecot_line k = dovecot_auth_parse_line(sv(line_cases[i].line), &r);
		CHECK(k == line_cases[i].kind);
		CHECK(r.kind == k);
		if (k != line_cases[i].kind)
			printf("  line %zu: \"%s\" gave %d\n", i, line_cases[i].line, (int)k);
	}
	char big[DOVECOT_AUTH_LINE_MAX + 10];
	memset(big, 'A', sizeof big);
	struct dovecot_reply r;
	CHECK(dovecot_auth_parse_line((struct strv){big, sizeof big}, &r) == DOVECOT_L_BAD);
}

static void
test_fields(void)
{
	struct dovecot_reply r;
	CHECK(dovecot_auth_parse_line(sv("VERSION\t1\t2"), &r) == DOVECOT_L_VERSION);
	CHECK(r.major == 1 && r.minor == 2);
	CHECK(dovecot_auth_parse_line(sv("MECH\tplain\tplaintext\tforward-secrecy"), &r) ==
	      DOVECOT_L_MECH);
	CHECK_STR(r.mech, "PLAIN");
	CHECK(r.plaintext);
	CHECK(dovecot_auth_parse_line(sv("MECH\tSCRAM-SHA-256"), &r) == DOVECOT_L_MECH);
	CHECK(!r.plaintext);
	/* Escapes undone; unknown parameters ignored. */
	CHECK(dovecot_auth_parse_line(sv("FAIL\t42\tuser=bob@example.test\treason="
					 "Password\001texpired\001n\tcode=x\ttemp"),
				      &r) == DOVECOT_L_FAIL);
	CHECK(r.id == 42 && r.temp && !r.nologin);
	CHECK_STR(r.user, "bob@example.test");
	CHECK_STR(r.reason, "Password\texpired\n");
	CHECK(dovecot_auth_parse_line(sv("OK\t7\tuser=a\0011b\tnologin"), &r) == DOVECOT_L_OK);
	CHECK(r.id == 7 && r.nologin);
	CHECK_STR(r.user, "a\001b");
	/* A trailing CR is tolerated. */
	CHECK(dovecot_auth_parse_line(sv("DONE\r"), &r) == DOVECOT_L_DONE);
	/* An embedded NUL is refused, not silently cut. */
	CHECK(dovecot_auth_parse_line((struct strv){"OK\t1\tuser=a\0b", 12}, &r) == DOVECOT_L_BAD);
}

static void
test_request(void)
{
	struct buf b;
	buf_init(&b, 0);
	dovecot_auth_hello(&b, 1234);
	CHECK_STR(b.data, "VERSION\t1\t2\nCPID\t1234\n");
	buf_reset(&b);
	struct dovecot_auth_request req = {.id = 5,
					   .user = "alice@example.test",
					   .password = "pa\tss",
					   .service = "smtp",
					   .secured = true,
					   .rip = "127.0.0.9",
					   .lip = "127.0.0.1"};
	CHECK(dovecot_auth_request(&b, &req));
	char raw[] = "\0alice@example.test\0pa\tss", enc[64];
	b64_encode(raw, sizeof raw - 1, enc);
	char want[256];
	snprintf(want, sizeof want,
		 "AUTH\t5\tPLAIN\tservice=smtp\tsecured\tlip=127.0.0.1\trip=127.0.0.9\tresp=%s\n",
		 enc);
	CHECK_STR(b.data, want);
	/* Not secured, no addresses; a value with a TAB is escaped. */
	buf_reset(&b);
	req = (struct dovecot_auth_request){
	    .id = 6, .user = "u", .password = "p", .service = "sm\ttp"};
	CHECK(dovecot_auth_request(&b, &req));
	CHECK(strncmp(b.data, "AUTH\t6\tPLAIN\tservice=sm\001ttp\tresp=", 32) == 0);
	/* Too long for PLAIN (RFC 4616: 255 octets a field). */
	char longpw[300];
	memset(longpw, 'x', sizeof longpw - 1);
	longpw[sizeof longpw - 1] = '\0';
	req.password = longpw;
	buf_reset(&b);
	CHECK(!dovecot_auth_request(&b, &req));
	req.password = "p";
	req.user = "";
	CHECK(!dovecot_auth_request(&b, &req));
	buf_free(&b);
}

/* A whole exchange: lines fed in order, the verdict after the last. */
struct flow_case {
	const char *name;
	const char *lines; /* "\n"-separated; "SENT" marks the request going out (id 1) */
	enum dovecot_verdict want;
};

#define HANDSHAKE                                                                                  \
	"VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nSPID\t9\nCUID\t3\n"        \
	"COOKIE\tabcdef\nDONE\n"

static const struct flow_case flows[] = {
    {"handshake", HANDSHAKE, DOVECOT_READY},
    {"ok", HANDSHAKE "SENT\nOK\t1\tuser=alice@example.test\n", DOVECOT_OK},
    {"wrong password", HANDSHAKE "SENT\nFAIL\t1\tuser=alice@example.test\n", DOVECOT_FAIL},
    {"temporary", HANDSHAKE "SENT\nFAIL\t1\ttemp\treason=backend down\n", DOVECOT_TEMPFAIL},
    {"no PLAIN", "VERSION\t1\t2\nMECH\tSCRAM-SHA-1\nDONE\n", DOVECOT_ERROR},
    {"major version 2", "VERSION\t2\t0\n", DOVECOT_ERROR},
    {"DONE before VERSION", "MECH\tPLAIN\nDONE\n", DOVECOT_ERROR},
    {"reply before a request", HANDSHAKE "OK\t1\n", DOVECOT_ERROR},
    {"reply for another id", HANDSHAKE "SENT\nOK\t2\n", DOVECOT_ERROR},
    {"CONT for PLAIN", HANDSHAKE "SENT\nCONT\t1\t\n", DOVECOT_ERROR},
    {"a second DONE", HANDSHAKE "DONE\n", DOVECOT_ERROR},
    {"garbage", "VERSION\t1\t2\n\n", DOVECOT_ERROR},
    {"lines after the verdict are ignored", HANDSHAKE "SENT\nFAIL\t1\nOK\t1\n", DOVECOT_FAIL},
    {"newer server: unknown lines skipped", "VERSION\t1\t3\nFUTURE\tx\n" HANDSHAKE,
     DOVECOT_ERROR /* two VERSION lines */},
    {"newer minor version", "VERSION\t1\t9\nMECH\tPLAIN\nFUTURE\tx\nDONE\nSENT\nOK\t1\n",
     DOVECOT_OK},
};

static void
test_flows(void)
{
	for (size_t i = 0; i < sizeof flows / sizeof flows[0]; i++) {
		struct dovecot_auth a;
		dovecot_auth_init(&a);
		const char *p = flows[i].lines;
		while (*p) {
			const char *nl = strchr(p, '\n');
			struct strv line = {p, (size_t)(nl - p)};
			if (line.len == 4 && memcmp(p, "SENT", 4) == 0)
				dovecot_auth_sent(&a, 1);
			else
				dovecot_auth_feed(&a, line);
			p = nl + 1;
		}
		CHECK(a.verdict == flows[i].want);
		if (a.verdict != flows[i].want)
			printf("  flow \"%s\": verdict %d, want %d (%s)\n", flows[i].name,
			       (int)a.verdict, (int)flows[i].want, a.why);
		if (a.verdict == DOVECOT_ERROR)
			CHECK(a.why[0] != '\0');
	}
}

int
main(void)
{
	test_lines();
	test_fields();
	test_request();
	test_flows();
	return test_summary("test_dovecot_auth");
}
