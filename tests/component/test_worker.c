/*
 * Component test for net/worker: a job runs on a worker thread and its
 * done() on the loop's thread; and when the system refuses the pipe (no
 * descriptors left), worker_new says why instead of aborting.
 */
#include <event2/event.h>
#include <string.h>
#include <sys/resource.h>

#include "harness.h"
#include "worker.h"

struct job {
	struct worker_job base;
	int ran, done;
};

static void
job_run(struct worker_job *j)
{
	((struct job *)j)->ran = 1;
}

static void
job_done(struct worker_job *j)
{
	((struct job *)j)->done = 1;
}

int
main(void)
{
	char err[256] = "";
	struct event_base *base = event_base_new();
	struct worker *w = worker_new(base, 2, err, sizeof err);
	CHECK(w != NULL);
	struct job j = {.base = {.run = job_run, .done = job_done}};
	worker_submit(w, &j.base);
	worker_free(&w); /* finishes the queue, then runs done() */
	CHECK(j.ran == 1 && j.done == 1 && w == NULL);

	struct rlimit saved, none;
	CHECK(getrlimit(RLIMIT_NOFILE, &saved) == 0);
	none = saved;
	none.rlim_cur = 0; /* every new descriptor fails with EMFILE */
	CHECK(setrlimit(RLIMIT_NOFILE, &none) == 0);
	w = worker_new(base, 2, err, sizeof err);
	CHECK(setrlimit(RLIMIT_NOFILE, &saved) == 0);
	CHECK(w == NULL);
	CHECK(strstr(err, "cannot make the password checkers' pipe") != NULL);
	CHECK(strstr(err, "Too many open files") != NULL);
	event_base_free(base);
	return test_summary("test_worker");
}
