/*
 * run_user: the run account, its creation, and the paths it must reach
 * (see the header).
 */
#include "run_user.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "fixes.h"
#include "log.h"
#include "str.h"

#define DEFAULT_RUN_USER "mailport"

extern char **environ;

/* useradd, as a package's postinst would run it. 0 when it exited 0. */
static int
useradd_mailport(void)
{
	static const char *const paths[] = {"/usr/sbin/useradd", "/sbin/useradd"};
	char *argv[] = {"useradd",    "--system",	 "--user-group",   "--no-create-home",
			"--home-dir", "/nonexistent",	 "--shell",	   "/usr/sbin/nologin",
			"--comment",  "mailport server", DEFAULT_RUN_USER, NULL};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		if (access(paths[i], X_OK) != 0)
			continue;
		pid_t pid;
		if (posix_spawn(&pid, paths[i], NULL, NULL, argv, environ) != 0)
			return -1;
		int status;
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				return -1;
		return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
	}
	errno = ENOENT;
	return -1;
}

/* The fix table's block for a start that cannot go on. */
static void
print_fix(const struct fix_text *t)
{
	fprintf(stderr, "mailport: %s\n  cause: %s\n  fix: %s\n", t->what, t->cause, t->fix);
}

struct passwd *
run_user_get(const struct config *cfg)
{
	if (cfg->run_user[0]) {
		struct passwd *pw = getpwnam(cfg->run_user);
		struct fix_text t;
		if (pw == NULL) {
			fix_text_name(&t, FIX_RUN_USER_UNKNOWN, cfg->run_user);
			print_fix(&t);
		} else if (strcmp(cfg->run_user, "nobody") == 0)
			log_warn(
			    "event=run_user_shared user=nobody note=\"other daemons running as "
			    "nobody can read the spool, the mail and the TLS key\" fix=\"remove "
			    "the 'user nobody' line: mailport then makes its own account\"");
		return pw;
	}
	struct passwd *pw = getpwnam(DEFAULT_RUN_USER);
	if (pw)
		return pw;
	/* Another server starting at the same moment may win the race: look again. */
	if (useradd_mailport() < 0 && (pw = getpwnam(DEFAULT_RUN_USER)) == NULL) {
		struct fix_text t;
		fix_text(&t, FIX_RUN_USER_CREATE);
		print_fix(&t);
		return NULL;
	}
	pw = pw ? pw : getpwnam(DEFAULT_RUN_USER);
	if (pw)
		log_info("event=run_user_created user=%s uid=%u gid=%u note=\"a system account "
			 "with no home and no login shell, for the server alone\"",
			 pw->pw_name, (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
	return pw;
}

/* ---- paths ---- */

/*
 * In the child, as the run user: the first folder of path it cannot enter
 * (kind 'E'), or path itself failing its need (kind 'F'). 0: all fine.
 */
static char
walk_path(const char *path, enum run_need need, char *blocked, size_t size, int *errno_r)
{
	char p[PATH_MAX];
	if (path[0] == '\0')
		return 0; /* not configured (no users file; no mailboxes with deliver lmtp) */
	if (!str_copy(p, sizeof p, path))
		return 0; /* too long: the spool says so itself */
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		int rc = access(p, X_OK);
		*s = '/';
		if (rc < 0 && errno != ENOENT) {
			*errno_r = errno;
			str_copy_n(blocked, size, p, (size_t)(s - p));
			return 'E';
		}
	}
	if (access("/", X_OK) < 0) {
		*errno_r = errno;
		str_copy(blocked, size, "/");
		return 'E';
	}
	int mode = need == RUN_NEED_DIR ? R_OK | W_OK | X_OK : R_OK;
	if (access(p, mode) < 0 && errno != ENOENT) {
		*errno_r = errno;
		str_copy(blocked, size, p);
		return 'F';
	}
	return 0;
}

/* The child: become pw exactly as the drop does, walk, report one line per path. */
static void
check_child(int fd, const struct passwd *pw, const struct run_path *paths, size_t n)
{
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		_exit(2);
	for (size_t i = 0; i < n; i++) {
		char blocked[PATH_MAX], line[PATH_MAX + 64];
		int err = 0;
		char kind = walk_path(paths[i].path, paths[i].need, blocked, sizeof blocked, &err);
		if (kind == 0)
			continue;
		int len = snprintf(line, sizeof line, "%zu %c %d %s\n", i, kind, err, blocked);
		if (len > 0 && write(fd, line, (size_t)len) < 0)
			_exit(3);
	}
	_exit(0);
}

/* "mode 0700, owner root". The _r lookups leave getpwnam's static result alone. */
static void
describe(const char *path, char *out, size_t size)
{
	struct stat st;
	struct passwd pwbuf, *o = NULL;
	char strings[1024];
	if (stat(path, &st) < 0) {
		snprintf(out, size, "%s", strerror(errno));
		return;
	}
	if (getpwuid_r(st.st_uid, &pwbuf, strings, sizeof strings, &o) != 0)
		o = NULL;
	if (o)
		snprintf(out, size, "mode %04o, owner %s", (unsigned)(st.st_mode & 07777),
			 o->pw_name);
	else
		snprintf(out, size, "mode %04o, owner uid %u", (unsigned)(st.st_mode & 07777),
			 (unsigned)st.st_uid);
}

static void
group_name(gid_t gid, char *out, size_t size)
{
	struct group grbuf, *g = NULL;
	char strings[1024];
	if (getgrgid_r(gid, &grbuf, strings, sizeof strings, &g) == 0 && g)
		str_copy(out, size, g->gr_name);
	else
		snprintf(out, size, "%u", (unsigned)gid);
}

/* One path the run user cannot use: a failed start (required) or a warning. */
static void
report(const struct passwd *pw, const struct run_path *rp, char kind, int err, const char *blocked)
{
	char how[128], fix[1024];
	describe(blocked, how, sizeof how);
	if (kind == 'E')
		snprintf(fix, sizeof fix,
			 "keep it in a folder %s can enter (for example under /var/lib/mailport), "
			 "or let %s through with 'setfacl -m u:%s:x %s' ('chmod o+x %s' lets "
			 "every account through)",
			 pw->pw_name, pw->pw_name, pw->pw_name, blocked, blocked);
	else if (rp->need == RUN_NEED_DIR)
		snprintf(fix, sizeof fix, "chown -R %s: %s", pw->pw_name, blocked);
	else {
		char group[256];
		group_name(pw->pw_gid, group, sizeof group);
		snprintf(fix, sizeof fix, "chgrp %s %s && chmod g+r %s", group, blocked, blocked);
	}
	if (rp->required) {
		fprintf(stderr,
			"mailport: the %s %s cannot be used by %s, the account mailport runs "
			"as: it cannot %s %s (%s; %s)\n  fix: %s\n",
			rp->what, rp->path, pw->pw_name, kind == 'E' ? "enter" : "use", blocked,
			how, strerror(err), fix);
		return;
	}
	log_warn("event=run_user_cannot_read what=\"%s\" path=%s user=%s blocked=%s detail=\"%s\" "
		 "note=\"read as root at start; re-reading it (SIGHUP, a changed file) will fail\" "
		 "fix=\"%s\"",
		 rp->what, rp->path, pw->pw_name, blocked, how, fix);
}

int
run_user_check_paths(const struct passwd *pw, const struct run_path *paths, size_t n)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return 0; /* cannot check: the spool's own errors remain */
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		check_child(fds[1], pw, paths, n);
	}
	close(fds[1]);
	struct buf out;
	buf_init(&out, 1 << 20);
	char chunk[4096];
	ssize_t got;
	while ((got = read(fds[0], chunk, sizeof chunk)) > 0 || (got < 0 && errno == EINTR))
		if (got > 0 && !buf_append(&out, chunk, (size_t)got))
			break;
	close(fds[0]);
	int status = 0;
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	int rc = 0;
	for (char *line = out.data, *nl; line && (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		size_t i;
		char kind;
		int err, off = 0;
		if (sscanf(line, "%zu %c %d %n", &i, &kind, &err, &off) < 3 || off == 0 || i >= n)
			continue;
		report(pw, &paths[i], kind, err, line + off);
		if (paths[i].required)
			rc = -1;
	}
	buf_free(&out);
	return rc;
}

void
run_user_check_secret_file(const char *path, const char *what)
{
	struct stat st;
	if (path[0] == '\0' || stat(path, &st) < 0 || !(st.st_mode & S_IROTH))
		return;
	log_warn("event=file_readable_by_others what=\"%s\" path=%s mode=%04o note=\"every "
		 "account on this machine can read it\" fix=\"chmod o-r %s (0640, group of the "
		 "server's account, or 0600)\"",
		 what, path, (unsigned)(st.st_mode & 07777), path);
}

void
run_user_make_users_file(const struct config *cfg, const struct passwd *pw)
{
	if (cfg->users_file[0] == '\0')
		return;
	int fd = open(cfg->users_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return; /* it exists (or cannot be made: loading it says so) */
	if (pw && (fchown(fd, 0, pw->pw_gid) < 0 || fchmod(fd, 0640) < 0))
		log_warn("event=chown_failed path=%s error=\"%s\"", cfg->users_file,
			 strerror(errno));
	close(fd);
	log_info("event=users_file_created path=%s mode=%s note=\"add accounts with: mailport "
		 "passwd --user ADDR >> %s\"",
		 cfg->users_file, pw ? "0640" : "0600", cfg->users_file);
}
