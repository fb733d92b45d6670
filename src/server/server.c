/*
 * server: `mailport serve` — config, listeners, privileges, signals and
 * reloads around one libevent loop. Sessions live in session.c.
 *
 * Order matters at start: the ports are bound and the certificate and
 * users file are read while still root; then the process becomes the
 * unprivileged run user before it opens the spool or accepts a connection,
 * so no byte from the network is parsed with root privileges.
 *
 * SIGHUP re-reads the config, certificate and users file. New sessions get
 * the new settings; live sessions keep theirs (each holds its own copy of
 * its limits, and its SSL object holds the old context). Listener changes
 * need a restart and are reported as such. SIGUSR1 (`mailport queue
 * flush`) asks for a delivery attempt of the whole queue now.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "auth_cache.h"
#include "config_load.h"
#include "elapsed.h"
#include "fd_limit.h"
#include "fixes.h"
#include "log.h"
#include "notify.h"
#include "run_user.h"
#include "self_check.h"
#include "server_internal.h"
#include "tlsrpt_daily.h"
#include "tlsrpt_store.h"
#include "str.h"
#include "secret.h"
#include "self.h"
#include "tls.h"
#include "xevent.h"
#include "xmalloc.h"

/* A successful login is trusted again without a new hash for an hour (Dovecot's default). */
#define AUTH_CACHE_TTL 3600
#define AUTH_CACHE_SLOTS 1024

/* ---- failed logins per client ---- */

#define AUTH_PENALTY_MEMORY 600

unsigned
server_auth_failed(struct server *srv, const char *key)
{
	/* Monotonic seconds: a change of the wall clock neither forgets nor prolongs. */
	return penalty_note(srv->penalties, key, (time_t)(elapsed_now_ms() / 1000));
}

/* ---- listeners ---- */

static int
bind_socket(const char *host, unsigned short port, int *err_r)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_PASSIVE,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai;
	char portstr[8];
	snprintf(portstr, sizeof portstr, "%u", port);
	if (getaddrinfo(host, portstr, &hints, &ai) != 0) {
		*err_r = EADDRNOTAVAIL;
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
			*err_r = errno;
			close(fd);
			fd = -1;
		}
	} else {
		*err_r = errno;
	}
	freeaddrinfo(ai);
	return fd;
}

static void
on_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int socklen,
	  void *arg)
{
	(void)evl;
	session_accept(arg, fd, sa, socklen);
}

static void
on_accept_error(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	(void)evl;
	log_err("event=accept_error door=%s error=\"%s\"", l->name, strerror(errno));
}

/* Bind one listen line; on a privileged port without root, maybe the alternate. */
static int
listener_open(struct server *srv, const struct config_listener *cl, struct listener *l)
{
	unsigned short port = cl->port;
	int err = 0;
	int fd = bind_socket(cl->host, port, &err);
	unsigned offset = srv->cfg.unprivileged_port_offset;
	if (fd < 0 && err == EACCES && port < 1024 && offset && port + offset <= 65535) {
		char prefix[128];
		snprintf(prefix, sizeof prefix, "event=port_alternate service=%s",
			 cl->policy->name);
		struct fix_text t;
		fix_text_ports(&t, FIX_PORT_OFFSET_USED, port, port + offset);
		log_warn("%s what=\"%s\" cause=\"%s\" fix=\"%s\"", prefix, t.what, t.cause, t.fix);
		port = (unsigned short)(port + offset);
		fd = bind_socket(cl->host, port, &err);
	}
	if (fd < 0) {
		enum fix_id id = err == EACCES		? FIX_BIND_PRIVILEGED
				 : err == EADDRINUSE	? FIX_BIND_IN_USE
				 : err == EADDRNOTAVAIL ? FIX_BIND_NO_ADDRESS
							: FIX_BIND_OTHER;
		struct fix_text t; /* the port in what, and in the ss command of the fix */
		fix_text_port(&t, id, port);
		fprintf(stderr,
			"mailport: %s:%d: listen %s:%u %s: %s (%s)\n  cause: %s\n  fix: %s\n",
			srv->config_path, cl->line, cl->host, port, cl->policy->name, t.what,
			strerror(err), t.cause, t.fix);
		char exe[4096];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (id == FIX_BIND_PRIVILEGED && n > 0)
			fprintf(stderr, "  setcap: setcap cap_net_bind_service=+ep %.*s\n", (int)n,
				exe);
		return -1;
	}
	l->srv = srv;
	l->policy = cl->policy;
	l->conf = *cl;
	snprintf(l->name, sizeof l->name, strchr(cl->host, ':') ? "[%s]:%u" : "%s:%u", cl->host,
		 port);
	l->evl = evconnlistener_new(srv->base, on_accept, l,
				    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	evconnlistener_set_error_cb(l->evl, on_accept_error);
	return 0;
}

static int
listeners_open(struct server *srv)
{
	for (size_t i = 0; i < srv->cfg.nlisteners; i++) {
		if (listener_open(srv, &srv->cfg.listeners[i], &srv->listeners[i]) < 0)
			return -1;
		srv->nlisteners++;
	}
	return 0;
}

static void
listeners_close(struct server *srv)
{
	for (size_t i = 0; i < srv->nlisteners; i++)
		if (srv->listeners[i].evl)
			evconnlistener_free(srv->listeners[i].evl);
	srv->nlisteners = 0;
}

/* ---- TLS, folders and privileges ---- */

static int
tls_load(struct server *srv)
{
	char err[1024];
	if (srv->tickets == NULL)
		srv->tickets = tls_tickets_new(); /* NULL: OpenSSL's per-context keys */
	SSL_CTX *ctx =
	    tls_server_ctx_new(srv->tls_cert, srv->tls_key, srv->tickets, err, sizeof err);
	if (ctx == NULL) {
		const struct fix *f = fix_get(FIX_CERT_LOAD);
		log_err("event=tls_error error=\"%s\" what=\"%s\" cause=\"%s\" fix=\"%s\"", err,
			f->what, f->cause, f->fix);
		return -1;
	}
	if (srv->tls)
		SSL_CTX_free(srv->tls); /* live sessions hold their own reference */
	srv->tls = ctx;
	return 0;
}

static void
tls_paths(struct server *srv)
{
	if (srv->cfg.tls_cert[0]) {
		str_copy(srv->tls_cert, sizeof srv->tls_cert, srv->cfg.tls_cert);
		str_copy(srv->tls_key, sizeof srv->tls_key, srv->cfg.tls_key);
	} else if (snprintf(srv->tls_cert, sizeof srv->tls_cert, "%s/tls/cert.pem",
			    srv->cfg.spool_dir) >= (int)sizeof srv->tls_cert ||
		   snprintf(srv->tls_key, sizeof srv->tls_key, "%s/tls/key.pem",
			    srv->cfg.spool_dir) >= (int)sizeof srv->tls_key) {
		srv->tls_cert[0] = srv->tls_key[0] = '\0'; /* too long: loading fails and says so */
	}
}

static int
mkdir_p(const char *path, mode_t mode)
{
	char tmp[4096];
	str_copy(tmp, sizeof tmp, path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * With neither certificate nor key on disk, make a self-signed pair so a
 * first start works; the run user must own it to read it again on SIGHUP.
 */
static int
make_self_signed(struct server *srv, const struct passwd *owner)
{
	char err[512];
	if (access(srv->tls_cert, F_OK) == 0 || access(srv->tls_key, F_OK) == 0)
		return 0; /* tls_server_ctx_new says what is wrong, if anything */
	if (tls_ensure_self_signed(srv->tls_cert, srv->tls_key, srv->hostname, err, sizeof err) <
	    0) {
		fprintf(stderr, "mailport: %s\n", err);
		return -1;
	}
	log_warn("event=tls_self_signed cert=%s key=%s note=\"made a self-signed certificate for "
		 "%s; clients will not trust it: install a real one (e.g. Let's Encrypt) in "
		 "production\"",
		 srv->tls_cert, srv->tls_key, srv->hostname);
	if (owner && (chown(srv->tls_cert, owner->pw_uid, owner->pw_gid) < 0 ||
		      chown(srv->tls_key, owner->pw_uid, owner->pw_gid) < 0))
		log_warn("event=chown_failed path=%s error=\"%s\"", srv->tls_key, strerror(errno));
	return 0;
}

/*
 * Make the state folders (and a self-signed certificate if there is
 * none), hand them to the run user, and become that user.
 */
static int
prepare_and_drop(struct server *srv)
{
	const struct config *cfg = &srv->cfg;
	bool root = geteuid() == 0;
	struct passwd *pw = root ? run_user_get(cfg) : NULL; /* getpwnam's storage */
	if (root && pw == NULL)
		return -1;
	const char *dirs[] = {cfg->spool_dir, cfg->mailbox_dir};
	for (size_t i = 0; i < 2; i++) {
		if (dirs[i][0] == '\0')
			continue; /* no mailboxes with "deliver lmtp" */
		if (mkdir_p(dirs[i], 0700) < 0) {
			fprintf(stderr,
				"mailport: cannot create %s: %s\n  fix: check the spool and "
				"mailboxes lines of %s, and that this user may write there\n",
				dirs[i], strerror(errno), srv->config_path);
			return -1;
		}
		if (root && chown(dirs[i], pw->pw_uid, pw->pw_gid) < 0) {
			fprintf(stderr,
				"mailport: cannot give %s to %s: %s\n  fix: put the state "
				"folders on a local file system root may chown on, or set "
				"'user' to their owner\n",
				dirs[i], pw->pw_name, strerror(errno));
			return -1;
		}
	}
	if (make_self_signed(srv, root ? pw : NULL) < 0)
		return -1;
	if (tls_load(srv) < 0)
		return -1;
	run_user_make_users_file(cfg, root ? pw : NULL);
	run_user_check_secret_file(cfg->users_file, "users file");
	run_user_check_secret_file(srv->tls_key, "TLS key");
	bool users_ok;
	struct users *u = server_users_load(cfg, &users_ok);
	srv->users = server_users_ref_new(u ? u : users_empty());
	/* The relay host's password file is the admin's (0600): read it as root. */
	char err[600];
	if (cfg->relay_user[0] && secret_get(SECRET_FILE, cfg->relay_secret_file, srv->relay_secret,
					     sizeof srv->relay_secret, err, sizeof err) < 0) {
		fprintf(stderr,
			"mailport: relayhost: %s\n  fix: check the SECRETFILE of the "
			"relayhost line; its first line is the password\n",
			err);
		return -1;
	}
	if (server_aliases_start(srv) < 0)
		return -1;
	/* The DKIM keys too (server_auth.c): they may stay root:root 0600. */
	if (server_auth_load_keys(srv) < 0)
		return -1;
	/* Read by the delivery threads at their first verified connection: a typo
	 * would defer every verify-level and MTA-STS delivery, so stop now. */
	if (cfg->outbound_cafile[0] && access(cfg->outbound_cafile, R_OK) < 0) {
		fprintf(stderr,
			"mailport: outbound-cafile %s: %s\n  fix: name a PEM file of CA "
			"certificates (e.g. /etc/ssl/certs/ca-certificates.crt), or remove the "
			"line to trust the system's store\n",
			cfg->outbound_cafile, strerror(errno));
		return -1;
	}
	if (!root)
		return 0;
	const struct run_path need[] = {
	    /* first, so that it can be left out when not set */
	    {cfg->outbound_cafile, RUN_NEED_READ, true, "outbound-cafile"},
	    {cfg->spool_dir, RUN_NEED_DIR, true, "spool"},
	    {cfg->mailbox_dir, RUN_NEED_DIR, true, "mailboxes folder"},
	    {cfg->users_file, RUN_NEED_READ, false, "users file"},
	    {cfg->aliases_file, RUN_NEED_READ, false, "aliases file"},
	    {srv->tls_cert, RUN_NEED_READ, false, "TLS certificate"},
	    {srv->tls_key, RUN_NEED_READ, false, "TLS key"},
	    {srv->config_path, RUN_NEED_READ, false, "config file"},
	};
	size_t skip = cfg->outbound_cafile[0] ? 0 : 1;
	if (run_user_check_paths(pw, need + skip, sizeof need / sizeof need[0] - skip) < 0)
		return -1;
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0 ||
	    setuid(0) == 0) {
		fprintf(stderr,
			"mailport: cannot drop privileges to %s: %s\n  fix: name an ordinary "
			"account in the 'user' line (mailport will not run as root)\n",
			pw->pw_name, strerror(errno));
		return -1;
	}
	log_info("event=privileges user=%s uid=%u", pw->pw_name, (unsigned)pw->pw_uid);
	return 0;
}

/* ---- signals and reload ---- */

/* 0, or -1 when the config does not load and the old one stays. */
/*
 * Settings that are made into threads, sockets or secrets at start: a
 * reload keeps them as they are (copied back into the new config, so the
 * config in force says what is in force) and says which line needs a
 * restart, instead of taking the line without acting on it.
 */
static void
keep_start_only(const struct config *old, struct config *cfg)
{
	const struct {
		const char *directive;
		bool changed;
	} lines[] = {
	    {"deliver", cfg->deliver != old->deliver ||
			    strcmp(cfg->lmtp.unix_path, old->lmtp.unix_path) != 0 ||
			    !config_hostport_eq(&cfg->lmtp.hp, &old->lmtp.hp)},
	    {"metrics", !config_hostport_eq(&cfg->metrics, &old->metrics)},
	    {"srs-secret", strcmp(cfg->srs_secret_file, old->srs_secret_file) != 0},
	    {"tls-report", cfg->tls_report_off != old->tls_report_off ||
			       strcmp(cfg->tls_report_from, old->tls_report_from) != 0},
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		if (lines[i].changed)
			log_warn("event=reload_needs_restart setting=%s note=\"a changed %s line is "
				 "read at start only; the one before stays in force\" fix=\"restart "
				 "mailport to apply it\"",
				 lines[i].directive, lines[i].directive);
	cfg->deliver = old->deliver;
	cfg->lmtp = old->lmtp;
	cfg->metrics = old->metrics;
	str_copy(cfg->srs_secret_file, sizeof cfg->srs_secret_file, old->srs_secret_file);
	cfg->tls_report_off = old->tls_report_off;
	str_copy(cfg->tls_report_from, sizeof cfg->tls_report_from, old->tls_report_from);
}

static int
server_reload(struct server *srv)
{
	struct config cfg;
	char err[1024];
	if (config_load_file(srv->config_path, &cfg, err, sizeof err) < 0) {
		log_err("event=reload_failed error=\"%s\" fix=\"correct the file and send SIGHUP "
			"again; the old settings stay in force\"",
			err);
		server_log_reload(srv, &srv->cfg, "SIGHUP"); /* logrotate may have sent it */
		return -1;
	}
	bool same_doors = cfg.nlisteners == srv->cfg.nlisteners;
	for (size_t i = 0; same_doors && i < cfg.nlisteners; i++)
		same_doors = strcmp(cfg.listeners[i].host, srv->cfg.listeners[i].host) == 0 &&
			     cfg.listeners[i].port == srv->cfg.listeners[i].port &&
			     cfg.listeners[i].policy == srv->cfg.listeners[i].policy;
	if (!same_doors)
		log_warn("event=reload_listen_changed fix=\"restart mailport to listen on the new "
			 "ports; the old ones stay open until then\"");
	for (size_t i = 0; same_doors && i < srv->nlisteners; i++)
		srv->listeners[i].conf = cfg.listeners[i]; /* a new cap applies at once */
	unsigned offset = srv->cfg.unprivileged_port_offset;
	server_outbound_reload(srv, &cfg); /* before the swap: it compares with the old */
	server_auth_reload(srv, &cfg);
	server_log_reload(srv, &cfg, "SIGHUP");
	keep_start_only(&srv->cfg, &cfg);
	pthread_mutex_lock(&srv->cfg_lock);
	srv->cfg = cfg;
	srv->cfg.unprivileged_port_offset = offset;
	pthread_mutex_unlock(&srv->cfg_lock);
	if (cfg.hostname[0])
		str_copy(srv->hostname, sizeof srv->hostname, cfg.hostname);
	tls_paths(srv);
	int tls_rc = tls_load(srv);
	bool users_ok;
	struct users *u = server_users_load(&srv->cfg, &users_ok);
	if (u)
		server_users_replace(srv, u);
	server_aliases_reload(srv);
	log_info("event=reload tls=%s users=%s", tls_rc == 0 ? "reloaded" : "kept_old",
		 u ? "reloaded" : "kept_old");
	return 0;
}

static void
on_stop_check(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	static int rounds;
	(void)fd;
	(void)what;
	/* Sessions with a commit in flight go when the spool answers. */
	if (srv->nsessions == 0 || ++rounds > 50)
		event_base_loopbreak(srv->base);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	(void)what;
	if (sig == SIGHUP) {
		log_info("event=sighup");
		/* systemd shows "reloading" until READY=1, failed or not. */
		notify_reloading(srv->notify);
		notify_send(srv->notify,
			    server_reload(srv) == 0
				? "READY=1\nSTATUS=reloaded"
				: "READY=1\nSTATUS=reload failed: the old config stays in "
				  "force (see the log)");
		return;
	}
	notify_send(srv->notify, "STOPPING=1");
	log_info("event=stopping signal=%d sessions=%u", (int)sig, srv->nsessions);
	listeners_close(srv);
	session_shutdown_all(srv);
	struct event *ev = xevent_new(srv->base, -1, EV_PERSIST, on_stop_check, srv);
	struct timeval tv = {0, 100000};
	event_add(ev, &tv);
	srv->signals[3] = ev;
}

/*
 * SIGUSR1, sent by `mailport queue flush`: attempt delivery of the whole
 * queue now, deferred remote mail included, whatever its retry schedule.
 * `mailport queue tls-report` sends it too, after leaving its request
 * file: then the pending TLS reports are sent, and the queue is left alone
 * (SIGUSR2 is the log's, for logrotate).
 */
static void
on_flush_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	char req[4200];
	(void)sig;
	(void)what;
	tlsrpt_daily_request_path(srv->cfg.spool_dir, req, sizeof req);
	if (unlink(req) == 0) {
		log_info("event=tls_report signal=SIGUSR1 note=%s",
			 srv->tlsrpt_daily ? "\"sending pending TLS reports now\""
					   : "\"tls-report is off: nothing to send\"");
		tlsrpt_daily_kick(srv->tlsrpt_daily);
		return;
	}
	log_info("event=flush signal=SIGUSR1 note=\"delivery attempt of the whole queue\"");
	local_delivery_rescan(srv->delivery);
	outbound_flush(srv->outbound);
}

void
server_queued(const char *qid, void *arg)
{
	struct server *srv = arg;
	local_delivery_kick(srv->delivery, qid);
	outbound_kick(srv->outbound, qid);
}

void
server_queued_local(const char *qid, struct server *srv)
{
	local_delivery_kick(srv->delivery, qid);
}

static void
on_spool_results(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	spool_dispatch_results(arg);
}

/* ---- the whole life ---- */

static const char *
door_summary(const struct policy *p)
{
	if (p->implicit_tls)
		return "clients: TLS from the first byte, then AUTH, then MAIL";
	if (p->mail_needs_auth)
		return "clients: STARTTLS, then AUTH, then MAIL";
	return "relay/MX: mail for this server's domains; STARTTLS offered; no AUTH";
}

static void
print_ready(const struct server *srv)
{
	log_info("event=ready hostname=%s domains=%zu doors=%zu", srv->hostname, srv->cfg.ndomains,
		 srv->nlisteners);
	for (size_t i = 0; i < srv->nlisteners; i++)
		log_info("event=listening addr=%s service=%s", srv->listeners[i].name,
			 srv->listeners[i].policy->name);
	if (!isatty(STDERR_FILENO))
		return;
	/* A person started this: say what is where and what to do next. */
	fprintf(stderr, "\nmailport is ready.\n");
	for (size_t i = 0; i < srv->nlisteners; i++)
		fprintf(stderr, "  %-22s %-12s %s\n", srv->listeners[i].name,
			srv->listeners[i].policy->name, door_summary(srv->listeners[i].policy));
	const char *domain = srv->cfg.ndomains ? srv->cfg.domains[0] : "example.test";
	const char *door = "127.0.0.1:587";
	for (size_t i = 0; i < srv->nlisteners; i++)
		if (srv->listeners[i].policy->mail_needs_auth &&
		    !srv->listeners[i].policy->implicit_tls) {
			door = srv->listeners[i].name;
			break;
		}
	const char *prog = self_program();
	fprintf(stderr,
		"\nAdd a user:    (umask 077; %s passwd --user you@%s >> %s)\n"
		"Send a test:   MP_PW='the password' %s send --server %s --cafile %s "
		"--user you@%s --password-env MP_PW --from you@%s --to you@%s --body hello\n"
		"Find it in:    %s/%s/you/new/\n\n",
		prog, domain,
		srv->cfg.users_file[0] ? srv->cfg.users_file : "(set 'users FILE' first)", prog,
		door, srv->tls_cert, domain, domain, domain, srv->cfg.mailbox_dir, domain);
}

/* Before anything is opened: raise the file limit, and refuse caps it cannot hold. */
static int
check_fd_limit(const struct server *srv)
{
	const struct config *cfg = &srv->cfg;
	unsigned long need = fd_limit_need(cfg->max_connections, cfg->outbound_connections);
	unsigned long busy = fd_limit_need_busy(cfg->max_connections, cfg->outbound_connections);
	unsigned long limit;
	if (fd_limit_raise(need, &limit)) {
		log_info("event=fd_limit limit=%lu need=%lu busy=%lu", limit, need, busy);
		if (limit < busy)
			log_warn(
			    "event=fd_limit_tight limit=%lu busy=%lu what=\"if every connection "
			    "sent a large message at once, some would get 451 (no file left to "
			    "spool it)\" fix=\"raise the hard limit to %lu (LimitNOFILE= in the "
			    "systemd unit, or ulimit -Hn), or lower max-connections\"",
			    limit, busy, busy);
		return 0;
	}
	const struct fix *f = fix_get(FIX_FD_LIMIT);
	fprintf(stderr,
		"mailport: %s: max-connections %u and outbound-connections %u need at least %lu "
		"open files; this process may open %lu (RLIMIT_NOFILE)\n  cause: %s\n  fix: %s "
		"(max-connections %lu fits the current limit)\n",
		f->what, cfg->max_connections, cfg->outbound_connections, need, limit, f->cause,
		f->fix, fd_limit_max_connections(limit, cfg->outbound_connections));
	return -1;
}

static int
server_start(struct server *srv)
{
	char err[1024];
	if (server_log_open(srv) < 0)
		return EX_CANTCREAT;
	server_log_watch(srv);
	self_check_log(&srv->cfg, srv->hostname);
	if (check_fd_limit(srv) < 0)
		return EX_CONFIG;
	if (listeners_open(srv) < 0)
		return EX_UNAVAILABLE;
	if (server_metrics_start(srv) < 0)
		return EX_UNAVAILABLE;
	if (prepare_and_drop(srv) < 0)
		return EX_CONFIG;
	/* Before spool_open writes our pid into the spool's lock: from then on a
	 * flush may send SIGUSR1, whose default action would kill the server. */
	srv->flush_ev = xevsignal_new(srv->base, SIGUSR1, on_flush_signal, srv);
	event_add(srv->flush_ev, NULL);
	srv->spool = spool_open(srv->cfg.spool_dir, err, sizeof err);
	if (srv->spool == NULL) {
		fprintf(stderr, "mailport: %s\n", err);
		return EX_CANTCREAT;
	}
	srv->spool_ev = xevent_new(srv->base, spool_notify_fd(srv->spool), EV_READ | EV_PERSIST,
				   on_spool_results, srv->spool);
	event_add(srv->spool_ev, NULL);
	srv->worker = worker_new(srv->base, 2, err, sizeof err);
	if (srv->worker == NULL) {
		fprintf(stderr,
			"mailport: %s\n  fix: check the system's limits on processes and "
			"open files (ulimit -u, ulimit -n)\n",
			err);
		return EX_OSERR;
	}
	if (server_auth_start(srv) < 0)
		return EX_OSERR;
	srv->auth_cache = auth_cache_new(AUTH_CACHE_TTL, AUTH_CACHE_SLOTS);
	if (srv->auth_cache == NULL) {
		fprintf(stderr,
			"mailport: cannot make the login cache's key (see the log above)\n");
		return EX_OSERR;
	}
	srv->penalties = penalty_new(AUTH_PENALTY_SLOTS, AUTH_PENALTY_MEMORY);
	struct retry_policy retry = {srv->cfg.retry_interval, srv->cfg.retry_max_interval,
				     srv->cfg.queue_lifetime};
	struct local_config lc = {
	    .mailbox_dir = srv->cfg.mailbox_dir,
	    .lmtp = srv->cfg.deliver == CONFIG_DELIVER_LMTP ? &srv->cfg.lmtp : NULL,
	    .hostname = srv->hostname,
	    .lmtp_timeout = srv->cfg.outbound_timeout,
	    .retry = retry,
	    .is_local = server_is_local_domain,
	    .queued = server_queued,
	    .arg = srv,
	};
	srv->delivery = local_delivery_start(srv->spool, &lc);
	if (server_tlsrpt_start(srv) < 0)
		return EX_CANTCREAT;
	srv->outbound = server_outbound_start(srv);
	if (srv->outbound == NULL) {
		fprintf(stderr, "mailport: cannot start outbound delivery (see the log above)\n");
		return EX_OSERR;
	}
	int sigs[3] = {SIGTERM, SIGINT, SIGHUP};
	for (int i = 0; i < 3; i++) {
		srv->signals[i] = xevsignal_new(srv->base, sigs[i], on_signal, srv);
		event_add(srv->signals[i], NULL);
	}
	print_ready(srv);
	/* Every door bound and root given up: systemd may start what needs us. */
	char state[128];
	snprintf(state, sizeof state, "READY=1\nSTATUS=serving on %zu door%s", srv->nlisteners,
		 srv->nlisteners == 1 ? "" : "s");
	notify_send(srv->notify, state);
	return 0;
}

static void
server_stop(struct server *srv)
{
	listeners_close(srv);
	server_metrics_stop(srv);
	session_shutdown_all(srv);
	worker_free(&srv->worker);
	server_auth_stop(srv);		       /* the checks' done()s release their dead sessions */
	tlsrpt_daily_stop(&srv->tlsrpt_daily); /* it queues through the spool */
	outbound_stop(&srv->outbound);
	tlsrpt_store_close(&srv->tlsrpt);
	local_delivery_stop(&srv->delivery);
	if (srv->spool_ev)
		event_free(srv->spool_ev);
	spool_close(&srv->spool);
	for (int i = 0; i < 4; i++)
		if (srv->signals[i])
			event_free(srv->signals[i]);
	if (srv->flush_ev)
		event_free(srv->flush_ev);
	if (srv->log_ev)
		event_free(srv->log_ev);
	server_users_put(&srv->users);
	auth_cache_free(&srv->auth_cache);
	penalty_free(&srv->penalties);
	explicit_bzero(srv->relay_secret, sizeof srv->relay_secret);
	server_aliases_stop(srv);
	if (srv->tls)
		SSL_CTX_free(srv->tls);
	tls_tickets_free(&srv->tickets);
	event_base_free(srv->base);
}

int
server_run(const char *config_path)
{
	struct server *srv = xcalloc(1, sizeof *srv);
	char err[1024];
	pthread_mutex_init(&srv->cfg_lock, NULL);
	str_copy(srv->config_path, sizeof srv->config_path, config_path);
	if (config_load_file(config_path, &srv->cfg, err, sizeof err) < 0) {
		fprintf(stderr, "mailport: %s\n", err);
		free(srv);
		return EX_CONFIG;
	}
	if (srv->cfg.hostname[0])
		str_copy(srv->hostname, sizeof srv->hostname, srv->cfg.hostname);
	else if (gethostname(srv->hostname, sizeof srv->hostname - 1) < 0)
		str_copy(srv->hostname, sizeof srv->hostname, "localhost");
	tls_paths(srv);
	signal(SIGPIPE, SIG_IGN);
	srv->notify = notify_open();
	srv->base = event_base_new();
	int rc = server_start(srv);
	/*
	 * One round of the loop at a time, its log lines held and written
	 * together after it: a message's five lines from this thread cost one
	 * write between them under load instead of five (log_hold). A round
	 * never blocks: everything slow runs on other threads.
	 */
	while (rc == 0 && !event_base_got_break(srv->base) && !event_base_got_exit(srv->base)) {
		log_hold();
		int r = event_base_loop(srv->base, EVLOOP_ONCE);
		log_release();
		if (r != 0)
			break; /* no events left, or an error */
	}
	server_stop(srv);
	notify_free(&srv->notify);
	pthread_mutex_destroy(&srv->cfg_lock);
	free(srv);
	log_info("event=stopped");
	return rc;
}
