/*
 * outbound: the delivery agent for recipients of other domains. A thread
 * that takes queued messages, routes each recipient domain — the relay
 * host if one is configured, else the domain's MX hosts by preference,
 * else its A/AAAA (RFC 5321 5.1) — and speaks SMTP to it with the shared
 * client core: TLS as the domain's plan says (tls_plan: the tls-policy
 * level, DANE, MTA-STS), AUTH only over TLS to a relay host. 4xx and connection failures are
 * retried on a growing schedule; 5xx, a null MX, a domain that does not
 * exist and expiry bounce to the sender (RFC 3464), never to <>.
 */
#ifndef MP_OUTBOUND_H
#define MP_OUTBOUND_H

#include <stdbool.h>

#include "config.h"
#include "retry.h"

struct spool;
struct outbound;
struct tlsrpt_store;

struct outbound_config {
	char hostname[256];		  /* our EHLO name and the Reporting-MTA */
	struct config_hostport resolver;  /* host "" for /etc/resolv.conf */
	struct config_hostport relayhost; /* host "": MX routing; port 0: 587, 465, 2525 */
	char relay_user[256];
	char relay_secret[1024]; /* read as root at start: the file is the admin's, 0600 */
	char relay_cafile[4096];
	char outbound_cafile[4096]; /* "": the system's store (MX certificates, verify level) */
	char spool_dir[4096];	    /* where the MTA-STS policies are cached (<spool>/mta-sts) */
	struct retry_policy retry;
	unsigned timeout;	       /* seconds: connect and each reply */
	unsigned connections;	       /* at most this many at once, idle ones included */
	unsigned connections_per_dest; /* ... to one destination (domain or relay host) */
	/*
	 * SRS (srs.h): with a secret, a sender of another domain is rewritten
	 * to an SRS address of srs_domain, so the forwarded mail passes SPF
	 * as ours; bounces still go to the original sender.
	 */
	char srs_secret[256];
	char srs_domain[256];
	/* Called from the agent's thread. */
	bool (*is_local)(const char *domain, void *arg);
	/* The domain's tls-policy level (true: its own line; false: the default's). */
	bool (*tls_level)(const char *domain, enum tls_level *level_r, void *arg);
	/* A bounce was queued: have it delivered. */
	void (*queued)(const char *qid, void *arg);
	/* Where each MX attempt's TLS result is counted (RFC 8460); NULL: not at all. */
	struct tlsrpt_store *tlsrpt;
	void *arg;
};

/* Start the thread; it scans the whole queue at once. NULL if it cannot start. */
struct outbound *outbound_start(struct spool *sp, const struct outbound_config *cfg);
/* A message was committed: look at it soon. Thread-safe; NULL is a no-op. */
void outbound_kick(struct outbound *ob, const char *qid);
/* Attempt every queued message now, whatever its schedule (queue flush). */
void outbound_flush(struct outbound *ob);
/*
 * Apply new settings (SIGHUP): relay host, resolver, timeouts, caps, retry
 * schedule. Returns at once; the agent's own thread lets the deliveries in
 * hand finish, then goes on with cfg (copied) and logs
 * event=outbound_reloaded. NULL ob is a no-op.
 */
void outbound_reconfigure(struct outbound *ob, const struct outbound_config *cfg);
void outbound_stop(struct outbound **obp);

#endif
