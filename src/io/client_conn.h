/*
 * client_conn: one outgoing SMTP connection for the client commands (send,
 * probe, verify): a bounded connect, CRLF lines with a deadline, and TLS
 * with the certificate verified against the system store (or a CA file)
 * and the host name checked. Blocking, with poll(2) deadlines: the client
 * commands do one thing at a time and must never hang.
 *
 * Errors come back as a struct conn_error: a kind the outcome table knows,
 * and the system's or OpenSSL's words for it.
 */
#ifndef MP_CLIENT_CONN_H
#define MP_CLIENT_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "dns_wire.h"
#include "tls_info.h"

enum conn_error_kind {
	CONN_OK,
	CONN_DNS,	    /* the name does not resolve */
	CONN_REFUSED,	    /* RST: nothing listens there */
	CONN_TIMEOUT,	    /* no answer in time: filtered, or the reply never came */
	CONN_UNREACHABLE,   /* no route, network down */
	CONN_CLOSED,	    /* the peer closed the connection */
	CONN_TLS_HANDSHAKE, /* the handshake failed (version, cipher, not TLS at all) */
	CONN_TLS_CERT,	    /* the certificate is not trusted or not for this host */
	CONN_IO,	    /* anything else */
	CONN_LINE_TOO_LONG,
};

struct conn_error {
	enum conn_error_kind kind;
	char detail[256]; /* strerror or OpenSSL's reason */
};

struct client_conn_opts {
	const char *host;
	unsigned short port;
	const char *connect_addr; /* an IP to connect to instead of resolving host (MX delivery
				     resolves through its own resolver), or NULL */
	const char *unix_path;	  /* connect to this Unix socket instead (host: for TLS names) */
	int timeout_ms;		  /* for the connect and for each read/write */
	const char *cafile;	  /* NULL: the system's trust store */
	bool insecure;		  /* do not verify the certificate (explicit, warned) */
	/*
	 * DANE (RFC 7672): when ntlsa > 0, the certificate must match one of
	 * these records (DANE-TA(2) or DANE-EE(3); others are skipped) through
	 * OpenSSL's DANE, not the CA store; DANE-EE ignores the name and the
	 * dates (RFC 7672 3.1.1), DANE-TA checks the name against host. With
	 * insecure, the verdict is only recorded (tls_info), not enforced.
	 */
	const struct dns_tlsa *tlsa;
	size_t ntlsa;
	/*
	 * TLS resumption, for a caller that asks (NULL: a full handshake every
	 * time). *tls_session, when set, is offered; it must come from an
	 * earlier connection to the same host and door with the same cafile.
	 * Each session the server grants replaces it (the old one is freed);
	 * the caller frees the last with SSL_SESSION_free. One connection at a
	 * time per slot: the slot is not locked.
	 */
	SSL_SESSION **tls_session;
};

struct client_conn;

/* Connect to one of host's addresses within the timeout. NULL with err. */
struct client_conn *client_conn_open(const struct client_conn_opts *opts, struct conn_error *err);
void client_conn_close(struct client_conn **cp);
/* The address actually connected to, "192.0.2.1" or "::1". */
const char *client_conn_peer(const struct client_conn *c);
/*
 * Between two transactions the server owes nothing: true when nothing can
 * be read. Something readable (the end of the connection, a 421 from an
 * idle timeout) means the connection is not fit for another transaction.
 */
bool client_conn_quiet(const struct client_conn *c);

/*
 * Start TLS now (implicit TLS at once, or after a 220 to STARTTLS).
 * Bytes received before the handshake are discarded first. -1 with err.
 */
int client_conn_start_tls(struct client_conn *c, struct conn_error *err);
const struct tls_info *client_conn_tls(const struct client_conn *c);

/* One line without its CRLF into line[size]; -1 with err (timeout, closed, too long). */
int client_conn_read_line(struct client_conn *c, char *line, size_t size, size_t *len_r,
			  struct conn_error *err);
int client_conn_write(struct client_conn *c, const void *p, size_t n, struct conn_error *err);

const char *conn_error_kind_name(enum conn_error_kind k);

#endif
