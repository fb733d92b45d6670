/*
 * `mailport queue list|show ID|flush [ID]|delete ID|tls-report [-c FILE] [--json]`:
 * the server operator's view of the spool (DESIGN.md). It opens the spool
 * as a reader (spool_open_reader: no lock, no cleanup), so it is safe while
 * the server runs; flush signals the server (SIGUSR1) instead of
 * delivering itself, so only one process ever delivers. Reading and
 * printing are in spool/queue_view.c.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cmd.h"
#include "cmd_queue_int.h"
#include "config_load.h"
#include "queue_view.h"
#include "str.h"

#define DEFAULT_CONFIG "/etc/mailport/mailport.conf"

struct queue_cmd {
	const char *config;
	bool json;
	bool include_today; /* tls-report --include-today */
	char spool_dir[4096];
	struct spool *sp; /* NULL when the spool does not exist yet */
};

static void
queue_usage(FILE *out)
{
	fprintf(out, "usage: mailport queue list|show ID|flush [ID]|delete ID|tls-report [-c FILE] "
		     "[--json] [--include-today]\n"
		     "\n"
		     "The server's queue, safe to use while it runs:\n"
		     "  list        one line per queued message: ID, size, age, sender and the\n"
		     "              recipients still to deliver; then a total line\n"
		     "  show ID     the envelope and the message headers (not the body)\n"
		     "  flush [ID]  ask the running server to attempt delivery of the queue now\n"
		     "  delete ID   remove the message from the queue, undelivered\n"
		     "  tls-report  send the pending SMTP TLS reports (RFC 8460) of past days now\n"
		     "              (the server sends them after each UTC midnight)\n"
		     "\n"
		     "  -c, --config FILE  the server's config file (default " DEFAULT_CONFIG ")\n"
		     "      --json         one JSON object on stdout, for scripts (list, show)\n"
		     "      --include-today  tls-report: today's sessions so far too\n"
		     "  -h, --help         show this help\n"
		     "\n"
		     "Deferred mail shows its next attempt and last error; flush tries it now.\n"
		     "exit status: 0 ok, 64 bad usage, 66 no such message, 69 no server running\n"
		     "(flush), 77 permission denied, 78 config error\n");
}

/* A message the user can act on, escaped: the argument may be anything. */
static int
fail_id(const char *id, const char *what)
{
	char esc[128];
	fprintf(stderr, "mailport queue: %s %s\n  fix: see the IDs with: mailport queue list\n",
		what, str_escape(esc, sizeof esc, id, strlen(id)));
	return EX_NOINPUT;
}

/* Canonical id in out, or the exit status (66) after saying why. */
static int
check_id(const char *arg, char out[SPOOL_QID_SIZE])
{
	if (!queue_id_parse(arg, out))
		return fail_id(arg, "not a queue ID (16 hex characters):");
	return 0;
}

/* Read one message; on failure say why and return the exit status. */
static int
read_msg(struct queue_cmd *qc, const char *id, bool headers, struct queue_msg *m)
{
	if (qc->sp && queue_msg_read(qc->sp, id, headers, m) == 0)
		return 0;
	if (qc->sp == NULL || errno == ENOENT)
		return fail_id(id, "no message in the queue with the ID");
	fprintf(stderr, "mailport queue: cannot read message %s: %s\n", id, strerror(errno));
	return errno == EACCES ? EX_NOPERM : EX_DATAERR;
}

static int
do_list(struct queue_cmd *qc)
{
	char **ids = NULL;
	size_t n = 0, got = 0;
	if (qc->sp && spool_list(qc->sp, &ids, &n) < 0) {
		fprintf(stderr, "mailport queue: cannot list %s/queue: %s\n", qc->spool_dir,
			strerror(errno));
		return errno == EACCES ? EX_NOPERM : EX_IOERR;
	}
	struct queue_msg *msgs = calloc(n ? n : 1, sizeof *msgs);
	if (msgs == NULL) {
		spool_ids_free(ids, n);
		return EX_OSERR;
	}
	for (size_t i = 0; i < n; i++) {
		if (queue_msg_read(qc->sp, ids[i], false, &msgs[got]) == 0)
			got++;
		else if (errno != ENOENT) /* ENOENT: delivered while we listed */
			fprintf(stderr, "mailport queue: skipping unreadable message %s: %s\n",
				ids[i], strerror(errno));
	}
	queue_print_list(stdout, msgs, got, time(NULL), qc->json);
	for (size_t i = 0; i < got; i++)
		queue_msg_free(&msgs[i]);
	free(msgs);
	spool_ids_free(ids, n);
	return 0;
}

static int
do_show(struct queue_cmd *qc, const char *arg)
{
	char id[SPOOL_QID_SIZE];
	struct queue_msg m;
	int rc = check_id(arg, id);
	if (rc == 0)
		rc = read_msg(qc, id, true, &m);
	if (rc != 0)
		return rc;
	queue_print_show(stdout, &m, time(NULL), qc->json);
	queue_msg_free(&m);
	return 0;
}

static int
do_delete(struct queue_cmd *qc, const char *arg)
{
	char id[SPOOL_QID_SIZE], from[128];
	struct queue_msg m;
	int rc = check_id(arg, id);
	if (rc == 0)
		rc = read_msg(qc, id, false, &m);
	if (rc != 0)
		return rc;
	/* The server may be delivering it right now: harmless, its reads of a
	 * removed message end in ENOENT (spool.h), and nothing is left behind. */
	if (spool_entry_remove(qc->sp, id) < 0) {
		fprintf(stderr, "mailport queue: cannot remove %s: %s\n", id, strerror(errno));
		queue_msg_free(&m);
		return errno == EACCES || errno == EPERM ? EX_NOPERM : EX_IOERR;
	}
	printf("removed %s: %" PRIu64 " bytes from <%s>, %zu recipient%s not delivered\n", id,
	       m.size, str_escape(from, sizeof from, m.from, strlen(m.from)), m.npending,
	       m.npending == 1 ? "" : "s");
	queue_msg_free(&m);
	return 0;
}

static int
do_flush(struct queue_cmd *qc, const char *arg)
{
	char id[SPOOL_QID_SIZE];
	struct queue_msg m;
	int rc = arg ? check_id(arg, id) : 0;
	if (rc == 0 && arg && (rc = read_msg(qc, id, false, &m)) == 0)
		queue_msg_free(&m);
	if (rc != 0)
		return rc;
	pid_t pid;
	enum queue_server st = queue_server_pid(qc->spool_dir, &pid);
	if (st == QUEUE_SERVER_NONE) {
		fprintf(
		    stderr,
		    "mailport queue: no mailport server is running on the spool %s\n"
		    "  fix: start mailport serve -c %s (it delivers the queue when it starts)\n",
		    qc->spool_dir, qc->config);
		return EX_UNAVAILABLE;
	}
	if (st == QUEUE_SERVER_UNKNOWN || kill(pid, SIGUSR1) < 0) {
		bool perm = errno == EACCES || errno == EPERM;
		fprintf(stderr, "mailport queue: cannot signal the server: %s\n  fix: %s\n",
			errno ? strerror(errno) : "it is starting",
			perm ? "run this as root or as the server's user"
			     : "try again in a moment");
		return perm ? EX_NOPERM : EX_TEMPFAIL;
	}
	/* The server rescans the whole queue: the one message is part of it. */
	printf("asked the mailport server (pid %ld) to attempt delivery of %s now\n", (long)pid,
	       arg ? id : "the queue");
	return 0;
}

/* Config, then the spool as a reader; a spool not made yet holds nothing. */
static int
queue_open(struct queue_cmd *qc)
{
	struct config cfg;
	char err[4200];
	if (config_load_file(qc->config, &cfg, err, sizeof err) < 0) {
		fprintf(stderr, "mailport queue: %s\n", err);
		return EX_CONFIG;
	}
	str_copy(qc->spool_dir, sizeof qc->spool_dir, cfg.spool_dir);
	errno = 0;
	qc->sp = spool_open_reader(qc->spool_dir, err, sizeof err);
	if (qc->sp || errno == ENOENT)
		return 0;
	fprintf(stderr, "mailport queue: %s\n", err);
	return errno == EACCES ? EX_NOPERM : EX_IOERR;
}

static int
queue_dispatch(struct queue_cmd *qc, int nargs, char **args)
{
	static const struct {
		const char *verb;
		int min, max; /* arguments after the verb */
	} verbs[] = {{"list", 0, 0},
		     {"show", 1, 1},
		     {"flush", 0, 1},
		     {"delete", 1, 1},
		     {"tls-report", 0, 0}};
	const char *verb = args[0];
	size_t v = 0;
	while (v < sizeof verbs / sizeof verbs[0] && strcmp(verb, verbs[v].verb) != 0)
		v++;
	if (v == sizeof verbs / sizeof verbs[0] || nargs - 1 < verbs[v].min ||
	    nargs - 1 > verbs[v].max) {
		fprintf(stderr, "mailport queue: %s '%s'\n\n",
			v == sizeof verbs / sizeof verbs[0] ? "unknown command"
							    : "wrong arguments for",
			verb);
		queue_usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(verb, "tls-report") == 0)
		return queue_tls_report(qc->config, qc->include_today);
	int rc = queue_open(qc);
	if (rc != 0)
		return rc;
	if (strcmp(verb, "list") == 0)
		rc = do_list(qc);
	else if (strcmp(verb, "show") == 0)
		rc = do_show(qc, args[1]);
	else if (strcmp(verb, "delete") == 0)
		rc = do_delete(qc, args[1]);
	else
		rc = do_flush(qc, nargs > 1 ? args[1] : NULL);
	spool_close(&qc->sp);
	return rc;
}

int
cmd_queue(int argc, char **argv)
{
	struct queue_cmd qc = {.config = DEFAULT_CONFIG};
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"include-today", no_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		if (c == 'c') {
			qc.config = optarg;
		} else if (c == 'j') {
			qc.json = true;
		} else if (c == 't') {
			qc.include_today = true;
		} else if (c == 'h') {
			queue_usage(stdout);
			return 0;
		} else {
			queue_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		queue_usage(stderr);
		return EX_USAGE;
	}
	return queue_dispatch(&qc, argc - optind, argv + optind);
}
