/*
 * local: the local delivery agent. A thread that takes committed messages
 * from the spool and delivers each local recipient to its Maildir, marking
 * it done in the spool as it goes; a message is removed from the queue once
 * no recipient is left. Recipients of other domains stay queued (outbound
 * delivery is a separate agent).
 *
 * At start it scans the whole queue, so mail acknowledged before a crash is
 * delivered after the restart, each recipient exactly once (local.c). A
 * mailbox that cannot take a message now is tried again on the message's
 * retry schedule (spool_retry), which `mailport queue` shows.
 */
#ifndef MP_LOCAL_H
#define MP_LOCAL_H

#include <stdbool.h>

#include "retry.h"

struct spool;
struct local_delivery;

/*
 * is_local(domain, arg): is this one of our domains? Called from the
 * agent's thread with the domain in lower case. NULL if the thread cannot
 * be started. mailbox_dir and retry (the schedule of a message whose
 * mailbox cannot take it now, shared with remote delivery) are copied.
 */
struct local_delivery *local_delivery_start(struct spool *sp, const char *mailbox_dir,
					    const struct retry_policy *retry,
					    bool (*is_local)(const char *domain, void *arg),
					    void *arg);
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
