/*
 * session_internal: what session.c, session_clock.c and session_caps.c
 * share. Everything here is touched only on the event loop's thread.
 */
#ifndef MP_SESSION_INTERNAL_H
#define MP_SESSION_INTERNAL_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>

#include <event2/bufferevent.h>

#include "client_key.h"
#include "replies.h"
#include "server_internal.h"
#include "smtp_server.h"

struct auth_job;
struct auth_dns;
struct session_msg;

/* Which deadline runs (see on_deadline). */
enum session_clock { CLOCK_NONE, CLOCK_COMMAND, CLOCK_DATA, CLOCK_HANDSHAKE };

struct session {
	struct server *srv;
	struct listener *l;
	struct session *prev, *next;
	char id[20];
	char addr[INET6_ADDRSTRLEN];
	char key[CLIENT_KEY_SIZE]; /* what per-client limits count: the address, or its /64 */
	unsigned short port;
	evutil_socket_t fd;
	struct bufferevent *bev;
	bool tls;
	struct event *first_byte_ev;
	/* "listen ... proxy": the balancer's address while the header is read, then kept
	 * for the log (via[0] = 0: no balancer), and the header's bytes so far. */
	struct event *proxy_ev;
	struct session_proxy *proxy;
	char via[INET6_ADDRSTRLEN];
	unsigned short via_port;
	struct event *delay_ev; /* slows the reply to a failed AUTH */

	struct smtp_server *smtp;
	struct smtp_server_config scfg; /* a copy: a reload never changes a live session */
	char hostname[256];
	char postmaster_domain[256];
	struct smtp_server_hooks hooks;
	struct spool_msg *msg;
	bool msg_remote;	      /* msg has a recipient outside our domains */
	struct session_msg *auth_msg; /* its header block, signer, checks (session_auth.c) */
	struct auth_dns *dns;	      /* the checks' resolver and cache, made at first use */

	bool closing;	       /* send what is queued, then close */
	bool dead;	       /* connection gone, waiting for an action's result */
	bool committing;       /* end-of-data checks or spool commit in flight */
	bool handshaking;      /* TLS handshake under way */
	struct auth_job *auth; /* password check in flight on a worker */
	bool auth_waiting;     /* from the check until its reply is given */
	bool tls_flushing;     /* STARTTLS: the 220 is leaving; then the handshake */

	struct event *deadline_ev;
	enum session_clock clock;
	long long clock_start; /* elapsed_now_ms() when the clock began */
	uint64_t clock_bytes;  /* data received since the data phase began */

	bool end_logged;   /* the event=disconnect line is written */
	char last_code[4]; /* of the last reply sent, for that line */
};

/* Feed what has arrived to the core until it waits for an action or input. */
void session_pump(struct session *s);
/* The session's start once its client is known: the connect line, then TLS or the greeting. */
void session_begin(struct session *s);
int session_first_byte_timeout(const struct server *srv);
/* Live sessions counted against key (max-connections-per-ip). */
unsigned session_count_from(const struct server *srv, const char *key);
/* session_proxy.c: read the PROXY header (within timeout_s), then session_begin. */
void session_proxy_wait(struct session *s, int timeout_s);
void session_proxy_free(struct session *s);
/* Send what the core queued, then go on with the input that waited. */
void session_resume(struct session *s);
/* Commit s->msg to the spool; the 250 (or 451) follows in on_commit. */
void session_commit(struct session *s);

/* session_auth.c: a message starts; returns the pad its spool file needs. */
size_t session_auth_begin(struct session *s, const struct smtp_envelope *env);
/* session_auth.c: message bytes from the core (hook_spool_write). */
int session_auth_write(struct session *s, const char *p, size_t n);
/* session_auth.c: the data is complete (SMTP_ACT_COMMIT): finish, then commit or refuse. */
void session_auth_end(struct session *s);
/* session_auth.c: forget the message's state (aborted, refused, committed). */
void session_auth_drop(struct session *s);
/* session_auth.c: and the session's resolver, when the session is freed. */
void session_auth_free(struct session *s);

/* Send what the core has queued (straight to the socket when it takes it). */
void session_flush(struct session *s);
/* Stop reading; close once the queued output has left. */
void session_close_after_flush(struct session *s);
/* Close the connection now; free the session once no action is in flight. */
void session_release(struct session *s);
/* The one event=disconnect line of a session, unless one is written already. */
void session_log_end(struct session *s, const char *reason);

/* The most a client may have sent that the core has not read yet. */
#define INPUT_HIGH_WATER (1024 * 1024)

/* The bufferevent callbacks (session.c), also set on the TLS bufferevent. */
void session_on_read(struct bufferevent *bev, void *arg);
void session_on_write(struct bufferevent *bev, void *arg);
void session_on_event(struct bufferevent *bev, short what, void *arg);

/* session_tls.c: STARTTLS (implicit false) or implicit TLS from here on. */
void session_start_tls(struct session *s, bool implicit);
/* session_tls.c: the 220 has left; the TLS bufferevent takes the socket. */
void session_tls_begin(struct session *s);
/* session_tls.c: the implicit-TLS door's first byte, or its timeout. */
void session_on_first_byte(evutil_socket_t fd, short what, void *arg);
/* session_tls.c: a failed handshake's line, OpenSSL's reason and the fix. */
void session_log_tls_failure(struct session *s);

/* Start clock c now (session_clock.c). */
void session_clock_begin(struct session *s, enum session_clock c);
/* No deadline: an action of ours is pending, the client waits for us. */
void session_clock_stop(struct session *s);

/* Which cap a new connection is over, if any. */
struct refusal {
	enum reply_id reply;
	const char *cap; /* for the log: door, smtp_doors, server, client */
	unsigned max;
};

/*
 * Is a new connection to door l over a cap (session_caps.c)? from_client:
 * the sessions its client (key) has already. Fills *r_r when it is.
 */
bool session_is_over_cap(const struct server *srv, const struct listener *l, unsigned from_client,
			 struct refusal *r_r);
/* Refuse it: log which cap, send the 421 where plaintext may be spoken, close fd. */
void session_refuse(struct listener *l, evutil_socket_t fd, const char *addr, const char *key,
		    const struct refusal *r);

#endif
