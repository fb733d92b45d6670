/*
 * Unit tests for report/probe_report: the verdict (which door, the exit
 * code, the TLS mode a door turned out to use) and both renderings, on a
 * made-up result. The renderings are compared byte for byte: `probe
 * --json` is a contract (DESIGN.md) and scripts read the text.
 */
#include <string.h>
#include <sysexits.h>

#include "harness.h"
#include "probe_report.h"

static const struct probe_dns fixture_dns = {
    .addrs = {"192.0.2.10"},
    .naddrs = 1,
    .mx = {{"mx.example.com", 10}},
    .nmx = 1,
};

/* 587 works (with TLS), 465 is refused, 25 works in the clear with a finding. */
static void
fixture(struct probe_report *r)
{
	memset(r, 0, sizeof *r);
	r->host = "mail.example.com";
	r->dns = &fixture_dns;
	r->ndoors = 3;

	struct probe_door *d = &r->doors[0];
	d->door = (struct door){587, CLIENT_TLS_STARTTLS};
	d->outcome = outcome_get(OUTCOME_OK);
	d->greeted = d->tls_used = d->tls_seen = true;
	d->tls = (struct tls_info){.version = "TLSv1.3",
				   .cipher = "TLS_AES_256_GCM_SHA384",
				   .subject = "CN=mail.example.com",
				   .issuer = "CN=Test CA",
				   .sans = "DNS:mail.example.com",
				   .not_after = "2030-01-01 00:00:00 UTC",
				   .days_left = 1000,
				   .verified = true};
	d->caps.esmtp = d->caps.pipelining = true;
	d->caps.size = 1000;
	strcpy(d->caps.auth_line, "PLAIN LOGIN");
	/* A server's bytes: an escape sequence must not reach the terminal. */
	strcpy(d->caps.greeting, "mail.example.com ESMTP \033[31mred");
	strcpy(d->caps.keywords, "PIPELINING\nSIZE 1000\nAUTH PLAIN LOGIN\n");
	strcpy(d->notes[d->nnotes++], "a \"quoted\" note");

	d = &r->doors[1];
	d->door = (struct door){465, CLIENT_TLS_IMPLICIT};
	d->outcome = outcome_get(OUTCOME_CONNECT_REFUSED);
	strcpy(d->detail, "Connection refused");

	d = &r->doors[2];
	d->door = (struct door){25, CLIENT_TLS_OPPORTUNISTIC};
	d->outcome = outcome_get(OUTCOME_OK);
	d->greeted = true;
	d->caps.esmtp = true;
	strcpy(d->caps.greeting, "relay.example.com");
	strcpy(d->caps.keywords, "8BITMIME\n");
	d->caps.keywords_dropped = 2;
	d->reply = (struct smtp_client_reply){250, "2.0.0", "ok"};
	d->findings[d->nfindings++] =
	    (struct probe_finding){PROBE_CRITICAL, "open_relay", "RCPT was accepted", "close it"};
	r->recommended = probe_recommend(r);
}

static void
test_verdict(void)
{
	static struct probe_report r;
	fixture(&r);
	CHECK(r.recommended == 0); /* 587 before 25, though both work */
	CHECK(probe_exit_code(&r) == EX_OK);
	CHECK_STR(probe_tls_mode(&r.doors[0]), "starttls");
	CHECK_STR(probe_tls_mode(&r.doors[1]), "implicit");
	/* A relay door that was greeted and offered no STARTTLS ran in the clear. */
	CHECK_STR(probe_tls_mode(&r.doors[2]), "none");
	r.doors[2].caps.starttls = true;
	CHECK_STR(probe_tls_mode(&r.doors[2]), "starttls");
	r.doors[2].caps.starttls = false;
	r.doors[2].greeted = false; /* not greeted: it may well speak STARTTLS */
	CHECK_STR(probe_tls_mode(&r.doors[2]), "starttls");

	/* Only 25 works: it is still the door to use. */
	r.doors[0].outcome = outcome_get(OUTCOME_AUTH_FAILED);
	CHECK(probe_recommend(&r) == 2);
	/* Nothing works: the door that got furthest (a failed login) names the code. */
	r.doors[2].outcome = outcome_get(OUTCOME_CONNECT_REFUSED);
	r.recommended = probe_recommend(&r);
	CHECK(r.recommended == -1);
	CHECK(probe_exit_code(&r) == EX_NOPERM);
	r.doors[0].outcome = outcome_get(OUTCOME_CONNECT_REFUSED);
	CHECK(probe_exit_code(&r) == EX_UNAVAILABLE);
	r.ndoors = 0;
	CHECK(probe_exit_code(&r) == EX_USAGE);

	/* A port of its own choosing ranks after 2525 and before a relay door. */
	struct probe_report two = {.ndoors = 2};
	two.doors[0] = (struct probe_door){.door = {25, CLIENT_TLS_OPPORTUNISTIC},
					   .outcome = outcome_get(OUTCOME_OK)};
	two.doors[1] = (struct probe_door){.door = {2587, CLIENT_TLS_STARTTLS},
					   .outcome = outcome_get(OUTCOME_OK)};
	CHECK(probe_recommend(&two) == 1);

	char reply[64];
	probe_reply_text(&(struct smtp_client_reply){535, "5.7.8", "no"}, reply, sizeof reply);
	CHECK_STR(reply, "535 5.7.8 no");
	probe_reply_text(&(struct smtp_client_reply){421, "", ""}, reply, sizeof reply);
	CHECK_STR(reply, "421");
	probe_reply_text(&(struct smtp_client_reply){0, "", "ignored"}, reply, sizeof reply);
	CHECK_STR(reply, "");
	CHECK_STR(probe_severity_name(PROBE_LOW), "low");
	CHECK_STR(probe_severity_name(PROBE_CRITICAL), "critical");
}

static const char want_text[] =
    "DNS: mail.example.com -> 192.0.2.10; MX: 10 mx.example.com\n"
    "\n"
    "DOOR   ENCRYPTION    RESULT            FIX\n"
    "587    STARTTLS      ok                nothing to fix\n"
    "465    implicit TLS  refused           verify the host name and the port number "
    "(submission is 587, or 465 with implicit TLS)\n"
    "25     no TLS        ok                nothing to fix\n"
    "\n"
    "mail.example.com:587 (STARTTLS): ok\n"
    "  greeting: 220 mail.example.com ESMTP \\x1b[31mred\n"
    "  TLS: TLSv1.3, TLS_AES_256_GCM_SHA384; certificate verified, host name matches\n"
    "  certificate: subject CN=mail.example.com; issuer CN=Test CA\n"
    "  names: DNS:mail.example.com; expires 2030-01-01 00:00:00 UTC (1000 days left)\n"
    "  capabilities: PIPELINING SIZE 1000 AUTH PLAIN LOGIN\n"
    "  warning: a \\x22quoted\\x22 note\n"
    "\n"
    "mail.example.com:465 (implicit TLS): connection refused\n"
    "  cause: server not listening: nothing accepts connections on this host and port\n"
    "  reason: Connection refused\n"
    "\n"
    "mail.example.com:25 (STARTTLS if offered): ok\n"
    "  greeting: 220 relay.example.com\n"
    "  capabilities: 8BITMIME (and 2 more lines)\n"
    "  finding [critical] open_relay: RCPT was accepted\n"
    "    fix: close it\n"
    "\n"
    "Use port 587 with STARTTLS (server mail.example.com)\n";

static void
test_text(void)
{
	static struct probe_report r;
	fixture(&r);
	struct buf out;
	buf_init(&out, 0);
	probe_text(&r, false, &out);
	CHECK_STR(out.data, want_text);
	CHECK(memchr(out.data, '\033', out.len) == NULL); /* no color, no server escapes */

	/* Color: green for a working door and the verdict, red for a failed one. */
	buf_reset(&out);
	probe_text(&r, true, &out);
	CHECK(strstr(out.data, "587    STARTTLS      \033[32mok               \033[0m nothing") !=
	      NULL);
	CHECK(strstr(out.data, "465    implicit TLS  \033[31mrefused          \033[0m verify") !=
	      NULL);
	CHECK(strstr(out.data, "\033[1mmail.example.com:587 (STARTTLS): ok\033[0m\n") != NULL);
	CHECK(strstr(out.data, "  \033[31mfinding [critical]\033[0m open_relay") != NULL);
	CHECK(strstr(out.data, "\033[32mUse port 587 with STARTTLS (server mail.example.com)"
			       "\033[0m\n") != NULL);

	/* No working door, a provider, no DNS. */
	static const struct provider prov = {.name = "x", .display = "Example Mail"};
	r.provider = &prov;
	r.dns = NULL;
	r.ndoors = 1;
	r.doors[0].outcome = outcome_get(OUTCOME_CONNECT_REFUSED);
	r.recommended = probe_recommend(&r);
	buf_reset(&out);
	probe_text(&r, false, &out);
	CHECK(strncmp(out.data, "Provider: Example Mail\nDOOR ", 28) == 0);
	CHECK(strstr(out.data, "\nNo door works for submission: see the fixes above.\n") != NULL);
	buf_free(&out);
}

static const char want_json[] =
    "{\"host\":\"mail.example.com\",\"provider\":null,"
    "\"dns\":{\"addresses\":[\"192.0.2.10\"],\"mx\":[{\"preference\":10,\"host\":"
    "\"mx.example.com\"}],\"null_mx\":false,\"error\":null,\"mx_error\":null},"
    "\"doors\":["
    "{\"port\":587,\"tls\":\"starttls\",\"status\":\"ok\",\"reply\":\"\","
    "\"fix\":\"nothing to fix\",\"what\":\"ok\",\"cause\":\"the server accepted every step\","
    "\"detail\":\"\",\"greeting\":\"mail.example.com ESMTP \\u001b[31mred\","
    "\"tls_info\":{\"version\":\"TLSv1.3\",\"cipher\":\"TLS_AES_256_GCM_SHA384\","
    "\"subject\":\"CN=mail.example.com\",\"issuer\":\"CN=Test CA\","
    "\"sans\":\"DNS:mail.example.com\",\"not_after\":\"2030-01-01 00:00:00 UTC\","
    "\"days_left\":1000,\"verified\":true,\"verify_error\":null},"
    "\"capabilities\":{\"esmtp\":true,\"starttls\":true,\"pipelining\":true,"
    "\"8bitmime\":false,\"smtputf8\":false,\"size\":1000,\"auth\":\"PLAIN LOGIN\","
    "\"auth_before_tls\":false,\"keywords\":[\"PIPELINING\",\"SIZE 1000\","
    "\"AUTH PLAIN LOGIN\"],\"keywords_left_out\":0},"
    "\"warnings\":[\"a \\\"quoted\\\" note\"],\"findings\":[]},"
    "{\"port\":465,\"tls\":\"implicit\",\"status\":\"refused\",\"reply\":\"\","
    "\"fix\":\"verify the host name and the port number (submission is 587, or 465 with "
    "implicit TLS)\",\"what\":\"connection refused\","
    "\"cause\":\"server not listening: nothing accepts connections on this host and port\","
    "\"detail\":\"Connection refused\",\"greeting\":null,\"tls_info\":null,"
    "\"capabilities\":{\"esmtp\":false,\"starttls\":false,\"pipelining\":false,"
    "\"8bitmime\":false,\"smtputf8\":false,\"size\":0,\"auth\":\"\","
    "\"auth_before_tls\":false,\"keywords\":[],\"keywords_left_out\":0},"
    "\"warnings\":[],\"findings\":[]},"
    "{\"port\":25,\"tls\":\"none\",\"status\":\"ok\",\"reply\":\"250 2.0.0 ok\","
    "\"fix\":\"nothing to fix\",\"what\":\"ok\",\"cause\":\"the server accepted every step\","
    "\"detail\":\"\",\"greeting\":\"relay.example.com\",\"tls_info\":null,"
    "\"capabilities\":{\"esmtp\":true,\"starttls\":false,\"pipelining\":false,"
    "\"8bitmime\":false,\"smtputf8\":false,\"size\":0,\"auth\":\"\","
    "\"auth_before_tls\":false,\"keywords\":[\"8BITMIME\"],\"keywords_left_out\":2},"
    "\"warnings\":[],\"findings\":[{\"severity\":\"critical\",\"id\":\"open_relay\","
    "\"what\":\"RCPT was accepted\",\"fix\":\"close it\"}]}],"
    "\"recommendation\":{\"port\":587,\"tls\":\"starttls\",\"host\":\"mail.example.com\"},"
    "\"exit_code\":0}\n";

static void
test_json(void)
{
	static struct probe_report r;
	fixture(&r);
	struct buf out;
	buf_init(&out, 0);
	probe_json(&r, &out);
	CHECK_STR(out.data, want_json);

	/* Not UTF-8 from the server still makes valid JSON; no working door, no DNS. */
	strcpy(r.doors[2].caps.greeting, "relay \xff\xfe");
	r.dns = NULL;
	r.doors[0].outcome = r.doors[2].outcome = outcome_get(OUTCOME_CONNECT_REFUSED);
	r.recommended = probe_recommend(&r);
	buf_reset(&out);
	probe_json(&r, &out);
	CHECK(strstr(out.data, "\"greeting\":\"relay \\ufffd\\ufffd\"") != NULL);
	CHECK(strstr(out.data, ",\"dns\":null,") != NULL);
	CHECK(strstr(out.data, "\"recommendation\":null,\"exit_code\":69}\n") != NULL);
	buf_free(&out);
}

int
main(void)
{
	test_verdict();
	test_text();
	test_json();
	return test_summary("test_probe_report");
}
