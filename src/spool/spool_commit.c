/*
 * spool_commit: making committed messages durable (spool.h,
 * spool_msg_commit). Committing is a pipeline: a few worker threads each
 * take a waiting message and write its file, in parallel; the syncer
 * thread takes every file written so far, makes all of them durable with
 * one syncfs() of the spool's filesystem, renames them into queue/ and
 * fsyncs queue/ once for all of them (group commit), while the workers go
 * on with the next ones. While syncfs is slow (see group_sync.h) each
 * worker fdatasyncs its own file and renames it instead, and the syncer
 * only fsyncs queue/. Either way a file is synced before its rename, and
 * the rename is durable before the callback that lets the server say 250.
 * Results go to a done-list plus one byte into a pipe the event loop
 * watches; spool_dispatch_results runs the callbacks there.
 * From spool_msg_commit until its callback a message belongs to the commit
 * threads alone (one at a time).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "elapsed.h"
#include "log.h"
#include "spool_internal.h"

void
spool_msg_commit(struct spool_msg *m, spool_commit_cb cb, void *arg)
{
	struct spool *sp = m->sp;
	m->cb = cb;
	m->arg = arg;
	m->next = NULL;
	pthread_mutex_lock(&sp->mu);
	if (sp->pending_tail)
		sp->pending_tail->next = m;
	else
		sp->pending_head = m;
	sp->pending_tail = m;
	pthread_cond_signal(&sp->cond);
	pthread_mutex_unlock(&sp->mu);
}

static enum spool_result
spool_result_of(int err)
{
	if (err == 0)
		return SPOOL_OK;
	return (err == ENOSPC || err == EDQUOT) ? SPOOL_NO_SPACE : SPOOL_IO_ERROR;
}

/*
 * NOREPLACE keeps O_EXCL's promise for a reused file: an id already in
 * queue/ is never replaced. Where the filesystem lacks it, a plain rename.
 */
static int
rename_noreplace(int from_dir, const char *from, int to_dir, const char *to)
{
	if (renameat2(from_dir, from, to_dir, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	return renameat(from_dir, from, to_dir, to);
}

/* Sync the file unless synced_fs, close it and rename it into queue/
 * (unlinked on failure). */
static void
spool_file_finish(struct spool *sp, struct spool_msg *m, bool synced_fs)
{
	m->awaits_syncfs = false;
	if (m->err == 0 && !synced_fs && fdatasync(m->fd) < 0)
		m->err = errno;
	if (m->fd >= 0 && close(m->fd) < 0 && m->err == 0 && errno != EINTR)
		m->err = errno;
	m->fd = -1;
	if (m->err == 0 && rename_noreplace(sp->tmp_fd, m->tmp_name, sp->queue_fd, m->id) < 0)
		m->err = errno;
	if (m->err && m->created)
		unlinkat(sp->tmp_fd, m->tmp_name, 0);
}

/* Write the file out; unless group is set, also sync and rename it. */
static void
spool_sync_one(struct spool *sp, struct spool_msg *m, bool group)
{
	spool_msg_flush(m); /* creates the file of a message that fit its buffer */
	free(m->buf);
	m->buf = NULL;
	/* A reused file may be longer than this message. */
	if (m->err == 0 && m->reused && m->size < m->old_size && ftruncate(m->fd, m->size) < 0)
		m->err = errno;
	if (group && m->err == 0)
		m->awaits_syncfs = true;
	else
		spool_file_finish(sp, m, false);
}

/*
 * Make the round's written files durable with one syncfs, then rename
 * them. If it fails, each file gets its own fdatasync, which tells whose
 * data was lost.
 */
static void
spool_group_sync(struct spool *sp, struct spool_msg *batch)
{
	size_t waiting = 0;
	for (struct spool_msg *m = batch; m; m = m->next)
		waiting += m->awaits_syncfs;
	if (waiting == 0)
		return;
	bool synced = group_sync_run(&sp->gsync, sp->queue_fd, waiting) == 0;
	for (struct spool_msg *m = batch; m; m = m->next)
		if (m->awaits_syncfs)
			spool_file_finish(sp, m, synced);
}

/* One fsync of queue/ makes every rename before it durable: then the results. */
static void
spool_dir_sync(struct spool *sp, struct spool_msg *batch)
{
	size_t renamed = 0, size = 0;
	struct timespec t0;
	spool_group_sync(sp, batch);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (struct spool_msg *m = batch; m; m = m->next) {
		size++;
		renamed += m->err == 0;
	}
	if (renamed > 0 && fsync(sp->queue_fd) < 0) {
		int e = errno;
		for (struct spool_msg *m = batch; m; m = m->next) {
			if (m->err)
				continue;
			/* Not durable, so not acknowledged: it must not be delivered. */
			m->err = e;
			unlinkat(sp->queue_fd, m->id, 0);
		}
	}
	log_debug("event=commit_batch size=%zu committed=%zu dir_sync_ms=%.2f", size, renamed,
		  elapsed_ms_since(&t0));
	for (struct spool_msg *m = batch; m; m = m->next) {
		m->res = spool_result_of(m->err);
		if (m->err)
			log_err("id=%s event=spool_failed reason=\"%s\"", m->id, strerror(m->err));
	}
}

enum spool_result
spool_msg_commit_now(struct spool_msg *m)
{
	/* The same steps as the threads take, on the caller's thread; for
	 * one file, its own fdatasync costs what a syncfs would. */
	m->next = NULL;
	spool_sync_one(m->sp, m, false);
	spool_dir_sync(m->sp, m);
	return m->res;
}

static void
spool_post_results(struct spool *sp, struct spool_msg *batch, struct spool_msg *last)
{
	pthread_mutex_lock(&sp->mu);
	if (sp->done_tail)
		sp->done_tail->next = batch;
	else
		sp->done_head = batch;
	sp->done_tail = last;
	pthread_mutex_unlock(&sp->mu);
	/* Appended before the byte is written, so the reader never misses it. A
	 * full pipe (EAGAIN) already means "results waiting". */
	char c = 1;
	while (write(sp->notify_wr, &c, 1) < 0 && errno == EINTR)
		;
}

/*
 * A worker: takes the oldest message waiting, writes its file (and, while
 * syncfs is slow, syncs it and renames it into queue/), hands it to the
 * syncer, and takes the next. No worker waits for another.
 */
static void *
spool_worker_main(void *arg)
{
	struct spool *sp = arg;
	pthread_mutex_lock(&sp->mu);
	for (;;) {
		while (sp->pending_head == NULL && !sp->stopping)
			pthread_cond_wait(&sp->cond, &sp->mu);
		struct spool_msg *m = sp->pending_head;
		if (m == NULL)
			break; /* stopping, and every commit asked for is taken */
		sp->pending_head = m->next;
		if (sp->pending_head == NULL)
			sp->pending_tail = NULL;
		m->next = NULL;
		pthread_mutex_unlock(&sp->mu);
		spool_sync_one(sp, m, group_sync_enabled(&sp->gsync));
		pthread_mutex_lock(&sp->mu);
		if (sp->synced_tail)
			sp->synced_tail->next = m;
		else
			sp->synced_head = m;
		sp->synced_tail = m;
		pthread_cond_signal(&sp->synced_cond);
	}
	if (--sp->workers_left == 0)
		pthread_cond_signal(&sp->synced_cond);
	pthread_mutex_unlock(&sp->mu);
	return NULL;
}

/*
 * The syncer: takes every file the workers have handed over so far, makes
 * them durable (spool_group_sync), and their names in queue/ with one
 * fsync of queue/ (group commit), and posts the results; files handed over
 * meanwhile wait for the next round.
 */
static void *
spool_commit_main(void *arg)
{
	struct spool *sp = arg;
	pthread_mutex_lock(&sp->mu);
	for (;;) {
		while (sp->synced_head == NULL && sp->workers_left > 0)
			pthread_cond_wait(&sp->synced_cond, &sp->mu);
		struct spool_msg *batch = sp->synced_head, *last = sp->synced_tail;
		if (batch == NULL)
			break; /* the workers are gone, and everything is posted */
		sp->synced_head = sp->synced_tail = NULL;
		pthread_mutex_unlock(&sp->mu);
		spool_dir_sync(sp, batch);
		spool_post_results(sp, batch, last);
		pthread_mutex_lock(&sp->mu);
	}
	pthread_mutex_unlock(&sp->mu);
	return NULL;
}

int
spool_notify_fd(const struct spool *sp)
{
	return sp->notify_rd;
}

void
spool_dispatch_results(struct spool *sp)
{
	char drain[256];
	if (sp->notify_rd < 0)
		return;
	while (read(sp->notify_rd, drain, sizeof drain) > 0)
		;
	pthread_mutex_lock(&sp->mu);
	struct spool_msg *m = sp->done_head;
	sp->done_head = sp->done_tail = NULL;
	pthread_mutex_unlock(&sp->mu);
	while (m) {
		struct spool_msg *next = m->next;
		m->next = NULL;
		m->cb(m, m->res, m->arg); /* may free m */
		m = next;
	}
}

void
spool_set_syncfs_limits(struct spool *sp, unsigned slow_ms, unsigned backoff_ms)
{
	group_sync_set_limits(&sp->gsync, slow_ms, backoff_ms);
}

bool
spool_syncs_by_group(struct spool *sp)
{
	return group_sync_enabled(&sp->gsync);
}

int
spool_commit_start(struct spool *sp, char *err, size_t err_size)
{
	int p[2];
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
		if (err_size)
			snprintf(err, err_size, "cannot make a pipe for the spool %s: %s", sp->dir,
				 strerror(errno));
		return -1;
	}
	sp->notify_rd = p[0];
	sp->notify_wr = p[1];
	/* Fewer workers than asked for are slower, still correct; none is no spool. */
	int rc = 0;
	while (sp->nworkers < SPOOL_SYNC_WORKERS &&
	       (rc = pthread_create(&sp->workers[sp->nworkers], NULL, spool_worker_main, sp)) == 0)
		sp->workers_left = ++sp->nworkers;
	if (sp->nworkers > 0)
		rc = pthread_create(&sp->thread, NULL, spool_commit_main, sp);
	if (rc != 0 || sp->nworkers == 0) {
		snprintf(err, err_size, "cannot start the spool commit thread: %s", strerror(rc));
		return -1;
	}
	sp->thread_started = true;
	return 0;
}

void
spool_commit_stop(struct spool *sp)
{
	if (sp->nworkers == 0)
		return;
	pthread_mutex_lock(&sp->mu);
	sp->stopping = true;
	pthread_cond_broadcast(&sp->cond);
	pthread_mutex_unlock(&sp->mu);
	/* They finish every pending commit, then the syncer the last round. */
	for (size_t i = 0; i < sp->nworkers; i++)
		pthread_join(sp->workers[i], NULL);
	if (sp->thread_started)
		pthread_join(sp->thread, NULL);
	spool_dispatch_results(sp);
}
