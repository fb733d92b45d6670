/*
 * log: one line per event, key=value, with a timestamp and the pid; to
 * stderr, a file or syslog; lines held per thread and written together (see
 * the header).
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log_syslog.h"
#include "self.h"
#include "str.h"
#include "xmalloc.h"

static enum log_level log_min = LOG_INFO;

/*
 * Where lines go. A file keeps one descriptor number for good: a reopen
 * puts the new file under it with dup2, which is atomic, so a thread
 * writing meanwhile writes whole lines to the old file or the new one.
 */
static _Atomic enum log_sink log_sink = LOG_SINK_STDERR;
static atomic_int log_fd = 2;
static int file_fd = -1;
static char file_path[4096];

/* The part of a line syslog does not add itself: from the level on. */
struct held_line {
	int level;
	size_t start, text; /* the line's offset in the buffer, and its text's */
};

/* This thread's held lines (log_hold), whole lines only. */
#define LOG_HELD_MAX (32 * 1024)
#define LOG_HELD_LINES 256
static _Thread_local struct {
	bool on;
	char *buf;
	size_t len, cap;
	struct held_line *lines;
	size_t nlines;
} held;

static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere to say it: the log itself failed */
		p += w;
		n -= (size_t)w;
	}
}

/* One write for all: whole lines, so other threads' lines fall between them. */
static void
log_write_held(void)
{
	if (held.len == 0)
		return;
	if (atomic_load(&log_sink) == LOG_SINK_SYSLOG) {
		for (size_t i = 0; i < held.nlines; i++) {
			size_t end = i + 1 < held.nlines ? held.lines[i + 1].start : held.len;
			const struct held_line *l = &held.lines[i];
			log_syslog_line(l->level, held.buf + l->text, (int)(end - 1 - l->text));
		}
	} else {
		write_all(atomic_load(&log_fd), held.buf, held.len);
	}
	held.len = 0;
	held.nlines = 0;
}

static void
log_keep(int level, const char *line, size_t len, size_t text)
{
	size_t n = len + 1;
	if (held.len + n > LOG_HELD_MAX || held.nlines == LOG_HELD_LINES)
		log_write_held();
	if (held.buf == NULL) { /* a line is at most 4 KiB: it always fits */
		held.cap = LOG_HELD_MAX;
		held.buf = xmalloc(held.cap);
		held.lines = xcalloc(LOG_HELD_LINES, sizeof *held.lines);
	}
	held.lines[held.nlines++] = (struct held_line){level, held.len, held.len + text};
	memcpy(held.buf + held.len, line, len);
	held.buf[held.len + len] = '\n';
	held.len += n;
}

void
log_set_level(enum log_level min)
{
	log_min = min;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warning", "error"};
	if (level < log_min)
		return;
	char line[4096];
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	int n = snprintf(line, sizeof line, "%s.%03ldZ mailport[%d]: ", stamp, ts.tv_nsec / 1000000,
			 self_pid());
	size_t text = n > 0 ? (size_t)n : 0;
	n += snprintf(line + text, sizeof line - text, "%s: ", names[level]);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof line)
		vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	size_t len = strlen(line);
	if (held.on) {
		log_keep((int)level, line, len, text);
		return;
	}
	if (atomic_load(&log_sink) == LOG_SINK_SYSLOG) {
		log_syslog_line((int)level, line + text, (int)(len - text));
		return;
	}
	/* One write per line, so lines of concurrent threads never interleave. */
	line[len] = '\n';
	write_all(atomic_load(&log_fd), line, len + 1);
}

static int
open_file(const char *path, char *err, size_t err_size)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		snprintf(err, err_size, "cannot open the log file %s: %s", path, strerror(errno));
	return fd;
}

int
log_open(enum log_sink sink, const char *path, char *err, size_t err_size)
{
	switch (sink) {
	case LOG_SINK_STDERR:
		atomic_store(&log_fd, 2);
		break;
	case LOG_SINK_SYSLOG:
		log_syslog_open();
		break;
	case LOG_SINK_FILE: {
		int fd = open_file(path, err, err_size);
		if (fd < 0)
			return -1;
		if (file_fd < 0) {
			file_fd = fd;
		} else {
			dup2(fd, file_fd); /* the number writers hold now names the new file */
			close(fd);
		}
		str_copy(file_path, sizeof file_path, path);
		atomic_store(&log_fd, file_fd);
		break;
	}
	}
	/* A file left for another sink stays open: a thread may hold its number. */
	atomic_store(&log_sink, sink);
	return 0;
}

int
log_reopen(char *err, size_t err_size)
{
	if (atomic_load(&log_sink) != LOG_SINK_FILE)
		return 0;
	return log_open(LOG_SINK_FILE, file_path, err, err_size);
}

void
log_hold(void)
{
	held.on = true;
}

void
log_release(void)
{
	log_write_held();
	free(held.buf);
	free(held.lines);
	held.buf = NULL;
	held.lines = NULL;
	held.len = held.cap = held.nlines = 0;
	held.on = false;
}
