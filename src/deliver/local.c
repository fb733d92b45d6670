/*
 * local: the local delivery agent thread (local.h).
 *
 * Work comes from four places: kicks (a message was just committed), a
 * scan of the whole queue at start (recovery after a crash), a rescan
 * every LOCAL_RESCAN_SECONDS (retries of deferred mailboxes, and anything a
 * lost kick missed), and a rescan on request (`mailport queue flush`).
 * Processing a message twice is harmless: delivered recipients are in the
 * spool's .state, so a kick and a scan may overlap.
 * Per recipient the order is deliver (durable), then mark done (durable):
 * a crash in between delivers that one recipient again, never loses it.
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

#include "log.h"
#include "maildir.h"
#include "spool.h"
#include "str.h"
#include "xmalloc.h"

#define LOCAL_RESCAN_SECONDS 60
/* More kicks than this waiting: drop them and do one full scan instead. */
#define LOCAL_KICK_MAX 10000

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
	bool want_scan;
	atomic_bool stop;
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

/* Deliver one local recipient; true when it no longer needs delivering. */
static bool
local_deliver_rcpt(struct local_delivery *ld, const struct spool_entry *e, const char *rcpt)
{
	char err[1024], box[4096], rcpt_esc[1024], box_esc[1024], err_esc[1024];
	long long delay = (long long)(time(NULL) - e->arrival);
	str_escape(rcpt_esc, sizeof rcpt_esc, rcpt, strlen(rcpt));
	if (maildir_deliver(ld->mailbox_dir, rcpt, e->from, e->path, e->body_offset, err,
			    sizeof err) < 0) {
		str_escape(err_esc, sizeof err_esc, err, strlen(err));
		log_warn("id=%s to=<%s> relay=local status=deferred delay=%lld reason=\"%s\"",
			 e->id, rcpt_esc, delay, err_esc);
		return false;
	}
	maildir_path_for(ld->mailbox_dir, rcpt, box, sizeof box);
	str_escape(box_esc, sizeof box_esc, box, strlen(box));
	log_info("id=%s event=delivered to=<%s> relay=local mailbox=%s status=sent delay=%lld",
		 e->id, rcpt_esc, box_esc, delay);
	/* Delivered either way: if the record fails, removing the message below
	 * still prevents a second delivery; only a message that stays queued
	 * would deliver this recipient again. */
	if (spool_entry_mark_done(ld->sp, e->id, rcpt) < 0)
		log_err("id=%s to=<%s> event=state_write_failed reason=\"%s\"", e->id, rcpt_esc,
			strerror(errno));
	return true;
}

static void
local_process(struct local_delivery *ld, const char *qid)
{
	struct spool_entry e;
	if (spool_entry_read(ld->sp, qid, &e) < 0) {
		if (errno != ENOENT) /* gone: delivered or deleted meanwhile */
			log_warn("id=%s event=unreadable reason=\"%s\"", qid, strerror(errno));
		return;
	}
	size_t left = 0;
	for (size_t i = 0; i < e.nrcpts; i++) {
		const char *rcpt = e.rcpts[i];
		if (local_rcpt_is_local(ld, rcpt)) {
			if (!local_deliver_rcpt(ld, &e, rcpt))
				left++;
			continue;
		}
		left++; /* the outbound agent's, which logs its own attempts */
	}
	if (left == 0) {
		if (spool_entry_remove(ld->sp, qid) == 0)
			log_info("id=%s event=removed", qid);
		else
			log_err("id=%s event=remove_failed reason=\"%s\"", qid, strerror(errno));
	}
	spool_entry_free(&e);
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
	for (size_t i = 0; i < n && !atomic_load(&ld->stop); i++)
		local_process(ld, ids[i]);
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
		char(*work)[SPOOL_QID_SIZE] = ld->kicked;
		size_t nwork = ld->nkicked;
		ld->kicked = NULL;
		ld->nkicked = ld->kick_cap = 0;
		ld->want_scan = false;
		pthread_mutex_unlock(&ld->mu);
		/* A scan covers the kicked messages too. */
		for (size_t i = 0; i < nwork && !scan && !atomic_load(&ld->stop); i++)
			local_process(ld, work[i]);
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
