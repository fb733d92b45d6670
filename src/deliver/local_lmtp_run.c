/*
 * local_lmtp_run: the local agent's work handed to an LMTP server
 * ("deliver lmtp"; local_int.h). Messages go LOCAL_BATCH_MAX at a time;
 * within a batch, up to LOCAL_LMTP_CONNECTIONS threads each take the next
 * message (one transaction with all its local recipients) on their own
 * kept connection, so the server saves several at once. Each thread
 * settles its messages' recipients (returned, marked done, deferred with
 * a retry schedule); the agent's thread then removes the batch's finished
 * messages with one directory sync.
 *
 * Thread safety: the spool's per-message calls (mark_done, retry, a
 * bounce's commit) are made from several threads, as the outbound agent's
 * workers make them; each message is one thread's alone; the retry policy
 * is read under ld->mu (local_schedule).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce_queue.h"
#include "date.h"
#include "local_int.h"
#include "local_lmtp.h"
#include "log.h"
#include "str.h"
#include "xmalloc.h"

static void
lmtp_log(struct local_lmtp *conn, const struct local_msg *m, const char *rcpt,
	 const struct lmtp_rcpt_result *r)
{
	static const char *const status[] = {"sent", "deferred", "bounced"};
	char rcpt_esc[1024], reply_esc[1300], next[64] = "", line[3000];
	str_escape(rcpt_esc, sizeof rcpt_esc, rcpt, strlen(rcpt));
	str_escape(reply_esc, sizeof reply_esc, r->reply, strlen(r->reply));
	if (r->outcome == LMTP_DEFERRED)
		snprintf(next, sizeof next, " attempts=%u next_attempt=%" PRId64, m->rs.attempts,
			 m->rs.next_attempt);
	snprintf(line, sizeof line,
		 "id=%s event=delivery to=<%s> relay=%s delay=%lld dsn=%s status=%s%s %s=\"%s\"",
		 m->e.id, rcpt_esc, local_lmtp_relay(conn), (long long)(time(NULL) - m->e.arrival),
		 r->dsn, status[r->outcome], next, r->from_server ? "reply" : "reason", reply_esc);
	if (r->outcome == LMTP_SENT)
		log_info("%s", line);
	else
		log_warn("%s", line);
}

/* The recipients the LMTP server refused, returned to the sender. */
static void
lmtp_bounce(struct local_delivery *ld, const struct local_msg *m, const char *const *rcpts,
	    const struct lmtp_rcpt_result *res, size_t n)
{
	struct bounce_rcpt *br = xcalloc(n ? n : 1, sizeof *br);
	size_t nb = 0;
	char date[64];
	date_rfc5322(time(NULL), date, sizeof date);
	for (size_t i = 0; i < n; i++)
		if (res[i].outcome == LMTP_BOUNCED)
			br[nb++] = (struct bounce_rcpt){
			    .addr = rcpts[i],
			    .action = BOUNCE_FAILED,
			    .status = res[i].dsn,
			    .remote_mta = res[i].from_server ? ld->hostname : NULL,
			    .reply = res[i].from_server ? res[i].reply : NULL,
			    .reason = res[i].from_server ? NULL : res[i].reply,
			    .last_attempt = date,
			};
	if (nb) {
		struct buf body;
		buf_init(&body, 0);
		if (local_lmtp_read_body(&m->e, &body) < 0)
			buf_reset(&body); /* the report goes without the message */
		bounce_queue(ld->sp, ld->hostname, &m->e,
			     (struct strv){body.data ? body.data : "", body.len}, br, nb,
			     ld->queued, ld->arg);
		buf_free(&body);
	}
	free(br);
}

/*
 * One message: every local recipient in one transaction. The refused are
 * returned to the sender before the queue forgets them; the delivered and
 * the refused are marked done. True when nothing is left of it: the entry
 * stays in m for the batch's removal. Else m is freed.
 */
static bool
lmtp_message(struct local_delivery *ld, struct local_lmtp *conn, struct local_msg *m,
	     const char *qid, int64_t *due_at)
{
	if (spool_entry_read(ld->sp, qid, &m->e) < 0) {
		if (errno != ENOENT) /* gone: delivered or deleted meanwhile */
			log_warn("id=%s event=unreadable reason=\"%s\"", qid, strerror(errno));
		return false;
	}
	m->left = 0;
	m->first_err = NULL;
	m->scheduled = spool_retry_read(ld->sp, qid, &m->rs) == 0;
	const char **rcpts = xcalloc(m->e.nrcpts + 1, sizeof *rcpts);
	size_t n = 0;
	for (size_t i = 0; i < m->e.nrcpts; i++) {
		if (local_rcpt_is_local(ld, m->e.rcpts[i]))
			rcpts[n++] = m->e.rcpts[i];
		else
			m->left++; /* the outbound agent's, which logs its own attempts */
	}
	struct lmtp_rcpt_result *res = xcalloc(n ? n : 1, sizeof *res);
	if (n)
		local_lmtp_deliver(conn, &m->e, rcpts, n, res);
	for (size_t i = 0; i < n; i++)
		if (res[i].outcome == LMTP_DEFERRED) {
			m->left++;
			if (m->first_err == NULL)
				m->first_err = res[i].reply;
		}
	if (m->first_err)
		local_schedule(ld, due_at, m);
	lmtp_bounce(ld, m, rcpts, res, n);
	for (size_t i = 0; i < n; i++) {
		if (res[i].outcome != LMTP_DEFERRED && m->left > 0 &&
		    spool_entry_mark_done(ld->sp, m->e.id, rcpts[i]) < 0)
			log_err("id=%s event=state_write_failed reason=\"%s\"", m->e.id,
				strerror(errno));
		lmtp_log(conn, m, rcpts[i], &res[i]);
	}
	free(res);
	free(rcpts);
	bool done = n > 0 && m->left == 0;
	if (!done)
		spool_entry_free(&m->e);
	return done;
}

/* One batch, shared by its threads: each takes the next message. */
struct lmtp_batch {
	struct local_delivery *ld;
	const char *const *ids;
	size_t n;
	atomic_size_t next;
	struct local_msg *msgs; /* n slots, one per id */
	bool *done;		/* n flags: remove msgs[i] */
};

struct lmtp_worker {
	struct lmtp_batch *b;
	struct local_lmtp *conn;
	int64_t due_at;
	pthread_t thread;
};

static void *
lmtp_worker_main(void *arg)
{
	struct lmtp_worker *w = arg;
	struct lmtp_batch *b = w->b;
	for (;;) {
		size_t i = atomic_fetch_add(&b->next, 1);
		if (i >= b->n || atomic_load(&b->ld->stop))
			break;
		b->done[i] = lmtp_message(b->ld, w->conn, &b->msgs[i], b->ids[i], &w->due_at);
	}
	return NULL;
}

/* Remove the batch's finished messages with one directory sync. */
static void
lmtp_settle(struct local_delivery *ld, struct lmtp_batch *b)
{
	const char **ids = xcalloc(b->n ? b->n : 1, sizeof *ids);
	int *errs = xcalloc(b->n ? b->n : 1, sizeof *errs);
	size_t k = 0;
	for (size_t i = 0; i < b->n; i++)
		if (b->done[i])
			ids[k++] = b->msgs[i].e.id;
	int rc = k ? spool_entries_remove(ld->sp, ids, k, errs) : 0;
	int sync_err = errno;
	for (size_t i = 0; i < k; i++) {
		if (rc == 0 && errs[i] == 0)
			log_info("id=%s event=removed", ids[i]);
		else
			log_err("id=%s event=remove_failed reason=\"%s\"", ids[i],
				strerror(rc < 0 ? sync_err : errs[i]));
	}
	for (size_t i = 0; i < b->n; i++)
		if (b->done[i])
			spool_entry_free(&b->msgs[i].e);
	free(errs);
	free(ids);
}

/* One batch over up to nlmtp connections; the earliest retry it scheduled. */
static int64_t
lmtp_batch_run(struct local_delivery *ld, const char *const *ids, size_t n, struct local_msg *msgs,
	       bool *done)
{
	struct lmtp_batch b = {.ld = ld, .ids = ids, .n = n, .msgs = msgs, .done = done};
	atomic_init(&b.next, 0);
	memset(done, 0, n * sizeof *done);
	struct lmtp_worker w[LOCAL_LMTP_CONNECTIONS];
	size_t k = n < ld->nlmtp ? n : ld->nlmtp, started = 1;
	for (size_t i = 0; i < k; i++)
		w[i] = (struct lmtp_worker){.b = &b, .conn = ld->lmtp[i]};
	/* Thread 0 is this one; a thread that cannot start leaves its share to the others. */
	for (size_t i = 1; i < k; i++) {
		int rc = pthread_create(&w[i].thread, NULL, lmtp_worker_main, &w[i]);
		if (rc != 0) {
			log_warn("event=lmtp_thread_failed reason=\"%s\" note=\"fewer LMTP "
				 "connections this batch\"",
				 strerror(rc));
			break;
		}
		started++;
	}
	lmtp_worker_main(&w[0]);
	int64_t due_at = w[0].due_at;
	for (size_t i = 1; i < started; i++) {
		pthread_join(w[i].thread, NULL);
		if (w[i].due_at && (due_at == 0 || w[i].due_at < due_at))
			due_at = w[i].due_at;
	}
	lmtp_settle(ld, &b);
	return due_at;
}

int64_t
local_lmtp_process(struct local_delivery *ld, const char *const *ids, size_t n)
{
	struct local_msg *msgs = xcalloc(LOCAL_BATCH_MAX, sizeof *msgs);
	bool done[LOCAL_BATCH_MAX];
	int64_t due_at = 0;
	for (size_t i = 0; i < n && !atomic_load(&ld->stop); i += LOCAL_BATCH_MAX) {
		size_t k = n - i < LOCAL_BATCH_MAX ? n - i : LOCAL_BATCH_MAX;
		int64_t d = lmtp_batch_run(ld, ids + i, k, msgs, done);
		if (d && (due_at == 0 || d < due_at))
			due_at = d;
	}
	free(msgs);
	return due_at;
}
