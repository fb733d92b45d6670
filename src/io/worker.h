/*
 * worker: runs slow, blocking jobs (crypt(3) password checks) on a few
 * threads so the event loop never stalls, and hands each result back on
 * the event loop's thread.
 */
#ifndef MP_WORKER_H
#define MP_WORKER_H

#include <stddef.h>

#include <event2/event.h>

struct worker;

/* run() executes on a worker thread; done() later on the event loop. */
struct worker_job {
	void (*run)(struct worker_job *job);
	void (*done)(struct worker_job *job);
	struct worker_job *next; /* private */
};

/* NULL with err when a pipe or thread cannot be made (the system's limits). */
struct worker *worker_new(struct event_base *base, int nthreads, char *err, size_t err_size);
/* Finishes every queued job, stops the threads, then runs the pending done()s. */
void worker_free(struct worker **wp);
void worker_submit(struct worker *w, struct worker_job *job);

#endif
