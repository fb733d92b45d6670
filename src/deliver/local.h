/*
 * local: the local delivery agent. A thread that takes committed messages
 * from the spool and delivers each local recipient to its Maildir, marking
 * it done in the spool as it goes; a message is removed from the queue once
 * no recipient is left. Recipients of other domains stay queued (outbound
 * delivery is a separate agent). With "deliver lmtp" the messages are
 * handed to an LMTP server instead (local_lmtp.h), which answers for each
 * recipient: delivered, deferred (retried like a Maildir that cannot take
 * mail), or refused and returned to the sender. Exactly once holds for
 * Maildir; over LMTP a crash between the server's reply and the queue's
 * update delivers again at the restart (at least once, as Postfix's lmtp).
 *
 * At start it scans the whole queue, so mail acknowledged before a crash is
 * delivered after the restart, each recipient exactly once (local.c). A
 * mailbox that cannot take a message now is tried again on the message's
 * retry schedule (spool_retry), which `mailport queue` shows.
 */
#ifndef MP_LOCAL_H
#define MP_LOCAL_H

#include <stdbool.h>

#include "config.h"
#include "retry.h"

struct spool;
struct local_delivery;

/*
 * How local mail is delivered. is_local(domain, arg): is this one of our
 * domains? Called from the agent's thread with the domain in lower case.
 * queued(qid, arg): a bounce was queued (LMTP refusals), have it
 * delivered; called from the agent's thread.
 */
struct local_config {
	const char *mailbox_dir;	    /* Maildir root (when lmtp is NULL) */
	const struct config_endpoint *lmtp; /* deliver over LMTP there; NULL: Maildir */
	const char *hostname;		    /* our LHLO name and the bounces' */
	unsigned lmtp_timeout;		    /* seconds, each LMTP step */
	struct retry_policy retry;	    /* shared with remote delivery */
	bool (*is_local)(const char *domain, void *arg);
	void (*queued)(const char *qid, void *arg);
	void *arg;
};

/* NULL if the thread cannot be started. lc and what it points to are copied. */
struct local_delivery *local_delivery_start(struct spool *sp, const struct local_config *lc);
/* New retry intervals (SIGHUP), for the deferrals from now on. NULL ld: nothing. */
void local_delivery_set_retry(struct local_delivery *ld, const struct retry_policy *retry);
/*
 * A message was just committed: deliver it soon. Thread-safe, never blocks
 * long. ld may be NULL (already stopped): nothing happens, and the scan at
 * the next start delivers the message.
 */
void local_delivery_kick(struct local_delivery *ld, const char *qid);
/*
 * Scan the whole queue now, whatever the retry schedules (what
 * `mailport queue flush` asks for). Thread-safe, never blocks long; ld may
 * be NULL (nothing happens).
 */
void local_delivery_rescan(struct local_delivery *ld);
/* Stop the thread (finishing the message in hand) and free. */
void local_delivery_stop(struct local_delivery **ldp);

#endif
