/*
 * log: one line per event to stderr, Postfix-like and greppable:
 *   2026-11-29T10:20:00Z mailport[123]: info: id=1A2B3C event=accepted ...
 * Callers write key=value pairs and escape client bytes with str_escape.
 * The protocol core never logs; only the glue and commands do.
 */
#ifndef MP_LOG_H
#define MP_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERR };

/* Messages below min are dropped (default LOG_INFO). */
void log_set_level(enum log_level min);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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
