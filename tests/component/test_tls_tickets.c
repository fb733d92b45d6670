/*
 * Component tests for the session ticket keys of net/tls: handshakes in
 * memory (a BIO pair) between a client and a server context. A ticket
 * resumes on a new context sharing the keys (a reload), after one rotation
 * (the previous key still opens it), but not after two; a context with the
 * keys of another server, or a new certificate, means a full handshake.
 * Works in its own directory under /tmp and removes it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "harness.h"
#include "tls.h"

static char dir[64], cert_a[128], key_a[128], cert_b[128], key_b[128];

/* Pump both ends until the handshake is done and the client has read the
 * server's tickets (TLS 1.3 sends them after the handshake). */
static bool
handshake(SSL *client, SSL *server)
{
	bool c_done = false, s_done = false;
	for (int i = 0; i < 100 && !(c_done && s_done); i++) {
		if (!c_done) {
			int rc = SSL_do_handshake(client);
			if (rc == 1)
				c_done = true;
			else if (SSL_get_error(client, rc) != SSL_ERROR_WANT_READ)
				return false;
		}
		if (!s_done) {
			int rc = SSL_do_handshake(server);
			if (rc == 1)
				s_done = true;
			else if (SSL_get_error(server, rc) != SSL_ERROR_WANT_READ)
				return false;
		}
	}
	if (!(c_done && s_done))
		return false;
	char b;
	int rc = SSL_read(client, &b, 1); /* takes the tickets in; no data follows */
	return rc <= 0 && SSL_get_error(client, rc) == SSL_ERROR_WANT_READ;
}

/*
 * One connection from a fresh client context (as client_conn makes one per
 * connection), offering *sess when set; *sess becomes the newest session.
 * Returns 1 resumed, 0 full handshake, -1 failed.
 */
static int
connect_once(SSL_CTX *sctx, int version, SSL_SESSION **sess)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(cctx, version);
	SSL_CTX_set_max_proto_version(cctx, version);
	SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
	BIO *cb, *sb;
	BIO_new_bio_pair(&cb, 0, &sb, 0);
	SSL_set_bio(c, cb, cb);
	SSL_set_bio(s, sb, sb);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	if (*sess)
		SSL_set_session(c, *sess);
	int rc = -1;
	if (handshake(c, s)) {
		rc = SSL_session_reused(c) ? 1 : 0;
		SSL_SESSION *n = SSL_get1_session(c);
		if (n != NULL && SSL_SESSION_is_resumable(n)) {
			SSL_SESSION_free(*sess);
			*sess = n;
		} else {
			SSL_SESSION_free(n);
		}
	}
	/* A close without close_notify marks the session unfit for resumption. */
	SSL_shutdown(c);
	SSL_shutdown(s);
	ERR_clear_error();
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	return rc;
}

/* A copy of the session's ticket, to tell whether a new one came. */
static size_t
ticket_of(const SSL_SESSION *sess, unsigned char *out, size_t size)
{
	const unsigned char *tick = NULL;
	size_t len = 0;
	SSL_SESSION_get0_ticket(sess, &tick, &len);
	if (len > size)
		len = size;
	memcpy(out, tick, len);
	return len;
}

static SSL_CTX *
server_ctx(const char *cert, const char *key, struct tls_tickets *t)
{
	char err[1024];
	SSL_CTX *ctx = tls_server_ctx_new(cert, key, t, err, sizeof err);
	if (ctx == NULL)
		printf("# %s\n", err);
	return ctx;
}

static void
test_rotation(int version)
{
	struct tls_tickets *t = tls_tickets_new();
	CHECK(t != NULL);
	SSL_CTX *ctx = server_ctx(cert_a, key_a, t);
	CHECK(ctx != NULL);
	if (t == NULL || ctx == NULL)
		return;
	SSL_SESSION *sess = NULL;
	CHECK(connect_once(ctx, version, &sess) == 0);
	CHECK(sess != NULL);
	if (sess == NULL)
		return;
	/* A resumed connection leaves a fresh ticket: a client never offers one twice. */
	unsigned char before[4096];
	size_t before_len = ticket_of(sess, before, sizeof before);
	CHECK(before_len > 0);
	CHECK(connect_once(ctx, version, &sess) == 1);
	unsigned char after[4096];
	size_t after_len = ticket_of(sess, after, sizeof after);
	CHECK(after_len > 0 && (after_len != before_len || memcmp(before, after, after_len) != 0));

	/* A reload: a new context with the same keys and certificate. */
	SSL_CTX *ctx2 = server_ctx(cert_a, key_a, t);
	CHECK(ctx2 != NULL);
	SSL_CTX_free(ctx);
	ctx = ctx2;
	CHECK(connect_once(ctx, version, &sess) == 1);

	/* One rotation: the ticket was sealed with what is now the previous key. */
	SSL_SESSION *old = sess;
	SSL_SESSION_up_ref(old);
	tls_tickets_rotate(t);
	CHECK(connect_once(ctx, version, &sess) == 1);
	/* Two rotations: that key is gone. The new session (renewed under the
	 * current key) still resumes. */
	tls_tickets_rotate(t);
	CHECK(connect_once(ctx, version, &old) == 0);
	CHECK(connect_once(ctx, version, &sess) == 1);
	SSL_SESSION_free(old);

	/* Another server's keys (a restart) open nothing: a full handshake. */
	struct tls_tickets *other = tls_tickets_new();
	SSL_CTX *octx = server_ctx(cert_a, key_a, other);
	CHECK(octx != NULL && connect_once(octx, version, &sess) == 0);
	SSL_CTX_free(octx);
	tls_tickets_free(&other);

	/* A new certificate voids the tickets of the old one. */
	SSL_SESSION_free(sess);
	sess = NULL;
	CHECK(connect_once(ctx, version, &sess) == 0);
	SSL_CTX *bctx = server_ctx(cert_b, key_b, t);
	CHECK(bctx != NULL && connect_once(bctx, version, &sess) == 0);
	CHECK(bctx != NULL && connect_once(bctx, version, &sess) == 1);
	SSL_CTX_free(bctx);
	SSL_SESSION_free(sess);
	SSL_CTX_free(ctx);
	tls_tickets_free(&t);
	CHECK(t == NULL);
}

int
main(void)
{
	char err[1024];
	snprintf(dir, sizeof dir, "/tmp/mp-tickets-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(cert_a, sizeof cert_a, "%s/a.pem", dir);
	snprintf(key_a, sizeof key_a, "%s/a.key", dir);
	snprintf(cert_b, sizeof cert_b, "%s/b.pem", dir);
	snprintf(key_b, sizeof key_b, "%s/b.key", dir);
	bool ok = tls_ensure_self_signed(cert_a, key_a, "a.test", err, sizeof err) == 0 &&
		  tls_ensure_self_signed(cert_b, key_b, "b.test", err, sizeof err) == 0;
	CHECK(ok);
	if (ok) {
		test_rotation(TLS1_3_VERSION);
		test_rotation(TLS1_2_VERSION);
	} else {
		printf("# %s\n", err);
	}
	unlink(cert_a), unlink(key_a), unlink(cert_b), unlink(key_b);
	rmdir(dir);
	return test_summary("test_tls_tickets");
}
