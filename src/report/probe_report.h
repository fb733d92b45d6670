/*
 * probe_report: what `mailport probe` found, as plain data, and the two
 * ways it is shown: the --json object (DESIGN.md "mailport probe --json")
 * and the text for a person. client/probe fills a struct probe_report;
 * everything here is pure (no sockets, no OpenSSL, no clock), so the
 * reports are unit-tested on made-up results.
 *
 * Server bytes in a result (greeting, replies, certificate names, notes
 * that quote them) are untrusted: the text escapes them, JSON quotes them.
 */
#ifndef MP_PROBE_REPORT_H
#define MP_PROBE_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "domain_report.h"
#include "door.h"
#include "outcome.h"
#include "providers.h"
#include "smtp_client.h"
#include "tls_info.h"

#define PROBE_MAX_DOORS 8
#define PROBE_MAX_NOTES 6
#define PROBE_MAX_FINDINGS 8
#define PROBE_MAX_ADDRS 8
#define PROBE_MAX_MX 16

enum probe_severity { PROBE_LOW, PROBE_MEDIUM, PROBE_HIGH, PROBE_CRITICAL };

struct probe_finding {
	enum probe_severity severity;
	const char *id;	 /* "tls_old_version", "starttls_injection", ...; static */
	char what[256];	 /* what was seen */
	const char *fix; /* what the operator should do; static */
};

/* One door walked through the procedure. */
struct probe_door {
	struct door door;
	const struct outcome *outcome;	/* from the outcome table */
	bool greeted;			/* a 220 arrived */
	bool tls_used;			/* the main run went through TLS */
	struct smtp_client_caps caps;	/* what the last EHLO listed */
	struct smtp_client_reply reply; /* the reply that ended the run, or code 0 */
	char
	    detail[512]; /* our words (OpenSSL's, the system's, the core's) when no reply said it */
	struct tls_info tls; /* also when the certificate was not trusted */
	bool tls_seen;
	char notes[PROBE_MAX_NOTES][256]; /* warnings for the user */
	size_t nnotes;
	struct probe_finding findings[PROBE_MAX_FINDINGS];
	size_t nfindings;
};

struct probe_mx {
	char host[256];
	unsigned short pref;
};

/* What DNS says about the name probed. */
struct probe_dns {
	char addrs[PROBE_MAX_ADDRS][64];
	size_t naddrs;
	struct probe_mx mx[PROBE_MAX_MX]; /* by preference */
	size_t nmx;
	bool null_mx;	      /* "MX 0 .": the domain takes no mail (RFC 7505) */
	char addr_error[160]; /* why there is no address, or "" */
	char mx_error[160];   /* why the MX lookup failed (not "no MX"), or "" */
};

struct probe_report {
	const char *host;		 /* the name probed */
	const struct provider *provider; /* for the fixes and the header; may be NULL */
	const struct probe_dns *dns;	 /* may be NULL */
	struct probe_door doors[PROBE_MAX_DOORS];
	size_t ndoors;
	int recommended; /* index into doors, or -1 (probe_recommend) */
	/* --domain-check: the DNS checks of the domain, or NULL; with it, doors may be none */
	const struct domain_report *domain;
};

/* The door to configure: ok doors, 587 > 465 > 2525 > others > 25; -1 if none. */
int probe_recommend(const struct probe_report *r);

/*
 * 0 when a door was recommended, else the most telling failure's sysexits
 * code; with a domain check, the doors' code when it is not 0, else the
 * domain check's (domain_report_exit_code), and that alone when no door
 * was probed.
 */
int probe_exit_code(const struct probe_report *r);

/* "starttls", "implicit" or "none": what the door turned out to use; static. */
const char *probe_tls_mode(const struct probe_door *pd);

/* "low", "medium", "high" or "critical"; static. */
const char *probe_severity_name(enum probe_severity s);

/* "250 2.0.0 text" into out[size], or "" when no reply came. */
void probe_reply_text(const struct smtp_client_reply *r, char *out, size_t size);

/* The --json object, with a newline, appended to out. */
void probe_json(const struct probe_report *r, struct buf *out);

/* The table, details, findings and recommendation for a person, appended to out. */
void probe_text(const struct probe_report *r, bool color, struct buf *out);

#endif
