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

/* A server SSL_CTX with the chain and key loaded. NULL with err (OpenSSL's reason). */
SSL_CTX *tls_server_ctx_new(const char *cert_path, const char *key_path, char *err,
			    size_t err_size);

/* The last OpenSSL error as text (drains the error queue); for log lines. */
const char *tls_last_error(char *buf, size_t size);

#endif
