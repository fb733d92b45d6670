/*
 * smtp_client_hello: the opening of a client session (see
 * smtp_client_internal.h): the greeting, EHLO (HELO when EHLO is refused)
 * and the capabilities it offers, then STARTTLS and the handshake's end,
 * before AUTH (smtp_client_auth.c) or the transaction.
 *
 * Invariants:
 * - The capabilities of an EHLO reply are read into next_caps as its lines
 *   come and replace caps only when the reply is a 2xx; the banner and
 *   auth_before_tls are findings and survive every reset.
 * - With cfg->tls STARTTLS nothing goes past EHLO before TLS: STARTTLS
 *   missing, refused or failing is a failure, never a silent downgrade
 *   (RFC 3207 6). Only OPPORTUNISTIC goes on in clear after a refusal.
 * - After the handshake every capability learnt in clear is forgotten and
 *   EHLO is sent again (RFC 3207 4.2).
 * RFC 5321 3.1, 3.2, 4.1.1.1; RFC 3207.
 */
#include <string.h>

#include "smtp_client_internal.h"

/* One line of the EHLO reply (RFC 5321 4.1.1.1); line 1 is the server's name. */
void
smtp_client_caps_line(struct smtp_client *c, struct strv t, unsigned lineno)
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

/* ---- greeting, EHLO/HELO, STARTTLS ---- */

static void
send_hello(struct smtp_client *c, enum client_phase phase)
{
	const char *name = c->cfg->ehlo_name;
	smtp_client_enter(c, phase);
	if (!name || !*name || smtp_client_has_ctl(name) || strchr(name, ' ')) {
		smtp_client_fail_text(c, CLIENT_EHLO_FAILED, "invalid EHLO name");
		smtp_client_finish(c, true);
		return;
	}
	smtp_client_send(c, "%s %s",
			 phase == P_HELO ? "HELO"
			 : c->cfg->lmtp	 ? "LHLO"
					 : "EHLO",
			 name);
}

static bool
needs_starttls(const struct smtp_client *c)
{
	return c->cfg->tls == CLIENT_TLS_STARTTLS && !c->tls;
}

void
smtp_client_on_greeting(struct smtp_client *c, const struct smtp_client_reply *r)
{
	str_copy(c->caps.greeting, sizeof c->caps.greeting, r->text);
	if (r->code == 220) {
		send_hello(c, P_EHLO);
		return;
	}
	/* RFC 5321 3.1: a 554 banner still wants QUIT; a 421 has closed. */
	smtp_client_fail(c, CLIENT_NO_GREETING, r);
	smtp_client_finish(c, r->code != 421);
}

/* After EHLO (or HELO): STARTTLS if wanted and possible, else AUTH. */
static void
after_hello(struct smtp_client *c)
{
	if (!c->tls &&
	    (c->cfg->tls == CLIENT_TLS_STARTTLS || c->cfg->tls == CLIENT_TLS_OPPORTUNISTIC)) {
		if (c->caps.starttls && !c->starttls_refused) {
			smtp_client_enter(c, P_STARTTLS);
			smtp_client_send(c, "STARTTLS");
			return;
		}
		if (c->cfg->tls == CLIENT_TLS_STARTTLS) {
			smtp_client_enter(c, P_STARTTLS);
			smtp_client_fail_text(c, CLIENT_STARTTLS_MISSING,
					      "the server does not offer STARTTLS");
			smtp_client_finish(c, true);
			return;
		}
	}
	smtp_client_auth_start(c);
}

void
smtp_client_on_hello(struct smtp_client *c, const struct smtp_client_reply *r)
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
	/* RFC 2033 4.1: LMTP has LHLO only; HELO is not a way back. */
	if (r->code / 100 != 5 || c->phase == P_HELO || c->cfg->lmtp) {
		smtp_client_fail(c, smtp_client_failure_by_class(r->code, CLIENT_EHLO_FAILED), r);
		smtp_client_finish(c, true);
		return;
	}
	/* RFC 5321 3.2: HELO after a refused EHLO, but HELO has no STARTTLS
	 * and no AUTH, so it is no way forward when either is needed. */
	if (needs_starttls(c) || c->cfg->user) {
		smtp_client_fail(
		    c, needs_starttls(c) ? CLIENT_STARTTLS_MISSING : CLIENT_AUTH_MISSING, r);
		smtp_client_finish(c, true);
		return;
	}
	caps_forget(c);
	send_hello(c, P_HELO);
}

void
smtp_client_on_starttls(struct smtp_client *c, const struct smtp_client_reply *r)
{
	if (r->code == 220) {
		smtp_client_enter(c, P_TLS);
		c->action = CLIENT_ACT_START_TLS;
		return;
	}
	if (c->cfg->tls == CLIENT_TLS_OPPORTUNISTIC) {
		/* RFC 3207 4: the session is as it was; MX delivery goes on. */
		c->result.starttls_reply = *r;
		c->starttls_refused = true;
		smtp_client_auth_start(c);
		return;
	}
	smtp_client_fail(c, CLIENT_TLS_FAILED, r);
	smtp_client_finish(c, true);
}

void
smtp_client_tls_done(struct smtp_client *c, bool ok, const char *reason)
{
	if (c->phase != P_TLS)
		return;
	c->action = CLIENT_ACT_NONE;
	if (!ok) {
		/* No QUIT: the connection is in no state to carry one. */
		smtp_client_fail_text(c, CLIENT_TLS_FAILED, "%s",
				      reason && *reason ? reason : "the TLS handshake failed");
		smtp_client_finish(c, false);
		return;
	}
	c->tls = true;
	/* RFC 3207 4.2: forget what the server said in clear. */
	caps_forget(c);
	send_hello(c, P_EHLO);
}
