/*
 * probe_raw: a bare SMTP/TLS client for the --security checks (why not
 * client_conn: see probe_raw.c). Every call is bounded by the probe's
 * timeout; failures are -1 or NULL, with nothing left open.
 */
#ifndef MP_PROBE_RAW_H
#define MP_PROBE_RAW_H

#include <openssl/ssl.h>

#include "probe.h"

/* A client context for one check (no verification, security level 0), or NULL. */
SSL_CTX *probe_raw_ctx(int min, int max, const char *ciphers);

/*
 * A TLS session with ctx on door d of o->host, or NULL; *fd_r is its
 * socket. On a STARTTLS door, extra is sent in the same write as STARTTLS.
 */
SSL *probe_raw_tls(const struct probe_opts *o, struct door d, SSL_CTX *ctx, const char *extra,
		   int *fd_r);

/* s on the socket, or through ssl when set; 0 or -1. */
int probe_raw_send(int fd, SSL *ssl, const char *s);

/* One reply, all its lines; its code, or -1. */
int probe_raw_reply(int fd, SSL *ssl);

/* Free the session and close its socket. */
void probe_raw_close(SSL *ssl, int fd);

#endif
