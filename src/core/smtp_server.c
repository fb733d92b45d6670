/*
 * smtp_server: one server session as a state machine (see smtp_server.h):
 * the command table, the dispatcher, the reply path and the life cycle.
 * AUTH is in smtp_server_auth.c, the message (DATA, BDAT) in
 * smtp_server_data.c; smtp_server_internal.h is what the three share.
 *
 * Invariants:
 * - The phase enum holds only where the transaction is; TLS, AUTH and
 *   EHLO-vs-HELO are flags beside it.
 * - Every command goes through dispatch(), which applies the phase mask and
 *   the policy gates from cmd_table in one order: phase (503), TLS (530),
 *   AUTH (530), no-arguments (501). Handlers run only after that.
 * - Every reply goes through smtp_server_reply() (or its _str and _num
 *   forms), the one place that counts errors, logs refusals and closes the
 *   session after too many of them. Only protocol errors count (replies.h,
 *   enum reply_kind).
 * - Message bytes go to the spool hook as they are decoded, never held.
 */
#include "smtp_server_internal.h"

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

#define P(x) (1u << (x))
#define P_COMMANDS (P(P_GREETING) | P(P_READY) | P(P_MAIL) | P(P_RCPT) | P(P_BDAT_OPEN))

static const char *const phase_names[] = {
    "greeting", "ready", "mail", "rcpt", "bdat-open", "data", "bdat", "auth", "closed",
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

/* ---- replies and logging: the one place each is written ---- */

void
smtp_server_log(struct smtp_server *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (s->hooks->log)
		s->hooks->log(s->hooks->ctx, line);
}

void
smtp_server_close(struct smtp_server *s)
{
	smtp_server_enter(s, P_CLOSED);
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
	smtp_server_log(s, "event=reject phase=%s reply=\"%s\"", phase_names[s->phase], text);
	if (reply_def(id)->code == 421 || s->phase == P_CLOSED || !counts_as_error(s, id))
		return;
	if (++s->errors >= s->cfg->max_errors) {
		reply_append(&s->out, R_TOO_MANY_ERRORS);
		smtp_server_log(s, "event=disconnect reason=too_many_errors errors=%u", s->errors);
		smtp_server_close(s);
	}
}

void
smtp_server_reply(struct smtp_server *s, enum reply_id id)
{
	size_t start = s->out.len;
	reply_append(&s->out, id);
	replied(s, id, start);
}

void
smtp_server_reply_str(struct smtp_server *s, enum reply_id id, const char *arg)
{
	size_t start = s->out.len;
	reply_append_str(&s->out, id, arg);
	replied(s, id, start);
}

void
smtp_server_reply_num(struct smtp_server *s, enum reply_id id, unsigned long long arg)
{
	size_t start = s->out.len;
	reply_append_num(&s->out, id, arg);
	replied(s, id, start);
}

void
smtp_server_enter(struct smtp_server *s, enum smtp_phase phase)
{
	s->phase = phase;
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
		smtp_server_reply(s, R_EHLO_NEEDS_ARG);
		return false;
	}
	/* Some clients add text after the name; the name is the first word. */
	struct strv name = args;
	const char *sp = memchr(args.p, ' ', args.len);
	if (sp)
		name.len = (size_t)(sp - args.p);
	if (!helo_arg_ok(name)) {
		smtp_server_reply(s, R_EHLO_BAD_ARG);
		return false;
	}
	smtp_server_tx_reset(s);
	str_copy_n(s->helo, sizeof s->helo, name.p, name.len);
	smtp_server_enter(s, P_READY);
	return true;
}

static void
cmd_helo(struct smtp_server *s, struct strv args)
{
	if (!helo_common(s, args))
		return;
	s->esmtp = false;
	smtp_server_log(s, "event=helo helo=%s", s->helo);
	smtp_server_reply_str(s, R_HELO, s->cfg->hostname);
}

static void
cmd_ehlo(struct smtp_server *s, struct strv args)
{
	if (!helo_common(s, args))
		return;
	s->esmtp = true;
	smtp_server_log(s, "event=ehlo helo=%s tls=%s", s->helo, s->tls ? "yes" : "no");

	const struct policy *pol = s->cfg->policy;
	char size[48];
	snprintf(size, sizeof size, "SIZE %" PRIu64, s->cfg->max_message_size);
	const char *caps[14];
	size_t n = 0;
	caps[n++] = "PIPELINING";
	caps[n++] = size;
	caps[n++] = "8BITMIME";
	caps[n++] = "ENHANCEDSTATUSCODES";
	caps[n++] = "SMTPUTF8";
	caps[n++] = "CHUNKING";
	caps[n++] = "DSN";
	/* RFC 8689 2: only where the session is already TLS (after STARTTLS, on 465). */
	if (s->tls)
		caps[n++] = "REQUIRETLS";
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
		smtp_server_reply(s, R_TLS_ACTIVE);
		return;
	}
	if (!s->cfg->policy->offer_starttls || !s->cfg->tls_available) {
		smtp_server_reply(s, R_TLS_UNAVAILABLE);
		return;
	}
	smtp_server_reply(s, R_STARTTLS_GO);
	smtp_server_log(s, "event=starttls");
	s->action = SMTP_ACT_START_TLS;
}

/* Record the addresses in the log safely: they come from the client. */
const char *
smtp_server_addr_for_log(const struct smtp_addr *a, char *out, size_t size)
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
		smtp_server_reply_str(s, R_ARG_SYNTAX,
				      "use MAIL FROM:<address> or RCPT TO:<address>");
		break;
	case PARAM_ADDR:
		if (ae == ADDR_NEED_UTF8)
			smtp_server_reply(s, R_NEED_SMTPUTF8);
		else
			smtp_server_reply_str(s, R_BAD_ADDRESS, smtp_addr_err_text(ae));
		break;
	case PARAM_UNKNOWN:
		smtp_server_reply(s, R_PARAM_UNKNOWN);
		break;
	case PARAM_BAD_VALUE:
		smtp_server_reply_str(s, R_PARAM_VALUE, "a parameter has an invalid value");
		break;
	case PARAM_DUPLICATE:
		smtp_server_reply_str(s, R_PARAM_VALUE, "a parameter is given twice");
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
		smtp_server_reply(s, R_BINARYMIME);
		return;
	}
	if (m.requiretls && !s->tls) {
		smtp_server_reply(s, R_REQUIRETLS_NO_TLS);
		return;
	}
	if (m.has_size && m.size > s->cfg->max_message_size) {
		smtp_server_reply_num(s, R_SIZE_EXCEEDED,
				      (unsigned long long)s->cfg->max_message_size);
		return;
	}
	if (s->authed && !smtp_sender_owned(s->auth_user, &m.from)) {
		smtp_server_reply_str(s, R_SENDER_NOT_OWNED, s->auth_user);
		return;
	}
	smtp_server_tx_reset(s);
	s->mail = m;
	char from[600];
	smtp_server_log(s, "event=mail from=<%s> size=%" PRIu64 "%s%s",
			smtp_server_addr_for_log(&m.from, from, sizeof from), m.size,
			m.smtputf8 ? " smtputf8=yes" : "", m.requiretls ? " requiretls=yes" : "");
	smtp_server_enter(s, P_MAIL);
	smtp_server_reply(s, R_MAIL_OK);
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
		smtp_server_reply(s, R_TOO_MANY_RCPTS);
		return;
	}
	char to[600];
	smtp_server_addr_for_log(&r.to, to, sizeof to);
	if (s->hooks->is_local_domain(s->hooks->ctx, r.to.domain)) {
		enum smtp_local_rcpt v =
		    s->hooks->is_local_user(s->hooks->ctx, r.to.local, r.to.domain);
		if (v == SMTP_RCPT_LOOP) {
			smtp_server_reply_str(s, R_RCPT_LOOP, to);
			return;
		}
		if (!is_postmaster(&r.to) && v != SMTP_RCPT_OK) {
			smtp_server_reply_str(s, R_NO_SUCH_USER, to);
			return;
		}
	} else if (!s->authed) {
		smtp_server_reply(s, R_RELAY_DENIED);
		return;
	}
	if (s->nrcpts == s->rcpt_cap) {
		s->rcpt_cap = s->rcpt_cap ? s->rcpt_cap * 2 : 8;
		s->rcpts = xrealloc(s->rcpts, s->rcpt_cap * sizeof *s->rcpts);
	}
	s->rcpts[s->nrcpts++] = r;
	smtp_server_log(s, "event=rcpt to=<%s>", to);
	smtp_server_enter(s, P_RCPT);
	smtp_server_reply(s, R_RCPT_OK);
}

static void
cmd_rset(struct smtp_server *s, struct strv args)
{
	(void)args;
	smtp_server_tx_reset(s);
	smtp_server_reply(s, R_ACK);
}

static void
cmd_noop(struct smtp_server *s, struct strv args)
{
	(void)args;
	smtp_server_reply(s, R_ACK);
}

static void
cmd_quit(struct smtp_server *s, struct strv args)
{
	(void)args;
	smtp_server_tx_reset(s);
	smtp_server_reply_str(s, R_QUIT, s->cfg->hostname);
	smtp_server_close(s);
}

static void
cmd_help(struct smtp_server *s, struct strv args)
{
	(void)args;
	smtp_server_reply(s, R_HELP);
}

static void
cmd_vrfy(struct smtp_server *s, struct strv args)
{
	(void)args;
	smtp_server_reply(s, R_VRFY);
}

static void
cmd_expn(struct smtp_server *s, struct strv args)
{
	(void)args;
	smtp_server_reply(s, R_EXPN);
}

/* ---- the dispatcher ---- */

/* clang-format off */
static const struct cmd_def cmd_table[] = {
	{SMTP_V_HELO,     P_COMMANDS,              0,            cmd_helo},
	{SMTP_V_EHLO,     P_COMMANDS,              0,            cmd_ehlo},
	{SMTP_V_STARTTLS, P(P_READY),              F_NO_ARGS,    cmd_starttls},
	{SMTP_V_AUTH,     P(P_READY),              F_NEEDS_TLS,  smtp_server_cmd_auth},
	{SMTP_V_MAIL,     P(P_READY),              F_NEEDS_AUTH, cmd_mail},
	{SMTP_V_RCPT,     P(P_MAIL) | P(P_RCPT),   0,            cmd_rcpt},
	{SMTP_V_DATA,     P(P_RCPT),               F_NO_ARGS,    smtp_server_cmd_data},
	{SMTP_V_BDAT,     P_COMMANDS,              0,            smtp_server_cmd_bdat},
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
		smtp_server_reply(s, R_NEED_HELO);
		return;
	}
	switch (verb) {
	case SMTP_V_MAIL:
		smtp_server_reply(s, s->phase == P_BDAT_OPEN ? R_BDAT_AFTER_DATA : R_NESTED_MAIL);
		break;
	case SMTP_V_RCPT:
		if (s->phase == P_BDAT_OPEN)
			smtp_server_reply_str(s, R_BAD_SEQUENCE, "RCPT");
		else
			smtp_server_reply(s, R_NEED_MAIL);
		break;
	case SMTP_V_DATA:
		smtp_server_reply(s, s->phase == P_MAIL	       ? R_NO_VALID_RCPT
				     : s->phase == P_BDAT_OPEN ? R_DATA_AFTER_BDAT
							       : R_NEED_MAIL);
		break;
	case SMTP_V_AUTH:
		smtp_server_reply(s, R_AUTH_IN_TX);
		break;
	default:
		smtp_server_reply_str(s, R_BAD_SEQUENCE, smtp_verb_name(verb));
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
			smtp_server_reply(s, R_UNKNOWN_CMD_HIDDEN);
			return;
		}
		char verb[64];
		str_escape(verb, sizeof verb, cmd.verb_text.p, cmd.verb_text.len);
		smtp_server_reply_str(s, R_UNKNOWN_CMD, verb);
		return;
	}
	const struct policy *pol = s->cfg->policy;
	if (!(def->phases & P(s->phase))) {
		reply_wrong_phase(s, cmd.verb);
		return;
	}
	if ((def->flags & F_NEEDS_TLS) && pol->offer_auth && pol->auth_needs_tls && !s->tls) {
		smtp_server_reply(s, R_AUTH_NEEDS_TLS);
		return;
	}
	if ((def->flags & F_NEEDS_AUTH) && pol->mail_needs_auth && !s->authed) {
		smtp_server_reply(s, R_MAIL_NEEDS_AUTH);
		return;
	}
	if ((def->flags & F_NO_ARGS) && cmd.args.len > 0) {
		smtp_server_reply_str(s, R_NO_ARGS, smtp_verb_name(cmd.verb));
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
		smtp_server_reply(s, err == LINE_TOO_LONG ? R_LINE_TOO_LONG
				     : err == LINE_NUL	  ? R_CMD_NUL
							  : R_CMD_BARE_LF);
		smtp_server_log(s, "event=disconnect reason=bad_command_line error=%d", (int)err);
		smtp_server_close(s);
		return len;
	}
	struct strv line = {p, line_len};
	s->input_follows = used < len;
	if (s->phase == P_AUTH) {
		smtp_server_auth_input(s, line);
		return used;
	}
	if (line_len + 2 > CMD_LINE_MAX && !strv_prefix_ci(line, "AUTH ")) {
		smtp_server_reply(s, R_LINE_TOO_LONG);
		return used;
	}
	dispatch(s, line);
	return used;
}

size_t
smtp_server_feed(struct smtp_server *s, const char *p, size_t len)
{
	size_t used = 0;
	while (used < len && s->action == SMTP_ACT_NONE && s->phase != P_CLOSED) {
		size_t n;
		if (s->phase == P_DATA)
			n = smtp_server_feed_data(s, p + used, len - used);
		else if (s->phase == P_BDAT)
			n = smtp_server_feed_bdat(s, p + used, len - used);
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
	smtp_server_enter(s, P_GREETING);
	return s;
}

void
smtp_server_free(struct smtp_server **sp)
{
	struct smtp_server *s = *sp;
	if (s == NULL)
		return;
	smtp_server_spool_drop(s);
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
	smtp_server_reply_str(s, R_GREETING, s->cfg->hostname);
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
		smtp_server_close(s);
		return;
	}
	/* RFC 3207 4.2: forget everything learnt before the handshake. */
	smtp_server_tx_reset(s);
	s->tls = true;
	s->esmtp = false;
	s->helo[0] = '\0';
	str_copy(s->tls_version, sizeof s->tls_version, version ? version : "TLS");
	str_copy(s->tls_cipher, sizeof s->tls_cipher, cipher ? cipher : "unknown");
	smtp_server_enter(s, P_GREETING);
	smtp_server_log(s, "event=tls version=%s cipher=%s", s->tls_version, s->tls_cipher);
}

void
smtp_server_timeout(struct smtp_server *s)
{
	smtp_server_tx_reset(s);
	smtp_server_reply_str(s, R_TIMEOUT, s->cfg->hostname);
	smtp_server_log(s, "event=disconnect reason=timeout phase=%s", phase_names[s->phase]);
	smtp_server_close(s);
}

void
smtp_server_shutdown(struct smtp_server *s)
{
	smtp_server_tx_reset(s);
	smtp_server_reply_str(s, R_SHUTDOWN, s->cfg->hostname);
	smtp_server_close(s);
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
