/*
 * probe_int: what the parts of the probe share (not for other modules).
 * probe.c walks a door through the procedure, probe_security.c runs the
 * --security checks, probe_raw.c is the small SMTP client those checks
 * need.
 */
#ifndef MP_PROBE_INT_H
#define MP_PROBE_INT_H

#include <stdbool.h>

#include "client_run.h"
#include "probe.h"

/* A warning for the user; dropped past PROBE_MAX_NOTES. */
void probe_note(struct probe_door *pd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A --security finding; dropped past PROBE_MAX_FINDINGS. id and fix are static. */
void probe_finding(struct probe_door *pd, enum probe_severity sev, const char *id, const char *fix,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A relay door (25): STARTTLS if offered, never a password. */
bool probe_is_relay(struct door d);

/* host is an IPv4 or IPv6 literal (no SNI, no MX lookup). */
bool probe_is_ip(const char *host);

/* One session on door through the client core; login and env are optional. */
void probe_run_once(const struct probe_opts *o, struct door d, bool insecure, bool login,
		    const struct smtp_client_envelope *env, struct client_run_result *r);

/* probe_security.c: the --security checks on a door already probed. */
void probe_security(const struct probe_opts *o, struct probe_door *pd);

#endif
