/*
 * Unit tests for core/outcome: the client-side failure table.
 *
 * The contract with the rest of the program is in the values, so the checks
 * walk the whole table: every row filled in, every status one DESIGN.md
 * lists for probe --json, every exit code a sysexits code DESIGN.md lists,
 * every enum client_failure mapped. Then the refinements by reply and the
 * error block a person reads.
 */
#include <string.h>
#include <sysexits.h>

#include "buf.h"
#include "harness.h"
#include "outcome.h"
#include "providers.h"

/* The last enum client_failure value: move it when the enum grows. */
#define LAST_CLIENT_FAILURE CLIENT_8BIT_UNSUPPORTED

static bool
is_design_status(const char *s)
{
	static const char *const ok[] = {
	    "ok",	    "timeout",	    "refused",		"dns_error",
	    "no_greeting",  "tls_failed",   "starttls_missing", "auth_failed",
	    "auth_missing", "relay_denied", "rejected",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (strcmp(s, ok[i]) == 0)
			return true;
	return false;
}

static bool
is_design_exit(int code)
{
	static const int ok[] = {0, 64, 65, 67, 68, 69, 75, 76, 77, 78};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (code == ok[i])
			return true;
	return false;
}

static void
check_row(const struct outcome *o)
{
	CHECK(o != NULL);
	if (o == NULL)
		return;
	CHECK(is_design_status(outcome_status_name(o->status)));
	CHECK(is_design_exit(o->exit_code));
	CHECK(o->what != NULL && o->what[0] != '\0');
	CHECK(o->cause != NULL && o->cause[0] != '\0');
	CHECK(o->fix != NULL && o->fix[0] != '\0');
	/* No printf conversions: the texts go into JSON and buf_printf("%s") as they are. */
	CHECK(o->what && strchr(o->what, '%') == NULL);
	CHECK(o->cause && strchr(o->cause, '%') == NULL);
	CHECK(o->fix && strchr(o->fix, '%') == NULL);
	CHECK(o->exit_code == 0 || o->id != OUTCOME_OK);
	CHECK((o->status == OUTCOME_S_OK) == (o->exit_code == EX_OK));
}

static void
test_table(void)
{
	for (int id = 0; id < OUTCOME_COUNT; id++) {
		const struct outcome *o = outcome_get((enum outcome_id)id);
		check_row(o);
		CHECK(o->id == (enum outcome_id)id);
	}
	for (int s = 0; s < OUTCOME_S_COUNT; s++)
		CHECK(is_design_status(outcome_status_name((enum outcome_status)s)));
	CHECK(outcome_get(OUTCOME_COUNT) == outcome_get(OUTCOME_PROTOCOL));
}

static void
test_every_client_failure(void)
{
	for (int f = CLIENT_OK; f <= LAST_CLIENT_FAILURE; f++) {
		const struct outcome *o = outcome_from_client((enum client_failure)f);
		check_row(o);
		/* Only success maps to success. */
		CHECK((f == CLIENT_OK) == (o->status == OUTCOME_S_OK));
		struct smtp_client_reply none = {0};
		CHECK(outcome_from_reply((enum client_failure)f, &none) == o);
		CHECK(outcome_from_reply((enum client_failure)f, NULL) == o);
	}
}

static const char *
status_of(enum client_failure f)
{
	return outcome_status_name(outcome_from_client(f)->status);
}

static void
test_mapping(void)
{
	CHECK_STR(status_of(CLIENT_OK), "ok");
	CHECK_STR(status_of(CLIENT_NO_GREETING), "no_greeting");
	CHECK_STR(status_of(CLIENT_STARTTLS_MISSING), "starttls_missing");
	CHECK_STR(status_of(CLIENT_TLS_FAILED), "tls_failed");
	CHECK_STR(status_of(CLIENT_AUTH_MISSING), "auth_missing");
	CHECK_STR(status_of(CLIENT_AUTH_FAILED), "auth_failed");
	CHECK_STR(status_of(CLIENT_RELAY_DENIED), "relay_denied");
	CHECK_STR(status_of(CLIENT_RCPT_REJECTED), "rejected");
	CHECK(outcome_from_client(CLIENT_OK)->exit_code == EX_OK);
	CHECK(outcome_from_client(CLIENT_AUTH_FAILED)->exit_code == EX_NOPERM);
	CHECK(outcome_from_client(CLIENT_RELAY_DENIED)->exit_code == EX_NOPERM);
	CHECK(outcome_from_client(CLIENT_RCPT_REJECTED)->exit_code == EX_NOUSER);
	CHECK(outcome_from_client(CLIENT_TEMPFAIL)->exit_code == EX_TEMPFAIL);
	CHECK(outcome_from_client(CLIENT_PROTOCOL)->exit_code == EX_PROTOCOL);
	/* A wrong password is the same on every door: do not try the next one. */
	CHECK(!outcome_from_client(CLIENT_AUTH_FAILED)->next_door);
	CHECK(outcome_from_client(CLIENT_STARTTLS_MISSING)->next_door);
	CHECK(outcome_from_client(CLIENT_AUTH_FAILED)->provider_note);

	/* The article's rows. */
	const struct outcome *t = outcome_connect_timeout(587);
	CHECK_STR(outcome_status_name(t->status), "timeout");
	CHECK(strstr(t->fix, "587 -> 465 -> 2525") && strstr(t->fix, "firewall"));
	CHECK(t->next_door && t->exit_code == EX_UNAVAILABLE);
	const struct outcome *t25 = outcome_connect_timeout(25);
	CHECK(t25 != t && t25->id == OUTCOME_CONNECT_TIMEOUT_PORT25);
	CHECK(strstr(t25->cause, "AWS") && strstr(t25->cause, "Azure") &&
	      strstr(t25->cause, "GCP"));
	CHECK(strstr(outcome_get(OUTCOME_CONNECT_REFUSED)->fix, "host name and the port"));
	CHECK(strstr(outcome_get(OUTCOME_TLS_HANDSHAKE)->fix, "openssl s_client"));
	CHECK(strstr(outcome_get(OUTCOME_RELAY_DENIED)->fix, "SMTP AUTH on 587"));
	CHECK(strstr(outcome_get(OUTCOME_AUTH_FAILED)->fix, "app password"));
	CHECK(strstr(outcome_get(OUTCOME_STARTTLS_MISSING)->fix, "465"));
	CHECK(strstr(outcome_get(OUTCOME_TLS_CERT_UNTRUSTED)->fix, "--cafile"));
	CHECK(strstr(outcome_get(OUTCOME_TLS_CERT_UNTRUSTED)->fix, "--insecure"));
	CHECK_STR(outcome_status_name(outcome_get(OUTCOME_DNS_ERROR)->status), "dns_error");
	CHECK(outcome_get(OUTCOME_DNS_ERROR)->exit_code == EX_NOHOST);
	CHECK_STR(outcome_status_name(outcome_get(OUTCOME_CONNECT_REFUSED)->status), "refused");
	CHECK_STR(
	    outcome_status_name(outcome_get(OUTCOME_TLS_MIXUP_IMPLICIT_ON_STARTTLS_PORT)->status),
	    "tls_failed");
	CHECK_STR(
	    outcome_status_name(outcome_get(OUTCOME_TLS_MIXUP_PLAIN_ON_IMPLICIT_PORT)->status),
	    "no_greeting");
}

static const struct outcome *
refine(enum client_failure f, int code, const char *esc)
{
	struct smtp_client_reply r = {.code = code};
	snprintf(r.esc, sizeof r.esc, "%s", esc);
	return outcome_from_reply(f, &r);
}

static void
test_refine(void)
{
	CHECK(refine(CLIENT_NO_GREETING, 554, "")->id == OUTCOME_GREETING_REFUSED);
	CHECK(refine(CLIENT_NO_GREETING, 421, "4.3.2")->id == OUTCOME_TEMPFAIL);
	CHECK(refine(CLIENT_TLS_FAILED, 454, "4.7.0")->id == OUTCOME_STARTTLS_REFUSED);
	CHECK(refine(CLIENT_TLS_FAILED, 220, "2.0.0")->id == OUTCOME_TLS_HANDSHAKE);
	CHECK(refine(CLIENT_SENDER_REJECTED, 530, "5.7.0")->id == OUTCOME_AUTH_REQUIRED);
	CHECK(refine(CLIENT_RCPT_REJECTED, 530, "5.7.0")->id == OUTCOME_AUTH_REQUIRED);
	CHECK(refine(CLIENT_SENDER_REJECTED, 553, "5.7.1")->id == OUTCOME_SENDER_REJECTED);
	CHECK(refine(CLIENT_RCPT_REJECTED, 550, "5.1.1")->id == OUTCOME_RCPT_REJECTED);
	CHECK(refine(CLIENT_RCPT_REJECTED, 450, "4.2.0")->id == OUTCOME_TEMPFAIL);
	CHECK(refine(CLIENT_AUTH_FAILED, 535, "5.7.8")->id == OUTCOME_AUTH_FAILED);
	CHECK(refine(CLIENT_AUTH_FAILED, 454, "4.7.0")->id == OUTCOME_TEMPFAIL);
	CHECK(refine(CLIENT_RELAY_DENIED, 550, "5.7.1")->id == OUTCOME_RELAY_DENIED);
	CHECK(refine(CLIENT_OK, 250, "2.0.0")->id == OUTCOME_OK);
}

static bool
starts_with(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
test_tls_and_greeting(void)
{
	CHECK(outcome_from_tls("certificate has expired", true, false)->id ==
	      OUTCOME_TLS_CERT_EXPIRED);
	CHECK(outcome_from_tls("certificate is not yet valid", true, true)->id ==
	      OUTCOME_TLS_CERT_EXPIRED);
	CHECK(outcome_from_tls("hostname mismatch", true, false)->id ==
	      OUTCOME_TLS_CERT_NAME_MISMATCH);
	CHECK(outcome_from_tls("IP address mismatch", true, false)->id ==
	      OUTCOME_TLS_CERT_NAME_MISMATCH);
	CHECK(outcome_from_tls("self-signed certificate", true, false)->id ==
	      OUTCOME_TLS_CERT_UNTRUSTED);
	CHECK(outcome_from_tls("unable to get local issuer certificate", true, false)->id ==
	      OUTCOME_TLS_CERT_UNTRUSTED);
	CHECK(outcome_from_tls(NULL, true, false)->id == OUTCOME_TLS_CERT_UNTRUSTED);
	/* A certificate we do not trust makes the door unusable (69): it is not a
	 * login or relay refused by the server (77), which scripts tell apart. */
	CHECK(outcome_get(OUTCOME_TLS_CERT_UNTRUSTED)->exit_code == EX_UNAVAILABLE);
	CHECK(outcome_get(OUTCOME_TLS_CERT_EXPIRED)->exit_code == EX_UNAVAILABLE);
	CHECK(outcome_get(OUTCOME_TLS_CERT_NAME_MISMATCH)->exit_code == EX_UNAVAILABLE);
	CHECK(outcome_from_tls("error:0A00010B:SSL routines::wrong version number", false, true)
		  ->id == OUTCOME_TLS_MIXUP_IMPLICIT_ON_STARTTLS_PORT);
	CHECK(outcome_from_tls("packet length too long", false, true)->id ==
	      OUTCOME_TLS_MIXUP_IMPLICIT_ON_STARTTLS_PORT);
	/* After STARTTLS the server did agree to TLS: not the port mix-up. */
	CHECK(outcome_from_tls("wrong version number", false, false)->id == OUTCOME_TLS_HANDSHAKE);
	CHECK(outcome_from_tls("tlsv1 alert protocol version", false, true)->id ==
	      OUTCOME_TLS_HANDSHAKE);
	CHECK(outcome_from_tls(NULL, false, true)->id == OUTCOME_TLS_HANDSHAKE);
	CHECK(outcome_no_greeting(465, CLIENT_TLS_STARTTLS)->id ==
	      OUTCOME_TLS_MIXUP_PLAIN_ON_IMPLICIT_PORT);
	CHECK(outcome_no_greeting(465, CLIENT_TLS_NONE)->id ==
	      OUTCOME_TLS_MIXUP_PLAIN_ON_IMPLICIT_PORT);
	CHECK(outcome_no_greeting(465, CLIENT_TLS_IMPLICIT)->id == OUTCOME_NO_GREETING);
	CHECK(outcome_no_greeting(587, CLIENT_TLS_STARTTLS)->id == OUTCOME_NO_GREETING);
}

static void
test_format(void)
{
	struct buf b;
	buf_init(&b, 0);
	struct smtp_client_reply r = {.code = 535, .esc = "5.7.8"};
	snprintf(r.text, sizeof r.text, "Username and Password not accepted \"x\"\r\n");
	struct outcome_context ctx = {
	    .host = "smtp.gmail.com",
	    .port = 587,
	    .provider = provider_by_name("gmail"),
	    .reply = &r,
	};
	outcome_format(outcome_from_reply(CLIENT_AUTH_FAILED, &r), &ctx, &b);
	CHECK(starts_with(b.data, "error: smtp.gmail.com:587: authentication failed\n  cause: "));
	CHECK(strstr(b.data, "\n  fix: check the auth method") != NULL);
	CHECK(strstr(b.data, "\n  note: Gmail refuses") != NULL);
	CHECK(strstr(b.data, "\n  server said: \"535 5.7.8 Username and Password not accepted "
			     "\\x22x\\x22\\x0d\\x0a\"\n") != NULL);
	CHECK(b.data[b.len - 1] == '\n');

	/* No provider note where it does not help; no context at all. */
	buf_reset(&b);
	ctx.reply = NULL;
	ctx.reason = "certificate verify failed: self-signed certificate";
	ctx.host = "::1";
	ctx.port = 465;
	outcome_format(outcome_get(OUTCOME_TLS_CERT_UNTRUSTED), &ctx, &b);
	CHECK(starts_with(b.data, "error: [::1]:465: the server's certificate is not trusted\n"));
	CHECK(strstr(b.data, "note:") == NULL);
	CHECK(strstr(b.data, "\n  reason: certificate verify failed: self-signed certificate\n"));
	CHECK(strstr(b.data, "server said") == NULL);
	buf_reset(&b);
	outcome_format(outcome_connect_timeout(25), NULL, &b);
	CHECK(starts_with(b.data, "error: connection timed out\n  cause: port 25 blocked"));
	buf_reset(&b);
	ctx.port = 0;
	ctx.host = "mail.example.test";
	outcome_format(outcome_get(OUTCOME_CONNECT_REFUSED), &ctx, &b);
	CHECK(starts_with(b.data, "error: mail.example.test: connection refused\n"));

	/* The JSON fix sentence: the fix, and the provider's note where it helps. */
	buf_reset(&b);
	outcome_fix_append(outcome_get(OUTCOME_AUTH_FAILED), provider_by_name("sendgrid"), &b);
	CHECK(strstr(b.data, "check the auth method") == b.data);
	CHECK(strstr(b.data, ". SendGrid's user is literally apikey") != NULL);
	buf_reset(&b);
	outcome_fix_append(outcome_get(OUTCOME_CONNECT_REFUSED), provider_by_name("sendgrid"), &b);
	CHECK_STR(b.data, outcome_get(OUTCOME_CONNECT_REFUSED)->fix);
	buf_free(&b);
}

int
main(void)
{
	test_table();
	test_every_client_failure();
	test_mapping();
	test_refine();
	test_tls_and_greeting();
	test_format();
	return test_summary("test_outcome");
}
