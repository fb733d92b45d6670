/*
 * server_outbound: the delivery agents' settings, taken from the config at
 * start and again on SIGHUP.
 *
 * A reload compares the outbound settings with the ones in force and hands
 * the changed set to the agents (outbound_reconfigure, which applies them
 * once the deliveries in hand are done), logging by name what was applied.
 * The one thing a reload cannot do is read a new relayhost password file:
 * it is the admin's (0600, root) and was read before root was dropped. A
 * changed login whose file cannot be read now keeps the old login, and the
 * log says that it needs a restart.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "secret.h"
#include "server_internal.h"
#include "dkim_sign.h"
#include "str.h"
#include "tlsrpt_daily.h"
#include "tlsrpt_store.h"

static bool
delivery_is_local(const char *domain, void *arg)
{
	/* Called from the delivery threads, while a reload may replace the config. */
	struct server *srv = arg;
	pthread_mutex_lock(&srv->cfg_lock);
	bool local = config_is_local_domain(&srv->cfg, domain);
	pthread_mutex_unlock(&srv->cfg_lock);
	return local;
}

static bool
delivery_tls_level(const char *domain, enum tls_level *level_r, void *arg)
{
	struct server *srv = arg;
	pthread_mutex_lock(&srv->cfg_lock);
	bool explicit = config_tls_level(&srv->cfg, domain, level_r);
	pthread_mutex_unlock(&srv->cfg_lock);
	return explicit;
}

bool
server_is_local_domain(const char *domain, void *srv)
{
	return delivery_is_local(domain, srv);
}

/* The agent's settings from cfg; the password is srv->relay_secret. */
static void
fill(struct server *srv, const struct config *cfg, const char *hostname, struct outbound_config *oc)
{
	*oc = (struct outbound_config){
	    .retry = {cfg->retry_interval, cfg->retry_max_interval, cfg->queue_lifetime},
	    .timeout = cfg->outbound_timeout,
	    .connections = cfg->outbound_connections,
	    .connections_per_dest = cfg->outbound_connections_per_dest,
	    .resolver = cfg->resolver,
	    .relayhost = cfg->relayhost,
	    .is_local = delivery_is_local,
	    .tls_level = delivery_tls_level,
	    .queued = server_queued,
	    .tlsrpt = srv->tlsrpt,
	    .arg = srv,
	};
	str_copy(oc->hostname, sizeof oc->hostname, hostname);
	str_copy(oc->relay_user, sizeof oc->relay_user, cfg->relay_user);
	str_copy(oc->relay_secret, sizeof oc->relay_secret, srv->relay_secret);
	str_copy(oc->relay_cafile, sizeof oc->relay_cafile, cfg->relay_cafile);
	str_copy(oc->outbound_cafile, sizeof oc->outbound_cafile, cfg->outbound_cafile);
	str_copy(oc->spool_dir, sizeof oc->spool_dir, cfg->spool_dir);
	/* SRS addresses are of the first domain: its SPF names this host. */
	str_copy(oc->srs_secret, sizeof oc->srs_secret, srv->srs_secret);
	str_copy(oc->srs_domain, sizeof oc->srs_domain, cfg->ndomains ? cfg->domains[0] : "");
}

/* RFC 8460 3: reports are DKIM-signed, with the keys of the `dkim` lines. */
static int
sign_report(const char *msg, size_t len, struct buf *out, void *arg)
{
	struct server *srv = arg;
	char why[300];
	if (srv->dkim_keys == NULL)
		return 0;
	int n =
	    dkim_sign_message(srv->dkim_keys, (int64_t)time(NULL), msg, len, out, why, sizeof why);
	if (n <= 0)
		log_info("event=tlsrpt_dkim signed=no reason=\"%s\"", why);
	return n;
}

int
server_tlsrpt_start(struct server *srv)
{
	char err[600];
	if (srv->cfg.tls_report_off)
		return 0;
	srv->tlsrpt = tlsrpt_store_open(srv->cfg.spool_dir, err, sizeof err);
	if (srv->tlsrpt == NULL) {
		fprintf(stderr, "mailport: %s\n", err);
		return -1;
	}
	struct tlsrpt_daily_config dc = {.resolver = srv->cfg.resolver,
					 .sp = srv->spool,
					 .store = srv->tlsrpt,
					 .queued = server_queued,
					 .arg = srv,
					 .sign = sign_report,
					 .sign_arg = srv};
	str_copy(dc.hostname, sizeof dc.hostname, srv->hostname);
	str_copy(dc.spool_dir, sizeof dc.spool_dir, srv->cfg.spool_dir);
	/* RFC 8460 5.3 leaves the sender to us: postmaster answers for the host. */
	if (srv->cfg.tls_report_from[0])
		str_copy(dc.from, sizeof dc.from, srv->cfg.tls_report_from);
	else
		snprintf(dc.from, sizeof dc.from, "postmaster@%s", srv->hostname);
	srv->tlsrpt_daily = tlsrpt_daily_start(&dc);
	return 0;
}

struct outbound *
server_outbound_start(struct server *srv)
{
	struct outbound_config oc;
	fill(srv, &srv->cfg, srv->hostname, &oc);
	struct outbound *ob = outbound_start(srv->spool, &oc);
	explicit_bzero(&oc, sizeof oc);
	return ob;
}

/* Append name to the space-separated list in out when changed. */
static void
note(char *out, size_t size, bool changed, const char *name)
{
	if (!changed)
		return;
	size_t len = strlen(out);
	snprintf(out + len, size - len, "%s%s", len ? " " : "", name);
}

/*
 * A changed relayhost login: read its password file now. When that fails
 * (the process is no longer root), cfg keeps the old login.
 */
static void
reload_login(struct server *srv, struct config *cfg)
{
	const struct config *old = &srv->cfg;
	if (strcmp(cfg->relay_user, old->relay_user) == 0 &&
	    strcmp(cfg->relay_secret_file, old->relay_secret_file) == 0)
		return;
	char secret[sizeof srv->relay_secret], err[600];
	if (!cfg->relay_user[0]) {
		explicit_bzero(srv->relay_secret, sizeof srv->relay_secret);
		return;
	}
	if (secret_get(SECRET_FILE, cfg->relay_secret_file, secret, sizeof secret, err,
		       sizeof err) == 0) {
		memcpy(srv->relay_secret, secret, sizeof secret);
		explicit_bzero(secret, sizeof secret);
		return;
	}
	char e[800];
	str_escape(e, sizeof e, err, strlen(err));
	log_warn("event=reload_needs_restart setting=relayhost-login reason=\"%s\" "
		 "fix=\"restart mailport to log in to the relay host as %s; until then the "
		 "old login stays in force\"",
		 e, cfg->relay_user);
	str_copy(cfg->relay_user, sizeof cfg->relay_user, old->relay_user);
	str_copy(cfg->relay_secret_file, sizeof cfg->relay_secret_file, old->relay_secret_file);
}

void
server_outbound_reload(struct server *srv, struct config *cfg)
{
	const struct config *old = &srv->cfg;
	char changed[300] = "";
	reload_login(srv, cfg);
	note(changed, sizeof changed, !config_hostport_eq(&cfg->relayhost, &old->relayhost),
	     "relayhost");
	note(changed, sizeof changed,
	     strcmp(cfg->relay_user, old->relay_user) != 0 ||
		 strcmp(cfg->relay_secret_file, old->relay_secret_file) != 0,
	     "relayhost-login");
	note(changed, sizeof changed, strcmp(cfg->relay_cafile, old->relay_cafile) != 0,
	     "relay-cafile");
	note(changed, sizeof changed, strcmp(cfg->outbound_cafile, old->outbound_cafile) != 0,
	     "outbound-cafile");
	note(changed, sizeof changed, !config_hostport_eq(&cfg->resolver, &old->resolver),
	     "resolver");
	note(changed, sizeof changed, cfg->outbound_timeout != old->outbound_timeout,
	     "outbound-timeout");
	note(changed, sizeof changed, cfg->outbound_connections != old->outbound_connections,
	     "outbound-connections");
	note(changed, sizeof changed,
	     cfg->outbound_connections_per_dest != old->outbound_connections_per_dest,
	     "outbound-connections-per-destination");
	note(changed, sizeof changed, cfg->retry_interval != old->retry_interval, "retry-interval");
	note(changed, sizeof changed, cfg->retry_max_interval != old->retry_max_interval,
	     "retry-max-interval");
	note(changed, sizeof changed, cfg->queue_lifetime != old->queue_lifetime, "queue-lifetime");
	note(changed, sizeof changed, strcmp(cfg->hostname, old->hostname) != 0, "hostname");
	if (!changed[0])
		return;
	struct outbound_config oc;
	fill(srv, cfg, cfg->hostname[0] ? cfg->hostname : srv->hostname, &oc);
	outbound_reconfigure(srv->outbound, &oc);
	explicit_bzero(&oc, sizeof oc);
	struct retry_policy retry = {cfg->retry_interval, cfg->retry_max_interval,
				     cfg->queue_lifetime};
	local_delivery_set_retry(srv->delivery, &retry);
	log_info("event=reload_outbound applied=\"%s\" note=\"deliveries in progress finish "
		 "with the old settings\"",
		 changed);
}
