/*
 * session_auth: mail authentication in the session (issue 14): the header
 * block held and cleaned, DKIM signing of submitted mail, SPF + DKIM +
 * DMARC of mail from other servers, and the end-of-data verdict.
 *
 * The core writes the message through hook_spool_write, our Received:
 * header first in one call. What follows is the message as the client
 * sent it: its header block is held here (msg_headers) until the empty
 * line that ends it, then written to the spool without any
 * Authentication-Results field that claims our authserv-id (on every door:
 * only we may speak in our name, and a forged one must never reach a
 * mailbox, RFC 8601 5); the body passes straight through. Signer and
 * checker see the fields as sent and every body byte as it streams, so the
 * body hash is computed on the way and the message is never read again.
 *
 * At the end of data, before the commit and before the 250, the finish
 * step (DNS lookups, which block, and the RSA/Ed25519 signing) runs on
 * the auth worker's threads, never on the event loop; its result is put in
 * front of the message with spool_msg_prepend (the room was reserved at
 * spool_msg_begin), then the message is committed, or refused: 550 5.7.1
 * for a DMARC reject, 451 4.7.0 when a check could not finish in time.
 *
 * Which door does what:
 *   smtp door, client not authenticated: auth_check (SPF of MAIL FROM or
 *     HELO, every DKIM signature, DMARC); our Authentication-Results opens
 *     the message, and "X-Spam-Flag: YES" too when DMARC says quarantine.
 *   submission/submissions (or an authenticated client on any door), with
 *     DKIM keys loaded: signed with every key of the From: domain.
 *
 * Bounds: the held header block is at most HEADER_HOLD_MAX bytes. A message
 * whose header is longer is refused at its end with 552 5.3.4 (permanent,
 * so the sender learns of it through its own server's bounce: nothing is
 * lost silently), since we could neither clean it nor check it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_results.h"
#include "log.h"
#include "msg_headers.h"
#include "session_internal.h"
#include "spool.h"
#include "str.h"
#include "xmalloc.h"

/* The most header bytes held (Postfix's header_size_limit is 100 KiB). */
#define HEADER_HOLD_MAX (256 * 1024)

struct session_msg {
	struct session *s;
	bool received;	   /* our Received: header (the first write) went out */
	bool headers_done; /* the header block was written; body passes */
	bool too_big;
	struct msg_headers hdrs;
	struct buf raw; /* the header bytes as received, while held */
	unsigned removed;
};

static void
msg_free(struct session_msg **mp)
{
	struct session_msg *m = *mp;
	if (m == NULL)
		return;
	msg_headers_free(&m->hdrs);
	buf_free(&m->raw);
	free(m);
	*mp = NULL;
}

void
session_auth_drop(struct session *s)
{
	msg_free(&s->auth_msg);
}

void
session_auth_free(struct session *s)
{
	session_auth_drop(s);
}

size_t
session_auth_begin(struct session *s, const struct smtp_envelope *env)
{
	session_auth_drop(s);
	struct session_msg *m = xcalloc(1, sizeof *m);
	m->s = s;
	msg_headers_init(&m->hdrs, HEADER_HOLD_MAX);
	buf_init(&m->raw, HEADER_HOLD_MAX);
	s->auth_msg = m;
	(void)env;
	return 0;
}

/*
 * The header block is complete (or the message ended inside it): write
 * it without our-authserv-id Authentication-Results, then whatever
 * followed the last field (the empty line, or a last line cut short).
 */
static int
write_headers(struct session *s, struct session_msg *m)
{
	m->headers_done = true;
	if (m->too_big)
		return 0; /* refused at the end; nothing more is stored */
	size_t fields = 0;
	for (size_t i = 0; i < msg_headers_count(&m->hdrs); i++) {
		const struct msg_header *f = msg_headers_at(&m->hdrs, i);
		fields += f->len;
		if (msg_header_is(f, "Authentication-Results") &&
		    auth_results_is_ours(f->raw, f->len, s->hostname)) {
			m->removed++;
			continue;
		}
		if (spool_msg_write(s->msg, f->raw, f->len) < 0)
			return -1;
	}
	if (m->removed)
		log_info("session=%s id=%s event=auth_results_removed count=%u "
			 "note=\"the message claimed our authserv-id %s\"",
			 s->id, spool_msg_id(s->msg), m->removed, s->hostname);
	if (fields < m->raw.len &&
	    spool_msg_write(s->msg, m->raw.data + fields, m->raw.len - fields) < 0)
		return -1;
	buf_free(&m->raw);
	buf_init(&m->raw, 0);
	return 0;
}

int
session_auth_write(struct session *s, const char *p, size_t n)
{
	struct session_msg *m = s->auth_msg;
	if (m == NULL || !m->received) {
		if (m)
			m->received = true; /* our Received: comes whole, first */
		return spool_msg_write(s->msg, p, n);
	}
	if (!m->headers_done) {
		bool done = false;
		size_t used = msg_headers_feed(&m->hdrs, p, n, &done);
		if (!m->too_big && (m->hdrs.too_big || !buf_append(&m->raw, p, used)))
			m->too_big = true;
		if (!done)
			return 0;
		if (write_headers(s, m) < 0)
			return -1;
		p += used;
		n -= used;
	}
	if (m->too_big || n == 0)
		return 0;
	return spool_msg_write(s->msg, p, n);
}

/* ---- the end of data ---- */

/* Refuse the message: its file goes, the client gets why. */
static void
refuse(struct session *s, enum smtp_refusal why, const char *detail)
{
	spool_msg_abort(&s->msg);
	session_auth_drop(s);
	s->committing = false;
	smtp_server_message_refused(s->smtp, why, detail, HEADER_HOLD_MAX);
	session_resume(s);
}

void
session_auth_end(struct session *s)
{
	struct session_msg *m = s->auth_msg;
	s->committing = true; /* until on_commit or a refusal */
	if (m == NULL) {
		session_commit(s);
		return;
	}
	if (!m->headers_done && write_headers(s, m) < 0) {
		/* The write error is sticky: the commit reports it (451). */
		session_auth_drop(s);
		session_commit(s);
		return;
	}
	if (m->too_big) {
		log_info("session=%s id=%s event=header_too_big limit=%d", s->id,
			 spool_msg_id(s->msg), HEADER_HOLD_MAX);
		refuse(s, SMTP_REFUSE_HEADER_TOO_BIG, NULL);
		return;
	}
	session_auth_drop(s);
	session_commit(s);
}
