/*
 * session_tls: a session's move to TLS. STARTTLS (RFC 3207): input pipelined
 * behind the command is dropped, the 220 leaves in plaintext (waited for
 * through the event loop, never here), then the TLS bufferevent takes the
 * socket. Implicit TLS (RFC 8314, the submissions door): the first byte
 * says whether the client speaks TLS at all; a plaintext client is named
 * in the log by its verb only, since its first packet may hold credentials.
 * One deadline (CLOCK_HANDSHAKE) covers the 220 and the handshake.
 */
#include <ctype.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "fixes.h"
#include "log.h"
#include "session_internal.h"

void
session_log_tls_failure(struct session *s)
{
	char reason[256] = "";
	unsigned long e;
	while ((e = bufferevent_get_openssl_error(s->bev)) != 0)
		ERR_error_string_n(e, reason, sizeof reason);
	const struct fix *f = fix_get(FIX_TLS_HANDSHAKE);
	log_warn("session=%s event=tls_failed client=%s reason=\"%s\" what=\"%s\" cause=\"%s\" "
		 "fix=\"%s\"",
		 s->id, s->addr, reason[0] ? reason : "connection closed during handshake", f->what,
		 f->cause, f->fix);
}

/* The TLS bufferevent takes the socket over; the handshake starts. */
void
session_tls_begin(struct session *s)
{
	s->tls_flushing = false;
	if (s->bev) /* the plaintext one, its 220 sent; it does not own the socket */
		bufferevent_free(s->bev);
	SSL *ssl = SSL_new(s->srv->tls);
	s->bev = ssl ? bufferevent_openssl_socket_new(
			   s->srv->base, s->fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
			   BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)
		     : NULL;
	if (s->bev == NULL) {
		/* Memory ran out (libevent has freed ssl): end this session, never
		 * go on without TLS. */
		log_warn("session=%s event=disconnect client=%s reason=tls_setup_failed "
			 "what=\"cannot make a TLS session\" fix=\"the server is out of memory\"",
			 s->id, s->addr);
		s->end_logged = true;
		session_release(s);
		return;
	}
	s->tls = true;
	s->handshaking = true;
	s->fd = -1; /* the TLS bufferevent owns the socket now */
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	bufferevent_setcb(s->bev, session_on_read, session_on_write, session_on_event, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, INPUT_HIGH_WATER);
	/* No idle timeouts: the handshake deadline (clock) bounds it whole. */
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

void
session_start_tls(struct session *s, bool implicit)
{
	/* One deadline from here to the end of the handshake, the 220 included. */
	session_clock_begin(s, CLOCK_HANDSHAKE);
	if (!implicit) {
		/* Whatever the client pipelined behind STARTTLS is dropped here. */
		session_flush(s);
		bufferevent_disable(s->bev, EV_READ);
		evbuffer_drain(bufferevent_get_input(s->bev),
			       evbuffer_get_length(bufferevent_get_input(s->bev)));
		/*
		 * The 220 must leave in plaintext before the TLS bufferevent takes
		 * the socket. If the socket did not take it all, on_write goes on
		 * once it has (session_on_write): waiting here would stall every other session.
		 */
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) > 0) {
			s->tls_flushing = true;
			return;
		}
	}
	session_tls_begin(s);
}

/* Implicit TLS: look at the first byte before starting the handshake. */
void
session_on_first_byte(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	unsigned char b;
	const struct fix *f;
	if (what & EV_TIMEOUT) {
		f = fix_get(FIX_SILENT_ON_TLS);
		log_warn("session=%s event=disconnect client=%s reason=tls_silent what=\"%s\" "
			 "cause=\"%s\" fix=\"%s\"",
			 s->id, s->addr, f->what, f->cause, f->fix);
		s->end_logged = true;
		session_release(s);
		return;
	}
	ssize_t n = recv(fd, &b, 1, MSG_PEEK);
	if (n == 1 && b == 0x16) { /* a TLS handshake record */
		session_start_tls(s, true);
		return;
	}
	if (n == 1) {
		char peek[64];
		ssize_t m = recv(fd, peek, sizeof peek, MSG_PEEK);
		/* Only the verb: a client that did not wait for the greeting may
		 * have sent "AUTH PLAIN <credentials>" in the same packet. */
		size_t verb = 0;
		while (m > 0 && verb < (size_t)m && verb < 12 && isalpha((unsigned char)peek[verb]))
			verb++;
		bool word = verb > 0 && (verb == (size_t)m || !isalnum((unsigned char)peek[verb]));
		f = fix_get(FIX_PLAINTEXT_ON_TLS);
		log_warn("session=%s event=disconnect client=%s reason=plaintext_on_tls_port "
			 "sent=\"%.*s\" bytes=%zd what=\"%s\" cause=\"%s\" fix=\"%s\"",
			 s->id, s->addr, word ? (int)verb : 0, peek, m, f->what, f->cause, f->fix);
		s->end_logged = true;
	} else {
		session_log_end(s, "client_closed");
	}
	session_release(s);
}
