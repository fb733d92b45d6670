/*
 * Component tests for deliver/: Maildir path rules (+tag, case, quoted
 * local parts, unsafe names refused), the delivered file (Return-Path,
 * CRLF to LF also across read boundaries, bare CR kept), the unique names,
 * the failure path, and the local delivery agent end to end on a real
 * spool: recovery scan at start, kicks, remote recipients left queued, no
 * second delivery after a restart, and a prompt stop.
 * Each test works in its own directory under /tmp and removes it.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "group_sync.h"
#include "harness.h"
#include "test_files.h"
#include "local.h"
#include "maildir.h"
#include "spool.h"

/* Number of entries in path; the name of the last one in name_r. */
static size_t
list_dir(const char *path, char *name_r, size_t size)
{
	size_t n = 0;
	DIR *d = opendir(path);
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		if (name_r)
			snprintf(name_r, size, "%s", de->d_name);
	}
	if (d)
		closedir(d);
	return n;
}

static void
write_file(const char *path, const char *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

static void
test_paths(void)
{
	char out[256];
	maildir_path_for("/m", "John.Doe+news@Example.COM", out, sizeof out);
	CHECK_STR(out, "/m/example.com/john.doe");
	maildir_path_for("/m", "a+b+c@x.test", out, sizeof out);
	CHECK_STR(out, "/m/x.test/a");
	maildir_path_for("/m", "\"Quoted\"@x.test", out, sizeof out);
	CHECK_STR(out, "/m/x.test/quoted");
	maildir_path_for("/m", "\"sp ace@at\"@x.test", out, sizeof out);
	CHECK_STR(out, "/m/x.test/sp ace@at");
	maildir_path_for("/m", "Ren\xc3\xa9@x.test", out, sizeof out);
	CHECK_STR(out, "/m/x.test/ren\xc3\xa9");
	static const char *unsafe[] = {
	    "../x@d.test", "..@d.test",	    "a/b@d.test",   "\"a/b\"@d.test", ".hidden@d.test",
	    "x@..",	   "x@a/b",	    "@d.test",	    "+tag@d.test",    "x@",
	    "nodomain",	   "\"..\"@d.test", "a\x01@d.test", "x@.d.test"};
	for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++) {
		maildir_path_for("/m", unsafe[i], out, sizeof out);
		CHECK_STR(out, "");
	}
}

/* Deliver a spool-like file holding body after a dummy envelope. */
static int
deliver_body(const char *dir, const char *rcpt, const char *from, const char *body, size_t n,
	     char *err, size_t err_size)
{
	char spool_path[256], root[256];
	const char *env = "version 1\nxx\n\n";
	size_t elen = strlen(env);
	char *file = malloc(elen + n);
	memcpy(file, env, elen);
	memcpy(file + elen, body, n);
	snprintf(spool_path, sizeof spool_path, "%s/spoolfile", dir);
	write_file(spool_path, file, elen + n);
	free(file);
	snprintf(root, sizeof root, "%s/mail", dir);
	return maildir_deliver(root, rcpt, from, spool_path, elen, err, err_size);
}

/* The CRLF -> LF rule, written the simple way. */
static size_t
to_lf(const char *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++)
		if (!(in[i] == '\r' && i + 1 < n && in[i + 1] == '\n'))
			out[o++] = in[i];
	return o;
}

/*
 * The delivered file at path is "Return-Path: <s@x.test>" and body by the
 * CRLF rule; its text after the Return-Path line (free the whole), or NULL.
 */
static char *
check_delivered(const char *path, const char *body, size_t n, char **whole_r)
{
	size_t got_len;
	char *got = read_file(path, &got_len), *want = malloc(n + 100);
	const char *rp = "Return-Path: <s@x.test>\n";
	size_t rpl = strlen(rp);
	memcpy(want, rp, rpl);
	size_t want_len = rpl + to_lf(body, n, want + rpl);
	bool same = got != NULL && got_len == want_len && memcmp(got, want, want_len) == 0;
	CHECK(same);
	free(want);
	*whole_r = got;
	return same ? got + rpl : NULL;
}

static void
test_deliver(void)
{
	char *dir = make_tmpdir("maildir"), err[512], name[512], path[1024];
	/* A CRLF split by the 64 KiB read boundary, and a bare CR. */
	size_t n = 200 * 1024;
	char *body = malloc(n);
	const char *head = "Received: from x\r\nSubject: t\r\n\r\nbare\rCR\r\n";
	memcpy(body, head, strlen(head));
	for (size_t i = strlen(head); i < n; i++)
		body[i] = (i % 71 == 70) ? '\n' : (i % 71 == 69) ? '\r' : 'a' + (char)(i % 26);
	body[65535] = '\r';
	body[65536] = '\n';
	body[n - 2] = '\r';
	body[n - 1] = '\n';
	CHECK(deliver_body(dir, "Bob+list@Example.TEST", "s@x.test", body, n, err, sizeof err) ==
	      0);
	snprintf(path, sizeof path, "%s/mail/example.test/bob/new", dir);
	CHECK(list_dir(path, name, sizeof name) == 1);
	snprintf(path, sizeof path, "%s/mail/example.test/bob/tmp", dir);
	CHECK(list_dir(path, NULL, 0) == 0);
	snprintf(path, sizeof path, "%s/mail/example.test/bob/cur", dir);
	CHECK(list_dir(path, NULL, 0) == 0);
	char pid[32];
	snprintf(pid, sizeof pid, "P%ldQ", (long)getpid());
	CHECK(strstr(name, ".M") != NULL && strstr(name, pid) != NULL);
	CHECK(strchr(name, ':') == NULL && name[0] >= '1' && name[0] <= '9');

	snprintf(path, sizeof path, "%s/mail/example.test/bob/new/%s", dir, name);
	char *whole, *text = check_delivered(path, body, n, &whole);
	CHECK(text != NULL && strncmp(text, "Received: from x\nSubject: t\n\nbare\rCR\n", 37) == 0);
	free(whole);

	/* Null sender; a second delivery gets a different name. */
	CHECK(deliver_body(dir, "bob@example.test", "", "A\r\nB\r", 5, err, sizeof err) == 0);
	snprintf(path, sizeof path, "%s/mail/example.test/bob/new", dir);
	CHECK(list_dir(path, NULL, 0) == 2);
	free(body);
	rm_rf(dir);
}

/*
 * Runs of CR, LF and other bytes in every order, CRs at the ends of the
 * 64 KiB reads (from the body's start on), and a CR as the last byte: the
 * file is what the simple rule gives.
 */
static void
test_deliver_cr_runs(void)
{
	char *dir = make_tmpdir("maildir"), err[512], name[512], path[1024];
	size_t n = 140 * 1024;
	char *body = malloc(n);
	unsigned seed = 12345;
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		unsigned r = (seed >> 16) % 5;
		body[i] = r < 2 ? '\r' : r < 4 ? '\n' : 'x';
	}
	size_t cut[] = {65534, 65535, 131070, 131071};
	for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++)
		body[cut[i]] = '\r';
	body[n - 1] = '\r';
	CHECK(deliver_body(dir, "cr@example.test", "s@x.test", body, n, err, sizeof err) == 0);
	snprintf(path, sizeof path, "%s/mail/example.test/cr/new", dir);
	CHECK(list_dir(path, name, sizeof name) == 1);
	snprintf(path, sizeof path, "%s/mail/example.test/cr/new/%s", dir, name);
	char *whole;
	CHECK(check_delivered(path, body, n, &whole) != NULL);
	free(whole);
	free(body);
	rm_rf(dir);
}

static void
test_deliver_failures(void)
{
	char *dir = make_tmpdir("maildir"), err[512], root[256], path[512];
	snprintf(root, sizeof root, "%s/mail", dir);
	err[0] = '\0';
	CHECK(maildir_deliver(root, "../../evil@x.test", "", "/nonexistent", 0, err, sizeof err) <
	      0);
	CHECK(err[0] != '\0');
	CHECK(maildir_deliver(root, "x@../../etc", "", "/nonexistent", 0, err, sizeof err) < 0);
	CHECK(list_dir(dir, NULL, 0) == 0); /* nothing made at all */
	err[0] = '\0';
	CHECK(maildir_deliver(root, "a@x.test", "", "/nonexistent/spool", 0, err, sizeof err) < 0);
	CHECK(strstr(err, "spool") != NULL && strstr(err, "No such file") != NULL);
	snprintf(path, sizeof path, "%s/x.test/a/tmp", root);
	CHECK(list_dir(path, NULL, 0) == 0);
	snprintf(path, sizeof path, "%s/x.test/a/new", root);
	CHECK(list_dir(path, NULL, 0) == 0);
	rm_rf(dir);
}

/* ---- the local delivery agent ---- */

static bool
is_example(const char *domain, void *arg)
{
	(void)arg;
	return strcmp(domain, "example.test") == 0;
}

static void
set_addr(struct smtp_addr *a, const char *local, const char *domain)
{
	memset(a, 0, sizeof *a);
	snprintf(a->local, sizeof a->local, "%s", local);
	snprintf(a->domain, sizeof a->domain, "%s", domain);
}

static void
done_cb(struct spool_msg *m, enum spool_result res, void *arg)
{
	char *id = arg;
	if (res == SPOOL_OK)
		snprintf(id, SPOOL_QID_SIZE, "%s", spool_msg_id(m));
	else
		id[0] = '!';
	spool_msg_free(&m);
}

/* Spool a message to the given recipients; its id in id (empty on error). */
static void
spool_to(struct spool *sp, const char *const *locals, const char *const *domains, size_t n,
	 char id[SPOOL_QID_SIZE])
{
	struct smtp_mail_args mail = {0};
	set_addr(&mail.from, "sender", "origin.test");
	struct smtp_rcpt_args rcpts[4] = {0};
	for (size_t i = 0; i < n; i++)
		set_addr(&rcpts[i].to, locals[i], domains[i]);
	struct spool_envelope env = {&mail, rcpts, n, "127.0.0.1", "client.test", NULL, 0};
	id[0] = '\0';
	struct spool_msg *m = spool_msg_begin(sp, &env);
	if (m == NULL)
		return;
	const char *msg = "Received: from client.test\r\nSubject: hello\r\n\r\nHi\r\n";
	spool_msg_write(m, msg, strlen(msg));
	spool_msg_commit(m, done_cb, id);
	for (int i = 0; i < 50 && id[0] == '\0'; i++) {
		struct pollfd pfd = {spool_notify_fd(sp), POLLIN, 0};
		if (poll(&pfd, 1, 100) > 0)
			spool_dispatch_results(sp);
	}
}

static bool
is_queued(struct spool *sp, const char *id)
{
	char **ids;
	size_t n;
	bool found = false;
	if (spool_list(sp, &ids, &n) < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		found |= strcmp(ids[i], id) == 0;
	spool_ids_free(ids, n);
	return found;
}

static size_t
pending_rcpts(struct spool *sp, const char *id)
{
	struct spool_entry e;
	if (spool_entry_read(sp, id, &e) < 0)
		return 0;
	size_t n = e.nrcpts;
	spool_entry_free(&e);
	return n;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_local_agent(void)
{
	char *dir = make_tmpdir("maildir"), err[256], spool_dir[256], mail[256], box[1200];
	char a[SPOOL_QID_SIZE], b[SPOOL_QID_SIZE];
	snprintf(spool_dir, sizeof spool_dir, "%s/spool", dir);
	snprintf(mail, sizeof mail, "%s/mail", dir);
	struct spool *sp = spool_open(spool_dir, err, sizeof err);
	CHECK(sp != NULL);
	struct retry_policy retry;
	retry_policy_default(&retry);

	/* A: queued before the agent starts (found by the recovery scan). */
	spool_to(sp, (const char *const[]){"Bob+x", "carol"},
		 (const char *const[]){"Example.TEST", "remote.test"}, 2, a);
	CHECK(a[0] != '\0' && a[0] != '!');
	struct local_delivery *ld = local_delivery_start(
	    sp,
	    &(struct local_config){.mailbox_dir = mail, .retry = retry, .is_local = is_example});
	CHECK(ld != NULL);
	/* B: committed while it runs, then kicked, as the server does. */
	spool_to(sp, (const char *const[]){"\"alice\""}, (const char *const[]){"example.test"}, 1,
		 b);
	CHECK(b[0] != '\0' && b[0] != '!');
	local_delivery_kick(ld, b);

	char bob_new[600], alice_new[600];
	snprintf(bob_new, sizeof bob_new, "%s/example.test/bob/new", mail);
	snprintf(alice_new, sizeof alice_new, "%s/example.test/alice/new", mail);
	double t0 = now_s();
	while (now_s() - t0 < 10 &&
	       (list_dir(bob_new, NULL, 0) < 1 || list_dir(alice_new, NULL, 0) < 1 ||
		is_queued(sp, b) || pending_rcpts(sp, a) != 1))
		usleep(10 * 1000);
	CHECK(list_dir(bob_new, NULL, 0) == 1);
	CHECK(list_dir(alice_new, NULL, 0) == 1);
	CHECK(!is_queued(sp, b));
	CHECK(is_queued(sp, a)); /* carol@remote.test stays queued */
	struct spool_entry e;
	CHECK(spool_entry_read(sp, a, &e) == 0 && e.nrcpts == 1);
	if (e.nrcpts == 1)
		CHECK_STR(e.rcpts[0], "carol@remote.test");
	spool_entry_free(&e);

	char name[512];
	size_t len;
	list_dir(bob_new, name, sizeof name);
	snprintf(box, sizeof box, "%s/%s", bob_new, name);
	char *got = read_file(box, &len);
	CHECK(got != NULL && strcmp(got, "Return-Path: <sender@origin.test>\nReceived: from "
					 "client.test\nSubject: hello\n\nHi\n") == 0);
	free(got);

	double t1 = now_s();
	local_delivery_stop(&ld);
	CHECK(ld == NULL);
	CHECK(now_s() - t1 < 2);

	/* A restart scans again, but bob is recorded as done: no second copy. */
	ld = local_delivery_start(
	    sp,
	    &(struct local_config){.mailbox_dir = mail, .retry = retry, .is_local = is_example});
	usleep(300 * 1000);
	local_delivery_stop(&ld);
	CHECK(list_dir(bob_new, NULL, 0) == 1);
	CHECK(pending_rcpts(sp, a) == 1);
	spool_close(&sp);
	rm_rf(dir);
}

/* A batch of n files for two mailboxes, committed; every one in new/. */
static void
check_batch(const char *root, struct group_sync *gs, const char *spool_path, size_t n)
{
	char err[512], path[1024];
	size_t before[2];
	const char *boxes[2] = {"ann", "ben"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/example.test/%s/new", root, boxes[i]);
		before[i] = list_dir(path, NULL, 0);
	}
	struct maildir_batch *b = maildir_batch_new(root, gs);
	for (size_t i = 0; i < n; i++) {
		char rcpt[64];
		snprintf(rcpt, sizeof rcpt, "%s@example.test", boxes[i % 2]);
		CHECK(maildir_batch_add(b, rcpt, "s@x.test", spool_path, 0, NULL, false, err,
					sizeof err) == (int)i);
	}
	maildir_batch_commit(b);
	for (size_t i = 0; i < n; i++)
		CHECK(maildir_batch_result(b, i, err, sizeof err) == 0);
	maildir_batch_free(&b);
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/example.test/%s/new", root, boxes[i]);
		CHECK(list_dir(path, NULL, 0) == before[i] + n / 2);
		snprintf(path, sizeof path, "%s/example.test/%s/tmp", root, boxes[i]);
		CHECK(list_dir(path, NULL, 0) == 0);
	}
}

/*
 * A batch's files get one syncfs; a slow syncfs switches the batches to an
 * fdatasync per file for the backoff. Every file lands in new/ either way.
 */
static void
test_batch_group_sync(void)
{
	char *dir = make_tmpdir("maildir"), root[128], spool_path[128];
	snprintf(root, sizeof root, "%s/mail", dir);
	snprintf(spool_path, sizeof spool_path, "%s/msg", dir);
	const char *msg = "Subject: batch\r\n\r\nbody\r\n";
	write_file(spool_path, msg, strlen(msg));
	struct group_sync gs;
	group_sync_init(&gs, "mailboxes");
	/* Not slow whatever else the machine has pending (a fresh build has
	 * plenty: the first syncfs of a CI run took over 100 ms). */
	group_sync_set_limits(&gs, 10 * 60 * 1000, 60 * 1000);
	check_batch(root, &gs, spool_path, 4);
	CHECK(group_sync_enabled(&gs));
	group_sync_set_limits(&gs, 0, 60 * 1000); /* every syncfs is slow */
	check_batch(root, &gs, spool_path, 4);
	CHECK(!group_sync_enabled(&gs));
	check_batch(root, &gs, spool_path, 2);
	CHECK(!group_sync_enabled(&gs));
	check_batch(root, NULL, spool_path, 2);
	rm_rf(dir);
}

/* One keyed delivery into root; returns maildir_batch_was_there, or -1 on failure. */
static int
keyed_once(const char *root, const char *spool_path, bool look)
{
	char err[512];
	struct maildir_batch *b = maildir_batch_new(root, NULL);
	int i = maildir_batch_add(b, "kay@example.test", "s@x.test", spool_path, 0,
				  "1700000000.QABCDEF0123456789R1", look, err, sizeof err);
	int rc = -1;
	if (i >= 0) {
		maildir_batch_commit(b);
		if (maildir_batch_result(b, (size_t)i, err, sizeof err) == 0)
			rc = maildir_batch_was_there(b, (size_t)i);
	}
	maildir_batch_free(&b);
	return rc;
}

/*
 * Keyed names (issue 12 item 14): a delivery repeated after a crash finds
 * its file, in new/ or moved to cur/ by a reader, and makes no second one.
 */
static void
test_keyed_exactly_once(void)
{
	char *dir = make_tmpdir("maildir"), root[600], spool_path[700], newd[700], curd[700];
	char name[512], from[1400], to[1400];
	snprintf(root, sizeof root, "%s/mail", dir);
	snprintf(spool_path, sizeof spool_path, "%s/msg", dir);
	snprintf(newd, sizeof newd, "%s/example.test/kay/new", root);
	snprintf(curd, sizeof curd, "%s/example.test/kay/cur", root);
	static const char msg[] = "Subject: k\r\n\r\nbody\r\n";
	write_file(spool_path, msg, strlen(msg));
	CHECK(keyed_once(root, spool_path, false) == 0); /* delivered */
	CHECK(list_dir(newd, name, sizeof name) == 1);
	CHECK(strncmp(name, "1700000000.QABCDEF0123456789R1.", 31) == 0);
	CHECK(keyed_once(root, spool_path, false) == 1); /* the move finds it */
	CHECK(keyed_once(root, spool_path, true) == 1);	 /* the look finds it */
	CHECK(list_dir(newd, NULL, 0) == 1);
	/* A reader moved it to cur/ and flagged it seen. */
	snprintf(from, sizeof from, "%s/%s", newd, name);
	snprintf(to, sizeof to, "%s/%s:2,S", curd, name);
	CHECK(rename(from, to) == 0);
	CHECK(keyed_once(root, spool_path, true) == 1);
	CHECK(list_dir(newd, NULL, 0) == 0 && list_dir(curd, NULL, 0) == 1);
	/* Without the look (a fresh message) the name is not searched for. */
	CHECK(keyed_once(root, spool_path, false) == 0);
	CHECK(list_dir(newd, NULL, 0) == 1);
	rm_rf(dir);
}

int
main(void)
{
	test_paths();
	test_deliver();
	test_deliver_cr_runs();
	test_deliver_failures();
	test_batch_group_sync();
	test_local_agent();
	test_keyed_exactly_once();
	return test_summary("test_maildir");
}
