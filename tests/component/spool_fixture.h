/*
 * spool_fixture: what the spool's component tests share: a spool in a new
 * folder, the envelope most of them use, and waiting for a commit's
 * callback as the event loop would. Header-only, like harness.h.
 */
#ifndef MP_SPOOL_FIXTURE_H
#define MP_SPOOL_FIXTURE_H

#include <dirent.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "spool.h"
#include "test_files.h"

static inline size_t
count_files(const char *dir, const char *sub)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, sub);
	size_t n = 0;
	DIR *d = opendir(path);
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	if (d)
		closedir(d);
	return n;
}

static inline void
set_addr(struct smtp_addr *a, const char *local, const char *domain)
{
	memset(a, 0, sizeof *a);
	snprintf(a->local, sizeof a->local, "%s", local);
	snprintf(a->domain, sizeof a->domain, "%s", domain);
}

/* The envelope most tests use: <a@b.test> to <c@d.test>. */
static inline struct spool_envelope
simple_envelope(struct smtp_mail_args *mail, struct smtp_rcpt_args *rcpt)
{
	memset(mail, 0, sizeof *mail);
	memset(rcpt, 0, sizeof *rcpt);
	set_addr(&mail->from, "a", "b.test");
	set_addr(&rcpt->to, "c", "d.test");
	return (struct spool_envelope){mail, rcpt, 1, NULL, NULL, NULL, 0};
}

/* A spool in a new temporary folder (*dir_r: remove it with rm_rf). */
static inline struct spool *
open_fresh_spool(char **dir_r)
{
	char err[256];
	*dir_r = make_tmpdir("spool");
	struct spool *sp = spool_open(*dir_r, err, sizeof err);
	if (sp == NULL)
		fprintf(stderr, "spool_open: %s\n", err);
	CHECK(sp != NULL);
	return sp;
}

struct waiter {
	int calls;
	enum spool_result res;
	char id[SPOOL_QID_SIZE];
};

static inline void
record_cb(struct spool_msg *m, enum spool_result res, void *arg)
{
	struct waiter *w = arg;
	w->calls++;
	w->res = res;
	snprintf(w->id, sizeof w->id, "%s", spool_msg_id(m));
	spool_msg_free(&m);
}

/* Run the event loop's part until w got its callback (5 s at most). */
static inline void
wait_commit(struct spool *sp, struct waiter *w)
{
	for (int i = 0; i < 50 && w->calls == 0; i++) {
		struct pollfd pfd = {spool_notify_fd(sp), POLLIN, 0};
		if (poll(&pfd, 1, 100) > 0)
			spool_dispatch_results(sp);
	}
}

/* Begin, write body, commit, wait: the result, id copied to w. */
static inline enum spool_result
spool_one(struct spool *sp, const struct spool_envelope *env, const char *body, struct waiter *w)
{
	memset(w, 0, sizeof *w);
	struct spool_msg *m = spool_msg_begin(sp, env);
	if (m == NULL)
		return SPOOL_IO_ERROR;
	spool_msg_write(m, body, strlen(body));
	spool_msg_commit(m, record_cb, w);
	wait_commit(sp, w);
	return w->calls == 1 ? w->res : SPOOL_IO_ERROR;
}

#endif
