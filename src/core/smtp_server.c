/*
 * smtp_server: one server session as a state machine (see smtp_server.h).
 *
 * Invariants:
 * - The phase enum holds only where the transaction is; TLS, AUTH and
 *   EHLO-vs-HELO are flags beside it.
 * - Every command goes through dispatch(), which applies the phase mask and
 *   the policy gates from cmd_table in one order: phase (503), TLS (530),
 *   AUTH (530), no-arguments (501). Handlers run only after that.
 * - Every reply goes through reply(), the one place that counts errors,
 *   logs refusals and closes the session after too many of them. Only
 *   protocol errors count (replies.h, enum reply_kind).
 * - Message bytes go to the spool hook as they are decoded, never held.
 */
#include "smtp_server.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>

#include "replies.h"
#include "smtp_data.h"
#include "smtp_line.h"
#include "str.h"
#include "xmalloc.h"

/* RFC 5321 4.5.3.1.4: 512 octets for a command line, CRLF included. */
#define CMD_LINE_MAX 512
/* RFC 4954 4: AUTH lines may be up to 12288 octets. Past this we give up. */
#define AUTH_LINE_MAX 12288
#define HELO_MAX 255

enum smtp_phase {
	P_GREETING,  /* no EHLO/HELO yet (also right after STARTTLS) */
	P_READY,     /* EHLO done, no transaction */
	P_MAIL,	     /* MAIL accepted, no RCPT yet */
	P_RCPT,	     /* at least one RCPT accepted */
	P_BDAT_OPEN, /* between two BDAT chunks */
	P_DATA,	     /* message bytes after 354 */
	P_BDAT,	     /* inside a BDAT chunk */
	P_AUTH,	     /* waiting for a SASL continuation line */
	P_CLOSED,
};
#define P(x) (1u << (x))
#define P_COMMANDS (P(P_GREETING) | P(P_READY) | P(P_MAIL) | P(P_RCPT) | P(P_BDAT_OPEN))

static const char *const phase_names[] = {
    "greeting", "ready", "mail", "rcpt", "bdat-open", "data", "bdat", "auth", "closed",
};

enum auth_step { AUTH_PLAIN, AUTH_LOGIN_USER, AUTH_LOGIN_PASS };

struct smtp_server {
	const struct smtp_server_config *cfg;
	const struct smtp_server_hooks *hooks;
	enum smtp_phase phase;
	enum smtp_action action;

	bool tls;
	bool esmtp;
	bool authed;
	char client_addr[64];
	char helo[HELO_MAX + 1];
	char auth_user[SASL_FIELD_MAX + 1];
	char tls_version[32];
	char tls_cipher[96];

	/* The transaction. */
	struct smtp_mail_args mail;
	struct smtp_rcpt_args *rcpts;
	size_t nrcpts;
	size_t rcpt_cap;
	bool spooling;	   /* spool_begin succeeded, not yet committed/aborted */
	bool spool_failed; /* a spool_write failed */
	char qid[64];
	struct smtp_data data;
	char *scratch; /* decoded DATA bytes on their way to the spool */
	size_t scratch_cap;
	uint64_t bdat_left; /* octets of the current chunk still to come */
	bool bdat_last;
	bool bdat_discard;	     /* the chunk was refused: read and drop it */
	enum reply_id bdat_refusal;  /* the reply after a dropped chunk (R_COUNT: none) */
	enum smtp_phase bdat_resume; /* where a dropped chunk returns to */

	/* AUTH in progress. */
	enum auth_step auth_step;
	const char *auth_mech;
	struct sasl_creds creds;
	unsigned auth_failures;
	bool auth_seen; /* an AUTH command came, accepted or not */

	unsigned errors;
	unsigned rcpt_refusals; /* refused RCPTs this session (see counts_as_error) */
	bool input_follows;	/* bytes were waiting behind the current line */
	struct buf out;
};

struct cmd_def {
	enum smtp_verb verb;
	unsigned phases; /* where the command is legal */
	unsigned flags;
	void (*fn)(struct smtp_server *s, struct strv args);
};

enum {
	F_NEEDS_TLS = 1,  /* applies when the policy says auth_needs_tls */
	F_NEEDS_AUTH = 2, /* applies when the policy says mail_needs_auth */
	F_NO_ARGS = 4,
};

static void enter(struct smtp_server *s, enum smtp_phase phase);

/* ---- replies and logging: the one place each is written ---- */

static void slog(struct smtp_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
slog(struct smtp_server *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (s->hooks->log)
		s->hooks->log(s->hooks->ctx, line);
}

static void
close_session(struct smtp_server *s)
{
	enter(s, P_CLOSED);
	s->action = SMTP_ACT_CLOSE;
}

/*
 * Does this refusal count toward max_errors? Protocol mistakes do. Refused
 * recipients (unknown, relay, over the recipient limit) are the normal
 * course of mail and must not cost the accepted recipients their message,
 * so they count only past an allowance of max_recipients per session (as
 * Postfix's smtpd_recipient_overshoot_limit): that still ends a dictionary
 * attack, after max_recipients + max_errors guesses.
 */
static bool
counts_as_error(struct smtp_server *s, enum reply_id id)
{
	switch (reply_kind(id)) {
	case RK_PROTOCOL:
		return true;
	case RK_RCPT_VERDICT:
		return ++s->rcpt_refusals > s->cfg->max_recipients;
	case RK_SERVER:
		return false;
	}
	return true;
}

/* Log a refusal just appended at out[start..] and count it toward max_errors. */
static void
replied(struct smtp_server *s, enum reply_id id, size_t start)
{
	if (reply_def(id)->code < 400)
		return;
	char text[300];
	size_t n = s->out.len - start;
	str_escape(text, sizeof text, s->out.data + start, n >= 2 ? n - 2 : n);
	slog(s, "event=reject phase=%s reply=\"%s\"", phase_names[s->phase], text);
	if (reply_def(id)->code == 421 || s->phase == P_CLOSED || !counts_as_error(s, id))
		return;
	if (++s->errors >= s->cfg->max_errors) {
		reply_append(&s->out, R_TOO_MANY_ERRORS);
		slog(s, "event=disconnect reason=too_many_errors errors=%u", s->errors);
		close_session(s);
	}
}

/* One per reply signature (replies.h), so the argument's type is checked. */
static void
reply(struct smtp_server *s, enum reply_id id)
{
	size_t start = s->out.len;
	reply_append(&s->out, id);
	replied(s, id, start);
}

static void
reply_str(struct smtp_server *s, enum reply_id id, const char *arg)
{
	size_t start = s->out.len;
	reply_append_str(&s->out, id, arg);
	replied(s, id, start);
}

static void
reply_num(struct smtp_server *s, enum reply_id id, unsigned long long arg)
{
	size_t start = s->out.len;
	reply_append_num(&s->out, id, arg);
	replied(s, id, start);
}

static void
enter(struct smtp_server *s, enum smtp_phase phase)
{
	s->phase = phase;
}

/* ---- the transaction ---- */

static void
spool_drop(struct smtp_server *s)
{
	if (s->spooling && s->hooks->spool_abort)
		s->hooks->spool_abort(s->hooks->ctx);
	s->spooling = false;
}

static void
tx_reset(struct smtp_server *s)
{
	spool_drop(s);
	memset(&s->mail, 0, sizeof s->mail);
	s->nrcpts = 0;
	s->spool_failed = false;
	s->qid[0] = '\0';
	s->bdat_left = 0;
	s->bdat_last = false;
	s->bdat_discard = false;
	if (s->phase != P_GREETING && s->phase != P_CLOSED)
		enter(s, P_READY);
}

static void
spool_write(struct smtp_server *s, const char *p, size_t n)
{
	if (!s->spooling || s->spool_failed || n == 0)
		return;
	if (s->hooks->spool_write(s->hooks->ctx, p, n) < 0)
		s->spool_failed = true;
}

/* RFC 3848 protocol names for the "with" clause of Received:. */
static const char *
received_protocol(const struct smtp_server *s)
{
	static const char *const names[2][2][2] = {
	    {{"ESMTP", "ESMTPA"}, {"ESMTPS", "ESMTPSA"}},
	    {{"UTF8SMTP", "UTF8SMTPA"}, {"UTF8SMTPS", "UTF8SMTPSA"}},
	};
	if (!s->esmtp)
		return "SMTP";
	return names[s->mail.smtputf8][s->tls][s->authed];
}

static void
write_received(struct smtp_server *s)
{
	struct buf h;
	char date[64] = "";
	buf_init(&h, 4096);
	s->hooks->date(s->hooks->ctx, date, sizeof date);
	buf_printf(&h, "Received: from %s ([%s])\r\n\tby %s (mailport) with %s id %s", s->helo,
		   s->client_addr, s->cfg->hostname, received_protocol(s), s->qid);
	if (s->tls)
		buf_printf(&h, "\r\n\t(using %s with cipher %s)", s->tls_version, s->tls_cipher);
	if (s->nrcpts == 1) {
		char to[SMTP_PATH_MAX + 1];
		smtp_addr_format(&s->rcpts[0].to, to, sizeof to);
		buf_printf(&h, "\r\n\tfor <%s>", to);
	}
	buf_printf(&h, ";\r\n\t%s\r\n", date);
	spool_write(s, h.data, h.len);
	buf_free(&h);
}

/* Open the spool file and write our Received: header. false: replied 451/452. */
static bool
spool_start(struct smtp_server *s)
{
	struct smtp_envelope env = {
	    .mail = &s->mail,
	    .rcpts = s->rcpts,
	    .nrcpts = s->nrcpts,
	    .helo = s->helo,
	    .client_addr = s->client_addr,
	    .auth_user = s->authed ? s->auth_user : NULL,
	};
	bool no_space = false;
	if (s->hooks->spool_begin(s->hooks->ctx, &env, s->qid, sizeof s->qid, &no_space) < 0) {
		reply(s, no_space ? R_SPOOL_FULL : R_SPOOL_FAIL);
		return false;
	}
	s->spooling = true;
	s->spool_failed = false;
	smtp_data_init(&s->data);
	write_received(s);
	return true;
}

/* The message is complete: refuse it with the right reply, or commit it. */
static void
message_end(struct smtp_server *s)
{
	enum reply_id refusal = R_COUNT;
	if (s->data.flags & DATA_NUL)
		refusal = R_DATA_NUL;
	else if (s->data.flags & (DATA_BARE_CR | DATA_BARE_LF))
		refusal = R_DATA_BARE_LF;
	else if (s->data.flags & DATA_HUGE_LINE)
		refusal = R_DATA_LONG_LINE;
	else if (s->data.size > s->cfg->max_message_size)
		refusal = R_SIZE_EXCEEDED;
	else if (s->spool_failed)
		refusal = R_SPOOL_FAIL;
	if (refusal == R_COUNT) {
		s->action = SMTP_ACT_COMMIT;
		return;
	}
	slog(s, "id=%s event=refused size=%" PRIu64 " flags=%u", s->qid, s->data.size,
	     s->data.flags);
	spool_drop(s);
	tx_reset(s);
	if (refusal == R_SIZE_EXCEEDED)
		reply_num(s, refusal, (unsigned long long)s->cfg->max_message_size);
	else
		reply(s, refusal);
}

/* Is the message already refused, so its bytes need not be stored? */
static bool
message_doomed(const struct smtp_server *s)
{
	return (s->data.flags & DATA_REFUSED) || s->data.size > s->cfg->max_message_size ||
	       s->spool_failed;
}

/* ---- command handlers ---- */

static bool
helo_arg_ok(struct strv a)
{
	if (a.len == 0 || a.len > HELO_MAX)
		return false;
	for (size_t i = 0; i < a.len; i++) {
		unsigned char c = (unsigned char)a.p[i];
		if (c <= 0x20 || c >= 0x7f || c == '(' || c == ')' || c == '\\')
			return false;
	}
	return true;
}

static bool
helo_common(struct smtp_server *s, struct strv args)
{
	if (args.len == 0) {
		reply(s, R_EHLO_NEEDS_ARG);
		return false;
	}
	/* Some clients add text after the name; the name is the first word. */
	struct strv name = args;
	const char *sp = memchr(args.p, ' ', args.len);
	if (sp)
		name.len = (size_t)(sp - args.p);
	if (!helo_arg_ok(name)) {
		reply(s, R_EHLO_BAD_ARG);
		return false;
	}
	tx_reset(s);
	str_copy_n(s->helo, sizeof s->helo, name.p, name.len);
	enter(s, P_READY);
	return true;
}

static void
cmd_helo(struct smtp_server *s, struct strv args)
{
	if (!helo_common(s, args))
		return;
	s->esmtp = false;
	slog(s, "event=helo helo=%s", s->helo);
	reply_str(s, R_HELO, s->cfg->hostname);
}

static void
cmd_ehlo(struct smtp_server *s, struct strv args)
{
	if (!helo_common(s, args))
		return;
	s->esmtp = true;
	slog(s, "event=ehlo helo=%s tls=%s", s->helo, s->tls ? "yes" : "no");

	const struct policy *pol = s->cfg->policy;
	char size[48];
	snprintf(size, sizeof size, "SIZE %" PRIu64, s->cfg->max_message_size);
	const char *caps[12];
	size_t n = 0;
	caps[n++] = "PIPELINING";
	caps[n++] = size;
	caps[n++] = "8BITMIME";
	caps[n++] = "ENHANCEDSTATUSCODES";
	caps[n++] = "SMTPUTF8";
	caps[n++] = "CHUNKING";
	caps[n++] = "DSN";
	if (pol->offer_starttls && !s->tls && s->cfg->tls_available)
		caps[n++] = "STARTTLS";
	if (pol->offer_auth && (s->tls || !pol->auth_needs_tls))
		caps[n++] = "AUTH PLAIN LOGIN";
	caps[n++] = "HELP";
	buf_printf(&s->out, "250-%s greets %s\r\n", s->cfg->hostname, s->helo);
	for (size_t i = 0; i < n; i++)
		buf_printf(&s->out, "250%c%s\r\n", i + 1 == n ? ' ' : '-', caps[i]);
}

static void
cmd_starttls(struct smtp_server *s, struct strv args)
{
	(void)args;
	if (s->tls) {
		reply(s, R_TLS_ACTIVE);
		return;
	}
	if (!s->cfg->policy->offer_starttls || !s->cfg->tls_available) {
		reply(s, R_TLS_UNAVAILABLE);
		return;
	}
	reply(s, R_STARTTLS_GO);
	slog(s, "event=starttls");
	s->action = SMTP_ACT_START_TLS;
}

/* Record the addresses in the log safely: they come from the client. */
static const char *
addr_for_log(const struct smtp_addr *a, char *out, size_t size)
{
	char raw[SMTP_PATH_MAX + 1];
	smtp_addr_format(a, raw, sizeof raw);
	return str_escape(out, size, raw, strlen(raw));
}

static bool
param_error_reply(struct smtp_server *s, enum param_err pe, enum addr_err ae)
{
	switch (pe) {
	case PARAM_OK:
		return false;
	case PARAM_SYNTAX:
		reply_str(s, R_ARG_SYNTAX, "use MAIL FROM:<address> or RCPT TO:<address>");
		break;
	case PARAM_ADDR:
		if (ae == ADDR_NEED_UTF8)
			reply(s, R_NEED_SMTPUTF8);
		else
			reply_str(s, R_BAD_ADDRESS, smtp_addr_err_text(ae));
		break;
	case PARAM_UNKNOWN:
		reply(s, R_PARAM_UNKNOWN);
		break;
	case PARAM_BAD_VALUE:
		reply_str(s, R_PARAM_VALUE, "a parameter has an invalid value");
		break;
	case PARAM_DUPLICATE:
		reply_str(s, R_PARAM_VALUE, "a parameter is given twice");
		break;
	}
	return true;
}

static void
cmd_mail(struct smtp_server *s, struct strv args)
{
	struct smtp_mail_args m;
	enum addr_err ae = ADDR_OK;
	enum param_err pe = smtp_cmd_parse_mail(args, &m, &ae);
	if (param_error_reply(s, pe, ae))
		return;
	if (m.body == SMTP_BODY_BINARYMIME) {
		reply(s, R_BINARYMIME);
		return;
	}
	if (m.has_size && m.size > s->cfg->max_message_size) {
		reply_num(s, R_SIZE_EXCEEDED, (unsigned long long)s->cfg->max_message_size);
		return;
	}
	if (s->authed && !smtp_sender_owned(s->auth_user, &m.from)) {
		reply_str(s, R_SENDER_NOT_OWNED, s->auth_user);
		return;
	}
	tx_reset(s);
	s->mail = m;
	char from[600];
	slog(s, "event=mail from=<%s> size=%" PRIu64 "%s", addr_for_log(&m.from, from, sizeof from),
	     m.size, m.smtputf8 ? " smtputf8=yes" : "");
	enter(s, P_MAIL);
	reply(s, R_MAIL_OK);
}

/* RFC 5321 4.5.1: every domain must accept mail for its postmaster. */
static bool
is_postmaster(const struct smtp_addr *a)
{
	return str_eq_ci(a->local, "postmaster");
}

/* RFC 5321 4.1.1.3: "<Postmaster>" without a domain must be accepted. */
static bool
is_bare_postmaster(struct strv args, const char *domain, struct smtp_rcpt_args *r)
{
	if (!strv_eq_ci(args, "TO:<postmaster>") || domain == NULL || domain[0] == '\0')
		return false;
	memset(r, 0, sizeof *r);
	str_copy(r->to.local, sizeof r->to.local, "postmaster");
	str_copy(r->to.domain, sizeof r->to.domain, domain);
	return true;
}

static void
cmd_rcpt(struct smtp_server *s, struct strv args)
{
	struct smtp_rcpt_args r;
	enum addr_err ae = ADDR_OK;
	enum param_err pe = PARAM_OK;
	if (!is_bare_postmaster(args, s->cfg->postmaster_domain, &r))
		pe = smtp_cmd_parse_rcpt(args, s->mail.smtputf8, &r, &ae);
	if (param_error_reply(s, pe, ae))
		return;
	if (s->nrcpts >= s->cfg->max_recipients) {
		reply(s, R_TOO_MANY_RCPTS);
		return;
	}
	char to[600];
	addr_for_log(&r.to, to, sizeof to);
	if (s->hooks->is_local_domain(s->hooks->ctx, r.to.domain)) {
		if (!is_postmaster(&r.to) &&
		    !s->hooks->is_local_user(s->hooks->ctx, r.to.local, r.to.domain)) {
			reply_str(s, R_NO_SUCH_USER, to);
			return;
		}
	} else if (!s->authed) {
		reply(s, R_RELAY_DENIED);
		return;
	}
	if (s->nrcpts == s->rcpt_cap) {
		s->rcpt_cap = s->rcpt_cap ? s->rcpt_cap * 2 : 8;
		s->rcpts = xrealloc(s->rcpts, s->rcpt_cap * sizeof *s->rcpts);
	}
	s->rcpts[s->nrcpts++] = r;
	slog(s, "event=rcpt to=<%s>", to);
	enter(s, P_RCPT);
	reply(s, R_RCPT_OK);
}

static void
cmd_data(struct smtp_server *s, struct strv args)
{
	(void)args;
	/* RFC 2920 3.1: DATA is the last command of a pipelined group. */
	if (s->input_follows) {
		reply(s, R_PIPELINE_SYNC);
		slog(s, "event=disconnect reason=pipelining_before_354");
		tx_reset(s);
		close_session(s);
		return;
	}
	if (!spool_start(s))
		return;
	enter(s, P_DATA);
	reply(s, R_DATA_GO);
}

static void bdat_chunk_end(struct smtp_server *s);

/* Start reading (or skipping) a BDAT chunk of size octets. */
static void
bdat_begin(struct smtp_server *s, uint64_t size, bool last, bool discard, enum reply_id why)
{
	s->bdat_left = size;
	s->bdat_last = last;
	s->bdat_discard = discard;
	s->bdat_refusal = why;
	s->bdat_resume = s->phase;
	enter(s, P_BDAT);
	/*
	 * RFC 3030 2: a chunk may be empty ("BDAT 0 LAST" ends a message). No
	 * byte will arrive to finish it, so it ends here; waiting for input
	 * would leave the client without its reply until it sent more.
	 */
	if (size == 0)
		bdat_chunk_end(s);
}

static void
cmd_bdat(struct smtp_server *s, struct strv args)
{
	uint64_t size;
	bool last;
	if (!smtp_cmd_parse_bdat(args, &size, &last)) {
		/* Without a size we cannot find the next command: give up. */
		reply(s, R_BDAT_SYNTAX);
		close_session(s);
		return;
	}
	if (s->phase != P_RCPT && s->phase != P_BDAT_OPEN) {
		enum reply_id why = s->phase == P_MAIL	     ? R_NO_VALID_RCPT
				    : s->phase == P_GREETING ? R_NEED_HELO
							     : R_NEED_MAIL;
		bdat_begin(s, size, last, true, why);
		return;
	}
	if (s->phase == P_RCPT && !spool_start(s)) {
		tx_reset(s);
		bdat_begin(s, size, last, true, R_COUNT); /* already replied */
		return;
	}
	bdat_begin(s, size, last, false, R_COUNT);
}

static void
cmd_rset(struct smtp_server *s, struct strv args)
{
	(void)args;
	tx_reset(s);
	reply(s, R_ACK);
}

static void
cmd_noop(struct smtp_server *s, struct strv args)
{
	(void)args;
	reply(s, R_ACK);
}

static void
cmd_quit(struct smtp_server *s, struct strv args)
{
	(void)args;
	tx_reset(s);
	reply_str(s, R_QUIT, s->cfg->hostname);
	close_session(s);
}

static void
cmd_help(struct smtp_server *s, struct strv args)
{
	(void)args;
	reply(s, R_HELP);
}

static void
cmd_vrfy(struct smtp_server *s, struct strv args)
{
	(void)args;
	reply(s, R_VRFY);
}

static void
cmd_expn(struct smtp_server *s, struct strv args)
{
	(void)args;
	reply(s, R_EXPN);
}

/* ---- AUTH (RFC 4954) ---- */

static void
auth_check(struct smtp_server *s)
{
	enter(s, P_READY);
	/* Proxy authorization is not offered: authzid must be empty or the user. */
	if (s->creds.authzid[0] && !str_eq_ci(s->creds.authzid, s->creds.user)) {
		smtp_server_auth_done(s, SMTP_AUTH_BAD);
		return;
	}
	s->action = SMTP_ACT_CHECK_AUTH;
}

static void
auth_sasl_error(struct smtp_server *s, enum sasl_err e)
{
	sasl_creds_wipe(&s->creds);
	enter(s, P_READY);
	if (e == SASL_CANCELLED)
		reply(s, R_AUTH_CANCELLED);
	else if (e == SASL_BAD_BASE64)
		reply(s, R_AUTH_BAD_B64);
	else
		smtp_server_auth_done(s, SMTP_AUTH_BAD);
}

/* One SASL response, from the AUTH line (initial response) or a continuation. */
static void
auth_step(struct smtp_server *s, struct strv resp)
{
	if (resp.len == 1 && resp.p[0] == '*') {
		auth_sasl_error(s, SASL_CANCELLED);
		return;
	}
	enum sasl_err e;
	switch (s->auth_step) {
	case AUTH_PLAIN:
		e = sasl_plain_decode(resp, &s->creds);
		if (e != SASL_OK)
			auth_sasl_error(s, e);
		else
			auth_check(s);
		return;
	case AUTH_LOGIN_USER:
		e = sasl_login_decode(resp, s->creds.user, sizeof s->creds.user);
		if (e != SASL_OK) {
			auth_sasl_error(s, e);
			return;
		}
		s->auth_step = AUTH_LOGIN_PASS;
		enter(s, P_AUTH);
		reply_str(s, R_AUTH_CHALLENGE, "UGFzc3dvcmQ6"); /* "Password:" */
		return;
	case AUTH_LOGIN_PASS:
		e = sasl_login_decode(resp, s->creds.password, sizeof s->creds.password);
		if (e != SASL_OK)
			auth_sasl_error(s, e);
		else
			auth_check(s);
		return;
	}
}

static void
cmd_auth(struct smtp_server *s, struct strv args)
{
	const struct policy *pol = s->cfg->policy;
	if (!pol->offer_auth) {
		reply(s, R_AUTH_NOT_HERE);
		return;
	}
	if (s->authed) {
		reply(s, R_AUTH_ALREADY);
		return;
	}
	struct strv mech = args, ir = {NULL, 0};
	const char *sp = memchr(args.p, ' ', args.len);
	if (sp) {
		mech.len = (size_t)(sp - args.p);
		ir = (struct strv){sp + 1, args.len - mech.len - 1};
	}
	memset(&s->creds, 0, sizeof s->creds);
	if (strv_eq_ci(mech, "PLAIN")) {
		s->auth_mech = "PLAIN";
		s->auth_step = AUTH_PLAIN;
	} else if (strv_eq_ci(mech, "LOGIN")) {
		s->auth_mech = "LOGIN";
		s->auth_step = AUTH_LOGIN_USER;
	} else {
		reply(s, R_AUTH_MECH);
		return;
	}
	/* "=" is an empty initial response (RFC 4954 4): same as none here. */
	if (ir.len > 0 && !(ir.len == 1 && ir.p[0] == '=')) {
		auth_step(s, ir);
		return;
	}
	enter(s, P_AUTH);
	reply_str(s, R_AUTH_CHALLENGE, s->auth_step == AUTH_PLAIN ? "" : "VXNlcm5hbWU6");
}

/* ---- the dispatcher ---- */

/* clang-format off */
static const struct cmd_def cmd_table[] = {
	{SMTP_V_HELO,     P_COMMANDS,              0,            cmd_helo},
	{SMTP_V_EHLO,     P_COMMANDS,              0,            cmd_ehlo},
	{SMTP_V_STARTTLS, P(P_READY),              F_NO_ARGS,    cmd_starttls},
	{SMTP_V_AUTH,     P(P_READY),              F_NEEDS_TLS,  cmd_auth},
	{SMTP_V_MAIL,     P(P_READY),              F_NEEDS_AUTH, cmd_mail},
	{SMTP_V_RCPT,     P(P_MAIL) | P(P_RCPT),   0,            cmd_rcpt},
	{SMTP_V_DATA,     P(P_RCPT),               F_NO_ARGS,    cmd_data},
	{SMTP_V_BDAT,     P_COMMANDS,              0,            cmd_bdat},
	{SMTP_V_RSET,     P_COMMANDS,              F_NO_ARGS,    cmd_rset},
	{SMTP_V_NOOP,     P_COMMANDS,              0,            cmd_noop},
	{SMTP_V_QUIT,     P_COMMANDS,              F_NO_ARGS,    cmd_quit},
	{SMTP_V_HELP,     P_COMMANDS,              0,            cmd_help},
	{SMTP_V_VRFY,     P_COMMANDS,              0,            cmd_vrfy},
	{SMTP_V_EXPN,     P_COMMANDS,              0,            cmd_expn},
};
/* clang-format on */

/* The reply for a command given in the wrong phase. */
static void
reply_wrong_phase(struct smtp_server *s, enum smtp_verb verb)
{
	if (s->phase == P_GREETING && verb != SMTP_V_STARTTLS) {
		reply(s, R_NEED_HELO);
		return;
	}
	switch (verb) {
	case SMTP_V_MAIL:
		reply(s, s->phase == P_BDAT_OPEN ? R_BDAT_AFTER_DATA : R_NESTED_MAIL);
		break;
	case SMTP_V_RCPT:
		if (s->phase == P_BDAT_OPEN)
			reply_str(s, R_BAD_SEQUENCE, "RCPT");
		else
			reply(s, R_NEED_MAIL);
		break;
	case SMTP_V_DATA:
		reply(s, s->phase == P_MAIL	   ? R_NO_VALID_RCPT
			 : s->phase == P_BDAT_OPEN ? R_DATA_AFTER_BDAT
						   : R_NEED_MAIL);
		break;
	case SMTP_V_AUTH:
		reply(s, R_AUTH_IN_TX);
		break;
	default:
		reply_str(s, R_BAD_SEQUENCE, smtp_verb_name(verb));
		break;
	}
}

static void
dispatch(struct smtp_server *s, struct strv line)
{
	struct smtp_cmd cmd;
	smtp_cmd_parse(line, &cmd);
	const struct cmd_def *def = NULL;
	for (size_t i = 0; i < sizeof cmd_table / sizeof cmd_table[0]; i++)
		if (cmd_table[i].verb == cmd.verb)
			def = &cmd_table[i];
	if (cmd.verb == SMTP_V_AUTH)
		s->auth_seen = true;
	if (def == NULL) {
		/*
		 * A client whose AUTH was refused may have pipelined its base64
		 * user name and password: they arrive here as commands. Such a
		 * line is neither echoed nor logged (the reply is logged).
		 */
		if (s->auth_seen || sasl_looks_like_response(line)) {
			reply(s, R_UNKNOWN_CMD_HIDDEN);
			return;
		}
		char verb[64];
		str_escape(verb, sizeof verb, cmd.verb_text.p, cmd.verb_text.len);
		reply_str(s, R_UNKNOWN_CMD, verb);
		return;
	}
	const struct policy *pol = s->cfg->policy;
	if (!(def->phases & P(s->phase))) {
		reply_wrong_phase(s, cmd.verb);
		return;
	}
	if ((def->flags & F_NEEDS_TLS) && pol->offer_auth && pol->auth_needs_tls && !s->tls) {
		reply(s, R_AUTH_NEEDS_TLS);
		return;
	}
	if ((def->flags & F_NEEDS_AUTH) && pol->mail_needs_auth && !s->authed) {
		reply(s, R_MAIL_NEEDS_AUTH);
		return;
	}
	if ((def->flags & F_NO_ARGS) && cmd.args.len > 0) {
		reply_str(s, R_NO_ARGS, smtp_verb_name(cmd.verb));
		return;
	}
	def->fn(s, cmd.args);
}

/* ---- input ---- */

/* One line in a command phase (or an AUTH continuation). 0: need more. */
static size_t
feed_line(struct smtp_server *s, const char *p, size_t len)
{
	size_t line_len, used;
	enum line_err err;
	enum parse_rc rc = smtp_line_next(p, len, AUTH_LINE_MAX, &line_len, &used, &err);
	if (rc == PARSE_MORE)
		return 0;
	if (rc == PARSE_ERR) {
		/* Past this we cannot tell where the next command starts. */
		reply(s, err == LINE_TOO_LONG ? R_LINE_TOO_LONG
			 : err == LINE_NUL    ? R_CMD_NUL
					      : R_CMD_BARE_LF);
		slog(s, "event=disconnect reason=bad_command_line error=%d", (int)err);
		close_session(s);
		return len;
	}
	struct strv line = {p, line_len};
	s->input_follows = used < len;
	if (s->phase == P_AUTH) {
		auth_step(s, line);
		return used;
	}
	if (line_len + 2 > CMD_LINE_MAX && !strv_prefix_ci(line, "AUTH ")) {
		reply(s, R_LINE_TOO_LONG);
		return used;
	}
	dispatch(s, line);
	return used;
}

static size_t
feed_data(struct smtp_server *s, const char *p, size_t len)
{
	size_t out_len, used;
	/* The decoder may release two held-back bytes on top of the input. */
	if (s->scratch_cap < len + 2) {
		s->scratch_cap = len + 2;
		s->scratch = xrealloc(s->scratch, s->scratch_cap);
	}
	enum parse_rc rc = smtp_data_decode(&s->data, p, len, s->scratch, &out_len, &used);
	if (!message_doomed(s))
		spool_write(s, s->scratch, out_len);
	if (rc == PARSE_DONE)
		message_end(s);
	return used;
}

/* The current chunk has all its octets: reply, or end the message. */
static void
bdat_chunk_end(struct smtp_server *s)
{
	if (s->bdat_discard) {
		enter(s, s->bdat_resume);
		if (s->bdat_refusal != R_COUNT)
			reply(s, s->bdat_refusal);
		s->bdat_discard = false;
		return;
	}
	if (s->bdat_last) {
		smtp_data_scan_end(&s->data); /* a CR ending the last chunk is bare */
		message_end(s);
		return;
	}
	if (message_doomed(s)) {
		/* Refuse now rather than read chunks we would throw away. */
		message_end(s);
		return;
	}
	enter(s, P_BDAT_OPEN);
	reply_num(s, R_BDAT_OK, (unsigned long long)s->data.size);
}

/* Octets of a chunk (bdat_left > 0: an empty chunk never waits for input). */
static size_t
feed_bdat(struct smtp_server *s, const char *p, size_t len)
{
	size_t n = len < s->bdat_left ? len : (size_t)s->bdat_left;
	if (!s->bdat_discard) {
		smtp_data_scan(&s->data, p, n);
		if (!message_doomed(s))
			spool_write(s, p, n);
	}
	s->bdat_left -= n;
	if (s->bdat_left == 0)
		bdat_chunk_end(s);
	return n;
}

size_t
smtp_server_feed(struct smtp_server *s, const char *p, size_t len)
{
	size_t used = 0;
	while (used < len && s->action == SMTP_ACT_NONE && s->phase != P_CLOSED) {
		size_t n;
		if (s->phase == P_DATA)
			n = feed_data(s, p + used, len - used);
		else if (s->phase == P_BDAT)
			n = feed_bdat(s, p + used, len - used);
		else
			n = feed_line(s, p + used, len - used);
		if (n == 0)
			break;
		used += n;
	}
	/* Nothing a client pipelined behind STARTTLS or QUIT is ever read. */
	if (s->action == SMTP_ACT_START_TLS || s->action == SMTP_ACT_CLOSE || s->phase == P_CLOSED)
		return len;
	return used;
}

/* ---- life cycle and results of actions ---- */

struct smtp_server *
smtp_server_new(const struct smtp_server_config *cfg, const struct smtp_server_hooks *hooks,
		const char *client_addr, bool tls_active)
{
	struct smtp_server *s = xcalloc(1, sizeof *s);
	s->cfg = cfg;
	s->hooks = hooks;
	s->tls = tls_active;
	str_copy(s->client_addr, sizeof s->client_addr, client_addr);
	buf_init(&s->out, 0);
	enter(s, P_GREETING);
	return s;
}

void
smtp_server_free(struct smtp_server **sp)
{
	struct smtp_server *s = *sp;
	if (s == NULL)
		return;
	spool_drop(s);
	sasl_creds_wipe(&s->creds);
	free(s->rcpts);
	buf_free(&s->out);
	free(s->scratch);
	free(s);
	*sp = NULL;
}

void
smtp_server_greet(struct smtp_server *s)
{
	reply_str(s, R_GREETING, s->cfg->hostname);
}

struct buf *
smtp_server_output(struct smtp_server *s)
{
	return &s->out;
}

enum smtp_action
smtp_server_action(const struct smtp_server *s)
{
	return s->action;
}

bool
smtp_server_in_data(const struct smtp_server *s)
{
	return s->phase == P_DATA || s->phase == P_BDAT;
}

void
smtp_server_tls_done(struct smtp_server *s, bool ok, const char *version, const char *cipher)
{
	s->action = SMTP_ACT_NONE;
	if (!ok) {
		close_session(s);
		return;
	}
	/* RFC 3207 4.2: forget everything learnt before the handshake. */
	tx_reset(s);
	s->tls = true;
	s->esmtp = false;
	s->helo[0] = '\0';
	str_copy(s->tls_version, sizeof s->tls_version, version ? version : "TLS");
	str_copy(s->tls_cipher, sizeof s->tls_cipher, cipher ? cipher : "unknown");
	enter(s, P_GREETING);
	slog(s, "event=tls version=%s cipher=%s", s->tls_version, s->tls_cipher);
}

const struct sasl_creds *
smtp_server_auth_creds(const struct smtp_server *s)
{
	return &s->creds;
}

unsigned
smtp_server_auth_failures(const struct smtp_server *s)
{
	return s->auth_failures;
}

void
smtp_server_auth_done(struct smtp_server *s, enum smtp_auth_result r)
{
	char user[600];
	str_escape(user, sizeof user, s->creds.user, strlen(s->creds.user));
	s->action = SMTP_ACT_NONE;
	enter(s, P_READY);
	switch (r) {
	case SMTP_AUTH_OK:
		s->authed = true;
		str_copy(s->auth_user, sizeof s->auth_user, s->creds.user);
		str_lower(s->auth_user);
		slog(s, "event=auth user=%s mech=%s", user, s->auth_mech);
		reply(s, R_AUTH_OK);
		break;
	case SMTP_AUTH_BAD:
		s->auth_failures++;
		slog(s, "event=auth_failed user=%s mech=%s failures=%u", user, s->auth_mech,
		     s->auth_failures);
		if (s->auth_failures >= s->cfg->max_auth_failures) {
			reply(s, R_AUTH_TOO_MANY);
			close_session(s);
		} else {
			reply(s, R_AUTH_FAILED);
		}
		break;
	case SMTP_AUTH_TEMPFAIL:
		reply(s, R_AUTH_TEMPFAIL);
		break;
	}
	sasl_creds_wipe(&s->creds);
}

void
smtp_server_commit_done(struct smtp_server *s, enum smtp_commit_result r)
{
	s->action = SMTP_ACT_NONE;
	s->spooling = false; /* committed or failed: the spool owns it now */
	if (r == SMTP_COMMIT_OK) {
		char from[600];
		slog(s, "id=%s event=accepted from=<%s> nrcpt=%zu size=%" PRIu64 "%s", s->qid,
		     addr_for_log(&s->mail.from, from, sizeof from), s->nrcpts, s->data.size,
		     s->data.flags & DATA_LONG_LINE ? " long_lines=yes" : "");
		reply_str(s, R_QUEUED, s->qid);
	} else {
		reply(s, r == SMTP_COMMIT_NO_SPACE ? R_SPOOL_FULL : R_SPOOL_FAIL);
	}
	tx_reset(s);
}

void
smtp_server_timeout(struct smtp_server *s)
{
	tx_reset(s);
	reply_str(s, R_TIMEOUT, s->cfg->hostname);
	slog(s, "event=disconnect reason=timeout phase=%s", phase_names[s->phase]);
	close_session(s);
}

void
smtp_server_shutdown(struct smtp_server *s)
{
	tx_reset(s);
	reply_str(s, R_SHUTDOWN, s->cfg->hostname);
	close_session(s);
}

bool
smtp_sender_owned(const char *user, const struct smtp_addr *from)
{
	if (from->is_null)
		return true; /* bounces and notifications carry no sender */
	const char *at = strrchr(user, '@');
	if (at == NULL)
		return false;
	size_t ulen = (size_t)(at - user);
	if (!str_eq_ci(at + 1, from->domain))
		return false;
	size_t flen = strcspn(from->local, "+");
	return flen == ulen && strncasecmp(from->local, user, ulen) == 0;
}
