/*
 * smtp_client: the client side of one SMTP session (see smtp_client.h):
 * the output and the transcript, phases and the result, the reply
 * dispatcher and the life cycle. The greeting, EHLO and STARTTLS are in
 * smtp_client_hello.c, AUTH in smtp_client_auth.c, the mail transaction in
 * smtp_client_tx.c; smtp_client_internal.h is what the four share.
 *
 * Invariants:
 * - The phase says which reply is awaited; TLS, pipelining and the fate of
 *   the transaction are flags beside it. Every reply goes through
 *   on_reply(), every command through smtp_client_send() or
 *   smtp_client_send_secret(), which also write the transcript (redacted
 *   for SASL).
 * - The first failure decided is the one reported (smtp_client_fail());
 *   what follows is only the way out: RSET, QUIT, or an immediate close.
 * - No AUTH and no MAIL before TLS unless cfg->tls is NONE or OPPORTUNISTIC
 *   (RFC 3207 6: a missing STARTTLS is never a silent downgrade).
 * - Server bytes are untrusted: the transcript escapes controls, and bytes
 *   between STARTTLS's 220 and the handshake fail the session.
 * - Secrets live only in the output buffer (wiped before it is reused or
 *   freed) and in temporaries wiped before they are freed.
 * RFC 5321 4.2 (replies), 3.8 (421 and lost connections), 3207.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "panic.h"
#include "smtp_client_internal.h"
#include "xmalloc.h"

/* One transcript line is cut here; the glue resets the transcript, this
 * only bounds a glue that never does. */
#define TRANSCRIPT_LINE_MAX 1024
#define TRANSCRIPT_MAX (1024 * 1024)

static const char *const phase_names[] = {
    "greeting", "ehlo", "ehlo", "starttls", "tls",  "auth", "mail",
    "rcpt",	"data", "body", "quit",	    "idle", "done",
};

/* What was awaited, for "connection timed out while waiting for ...". */
static const char *const phase_waits[] = {
    "the greeting",	 "the reply to EHLO",
    "the reply to HELO", "the reply to STARTTLS",
    "the TLS handshake", "the reply to AUTH",
    "the reply to MAIL", "the reply to RCPT",
    "the reply to DATA", "the reply to the end of data",
    "the reply to RSET", "the next transaction",
    "nothing",
};
_Static_assert(sizeof phase_names / sizeof phase_names[0] == P_DONE + 1, "a name per phase");
_Static_assert(sizeof phase_waits / sizeof phase_waits[0] == P_DONE + 1, "a wait per phase");

static bool
is_ctl(unsigned char ch)
{
	return ch < 0x20 || ch == 0x7f;
}

bool
smtp_client_has_ctl(const char *s)
{
	for (; *s; s++)
		if (is_ctl((unsigned char)*s))
			return true;
	return false;
}

/* ---- the transcript and the output: the one place each is written ---- */

static void
transcript_line(struct smtp_client *c, const char *prefix, const char *p, size_t n)
{
	char line[TRANSCRIPT_LINE_MAX + 8];
	size_t len = 0;
	/* Server bytes are untrusted: no terminal escapes in a -v dump. */
	for (size_t i = 0; i < n && len < TRANSCRIPT_LINE_MAX; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (is_ctl(ch))
			len += (size_t)snprintf(line + len, sizeof line - len, "\\x%02x", ch);
		else
			line[len++] = (char)ch;
	}
	if (len >= TRANSCRIPT_LINE_MAX)
		len = TRANSCRIPT_LINE_MAX;
	buf_printf(&c->transcript, "%s%.*s\n", prefix, (int)len, line);
}

/* The glue has sent and reset the buffer since the last secret: wipe it. */
static void
out_begin(struct smtp_client *c)
{
	if (c->secret_out && c->out.len == 0 && c->out.data) {
		explicit_bzero(c->out.data, c->out.cap);
		c->secret_out = false;
	}
}

void
smtp_client_send(struct smtp_client *c, const char *fmt, ...)
{
	out_begin(c);
	size_t start = c->out.len;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&c->out, fmt, ap);
	va_end(ap);
	transcript_line(c, "C: ", c->out.data + start, c->out.len - start);
	buf_append(&c->out, "\r\n", 2);
}

/*
 * prefix + base64(raw) + CRLF as one append, so the buffer never grows (and
 * leaves a copy behind in freed memory) while it holds the secret.
 */
void
smtp_client_send_secret(struct smtp_client *c, const char *prefix, const void *raw, size_t n,
			const char *shown)
{
	size_t plen = strlen(prefix);
	size_t cap = plen + B64_ENCODED_SIZE(n) + 2;
	char *line = xmalloc(cap);
	memcpy(line, prefix, plen);
	size_t len = plen + b64_encode(raw, n, line + plen);
	memcpy(line + len, "\r\n", 2);
	out_begin(c);
	buf_append(&c->out, line, len + 2);
	c->secret_out = true;
	explicit_bzero(line, cap);
	free(line);
	transcript_line(c, "C: ", shown, strlen(shown));
}

/* ---- phases and the result ---- */

/*
 * LMTP: a recipient is delivered only by its own reply after the body
 * (RFC 2033 4.2). A transaction that ends without that reply (DATA
 * refused, a 421, the connection lost part way) leaves the recipients
 * still waiting for theirs not accepted, so no caller counts them.
 */
static void
lmtp_unsettle(struct smtp_client *c)
{
	if (c->env == NULL || c->result.rcpts == NULL)
		return;
	for (size_t i = c->lmtp_idx; i < c->env->nrcpts; i++) {
		if (c->result.rcpts[i].accepted) {
			c->result.rcpts[i].accepted = false;
			c->result.accepted--;
		}
	}
	c->lmtp_idx = c->env->nrcpts;
}

void
smtp_client_enter(struct smtp_client *c, enum client_phase phase)
{
	/* From P_IDLE the transaction is settled, and its env may be gone. */
	if (c->cfg->lmtp && c->phase != P_IDLE &&
	    (phase == P_RSET || phase == P_IDLE || phase == P_DONE))
		lmtp_unsettle(c);
	c->phase = phase;
	if (c->result.failure == CLIENT_OK)
		c->result.phase = phase_names[phase];
}

/* The first failure decided is the one reported. */
void
smtp_client_fail(struct smtp_client *c, enum client_failure f, const struct smtp_client_reply *r)
{
	if (c->result.failure != CLIENT_OK)
		return;
	c->result.failure = f;
	c->result.phase = phase_names[c->phase];
	c->result.reply = *r;
}

/* A failure no reply stated (code 0): our own words in reply.text. */
void
smtp_client_fail_text(struct smtp_client *c, enum client_failure f, const char *fmt, ...)
{
	struct smtp_client_reply r = {0};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r.text, sizeof r.text, fmt, ap);
	va_end(ap);
	smtp_client_fail(c, f, &r);
}

enum client_failure
smtp_client_failure_by_class(int code, enum client_failure on_5xx)
{
	if (code / 100 == 4)
		return CLIENT_TEMPFAIL;
	return code / 100 == 5 ? on_5xx : CLIENT_PROTOCOL;
}

void
smtp_client_finish(struct smtp_client *c, bool quit)
{
	if (quit)
		smtp_client_send(c, "QUIT");
	smtp_client_enter(c, P_DONE);
	c->action = CLIENT_ACT_DONE;
}
static void
on_reply(struct smtp_client *c, const struct smtp_client_reply *r)
{
	/* RFC 5321 3.8: 421 is the server closing, whenever it comes. */
	if (r->code == 421 && c->phase != P_GREETING) {
		smtp_client_fail(c, CLIENT_TEMPFAIL, r);
		smtp_client_finish(c, false);
		return;
	}
	if (c->result.failure == CLIENT_OK && c->phase != P_RSET)
		c->result.reply = *r;
	switch (c->phase) {
	case P_GREETING:
		smtp_client_on_greeting(c, r);
		break;
	case P_EHLO:
	case P_HELO:
		smtp_client_on_hello(c, r);
		break;
	case P_STARTTLS:
		smtp_client_on_starttls(c, r);
		break;
	case P_AUTH:
		smtp_client_on_auth(c, r);
		break;
	case P_MAIL:
		smtp_client_on_mail(c, r);
		break;
	case P_RCPT:
		smtp_client_on_rcpt(c, r);
		break;
	case P_DATA:
		smtp_client_on_data(c, r);
		break;
	case P_BODY:
		smtp_client_on_body(c, r);
		break;
	case P_RSET:
		smtp_client_on_rset(c, r);
		break;
	case P_IDLE: /* nothing was asked */
		smtp_client_fail(c, CLIENT_PROTOCOL, r);
		smtp_client_finish(c, true);
		break;
	case P_TLS:
	case P_DONE:
		mp_panic("a reply in phase %d: smtp_client_feed() returns before",
			 (int)c->phase); /* a bug */
	}
}

/* ---- the interface ---- */

struct smtp_client *
smtp_client_new(const struct smtp_client_config *cfg, const struct smtp_client_envelope *env)
{
	struct smtp_client *c = xcalloc(1, sizeof *c);
	c->cfg = cfg;
	c->env = env;
	c->tls = cfg->tls == CLIENT_TLS_IMPLICIT;
	c->action = CLIENT_ACT_NONE;
	c->result.failure = CLIENT_OK;
	smtp_client_enter(c, P_GREETING);
	if (env && env->nrcpts)
		c->result.rcpts = xcalloc(env->nrcpts, sizeof *c->result.rcpts);
	buf_init(&c->out, 0);
	buf_init(&c->transcript, TRANSCRIPT_MAX);
	return c;
}

void
smtp_client_free(struct smtp_client **cp)
{
	struct smtp_client *c = *cp;
	if (!c)
		return;
	if (c->out.data)
		explicit_bzero(c->out.data, c->out.cap);
	buf_free(&c->out);
	buf_free(&c->transcript);
	free(c->result.rcpts);
	free(c);
	*cp = NULL;
}

void
smtp_client_feed(struct smtp_client *c, struct strv line)
{
	transcript_line(c, "S: ", line.p, line.len);
	if (c->phase == P_DONE)
		return;
	if (c->phase == P_TLS) {
		/* Bytes after the 220 and before the handshake were sent in
		 * clear and would be read as if under TLS (CVE-2011-0411). */
		smtp_client_fail_text(c, CLIENT_PROTOCOL,
				      "the server sent data before the TLS handshake");
		smtp_client_finish(c, false);
		return;
	}
	struct strv text;
	enum smtp_reply_line rc = smtp_reply_add_line(&c->acc, line, &text);
	if (rc == REPLY_BAD) {
		char shown[120];
		str_escape(shown, sizeof shown, line.p, line.len);
		smtp_client_fail_text(c, CLIENT_PROTOCOL, "malformed reply: \"%s\"", shown);
		smtp_client_finish(c, !(c->phase == P_BODY && !c->body_sent));
		return;
	}
	if (c->phase == P_EHLO)
		smtp_client_caps_line(c, text, c->acc.lines);
	if (rc == REPLY_MORE)
		return;
	struct smtp_client_reply r = c->acc.r;
	memset(&c->acc, 0, sizeof c->acc);
	on_reply(c, &r);
}

struct buf *
smtp_client_output(struct smtp_client *c)
{
	return &c->out;
}

struct buf *
smtp_client_transcript(struct smtp_client *c)
{
	return &c->transcript;
}

enum smtp_client_action
smtp_client_action(const struct smtp_client *c)
{
	return c->action;
}

void
smtp_client_connection_lost(struct smtp_client *c, bool timeout)
{
	if (c->phase == P_DONE)
		return;
	/* RFC 5321 3.8: a lost connection is treated as a 451. A verify that
	 * has all its answers and waits only for RSET's reply stays ok. */
	enum client_failure f = CLIENT_TEMPFAIL;
	if (c->phase == P_GREETING)
		f = CLIENT_NO_GREETING;
	else if (c->phase == P_TLS)
		f = CLIENT_TLS_FAILED;
	const char *how = timeout ? "timed out" : "closed by the server";
	if (c->phase == P_BODY && !c->body_sent)
		smtp_client_fail_text(c, f, "connection %s while sending the message body", how);
	else if (c->phase != P_RSET)
		smtp_client_fail_text(c, f, "connection %s while waiting for %s", how,
				      phase_waits[c->phase]);
	if (c->out.data)
		explicit_bzero(c->out.data, c->out.cap);
	buf_reset(&c->out);
	smtp_client_finish(c, false);
}

void
smtp_client_quit(struct smtp_client *c)
{
	if (c->phase == P_IDLE)
		smtp_client_finish(c, true);
}

const struct smtp_client_result *
smtp_client_result(const struct smtp_client *c)
{
	return &c->result;
}

const struct smtp_client_caps *
smtp_client_caps(const struct smtp_client *c)
{
	return &c->caps;
}

const char *
smtp_client_failure_name(enum client_failure f)
{
	static const char *const names[] = {
	    "ok",
	    "no-greeting",
	    "ehlo-failed",
	    "starttls-missing",
	    "tls-failed",
	    "auth-missing",
	    "auth-failed",
	    "sender-rejected",
	    "relay-denied",
	    "rcpt-rejected",
	    "data-rejected",
	    "tempfail",
	    "protocol",
	    "size-exceeded",
	    "utf8-unsupported",
	    "8bit-unsupported",
	    "requiretls-unsupported",
	};
	if ((size_t)f >= sizeof names / sizeof names[0])
		return "unknown";
	return names[f];
}
