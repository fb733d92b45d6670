/*
 * auth_dovecot: one login checked over Dovecot's auth-client socket
 * (auth_dovecot.h). The request id is a per-process counter: each check
 * has its own connection, so any id would do, but Dovecot logs it.
 */
#include "auth_dovecot.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "client_conn.h"
#include "dovecot_auth.h"

static atomic_ulong next_id = 1;

static enum smtp_auth_result
tempfail(char *why, size_t size, const char *where, const char *what, const char *fix)
{
	snprintf(why, size, "Dovecot auth at %s: %s; %s", where, what, fix);
	return SMTP_AUTH_TEMPFAIL;
}

static int
send_buf(struct client_conn *conn, struct buf *b, struct conn_error *err)
{
	int rc = client_conn_write(conn, b->data, b->len, err);
	explicit_bzero(b->data, b->cap);
	buf_reset(b);
	return rc;
}

enum smtp_auth_result
auth_dovecot_check(const struct auth_dovecot_check *c, char *why, size_t why_size)
{
	char where[160];
	config_endpoint_format(c->ep, where, sizeof where);
	struct client_conn_opts opts = {
	    .host = c->ep->unix_path[0] ? "localhost" : c->ep->hp.host,
	    .port = c->ep->hp.port,
	    .unix_path = c->ep->unix_path[0] ? c->ep->unix_path : NULL,
	    .timeout_ms = (int)(c->timeout_s ? c->timeout_s : 10) * 1000,
	};
	struct conn_error err;
	struct client_conn *conn = client_conn_open(&opts, &err);
	if (conn == NULL)
		return tempfail(
		    why, why_size, where, err.detail,
		    "is Dovecot running with this socket in its auth service "
		    "(service auth { unix_listener ... }), reachable by mailport's user?");
	struct buf out;
	buf_init(&out, 0);
	struct dovecot_auth a;
	dovecot_auth_init(&a);
	dovecot_auth_hello(&out, (unsigned long)getpid());
	enum smtp_auth_result res = SMTP_AUTH_TEMPFAIL;
	char line[DOVECOT_AUTH_LINE_MAX + 2];
	size_t n;
	if (send_buf(conn, &out, &err) < 0) {
		res = tempfail(why, why_size, where, err.detail, "check Dovecot's log");
		goto out;
	}
	for (;;) {
		if (client_conn_read_line(conn, line, sizeof line, &n, &err) < 0) {
			res = tempfail(why, why_size, where, err.detail,
				       "check Dovecot's log (auth process)");
			goto out;
		}
		enum dovecot_verdict v = dovecot_auth_feed(&a, (struct strv){line, n});
		if (v == DOVECOT_READY && !a.sent) {
			unsigned long id = atomic_fetch_add(&next_id, 1);
			struct dovecot_auth_request req = {.id = id,
							   .user = c->user,
							   .password = c->password,
							   .service = "smtp",
							   .secured = c->secured,
							   .rip = c->rip,
							   .lip = c->lip};
			if (!dovecot_auth_request(&out, &req)) {
				res = SMTP_AUTH_BAD; /* longer than PLAIN allows: cannot be right */
				snprintf(why, why_size, "the user name or password is too long");
				goto out;
			}
			dovecot_auth_sent(&a, id);
			if (send_buf(conn, &out, &err) < 0) {
				res = tempfail(why, why_size, where, err.detail,
					       "check Dovecot's log");
				goto out;
			}
		} else if (v == DOVECOT_OK) {
			res = SMTP_AUTH_OK;
			goto out;
		} else if (v == DOVECOT_FAIL) {
			res = SMTP_AUTH_BAD;
			snprintf(why, why_size, "Dovecot refused the login%s%s",
				 a.last.reason[0] ? ": " : "", a.last.reason);
			goto out;
		} else if (v == DOVECOT_TEMPFAIL) {
			res = tempfail(why, why_size, where,
				       a.last.reason[0] ? a.last.reason : "a temporary failure",
				       "check Dovecot's log (its passdb)");
			goto out;
		} else if (v == DOVECOT_ERROR) {
			res = tempfail(why, why_size, where, a.why,
				       "check that the socket is Dovecot's auth-client one");
			goto out;
		}
	}
out:
	explicit_bzero(line, sizeof line);
	if (out.data)
		explicit_bzero(out.data, out.cap);
	buf_free(&out);
	client_conn_close(&conn);
	return res;
}
