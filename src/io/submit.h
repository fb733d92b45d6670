/*
 * submit: finding the working door. Tries each (port, TLS mode) in order —
 * by default 587 STARTTLS, 465 implicit TLS, 2525 STARTTLS, as the article
 * advises — each bounded by the timeout, and stops at the first door that
 * works or at a failure that another port would not fix (a wrong password
 * is wrong on every port). Every attempt is kept for the report.
 */
#ifndef MP_SUBMIT_H
#define MP_SUBMIT_H

#include <stdio.h>

#include "client_run.h"
#include "door.h"
#include "outcome.h"

#define SUBMIT_MAX_DOORS 8

struct door_attempt {
	struct door door;
	struct client_run_result run;
	const struct outcome *outcome;
};

struct submit_opts {
	const char *host;
	struct door doors[SUBMIT_MAX_DOORS];
	size_t ndoors;
	int timeout_ms;
	const char *cafile;
	bool insecure;
	FILE *transcript;		      /* -v, or NULL */
	const struct smtp_client_config *cfg; /* tls is taken from each door */
	const struct smtp_client_envelope *env;
	const char *body;
	size_t body_len;
};

/*
 * Try the doors. attempts has room for SUBMIT_MAX_DOORS; *n_r is set.
 * Returns the index of the door that worked, or -1.
 */
int submit(const struct submit_opts *o, struct door_attempt *attempts, size_t *n_r,
	   struct smtp_client_rcpt_result *rcpt_results);

/* What one attempt's result means for a person (the outcome table). */
const struct outcome *run_outcome(const struct client_run_result *r, struct door door);

/* The default doors for a host given without a port: 587, 465, 2525. */
size_t submit_default_doors(struct door *doors);

#endif
