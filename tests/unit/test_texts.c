/*
 * Unit tests for the texts kept as data: the reply table (replies.c) and
 * the fix table (fixes.c) over every row, their typed accessors, and the
 * template filler they share (lib/tmpl.c). A row whose text takes another
 * argument than it declares fails here, and a caller that picks the wrong
 * accessor panics (checked in a child process).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "fixes.h"
#include "harness.h"
#include "panic.h"
#include "replies.h"
#include "tmpl.h"

static bool
sig_is(const char *text, const char *want)
{
	char sig[8];
	return tmpl_signature(text, sig, sizeof sig) && strcmp(sig, want) == 0;
}

static void
test_tmpl(void)
{
	CHECK(sig_is("plain", ""));
	CHECK(sig_is("%s and %u and %llu, 100%%", "suu"));
	char sig[8];
	CHECK(!tmpl_signature("%d", sig, sizeof sig)); /* only what the fillers know */
	CHECK(!tmpl_signature("%5s", sig, sizeof sig));
	CHECK(!tmpl_signature("trailing %", sig, sizeof sig));
	CHECK(!tmpl_signature("%s%s%s", sig, 3)); /* does not fit */

	struct tmpl_arg a[] = {tmpl_s("x"), tmpl_u(18446744073709551615ULL)};
	char out[64];
	CHECK(tmpl_fill(out, sizeof out, "<%s> %llu 5%%", a, 2));
	CHECK_STR(out, "<x> 18446744073709551615 5%");
	CHECK(tmpl_fill(out, sizeof out, "only %s", a, 2)); /* an unused argument is fine */
	CHECK_STR(out, "only x");
	CHECK(!tmpl_fill(out, 5, "%s is long", a, 1));
	CHECK_STR(out, "x is");
}

static void
test_reply_rows(void)
{
	for (int id = 0; id < R_COUNT; id++) {
		const struct reply_def *r = reply_def((enum reply_id)id);
		CHECK(r->text != NULL && r->sig != NULL && r->esc != NULL);
		if (!r->text || !r->sig || !r->esc)
			continue;
		char sig[8] = "?";
		bool ok = tmpl_signature(r->text, sig, sizeof sig) && strcmp(sig, r->sig) == 0;
		if (!ok)
			printf("reply %d \"%s\": declares \"%s\", text takes \"%s\"\n", id, r->text,
			       r->sig, sig);
		CHECK(ok);
		/* The accessors are reply_append, _str and _num: one conversion at most. */
		CHECK(strcmp(r->sig, "") == 0 || strcmp(r->sig, "s") == 0 ||
		      strcmp(r->sig, "u") == 0);
		CHECK(r->code >= 200 && r->code <= 599);
	}
}

static void
test_reply_append(void)
{
	struct buf b;
	buf_init(&b, 0);
	reply_append_str(&b, R_QUEUED, "ABC123");
	CHECK_STR(b.data, "250 2.0.0 OK: queued as ABC123\r\n");
	buf_reset(&b);
	reply_append_num(&b, R_SIZE_EXCEEDED, 10485760ULL);
	CHECK_STR(b.data, "552 5.3.4 Message size exceeds the limit of 10485760 bytes\r\n");
	buf_reset(&b);
	reply_append(&b, R_DATA_GO);
	CHECK_STR(b.data, "354 End data with <CR><LF>.<CR><LF>\r\n");
	buf_reset(&b);
	reply_append_str(&b, R_AUTH_CHALLENGE, "");
	CHECK_STR(b.data, "334 \r\n");
	buf_free(&b);
}

static void
test_fix_rows(void)
{
	for (int id = 0; id < FIX_COUNT; id++) {
		const struct fix *f = fix_row((enum fix_id)id);
		CHECK(f->what && f->cause && f->fix && f->sig);
		if (!f->what || !f->cause || !f->fix || !f->sig)
			continue;
		char what[8] = "?", fix[8] = "?";
		bool ok = tmpl_signature(f->what, what, sizeof what) &&
			  tmpl_signature(f->fix, fix, sizeof fix) && sig_is(f->cause, "");
		/* Each text uses a prefix of the row's arguments, and together all. */
		size_t lw = strlen(what), lf = strlen(fix);
		ok = ok && strncmp(f->sig, what, lw) == 0 && strncmp(f->sig, fix, lf) == 0 &&
		     (lw > lf ? lw : lf) == strlen(f->sig);
		if (!ok)
			printf("fix %d \"%s\": declares \"%s\", what takes \"%s\", fix \"%s\"\n",
			       id, f->what, f->sig, what, fix);
		CHECK(ok);
	}
}

static void
test_fix_text(void)
{
	struct fix_text t;
	fix_text_port(&t, FIX_BIND_IN_USE, 587);
	CHECK_STR(t.what, "cannot listen on port 587: address already in use");
	CHECK(strstr(t.fix, "\"ss -ltnp 'sport = :587'\"") != NULL);
	fix_text_port(&t, FIX_BIND_OTHER, 25); /* the port is given; this row ignores it */
	CHECK_STR(t.what, "cannot listen");
	fix_text_ports(&t, FIX_PORT_OFFSET_USED, 25, 10025);
	CHECK_STR(t.what, "port 25 needs root, so listening on port 10025 instead");
	fix_text_name(&t, FIX_RUN_USER_UNKNOWN, "mail-x");
	CHECK_STR(t.what, "unknown user 'mail-x' in the 'user' directive");
	fix_text(&t, FIX_CERT_LOAD);
	CHECK_STR(t.what, fix_get(FIX_CERT_LOAD)->what);
}

/* Does fn abort (a panic) when run in a child? */
static bool
panics(void (*fn)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 2); /* the panic line is expected */
		fn();
		_exit(0);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return false;
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void
reply_wrong_accessor(void)
{
	struct buf b;
	buf_init(&b, 0);
	reply_append(&b, R_QUEUED); /* takes a string */
}

static void
reply_right_accessor(void)
{
	struct buf b;
	buf_init(&b, 0);
	reply_append_str(&b, R_QUEUED, "x");
	buf_free(&b);
}

static void
fix_missing_argument(void)
{
	struct fix_text t;
	fix_text(&t, FIX_BIND_IN_USE); /* takes the port */
}

static void
fix_get_of_a_template(void)
{
	(void)fix_get(FIX_RUN_USER_UNKNOWN);
}

static void
fix_wrong_kind(void)
{
	struct fix_text t;
	fix_text_port(&t, FIX_RUN_USER_UNKNOWN, 1); /* takes a name */
}

static void
assert_false(void)
{
	MP_ASSERT(1 + 1 == 3);
}

static void
test_panics(void)
{
	CHECK(panics(reply_wrong_accessor));
	CHECK(!panics(reply_right_accessor));
	CHECK(panics(fix_missing_argument));
	CHECK(panics(fix_get_of_a_template));
	CHECK(panics(fix_wrong_kind));
	CHECK(panics(assert_false));
}

int
main(void)
{
	test_tmpl();
	test_reply_rows();
	test_reply_append();
	test_fix_rows();
	test_fix_text();
	test_panics();
	return test_summary("test_texts");
}
