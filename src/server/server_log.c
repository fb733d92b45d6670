/*
 * server_log: where serve's lines go ("log stderr|syslog|FILE"), opened at
 * start while still root, and opened again when logrotate asks.
 *
 * A log file is created 0640 and given to the run user at start, so that
 * after privileges drop the server can still open it again by its name:
 * logrotate's "create 0640 mailport adm" makes the new file before it sends
 * SIGUSR2 (or SIGHUP), and the server, no longer root, opens that one.
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "run_user.h"
#include "server_internal.h"
#include "str.h"
#include "xevent.h"

static enum log_sink
sink_of(const struct config *cfg)
{
	return cfg->log == CONFIG_LOG_SYSLOG ? LOG_SINK_SYSLOG
	       : cfg->log == CONFIG_LOG_FILE ? LOG_SINK_FILE
					     : LOG_SINK_STDERR;
}

int
server_log_open(struct server *srv)
{
	const struct config *cfg = &srv->cfg;
	char err[4300];
	if (cfg->log == CONFIG_LOG_STDERR)
		return 0;
	if (log_open(sink_of(cfg), cfg->log_file, err, sizeof err) < 0) {
		fprintf(stderr,
			"mailport: %s\n  fix: create its folder, or make the log line of %s name a "
			"file this user may write (or use \"log syslog\")\n",
			err, srv->config_path);
		return -1;
	}
	if (cfg->log == CONFIG_LOG_FILE && geteuid() == 0) {
		struct passwd *pw = run_user_get(cfg);
		if (pw == NULL)
			return -1;
		if (chown(cfg->log_file, pw->pw_uid, pw->pw_gid) < 0) {
			fprintf(
			    stderr,
			    "mailport: cannot give the log file %s to %s: %s\n  fix: put it on a "
			    "local file system root may chown on\n",
			    cfg->log_file, pw->pw_name, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Where the lines go, in words, for the log. */
static const char *
target_text(const struct config *cfg)
{
	return cfg->log == CONFIG_LOG_SYSLOG ? "syslog"
	       : cfg->log == CONFIG_LOG_FILE ? cfg->log_file
					     : "stderr";
}

void
server_log_reload(struct server *srv, const struct config *cfg, const char *why)
{
	const struct config *old = &srv->cfg;
	char err[4300], esc[4400];
	bool changed = old->log != cfg->log ||
		       (cfg->log == CONFIG_LOG_FILE && strcmp(old->log_file, cfg->log_file) != 0);
	int rc = changed ? log_open(sink_of(cfg), cfg->log_file, err, sizeof err)
			 : log_reopen(err, sizeof err);
	if (rc < 0) {
		log_err(
		    "event=log_reopen_failed signal=%s error=\"%s\" fix=\"the server runs as its "
		    "own user now: make the file writable by it (logrotate: create 0640 "
		    "mailport adm)\"",
		    why, str_escape(esc, sizeof esc, err, strlen(err)));
		return;
	}
	log_info("event=log_reopened signal=%s log=\"%s\"", why,
		 str_escape(esc, sizeof esc, target_text(cfg), strlen(target_text(cfg))));
}

/* SIGUSR2: logrotate moved the file away. */
static void
on_usr2(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	(void)sig;
	(void)what;
	server_log_reload(srv, &srv->cfg, "SIGUSR2");
}

void
server_log_watch(struct server *srv)
{
	srv->log_ev = xevsignal_new(srv->base, SIGUSR2, on_usr2, srv);
	event_add(srv->log_ev, NULL);
}
