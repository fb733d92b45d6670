/*
 * Component tests for DKIM's effects: keys read from files (and each way a
 * key file can be wrong), signing and verifying round trips with RSA-2048
 * and Ed25519 over a table DNS, RFC 8463's signed example verified, every
 * change to a signed field or the body failing, the signing domain taken
 * from From: or its parent, the DNS record check (ok, missing, mismatch,
 * error), and that the chunking of a body never changes a signature.
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dkim_key_cache.h"
#include "dkim_keys.h"
#include "dkim_sign.h"
#include "dkim_verify.h"
#include "fake_dns.h"
#include "harness.h"
#include "test_files.h"

#define NOW 1780000000

static char dir[64];
static struct config cfg;

static void
write_key(const char *path, const char *type, size_t bits, mode_t mode)
{
	EVP_PKEY *k =
	    bits ? EVP_PKEY_Q_keygen(NULL, NULL, type, bits) : EVP_PKEY_Q_keygen(NULL, NULL, type);
	FILE *fp = fopen(path, "w");
	if (k == NULL || fp == NULL)
		abort();
	PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
	chmod(path, mode);
	EVP_PKEY_free(k);
}

static void
add_dkim(const char *domain, const char *selector, const char *file)
{
	struct config_dkim *d = &cfg.dkim[cfg.ndkim++];
	snprintf(d->domain, sizeof d->domain, "%s", domain);
	snprintf(d->selector, sizeof d->selector, "%s", selector);
	snprintf(d->keyfile, sizeof d->keyfile, "%s/%s", dir, file);
}

/* The signed message: the new fields on top of msg. */
static char *
sign_message(const struct dkim_keyset *ks, const char *msg, size_t chunk, int *nsig, char *why,
	     size_t why_size)
{
	struct msg_headers h;
	msg_headers_init(&h, 0);
	struct dkim_signer *s = dkim_signer_new(ks, NOW);
	size_t len = strlen(msg);
	bool done = false;
	size_t used = msg_headers_feed(&h, msg, len, &done);
	dkim_signer_headers(s, &h);
	for (size_t off = used; off < len; off += chunk)
		dkim_signer_body(s, msg + off, len - off < chunk ? len - off : chunk);
	struct buf out;
	buf_init(&out, 0);
	*nsig = dkim_signer_finish(s, &out, why, why_size);
	buf_append_str(&out, msg);
	dkim_signer_free(&s);
	msg_headers_free(&h);
	return out.data;
}

static size_t
verify_message(const char *msg, struct fake_dns *dns, int64_t now, struct dkim_result *r,
	       size_t max)
{
	struct msg_headers h;
	msg_headers_init(&h, 0);
	struct dkim_verifier *v = dkim_verifier_new();
	size_t len = strlen(msg);
	bool done = false;
	size_t used = msg_headers_feed(&h, msg, len, &done);
	dkim_verifier_headers(v, &h);
	/* in odd pieces, to cross every boundary */
	for (size_t off = used; off < len; off += 7)
		dkim_verifier_body(v, msg + off, len - off < 7 ? len - off : 7);
	struct ma_dns iface = fake_dns_iface(dns);
	size_t n = dkim_verifier_finish(v, &iface, now, r, max);
	dkim_verifier_free(&v);
	msg_headers_free(&h);
	return n;
}

/* Publishes every key of ks in dns, as keygen prints it. */
static void
publish(const struct dkim_keyset *ks, struct fake_dns *dns)
{
	for (size_t i = 0; i < dkim_keys_count(ks); i++) {
		const struct dkim_key *k = dkim_keys_at(ks, i);
		struct buf rec;
		char name[600];
		buf_init(&rec, 0);
		dkim_key_record_text(k->type, k->pub, k->pub_len, &rec);
		snprintf(name, sizeof name, "%s._domainkey.%s", k->selector, k->domain);
		fake_dns_add(dns, name, MA_RR_TXT, rec.data);
		buf_free(&rec);
	}
}

static const char MSG[] = "From: Joe SixPack <joe@example.org>\r\n"
			  "To: Suzie Q <suzie@shopping.example.net>\r\n"
			  "Subject: Is dinner ready?\r\n"
			  "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
			  "Message-ID: <20030712040037.46341.5F8J@example.org>\r\n"
			  "X-Not-Signed: anything\r\n"
			  "\r\n"
			  "Hi.\r\n"
			  "\r\n"
			  "We lost the game.  Are you hungry yet?\r\n"
			  "\r\n"
			  "Joe.\r\n";

/* s with the first `from` replaced by `to`. */
static char *
replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	if (at == NULL)
		abort();
	char *out = malloc(strlen(s) + strlen(to) + 1);
	size_t pre = (size_t)(at - s);
	memcpy(out, s, pre);
	strcpy(out + pre, to);
	strcat(out, at + strlen(from));
	return out;
}

static void
test_round_trip(const struct dkim_keyset *ks, struct fake_dns *dns)
{
	char why[256];
	int n;
	char *signed_msg = sign_message(ks, MSG, 4096, &n, why, sizeof why);
	CHECK(n == 2);
	CHECK(strstr(signed_msg, "a=rsa-sha256") && strstr(signed_msg, "a=ed25519-sha256"));
	CHECK(strstr(signed_msg, "d=example.org;") && strstr(signed_msg, "t=1780000000;"));
	/* From oversigned; the unlisted field not signed. */
	CHECK(strstr(signed_msg, "h=from:subject:date:to:message-id:from;") ||
	      strstr(signed_msg, "h=From:Subject:Date:To:Message-ID:From;"));
	CHECK(strstr(signed_msg, "X-Not-Signed:") && !strstr(signed_msg, "x-not-signed;"));

	struct dkim_result r[8];
	size_t cached = dkim_key_cache_size();
	CHECK(verify_message(signed_msg, dns, NOW, r, 8) == 2);
	/* Both keys decoded once, then found again by their records. */
	CHECK(dkim_key_cache_size() == cached + 2);
	CHECK(verify_message(signed_msg, dns, NOW, r, 8) == 2);
	CHECK(dkim_key_cache_size() == cached + 2);
	for (int i = 0; i < 2; i++) {
		CHECK_STR(r[i].result, "pass");
		CHECK_STR(r[i].domain, "example.org");
		CHECK(strlen(r[i].header_b) >= 8);
	}
	CHECK_STR(r[0].algorithm, "rsa-sha256");
	CHECK_STR(r[1].algorithm, "ed25519-sha256");

	/* Every change to a signed field or the body fails; the unsigned
	 * field and relaxed white space do not matter. */
	static const char *const changes[][3] = {
	    {"Subject: Is dinner", "Subject: Is lunch", "fail"},
	    {"From: Joe SixPack", "From: Joe Sixpack", "fail"},
	    {"We lost the game.", "We won the game.", "fail"},
	    {"Joe.\r\n", "Joe.\r\nP.S. added\r\n", "fail"},
	    /* a second To: below the first is the instance h= now picks (5.4.2) */
	    {"Subject: Is", "To: Eve <eve@example.net>\r\nSubject: Is", "fail"},
	    /* Cc was absent when signed, so not in h=: only From is oversigned. */
	    {"To: Suzie Q <suzie", "Cc: x@y\r\nTo: Suzie Q <suzie", "pass"},
	    {"X-Not-Signed: anything", "X-Not-Signed: changed", "pass"},
	    {"Subject: Is dinner ready?", "subject:   Is dinner    ready?  ", "pass"},
	    {"Joe.\r\n", "Joe.  \r\n\r\n\r\n", "pass"},
	};
	for (size_t c = 0; c < sizeof changes / sizeof changes[0]; c++) {
		char *m = replace(signed_msg, changes[c][0], changes[c][1]);
		CHECK(verify_message(m, dns, NOW, r, 8) == 2);
		CHECK_STR(r[0].result, changes[c][2]);
		CHECK_STR(r[1].result, changes[c][2]);
		free(m);
	}
	/* A second From: added on top breaks the oversigned From. */
	char *top = malloc(strlen(signed_msg) + 64);
	sprintf(top, "From: ceo@example.org\r\n%s", signed_msg);
	CHECK(verify_message(top, dns, NOW, r, 8) == 2);
	CHECK_STR(r[0].result, "fail");
	CHECK(strstr(r[0].reason, "header") != NULL);
	free(top);
	/* Body changed: the reason says the body. */
	char *m = replace(signed_msg, "hungry", "thirsty");
	verify_message(m, dns, NOW, r, 8);
	CHECK(strstr(r[0].reason, "body hash") != NULL);
	free(m);
	free(signed_msg);
}

static void
test_chunking(const struct dkim_keyset *ks)
{
	char why[256];
	int n;
	char *whole = sign_message(ks, MSG, 100000, &n, why, sizeof why);
	for (size_t chunk = 1; chunk < 20; chunk++) {
		char *cut = sign_message(ks, MSG, chunk, &n, why, sizeof why);
		/* RSA PKCS#1 v1.5 and Ed25519 are deterministic */
		CHECK(strcmp(whole, cut) == 0);
		free(cut);
	}
	free(whole);
}

static void
test_signing_domain(const struct dkim_keyset *ks)
{
	char why[256];
	int n;
	char *m = replace(MSG, "joe@example.org", "joe@mail.sales.example.org");
	char *s = sign_message(ks, m, 4096, &n, why, sizeof why);
	CHECK(n == 2 && strstr(s, "d=example.org;"));
	free(s);
	free(m);
	m = replace(MSG, "joe@example.org", "joe@example.com");
	s = sign_message(ks, m, 4096, &n, why, sizeof why);
	CHECK(n == 0 && strstr(why, "no dkim key for example.com"));
	free(s);
	free(m);
	m = replace(MSG, "joe@example.org", "joe@notexample.org");
	s = sign_message(ks, m, 4096, &n, why, sizeof why);
	CHECK(n == 0);
	free(s);
	free(m);
	m = replace(MSG, "From: Joe SixPack <joe@example.org>\r\n", "");
	s = sign_message(ks, m, 4096, &n, why, sizeof why);
	CHECK(n == 0 && strstr(why, "From"));
	free(s);
	free(m);
	m = replace(MSG, "To:", "From: other@example.org\r\nTo:");
	s = sign_message(ks, m, 4096, &n, why, sizeof why);
	CHECK(n == 0 && strstr(why, "2 From"));
	free(s);
	free(m);
}

/* RFC 8463 appendix A: the Ed25519 key and its signed message. */
static void
test_rfc8463(void)
{
	static const char msg[] = "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
				  " d=football.example.com; i=@football.example.com;\r\n"
				  " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
				  " subject : date : message-id : from : subject : date;\r\n"
				  " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
				  " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
				  " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
				  "From: Joe SixPack <joe@football.example.com>\r\n"
				  "To: Suzie Q <suzie@shopping.example.net>\r\n"
				  "Subject: Is dinner ready?\r\n"
				  "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
				  "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
				  "\r\n"
				  "Hi.\r\n"
				  "\r\n"
				  "We lost the game.  Are you hungry yet?\r\n"
				  "\r\n"
				  "Joe.\r\n";
	struct fake_dns dns = {0};
	fake_dns_add(&dns, "brisbane._domainkey.football.example.com", MA_RR_TXT,
		     "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	struct dkim_result r[2];
	CHECK(verify_message(msg, &dns, 1528637909, r, 2) == 1);
	CHECK_STR(r[0].result, "pass");
	CHECK_STR(r[0].domain, "football.example.com");
	CHECK_STR(r[0].selector, "brisbane");
	CHECK_STR(r[0].header_b, "/gCrinpcQOoIfuH");
	/* The same message with the body changed fails. */
	char *m = replace(msg, "Joe.", "Jim.");
	verify_message(m, &dns, 1528637909, r, 2);
	CHECK_STR(r[0].result, "fail");
	free(m);
	fake_dns_free(&dns);

	/* Key problems: missing, timeout, revoked, wrong type, t=s. */
	static const char *const keys[][2] = {
	    {NULL, "permerror"},
	    {"timeout", "temperror"},
	    {"v=DKIM1; k=ed25519; p=", "permerror"},
	    {"v=DKIM1; k=rsa; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "permerror"},
	    {"v=DKIM1; k=ed25519; h=sha1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
	     "permerror"},
	    {"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=; t=y", "pass"},
	    {"not a key record; p", "permerror"},
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		memset(&dns, 0, sizeof dns);
		if (keys[i][0] && strcmp(keys[i][0], "timeout") == 0)
			fake_dns_timeout(&dns, "brisbane._domainkey.football.example.com",
					 FAKE_DNS_ANY);
		else if (keys[i][0])
			fake_dns_add(&dns, "brisbane._domainkey.football.example.com", MA_RR_TXT,
				     keys[i][0]);
		CHECK(verify_message(msg, &dns, 1528637909, r, 2) == 1);
		CHECK_STR(r[0].result, keys[i][1]);
		fake_dns_free(&dns);
	}
}

static void
test_verify_edges(const struct dkim_keyset *ks, struct fake_dns *dns)
{
	char why[256];
	int n;
	struct dkim_result r[12];
	char *s = sign_message(ks, MSG, 4096, &n, why, sizeof why);
	/* No signature: no result. */
	CHECK(verify_message(MSG, dns, NOW, r, 12) == 0);
	/* A malformed signature on top: permerror with why, the others pass. */
	char *m = malloc(strlen(s) + 100);
	sprintf(m, "DKIM-Signature: v=1; a=rsa-sha256; d=example.org\r\n%s", s);
	CHECK(verify_message(m, dns, NOW, r, 12) == 3);
	CHECK_STR(r[0].result, "permerror");
	CHECK(strstr(r[0].reason, "no ") != NULL);
	CHECK_STR(r[1].result, "pass");
	free(m);
	/* Ten signatures: eight checked, two reported as not checked. */
	size_t len = strlen(s) * 6;
	m = malloc(len);
	strcpy(m, s);
	for (int i = 0; i < 4; i++) {
		char *hdr_end = strstr(s, "From: Joe");
		size_t hl = (size_t)(hdr_end - s);
		char *t = malloc(len);
		memcpy(t, s, hl);
		strcpy(t + hl, m);
		free(m);
		m = t;
	}
	CHECK(verify_message(m, dns, NOW, r, 12) == 10);
	CHECK_STR(r[7].result, "pass");
	CHECK_STR(r[8].result, "permerror");
	CHECK(strstr(r[8].reason, "more than 8") != NULL);
	free(m);
	free(s);
}

/* x= in the past, and an RSA key under 1024 bits in DNS (RFC 8301). */
static void
test_expiry_and_small_keys(const struct dkim_keyset *ks)
{
	char why[256];
	int n;
	struct dkim_result r[2];
	char *s = sign_message(ks, MSG, 4096, &n, why, sizeof why);
	char *x = replace(s, "t=1780000000;", "t=1780000000; x=1780000100;");
	struct fake_dns dns = {0};
	publish(ks, &dns);
	CHECK(verify_message(x, &dns, NOW + 101, r, 2) == 2);
	CHECK_STR(r[0].result, "permerror");
	CHECK(strstr(r[0].reason, "expired") != NULL);
	/* Before x= the check goes on to the crypto (x= was not signed: fail). */
	CHECK(verify_message(x, &dns, NOW + 100, r, 2) == 2);
	CHECK_STR(r[0].result, "fail");
	free(x);
	fake_dns_free(&dns);

	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)768);
	unsigned char der[512], *p = der;
	int len = i2d_PUBKEY(small, &p);
	struct buf rec;
	buf_init(&rec, 0);
	dkim_key_record_text(DKIM_KEY_RSA, der, (size_t)len, &rec);
	memset(&dns, 0, sizeof dns);
	fake_dns_add(&dns, "rsa1._domainkey.example.org", MA_RR_TXT, rec.data);
	CHECK(verify_message(s, &dns, NOW, r, 2) == 2);
	CHECK_STR(r[0].result, "permerror");
	CHECK(strstr(r[0].reason, "768 bits") != NULL);
	CHECK_STR(r[1].result, "permerror"); /* ed1: no key published */
	CHECK(strstr(r[1].reason, "no key") != NULL);
	fake_dns_free(&dns);
	buf_free(&rec);
	EVP_PKEY_free(small);
	free(s);
}

static void
test_key_errors(void)
{
	char err[1024];
	struct dkim_key k;
	struct config_dkim c = {.domain = "example.org", .selector = "s"};
	snprintf(c.keyfile, sizeof c.keyfile, "%s/nope.pem", dir);
	CHECK(dkim_key_load(&c, &k, err, sizeof err) < 0);
	CHECK(strstr(err, "does not exist") && strstr(err, "dkim keygen"));

	snprintf(c.keyfile, sizeof c.keyfile, "%s/open.pem", dir);
	write_key(c.keyfile, "ED25519", 0, 0644);
	CHECK(dkim_key_load(&c, &k, err, sizeof err) < 0);
	CHECK(strstr(err, "mode 0644") && strstr(err, "chmod 600"));
	chmod(c.keyfile, 0640);
	CHECK(dkim_key_load(&c, &k, err, sizeof err) < 0 && strstr(err, "mode 0640"));
	chmod(c.keyfile, 0600);
	CHECK(dkim_key_load(&c, &k, err, sizeof err) == 0 && k.type == DKIM_KEY_ED25519);
	dkim_key_release(&k);

	snprintf(c.keyfile, sizeof c.keyfile, "%s/small.pem", dir);
	write_key(c.keyfile, "RSA", 768, 0600);
	CHECK(dkim_key_load(&c, &k, err, sizeof err) < 0);
	CHECK(strstr(err, "768 bits") && strstr(err, "RFC 8301"));

	snprintf(c.keyfile, sizeof c.keyfile, "%s/ec.pem", dir);
	{
		EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		FILE *fp = fopen(c.keyfile, "w");
		PEM_write_PrivateKey(fp, ec, NULL, NULL, 0, NULL, NULL);
		fclose(fp);
		chmod(c.keyfile, 0600);
		/* and its public half, the usual mix-up */
		char pub[128];
		snprintf(pub, sizeof pub, "%s/pub.pem", dir);
		fp = fopen(pub, "w");
		PEM_write_PUBKEY(fp, ec);
		fclose(fp);
		chmod(pub, 0600);
		EVP_PKEY_free(ec);
	}
	CHECK(dkim_key_load(&c, &k, err, sizeof err) < 0 && strstr(err, "cannot sign DKIM"));
	snprintf(c.keyfile, sizeof c.keyfile, "%s/pub.pem", dir);
	CHECK(dkim_key_load(&c, &k, err, sizeof err) < 0 && strstr(err, "public key"));
	snprintf(c.keyfile, sizeof c.keyfile, "%s/garbage.pem", dir);
	FILE *fp = fopen(c.keyfile, "w");
	fputs("hello\n", fp);
	fclose(fp);
	chmod(c.keyfile, 0600);
	CHECK(dkim_key_load(&c, &k, err, sizeof err) < 0 && strstr(err, "not a PEM private key"));
	snprintf(c.keyfile, sizeof c.keyfile, "%s", dir);
	CHECK(dkim_key_load(&c, &k, err, sizeof err) < 0 && strstr(err, "regular file"));
}

static void
test_dns_check(const struct dkim_keyset *ks, struct fake_dns *dns)
{
	struct dkim_dns_check out;
	struct ma_dns iface = fake_dns_iface(dns);
	const struct dkim_key *rsa = dkim_keys_at(ks, 0), *ed = dkim_keys_at(ks, 1);
	CHECK(dkim_key_check_dns(rsa, &iface, &out) == DKIM_DNS_OK);
	CHECK_STR(out.name, "rsa1._domainkey.example.org");
	CHECK(strncmp(out.record, "v=DKIM1; k=rsa; p=MII", 21) == 0);
	CHECK(out.quoted[0] == '"' && strstr(out.quoted, "\" \"") != NULL); /* > 255 octets */
	CHECK(dkim_key_check_dns(ed, &iface, &out) == DKIM_DNS_OK);

	struct fake_dns other = {0};
	iface = fake_dns_iface(&other);
	CHECK(dkim_key_check_dns(rsa, &iface, &out) == DKIM_DNS_MISSING);
	CHECK_STR(dkim_dns_status_name(out.status), "missing");
	/* The Ed25519 key published under the RSA key's name: a mismatch. */
	struct buf rec;
	buf_init(&rec, 0);
	dkim_key_record_text(ed->type, ed->pub, ed->pub_len, &rec);
	fake_dns_add(&other, "rsa1._domainkey.example.org", MA_RR_TXT, rec.data);
	CHECK(dkim_key_check_dns(rsa, &iface, &out) == DKIM_DNS_MISMATCH);
	CHECK(strstr(out.detail, "not the public half") != NULL);
	fake_dns_add(&other, "ed1._domainkey.example.org", MA_RR_TXT, "v=spf1 -all");
	CHECK(dkim_key_check_dns(ed, &iface, &out) == DKIM_DNS_INVALID);
	fake_dns_add(&other, "ed1._domainkey.example.org", MA_RR_TXT, rec.data);
	CHECK(dkim_key_check_dns(ed, &iface, &out) == DKIM_DNS_OK); /* one of two matches */
	fake_dns_timeout(&other, "rsa1._domainkey.example.org", FAKE_DNS_ANY);
	CHECK(dkim_key_check_dns(rsa, &iface, &out) == DKIM_DNS_ERROR);
	buf_free(&rec);
	fake_dns_free(&other);
}

int
main(void)
{
	snprintf(dir, sizeof dir, "%s", make_tmpdir("dkim"));
	config_init(&cfg);
	char path[128];
	snprintf(path, sizeof path, "%s/rsa.pem", dir);
	write_key(path, "RSA", 2048, 0600);
	snprintf(path, sizeof path, "%s/ed.pem", dir);
	write_key(path, "ED25519", 0, 0600);
	add_dkim("example.org", "rsa1", "rsa.pem");
	add_dkim("example.org", "ed1", "ed.pem");

	char err[1024] = "";
	struct dkim_keyset *ks = dkim_keys_load(&cfg, err, sizeof err);
	CHECK(ks != NULL);
	if (ks == NULL) {
		printf("%s\n", err);
		return test_summary("test_dkim");
	}
	CHECK(dkim_keys_count(ks) == 2 && dkim_keys_at(ks, 0)->bits == 2048);
	struct fake_dns dns = {0};
	publish(ks, &dns);

	test_round_trip(ks, &dns);
	test_chunking(ks);
	test_signing_domain(ks);
	test_rfc8463();
	test_verify_edges(ks, &dns);
	test_expiry_and_small_keys(ks);
	test_key_errors();
	test_dns_check(ks, &dns);

	/* A keyset with one bad key is refused whole, with its error. */
	add_dkim("example.net", "x", "missing.pem");
	struct dkim_keyset *bad = dkim_keys_load(&cfg, err, sizeof err);
	CHECK(bad == NULL && strstr(err, "missing.pem") && strstr(err, "example.net"));

	dkim_keys_free(&ks);
	CHECK(ks == NULL);
	fake_dns_free(&dns);
	rm_rf(dir);
	return test_summary("test_dkim");
}
