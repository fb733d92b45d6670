/*
 * xevent: event_new or abort (see the header).
 */
#include "xevent.h"

#include <stdio.h>
#include <stdlib.h>

struct event *
xevent_new(struct event_base *base, evutil_socket_t fd, short what, event_callback_fn cb, void *arg)
{
	struct event *ev = event_new(base, fd, what, cb, arg);
	if (ev == NULL) {
		fprintf(stderr, "mailport: out of memory making an event (fd %d, flags %#x)\n",
			(int)fd, (unsigned)what);
		abort();
	}
	return ev;
}
