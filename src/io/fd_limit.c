/*
 * fd_limit: the open-file budget checked at start (see the header).
 */
#include "fd_limit.h"

#include <sys/resource.h>

/* Listeners, spool and queue folders, the log, DNS sockets, the worker and
 * delivery threads' pipes and event fds: a few dozen in all. */
#define FD_RESERVE 64

unsigned long
fd_limit_need(unsigned max_connections, unsigned outbound_connections)
{
	return 2ul * max_connections + 2ul * outbound_connections + FD_RESERVE;
}

bool
fd_limit_raise(unsigned long need, unsigned long *limit_r)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		*limit_r = 0;
		return false;
	}
	if (rl.rlim_cur != rl.rlim_max) {
		struct rlimit raised = {.rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			rl = raised;
	}
	*limit_r = rl.rlim_cur == RLIM_INFINITY ? (unsigned long)-1 : (unsigned long)rl.rlim_cur;
	return *limit_r >= need;
}
