/*
 * session_fixture: a protocol-core server session with fake hooks, for the
 * dialog tests and the session fuzzer. The world it pretends: local domain
 * example.test with users alice and bob (password "<name>-secret"), a
 * spool that keeps the message in memory, a fixed date.
 */
#ifndef MP_SESSION_FIXTURE_H
#define MP_SESSION_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "policy.h"
#include "smtp_server.h"
#include "str.h"

struct fixture {
	struct smtp_server_config cfg;
	struct smtp_server_hooks hooks;
	struct smtp_server *s;
	struct buf message; /* what the spool hook received */
	bool spooling;
	unsigned committed; /* messages committed */
	size_t first_write; /* bytes in the message's first spool_write call */
	unsigned
	    trace_apart_bad; /* committed messages whose first write was not our Received: alone */
	unsigned aborted;
};

static bool
fx_is_local_domain(void *ctx, const char *domain)
{
	(void)ctx;
	return str_eq_ci(domain, "example.test");
}

static enum smtp_local_rcpt
fx_is_local_user(void *ctx, const char *local, const char *domain)
{
	(void)ctx;
	(void)domain;
	size_t n = strcspn(local, "+");
	if (n == 4 && strncasecmp(local, "loop", 4) == 0)
		return SMTP_RCPT_LOOP; /* stands for an alias whose expansion loops */
	return (n == 5 && strncasecmp(local, "alice", 5) == 0) ||
		       (n == 3 && strncasecmp(local, "bob", 3) == 0)
		   ? SMTP_RCPT_OK
		   : SMTP_RCPT_UNKNOWN;
}

static int
fx_spool_begin(void *ctx, const struct smtp_envelope *env, char *qid, size_t size, bool *no_space)
{
	struct fixture *f = ctx;
	(void)env;
	(void)no_space;
	buf_reset(&f->message);
	f->spooling = true;
	snprintf(qid, size, "TEST%04u", f->committed);
	return 0;
}

static int
fx_spool_write(void *ctx, const char *p, size_t n)
{
	struct fixture *f = ctx;
	if (!f->spooling)
		return -1;
	if (f->message.len == 0)
		f->first_write = n;
	return buf_append(&f->message, p, n) ? 0 : -1;
}

static void
fx_spool_abort(void *ctx)
{
	struct fixture *f = ctx;
	f->spooling = false;
	f->aborted++;
}

static void
fx_date(void *ctx, char *out, size_t size)
{
	(void)ctx;
	snprintf(out, size, "Sun, 29 Nov 2026 10:00:00 +0000");
}

static void
fx_log(void *ctx, const char *line)
{
	(void)ctx;
	(void)line;
}

static void
fixture_init(struct fixture *f, enum service svc)
{
	memset(f, 0, sizeof *f);
	buf_init(&f->message, 1 << 20);
	f->cfg = (struct smtp_server_config){
	    .hostname = "mx.example.test",
	    .policy = policy_for(svc),
	    .max_message_size = 10000,
	    .max_recipients = 100,
	    .max_errors = 20,
	    .max_auth_failures = 3,
	    .tls_available = true,
	    .postmaster_domain = "example.test",
	};
	f->hooks = (struct smtp_server_hooks){
	    .ctx = f,
	    .is_local_domain = fx_is_local_domain,
	    .is_local_user = fx_is_local_user,
	    .spool_begin = fx_spool_begin,
	    .spool_write = fx_spool_write,
	    .spool_abort = fx_spool_abort,
	    .date = fx_date,
	    .log = fx_log,
	};
	f->s = smtp_server_new(&f->cfg, &f->hooks, "192.0.2.1", svc == SVC_SUBMISSIONS);
	if (svc == SVC_SUBMISSIONS)
		smtp_server_tls_done(f->s, true, "TLSv1.3", "TLS_AES_256_GCM_SHA384");
	smtp_server_greet(f->s);
}

static void
fixture_free(struct fixture *f)
{
	smtp_server_free(&f->s);
	buf_free(&f->message);
}

/* Answer the session's pending action the way the fake world would. */
static bool
fixture_settle(struct fixture *f)
{
	switch (smtp_server_action(f->s)) {
	case SMTP_ACT_CHECK_AUTH: {
		const struct sasl_creds *c = smtp_server_auth_creds(f->s);
		bool ok = (str_eq_ci(c->user, "alice@example.test") &&
			   strcmp(c->password, "alice-secret") == 0) ||
			  (str_eq_ci(c->user, "bob@example.test") &&
			   strcmp(c->password, "bob-secret") == 0);
		smtp_server_auth_done(f->s, ok ? SMTP_AUTH_OK : SMTP_AUTH_BAD);
		return true;
	}
	case SMTP_ACT_COMMIT: {
		/* The glue tells our Received: from the client's fields by its own call. */
		const char *m = f->message.data;
		size_t k = f->first_write;
		if (f->message.len < 10 || strncmp(m, "Received:", 9) != 0 || k < 2 ||
		    k > f->message.len || m[k - 2] != '\r' || m[k - 1] != '\n' ||
		    (k < f->message.len && (m[k] == ' ' || m[k] == '\t')))
			f->trace_apart_bad++;
		f->spooling = false;
		f->committed++;
		smtp_server_commit_done(f->s, SMTP_COMMIT_OK);
		return true;
	}
	default:
		return false;
	}
}

#endif
