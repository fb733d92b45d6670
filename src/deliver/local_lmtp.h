/*
 * local_lmtp: local delivery handed to an LMTP server (RFC 2033), such as
 * Dovecot's `lmtp` service, instead of writing Maildir ourselves
 * ("deliver lmtp ENDPOINT"). Each of the local agent's LMTP threads owns
 * one, which keeps its connection open between messages until the agent
 * has been idle for a while (local_lmtp_close); a kept connection the
 * server has closed is replaced at once, never counted as a failure of
 * the message.
 *
 * Each message is one transaction with all its local recipients; the
 * server answers each recipient on its own after the body, so one mailbox
 * over quota is refused alone (LMTP_BOUNCED for a 5xx, LMTP_DEFERRED for a
 * 4xx) while the others are delivered. A server that cannot be reached,
 * or a session that fails before the recipients, defers every one of
 * them: nothing is bounced unless the server refused that recipient.
 */
#ifndef MP_LOCAL_LMTP_H
#define MP_LOCAL_LMTP_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct spool_entry;
struct local_lmtp;

enum lmtp_outcome { LMTP_SENT, LMTP_DEFERRED, LMTP_BOUNCED };

struct lmtp_rcpt_result {
	enum lmtp_outcome outcome;
	char dsn[16];	  /* "5.2.2", for a bounce's report */
	char reply[600];  /* the server's reply, or our words when it gave none */
	bool from_server; /* reply is the server's (else our words) */
};

/* ep and hostname (our LHLO name) are copied; timeout_s bounds each step. */
struct local_lmtp *local_lmtp_new(const struct config_endpoint *ep, const char *hostname,
				  unsigned timeout_s);
void local_lmtp_free(struct local_lmtp **lp);
/* Close the kept connection (QUIT), if any; the next message opens one. */
void local_lmtp_close(struct local_lmtp *l);
/* "lmtp:unix:/run/dovecot/lmtp", for logs. */
const char *local_lmtp_relay(const struct local_lmtp *l);

/*
 * Deliver e (its body from e->path at e->body_offset) to rcpts[0..n-1],
 * one result each in res. Blocks for up to a few timeouts.
 */
void local_lmtp_deliver(struct local_lmtp *l, const struct spool_entry *e, const char *const *rcpts,
			size_t n, struct lmtp_rcpt_result *res);

/* The queued message (from e->body_offset) into body; -1 with errno. */
struct buf;
int local_lmtp_read_body(const struct spool_entry *e, struct buf *body);

#endif
