/*
 * dkim_verify: the verifier (see the header for the results). When the
 * header section arrives each signature is parsed and the header data it
 * signs (RFC 6376 3.7: the h= fields, bottom-up, then the signature field
 * with b= emptied) is canonicalized and kept, so nothing points into the
 * caller's headers afterwards; each signature then hashes the body with
 * its own c= and l= as the body streams.
 */
#include "dkim_verify.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_canon.h"
#include "dkim_key_cache.h"
#include "dkim_keys.h"
#include "dkim_tags.h"
#include "str.h"
#include "xmalloc.h"

#define DKIM_RSA_MIN_BITS 1024 /* RFC 8301 3.2 */
#define DKIM_RSA_MAX_BITS 8192 /* each signature costs a public-key operation: bound it */

struct vsig {
	struct dkim_sig sig;
	bool ok;	  /* parsed and checked (6.1.1) */
	char why[160];	  /* when not ok */
	struct buf hdata; /* the signed header data, canonical */
	struct dkim_body_canon bc;
	EVP_MD_CTX *md;
	bool md_failed;
};

struct dkim_verifier {
	struct vsig *sig[DKIM_VERIFY_MAX];
	size_t nsig;
	size_t ignored;
	bool headers_seen;
};

struct dkim_verifier *
dkim_verifier_new(void)
{
	return xcalloc(1, sizeof(struct dkim_verifier));
}

void
dkim_verifier_free(struct dkim_verifier **vp)
{
	struct dkim_verifier *v = *vp;
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->nsig; i++) {
		EVP_MD_CTX_free(v->sig[i]->md);
		buf_free(&v->sig[i]->hdata);
		free(v->sig[i]);
	}
	free(v);
	*vp = NULL;
}

size_t
dkim_verifier_ignored(const struct dkim_verifier *v)
{
	return v->ignored;
}

static void
to_buf(void *ctx, const char *p, size_t n)
{
	buf_append(ctx, p, n);
}

static void
to_md(void *ctx, const char *p, size_t n)
{
	struct vsig *s = ctx;
	if (EVP_DigestUpdate(s->md, p, n) != 1)
		s->md_failed = true;
}

/* 3.7: the h= fields, each name taking the next instance from the bottom
 * (5.4.2); a name with no instance left adds nothing. */
static void
collect_signed(struct vsig *s, const struct msg_headers *h, size_t self)
{
	for (size_t k = 0; k < s->sig.nh; k++) {
		/* How many instances of this name earlier h= entries took. */
		size_t skip = 0;
		for (size_t j = 0; j < k; j++)
			skip += str_eq_ci(s->sig.hv[j], s->sig.hv[k]);
		for (size_t i = msg_headers_count(h); i-- > 0;) {
			const struct msg_header *f = msg_headers_at(h, i);
			if (!msg_header_is(f, s->sig.hv[k]))
				continue;
			if (skip-- > 0)
				continue;
			dkim_canon_header(s->sig.hcanon, f->raw, f->len, true, to_buf, &s->hdata);
			break;
		}
	}
	const struct msg_header *me = msg_headers_at(h, self);
	struct buf blank;
	buf_init(&blank, 0);
	dkim_sig_blank_b(me->raw, me->len, &blank);
	dkim_canon_header(s->sig.hcanon, blank.data, blank.len, false, to_buf, &s->hdata);
	buf_free(&blank);
}

static void
add_signature(struct dkim_verifier *v, const struct msg_headers *h, size_t i)
{
	const struct msg_header *f = msg_headers_at(h, i);
	struct vsig *s = xcalloc(1, sizeof *s);
	v->sig[v->nsig++] = s;
	buf_init(&s->hdata, 0);
	size_t vl;
	const char *val = msg_header_value(f, &vl);
	if (dkim_sig_parse(val, vl, &s->sig, s->why, sizeof s->why) < 0)
		return;
	s->ok = true;
	collect_signed(s, h, i);
	s->md = EVP_MD_CTX_new();
	const EVP_MD *md = s->sig.alg == DKIM_RSA_SHA1 ? EVP_sha1() : EVP_sha256();
	if (s->md == NULL || EVP_DigestInit_ex(s->md, md, NULL) != 1)
		s->md_failed = true;
	dkim_body_canon_init(&s->bc, s->sig.bcanon, s->sig.has_l ? s->sig.l : UINT64_MAX, to_md, s);
}

void
dkim_verifier_headers(struct dkim_verifier *v, const struct msg_headers *h)
{
	if (v->headers_seen)
		return;
	v->headers_seen = true;
	for (size_t i = 0; i < msg_headers_count(h); i++) {
		if (!msg_header_is(msg_headers_at(h, i), "DKIM-Signature"))
			continue;
		if (v->nsig == DKIM_VERIFY_MAX)
			v->ignored++;
		else
			add_signature(v, h, i);
	}
}

void
dkim_verifier_body(struct dkim_verifier *v, const char *p, size_t n)
{
	for (size_t i = 0; i < v->nsig; i++)
		if (v->sig[i]->ok)
			dkim_body_canon_feed(&v->sig[i]->bc, p, n);
}

static void set(struct dkim_result *r, const char *result, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set(struct dkim_result *r, const char *result, const char *fmt, ...)
{
	va_list ap;
	str_copy(r->result, sizeof r->result, result);
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof r->reason, fmt, ap);
	va_end(ap);
}

/* The key record at s._domainkey.d: 0, or -1 with r set. */
static int
fetch_key(const struct dkim_sig *sig, const struct ma_dns *dns, struct dkim_key_record *rec,
	  struct dkim_result *r)
{
	char name[600], why[160] = "";
	snprintf(name, sizeof name, "%s._domainkey.%s", sig->s, sig->d);
	struct ma_dns_answer a = {0};
	enum ma_dns_rc rc = dns->lookup(dns->ctx, MA_RR_TXT, name, &a);
	if (rc == MA_DNS_TEMPFAIL) {
		set(r, "temperror", "key lookup of %s failed; try again later", name);
		return -1;
	}
	if (rc != MA_DNS_OK || a.n == 0) {
		ma_dns_answer_free(&a);
		set(r, "permerror", "no key at %s", name);
		return -1;
	}
	/* Several records: the first that is a key record (3.6.2.2 leaves
	 * the choice to the verifier). */
	int got = -1;
	for (size_t i = 0; i < a.n && got < 0; i++) {
		char w[160];
		got = dkim_key_parse(a.rr[i], strlen(a.rr[i]), rec, w, sizeof w);
		if (got < 0 && i == 0)
			str_copy(why, sizeof why, w);
	}
	ma_dns_answer_free(&a);
	if (got < 0) {
		set(r, "permerror", "bad key record at %s: %s", name, why);
		return -1;
	}
	return 0;
}

/* 3.7 + RFC 8463 3: RSA signs the data with the hash; Ed25519 signs the
 * SHA-256 of the data. */
static bool
signature_verifies(const struct vsig *s, EVP_PKEY *pub)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = false;
	if (ctx == NULL)
		return false;
	const unsigned char *data = (const unsigned char *)s->hdata.data;
	if (s->sig.alg == DKIM_ED25519_SHA256) {
		unsigned char digest[32];
		unsigned dl = 0;
		ok = EVP_Digest(data, s->hdata.len, digest, &dl, EVP_sha256(), NULL) == 1 &&
		     EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub) == 1 &&
		     EVP_DigestVerify(ctx, s->sig.b, s->sig.b_len, digest, dl) == 1;
	} else {
		const EVP_MD *md = s->sig.alg == DKIM_RSA_SHA1 ? EVP_sha1() : EVP_sha256();
		ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, pub) == 1 &&
		     EVP_DigestVerify(ctx, s->sig.b, s->sig.b_len, data, s->hdata.len) == 1;
	}
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* The crypto: fills r; the caller has fetched and checked the key. */
static void
check_crypto(struct vsig *s, EVP_PKEY *pub, const struct dkim_key_record *rec,
	     struct dkim_result *r)
{
	unsigned char bh[32];
	unsigned bhl = 0;
	uint64_t total = dkim_body_canon_length(&s->bc);
	bool body_ok = !s->md_failed && EVP_DigestFinal_ex(s->md, bh, &bhl) == 1 &&
		       bhl == s->sig.bh_len && memcmp(bh, s->sig.bh, bhl) == 0;
	bool sig_ok = signature_verifies(s, pub);
	const char *test = rec->testing ? " (the key is in test mode, t=y)" : "";
	if (s->sig.has_l && s->sig.l > total) {
		set(r, "fail", "l=%llu is longer than the body (%llu bytes)",
		    (unsigned long long)s->sig.l, (unsigned long long)total);
	} else if (s->sig.alg == DKIM_RSA_SHA1) {
		set(r, "policy", "rsa-sha1 is not accepted (RFC 8301); the signature %s%s",
		    body_ok && sig_ok ? "verifies" : "does not verify either", test);
	} else if (!body_ok) {
		set(r, "fail", "body hash did not verify (the body was changed)%s", test);
	} else if (!sig_ok) {
		set(r, "fail", "signature did not verify (a signed header field was changed)%s",
		    test);
	} else if (s->sig.has_l && s->sig.l < total) {
		set(r, "policy",
		    "l=%llu signs only part of the body (%llu bytes): the rest could be anyone's%s",
		    (unsigned long long)s->sig.l, (unsigned long long)total, test);
	} else {
		set(r, "pass", "good signature%s", test);
	}
}

static void
check_one(struct vsig *s, const struct ma_dns *dns, int64_t now, struct dkim_result *r)
{
	memset(r, 0, sizeof *r);
	if (!s->ok) {
		set(r, "permerror", "%s", s->why);
		return;
	}
	str_copy(r->domain, sizeof r->domain, s->sig.d);
	str_copy(r->selector, sizeof r->selector, s->sig.s);
	str_copy(r->algorithm, sizeof r->algorithm, dkim_alg_name(s->sig.alg));
	str_copy(r->header_b, sizeof r->header_b, s->sig.b64b);
	dkim_body_canon_finish(&s->bc);
	if (dkim_sig_expired(&s->sig, now)) {
		set(r, "permerror", "signature expired (x=%lld)", (long long)s->sig.x);
		return;
	}
	struct dkim_key_record rec;
	if (fetch_key(&s->sig, dns, &rec, r) < 0)
		return;
	char why[160];
	if (rec.revoked) {
		set(r, "permerror", "key revoked (empty p=)");
		return;
	}
	if (!dkim_key_allows(&rec, &s->sig, why, sizeof why)) {
		set(r, "permerror", "%s", why);
		return;
	}
	EVP_PKEY *pub = dkim_pubkey_cached(&rec, why, sizeof why);
	if (pub == NULL) {
		set(r, "permerror", "%s", why);
		return;
	}
	if (rec.type == DKIM_KEY_RSA && EVP_PKEY_get_bits(pub) < DKIM_RSA_MIN_BITS) {
		set(r, "permerror", "RSA key of %d bits is too small (RFC 8301: at least 1024)",
		    EVP_PKEY_get_bits(pub));
	} else if (rec.type == DKIM_KEY_RSA && EVP_PKEY_get_bits(pub) > DKIM_RSA_MAX_BITS) {
		set(r, "permerror", "RSA key of %d bits is larger than we verify (%d)",
		    EVP_PKEY_get_bits(pub), DKIM_RSA_MAX_BITS);
	} else {
		check_crypto(s, pub, &rec, r);
	}
	EVP_PKEY_free(pub);
}

size_t
dkim_verifier_finish(struct dkim_verifier *v, const struct ma_dns *dns, int64_t now,
		     struct dkim_result *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < v->nsig && n < max; i++)
		check_one(v->sig[i], dns, now, &out[n++]);
	for (size_t i = 0; i < v->ignored && n < max; i++) {
		memset(&out[n], 0, sizeof out[n]);
		set(&out[n++], "permerror", "not checked: more than %d DKIM signatures",
		    DKIM_VERIFY_MAX);
	}
	return n;
}
