/*
 * local: the local delivery agent thread (local.h).
 *
 * Work comes from four places: kicks (a message was just committed), a
 * scan of the whole queue at start (recovery after a crash), a rescan
 * every LOCAL_RESCAN_SECONDS (retries of deferred mailboxes, and anything a
 * lost kick missed), and a rescan on request (`mailport queue flush`).
 * Processing a message twice is harmless: delivered recipients are in the
 * spool's .state, so a kick and a scan may overlap.
 * Work is done in batches (LOCAL_BATCH_MAX): every local recipient's file
 * is written, then all are made durable together (maildir_batch_commit);
 * only then is the queue told: a message with no recipient left is removed
 * (the whole batch with one directory sync), the others get their
 * delivered recipients marked done in .state. A crash in between delivers
 * those recipients again, never loses one.
 * Only this thread touches the spool entries it delivers; the
 * mutex guards the kick list and the stop flag.
 */
#include "local.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "group_sync.h"
#include "log.h"
#include "maildir.h"
#include "spool.h"
#include "str.h"
#include "xmalloc.h"

#define LOCAL_RESCAN_SECONDS 60
/* More kicks than this waiting: drop them and do one full scan instead. */
#define LOCAL_KICK_MAX 10000
/*
 * Messages delivered together: their Maildir files are synced together and
 * the fully delivered ones leave the queue with one directory sync. It
 * bounds the open files of a batch (one per recipient) and the deliveries
 * repeated after a crash in the middle of one.
 */
#define LOCAL_BATCH_MAX 128
/*
 * A kick waits this long for others to join its batch. One message at a
 * time costs three disk flushes (its file, new/, queue/); they would
 * compete with the spool's commits, which hold up the 250s. Under load the
 * batches fill while the previous one is written, and nothing waits.
 */
#define LOCAL_GATHER_NSEC (10 * 1000 * 1000)

struct local_delivery {
	struct spool *sp;
	char *mailbox_dir;
	bool (*is_local)(const char *domain, void *arg);
	void *arg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond; /* on CLOCK_MONOTONIC */
	char (*kicked)[SPOOL_QID_SIZE];
	size_t nkicked, kick_cap;
	struct timespec gather_until; /* the first waiting kick's batch starts then */
	bool want_scan;
	atomic_bool stop;
	struct group_sync gsync; /* a batch's Maildir files: one syncfs while cheap */
};

static bool
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

/* One message of a batch. */
struct local_msg {
	struct spool_entry e;
	size_t left; /* recipients still queued after this batch */
};

struct local_batch {
	struct local_msg msgs[LOCAL_BATCH_MAX];
	size_t nmsgs;
	struct local_rcpt *rcpts;
	size_t nrcpts, rcpt_cap;
	struct maildir_batch *files;
};

static void
log_deferred(const struct spool_entry *e, const char *rcpt, const char *err)
{
	char rcpt_esc[1024], err_esc[1024];
	str_escape(rcpt_esc, sizeof rcpt_esc, rcpt, strlen(rcpt));
	str_escape(err_esc, sizeof err_esc, err, strlen(err));
	log_warn("id=%s to=<%s> relay=local status=deferred delay=%lld reason=\"%s\"", e->id,
		 rcpt_esc, (long long)(time(NULL) - e->arrival), err_esc);
}

static void
log_delivered(struct local_delivery *ld, const struct spool_entry *e, const char *rcpt)
{
	char box[4096], rcpt_esc[1024], box_esc[1024];
	str_escape(rcpt_esc, sizeof rcpt_esc, rcpt, strlen(rcpt));
	maildir_path_for(ld->mailbox_dir, rcpt, box, sizeof box);
	str_escape(box_esc, sizeof box_esc, box, strlen(box));
	log_info("id=%s event=delivered to=<%s> relay=local mailbox=%s status=sent delay=%lld",
		 e->id, rcpt_esc, box_esc, (long long)(time(NULL) - e->arrival));
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
		r->file = maildir_batch_add(b->files, rcpt, m->e.from, m->e.path, m->e.body_offset,
					    r->err, sizeof r->err);
	}
	b->nmsgs++;
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
		if (r->file < 0)
			b->msgs[r->msg].left++;
	}
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
			log_deferred(&b->msgs[r->msg].e, r->rcpt, r->err);
		else
			log_delivered(ld, &b->msgs[r->msg].e, r->rcpt);
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

/* Deliver the messages named by ids, LOCAL_BATCH_MAX at a time. */
static void
local_process(struct local_delivery *ld, const char *const *ids, size_t n)
{
	struct local_batch *b = xcalloc(1, sizeof *b);
	b->files = maildir_batch_new(ld->mailbox_dir, &ld->gsync);
	for (size_t i = 0; i < n && !atomic_load(&ld->stop); i++) {
		batch_add(ld, b, ids[i]);
		if (b->nmsgs == LOCAL_BATCH_MAX || maildir_batch_count(b->files) >= LOCAL_BATCH_MAX)
			batch_finish(ld, b);
	}
	/* Stopping or not, what was written is finished: no half batch is left. */
	if (b->nmsgs)
		batch_finish(ld, b);
	maildir_batch_free(&b->files);
	free(b->rcpts);
	free(b);
}

static void
local_scan(struct local_delivery *ld)
{
	char **ids;
	size_t n;
	if (spool_list(ld->sp, &ids, &n) < 0) {
		log_err("event=queue_scan_failed reason=\"%s\"", strerror(errno));
		return;
	}
	local_process(ld, (const char *const *)ids, n);
	spool_ids_free(ids, n);
}

static void *
local_main(void *arg)
{
	struct local_delivery *ld = arg;
	struct timespec now, next = {0, 0}; /* scan at once: recovery */
	pthread_mutex_lock(&ld->mu);
	while (!atomic_load(&ld->stop)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		bool scan = ld->want_scan || now.tv_sec >= next.tv_sec;
		if (ld->nkicked == 0 && !scan) {
			pthread_cond_timedwait(&ld->cond, &ld->mu, &next);
			continue;
		}
		bool gathered = ld->nkicked >= LOCAL_BATCH_MAX ||
				now.tv_sec > ld->gather_until.tv_sec ||
				(now.tv_sec == ld->gather_until.tv_sec &&
				 now.tv_nsec >= ld->gather_until.tv_nsec);
		if (!scan && !gathered) {
			pthread_cond_timedwait(&ld->cond, &ld->mu, &ld->gather_until);
			continue;
		}
		char(*work)[SPOOL_QID_SIZE] = ld->kicked;
		size_t nwork = ld->nkicked;
		ld->kicked = NULL;
		ld->nkicked = ld->kick_cap = 0;
		ld->want_scan = false;
		pthread_mutex_unlock(&ld->mu);
		/* A scan covers the kicked messages too. */
		if (!scan) {
			const char **ids = xmalloc((nwork ? nwork : 1) * sizeof *ids);
			for (size_t i = 0; i < nwork; i++)
				ids[i] = work[i];
			local_process(ld, ids, nwork);
			free(ids);
		}
		free(work);
		if (scan) {
			local_scan(ld);
			clock_gettime(CLOCK_MONOTONIC, &next);
			next.tv_sec += LOCAL_RESCAN_SECONDS;
		}
		pthread_mutex_lock(&ld->mu);
	}
	pthread_mutex_unlock(&ld->mu);
	return NULL;
}

struct local_delivery *
local_delivery_start(struct spool *sp, const char *mailbox_dir,
		     bool (*is_local)(const char *domain, void *arg), void *arg)
{
	struct local_delivery *ld = xcalloc(1, sizeof *ld);
	group_sync_init(&ld->gsync, "mailboxes");
	ld->sp = sp;
	ld->mailbox_dir = xstrdup(mailbox_dir);
	ld->is_local = is_local;
	ld->arg = arg;
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
		free(ld->mailbox_dir);
		free(ld);
		return NULL;
	}
	return ld;
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
	ld->want_scan = true;
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
	free(ld->mailbox_dir);
	free(ld);
	*ldp = NULL;
}
