/*
 * bounce_queue: the report for failed recipients, built and queued
 * (bounce_queue.h). The MIME boundary is random and drawn again when it
 * occurs in the content; the Message-ID carries the original's queue id.
 */
#include "bounce_queue.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "date.h"
#include "log.h"
#include "smtp_addr.h"
#include "spool.h"

/* A report is at most this large: the original is cut to full_max in it. */
#define BOUNCE_BUF_MAX (256u * 1024 * 1024)

static bool
has_8bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/*
 * Queue b (a DSN) from <> to sender, durably, on this thread. The report
 * on a REQUIRETLS message is itself sent with REQUIRETLS (RFC 8689 5).
 */
static int
queue_one(struct spool *sp, const char *sender, bool requiretls, const struct buf *b, char *qid,
	  size_t qid_size)
{
	struct smtp_mail_args mail = {.from = {.is_null = true}};
	struct smtp_rcpt_args rcpt = {0};
	if (smtp_addr_parse_mailbox(strv_from(sender), true, &rcpt.to) != ADDR_OK)
		return -1;
	mail.smtputf8 = has_8bit(sender);
	mail.requiretls = requiretls;
	struct spool_envelope env = {.mail = &mail, .rcpts = &rcpt, .nrcpts = 1};
	struct spool_msg *m = spool_msg_begin(sp, &env);
	if (m == NULL)
		return -1;
	str_copy(qid, qid_size, spool_msg_id(m));
	if (spool_msg_write(m, b->data, b->len) < 0) {
		spool_msg_abort(&m);
		return -1;
	}
	enum spool_result res = spool_msg_commit_now(m);
	spool_msg_free(&m);
	return res == SPOOL_OK ? 0 : -1;
}

void
bounce_queue(struct spool *sp, const char *hostname, const struct spool_entry *e,
	     struct strv original, const struct bounce_rcpt *br, size_t nb,
	     void (*queued)(const char *qid, void *arg), void *arg)
{
	if (nb == 0)
		return;
	char date[64], arrival[64], mid[300], boundary[64], rnd[16];
	date_rfc5322(time(NULL), date, sizeof date);
	date_rfc5322((time_t)e->arrival, arrival, sizeof arrival);
	struct bounce_spec spec = {
	    .hostname = hostname,
	    .sender = e->from,
	    .arrival = arrival,
	    .date = date,
	    .message_id = mid,
	    .boundary = boundary,
	    .rcpts = br,
	    .rcpt_count = nb,
	    .original = original,
	    /* RFC 8689 5: the content of a REQUIRETLS message does not go back
	     * in full where TLS could not be guaranteed: its headers only. */
	    .ret = e->requiretls ? BOUNCE_RET_HDRS : BOUNCE_RET_FULL,
	    .full_max = BOUNCE_FULL_MAX_DEFAULT,
	};
	struct buf b;
	char err[256], qid[SPOOL_QID_SIZE];
	enum bounce_result rc;
	buf_init(&b, BOUNCE_BUF_MAX);
	do { /* a boundary that occurs in the content is drawn again */
		buf_reset(&b);
		if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
			memset(rnd, 0x5a, sizeof rnd);
		snprintf(boundary, sizeof boundary, "=_bounce_%08x%08x", *(unsigned *)rnd,
			 *(unsigned *)(rnd + 4));
		snprintf(mid, sizeof mid, "<%s.%s@%s>", e->id, boundary + 9, hostname);
		rc = bounce_build(&spec, &b, NULL, err, sizeof err);
	} while (rc == BOUNCE_ERR_BOUNDARY);
	if (rc == BOUNCE_NULL_SENDER)
		log_info("id=%s event=bounce_dropped reason=\"the sender is <>: no bounce for a "
			 "bounce\"",
			 e->id);
	else if (rc != BOUNCE_OK)
		log_err("id=%s event=bounce_failed reason=\"%s\"", e->id, err);
	else if (queue_one(sp, e->from, e->requiretls, &b, qid, sizeof qid) < 0)
		log_err("id=%s event=bounce_failed reason=\"cannot queue the bounce: %s\"", e->id,
			strerror(errno));
	else {
		log_info("id=%s event=bounce bounce_id=%s to=<%s> nrcpt=%zu", e->id, qid, e->from,
			 nb);
		queued(qid, arg);
	}
	buf_free(&b);
}
