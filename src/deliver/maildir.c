/*
 * maildir: deliver one spooled message into one mailbox (maildir.h).
 *
 * The Maildir rules (cr.yp.to/proto/maildir.html): write tmp/<unique>,
 * fsync it, link it to new/<unique>, remove the tmp name; the unique name
 * is <time>.M<usec>P<pid>Q<counter>.<host>, so two processes or threads
 * never pick the same one. We also fsync new/ (and the parent of any folder
 * we create), so a 0 return survives a crash: the spool may then forget
 * the recipient.
 * A batch does the same for many files at once, in three rounds: write
 * every file and start its write-back, then sync them (one syncfs for all,
 * see group_sync.h, or an fdatasync each) and link each, then fsync each
 * new/ folder once. The disk then sees a flush or two per batch instead of
 * two per message.
 * The address picks a path, so it is checked to be one safe path component
 * per part: never empty, never starting with '.', no '/' and no control
 * bytes. Nothing outside <root> can be written whatever the client sent.
 */
#include "maildir.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "group_sync.h"
#include "self.h"
#include "str.h"
#include "xmalloc.h"

#define MAILDIR_BUF_SIZE (64 * 1024)
#define MAILDIR_PART_MAX 256

static atomic_uint maildir_counter;

static bool
is_safe_component(const char *s)
{
	if (s[0] == '\0' || s[0] == '.')
		return false; /* also rules out "." and ".." */
	for (; *s; s++)
		if (*s == '/' || (unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* A quoted local part names the same mailbox as its unquoted text. */
static bool
unquote_local(const char *p, size_t n, char *out, size_t size)
{
	if (n < 2 || p[0] != '"' || p[n - 1] != '"')
		return str_copy_n(out, size, p, n);
	size_t o = 0;
	for (size_t i = 1; i + 1 < n; i++) {
		if (p[i] == '\\' && i + 2 < n)
			i++; /* quoted-pair: keep the character after the backslash */
		if (o + 1 >= size)
			return false;
		out[o++] = p[i];
	}
	out[o] = '\0';
	return true;
}

/* rcpt into its mailbox's base local part and domain, lower case, checked. */
static int
maildir_split(const char *rcpt, char *local, char *domain, char *err, size_t err_size)
{
	const char *at = strrchr(rcpt, '@'); /* a quoted local part may hold '@' */
	if (at == NULL) {
		snprintf(err, err_size, "the address has no domain");
		return -1;
	}
	if (!unquote_local(rcpt, (size_t)(at - rcpt), local, MAILDIR_PART_MAX) ||
	    !str_copy(domain, MAILDIR_PART_MAX, at + 1)) {
		snprintf(err, err_size, "the address is too long for a mailbox name");
		return -1;
	}
	char *plus = strchr(local, '+');
	if (plus)
		*plus = '\0'; /* DESIGN.md "Mailboxes": +tag goes to the base address */
	str_lower(local);
	str_lower(domain);
	if (!is_safe_component(local) || !is_safe_component(domain)) {
		snprintf(err, err_size,
			 "the address cannot be a mailbox folder name (empty, leading '.', '/' "
			 "or control characters)");
		return -1;
	}
	return 0;
}

void
maildir_path_for(const char *root, const char *rcpt, char *out, size_t size)
{
	char local[MAILDIR_PART_MAX], domain[MAILDIR_PART_MAX], err[160];
	if (size == 0)
		return;
	int n = -1;
	if (maildir_split(rcpt, local, domain, err, sizeof err) == 0)
		n = snprintf(out, size, "%s/%s/%s", root, domain, local);
	if (n < 0 || (size_t)n >= size)
		out[0] = '\0';
}

static int
fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* mkdir one folder; a new folder's name is made durable in its parent. */
static int
make_dir(char *path)
{
	if (mkdir(path, 0700) < 0)
		return errno == EEXIST ? 0 : -1;
	char *slash = strrchr(path, '/');
	if (slash == NULL)
		return fsync_dir(".");
	if (slash == path)
		return fsync_dir("/");
	*slash = '\0';
	int rc = fsync_dir(path);
	*slash = '/';
	return rc;
}

/* mkdir -p box, then box/{tmp,new,cur}; races with another deliverer are fine. */
static int
maildir_make(const char *box, char *err, size_t err_size)
{
	char path[4096 + 8]; /* box (< 4096) and "/cur" */
	struct stat st;
	snprintf(path, sizeof path, "%s/cur", box);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0; /* cur is made last, so the mailbox is complete */
	if (!str_copy(path, sizeof path, box))
		goto fail;
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = make_dir(path);
		*p = '/';
		if (rc < 0)
			goto fail;
	}
	if (make_dir(path) < 0)
		goto fail;
	static const char *subs[] = {"tmp", "new", "cur"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", box, subs[i]);
		if (make_dir(path) < 0)
			goto fail;
	}
	return 0;
fail:
	snprintf(err, err_size, "cannot create the mailbox folder %s: %s", path, strerror(errno));
	return -1;
}

/* The host part of a Maildir name: '/' and ':' cannot appear in it (the spec). */
static void
maildir_host(char *out, size_t size)
{
	size_t o = 0;
	for (const char *h = self_hostname(); *h && o + 5 < size; h++) {
		if (*h == '/' || *h == ':')
			o += (size_t)snprintf(out + o, size - o, "\\%03o", *h);
		else
			out[o++] = *h;
	}
	out[o] = '\0';
}

static void
maildir_unique(char *out, size_t size)
{
	struct timeval tv;
	char safe[1024];
	gettimeofday(&tv, NULL);
	maildir_host(safe, sizeof safe);
	unsigned q = atomic_fetch_add(&maildir_counter, 1) + 1;
	snprintf(out, size, "%lld.M%ldP%dQ%u.%s", (long long)tv.tv_sec, (long)tv.tv_usec,
		 self_pid(), q, safe);
}

struct copy_out {
	int fd;
	char *buf;
	size_t len;
};

static int
out_flush(struct copy_out *o)
{
	size_t done = 0;
	while (done < o->len) {
		ssize_t w = write(o->fd, o->buf + done, o->len - done);
		if (w < 0 && errno != EINTR)
			return -1;
		if (w > 0)
			done += (size_t)w;
	}
	o->len = 0;
	return 0;
}

static int
out_put_n(struct copy_out *o, const char *p, size_t n)
{
	while (n > 0) {
		if (o->len == MAILDIR_BUF_SIZE && out_flush(o) < 0)
			return -1;
		size_t k = MAILDIR_BUF_SIZE - o->len;
		if (k > n)
			k = n;
		memcpy(o->buf + o->len, p, k);
		o->len += k;
		p += k;
		n -= k;
	}
	return 0;
}

/*
 * p[0..n) with each CRLF written as LF; a CR not followed by LF is kept. A
 * CR at the end is held in *cr until the next byte is known.
 */
static int
out_put_lf(struct copy_out *o, const char *p, size_t n, bool *cr)
{
	if (*cr && n > 0) {
		if (p[0] != '\n' && out_put_n(o, "\r", 1) < 0)
			return -1;
		*cr = false;
	}
	while (n > 0) {
		const char *q = memchr(p, '\r', n);
		size_t run = q ? (size_t)(q - p) : n;
		if (out_put_n(o, p, run) < 0)
			return -1;
		if (q == NULL)
			break;
		if (run + 1 == n) {
			*cr = true;
			break;
		}
		if (q[1] != '\n' && out_put_n(o, "\r", 1) < 0)
			return -1;
		p = q + 1;
		n -= run + 1;
	}
	return 0;
}

/*
 * Return-Path, then the message from off on with CRLF turned into LF (a CR
 * not followed by LF is kept). A CR at the end of one read is held until
 * the next byte is known.
 */
static int
maildir_copy(int in, uint64_t off, int out, const char *from, const char **what_r)
{
	struct copy_out o = {out, xmalloc(MAILDIR_BUF_SIZE), 0};
	char *ibuf = xmalloc(MAILDIR_BUF_SIZE);
	char head[600];
	int rc = -1;
	bool cr = false;
	ssize_t n;
	snprintf(head, sizeof head, "Return-Path: <%s>\n", from);
	if (out_put_n(&o, head, strlen(head)) < 0)
		goto out;
	*what_r = "read the spool file";
	while ((n = pread(in, ibuf, MAILDIR_BUF_SIZE, (off_t)off)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		off += (uint64_t)n;
		*what_r = "write";
		if (out_put_lf(&o, ibuf, (size_t)n, &cr) < 0)
			goto out;
		*what_r = "read the spool file";
	}
	*what_r = "write";
	if ((cr && out_put_n(&o, "\r", 1) < 0) || out_flush(&o) < 0)
		goto out;
	rc = 0;
out:
	free(ibuf);
	free(o.buf);
	return rc;
}

/* Write tmp/<name> of box from the spool; the fd stays open for the sync. */
static int
maildir_write_tmp(const char *box, int tmp_fd, const char *name, const char *from,
		  const char *spool_path, uint64_t body_offset, int *fd_r, char *err,
		  size_t err_size)
{
	int in = open(spool_path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		snprintf(err, err_size, "cannot open the spool file %s: %s", spool_path,
			 strerror(errno));
		return -1;
	}
	/* A keyed name may be left in tmp/ by a crash: it is ours, written over. */
	int out = openat(tmp_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		snprintf(err, err_size, "cannot create %s/tmp/%s: %s", box, name, strerror(errno));
		close(in);
		return -1;
	}
	const char *what = "write";
	int rc = maildir_copy(in, body_offset, out, from, &what);
	close(in);
	if (rc < 0) {
		snprintf(err, err_size, "cannot %s %s/tmp/%s: %s", what, box, name,
			 strerror(errno));
		close(out);
		unlinkat(tmp_fd, name, 0);
		return -1;
	}
	/* Start the write-back now, so the fdatasyncs of a batch wait in parallel. */
	sync_file_range(out, 0, 0, SYNC_FILE_RANGE_WRITE);
	*fd_r = out;
	return 0;
}

/* ---- batches ---- */

/*
 * tmp/ to new/ without ever replacing a file of the same name: one
 * renameat2(RENAME_NOREPLACE), or where the filesystem lacks it, the
 * classic link() and unlink() of the Maildir specification.
 */
static int
move_noreplace(int tmp_fd, int new_fd, const char *name)
{
	if (renameat2(tmp_fd, name, new_fd, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(tmp_fd, name, new_fd, name, 0) < 0)
		return -1;
	unlinkat(tmp_fd, name, 0);
	return 0;
}

/*
 * A mailbox of the batch, its tmp/ and new/ open: files are created, moved
 * and synced by name within them, without a walk from / for every file.
 */
struct maildir_box {
	char *path; /* <root>/<domain>/<local> */
	int tmp_fd, new_fd;
	char **cur;  /* the names in cur/ without their ":2,..." info, sorted ... */
	size_t ncur; /* ... read once per batch, when a keyed delivery asks */
	bool cur_read;
};

struct maildir_item {
	char *name; /* its unique name, in tmp/ and then in new/ */
	size_t box; /* index into the batch's mailboxes */
	int fd;	    /* open from add until commit */
	bool in_tmp;
	bool linked;
	bool was_there; /* keyed: found in new/ or cur/, delivered before */
	char *err;	/* NULL while all is well */
};

struct maildir_batch {
	char *root;
	struct group_sync *gsync; /* NULL: an fdatasync per file */
	struct maildir_item *items;
	size_t n, cap;
	struct maildir_box *boxes; /* each new/ is fsynced once per commit */
	size_t nboxes;
};

struct maildir_batch *
maildir_batch_new(const char *root, struct group_sync *gsync)
{
	struct maildir_batch *b = xcalloc(1, sizeof *b);
	b->root = xstrdup(root);
	b->gsync = gsync;
	return b;
}

size_t
maildir_batch_count(const struct maildir_batch *b)
{
	return b->n;
}

static int
open_subdir(const char *box, const char *sub)
{
	char path[4096 + 8];
	snprintf(path, sizeof path, "%s/%s", box, sub);
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* The index of mailbox box in the batch, made and opened the first time. */
static int
batch_box(struct maildir_batch *b, const char *box, char *err, size_t err_size)
{
	for (size_t i = 0; i < b->nboxes; i++)
		if (strcmp(b->boxes[i].path, box) == 0)
			return (int)i;
	if (maildir_make(box, err, err_size) < 0)
		return -1;
	int tmp_fd = open_subdir(box, "tmp");
	int new_fd = tmp_fd < 0 ? -1 : open_subdir(box, "new");
	if (new_fd < 0) {
		snprintf(err, err_size, "cannot open the mailbox folder %s/%s: %s", box,
			 tmp_fd < 0 ? "tmp" : "new", strerror(errno));
		if (tmp_fd >= 0)
			close(tmp_fd);
		return -1;
	}
	b->boxes = xrealloc(b->boxes, (b->nboxes + 1) * sizeof *b->boxes);
	b->boxes[b->nboxes] =
	    (struct maildir_box){.path = xstrdup(box), .tmp_fd = tmp_fd, .new_fd = new_fd};
	return (int)b->nboxes++;
}

static void
item_fail(struct maildir_item *it, const char *err)
{
	if (it->err == NULL)
		it->err = xstrdup(err);
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* cur/ of a mailbox, read once: a reader moves new/NAME to cur/NAME:2,FLAGS. */
static void
box_read_cur(struct maildir_box *box)
{
	box->cur_read = true;
	int fd = open_subdir(box->path, "cur");
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue; /* ".", "..", and no Maildir name */
		if (box->ncur == cap) {
			cap = cap ? cap * 2 : 64;
			box->cur = xrealloc(box->cur, cap * sizeof *box->cur);
		}
		char *name = xstrdup(de->d_name);
		char *info = strchr(name, ':');
		if (info)
			*info = '\0';
		box->cur[box->ncur++] = name;
	}
	closedir(d);
	if (box->ncur)
		qsort(box->cur, box->ncur, sizeof *box->cur, cmp_name);
}

/* Is name (a keyed delivery) in new/ or cur/ already? */
static bool
box_has(struct maildir_box *box, const char *name)
{
	if (faccessat(box->new_fd, name, F_OK, 0) == 0)
		return true;
	if (!box->cur_read)
		box_read_cur(box);
	return box->ncur && bsearch(&name, box->cur, box->ncur, sizeof *box->cur, cmp_name);
}

static int
batch_push(struct maildir_batch *b, struct maildir_item it)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->items = xrealloc(b->items, b->cap * sizeof *b->items);
	}
	b->items[b->n] = it;
	return (int)b->n++;
}

int
maildir_batch_add(struct maildir_batch *b, const char *rcpt, const char *from,
		  const char *spool_path, uint64_t body_offset, const char *key, bool look,
		  char *err, size_t err_size)
{
	char local[MAILDIR_PART_MAX], domain[MAILDIR_PART_MAX], uniq[1400];
	char box[4096];
	if (maildir_split(rcpt, local, domain, err, err_size) < 0)
		return -1;
	if ((size_t)snprintf(box, sizeof box, "%s/%s/%s", b->root, domain, local) >= sizeof box) {
		snprintf(err, err_size, "the mailbox path is too long");
		return -1;
	}
	int bi = batch_box(b, box, err, err_size);
	if (bi < 0)
		return -1;
	if (key) {
		char host[1024];
		maildir_host(host, sizeof host);
		snprintf(uniq, sizeof uniq, "%s.%s", key, host);
	} else {
		maildir_unique(uniq, sizeof uniq);
	}
	if (key && look && box_has(&b->boxes[bi], uniq))
		return batch_push(
		    b, (struct maildir_item){
			   .name = xstrdup(uniq), .box = (size_t)bi, .fd = -1, .was_there = true});
	int fd;
	if (maildir_write_tmp(box, b->boxes[bi].tmp_fd, uniq, from, spool_path, body_offset, &fd,
			      err, err_size) < 0)
		return -1;
	return batch_push(b,
			  (struct maildir_item){
			      .name = xstrdup(uniq), .box = (size_t)bi, .fd = fd, .in_tmp = true});
}

void
maildir_batch_commit(struct maildir_batch *b)
{
	char err[4096 + 1600];
	/* Every file synced before the first enters new/: a kill in between
	 * leaves the fewest delivered files whose queue entry is still there.
	 * Many files: one syncfs for all of them while that is cheap. */
	size_t open_files = 0;
	int any_fd = -1;
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].fd >= 0)
			open_files++, any_fd = b->items[i].fd;
	bool synced = b->gsync && open_files > 1 && group_sync_enabled(b->gsync) &&
		      group_sync_run(b->gsync, any_fd, open_files) == 0;
	for (size_t i = 0; i < b->n; i++) {
		struct maildir_item *it = &b->items[i];
		if (it->fd < 0)
			continue; /* committed before */
		const char *what = NULL;
		if (!synced && fdatasync(it->fd) < 0)
			what = "fsync";
		if (close(it->fd) < 0 && what == NULL && errno != EINTR)
			what = "close";
		it->fd = -1;
		if (what) {
			snprintf(err, sizeof err, "cannot %s %s/tmp/%s: %s", what,
				 b->boxes[it->box].path, it->name, strerror(errno));
			item_fail(it, err);
		}
	}
	for (size_t i = 0; i < b->n; i++) {
		struct maildir_item *it = &b->items[i];
		if (!it->in_tmp)
			continue; /* committed before */
		const struct maildir_box *box = &b->boxes[it->box];
		if (it->err == NULL && move_noreplace(box->tmp_fd, box->new_fd, it->name) < 0) {
			if (errno == EEXIST) {
				/* Keyed: this delivery was made before (its queue
				 * entry outlived a crash). Keep that one; its name is
				 * made durable with the others' below. */
				it->was_there = true;
			} else {
				snprintf(err, sizeof err, "cannot move %s/tmp/%s into new/: %s",
					 box->path, it->name, strerror(errno));
				item_fail(it, err);
			}
		}
		it->linked = it->err == NULL && !it->was_there;
		if (!it->linked)
			unlinkat(box->tmp_fd, it->name, 0);
		it->in_tmp = false;
	}
	/* One fsync per new/ folder makes every link of the batch into it durable. */
	for (size_t d = 0; d < b->nboxes; d++) {
		bool any = false;
		for (size_t i = 0; i < b->n && !any; i++)
			any = b->items[i].box == d && !b->items[i].err &&
			      (b->items[i].linked || b->items[i].was_there);
		if (!any || fsync(b->boxes[d].new_fd) == 0)
			continue;
		snprintf(err, sizeof err, "cannot fsync %s/new: %s", b->boxes[d].path,
			 strerror(errno));
		for (size_t i = 0; i < b->n; i++) {
			struct maildir_item *it = &b->items[i];
			if (it->box != d || it->err || !(it->linked || it->was_there))
				continue;
			if (it->was_there) { /* not ours to take back: retried later */
				item_fail(it, err);
				continue;
			}
			/* Not durable: take it back so the retry does not deliver twice. */
			unlinkat(b->boxes[d].new_fd, it->name, 0);
			item_fail(it, err);
		}
	}
}

int
maildir_batch_result(const struct maildir_batch *b, size_t i, char *err, size_t err_size)
{
	const struct maildir_item *it = &b->items[i];
	if (it->err == NULL && (it->linked || it->was_there))
		return 0;
	snprintf(err, err_size, "%s", it->err ? it->err : "not committed");
	return -1;
}

bool
maildir_batch_was_there(const struct maildir_batch *b, size_t i)
{
	return b->items[i].was_there && b->items[i].err == NULL;
}

void
maildir_batch_free(struct maildir_batch **bp)
{
	struct maildir_batch *b = *bp;
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++) {
		struct maildir_item *it = &b->items[i];
		if (it->fd >= 0) /* never committed: nothing reached new/ */
			close(it->fd);
		if (it->in_tmp)
			unlinkat(b->boxes[it->box].tmp_fd, it->name, 0);
		free(it->name);
		free(it->err);
	}
	for (size_t d = 0; d < b->nboxes; d++) {
		close(b->boxes[d].tmp_fd);
		close(b->boxes[d].new_fd);
		free(b->boxes[d].path);
		for (size_t k = 0; k < b->boxes[d].ncur; k++)
			free(b->boxes[d].cur[k]);
		free(b->boxes[d].cur);
	}
	free(b->boxes);
	free(b->items);
	free(b->root);
	free(b);
	*bp = NULL;
}

int
maildir_deliver(const char *root, const char *rcpt, const char *from, const char *spool_path,
		uint64_t body_offset, char *err, size_t err_size)
{
	struct maildir_batch *b = maildir_batch_new(root, NULL);
	int rc =
	    maildir_batch_add(b, rcpt, from, spool_path, body_offset, NULL, false, err, err_size);
	if (rc >= 0) {
		maildir_batch_commit(b);
		rc = maildir_batch_result(b, 0, err, err_size);
	}
	maildir_batch_free(&b);
	return rc;
}
