/*
 * worker: a fixed pool of threads, a job queue and a done queue. The done
 * queue is drained on the event loop when a byte arrives on a pipe, so
 * callbacks never run concurrently with the loop.
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "panic.h"
#include "xevent.h"
#include "xmalloc.h"

struct worker {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct worker_job *todo, *todo_tail;
	struct worker_job *done;
	bool stopping;
	pthread_t *threads;
	int nthreads;
	int pipe_fd[2];
	struct event *done_ev;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->todo == NULL && !w->stopping)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->todo == NULL) /* stopping, and nothing left to do */
			break;
		struct worker_job *job = w->todo;
		w->todo = job->next;
		if (w->todo == NULL)
			w->todo_tail = NULL;
		pthread_mutex_unlock(&w->lock);
		job->run(job);
		pthread_mutex_lock(&w->lock);
		job->next = w->done;
		w->done = job;
		char b = 1;
		/* The pipe only wakes the loop; if it is full, a wake-up is already due. */
		if (write(w->pipe_fd[1], &b, 1) < 0 && errno != EAGAIN)
			mp_panic("worker wake-up pipe: %s (closed while a worker ran?)",
				 strerror(errno));
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void
worker_on_done(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	char sink[256];
	(void)what;
	while (read(fd, sink, sizeof sink) > 0)
		;
	pthread_mutex_lock(&w->lock);
	struct worker_job *list = w->done;
	w->done = NULL;
	pthread_mutex_unlock(&w->lock);
	while (list) {
		struct worker_job *next = list->next;
		list->done(list);
		list = next;
	}
}

struct worker *
worker_new(struct event_base *base, int nthreads, char *err, size_t err_size)
{
	struct worker *w = xcalloc(1, sizeof *w);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	if (pipe2(w->pipe_fd, O_NONBLOCK | O_CLOEXEC) < 0) {
		snprintf(err, err_size, "cannot make the password checkers' pipe: %s",
			 strerror(errno));
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->wake);
		free(w);
		return NULL;
	}
	w->done_ev = xevent_new(base, w->pipe_fd[0], EV_READ | EV_PERSIST, worker_on_done, w);
	event_add(w->done_ev, NULL);
	w->threads = xcalloc((size_t)nthreads, sizeof *w->threads);
	for (; w->nthreads < nthreads; w->nthreads++) {
		int e = pthread_create(&w->threads[w->nthreads], NULL, worker_main, w);
		if (e != 0) {
			snprintf(err, err_size, "cannot start a password checker thread: %s",
				 strerror(e));
			worker_free(&w);
			return NULL;
		}
	}
	return w;
}

void
worker_free(struct worker **wp)
{
	struct worker *w = *wp;
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	worker_on_done(w->pipe_fd[0], EV_READ, w);
	event_free(w->done_ev);
	close(w->pipe_fd[0]);
	close(w->pipe_fd[1]);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w->threads);
	free(w);
	*wp = NULL;
}

void
worker_submit(struct worker *w, struct worker_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&w->lock);
	if (w->todo_tail)
		w->todo_tail->next = job;
	else
		w->todo = job;
	w->todo_tail = job;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}
