/*
 * probe_domain: the wiring of `mailport probe DOMAIN --domain-check`:
 * the config (this host's name, its DKIM keys for the domain, the
 * resolver), the DNS with its time bound, and the run (client/domain_check).
 */
#ifndef MP_PROBE_DOMAIN_H
#define MP_PROBE_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "domain_check.h"

struct probe_domain_opts {
	const char *domain;
	const char *config;   /* -c FILE, or NULL: the default config when it is readable */
	const char *resolver; /* --resolver, or NULL: the config's, else the system's */
	const char *selectors[DC_MAX_SELECTORS];
	size_t nselectors;
	const char *ips[DC_MAX_IPS];
	size_t nips;
	int timeout_ms;
};

/*
 * Runs the checks into r. -1 with a message on stderr and *exit_r set
 * (78 for a config that does not load, 64 for a bad --resolver), else 0.
 */
int probe_domain_run(const struct probe_domain_opts *po, struct domain_report *r, int *exit_r);

#endif
