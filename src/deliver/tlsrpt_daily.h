/*
 * tlsrpt_daily: the thread that sends the SMTP TLS reports (RFC 8460)
 * once a day, and at once when asked (`mailport queue tls-report`
 * signals the server with SIGUSR1, as `queue flush` does).
 *
 * It runs tlsrpt_store_send at start (a day that ended while the server
 * was down goes out then), a few minutes after each UTC midnight, and on
 * tlsrpt_daily_kick; a run that could not finish (DNS, spool) is tried
 * again an hour later. Its DNS lookups and the spool's sync happen on
 * this thread, never on the event loop.
 *
 * A kick with "today too": `mailport queue tls-report --include-today`
 * leaves a file "<spool>/tlsrpt/include-today" before the signal; the
 * run that sees it removes it and reports today's sessions so far.
 */
#ifndef MP_TLSRPT_DAILY_H
#define MP_TLSRPT_DAILY_H

#include "config.h"

struct spool;
struct buf;
struct tlsrpt_store;
struct tlsrpt_daily;

struct tlsrpt_daily_config {
	char hostname[256];
	char from[512];			 /* tls-report-from, or postmaster@hostname */
	struct config_hostport resolver; /* host "": /etc/resolv.conf */
	char spool_dir[4096];
	struct spool *sp;
	struct tlsrpt_store *store;
	void (*queued)(const char *qid, void *arg); /* from this thread */
	void *arg;
	int (*sign)(const char *msg, size_t len, struct buf *out,
		    void *arg); /* see tlsrpt_store.h */
	void *sign_arg;
};

/* Start the thread (NULL, logged, when it cannot start). */
struct tlsrpt_daily *tlsrpt_daily_start(const struct tlsrpt_daily_config *cfg);
/* Run now (async-signal-unsafe: call it from the event loop). NULL: no-op. */
void tlsrpt_daily_kick(struct tlsrpt_daily *d);
/* Let a run in progress end, stop the thread. */
void tlsrpt_daily_stop(struct tlsrpt_daily **dp);

/* The request file's path for spool_dir, into out (for the command). */
/*
 * The request file of `mailport queue tls-report`: present when the
 * server's SIGUSR1 is that command's (send the reports) rather than `queue
 * flush`'s (deliver the queue), as both use the one signal.
 */
void tlsrpt_daily_request_path(const char *spool_dir, char *out, size_t size);
void tlsrpt_daily_today_path(const char *spool_dir, char *out, size_t size);

#endif
