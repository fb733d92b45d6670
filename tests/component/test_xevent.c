/*
 * Component test for net/xevent: when libevent cannot allocate an event,
 * xevent_new ends the process with a message (SIGABRT), where an unchecked
 * event_new would hand NULL to event_add and crash without a word.
 */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "xevent.h"

static void *
no_memory(size_t n)
{
	(void)n;
	return NULL;
}

static void *
no_memory_realloc(void *p, size_t n)
{
	(void)p, (void)n;
	return NULL;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
}

int
main(void)
{
	struct event_base *base = event_base_new();
	struct event *ev = xevtimer_new(base, on_timer, NULL);
	CHECK(ev != NULL);
	event_free(ev);
	int out[2];
	CHECK(pipe(out) == 0);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(out[1], STDERR_FILENO);
		event_set_mem_functions(no_memory, no_memory_realloc, free);
		struct event *e = xevtimer_new(base, on_timer, NULL);
		struct timeval tv = {1, 0};
		event_add(e, &tv);
		_exit(0);
	}
	close(out[1]);
	char text[512] = "";
	ssize_t n = read(out[0], text, sizeof text - 1);
	text[n > 0 ? n : 0] = '\0';
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	CHECK(strstr(text, "mailport: out of memory making an event") != NULL);
	close(out[0]);
	event_base_free(base);
	return test_summary("test_xevent");
}
