/*
 * bounce_queue: returns recipients that failed to their sender, shared by
 * the outbound and the local (LMTP) agents: an RFC 3464 report
 * (mime/bounce.c) about them, queued durably from <> to the sender, and
 * the queued callback told so it is delivered. A message from <> gets no
 * report (RFC 5321 4.5.5: no bounce of a bounce); the log says so. Every
 * outcome is logged with the message's id (event=bounce, bounce_dropped,
 * bounce_failed). Called from a delivery thread; blocks on the disk.
 */
#ifndef MP_BOUNCE_QUEUE_H
#define MP_BOUNCE_QUEUE_H

#include <stddef.h>

#include "bounce.h"
#include "str.h"

struct spool;
struct spool_entry;

/* original: the message as queued (the report carries it, up to a size). */
void bounce_queue(struct spool *sp, const char *hostname, const struct spool_entry *e,
		  struct strv original, const struct bounce_rcpt *br, size_t nb,
		  void (*queued)(const char *qid, void *arg), void *arg);

#endif
