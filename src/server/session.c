/*
 * session: the glue between one TCP connection and the protocol core.
 *
 * Bytes from libevent go to smtp_server_feed(); replies go back out; the
 * core's actions are performed here: the TLS handshake (OpenSSL through
 * libevent's openssl bufferevent), a password check on a worker thread,
 * and the spool's group commit. While an action is pending, input waits
 * in libevent's buffer, which is what makes PIPELINING work.
 *
 * STARTTLS and implicit TLS are in session_tls.c: STARTTLS swaps the plain
 * bufferevent for a TLS one on the same socket once the 220 has left
 * (waited for through session_on_write, never in a blocking loop), with
 * what the client pipelined behind the command discarded (RFC 3207 4.2).
 *
 * Message bytes go through session_auth.c: the header block is held and
 * cleaned of forged Authentication-Results, the DKIM signer or the
 * inbound checks see the message as it streams, and at the end of data
 * (SMTP_ACT_COMMIT) their finish step runs on a worker before the commit,
 * so the 250 (or the 550/451 they decide) waits for both.
 *
 * Deadlines do not move with every byte (session_clock.c): session_pump
 * says which one runs. libevent's idle timeouts stay as the bound on a
 * pause in message data and on a write the client does not take. The caps
 * a new connection must fit are in session_caps.c.
 *
 * Every session end leaves one log line, event=disconnect with a reason
 * (the core's, or one of ours), so a connection never vanishes unlogged.
 *
 * A session whose connection ends while a commit or a password check is
 * in flight is "dead": its socket is closed at once, its memory when the
 * result comes back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "auth_cache.h"
#include "auth_dovecot.h"
#include "date.h"
#include "fixes.h"
#include "log.h"
#include "prom.h"
#include "replies.h"
#include "session_internal.h"
#include "smtp_server.h"
#include "str.h"
#include "tls.h"
#include "xevent.h"
#include "xmalloc.h"

/* Input held while an action is pending, before libevent stops reading. */
/* A TLS client sends its ClientHello at once; this bounds a silent one. */
#define FIRST_BYTE_TIMEOUT 10
/* The longest a failed AUTH reply is held back, in seconds. */
#define AUTH_DELAY_MAX 15

struct auth_job {
	struct worker_job job;
	struct session *s;
	struct users_ref *users;
	char user[SASL_FIELD_MAX + 1];
	char password[SASL_FIELD_MAX + 1];
	unsigned char digest[AUTH_CACHE_DIGEST]; /* remembered if the check succeeds */
	bool cacheable;
	bool ok;
	/* "auth dovecot": Dovecot checks the login (auth_dovecot.h), not the users file. */
	bool dovecot;
	struct config_endpoint ep;
	bool secured;
	char rip[INET6_ADDRSTRLEN], lip[INET6_ADDRSTRLEN];
	enum smtp_auth_result result;
	char why[600];
};

/* ---- hooks the protocol core calls ---- */

static bool
hook_is_local_domain(void *ctx, const char *domain)
{
	struct session *s = ctx;
	return config_is_local_domain(&s->srv->cfg, domain);
}

static enum smtp_local_rcpt
hook_is_local_user(void *ctx, const char *local, const char *domain)
{
	struct session *s = ctx;
	return server_rcpt_kind(s->srv, local, domain);
}

static int
hook_spool_begin(void *ctx, const struct smtp_envelope *env, char *qid, size_t qid_size,
		 bool *no_space_r)
{
	struct session *s = ctx;
	/* The queue holds the real recipients: aliases expanded (server_aliases.c). */
	struct smtp_rcpt_args *rcpts;
	size_t nrcpts = server_rcpt_expand(s->srv, s->id, env->rcpts, env->nrcpts, &rcpts);
	struct spool_envelope senv = {
	    .mail = env->mail,
	    .rcpts = rcpts,
	    .nrcpts = nrcpts,
	    .client_addr = env->client_addr,
	    .helo = env->helo,
	    .auth_user = env->auth_user,
	    .pad = session_auth_begin(s, env), /* room for what the checks add */
	};
	s->msg = spool_msg_begin(s->srv->spool, &senv);
	s->msg_remote = false;
	for (size_t i = 0; i < nrcpts && !s->msg_remote; i++)
		s->msg_remote = !config_is_local_domain(&s->srv->cfg, rcpts[i].to.domain);
	int saved = errno; /* free may not keep it */
	free(rcpts);
	errno = saved;
	if (s->msg == NULL) {
		*no_space_r = errno == ENOSPC || errno == EDQUOT;
		session_auth_drop(s);
		log_err("session=%s event=spool_error error=\"%s\"", s->id, strerror(errno));
		return -1;
	}
	str_copy(qid, qid_size, spool_msg_id(s->msg));
	/* msg_remote was decided above, while the envelope was at hand: mail
	 * that is all local need not wake the outbound agent, whose pass reads
	 * the whole queue. */
	return 0;
}

static int
hook_spool_write(void *ctx, const char *p, size_t n)
{
	return session_auth_write(ctx, p, n);
}

static void
hook_spool_abort(void *ctx)
{
	struct session *s = ctx;
	if (s->msg)
		spool_msg_abort(&s->msg);
	session_auth_drop(s);
}

static void
hook_date(void *ctx, char *out, size_t size)
{
	(void)ctx;
	date_rfc5322(time(NULL), out, size);
}

static void
hook_log(void *ctx, const char *line)
{
	struct session *s = ctx;
	if (strncmp(line, "event=disconnect ", 17) == 0)
		s->end_logged = true; /* the core said why; session_release need not */
	/* The client's address last, where a filter (fail2ban) finds it whatever
	 * client text came before it: "... user=x client=1.2.3.4" cannot fool
	 * a pattern anchored at the line's end. */
	log_info("session=%s %s client=%s", s->id, line, s->addr);
}

/* ---- output, timeouts, closing ---- */

/* The code of the last reply line in out ("221"), for the end-of-session log line. */
static void
note_last_code(struct session *s, const struct buf *out)
{
	size_t i = out->len >= 2 ? out->len - 2 : 0; /* before the final CRLF */
	while (i > 0 && out->data[i - 1] != '\n')
		i--;
	if (out->len - i >= 3)
		str_copy_n(s->last_code, sizeof s->last_code, out->data + i, 3);
}

/*
 * A plaintext reply goes straight to the socket when nothing is queued
 * before it: most replies are one small write the kernel takes at once,
 * and handing them to the bufferevent costs two epoll_ctl calls (arm and
 * disarm the write event) and a loop iteration before the client sees it.
 * What the kernel does not take (or an error, which the bufferevent then
 * reports itself) goes through the bufferevent as before, in order.
 */
void
session_flush(struct session *s)
{
	struct buf *out = smtp_server_output(s->smtp);
	if (out->len == 0)
		return;
	note_last_code(s, out);
	size_t sent = 0;
	if (!s->tls && s->fd >= 0 && evbuffer_get_length(bufferevent_get_output(s->bev)) == 0) {
		ssize_t n = send(s->fd, out->data, out->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			sent = (size_t)n;
	}
	if (sent < out->len) {
		/* Writing is enabled only once something waits (see session_accept). */
		if (!(bufferevent_get_enabled(s->bev) & EV_WRITE))
			bufferevent_enable(s->bev, EV_WRITE);
		bufferevent_write(s->bev, out->data + sent, out->len - sent);
	}
	buf_reset(out);
}

static void
session_set_timeouts(struct session *s)
{
	const struct config *cfg = &s->srv->cfg;
	/* Between commands the deadline (clock) is the read bound; in data, a pause is too. */
	bool data = smtp_server_in_data(s->smtp);
	struct timeval tv = {data ? cfg->data_timeout : cfg->command_timeout, 0};
	bufferevent_set_timeouts(s->bev, data ? &tv : NULL, &tv);
}

void
session_close_after_flush(struct session *s)
{
	s->closing = true;
	bufferevent_disable(s->bev, EV_READ);
	/* The last reply gets a whole write timeout of its own, from now. */
	struct timeval tv = {s->srv->cfg.command_timeout, 0};
	bufferevent_set_timeouts(s->bev, NULL, &tv);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		session_release(s);
	/* else on_write releases it once the output has drained */
}

void
session_log_end(struct session *s, const char *reason)
{
	if (s->end_logged)
		return;
	s->end_logged = true;
	log_info("session=%s event=disconnect client=%s reason=%s", s->id, s->addr, reason);
}

/* ---- actions ---- */

static void
auth_run(struct worker_job *job)
{
	struct auth_job *a = (struct auth_job *)job;
	if (a->dovecot) {
		struct auth_dovecot_check c = {.ep = &a->ep,
					       .user = a->user,
					       .password = a->password,
					       .secured = a->secured,
					       .rip = a->rip,
					       .lip = a->lip,
					       .timeout_s = 10};
		a->result = auth_dovecot_check(&c, a->why, sizeof a->why);
		a->ok = a->result == SMTP_AUTH_OK;
	} else {
		a->ok = users_check_password(a->users->users, a->user, a->password);
		a->result = a->ok ? SMTP_AUTH_OK : SMTP_AUTH_BAD;
	}
	explicit_bzero(a->password, sizeof a->password);
}

static void
auth_reply(struct session *s, enum smtp_auth_result res)
{
	s->auth_waiting = false;
	prom_inc(res == SMTP_AUTH_OK	? s->srv->metrics.auth_ok
		 : res == SMTP_AUTH_BAD ? s->srv->metrics.auth_failed
					: NULL);
	smtp_server_auth_done(s->smtp, res);
	session_flush(s);
	session_pump(s);
}

static void
on_auth_delay(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	auth_reply(arg, SMTP_AUTH_BAD);
}

static void
auth_done(struct worker_job *job)
{
	struct auth_job *a = (struct auth_job *)job;
	struct session *s = a->s;
	bool ok = a->ok;
	enum smtp_auth_result res = a->result;
	char why[sizeof a->why];
	str_copy(why, sizeof why, a->why);
	if (ok && a->cacheable)
		auth_cache_store(s->srv->auth_cache, a->user, a->digest, time(NULL));
	server_users_put(&a->users);
	explicit_bzero(a, sizeof *a);
	free(a);
	s->auth = NULL;
	if (s->dead) {
		session_release(s);
		return;
	}
	if (ok) {
		auth_reply(s, SMTP_AUTH_OK);
		return;
	}
	if (res == SMTP_AUTH_TEMPFAIL) {
		/* Not the client's fault: no slow-down, a 454 to try again. */
		char esc[1200];
		log_warn("session=%s event=auth_tempfail reason=\"%s\"", s->id,
			 str_escape(esc, sizeof esc, why, strlen(why)));
		auth_reply(s, SMTP_AUTH_TEMPFAIL);
		return;
	}
	/*
	 * Each failure after the first waits a second longer, counted per
	 * client (its key: an IPv6 client is its /64) so that reconnecting,
	 * or moving to another address of the same network, does not start
	 * afresh.
	 */
	unsigned here = smtp_server_auth_failures(s->smtp);
	unsigned recent = server_auth_failed(s->srv, s->key) - 1;
	unsigned delay = here > recent ? here : recent;
	if (delay > AUTH_DELAY_MAX)
		delay = AUTH_DELAY_MAX;
	if (delay == 0) {
		auth_reply(s, SMTP_AUTH_BAD);
		return;
	}
	struct timeval tv = {delay, 0};
	if (s->delay_ev == NULL)
		s->delay_ev = xevtimer_new(s->srv->base, on_auth_delay, s);
	evtimer_add(s->delay_ev, &tv);
}

/* The address the client connected to, for Dovecot's lip=; "" if unknown. */
static void
session_local_addr(const struct session *s, char *out, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	out[0] = '\0';
	if (getsockname(s->fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)size);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)size);
}

static void
start_auth_check(struct session *s)
{
	const struct sasl_creds *c = smtp_server_auth_creds(s->smtp);
	unsigned char digest[AUTH_CACHE_DIGEST];
	struct users_ref *users =
	    server_users_get(s->srv, true); /* may reload, clearing the cache */
	/* Dovecot's answer is not cached: it may change (a password, a lock) at any time. */
	bool dovecot = s->srv->cfg.auth_dovecot;
	bool cacheable =
	    !dovecot && auth_cache_digest(s->srv->auth_cache, c->user, c->password, digest);
	if (cacheable && auth_cache_hit(s->srv->auth_cache, c->user, digest, time(NULL))) {
		server_users_put(&users);
		explicit_bzero(digest, sizeof digest);
		char user[600];
		log_info("session=%s event=auth_cached user=%s", s->id,
			 str_escape(user, sizeof user, c->user, strlen(c->user)));
		s->auth_waiting = true;
		auth_reply(s, SMTP_AUTH_OK); /* a login that succeeded moments ago: no new hash */
		return;
	}
	struct auth_job *a = xcalloc(1, sizeof *a);
	memcpy(a->digest, digest, sizeof digest);
	a->cacheable = cacheable;
	explicit_bzero(digest, sizeof digest);
	a->job.run = auth_run;
	a->job.done = auth_done;
	a->s = s;
	a->users = users;
	if (dovecot) {
		a->dovecot = true;
		a->ep = s->srv->cfg.dovecot_auth;
		a->secured = s->tls;
		str_copy(a->rip, sizeof a->rip, s->addr);
		session_local_addr(s, a->lip, sizeof a->lip);
	}
	str_copy(a->user, sizeof a->user, c->user);
	str_copy(a->password, sizeof a->password, c->password);
	s->auth = a;
	s->auth_waiting = true;
	worker_submit(s->srv->worker, &a->job);
}

static void
on_commit(struct spool_msg *m, enum spool_result res, void *arg)
{
	struct session *s = arg;
	char qid[SPOOL_QID_SIZE];
	str_copy(qid, sizeof qid, spool_msg_id(m));
	s->committing = false;
	spool_msg_free(&s->msg);
	if (res == SPOOL_OK) {
		prom_inc(s->srv->metrics.accepted);
		prom_add(s->srv->metrics.bytes, smtp_server_data_size(s->smtp));
	}
	smtp_server_commit_done(s->smtp, res == SPOOL_OK	 ? SMTP_COMMIT_OK
					 : res == SPOOL_NO_SPACE ? SMTP_COMMIT_NO_SPACE
								 : SMTP_COMMIT_IO_ERROR);
	if (res == SPOOL_OK && s->msg_remote)
		server_queued(qid, s->srv);
	else if (res == SPOOL_OK)
		server_queued_local(qid, s->srv);
	else
		log_err("session=%s id=%s event=commit_failed result=%d", s->id, qid, (int)res);
	if (s->dead) {
		session_release(s);
		return;
	}
	session_flush(s);
	session_pump(s);
}

void
session_commit(struct session *s)
{
	s->committing = true;
	spool_msg_commit(s->msg, on_commit, s);
}

void
session_resume(struct session *s)
{
	session_flush(s);
	session_pump(s);
}

/* Perform the action the core asked for. */
static void
session_act(struct session *s)
{
	switch (smtp_server_action(s->smtp)) {
	case SMTP_ACT_NONE:
		break;
	case SMTP_ACT_START_TLS:
		if (!s->tls && !s->tls_flushing)
			session_start_tls(s, false);
		break;
	case SMTP_ACT_CHECK_AUTH:
		if (!s->auth_waiting)
			start_auth_check(s);
		break;
	case SMTP_ACT_COMMIT:
		if (!s->committing)
			session_auth_end(s); /* checks and signing, then session_commit */
		break;
	case SMTP_ACT_CLOSE:
		session_close_after_flush(s);
		break;
	}
}

/* Feed what has arrived to the core until it waits for an action or input. */
void
session_pump(struct session *s)
{
	bool command_done = false;
	while (!s->dead && !s->closing) {
		if (smtp_server_action(s->smtp) != SMTP_ACT_NONE) {
			if (!s->tls_flushing && !s->handshaking)
				session_clock_stop(s); /* the handshake's deadline goes on */
			session_act(s);
			return;
		}
		struct evbuffer *in = bufferevent_get_input(s->bev);
		size_t len = evbuffer_get_length(in);
		if (len == 0)
			break;
		bool in_data = smtp_server_in_data(s->smtp);
		if (in_data && s->clock != CLOCK_DATA)
			session_clock_begin(s, CLOCK_DATA);
		const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
		size_t used = smtp_server_feed(s->smtp, p, len);
		evbuffer_drain(in, used);
		/* The core takes a command only whole, so used > 0 is a line done. */
		if (in_data)
			s->clock_bytes += used;
		else if (used > 0)
			command_done = true;
		session_flush(s);
		if (used == 0 && smtp_server_action(s->smtp) == SMTP_ACT_NONE)
			break; /* a partial line: wait for the rest */
	}
	if (s->dead || s->closing)
		return;
	session_set_timeouts(s);
	if (smtp_server_in_data(s->smtp)) {
		if (s->clock != CLOCK_DATA)
			session_clock_begin(s, CLOCK_DATA);
	} else if (s->clock != CLOCK_COMMAND || command_done) {
		/* From the last reply: the whole next line must come within command-timeout. */
		session_clock_begin(s, CLOCK_COMMAND);
	}
}

/* ---- libevent callbacks ---- */

void
session_on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	session_pump(arg);
}

void
session_on_write(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	if (s->tls_flushing)
		session_tls_begin(s); /* the 220 to STARTTLS has left */
	else if (s->closing)
		session_release(s);
}

void
session_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		s->handshaking = false;
		session_clock_stop(s); /* session_pump starts the command clock */
		SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
		const char *version = SSL_get_version(ssl);
		const char *cipher = SSL_get_cipher_name(ssl);
		server_metrics_tls(s->srv, version);
		if (s->smtp == NULL) { /* implicit TLS: the session starts now */
			s->smtp = smtp_server_new(&s->scfg, &s->hooks, s->addr, true);
			smtp_server_tls_done(s->smtp, true, version, cipher);
			smtp_server_greet(s->smtp);
		} else {
			smtp_server_tls_done(s->smtp, true, version, cipher);
		}
		session_flush(s);
		session_pump(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (s->tls_flushing || s->handshaking) {
			session_log_end(s, s->tls_flushing ? "starttls_reply_not_read"
							   : "tls_handshake_timeout");
			session_release(s);
		} else if (s->smtp && !s->closing) {
			smtp_server_timeout(s->smtp);
			session_flush(s);
			session_close_after_flush(s);
		} else if (what & BEV_EVENT_WRITING) {
			session_log_end(s, "client_not_reading"); /* the last reply never left */
			session_release(s);
		}
		/* else a read timeout already on its way when we stopped reading */
		return;
	}
	if (s->handshaking)
		session_log_tls_failure(s);
	session_log_end(s, (what & BEV_EVENT_EOF) ? "client_closed" : "error");
	session_release(s);
}

/* ---- accept, caps, release ---- */

unsigned
session_count_from(const struct server *srv, const char *key)
{
	unsigned n = 0;
	for (const struct session *s = srv->sessions; s; s = s->next)
		if (!s->dead && strcmp(s->key, key) == 0)
			n++;
	return n;
}

static void
peer_name(struct sockaddr *sa, char *addr, size_t size, unsigned short *port)
{
	if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &a6->sin6_addr, addr, (socklen_t)size);
		*port = ntohs(a6->sin6_port);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &a4->sin_addr, addr, (socklen_t)size);
		*port = ntohs(a4->sin_port);
	}
}

static void
session_init_core_config(struct session *s)
{
	struct server *srv = s->srv;
	str_copy(s->hostname, sizeof s->hostname, srv->hostname);
	str_copy(s->postmaster_domain, sizeof s->postmaster_domain,
		 srv->cfg.ndomains ? srv->cfg.domains[0] : "");
	s->scfg = (struct smtp_server_config){
	    .hostname = s->hostname,
	    .policy = s->l->policy,
	    .max_message_size = srv->cfg.message_size_limit,
	    .max_recipients = srv->cfg.recipient_limit,
	    .max_errors = srv->cfg.error_limit,
	    .max_auth_failures = srv->cfg.auth_failure_limit,
	    .tls_available = srv->tls != NULL,
	    .postmaster_domain = s->postmaster_domain,
	};
	s->hooks = (struct smtp_server_hooks){
	    .ctx = s,
	    .is_local_domain = hook_is_local_domain,
	    .is_local_user = hook_is_local_user,
	    .spool_begin = hook_spool_begin,
	    .spool_write = hook_spool_write,
	    .spool_abort = hook_spool_abort,
	    .date = hook_date,
	    .log = hook_log,
	};
}

void
session_accept(struct listener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen)
{
	struct server *srv = l->srv;
	char addr[INET6_ADDRSTRLEN] = "?";
	unsigned short port = 0;
	(void)socklen;
	peer_name(sa, addr, sizeof addr, &port);
	char key[CLIENT_KEY_SIZE];
	client_key(addr, srv->cfg.ipv6_prefix_length, key, sizeof key);
	struct refusal r;
	/* Behind a balancer every connection comes from it: the client's own cap
	 * waits for the PROXY header to name the client (session_proxy.c). */
	if (session_is_over_cap(srv, l, l->conf.proxy ? 0 : session_count_from(srv, key), &r)) {
		session_refuse(l, fd, addr, key, &r);
		return;
	}
	/* The listener's accept4() made fd non-blocking and close-on-exec. */
	/* Replies are small and the client waits for each: no Nagle delay. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct session *s = xcalloc(1, sizeof *s);
	s->srv = srv;
	s->l = l;
	s->fd = fd;
	str_copy(s->addr, sizeof s->addr, addr);
	str_copy(s->key, sizeof s->key, key);
	s->port = port;
	l->live++;
	snprintf(s->id, sizeof s->id, "%08lX", ++srv->next_session_id);
	s->next = srv->sessions;
	if (srv->sessions)
		srv->sessions->prev = s;
	srv->sessions = s;
	srv->nsessions++;
	prom_inc(l->connections);
	if (l->conf.proxy) {
		session_proxy_wait(s, session_first_byte_timeout(srv));
		return;
	}
	session_begin(s);
}

int
session_first_byte_timeout(const struct server *srv)
{
	return FIRST_BYTE_TIMEOUT < srv->cfg.command_timeout ? FIRST_BYTE_TIMEOUT
							     : (int)srv->cfg.command_timeout;
}

void
session_begin(struct session *s)
{
	struct server *srv = s->srv;
	struct listener *l = s->l;
	session_init_core_config(s);
	if (s->via[0])
		log_info("session=%s event=connect client=%s:%u door=%s service=%s proxy=%s:%u",
			 s->id, s->addr, s->port, l->name, l->policy->name, s->via, s->via_port);
	else
		log_info("session=%s event=connect client=%s:%u door=%s service=%s", s->id, s->addr,
			 s->port, l->name, l->policy->name);
	if (l->policy->implicit_tls) {
		struct timeval tv = {session_first_byte_timeout(srv), 0};
		s->first_byte_ev = xevent_new(srv->base, s->fd, EV_READ, session_on_first_byte, s);
		event_add(s->first_byte_ev, &tv);
		return;
	}
	s->bev = bufferevent_socket_new(srv->base, s->fd, BEV_OPT_DEFER_CALLBACKS);
	bufferevent_setcb(s->bev, session_on_read, session_on_write, session_on_event, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, INPUT_HIGH_WATER);
	s->smtp = smtp_server_new(&s->scfg, &s->hooks, s->addr, false);
	smtp_server_greet(s->smtp);
	session_flush(s);
	session_set_timeouts(s);
	session_clock_begin(s, CLOCK_COMMAND);
	/*
	 * Reading only: replies go out with send() while the socket takes
	 * them, and an enabled write event with nothing to write costs two
	 * epoll_ctl calls and a wakeup per connection. session_flush enables
	 * it once a reply has to wait.
	 */
	bufferevent_enable(s->bev, EV_READ);
}

/* Close the connection now; free the session once no action is in flight. */
void
session_release(struct session *s)
{
	struct server *srv = s->srv;
	if (!s->dead) {
		s->dead = true;
		s->l->live--;
		/* The net under every path: no session ends without its line. */
		if (!s->end_logged && s->closing && strcmp(s->last_code, "221") == 0) {
			session_log_end(s, "quit");
		} else if (!s->end_logged && s->closing) {
			char why[64];
			snprintf(why, sizeof why, "closed_by_server reply=%s",
				 s->last_code[0] ? s->last_code : "none");
			session_log_end(s, why);
		}
		session_log_end(s, "closed");
		if (s->deadline_ev)
			event_free(s->deadline_ev);
		s->deadline_ev = NULL;
		if (s->first_byte_ev)
			event_free(s->first_byte_ev);
		s->first_byte_ev = NULL;
		session_proxy_free(s);
		if (s->delay_ev)
			event_free(s->delay_ev);
		s->delay_ev = NULL;
		if (s->bev && s->tls && s->closing && !s->handshaking) {
			/* A clean end (after 221 or 421) says so: close_notify, RFC 8446
			 * 6.1; clients that check it report a truncation otherwise. Best
			 * effort, never waited for. */
			SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
			if (ssl != NULL && SSL_is_init_finished(ssl) && SSL_shutdown(ssl) < 0)
				ERR_clear_error();
		}
		if (s->bev)
			bufferevent_free(s->bev);
		s->bev = NULL;
		if (s->fd >= 0)
			close(s->fd);
		s->fd = -1;
	}
	if (s->committing || s->auth)
		return;
	smtp_server_free(&s->smtp); /* aborts an unfinished spool file */
	session_auth_free(s);
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	srv->nsessions--;
	free(s);
}

void
session_shutdown_all(struct server *srv)
{
	struct session *s = srv->sessions;
	while (s) {
		struct session *next = s->next;
		if (!s->dead && s->smtp && s->bev && !s->closing) {
			smtp_server_shutdown(s->smtp);
			struct buf *out = smtp_server_output(s->smtp);
			/* Best effort, without waiting: the process is about to exit. */
			if (!s->tls && s->fd >= 0 &&
			    send(s->fd, out->data, out->len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				log_debug("session=%s event=shutdown_reply_lost", s->id);
		}
		if (!s->dead)
			session_log_end(s, "server_stopping");
		session_release(s);
		s = next;
	}
}
