/*
 * smtp_client: the client side of one SMTP session (see smtp_client.h).
 *
 * Invariants:
 * - The phase says which reply is awaited; TLS, pipelining and the fate of
 *   the transaction are flags beside it. Every reply goes through
 *   on_reply(), every command through send_cmd() or send_secret(), which
 *   also write the transcript (redacted for SASL).
 * - The first failure decided is the one reported (fail()); what follows is
 *   only the way out: RSET, QUIT, or an immediate close.
 * - No AUTH and no MAIL before TLS unless cfg->tls is NONE or OPPORTUNISTIC
 *   (RFC 3207 6: a missing STARTTLS is never a silent downgrade).
 * - After the TLS handshake every capability learnt before is forgotten and
 *   EHLO is sent again (RFC 3207 4.2).
 * - Secrets live only in the output buffer (wiped before it is reused or
 *   freed) and in temporaries wiped before they are freed.
 * RFC 5321 4.2 (replies), 3207, 4954, 2920, 1870, 6152, 6531, 7628.
 */
#include "smtp_client.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "panic.h"
#include "smtp_reply.h"
#include "xmalloc.h"

/* One transcript line is cut here; the glue resets the transcript, this
 * only bounds a glue that never does. */
#define TRANSCRIPT_LINE_MAX 1024
#define TRANSCRIPT_MAX (1024 * 1024)

enum client_phase {
	P_GREETING, /* waiting for the 220 banner */
	P_EHLO,
	P_HELO,	    /* EHLO refused with 5xx, HELO sent */
	P_STARTTLS, /* STARTTLS sent */
	P_TLS,	    /* 220 to STARTTLS: the glue does the handshake */
	P_AUTH,
	P_MAIL,
	P_RCPT, /* rcpt_idx: whose reply comes next */
	P_DATA,
	P_BODY, /* 354 received: the glue streams, then the final reply */
	P_RSET, /* the way out of a transaction: QUIT, or idle with keep_open */
	P_IDLE, /* keep_open: a transaction ended, the session waits for the next */
	P_DONE,
};

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

enum auth_step {
	AS_REPLY,      /* the final reply (235) comes next */
	AS_LOGIN_USER, /* "AUTH LOGIN" sent: the username prompt comes next */
	AS_LOGIN_PASS, /* username sent: the password prompt comes next */
	AS_ABORTED,    /* error challenge answered or "*" sent: a 5xx comes next */
};

struct smtp_client {
	const struct smtp_client_config *cfg;
	const struct smtp_client_envelope *env;
	enum client_phase phase;
	enum smtp_client_action action;

	bool tls;	       /* TLS is on (implicit, or the handshake succeeded) */
	bool starttls_refused; /* opportunistic: the server said no, go on in clear */
	bool pipelined;	       /* MAIL and the RCPTs went out as one group (RFC 2920) */
	bool data_sent;	       /* ... and DATA with them */
	bool mail_ok;
	bool go; /* the transaction goes on to the body */
	bool body_sent;
	bool secret_out; /* the output buffer held a secret: wipe before reuse */
	size_t rcpt_idx;
	enum auth_step auth_step;

	struct smtp_reply_reader acc;
	struct smtp_client_caps caps;
	struct smtp_client_caps next_caps; /* read from the EHLO reply in progress */
	bool size_offered, next_size_offered;
	struct smtp_client_result result;
	struct buf out;
	struct buf transcript;
};

static bool
is_ctl(unsigned char ch)
{
	return ch < 0x20 || ch == 0x7f;
}

static bool
has_ctl(const char *s)
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

static void send_cmd(struct smtp_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
send_cmd(struct smtp_client *c, const char *fmt, ...)
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
static void
send_secret(struct smtp_client *c, const char *prefix, const void *raw, size_t n, const char *shown)
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

static void
enter(struct smtp_client *c, enum client_phase phase)
{
	c->phase = phase;
	if (c->result.failure == CLIENT_OK)
		c->result.phase = phase_names[phase];
}

/* The first failure decided is the one reported. */
static void
fail(struct smtp_client *c, enum client_failure f, const struct smtp_client_reply *r)
{
	if (c->result.failure != CLIENT_OK)
		return;
	c->result.failure = f;
	c->result.phase = phase_names[c->phase];
	c->result.reply = *r;
}

static void fail_text(struct smtp_client *c, enum client_failure f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A failure no reply stated (code 0): our own words in reply.text. */
static void
fail_text(struct smtp_client *c, enum client_failure f, const char *fmt, ...)
{
	struct smtp_client_reply r = {0};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r.text, sizeof r.text, fmt, ap);
	va_end(ap);
	fail(c, f, &r);
}

static enum client_failure
failure_by_class(int code, enum client_failure on_5xx)
{
	if (code / 100 == 4)
		return CLIENT_TEMPFAIL;
	return code / 100 == 5 ? on_5xx : CLIENT_PROTOCOL;
}

static void
finish(struct smtp_client *c, bool quit)
{
	if (quit)
		send_cmd(c, "QUIT");
	enter(c, P_DONE);
	c->action = CLIENT_ACT_DONE;
}

/* The transaction is over and the session sound: wait for the next one, or QUIT. */
static void
transaction_over(struct smtp_client *c)
{
	if (!c->cfg->keep_open) {
		finish(c, true);
		return;
	}
	enter(c, P_IDLE);
	c->action = CLIENT_ACT_IDLE;
}

static void send_rset(struct smtp_client *c);

/* A transaction refused part way: RSET leaves a session fit for the next. */
static void
abandon_transaction(struct smtp_client *c)
{
	if (c->cfg->keep_open)
		send_rset(c);
	else
		finish(c, true);
}

/* ---- EHLO capabilities ---- */

/* One line of the EHLO reply (RFC 5321 4.1.1.1); line 1 is the server's name. */
static void
caps_line(struct smtp_client *c, struct strv t, unsigned lineno)
{
	struct smtp_client_caps *k = &c->next_caps;
	if (lineno == 1) {
		memset(k, 0, sizeof *k);
		memcpy(k->greeting, c->caps.greeting, sizeof k->greeting);
		k->auth_before_tls = c->caps.auth_before_tls; /* a finding: kept */
		c->next_size_offered = false;
		return;
	}
	smtp_ehlo_keyword(k, t, c->tls, &c->next_size_offered);
}

/* Forget the capabilities; the banner and auth_before_tls are findings. */
static void
caps_forget(struct smtp_client *c)
{
	struct smtp_client_caps *k = &c->caps;
	char greeting[sizeof k->greeting];
	bool before = k->auth_before_tls;
	memcpy(greeting, k->greeting, sizeof greeting);
	memset(k, 0, sizeof *k);
	memcpy(k->greeting, greeting, sizeof greeting);
	k->auth_before_tls = before;
	c->size_offered = false;
}

/* ---- the session, phase by phase ---- */

static void start_auth(struct smtp_client *c);

static void
send_hello(struct smtp_client *c, enum client_phase phase)
{
	const char *name = c->cfg->ehlo_name;
	enter(c, phase);
	if (!name || !*name || has_ctl(name) || strchr(name, ' ')) {
		fail_text(c, CLIENT_EHLO_FAILED, "invalid EHLO name");
		finish(c, true);
		return;
	}
	send_cmd(c, "%s %s", phase == P_EHLO ? "EHLO" : "HELO", name);
}

static bool
needs_starttls(const struct smtp_client *c)
{
	return c->cfg->tls == CLIENT_TLS_STARTTLS && !c->tls;
}

static void
on_greeting(struct smtp_client *c, const struct smtp_client_reply *r)
{
	str_copy(c->caps.greeting, sizeof c->caps.greeting, r->text);
	if (r->code == 220) {
		send_hello(c, P_EHLO);
		return;
	}
	/* RFC 5321 3.1: a 554 banner still wants QUIT; a 421 has closed. */
	fail(c, CLIENT_NO_GREETING, r);
	finish(c, r->code != 421);
}

/* After EHLO (or HELO): STARTTLS if wanted and possible, else AUTH. */
static void
after_hello(struct smtp_client *c)
{
	if (!c->tls &&
	    (c->cfg->tls == CLIENT_TLS_STARTTLS || c->cfg->tls == CLIENT_TLS_OPPORTUNISTIC)) {
		if (c->caps.starttls && !c->starttls_refused) {
			enter(c, P_STARTTLS);
			send_cmd(c, "STARTTLS");
			return;
		}
		if (c->cfg->tls == CLIENT_TLS_STARTTLS) {
			enter(c, P_STARTTLS);
			fail_text(c, CLIENT_STARTTLS_MISSING, "the server does not offer STARTTLS");
			finish(c, true);
			return;
		}
	}
	start_auth(c);
}

static void
on_hello(struct smtp_client *c, const struct smtp_client_reply *r)
{
	if (r->code / 100 == 2) {
		if (c->phase == P_EHLO) {
			c->caps = c->next_caps;
			c->caps.esmtp = true;
			c->size_offered = c->next_size_offered;
		}
		after_hello(c);
		return;
	}
	if (r->code / 100 != 5 || c->phase == P_HELO) {
		fail(c, failure_by_class(r->code, CLIENT_EHLO_FAILED), r);
		finish(c, true);
		return;
	}
	/* RFC 5321 3.2: HELO after a refused EHLO, but HELO has no STARTTLS
	 * and no AUTH, so it is no way forward when either is needed. */
	if (needs_starttls(c) || c->cfg->user) {
		fail(c, needs_starttls(c) ? CLIENT_STARTTLS_MISSING : CLIENT_AUTH_MISSING, r);
		finish(c, true);
		return;
	}
	caps_forget(c);
	send_hello(c, P_HELO);
}

static void
on_starttls(struct smtp_client *c, const struct smtp_client_reply *r)
{
	if (r->code == 220) {
		enter(c, P_TLS);
		c->action = CLIENT_ACT_START_TLS;
		return;
	}
	if (c->cfg->tls == CLIENT_TLS_OPPORTUNISTIC) {
		/* RFC 3207 4: the session is as it was; MX delivery goes on. */
		c->result.starttls_reply = *r;
		c->starttls_refused = true;
		start_auth(c);
		return;
	}
	fail(c, CLIENT_TLS_FAILED, r);
	finish(c, true);
}

/* ---- AUTH (RFC 4954) ---- */

static void after_auth(struct smtp_client *c);

static unsigned
choose_mech(const struct smtp_client *c)
{
	const struct smtp_client_config *cfg = c->cfg;
	unsigned ours = 0;
	if (cfg->oauth_token)
		ours |= CLIENT_MECH_XOAUTH2 | CLIENT_MECH_OAUTHBEARER;
	if (cfg->password)
		ours |= CLIENT_MECH_PLAIN | CLIENT_MECH_LOGIN;
	unsigned both = ours & c->caps.auth_mechs & (cfg->allowed_mechs ? cfg->allowed_mechs : ~0u);
	/* The bits are in order of preference, strongest first. */
	for (unsigned m = CLIENT_MECH_XOAUTH2; m <= CLIENT_MECH_LOGIN; m <<= 1)
		if (both & m)
			return m;
	return 0;
}

static char *secret_printf(size_t *len_r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One exact allocation, so no realloc leaves a copy behind. */
static char *
secret_printf(size_t *len_r, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = xmalloc((size_t)(n < 0 ? 0 : n) + 1);
	vsnprintf(s, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap2);
	va_end(ap2);
	*len_r = n < 0 ? 0 : (size_t)n;
	return s;
}

static void
wipe_free(char *s, size_t n)
{
	explicit_bzero(s, n);
	free(s);
}

/* RFC 5801 5.1 saslname: ',' and '=' escaped as =2C and =3D. */
static void
gs2_name(struct buf *b, const char *user)
{
	for (; *user; user++) {
		if (*user == ',')
			buf_append_str(b, "=2C");
		else if (*user == '=')
			buf_append_str(b, "=3D");
		else
			buf_append(b, user, 1);
	}
}

static void
send_auth_oauth(struct smtp_client *c, unsigned mech)
{
	const struct smtp_client_config *cfg = c->cfg;
	size_t n;
	char *raw;
	if (mech == CLIENT_MECH_XOAUTH2) {
		raw = secret_printf(&n, "user=%s\001auth=Bearer %s\001\001", cfg->user,
				    cfg->oauth_token);
		send_secret(c, "AUTH XOAUTH2 ", raw, n, "AUTH XOAUTH2 ****");
		wipe_free(raw, n + 1);
		return;
	}
	/* RFC 7628 3.1: gs2 header, then host, port and auth key-value pairs. */
	struct buf name, hp;
	buf_init(&name, 0);
	buf_init(&hp, 0);
	gs2_name(&name, cfg->user);
	buf_append(&name, "", 0);
	buf_append(&hp, "", 0);
	if (cfg->host)
		buf_printf(&hp, "host=%s\001", cfg->host);
	if (cfg->port)
		buf_printf(&hp, "port=%u\001", (unsigned)cfg->port);
	raw = secret_printf(&n, "n,a=%s,\001%sauth=Bearer %s\001\001", name.data, hp.data,
			    cfg->oauth_token);
	send_secret(c, "AUTH OAUTHBEARER ", raw, n, "AUTH OAUTHBEARER ****");
	wipe_free(raw, n + 1);
	buf_free(&name);
	buf_free(&hp);
}

static void
start_auth(struct smtp_client *c)
{
	const struct smtp_client_config *cfg = c->cfg;
	if (!cfg->user) {
		after_auth(c);
		return;
	}
	enter(c, P_AUTH);
	unsigned mech = choose_mech(c);
	if (!mech) {
		fail_text(c, CLIENT_AUTH_MISSING, "%s%s",
			  c->caps.auth_mechs ? "no usable AUTH mechanism; the server offers: "
					     : "the server does not offer AUTH",
			  c->caps.auth_mechs ? c->caps.auth_line : "");
		finish(c, true);
		return;
	}
	c->result.used_mech = mech;
	c->auth_step = AS_REPLY;
	if (mech == CLIENT_MECH_PLAIN) {
		/* RFC 4616 2: authzid (empty) NUL authcid NUL passwd. */
		size_t ul = strlen(cfg->user), pl = strlen(cfg->password), n = ul + pl + 2;
		char *raw = xmalloc(n);
		raw[0] = '\0';
		memcpy(raw + 1, cfg->user, ul);
		raw[ul + 1] = '\0';
		memcpy(raw + ul + 2, cfg->password, pl);
		send_secret(c, "AUTH PLAIN ", raw, n, "AUTH PLAIN ****");
		wipe_free(raw, n);
	} else if (mech == CLIENT_MECH_LOGIN) {
		send_cmd(c, "AUTH LOGIN");
		c->auth_step = AS_LOGIN_USER;
	} else {
		send_auth_oauth(c, mech);
	}
}

/* A 334: the next LOGIN field, or an error challenge to close. */
static void
on_auth_challenge(struct smtp_client *c, const struct smtp_client_reply *r)
{
	const struct smtp_client_config *cfg = c->cfg;
	switch (c->auth_step) {
	case AS_LOGIN_USER:
		send_secret(c, "", cfg->user, strlen(cfg->user), "****");
		c->auth_step = AS_LOGIN_PASS;
		return;
	case AS_LOGIN_PASS:
		send_secret(c, "", cfg->password, strlen(cfg->password), "****");
		c->auth_step = AS_REPLY;
		return;
	case AS_REPLY:
		/* XOAUTH2 answers its error challenge with an empty line,
		 * OAUTHBEARER with %x01 (RFC 7628 3.2.3); anything else is
		 * cancelled with "*" (RFC 4954 4). A 5xx follows. */
		c->auth_step = AS_ABORTED;
		if (c->result.used_mech == CLIENT_MECH_XOAUTH2)
			send_cmd(c, "%s", "");
		else if (c->result.used_mech == CLIENT_MECH_OAUTHBEARER)
			send_cmd(c, "AQ==");
		else
			send_cmd(c, "*");
		return;
	case AS_ABORTED:
		break;
	}
	fail(c, CLIENT_PROTOCOL, r);
	finish(c, true);
}

static void
on_auth(struct smtp_client *c, const struct smtp_client_reply *r)
{
	if (r->code == 334) {
		on_auth_challenge(c, r);
		return;
	}
	if (r->code / 100 == 2) {
		after_auth(c);
		return;
	}
	fail(c, failure_by_class(r->code, CLIENT_AUTH_FAILED), r);
	finish(c, true);
}

/* ---- the transaction ---- */

static void
send_rcpt(struct smtp_client *c, size_t i)
{
	send_cmd(c, "RCPT TO:<%s>", c->env->rcpts[i]);
}

/* Refusals to check before MAIL: nothing is sent that must fail anyway. */
static bool
envelope_ok(struct smtp_client *c)
{
	const struct smtp_client_envelope *env = c->env;
	if (env->nrcpts == 0) {
		fail_text(c, CLIENT_RCPT_REJECTED, "no recipients");
		return false;
	}
	/* A CR or LF in an address would smuggle a command. */
	if (!env->from || has_ctl(env->from)) {
		fail_text(c, CLIENT_SENDER_REJECTED, "invalid sender address");
		return false;
	}
	for (size_t i = 0; i < env->nrcpts; i++) {
		if (!env->rcpts[i] || has_ctl(env->rcpts[i])) {
			str_copy(c->result.rcpts[i].reply.text,
				 sizeof c->result.rcpts[i].reply.text, "invalid recipient address");
			fail_text(c, CLIENT_RCPT_REJECTED, "invalid recipient address");
			return false;
		}
	}
	if (env->smtputf8 && !c->caps.smtputf8) {
		fail_text(c, CLIENT_UTF8_UNSUPPORTED,
			  "SMTPUTF8 is needed; the server does not offer it");
		return false;
	}
	/*
	 * RFC 6152 3: a relaying MTA must not pass an 8-bit body to a server
	 * that did not offer 8BITMIME; without a converter, it is returned.
	 */
	if (c->cfg->strict_8bitmime && env->eightbit && !c->caps.eightbitmime) {
		fail_text(c, CLIENT_8BIT_UNSUPPORTED,
			  "the message has 8-bit data; the server does not offer 8BITMIME");
		return false;
	}
	/* RFC 1870 6: SIZE 0 means no fixed limit. */
	if (c->caps.size && env->size > c->caps.size) {
		fail_text(c, CLIENT_SIZE_EXCEEDED,
			  "the message (%" PRIu64 " bytes) exceeds the server's SIZE %" PRIu64,
			  env->size, c->caps.size);
		return false;
	}
	return true;
}

static void
start_mail(struct smtp_client *c)
{
	const struct smtp_client_envelope *env = c->env;
	enter(c, P_MAIL);
	if (!envelope_ok(c)) {
		transaction_over(c); /* nothing was sent: the session is as it was */
		return;
	}
	char params[64] = "";
	size_t n = 0;
	if (c->size_offered && env->size > 0)
		n += (size_t)snprintf(params + n, sizeof params - n, " SIZE=%" PRIu64, env->size);
	/* RFC 6152: without 8BITMIME an 8-bit body is still sent; most
	 * servers take it, and refusing would only fail more mail. */
	if (env->eightbit && c->caps.eightbitmime)
		n += (size_t)snprintf(params + n, sizeof params - n, " BODY=8BITMIME");
	c->result.eightbit_unannounced = env->eightbit && !c->caps.eightbitmime;
	if (env->smtputf8)
		snprintf(params + n, sizeof params - n, " SMTPUTF8");
	c->result.tls = c->tls;
	send_cmd(c, "MAIL FROM:<%s>%s", env->from, params);
	if (!c->caps.pipelining)
		return;
	/* RFC 2920 3.1: one group. DATA only when its 354 will surely be
	 * wanted: with all-or-none it depends on every RCPT, and a 354
	 * cannot be taken back short of closing. */
	c->pipelined = true;
	for (size_t i = 0; i < env->nrcpts; i++)
		send_rcpt(c, i);
	if (!c->cfg->all_recipients_or_none && !c->cfg->rset_instead_of_data) {
		send_cmd(c, "DATA");
		c->data_sent = true;
	}
}

static void
after_auth(struct smtp_client *c)
{
	if (c->cfg->stop_after_auth || !c->env) {
		finish(c, true);
		return;
	}
	start_mail(c);
}

static void
on_mail(struct smtp_client *c, const struct smtp_client_reply *r)
{
	if (r->code / 100 == 2) {
		c->mail_ok = true;
	} else {
		fail(c, failure_by_class(r->code, CLIENT_SENDER_REJECTED), r);
		if (!c->pipelined) {
			abandon_transaction(c);
			return;
		}
		/* The RCPTs (and DATA) are on their way: read their replies. */
	}
	enter(c, P_RCPT);
	c->rcpt_idx = 0;
	if (!c->pipelined)
		send_rcpt(c, 0);
}

static int
rcpt_rank(const struct smtp_client_reply *r, enum client_failure *f_r)
{
	if (r->code / 100 == 4) {
		*f_r = CLIENT_TEMPFAIL;
		return 1;
	}
	if (r->code / 100 == 5 && (strcmp(r->esc, "5.7.1") == 0 || strcasestr(r->text, "relay"))) {
		*f_r = CLIENT_RELAY_DENIED;
		return 3;
	}
	*f_r = CLIENT_RCPT_REJECTED;
	return 2;
}

/* The most telling refusal: relay denied, then rejected, then tempfail. */
static void
fail_rcpts(struct smtp_client *c)
{
	const struct smtp_client_rcpt_result *best = NULL;
	enum client_failure best_f = CLIENT_RCPT_REJECTED;
	int best_rank = 0;
	for (size_t i = 0; i < c->env->nrcpts; i++) {
		const struct smtp_client_rcpt_result *rr = &c->result.rcpts[i];
		enum client_failure f;
		int rank;
		if (rr->accepted || (rank = rcpt_rank(&rr->reply, &f)) <= best_rank)
			continue;
		best = rr;
		best_f = f;
		best_rank = rank;
	}
	if (best)
		fail(c, best_f, &best->reply);
}

static void
send_rset(struct smtp_client *c)
{
	enter(c, P_RSET);
	send_cmd(c, "RSET");
}

static void
after_rcpts(struct smtp_client *c)
{
	const struct smtp_client_config *cfg = c->cfg;
	size_t n = c->env->nrcpts;
	c->go = c->mail_ok && c->result.accepted > 0 &&
		(c->result.accepted == n || !cfg->all_recipients_or_none);
	if (c->go && !cfg->rset_instead_of_data) {
		if (!c->data_sent)
			send_cmd(c, "DATA");
		enter(c, P_DATA);
		return;
	}
	if (c->result.accepted < n)
		fail_rcpts(c);
	if (c->data_sent) {
		/* RFC 2920 3.1: with no recipient the server refuses DATA. */
		enter(c, P_DATA);
		return;
	}
	send_rset(c);
}

static void
on_rcpt(struct smtp_client *c, const struct smtp_client_reply *r)
{
	struct smtp_client_rcpt_result *rr = &c->result.rcpts[c->rcpt_idx];
	rr->reply = *r;
	rr->accepted = c->mail_ok && r->code / 100 == 2;
	if (rr->accepted)
		c->result.accepted++;
	if (r->code / 100 == 3) {
		fail(c, CLIENT_PROTOCOL, r);
		finish(c, true);
		return;
	}
	if (++c->rcpt_idx < c->env->nrcpts) {
		if (!c->pipelined)
			send_rcpt(c, c->rcpt_idx);
		return;
	}
	after_rcpts(c);
}

static void
on_data(struct smtp_client *c, const struct smtp_client_reply *r)
{
	if (!c->go) {
		/* A server that says 354 with nothing to deliver to: close
		 * without the final dot, so nothing can be delivered. */
		if (r->code == 354)
			finish(c, false);
		else
			send_rset(c);
		return;
	}
	if (r->code == 354) {
		enter(c, P_BODY);
		c->action = CLIENT_ACT_SEND_BODY;
		return;
	}
	fail(c, failure_by_class(r->code, CLIENT_DATA_REJECTED), r);
	abandon_transaction(c);
}

static void
on_body(struct smtp_client *c, const struct smtp_client_reply *r)
{
	if (!c->body_sent) {
		/* A reply while the body streams: the server gave up on it. A
		 * QUIT now would be taken as message text. */
		fail(c, failure_by_class(r->code, CLIENT_DATA_REJECTED), r);
		finish(c, false);
		return;
	}
	if (r->code / 100 != 2)
		fail(c, failure_by_class(r->code, CLIENT_DATA_REJECTED), r);
	transaction_over(c);
}

static void
on_reply(struct smtp_client *c, const struct smtp_client_reply *r)
{
	/* RFC 5321 3.8: 421 is the server closing, whenever it comes. */
	if (r->code == 421 && c->phase != P_GREETING) {
		fail(c, CLIENT_TEMPFAIL, r);
		finish(c, false);
		return;
	}
	if (c->result.failure == CLIENT_OK && c->phase != P_RSET)
		c->result.reply = *r;
	switch (c->phase) {
	case P_GREETING:
		on_greeting(c, r);
		break;
	case P_EHLO:
	case P_HELO:
		on_hello(c, r);
		break;
	case P_STARTTLS:
		on_starttls(c, r);
		break;
	case P_AUTH:
		on_auth(c, r);
		break;
	case P_MAIL:
		on_mail(c, r);
		break;
	case P_RCPT:
		on_rcpt(c, r);
		break;
	case P_DATA:
		on_data(c, r);
		break;
	case P_BODY:
		on_body(c, r);
		break;
	case P_RSET:
		if (r->code / 100 == 2)
			transaction_over(c);
		else
			finish(c, true);
		break;
	case P_IDLE: /* nothing was asked */
		fail(c, CLIENT_PROTOCOL, r);
		finish(c, true);
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
	enter(c, P_GREETING);
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
		fail_text(c, CLIENT_PROTOCOL, "the server sent data before the TLS handshake");
		finish(c, false);
		return;
	}
	struct strv text;
	enum smtp_reply_line rc = smtp_reply_add_line(&c->acc, line, &text);
	if (rc == REPLY_BAD) {
		char shown[120];
		str_escape(shown, sizeof shown, line.p, line.len);
		fail_text(c, CLIENT_PROTOCOL, "malformed reply: \"%s\"", shown);
		finish(c, !(c->phase == P_BODY && !c->body_sent));
		return;
	}
	if (c->phase == P_EHLO)
		caps_line(c, text, c->acc.lines);
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
smtp_client_tls_done(struct smtp_client *c, bool ok, const char *reason)
{
	if (c->phase != P_TLS)
		return;
	c->action = CLIENT_ACT_NONE;
	if (!ok) {
		/* No QUIT: the connection is in no state to carry one. */
		fail_text(c, CLIENT_TLS_FAILED, "%s",
			  reason && *reason ? reason : "the TLS handshake failed");
		finish(c, false);
		return;
	}
	c->tls = true;
	/* RFC 3207 4.2: forget what the server said in clear. */
	caps_forget(c);
	send_hello(c, P_EHLO);
}

void
smtp_client_body_sent(struct smtp_client *c)
{
	if (c->phase != P_BODY || c->body_sent)
		return;
	c->body_sent = true;
	c->action = CLIENT_ACT_NONE;
	if (c->env->size)
		buf_printf(&c->transcript, "C: <message body, %" PRIu64 " bytes>\n", c->env->size);
	else
		buf_append_str(&c->transcript, "C: <message body>\n");
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
		fail_text(c, f, "connection %s while sending the message body", how);
	else if (c->phase != P_RSET)
		fail_text(c, f, "connection %s while waiting for %s", how, phase_waits[c->phase]);
	if (c->out.data)
		explicit_bzero(c->out.data, c->out.cap);
	buf_reset(&c->out);
	finish(c, false);
}

bool
smtp_client_next(struct smtp_client *c, const struct smtp_client_envelope *env)
{
	if (c->phase != P_IDLE || env == NULL)
		return false;
	/* What belongs to the session stays; what belonged to the transaction goes. */
	unsigned mech = c->result.used_mech;
	struct smtp_client_reply starttls_reply = c->result.starttls_reply;
	free(c->result.rcpts);
	memset(&c->result, 0, sizeof c->result);
	c->result.failure = CLIENT_OK;
	c->result.used_mech = mech;
	c->result.starttls_reply = starttls_reply;
	if (env->nrcpts)
		c->result.rcpts = xcalloc(env->nrcpts, sizeof *c->result.rcpts);
	c->env = env;
	c->pipelined = c->data_sent = c->mail_ok = c->go = c->body_sent = false;
	c->rcpt_idx = 0;
	c->action = CLIENT_ACT_NONE;
	start_mail(c);
	return true;
}

void
smtp_client_quit(struct smtp_client *c)
{
	if (c->phase == P_IDLE)
		finish(c, true);
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
smtp_client_mech_name(unsigned mech)
{
	switch (mech) {
	case CLIENT_MECH_XOAUTH2:
		return "XOAUTH2";
	case CLIENT_MECH_OAUTHBEARER:
		return "OAUTHBEARER";
	case CLIENT_MECH_PLAIN:
		return "PLAIN";
	case CLIENT_MECH_LOGIN:
		return "LOGIN";
	default:
		return "NONE";
	}
}

const char *
smtp_client_failure_name(enum client_failure f)
{
	static const char *const names[] = {
	    "ok",	    "no-greeting",   "ehlo-failed",	 "starttls-missing",
	    "tls-failed",   "auth-missing",  "auth-failed",	 "sender-rejected",
	    "relay-denied", "rcpt-rejected", "data-rejected",	 "tempfail",
	    "protocol",	    "size-exceeded", "utf8-unsupported", "8bit-unsupported",
	};
	if ((size_t)f >= sizeof names / sizeof names[0])
		return "unknown";
	return names[f];
}
