/*
 * tls: OpenSSL 3 server contexts. TLS 1.2 and 1.3 only, Mozilla's
 * "intermediate" cipher list, the certificate chain from the config.
 */
#ifndef MP_TLS_H
#define MP_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

/*
 * If cert_path or key_path does not exist, make a self-signed certificate
 * (P-256, valid 825 days, the hostname as CN and SAN) and write both
 * (key with mode 0600). 0 when both exist afterwards, -1 with err.
 */
int tls_ensure_self_signed(const char *cert_path, const char *key_path, const char *hostname,
			   char *err, size_t err_size);

/*
 * Session ticket keys that outlive a context, so that tickets made before a
 * reload still resume after it (unless the reload brings another
 * certificate). Rotated every hour (on use); the previous key still opens
 * tickets. NULL if the system has no randomness to give.
 */
struct tls_tickets;
struct tls_tickets *tls_tickets_new(void);
/* A new key for new tickets now; tickets of the current key still open, older ones not. */
void tls_tickets_rotate(struct tls_tickets *t);
void tls_tickets_free(struct tls_tickets **tp);

/*
 * A server SSL_CTX with the chain and key loaded. With tickets, session
 * tickets are sealed with those keys (they must outlive the context);
 * NULL leaves OpenSSL's own per-context keys. NULL with err (OpenSSL's reason).
 */
SSL_CTX *tls_server_ctx_new(const char *cert_path, const char *key_path,
			    struct tls_tickets *tickets, char *err, size_t err_size);

/* The last OpenSSL error as text (drains the error queue); for log lines. */
const char *tls_last_error(char *buf, size_t size);

#endif
