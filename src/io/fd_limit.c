/*
 * fd_limit: the open-file budget checked at start (see the header).
 */
#include "fd_limit.h"

#include <sys/resource.h>

unsigned long
fd_limit_need(unsigned max_connections, unsigned outbound_connections)
{
	return (unsigned long)max_connections + 2ul * outbound_connections + FD_LIMIT_RESERVE;
}

unsigned long
fd_limit_need_busy(unsigned max_connections, unsigned outbound_connections)
{
	return fd_limit_need(max_connections, outbound_connections) + max_connections;
}

unsigned long
fd_limit_max_connections(unsigned long limit, unsigned outbound_connections)
{
	unsigned long fixed = fd_limit_need(0, outbound_connections);
	return limit > fixed ? limit - fixed : 0;
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
