/*
 * client_conn: blocking client connections with deadlines (see the header).
 *
 * The socket stays non-blocking and every wait is a poll(2) bounded by the
 * configured timeout, for the plain and the TLS paths alike, so no server
 * (or firewall that drops packets) can make a client command hang.
 *
 * Certificates are checked after the handshake rather than during it, so
 * the caller learns both the verdict and what the certificate says (probe
 * shows it); without --insecure an unverified certificate ends the
 * connection before a single byte of SMTP is written over it. The verdict
 * is what our verify callback saw, not only SSL_get_verify_result: that
 * starts out as "ok", and stays so when verification never ran (OpenSSL
 * out of memory), which would pass any certificate. The name is checked
 * once more on our side: OpenSSL 3.0 drops the name from its check when
 * copying it into the verification fails for want of memory.
 */
#include "client_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "str.h"
#include "xmalloc.h"

#define READ_BUF 16384

struct client_conn {
	int fd;
	int timeout_ms;
	char host[256];
	char peer[128];
	const char *cafile;
	bool insecure;
	const struct dns_tlsa *tlsa; /* opts->tlsa: DANE when ntlsa > 0 */
	size_t ntlsa;
	size_t dane_added;     /* records OpenSSL took (SSL_dane_tlsa_add) */
	SSL_SESSION **session; /* opts->tls_session */
	SSL_CTX *ctx;
	SSL *ssl;
	/* What the verify callback saw: the leaf passed, and nothing failed. */
	bool leaf_verified, chain_failed;
	struct tls_info tls;
	char rbuf[READ_BUF];
	size_t rlen;
};

static void
set_error(struct conn_error *err, enum conn_error_kind kind, const char *detail)
{
	err->kind = kind;
	str_copy(err->detail, sizeof err->detail, detail ? detail : "");
}

static enum conn_error_kind
kind_of_errno(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return CONN_REFUSED;
	case ETIMEDOUT:
		return CONN_TIMEOUT;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENETDOWN:
		return CONN_UNREACHABLE;
	case ECONNRESET:
	case EPIPE:
		return CONN_CLOSED;
	default:
		return CONN_IO;
	}
}

static long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Wait for events on fd until deadline; 0 ready, -1 timed out. */
static int
wait_fd(int fd, short events, long deadline)
{
	for (;;) {
		long left = deadline - now_ms();
		if (left <= 0)
			return -1;
		struct pollfd pfd = {.fd = fd, .events = events};
		int n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* One address: a non-blocking connect bounded by deadline. */
static int
connect_one(const struct addrinfo *ai, long deadline, struct conn_error *err)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_error(err, CONN_IO, strerror(errno));
		return -1;
	}
	/* Commands and replies are small and each waits for the other: without
	 * this, Nagle holds the second of two writes for a delayed ACK (40 ms). */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		set_error(err, kind_of_errno(errno), strerror(errno));
		close(fd);
		return -1;
	}
	if (wait_fd(fd, POLLOUT, deadline) < 0) {
		set_error(err, CONN_TIMEOUT, "no answer to the connection attempt");
		close(fd);
		return -1;
	}
	int soerr = 0;
	socklen_t len = sizeof soerr;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	if (soerr != 0) {
		set_error(err, kind_of_errno(soerr), strerror(soerr));
		close(fd);
		return -1;
	}
	return fd;
}

static void
addr_text(const struct addrinfo *ai, char *out, size_t size)
{
	const void *a = ai->ai_family == AF_INET6
			    ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
			    : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
	inet_ntop(ai->ai_family, a, out, (socklen_t)size);
}

/* A Unix socket (LMTP, Dovecot's auth): the same bounded connect, no DNS. */
static struct client_conn *
open_unix(const struct client_conn_opts *opts, struct conn_error *err)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (!str_copy(sun.sun_path, sizeof sun.sun_path, opts->unix_path)) {
		set_error(err, CONN_IO, "the socket path is too long");
		return NULL;
	}
	struct addrinfo ai = {.ai_family = AF_UNIX,
			      .ai_socktype = SOCK_STREAM,
			      .ai_addr = (struct sockaddr *)&sun,
			      .ai_addrlen = sizeof sun};
	int fd = connect_one(&ai, now_ms() + opts->timeout_ms, err);
	if (fd < 0)
		return NULL;
	struct client_conn *c = xcalloc(1, sizeof *c);
	c->fd = fd;
	c->timeout_ms = opts->timeout_ms;
	str_copy(c->host, sizeof c->host, opts->host ? opts->host : "localhost");
	snprintf(c->peer, sizeof c->peer, "unix:%s", opts->unix_path);
	set_error(err, CONN_OK, "");
	return c;
}

struct client_conn *
client_conn_open(const struct client_conn_opts *opts, struct conn_error *err)
{
	if (opts->unix_path)
		return open_unix(opts, err);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
	struct addrinfo *list;
	char port[8];
	snprintf(port, sizeof port, "%u", opts->port);
	if (opts->connect_addr)
		hints.ai_flags = AI_NUMERICHOST;
	int rc =
	    getaddrinfo(opts->connect_addr ? opts->connect_addr : opts->host, port, &hints, &list);
	if (rc != 0) {
		set_error(err, CONN_DNS, gai_strerror(rc));
		return NULL;
	}
	long deadline = now_ms() + opts->timeout_ms;
	int fd = -1;
	const struct addrinfo *ai;
	set_error(err, CONN_IO, "no address to connect to");
	for (ai = list; ai && fd < 0; ai = fd < 0 ? ai->ai_next : ai)
		fd = connect_one(ai, deadline, err);
	if (fd < 0) {
		freeaddrinfo(list);
		return NULL;
	}
	struct client_conn *c = xcalloc(1, sizeof *c);
	c->fd = fd;
	c->timeout_ms = opts->timeout_ms;
	c->cafile = opts->cafile;
	c->insecure = opts->insecure;
	c->tlsa = opts->tlsa;
	c->ntlsa = opts->tlsa ? opts->ntlsa : 0;
	c->session = opts->tls_session;
	str_copy(c->host, sizeof c->host, opts->host);
	addr_text(ai, c->peer, sizeof c->peer);
	freeaddrinfo(list);
	set_error(err, CONN_OK, "");
	return c;
}

void
client_conn_close(struct client_conn **cp)
{
	struct client_conn *c = *cp;
	if (c == NULL)
		return;
	if (c->ssl) {
		SSL_shutdown(c->ssl); /* best effort: one close_notify, no waiting */
		SSL_free(c->ssl);
	}
	if (c->ctx)
		SSL_CTX_free(c->ctx);
	close(c->fd);
	free(c);
	*cp = NULL;
}

const char *
client_conn_peer(const struct client_conn *c)
{
	return c->peer;
}

const struct tls_info *
client_conn_tls(const struct client_conn *c)
{
	return c->ssl ? &c->tls : NULL;
}

/* ---- TLS ---- */

static void
openssl_reason(char *out, size_t size)
{
	unsigned long e = ERR_peek_last_error();
	if (e == 0) {
		str_copy(out, size, "the connection closed during the TLS handshake");
		return;
	}
	ERR_error_string_n(e, out, size);
	ERR_clear_error();
}

static void
name_text(X509_NAME *name, char *out, size_t size)
{
	BIO *b = BIO_new(BIO_s_mem());
	X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253);
	int n = BIO_read(b, out, (int)size - 1);
	out[n > 0 ? n : 0] = '\0';
	BIO_free(b);
}

static void
sans_text(X509 *cert, char *out, size_t size)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	struct buf b;
	buf_init(&b, size - 1);
	for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		char ip[64];
		if (gn->type == GEN_DNS)
			buf_printf(&b, "%sDNS:%s", b.len ? ", " : "",
				   (const char *)ASN1_STRING_get0_data(gn->d.dNSName));
		else if (gn->type == GEN_IPADD &&
			 (gn->d.iPAddress->length == 4 || gn->d.iPAddress->length == 16)) {
			inet_ntop(gn->d.iPAddress->length == 4 ? AF_INET : AF_INET6,
				  gn->d.iPAddress->data, ip, sizeof ip);
			buf_printf(&b, "%sIP:%s", b.len ? ", " : "", ip);
		}
	}
	GENERAL_NAMES_free(names);
	str_copy(out, size, b.data ? b.data : "");
	buf_free(&b);
}

/* Records each verdict and lets the handshake go on: see the file comment. */
static int
verify_seen(int ok, X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct client_conn *c = ssl ? SSL_get_app_data(ssl) : NULL;
	if (c == NULL)
		return ok;
	if (!ok)
		c->chain_failed = true;
	else if (X509_STORE_CTX_get_error_depth(store) == 0)
		c->leaf_verified = true;
	return 1;
}

/* The certificate is for the host (or address) we asked for. */
static bool
cert_names_host(const struct client_conn *c, X509 *cert)
{
	struct in6_addr a6;
	struct in_addr a4;
	if (inet_pton(AF_INET, c->host, &a4) == 1 || inet_pton(AF_INET6, c->host, &a6) == 1)
		return X509_check_ip_asc(cert, c->host, 0) == 1;
	unsigned flags = X509_VERIFY_PARAM_get_hostflags(SSL_get0_param(c->ssl));
	return X509_check_host(cert, c->host, 0, flags, NULL) == 1;
}

/*
 * DANE's verdict (RFC 7672 3): OpenSSL matched a TLSA record, and our
 * callback saw the chain pass. A DANE-TA(2) match must also name the host
 * (OpenSSL checks it; so do we, as for the CA path); DANE-EE(3) need not.
 */
static bool
dane_verified(const struct client_conn *c, X509 *cert)
{
	uint8_t usage = 255;
	if (c->dane_added == 0 || cert == NULL || SSL_get_verify_result(c->ssl) != X509_V_OK ||
	    SSL_get0_dane_authority(c->ssl, NULL, NULL) < 0 ||
	    SSL_get0_dane_tlsa(c->ssl, &usage, NULL, NULL, NULL, NULL) < 0)
		return false;
	if (usage == 2 && !cert_names_host(c, cert))
		return false;
	return c->leaf_verified && !c->chain_failed;
}

/*
 * The server is the one asked for, verified: on a full handshake by what our
 * callback saw and the name; on a resumed one by the session's own full
 * handshake (keep_session keeps only verified sessions) and the name.
 */
static bool
conn_verified(const struct client_conn *c)
{
	X509 *cert = SSL_get0_peer_certificate(c->ssl);
	if (c->ntlsa > 0)
		return dane_verified(c, cert);
	if (cert == NULL || SSL_get_verify_result(c->ssl) != X509_V_OK || !cert_names_host(c, cert))
		return false;
	return SSL_session_reused(c->ssl) || (c->leaf_verified && !c->chain_failed);
}

/* RFC 8460 4.3: the result type of a certificate that did not verify. */
static const char *
result_type(const struct client_conn *c, X509 *cert, long v)
{
	if (cert == NULL)
		return "validation-failure";
	if (v == X509_V_ERR_CERT_HAS_EXPIRED || v == X509_V_ERR_CERT_NOT_YET_VALID)
		return "certificate-expired";
	if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH ||
	    (v == X509_V_OK && !cert_names_host(c, cert)))
		return "certificate-host-mismatch";
	if (c->ntlsa > 0)
		return "tlsa-invalid"; /* RFC 8460 4.3.2.1: no record matched */
	switch (v) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
	case X509_V_ERR_INVALID_CA:
		return "certificate-not-trusted";
	default:
		return "validation-failure";
	}
}

/* The hex SHA-256 of cert's public key (SPKI, DER): what "3 1 1" TLSA data is. */
static void
spki_sha256(X509 *cert, char *out, size_t size)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	out[0] = '\0';
	if (n > 0 && EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) == 1 &&
	    size > 2 * (size_t)mdlen)
		for (unsigned int i = 0; i < mdlen; i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
	OPENSSL_free(der);
}

static void
fill_tls_info(struct client_conn *c)
{
	struct tls_info *t = &c->tls;
	str_copy(t->version, sizeof t->version, SSL_get_version(c->ssl));
	str_copy(t->cipher, sizeof t->cipher, SSL_get_cipher_name(c->ssl));
	X509 *cert = SSL_get1_peer_certificate(c->ssl);
	if (cert) {
		name_text(X509_get_subject_name(cert), t->subject, sizeof t->subject);
		name_text(X509_get_issuer_name(cert), t->issuer, sizeof t->issuer);
		sans_text(cert, t->sans, sizeof t->sans);
		const ASN1_TIME *na = X509_get0_notAfter(cert);
		struct tm tm;
		if (ASN1_TIME_to_tm(na, &tm) == 1)
			strftime(t->not_after, sizeof t->not_after, "%Y-%m-%d %H:%M:%S UTC", &tm);
		int days = 0, secs = 0;
		if (ASN1_TIME_diff(&days, &secs, NULL, na) == 1)
			t->days_left = days;
		spki_sha256(cert, t->spki_sha256, sizeof t->spki_sha256);
	}
	t->resumed = SSL_session_reused(c->ssl);
	/* On resumption both come from the session, kept only when its full
	 * handshake verified (keep_session). */
	long v = SSL_get_verify_result(c->ssl);
	t->verified = conn_verified(c);
	str_copy(t->auth, sizeof t->auth, !t->verified ? "none" : c->ntlsa > 0 ? "dane" : "ca");
	str_copy(t->result_type, sizeof t->result_type, t->verified ? "" : result_type(c, cert, v));
	if (c->ntlsa > 0 && c->dane_added == 0 && !t->verified)
		v = X509_V_ERR_DANE_NO_MATCH; /* no record OpenSSL could use */
	else if (cert != NULL && v == X509_V_OK && !t->verified)
		v = X509_V_ERR_UNSPECIFIED; /* verification did not run to the end */
	str_copy(t->verify_error, sizeof t->verify_error,
		 cert == NULL ? "the server sent no certificate"
			      : (v == X509_V_OK ? "" : X509_verify_cert_error_string(v)));
	X509_free(cert);
}

/* A session the server granted: into the caller's slot (we own it: 1). */
static int
keep_session(SSL *ssl, SSL_SESSION *sess)
{
	struct client_conn *c = SSL_get_app_data(ssl);
	/* Only a verified server's session: resuming skips the certificate. TLS
	 * 1.2 grants it inside the handshake, before fill_tls_info; TLS 1.3 after
	 * every handshake, a resumed one too (the used session is not offered
	 * twice, so refusing that one would halve the resumptions). */
	if (c == NULL || c->session == NULL || !conn_verified(c))
		return 0;
	SSL_SESSION_free(*c->session);
	*c->session = sess;
	return 1;
}

/*
 * One context per trust source and session mode, made once per process and
 * shared (an SSL_CTX is safe to share between threads): OpenSSL 3 spends
 * more on SSL_CTX_new and loading the CAs than a resumed handshake costs,
 * and outbound delivery, verify and the load generator connect again and
 * again. Beyond CTX_CACHE_MAX sources a context is made per connection.
 */
#define CTX_CACHE_MAX 8

static struct {
	char cafile[4096]; /* "" for the system store */
	bool sessions;
	SSL_CTX *ctx;
} ctx_cache[CTX_CACHE_MAX];
static size_t ctx_cached;
static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;

static SSL_CTX *new_client_ctx(const struct client_conn *c, struct conn_error *err);

/* A reference the caller frees with SSL_CTX_free(). */
static SSL_CTX *
client_ctx(const struct client_conn *c, struct conn_error *err)
{
	const char *cafile = c->cafile ? c->cafile : "";
	bool sessions = c->session != NULL;
	SSL_CTX *ctx = NULL;
	bool room = strlen(cafile) < sizeof ctx_cache[0].cafile;
	pthread_mutex_lock(&ctx_lock);
	for (size_t i = 0; i < ctx_cached && ctx == NULL; i++)
		if (ctx_cache[i].sessions == sessions && strcmp(ctx_cache[i].cafile, cafile) == 0)
			ctx = ctx_cache[i].ctx;
	room = room && ctx_cached < CTX_CACHE_MAX;
	if (ctx == NULL && room && (ctx = new_client_ctx(c, err)) != NULL) {
		str_copy(ctx_cache[ctx_cached].cafile, sizeof ctx_cache[0].cafile, cafile);
		ctx_cache[ctx_cached].sessions = sessions;
		ctx_cache[ctx_cached++].ctx = ctx;
	}
	if (ctx)
		SSL_CTX_up_ref(ctx);
	pthread_mutex_unlock(&ctx_lock);
	/* No room left: a context of its own, freed with the connection. */
	return ctx || room ? ctx : new_client_ctx(c, err);
}

static SSL_CTX *
new_client_ctx(const struct client_conn *c, struct conn_error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int ok = ctx != NULL && SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1;
	if (ok)
		ok = c->cafile ? SSL_CTX_load_verify_locations(ctx, c->cafile, NULL)
			       : SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		char reason[200];
		openssl_reason(reason, sizeof reason);
		char detail[256];
		snprintf(detail, sizeof detail, "cannot load the CA file %s: %s",
			 c->cafile ? c->cafile : "(system store)", reason);
		set_error(err, CONN_TLS_CERT, detail);
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* Verdict checked after the handshake (see the file comment). */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, verify_seen);
	/* DANE's digests, for the connections that ask (SSL_dane_enable); a
	 * context without them refuses DANE there, which fails closed. */
	SSL_CTX_dane_enable(ctx);
	if (c->session != NULL) {
		/* TLS 1.3 tickets arrive after the handshake, whenever the next
		 * read meets them: the callback catches each as it comes. */
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
							SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(ctx, keep_session);
	}
	return ctx;
}

/* Run an SSL operation to completion within the deadline. */
static int
ssl_wait(struct client_conn *c, int rc, long deadline)
{
	int e = SSL_get_error(c->ssl, rc);
	if (e == SSL_ERROR_WANT_READ)
		return wait_fd(c->fd, POLLIN, deadline) == 0 ? 1 : -2;
	if (e == SSL_ERROR_WANT_WRITE)
		return wait_fd(c->fd, POLLOUT, deadline) == 0 ? 1 : -2;
	return -1;
}

/*
 * DANE on this connection: the host is the TLSA base domain, the name a
 * DANE-TA chain must carry and the SNI (RFC 7672 3.2.2, 8.1). Records
 * OpenSSL cannot use are skipped; with none left, conn_verified says no.
 */
static int
dane_prepare(struct client_conn *c)
{
	if (SSL_dane_enable(c->ssl, c->host) <= 0 || SSL_set_tlsext_host_name(c->ssl, c->host) != 1)
		return -1;
	SSL_dane_set_flags(c->ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (size_t i = 0; i < c->ntlsa; i++) {
		const struct dns_tlsa *t = &c->tlsa[i];
		if (!dns_tlsa_usable(t))
			continue; /* PKIX-TA/EE: RFC 7672 3.1.3 */
		if (SSL_dane_tlsa_add(c->ssl, t->usage, t->selector, t->mtype, t->data, t->len) > 0)
			c->dane_added++;
	}
	ERR_clear_error(); /* a refused record leaves its reason behind */
	return 0;
}

/* The SSL object with the name (or address) the certificate must match. */
static int
tls_prepare(struct client_conn *c)
{
	c->ssl = SSL_new(c->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return -1;
	SSL_set_app_data(c->ssl, c);
	/* A session that cannot be set only costs a full handshake. */
	if (c->session != NULL && *c->session != NULL)
		SSL_set_session(c->ssl, *c->session);
	struct in6_addr a6;
	struct in_addr a4;
	bool is_ip =
	    inet_pton(AF_INET, c->host, &a4) == 1 || inet_pton(AF_INET6, c->host, &a6) == 1;
	if (is_ip)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host) == 1 ? 0 : -1;
	if (c->ntlsa > 0)
		return dane_prepare(c);
	return SSL_set_tlsext_host_name(c->ssl, c->host) == 1 && SSL_set1_host(c->ssl, c->host) == 1
		   ? 0
		   : -1;
}

int
client_conn_start_tls(struct client_conn *c, struct conn_error *err)
{
	/* Anything that arrived before the handshake is not to be trusted. */
	c->rlen = 0;
	c->ctx = client_ctx(c, err);
	if (c->ctx == NULL)
		return -1;
	if (tls_prepare(c) < 0) {
		/* Only memory runs out here; never go on without the name check. */
		char reason[200], detail[256];
		openssl_reason(reason, sizeof reason);
		snprintf(detail, sizeof detail, "cannot set up TLS for %s: %s", c->host, reason);
		set_error(err, CONN_TLS_HANDSHAKE, detail);
		return -1;
	}
	long deadline = now_ms() + c->timeout_ms;
	int rc, w = 1;
	ERR_clear_error();
	while ((rc = SSL_connect(c->ssl)) != 1 && (w = ssl_wait(c, rc, deadline)) == 1)
		;
	if (rc != 1) {
		char reason[200];
		if (w == -2)
			str_copy(reason, sizeof reason, "the TLS handshake timed out");
		else
			openssl_reason(reason, sizeof reason);
		set_error(err, w == -2 ? CONN_TIMEOUT : CONN_TLS_HANDSHAKE, reason);
		return -1;
	}
	fill_tls_info(c);
	if (!c->tls.verified && !c->insecure) {
		char detail[256];
		if (c->ntlsa > 0)
			snprintf(
			    detail, sizeof detail,
			    "DANE: the certificate of %s matches none of its TLSA records (%s)",
			    c->host, c->tls.verify_error);
		else
			snprintf(detail, sizeof detail, "certificate not trusted for %s: %s",
				 c->host, c->tls.verify_error);
		set_error(err, CONN_TLS_CERT, detail);
		return -1;
	}
	return 0;
}

/* ---- lines ---- */

/* Read more bytes into rbuf; -1 with err. */
static int
fill(struct client_conn *c, long deadline, struct conn_error *err)
{
	for (;;) {
		ssize_t n;
		if (c->ssl) {
			ERR_clear_error();
			int rc = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(READ_BUF - c->rlen));
			if (rc > 0) {
				c->rlen += (size_t)rc;
				return 0;
			}
			int e = SSL_get_error(c->ssl, rc);
			if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && rc == 0)) {
				set_error(err, CONN_CLOSED, "the server closed the connection");
				return -1;
			}
			int w = ssl_wait(c, rc, deadline);
			if (w == 1)
				continue;
			if (w == -2)
				set_error(err, CONN_TIMEOUT, "no reply in time");
			else
				openssl_reason(err->detail, sizeof err->detail),
				    err->kind = CONN_IO;
			return -1;
		}
		n = recv(c->fd, c->rbuf + c->rlen, READ_BUF - c->rlen, 0);
		if (n > 0) {
			c->rlen += (size_t)n;
			return 0;
		}
		if (n == 0) {
			set_error(err, CONN_CLOSED, "the server closed the connection");
			return -1;
		}
		if (errno != EAGAIN && errno != EINTR) {
			set_error(err, kind_of_errno(errno), strerror(errno));
			return -1;
		}
		if (wait_fd(c->fd, POLLIN, deadline) < 0) {
			set_error(err, CONN_TIMEOUT, "no reply in time");
			return -1;
		}
	}
}

int
client_conn_read_line(struct client_conn *c, char *line, size_t size, size_t *len_r,
		      struct conn_error *err)
{
	long deadline = now_ms() + c->timeout_ms;
	for (;;) {
		char *lf = memchr(c->rbuf, '\n', c->rlen);
		if (lf) {
			size_t n = (size_t)(lf - c->rbuf);
			size_t used = n + 1;
			if (n > 0 && c->rbuf[n - 1] == '\r')
				n--;
			if (n >= size) {
				set_error(err, CONN_LINE_TOO_LONG, "a reply line is too long");
				return -1;
			}
			memcpy(line, c->rbuf, n);
			line[n] = '\0';
			*len_r = n;
			memmove(c->rbuf, c->rbuf + used, c->rlen - used);
			c->rlen -= used;
			return 0;
		}
		if (c->rlen == READ_BUF) {
			set_error(err, CONN_LINE_TOO_LONG, "a reply line is too long");
			return -1;
		}
		if (fill(c, deadline, err) < 0)
			return -1;
	}
}

int
client_conn_write(struct client_conn *c, const void *p, size_t n, struct conn_error *err)
{
	long deadline = now_ms() + c->timeout_ms;
	const char *s = p;
	while (n > 0) {
		ssize_t w;
		if (c->ssl) {
			ERR_clear_error();
			int rc = SSL_write(c->ssl, s, (int)(n > 1 << 20 ? 1 << 20 : n));
			if (rc <= 0) {
				int r = ssl_wait(c, rc, deadline);
				if (r == 1)
					continue;
				set_error(err, r == -2 ? CONN_TIMEOUT : CONN_CLOSED,
					  r == -2 ? "the server stopped reading"
						  : "the connection broke while sending");
				return -1;
			}
			w = rc;
		} else {
			w = send(c->fd, s, n, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno != EAGAIN && errno != EINTR) {
					set_error(err, kind_of_errno(errno), strerror(errno));
					return -1;
				}
				if (wait_fd(c->fd, POLLOUT, deadline) < 0) {
					set_error(err, CONN_TIMEOUT, "the server stopped reading");
					return -1;
				}
				continue;
			}
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

const char *
conn_error_kind_name(enum conn_error_kind k)
{
	static const char *const names[] = {
	    "ok",     "dns",	       "refused",  "timeout", "unreachable",
	    "closed", "tls_handshake", "tls_cert", "io",      "line_too_long",
	};
	return names[k];
}

bool
client_conn_quiet(const struct client_conn *c)
{
	if (c->rlen > 0 || (c->ssl && SSL_pending(c->ssl) > 0))
		return false;
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	return poll(&p, 1, 0) == 0;
}
