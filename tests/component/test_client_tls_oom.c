/*
 * Component test for net/client_conn's TLS start when OpenSSL runs out of
 * memory: every allocation OpenSSL makes for the client is failed in turn
 * (one per run, until a run meets no failure), against a server whose
 * certificate is trusted but names another host. Each run must end in an
 * error: a call whose failure goes unchecked (SSL_new, SSL_set1_host)
 * either crashes here or lets the wrong name through.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_conn.h"
#include "harness.h"
#include "test_tls_server.h"

/* Only the client's allocations fail, never the server thread's. */
static _Thread_local int injecting;
static long allocations, fail_at;

static void *
t_malloc(size_t n, const char *file, int line)
{
	(void)file, (void)line;
	if (injecting && ++allocations == fail_at)
		return NULL;
	return malloc(n);
}

static void *
t_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file, (void)line;
	if (injecting && ++allocations == fail_at)
		return NULL;
	return realloc(p, n);
}

static void
t_free(void *p, const char *file, int line)
{
	(void)file, (void)line;
	free(p);
}

/* One TLS start with the fail_at'th allocation failed; its result. */
static int
one_run(const struct client_conn_opts *o, enum conn_error_kind *kind_r)
{
	struct conn_error err = {0};
	struct client_conn *c = client_conn_open(o, &err);
	if (c == NULL)
		return -2;
	allocations = 0;
	injecting = 1;
	int rc = client_conn_start_tls(c, &err);
	injecting = 0;
	ERR_clear_error();
	*kind_r = err.kind;
	client_conn_close(&c);
	return rc;
}

int
main(void)
{
	if (!CRYPTO_set_mem_functions(t_malloc, t_realloc, t_free)) {
		printf("not ok: OpenSSL allocated before main; cannot inject failures\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN); /* as in the commands: a closed peer is an error, not a kill */
	struct tls_server ts;
	pthread_t t;
	CHECK(tls_server_start(&ts, "other.test", &t) == 0);
	struct client_conn_opts o = {.host = "mx.example.test",
				     .port = (unsigned short)ts.port,
				     .connect_addr = "127.0.0.1",
				     .timeout_ms = 3000,
				     .cafile = ts.cert};
	enum conn_error_kind kind;
	/* Without a failure: the certificate is trusted, the name is not its own. */
	fail_at = 0;
	CHECK(one_run(&o, &kind) == -1 && kind == CONN_TLS_CERT);
	long runs = 0, passed_wrong_name = 0;
	for (fail_at = 1; fail_at < 100000; fail_at++, runs++) {
		int rc = one_run(&o, &kind);
		CHECK(rc != -2);
		if (rc == 0) {
			passed_wrong_name++;
			printf("not ok: allocation %ld failed, and the wrong name passed\n",
			       fail_at);
		}
		if (allocations < fail_at)
			break; /* this run met no failure: every allocation was tried */
	}
	CHECK(passed_wrong_name == 0);
	CHECK(runs > 10);
	printf("%ld runs, one per OpenSSL allocation of the TLS start\n", runs);
	tls_server_stop(&ts, t);
	return test_summary("test_client_tls_oom");
}
