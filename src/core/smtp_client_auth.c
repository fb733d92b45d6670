/*
 * smtp_client_auth: AUTH in a client session (see smtp_client_internal.h).
 * The strongest mechanism both sides have is chosen (enum client_mech is in
 * order of preference), narrowed by cfg->allowed_mechs: XOAUTH2 and
 * OAUTHBEARER with a token, PLAIN and LOGIN with a password.
 *
 * Invariants:
 * - Reached only after STARTTLS when TLS is wanted (smtp_client_hello.c).
 * - Every secret goes out through smtp_client_send_secret(): the transcript
 *   shows "****", and the temporaries that held it are wiped before they
 *   are freed (wipe_free); they are allocated once at their exact size, so
 *   no realloc leaves a copy behind.
 * - A 334 that is not a LOGIN prompt is an error challenge: it is answered
 *   (empty line, %x01 or "*") and the 5xx that follows is the failure.
 * RFC 4954; RFC 4616 (PLAIN); RFC 7628 and RFC 5801 (OAUTHBEARER).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_client_internal.h"
#include "xmalloc.h"

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
		smtp_client_send_secret(c, "AUTH XOAUTH2 ", raw, n, "AUTH XOAUTH2 ****");
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
	smtp_client_send_secret(c, "AUTH OAUTHBEARER ", raw, n, "AUTH OAUTHBEARER ****");
	wipe_free(raw, n + 1);
	buf_free(&name);
	buf_free(&hp);
}

/* AUTH done (or none wanted): the transaction, or QUIT for a probe that stops here. */
static void
after_auth(struct smtp_client *c)
{
	if (c->cfg->stop_after_auth || !c->env) {
		smtp_client_finish(c, true);
		return;
	}
	smtp_client_mail_start(c);
}

void
smtp_client_auth_start(struct smtp_client *c)
{
	const struct smtp_client_config *cfg = c->cfg;
	if (!cfg->user) {
		after_auth(c);
		return;
	}
	smtp_client_enter(c, P_AUTH);
	unsigned mech = choose_mech(c);
	if (!mech) {
		smtp_client_fail_text(c, CLIENT_AUTH_MISSING, "%s%s",
				      c->caps.auth_mechs
					  ? "no usable AUTH mechanism; the server offers: "
					  : "the server does not offer AUTH",
				      c->caps.auth_mechs ? c->caps.auth_line : "");
		smtp_client_finish(c, true);
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
		smtp_client_send_secret(c, "AUTH PLAIN ", raw, n, "AUTH PLAIN ****");
		wipe_free(raw, n);
	} else if (mech == CLIENT_MECH_LOGIN) {
		smtp_client_send(c, "AUTH LOGIN");
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
		smtp_client_send_secret(c, "", cfg->user, strlen(cfg->user), "****");
		c->auth_step = AS_LOGIN_PASS;
		return;
	case AS_LOGIN_PASS:
		smtp_client_send_secret(c, "", cfg->password, strlen(cfg->password), "****");
		c->auth_step = AS_REPLY;
		return;
	case AS_REPLY:
		/* XOAUTH2 answers its error challenge with an empty line,
		 * OAUTHBEARER with %x01 (RFC 7628 3.2.3); anything else is
		 * cancelled with "*" (RFC 4954 4). A 5xx follows. */
		c->auth_step = AS_ABORTED;
		if (c->result.used_mech == CLIENT_MECH_XOAUTH2)
			smtp_client_send(c, "%s", "");
		else if (c->result.used_mech == CLIENT_MECH_OAUTHBEARER)
			smtp_client_send(c, "AQ==");
		else
			smtp_client_send(c, "*");
		return;
	case AS_ABORTED:
		break;
	}
	smtp_client_fail(c, CLIENT_PROTOCOL, r);
	smtp_client_finish(c, true);
}

void
smtp_client_on_auth(struct smtp_client *c, const struct smtp_client_reply *r)
{
	if (r->code == 334) {
		on_auth_challenge(c, r);
		return;
	}
	if (r->code / 100 == 2) {
		after_auth(c);
		return;
	}
	smtp_client_fail(c, smtp_client_failure_by_class(r->code, CLIENT_AUTH_FAILED), r);
	smtp_client_finish(c, true);
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
