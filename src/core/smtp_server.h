/*
 * smtp_server: the server side of one SMTP session, as a state machine
 * with no I/O (RFC 5321, 3207 STARTTLS, 4954 AUTH, 2920 PIPELINING,
 * 3030 CHUNKING, 1870 SIZE, 6531 SMTPUTF8, 3461 DSN).
 *
 * The glue feeds received bytes with smtp_server_feed() and sends whatever
 * smtp_server_output() holds. Quick questions (is this a local domain?)
 * and message bytes go through hooks, synchronously. Slow work (the TLS
 * handshake, a password check, the fsync before 250) is an action: the
 * session stops taking input, the glue performs it and reports back with
 * smtp_server_*_done(), and the session carries on with the input that
 * waited (which is how PIPELINING works). The one exception is STARTTLS:
 * its action swallows all buffered input, so nothing a client pipelined
 * behind STARTTLS is ever read as a command (CVE-2011-0411 family).
 *
 * What a door allows comes from its struct policy; every rule about phase,
 * TLS and AUTH is applied in one dispatcher from one command table.
 */
#ifndef MP_SMTP_SERVER_H
#define MP_SMTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "policy.h"
#include "smtp_cmd.h"
#include "smtp_sasl.h"

struct smtp_server;

struct smtp_server_config {
	const char *hostname;
	const struct policy *policy;
	uint64_t max_message_size;     /* SIZE; enforced at MAIL and while data streams */
	unsigned max_recipients;       /* the next RCPT gets 452 4.5.3 */
	unsigned max_errors;	       /* 421 after this many error replies */
	unsigned max_auth_failures;    /* 421 after this many failed AUTH */
	bool tls_available;	       /* a certificate is loaded */
	const char *postmaster_domain; /* where "RCPT TO:<Postmaster>" goes (RFC 5321 4.5.1) */
};

/* The message being received, as the spool hook sees it. */
struct smtp_envelope {
	const struct smtp_mail_args *mail;
	const struct smtp_rcpt_args *rcpts;
	size_t nrcpts;
	const char *helo;
	const char *client_addr;
	const char *auth_user; /* NULL unless authenticated */
};

/* What a recipient of one of our domains is (is_local_user). */
enum smtp_local_rcpt {
	SMTP_RCPT_UNKNOWN, /* 550 5.1.1 */
	SMTP_RCPT_OK,	   /* an account, an alias, an SRS address of ours */
	SMTP_RCPT_LOOP,	   /* an alias whose expansion loops: 550 5.4.6 */
};

struct smtp_server_hooks {
	void *ctx;
	bool (*is_local_domain)(void *ctx, const char *domain);
	/* Does this local mailbox or alias exist (any case, +tag ignored)? */
	enum smtp_local_rcpt (*is_local_user)(void *ctx, const char *local, const char *domain);
	/* Start a spool file; write the queue id (NUL-terminated) to qid. -1: 451/452. */
	int (*spool_begin)(void *ctx, const struct smtp_envelope *env, char *qid, size_t qid_size,
			   bool *no_space_r);
	/* Message bytes in order: our Received: header first, whole, in a call of its own
	 * (the glue tells it from the client's header section by that), then the message
	 * as received. -1 is remembered: 451 at the end. */
	int (*spool_write)(void *ctx, const char *p, size_t n);
	/* Drop the message being written (refused, or the session ended). */
	void (*spool_abort)(void *ctx);
	/* The current date in RFC 5322 form, for the Received: header. */
	void (*date)(void *ctx, char *out, size_t size);
	/* One key=value event for the log (no secrets are ever passed). */
	void (*log)(void *ctx, const char *line);
};

enum smtp_action {
	SMTP_ACT_NONE,
	SMTP_ACT_START_TLS,  /* send the output, then the TLS handshake; call tls_done */
	SMTP_ACT_CHECK_AUTH, /* check smtp_server_auth_creds(); call auth_done */
	SMTP_ACT_COMMIT,     /* make the spooled message durable; call commit_done */
	SMTP_ACT_CLOSE,	     /* send the output, then close */
};

enum smtp_auth_result { SMTP_AUTH_OK, SMTP_AUTH_BAD, SMTP_AUTH_TEMPFAIL };
enum smtp_commit_result { SMTP_COMMIT_OK, SMTP_COMMIT_IO_ERROR, SMTP_COMMIT_NO_SPACE };
/* Why the glue refused a complete message instead of committing it. */
enum smtp_refusal {
	SMTP_REFUSE_DMARC,	    /* 550 5.7.1: the From domain's DMARC policy says reject */
	SMTP_REFUSE_AUTH_TEMPFAIL,  /* 451 4.7.1: a check could not finish (DNS) */
	SMTP_REFUSE_HEADER_TOO_BIG, /* 552 5.3.4: more header than the glue holds */
	SMTP_REFUSE_SIGN_FAILED,    /* 451 4.3.0: DKIM signing failed */
	SMTP_REFUSE_TOO_MANY_HOPS,  /* 554 5.4.6: more Received: fields than limit (a loop) */
};

/*
 * A session for one connection from client_addr ("192.0.2.1" form). cfg and
 * hooks must outlive it. tls_active: the connection is already TLS
 * (implicit-TLS door, after the handshake).
 */
struct smtp_server *smtp_server_new(const struct smtp_server_config *cfg,
				    const struct smtp_server_hooks *hooks, const char *client_addr,
				    bool tls_active);
void smtp_server_free(struct smtp_server **sp);

/* Queue the 220 greeting. */
void smtp_server_greet(struct smtp_server *s);
/*
 * Take input. Returns how many bytes were used; the rest must be fed again
 * later (with more bytes appended) once the pending action is done. Feeds
 * nothing while an action is pending (returns 0).
 */
size_t smtp_server_feed(struct smtp_server *s, const char *p, size_t len);
/* Replies to send. The glue sends them and then buf_reset()s the buffer. */
struct buf *smtp_server_output(struct smtp_server *s);
enum smtp_action smtp_server_action(const struct smtp_server *s);
/* Is the session receiving message data (for the glue's data timeout)? */
bool smtp_server_in_data(const struct smtp_server *s);

void smtp_server_tls_done(struct smtp_server *s, bool ok, const char *version, const char *cipher);
/* The credentials to check during SMTP_ACT_CHECK_AUTH. */
const struct sasl_creds *smtp_server_auth_creds(const struct smtp_server *s);
/* How many failed AUTH attempts so far (so the glue can slow the next reply). */
unsigned smtp_server_auth_failures(const struct smtp_server *s);
/* The size of the message data taken so far (the one being committed, at its commit). */
uint64_t smtp_server_data_size(const struct smtp_server *s);
void smtp_server_auth_done(struct smtp_server *s, enum smtp_auth_result r);
void smtp_server_commit_done(struct smtp_server *s, enum smtp_commit_result r);
/*
 * Instead of commit_done: during SMTP_ACT_COMMIT the glue may finish the
 * message's checks first (the end-of-data reply waits for them, as for the
 * commit) and refuse it: the reply for why, its text filled with detail
 * (DMARC, tempfail; control bytes shown as '?') or limit (header size).
 * The glue drops its spool file itself; the transaction is reset.
 */
void smtp_server_message_refused(struct smtp_server *s, enum smtp_refusal why, const char *detail,
				 unsigned long long limit);
/* The peer was idle too long: queue 421 and close. */
void smtp_server_timeout(struct smtp_server *s);
/* The server is stopping: queue 421 and close. */
void smtp_server_shutdown(struct smtp_server *s);

/* Is user (an address) allowed to use from as MAIL FROM? Own address or own +tag. */
bool smtp_sender_owned(const char *user, const struct smtp_addr *from);

#endif
