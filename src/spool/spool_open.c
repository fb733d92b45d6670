/*
 * spool_open: opening a spool (spool.h) — its folders, the lock that
 * makes one server its only writer, recovery of what a crash left behind
 * (tmp/ files never acknowledged, .state files of removed messages) — and
 * closing it. A reader's open (`mailport queue`) takes no lock and
 * recovers nothing, since a server may be running on the spool.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "spool_format.h"
#include "spool_internal.h"
#include "str.h"
#include "xmalloc.h"

static const char *
spool_path_err(char *err, size_t err_size, const char *what, const char *path)
{
	if (err_size)
		snprintf(err, err_size, "%s %s: %s", what, path, strerror(errno));
	return err;
}

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
	DIR *d = spool_dir_list(sp->tmp_fd);
	if (d == NULL)
		return 0;
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
	DIR *d = spool_dir_list(sp->queue_fd);
	if (d == NULL)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (spool_id_valid(de->d_name))
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
	if (spool_commit_start(sp, err, err_size) < 0)
		goto fail;
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
	spool_commit_stop(sp);
	/* A clean stop leaves nothing in tmp/. */
	spool_pool_drain(sp);
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
