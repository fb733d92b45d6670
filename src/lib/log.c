/*
 * log: one line per event on stderr, key=value, with a timestamp and the pid;
 * lines held per thread and written together (see the header).
 */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "self.h"
#include "xmalloc.h"

static enum log_level log_min = LOG_INFO;

/* This thread's held lines (log_hold), whole lines only. */
#define LOG_HELD_MAX (32 * 1024)
static _Thread_local struct {
	bool on;
	char *buf;
	size_t len, cap;
} held;

/* One write for all: whole lines, so other threads' lines fall between them. */
static void
log_write_held(void)
{
	if (held.len > 0) {
		fwrite(held.buf, 1, held.len, stderr);
		fflush(stderr);
	}
	held.len = 0;
}

static void
log_keep(const char *line)
{
	size_t n = strlen(line) + 1;
	if (held.len + n > LOG_HELD_MAX)
		log_write_held();
	if (held.buf == NULL) { /* a line is at most 4 KiB: it always fits */
		held.cap = LOG_HELD_MAX;
		held.buf = xmalloc(held.cap);
	}
	memcpy(held.buf + held.len, line, n - 1);
	held.buf[held.len + n - 1] = '\n';
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
	int n = snprintf(line, sizeof line, "%s.%03ldZ mailport[%d]: %s: ", stamp,
			 ts.tv_nsec / 1000000, self_pid(), names[level]);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof line)
		vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (held.on) {
		log_keep(line);
		return;
	}
	/* One write per line, so lines of concurrent threads never interleave. */
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
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
	held.buf = NULL;
	held.len = held.cap = 0;
	held.on = false;
}
