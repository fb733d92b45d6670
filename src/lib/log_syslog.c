/*
 * log_syslog: syslog(3) with facility mail, where logwatch, pflogsumm-like
 * reports and fail2ban look for a mail server's lines.
 */
#include "log_syslog.h"

#include <syslog.h>

void
log_syslog_open(void)
{
	openlog("mailport", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_syslog_line(int level, const char *line, int len)
{
	static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
	syslog(prio[level & 3], "%.*s", len, line);
}
