/*
 * Component test for net/client_conn's TLS resumption: with a session slot,
 * every connection after the first resumes, the certificate still counts as
 * verified for the name asked, and a session is never kept for a server
 * whose certificate is not for that name. A TLS 1.3 server sends a new
 * ticket after a resumed handshake too; the used one is not offered twice,
 * so a client that refused the new one would resume every other time.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_conn.h"
#include "harness.h"
#include "test_tls_server.h"

/* One connection: TLS, the server's line, a clean close. 1 resumed, 0 full, -1 failed. */
static int
one_connection(const struct client_conn_opts *o, bool *verified_r)
{
	struct conn_error err = {0};
	struct client_conn *c = client_conn_open(o, &err);
	if (c == NULL)
		return -1;
	int rc = -1;
	char line[64];
	size_t len;
	if (client_conn_start_tls(c, &err) == 0 &&
	    client_conn_read_line(c, line, sizeof line, &len, &err) == 0) {
		*verified_r = client_conn_tls(c)->verified;
		rc = client_conn_tls(c)->resumed ? 1 : 0;
	}
	client_conn_close(&c);
	return rc;
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	struct tls_server ts;
	pthread_t t;
	CHECK(tls_server_start(&ts, "mx.example.test", &t) == 0);

	SSL_SESSION *slot = NULL;
	struct client_conn_opts o = {.host = "mx.example.test",
				     .port = (unsigned short)ts.port,
				     .connect_addr = "127.0.0.1",
				     .timeout_ms = 3000,
				     .cafile = ts.cert,
				     .tls_session = &slot};
	bool verified = false;
	CHECK(one_connection(&o, &verified) == 0 && verified); /* the first: a full handshake */
	for (int i = 0; i < 5; i++) {
		verified = false;
		int r = one_connection(&o, &verified);
		if (r != 1)
			printf("not ok: connection %d did not resume (%d)\n", i + 2, r);
		CHECK(r == 1 && verified);
	}
	/* Another name: the certificate does not match, nothing is kept. */
	SSL_SESSION *other = NULL;
	o.host = "other.test";
	o.tls_session = &other;
	o.insecure = true; /* to get past the check and see what the slot keeps */
	verified = true;
	CHECK(one_connection(&o, &verified) == 0 && !verified);
	CHECK(other == NULL);

	SSL_SESSION_free(slot);
	tls_server_stop(&ts, t);
	return test_summary("test_client_tls_resume");
}
