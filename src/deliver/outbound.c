/*
 * outbound: the remote delivery agent (see the header): its threads and
 * its queue of messages.
 *
 * A dispatcher thread and a pool of workers. A committed message is queued
 * for the workers at once (outbound_kick); the dispatcher lists the spool
 * every second for the messages whose retry time has come, and closes the
 * connections that stayed idle too long. A message is held by one worker
 * at a time (outbound_deliver.c does the work); one whose destination is
 * at its cap is put aside until a slot there is given back, so a slow
 * destination does not hold up the others.
 *
 * New settings (SIGHUP) are applied by the dispatcher: the workers finish
 * the transaction in hand (a delivery cut short leaves its recipients
 * queued, as at a stop), the connections are closed, and workers, DNS
 * channels and connection caps are made anew from the new settings. The
 * queue of waiting messages is kept, and the pass after finds the rest.
 */
#include "outbound.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn_cache.h"
#include "dns.h"
#include "hash.h"
#include "log.h"
#include "mta_sts_cache.h"
#include "outbound_int.h"
#include "str.h"
#include "xmalloc.h"

#define PASS_SECONDS 1 /* how often the queue is looked at for due retries */
/* Postfix keeps an idle connection 2 s (smtp_connection_cache_time_limit);
 * a burst reuses it, a trickle does not hold the remote's slots. */
#define IDLE_KEEP_MS 2000

static void end_workers(struct outbound *ob);
static void apply_config(struct outbound *ob, struct outbound_config *cfg);
static void free_config(struct outbound_config **cp);

/* A message waiting for a worker, or being delivered by one. */
struct job {
	char qid[SPOOL_QID_SIZE];
	bool force;	      /* flush: whatever its retry schedule */
	bool running;	      /* a worker has it */
	char blocked_on[256]; /* put aside: this destination was at its cap */
	struct job *next;     /* the queue of waiting jobs */
};

/* ---- the jobs: each message held by one worker at a time ---- */

/* Called with ob->lock held. */
static struct job *
held_find(struct outbound *ob, const char *qid)
{
	return hash_get(&ob->held, qid);
}

static void
append_locked(struct outbound *ob, struct job *j)
{
	j->next = NULL;
	if (ob->tail)
		ob->tail->next = j;
	else
		ob->head = j;
	ob->tail = j;
}

/* Queue qid for the workers unless it is queued or running. Called with ob->lock held. */
static void
enqueue_locked(struct outbound *ob, const char *qid, bool force)
{
	struct job *j = held_find(ob, qid);
	if (j) {
		j->force = j->force || (force && !j->running);
		return;
	}
	j = xcalloc(1, sizeof *j);
	str_copy(j->qid, sizeof j->qid, qid);
	j->force = force;
	hash_put(&ob->held, j->qid, j); /* the key lives in the job */
	append_locked(ob, j);
	pthread_cond_signal(&ob->work);
}

static void
held_remove_locked(struct outbound *ob, struct job *job)
{
	hash_remove(&ob->held, job->qid);
}

/* The first waiting job whose destination has room; unlinked. Called with ob->lock held. */
static struct job *
take_runnable_locked(struct outbound *ob)
{
	for (struct job **pp = &ob->head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
		struct job *j = *pp;
		if (j->blocked_on[0] && conn_cache_full(ob->conns, j->blocked_on))
			continue;
		*pp = j->next;
		if (ob->tail == j)
			ob->tail = prev;
		j->next = NULL;
		return j;
	}
	return NULL;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct outbound *ob = w->ob;
	pthread_mutex_lock(&ob->lock);
	while (!ob->stopping && !ob->restarting) {
		struct job *j = take_runnable_locked(ob);
		if (j == NULL) {
			pthread_cond_wait(&ob->work, &ob->lock);
			continue;
		}
		j->running = true;
		pthread_mutex_unlock(&ob->lock);
		outbound_process(w, j->qid, j->force);
		pthread_mutex_lock(&ob->lock);
		j->running = false;
		if (w->blocked_on[0] && !ob->stopping && !ob->restarting) {
			/* What is left of it waits for room at that destination. */
			str_copy(j->blocked_on, sizeof j->blocked_on, w->blocked_on);
			append_locked(ob, j);
		} else {
			held_remove_locked(ob, j);
			free(j);
		}
	}
	pthread_mutex_unlock(&ob->lock);
	return NULL;
}

/* ---- the dispatcher: due retries, flushes, idle connections ---- */

static void
pass(struct outbound *ob, bool force)
{
	char **ids;
	size_t n;
	int64_t now = (int64_t)time(NULL);
	conn_cache_expire(ob->conns, IDLE_KEEP_MS);
	pthread_mutex_lock(&ob->lock);
	pthread_cond_broadcast(&ob->work); /* expired connections made room */
	pthread_mutex_unlock(&ob->lock);
	if (spool_list(ob->sp, &ids, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&ob->lock);
		bool skip = ob->stopping || held_find(ob, ids[i]) != NULL;
		pthread_mutex_unlock(&ob->lock);
		if (skip)
			continue;
		struct spool_retry rs;
		bool scheduled = spool_retry_read(ob->sp, ids[i], &rs) == 0;
		if (!outbound_due(&rs, scheduled, force, now))
			continue;
		pthread_mutex_lock(&ob->lock);
		enqueue_locked(ob, ids[i], force);
		pthread_mutex_unlock(&ob->lock);
	}
	spool_ids_free(ids, n);
}

static void *
dispatcher_main(void *arg)
{
	struct outbound *ob = arg;
	pthread_mutex_lock(&ob->lock);
	while (!ob->stopping) {
		struct outbound_config *cfg = ob->pending;
		ob->pending = NULL;
		bool force = ob->flush_all;
		ob->flush_all = false;
		pthread_mutex_unlock(&ob->lock);
		if (cfg) {
			apply_config(ob, cfg);
			free_config(&cfg);
		}
		pass(ob, force);
		pthread_mutex_lock(&ob->lock);
		if (ob->stopping || ob->flush_all || ob->pending)
			continue;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += PASS_SECONDS;
		pthread_cond_timedwait(&ob->wake, &ob->lock, &until);
	}
	pthread_mutex_unlock(&ob->lock);
	return NULL;
}

/* The dispatcher first (it may be applying new settings), then the workers. */
static void
stop_threads(struct outbound *ob, bool dispatcher_started)
{
	pthread_mutex_lock(&ob->lock);
	ob->stopping = true;
	pthread_cond_broadcast(&ob->wake);
	pthread_cond_broadcast(&ob->work);
	pthread_mutex_unlock(&ob->lock);
	if (dispatcher_started)
		pthread_join(ob->dispatcher, NULL);
	if (ob->conns)
		end_workers(ob);
}

static void
free_outbound(struct outbound *ob)
{
	while (ob->head) {
		struct job *j = ob->head;
		ob->head = j->next;
		free(j);
	}
	hash_free(&ob->held);
	free_config(&ob->pending);
	pthread_mutex_destroy(&ob->lock);
	pthread_cond_destroy(&ob->wake);
	pthread_cond_destroy(&ob->work);
	explicit_bzero(ob->cfg.relay_secret, sizeof ob->cfg.relay_secret);
	free(ob);
}

/*
 * Make the connection cache and start a worker per allowed connection,
 * from ob->cfg. False (logged) when not one worker could start.
 */
static bool
start_workers(struct outbound *ob)
{
	char err[256], resolver[300];
	const struct outbound_config *cfg = &ob->cfg;
	ob->nworkers = cfg->connections ? cfg->connections : 1;
	ob->conns = conn_cache_new((unsigned)ob->nworkers, cfg->connections_per_dest);
	/* Policies of MX delivery only: the relay host is ours to trust. */
	if (!cfg->relayhost.host[0] && cfg->spool_dir[0])
		ob->sts = mta_sts_cache_open(cfg->spool_dir, cfg->outbound_cafile);
	/* The policy fetch is bounded like a connection: outbound-timeout. */
	if (ob->sts != NULL)
		mta_sts_cache_set_limits(ob->sts, (long)cfg->timeout * 1000, MTA_STS_POLICY_MAX);
	ob->workers = xcalloc(ob->nworkers, sizeof *ob->workers);
	config_hostport_format(&cfg->resolver, resolver, sizeof resolver);
	for (size_t i = 0; i < ob->nworkers; i++) {
		struct worker *w = &ob->workers[i];
		w->ob = ob;
		w->dns = dns_new(resolver, (int)cfg->timeout * 1000, err, sizeof err);
		if (w->dns == NULL) {
			log_err("event=outbound_failed reason=\"%s\"", err);
			break;
		}
		int rc = pthread_create(&w->thread, NULL, worker_main, w);
		w->started = rc == 0;
		if (!w->started) {
			log_err("event=outbound_failed reason=\"cannot start a delivery thread: "
				"%s; lower outbound-connections or raise the process limits "
				"(ulimit -u, memory)\"",
				strerror(rc));
			break;
		}
	}
	return ob->workers[ob->nworkers - 1].started;
}

/* End the workers (each after the transaction in hand) and free them and the cache. */
static void
end_workers(struct outbound *ob)
{
	conn_cache_stop(ob->conns);
	for (size_t i = 0; i < ob->nworkers; i++)
		if (ob->workers[i].started)
			pthread_join(ob->workers[i].thread, NULL);
	for (size_t i = 0; i < ob->nworkers; i++)
		dns_free(&ob->workers[i].dns);
	free(ob->workers);
	ob->workers = NULL;
	ob->nworkers = 0;
	conn_cache_free(&ob->conns);
	mta_sts_cache_close(&ob->sts);
}

static void
free_config(struct outbound_config **cp)
{
	if (*cp == NULL)
		return;
	explicit_bzero(*cp, sizeof **cp);
	free(*cp);
	*cp = NULL;
}

/* On the dispatcher's thread: the workers end, and start again with cfg. */
static void
apply_config(struct outbound *ob, struct outbound_config *cfg)
{
	pthread_mutex_lock(&ob->lock);
	ob->restarting = true;
	pthread_cond_broadcast(&ob->work);
	pthread_mutex_unlock(&ob->lock);
	end_workers(ob);
	pthread_mutex_lock(&ob->lock);
	ob->cfg = *cfg;
	ob->relay_door = 0;
	ob->restarting = false;
	pthread_mutex_unlock(&ob->lock);
	char relay[300], resolver[300];
	config_hostport_format(&ob->cfg.relayhost, relay, sizeof relay);
	config_hostport_format(&ob->cfg.resolver, resolver, sizeof resolver);
	bool ok = start_workers(ob);
	if (!ok) {
		/* Whatever did start keeps delivering; the old settings would do no better. */
		log_err("event=outbound_reload_failed reason=\"not every delivery thread "
			"started\" fix=\"lower outbound-connections and send SIGHUP again\"");
	}
	log_info("event=outbound_reloaded relayhost=%s resolver=%s timeout=%u connections=%u "
		 "connections_per_destination=%u retry_interval=%lu",
		 relay[0] ? relay : "none", resolver[0] ? resolver : "system", ob->cfg.timeout,
		 ob->cfg.connections, ob->cfg.connections_per_dest, ob->cfg.retry.first_interval);
}

struct outbound *
outbound_start(struct spool *sp, const struct outbound_config *cfg)
{
	struct outbound *ob = xcalloc(1, sizeof *ob);
	ob->sp = sp;
	ob->cfg = *cfg;
	pthread_mutex_init(&ob->lock, NULL);
	pthread_cond_init(&ob->wake, NULL);
	pthread_cond_init(&ob->work, NULL);
	bool ok = start_workers(ob);
	int rc = ok ? pthread_create(&ob->dispatcher, NULL, dispatcher_main, ob) : 0;
	if (rc != 0)
		log_err("event=outbound_failed reason=\"cannot start the queue scanner thread: %s; "
			"raise the process limits (ulimit -u, memory)\"",
			strerror(rc));
	if (!ok || rc != 0) {
		stop_threads(ob, false);
		free_outbound(ob);
		return NULL;
	}
	return ob;
}

void
outbound_reconfigure(struct outbound *ob, const struct outbound_config *cfg)
{
	if (ob == NULL)
		return;
	struct outbound_config *copy = xmalloc(sizeof *copy);
	*copy = *cfg;
	pthread_mutex_lock(&ob->lock);
	free_config(&ob->pending); /* two reloads in a row: the last one wins */
	ob->pending = copy;
	pthread_cond_signal(&ob->wake);
	pthread_mutex_unlock(&ob->lock);
}

void
outbound_kick(struct outbound *ob, const char *qid)
{
	if (ob == NULL)
		return;
	pthread_mutex_lock(&ob->lock);
	/* Just committed: a first attempt, whatever schedule the local agent
	 * may have given the message for its own recipients meanwhile. */
	if (!ob->stopping)
		enqueue_locked(ob, qid, true);
	pthread_mutex_unlock(&ob->lock);
}

void
outbound_flush(struct outbound *ob)
{
	if (ob == NULL)
		return;
	pthread_mutex_lock(&ob->lock);
	ob->flush_all = true;
	pthread_cond_signal(&ob->wake);
	pthread_mutex_unlock(&ob->lock);
}

void
outbound_stop(struct outbound **obp)
{
	struct outbound *ob = *obp;
	if (ob == NULL)
		return;
	stop_threads(ob, true);
	free_outbound(ob);
	*obp = NULL;
}
