/*
 * spool_read: reading the queue (spool.h) — listing queue/, reading a
 * message's envelope header and its .state, recording a delivery, and the
 * .retry schedule. The files' bytes are decoded by the one codec
 * (format/spool_format.h); this file only opens, reads and writes them.
 *
 * A file appears in queue/ only by rename, complete and synced, so readers
 * (another process too) never see half a message. A message removed and
 * its file reused while we read is reported as gone (ENOENT), not corrupt.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "spool_format.h"
#include "spool_internal.h"
#include "str.h"
#include "xmalloc.h"

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

DIR *
spool_dir_list(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL && fd >= 0)
		close(fd);
	return d;
}

int
spool_list(struct spool *sp, char ***ids_r, size_t *n_r)
{
	*ids_r = NULL;
	*n_r = 0;
	DIR *d = spool_dir_list(sp->queue_fd);
	if (d == NULL)
		return -1;
	char **ids = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!spool_id_valid(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			ids = xrealloc(ids, cap * sizeof *ids);
		}
		ids[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	/* The id starts with the arrival time (spool_id_format). */
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

/*
 * The envelope header, streamed a line at a time into the codec: fills h,
 * and e with what delivery needs. -1 with errno EBADMSG if corrupt or if
 * the header names another message (the file was reused meanwhile).
 */
static int
entry_parse_header(FILE *f, const char *id, struct spool_entry *e, struct spool_header *h)
{
	struct spool_header_decoder d;
	spool_header_decode_start(&d, h);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int last = 0;
	while (last == 0 && (n = getline(&line, &cap, f)) > 0)
		last = spool_header_decode_line(&d, line, (size_t)n);
	free(line);
	if (spool_header_decode_end(&d, last) < 0) {
		errno = EBADMSG;
		return -1;
	}
	if (strcmp(h->id, id) != 0 || !str_copy(e->from, sizeof e->from, h->from)) {
		spool_header_free(h);
		errno = EBADMSG;
		return -1;
	}
	e->arrival = h->arrival;
	e->requiretls = h->requiretls;
	e->body_offset = h->length;
	if (h->nrcpts > 0)
		e->rcpts = xcalloc(h->nrcpts, sizeof *e->rcpts);
	for (; e->nrcpts < h->nrcpts; e->nrcpts++)
		e->rcpts[e->nrcpts] = xstrdup(h->rcpts[e->nrcpts].addr);
	return 0;
}

/* Append what is left of fd to b; stops at the end or the first error. */
static void
read_rest_of(int fd, struct buf *b)
{
	char chunk[4096];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			buf_append(b, chunk, (size_t)n);
}

/* Recipients done, from queue/<qid>.state (none when it is missing). */
static void
entry_read_state(struct spool *sp, const char *id, char ***done_r, size_t *n_r)
{
	char name[SPOOL_QID_SIZE + 8];
	snprintf(name, sizeof name, "%s.state", id);
	int fd = openat(sp->queue_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct buf text;
	buf_init(&text, 0);
	read_rest_of(fd, &text);
	close(fd);
	spool_state_decode(text.data, text.len, done_r, n_r);
	buf_free(&text);
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
spool_entry_read_header(struct spool *sp, const char *id, struct spool_entry *e_r,
			struct spool_header *h_r)
{
	struct spool_header h;
	memset(e_r, 0, sizeof *e_r);
	if (!spool_id_valid(id)) {
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
	int rc = entry_parse_header(f, id, e_r, &h);
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
	if (rc == 0 && h_r)
		*h_r = h;
	else if (rc == 0)
		spool_header_free(&h);
	errno = e;
	return rc;
}

int
spool_entry_read(struct spool *sp, const char *id, struct spool_entry *e_r)
{
	return spool_entry_read_header(sp, id, e_r, NULL);
}

int
spool_entry_mark_done(struct spool *sp, const char *id, const char *rcpt)
{
	if (!spool_id_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	char name[SPOOL_QID_SIZE + 8];
	snprintf(name, sizeof name, "%s.state", id);
	struct buf line;
	buf_init(&line, 0);
	spool_state_encode(&line, rcpt);
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
		spool_write_all(fd, "\n", 1);
	/* One write of the whole line: a reader sees it whole or not at all. */
	if (fd >= 0 && spool_write_all(fd, line.data, line.len) == 0 && fdatasync(fd) == 0)
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

int
spool_retry_write(struct spool *sp, const struct spool_retry *r)
{
	char tmp[SPOOL_QID_SIZE + 32], name[SPOOL_QID_SIZE + 8];
	if (!spool_id_valid(r->id)) {
		errno = EINVAL;
		return -1;
	}
	/* Per thread: the local and the remote agent may both write one message's. */
	snprintf(tmp, sizeof tmp, "%s.retry.%d.tmp", r->id, (int)gettid());
	snprintf(name, sizeof name, "%s.retry", r->id);
	struct buf line;
	buf_init(&line, 0);
	spool_retry_encode(&line, r);
	int rc = -1;
	int fd = openat(sp->queue_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		rc = spool_write_all(fd, line.data, line.len);
		close(fd);
		if (rc == 0)
			rc = renameat(sp->queue_fd, tmp, sp->queue_fd, name);
		if (rc != 0)
			unlinkat(sp->queue_fd, tmp, 0);
	}
	buf_free(&line);
	return rc;
}

int
spool_retry_read(struct spool *sp, const char *id, struct spool_retry *r_out)
{
	char name[SPOOL_QID_SIZE + 8], line[sizeof r_out->last_error * 3 + 64];
	memset(r_out, 0, sizeof *r_out);
	if (!spool_id_valid(id)) {
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
	return spool_retry_decode(line, (size_t)n, r_out);
}

int
spool_retry_clear(struct spool *sp, const char *id)
{
	char name[SPOOL_QID_SIZE + 8];
	if (!spool_id_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(name, sizeof name, "%s.retry", id);
	return unlinkat(sp->queue_fd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
}
