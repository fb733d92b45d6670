/*
 * What the two halves of the outbound agent share: outbound.c runs the
 * threads and the queue of messages, outbound_deliver.c delivers one
 * message on a worker's thread. Not for other modules.
 */
#ifndef MP_OUTBOUND_INT_H
#define MP_OUTBOUND_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hash.h"
#include "outbound.h"
#include "spool.h"

struct job;
struct dns;
struct conn_cache;
struct mta_sts_cache;

struct worker {
	struct outbound *ob;
	pthread_t thread;
	bool started;
	struct dns *dns;      /* c-ares channels are not shared between threads */
	char last_relay[400]; /* "host[ip]:port" of the last attempt that did not decide */
	bool aborted;	      /* a domain was left unattempted: stopping, or ... */
	char blocked_on[256]; /* ... its destination at its cap: the message waits for it */
};

struct outbound {
	struct spool *sp;
	struct outbound_config cfg;
	pthread_t dispatcher;
	struct worker *workers;
	size_t nworkers;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* the dispatcher: flush or stop */
	pthread_cond_t work; /* the workers: a job, or stop (and a slot given back) */
	bool stopping;
	bool restarting;		 /* the workers end: new settings (outbound_reconfigure) */
	struct outbound_config *pending; /* settings waiting for the dispatcher to apply */
	bool flush_all;
	struct job *head, *tail; /* waiting, oldest first */
	struct hash held;	 /* queue id -> job, waiting or running: never twice */
	size_t relay_door;	 /* index of the relay host door that worked last */
	struct conn_cache *conns;
	struct mta_sts_cache *sts; /* MTA-STS policies (on disk under the spool); NULL: none */
};

/* Is a message with this schedule (scheduled: it has one) due for an attempt? */
bool outbound_due(const struct spool_retry *rs, bool scheduled, bool force, int64_t now);
/*
 * One attempt at the remote recipients of qid, on w's thread: each outcome
 * recorded, failures bounced, the schedule kept. w->blocked_on is set when
 * a destination had no free slot and recipients were left for later.
 */
void outbound_process(struct worker *w, const char *qid, bool force);

#endif
