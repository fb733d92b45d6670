/*
 * local: the local delivery agent. A thread that takes committed messages
 * from the spool and delivers each local recipient to its Maildir, marking
 * it done in the spool as it goes; a message is removed from the queue once
 * no recipient is left. Recipients of other domains stay queued (outbound
 * delivery is a separate agent).
 *
 * At start it scans the whole queue, so mail acknowledged before a crash is
 * delivered after the restart.
 */
#ifndef MP_LOCAL_H
#define MP_LOCAL_H

#include <stdbool.h>

struct spool;
struct local_delivery;

/*
 * is_local(domain, arg): is this one of our domains? Called from the
 * agent's thread with the domain in lower case. NULL if the thread cannot
 * be started. mailbox_dir is copied.
 */
struct local_delivery *local_delivery_start(struct spool *sp, const char *mailbox_dir,
					    bool (*is_local)(const char *domain, void *arg),
					    void *arg);
/*
 * A message was just committed: deliver it soon. Thread-safe, never blocks
 * long. ld may be NULL (already stopped): nothing happens, and the scan at
 * the next start delivers the message.
 */
void local_delivery_kick(struct local_delivery *ld, const char *qid);
/*
 * Scan the whole queue now instead of at the next periodic rescan (what
 * `mailport queue flush` asks for). Thread-safe, never blocks long; ld may
 * be NULL (nothing happens).
 */
void local_delivery_rescan(struct local_delivery *ld);
/* Stop the thread (finishing the message in hand) and free. */
void local_delivery_stop(struct local_delivery **ldp);

#endif
