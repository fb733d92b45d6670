/*
 * queue_view: reading and printing the queue for `mailport queue`
 * (queue_view.h). The envelope comes decoded by the spool's one codec
 * (spool_entry_read_header: every recipient with its DSN parameters,
 * client, helo, auth); only the message's header section, which the spool
 * does not interpret, is read here.
 *
 * Everything printed came from the network: text output escapes control
 * bytes (no terminal escape sequences from a Subject), JSON output escapes
 * per RFC 8259 and replaces bytes that are not UTF-8 with U+FFFD, so the
 * output always parses.
 */
#include "queue_view.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "str.h"
#include "utf8.h"
#include "xmalloc.h"

/* A header section bigger than this is cut: `show` is for reading. */
#define QUEUE_HEADERS_MAX (1024 * 1024)
#define QUEUE_HEADERS_COUNT_MAX 1000

bool
queue_id_parse(const char *s, char out[SPOOL_QID_SIZE])
{
	size_t i;
	for (i = 0; i < SPOOL_QID_SIZE - 1 && s[i]; i++)
		out[i] = s[i] >= 'a' && s[i] <= 'f' ? (char)(s[i] - 'a' + 'A') : s[i];
	out[i] = '\0';
	return s[i] == '\0' && spool_id_valid(out);
}

/* ---- reading ---- */

/* The envelope's recipients, moved out of h; delivered: not in e's pending. */
static void
take_rcpts(struct queue_msg *m, struct spool_header *h, const struct spool_entry *e)
{
	if (h->nrcpts > 0)
		m->rcpts = xcalloc(h->nrcpts, sizeof *m->rcpts);
	for (size_t i = 0; i < h->nrcpts; i++) {
		struct queue_rcpt *r = &m->rcpts[m->nrcpts++];
		r->addr = h->rcpts[i].addr;
		r->notify = h->rcpts[i].notify;
		r->orcpt = h->rcpts[i].orcpt;
		h->rcpts[i] = (struct spool_header_rcpt){0};
		r->delivered = true;
		for (size_t j = 0; j < e->nrcpts && r->delivered; j++)
			r->delivered = strcmp(e->rcpts[j], r->addr) != 0;
		m->npending += !r->delivered;
	}
}

/* The decoded envelope moved into m (h keeps nothing m needs). */
static void
take_header(struct queue_msg *m, struct spool_header *h, const struct spool_entry *e)
{
	char **from[] = {&m->from, &m->ret, &m->envid, &m->body, &m->client, &m->helo, &m->auth};
	char **to[] = {&h->from, &h->ret, &h->envid, &h->body, &h->client, &h->helo, &h->auth};
	for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
		*from[i] = *to[i];
		*to[i] = NULL;
	}
	m->smtputf8 = h->smtputf8;
	m->requiretls = h->requiretls;
	take_rcpts(m, h, e);
}

static void
add_header(struct queue_msg *m, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	size_t nlen = colon ? (size_t)(colon - line) : len;
	const char *v = colon ? colon + 1 : line + len;
	while (v < line + len && (*v == ' ' || *v == '\t'))
		v++;
	struct queue_header h = {xmalloc(nlen + 1), xmalloc((size_t)(line + len - v) + 1)};
	str_copy_n(h.name, nlen + 1, line, nlen);
	str_copy_n(h.value, (size_t)(line + len - v) + 1, v, (size_t)(line + len - v));
	m->headers = xrealloc(m->headers, (m->nheaders + 1) * sizeof *m->headers);
	m->headers[m->nheaders++] = h;
}

/* The header section (up to the first empty line). */
static void
read_headers(FILE *f, struct queue_msg *m)
{
	char *line = NULL;
	size_t cap = 0, total = 0;
	ssize_t n;
	struct buf cur;
	buf_init(&cur, 0);
	while ((n = getline(&line, &cap, f)) > 0 && m->nheaders < QUEUE_HEADERS_COUNT_MAX) {
		total += (size_t)n;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (n == 0 || total > QUEUE_HEADERS_MAX)
			break;
		if ((line[0] == ' ' || line[0] == '\t') && cur.len > 0) {
			/* A fold stays as "\n": text output shows it, JSON unfolds. */
			buf_append(&cur, "\n", 1);
			buf_append(&cur, line, (size_t)n);
			continue;
		}
		if (cur.len > 0)
			add_header(m, cur.data, cur.len);
		buf_reset(&cur);
		buf_append(&cur, line, (size_t)n);
	}
	if (cur.len > 0 && m->nheaders < QUEUE_HEADERS_COUNT_MAX)
		add_header(m, cur.data, cur.len);
	buf_free(&cur);
	free(line);
}

/* The rest of the file after the envelope: its size, and the headers. */
static int
read_rest(const struct spool_entry *e, bool with_headers, struct queue_msg *m)
{
	FILE *f = fopen(e->path, "re");
	struct stat st;
	if (f == NULL)
		return -1; /* ENOENT: removed since spool_entry_read */
	if (fstat(fileno(f), &st) < 0) {
		int err = errno;
		fclose(f);
		errno = err;
		return -1;
	}
	m->size = (uint64_t)st.st_size > e->body_offset ? (uint64_t)st.st_size - e->body_offset : 0;
	if (with_headers && fseeko(f, (off_t)e->body_offset, SEEK_SET) == 0)
		read_headers(f, m);
	fclose(f);
	return 0;
}

int
queue_msg_read(struct spool *sp, const char *id, bool with_headers, struct queue_msg *m)
{
	struct spool_entry e;
	struct spool_header h;
	memset(m, 0, sizeof *m);
	if (spool_entry_read_header(sp, id, &e, &h) < 0)
		return -1;
	str_copy(m->id, sizeof m->id, e.id);
	m->arrival = e.arrival;
	take_header(m, &h, &e);
	spool_header_free(&h);
	m->has_retry = spool_retry_read(sp, e.id, &m->retry) == 0;
	errno = 0;
	int rc = read_rest(&e, with_headers, m);
	int err = errno;
	spool_entry_free(&e);
	if (rc < 0)
		queue_msg_free(m);
	errno = err;
	return rc;
}

void
queue_msg_free(struct queue_msg *m)
{
	char *strs[] = {m->from, m->ret, m->envid, m->body, m->client, m->helo, m->auth};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		free(strs[i]);
	for (size_t i = 0; i < m->nrcpts; i++) {
		free(m->rcpts[i].addr);
		free(m->rcpts[i].notify);
		free(m->rcpts[i].orcpt);
	}
	free(m->rcpts);
	for (size_t i = 0; i < m->nheaders; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	memset(m, 0, sizeof *m);
}

/* ---- printing ---- */

const char *
queue_age(char *out, size_t size, int64_t arrival, time_t now)
{
	int64_t s = (int64_t)now - arrival;
	if (s < 0)
		s = 0; /* the clock went back: not "-5s" */
	if (s < 60)
		snprintf(out, size, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(out, size, "%" PRId64 "m", s / 60);
	else if (s < 86400)
		snprintf(out, size, "%" PRId64 "h", s / 3600);
	else
		snprintf(out, size, "%" PRId64 "d", s / 86400);
	return out;
}

/* "now", or how long until t, as queue_age writes durations. */
static const char *
retry_in(char *out, size_t size, int64_t t, time_t now)
{
	if (t <= (int64_t)now)
		return str_copy(out, size, "now"), out;
	/* queue_age counts from a past moment; mirror the future one into it. */
	return queue_age(out, size, 2 * (int64_t)now - t, now);
}

/*
 * Text for a terminal: control bytes (C0, DEL, and C1 as UTF-8, which some
 * terminals obey), bytes that are not UTF-8 and '\\' as \xNN; a tab as is,
 * and a newline too where folded lines are expected.
 */
static void
put_text(FILE *out, const char *s, bool lines)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = utf8_char_len(p, strlen((const char *)p));
		bool c1 = n == 2 && p[0] == 0xC2 && p[1] < 0xA0;
		if ((*p < 0x20 && *p != '\t' && !(lines && *p == '\n')) || *p == 0x7f ||
		    *p == '\\' || n == 0 || c1) {
			for (size_t i = 0; i < (n ? n : 1); i++)
				fprintf(out, "\\x%02X", p[i]);
		} else {
			fwrite(p, 1, n, out);
		}
		p += n ? n : 1;
	}
}

/* A JSON string; unfold drops the "\n" of header folds (RFC 5322 2.2.3). */
static void
put_json_str(FILE *out, const char *s, bool unfold)
{
	if (s == NULL) {
		fputs("null", out);
		return;
	}
	struct buf text, json;
	buf_init(&text, 0);
	buf_init(&json, 0);
	for (const char *p = s; *p; p++)
		if (!(unfold && *p == '\n'))
			buf_append(&text, p, 1);
	json_string_n(&json, text.data ? text.data : "", text.len);
	fwrite(json.data, 1, json.len, out);
	buf_free(&text);
	buf_free(&json);
}

/* The fields `list` and `show` share, in JSON. */
static void
put_json_common(FILE *out, const struct queue_msg *m, time_t now)
{
	fprintf(out,
		"\"id\":\"%s\",\"size\":%" PRIu64 ",\"arrival\":%" PRId64
		",\"age_seconds\":%" PRId64 ",\"from\":",
		m->id, m->size, m->arrival, now > m->arrival ? (int64_t)now - m->arrival : 0);
	put_json_str(out, m->from, false);
	fputs(",\"recipients\":[", out);
	const char *sep = "";
	for (size_t i = 0; i < m->nrcpts; i++) {
		if (m->rcpts[i].delivered)
			continue;
		fputs(sep, out);
		put_json_str(out, m->rcpts[i].addr, false);
		sep = ",";
	}
	if (!m->has_retry) {
		fputs("],\"attempts\":0,\"next_attempt\":null,\"last_error\":null", out);
		return;
	}
	fprintf(out,
		"],\"attempts\":%u,\"next_attempt\":%" PRId64 ",\"last_error\":", m->retry.attempts,
		m->retry.next_attempt);
	put_json_str(out, m->retry.last_error, false);
}

static void
print_list_json(FILE *out, const struct queue_msg *msgs, size_t n, time_t now)
{
	fputs("{\"messages\":[", out);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",{" : "{", out);
		put_json_common(out, &msgs[i], now);
		fputs("}", out);
	}
	fputs("]}\n", out);
}

void
queue_print_list(FILE *out, const struct queue_msg *msgs, size_t n, time_t now, bool json)
{
	if (json) {
		print_list_json(out, msgs, n, now);
		return;
	}
	if (n == 0) {
		fputs("the queue is empty\n", out);
		return;
	}
	uint64_t bytes = 0;
	size_t pending = 0;
	char age[32];
	fprintf(out, "%-16s %10s %5s %5s %5s  %s\n", "ID", "SIZE", "AGE", "NEXT", "ERROR",
		"FROM -> PENDING RECIPIENTS");
	for (size_t i = 0; i < n; i++) {
		const struct queue_msg *m = &msgs[i];
		char next[32] = "-";
		if (m->has_retry)
			retry_in(next, sizeof next, m->retry.next_attempt, now);
		fprintf(out, "%-16s %10" PRIu64 " %5s %5s %5s  <", m->id, m->size,
			queue_age(age, sizeof age, m->arrival, now), next,
			m->has_retry && m->retry.last_error[0] ? "yes" : "-");
		put_text(out, m->from, false);
		fputs("> ->", out);
		for (size_t j = 0; j < m->nrcpts; j++) {
			if (m->rcpts[j].delivered)
				continue;
			fputs(" <", out);
			put_text(out, m->rcpts[j].addr, false);
			fputs(">", out);
		}
		fputs("\n", out);
		if (m->has_retry && m->retry.last_error[0]) {
			fputs("    last error: ", out);
			put_text(out, m->retry.last_error, false);
			fputs("\n", out);
		}
		bytes += m->size;
		pending += m->npending;
	}
	fprintf(out, "-- %zu message%s, %" PRIu64 " bytes, %zu recipient%s pending\n", n,
		n == 1 ? "" : "s", bytes, pending, pending == 1 ? "" : "s");
}

static void
put_json_rcpts_headers(FILE *out, const struct queue_msg *m)
{
	fputs(",\"envelope_recipients\":[", out);
	for (size_t i = 0; i < m->nrcpts; i++) {
		const struct queue_rcpt *r = &m->rcpts[i];
		fputs(i ? ",{\"address\":" : "{\"address\":", out);
		put_json_str(out, r->addr, false);
		fprintf(out,
			",\"status\":\"%s\",\"notify\":", r->delivered ? "delivered" : "pending");
		put_json_str(out, r->notify, false);
		fputs(",\"orcpt\":", out);
		put_json_str(out, r->orcpt, false);
		fputs("}", out);
	}
	fputs("],\"headers\":[", out);
	for (size_t i = 0; i < m->nheaders; i++) {
		fputs(i ? ",{\"name\":" : "{\"name\":", out);
		put_json_str(out, m->headers[i].name, false);
		fputs(",\"value\":", out);
		put_json_str(out, m->headers[i].value, true);
		fputs("}", out);
	}
	fputs("]", out);
}

static void
print_show_json(FILE *out, const struct queue_msg *m, time_t now)
{
	const char *keys[] = {"client", "helo", "auth", "ret", "envid", "body"};
	const char *vals[] = {m->client, m->helo, m->auth, m->ret, m->envid, m->body};
	fputs("{", out);
	put_json_common(out, m, now);
	fputs(",\"delivered\":[", out);
	const char *sep = "";
	for (size_t i = 0; i < m->nrcpts; i++) {
		if (!m->rcpts[i].delivered)
			continue;
		fputs(sep, out);
		put_json_str(out, m->rcpts[i].addr, false);
		sep = ",";
	}
	fputs("]", out);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		fprintf(out, ",\"%s\":", keys[i]);
		put_json_str(out, vals[i], false);
	}
	fprintf(out, ",\"smtputf8\":%s", m->smtputf8 ? "true" : "false");
	fprintf(out, ",\"requiretls\":%s", m->requiretls ? "true" : "false");
	put_json_rcpts_headers(out, m);
	fputs("}\n", out);
}

/* "  <addr> notify=X orcpt=Y" for each recipient in the given state. */
static void
print_rcpts_text(FILE *out, const struct queue_msg *m, bool delivered)
{
	size_t shown = 0;
	for (size_t i = 0; i < m->nrcpts; i++) {
		const struct queue_rcpt *r = &m->rcpts[i];
		if (r->delivered != delivered)
			continue;
		fputs(shown++ ? "\n              <" : "<", out);
		put_text(out, r->addr, false);
		fputs(">", out);
		if (r->notify) {
			fputs(" notify=", out);
			put_text(out, r->notify, false);
		}
		if (r->orcpt) {
			fputs(" orcpt=", out);
			put_text(out, r->orcpt, false);
		}
	}
	fputs(shown ? "\n" : "-\n", out);
}

static void
print_show_text(FILE *out, const struct queue_msg *m, time_t now)
{
	const char *keys[] = {
	    "client:", "helo:", "auth user:", "dsn ret:", "dsn envid:", "body type:"};
	const char *vals[] = {m->client, m->helo, m->auth, m->ret, m->envid, m->body};
	char age[32], when[64];
	time_t arrival = (time_t)m->arrival;
	struct tm tm;
	if (gmtime_r(&arrival, &tm) == NULL ||
	    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		str_copy(when, sizeof when, "?");
	fprintf(out, "id:           %s\narrival:      %s (unix %" PRId64 ", %s ago)\n", m->id, when,
		m->arrival, queue_age(age, sizeof age, m->arrival, now));
	fprintf(out, "size:         %" PRIu64 " bytes\nfrom:         <", m->size);
	put_text(out, m->from, false);
	fputs(">\npending:      ", out);
	print_rcpts_text(out, m, false);
	fputs("delivered:    ", out);
	print_rcpts_text(out, m, true);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		fprintf(out, "%-13s ", keys[i]);
		put_text(out, vals[i] ? vals[i] : "-", false);
		fputs("\n", out);
	}
	fprintf(out, "smtputf8:     %s\n", m->smtputf8 ? "yes" : "no");
	fprintf(out, "requiretls:   %s\n", m->requiretls ? "yes" : "no");
	if (m->has_retry) {
		char next[32];
		retry_in(next, sizeof next, m->retry.next_attempt, now);
		fprintf(out,
			"attempts:     %u\nnext attempt: unix %" PRId64 " (in %s)\nlast error:   ",
			m->retry.attempts, m->retry.next_attempt, next);
		put_text(out, m->retry.last_error[0] ? m->retry.last_error : "-", false);
		fputs("\n\n", out);
	} else {
		fputs("attempts:     0\nnext attempt: -\nlast error:   -\n\n", out);
	}
	for (size_t i = 0; i < m->nheaders; i++) {
		put_text(out, m->headers[i].name, false);
		fputs(": ", out);
		put_text(out, m->headers[i].value, true);
		fputs("\n", out);
	}
}

void
queue_print_show(FILE *out, const struct queue_msg *m, time_t now, bool json)
{
	if (json)
		print_show_json(out, m, now);
	else
		print_show_text(out, m, now);
}

/* ---- the running server ---- */

/* The pid a server wrote into its lock (spool_open.c); 0 if not written yet. */
static pid_t
lock_pid(int fd)
{
	char text[32], *end;
	ssize_t n = pread(fd, text, sizeof text - 1, 0);
	text[n > 0 ? n : 0] = '\0';
	long pid = strtol(text, &end, 10);
	return n > 0 && end != text && *end == '\n' && pid > 1 ? (pid_t)pid : 0;
}

enum queue_server
queue_server_pid(const char *dir, pid_t *pid_r)
{
	char path[4096];
	*pid_r = 0;
	if (snprintf(path, sizeof path, "%s/lock", dir) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return QUEUE_SERVER_UNKNOWN;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? QUEUE_SERVER_NONE : QUEUE_SERVER_UNKNOWN;
	/* A free lock means no server, whatever pid a killed one left; a held
	 * one, that the pid is current. The probe holds the lock for an instant
	 * only (spool_open.c retries for it). */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd);
		return QUEUE_SERVER_NONE;
	}
	int err = errno;
	if (err == EWOULDBLOCK)
		*pid_r = lock_pid(fd);
	close(fd);
	/* errno 0: held, but the pid is not written yet (a server starting). */
	errno = err == EWOULDBLOCK ? 0 : err;
	return *pid_r ? QUEUE_SERVER_RUNNING : QUEUE_SERVER_UNKNOWN;
}
