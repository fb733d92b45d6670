/*
 * local: the local delivery agent thread (local.h).
 *
 * Work comes from four places: kicks (a message was just committed), a
 * scan of the whole queue at start (recovery after a crash), a scan when
 * a message's retry time comes (and every LOCAL_RESCAN_SECONDS for
 * anything a lost kick missed), and a scan on request (`mailport queue
 * flush`). A kick delivers at once; the other scans pass over a message
 * whose retry time has not come, except the flush.
 * Work is done in batches (LOCAL_BATCH_MAX): every local recipient's file
 * is written, then all are made durable together (maildir_batch_commit);
 * only then is the queue told: a message with no recipient left is removed
 * (the whole batch with one directory sync), the others get their
 * delivered recipients marked done in .state.
 * Exactly once: a recipient's file is named after the message and the
 * recipient (local_key), the same name at every attempt. A crash between
 * the Maildir and the queue leaves the message queued; the next attempt
 * finds the file (the move into new/ refuses to replace it, and a scan
 * also looks in cur/, where a mail reader moves it) and counts it as
 * delivered instead of making a second copy. A kick's message was never
 * attempted, so only scans look.
 * A recipient that cannot be delivered (a full disk, a broken mailbox)
 * gives the message the same retry schedule as remote mail (spool_retry:
 * retry-interval doubling up to retry-max-interval), which `mailport queue`
 * shows with the last error.
 * Only this thread touches the spool entries it delivers; the
 * mutex guards the kick list, the retry policy and the stop flag.
 */
#include "local.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "delivery_metrics.h"
#include "group_sync.h"
#include "local_int.h"
#include "local_lmtp.h"
#include "log.h"
#include "maildir.h"
#include "spool.h"
#include "str.h"
#include "xmalloc.h"

#define LOCAL_RESCAN_SECONDS 60
/* More kicks than this waiting: drop them and do one full scan instead. */
#define LOCAL_KICK_MAX 10000
/*
 * A kick waits this long for others to join its batch. One message at a
 * time costs three disk flushes (its file, new/, queue/); they would
 * compete with the spool's commits, which hold up the 250s. Under load the
 * batches fill while the previous one is written, and nothing waits.
 */
#define LOCAL_GATHER_NSEC (10 * 1000 * 1000)

bool
local_rcpt_is_local(struct local_delivery *ld, const char *rcpt)
{
	char domain[SMTP_DOMAIN_MAX + 1];
	const char *at = strrchr(rcpt, '@');
	if (at == NULL || !str_copy(domain, sizeof domain, at + 1))
		return false;
	str_lower(domain);
	return ld->is_local(domain, ld->arg);
}

/* One recipient of a batch: its message, and its file in the Maildir batch. */
struct local_rcpt {
	size_t msg;
	const char *rcpt;
	int file; /* index in the maildir batch, -1 when the write failed */
	char err[1024];
};

struct local_batch {
	bool look;	/* files may exist from before (a scan, not a kick) */
	int64_t due_at; /* the earliest retry this batch scheduled, 0 for none */
	struct local_msg msgs[LOCAL_BATCH_MAX];
	size_t nmsgs;
	struct local_rcpt *rcpts;
	size_t nrcpts, rcpt_cap;
	struct maildir_batch *files;
};

static void
log_deferred(const struct local_msg *m, const char *rcpt, const char *err)
{
	char rcpt_esc[1024], err_esc[1024];
	const struct spool_entry *e = &m->e;
	str_escape(rcpt_esc, sizeof rcpt_esc, rcpt, strlen(rcpt));
	str_escape(err_esc, sizeof err_esc, err, strlen(err));
	delivery_metrics_note(DELIVERY_LOCAL, DELIVERY_DEFERRED,
			      (int64_t)(time(NULL) - e->arrival));
	log_warn("id=%s to=<%s> relay=local status=deferred delay=%lld attempts=%u "
		 "next_attempt=%" PRId64 " reason=\"%s\"",
		 e->id, rcpt_esc, (long long)(time(NULL) - e->arrival), m->rs.attempts,
		 m->rs.next_attempt, err_esc);
}

static void
log_delivered(struct local_delivery *ld, const struct spool_entry *e, const char *rcpt,
	      bool was_there)
{
	char box[4096], rcpt_esc[1024], box_esc[1024];
	str_escape(rcpt_esc, sizeof rcpt_esc, rcpt, strlen(rcpt));
	maildir_path_for(ld->mailbox_dir, rcpt, box, sizeof box);
	str_escape(box_esc, sizeof box_esc, box, strlen(box));
	delivery_metrics_note(DELIVERY_LOCAL, DELIVERY_SENT, (int64_t)(time(NULL) - e->arrival));
	log_info("id=%s event=delivered to=<%s> relay=local mailbox=%s status=sent delay=%lld%s",
		 e->id, rcpt_esc, box_esc, (long long)(time(NULL) - e->arrival),
		 was_there ? " note=\"found in the mailbox: delivered before a restart, not "
			     "again\""
			   : "");
}

/*
 * The Maildir name of rcpt's copy of e, without the host: the same at
 * every attempt. The arrival time leads, as the Maildir spec's time does;
 * the recipient is hashed (FNV-1a, 64 bits) to keep the name short and
 * free of the address's bytes.
 */
static void
local_key(const struct spool_entry *e, const char *rcpt, char *out, size_t size)
{
	uint64_t h = 14695981039346656037ULL;
	for (const unsigned char *p = (const unsigned char *)rcpt; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	snprintf(out, size, "%" PRId64 ".Q%sR%016" PRIx64, e->arrival, e->id, h);
}

/* Read one message and write a Maildir file for each local recipient. */
static void
batch_add(struct local_delivery *ld, struct local_batch *b, const char *qid)
{
	for (size_t i = 0; i < b->nmsgs; i++)
		if (strcmp(b->msgs[i].e.id, qid) == 0)
			return; /* named twice: one delivery is enough */
	struct local_msg *m = &b->msgs[b->nmsgs];
	if (spool_entry_read(ld->sp, qid, &m->e) < 0) {
		if (errno != ENOENT) /* gone: delivered or deleted meanwhile */
			log_warn("id=%s event=unreadable reason=\"%s\"", qid, strerror(errno));
		return;
	}
	m->left = 0;
	m->first_err = NULL;
	m->scheduled = spool_retry_read(ld->sp, qid, &m->rs) == 0;
	for (size_t i = 0; i < m->e.nrcpts; i++) {
		const char *rcpt = m->e.rcpts[i];
		if (!local_rcpt_is_local(ld, rcpt)) {
			m->left++; /* the outbound agent's, which logs its own attempts */
			continue;
		}
		if (b->nrcpts == b->rcpt_cap) {
			b->rcpt_cap = b->rcpt_cap ? b->rcpt_cap * 2 : 64;
			b->rcpts = xrealloc(b->rcpts, b->rcpt_cap * sizeof *b->rcpts);
		}
		struct local_rcpt *r = &b->rcpts[b->nrcpts++];
		r->msg = b->nmsgs;
		r->rcpt = rcpt;
		char key[128];
		local_key(&m->e, rcpt, key, sizeof key);
		r->file = maildir_batch_add(b->files, rcpt, m->e.from, m->e.path, m->e.body_offset,
					    key, b->look, r->err, sizeof r->err);
	}
	b->nmsgs++;
}

/*
 * A local recipient of m was deferred: the message's retry schedule (the
 * one remote delivery keeps too) gets this attempt, the next one and the
 * error. Local delivery has no bounce: past queue-lifetime it goes on
 * trying every retry-max-interval, and the log says so.
 */
void
local_schedule(struct local_delivery *ld, int64_t *due_at, struct local_msg *m)
{
	int64_t now = (int64_t)time(NULL), next;
	pthread_mutex_lock(&ld->mu);
	struct retry_policy p = ld->retry;
	pthread_mutex_unlock(&ld->mu);
	m->rs.attempts = m->scheduled ? m->rs.attempts + 1 : 1;
	str_copy(m->rs.id, sizeof m->rs.id, m->e.id);
	if (retry_next(&p, m->rs.attempts, now, m->e.arrival, &next) == RETRY_EXPIRED) {
		next = now + (int64_t)(p.max_interval ? p.max_interval : 1);
		log_warn("id=%s event=local_expired attempts=%u note=\"past queue-lifetime; local "
			 "delivery keeps trying every retry-max-interval\" fix=\"repair the "
			 "mailbox (see the reason of the deferrals), or mailport queue delete "
			 "%s\"",
			 m->e.id, m->rs.attempts, m->e.id);
	}
	m->rs.next_attempt = next;
	str_copy(m->rs.last_error, sizeof m->rs.last_error, m->first_err);
	if (spool_retry_write(ld->sp, &m->rs) < 0)
		log_warn("id=%s event=retry_write_failed reason=\"%s\"", m->e.id, strerror(errno));
	if (*due_at == 0 || next < *due_at)
		*due_at = next;
}

/*
 * Make the batch's files durable, then settle the queue: a message with
 * nothing left is removed (all of them with one directory sync); the
 * delivered recipients of the others are recorded in their .state.
 */
static void
batch_finish(struct local_delivery *ld, struct local_batch *b)
{
	maildir_batch_commit(b->files);
	for (size_t i = 0; i < b->nrcpts; i++) {
		struct local_rcpt *r = &b->rcpts[i];
		if (r->file >= 0 &&
		    maildir_batch_result(b->files, (size_t)r->file, r->err, sizeof r->err) < 0)
			r->file = -1;
		if (r->file < 0) {
			b->msgs[r->msg].left++;
			if (b->msgs[r->msg].first_err == NULL)
				b->msgs[r->msg].first_err = r->err;
		}
	}
	for (size_t i = 0; i < b->nmsgs; i++)
		if (b->msgs[i].first_err)
			local_schedule(ld, &b->due_at, &b->msgs[i]);
	/* The queue is settled first and the log written after, so that a kill
	 * finds as few delivered messages as possible still queued. */
	/* Delivered either way: if a record fails, removing the message later
	 * still prevents a second delivery; only a message that stays queued
	 * would deliver that recipient again. */
	for (size_t i = 0; i < b->nrcpts; i++) {
		struct local_rcpt *r = &b->rcpts[i];
		const struct spool_entry *e = &b->msgs[r->msg].e;
		if (r->file >= 0 && b->msgs[r->msg].left > 0 &&
		    spool_entry_mark_done(ld->sp, e->id, r->rcpt) < 0) {
			char rcpt_esc[1024];
			str_escape(rcpt_esc, sizeof rcpt_esc, r->rcpt, strlen(r->rcpt));
			log_err("id=%s to=<%s> event=state_write_failed reason=\"%s\"", e->id,
				rcpt_esc, strerror(errno));
		}
	}
	const char *ids[LOCAL_BATCH_MAX];
	int errs[LOCAL_BATCH_MAX];
	size_t nids = 0;
	for (size_t i = 0; i < b->nmsgs; i++)
		if (b->msgs[i].left == 0)
			ids[nids++] = b->msgs[i].e.id;
	int rc = spool_entries_remove(ld->sp, ids, nids, errs);
	int sync_err = errno;
	log_hold();
	for (size_t i = 0; i < b->nrcpts; i++) {
		struct local_rcpt *r = &b->rcpts[i];
		if (r->file < 0)
			log_deferred(&b->msgs[r->msg], r->rcpt, r->err);
		else
			log_delivered(ld, &b->msgs[r->msg].e, r->rcpt,
				      maildir_batch_was_there(b->files, (size_t)r->file));
	}
	for (size_t i = 0; i < nids; i++) {
		if (rc == 0 && errs[i] == 0)
			log_info("id=%s event=removed", ids[i]);
		else
			log_err("id=%s event=remove_failed reason=\"%s\"", ids[i],
				strerror(rc < 0 ? sync_err : errs[i]));
	}
	log_release();
	for (size_t i = 0; i < b->nmsgs; i++)
		spool_entry_free(&b->msgs[i].e);
	b->nmsgs = b->nrcpts = 0;
	maildir_batch_free(&b->files);
	b->files = maildir_batch_new(ld->mailbox_dir, &ld->gsync);
}

/*
 * Deliver the messages named by ids, LOCAL_BATCH_MAX at a time; look: they
 * may have been delivered before (see the top). Returns the earliest retry
 * it scheduled, 0 for none.
 */
static int64_t
local_process(struct local_delivery *ld, const char *const *ids, size_t n, bool look)
{
	if (ld->nlmtp)
		return local_lmtp_process(ld, ids, n); /* the LMTP server keeps its own once-only */
	struct local_batch *b = xcalloc(1, sizeof *b);
	b->look = look;
	b->files = maildir_batch_new(ld->mailbox_dir, &ld->gsync);
	for (size_t i = 0; i < n && !atomic_load(&ld->stop); i++) {
		batch_add(ld, b, ids[i]);
		if (b->nmsgs == LOCAL_BATCH_MAX || maildir_batch_count(b->files) >= LOCAL_BATCH_MAX)
			batch_finish(ld, b);
	}
	/* Stopping or not, what was written is finished: no half batch is left. */
	if (b->nmsgs)
		batch_finish(ld, b);
	int64_t due_at = b->due_at;
	maildir_batch_free(&b->files);
	free(b->rcpts);
	free(b);
	return due_at;
}

static int64_t
earlier(int64_t a, int64_t b)
{
	return a == 0 || (b != 0 && b < a) ? b : a;
}

/*
 * The whole queue, but the messages whose retry time has not come (all of
 * them when force). Returns the earliest retry time still ahead, 0 for none.
 */
static int64_t
local_scan(struct local_delivery *ld, bool force)
{
	char **ids;
	size_t n, ndue = 0;
	int64_t now = (int64_t)time(NULL), due_at = 0;
	if (spool_list(ld->sp, &ids, &n) < 0) {
		log_err("event=queue_scan_failed reason=\"%s\"", strerror(errno));
		return now + LOCAL_RESCAN_SECONDS;
	}
	const char **due = xmalloc((n ? n : 1) * sizeof *due);
	for (size_t i = 0; i < n; i++) {
		struct spool_retry rs;
		if (!force && spool_retry_read(ld->sp, ids[i], &rs) == 0 && rs.next_attempt > now) {
			due_at = earlier(due_at, rs.next_attempt);
			continue;
		}
		due[ndue++] = ids[i];
	}
	due_at = earlier(due_at, local_process(ld, due, ndue, true));
	free(due);
	spool_ids_free(ids, n);
	return due_at;
}

/* Has the monotonic time t come? */
static bool
reached(const struct timespec *now, const struct timespec *t)
{
	return now->tv_sec > t->tv_sec || (now->tv_sec == t->tv_sec && now->tv_nsec >= t->tv_nsec);
}

/*
 * When to scan next (monotonic, now being the clock's reading): the
 * periodic rescan, or the earliest retry time (unix seconds) before it.
 */
static struct timespec
next_scan(const struct timespec *now, const struct timespec *periodic, int64_t due_at)
{
	if (due_at == 0)
		return *periodic;
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	int64_t wait_ns = (due_at - (int64_t)wall.tv_sec) * 1000000000LL - wall.tv_nsec;
	if (wait_ns < 0)
		wait_ns = 0;
	int64_t ns = now->tv_nsec + wait_ns % 1000000000LL;
	struct timespec due = {now->tv_sec + (time_t)(wait_ns / 1000000000LL + ns / 1000000000LL),
			       (long)(ns % 1000000000LL)};
	return reached(&due, periodic) ? *periodic : due;
}

static void *
local_main(void *arg)
{
	struct local_delivery *ld = arg;
	struct timespec now, periodic = {0, 0}; /* scan at once: recovery */
	pthread_mutex_lock(&ld->mu);
	while (!atomic_load(&ld->stop)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		struct timespec next = next_scan(&now, &periodic, ld->due_at);
		bool scan = ld->want_scan || reached(&now, &next);
		if (ld->nkicked == 0 && !scan) {
			/* Kept LMTP connections are closed after LOCAL_LMTP_IDLE_SECONDS of
			 * no work: each holds a server process (Dovecot: one per connection). */
			struct timespec idle = now;
			idle.tv_sec += LOCAL_LMTP_IDLE_SECONDS;
			bool close_idle = ld->lmtp_kept && reached(&next, &idle);
			if (pthread_cond_timedwait(&ld->cond, &ld->mu,
						   close_idle ? &idle : &next) == ETIMEDOUT &&
			    close_idle && ld->nkicked == 0 && !ld->want_scan) {
				ld->lmtp_kept = false;
				pthread_mutex_unlock(&ld->mu);
				for (size_t i = 0; i < ld->nlmtp; i++)
					local_lmtp_close(ld->lmtp[i]);
				pthread_mutex_lock(&ld->mu);
			}
			continue;
		}
		bool gathered = ld->nkicked >= LOCAL_BATCH_MAX || reached(&now, &ld->gather_until);
		if (!scan && !gathered) {
			pthread_cond_timedwait(&ld->cond, &ld->mu, &ld->gather_until);
			continue;
		}
		char(*work)[SPOOL_QID_SIZE] = ld->kicked;
		size_t nwork = ld->nkicked;
		bool flush = ld->want_flush;
		ld->kicked = NULL;
		ld->nkicked = ld->kick_cap = 0;
		ld->want_scan = ld->want_flush = false;
		pthread_mutex_unlock(&ld->mu);
		/* Kicked messages first, due or not: a kick is a first attempt,
		 * whatever schedule the remote agent may have written meanwhile. */
		const char **ids = xmalloc((nwork ? nwork : 1) * sizeof *ids);
		for (size_t i = 0; i < nwork; i++)
			ids[i] = work[i];
		int64_t due_at = local_process(ld, ids, nwork, false);
		free(ids);
		if (scan) {
			due_at = earlier(due_at, local_scan(ld, flush));
			clock_gettime(CLOCK_MONOTONIC, &periodic);
			periodic.tv_sec += LOCAL_RESCAN_SECONDS;
		}
		free(work);
		pthread_mutex_lock(&ld->mu);
		ld->lmtp_kept = ld->nlmtp > 0;
		/* A scan knows every schedule; a kick's batch only adds its own. */
		ld->due_at = scan ? due_at : earlier(ld->due_at, due_at);
	}
	pthread_mutex_unlock(&ld->mu);
	return NULL;
}

struct local_delivery *
local_delivery_start(struct spool *sp, const struct local_config *lc)
{
	struct local_delivery *ld = xcalloc(1, sizeof *ld);
	group_sync_init(&ld->gsync, "mailboxes");
	ld->sp = sp;
	ld->mailbox_dir = xstrdup(lc->mailbox_dir ? lc->mailbox_dir : "");
	if (lc->lmtp)
		for (; ld->nlmtp < LOCAL_LMTP_CONNECTIONS; ld->nlmtp++)
			ld->lmtp[ld->nlmtp] =
			    local_lmtp_new(lc->lmtp, lc->hostname, lc->lmtp_timeout);
	str_copy(ld->hostname, sizeof ld->hostname, lc->hostname ? lc->hostname : "localhost");
	ld->retry = lc->retry;
	ld->is_local = lc->is_local;
	ld->queued = lc->queued;
	ld->arg = lc->arg;
	atomic_init(&ld->stop, false);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ld->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&ld->mu, NULL);
	int rc = pthread_create(&ld->thread, NULL, local_main, ld);
	if (rc != 0) {
		log_err("event=local_delivery_failed reason=\"cannot start a thread: %s\"",
			strerror(rc));
		pthread_cond_destroy(&ld->cond);
		pthread_mutex_destroy(&ld->mu);
		for (size_t i = 0; i < ld->nlmtp; i++)
			local_lmtp_free(&ld->lmtp[i]);
		free(ld->mailbox_dir);
		free(ld);
		return NULL;
	}
	return ld;
}

void
local_delivery_set_retry(struct local_delivery *ld, const struct retry_policy *retry)
{
	if (ld == NULL)
		return;
	pthread_mutex_lock(&ld->mu);
	ld->retry = *retry;
	pthread_mutex_unlock(&ld->mu);
}

void
local_delivery_kick(struct local_delivery *ld, const char *qid)
{
	/* Stopped already (shutdown commits still finishing): the scan at the
	 * next start delivers it. */
	if (ld == NULL || strlen(qid) != SPOOL_QID_SIZE - 1)
		return;
	pthread_mutex_lock(&ld->mu);
	if (ld->nkicked >= LOCAL_KICK_MAX) {
		ld->want_scan = true;
	} else {
		if (ld->nkicked == ld->kick_cap) {
			ld->kick_cap = ld->kick_cap ? ld->kick_cap * 2 : 16;
			ld->kicked = xrealloc(ld->kicked, ld->kick_cap * SPOOL_QID_SIZE);
		}
		str_copy(ld->kicked[ld->nkicked++], SPOOL_QID_SIZE, qid);
	}
	if (ld->nkicked == 1) {
		clock_gettime(CLOCK_MONOTONIC, &ld->gather_until);
		ld->gather_until.tv_nsec += LOCAL_GATHER_NSEC;
		if (ld->gather_until.tv_nsec >= 1000000000L) {
			ld->gather_until.tv_sec++;
			ld->gather_until.tv_nsec -= 1000000000L;
		}
	}
	/* The thread wakes for the first kick (to wait for the batch to
	 * gather), a full batch or a scan; the others only join. */
	if (ld->nkicked == 1 || ld->nkicked == LOCAL_BATCH_MAX || ld->want_scan)
		pthread_cond_signal(&ld->cond);
	pthread_mutex_unlock(&ld->mu);
}

void
local_delivery_rescan(struct local_delivery *ld)
{
	if (ld == NULL)
		return;
	/* The thread wakes, sees want_scan and scans at once; several requests
	 * before it wakes make one scan. */
	pthread_mutex_lock(&ld->mu);
	ld->want_scan = ld->want_flush = true;
	pthread_cond_signal(&ld->cond);
	pthread_mutex_unlock(&ld->mu);
}

void
local_delivery_stop(struct local_delivery **ldp)
{
	struct local_delivery *ld = *ldp;
	if (ld == NULL)
		return;
	pthread_mutex_lock(&ld->mu);
	atomic_store(&ld->stop, true);
	pthread_cond_signal(&ld->cond);
	pthread_mutex_unlock(&ld->mu);
	pthread_join(ld->thread, NULL);
	pthread_cond_destroy(&ld->cond);
	pthread_mutex_destroy(&ld->mu);
	free(ld->kicked);
	for (size_t i = 0; i < ld->nlmtp; i++)
		local_lmtp_free(&ld->lmtp[i]);
	free(ld->mailbox_dir);
	free(ld);
	*ldp = NULL;
}
