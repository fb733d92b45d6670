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
 */
#ifndef MP_PROBE_H
#define MP_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "dns.h"
#include "providers.h"
#include "submit.h"

#define PROBE_MAX_NOTES 6
#define PROBE_MAX_FINDINGS 8

enum probe_severity { PROBE_LOW, PROBE_MEDIUM, PROBE_HIGH, PROBE_CRITICAL };

struct probe_finding {
	enum probe_severity severity;
	const char *id;	 /* "tls_old_version", "starttls_injection", ... */
	char what[256];	 /* what was seen */
	const char *fix; /* what the operator should do */
};

struct probe_door {
	struct door door;
	struct client_run_result run;
	const struct outcome *outcome;
	struct tls_info tls; /* also when the certificate was not trusted */
	bool tls_seen;
	char notes[PROBE_MAX_NOTES][256]; /* warnings for the user */
	size_t nnotes;
	struct probe_finding findings[PROBE_MAX_FINDINGS];
	size_t nfindings;
};

/* What DNS says about the name probed (io/dns does the lookups). */
struct probe_dns {
	char addrs[DNS_MAX_ADDRS][64];
	size_t naddrs;
	struct dns_mx mx[DNS_MAX_MX]; /* by preference */
	size_t nmx;
	bool null_mx;	      /* "MX 0 .": the domain takes no mail (RFC 7505) */
	char addr_error[160]; /* why there is no address, or "" */
	char mx_error[160];   /* why the MX lookup failed (not "no MX"), or "" */
};

/* A/AAAA and MX of name, each bounded by timeout_ms; resolver may be NULL. */
void probe_dns(const char *name, const char *resolver, int timeout_ms, struct probe_dns *out);

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

struct probe_report {
	const struct probe_opts *opts;
	const struct probe_dns *dns; /* may be NULL */
	struct probe_door doors[SUBMIT_MAX_DOORS];
	size_t ndoors;
	int recommended; /* index into doors, or -1 */
};

/* Walk one door through the procedure. */
void probe_door(const struct probe_opts *o, struct door door, struct probe_door *pd);

/* The door to configure: ok doors, 587 > 465 > 2525 > others > 25; -1 if none. */
int probe_recommend(const struct probe_report *r);

/* 0 when a door was recommended, else the most telling failure's sysexits code. */
int probe_exit_code(const struct probe_report *r);

/* "starttls", "implicit" or "none": what the door turned out to use. */
const char *probe_tls_mode(const struct probe_door *pd);

/* The --json object (DESIGN.md "mailport probe --json"), with a newline. */
void probe_json(const struct probe_report *r, struct buf *out);

/* The table, details, findings and recommendation for a person. */
void probe_text(const struct probe_report *r, bool color, struct buf *out);

/* s as a JSON string with its quotes; invalid UTF-8 becomes U+FFFD. */

#endif
