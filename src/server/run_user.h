/*
 * run_user: the account `mailport serve` becomes after binding when started
 * as root, and what that account must be able to reach.
 *
 * The default account is `mailport`. When it does not exist it is created
 * as a system account (useradd --system: its own group, no home folder, a
 * nologin shell), as a distribution package would on install; when that
 * fails the start fails with the command to run. `nobody` is never used
 * silently: other daemons share it and could read the spool, the mail and
 * the TLS key. An account named in the `user` directive is used as it is
 * and never created (a typo must not make an account).
 *
 * Before the drop, a child process takes the run user's identity (the same
 * setgroups/setgid/setuid as the drop) and walks every path the server
 * needs, so a folder it cannot enter (a checkout in /root, mode 0700) is
 * named with the fix, instead of a bare EACCES from the spool later.
 *
 * Files holding secrets (the users file's hashes, the TLS key) readable by
 * every account are reported with a warning and the chmod that fixes them;
 * the start goes on, so an upgrade does not stop a working server.
 */
#ifndef MP_RUN_USER_H
#define MP_RUN_USER_H

#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/*
 * The account to run as (root only). Creates `mailport` when cfg names no
 * account and it does not exist. NULL after printing what went wrong and
 * the fix on stderr. The result is getpwnam(3)'s static storage.
 */
struct passwd *run_user_get(const struct config *cfg);

/* What the run user must be able to do with a path. */
enum run_need {
	RUN_NEED_DIR,  /* enter, list and write: the spool, the mailboxes */
	RUN_NEED_READ, /* read (a missing file is fine): for reloads */
};

struct run_path {
	const char *path;
	enum run_need need;
	bool required;	  /* false: a warning (reloads will fail), not a failed start */
	const char *what; /* "spool", "users file", ... for the messages */
};

/*
 * Check as pw that each path can be reached. A required path that cannot
 * is printed on stderr with the blocking folder and the fix (-1); others
 * are logged as warnings. 0 when every required path works.
 */
int run_user_check_paths(const struct passwd *pw, const struct run_path *paths, size_t n);

/*
 * Warn (log) when a file holding secrets can be read by every account.
 * what names it in the log; a missing file is fine.
 */
void run_user_check_secret_file(const char *path, const char *what);

/*
 * Create the users file, empty, when cfg names one that does not exist, so
 * that `mailport passwd >> FILE` appends to a private file: 0640 root and
 * the run user's group when root (the server re-reads it as that user and
 * must not be able to change it), else 0600. pw may be NULL (not root).
 */
void run_user_make_users_file(const struct config *cfg, const struct passwd *pw);

#endif
