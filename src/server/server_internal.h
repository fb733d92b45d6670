/*
 * server_internal: what server.c and session.c share. Everything here is
 * touched only on the event loop's thread.
 */
#ifndef MP_SERVER_INTERNAL_H
#define MP_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "aliases.h"
#include "config.h"
#include "local.h"
#include "outbound.h"
#include "penalty.h"
#include "smtp_server.h"
#include "spool.h"
#include "users.h"
#include "worker.h"

/*
 * The users table, counted: a password check on a worker thread holds a
 * reference, so a reload never frees a table in use.
 */
struct users_ref {
	struct users *users;
	unsigned refs;
};

struct listener {
	struct server *srv;
	struct evconnlistener *evl;
	const struct policy *policy;
	char name[300];			  /* "127.0.0.1:587" as bound */
	struct config_listener conf;	  /* its listen line (the cap follows a reload) */
	unsigned live;			  /* its sessions not yet closed, for its cap */
	struct prom_counter *connections; /* metrics: NULL when off */
};

struct session;
struct dkim_keyset;
struct prom_counter;

/* What the server counts for the metrics listener; NULLs when it is off. */
struct server_metrics {
	struct metrics_http *http;
	struct prom_counter *refused[4]; /* by cap: smtp_doors, door, server, client */
	struct prom_counter *auth_ok, *auth_failed, *accepted, *bytes;
	struct prom_counter *tls[3]; /* TLSv1.2, TLSv1.3, other */
};

/*
 * Recent failed logins per client (see server_auth_failed and penalty.h):
 * 4096 clients, about 330 KB, each forgotten after 10 quiet minutes.
 */
#define AUTH_PENALTY_SLOTS 4096

struct server {
	struct event_base *base;
	struct notify *notify; /* systemd's $NOTIFY_SOCKET, or NULL */
	char config_path[4096];
	/* cfg is replaced on reload; the delivery thread reads the domains under cfg_lock. */
	pthread_mutex_t cfg_lock;
	struct config cfg;
	char hostname[256];
	char tls_cert[4096];
	char tls_key[4096];
	SSL_CTX *tls;
	struct tls_tickets *tickets; /* outlive srv->tls, so tickets resume across reloads */
	struct users_ref *users;
	struct auth_cache *auth_cache; /* recent successful logins */
	struct timespec users_checked; /* last stat of the users file */
	struct timespec users_mtime;
	struct spool *spool;
	struct event *spool_ev;
	struct local_delivery *delivery;
	struct outbound *outbound;
	char relay_secret[1024]; /* the relayhost password, read before dropping root */
	struct worker *worker;
	/* Mail authentication (server_auth.c): the DKIM keys, read as root at
	 * start and kept for the run; the threads of the end-of-data checks. */
	struct dkim_keyset *dkim_keys; /* NULL: no dkim line */
	size_t dkim_nkeys;
	struct worker *auth_worker;
	struct listener listeners[CONFIG_MAX_LISTENERS];
	size_t nlisteners;
	struct event *signals[4];
	struct event *flush_ev; /* SIGUSR1: `mailport queue flush` and `queue tls-report` */
	struct event *log_ev;	/* SIGUSR2: open the log file again */
	struct server_metrics metrics;
	struct tlsrpt_store *tlsrpt;	   /* NULL: tls-report off */
	struct tlsrpt_daily *tlsrpt_daily; /* sends the reports */
	struct session *sessions;	   /* all live sessions, for caps and shutdown */
	unsigned nsessions;
	unsigned long next_session_id;
	struct penalty_table *penalties;
	/* server_aliases.c: the aliases table and the SRS secret (event loop only). */
	struct aliases *aliases;
	struct timespec aliases_checked, aliases_mtime;
	char srs_secret[256];
};

void session_accept(struct listener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen);
/* Tell every session the server is stopping (421) and drop them. */
void session_shutdown_all(struct server *srv);

/*
 * Note a failed login from a client (its client_key: an IPv6 client counts
 * per network); returns how many it has had recently (forgotten after 10
 * quiet minutes), so that reconnecting does not reset the slow-down of
 * password guessing.
 */
unsigned server_auth_failed(struct server *srv, const char *key);

/* A message was committed to the queue: wake both delivery agents. */
void server_queued(const char *qid, void *srv);
/*
 * The same for a message whose recipients are all local: only the local
 * agent is woken (the outbound agent's periodic pass still sees the message,
 * should a reload have made one of its domains remote meanwhile).
 */
void server_queued_local(const char *qid, struct server *srv);

/* The current users table with a reference taken; reloads it if the file changed. */
/* server_outbound.c: the delivery agents' settings, at start and on SIGHUP. */
struct outbound *server_outbound_start(struct server *srv);
/* The TLS report store and its daily sender (nothing when tls-report off). -1: logged. */
int server_tlsrpt_start(struct server *srv);
/* cfg is the new config, not yet in force; a login that cannot be applied is put back. */
void server_outbound_reload(struct server *srv, struct config *cfg);
/* server_auth.c: read the DKIM keys (as root, before the drop); -1 said why on stderr. */
int server_auth_load_keys(struct server *srv);
/* server_auth.c: the checks' threads; -1 said why on stderr. */
int server_auth_start(struct server *srv);
/* server_auth.c: a reload keeps the keys; says so when the dkim lines changed. */
void server_auth_reload(struct server *srv, const struct config *cfg);
void server_auth_stop(struct server *srv);
/* server_log.c: the "log" line's sink, opened at start as root; -1 said why on stderr. */
int server_log_open(struct server *srv);
/* server_log.c: SIGUSR2 opens the log file again (logrotate). */
void server_log_watch(struct server *srv);
/* server_log.c: on SIGHUP, before cfg is in force: its sink, or the same one opened again. */
void server_log_reload(struct server *srv, const struct config *cfg, const char *why);
/* server_metrics.c: the metrics listener (after the listeners, before the drop); -1 said why. */
int server_metrics_start(struct server *srv);
void server_metrics_stop(struct server *srv);
double server_metrics_queue_size(void *srv);
double server_metrics_queue_age(void *srv);
void server_metrics_refused(struct server *srv, const char *cap);
void server_metrics_tls(struct server *srv, const char *version);
/* For the delivery agents: one of our domains (under cfg_lock)? srv is the server. */
bool server_is_local_domain(const char *domain, void *srv);

/* server_aliases.c: load the aliases and the SRS secret (as root); -1 said why on stderr. */
int server_aliases_start(struct server *srv);
/* SIGHUP: read the aliases again (a bad file keeps the old table). */
void server_aliases_reload(struct server *srv);
void server_aliases_stop(struct server *srv);
/* The aliases file parsed (an empty table for path ""); NULL with the lines' errors in err. */
struct aliases *server_aliases_load(const char *path, char *err, size_t err_size);
/* What local@domain of one of our domains is: an account, alias or SRS address, a loop, unknown. */
enum smtp_local_rcpt server_rcpt_kind(struct server *srv, const char *local, const char *domain);
/*
 * The recipients as they are queued: aliases expanded, SRS addresses of ours
 * taken back to the original sender, each address once. *out is malloc'd.
 */
size_t server_rcpt_expand(struct server *srv, const char *sid, const struct smtp_rcpt_args *in,
			  size_t n, struct smtp_rcpt_args **out);

/* server_users.c: a new table with one reference. */
struct users_ref *server_users_ref_new(struct users *u);
/* The users file (an empty table without one); NULL, logged with the fix, when unreadable. */
struct users *server_users_load(const struct config *cfg, bool *ok_r);
/* A new table in force (remembered logins forgotten). */
void server_users_replace(struct server *srv, struct users *u);
struct users_ref *server_users_get(struct server *srv, bool for_login);
void server_users_put(struct users_ref **refp);

#endif
