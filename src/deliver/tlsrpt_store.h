/*
 * tlsrpt_store: the outbound TLS results kept for SMTP TLS reporting
 * (RFC 8460), and the daily reports made from them.
 *
 * On disk, under <spool>/tlsrpt/:
 *   day-YYYYMMDD        one line per session noted on that UTC day:
 *                       "<policy-type> <policy-domain> <mx> <ip> <result>\n"
 *                       (result "ok" for a success; every field
 *                       percent-encoded like the spool's values), and
 *                       "policy <type> <domain> <line>..." for the policy
 *                       text a policy type applied (the last one counts).
 *                       Appended
 *                       with one write(2) per line under O_APPEND, so lines
 *                       of concurrent workers never interleave and a line
 *                       is on disk when the server stops, cleanly or not
 *                       (the kernel holds it); a power loss may lose the
 *                       last lines, which for statistics we accept rather
 *                       than an fsync per delivery.
 *   day-YYYYMMDD.sent   the policy domains whose report for that day is
 *                       queued (appended after each), so a crash part way
 *                       never sends one twice; both files go when done.
 * A day is reported once it is over (UTC), or at once when asked with
 * include_today: then today's lines so far move to a file named for the
 * cut ("day-YYYYMMDD-HHMMSS"), reported for [midnight, cut], and counting
 * goes on in a fresh day file.
 *
 * Threads: tlsrpt_note may be called from any thread (each line is one
 * write); tlsrpt_store_send from one thread at a time.
 */
#ifndef MP_TLSRPT_STORE_H
#define MP_TLSRPT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tlsrpt_store;
struct dns;
struct spool;
struct buf;

/* NULL (with err) when <spool_dir>/tlsrpt cannot be made. */
struct tlsrpt_store *tlsrpt_store_open(const char *spool_dir, char *err, size_t err_size);
void tlsrpt_store_close(struct tlsrpt_store **sp);

/*
 * One outbound TLS session (or attempt) to mx_host at ip for
 * policy_domain: result_type NULL for a success, else an RFC 8460 4.3
 * result type ("starttls-not-supported", "certificate-host-mismatch", ...).
 * policy_type "sts", "tlsa" or "no-policy-found". A NULL store does
 * nothing (reporting is off). Errors are logged once, never fatal.
 */
void tlsrpt_note(struct tlsrpt_store *s, const char *policy_domain, const char *policy_type,
		 const char *mx_host, const char *ip, const char *result_type, int64_t now);

/*
 * The policy policy_type applied for policy_domain (RFC 8460 4.4
 * "policy-string": the MTA-STS policy's lines, or one "usage selector
 * mtype hex" per TLSA record), for the report's policy-string. The same
 * text noted again the same day is written once (a few recent ones are
 * remembered). A NULL store does nothing.
 */
void tlsrpt_note_policy(struct tlsrpt_store *s, const char *policy_domain, const char *policy_type,
			const char *const *lines, size_t nlines, int64_t now);

struct tlsrpt_send_opts {
	const char *hostname;			    /* organization-name and TLS-Report-Submitter */
	const char *from;			    /* tls-report-from (the envelope and From:) */
	bool include_today;			    /* also today's lines so far */
	int64_t now;				    /* unix seconds */
	struct dns *dns;			    /* for _smtp._tls.<domain> TXT */
	struct spool *sp;			    /* where the reports are queued */
	void (*queued)(const char *qid, void *arg); /* each queued report; may be NULL */
	void *arg;
	/*
	 * DKIM signatures for a report mail (RFC 8460 3 wants reports signed):
	 * appends the DKIM-Signature fields for msg[0..len) to out and returns
	 * how many (0: no key for the sender's domain), -1 on failure (the
	 * report then goes unsigned, logged). NULL: unsigned.
	 */
	int (*sign)(const char *msg, size_t len, struct buf *out, void *arg);
	void *sign_arg;
};

/*
 * Queue the report of every finished day (and today's, if asked) for each
 * policy domain with a "v=TLSRPTv1; rua=mailto:..." record (domains
 * without one, or with https: only, are skipped and logged). Returns how
 * many reports were queued, or -1 with err (a day stays pending).
 */
int tlsrpt_store_send(struct tlsrpt_store *s, const struct tlsrpt_send_opts *o, char *err,
		      size_t err_size);

#endif
