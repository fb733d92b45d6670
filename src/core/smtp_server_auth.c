/*
 * smtp_server_auth: AUTH in a server session (RFC 4954; see
 * smtp_server_internal.h). PLAIN and LOGIN decode into the session's
 * credentials (smtp_sasl.c); the check itself is the caller's action
 * (SMTP_ACT_CHECK_AUTH), answered by smtp_server_auth_done(). Credentials
 * are wiped as soon as the verdict is in.
 */
#include <string.h>

#include "smtp_server_internal.h"

static void
auth_check(struct smtp_server *s)
{
	smtp_server_enter(s, P_READY);
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
	smtp_server_enter(s, P_READY);
	if (e == SASL_CANCELLED)
		smtp_server_reply(s, R_AUTH_CANCELLED);
	else if (e == SASL_BAD_BASE64)
		smtp_server_reply(s, R_AUTH_BAD_B64);
	else
		smtp_server_auth_done(s, SMTP_AUTH_BAD);
}

/* One SASL response, from the AUTH line (initial response) or a continuation. */
void
smtp_server_auth_input(struct smtp_server *s, struct strv resp)
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
		smtp_server_enter(s, P_AUTH);
		smtp_server_reply_str(s, R_AUTH_CHALLENGE, "UGFzc3dvcmQ6"); /* "Password:" */
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

void
smtp_server_cmd_auth(struct smtp_server *s, struct strv args)
{
	const struct policy *pol = s->cfg->policy;
	if (!pol->offer_auth) {
		smtp_server_reply(s, R_AUTH_NOT_HERE);
		return;
	}
	if (s->authed) {
		smtp_server_reply(s, R_AUTH_ALREADY);
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
		smtp_server_reply(s, R_AUTH_MECH);
		return;
	}
	/* "=" is an empty initial response (RFC 4954 4): same as none here. */
	if (ir.len > 0 && !(ir.len == 1 && ir.p[0] == '=')) {
		smtp_server_auth_input(s, ir);
		return;
	}
	smtp_server_enter(s, P_AUTH);
	smtp_server_reply_str(s, R_AUTH_CHALLENGE,
			      s->auth_step == AUTH_PLAIN ? "" : "VXNlcm5hbWU6");
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
	smtp_server_enter(s, P_READY);
	switch (r) {
	case SMTP_AUTH_OK:
		s->authed = true;
		str_copy(s->auth_user, sizeof s->auth_user, s->creds.user);
		str_lower(s->auth_user);
		smtp_server_log(s, "event=auth user=%s mech=%s", user, s->auth_mech);
		smtp_server_reply(s, R_AUTH_OK);
		break;
	case SMTP_AUTH_BAD:
		s->auth_failures++;
		smtp_server_log(s, "event=auth_failed user=%s mech=%s failures=%u", user,
				s->auth_mech, s->auth_failures);
		if (s->auth_failures >= s->cfg->max_auth_failures) {
			smtp_server_reply(s, R_AUTH_TOO_MANY);
			smtp_server_close(s);
		} else {
			smtp_server_reply(s, R_AUTH_FAILED);
		}
		break;
	case SMTP_AUTH_TEMPFAIL:
		smtp_server_reply(s, R_AUTH_TEMPFAIL);
		break;
	}
	sasl_creds_wipe(&s->creds);
}
