/*
 * smtp_server_data: the transaction's message in a server session (see
 * smtp_server_internal.h). DATA (RFC 5321 4.1.1.4) and BDAT chunks
 * (RFC 3030) decode into the spool hooks as the bytes come, never held
 * whole; our Received: header (RFC 5321 4.4, RFC 3848 names) goes first. A
 * message is refused at its end, all at once, for what the decoder found
 * (bare CR/LF, NUL, an over-long line) or its size, so the client gets one
 * precise reply and the spool file is dropped.
 */
#include <inttypes.h>
#include <string.h>

#include "smtp_server_internal.h"
#include "xmalloc.h"

void
smtp_server_spool_drop(struct smtp_server *s)
{
	if (s->spooling && s->hooks->spool_abort)
		s->hooks->spool_abort(s->hooks->ctx);
	s->spooling = false;
}

void
smtp_server_tx_reset(struct smtp_server *s)
{
	smtp_server_spool_drop(s);
	memset(&s->mail, 0, sizeof s->mail);
	s->nrcpts = 0;
	s->spool_failed = false;
	s->qid[0] = '\0';
	s->bdat_left = 0;
	s->bdat_last = false;
	s->bdat_discard = false;
	if (s->phase != P_GREETING && s->phase != P_CLOSED)
		smtp_server_enter(s, P_READY);
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
		smtp_server_reply(s, no_space ? R_SPOOL_FULL : R_SPOOL_FAIL);
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
	smtp_server_log(s, "id=%s event=refused size=%" PRIu64 " flags=%u", s->qid, s->data.size,
			s->data.flags);
	smtp_server_spool_drop(s);
	smtp_server_tx_reset(s);
	if (refusal == R_SIZE_EXCEEDED)
		smtp_server_reply_num(s, refusal, (unsigned long long)s->cfg->max_message_size);
	else
		smtp_server_reply(s, refusal);
}

/* Is the message already refused, so its bytes need not be stored? */
static bool
message_doomed(const struct smtp_server *s)
{
	return (s->data.flags & DATA_REFUSED) || s->data.size > s->cfg->max_message_size ||
	       s->spool_failed;
}

void
smtp_server_cmd_data(struct smtp_server *s, struct strv args)
{
	(void)args;
	/* RFC 2920 3.1: DATA is the last command of a pipelined group. */
	if (s->input_follows) {
		smtp_server_reply(s, R_PIPELINE_SYNC);
		smtp_server_log(s, "event=disconnect reason=pipelining_before_354");
		smtp_server_tx_reset(s);
		smtp_server_close(s);
		return;
	}
	if (!spool_start(s))
		return;
	smtp_server_enter(s, P_DATA);
	smtp_server_reply(s, R_DATA_GO);
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
	smtp_server_enter(s, P_BDAT);
	/*
	 * RFC 3030 2: a chunk may be empty ("BDAT 0 LAST" ends a message). No
	 * byte will arrive to finish it, so it ends here; waiting for input
	 * would leave the client without its reply until it sent more.
	 */
	if (size == 0)
		bdat_chunk_end(s);
}

void
smtp_server_cmd_bdat(struct smtp_server *s, struct strv args)
{
	uint64_t size;
	bool last;
	if (!smtp_cmd_parse_bdat(args, &size, &last)) {
		/* Without a size we cannot find the next command: give up. */
		smtp_server_reply(s, R_BDAT_SYNTAX);
		smtp_server_close(s);
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
		smtp_server_tx_reset(s);
		bdat_begin(s, size, last, true, R_COUNT); /* already replied */
		return;
	}
	bdat_begin(s, size, last, false, R_COUNT);
}

size_t
smtp_server_feed_data(struct smtp_server *s, const char *p, size_t len)
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
		smtp_server_enter(s, s->bdat_resume);
		if (s->bdat_refusal != R_COUNT)
			smtp_server_reply(s, s->bdat_refusal);
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
	smtp_server_enter(s, P_BDAT_OPEN);
	smtp_server_reply_num(s, R_BDAT_OK, (unsigned long long)s->data.size);
}

/* Octets of a chunk (bdat_left > 0: an empty chunk never waits for input). */
size_t
smtp_server_feed_bdat(struct smtp_server *s, const char *p, size_t len)
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

uint64_t
smtp_server_data_size(const struct smtp_server *s)
{
	return s->data.size;
}

void
smtp_server_commit_done(struct smtp_server *s, enum smtp_commit_result r)
{
	s->action = SMTP_ACT_NONE;
	s->spooling = false; /* committed or failed: the spool owns it now */
	if (r == SMTP_COMMIT_OK) {
		char from[600];
		smtp_server_log(s, "id=%s event=accepted from=<%s> nrcpt=%zu size=%" PRIu64 "%s",
				s->qid, smtp_server_addr_for_log(&s->mail.from, from, sizeof from),
				s->nrcpts, s->data.size,
				s->data.flags & DATA_LONG_LINE ? " long_lines=yes" : "");
		smtp_server_reply_str(s, R_QUEUED, s->qid);
	} else {
		smtp_server_reply(s, r == SMTP_COMMIT_NO_SPACE ? R_SPOOL_FULL : R_SPOOL_FAIL);
	}
	smtp_server_tx_reset(s);
}

void
smtp_server_message_refused(struct smtp_server *s, enum smtp_refusal why, const char *detail,
			    unsigned long long limit)
{
	s->action = SMTP_ACT_NONE;
	s->spooling = false; /* the glue has dropped the file */
	/* A reply is one line: the detail comes from message content. */
	char text[300];
	size_t i = 0;
	for (; detail && detail[i] && i + 1 < sizeof text; i++) {
		unsigned char c = (unsigned char)detail[i];
		text[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	text[i] = '\0';
	static const char *const names[] = {"dmarc_reject", "auth_tempfail", "header_too_big",
					    "sign_failed", "too_many_hops"};
	smtp_server_log(s, "id=%s event=refused reason=%s size=%" PRIu64, s->qid, names[why],
			s->data.size);
	switch (why) {
	case SMTP_REFUSE_DMARC:
		smtp_server_reply_str(s, R_DMARC_REJECT, text);
		break;
	case SMTP_REFUSE_AUTH_TEMPFAIL:
		smtp_server_reply_str(s, R_MSG_AUTH_TEMPFAIL, text);
		break;
	case SMTP_REFUSE_HEADER_TOO_BIG:
		smtp_server_reply_num(s, R_HEADER_TOO_BIG, limit);
		break;
	case SMTP_REFUSE_SIGN_FAILED:
		smtp_server_reply(s, R_SIGN_FAILED);
		break;
	case SMTP_REFUSE_TOO_MANY_HOPS:
		smtp_server_reply_num(s, R_TOO_MANY_HOPS, limit);
		break;
	}
	smtp_server_tx_reset(s);
}
