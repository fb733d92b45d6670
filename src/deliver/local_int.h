/*
 * local_int: what the files of the local agent share: local.c (the
 * thread, the queue scans, Maildir batches) and local_lmtp_run.c (the
 * same work handed to an LMTP server). Nothing else includes this.
 */
#ifndef MP_LOCAL_INT_H
#define MP_LOCAL_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "group_sync.h"
#include "local.h"
#include "retry.h"
#include "spool.h"

/*
 * Messages delivered together: their Maildir files are synced together and
 * the fully delivered ones leave the queue with one directory sync. It
 * bounds the open files of a batch (one per recipient) and the deliveries
 * repeated after a crash in the middle of one.
 */
#define LOCAL_BATCH_MAX 128
/*
 * LMTP connections used at once: the server (Dovecot: a process per
 * connection) saves and syncs the messages of several in parallel, as
 * it does for Postfix's lmtp(8) processes (20 by default).
 */
#define LOCAL_LMTP_CONNECTIONS 10
/* Kept LMTP connections are closed after this long without work. */
#define LOCAL_LMTP_IDLE_SECONDS 2

struct local_lmtp;

struct local_delivery {
	struct spool *sp;
	char *mailbox_dir;
	/* deliver lmtp: one transport per connection (nlmtp 0 for Maildir) */
	struct local_lmtp *lmtp[LOCAL_LMTP_CONNECTIONS];
	size_t nlmtp;
	bool lmtp_kept; /* under mu: connections may be open (closed after a quiet while) */
	char hostname[256];
	bool (*is_local)(const char *domain, void *arg);
	void (*queued)(const char *qid, void *arg);
	void *arg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond; /* on CLOCK_MONOTONIC */
	char (*kicked)[SPOOL_QID_SIZE];
	size_t nkicked, kick_cap;
	struct timespec gather_until; /* the first waiting kick's batch starts then */
	bool want_scan;
	bool want_flush;	   /* the scan asked for ignores the retry schedule */
	int64_t due_at;		   /* unix seconds: the earliest retry known, 0 for none */
	struct retry_policy retry; /* under mu: a reload may change it */
	atomic_bool stop;
	struct group_sync gsync; /* a batch's Maildir files: one syncfs while cheap */
};

/* One message of a batch. */
struct local_msg {
	struct spool_entry e;
	size_t left; /* recipients still queued after this batch */
	struct spool_retry rs;
	bool scheduled;	       /* rs was read: the message had a retry schedule */
	const char *first_err; /* the first local recipient deferred in this batch */
};

/* Is rcpt's domain one of ours? */
bool local_rcpt_is_local(struct local_delivery *ld, const char *rcpt);
/*
 * A local recipient of m was deferred: write m's retry schedule (this
 * attempt, the next, m->first_err); *due_at becomes the earlier of itself
 * and the next attempt (0: none yet).
 */
void local_schedule(struct local_delivery *ld, int64_t *due_at, struct local_msg *m);
/* local_lmtp_run.c: deliver ids over LMTP; the earliest retry scheduled, 0 for none. */
int64_t local_lmtp_process(struct local_delivery *ld, const char *const *ids, size_t n);

#endif
