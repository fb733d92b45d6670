/*
 * verify: `mailport verify`'s pipeline, per address: syntax
 * (core/smtp_addr), domain (dns: MX, null MX, implicit MX, NXDOMAIN),
 * then an SMTP RCPT probe on port 25 of the best MX (client_run with
 * rset_instead_of_data: MAIL, RCPT..., RSET; never DATA), with a random
 * local part in the same session to spot catch-all domains; then the
 * role, disposable and free-provider flags and the typo suggestion
 * (core/verify_lists). Internationalised domains are converted to their
 * A-label form (libidn2) before anything is looked up. Addresses that got
 * a greylisting 4xx are asked once more after a pause.
 *
 * Addresses of one domain share one DNS lookup, one catch-all probe and
 * one SMTP connection, kept open for a transaction per batch of RCPTs
 * (RSET between); worker threads (one connection each) run domains in
 * parallel, never more than per_domain connections at once to one domain.
 *
 * The items are report/verify_report.h's plain data, written out there;
 * the input files are read by report/verify_input.
 */
#ifndef MP_VERIFY_H
#define MP_VERIFY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "verify_input.h"
#include "verify_report.h"

/*
 * What a watcher thread (progress line, Ctrl-C) shares with verify_run.
 * Items are written under mu only, so the watcher may read those marked
 * done while the run goes on.
 */
struct verify_progress {
	pthread_mutex_t mu;
	size_t done; /* items whose result is in place */
	bool stop;   /* set by the watcher: nothing new is started, no result stored */
};

struct verify_opts {
	const char *from;     /* MAIL FROM, "" for the null sender */
	const char *helo;     /* our EHLO name */
	const char *resolver; /* "HOST[:PORT]" or NULL for the system's */
	int timeout_ms;	      /* each DNS query, connect and reply */
	unsigned concurrency; /* worker threads: connections (or lookups) at once */
	unsigned per_domain;  /* connections at once per domain */
	bool no_smtp;	      /* stop after DNS */
	int greylist_wait_ms; /* pause before asking greylisted addresses again; 0: never */
	const char *const *disposable; /* domains added to the built-in list */
	size_t ndisposable;
	struct verify_progress *progress; /* NULL: nobody watches */
};

/* Syntax, IDN conversion, flags and suggestion for one input; the rest is verify_run's. */
void verify_prepare(struct verify_item *it, const char *input, const struct verify_opts *o);

/* Every prepared item through DNS and SMTP (until o->progress->stop). */
void verify_run(const struct verify_opts *o, struct verify_item *items, size_t n);

#endif
