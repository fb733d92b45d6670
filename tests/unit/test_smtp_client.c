/*
 * Unit tests for core/smtp_client: scripted dialogues against the client
 * state machine, one table row per dialogue (a table-driven test, so the
 * table and the runner are longer than the usual function).
 *
 * Script lines (one per "\n"):
 *   S: text     a line the server sends; all client output so far must
 *               have been matched by C: lines before it
 *   C: text     the next line the client sends ({PLAIN}, {XOAUTH2},
 *               {OAUTHBEARER}, {USER64}, {PASS64} stand for the secrets)
 *   A: NAME     the client's action now (NONE, START_TLS, SEND_BODY, DONE)
 *   T: ok       the TLS handshake succeeded; "T: fail reason" it failed
 *   B:          the glue has sent the body
 *   L: closed   the connection was lost ("L: timeout": timed out)
 *   N: 2        keep_open: the next transaction, with env1, env2 or env3
 *   Q:          keep_open: QUIT from the idle session
 * Every run also checks the invariants: with TLS required, no AUTH, MAIL,
 * RCPT or DATA before the handshake; no secret (raw or base64) in the
 * transcript; every output line ends in CRLF.
 */
#include <stdlib.h>
#include <strings.h>

#include "b64.h"
#include "harness.h"
#include "smtp_client.h"

#define USER "alice@example.org"
#define PASS "s3cret-Pa55"
#define TOKEN "ya29.tok-EN"
#define CRED .user = USER, .password = PASS
#define OAUTH .user = USER, .oauth_token = TOKEN

/* The secrets as the client must send them (and never show). */
static char plain64[128], xoauth64[160], bearer64[200], user64[64], pass64[64];

static const char *const rcpt1[] = {"bob@example.net"};
static const char *const rcpt2[] = {"bob@example.net", "carol@example.net"};
static const char *const rcpt3[] = {"bob@example.net", "carol@example.net", "dave@example.net"};
static const char *const rcpt_crlf[] = {"bob@example.net>\r\nDATA"};
static const struct smtp_client_envelope env1 = {USER, rcpt1, 1, 1234, false, false, false};
static const struct smtp_client_envelope env2 = {USER, rcpt2, 2, 1234, false, false, false};
static const struct smtp_client_envelope env3 = {USER, rcpt3, 3, 1234, false, false, false};
static const struct smtp_client_envelope env_8bit = {USER, rcpt1, 1, 0, true, false, false};
static const struct smtp_client_envelope env_utf8 = {USER, rcpt1, 1, 0, false, true, false};
static const struct smtp_client_envelope env_rtls = {USER, rcpt1, 1, 0, false, false, true};
static const struct smtp_client_envelope env_null = {"", rcpt1, 1, 0, false, false, false};
static const struct smtp_client_envelope env_crlf = {USER, rcpt_crlf, 1, 0, false, false, false};
static const struct smtp_client_envelope env_none = {USER, rcpt1, 0, 0, false, false, false};

struct script_case {
	const char *name;
	struct smtp_client_config cfg;
	const struct smtp_client_envelope *env; /* NULL: env1; use no_env for none */
	bool no_env;
	const char *script;
	enum client_failure want;
	const char *want_phase;
	int want_code; /* -1: not checked */
	void (*extra)(const struct smtp_client *c);
};

/* ---- the runner ---- */

struct run {
	const struct script_case *tc;
	struct smtp_client_config cfg;
	struct smtp_client *c;
	struct buf pending; /* client output not yet matched by a C: line */
	struct buf all;	    /* everything the client sent */
	bool tls_on;
	bool in_reply; /* the last S: line was not the last line of a reply */
	int line;
	bool failed;
};

static void
run_fail(struct run *r, const char *what, const char *detail)
{
	printf("not ok: %s: script line %d: %s: \"%s\"\n", r->tc->name, r->line, what,
	       detail ? detail : "");
	r->failed = true;
}

static void
expand(const char *in, struct buf *out)
{
	static const struct {
		const char *name;
		const char *value;
	} vars[] = {{"{PLAIN}", plain64},
		    {"{XOAUTH2}", xoauth64},
		    {"{OAUTHBEARER}", bearer64},
		    {"{USER64}", user64},
		    {"{PASS64}", pass64}};
	while (*in) {
		size_t k = 0;
		for (; k < sizeof vars / sizeof vars[0]; k++)
			if (strncmp(in, vars[k].name, strlen(vars[k].name)) == 0)
				break;
		if (k < sizeof vars / sizeof vars[0]) {
			buf_append_str(out, vars[k].value);
			in += strlen(vars[k].name);
		} else {
			buf_append(out, in++, 1);
		}
	}
}

static bool
line_starts(const char *p, size_t n, const char *verb)
{
	size_t v = strlen(verb);
	return n >= v && strncasecmp(p, verb, v) == 0;
}

/* Take the client's output, checking each line on the way. */
static void
drain(struct run *r)
{
	struct buf *out = smtp_client_output(r->c);
	size_t start = 0;
	for (size_t i = 0; i < out->len; i++) {
		if (out->data[i] != '\n' && out->data[i] != '\r')
			continue;
		if (out->data[i] != '\r' || i + 1 >= out->len || out->data[i + 1] != '\n') {
			run_fail(r, "bare CR or LF in output", out->data);
			break;
		}
		const char *p = out->data + start;
		size_t n = i - start;
		if (r->cfg.tls == CLIENT_TLS_STARTTLS && !r->tls_on &&
		    (line_starts(p, n, "AUTH") || line_starts(p, n, "MAIL") ||
		     line_starts(p, n, "RCPT") || line_starts(p, n, "DATA")))
			run_fail(r, "sent before TLS", out->data);
		start = ++i + 1;
	}
	if (start != out->len)
		run_fail(r, "output does not end in CRLF", out->data);
	buf_append(&r->pending, out->data, out->len);
	buf_append(&r->all, out->data, out->len);
	buf_reset(out);
}

static const char *const action_names[] = {"NONE", "START_TLS", "SEND_BODY", "DONE", "IDLE"};

static void
run_begin(struct run *r, const struct script_case *tc)
{
	memset(r, 0, sizeof *r);
	r->tc = tc;
	r->cfg = tc->cfg;
	if (!r->cfg.ehlo_name)
		r->cfg.ehlo_name = "client.example";
	if (!r->cfg.host)
		r->cfg.host = "mx.example.org";
	if (!r->cfg.port)
		r->cfg.port = 587;
	r->tls_on = r->cfg.tls == CLIENT_TLS_IMPLICIT;
	buf_init(&r->pending, 0);
	buf_init(&r->all, 0);
	r->c = smtp_client_new(&r->cfg, tc->no_env ? NULL : tc->env ? tc->env : &env1);
	drain(r);
}

static void
run_step(struct run *r, const char *l, size_t len)
{
	char kind = l[0];
	const char *arg = len >= 3 ? l + 3 : "";
	size_t alen = len >= 3 ? len - 3 : 0;
	struct buf want;
	buf_init(&want, 0);
	if (kind == 'S') {
		if (r->pending.len)
			run_fail(r, "unexpected output", r->pending.data);
		buf_reset(&r->pending);
		smtp_client_feed(r->c, (struct strv){arg, alen});
		r->in_reply = alen > 3 && arg[3] == '-';
	} else if (kind == 'C') {
		char *tmp = strndup(arg, alen);
		expand(tmp, &want);
		free(tmp);
		buf_append(&want, "\r\n", 2);
		if (r->pending.len < want.len || memcmp(r->pending.data, want.data, want.len) != 0)
			run_fail(r, "output differs, got", r->pending.data);
		else
			buf_consume(&r->pending, want.len);
	} else if (kind == 'A') {
		const char *got = action_names[smtp_client_action(r->c)];
		if (strlen(got) != alen || strncmp(got, arg, alen) != 0)
			run_fail(r, "action is", got);
	} else if (kind == 'T') {
		bool ok = alen >= 2 && strncmp(arg, "ok", 2) == 0;
		char *reason = strndup(alen > 5 ? arg + 5 : "", alen > 5 ? alen - 5 : 0);
		smtp_client_tls_done(r->c, ok, reason);
		free(reason);
		r->tls_on = r->tls_on || ok;
	} else if (kind == 'B') {
		smtp_client_body_sent(r->c);
	} else if (kind == 'L') {
		smtp_client_connection_lost(r->c, alen && arg[0] == 't');
	} else if (kind == 'N') {
		const struct smtp_client_envelope *envs[] = {&env1, &env2, &env3};
		unsigned k = alen ? (unsigned)(arg[0] - '1') : 0;
		if (k > 2 || !smtp_client_next(r->c, envs[k]))
			run_fail(r, "next transaction refused", arg);
	} else if (kind == 'Q') {
		smtp_client_quit(r->c);
	} else {
		run_fail(r, "unknown script line", l);
	}
	buf_free(&want);
	drain(r);
}

/*
 * Run the script; stop before the S: line number stop_s (0-based) and
 * return true if there is one.
 */
static bool
run_lines(struct run *r, const char *script, int stop_s)
{
	int s_count = 0;
	for (const char *p = script; *p;) {
		size_t len = strcspn(p, "\n");
		r->line++;
		if (p[0] == 'S' && s_count++ == stop_s)
			return true;
		if (len)
			run_step(r, p, len);
		p += len + (p[len] == '\n');
	}
	return false;
}

static void
check_transcript(struct run *r)
{
	const char *t = smtp_client_transcript(r->c)->data;
	const char *secrets[] = {PASS, TOKEN, plain64, xoauth64, bearer64, pass64};
	if (!t)
		return;
	for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
		if (strstr(t, secrets[i]))
			run_fail(r, "secret in the transcript", secrets[i]);
	for (const char *p = t; *p; p = strchr(p, '\n') + 1)
		if (strncmp(p, "C: ", 3) != 0 && strncmp(p, "S: ", 3) != 0)
			run_fail(r, "transcript line", p);
}

static void
run_end(struct run *r)
{
	check_transcript(r);
	harness_checks++;
	if (r->failed)
		harness_failures++;
	smtp_client_free(&r->c);
	CHECK(r->c == NULL);
	buf_free(&r->pending);
	buf_free(&r->all);
}

static void
run_case(const struct script_case *tc)
{
	struct run r;
	run_begin(&r, tc);
	run_lines(&r, tc->script, -1);
	if (r.pending.len)
		run_fail(&r, "output left unmatched", r.pending.data);
	const struct smtp_client_result *res = smtp_client_result(r.c);
	if (smtp_client_action(r.c) != CLIENT_ACT_DONE)
		run_fail(&r, "not done, action", action_names[smtp_client_action(r.c)]);
	if (res->failure != tc->want)
		run_fail(&r, "failure is", smtp_client_failure_name(res->failure));
	if (!res->phase || strcmp(res->phase, tc->want_phase) != 0)
		run_fail(&r, "phase is", res->phase);
	if (tc->want_code >= 0 && res->reply.code != tc->want_code)
		run_fail(&r, "reply is", res->reply.text);
	if (tc->extra) {
		int before = harness_failures;
		tc->extra(r.c);
		if (harness_failures != before)
			printf("  (in %s)\n", tc->name);
	}
	run_end(&r);
}

/* ---- dialogue pieces ---- */

#define GREET "S: 220 mx.example.org ESMTP\nC: EHLO client.example\n"
#define EHLO_TLS "S: 250-mx.example.org\nS: 250-PIPELINING\nS: 250 STARTTLS\n"
#define TLS_UP "C: STARTTLS\nS: 220 2.0.0 Ready\nA: START_TLS\nT: ok\nC: EHLO client.example\n"
#define EHLO_AUTH_PIPE                                                                             \
	"S: 250-mx.example.org\nS: 250-PIPELINING\nS: 250-SIZE 10240000\nS: 250-8BITMIME\n"        \
	"S: 250 AUTH PLAIN LOGIN\n"
#define EHLO_AUTH "S: 250-mx.example.org\nS: 250-SIZE 10240000\nS: 250 AUTH PLAIN LOGIN\n"
#define EHLO_ALLMECH                                                                               \
	"S: 250-mx.example.org\nS: 250-AUTH LOGIN PLAIN XOAUTH2 OAUTHBEARER\nS: 250 SIZE\n"
#define PLAIN_OK "C: AUTH PLAIN {PLAIN}\nS: 235 2.7.0 Authentication successful\n"
#define BODY_OK                                                                                    \
	"S: 354 End data with <CR><LF>.<CR><LF>\nA: SEND_BODY\nB:\n"                               \
	"S: 250 2.0.0 Ok: queued as 4XYZ\nC: QUIT\nA: DONE\n"
#define MAIL_PLAIN "C: MAIL FROM:<" USER "> SIZE=1234\n"
#define ONE_RCPT_SEQ                                                                               \
	MAIL_PLAIN "S: 250 2.1.0 Ok\nC: RCPT TO:<bob@example.net>\nS: 250 2.1.5 Ok\nC: DATA\n"
#define ONE_RCPT_PIPE                                                                              \
	MAIL_PLAIN "C: RCPT TO:<bob@example.net>\nC: DATA\nS: 250 2.1.0 Ok\nS: 250 2.1.5 Ok\n"
#define EHLO_PLAIN "S: 250-mx.example.org\nS: 250 SIZE\n"
#define EHLO_PIPE "S: 250-mx.example.org\nS: 250-SIZE\nS: 250 PIPELINING\n"
#define KEEP                                                                                       \
	{                                                                                          \
		.tls = CLIENT_TLS_NONE, .keep_open = true                                          \
	}
#define BODY_IDLE "S: 354 go\nA: SEND_BODY\nB:\nS: 250 2.0.0 queued as A\nA: IDLE\n"

/* The happy dialogues; the 421 and connection-lost sweeps cut them anywhere. */
static const char happy_starttls_pipe[] =
    GREET EHLO_TLS TLS_UP EHLO_AUTH_PIPE PLAIN_OK ONE_RCPT_PIPE BODY_OK;
static const char happy_starttls_seq[] =
    GREET "S: 250-mx.example.org\nS: 250 STARTTLS\n" TLS_UP EHLO_AUTH PLAIN_OK ONE_RCPT_SEQ BODY_OK;
static const char happy_implicit_login[] = GREET EHLO_AUTH
    "C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: {USER64}\nS: 334 UGFzc3dvcmQ6\nC: {PASS64}\n"
    "S: 235 2.7.0 ok\n" ONE_RCPT_SEQ BODY_OK;

/* ---- checks beyond failure and phase ---- */

static void
x_second_message(const struct smtp_client *c)
{
	const struct smtp_client_result *res = smtp_client_result(c);
	CHECK(res->accepted == 1 && res->rcpts[0].accepted && !res->rcpts[1].accepted);
	CHECK(res->rcpts[1].reply.code == 550);
	CHECK_STR(res->reply.text, "queued as B");
}

static void
x_three_accepted(const struct smtp_client *c)
{
	const struct smtp_client_result *res = smtp_client_result(c);
	CHECK(res->accepted == 3 && res->rcpts[2].accepted);
}

static void
x_queued(const struct smtp_client *c)
{
	const struct smtp_client_result *res = smtp_client_result(c);
	CHECK_STR(res->reply.text, "Ok: queued as 4XYZ");
	CHECK_STR(res->reply.esc, "2.0.0");
	CHECK(res->accepted == 1 && res->rcpts[0].accepted);
	CHECK(res->tls);
}

static void
x_caps_after_tls(const struct smtp_client *c)
{
	const struct smtp_client_caps *k = smtp_client_caps(c);
	/* Re-learnt after STARTTLS: STARTTLS itself is gone. */
	CHECK(k->esmtp && k->pipelining && k->eightbitmime && !k->starttls);
	CHECK(k->size == 10240000);
	CHECK(k->auth_mechs == (CLIENT_MECH_PLAIN | CLIENT_MECH_LOGIN));
	CHECK_STR(k->auth_line, "PLAIN LOGIN");
	CHECK(!k->auth_before_tls);
	CHECK_STR(k->greeting, "mx.example.org ESMTP");
	CHECK(smtp_client_result(c)->used_mech == CLIENT_MECH_PLAIN);
}

static void
x_clear(const struct smtp_client *c)
{
	CHECK(!smtp_client_result(c)->tls);
}

static void
x_starttls_454(const struct smtp_client *c)
{
	const struct smtp_client_result *res = smtp_client_result(c);
	CHECK(res->starttls_reply.code == 454);
	CHECK(!res->tls);
}

static void
x_auth_before_tls(const struct smtp_client *c)
{
	CHECK(smtp_client_caps(c)->auth_before_tls);
}

static void
x_tls_reason(const struct smtp_client *c)
{
	CHECK_STR(smtp_client_result(c)->reply.text, "certificate verify failed");
}

static void
x_mech_xoauth2(const struct smtp_client *c)
{
	CHECK(smtp_client_result(c)->used_mech == CLIENT_MECH_XOAUTH2);
}

static void
x_mech_login(const struct smtp_client *c)
{
	CHECK(smtp_client_result(c)->used_mech == CLIENT_MECH_LOGIN);
}

static void
x_partial(const struct smtp_client *c)
{
	const struct smtp_client_result *res = smtp_client_result(c);
	CHECK(res->accepted == 1);
	CHECK(!res->rcpts[0].accepted && res->rcpts[0].reply.code == 550);
	CHECK_STR(res->rcpts[0].reply.esc, "5.1.1");
	CHECK(res->rcpts[1].accepted && res->rcpts[1].reply.code == 250);
}

static void
x_relay_reply(const struct smtp_client *c)
{
	const struct smtp_client_result *res = smtp_client_result(c);
	CHECK_STR(res->reply.text, "Relaying denied");
	CHECK(res->accepted == 0);
}

static void
x_8bit_unannounced(const struct smtp_client *c)
{
	CHECK(smtp_client_result(c)->eightbit_unannounced);
}

static void
x_multiline(const struct smtp_client *c)
{
	const struct smtp_client_result *res = smtp_client_result(c);
	CHECK_STR(res->reply.esc, "2.0.0");
	CHECK_STR(res->reply.text, "Ok: queued as 4XYZ and a second line");
	CHECK_STR(smtp_client_caps(c)->greeting, "mx.example.org ESMTP first line second line");
}

static void
x_no_caps(const struct smtp_client *c)
{
	CHECK(!smtp_client_caps(c)->esmtp);
}

static void
x_timeout_text(const struct smtp_client *c)
{
	CHECK_STR(smtp_client_result(c)->reply.text,
		  "connection timed out while waiting for the reply to RCPT");
}

static void
x_lost_body(const struct smtp_client *c)
{
	CHECK_STR(smtp_client_result(c)->reply.text,
		  "connection closed by the server while sending the message body");
}

static void
x_old_auth(const struct smtp_client *c)
{
	CHECK(smtp_client_caps(c)->auth_mechs == CLIENT_MECH_LOGIN);
	CHECK_STR(smtp_client_caps(c)->auth_line, "LOGIN");
}

/* LMTP (RFC 2033 4.2): carol's reply after the body refused her alone. */
static void
x_lmtp_one_refused(const struct smtp_client *c)
{
	const struct smtp_client_result *res = smtp_client_result(c);
	CHECK(res->accepted == 2);
	CHECK(res->rcpts[0].accepted && res->rcpts[0].reply.code == 250);
	CHECK(!res->rcpts[1].accepted && res->rcpts[1].reply.code == 552);
	CHECK_STR(res->rcpts[1].reply.esc, "5.2.2");
	CHECK(res->rcpts[2].accepted && res->rcpts[2].reply.code == 250);
	CHECK_STR(res->rcpts[2].reply.text, "<dave@example.net> Saved");
}

/* LMTP: bob refused at RCPT, carol deferred after the body, dave delivered. */
static void
x_lmtp_mixed(const struct smtp_client *c)
{
	const struct smtp_client_result *res = smtp_client_result(c);
	CHECK(res->accepted == 1);
	CHECK(!res->rcpts[0].accepted && res->rcpts[0].reply.code == 550);
	CHECK(!res->rcpts[1].accepted && res->rcpts[1].reply.code == 452);
	CHECK(res->rcpts[2].accepted && res->rcpts[2].reply.code == 250);
}

/* LMTP: whoever had no reply of their own when it ended is not delivered. */
static void
x_lmtp_none(const struct smtp_client *c)
{
	const struct smtp_client_result *res = smtp_client_result(c);
	CHECK(res->accepted == 0);
	for (size_t i = 0; i < 3; i++)
		CHECK(!res->rcpts[i].accepted);
}

/* LMTP: the first recipient's reply came before the connection was lost. */
static void
x_lmtp_first_only(const struct smtp_client *c)
{
	const struct smtp_client_result *res = smtp_client_result(c);
	CHECK(res->accepted == 1 && res->rcpts[0].accepted);
	CHECK(!res->rcpts[1].accepted && !res->rcpts[2].accepted);
}

#define LMTP                                                                                       \
	{                                                                                          \
		.tls = CLIENT_TLS_NONE, .lmtp = true                                               \
	}
#define LHLO                                                                                       \
	"S: 220 box.example.org Dovecot ready.\nC: LHLO client.example\n"                          \
	"S: 250-box.example.org\nS: 250-8BITMIME\nS: 250-ENHANCEDSTATUSCODES\nS: 250 PIPELINING\n" \
	"C: MAIL FROM:<" USER ">\nC: RCPT TO:<bob@example.net>\nC: RCPT TO:<carol@example.net>\n"  \
	"C: RCPT TO:<dave@example.net>\nC: DATA\nS: 250 2.1.0 OK\n"

/* ---- the tables ---- */

/* clang-format off */
static const struct script_case cases[] = {
    /* TLS modes, with and without PIPELINING */
    {"starttls pipelined", {CRED}, NULL, false, happy_starttls_pipe,
     CLIENT_OK, "done", 250, x_caps_after_tls},
    {"starttls one at a time", {CRED}, NULL, false, happy_starttls_seq,
     CLIENT_OK, "done", 250, x_queued},
    {"implicit TLS, LOGIN", {.tls = CLIENT_TLS_IMPLICIT, CRED, .allowed_mechs = CLIENT_MECH_LOGIN},
     NULL, false, happy_implicit_login,
     CLIENT_OK, "done", 250, x_mech_login},
    {"tls none ignores STARTTLS", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET EHLO_TLS "C: MAIL FROM:<" USER ">\nC: RCPT TO:<bob@example.net>\nC: DATA\n"
     "S: 250 ok\nS: 250 ok\n" BODY_OK,
     CLIENT_OK, "done", 250, x_clear},
    {"opportunistic, offered", {.tls = CLIENT_TLS_OPPORTUNISTIC}, NULL, false,
     GREET EHLO_TLS TLS_UP EHLO_PLAIN
     "C: MAIL FROM:<" USER "> SIZE=1234\nS: 250 ok\nC: RCPT TO:<bob@example.net>\nS: 250 ok\n"
     "C: DATA\n" BODY_OK,
     CLIENT_OK, "done", 250, NULL},
    {"opportunistic, not offered", {.tls = CLIENT_TLS_OPPORTUNISTIC}, NULL, false,
     GREET EHLO_PLAIN ONE_RCPT_SEQ BODY_OK,
     CLIENT_OK, "done", 250, x_clear},
    {"opportunistic, 454", {.tls = CLIENT_TLS_OPPORTUNISTIC}, NULL, false,
     GREET "S: 250-mx.example.org\nS: 250 STARTTLS\nC: STARTTLS\n"
     "S: 454 4.7.0 TLS not available\nC: MAIL FROM:<" USER ">\nS: 250 ok\n"
     "C: RCPT TO:<bob@example.net>\nS: 250 ok\nC: DATA\n" BODY_OK,
     CLIENT_OK, "done", 250, x_starttls_454},
    {"opportunistic, handshake fails", {.tls = CLIENT_TLS_OPPORTUNISTIC}, NULL, false,
     GREET EHLO_TLS "C: STARTTLS\nS: 220 go\nA: START_TLS\nT: fail certificate verify failed\n"
     "A: DONE\n",
     CLIENT_TLS_FAILED, "tls", 0, x_tls_reason},

    /* STARTTLS required */
    {"starttls missing", {CRED}, NULL, false,
     GREET "S: 250-mx.example.org\nS: 250-AUTH PLAIN LOGIN\nS: 250 PIPELINING\nC: QUIT\nA: DONE\n",
     CLIENT_STARTTLS_MISSING, "starttls", 0, x_auth_before_tls},
    {"starttls missing, no auth", {0}, NULL, false,
     GREET EHLO_PLAIN "C: QUIT\n",
     CLIENT_STARTTLS_MISSING, "starttls", 0, NULL},
    {"starttls 454", {CRED}, NULL, false,
     GREET EHLO_TLS "C: STARTTLS\nS: 454 4.7.0 TLS not available\nC: QUIT\n",
     CLIENT_TLS_FAILED, "starttls", 454, NULL},
    {"starttls 501", {0}, NULL, false,
     GREET EHLO_TLS "C: STARTTLS\nS: 501 5.5.4 no\nC: QUIT\n",
     CLIENT_TLS_FAILED, "starttls", 501, NULL},
    {"handshake fails", {CRED}, NULL, false,
     GREET EHLO_TLS "C: STARTTLS\nS: 220 go\nT: fail certificate verify failed\nA: DONE\n",
     CLIENT_TLS_FAILED, "tls", 0, x_tls_reason},
    {"data injected before the handshake", {CRED}, NULL, false,
     GREET EHLO_TLS "C: STARTTLS\nS: 220 go\nS: 250 injected\nA: DONE\nT: ok\n",
     CLIENT_PROTOCOL, "tls", 0, NULL},
    {"EHLO refused, TLS required", {0}, NULL, false,
     GREET "S: 502 5.5.1 no EHLO\nC: QUIT\n",
     CLIENT_STARTTLS_MISSING, "ehlo", 502, NULL},

    /* AUTH */
    {"PLAIN preferred over LOGIN", {.tls = CLIENT_TLS_IMPLICIT, CRED}, NULL, false,
     GREET EHLO_ALLMECH PLAIN_OK MAIL_PLAIN "S: 250 ok\n"
     "C: RCPT TO:<bob@example.net>\nS: 250 ok\nC: DATA\n" BODY_OK,
     CLIENT_OK, "done", 250, NULL},
    {"XOAUTH2 preferred", {.tls = CLIENT_TLS_IMPLICIT, OAUTH, .stop_after_auth = true}, NULL, false,
     GREET EHLO_ALLMECH "C: AUTH XOAUTH2 {XOAUTH2}\nS: 235 ok\nC: QUIT\n",
     CLIENT_OK, "done", 235, x_mech_xoauth2},
    {"OAUTHBEARER by allowed_mechs", {.tls = CLIENT_TLS_IMPLICIT, OAUTH,
      .allowed_mechs = CLIENT_MECH_OAUTHBEARER, .stop_after_auth = true}, NULL, false,
     GREET EHLO_ALLMECH "C: AUTH OAUTHBEARER {OAUTHBEARER}\nS: 235 ok\nC: QUIT\n",
     CLIENT_OK, "done", 235, NULL},
    {"LOGIN by allowed_mechs", {.tls = CLIENT_TLS_IMPLICIT, CRED,
      .allowed_mechs = CLIENT_MECH_LOGIN, .stop_after_auth = true}, NULL, false,
     GREET EHLO_ALLMECH "C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: {USER64}\nS: 334 UGFzc3dvcmQ6\n"
     "C: {PASS64}\nS: 235 ok\nC: QUIT\n",
     CLIENT_OK, "done", 235, x_mech_login},
    {"old AUTH= form", {.tls = CLIENT_TLS_IMPLICIT, CRED, .stop_after_auth = true}, NULL, false,
     GREET "S: 250-mx.example.org\nS: 250 AUTH=LOGIN\nC: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\n"
     "C: {USER64}\nS: 334 UGFzc3dvcmQ6\nC: {PASS64}\nS: 235 ok\nC: QUIT\n",
     CLIENT_OK, "done", 235, x_old_auth},
    {"token only, server has PLAIN only", {.tls = CLIENT_TLS_IMPLICIT, OAUTH}, NULL, false,
     GREET EHLO_AUTH "C: QUIT\n",
     CLIENT_AUTH_MISSING, "auth", 0, NULL},
    {"allowed_mechs excludes all", {.tls = CLIENT_TLS_IMPLICIT, CRED,
      .allowed_mechs = CLIENT_MECH_XOAUTH2}, NULL, false,
     GREET EHLO_ALLMECH "C: QUIT\n",
     CLIENT_AUTH_MISSING, "auth", 0, NULL},
    {"AUTH not offered", {.tls = CLIENT_TLS_IMPLICIT, CRED}, NULL, false,
     GREET EHLO_PLAIN "C: QUIT\n",
     CLIENT_AUTH_MISSING, "auth", 0, NULL},
    {"AUTH only before TLS", {CRED}, NULL, false,
     GREET "S: 250-mx.example.org\nS: 250-AUTH PLAIN\nS: 250 STARTTLS\n" TLS_UP EHLO_PLAIN
     "C: QUIT\n",
     CLIENT_AUTH_MISSING, "auth", 0, x_auth_before_tls},
    {"535", {.tls = CLIENT_TLS_IMPLICIT, CRED}, NULL, false,
     GREET EHLO_AUTH "C: AUTH PLAIN {PLAIN}\nS: 535 5.7.8 Authentication credentials invalid\n"
     "C: QUIT\n",
     CLIENT_AUTH_FAILED, "auth", 535, NULL},
    {"AUTH 454 is a tempfail", {.tls = CLIENT_TLS_IMPLICIT, CRED}, NULL, false,
     GREET EHLO_AUTH "C: AUTH PLAIN {PLAIN}\nS: 454 4.7.0 try later\nC: QUIT\n",
     CLIENT_TEMPFAIL, "auth", 454, NULL},
    {"LOGIN password refused", {.tls = CLIENT_TLS_IMPLICIT, CRED,
      .allowed_mechs = CLIENT_MECH_LOGIN}, NULL, false,
     GREET EHLO_AUTH "C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: {USER64}\nS: 334 UGFzc3dvcmQ6\n"
     "C: {PASS64}\nS: 535 5.7.8 no\nC: QUIT\n",
     CLIENT_AUTH_FAILED, "auth", 535, NULL},
    {"XOAUTH2 error challenge", {.tls = CLIENT_TLS_IMPLICIT, OAUTH}, NULL, false,
     GREET EHLO_ALLMECH "C: AUTH XOAUTH2 {XOAUTH2}\n"
     "S: 334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIn0=\nC: \n"
     "S: 535 5.7.8 Username and Password not accepted\nC: QUIT\n",
     CLIENT_AUTH_FAILED, "auth", 535, NULL},
    {"OAUTHBEARER error challenge", {.tls = CLIENT_TLS_IMPLICIT, OAUTH,
      .allowed_mechs = CLIENT_MECH_OAUTHBEARER}, NULL, false,
     GREET EHLO_ALLMECH "C: AUTH OAUTHBEARER {OAUTHBEARER}\nS: 334 eyJzdGF0dXMiOiI0MDEifQ==\n"
     "C: AQ==\nS: 535 5.7.8 no\nC: QUIT\n",
     CLIENT_AUTH_FAILED, "auth", 535, NULL},
    {"334 to PLAIN with a response is cancelled", {.tls = CLIENT_TLS_IMPLICIT, CRED}, NULL, false,
     GREET EHLO_AUTH "C: AUTH PLAIN {PLAIN}\nS: 334 \nC: *\nS: 501 5.0.0 cancelled\nC: QUIT\n",
     CLIENT_AUTH_FAILED, "auth", 501, NULL},
    {"a second error challenge", {.tls = CLIENT_TLS_IMPLICIT, OAUTH}, NULL, false,
     GREET EHLO_ALLMECH "C: AUTH XOAUTH2 {XOAUTH2}\nS: 334 e30=\nC: \nS: 334 e30=\nC: QUIT\n",
     CLIENT_PROTOCOL, "auth", 334, NULL},
    {"stop after TLS without user", {.stop_after_auth = true}, NULL, false,
     GREET EHLO_TLS TLS_UP EHLO_PLAIN "C: QUIT\nA: DONE\n",
     CLIENT_OK, "done", 250, NULL},
    {"no envelope: QUIT after AUTH", {.tls = CLIENT_TLS_IMPLICIT, CRED}, NULL, true,
     GREET EHLO_AUTH PLAIN_OK "C: QUIT\n",
     CLIENT_OK, "done", 235, NULL},

    /* recipients */
    {"relay denied", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET EHLO_PLAIN MAIL_PLAIN "S: 250 ok\nC: RCPT TO:<bob@example.net>\n"
     "S: 550 5.7.1 Relaying denied\nC: RSET\nS: 250 ok\nC: QUIT\n",
     CLIENT_RELAY_DENIED, "rcpt", 550, x_relay_reply},
    {"relay in the text", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET EHLO_PLAIN MAIL_PLAIN "S: 250 ok\nC: RCPT TO:<bob@example.net>\n"
     "S: 554 <bob@example.net>: Relay access denied\nC: RSET\nS: 250 ok\nC: QUIT\n",
     CLIENT_RELAY_DENIED, "rcpt", 554, NULL},
    {"partial recipients", {.tls = CLIENT_TLS_NONE}, &env2, false,
     GREET EHLO_PLAIN MAIL_PLAIN "S: 250 ok\nC: RCPT TO:<bob@example.net>\n"
     "S: 550 5.1.1 User unknown\nC: RCPT TO:<carol@example.net>\nS: 250 ok\nC: DATA\n" BODY_OK,
     CLIENT_OK, "done", 250, x_partial},
    {"partial recipients, pipelined", {.tls = CLIENT_TLS_NONE}, &env2, false,
     GREET EHLO_PIPE MAIL_PLAIN
     "C: RCPT TO:<bob@example.net>\nC: RCPT TO:<carol@example.net>\nC: DATA\n"
     "S: 250 ok\nS: 550 5.1.1 User unknown\nS: 250 ok\n" BODY_OK,
     CLIENT_OK, "done", 250, x_partial},
    {"all or none, one refused, pipelined", {.tls = CLIENT_TLS_NONE,
      .all_recipients_or_none = true}, &env2, false,
     GREET EHLO_PIPE MAIL_PLAIN "C: RCPT TO:<bob@example.net>\nC: RCPT TO:<carol@example.net>\n"
     "S: 250 ok\nS: 550 5.1.1 User unknown\nS: 250 ok\nC: RSET\nS: 250 ok\nC: QUIT\n",
     CLIENT_RCPT_REJECTED, "rcpt", 550, x_partial},
    {"all or none, all accepted, pipelined", {.tls = CLIENT_TLS_NONE,
      .all_recipients_or_none = true}, &env2, false,
     GREET EHLO_PIPE MAIL_PLAIN "C: RCPT TO:<bob@example.net>\nC: RCPT TO:<carol@example.net>\n"
     "S: 250 ok\nS: 250 ok\nS: 250 ok\nC: DATA\n" BODY_OK,
     CLIENT_OK, "done", 250, NULL},
    {"none accepted, pipelined DATA refused", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET EHLO_PIPE MAIL_PLAIN "C: RCPT TO:<bob@example.net>\nC: DATA\n"
     "S: 250 ok\nS: 550 5.1.1 User unknown\nS: 554 5.5.1 No valid recipients\n"
     "C: RSET\nS: 250 ok\nC: QUIT\n",
     CLIENT_RCPT_REJECTED, "rcpt", 550, NULL},
    {"none accepted, pipelined DATA 354 anyway", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET EHLO_PIPE MAIL_PLAIN "C: RCPT TO:<bob@example.net>\nC: DATA\n"
     "S: 250 ok\nS: 550 5.1.1 User unknown\nS: 354 go ahead\nA: DONE\n",
     CLIENT_RCPT_REJECTED, "rcpt", 550, NULL},
    {"relay beats rejected beats tempfail", {.tls = CLIENT_TLS_NONE}, &env3, false,
     GREET EHLO_PLAIN MAIL_PLAIN "S: 250 ok\nC: RCPT TO:<bob@example.net>\nS: 450 4.2.1 later\n"
     "C: RCPT TO:<carol@example.net>\nS: 550 5.1.1 unknown\n"
     "C: RCPT TO:<dave@example.net>\nS: 550 5.7.1 Relaying denied\nC: RSET\nS: 250 ok\nC: QUIT\n",
     CLIENT_RELAY_DENIED, "rcpt", 550, x_relay_reply},
    {"rejected beats tempfail", {.tls = CLIENT_TLS_NONE}, &env2, false,
     GREET EHLO_PLAIN MAIL_PLAIN "S: 250 ok\nC: RCPT TO:<bob@example.net>\nS: 450 4.2.1 later\n"
     "C: RCPT TO:<carol@example.net>\nS: 553 5.1.3 bad\nC: RSET\nS: 250 ok\nC: QUIT\n",
     CLIENT_RCPT_REJECTED, "rcpt", 553, NULL},
    {"only tempfails", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET EHLO_PLAIN MAIL_PLAIN "S: 250 ok\nC: RCPT TO:<bob@example.net>\n"
     "S: 452 4.5.3 Too many recipients\nC: RSET\nS: 250 ok\nC: QUIT\n",
     CLIENT_TEMPFAIL, "rcpt", 452, NULL},
    {"rset instead of data", {.tls = CLIENT_TLS_NONE, .rset_instead_of_data = true}, &env2, false,
     GREET EHLO_PIPE MAIL_PLAIN "C: RCPT TO:<bob@example.net>\nC: RCPT TO:<carol@example.net>\n"
     "S: 250 ok\nS: 250 ok\nS: 250 ok\nC: RSET\nS: 250 flushed\nC: QUIT\n",
     CLIENT_OK, "done", 250, NULL},
    {"rset instead of data, one refused", {.tls = CLIENT_TLS_NONE,
      .rset_instead_of_data = true}, &env2, false,
     GREET EHLO_PLAIN MAIL_PLAIN "S: 250 ok\nC: RCPT TO:<bob@example.net>\n"
     "S: 550 5.1.1 User unknown\nC: RCPT TO:<carol@example.net>\nS: 250 ok\n"
     "C: RSET\nS: 250 ok\nC: QUIT\n",
     CLIENT_RCPT_REJECTED, "rcpt", 550, x_partial},
    {"RCPT timeout", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET EHLO_PLAIN MAIL_PLAIN "S: 250 ok\nC: RCPT TO:<bob@example.net>\nL: timeout\nA: DONE\n",
     CLIENT_TEMPFAIL, "rcpt", 0, x_timeout_text},

    /* MAIL and its parameters */
    {"SIZE exceeded", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET "S: 250-mx.example.org\nS: 250 SIZE 1000\nC: QUIT\n",
     CLIENT_SIZE_EXCEEDED, "mail", 0, NULL},
    {"8BITMIME", {.tls = CLIENT_TLS_NONE, .rset_instead_of_data = true}, &env_8bit, false,
     GREET "S: 250-mx.example.org\nS: 250-SIZE 1000\nS: 250 8BITMIME\n"
     "C: MAIL FROM:<" USER "> BODY=8BITMIME\nS: 250 ok\nC: RCPT TO:<bob@example.net>\n"
     "S: 250 ok\nC: RSET\nS: 250 ok\nC: QUIT\n",
     CLIENT_OK, "done", 250, NULL},
    {"8-bit without 8BITMIME", {.tls = CLIENT_TLS_NONE, .rset_instead_of_data = true},
     &env_8bit, false,
     GREET EHLO_PLAIN "C: MAIL FROM:<" USER ">\nS: 250 ok\nC: RCPT TO:<bob@example.net>\n"
     "S: 250 ok\nC: RSET\nS: 250 ok\nC: QUIT\n",
     CLIENT_OK, "done", 250, x_8bit_unannounced},
    {"8-bit without 8BITMIME, strict", {.tls = CLIENT_TLS_NONE, .strict_8bitmime = true},
     &env_8bit, false, GREET EHLO_PLAIN "C: QUIT\n", CLIENT_8BIT_UNSUPPORTED, "mail", 0, NULL},
    {"SMTPUTF8 unsupported", {.tls = CLIENT_TLS_NONE}, &env_utf8, false,
     GREET EHLO_PLAIN "C: QUIT\n",
     CLIENT_UTF8_UNSUPPORTED, "mail", 0, NULL},
    {"SMTPUTF8", {.tls = CLIENT_TLS_NONE, .rset_instead_of_data = true}, &env_utf8, false,
     GREET "S: 250-mx.example.org\nS: 250 SMTPUTF8\nC: MAIL FROM:<" USER "> SMTPUTF8\n"
     "S: 250 ok\nC: RCPT TO:<bob@example.net>\nS: 250 ok\nC: RSET\nS: 250 ok\nC: QUIT\n",
     CLIENT_OK, "done", 250, NULL},
    /* RFC 8689: REQUIRETLS only over TLS, to a server that offers it there */
    {"REQUIRETLS in plaintext", {.tls = CLIENT_TLS_NONE}, &env_rtls, false,
     GREET "S: 250-mx.example.org\nS: 250 REQUIRETLS\nC: QUIT\n",
     CLIENT_REQUIRETLS_UNSUPPORTED, "mail", 0, NULL},
    {"REQUIRETLS not offered after STARTTLS", {.tls = CLIENT_TLS_STARTTLS}, &env_rtls, false,
     GREET EHLO_TLS TLS_UP "S: 250-mx.example.org\nS: 250 PIPELINING\nC: QUIT\n",
     CLIENT_REQUIRETLS_UNSUPPORTED, "mail", 0, NULL},
    {"REQUIRETLS passed on", {.tls = CLIENT_TLS_STARTTLS, .rset_instead_of_data = true},
     &env_rtls, false,
     GREET EHLO_TLS TLS_UP "S: 250-mx.example.org\nS: 250 REQUIRETLS\n"
     "C: MAIL FROM:<" USER "> REQUIRETLS\nS: 250 ok\nC: RCPT TO:<bob@example.net>\n"
     "S: 250 ok\nC: RSET\nS: 250 ok\nC: QUIT\n",
     CLIENT_OK, "done", 250, NULL},
    {"null sender", {.tls = CLIENT_TLS_NONE, .rset_instead_of_data = true}, &env_null, false,
     GREET EHLO_PLAIN "C: MAIL FROM:<>\nS: 250 ok\nC: RCPT TO:<bob@example.net>\nS: 250 ok\n"
     "C: RSET\nS: 250 ok\nC: QUIT\n",
     CLIENT_OK, "done", 250, NULL},
    {"CRLF in an address", {.tls = CLIENT_TLS_NONE}, &env_crlf, false,
     GREET EHLO_PLAIN "C: QUIT\n",
     CLIENT_RCPT_REJECTED, "mail", 0, NULL},
    {"no recipients", {.tls = CLIENT_TLS_NONE}, &env_none, false,
     GREET EHLO_PLAIN "C: QUIT\n",
     CLIENT_RCPT_REJECTED, "mail", 0, NULL},
    {"sender rejected", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET EHLO_PLAIN MAIL_PLAIN "S: 553 5.7.1 Sender refused\nC: QUIT\n",
     CLIENT_SENDER_REJECTED, "mail", 553, NULL},
    {"sender tempfail", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET EHLO_PLAIN MAIL_PLAIN "S: 451 4.3.0 later\nC: QUIT\n",
     CLIENT_TEMPFAIL, "mail", 451, NULL},
    {"sender rejected, pipelined", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET EHLO_PIPE MAIL_PLAIN "C: RCPT TO:<bob@example.net>\nC: DATA\n"
     "S: 553 5.7.1 Sender refused\nS: 503 5.5.1 need MAIL\nS: 503 5.5.1 need RCPT\n"
     "C: RSET\nS: 250 ok\nC: QUIT\n",
     CLIENT_SENDER_REJECTED, "mail", 553, NULL},

    /* DATA */
    {"DATA refused", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET EHLO_PLAIN ONE_RCPT_SEQ "S: 554 5.5.1 no\nC: QUIT\n",
     CLIENT_DATA_REJECTED, "data", 554, NULL},
    {"message refused", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET EHLO_PLAIN ONE_RCPT_SEQ "S: 354 go\nB:\nS: 552 5.3.4 too big\nC: QUIT\n",
     CLIENT_DATA_REJECTED, "body", 552, NULL},
    {"message tempfail", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET EHLO_PLAIN ONE_RCPT_SEQ "S: 354 go\nB:\nS: 451 4.3.0 later\nC: QUIT\n",
     CLIENT_TEMPFAIL, "body", 451, NULL},
    {"reply while the body streams", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET EHLO_PLAIN ONE_RCPT_SEQ "S: 354 go\nS: 554 5.6.0 stop\nA: DONE\nB:\n",
     CLIENT_DATA_REJECTED, "body", 554, NULL},

    /* greeting, EHLO, multi-line and malformed replies */
    {"greeting 554", {0}, NULL, false,
     "S: 554 5.7.1 go away\nC: QUIT\nA: DONE\n",
     CLIENT_NO_GREETING, "greeting", 554, NULL},
    {"greeting 421", {0}, NULL, false,
     "S: 421 4.3.2 busy\nA: DONE\n",
     CLIENT_NO_GREETING, "greeting", 421, NULL},
    {"multi-line replies", {.tls = CLIENT_TLS_NONE}, NULL, false,
     "S: 220-mx.example.org ESMTP first line\nS: 220 second line\nC: EHLO client.example\n"
     EHLO_PIPE ONE_RCPT_PIPE
     "S: 354 go\nB:\nS: 250-2.0.0 Ok: queued as 4XYZ\nS: 250 2.0.0 and a second line\nC: QUIT\n",
     CLIENT_OK, "done", 250, x_multiline},
    {"EHLO refused, HELO", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET "S: 502 5.5.2 no\nC: HELO client.example\nS: 250 mx.example.org\n"
     "C: MAIL FROM:<" USER ">\nS: 250 ok\nC: RCPT TO:<bob@example.net>\nS: 250 ok\n"
     "C: DATA\n" BODY_OK,
     CLIENT_OK, "done", 250, x_no_caps},
    {"EHLO refused, credentials given", {.tls = CLIENT_TLS_NONE, CRED}, NULL, false,
     GREET "S: 500 5.5.2 what\nC: QUIT\n",
     CLIENT_AUTH_MISSING, "ehlo", 500, NULL},
    {"HELO refused too", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET "S: 502 no\nC: HELO client.example\nS: 501 no\nC: QUIT\n",
     CLIENT_EHLO_FAILED, "ehlo", 501, NULL},
    {"EHLO tempfail", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET "S: 451 4.3.0 later\nC: QUIT\n",
     CLIENT_TEMPFAIL, "ehlo", 451, NULL},
    {"codes differ in a reply", {0}, NULL, false,
     GREET "S: 250-mx.example.org\nS: 251 PIPELINING\nC: QUIT\n",
     CLIENT_PROTOCOL, "ehlo", 0, NULL},
    {"garbage greeting", {0}, NULL, false, "S: hello there\nC: QUIT\n",
     CLIENT_PROTOCOL, "greeting", 0, NULL},
    {"short reply", {0}, NULL, false, "S: 22\nC: QUIT\n",
     CLIENT_PROTOCOL, "greeting", 0, NULL},
    {"no separator", {0}, NULL, false, "S: 220x\nC: QUIT\n",
     CLIENT_PROTOCOL, "greeting", 0, NULL},
    {"bad class", {0}, NULL, false, "S: 650 no\nC: QUIT\n",
     CLIENT_PROTOCOL, "greeting", 0, NULL},
    {"bare code ends a reply", {.tls = CLIENT_TLS_NONE, .stop_after_auth = true}, NULL, false,
     "S: 220\nC: EHLO client.example\nS: 250\nC: QUIT\n",
     CLIENT_OK, "done", 250, NULL},
    {"lines after QUIT are ignored", {0}, NULL, false,
     "S: 554 no\nC: QUIT\nS: 221 bye\nS: garbage\nA: DONE\n",
     CLIENT_NO_GREETING, "greeting", 554, NULL},
    {"invalid EHLO name", {.ehlo_name = "bad\r\nname"}, NULL, false,
     "S: 220 mx\nC: QUIT\n",
     CLIENT_EHLO_FAILED, "ehlo", 0, NULL},
    /* keep_open: several transactions on one connection (outbound, verify) */
    {"keep open: two messages, one connection", KEEP, NULL, false,
     GREET EHLO_PIPE ONE_RCPT_PIPE BODY_IDLE "N: 2\n" MAIL_PLAIN
     "C: RCPT TO:<bob@example.net>\nC: RCPT TO:<carol@example.net>\nC: DATA\n"
     "S: 250 ok\nS: 250 ok\nS: 550 5.1.1 unknown\nS: 354 go\nA: SEND_BODY\nB:\n"
     "S: 250 2.0.0 queued as B\nA: IDLE\nQ:\nC: QUIT\nA: DONE\n",
     CLIENT_OK, "done", 250, x_second_message},
    {"keep open: DATA refused, RSET, idle", KEEP, NULL, false,
     GREET EHLO_PLAIN ONE_RCPT_SEQ "S: 554 5.5.1 no\nC: RSET\nS: 250 ok\nA: IDLE\nQ:\nC: QUIT\n",
     CLIENT_DATA_REJECTED, "data", 554, NULL},
    {"keep open: MAIL refused, RSET, the next one goes", KEEP, NULL, false,
     GREET EHLO_PLAIN MAIL_PLAIN "S: 451 4.3.0 later\nC: RSET\nS: 250 ok\nA: IDLE\nN: 1\n"
     ONE_RCPT_SEQ BODY_IDLE "Q:\nC: QUIT\nA: DONE\n",
     CLIENT_OK, "done", 250, NULL},
    {"keep open: RSET refused closes", KEEP, NULL, false,
     GREET EHLO_PLAIN MAIL_PLAIN "S: 550 5.7.1 no\nC: RSET\nS: 500 what\nC: QUIT\nA: DONE\n",
     CLIENT_SENDER_REJECTED, "mail", 550, NULL},
    {"keep open: the server closed the idle connection", KEEP, NULL, false,
     GREET EHLO_PIPE ONE_RCPT_PIPE BODY_IDLE "N: 1\n" MAIL_PLAIN
     "C: RCPT TO:<bob@example.net>\nC: DATA\nL: closed\nA: DONE\n",
     CLIENT_TEMPFAIL, "mail", 0, NULL},
    {"keep open: too big for this server, the session stays", KEEP, NULL, false,
     GREET "S: 250-mx.example.org\nS: 250 SIZE 1000\nA: IDLE\nQ:\nC: QUIT\nA: DONE\n",
     CLIENT_SIZE_EXCEEDED, "mail", 0, NULL},
    {"keep open: a reply nobody asked for", KEEP, NULL, false,
     GREET EHLO_PIPE ONE_RCPT_PIPE BODY_IDLE "S: 250 surprise\nC: QUIT\nA: DONE\n",
     CLIENT_PROTOCOL, "idle", 250, NULL},
    {"keep open: verify batches with RSET", {.tls = CLIENT_TLS_NONE, .keep_open = true,
      .rset_instead_of_data = true}, &env2, false,
     GREET EHLO_PIPE MAIL_PLAIN "C: RCPT TO:<bob@example.net>\nC: RCPT TO:<carol@example.net>\n"
     "S: 250 ok\nS: 250 ok\nS: 550 5.1.1 no\nC: RSET\nS: 250 ok\nA: IDLE\nN: 3\n" MAIL_PLAIN
     "C: RCPT TO:<bob@example.net>\nC: RCPT TO:<carol@example.net>\n"
     "C: RCPT TO:<dave@example.net>\nS: 250 ok\nS: 250 ok\nS: 250 ok\nS: 250 ok\nC: RSET\n"
     "S: 250 ok\nA: IDLE\nQ:\nC: QUIT\nA: DONE\n",
     CLIENT_OK, "done", 250, x_three_accepted},
};

/* LMTP: LHLO, and a reply per recipient after the body. */
static const struct script_case lmtp_cases[] = {
    {"lmtp: one mailbox over quota is refused alone", LMTP, &env3, false,
     LHLO "S: 250 2.1.5 OK\nS: 250 2.1.5 OK\nS: 250 2.1.5 OK\nS: 354 go\nA: SEND_BODY\nB:\n"
     "S: 250 2.0.0 <bob@example.net> Saved\nA: NONE\n"
     "S: 552 5.2.2 <carol@example.net> Quota exceeded (mailbox for user is full)\nA: NONE\n"
     "S: 250 2.0.0 <dave@example.net> Saved\nC: QUIT\nA: DONE\n",
     CLIENT_OK, "done", 250, x_lmtp_one_refused},
    {"lmtp: replies only for the recipients RCPT accepted", LMTP, &env3, false,
     LHLO "S: 550 5.1.1 no such user\nS: 250 2.1.5 OK\nS: 250 2.1.5 OK\nS: 354 go\n"
     "A: SEND_BODY\nB:\nS: 452 4.2.2 <carol@example.net> over quota, try later\nA: NONE\n"
     "S: 250 2.0.0 <dave@example.net> Saved\nC: QUIT\nA: DONE\n",
     CLIENT_OK, "done", 250, x_lmtp_mixed},
    {"lmtp: every recipient refused after the body", LMTP, &env3, false,
     LHLO "S: 250 2.1.5 OK\nS: 250 2.1.5 OK\nS: 250 2.1.5 OK\nS: 354 go\nA: SEND_BODY\nB:\n"
     "S: 452 4.3.0 a\nS: 452 4.3.0 b\nS: 552 5.2.2 c\nC: QUIT\nA: DONE\n",
     CLIENT_DATA_REJECTED, "body", 552, x_lmtp_none},
    {"lmtp: DATA refused: nobody delivered", LMTP, &env3, false,
     LHLO "S: 250 2.1.5 OK\nS: 250 2.1.5 OK\nS: 250 2.1.5 OK\nS: 451 4.3.0 not now\n"
     "C: QUIT\nA: DONE\n",
     CLIENT_TEMPFAIL, "data", 451, x_lmtp_none},
    {"lmtp: lost after the first recipient's reply", LMTP, &env3, false,
     LHLO "S: 250 2.1.5 OK\nS: 250 2.1.5 OK\nS: 250 2.1.5 OK\nS: 354 go\nA: SEND_BODY\nB:\n"
     "S: 250 2.0.0 <bob@example.net> Saved\nL: closed\nA: DONE\n",
     CLIENT_TEMPFAIL, "body", 0, x_lmtp_first_only},
    {"lmtp: a 421 after the first recipient's reply", LMTP, &env3, false,
     LHLO "S: 250 2.1.5 OK\nS: 250 2.1.5 OK\nS: 250 2.1.5 OK\nS: 354 go\nA: SEND_BODY\nB:\n"
     "S: 250 2.0.0 <bob@example.net> Saved\nS: 421 4.3.2 shutting down\nA: DONE\n",
     CLIENT_TEMPFAIL, "body", 421, x_lmtp_first_only},
    {"lmtp: LHLO refused is the end (no HELO)", LMTP, &env3, false,
     "S: 220 box ready\nC: LHLO client.example\nS: 500 5.5.1 unknown command\nC: QUIT\n"
     "A: DONE\n",
     CLIENT_EHLO_FAILED, "ehlo", 500, NULL},
};

/* Lost at the points no S: line marks: the handshake, the body. */
static const struct script_case lost_cases[] = {
    {"lost in the handshake", {0}, NULL, false,
     GREET EHLO_TLS "C: STARTTLS\nS: 220 go\nL: closed\nA: DONE\n",
     CLIENT_TLS_FAILED, "tls", 0, NULL},
    {"lost while the body streams", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET EHLO_PLAIN ONE_RCPT_SEQ "S: 354 go\nL: closed\n",
     CLIENT_TEMPFAIL, "body", 0, x_lost_body},
    {"lost after the body", {.tls = CLIENT_TLS_NONE}, NULL, false,
     GREET EHLO_PLAIN ONE_RCPT_SEQ "S: 354 go\nB:\nL: timeout\n",
     CLIENT_TEMPFAIL, "body", 0, NULL},
    {"lost waiting for RSET after a verify", {.tls = CLIENT_TLS_NONE,
      .rset_instead_of_data = true}, NULL, false,
     GREET EHLO_PLAIN MAIL_PLAIN "S: 250 ok\nC: RCPT TO:<bob@example.net>\nS: 250 ok\nC: RSET\n"
     "L: closed\n",
     CLIENT_OK, "done", 250, NULL},
    {"lost after done changes nothing", {0}, NULL, false,
     "S: 554 no\nC: QUIT\nL: closed\n",
     CLIENT_NO_GREETING, "greeting", 554, NULL},
};

/* The happy dialogues the 421 and connection-lost sweeps cut anywhere. */
static const struct script_case sweep_cases[] = {
    {"sweep starttls pipelined", {CRED}, NULL, false, happy_starttls_pipe,
     CLIENT_OK, "done", 250, NULL},
    {"sweep starttls seq", {CRED}, &env2, false,
     GREET "S: 250-mx.example.org\nS: 250 STARTTLS\n" TLS_UP EHLO_AUTH PLAIN_OK MAIL_PLAIN
     "S: 250 ok\nC: RCPT TO:<bob@example.net>\nS: 250 ok\nC: RCPT TO:<carol@example.net>\n"
     "S: 250 ok\nC: DATA\n" BODY_OK,
     CLIENT_OK, "done", 250, NULL},
    {"sweep implicit login", {.tls = CLIENT_TLS_IMPLICIT, CRED, .allowed_mechs = CLIENT_MECH_LOGIN},
     NULL, false, happy_implicit_login,
     CLIENT_OK, "done", 250, NULL},
};
/* clang-format on */

/* ---- sweeps over the happy dialogues ---- */

/* A 421 wherever a reply starts: tempfail, closed at once, no QUIT. */
static void
sweep_421(const struct script_case *tc)
{
	for (int k = 0;; k++) {
		struct run r;
		run_begin(&r, tc);
		bool cut = run_lines(&r, tc->script, k);
		if (cut && !r.in_reply) {
			run_step(&r, "S: 421 4.4.2 closing", 20);
			const struct smtp_client_result *res = smtp_client_result(r.c);
			enum client_failure want = k == 0 ? CLIENT_NO_GREETING : CLIENT_TEMPFAIL;
			CHECK(res->failure == want);
			CHECK(res->reply.code == 421);
			CHECK(smtp_client_action(r.c) == CLIENT_ACT_DONE);
			CHECK(r.pending.len == 0); /* no QUIT after a 421 */
			if (res->failure != want || r.pending.len)
				printf("  (%s, 421 before S: line %d)\n", tc->name, k);
		}
		run_end(&r);
		if (!cut)
			break;
	}
}

/* The connection lost before any server line (or timing out). */
static void
sweep_lost(const struct script_case *tc, bool timeout)
{
	for (int k = 0;; k++) {
		struct run r;
		run_begin(&r, tc);
		bool cut = run_lines(&r, tc->script, k);
		if (cut) {
			const char *phase_before = smtp_client_result(r.c)->phase;
			run_step(&r, timeout ? "L: timeout" : "L: closed", 10);
			const struct smtp_client_result *res = smtp_client_result(r.c);
			enum client_failure want = k == 0 ? CLIENT_NO_GREETING : CLIENT_TEMPFAIL;
			CHECK(res->failure == want);
			CHECK_STR(res->phase, phase_before);
			CHECK(strstr(res->reply.text, "while waiting for the ") != NULL);
			CHECK(strstr(res->reply.text, timeout ? "timed out" : "closed") != NULL);
			CHECK(smtp_client_action(r.c) == CLIENT_ACT_DONE);
			CHECK(r.pending.len == 0);
			if (res->failure != want)
				printf("  (%s, lost before S: line %d)\n", tc->name, k);
		}
		run_end(&r);
		if (!cut)
			break;
	}
}

/* ---- checks outside the scripts ---- */

static void
test_long_reply(void)
{
	struct smtp_client_config cfg = {.ehlo_name = "c", .tls = CLIENT_TLS_NONE};
	struct smtp_client *c = smtp_client_new(&cfg, &env1);
	smtp_client_feed(c, STRV_LIT("220 mx"));
	for (int i = 0; i < 100; i++)
		smtp_client_feed(c, STRV_LIT("250-X-PADDING"));
	CHECK(smtp_client_result(c)->failure == CLIENT_OK);
	smtp_client_feed(c, STRV_LIT("250-X-PADDING"));
	CHECK(smtp_client_result(c)->failure == CLIENT_PROTOCOL);
	CHECK(smtp_client_action(c) == CLIENT_ACT_DONE);

	/* A very long line: the text is cut to the struct, nothing more. */
	struct smtp_client *d = smtp_client_new(&cfg, &env1);
	char line[4000];
	memset(line, 'x', sizeof line);
	memcpy(line, "554 ", 4);
	line[100] = '\r';
	smtp_client_feed(d, (struct strv){line, sizeof line});
	const struct smtp_client_result *res = smtp_client_result(d);
	CHECK(res->failure == CLIENT_NO_GREETING);
	CHECK(strlen(res->reply.text) == sizeof res->reply.text - 1);
	CHECK(res->reply.text[96] == '?'); /* control bytes are not kept */
	const char *t = smtp_client_transcript(d)->data;
	CHECK(strstr(t, "\\x0d") != NULL && strchr(t, '\r') == NULL);
	smtp_client_free(&c);
	smtp_client_free(&d);
	smtp_client_free(&d); /* NULL is fine */
}

static void
test_esc(void)
{
	static const struct {
		const char *line, *esc, *text;
	} t[] = {
	    {"554 5.7.1 Relaying denied", "5.7.1", "Relaying denied"},
	    {"554 5.7.1", "5.7.1", ""},
	    {"554 5.7.123 x", "5.7.123", "x"},
	    {"554 5.7.1234 x", "", "5.7.1234 x"},
	    {"554 5.71 x", "", "5.71 x"},
	    {"554 55.7.1 x", "", "55.7.1 x"},
	    {"554 5.7.1x", "", "5.7.1x"},
	    {"554   spaced   ", "", "spaced"},
	};
	struct smtp_client_config cfg = {.ehlo_name = "c"};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct smtp_client *c = smtp_client_new(&cfg, &env1);
		smtp_client_feed(c, strv_from(t[i].line));
		CHECK_STR(smtp_client_result(c)->reply.esc, t[i].esc);
		CHECK_STR(smtp_client_result(c)->reply.text, t[i].text);
		smtp_client_free(&c);
	}
}

static void
test_caps(void)
{
	struct smtp_client_config cfg = {.ehlo_name = "c", .tls = CLIENT_TLS_NONE};
	struct smtp_client *c = smtp_client_new(&cfg, &env1);
	static const char *const lines[] = {
	    "220 mx ESMTP",
	    "250-mx.example.org greets c",
	    "250-pipelining",
	    "250-SIZE 35882577",
	    "250-8BITMIME",
	    "250-SMTPUTF8",
	    "250-CHUNKING",
	    "250-ENHANCEDSTATUSCODES",
	    "250-DSN",
	    "250-AUTH=LOGIN",
	    "250-AUTH PLAIN XOAUTH2 CRAM-MD5",
	    "250 X-UNKNOWN",
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		smtp_client_feed(c, strv_from(lines[i]));
	const struct smtp_client_caps *k = smtp_client_caps(c);
	CHECK(k->esmtp && k->pipelining && k->eightbitmime && k->smtputf8 && k->chunking);
	CHECK(k->enhancedstatuscodes && k->dsn && !k->starttls);
	CHECK(k->size == 35882577);
	CHECK(k->auth_mechs == (CLIENT_MECH_LOGIN | CLIENT_MECH_PLAIN | CLIENT_MECH_XOAUTH2));
	CHECK_STR(k->auth_line, "PLAIN XOAUTH2 CRAM-MD5");
	CHECK(k->auth_before_tls);
	CHECK_STR(k->greeting, "mx ESMTP");
	/* Every line as offered, the unknown one too, for probe's report. */
	CHECK_STR(k->keywords, "pipelining\nSIZE 35882577\n8BITMIME\nSMTPUTF8\nCHUNKING\n"
			       "ENHANCEDSTATUSCODES\nDSN\nAUTH=LOGIN\nAUTH PLAIN XOAUTH2 CRAM-MD5\n"
			       "X-UNKNOWN\n");
	CHECK(k->keywords_dropped == 0);
	CHECK_STR(smtp_client_mech_name(CLIENT_MECH_XOAUTH2), "XOAUTH2");
	CHECK_STR(smtp_client_mech_name(CLIENT_MECH_OAUTHBEARER), "OAUTHBEARER");
	CHECK_STR(smtp_client_mech_name(CLIENT_MECH_PLAIN), "PLAIN");
	CHECK_STR(smtp_client_mech_name(CLIENT_MECH_LOGIN), "LOGIN");
	CHECK_STR(smtp_client_mech_name(0), "NONE");
	CHECK_STR(smtp_client_failure_name(CLIENT_RELAY_DENIED), "relay-denied");
	CHECK_STR(smtp_client_failure_name(CLIENT_UTF8_UNSUPPORTED), "utf8-unsupported");
	smtp_client_free(&c);
}

/* An EHLO reply longer than the keyword buffer: whole lines kept, the rest counted. */
static void
test_caps_many_keywords(void)
{
	struct smtp_client_config cfg = {.ehlo_name = "c", .tls = CLIENT_TLS_NONE};
	struct smtp_client *c = smtp_client_new(&cfg, &env1);
	smtp_client_feed(c, strv_from("220 mx ESMTP"));
	smtp_client_feed(c, strv_from("250-mx greets c"));
	char line[80];
	for (int i = 0; i < 60; i++) { /* 60 x 21 octets do not fit in 1024 */
		snprintf(line, sizeof line, "250-X-KEYWORD-NUMBER-%03d", i); /* 20 octets + LF */
		smtp_client_feed(c, strv_from(line));
	}
	smtp_client_feed(c, strv_from("250 DSN"));
	const struct smtp_client_caps *k = smtp_client_caps(c);
	size_t len = strlen(k->keywords);
	CHECK(len > 0 && len < sizeof k->keywords && k->keywords[len - 1] == '\n');
	CHECK(strncmp(k->keywords, "X-KEYWORD-NUMBER-000\n", 21) == 0);
	CHECK(len % 21 == 0);
	CHECK(k->keywords_dropped == 61 - len / 21);
	CHECK(k->dsn); /* understood even when left out of the list */
	smtp_client_free(&c);
}

/* RFC 5801: ',' and '=' in the user are escaped in OAUTHBEARER's gs2 header. */
static void
test_oauthbearer_escape(void)
{
	struct smtp_client_config cfg = {.ehlo_name = "c",
					 .tls = CLIENT_TLS_IMPLICIT,
					 .user = "a,b=c",
					 .oauth_token = "t",
					 .allowed_mechs = CLIENT_MECH_OAUTHBEARER};
	struct smtp_client *c = smtp_client_new(&cfg, NULL);
	smtp_client_feed(c, STRV_LIT("220 mx"));
	smtp_client_feed(c, STRV_LIT("250-mx"));
	buf_reset(smtp_client_output(c));
	smtp_client_feed(c, STRV_LIT("250 AUTH OAUTHBEARER"));
	static const char raw[] = "n,a=a=2Cb=3Dc,\001auth=Bearer t\001\001";
	char want[128] = "AUTH OAUTHBEARER ";
	size_t n = strlen(want);
	n += b64_encode(raw, sizeof raw - 1, want + n);
	memcpy(want + n, "\r\n", 3);
	CHECK_STR(smtp_client_output(c)->data, want);
	smtp_client_free(&c);
}

static void
init_secrets(void)
{
	static const char plain[] = "\0" USER "\0" PASS;
	static const char xo[] = "user=" USER "\001auth=Bearer " TOKEN "\001\001";
	static const char ob[] =
	    "n,a=" USER ",\001host=mx.example.org\001port=587\001auth=Bearer " TOKEN "\001\001";
	b64_encode(plain, sizeof plain - 1, plain64);
	b64_encode(xo, sizeof xo - 1, xoauth64);
	b64_encode(ob, sizeof ob - 1, bearer64);
	b64_encode(USER, strlen(USER), user64);
	b64_encode(PASS, strlen(PASS), pass64);
}

int
main(void)
{
	init_secrets();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run_case(&cases[i]);
	for (size_t i = 0; i < sizeof lmtp_cases / sizeof lmtp_cases[0]; i++)
		run_case(&lmtp_cases[i]);
	for (size_t i = 0; i < sizeof lost_cases / sizeof lost_cases[0]; i++)
		run_case(&lost_cases[i]);
	for (size_t i = 0; i < sizeof sweep_cases / sizeof sweep_cases[0]; i++) {
		run_case(&sweep_cases[i]);
		sweep_421(&sweep_cases[i]);
		sweep_lost(&sweep_cases[i], false);
		sweep_lost(&sweep_cases[i], true);
	}
	test_long_reply();
	test_esc();
	test_caps();
	test_caps_many_keywords();
	test_oauthbearer_escape();
	return test_summary("test_smtp_client");
}
