/*
 * What the two halves of the outbound agent share: outbound.c runs the
 * threads and the queue of messages, outbound_deliver.c delivers one
 * message on a worker's thread. Not for other modules.
 */
#ifndef MP_OUTBOUND_INT_H
#define MP_OUTBOUND_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bounce.h"
#include "buf.h"
#include "client_run.h"
#include "dns.h"
#include "hash.h"
#include "mta_sts_policy.h"
#include "outbound.h"
#include "spool.h"
#include "tls_plan.h"

struct job;
struct dns;
struct conn_cache;
struct mta_sts_cache;

struct worker {
	struct outbound *ob;
	pthread_t thread;
	bool started;
	struct dns *dns;      /* c-ares channels are not shared between threads */
	char last_relay[400]; /* "host[ip]:port" of the last attempt that did not decide */
	char last_policy[64]; /* ... and the TLS plan it was made under ("policy=dane") */
	/* One domain's MX hosts that did not decide: how many refused only
	 * because they do not offer REQUIRETLS (RFC 8689), how many for any
	 * other reason. All of the first kind: the message is returned. */
	unsigned rtls_refused, other_failures;
	bool aborted;	      /* a domain was left unattempted: stopping, or ... */
	char blocked_on[256]; /* ... its destination at its cap: the message waits for it */
};

struct outbound {
	struct spool *sp;
	struct outbound_config cfg;
	pthread_t dispatcher;
	struct worker *workers;
	size_t nworkers;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* the dispatcher: flush or stop */
	pthread_cond_t work; /* the workers: a job, or stop (and a slot given back) */
	bool stopping;
	bool restarting;		 /* the workers end: new settings (outbound_reconfigure) */
	struct outbound_config *pending; /* settings waiting for the dispatcher to apply */
	bool flush_all;
	struct job *head, *tail; /* waiting, oldest first */
	struct hash held;	 /* queue id -> job, waiting or running: never twice */
	size_t relay_door;	 /* index of the relay host door that worked last */
	struct conn_cache *conns;
	struct mta_sts_cache *sts; /* NULL: MTA-STS off (its directory could not be made) */
};

/* One recipient's fate in an attempt at a message (outbound_deliver.c). */
enum rcpt_state { RS_PENDING, RS_SENT, RS_FAILED, RS_DEFERRED };

struct rcpt_outcome {
	const char *addr;
	enum rcpt_state state;
	char dsn[BOUNCE_STATUS_SIZE];
	char reply[600];
	char relay[400]; /* "host[ip]:port" */
	char mta[256];	 /* the host that said it, for the DSN */
	char tls[32];
	char policy[64]; /* the TLS plan's "policy=dane" (tls_plan why) */
	bool verified;	 /* the peer was authenticated (DANE or CA + name) */
};

/* A byte over 0x7f in p[0..n)? */
bool outbound_has_8bit(const char *p, size_t n);
/* Bounce the failed recipients of out[0..n) to e's sender (outbound_bounce.c). */
void outbound_bounce(struct outbound *ob, const struct spool_entry *e, const struct buf *body,
		     const struct rcpt_outcome *out, size_t n);

/* Is a message with this schedule (scheduled: it has one) due for an attempt? */
bool outbound_due(const struct spool_retry *rs, bool scheduled, bool force, int64_t now);
/*
 * One attempt at the remote recipients of qid, on w's thread: each outcome
 * recorded, failures bounced, the schedule kept. w->blocked_on is set when
 * a destination had no free slot and recipients were left for later.
 */
void outbound_process(struct worker *w, const char *qid, bool force);

/* ---- outbound_tls.c: the TLS plan of each MX host ---- */

/* What holds for all of one domain's MX hosts, for one message. */
struct domain_tls {
	char domain[256];
	enum tls_level level; /* the domain's tls-policy level, else the default's */
	bool explicit;	      /* ... from a line for the domain */
	bool mx_secure;	      /* the MX answer was authenticated (AD) */
	int sts;	      /* mta_sts_cache_get: 1 policy, 0 none, -1 failed */
	struct mta_sts_policy sts_policy;
	char sts_why[300];
	bool requiretls;      /* the message's REQUIRETLS (RFC 8689) */
	bool tls_required_no; /* its "TLS-Required: No" */
	size_t unverifiable;  /* MX hosts whose plan said REQUIRETLS cannot be met there */
};

/* One MX host's plan and, for DANE, its usable TLSA records. */
struct mx_tls {
	struct tls_plan plan;
	struct dns_tlsa tlsa[DNS_MAX_TLSA];
	size_t ntlsa;		 /* usable records, when plan.dane */
	const char *policy_type; /* TLS-RPT's: "tlsa", "sts", "no-policy-found" */
	char result_type[40];	 /* RFC 8460, when the plan itself failed (dnssec-invalid ...) */
	char dns_why[300];	 /* a failed TLSA lookup, in words */
};

/* The domain's facts: tls-policy, MTA-STS (fetched or cached), the message's flags. */
void outbound_tls_domain(struct worker *w, const struct spool_entry *e, const struct buf *body,
			 const char *domain, bool mx_secure, struct domain_tls *d);
/*
 * host's addresses (authenticated or not), its TLSA records where DANE
 * can apply, and the plan. A status other than DNS_OK: no address (m is
 * not set).
 */
enum dns_status outbound_tls_host(struct worker *w, const struct domain_tls *d, const char *host,
				  char addrs[][64], size_t *naddrs, struct mx_tls *m);
/*
 * The RFC 8460 result type of an attempt under m's plan that reached the
 * server: NULL for a success (TLS as the policy asks), else
 * "starttls-not-supported", "tlsa-invalid", "certificate-expired", ...
 */
const char *outbound_tls_result(const struct mx_tls *m, const struct client_run_result *r);

/* ---- outbound_tlsrpt.c: what TLS reporting counts (RFC 8460) ---- */

/* A new session to host at addr under m's plan (a message's body tells a
 * report's own delivery, which is not counted). */
void outbound_note_session(struct outbound *ob, const struct mx_tls *m, const char *domain,
			   const char *host, const char *addr, const struct client_run_result *r,
			   const char *tls_result, const struct buf *body);
/* m's plan failed before any connection to host (result_type set): a
 * failed session too. */
void outbound_note_plan_failure(struct outbound *ob, const struct domain_tls *d,
				const struct mx_tls *m, const char *host);
/* The policy text behind m's plan (MTA-STS lines or TLSA records). */
void outbound_note_policy(struct outbound *ob, const struct domain_tls *d, const struct mx_tls *m);

/* outbound_srs.c: out = the SRS form of e's sender when it must be rewritten (else untouched). */
void outbound_srs_sender(struct outbound *ob, const struct spool_entry *e, int64_t now, char *out,
			 size_t size);

#endif
