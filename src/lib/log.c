#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "self.h"

static enum log_level log_min = LOG_INFO;

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
	/* One write per line, so lines of concurrent threads never interleave. */
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
}
