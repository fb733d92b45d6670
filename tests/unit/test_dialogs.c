/*
 * Runs every tests/dialogs/NAME.dlg against the protocol core, in process,
 * with the fake world of session_fixture.h. The same files run against the
 * live server over TCP from the integration tests: one spec, two proofs.
 *
 * Dialog lines:
 *   door smtp|submission|submissions   the listener kind (first line)
 *   C: text      a command line; CRLF is added
 *   W: text      raw bytes with C escapes (\r \n \\ \xNN); nothing added
 *   S: pattern   the next reply line matches this fnmatch(3) pattern
 *   TLS          the client starts TLS now (after a 220 to STARTTLS)
 *   CLOSED       the server has closed the connection
 * Replies must match in order, and no reply may be left unmatched when the
 * client sends again or the dialog ends.
 */
#include <dirent.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdlib.h>

#include "harness.h"
#include "session_fixture.h"

#ifndef MP_SOURCE_DIR
#define MP_SOURCE_DIR "."
#endif

struct run {
	const char *file;
	int line;
	struct fixture fx;
	struct buf input;  /* client bytes not yet fed */
	struct buf output; /* server bytes not yet matched */
	bool failed;
};

static void fail(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(struct run *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("not ok: %s:%d: ", r->file, r->line);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	r->failed = true;
}

static void
unescape(const char *s, struct buf *out)
{
	for (; *s; s++) {
		char c = *s;
		if (c == '\\' && s[1]) {
			s++;
			c = *s == 'r' ? '\r' : *s == 'n' ? '\n' : *s == '0' ? '\0' : *s;
			if (*s == 'x' && s[1] && s[2]) {
				char hex[3] = {s[1], s[2], 0};
				c = (char)strtol(hex, NULL, 16);
				s += 2;
			}
		}
		buf_append(out, &c, 1);
	}
}

/* Feed all pending input, answering actions, as the glue would. */
static void
flush_input(struct run *r)
{
	struct smtp_server *s = r->fx.s;
	for (;;) {
		size_t used = smtp_server_feed(s, r->input.data, r->input.len);
		buf_consume(&r->input, used);
		struct buf *out = smtp_server_output(s);
		buf_append(&r->output, out->data, out->len);
		buf_reset(out);
		if (fixture_settle(&r->fx))
			continue;
		if (used == 0 || r->input.len == 0)
			break;
	}
	struct buf *out = smtp_server_output(s);
	buf_append(&r->output, out->data, out->len);
	buf_reset(out);
}

static void
expect_reply(struct run *r, const char *pattern)
{
	flush_input(r);
	char *crlf = r->output.len ? strstr(r->output.data, "\r\n") : NULL;
	if (crlf == NULL) {
		fail(r, "expected a reply matching \"%s\", got none", pattern);
		return;
	}
	*crlf = '\0';
	if (fnmatch(pattern, r->output.data, 0) != 0)
		fail(r, "reply \"%s\" does not match \"%s\"", r->output.data, pattern);
	buf_consume(&r->output, (size_t)(crlf - r->output.data) + 2);
}

static void
expect_no_reply_left(struct run *r)
{
	if (r->output.len)
		fail(r, "unexpected reply: \"%s\"", r->output.data);
	buf_reset(&r->output);
}

static void
run_line(struct run *r, char *line)
{
	if (strncmp(line, "C: ", 3) == 0 || strcmp(line, "C:") == 0) {
		expect_no_reply_left(r);
		buf_append_str(&r->input, line[2] ? line + 3 : "");
		buf_append(&r->input, "\r\n", 2);
	} else if (strncmp(line, "W: ", 3) == 0) {
		expect_no_reply_left(r);
		unescape(line + 3, &r->input);
	} else if (strncmp(line, "S: ", 3) == 0) {
		expect_reply(r, line + 3);
	} else if (strcmp(line, "TLS") == 0) {
		flush_input(r);
		expect_no_reply_left(r);
		if (smtp_server_action(r->fx.s) != SMTP_ACT_START_TLS)
			fail(r, "TLS: the server did not start TLS");
		else
			smtp_server_tls_done(r->fx.s, true, "TLSv1.3", "TLS_AES_256_GCM_SHA384");
	} else if (strcmp(line, "CLOSED") == 0) {
		flush_input(r);
		expect_no_reply_left(r);
		if (smtp_server_action(r->fx.s) != SMTP_ACT_CLOSE)
			fail(r, "CLOSED: the server did not close");
	} else if (strncmp(line, "door ", 5) != 0) {
		fail(r, "unknown dialog line \"%s\"", line);
	}
}

static enum service
dialog_door(FILE *fp)
{
	char line[4096];
	enum service svc = SVC_SMTP;
	while (fgets(line, sizeof line, fp)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "door ", 5) == 0) {
			const struct policy *p = policy_by_name(line + 5);
			svc = p ? p->service : SVC_SMTP;
			break;
		}
	}
	rewind(fp);
	return svc;
}

static void
run_dialog(const char *path, const char *name)
{
	FILE *fp = fopen(path, "r");
	if (fp == NULL) {
		CHECK(fp != NULL);
		return;
	}
	struct run r = {.file = name};
	buf_init(&r.input, 0);
	buf_init(&r.output, 0);
	fixture_init(&r.fx, dialog_door(fp));
	char line[4096];
	while (fgets(line, sizeof line, fp)) {
		r.line++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		run_line(&r, line);
	}
	flush_input(&r);
	expect_no_reply_left(&r);
	if (r.fx.trace_apart_bad) {
		printf("not ok: %s: %u message(s) whose Received: was not written alone, first\n",
		       name, r.fx.trace_apart_bad);
		r.failed = true;
	}
	harness_checks++;
	if (r.failed)
		harness_failures++;
	fclose(fp);
	fixture_free(&r.fx);
	buf_free(&r.input);
	buf_free(&r.output);
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int
is_dialog(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return n > 4 && strcmp(d->d_name + n - 4, ".dlg") == 0;
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : MP_SOURCE_DIR "/tests/dialogs";
	struct dirent **list;
	int n = scandir(dir, &list, is_dialog, by_name);
	CHECK(n > 0);
	for (int i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
		run_dialog(path, list[i]->d_name);
		free(list[i]);
	}
	free(n > 0 ? list : NULL);
	return test_summary("test_dialogs");
}
