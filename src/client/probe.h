/*
 * probe: the article's "How to Test Connectivity" procedure, one door at a
 * time: bounded connect, greeting, EHLO, TLS (STARTTLS or implicit), EHLO
 * again, AUTH, and MAIL/RCPT then RSET (never DATA) — through the same
 * client core and connection as `send` (client_run), classified by the same
 * outcome table (run_outcome). On top of that, what a person debugging a
 * door wants to see: the certificate even when it is not trusted, the
 * 465/587 mix-ups, warnings, and with --security the checks a server
 * operator wants (old TLS versions, weak ciphers, certificate expiry, AUTH
 * in the clear, STARTTLS command injection, open relay on 25).
 *
 * Doors probed with CLIENT_TLS_OPPORTUNISTIC are relay doors (25): STARTTLS
 * when offered (missing is a warning), and never a password.
 *
 * The result is plain data (report/probe_report.h), rendered there.
 */
#ifndef MP_PROBE_H
#define MP_PROBE_H

#include <stdbool.h>

#include "probe_report.h"
#include "providers.h"
#include "submit.h"

struct probe_opts {
	const char *host;
	const char *connect_addr;	 /* the address --resolver gave for host, or NULL */
	const struct provider *provider; /* for the auth note; may be NULL */
	int timeout_ms;
	const char *cafile;
	bool insecure;
	const char *ehlo_name;
	const char *user, *password; /* NULL: no AUTH step */
	const char *from, *to;	     /* NULL: no MAIL/RCPT step */
	bool security;
};

/* A/AAAA and MX of name, each bounded by timeout_ms; resolver may be NULL. */
void probe_dns(const char *name, const char *resolver, int timeout_ms, struct probe_dns *out);

/* Walk one door through the procedure; the result goes into *pd. */
void probe_door(const struct probe_opts *o, struct door door, struct probe_door *pd);

#endif
