/*
 * `mailport verify ADDR... | --file F`: is an address worth mailing
 * (issue 7; DESIGN.md)? This file reads the options and the input and
 * prints; the pipeline and the renderings are client/verify.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "dns.h"
#include "elapsed.h"
#include "str.h"
#include "verify.h"
#include "verify_lists.h"
#include "xmalloc.h"

#define VERIFY_MAX_DISPOSABLE 1000000 /* names read from --disposable-file */

enum {
	O_FILE = 256,
	O_COLUMN,
	O_FROM,
	O_HELO,
	O_CONC,
	O_PERDOM,
	O_TIMEOUT,
	O_JSON,
	O_CSV,
	O_NOSMTP,
	O_RESOLVER,
	O_GREYWAIT,
	O_DISPFILE,
	O_HELP
};

static const struct option verify_longopts[] = {
    {"file", required_argument, NULL, O_FILE},
    {"column", required_argument, NULL, O_COLUMN},
    {"from", required_argument, NULL, O_FROM},
    {"helo", required_argument, NULL, O_HELO},
    {"concurrency", required_argument, NULL, O_CONC},
    {"per-domain", required_argument, NULL, O_PERDOM},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"json", no_argument, NULL, O_JSON},
    {"csv", no_argument, NULL, O_CSV},
    {"no-smtp", no_argument, NULL, O_NOSMTP},
    {"resolver", required_argument, NULL, O_RESOLVER},
    {"greylist-wait", required_argument, NULL, O_GREYWAIT},
    {"disposable-file", required_argument, NULL, O_DISPFILE},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

struct verify_cmd {
	struct verify_opts o;
	const char *file, *column, *disposable_file;
	char helo[256];
	int format;		     /* 0 table, O_JSON, O_CSV */
	struct verify_csv_in csv_in; /* the input CSV's columns, for --csv */
	char *disposable_text;	     /* --disposable-file, cut into names */
	const char **disposable;
};

static void
verify_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: mailport verify ADDR... | --file F [--column NAME] [--from ADDR] [--helo "
	    "NAME]\n"
	    "                [--concurrency N] [--per-domain N] [--timeout S] [--json | --csv]\n"
	    "                [--no-smtp] [--resolver HOST[:PORT]] [--greylist-wait S]\n"
	    "                [--disposable-file F]\n\n"
	    "Checks each address: syntax, domain (MX, null MX, NXDOMAIN), then asks its MX on\n"
	    "port 25 (MAIL, RCPT, RSET: nothing is sent), with a made-up address to spot\n"
	    "catch-all domains; flags role accounts, disposable domains and free providers,\n"
	    "and suggests a fix for typos of big providers (gmial.com: gmail.com).\n"
	    "Internationalised domains are looked up in their A-label (xn--) form.\n"
	    "Verdicts: deliverable, undeliverable, risky, unknown, each with its reason.\n\n"
	    "  --file F           one address a line (\"-\": stdin), or a CSV with --column NAME\n"
	    "  --from ADDR        MAIL FROM (default: the null sender <>)\n"
	    "  --helo NAME        our EHLO name (default: this host's name)\n"
	    "  --concurrency N    connections at once (default 4); --per-domain N: at once to\n"
	    "                     one domain (default 1). A domain's addresses share one\n"
	    "                     connection, 50 RCPTs a transaction, and one catch-all probe\n"
	    "  --timeout S        bound on each DNS query, connect and reply (default 10)\n"
	    "  --json | --csv     one JSON array, or CSV with a header, on stdout (with a CSV\n"
	    "                     --file: its columns first, the results appended)\n"
	    "  --no-smtp          stop after DNS\n"
	    "  --resolver H[:P]   DNS server (default /etc/resolv.conf)\n"
	    "  --greylist-wait S  pause before asking a greylisted (4xx) address once more\n"
	    "                     (default 60; 0: no second try)\n"
	    "  --disposable-file F  more disposable domains, one a line (# comments), added\n"
	    "                     to the built-in list: %s\n\n"
	    "Ctrl-C prints the results so far and exits 130. A progress line goes to stderr\n"
	    "when it is a terminal.\n"
	    "Exit codes: 0 all checked (some may be undeliverable), 64 usage, 66 no such file,\n"
	    "69 nothing could be checked, 130 interrupted.\n",
	    verify_disposable_source);
}

static bool
number(const char *arg, long lo, long hi, long *v)
{
	char *end;
	errno = 0;
	*v = strtol(arg, &end, 10);
	return errno == 0 && end != arg && *end == '\0' && *v >= lo && *v <= hi;
}

/* One option; -1 to go on, else an exit code. */
static int
verify_option(struct verify_cmd *vc, int c, const char *arg)
{
	long v = 0;
	switch (c) {
	case O_FILE:
		vc->file = arg;
		return -1;
	case O_COLUMN:
		vc->column = arg;
		return -1;
	case O_FROM:
		vc->o.from = arg;
		return -1;
	case O_HELO:
		str_copy(vc->helo, sizeof vc->helo, arg);
		return -1;
	case O_JSON:
	case O_CSV:
		vc->format = c;
		return -1;
	case O_NOSMTP:
		vc->o.no_smtp = true;
		return -1;
	case O_RESOLVER:
		vc->o.resolver = arg;
		return -1;
	case O_DISPFILE:
		vc->disposable_file = arg;
		return -1;
	case O_GREYWAIT:
		if (!number(arg, 0, 3600, &v))
			break;
		vc->o.greylist_wait_ms = (int)v * 1000;
		return -1;
	case O_CONC:
	case O_PERDOM:
		if (!number(arg, 1, 256, &v))
			break;
		*(c == O_CONC ? &vc->o.concurrency : &vc->o.per_domain) = (unsigned)v;
		return -1;
	case O_TIMEOUT:
		if (!number(arg, 1, 600, &v))
			break;
		vc->o.timeout_ms = (int)v * 1000;
		return -1;
	case O_HELP:
		verify_usage(stdout);
		return 0;
	default:
		verify_usage(stderr);
		return EX_USAGE;
	}
	fprintf(stderr,
		"mailport verify: bad number '%s' (concurrency and per-domain: 1-256, "
		"timeout: 1-600 seconds, greylist-wait: 0-3600 seconds)\n",
		arg);
	return EX_USAGE;
}

/* The whole file ("-": stdin) into a malloc'd buffer; NULL when unreadable. */
static char *
slurp(const char *path, size_t *len_r)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (f == NULL)
		return NULL;
	struct buf b;
	buf_init(&b, 0);
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(&b, chunk, n);
	if (f != stdin)
		fclose(f);
	buf_append(&b, "", 1);
	*len_r = b.len - 1;
	return b.data;
}

/* The addresses from argv or the file; -1 to go on, else an exit code. */
static int
verify_input(struct verify_cmd *vc, int argc, char **argv, char ***list, size_t *n)
{
	char err[256];
	if ((vc->file != NULL) == (argc > 0) || (vc->column && !vc->file)) {
		verify_usage(stderr);
		return EX_USAGE;
	}
	for (int i = 0; i < argc; i++) {
		*list = xrealloc(*list, (*n + 1) * sizeof **list);
		(*list)[(*n)++] = xstrdup(argv[i]);
	}
	if (vc->file == NULL)
		return -1;
	size_t len;
	char *text = slurp(vc->file, &len);
	if (text == NULL) {
		fprintf(stderr, "mailport verify: %s: %s\n", vc->file, strerror(errno));
		return EX_NOINPUT;
	}
	int rc = verify_read_input(text, len, vc->column, list, n,
				   vc->format == O_CSV && vc->column ? &vc->csv_in : NULL, err,
				   sizeof err);
	free(text);
	if (rc < 0) {
		fprintf(stderr, "mailport verify: %s: %s\n", vc->file, err);
		return EX_USAGE;
	}
	return -1;
}

/* --disposable-file: its names, kept in vc; -1 to go on, else an exit code. */
static int
verify_disposable(struct verify_cmd *vc)
{
	if (vc->disposable_file == NULL)
		return -1;
	size_t len, bad = 0;
	vc->disposable_text = slurp(vc->disposable_file, &len);
	if (vc->disposable_text == NULL) {
		fprintf(stderr, "mailport verify: %s: %s\n", vc->disposable_file, strerror(errno));
		return EX_NOINPUT;
	}
	if (strlen(vc->disposable_text) != len) {
		fprintf(stderr, "mailport verify: %s: not a text file\n", vc->disposable_file);
		return EX_DATAERR;
	}
	size_t lines = 1;
	for (const char *p = vc->disposable_text; *p; p++)
		lines += *p == '\n';
	lines = lines > VERIFY_MAX_DISPOSABLE ? VERIFY_MAX_DISPOSABLE : lines;
	vc->disposable = xcalloc(lines, sizeof *vc->disposable);
	size_t n = verify_parse_domains(vc->disposable_text, vc->disposable, lines, &bad);
	if (n == (size_t)-1) {
		fprintf(stderr, "mailport verify: %s:%zu: not a domain name\n", vc->disposable_file,
			bad);
		return EX_DATAERR;
	}
	vc->o.disposable = vc->disposable;
	vc->o.ndisposable = n;
	return -1;
}

/* Defaults, and a resolver that parses, before any work. */
static int
verify_settle(struct verify_cmd *vc)
{
	char err[256];
	int rc = verify_disposable(vc);
	if (rc >= 0)
		return rc;
	if (!vc->helo[0] && (gethostname(vc->helo, sizeof vc->helo - 1) < 0 || !vc->helo[0]))
		str_copy(vc->helo, sizeof vc->helo, "localhost");
	vc->o.helo = vc->helo;
	struct smtp_addr a;
	if (vc->o.from[0] && smtp_addr_parse_mailbox(strv_from(vc->o.from), true, &a) != ADDR_OK) {
		fprintf(stderr, "mailport verify: --from %s: not a mailbox\n", vc->o.from);
		return EX_USAGE;
	}
	struct dns *d = dns_new(vc->o.resolver, vc->o.timeout_ms, err, sizeof err);
	if (d == NULL) {
		fprintf(stderr, "mailport verify: --resolver: %s\n", err);
		return EX_USAGE;
	}
	dns_free(&d);
	return -1;
}

/* The results; with of (interrupted), only the done ones, "of" in the summary. */
static int
verify_report(const struct verify_cmd *vc, const struct verify_item *items, size_t n, size_t of)
{
	size_t count[4] = {0}, checked = 0;
	struct buf out;
	buf_init(&out, 0);
	const struct verify_csv_in *in = vc->csv_in.head ? &vc->csv_in : NULL;
	if (vc->format == O_JSON)
		verify_json(items, n, &out);
	else if (vc->format == O_CSV)
		verify_csv(items, n, in, &out);
	else
		verify_text(items, n, &out);
	fwrite(out.data ? out.data : "", 1, out.len, stdout);
	fflush(stdout);
	buf_free(&out);
	for (size_t i = 0; i < n; i++) {
		count[items[i].verdict]++;
		checked += items[i].checked;
	}
	fprintf(stderr,
		"%zu addresses: %zu deliverable, %zu undeliverable, %zu risky, %zu unknown\n", n,
		count[VERIFY_DELIVERABLE], count[VERIFY_UNDELIVERABLE], count[VERIFY_RISKY],
		count[VERIFY_UNKNOWN]);
	if (of)
		fprintf(stderr, "interrupted: %zu of %zu addresses not checked\n", of - n, of);
	/* Undeliverable is an answer; only "could not ask anything" fails. */
	return n > 0 && checked == 0 ? EX_UNAVAILABLE : 0;
}

/* ---- the run, watched: progress on a terminal, Ctrl-C ---- */

struct verify_job {
	struct verify_cmd *vc;
	struct verify_item *items;
	size_t n;
	atomic_bool finished;
};

static void *
verify_job_main(void *arg)
{
	struct verify_job *j = arg;
	verify_run(&j->vc->o, j->items, j->n);
	atomic_store(&j->finished, true);
	return NULL;
}

/*
 * Ctrl-C: stop the run, print what is done (the CSV rows kept in step)
 * and exit 130 at once: sessions still open are not waited for.
 */
static void
verify_interrupted(struct verify_cmd *vc, struct verify_item *items, size_t n,
		   struct verify_progress *pg)
{
	struct verify_item *done = xcalloc(n ? n : 1, sizeof *done);
	struct verify_csv_in in = vc->csv_in;
	char ***rows = xcalloc(n ? n : 1, sizeof *rows);
	size_t *nfields = xcalloc(n ? n : 1, sizeof *nfields);
	size_t m = 0;
	pthread_mutex_lock(&pg->mu);
	pg->stop = true;
	for (size_t i = 0; i < n; i++) {
		if (!items[i].done)
			continue;
		if (i < in.nrows) {
			rows[m] = in.rows[i];
			nfields[m] = in.nfields[i];
		}
		done[m++] = items[i];
	}
	pthread_mutex_unlock(&pg->mu);
	if (vc->csv_in.head) {
		vc->csv_in.rows = rows;
		vc->csv_in.nfields = nfields;
		vc->csv_in.nrows = m;
	}
	verify_report(vc, done, m, n);
	fflush(stderr);
	_exit(130);
}

/* verify_run on a thread; this one draws the progress line and waits for Ctrl-C. */
static void
verify_watch(struct verify_cmd *vc, struct verify_item *items, size_t n)
{
	struct verify_progress pg = {.done = 0};
	pthread_mutex_init(&pg.mu, NULL);
	vc->o.progress = &pg;
	struct verify_job job = {.vc = vc, .items = items, .n = n};
	atomic_init(&job.finished, false);
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	/* Blocked here and so in every thread made from now: only sigtimedwait takes it. */
	pthread_sigmask(SIG_BLOCK, &set, &old);
	pthread_t t;
	if (pthread_create(&t, NULL, verify_job_main, &job) != 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		verify_job_main(&job);
		pthread_mutex_destroy(&pg.mu);
		vc->o.progress = NULL;
		return;
	}
	bool tty = isatty(STDERR_FILENO);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!atomic_load(&job.finished)) {
		struct timespec tick = {0, 200 * 1000 * 1000};
		if (sigtimedwait(&set, NULL, &tick) == SIGINT) {
			if (tty)
				fputs("\r\033[K", stderr);
			verify_interrupted(vc, items, n, &pg);
		}
		if (tty) {
			char line[160];
			pthread_mutex_lock(&pg.mu);
			size_t done = pg.done;
			pthread_mutex_unlock(&pg.mu);
			verify_progress_text(line, sizeof line, done, n,
					     (unsigned long)elapsed_ms_since(&t0));
			fprintf(stderr, "\r\033[K%s", line);
			fflush(stderr);
		}
	}
	pthread_join(t, NULL);
	if (tty)
		fputs("\r\033[K", stderr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	vc->o.progress = NULL;
	pthread_mutex_destroy(&pg.mu);
}

int
cmd_verify(int argc, char **argv)
{
	static struct verify_cmd vc;
	memset(&vc, 0, sizeof vc);
	vc.o = (struct verify_opts){.from = "",
				    .timeout_ms = 10000,
				    .concurrency = 4,
				    .per_domain = 1,
				    .greylist_wait_ms = 60000};
	optind = 1;
	int c, rc = -1;
	while (rc < 0 && (c = getopt_long(argc, argv, "h", verify_longopts, NULL)) != -1)
		rc = verify_option(&vc, c == 'h' ? O_HELP : c, optarg);
	char **list = NULL;
	size_t n = 0;
	if (rc < 0)
		rc = verify_input(&vc, argc - optind, argv + optind, &list, &n);
	if (rc < 0)
		rc = verify_settle(&vc);
	if (rc < 0) {
		struct verify_item *items = xcalloc(n ? n : 1, sizeof *items);
		for (size_t i = 0; i < n; i++)
			verify_prepare(&items[i], list[i], &vc.o);
		verify_watch(&vc, items, n);
		rc = verify_report(&vc, items, n, 0);
		free(items);
	}
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
	verify_csv_in_free(&vc.csv_in);
	free(vc.disposable);
	free(vc.disposable_text);
	return rc;
}
