/*
 * server_users: the users table the sessions share, counted by reference
 * (a reload swaps it while logins in flight keep the old one), and read
 * again when its file changes.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "auth_cache.h"
#include "fixes.h"
#include "log.h"
#include "server_internal.h"
#include "users.h"
#include "xmalloc.h"

struct users_ref *
server_users_ref_new(struct users *u)
{
	struct users_ref *ref = xcalloc(1, sizeof *ref);
	ref->users = u;
	ref->refs = 1;
	return ref;
}

void
server_users_put(struct users_ref **refp)
{
	struct users_ref *ref = *refp;
	if (ref && --ref->refs == 0) {
		users_free(&ref->users);
		free(ref);
	}
	*refp = NULL;
}

struct users *
server_users_load(const struct config *cfg, bool *ok_r)
{
	char err[512];
	*ok_r = true;
	if (cfg->users_file[0] == '\0')
		return users_empty();
	struct users *u = users_load(cfg->users_file, err, sizeof err);
	if (u)
		return u;
	const struct fix *f = fix_get(FIX_USERS_UNREADABLE);
	log_warn("event=users_error error=\"%s\" what=\"%s\" cause=\"%s\" fix=\"%s\"", err, f->what,
		 f->cause, f->fix);
	*ok_r = false;
	return NULL;
}

void
server_users_replace(struct server *srv, struct users *u)
{
	server_users_put(&srv->users);
	srv->users = server_users_ref_new(u);
	/* A changed file may change a password: forget remembered logins. */
	if (srv->auth_cache)
		auth_cache_clear(srv->auth_cache);
}

/*
 * Adding a user should not need a reload: the file is checked (at most once
 * a second for recipients, at every login: a user added a moment ago logs
 * in at once, and a stat is nothing beside a password hash) and re-read when
 * it changed.
 */
struct users_ref *
server_users_get(struct server *srv, bool for_login)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	struct stat st;
	if (srv->cfg.users_file[0] && (for_login || now.tv_sec != srv->users_checked.tv_sec) &&
	    stat(srv->cfg.users_file, &st) == 0) {
		srv->users_checked = now;
		if (st.st_mtim.tv_sec != srv->users_mtime.tv_sec ||
		    st.st_mtim.tv_nsec != srv->users_mtime.tv_nsec) {
			bool ok;
			struct users *u = server_users_load(&srv->cfg, &ok);
			srv->users_mtime = st.st_mtim;
			if (u) {
				server_users_replace(srv, u);
				log_info("event=users_reloaded file=%s", srv->cfg.users_file);
			}
		}
	}
	srv->users->refs++;
	return srv->users;
}
