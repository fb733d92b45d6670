/*
 * log_syslog: the syslog(3) side of log.c, apart because <syslog.h>
 * defines LOG_INFO and the others as macros that log.h's names would clash
 * with.
 */
#ifndef MP_LOG_SYSLOG_H
#define MP_LOG_SYSLOG_H

/* openlog with facility mail, the pid in each line, the socket opened now
 * (before privileges drop or a chroot hides /dev/log). */
void log_syslog_open(void);
/* One line at level (0 debug, 1 info, 2 warning, 3 error). */
void log_syslog_line(int level, const char *line, int len);

#endif
