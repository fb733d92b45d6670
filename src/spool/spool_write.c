/*
 * spool_write: a message being received (spool.h). A session writes it
 * through a 64 KiB buffer; a write error is kept (sticky) and reported by
 * the commit. The file is taken (from the pool, else created as tmp/<id>)
 * when the first bytes must leave the buffer: at the commit for a message
 * that fits in it (most mail), by a commit worker and not by the event
 * loop. Creating an inode is the most expensive step of a small message:
 * ext4 without a journal walks past every inode freed in the last minute
 * to find a free one. O_EXCL, and RENAME_NOREPLACE for a reused file,
 * still catch a clash of ids (spool_make_qid); the message then fails with
 * the error instead of trying another id, since the id has been given out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "spool_format.h"
#include "spool_internal.h"
#include "str.h"
#include "xmalloc.h"

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
	spool_id_format(out, now, atomic_fetch_add(&sp->counter, 1), rnd);
}

int
spool_write_all(int fd, const void *p, size_t n)
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

void
spool_msg_flush(struct spool_msg *m)
{
	spool_msg_create(m);
	if (m->err == 0 && m->len > 0 && spool_write_all(m->fd, m->buf, m->len) < 0)
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
			if (m->err == 0 && spool_write_all(m->fd, c, n) < 0)
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
	spool_header_encode(&hdr, m->id, now, env);
	if (env->pad >= SPOOL_PAD_MIN) {
		/* The pad line is the header's last line, before the blank one. */
		m->pad_len = env->pad;
		m->pad_off = (off_t)(hdr.len - 1 - env->pad);
	}
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

/*
 * Put bytes where they belong in the message written so far: the part
 * already in the file with pwrite, the part still in the buffer with a
 * copy (a region may straddle the two when the envelope outgrew the
 * buffer).
 */
static int
spool_msg_overwrite(struct spool_msg *m, off_t off, const char *p, size_t n)
{
	while (n > 0 && off < m->size) {
		size_t k = (size_t)(m->size - off) < n ? (size_t)(m->size - off) : n;
		ssize_t w = pwrite(m->fd, p, k, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		off += w, p += w, n -= (size_t)w;
	}
	if (n > 0)
		memcpy(m->buf + (off - m->size), p, n);
	return 0;
}

int
spool_msg_prepend(struct spool_msg *m, const char *hdrs, size_t n)
{
	if (m->err) {
		errno = m->err;
		return -1;
	}
	if (m->pad_len < SPOOL_PAD_MIN || n > m->pad_len - SPOOL_PAD_MIN) {
		errno = EMSGSIZE; /* nothing changed: the caller decides */
		return -1;
	}
	if (n == 0)
		return 0;
	/* [pad line][\n][earlier prepends] becomes [shorter pad line][\n][hdrs][earlier]. */
	size_t region = m->pad_len + 1;
	char *r = xmalloc(region);
	size_t pad = m->pad_len - n;
	spool_pad_line(r, pad);
	r[pad] = '\n';
	memcpy(r + pad + 1, hdrs, n);
	int rc = spool_msg_overwrite(m, m->pad_off, r, region);
	free(r);
	if (rc < 0) {
		m->err = errno; /* the file may be half changed: the message fails */
		return -1;
	}
	m->pad_len = pad;
	return 0;
}

const char *
spool_msg_id(const struct spool_msg *m)
{
	return m->id;
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
