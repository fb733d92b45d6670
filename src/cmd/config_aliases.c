/*
 * config_aliases: the aliases file parsed as serve parses it, then every
 * line expanded against the users file and our domains (aliases_check): a
 * line of another domain, a target that is neither account nor alias, a
 * loop, each with its FILE:LINE and fix. The SRS secret is read as serve
 * reads it. Forwarding without one is a note: it works, but the next hop's
 * SPF check of the original sender may fail.
 */
#include "config_aliases.h"

#include <stdio.h>
#include <string.h>

#include "aliases.h"
#include "secret.h"
#include "server_internal.h"
#include "users.h"

struct ask {
	const struct config *cfg;
	const struct users *users;
};

static bool
ask_local_domain(void *ctx, const char *domain)
{
	return config_is_local_domain(((struct ask *)ctx)->cfg, domain);
}

static bool
ask_user(void *ctx, const char *local, const char *domain)
{
	return users_exists(((struct ask *)ctx)->users, local, domain);
}

static int
check_secret(const struct config *cfg, const char *path)
{
	char secret[256], err[600];
	if (cfg->srs_secret_file[0] == '\0') {
		if (cfg->aliases_file[0])
			fprintf(stderr,
				"%s: note: no srs-secret line, so mail forwarded to other domains "
				"keeps its sender and may fail their SPF check; add \"srs-secret "
				"srs.secret\" and fill it: head -c 24 /dev/urandom | base64 > "
				"srs.secret\n",
				path);
		return 0;
	}
	int rc =
	    secret_get(SECRET_FILE, cfg->srs_secret_file, secret, sizeof secret, err, sizeof err);
	size_t len = rc == 0 ? strlen(secret) : 0;
	explicit_bzero(secret, sizeof secret);
	if (rc < 0 || len < 16) {
		fprintf(stderr,
			"%s: srs-secret: %s\n  fix: put a random line of at least 16 characters "
			"in it: head -c 24 /dev/urandom | base64 > %s\n",
			path, rc < 0 ? err : "the secret is shorter than 16 characters",
			cfg->srs_secret_file);
		return -1;
	}
	return 0;
}

int
config_check_aliases(const struct config *cfg, const char *path)
{
	static char err[65536]; /* every bad line */
	if (check_secret(cfg, path) < 0)
		return -1;
	if (cfg->aliases_file[0] == '\0')
		return 0;
	struct aliases *a = server_aliases_load(cfg->aliases_file, err, sizeof err);
	if (a == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	/* A users file that cannot be read was reported already; no accounts then. */
	char uerr[1024];
	struct users *u =
	    cfg->users_file[0] ? users_load(cfg->users_file, uerr, sizeof uerr) : NULL;
	if (u == NULL)
		u = users_empty();
	struct ask ask = {cfg, u};
	struct alias_env env = {ask_local_domain, ask_user, users_first(u), &ask};
	int rc = aliases_check(a, &env, cfg->ndomains ? cfg->domains[0] : "", err, sizeof err);
	if (rc < 0)
		fprintf(stderr, "%s\n", err);
	struct alias_expansion x = {0};
	if (cfg->ndomains && !users_exists(u, "postmaster", cfg->domains[0]) &&
	    aliases_expand(a, &env, "postmaster", cfg->domains[0], &x) == ALIAS_NONE)
		fprintf(stderr,
			"%s: note: postmaster@ and abuse@ reach no one: the users file has no "
			"account and the aliases file no \"postmaster:\" line; add one, e.g. "
			"\"postmaster: you@%s\"\n",
			path, cfg->ndomains ? cfg->domains[0] : "example.org");
	alias_expansion_free(&x);
	users_free(&u);
	aliases_free(&a);
	return rc;
}
