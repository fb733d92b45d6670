/*
 * Component tests of spool_msg_prepend: header fields known only at the end
 * of data (DKIM-Signature, Authentication-Results) put in front of the
 * message in the room its envelope's pad line kept, whether that part of
 * the file is still in the buffer or already on disk; a prepend that does
 * not fit changes nothing. Files are read back as delivery reads them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "spool.h"
#include "spool_fixture.h"
#include "test_files.h"

static char *
commit_and_read(struct spool *sp, struct spool_msg *m, struct spool_entry *e)
{
	struct waiter w = {0};
	spool_msg_commit(m, record_cb, &w);
	wait_commit(sp, &w);
	CHECK(w.calls == 1 && w.res == SPOOL_OK);
	if (spool_entry_read(sp, w.id, e) != 0)
		return NULL;
	size_t len;
	char *file = read_file(e->path, &len);
	CHECK(file != NULL && (size_t)e->body_offset <= len);
	return file;
}

/* Prepend to a message: the fields open it, newest first, the rest intact. */
static void
check_prepend(struct spool *sp, const struct spool_envelope *env, const char *body)
{
	struct spool_msg *m = spool_msg_begin(sp, env);
	CHECK(m != NULL);
	if (m == NULL)
		return;
	CHECK(spool_msg_write(m, body, strlen(body)) == 0);
	CHECK(spool_msg_prepend(m, "A-R: first\r\n", 12) == 0);
	CHECK(spool_msg_prepend(m, "Sig: second\r\n", 13) == 0);
	/* Over the room: refused, nothing changed. */
	char *huge = malloc(env->pad);
	memset(huge, 'x', env->pad);
	errno = 0;
	CHECK(spool_msg_prepend(m, huge, env->pad - SPOOL_PAD_MIN - 25 + 1) == -1);
	CHECK(errno == EMSGSIZE);
	free(huge);
	struct spool_entry e;
	char *file = commit_and_read(sp, m, &e);
	if (file) {
		const char *msg = file + e.body_offset;
		CHECK(strncmp(msg, "Sig: second\r\nA-R: first\r\n", 25) == 0);
		CHECK(strcmp(msg + 25, body) == 0);
		CHECK(e.nrcpts == env->nrcpts);
		/* The pad's leftover is the envelope's last line. */
		CHECK(strstr(file, "\npad ") != NULL && strstr(file, "\npad ") < msg);
	}
	free(file);
	CHECK(spool_entry_remove(sp, e.id) == 0);
	spool_entry_free(&e);
}

/*
 * spool_msg_prepend rewrites the pad in place: in the buffer for a small
 * message, with pwrite once the start of the file has been flushed (a
 * message over 64 KiB, or an envelope over 64 KiB); room to the last byte,
 * and no room at all without a pad.
 */
static void
test_prepend(void)
{
	char *dir;
	struct spool *sp = open_fresh_spool(&dir);
	struct smtp_mail_args mail;
	struct smtp_rcpt_args rcpt;
	struct spool_envelope env = simple_envelope(&mail, &rcpt);
	env.pad = 8192;
	check_prepend(sp, &env, "Subject: small\r\n\r\nbody\r\n");

	size_t big_len = 300 * 1024;
	char *big = malloc(big_len + 1);
	memcpy(big, "Subject: big\r\n\r\n", 17);
	for (size_t i = 17; i < big_len; i++)
		big[i] = (i % 78 == 76) ? '\r' : (i % 78 == 77) ? '\n' : (char)('a' + i % 26);
	big[big_len] = '\0';
	check_prepend(sp, &env, big);
	/* Written in small pieces, as a session does: flushed buffer by buffer. */
	struct spool_msg *m = spool_msg_begin(sp, &env);
	for (size_t off = 0; off < big_len; off += 1000)
		spool_msg_write(m, big + off, big_len - off < 1000 ? big_len - off : 1000);
	CHECK(spool_msg_prepend(m, "Z: 1\r\n", 6) == 0);
	struct spool_entry e;
	char *file = commit_and_read(sp, m, &e);
	if (file) {
		CHECK(strncmp(file + e.body_offset, "Z: 1\r\n", 6) == 0);
		CHECK(strcmp(file + e.body_offset + 6, big) == 0);
	}
	free(file);
	spool_entry_remove(sp, e.id);
	spool_entry_free(&e);

	/* An envelope over 64 KiB goes to the file at once, pad and all. */
	enum { N = 3000 };
	struct smtp_rcpt_args *rcpts = calloc(N, sizeof *rcpts);
	for (size_t i = 0; i < N; i++) {
		char local[32];
		snprintf(local, sizeof local, "recipient-number-%zu", i);
		set_addr(&rcpts[i].to, local, "d.test");
	}
	struct spool_envelope wide = env;
	wide.rcpts = rcpts;
	wide.nrcpts = N;
	check_prepend(sp, &wide, "Subject: many\r\n\r\nbody\r\n");
	free(rcpts);

	/* The whole room, exactly: "pad\n" is left. */
	m = spool_msg_begin(sp, &env);
	spool_msg_write(m, "\r\nb\r\n", 5);
	char *fill = malloc(env.pad);
	memset(fill, 'h', env.pad);
	memcpy(fill + env.pad - SPOOL_PAD_MIN - 2, "\r\n", 2);
	CHECK(spool_msg_prepend(m, fill, env.pad - SPOOL_PAD_MIN) == 0);
	file = commit_and_read(sp, m, &e);
	if (file) {
		CHECK(strstr(file, "\npad\n\nhhh") != NULL);
		CHECK(memcmp(file + e.body_offset, fill, env.pad - SPOOL_PAD_MIN) == 0);
	}
	free(file);
	free(fill);
	spool_entry_remove(sp, e.id);
	spool_entry_free(&e);

	/* No pad asked for: no room. */
	env.pad = 0;
	m = spool_msg_begin(sp, &env);
	errno = 0;
	CHECK(spool_msg_prepend(m, "A: b\r\n", 6) == -1 && errno == EMSGSIZE);
	spool_msg_abort(&m);
	free(big);
	spool_close(&sp);
	rm_rf(dir);
}

int
main(void)
{
	test_prepend();
	return test_summary("test_spool_prepend");
}
