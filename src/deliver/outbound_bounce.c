/*
 * outbound_bounce: the recipients of one message that failed remotely, as
 * the rows of the delivery status notification bounce_queue builds and
 * queues (RFC 3464, from <> to the sender, durably; never a bounce for a
 * bounce; a REQUIRETLS message's headers only).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "bounce.h"
#include "bounce_queue.h"
#include "date.h"
#include "log.h"
#include "outbound_int.h"
#include "smtp_addr.h"
#include "str.h"

void
outbound_bounce(struct outbound *ob, const struct spool_entry *e, const struct buf *body,
		const struct rcpt_outcome *out, size_t n)
{
	struct bounce_rcpt br[n ? n : 1];
	size_t nb = 0;
	char date[64];
	date_rfc5322(time(NULL), date, sizeof date);
	for (size_t i = 0; i < n; i++)
		if (out[i].state == RS_FAILED)
			br[nb++] = (struct bounce_rcpt){
			    .addr = out[i].addr,
			    .action = BOUNCE_FAILED,
			    .status = out[i].dsn,
			    .remote_mta = out[i].mta[0] ? out[i].mta : NULL,
			    .reply = out[i].mta[0] ? out[i].reply : NULL,
			    .reason = out[i].mta[0] ? NULL : out[i].reply,
			    .last_attempt = date,
			};
	bounce_queue(ob->sp, ob->cfg.hostname, e,
		     (struct strv){body->data ? body->data : "", body->len}, br, nb, ob->cfg.queued,
		     ob->cfg.arg);
}
