/*
 * xevent: libevent's event_new that never returns NULL. With a valid base
 * and flags it fails only when memory runs out, which, as for xmalloc, is
 * not an error a mail server can handle: abort with a message instead of
 * crashing later inside event_add.
 */
#ifndef MP_XEVENT_H
#define MP_XEVENT_H

#include <event2/event.h>

struct event *xevent_new(struct event_base *base, evutil_socket_t fd, short what,
			 event_callback_fn cb, void *arg);
#define xevtimer_new(base, cb, arg) xevent_new((base), -1, 0, (cb), (arg))
#define xevsignal_new(base, sig, cb, arg)                                                          \
	xevent_new((base), (sig), EV_SIGNAL | EV_PERSIST, (cb), (arg))

#endif
