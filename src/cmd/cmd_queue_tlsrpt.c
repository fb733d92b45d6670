/*
 * `mailport queue tls-report [-c FILE] [--include-today]`: send the
 * pending SMTP TLS reports (RFC 8460) now instead of after midnight.
 *
 * With a server running on the spool, the server does it (a request file,
 * then SIGUSR1, the signal `queue flush` also sends), so
 * only one process ever writes the reports; --include-today leaves the
 * request file the server's report thread looks for first. With no
 * server, this process takes the spool's lock and queues the reports
 * itself; they are delivered when the server starts.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cmd_queue_int.h"
#include "config_load.h"
#include "dkim_keys.h"
#include "dkim_sign.h"
#include "dns.h"
#include "queue_view.h"
#include "run_user.h"
#include "self.h"
#include "spool.h"
#include "str.h"
#include "tlsrpt_daily.h"
#include "tlsrpt_store.h"

/*
 * As root, become the server's account first: the reports and the store's
 * files must be the server's to read and remove, as if it had made them.
 */
static int
become_run_user(const struct config *cfg)
{
	if (geteuid() != 0)
		return 0;
	struct passwd *pw = run_user_get(cfg);
	if (pw == NULL)
		return -1;
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		fprintf(stderr, "mailport queue: cannot become %s: %s\n  fix: run this as %s\n",
			pw->pw_name, strerror(errno), pw->pw_name);
		return -1;
	}
	return 0;
}

/* RFC 8460 3: signed with the config's dkim keys, as the server would. */
static int
sign_report(const char *msg, size_t len, struct buf *out, void *arg)
{
	char why[300];
	int n = dkim_sign_message(arg, (int64_t)time(NULL), msg, len, out, why, sizeof why);
	if (n < 0)
		fprintf(stderr, "mailport queue: the report goes unsigned: %s\n", why);
	return n;
}

/* No server, as the server's account: queue the reports from this process. */
static int
send_as_run_user(const struct config *cfg, bool include_today, struct dkim_keyset *keys)
{
	char err[4200], resolver[300], from[600];
	const char *hostname = cfg->hostname[0] ? cfg->hostname : self_hostname();
	struct spool *sp = spool_open(cfg->spool_dir, err, sizeof err);
	if (sp == NULL) {
		fprintf(stderr, "mailport queue: %s\n", err);
		return errno == EACCES ? EX_NOPERM : EX_IOERR;
	}
	struct tlsrpt_store *st = tlsrpt_store_open(cfg->spool_dir, err, sizeof err);
	config_hostport_format(&cfg->resolver, resolver, sizeof resolver);
	struct dns *dns = st ? dns_new(resolver, 5000, err, sizeof err) : NULL;
	int rc = 0;
	if (dns == NULL) {
		fprintf(stderr, "mailport queue: %s\n", err);
		rc = EX_UNAVAILABLE;
	} else {
		if (cfg->tls_report_from[0])
			str_copy(from, sizeof from, cfg->tls_report_from);
		else
			snprintf(from, sizeof from, "postmaster@%s", hostname);
		struct tlsrpt_send_opts o = {.hostname = hostname,
					     .from = from,
					     .include_today = include_today,
					     .now = (int64_t)time(NULL),
					     .dns = dns,
					     .sp = sp,
					     .sign = keys ? sign_report : NULL,
					     .sign_arg = keys};
		err[0] = '\0';
		int n = tlsrpt_store_send(st, &o, err, sizeof err);
		printf("queued %d TLS report%s; they are delivered when mailport serve runs\n",
		       n < 0 ? 0 : n, n == 1 ? "" : "s");
		if (err[0]) {
			fprintf(stderr, "mailport queue: %s\n  fix: run it again later\n", err);
			rc = EX_TEMPFAIL;
		}
	}
	dns_free(&dns);
	tlsrpt_store_close(&st);
	spool_close(&sp);
	return rc;
}

/* No server: queue the reports from this process. */
static int
send_here(const struct config *cfg, bool include_today)
{
	char err[4200];
	/* The keys are root's (0600): read them before becoming the server's account. */
	struct dkim_keyset *keys = NULL;
	if (cfg->ndkim > 0 && (keys = dkim_keys_load(cfg, err, sizeof err)) == NULL) {
		fprintf(stderr, "mailport queue: %s\n", err);
		return EX_CONFIG;
	}
	int rc = become_run_user(cfg) < 0 ? EX_NOPERM : send_as_run_user(cfg, include_today, keys);
	dkim_keys_free(&keys);
	return rc;
}

int
queue_tls_report(const char *config_path, bool include_today)
{
	struct config cfg;
	char err[4200], req[4200];
	if (config_load_file(config_path, &cfg, err, sizeof err) < 0) {
		fprintf(stderr, "mailport queue: %s\n", err);
		return EX_CONFIG;
	}
	if (cfg.tls_report_off) {
		fprintf(stderr,
			"mailport queue: tls-report is off in %s: nothing is counted or "
			"sent\n  fix: remove \"tls-report off\" to send TLS reports (RFC 8460)\n",
			config_path);
		return EX_CONFIG;
	}
	pid_t pid;
	enum queue_server st = queue_server_pid(cfg.spool_dir, &pid);
	if (st == QUEUE_SERVER_NONE)
		return send_here(&cfg, include_today);
	/* Today's request first: the server takes the send-now one as its cue. */
	for (int i = include_today ? 0 : 1; i < 2; i++) {
		if (i == 0)
			tlsrpt_daily_today_path(cfg.spool_dir, req, sizeof req);
		else
			tlsrpt_daily_request_path(cfg.spool_dir, req, sizeof req);
		int fd = open(req, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0) {
			fprintf(stderr,
				"mailport queue: cannot write %s: %s\n  fix: run this as "
				"root or as the server's user\n",
				req, strerror(errno));
			return errno == EACCES ? EX_NOPERM : EX_IOERR;
		}
		close(fd);
	}
	if (st == QUEUE_SERVER_UNKNOWN || kill(pid, SIGUSR1) < 0) {
		bool perm = errno == EACCES || errno == EPERM;
		fprintf(stderr, "mailport queue: cannot signal the server: %s\n  fix: %s\n",
			errno ? strerror(errno) : "it is starting",
			perm ? "run this as root or as the server's user"
			     : "try again in a moment");
		return perm ? EX_NOPERM : EX_TEMPFAIL;
	}
	printf("asked the mailport server (pid %ld) to send the pending TLS reports%s now\n",
	       (long)pid, include_today ? " (today's so far included)" : "");
	return 0;
}
