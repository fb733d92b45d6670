/*
 * fd_limit: the server's budget of open files. Every connection costs a
 * descriptor, and one more while a large message (past the 64 KiB a
 * session buffers) is being written to the spool; outbound deliveries cost
 * two (the socket and the queued file). A server whose caps the file limit
 * cannot hold meets EMFILE before its own caps: accept() fails instead of
 * a 421, and spooling fails with 451. So the start raises the soft limit
 * to the hard one (systemd and login shells leave it at 1024), refuses
 * caps whose connections alone cannot fit, and warns when a busy moment
 * (every connection spooling at once) could not.
 */
#ifndef MP_FD_LIMIT_H
#define MP_FD_LIMIT_H

#include <stdbool.h>

/* Listeners, spool and queue folders, the log, DNS sockets, the worker and
 * delivery threads' pipes and event fds: a few dozen in all. */
#define FD_LIMIT_RESERVE 64

/* Descriptors for the caps' connections, one each, plus the reserve. */
unsigned long fd_limit_need(unsigned max_connections, unsigned outbound_connections);
/* The same when every connection also writes a spool file at once. */
unsigned long fd_limit_need_busy(unsigned max_connections, unsigned outbound_connections);
/* The largest max-connections whose fd_limit_need fits in limit (0: none). */
unsigned long fd_limit_max_connections(unsigned long limit, unsigned outbound_connections);

/*
 * Raises RLIMIT_NOFILE's soft limit to its hard limit; *limit_r is the
 * soft limit after the raise. Returns true when `need` descriptors fit.
 */
bool fd_limit_raise(unsigned long need, unsigned long *limit_r);

#endif
