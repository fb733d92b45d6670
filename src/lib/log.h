/*
 * log: one line per event, Postfix-like and greppable:
 *   2026-11-29T10:20:00.123Z mailport[123]: info: id=1A2B3C event=accepted ...
 * Callers write key=value pairs and escape client bytes with str_escape.
 * The protocol core never logs; only the glue and commands do.
 *
 * The lines go to stderr (the default), to a file, or to syslog(3) with
 * facility mail (there the daemon adds the time, host and "mailport[pid]:",
 * and the line starts at the level: "info: id=...").
 */
#ifndef MP_LOG_H
#define MP_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERR };

/* Messages below min are dropped (default LOG_INFO). */
void log_set_level(enum log_level min);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

enum log_sink { LOG_SINK_STDERR, LOG_SINK_FILE, LOG_SINK_SYSLOG };

/*
 * Send the lines to sink from now on (path: the file, for LOG_SINK_FILE,
 * opened for appending, created 0640). 0, or -1 with why in err and the
 * sink unchanged. Threads logging meanwhile lose no line.
 */
int log_open(enum log_sink sink, const char *path, char *err, size_t err_size);

/*
 * Open the file again by its name (after logrotate moved it away); the
 * other sinks need nothing. 0, or -1 with why (the old file stays in use).
 */
int log_reopen(char *err, size_t err_size);

/*
 * log_hold() keeps this thread's lines until log_release(), which writes
 * them with one system call (also when 32 KiB have gathered). The local
 * delivery agent logs two lines per message of a batch: one write per line
 * was a tenth of its system calls. Hold only around work that cannot block
 * for long, so no line is late.
 */
void log_hold(void);
void log_release(void);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)

#endif
