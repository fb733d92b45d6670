/*
 * server_aliases: the aliases file and SRS on the server's side (aliases.h,
 * srs.h). Everything here runs on the event loop's thread, so the table
 * needs no lock and no reference count: it is replaced between two
 * sessions' commands, never under one.
 *
 * A recipient of one of our domains is, in this order: an SRS address of
 * ours (a bounce of mail we forwarded: it goes back to the original
 * sender), an alias, an account. Aliases are expanded when the message is
 * queued (as Postfix's cleanup does with virtual aliases), so the queue
 * holds the real recipients: accounts for the local agent, other domains'
 * addresses for the outbound agent, which rewrites the sender with SRS.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "aliases.h"
#include "log.h"
#include "run_user.h"
#include "secret.h"
#include "server_internal.h"
#include "srs.h"
#include "str.h"
#include "xmalloc.h"

/* The aliases file read and parsed; NULL with the reasons in err. */
static struct aliases *
load(const char *path, char *err, size_t err_size)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, err_size, "%s: cannot read the aliases file: %s", path,
			 strerror(errno));
		return NULL;
	}
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	char chunk[8192];
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (len + n > cap) {
			cap = (len + n) * 2;
			text = xrealloc(text, cap);
		}
		memcpy(text + len, chunk, n);
		len += n;
	}
	bool bad = ferror(f);
	fclose(f);
	struct aliases *a = NULL;
	if (bad)
		snprintf(err, err_size, "%s: cannot read the aliases file: read error", path);
	else
		a = aliases_parse(text ? text : "", len, path, err, err_size);
	free(text);
	return a;
}

struct aliases *
server_aliases_load(const char *path, char *err, size_t err_size)
{
	return path[0] ? load(path, err, err_size) : aliases_empty();
}

/* Re-read the file into srv (kept as it was when it cannot be read or is bad). */
static void
reread(struct server *srv, const char *why)
{
	char err[2048];
	struct aliases *a = server_aliases_load(srv->cfg.aliases_file, err, sizeof err);
	if (a == NULL) {
		for (char *p = err; (p = strchr(p, '\n')) != NULL;)
			*p = ' '; /* one log line */
		log_warn("event=aliases_error error=\"%s\" fix=\"correct the file (mailport config "
			 "check names each line); the aliases before stay in force\"",
			 err);
		return;
	}
	aliases_free(&srv->aliases);
	srv->aliases = a;
	log_info("event=aliases_%s file=%s aliases=%zu", why,
		 srv->cfg.aliases_file[0] ? srv->cfg.aliases_file : "(none)", aliases_count(a));
}

/* At most once a second: a changed file is read again (as the users file is). */
static void
maybe_reread(struct server *srv)
{
	struct timespec now;
	struct stat st;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (srv->cfg.aliases_file[0] == '\0' || now.tv_sec == srv->aliases_checked.tv_sec)
		return;
	srv->aliases_checked = now;
	if (stat(srv->cfg.aliases_file, &st) != 0 ||
	    (st.st_mtim.tv_sec == srv->aliases_mtime.tv_sec &&
	     st.st_mtim.tv_nsec == srv->aliases_mtime.tv_nsec))
		return;
	srv->aliases_mtime = st.st_mtim;
	reread(srv, "reloaded");
}

int
server_aliases_start(struct server *srv)
{
	char err[4096];
	struct stat st;
	if (srv->cfg.aliases_file[0] && stat(srv->cfg.aliases_file, &st) == 0)
		srv->aliases_mtime = st.st_mtim;
	srv->aliases = server_aliases_load(srv->cfg.aliases_file, err, sizeof err);
	if (srv->aliases == NULL) {
		fprintf(stderr,
			"mailport: %s\n  fix: correct those lines of the aliases file "
			"(mailport config check shows them all)\n",
			err);
		return -1;
	}
	/* The secret stays the admin's (root, 0600): read it now, like the relay password. */
	if (srv->cfg.srs_secret_file[0]) {
		/* Whoever reads it can make SRS addresses that we relay. */
		run_user_check_secret_file(srv->cfg.srs_secret_file, "SRS secret");
		if (secret_get(SECRET_FILE, srv->cfg.srs_secret_file, srv->srs_secret,
			       sizeof srv->srs_secret, err, sizeof err) < 0 ||
		    strlen(srv->srs_secret) < 16) {
			fprintf(stderr,
				"mailport: srs-secret: %s\n  fix: put a random line of at least 16 "
				"characters in it, e.g. \"head -c 24 /dev/urandom | base64 > %s\", "
				"the same file on every node\n",
				srv->srs_secret[0] ? "the secret is shorter than 16 characters"
						   : err,
				srv->cfg.srs_secret_file);
			return -1;
		}
	}
	return 0;
}

void
server_aliases_reload(struct server *srv)
{
	struct stat st;
	if (srv->cfg.aliases_file[0] && stat(srv->cfg.aliases_file, &st) == 0)
		srv->aliases_mtime = st.st_mtim;
	reread(srv, "reload");
}

void
server_aliases_stop(struct server *srv)
{
	aliases_free(&srv->aliases);
	explicit_bzero(srv->srs_secret, sizeof srv->srs_secret);
}

/* ---- the expansion's questions ---- */

struct ask {
	struct server *srv;
	struct users_ref *users;
};

static bool
ask_local_domain(void *ctx, const char *domain)
{
	return config_is_local_domain(&((struct ask *)ctx)->srv->cfg, domain);
}

/*
 * Is local@domain a mailbox? "deliver lmtp" without a users file: the LMTP
 * server knows the mailboxes, so every address of our domains is taken, and
 * its RCPT reply at delivery decides (an unknown one is returned, 5.1.1).
 */
static bool
is_mailbox(const struct server *srv, const struct users *u, const char *local, const char *domain)
{
	if (srv->cfg.deliver == CONFIG_DELIVER_LMTP && srv->cfg.users_file[0] == '\0')
		return true;
	return users_exists(u, local, domain);
}

static bool
ask_user(void *ctx, const char *local, const char *domain)
{
	struct ask *a = ctx;
	return is_mailbox(a->srv, a->users->users, local, domain);
}

static enum alias_result
expand(struct server *srv, const char *local, const char *domain, struct alias_expansion *x)
{
	maybe_reread(srv);
	struct ask ask = {srv, server_users_get(srv, false)};
	struct alias_env env = {ask_local_domain, ask_user, users_first(ask.users->users), &ask};
	enum alias_result r = aliases_expand(srv->aliases, &env, local, domain, x);
	server_users_put(&ask.users);
	return r;
}

/* An SRS local part of ours, taken back: the original sender in out. */
static enum srs_result
srs_back(struct server *srv, const char *local, char *out, size_t size)
{
	if (srv->srs_secret[0] == '\0' || !srs_is_srs(local))
		return SRS_NOT_SRS;
	struct srs_key k = {(const unsigned char *)srv->srs_secret, strlen(srv->srs_secret)};
	return srs_reverse(&k, local, time(NULL), out, size);
}

enum smtp_local_rcpt
server_rcpt_kind(struct server *srv, const char *local, const char *domain)
{
	char back[ALIAS_ADDR_MAX + 1];
	enum srs_result sr = srs_back(srv, local, back, sizeof back);
	if (sr == SRS_OK)
		return SMTP_RCPT_OK;
	if (sr != SRS_NOT_SRS) {
		log_info("event=srs_refused to=<%s@%s> reason=\"%s\"", local, domain,
			 srs_result_text(sr));
		return SMTP_RCPT_UNKNOWN;
	}
	struct alias_expansion x = {0};
	enum alias_result r = expand(srv, local, domain, &x);
	if (r == ALIAS_LOOP || r == ALIAS_TOO_MANY)
		log_warn("event=alias_loop to=<%s@%s> at=<%s> line=%d fix=\"break the cycle in the "
			 "aliases file\"",
			 local, domain, x.where, x.line);
	alias_expansion_free(&x);
	if (r == ALIAS_LOOP || r == ALIAS_TOO_MANY)
		return SMTP_RCPT_LOOP;
	if (r == ALIAS_EXPANDED)
		return SMTP_RCPT_OK;
	struct users_ref *ref = server_users_get(srv, false);
	bool found = is_mailbox(srv, ref->users, local, domain);
	server_users_put(&ref);
	return found ? SMTP_RCPT_OK : SMTP_RCPT_UNKNOWN;
}

/* Append addr ("local@domain") as a recipient like r, once. */
static void
push(struct smtp_rcpt_args **v, size_t *n, size_t *cap, const struct smtp_rcpt_args *r,
     const char *addr)
{
	const char *at = strrchr(addr, '@');
	struct smtp_rcpt_args t = *r;
	if (at == NULL || !str_copy_n(t.to.local, sizeof t.to.local, addr, (size_t)(at - addr)) ||
	    !str_copy(t.to.domain, sizeof t.to.domain, at + 1))
		return;
	for (size_t i = 0; i < *n; i++)
		if (str_eq_ci((*v)[i].to.local, t.to.local) &&
		    str_eq_ci((*v)[i].to.domain, t.to.domain))
			return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*v = xrealloc(*v, *cap * sizeof **v);
	}
	(*v)[(*n)++] = t;
}

size_t
server_rcpt_expand(struct server *srv, const char *sid, const struct smtp_rcpt_args *in, size_t n,
		   struct smtp_rcpt_args **out)
{
	size_t nout = 0, cap = 0;
	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct smtp_rcpt_args *r = &in[i];
		char addr[ALIAS_ADDR_MAX + 1];
		snprintf(addr, sizeof addr, "%s@%s", r->to.local, r->to.domain);
		if (!config_is_local_domain(&srv->cfg, r->to.domain)) {
			push(out, &nout, &cap, r, addr);
			continue;
		}
		char back[ALIAS_ADDR_MAX + 1];
		if (srs_back(srv, r->to.local, back, sizeof back) == SRS_OK) {
			log_info("session=%s event=srs_return to=<%s> original=<%s>", sid, addr,
				 back);
			push(out, &nout, &cap, r, back);
			continue;
		}
		struct alias_expansion x = {0};
		if (expand(srv, r->to.local, r->to.domain, &x) == ALIAS_EXPANDED) {
			for (size_t j = 0; j < x.n; j++) {
				log_info("session=%s event=alias to=<%s> target=<%s>%s", sid, addr,
					 x.v[j].addr, x.v[j].remote ? " forward=yes" : "");
				push(out, &nout, &cap, r, x.v[j].addr);
			}
		} else {
			push(out, &nout, &cap, r, addr);
		}
		alias_expansion_free(&x);
	}
	return nout;
}
