/*
 * server_auth: the server-wide side of mail authentication (issue 14); the
 * per-message side is session_auth.c.
 *
 * DKIM keys are read once, at start, as root before privileges drop (like
 * the relay host's password), so a key file may stay root:root 0600. A key
 * that is missing, unreadable, readable by others or malformed stops the
 * start with the error and its fix (exit 78, a config error). A reload
 * cannot read them again (we are no longer root): it keeps the keys in
 * force and, when the dkim lines changed, says that a restart is needed.
 *
 * The end-of-data checks run on threads of their own, not the password
 * checks' pair: a check waits on DNS for up to auth-timeout seconds, and
 * logins must not queue behind it.
 */
#include <stdio.h>
#include <string.h>

#include "dkim_keys.h"
#include "log.h"
#include "server_internal.h"

/* Threads for the checks: mostly waiting on DNS, the signing is short. */
#define AUTH_THREADS 8

int
server_auth_load_keys(struct server *srv)
{
	if (srv->cfg.ndkim == 0)
		return 0;
	char err[1024];
	srv->dkim_keys = dkim_keys_load(&srv->cfg, err, sizeof err);
	if (srv->dkim_keys == NULL) {
		fprintf(stderr, "mailport: %s\n", err);
		return -1;
	}
	srv->dkim_nkeys = dkim_keys_count(srv->dkim_keys);
	for (size_t i = 0; i < srv->cfg.ndkim; i++)
		log_info("event=dkim_key domain=%s selector=%s file=%s", srv->cfg.dkim[i].domain,
			 srv->cfg.dkim[i].selector, srv->cfg.dkim[i].keyfile);
	return 0;
}

int
server_auth_start(struct server *srv)
{
	char err[256];
	srv->auth_worker = worker_new(srv->base, AUTH_THREADS, err, sizeof err);
	if (srv->auth_worker == NULL) {
		fprintf(stderr,
			"mailport: %s\n  fix: check the system's limits on processes and "
			"open files (ulimit -u, ulimit -n)\n",
			err);
		return -1;
	}
	return 0;
}

void
server_auth_reload(struct server *srv, const struct config *cfg)
{
	bool same = cfg->ndkim == srv->cfg.ndkim;
	for (size_t i = 0; same && i < cfg->ndkim; i++)
		same = strcmp(cfg->dkim[i].domain, srv->cfg.dkim[i].domain) == 0 &&
		       strcmp(cfg->dkim[i].selector, srv->cfg.dkim[i].selector) == 0 &&
		       strcmp(cfg->dkim[i].keyfile, srv->cfg.dkim[i].keyfile) == 0;
	if (!same)
		log_warn("event=reload_dkim_kept note=\"the dkim lines changed; the keys read at "
			 "start stay in force\" fix=\"restart mailport to sign with the new keys "
			 "(they are read as root, before privileges drop)\"");
	else if (cfg->ndkim)
		log_info("event=reload_dkim_kept note=\"keys are read at start only; a changed "
			 "key file needs a restart\"");
}

void
server_auth_stop(struct server *srv)
{
	worker_free(&srv->auth_worker);
	dkim_keys_free(&srv->dkim_keys);
}
