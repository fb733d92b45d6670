/*
 * spool: the durable queue; spool.h has the layout and the file format.
 *
 * Writing: a session writes tmp/<qid> (or a reused tmp/free-<n>) through a
 * 64 KiB buffer; a write error is kept (sticky) and reported by the commit.
 * Committing is a pipeline: a few worker threads each take a waiting
 * message and write its file, in parallel; the syncer thread takes every
 * file written so far, makes all of them durable with one syncfs() of the
 * spool's filesystem, renames them into queue/ and fsyncs queue/ once for
 * all of them (group commit), while the workers go on with the next ones.
 * While syncfs is slow (see group_sync.h) each worker fdatasyncs
 * its own file and renames it instead, and the syncer only fsyncs queue/.
 * Results go to a done-list plus one byte into a pipe the event loop
 * watches; spool_dispatch_results runs the callbacks there.
 * From spool_msg_commit until its callback a message belongs to the commit
 * threads alone (one at a time).
 * Reading: a file appears in queue/ only by rename, complete and synced, so
 * readers (another process too) never see half a message. Removal unlinks
 * the message before its .state: a crash in between leaves an orphan .state
 * (removed at open), never a message that forgot its deliveries.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "elapsed.h"
#include "group_sync.h"
#include "log.h"
#include "str.h"
#include "xmalloc.h"

#define SPOOL_BUF_SIZE (64 * 1024)
/* A bigger header than this is not one we wrote: treat the file as corrupt. */
#define SPOOL_HEADER_MAX (8 * 1024 * 1024)
/*
 * Threads that write, fdatasync and rename message files, each message on
 * its own. One fdatasync waits for the file's data, then its inode, then
 * the disk's flush; several in flight keep the disk's queue full
 * (measured on a virtio disk: 32 files synced one by one took 6-10 ms, by 4
 * threads 2.5-4 ms; more threads gained nothing).
 */
#ifndef SPOOL_SYNC_WORKERS
#define SPOOL_SYNC_WORKERS 4
#endif
/*
 * Removed message files kept in tmp/ for reuse (spool_pool_put). Enough
 * files for a burst's whole backlog: a burst of 8,000 messages that found
 * room for only 1,024 freed the other 7,000, and the next burst's creates
 * walked past them (see spool_pool_take). The bytes they hold are bounded
 * too, since a pooled file keeps its old message's blocks until reused.
 */
#define SPOOL_POOL_FILES 16384
#define SPOOL_POOL_BYTES (256 * 1024 * 1024)

struct pooled {
	uint32_t n; /* tmp/free-<n> */
	off_t disk; /* bytes it holds on disk */
	off_t size; /* its length */
};

struct spool {
	char *dir;
	int dir_fd, tmp_fd, queue_fd;
	int lock_fd;		  /* -1 for a reader */
	bool locked;		  /* we hold lock_fd's flock (and wrote our pid) */
	int notify_rd, notify_wr; /* -1 for a reader */
	bool thread_started;
	pthread_t thread; /* the directory syncer (spool_commit_main) */
	pthread_t workers[SPOOL_SYNC_WORKERS];
	size_t nworkers;
	pthread_mutex_t mu;	    /* guards the three lists, stopping, workers_left */
	pthread_cond_t cond;	    /* for the workers: a message waits, or stop */
	pthread_cond_t synced_cond; /* for the syncer: a file was handed over */
	struct spool_msg *pending_head, *pending_tail; /* committed, not yet written */
	struct spool_msg *synced_head, *synced_tail;   /* written, not yet durable */
	struct spool_msg *done_head, *done_tail;       /* results for the event loop */
	bool stopping;
	size_t workers_left; /* still running */
	atomic_uint counter;
	/* Workers leave syncing to the syncer's syncfs while this is on: on a
	 * virtio disk at concurrency 50, 1,500 -> 2,200 messages/s, and the
	 * CPUs' time waiting for the disk halved. */
	struct group_sync gsync;
	/* tmp/free-<n>: files of removed messages, waiting for reuse. */
	pthread_mutex_t pool_mu;
	struct pooled *pool; /* pool_files slots */
	size_t npool, pool_files;
	off_t pool_bytes, pool_bytes_max;
	uint32_t pool_counter;
};

struct spool_msg {
	struct spool *sp;
	struct spool_msg *next;
	char id[SPOOL_QID_SIZE];
	int fd;				   /* -1 until the file is created (see spool_msg_create) */
	bool created;			   /* tmp/<tmp_name> exists: ours to remove on failure */
	bool reused;			   /* ... and was a removed message's file: cut to size */
	char tmp_name[SPOOL_QID_SIZE + 8]; /* <id>, or free-<n> when reused */
	off_t old_size;			   /* a reused file's length before */
	off_t size;			   /* bytes written to the file */
	bool awaits_syncfs; /* written, fd open, still in tmp/: the syncer's to sync */
	int err;	    /* sticky errno of the first failure, 0 while all is well */
	char *buf;	    /* SPOOL_BUF_SIZE bytes; freed once the file is synced */
	size_t len;
	spool_commit_cb cb;
	void *arg;
	enum spool_result res;
};

static const char *
spool_path_err(char *err, size_t err_size, const char *what, const char *path)
{
	if (err_size)
		snprintf(err, err_size, "%s %s: %s", what, path, strerror(errno));
	return err;
}

/* ---- envelope encoding ---- */

/*
 * Envelope values are percent-encoded: '%', space, controls and DEL become
 * %XX, so a value can never end a line or split into two fields. Bytes
 * >= 0x80 (SMTPUTF8 addresses) stay as they are.
 */
static void
env_put(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c == 0x7f || c == '%')
			buf_printf(b, "%%%02X", c);
		else
			buf_append(b, s, 1);
	}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode len bytes of s into b; false on a bad escape or an encoded NUL. */
static bool
env_decode(const char *s, size_t len, struct buf *b)
{
	buf_reset(b);
	buf_append(b, "", 0); /* data is a string even when empty */
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= len)
				return false;
			int hi = hexval((unsigned char)s[i + 1]);
			int lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return false;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		buf_append(b, &c, 1);
	}
	return true;
}

static void
env_put_addr(struct buf *b, const struct smtp_addr *a)
{
	if (a->is_null)
		return;
	struct buf t;
	buf_init(&t, 0);
	buf_printf(&t, "%s@%s", a->local, a->domain);
	env_put(b, t.data);
	buf_free(&t);
}

static void
env_put_rcpt(struct buf *b, const struct smtp_rcpt_args *r)
{
	buf_append_str(b, "rcpt ");
	env_put_addr(b, &r->to);
	if (r->notify_set) {
		buf_append_str(b, " notify=");
		if (r->notify == 0)
			buf_append_str(b, "NEVER");
		const char *sep = "";
		if (r->notify & SMTP_NOTIFY_SUCCESS)
			buf_printf(b, "%sSUCCESS", sep), sep = ",";
		if (r->notify & SMTP_NOTIFY_FAILURE)
			buf_printf(b, "%sFAILURE", sep), sep = ",";
		if (r->notify & SMTP_NOTIFY_DELAY)
			buf_printf(b, "%sDELAY", sep);
	}
	if (r->orcpt[0]) {
		buf_append_str(b, " orcpt=");
		env_put(b, r->orcpt);
	}
	buf_append_str(b, "\n");
}

static void
env_format(struct buf *b, const char *id, time_t arrival, const struct spool_envelope *env)
{
	static const char *bodies[] = {NULL, "7BIT", "8BITMIME", "BINARYMIME"};
	const struct smtp_mail_args *mail = env->mail;
	buf_printf(b, "version 1\nid %s\narrival %lld\nfrom", id, (long long)arrival);
	if (!mail->from.is_null) {
		buf_append_str(b, " ");
		env_put_addr(b, &mail->from);
	}
	buf_append_str(b, "\n");
	if (mail->ret != SMTP_RET_NONE)
		buf_append_str(b, mail->ret == SMTP_RET_FULL ? "ret FULL\n" : "ret HDRS\n");
	if (mail->envid[0]) {
		buf_append_str(b, "envid ");
		env_put(b, mail->envid);
		buf_append_str(b, "\n");
	}
	if (mail->body > SMTP_BODY_NONE && mail->body <= SMTP_BODY_BINARYMIME)
		buf_printf(b, "body %s\n", bodies[mail->body]);
	if (mail->smtputf8)
		buf_append_str(b, "smtputf8\n");
	const char *keys[] = {"client", "helo", "auth"};
	const char *vals[] = {env->client_addr, env->helo, env->auth_user};
	for (size_t i = 0; i < 3; i++) {
		if (vals[i] == NULL || vals[i][0] == '\0')
			continue;
		buf_printf(b, "%s ", keys[i]);
		env_put(b, vals[i]);
		buf_append_str(b, "\n");
	}
	for (size_t i = 0; i < env->nrcpts; i++)
		env_put_rcpt(b, &env->rcpts[i]);
	buf_append_str(b, "\n");
}

/* ---- queue ids ---- */

static bool
is_qid(const char *s)
{
	size_t i;
	for (i = 0; i < SPOOL_QID_SIZE - 1; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return s[i] == '\0';
}

/*
 * 8 hex digits of seconds, 4 of a per-spool counter, 4 random. The time
 * leads, and arrival is the same clock reading, so sorting ids as strings
 * sorts them by arrival then id without opening any file. O_EXCL at create
 * catches the improbable clash (clock set back, counter wrapped).
 */
static void
spool_make_qid(struct spool *sp, time_t now, char out[SPOOL_QID_SIZE])
{
	uint16_t rnd;
	if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		rnd = (uint16_t)(ts.tv_nsec ^ getpid());
	}
	unsigned c = atomic_fetch_add(&sp->counter, 1);
	snprintf(out, SPOOL_QID_SIZE, "%08" PRIX32 "%04X%04X", (uint32_t)now, c & 0xffffu,
		 (unsigned)rnd);
}

/* ---- writing ---- */

static int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * The file is taken (from the pool, else created as tmp/<id>) when the
 * first bytes must leave the buffer: at the commit for a message that fits
 * in it (most mail), by a commit helper and not by the event loop. Creating
 * an inode is the most expensive step of a small message: ext4 without a
 * journal walks past every inode freed in the last minute to find a free
 * one. O_EXCL, and RENAME_NOREPLACE for a reused file, still catch a clash
 * of ids (spool_make_qid); the message then fails with the error instead
 * of trying another id, since the id has already been given out.
 */
/* ---- the pool of reusable files ---- */

/*
 * Why reuse: on ext4 without a journal, an inode freed in the last 30
 * seconds is skipped, one by one, by every inode allocation in its group,
 * so at hundreds of messages a second a create walks past thousands of
 * them (a third of the server's CPU in a profile). A removed message's file
 * is instead renamed into tmp/ and given to a later message, which
 * overwrites it and cuts it to its size: no inode is freed or allocated.
 * Only once the removal is durable (queue/ fsynced) does a file enter the
 * pool, so a crash can never show the old name with the new content.
 * A reader that opened the old message just before sees the new content
 * under the old name: spool_entry_read checks the id line and then reports
 * the message as gone.
 */
static bool
spool_pool_take(struct spool *sp, struct pooled *p_r)
{
	pthread_mutex_lock(&sp->pool_mu);
	bool got = sp->npool > 0;
	if (got) {
		*p_r = sp->pool[--sp->npool];
		sp->pool_bytes -= p_r->disk;
	}
	pthread_mutex_unlock(&sp->pool_mu);
	return got;
}

static void
pool_name(char *out, size_t size, uint32_t n)
{
	snprintf(out, size, "free-%08" PRIX32, n);
}

/*
 * Write into a pooled file where it lies (tmp/free-<n>): the commit renames
 * it into queue/<id> once. false (nothing changed) when none is left.
 */
static bool
spool_msg_reuse(struct spool_msg *m)
{
	struct spool *sp = m->sp;
	struct pooled p;
	while (spool_pool_take(sp, &p)) {
		pool_name(m->tmp_name, sizeof m->tmp_name, p.n);
		m->fd = openat(sp->tmp_fd, m->tmp_name, O_WRONLY | O_CLOEXEC);
		if (m->fd < 0) {
			unlinkat(sp->tmp_fd, m->tmp_name, 0);
			continue;
		}
		m->old_size = p.size;
		m->created = m->reused = true;
		return true;
	}
	return false;
}

static void
spool_msg_create(struct spool_msg *m)
{
	if (m->created || m->err || spool_msg_reuse(m))
		return;
	str_copy(m->tmp_name, sizeof m->tmp_name, m->id);
	m->fd = openat(m->sp->tmp_fd, m->id, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (m->fd < 0)
		m->err = errno;
	else
		m->created = true;
}

static void
spool_msg_flush(struct spool_msg *m)
{
	spool_msg_create(m);
	if (m->err == 0 && m->len > 0 && write_all(m->fd, m->buf, m->len) < 0)
		m->err = errno;
	m->size += (off_t)m->len;
	m->len = 0;
}

int
spool_msg_write(struct spool_msg *m, const void *p, size_t n)
{
	const char *c = p;
	while (m->err == 0 && n > 0) {
		if (m->len == 0 && n >= SPOOL_BUF_SIZE) {
			/* A big chunk goes straight to the file, not through the buffer. */
			spool_msg_create(m);
			if (m->err == 0 && write_all(m->fd, c, n) < 0)
				m->err = errno;
			m->size += (off_t)n;
			break;
		}
		size_t k = SPOOL_BUF_SIZE - m->len;
		if (k > n)
			k = n;
		memcpy(m->buf + m->len, c, k);
		m->len += k;
		c += k;
		n -= k;
		if (m->len == SPOOL_BUF_SIZE)
			spool_msg_flush(m);
	}
	if (m->err) {
		errno = m->err;
		return -1;
	}
	return 0;
}

struct spool_msg *
spool_msg_begin(struct spool *sp, const struct spool_envelope *env)
{
	if (sp->lock_fd < 0) {
		errno = EPERM; /* a reader's handle cannot write */
		return NULL;
	}
	struct spool_msg *m = xcalloc(1, sizeof *m);
	m->sp = sp;
	m->fd = -1;
	time_t now = time(NULL);
	spool_make_qid(sp, now, m->id);
	m->buf = xmalloc(SPOOL_BUF_SIZE);
	struct buf hdr;
	buf_init(&hdr, 0);
	env_format(&hdr, m->id, now, env);
	int rc = spool_msg_write(m, hdr.data, hdr.len);
	buf_free(&hdr);
	if (rc < 0) {
		int e = errno;
		spool_msg_abort(&m);
		errno = e;
		return NULL;
	}
	return m;
}

const char *
spool_msg_id(const struct spool_msg *m)
{
	return m->id;
}

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

void
spool_msg_free(struct spool_msg **mp)
{
	struct spool_msg *m = *mp;
	if (m == NULL)
		return;
	if (m->fd >= 0)
		close(m->fd);
	free(m->buf);
	free(m);
	*mp = NULL;
}

void
spool_msg_abort(struct spool_msg **mp)
{
	struct spool_msg *m = *mp;
	if (m == NULL)
		return;
	if (m->created)
		unlinkat(m->sp->tmp_fd, m->tmp_name, 0);
	spool_msg_free(mp);
}

/* ---- the commit thread ---- */

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

/* ---- open and close ---- */

static int
open_subdir(struct spool *sp, const char *name, bool create, char *err, size_t err_size)
{
	if (create && mkdirat(sp->dir_fd, name, 0700) < 0 && errno != EEXIST) {
		spool_path_err(err, err_size, "cannot create the spool folder", name);
		return -1;
	}
	int fd = openat(sp->dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		spool_path_err(err, err_size, "cannot open the spool folder", name);
	return fd;
}

/* Leftovers of tmp/ were never acknowledged: deleting them loses nothing. */
static size_t
spool_clean_tmp(struct spool *sp)
{
	size_t n = 0;
	int fd = openat(sp->tmp_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(sp->tmp_fd, de->d_name, 0) == 0)
			n++;
		else
			log_warn("spool=%s event=tmp_cleanup_failed file=tmp/%s reason=\"%s\"",
				 sp->dir, de->d_name, strerror(errno));
	}
	closedir(d);
	return n;
}

/* Remove queue/<qid>.state files whose message is gone (crash in remove). */
static size_t
spool_clean_states(struct spool *sp, size_t *queued_r)
{
	char **ids = NULL;
	size_t n = 0, removed = 0;
	*queued_r = 0;
	int fd = openat(sp->queue_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (is_qid(de->d_name))
			(*queued_r)++;
		const char *dot = strchr(de->d_name, '.');
		if (dot && dot - de->d_name == SPOOL_QID_SIZE - 1 && strcmp(dot, ".state") == 0) {
			ids = xrealloc(ids, (n + 1) * sizeof *ids);
			ids[n++] = xstrdup(de->d_name);
		}
	}
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		char qid[SPOOL_QID_SIZE];
		str_copy_n(qid, sizeof qid, ids[i], SPOOL_QID_SIZE - 1);
		if (faccessat(sp->queue_fd, qid, F_OK, 0) < 0 && errno == ENOENT &&
		    unlinkat(sp->queue_fd, ids[i], 0) == 0)
			removed++;
	}
	spool_ids_free(ids, n);
	return removed;
}

static struct spool *
spool_new(const char *dir)
{
	struct spool *sp = xcalloc(1, sizeof *sp);
	sp->dir = xstrdup(dir);
	sp->dir_fd = sp->tmp_fd = sp->queue_fd = sp->lock_fd = -1;
	sp->notify_rd = sp->notify_wr = -1;
	pthread_mutex_init(&sp->mu, NULL);
	pthread_cond_init(&sp->cond, NULL);
	atomic_init(&sp->counter, 0);
	group_sync_init(&sp->gsync, "spool");
	pthread_cond_init(&sp->synced_cond, NULL);
	pthread_mutex_init(&sp->pool_mu, NULL);
	sp->pool_files = SPOOL_POOL_FILES;
	sp->pool_bytes_max = SPOOL_POOL_BYTES;
	sp->pool = xcalloc(sp->pool_files, sizeof *sp->pool);
	return sp;
}

void
spool_set_pool_limits(struct spool *sp, size_t files, off_t bytes)
{
	pthread_mutex_lock(&sp->pool_mu);
	if (files < sp->pool_files) /* only ever lowered: the array stays */
		sp->pool_files = files;
	sp->pool_bytes_max = bytes;
	pthread_mutex_unlock(&sp->pool_mu);
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

/* Open dir, tmp/ and queue/ (creating them when create is set). */
static int
spool_open_dirs(struct spool *sp, bool create, char *err, size_t err_size)
{
	if (create && mkdir(sp->dir, 0700) < 0 && errno != EEXIST) {
		spool_path_err(err, err_size, "cannot create the spool directory", sp->dir);
		return -1;
	}
	sp->dir_fd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dir_fd < 0) {
		spool_path_err(err, err_size, "cannot open the spool directory", sp->dir);
		return -1;
	}
	sp->tmp_fd = open_subdir(sp, "tmp", create, err, err_size);
	if (sp->tmp_fd < 0)
		return -1;
	sp->queue_fd = open_subdir(sp, "queue", create, err, err_size);
	return sp->queue_fd < 0 ? -1 : 0;
}

/* One writer per spool: a second one would delete the first one's tmp/. */
static int
spool_lock(struct spool *sp, char *err, size_t err_size)
{
	sp->lock_fd = openat(sp->dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (sp->lock_fd < 0) {
		spool_path_err(err, err_size, "cannot create the lock file in", sp->dir);
		return -1;
	}
	/*
	 * `mailport queue flush` probes the lock (a shared flock held for
	 * microseconds) to learn whether a server runs: a few short retries
	 * keep such a probe from failing a server that starts at that moment.
	 */
	int rc;
	for (int tries = 0;
	     (rc = flock(sp->lock_fd, LOCK_EX | LOCK_NB)) < 0 && errno == EWOULDBLOCK && tries < 20;
	     tries++)
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	if (rc < 0) {
		if (errno == EWOULDBLOCK)
			snprintf(err, err_size,
				 "the spool %s is in use by another mailport server "
				 "(stop it, or give this one another spool directory)",
				 sp->dir);
		else
			spool_path_err(err, err_size, "cannot lock the spool", sp->dir);
		return -1;
	}
	sp->locked = true;
	/* Our pid, for `mailport queue flush` (spool.h); replaces a dead server's. */
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(sp->lock_fd, 0) < 0 || pwrite(sp->lock_fd, pid, (size_t)n, 0) != n)
		log_warn("spool=%s event=lock_pid_failed reason=\"%s\"", sp->dir, strerror(errno));
	return 0;
}

struct spool *
spool_open(const char *dir, char *err, size_t err_size)
{
	struct spool *sp = spool_new(dir);
	size_t queued;
	if (spool_open_dirs(sp, true, err, err_size) < 0 || spool_lock(sp, err, err_size) < 0)
		goto fail;
	size_t tmp_removed = spool_clean_tmp(sp);
	size_t states_removed = spool_clean_states(sp, &queued);
	log_info("spool=%s event=opened queued=%zu tmp_removed=%zu stale_state_removed=%zu", dir,
		 queued, tmp_removed, states_removed);
	int p[2];
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
		spool_path_err(err, err_size, "cannot make a pipe for the spool", dir);
		goto fail;
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
		goto fail;
	}
	sp->thread_started = true;
	return sp;
fail:
	spool_close(&sp);
	return NULL;
}

struct spool *
spool_open_reader(const char *dir, char *err, size_t err_size)
{
	struct spool *sp = spool_new(dir);
	if (spool_open_dirs(sp, false, err, err_size) < 0) {
		spool_close(&sp);
		return NULL;
	}
	return sp;
}

void
spool_close(struct spool **sp_p)
{
	struct spool *sp = *sp_p;
	if (sp == NULL)
		return;
	if (sp->nworkers > 0) {
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
	/* A clean stop leaves nothing in tmp/. */
	for (size_t i = 0; i < sp->npool; i++) {
		char name[32];
		pool_name(name, sizeof name, sp->pool[i].n);
		unlinkat(sp->tmp_fd, name, 0);
	}
	sp->npool = 0;
	/* A stopped server leaves no pid behind that a later flush could signal;
	 * only the lock's holder may touch it (not a second server refused). */
	if (sp->locked && ftruncate(sp->lock_fd, 0) < 0)
		log_warn("spool=%s event=lock_pid_failed reason=\"%s\"", sp->dir, strerror(errno));
	int fds[] = {sp->notify_rd, sp->notify_wr, sp->queue_fd,
		     sp->tmp_fd,    sp->lock_fd,   sp->dir_fd};
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	pthread_cond_destroy(&sp->cond);
	pthread_mutex_destroy(&sp->mu);
	pthread_cond_destroy(&sp->synced_cond);
	pthread_mutex_destroy(&sp->pool_mu);
	free(sp->pool);
	free(sp->dir);
	free(sp);
	*sp_p = NULL;
}

/* ---- reading ---- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
spool_list(struct spool *sp, char ***ids_r, size_t *n_r)
{
	*ids_r = NULL;
	*n_r = 0;
	int fd = openat(sp->queue_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char **ids = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!is_qid(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			ids = xrealloc(ids, cap * sizeof *ids);
		}
		ids[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	/* The id starts with the arrival time (spool_make_qid). */
	if (n > 1)
		qsort(ids, n, sizeof *ids, cmp_str);
	*ids_r = ids;
	*n_r = n;
	return 0;
}

void
spool_ids_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

void
spool_entry_free(struct spool_entry *e)
{
	for (size_t i = 0; i < e->nrcpts; i++)
		free(e->rcpts[i]);
	free(e->rcpts);
	e->rcpts = NULL;
	e->nrcpts = 0;
}

static void
strv_list_push(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
}

/*
 * One header line (without its '\n'). Unknown keys are skipped so a newer
 * writer's optional fields do not make the queue unreadable. -1 if corrupt.
 */
static int
entry_parse_line(const char *line, size_t lineno, const char *id, struct spool_entry *e,
		 struct buf *tmp)
{
	const char *space = strchr(line, ' ');
	size_t klen = space ? (size_t)(space - line) : strlen(line);
	const char *val = space ? space + 1 : line + klen;
	struct strv key = {line, klen};
	if (lineno == 0)
		return strcmp(line, "version 1") == 0 ? 0 : -1;
	if (strv_eq_ci(key, "id"))
		return strcmp(val, id) == 0 ? 0 : -1;
	if (strv_eq_ci(key, "arrival")) {
		char *end;
		errno = 0;
		long long a = strtoll(val, &end, 10);
		e->arrival = a;
		return (errno || end == val || *end) ? -1 : 0;
	}
	if (strv_eq_ci(key, "from")) {
		if (!env_decode(val, strlen(val), tmp))
			return -1;
		return str_copy(e->from, sizeof e->from, tmp->data) ? 0 : -1;
	}
	if (strv_eq_ci(key, "rcpt")) {
		const char *end = strchr(val, ' ');
		if (!env_decode(val, end ? (size_t)(end - val) : strlen(val), tmp) || tmp->len == 0)
			return -1;
		strv_list_push(&e->rcpts, &e->nrcpts, tmp->data);
	}
	return 0;
}

/* The envelope: fills e and body_offset. -1 with errno EBADMSG if corrupt. */
static int
entry_parse_header(FILE *f, const char *id, struct spool_entry *e)
{
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	uint64_t off = 0;
	ssize_t n;
	int rc = -1;
	struct buf tmp;
	buf_init(&tmp, 0);
	while ((n = getline(&line, &cap, f)) > 0) {
		off += (uint64_t)n;
		if (line[n - 1] != '\n' || off > SPOOL_HEADER_MAX || strlen(line) != (size_t)n)
			break;
		line[n - 1] = '\0';
		if (n == 1) {
			e->body_offset = off;
			rc = lineno >= 4 ? 0 : -1; /* version, id, arrival, from at least */
			break;
		}
		if (entry_parse_line(line, lineno++, id, e, &tmp) < 0)
			break;
	}
	free(line);
	buf_free(&tmp);
	if (rc < 0)
		errno = EBADMSG;
	return rc;
}

/* Recipients done, from queue/<qid>.state; a last line without '\n' is not
 * finished, so it does not count. */
static void
entry_read_state(struct spool *sp, const char *id, char ***done_r, size_t *n_r)
{
	char name[SPOOL_QID_SIZE + 8];
	snprintf(name, sizeof name, "%s.state", id);
	int fd = openat(sp->queue_fd, name, O_RDONLY | O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (f == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct buf tmp;
	buf_init(&tmp, 0);
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n')
			break;
		if (env_decode(line, (size_t)n - 1, &tmp))
			strv_list_push(done_r, n_r, tmp.data);
	}
	free(line);
	buf_free(&tmp);
	fclose(f);
}

static void
entry_drop_done(struct spool_entry *e, char **done, size_t ndone)
{
	size_t k = 0;
	for (size_t i = 0; i < e->nrcpts; i++) {
		bool is_done = false;
		for (size_t j = 0; j < ndone && !is_done; j++)
			is_done = strcmp(e->rcpts[i], done[j]) == 0;
		if (is_done)
			free(e->rcpts[i]);
		else
			e->rcpts[k++] = e->rcpts[i];
	}
	e->nrcpts = k;
}

int
spool_entry_read(struct spool *sp, const char *id, struct spool_entry *e_r)
{
	memset(e_r, 0, sizeof *e_r);
	if (!is_qid(id)) {
		errno = EINVAL; /* also keeps "../x" from `mailport queue show` out */
		return -1;
	}
	int fd = openat(sp->queue_fd, id, O_RDONLY | O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (f == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	str_copy(e_r->id, sizeof e_r->id, id);
	snprintf(e_r->path, sizeof e_r->path, "%s/queue/%s", sp->dir, id);
	int rc = entry_parse_header(f, id, e_r);
	/* Removed and reused for another message while we opened it? */
	if (rc < 0 && faccessat(sp->queue_fd, id, F_OK, 0) < 0 && errno == ENOENT)
		errno = ENOENT;
	if (rc == 0) {
		char **done = NULL;
		size_t ndone = 0;
		entry_read_state(sp, id, &done, &ndone);
		entry_drop_done(e_r, done, ndone);
		spool_ids_free(done, ndone);
		/* Removed while we read (the message goes first, then its state)? */
		struct stat st;
		if (fstat(fd, &st) == 0 && st.st_nlink == 0) {
			errno = ENOENT;
			rc = -1;
		}
	}
	int e = errno;
	fclose(f);
	if (rc < 0)
		spool_entry_free(e_r);
	errno = e;
	return rc;
}

int
spool_entry_mark_done(struct spool *sp, const char *id, const char *rcpt)
{
	if (!is_qid(id)) {
		errno = EINVAL;
		return -1;
	}
	char name[SPOOL_QID_SIZE + 8];
	snprintf(name, sizeof name, "%s.state", id);
	struct buf line;
	buf_init(&line, 0);
	env_put(&line, rcpt);
	buf_append_str(&line, "\n");
	bool created = false;
	int fd = openat(sp->queue_fd, name, O_RDWR | O_APPEND | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = openat(sp->queue_fd, name, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		created = true;
	}
	int rc = -1;
	struct stat st;
	char last;
	/* A crash may have cut the last line short: do not glue onto it. */
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0 &&
	    pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n')
		write_all(fd, "\n", 1);
	/* One write of the whole line: a reader sees it whole or not at all. */
	if (fd >= 0 && write_all(fd, line.data, line.len) == 0 && fdatasync(fd) == 0)
		rc = 0;
	int e = errno;
	if (fd >= 0 && close(fd) < 0 && rc == 0 && errno != EINTR)
		rc = -1, e = errno;
	/* A new file's name must be durable too, or the record could vanish. */
	if (rc == 0 && created && fsync(sp->queue_fd) < 0)
		rc = -1, e = errno;
	buf_free(&line);
	errno = e;
	return rc;
}

/*
 * Take a removed message's file into the pool, or unlink it when the pool
 * is full or the removal did not become durable (see spool_pool_take).
 */
static void
spool_pool_put(struct spool *sp, struct pooled p, bool durable)
{
	pthread_mutex_lock(&sp->pool_mu);
	bool kept =
	    durable && sp->npool < sp->pool_files && sp->pool_bytes + p.disk <= sp->pool_bytes_max;
	if (kept) {
		sp->pool[sp->npool++] = p;
		sp->pool_bytes += p.disk;
	}
	pthread_mutex_unlock(&sp->pool_mu);
	uint32_t n = p.n;
	if (!kept) {
		char name[32];
		pool_name(name, sizeof name, n);
		unlinkat(sp->tmp_fd, name, 0);
	}
}

/* Remove one message's files; its file goes to tmp/free-<moved_r->n> if moved. */
static int
spool_entry_unlink(struct spool *sp, const char *id, bool *moved, struct pooled *moved_r)
{
	char name[SPOOL_QID_SIZE + 8], retry[SPOOL_QID_SIZE + 8];
	if (!is_qid(id))
		return EINVAL;
	snprintf(name, sizeof name, "%s.state", id);
	snprintf(retry, sizeof retry, "%s.retry", id);
	*moved = false;
	/* The message first: see the file comment. A writer keeps the inode. */
	struct stat st;
	if (sp->locked && fstatat(sp->queue_fd, id, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		pthread_mutex_lock(&sp->pool_mu);
		moved_r->n = sp->pool_counter++;
		pthread_mutex_unlock(&sp->pool_mu);
		moved_r->disk = (off_t)st.st_blocks * 512;
		moved_r->size = st.st_size;
		char to[32];
		pool_name(to, sizeof to, moved_r->n);
		*moved = renameat2(sp->queue_fd, id, sp->tmp_fd, to, RENAME_NOREPLACE) == 0;
	}
	if (!*moved && unlinkat(sp->queue_fd, id, 0) < 0 && errno != ENOENT)
		return errno;
	if (unlinkat(sp->queue_fd, name, 0) < 0 && errno != ENOENT)
		return errno;
	unlinkat(sp->queue_fd, retry, 0); /* only a schedule: its loss costs an early retry */
	return 0;
}

int
spool_entries_remove(struct spool *sp, const char *const *ids, size_t n, int *errs)
{
	size_t unlinked = 0, nmoved = 0;
	struct pooled *moved = xmalloc((n ? n : 1) * sizeof *moved);
	for (size_t i = 0; i < n; i++) {
		bool was_moved = false;
		int e = spool_entry_unlink(sp, ids[i], &was_moved, &moved[nmoved]);
		nmoved += was_moved;
		if (errs)
			errs[i] = e;
		unlinked += e == 0;
	}
	/* One directory sync makes every removal of the batch durable. */
	int rc = unlinked > 0 ? fsync(sp->queue_fd) : 0;
	int e = errno;
	for (size_t i = 0; i < nmoved; i++)
		spool_pool_put(sp, moved[i], rc == 0);
	free(moved);
	errno = e;
	return rc;
}

int
spool_entry_remove(struct spool *sp, const char *id)
{
	int e;
	if (spool_entries_remove(sp, &id, 1, &e) < 0)
		return -1;
	errno = e;
	return e ? -1 : 0;
}

int
spool_retry_write(struct spool *sp, const struct spool_retry *r)
{
	char tmp[SPOOL_QID_SIZE + 32], name[SPOOL_QID_SIZE + 8], esc[sizeof r->last_error * 3];
	if (!is_qid(r->id)) {
		errno = EINVAL;
		return -1;
	}
	/* Per thread: the local and the remote agent may both write one message's. */
	snprintf(tmp, sizeof tmp, "%s.retry.%d.tmp", r->id, (int)gettid());
	snprintf(name, sizeof name, "%s.retry", r->id);
	/* One line the reader splits on spaces: the error goes last, escaped. */
	size_t o = 0;
	for (const char *p = r->last_error; *p && o + 4 < sizeof esc; p++) {
		unsigned char c = (unsigned char)*p;
		o += (size_t)(c < 0x20 || c == 0x7f || c == '%'
				  ? snprintf(esc + o, sizeof esc - o, "%%%02X", c)
				  : snprintf(esc + o, sizeof esc - o, "%c", c));
	}
	esc[o] = '\0';
	char line[sizeof esc + 64];
	int n =
	    snprintf(line, sizeof line, "%u %" PRId64 " %s\n", r->attempts, r->next_attempt, esc);
	int fd = openat(sp->queue_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, line, (size_t)n);
	close(fd);
	if (rc == 0)
		rc = renameat(sp->queue_fd, tmp, sp->queue_fd, name);
	if (rc != 0)
		unlinkat(sp->queue_fd, tmp, 0);
	return rc;
}

int
spool_retry_read(struct spool *sp, const char *id, struct spool_retry *r_out)
{
	char name[SPOOL_QID_SIZE + 8], line[sizeof r_out->last_error * 3 + 64];
	memset(r_out, 0, sizeof *r_out);
	if (!is_qid(id)) {
		errno = EINVAL;
		return -1;
	}
	str_copy(r_out->id, sizeof r_out->id, id);
	snprintf(name, sizeof name, "%s.retry", id);
	int fd = openat(sp->queue_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, line, sizeof line - 1);
	close(fd);
	if (n <= 0)
		return -1;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	char *end, *p = line;
	unsigned long attempts = strtoul(p, &end, 10);
	if (end == p || *end != ' ')
		return -1;
	p = end + 1;
	long long next = strtoll(p, &end, 10);
	if (end == p || (*end != ' ' && *end != '\0'))
		return -1;
	r_out->attempts = (unsigned)attempts;
	r_out->next_attempt = next;
	size_t o = 0;
	for (p = *end ? end + 1 : end; *p && o + 1 < sizeof r_out->last_error; p++) {
		unsigned v;
		if (p[0] == '%' && sscanf(p + 1, "%2X", &v) == 1 && p[1] && p[2]) {
			r_out->last_error[o++] = (char)v;
			p += 2;
		} else {
			r_out->last_error[o++] = *p;
		}
	}
	r_out->last_error[o] = '\0';
	return 0;
}

int
spool_retry_clear(struct spool *sp, const char *id)
{
	char name[SPOOL_QID_SIZE + 8];
	if (!is_qid(id)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(name, sizeof name, "%s.retry", id);
	return unlinkat(sp->queue_fd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
}
