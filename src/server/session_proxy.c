/*
 * session_proxy: a listener behind a load balancer ("listen ... proxy")
 * reads the PROXY protocol header (core/proxy_header) before anything else,
 * and from then on the session is the client's: its address in every log
 * line, the per-client cap, the failed-login slow-down and SPF.
 *
 * The header's bytes are taken from the socket and no more: what follows
 * (the client's first command, or its TLS ClientHello on 465) stays for
 * the session. Each read peeks, and takes only what the parser says is
 * header: a header cut short is a prefix the parser asks more for, so
 * everything peeked can be taken until the header is whole.
 *
 * A connection without a valid header within the first-byte timeout is
 * closed without a word: the balancer or an intruder on its network, not a
 * mail client, is at the other end.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "elapsed.h"
#include "log.h"
#include "proxy_header.h"
#include "session_internal.h"
#include "str.h"
#include "xevent.h"
#include "xmalloc.h"

struct session_proxy {
	unsigned char buf[PROXY_HEADER_MAX];
	size_t len;
	long long deadline_ms; /* one bound for the whole header, however it trickles */
};

void
session_proxy_free(struct session *s)
{
	if (s->proxy_ev)
		event_free(s->proxy_ev);
	s->proxy_ev = NULL;
	free(s->proxy);
	s->proxy = NULL;
}

static void
give_up(struct session *s, const char *reason, const char *detail)
{
	char esc[300];
	log_warn("session=%s event=disconnect client=%s reason=%s detail=\"%s\" door=%s "
		 "fix=\"this door expects a PROXY protocol header (v1 or v2) first: send "
		 "connections through the load balancer with send-proxy, or remove 'proxy' from "
		 "its listen line\"",
		 s->id, s->addr, reason, str_escape(esc, sizeof esc, detail, strlen(detail)),
		 s->l->name);
	s->end_logged = true;
	session_proxy_free(s);
	session_release(s);
}

/* The header named the client: it is the session's from now on. */
static void
take_client(struct session *s, const struct proxy_header *h)
{
	str_copy(s->via, sizeof s->via, s->addr);
	s->via_port = s->port;
	if (!h->local) {
		str_copy(s->addr, sizeof s->addr, h->src);
		s->port = h->src_port;
		client_key(s->addr, s->srv->cfg.ipv6_prefix_length, s->key, sizeof s->key);
	}
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct session_proxy *p = s->proxy;
	long long left = p->deadline_ms - elapsed_now_ms();
	if ((what & EV_TIMEOUT) || left <= 0) {
		give_up(s, "proxy_header_timeout", "no whole PROXY header in time");
		return;
	}
	unsigned char peek[PROXY_HEADER_MAX];
	size_t room = sizeof p->buf - p->len;
	ssize_t got = recv(fd, peek, room, MSG_PEEK);
	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (got <= 0) {
		give_up(s, "proxy_header_missing",
			got == 0 ? "closed before a PROXY header" : strerror(errno));
		return;
	}
	memcpy(p->buf + p->len, peek, (size_t)got);
	struct proxy_header h;
	const char *why;
	int n = proxy_header_parse(p->buf, p->len + (size_t)got, &h, &why);
	if (n < 0) {
		give_up(s, "proxy_header_invalid", why);
		return;
	}
	/* Take the header's bytes only: all of them so far when it is not whole yet. */
	size_t take = n == 0 ? (size_t)got : (size_t)n - p->len;
	ssize_t r = recv(fd, peek, take, 0);
	if (r != (ssize_t)take) {
		give_up(s, "proxy_header_missing", "the connection failed while reading it");
		return;
	}
	p->len += take;
	if (n == 0) { /* more to come, within what is left of the deadline */
		struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000};
		event_add(s->proxy_ev, &tv);
		return;
	}
	session_proxy_free(s);
	take_client(s, &h);
	/* The door's and the server's caps were applied at accept; the client's now. */
	unsigned others = session_count_from(s->srv, s->key) - 1; /* this one counts itself */
	if (others >= s->srv->cfg.max_connections_per_ip) {
		struct refusal ref = {R_TOO_MANY_CONN_IP, "client",
				      s->srv->cfg.max_connections_per_ip};
		session_refuse(s->l, fd, s->addr, s->key, &ref);
		s->end_logged = true;
		session_release(s);
		return;
	}
	session_begin(s);
}

void
session_proxy_wait(struct session *s, int timeout_s)
{
	s->proxy = xcalloc(1, sizeof *s->proxy);
	s->proxy->deadline_ms = elapsed_now_ms() + (long long)timeout_s * 1000;
	struct timeval tv = {timeout_s, 0};
	s->proxy_ev = xevent_new(s->srv->base, s->fd, EV_READ | EV_PERSIST, on_readable, s);
	event_add(s->proxy_ev, &tv);
}
