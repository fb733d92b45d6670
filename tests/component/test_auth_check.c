/*
 * Component test of authn/auth_check over a table DNS: the action under
 * enforce and report-only for each DMARC outcome (reject, quarantine, pct
 * sampling, tempfail only when a retry could change the verdict, no single
 * author domain), SPF fail alone never rejecting, SPF only without a
 * message, and the Authentication-Results field (RFC 8601 shape, fits its
 * array with many signatures, the message streamed in any chunks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_check.h"
#include "auth_results.h"
#include "fake_dns.h"
#include "harness.h"

#define ID "mx.example.org"

static struct fake_dns dns;

static void
zone(void)
{
	fake_dns_add(&dns, "good.test", MA_RR_TXT, "v=spf1 ip4:192.0.2.0/24 -all");
	fake_dns_add(&dns, "_dmarc.good.test", MA_RR_TXT, "v=DMARC1; p=reject");
	fake_dns_add(&dns, "quar.test", MA_RR_TXT, "v=spf1 ip4:192.0.2.0/24 -all");
	fake_dns_add(&dns, "_dmarc.quar.test", MA_RR_TXT, "v=DMARC1; p=quarantine");
	fake_dns_add(&dns, "sample.test", MA_RR_TXT, "v=spf1 -all");
	fake_dns_add(&dns, "_dmarc.sample.test", MA_RR_TXT, "v=DMARC1; p=reject; pct=0");
	fake_dns_add(&dns, "nodmarc.test", MA_RR_TXT, "v=spf1 -all");
	/* SPF of flaky.test cannot be fetched; its DMARC record can */
	fake_dns_timeout(&dns, "flaky.test", MA_RR_TXT);
	fake_dns_add(&dns, "_dmarc.flaky.test", MA_RR_TXT, "v=DMARC1; p=reject");
	/* the DMARC record of down.test cannot be fetched */
	fake_dns_add(&dns, "down.test", MA_RR_TXT, "v=spf1 ip4:192.0.2.0/24 -all");
	fake_dns_timeout(&dns, "_dmarc.down.test", MA_RR_TXT);
	/* DKIM keys of keyless.test cannot be fetched */
	fake_dns_add(&dns, "_dmarc.keyless.test", MA_RR_TXT, "v=DMARC1; p=reject");
	fake_dns_timeout(&dns, "sel._domainkey.keyless.test", MA_RR_TXT);
}

static char *
msg_from(const char *from_lines)
{
	static char m[16384];
	snprintf(m, sizeof m, "%sTo: you@example.net\r\nSubject: hi\r\n\r\nbody\r\n", from_lines);
	return m;
}

/* Runs one message through a check, fed in chunks of chunk bytes. */
static void
check(const char *ip, const char *sender, const char *msg, enum config_dmarc_policy policy,
      size_t chunk, struct auth_verdict *v)
{
	struct spf_request rq = {
	    .ip = ip, .helo = "client.test", .sender = sender, .receiver = ID, .now = 1765000000};
	struct auth_check *c = auth_check_new(&rq, ID, policy);
	if (msg != NULL) {
		struct msg_headers h;
		bool done = false;
		size_t n = strlen(msg), off = 0;
		msg_headers_init(&h, 0);
		while (off < n) {
			size_t k = n - off < chunk ? n - off : chunk;
			if (!done) {
				size_t used = msg_headers_feed(&h, msg + off, k, &done);
				if (done) {
					auth_check_headers(c, &h);
					auth_check_body(c, msg + off + used, k - used);
				}
			} else {
				auth_check_body(c, msg + off, k);
			}
			off += k;
		}
		CHECK(done);
		msg_headers_free(&h);
	}
	struct ma_dns iface = fake_dns_iface(&dns);
	auth_check_finish(c, &iface, v);
	auth_check_free(&c);
	CHECK(c == NULL);
}

/* The field is ours, ends in CRLF and is folded at 78 octets; a line that is
 * one word longer than that (a 253-octet d=) is still within RFC 5322's 998. */
static void
header_ok(const struct auth_verdict *v)
{
	size_t len = strlen(v->header);
	CHECK(strncmp(v->header, "Authentication-Results: " ID ";", 39) == 0);
	CHECK(len > 2 && strcmp(v->header + len - 2, "\r\n") == 0);
	CHECK(auth_results_is_ours(v->header, len, ID));
	for (const char *l = v->header, *e; (e = strstr(l, "\r\n")) != NULL; l = e + 2) {
		bool one_word = memchr(l + 1, ' ', (size_t)(e - l - 1)) == NULL;
		CHECK(e - l <= AUTH_RESULTS_FOLD || (one_word && e - l <= 998));
	}
}

static void
test_actions(void)
{
	static struct auth_verdict v;

	/* aligned SPF pass: accept */
	check("192.0.2.7", "a@good.test", msg_from("From: a@good.test\r\n"), CONFIG_DMARC_ENFORCE,
	      7, &v);
	CHECK(v.spf.result == SPF_PASS && v.dmarc.result == DMARC_RESULT_PASS);
	CHECK(v.action == AUTH_ACCEPT && v.ndkim == 0 && v.have_message);
	CHECK(strstr(v.header, "spf=pass") && strstr(v.header, "dkim=none"));
	CHECK(strstr(v.header, "dmarc=pass (p=REJECT sp=REJECT dis=NONE;") != NULL);
	header_ok(&v);

	/* a spoof of a p=reject domain: reject, the detail names DMARC and the domain */
	check("198.51.100.1", "x@elsewhere.test", msg_from("From: ceo@good.test\r\n"),
	      CONFIG_DMARC_ENFORCE, 4096, &v);
	CHECK(v.dmarc.result == DMARC_RESULT_FAIL && v.action == AUTH_REJECT);
	CHECK(strstr(v.detail, "DMARC") && strstr(v.detail, "good.test"));
	CHECK(strstr(v.header, "dis=REJECT") != NULL);
	header_ok(&v);
	/* the same under report-only: accepted, dis=NONE, the detail says why */
	check("198.51.100.1", "x@elsewhere.test", msg_from("From: ceo@good.test\r\n"),
	      CONFIG_DMARC_REPORT_ONLY, 1, &v);
	CHECK(v.dmarc.result == DMARC_RESULT_FAIL && v.action == AUTH_ACCEPT);
	CHECK(strstr(v.detail, "report-only") != NULL);
	CHECK(strstr(v.header, "dmarc=fail (p=REJECT sp=REJECT dis=NONE;") != NULL);

	/* quarantine */
	check("198.51.100.1", "q@quar.test", msg_from("From: q@quar.test\r\n"),
	      CONFIG_DMARC_ENFORCE, 4096, &v);
	CHECK(v.spf.result == SPF_FAIL && v.action == AUTH_QUARANTINE);
	CHECK(strstr(v.header, "dis=QUARANTINE") != NULL);
	/* p=reject with pct=0: sampled out, the next milder policy (RFC 7489 6.6.4) */
	check("198.51.100.1", "s@sample.test", msg_from("From: s@sample.test\r\n"),
	      CONFIG_DMARC_ENFORCE, 4096, &v);
	CHECK(v.dmarc.policy == DMARC_POLICY_REJECT && v.action == AUTH_QUARANTINE);

	/* SPF fail alone (no DMARC record) never rejects */
	check("198.51.100.1", "n@nodmarc.test", msg_from("From: n@nodmarc.test\r\n"),
	      CONFIG_DMARC_ENFORCE, 4096, &v);
	CHECK(v.spf.result == SPF_FAIL && v.dmarc.result == DMARC_RESULT_NONE);
	CHECK(v.action == AUTH_ACCEPT);

	/* an aligned SPF temperror under p=reject: defer, not reject */
	check("198.51.100.1", "f@flaky.test", msg_from("From: f@flaky.test\r\n"),
	      CONFIG_DMARC_ENFORCE, 4096, &v);
	CHECK(v.spf.result == SPF_TEMPERROR && v.dmarc.result == DMARC_RESULT_FAIL);
	CHECK(v.action == AUTH_TEMPFAIL && strstr(v.detail, "try again") != NULL);
	/* the DMARC record cannot be fetched: defer, unless an exact pass makes it moot */
	check("198.51.100.1", "d@elsewhere.test", msg_from("From: d@down.test\r\n"),
	      CONFIG_DMARC_ENFORCE, 4096, &v);
	CHECK(v.dmarc.result == DMARC_RESULT_TEMPERROR && v.action == AUTH_TEMPFAIL);
	check("192.0.2.1", "d@down.test", msg_from("From: d@down.test\r\n"), CONFIG_DMARC_ENFORCE,
	      4096, &v);
	CHECK(v.dmarc.result == DMARC_RESULT_TEMPERROR && v.action == AUTH_ACCEPT);
	check("198.51.100.1", "d@elsewhere.test", msg_from("From: d@down.test\r\n"),
	      CONFIG_DMARC_REPORT_ONLY, 4096, &v);
	CHECK(v.action == AUTH_ACCEPT);

	/* a DKIM signature of the From domain whose key cannot be fetched: defer */
	check("198.51.100.1", "k@elsewhere.test",
	      msg_from("DKIM-Signature: v=1; a=rsa-sha256; d=keyless.test; s=sel;\r\n"
		       " c=relaxed/relaxed; h=from:to:subject;\r\n"
		       " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n"
		       "From: k@keyless.test\r\n"),
	      CONFIG_DMARC_ENFORCE, 4096, &v);
	CHECK(v.ndkim == 1 && strcmp(v.dkim[0].result, "temperror") == 0);
	CHECK(v.action == AUTH_TEMPFAIL);
	CHECK(strstr(v.header, "dkim=temperror") && strstr(v.header, "header.d=keyless.test"));

	/* no single author domain: permerror, rejected under enforce */
	check("192.0.2.1", "a@good.test", msg_from("From: a@good.test\r\nFrom: b@evil.test\r\n"),
	      CONFIG_DMARC_ENFORCE, 4096, &v);
	CHECK(v.dmarc.result == DMARC_RESULT_PERMERROR && v.dmarc.from_invalid);
	CHECK(v.action == AUTH_REJECT && strstr(v.detail, "2 From: fields") != NULL);
	check("192.0.2.1", "a@good.test",
	      msg_from("From: a@good.test\r\nFrom: b@x.test\r\n"
		       "From: c@y.test\r\n"),
	      CONFIG_DMARC_ENFORCE, 4096, &v);
	CHECK(v.action == AUTH_REJECT && strstr(v.detail, "3 From: fields") != NULL);
	check("192.0.2.1", "a@good.test", msg_from(""), CONFIG_DMARC_ENFORCE, 4096, &v);
	CHECK(v.action == AUTH_REJECT && strstr(v.detail, "no From: field") != NULL);
	header_ok(&v);

	/* no message: SPF only; MAIL FROM <> checks the HELO name */
	check("192.0.2.1", "", NULL, CONFIG_DMARC_ENFORCE, 1, &v);
	CHECK(!v.have_message && v.action == AUTH_ACCEPT);
	CHECK(strcmp(v.spf.identity, "helo") == 0);
	CHECK(strstr(v.header, "smtp.helo=client.test") != NULL);
	CHECK(strstr(v.header, "dkim=") == NULL && strstr(v.header, "dmarc=") == NULL);
	header_ok(&v);
}

/* Eight signatures with the longest names: the field still fits its array. */
static void
test_header_fits(void)
{
	static struct auth_verdict v;
	static char m[16384], sigs[12000];
	char label[64];
	memset(label, 'a', 63);
	label[63] = '\0';
	size_t used = 0;
	for (int i = 0; i < 8; i++)
		used += (size_t)snprintf(sigs + used, sizeof sigs - used,
					 "DKIM-Signature: v=1; a=rsa-sha256; d=%s.%s.%s.test;\r\n"
					 " s=%s.%s.%s; c=relaxed; h=from; b=AAA%d;\r\n"
					 " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\r\n",
					 label, label, label, label, label, label, i);
	snprintf(m, sizeof m, "%sFrom: a@good.test\r\nSubject: x\r\n\r\nbody\r\n", sigs);
	check("192.0.2.7", "a@good.test", m, CONFIG_DMARC_ENFORCE, 333, &v);
	CHECK(v.ndkim == 8);
	/* too long with comments: they were left out, every signature kept */
	CHECK(strstr(v.header, "(") == NULL);
	CHECK(strstr(v.header, "header.b=AAA7") != NULL);
	CHECK(strlen(v.header) < sizeof v.header);
	header_ok(&v);
	CHECK(strstr(v.header, "dmarc=pass") != NULL);
}

/* A From: beyond the collector's limit is unseen: no reject for a missing From:. */
static void
test_headers_cut(void)
{
	static struct auth_verdict v;
	static char m[8192];
	char pad[3000];
	memset(pad, 'x', sizeof pad - 1);
	pad[sizeof pad - 1] = '\0';
	snprintf(m, sizeof m, "X-Pad: %s\r\nFrom: ceo@good.test\r\n\r\nbody\r\n", pad);
	struct spf_request rq = {.ip = "198.51.100.1", .helo = "client.test", .sender = "x@e.test"};
	struct auth_check *c = auth_check_new(&rq, ID, CONFIG_DMARC_ENFORCE);
	struct msg_headers h;
	bool done = false;
	msg_headers_init(&h, 1024);
	size_t used = msg_headers_feed(&h, m, strlen(m), &done);
	CHECK(done && h.too_big);
	auth_check_headers(c, &h);
	auth_check_body(c, m + used, strlen(m) - used);
	struct ma_dns iface = fake_dns_iface(&dns);
	auth_check_finish(c, &iface, &v);
	CHECK(v.dmarc.result == DMARC_RESULT_PERMERROR && v.action == AUTH_ACCEPT);
	auth_check_free(&c);
	msg_headers_free(&h);
}

int
main(void)
{
	zone();
	test_actions();
	test_header_fits();
	test_headers_cut();
	fake_dns_free(&dns);
	return test_summary("test_auth_check");
}
