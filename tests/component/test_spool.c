/*
 * Component tests for spool/: the envelope round trip (awkward addresses,
 * values that try to inject lines), group commit from many threads, cleanup
 * of tmp/ at open, the write-error path (RLIMIT_FSIZE gives EFBIG), the
 * delivery state (.state) across a reopen, and the reader's safety rules.
 * Each test works in its own directory under /tmp and removes it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "spool.h"
#include "spool_fixture.h"
#include "test_files.h"

/* ---- tests ---- */

static void
check_header_lines(const char *file, size_t body_offset)
{
	static const char *keys[] = {"version", "id",	    "arrival", "from", "ret",  "envid",
				     "body",	"smtputf8", "client",  "helo", "auth", "rcpt"};
	size_t nrcpt = 0;
	const char *p = file, *end = file + body_offset - 1;
	while (p < end) {
		const char *nl = strchr(p, '\n');
		size_t klen = strcspn(p, " \n");
		bool known = false;
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
			known |= strlen(keys[i]) == klen && strncmp(p, keys[i], klen) == 0;
		CHECK(known);
		nrcpt += strncmp(p, "rcpt ", 5) == 0;
		p = nl + 1;
	}
	CHECK(nrcpt == 3);
	CHECK(strstr(file, "\nrcpt injected") == NULL);
}

/* The raw file: encoded values where they belong, the body at body_offset. */
static void
check_spooled_file(const struct spool_entry *e, const char *body)
{
	size_t len;
	char *file = read_file(e->path, &len);
	CHECK(file != NULL && e->body_offset < len);
	if (file && e->body_offset < len) {
		CHECK_STR(file + e->body_offset, body);
		CHECK(strncmp(file, "version 1\nid ", 13) == 0);
		CHECK(strstr(file, "envid abc+2Bd%25ef\n") != NULL);
		CHECK(strstr(file, " notify=SUCCESS,DELAY orcpt=rfc822;a+20b@x.test\n") != NULL);
		CHECK(strstr(file, " notify=NEVER\n") != NULL);
		CHECK(strstr(file, "\nret HDRS\nenvid") != NULL);
		check_header_lines(file, (size_t)e->body_offset);
	}
	free(file);
}

static void
test_round_trip(void)
{
	char *dir;
	struct spool *sp = open_fresh_spool(&dir);
	struct smtp_mail_args mail = {0};
	set_addr(&mail.from, "\"john q. doe\"", "Example.COM");
	mail.ret = SMTP_RET_HDRS;
	mail.body = SMTP_BODY_8BITMIME;
	mail.smtputf8 = true;
	snprintf(mail.envid, sizeof mail.envid, "abc+2Bd%%ef");
	struct smtp_rcpt_args rcpts[3] = {0};
	set_addr(&rcpts[0].to, "\"a b\\\"c\"", "x.test");
	rcpts[0].notify_set = true;
	rcpts[0].notify = SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY;
	snprintf(rcpts[0].orcpt, sizeof rcpts[0].orcpt, "rfc822;a+20b@x.test");
	set_addr(&rcpts[1].to, "\"per%cent\tand\r\nrcpt evil@x.test\"", "x.test");
	set_addr(&rcpts[2].to, "Plain.\xc3\xa9", "X.test");
	rcpts[2].notify_set = true;
	struct spool_envelope env = {&mail, rcpts, 3, "192.0.2.1", "evil\r\nrcpt injected@x.test",
				     NULL,  0};

	time_t t0 = time(NULL);
	struct waiter w;
	const char *body = "Received: from x\r\nSubject: hi\r\n\r\nbody line\r\n";
	CHECK(spool_one(sp, &env, body, &w) == SPOOL_OK);
	time_t t1 = time(NULL);
	CHECK(w.calls == 1);

	char **ids;
	size_t n;
	CHECK(spool_list(sp, &ids, &n) == 0 && n == 1);
	if (n == 1)
		CHECK_STR(ids[0], w.id);
	spool_ids_free(ids, n);

	struct spool_entry e;
	CHECK(spool_entry_read(sp, w.id, &e) == 0);
	CHECK_STR(e.id, w.id);
	CHECK_STR(e.from, "\"john q. doe\"@Example.COM");
	CHECK(e.arrival >= t0 && e.arrival <= t1);
	CHECK(e.nrcpts == 3);
	if (e.nrcpts == 3) {
		CHECK_STR(e.rcpts[0], "\"a b\\\"c\"@x.test");
		CHECK_STR(e.rcpts[1], "\"per%cent\tand\r\nrcpt evil@x.test\"@x.test");
		CHECK_STR(e.rcpts[2], "Plain.\xc3\xa9@X.test");
	}
	check_spooled_file(&e, body);
	spool_entry_free(&e);

	/* The null sender. */
	mail.from.is_null = true;
	CHECK(spool_one(sp, &env, "x\r\n", &w) == SPOOL_OK);
	CHECK(spool_entry_read(sp, w.id, &e) == 0);
	CHECK_STR(e.from, "");
	spool_entry_free(&e);
	spool_close(&sp);
	CHECK(sp == NULL);
	rm_rf(dir);
}

/* ---- group commit from several threads ---- */

#define THREADS 8
#define PER_THREAD 25

struct worker {
	struct spool *sp;
	const struct spool_envelope *env;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct waiter w[PER_THREAD];
	int fails;
};

struct dispatcher {
	struct spool *sp;
	atomic_int stop;
	int max_per_dispatch;
};

static __thread int cb_in_dispatch;
static pthread_mutex_t cb_mu = PTHREAD_MUTEX_INITIALIZER;

static void
worker_cb(struct spool_msg *m, enum spool_result res, void *arg)
{
	struct worker *wk = arg;
	pthread_mutex_lock(&wk->mu);
	for (int i = 0; i < PER_THREAD; i++)
		if (strcmp(wk->w[i].id, spool_msg_id(m)) == 0) {
			wk->w[i].calls++;
			wk->w[i].res = res;
		}
	pthread_cond_signal(&wk->cond);
	pthread_mutex_unlock(&wk->mu);
	cb_in_dispatch++;
	spool_msg_free(&m);
}

static void *
worker_main(void *arg)
{
	struct worker *wk = arg;
	char body[1024];
	memset(body, 'x', sizeof body - 3);
	memcpy(body + sizeof body - 3, "\r\n", 3);
	for (int i = 0; i < PER_THREAD; i++) {
		struct spool_msg *m = spool_msg_begin(wk->sp, wk->env);
		if (m == NULL) {
			wk->fails++;
			continue;
		}
		pthread_mutex_lock(&wk->mu);
		snprintf(wk->w[i].id, SPOOL_QID_SIZE, "%s", spool_msg_id(m));
		pthread_mutex_unlock(&wk->mu);
		spool_msg_write(m, body, strlen(body));
		spool_msg_commit(m, worker_cb, wk);
		/* Like an SMTP client, wait for the 250 before the next message. */
		pthread_mutex_lock(&wk->mu);
		while (wk->w[i].calls == 0)
			pthread_cond_wait(&wk->cond, &wk->mu);
		pthread_mutex_unlock(&wk->mu);
	}
	return NULL;
}

static void *
dispatcher_main(void *arg)
{
	struct dispatcher *d = arg;
	while (!d->stop) {
		struct pollfd pfd = {spool_notify_fd(d->sp), POLLIN, 0};
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		cb_in_dispatch = 0;
		spool_dispatch_results(d->sp);
		pthread_mutex_lock(&cb_mu);
		if (cb_in_dispatch > d->max_per_dispatch)
			d->max_per_dispatch = cb_in_dispatch;
		pthread_mutex_unlock(&cb_mu);
	}
	return NULL;
}

static void
test_group_commit(void)
{
	char *dir;
	struct spool *sp = open_fresh_spool(&dir);
	struct smtp_mail_args mail;
	struct smtp_rcpt_args rcpt;
	struct spool_envelope env = simple_envelope(&mail, &rcpt);
	env.client_addr = "127.0.0.1";
	env.helo = "h";
	static struct worker wk[THREADS];
	pthread_t th[THREADS], dth;
	struct dispatcher d = {sp, 0, 0};
	pthread_create(&dth, NULL, dispatcher_main, &d);
	for (int t = 0; t < THREADS; t++) {
		memset(&wk[t], 0, sizeof wk[t]);
		wk[t].sp = sp;
		wk[t].env = &env;
		pthread_mutex_init(&wk[t].mu, NULL);
		pthread_cond_init(&wk[t].cond, NULL);
		pthread_create(&th[t], NULL, worker_main, &wk[t]);
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	d.stop = 1;
	pthread_join(dth, NULL);
	int bad = 0;
	for (int t = 0; t < THREADS; t++) {
		CHECK(wk[t].fails == 0);
		for (int i = 0; i < PER_THREAD; i++)
			bad += wk[t].w[i].calls != 1 || wk[t].w[i].res != SPOOL_OK;
		pthread_mutex_destroy(&wk[t].mu);
		pthread_cond_destroy(&wk[t].cond);
	}
	CHECK(bad == 0);
	char **ids;
	size_t n;
	CHECK(spool_list(sp, &ids, &n) == 0 && n == THREADS * PER_THREAD);
	for (size_t i = 1; i < n; i++)
		CHECK(strcmp(ids[i - 1], ids[i]) < 0);
	spool_ids_free(ids, n);
	CHECK(count_files(dir, "tmp") == 0);
	CHECK(count_files(dir, "queue") == THREADS * PER_THREAD);
	printf("# group commit: %d messages, at most %d results in one dispatch\n",
	       THREADS * PER_THREAD, d.max_per_dispatch);
	spool_close(&sp);
	rm_rf(dir);
}

static void
touch(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "a");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void
test_open_cleanup_and_reader(void)
{
	char *dir, err[256];
	struct spool *sp = open_fresh_spool(&dir);
	spool_close(&sp);
	touch(dir, "tmp/0000000000000001", "half a message");
	touch(dir, "tmp/junk", "x");
	touch(dir, "queue/0123456789ABCDEF.state", "gone@x.test\n");
	sp = spool_open(dir, err, sizeof err);
	CHECK(sp != NULL);
	CHECK(count_files(dir, "tmp") == 0);
	CHECK(count_files(dir, "queue") == 0);

	/* A second writer is refused; a reader is not, and cleans nothing. */
	struct spool *sp2 = spool_open(dir, err, sizeof err);
	CHECK(sp2 == NULL);
	CHECK(strstr(err, "in use") != NULL);
	touch(dir, "tmp/0000000000000002", "in flight");
	struct spool *rd = spool_open_reader(dir, err, sizeof err);
	CHECK(rd != NULL);
	CHECK(count_files(dir, "tmp") == 1);
	struct smtp_mail_args mail = {0};
	mail.from.is_null = true;
	struct smtp_rcpt_args rcpt = {0};
	set_addr(&rcpt.to, "c", "d.test");
	struct spool_envelope env = {&mail, &rcpt, 1, NULL, NULL, NULL, 0};
	errno = 0;
	CHECK(spool_msg_begin(rd, &env) == NULL && errno == EPERM);
	CHECK(spool_notify_fd(rd) == -1);

	/* Ids from outside are checked; a corrupt file is reported. */
	struct spool_entry e;
	CHECK(spool_entry_read(rd, "../../etc/passwd", &e) < 0 && errno == EINVAL);
	CHECK(spool_entry_read(rd, "0123456789ABCDEF", &e) < 0 && errno == ENOENT);
	touch(dir, "queue/0123456789ABCDEF", "version 1\nid 0123456789ABCDEF\nno blank line\n");
	CHECK(spool_entry_read(rd, "0123456789ABCDEF", &e) < 0 && errno == EBADMSG);
	CHECK(spool_entry_mark_done(rd, "../x", "a@b") < 0 && errno == EINVAL);
	CHECK(spool_entry_remove(rd, "0123456789ABCDEF") == 0);
	spool_close(&rd);

	/* An unfinished message dropped leaves nothing. */
	struct spool_msg *m = spool_msg_begin(sp, &env);
	CHECK(m != NULL);
	CHECK(spool_msg_write(m, "abc", 3) == 0);
	spool_msg_abort(&m);
	CHECK(m == NULL);
	CHECK(count_files(dir, "tmp") == 1); /* only the reader test's file */
	spool_close(&sp);
	rm_rf(dir);
}

static void
test_write_error(void)
{
	char *dir;
	struct spool *sp = open_fresh_spool(&dir);
	struct smtp_mail_args mail;
	struct smtp_rcpt_args rcpt;
	struct spool_envelope env = simple_envelope(&mail, &rcpt);

	/* Past RLIMIT_FSIZE write(2) fails with EFBIG (SIGXFSZ ignored). */
	struct rlimit old, lim;
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 200 * 1024;
	signal(SIGXFSZ, SIG_IGN);
	struct spool_msg *m = spool_msg_begin(sp, &env);
	CHECK(m != NULL);
	setrlimit(RLIMIT_FSIZE, &lim);
	static char chunk[4096];
	memset(chunk, 'y', sizeof chunk);
	int failed_at = -1, err_no = 0;
	for (int i = 0; i < 256 && m; i++)
		if (spool_msg_write(m, chunk, sizeof chunk) < 0 && failed_at < 0)
			failed_at = i, err_no = errno;
	CHECK(failed_at > 0);
	CHECK(err_no == EFBIG);
	CHECK(spool_msg_write(m, "z", 1) < 0); /* sticky */
	struct waiter w = {0};
	spool_msg_commit(m, record_cb, &w);
	wait_commit(sp, &w);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	CHECK(w.calls == 1 && w.res == SPOOL_IO_ERROR);
	CHECK(count_files(dir, "tmp") == 0);
	CHECK(count_files(dir, "queue") == 0);

	/* The spool still works afterwards. */
	CHECK(spool_one(sp, &env, "ok\r\n", &w) == SPOOL_OK);
	spool_close(&sp);
	rm_rf(dir);
}

static void
test_state(void)
{
	char *dir, err[256];
	struct spool *sp = open_fresh_spool(&dir);
	struct smtp_mail_args mail = {0};
	set_addr(&mail.from, "a", "b.test");
	struct smtp_rcpt_args rcpts[3] = {0};
	set_addr(&rcpts[0].to, "one", "x.test");
	set_addr(&rcpts[1].to, "two", "x.test");
	set_addr(&rcpts[2].to, "\"three 3\"", "x.test");
	struct spool_envelope env = {&mail, rcpts, 3, NULL, NULL, NULL, 0};
	struct waiter w;
	CHECK(spool_one(sp, &env, "m\r\n", &w) == SPOOL_OK);

	struct spool_entry e;
	CHECK(spool_entry_mark_done(sp, w.id, "one@x.test") == 0);
	CHECK(spool_entry_read(sp, w.id, &e) == 0 && e.nrcpts == 2);
	spool_entry_free(&e);
	CHECK(spool_entry_mark_done(sp, w.id, "\"three 3\"@x.test") == 0);
	spool_close(&sp);

	/* After a "crash": a half-written last line does not count. */
	char name[64];
	snprintf(name, sizeof name, "queue/%s.state", w.id);
	touch(dir, name, "two@x.te");
	sp = spool_open(dir, err, sizeof err);
	CHECK(sp != NULL);
	CHECK(spool_entry_read(sp, w.id, &e) == 0 && e.nrcpts == 1);
	if (e.nrcpts == 1)
		CHECK_STR(e.rcpts[0], "two@x.test");
	spool_entry_free(&e);
	/* The next record starts on a line of its own. */
	CHECK(spool_entry_mark_done(sp, w.id, "two@x.test") == 0);
	CHECK(spool_entry_read(sp, w.id, &e) == 0 && e.nrcpts == 0);
	spool_entry_free(&e);
	CHECK(count_files(dir, "queue") == 2);
	CHECK(spool_entry_remove(sp, w.id) == 0);
	CHECK(count_files(dir, "queue") == 0);
	CHECK(spool_entry_remove(sp, w.id) == 0); /* already gone is fine */
	CHECK(spool_entry_read(sp, w.id, &e) < 0 && errno == ENOENT);
	spool_close(&sp);
	rm_rf(dir);
}

/* A 100 KiB body of one repeated letter (free it). */
static char *
big_body(void)
{
	size_t len = 100 * 1024;
	char *big = malloc(len + 1);
	memset(big, 'x', len);
	big[len] = '\0';
	return big;
}

/*
 * A removed message's file is reused for a later one (no inode freed): the
 * new message must read back exactly, however long the old one was, a
 * reader of the old id must see it gone, and a clean close leaves tmp/ empty.
 */
static void
test_reuse(void)
{
	char *dir, err[256];
	struct spool *sp = open_fresh_spool(&dir);
	struct smtp_mail_args mail;
	struct smtp_rcpt_args rcpt;
	struct spool_envelope env = simple_envelope(&mail, &rcpt);
	char *big = big_body();
	struct waiter w1, w2, w3;
	CHECK(spool_one(sp, &env, big, &w1) == SPOOL_OK);
	CHECK(spool_one(sp, &env, "small one\r\n", &w2) == SPOOL_OK);
	struct stat st1, st2;
	char path[512];
	snprintf(path, sizeof path, "%s/queue/%s", dir, w1.id);
	CHECK(stat(path, &st1) == 0);
	const char *ids[] = {w1.id, w2.id};
	int errs[2] = {-1, -1};
	CHECK(spool_entries_remove(sp, ids, 2, errs) == 0 && errs[0] == 0 && errs[1] == 0);
	CHECK(count_files(dir, "queue") == 0);
	CHECK(count_files(dir, "tmp") == 2); /* kept for reuse */
	struct spool_entry e;
	CHECK(spool_entry_read(sp, w1.id, &e) < 0 && errno == ENOENT);
	/* Both new messages take a kept file, the big one's included. */
	CHECK(spool_one(sp, &env, "third\r\n", &w3) == SPOOL_OK);
	CHECK(spool_one(sp, &env, "fourth, a little longer\r\n", &w2) == SPOOL_OK);
	CHECK(count_files(dir, "tmp") == 0);
	const char *want[] = {"third\r\n", "fourth, a little longer\r\n"};
	const char *got_ids[] = {w3.id, w2.id};
	bool reused_big = false;
	for (int i = 0; i < 2; i++) {
		CHECK(spool_entry_read(sp, got_ids[i], &e) == 0);
		size_t len;
		char *file = read_file(e.path, &len);
		CHECK(file != NULL && e.body_offset < len);
		if (file && e.body_offset < len)
			CHECK_STR(file + e.body_offset, want[i]);
		free(file);
		if (stat(e.path, &st2) == 0 && st2.st_ino == st1.st_ino)
			reused_big = true;
		spool_entry_free(&e);
	}
	CHECK(reused_big);
	/* A reader's handle removes for good. */
	struct spool *rd = spool_open_reader(dir, err, sizeof err);
	CHECK(rd != NULL && spool_entry_remove(rd, w3.id) == 0);
	spool_close(&rd);
	CHECK(count_files(dir, "tmp") == 0);
	CHECK(spool_entry_remove(sp, w2.id) == 0);
	CHECK(count_files(dir, "tmp") == 1);
	spool_close(&sp);
	CHECK(count_files(dir, "tmp") == 0);
	free(big);
	rm_rf(dir);
}

/* Commit n messages at once (the pipeline takes them together); their ids. */
static char **
spool_many(struct spool *sp, const struct spool_envelope *env, const char *body, size_t n)
{
	struct waiter *w = calloc(n, sizeof *w);
	char **ids = calloc(n, sizeof *ids);
	for (size_t i = 0; i < n; i++) {
		struct spool_msg *m = spool_msg_begin(sp, env);
		CHECK(m != NULL);
		if (m == NULL)
			break;
		spool_msg_write(m, body, strlen(body));
		spool_msg_commit(m, record_cb, &w[i]);
	}
	for (size_t i = 0; i < n; i++) {
		wait_commit(sp, &w[i]);
		CHECK(w[i].calls == 1 && w[i].res == SPOOL_OK);
		ids[i] = strdup(w[i].id);
	}
	free(w);
	return ids;
}

/*
 * A burst's whole backlog is kept for reuse (a pool of 1,024 freed the
 * rest, and later creates walked past the freed inodes), within the file
 * and byte limits.
 */
static void
test_pool_limits(void)
{
	char *dir, err[256];
	struct spool *sp = open_fresh_spool(&dir);
	struct smtp_mail_args mail;
	struct smtp_rcpt_args rcpt;
	struct spool_envelope env = simple_envelope(&mail, &rcpt);
	size_t n = 1500;
	char **ids = spool_many(sp, &env, "burst\r\n", n);
	CHECK(spool_entries_remove(sp, (const char *const *)ids, n, NULL) == 0);
	CHECK(count_files(dir, "queue") == 0);
	CHECK(count_files(dir, "tmp") == n);
	spool_ids_free(ids, n);
	/* The next burst takes them all: no file is created. */
	ids = spool_many(sp, &env, "again\r\n", n);
	CHECK(count_files(dir, "tmp") == 0);
	CHECK(spool_entries_remove(sp, (const char *const *)ids, n, NULL) == 0);
	spool_ids_free(ids, n);
	spool_close(&sp);
	CHECK(count_files(dir, "tmp") == 0);

	/* Lowered limits: 3 files; then bytes for one 100 KiB file only. */
	sp = spool_open(dir, err, sizeof err);
	CHECK(sp != NULL);
	spool_set_pool_limits(sp, 3, 1 << 30);
	ids = spool_many(sp, &env, "five\r\n", 5);
	CHECK(spool_entries_remove(sp, (const char *const *)ids, 5, NULL) == 0);
	CHECK(count_files(dir, "tmp") == 3);
	spool_ids_free(ids, 5);
	spool_close(&sp);
	sp = spool_open(dir, err, sizeof err);
	CHECK(sp != NULL);
	spool_set_pool_limits(sp, 100, 150 * 1024);
	char *big = big_body();
	ids = spool_many(sp, &env, big, 2);
	CHECK(spool_entries_remove(sp, (const char *const *)ids, 2, NULL) == 0);
	CHECK(count_files(dir, "tmp") == 1);
	spool_ids_free(ids, 2);
	free(big);
	spool_close(&sp);
	rm_rf(dir);
}

/* Commit body; it must be in queue/ whole, tmp/ empty again. */
static void
check_commit_lands(struct spool *sp, const char *dir, const struct spool_envelope *env,
		   const char *body)
{
	struct waiter w;
	CHECK(spool_one(sp, env, body, &w) == SPOOL_OK);
	struct spool_entry e;
	CHECK(spool_entry_read(sp, w.id, &e) == 0);
	size_t len;
	char *file = read_file(e.path, &len);
	CHECK(file != NULL && (size_t)e.body_offset < len);
	if (file && (size_t)e.body_offset < len)
		CHECK_STR(file + e.body_offset, body);
	free(file);
	spool_entry_free(&e);
	CHECK(count_files(dir, "tmp") == 0);
	CHECK(spool_entry_remove(sp, w.id) == 0);
}

/*
 * Commits are synced a round at a time with syncfs; a slow syncfs switches
 * the commit threads to an fdatasync per file for the backoff, and then
 * syncfs is tried again. Mail commits whole either way.
 */
static void
test_syncfs_switch(void)
{
	char *dir;
	struct spool *sp = open_fresh_spool(&dir);
	struct smtp_mail_args mail;
	struct smtp_rcpt_args rcpt;
	struct spool_envelope env = simple_envelope(&mail, &rcpt);
	spool_set_pool_limits(sp, 0, 0); /* every commit creates its file */
	/* Not slow whatever else the machine has pending (a fresh build has
	 * plenty: the first syncfs of a CI run took over 100 ms). */
	spool_set_syncfs_limits(sp, 10 * 60 * 1000, 60 * 1000);
	CHECK(spool_syncs_by_group(sp));
	check_commit_lands(sp, dir, &env, "by syncfs\r\n");
	CHECK(spool_syncs_by_group(sp));

	/* Every syncfs is slow: one round, then a file at a time. */
	spool_set_syncfs_limits(sp, 0, 60 * 1000);
	check_commit_lands(sp, dir, &env, "slow syncfs\r\n");
	CHECK(!spool_syncs_by_group(sp));
	check_commit_lands(sp, dir, &env, "by fdatasync\r\n");
	CHECK(!spool_syncs_by_group(sp));
	spool_close(&sp);

	/* A short backoff: once it is over, the next rounds use syncfs again. */
	char err[256];
	sp = spool_open(dir, err, sizeof err);
	CHECK(sp != NULL);
	spool_set_syncfs_limits(sp, 0, 50);
	check_commit_lands(sp, dir, &env, "slow again\r\n");
	CHECK(!spool_syncs_by_group(sp));
	spool_set_syncfs_limits(sp, 60 * 1000, 50);
	struct timespec pause = {0, 100 * 1000 * 1000};
	nanosleep(&pause, NULL);
	check_commit_lands(sp, dir, &env, "after the backoff\r\n");
	check_commit_lands(sp, dir, &env, "by syncfs again\r\n");
	CHECK(spool_syncs_by_group(sp));
	spool_close(&sp);
	rm_rf(dir);
}

/* Commit m, wait, and return the message as delivery reads it (free it). */
int
main(void)
{
	test_round_trip();
	test_group_commit();
	test_open_cleanup_and_reader();
	test_write_error();
	test_state();
	test_reuse();
	test_pool_limits();
	test_syncfs_switch();
	return test_summary("test_spool");
}
