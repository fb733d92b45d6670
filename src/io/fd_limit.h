/*
 * fd_limit: the server's budget of open files. Every connection costs a
 * descriptor, and one more while its message is being written to the
 * spool; so do outbound deliveries. A server that meets its file limit
 * before its connection cap fails accept() in a loop instead of answering
 * 421, so the start checks that the caps fit the limit, after raising the
 * soft limit to the hard one (systemd and login shells leave it at 1024).
 */
#ifndef MP_FD_LIMIT_H
#define MP_FD_LIMIT_H

#include <stdbool.h>

/* Descriptors a server with these caps may hold at once, with room for
 * listeners, the spool, the log, DNS and the threads' pipes. */
unsigned long fd_limit_need(unsigned max_connections, unsigned outbound_connections);

/*
 * Raises RLIMIT_NOFILE's soft limit to its hard limit. Returns true when
 * `need` descriptors fit; *limit_r is the soft limit after the raise.
 */
bool fd_limit_raise(unsigned long need, unsigned long *limit_r);

#endif
