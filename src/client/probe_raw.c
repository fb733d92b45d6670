/*
 * probe_raw: the small SMTP client the --security checks need, straight on
 * OpenSSL over a blocking socket whose every wait is bounded by
 * SO_RCVTIMEO/SO_SNDTIMEO.
 *
 * Why not io/client_conn and client_run: these checks need exactly what
 * those rightly refuse to do. They offer TLS 1.0 and 1.1 and weak suites
 * at security level 0 without verifying anything (client_conn's context
 * starts at TLS 1.2), they send bytes in the same write as STARTTLS (the
 * core never pipelines past STARTTLS, RFC 3207 section 4.2), and they read
 * byte by byte so that nothing after a 220 is taken from the socket
 * (client_conn reads ahead into its buffer). Teaching the shared client
 * those would weaken it for send, verify and delivery.
 */
#include "probe_raw.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "probe_int.h"

/* A blocking socket whose connect, reads and writes are bounded. */
static int
raw_connect(const char *host, unsigned short port, int timeout_ms)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *list;
	char serv[8];
	snprintf(serv, sizeof serv, "%u", port);
	if (getaddrinfo(host, serv, &hints, &list) != 0)
		return -1;
	int fd = -1;
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	for (struct addrinfo *ai = list; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		/* Linux bounds a blocking connect by SO_SNDTIMEO. */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(list);
	return fd;
}

int
probe_raw_send(int fd, SSL *ssl, const char *s)
{
	size_t n = strlen(s);
	if (ssl)
		return SSL_write(ssl, s, (int)n) == (int)n ? 0 : -1;
	return send(fd, s, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/*
 * One reply, all its lines; its code, or -1. Byte by byte, so nothing that
 * follows (the server's side of a TLS handshake) is taken from the socket.
 */
int
probe_raw_reply(int fd, SSL *ssl)
{
	char line[512];
	size_t n = 0;
	for (int lines = 0; lines < 100;) {
		char ch;
		int got = ssl ? SSL_read(ssl, &ch, 1) : (int)recv(fd, &ch, 1, 0);
		if (got <= 0)
			return -1;
		if (ch != '\n') {
			if (n < sizeof line - 1)
				line[n++] = ch;
			continue;
		}
		line[n] = '\0';
		lines++;
		if (n < 3)
			return -1;
		if (n == 3 || line[3] != '-')
			return atoi(line);
		n = 0;
	}
	return -1;
}

/* Greeting, EHLO, then STARTTLS and extra in one write; 0 at its 220. */
static int
raw_starttls(int fd, const char *ehlo, const char *extra)
{
	char cmd[320];
	if (probe_raw_reply(fd, NULL) != 220)
		return -1;
	snprintf(cmd, sizeof cmd, "EHLO %s\r\n", ehlo);
	if (probe_raw_send(fd, NULL, cmd) < 0 || probe_raw_reply(fd, NULL) != 250)
		return -1;
	snprintf(cmd, sizeof cmd, "STARTTLS\r\n%s", extra);
	if (probe_raw_send(fd, NULL, cmd) < 0 || probe_raw_reply(fd, NULL) != 220)
		return -1;
	return 0;
}

/* A client context for one check; security level 0 lets old suites be offered. */
SSL_CTX *
probe_raw_ctx(int min, int max, const char *ciphers)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_min_proto_version(ctx, min);
	SSL_CTX_set_max_proto_version(ctx, max);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	ERR_clear_error();
	return ctx;
}

/* A TLS session on the door with ctx, or NULL; *fd_r is its socket. */
SSL *
probe_raw_tls(const struct probe_opts *o, struct door d, SSL_CTX *ctx, const char *extra, int *fd_r)
{
	int fd = raw_connect(o->connect_addr ? o->connect_addr : o->host, d.port, o->timeout_ms);
	if (fd < 0)
		return NULL;
	if (d.tls != CLIENT_TLS_IMPLICIT && raw_starttls(fd, o->ehlo_name, extra) < 0) {
		close(fd);
		return NULL;
	}
	SSL *ssl = SSL_new(ctx);
	bool ready = ssl != NULL && SSL_set_fd(ssl, fd) == 1 &&
		     (probe_is_ip(o->host) || SSL_set_tlsext_host_name(ssl, o->host) == 1);
	if (!ready || SSL_connect(ssl) != 1) {
		ERR_clear_error();
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	*fd_r = fd;
	return ssl;
}

void
probe_raw_close(SSL *ssl, int fd)
{
	SSL_free(ssl);
	close(fd);
}
