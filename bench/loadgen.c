/*
 * loadgen: STARTTLS + AUTH load on a submission door, one connection per
 * message, on mailport's client core (net/client_run, core/smtp_client).
 * Used against every server alike by bench/bench.py.
 *
 *   loadgen [--resume] [--plain] [--message FILE] HOST PORT USER FROM TO SIZE SESSIONS
 *           COUNT CAFILE
 *
 * With --resume each of the SESSIONS threads offers the TLS session its
 * previous connection was granted (client_conn's tls_session), as a mail
 * client that reconnects does; its first connection is a full handshake.
 * With --plain it is a server sending to a relay door instead: no TLS, no
 * AUTH (USER, CAFILE and the password are not used). With --message the
 * file (a whole message, CRLF line ends: e.g. one signed beforehand) is
 * sent every time instead of a made-up one of SIZE bytes.
 *
 * The password is read from the environment (LOADGEN_PASSWORD). Prints one
 * line: "ok=N failed=F resumed=R seconds=S rate=R p50_ms=A p99_ms=B" and,
 * on failures, the first failure's phase and reply on stderr. Exit 0 when
 * all succeeded.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_run.h"

static struct client_conn_opts g_opts;
static struct smtp_client_config g_cfg;
static struct smtp_client_envelope g_env;
static const char *g_rcpts[1];
static char *g_body;
static size_t g_body_len;
static atomic_long g_next;
static long g_count;
static atomic_long g_ok, g_failed, g_resumed;
static int g_resume, g_plain;
static double *g_lat; /* seconds, by message index */
static pthread_mutex_t g_err_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_err_shown;

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
worker(void *arg)
{
	(void)arg;
	SSL_SESSION *session = NULL;
	struct client_conn_opts opts = g_opts;
	if (g_resume)
		opts.tls_session = &session;
	for (;;) {
		long i = atomic_fetch_add(&g_next, 1);
		if (i >= g_count)
			break;
		struct client_run_result r;
		struct smtp_client_rcpt_result rr[1];
		memset(&r, 0, sizeof r);
		double t0 = now();
		client_run(&opts, &g_cfg, &g_env, g_body, g_body_len, NULL, &r, rr);
		g_lat[i] = now() - t0;
		if (r.tls_used && r.tls.resumed)
			atomic_fetch_add(&g_resumed, 1);
		if (r.connected && r.smtp.failure == CLIENT_OK && r.smtp.accepted == 1) {
			atomic_fetch_add(&g_ok, 1);
		} else {
			g_lat[i] = -1;
			atomic_fetch_add(&g_failed, 1);
			pthread_mutex_lock(&g_err_lock);
			if (!g_err_shown++)
				fprintf(
				    stderr,
				    "loadgen: first failure: connected=%d phase=%s reply=%d %s\n",
				    r.connected, r.smtp.phase ? r.smtp.phase : "-",
				    r.smtp.reply.code, r.smtp.reply.text);
			pthread_mutex_unlock(&g_err_lock);
		}
	}
	SSL_SESSION_free(session);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	const char *message_file = NULL;
	for (;;) {
		if (argc > 1 && strcmp(argv[1], "--resume") == 0) {
			g_resume = 1;
		} else if (argc > 1 && strcmp(argv[1], "--plain") == 0) {
			g_plain = 1;
		} else if (argc > 2 && strcmp(argv[1], "--message") == 0) {
			message_file = argv[2];
			argv++, argc--;
		} else {
			break;
		}
		argv++, argc--;
	}
	if (argc != 10) {
		fprintf(stderr,
			"usage: loadgen [--resume] [--plain] [--message FILE] HOST PORT USER "
			"FROM TO SIZE SESSIONS COUNT CAFILE\n"
			"(password in LOADGEN_PASSWORD)\n");
		return 2;
	}
	const char *password = getenv("LOADGEN_PASSWORD");
	if (!password && !g_plain) {
		fprintf(stderr, "loadgen: set LOADGEN_PASSWORD\n");
		return 2;
	}
	size_t size = strtoul(argv[6], NULL, 10);
	int sessions = atoi(argv[7]);
	g_count = atol(argv[8]);
	if (sessions < 1 || g_count < 1) {
		fprintf(stderr, "loadgen: SESSIONS and COUNT must be >= 1\n");
		return 2;
	}

	g_opts.host = argv[1];
	g_opts.port = (unsigned short)atoi(argv[2]);
	g_opts.timeout_ms = 30000;
	g_opts.cafile = argv[9];
	g_cfg.ehlo_name = "client.bench.test";
	g_cfg.tls = g_plain ? CLIENT_TLS_NONE : CLIENT_TLS_STARTTLS;
	g_cfg.user = g_plain ? NULL : argv[3];
	g_cfg.password = g_plain ? NULL : password;
	g_cfg.host = argv[1];
	g_cfg.port = g_opts.port;
	g_cfg.allowed_mechs = CLIENT_MECH_PLAIN;
	g_rcpts[0] = argv[5];
	g_env.from = argv[4];
	g_env.rcpts = g_rcpts;
	g_env.nrcpts = 1;

	if (message_file != NULL) {
		FILE *f = fopen(message_file, "rb");
		if (f == NULL || fseek(f, 0, SEEK_END) != 0) {
			perror(message_file);
			return 2;
		}
		long len = ftell(f);
		rewind(f);
		g_body = malloc((size_t)len + 1);
		g_body_len = fread(g_body, 1, (size_t)len, f);
		fclose(f);
	} else {
		/* Headers, then lines of 78 'x' + CRLF up to SIZE bytes of body. */
		g_body = malloc(size + 256);
		int n = snprintf(g_body, 256, "From: <%s>\r\nTo: <%s>\r\nSubject: bench\r\n\r\n",
				 argv[4], argv[5]);
		g_body_len = (size_t)n;
		while (g_body_len + 80 <= (size_t)n + size) {
			memset(g_body + g_body_len, 'x', 78);
			memcpy(g_body + g_body_len + 78, "\r\n", 2);
			g_body_len += 80;
		}
	}
	g_env.size = g_body_len;

	g_lat = calloc((size_t)g_count, sizeof *g_lat);
	pthread_t *th = calloc((size_t)sessions, sizeof *th);
	double t0 = now();
	for (int i = 0; i < sessions; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (int i = 0; i < sessions; i++)
		pthread_join(th[i], NULL);
	double dt = now() - t0;

	long ok = atomic_load(&g_ok), m = 0;
	for (long i = 0; i < g_count; i++)
		if (g_lat[i] >= 0)
			g_lat[m++] = g_lat[i];
	qsort(g_lat, (size_t)m, sizeof *g_lat, cmp_double);
	double p50 = m ? g_lat[m / 2] : 0,
	       p99 = m ? g_lat[(m * 99) / 100 < m ? (m * 99) / 100 : m - 1] : 0;
	printf("ok=%ld failed=%ld resumed=%ld seconds=%.3f rate=%.1f p50_ms=%.2f p99_ms=%.2f\n", ok,
	       atomic_load(&g_failed), atomic_load(&g_resumed), dt, ok / dt, p50 * 1000,
	       p99 * 1000);
	free(th);
	free(g_lat);
	free(g_body);
	return atomic_load(&g_failed) ? 1 : 0;
}
