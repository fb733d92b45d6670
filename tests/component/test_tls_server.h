/*
 * test_tls_server: a TLS server thread on 127.0.0.1 for the client tests:
 * each connection gets the handshake and a "220 ready" line, then is closed.
 * Header-only, like harness.h.
 */
#ifndef MP_TEST_TLS_SERVER_H
#define MP_TEST_TLS_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>

#include "tls.h"

struct tls_server {
	char dir[32];		/* a temporary folder for the pair */
	char cert[64], key[64]; /* self-signed for the name given: a client's cafile */
	int fd;
	int port;
	SSL_CTX *ctx;
	atomic_int stop;
};

static inline void *
tls_server_main(void *arg)
{
	struct tls_server *ts = arg;
	while (!atomic_load(&ts->stop)) {
		struct pollfd p = {.fd = ts->fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept(ts->fd, NULL, NULL);
		if (c < 0)
			continue;
		struct timeval tv = {5, 0}; /* a client that never closes cannot stall the test */
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		SSL *ssl = SSL_new(ts->ctx);
		SSL_set_fd(ssl, c);
		/* The line lets the client read the TLS 1.3 tickets that follow the handshake. */
		if (SSL_accept(ssl) == 1 && SSL_write(ssl, "220 ready\r\n", 11) == 11) {
			char buf[64];
			SSL_read(ssl, buf, sizeof buf); /* until the client's close */
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
		ERR_clear_error();
		close(c);
	}
	return NULL;
}

/* A server thread with a new self-signed certificate for name; 0 or -1. */
static inline int
tls_server_start(struct tls_server *ts, const char *name, pthread_t *t)
{
	char err[512];
	snprintf(ts->dir, sizeof ts->dir, "/tmp/mp-tls-test-XXXXXX");
	if (mkdtemp(ts->dir) == NULL)
		return -1;
	snprintf(ts->cert, sizeof ts->cert, "%s/cert.pem", ts->dir);
	snprintf(ts->key, sizeof ts->key, "%s/key.pem", ts->dir);
	if (tls_ensure_self_signed(ts->cert, ts->key, name, err, sizeof err) != 0)
		return -1;
	ts->ctx = SSL_CTX_new(TLS_server_method());
	if (SSL_CTX_use_certificate_chain_file(ts->ctx, ts->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ts->ctx, ts->key, SSL_FILETYPE_PEM) != 1)
		return -1;
	ts->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	if (bind(ts->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(ts->fd, 16) != 0 ||
	    getsockname(ts->fd, (struct sockaddr *)&a, &al) != 0)
		return -1;
	ts->port = ntohs(a.sin_port);
	atomic_init(&ts->stop, 0);
	return pthread_create(t, NULL, tls_server_main, ts);
}

static inline void
tls_server_stop(struct tls_server *ts, pthread_t t)
{
	atomic_store(&ts->stop, 1);
	pthread_join(t, NULL);
	close(ts->fd);
	SSL_CTX_free(ts->ctx);
	unlink(ts->cert);
	unlink(ts->key);
	rmdir(ts->dir);
}

#endif
