/*
 * smtp_client_tx: the mail transaction of a client session (see
 * smtp_client_internal.h): MAIL with its parameters, the RCPTs, DATA, the
 * body the glue streams (it dot-stuffs; RFC 5321 4.5.2), the final reply,
 * and RSET as the way out; smtp_client_next() starts the next transaction
 * on a kept-open connection.
 *
 * Invariants:
 * - The envelope is checked before MAIL (envelope_ok): what must fail
 *   (no recipient, a control character in an address, SMTPUTF8 or, with
 *   strict_8bitmime, 8BITMIME not offered, larger than SIZE) fails without
 *   a command sent.
 * - With PIPELINING, MAIL and the RCPTs go as one group, and DATA with
 *   them only when its 354 will surely be wanted (RFC 2920 3.1); a refused
 *   MAIL still has the replies of what was sent with it read, in order.
 * - A 354 that comes when the transaction is not going on (MAIL refused,
 *   no recipient accepted) gets no message: the session is closed without
 *   the final dot, so nothing can be delivered.
 * - A transaction refused part way ends with RSET when keep_open, so the
 *   connection stays fit for the next; otherwise with QUIT.
 * RFC 5321 3.3, 4.1.1.2-4.1.1.5; RFC 2920; RFC 1870; RFC 6152; RFC 6531.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_client_internal.h"
#include "xmalloc.h"

/* The transaction is over and the session sound: wait for the next one, or QUIT. */
static void
transaction_over(struct smtp_client *c)
{
	if (!c->cfg->keep_open) {
		smtp_client_finish(c, true);
		return;
	}
	smtp_client_enter(c, P_IDLE);
	c->action = CLIENT_ACT_IDLE;
}

static void
send_rset(struct smtp_client *c)
{
	smtp_client_enter(c, P_RSET);
	smtp_client_send(c, "RSET");
}

/* A transaction refused part way: RSET leaves a session fit for the next. */
static void
abandon_transaction(struct smtp_client *c)
{
	if (c->cfg->keep_open)
		send_rset(c);
	else
		smtp_client_finish(c, true);
}

static void
send_rcpt(struct smtp_client *c, size_t i)
{
	smtp_client_send(c, "RCPT TO:<%s>", c->env->rcpts[i]);
}

/* Refusals to check before MAIL: nothing is sent that must fail anyway. */
static bool
envelope_ok(struct smtp_client *c)
{
	const struct smtp_client_envelope *env = c->env;
	if (env->nrcpts == 0) {
		smtp_client_fail_text(c, CLIENT_RCPT_REJECTED, "no recipients");
		return false;
	}
	/* A CR or LF in an address would smuggle a command. */
	if (!env->from || smtp_client_has_ctl(env->from)) {
		smtp_client_fail_text(c, CLIENT_SENDER_REJECTED, "invalid sender address");
		return false;
	}
	for (size_t i = 0; i < env->nrcpts; i++) {
		if (!env->rcpts[i] || smtp_client_has_ctl(env->rcpts[i])) {
			str_copy(c->result.rcpts[i].reply.text,
				 sizeof c->result.rcpts[i].reply.text, "invalid recipient address");
			smtp_client_fail_text(c, CLIENT_RCPT_REJECTED, "invalid recipient address");
			return false;
		}
	}
	if (env->smtputf8 && !c->caps.smtputf8) {
		smtp_client_fail_text(c, CLIENT_UTF8_UNSUPPORTED,
				      "SMTPUTF8 is needed; the server does not offer it");
		return false;
	}
	/* RFC 8689 4.2.1: over TLS, to a server that offers REQUIRETLS, or not at all. */
	if (env->requiretls && (!c->tls || !c->caps.requiretls)) {
		smtp_client_fail_text(c, CLIENT_REQUIRETLS_UNSUPPORTED,
				      c->tls
					  ? "REQUIRETLS support required: the server does not "
					    "offer REQUIRETLS"
					  : "REQUIRETLS support required: the session is not TLS");
		return false;
	}
	/*
	 * RFC 6152 3: a relaying MTA must not pass an 8-bit body to a server
	 * that did not offer 8BITMIME; without a converter, it is returned.
	 */
	if (c->cfg->strict_8bitmime && env->eightbit && !c->caps.eightbitmime) {
		smtp_client_fail_text(
		    c, CLIENT_8BIT_UNSUPPORTED,
		    "the message has 8-bit data; the server does not offer 8BITMIME");
		return false;
	}
	/* RFC 1870 6: SIZE 0 means no fixed limit. */
	if (c->caps.size && env->size > c->caps.size) {
		smtp_client_fail_text(c, CLIENT_SIZE_EXCEEDED,
				      "the message (%" PRIu64
				      " bytes) exceeds the server's SIZE %" PRIu64,
				      env->size, c->caps.size);
		return false;
	}
	return true;
}

void
smtp_client_mail_start(struct smtp_client *c)
{
	const struct smtp_client_envelope *env = c->env;
	smtp_client_enter(c, P_MAIL);
	if (!envelope_ok(c)) {
		transaction_over(c); /* nothing was sent: the session is as it was */
		return;
	}
	char params[80] = "";
	size_t n = 0;
	if (c->size_offered && env->size > 0)
		n += (size_t)snprintf(params + n, sizeof params - n, " SIZE=%" PRIu64, env->size);
	/* RFC 6152: without 8BITMIME an 8-bit body is still sent; most
	 * servers take it, and refusing would only fail more mail. */
	if (env->eightbit && c->caps.eightbitmime)
		n += (size_t)snprintf(params + n, sizeof params - n, " BODY=8BITMIME");
	c->result.eightbit_unannounced = env->eightbit && !c->caps.eightbitmime;
	if (env->smtputf8)
		n += (size_t)snprintf(params + n, sizeof params - n, " SMTPUTF8");
	if (env->requiretls)
		snprintf(params + n, sizeof params - n, " REQUIRETLS");
	c->result.tls = c->tls;
	smtp_client_send(c, "MAIL FROM:<%s>%s", env->from, params);
	if (!c->caps.pipelining)
		return;
	/* RFC 2920 3.1: one group. DATA only when its 354 will surely be
	 * wanted: with all-or-none it depends on every RCPT, and a 354
	 * cannot be taken back short of closing. */
	c->pipelined = true;
	for (size_t i = 0; i < env->nrcpts; i++)
		send_rcpt(c, i);
	if (!c->cfg->all_recipients_or_none && !c->cfg->rset_instead_of_data) {
		smtp_client_send(c, "DATA");
		c->data_sent = true;
	}
}

void
smtp_client_on_mail(struct smtp_client *c, const struct smtp_client_reply *r)
{
	if (r->code / 100 == 2) {
		c->mail_ok = true;
	} else {
		smtp_client_fail(c, smtp_client_failure_by_class(r->code, CLIENT_SENDER_REJECTED),
				 r);
		if (!c->pipelined) {
			abandon_transaction(c);
			return;
		}
		/* The RCPTs (and DATA) are on their way: read their replies. */
	}
	smtp_client_enter(c, P_RCPT);
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
		smtp_client_fail(c, best_f, &best->reply);
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
			smtp_client_send(c, "DATA");
		smtp_client_enter(c, P_DATA);
		return;
	}
	if (c->result.accepted < n)
		fail_rcpts(c);
	if (c->data_sent) {
		/* RFC 2920 3.1: with no recipient the server refuses DATA. */
		smtp_client_enter(c, P_DATA);
		return;
	}
	send_rset(c);
}

void
smtp_client_on_rcpt(struct smtp_client *c, const struct smtp_client_reply *r)
{
	struct smtp_client_rcpt_result *rr = &c->result.rcpts[c->rcpt_idx];
	rr->reply = *r;
	rr->accepted = c->mail_ok && r->code / 100 == 2;
	if (rr->accepted)
		c->result.accepted++;
	if (r->code / 100 == 3) {
		smtp_client_fail(c, CLIENT_PROTOCOL, r);
		smtp_client_finish(c, true);
		return;
	}
	if (++c->rcpt_idx < c->env->nrcpts) {
		if (!c->pipelined)
			send_rcpt(c, c->rcpt_idx);
		return;
	}
	after_rcpts(c);
}

void
smtp_client_on_data(struct smtp_client *c, const struct smtp_client_reply *r)
{
	if (!c->go) {
		/* A server that says 354 with nothing to deliver to: close
		 * without the final dot, so nothing can be delivered. */
		if (r->code == 354)
			smtp_client_finish(c, false);
		else
			send_rset(c);
		return;
	}
	if (r->code == 354) {
		smtp_client_enter(c, P_BODY);
		c->action = CLIENT_ACT_SEND_BODY;
		return;
	}
	smtp_client_fail(c, smtp_client_failure_by_class(r->code, CLIENT_DATA_REJECTED), r);
	abandon_transaction(c);
}

/*
 * RFC 2033 4.2: after the body, one reply per recipient accepted at RCPT,
 * in order; each decides its own recipient (one mailbox over quota is
 * refused alone). The transaction fails only when none was delivered.
 */
static void
on_lmtp_reply(struct smtp_client *c, const struct smtp_client_reply *r)
{
	size_t n = c->env->nrcpts, i = c->lmtp_idx;
	while (i < n && !c->result.rcpts[i].accepted)
		i++;
	if (i == n) { /* more replies than recipients: a bug of the server's */
		smtp_client_fail(c, CLIENT_PROTOCOL, r);
		smtp_client_finish(c, true);
		return;
	}
	struct smtp_client_rcpt_result *rr = &c->result.rcpts[i];
	rr->reply = *r;
	if (r->code / 100 != 2) {
		rr->accepted = false;
		c->result.accepted--;
	}
	c->lmtp_idx = ++i;
	while (i < n && !c->result.rcpts[i].accepted)
		i++;
	if (i < n)
		return; /* more replies to come */
	if (c->result.accepted == 0)
		smtp_client_fail(c, smtp_client_failure_by_class(r->code, CLIENT_DATA_REJECTED), r);
	transaction_over(c);
}

void
smtp_client_on_body(struct smtp_client *c, const struct smtp_client_reply *r)
{
	if (!c->body_sent) {
		/* A reply while the body streams: the server gave up on it. A
		 * QUIT now would be taken as message text. */
		smtp_client_fail(c, smtp_client_failure_by_class(r->code, CLIENT_DATA_REJECTED), r);
		smtp_client_finish(c, false);
		return;
	}
	if (c->cfg->lmtp) {
		on_lmtp_reply(c, r);
		return;
	}
	if (r->code / 100 != 2)
		smtp_client_fail(c, smtp_client_failure_by_class(r->code, CLIENT_DATA_REJECTED), r);
	transaction_over(c);
}

/* RSET, the way out of a transaction: a sound session goes on (or QUITs). */
void
smtp_client_on_rset(struct smtp_client *c, const struct smtp_client_reply *r)
{
	if (r->code / 100 == 2)
		transaction_over(c);
	else
		smtp_client_finish(c, true);
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
	c->rcpt_idx = c->lmtp_idx = 0;
	c->action = CLIENT_ACT_NONE;
	smtp_client_mail_start(c);
	return true;
}
