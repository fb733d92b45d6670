/*
 * self_check: `mailport serve --check` (see self_check.c).
 */
#ifndef MP_SELF_CHECK_H
#define MP_SELF_CHECK_H

#include "config.h"

struct self_check_opts {
	int timeout_ms;		  /* each connection of the outbound check */
	const char *probe_domain; /* whose MX the port-25 check connects to */
};

/*
 * Every check, one line each on stdout, problems with their cause and fix.
 * Exit status: 0 no problem (warnings allowed), 69 only outbound failed
 * (port 25 blocked, relay host unreachable), 78 any other problem.
 */
int self_check_run(const char *config_path, const struct self_check_opts *o);

/* At serve's start: the certificate's checks, problems logged. */
void self_check_log(const struct config *cfg, const char *hostname);

#endif
