/*
 * panic: report a bug and abort (see the header).
 */
#include "panic.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void
mp_panic_at(const char *file, int line, const char *fmt, ...)
{
	/* Straight to stderr, unbuffered: the log's held lines may be what broke. */
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "mailport: panic at %s:%d: ", file, line);
	vfprintf(stderr, fmt, ap);
	fputs(" (a bug in mailport: please report it with this line)\n", stderr);
	va_end(ap);
	abort();
}
