/*
 * spool_pool: removing delivered messages, and keeping their files in
 * tmp/ for the next messages to reuse (spool.h: spool_entries_remove).
 *
 * Removal unlinks the message before its .state: a crash in between leaves
 * an orphan .state (removed at open), never a message that forgot its
 * deliveries.
 *
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
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool_format.h"
#include "spool_internal.h"
#include "xmalloc.h"

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

void
spool_pool_name(char *out, size_t size, uint32_t n)
{
	snprintf(out, size, "free-%08" PRIX32, n);
}

/* Write into a pooled file where it lies (tmp/free-<n>): the commit renames
 * it into queue/<id> once. */
bool
spool_msg_reuse(struct spool_msg *m)
{
	struct spool *sp = m->sp;
	struct pooled p;
	while (spool_pool_take(sp, &p)) {
		spool_pool_name(m->tmp_name, sizeof m->tmp_name, p.n);
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

void
spool_pool_drain(struct spool *sp)
{
	for (size_t i = 0; i < sp->npool; i++) {
		char name[32];
		spool_pool_name(name, sizeof name, sp->pool[i].n);
		unlinkat(sp->tmp_fd, name, 0);
	}
	sp->npool = 0;
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

/*
 * Take a removed message's file into the pool, or unlink it when the pool
 * is full or the removal did not become durable (see the file comment).
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
		spool_pool_name(name, sizeof name, n);
		unlinkat(sp->tmp_fd, name, 0);
	}
}

/* Remove one message's files; its file goes to tmp/free-<moved_r->n> if moved. */
static int
spool_entry_unlink(struct spool *sp, const char *id, bool *moved, struct pooled *moved_r)
{
	char name[SPOOL_QID_SIZE + 8], retry[SPOOL_QID_SIZE + 8];
	if (!spool_id_valid(id))
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
		spool_pool_name(to, sizeof to, moved_r->n);
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
