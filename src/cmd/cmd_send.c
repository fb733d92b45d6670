/*
 * `mailport send` and `mailport sendmail`: submission that finds the
 * working door (587 -> 465 -> 2525), never sends a password in the clear,
 * and explains every failure (issue 3; DESIGN.md "Command lines").
 *
 * This file turns options (and an account from send.conf) into a
 * submit_opts and a report; the dialogue is core/smtp_client, the doors
 * io/submit, the message cmd/send_message.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "account.h"
#include "cmd.h"
#include "send_message.h"
#include "send_opts.h"
#include "str.h"
#include "submit.h"
#include "xmalloc.h"

/* ---- the report ---- */

static void
print_attempt(const struct send_opts *so, const struct door_attempt *a)
{
	struct buf b;
	buf_init(&b, 0);
	struct outcome_context ctx = {
	    .host = so->host,
	    .port = a->door.port,
	    .provider = so->provider,
	    .reason = a->run.conn.kind != CONN_OK ? a->run.conn.detail : NULL,
	    .reply = a->run.smtp.reply.code ? &a->run.smtp.reply : NULL,
	};
	outcome_format(a->outcome, &ctx, &b);
	fprintf(stderr, "%s", b.data ? b.data : "");
	buf_free(&b);
}

static void
print_success(const struct send_opts *so, const struct door_attempt *a)
{
	const struct client_run_result *r = &a->run;
	fprintf(stderr, "mailport: sent via %s:%u (%s%s%s%s%s): %d %s%s%s\n", so->host,
		a->door.port, door_tls_name(a->door.tls), r->tls_used ? ", " : "",
		r->tls_used ? r->tls.version : "", r->smtp.used_mech ? ", AUTH " : "",
		r->smtp.used_mech ? smtp_client_mech_name(r->smtp.used_mech) : "",
		r->smtp.reply.code, r->smtp.reply.esc, r->smtp.reply.esc[0] ? " " : "",
		r->smtp.reply.text);
}

static int
report(const struct send_opts *so, const struct door_attempt *attempts, size_t n, int ok)
{
	if (so->insecure)
		fprintf(stderr, "mailport: warning: --insecure: the server's certificate was not "
				"checked, so the connection may not be private\n");
	for (size_t i = 0; i < n; i++) {
		if ((int)i == ok)
			continue;
		if (ok >= 0 || n > 1)
			fprintf(stderr, "mailport: door %s:%u (%s) did not work:\n", so->host,
				attempts[i].door.port, door_tls_name(attempts[i].door.tls));
		print_attempt(so, &attempts[i]);
	}
	if (ok >= 0) {
		if (!so->quiet_success || n > 1)
			print_success(so, &attempts[ok]);
		return EX_OK;
	}
	return n ? attempts[n - 1].outcome->exit_code : EX_SOFTWARE;
}

/* ---- the run ---- */

static int
send_run(struct send_opts *so)
{
	struct buf msg;
	struct message_info info;
	char err[1024];
	int exit_code = EX_DATAERR;
	struct send_message_found found = {0};
	/* RFC 8689 4.2.1: the first hop too must be verified. */
	if (so->requiretls && so->insecure) {
		fprintf(stderr,
			"mailport: --requiretls needs a verified certificate, and --insecure "
			"turns the check off\n  fix: drop --insecure (use --cafile F to trust "
			"a test server's CA)\n");
		return EX_USAGE;
	}
	buf_init(&msg, 0);
	int rc = send_message_make(&so->msg, &msg, &info, &found, err, sizeof err, &exit_code);
	if (rc == 0 && send_opts_recipients(so, &found.rcpts, found.from, err, sizeof err) < 0) {
		rc = -1;
		exit_code = EX_USAGE;
	}
	send_message_found_free(&found);
	if (rc < 0) {
		fprintf(stderr, "mailport: %s\n", err);
		buf_free(&msg);
		return exit_code;
	}
	struct smtp_client_envelope env = {
	    .from = so->envelope_from,
	    .rcpts = (const char *const *)so->rcpts,
	    .nrcpts = so->nrcpts,
	    .size = msg.len,
	    .eightbit = info.has_8bit,
	    .requiretls = so->requiretls,
	};
	struct smtp_client_config cfg = {
	    .ehlo_name = so->ehlo_name,
	    .user = so->user[0] ? so->user : NULL,
	    .password = so->password[0] ? so->password : NULL,
	    .oauth_token = so->token[0] ? so->token : NULL,
	    .all_recipients_or_none = true,
	};
	struct submit_opts o = {
	    .host = so->host,
	    .ndoors = so->ndoors,
	    .timeout_ms = so->timeout_s * 1000,
	    .cafile = so->cafile,
	    .insecure = so->insecure,
	    .transcript = so->verbose ? stderr : NULL,
	    .cfg = &cfg,
	    .env = &env,
	    .body = msg.data,
	    .body_len = msg.len,
	};
	memcpy(o.doors, so->doors, sizeof o.doors);
	struct door_attempt attempts[SUBMIT_MAX_DOORS];
	struct smtp_client_rcpt_result *rr = xcalloc(so->nrcpts, sizeof *rr);
	size_t n = 0;
	int ok = submit(&o, attempts, &n, rr);
	rc = report(so, attempts, n, ok);
	free(rr);
	buf_free(&msg);
	return rc;
}

int
cmd_send(int argc, char **argv)
{
	struct send_opts so;
	int rc = send_opts_parse(&so, argc, argv, false);
	if (rc < 0)
		rc = send_run(&so);
	send_opts_free(&so);
	return rc;
}

int
cmd_sendmail(int argc, char **argv)
{
	struct send_opts so;
	int rc = send_opts_parse(&so, argc, argv, true);
	if (rc < 0)
		rc = send_run(&so);
	send_opts_free(&so);
	return rc;
}
