/*
 * session_clock: the deadlines of a session, which a trickle of bytes does
 * not restart (libevent's idle timeouts do, so one byte every few seconds
 * would hold a session forever).
 *
 * One timer per session, for the clock that runs: a whole command line
 * (command-timeout from the previous reply), the data phase (data-timeout
 * plus one second per min-data-rate bytes received, Postfix's
 * smtpd_min_data_rate) or the TLS handshake (tls-handshake-timeout, the
 * STARTTLS 220 included). Bytes received only move the data deadline when
 * the timer fires, so the hot path costs an addition. While an action of
 * ours is pending no clock runs: the client is waiting for us.
 */
#include <limits.h>
#include <stdio.h>

#include "elapsed.h"
#include "log.h"
#include "session_internal.h"
#include "xevent.h"

static void on_deadline(evutil_socket_t fd, short what, void *arg);

/* When the running clock runs out, in elapsed_now_ms() time. */
static long long
clock_deadline(const struct session *s)
{
	const struct config *cfg = &s->srv->cfg;
	switch (s->clock) {
	case CLOCK_COMMAND:
		return s->clock_start + cfg->command_timeout * 1000LL;
	case CLOCK_DATA:
		/* A head start, then a second for each min-data-rate bytes received. */
		return s->clock_start + cfg->data_timeout * 1000LL +
		       (long long)(s->clock_bytes * 1000 / cfg->min_data_rate);
	case CLOCK_HANDSHAKE:
		return s->clock_start + cfg->tls_handshake_timeout * 1000LL;
	case CLOCK_NONE:
		break;
	}
	return LLONG_MAX; /* no clock runs: never */
}

static void
clock_arm(struct session *s)
{
	long long left = clock_deadline(s) - elapsed_now_ms();
	if (left < 0)
		left = 0;
	struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000};
	evtimer_add(s->deadline_ev, &tv);
}

void
session_clock_begin(struct session *s, enum session_clock c)
{
	s->clock = c;
	s->clock_start = elapsed_now_ms();
	s->clock_bytes = 0;
	if (s->deadline_ev == NULL)
		s->deadline_ev = xevtimer_new(s->srv->base, on_deadline, s);
	clock_arm(s);
}

void
session_clock_stop(struct session *s)
{
	s->clock = CLOCK_NONE;
	if (s->deadline_ev)
		evtimer_del(s->deadline_ev);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	(void)fd;
	(void)what;
	if (s->clock == CLOCK_NONE || s->dead || s->closing)
		return;
	long long now = elapsed_now_ms();
	if (now < clock_deadline(s)) {
		clock_arm(s); /* data arrived meanwhile and bought more time */
		return;
	}
	const struct config *cfg = &s->srv->cfg;
	long long took = (now - s->clock_start) / 1000;
	switch (s->clock) {
	case CLOCK_HANDSHAKE:
		/* No 421 is possible in the middle of a handshake: just say why. */
		log_info("session=%s event=disconnect client=%s reason=%s seconds=%lld "
			 "limit=\"tls-handshake-timeout %u\"",
			 s->id, s->addr,
			 s->tls_flushing ? "starttls_reply_not_read" : "tls_handshake_timeout",
			 took, cfg->tls_handshake_timeout);
		s->end_logged = true;
		session_release(s);
		return;
	case CLOCK_COMMAND:
		log_info("session=%s event=too_slow client=%s phase=command seconds=%lld "
			 "limit=\"command-timeout %u for a whole command line\"",
			 s->id, s->addr, took, cfg->command_timeout);
		break;
	case CLOCK_DATA:
		log_info("session=%s event=too_slow client=%s phase=data seconds=%lld bytes=%llu "
			 "limit=\"data-timeout %u plus 1 s per min-data-rate %u bytes\"",
			 s->id, s->addr, took, (unsigned long long)s->clock_bytes,
			 cfg->data_timeout, cfg->min_data_rate);
		break;
	case CLOCK_NONE:
		return; /* excluded above */
	}
	session_clock_stop(s);
	smtp_server_timeout(s->smtp); /* 421 4.4.2, and the core's disconnect line */
	session_flush(s);
	session_close_after_flush(s);
}
