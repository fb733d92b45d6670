/*
 * dkim_sign: the signer (see the header). The header fields to sign are
 * chosen and canonicalized when the header section arrives; the body goes
 * through the relaxed canonicalizer straight into one SHA-256 (all our
 * signatures are relaxed/relaxed over SHA-256, so one body hash serves
 * every key); finish builds each key's field and signs it:
 *   RSA-SHA256:     RSASSA-PKCS1-v1_5 over SHA-256 of the header data;
 *   Ed25519-SHA256: PureEdDSA over the 32-byte SHA-256 of the header data
 *                   (RFC 8463 3: the hash is what Ed25519 signs).
 */
#include "dkim_sign.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "dkim_canon.h"
#include "dmarc.h"
#include "str.h"
#include "xmalloc.h"

/* RFC 6376 5.4.1's recommendation, less what changes in transit
 * (Received, Return-Path) and with the list fields senders add. */
static const char *const DKIM_SIGN_FIELDS[] = {
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-ID",
    "Content-Description",
    "Resent-Date",
    "Resent-From",
    "Resent-To",
    "Resent-Cc",
    "Resent-Message-ID",
    "Sender",
    "List-Id",
    "List-Help",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Subscribe",
    "List-Post",
    "List-Owner",
    "List-Archive",
};
#define NFIELDS (sizeof DKIM_SIGN_FIELDS / sizeof DKIM_SIGN_FIELDS[0])
#define DKIM_SIGN_H_MAX 64 /* names in h= (a field occurring often is listed that often) */

struct dkim_signer {
	const struct dkim_keyset *ks;
	int64_t now;
	EVP_MD_CTX *body_md;
	struct dkim_body_canon bc;
	bool headers_seen;
	char domain[256];
	const char *h[DKIM_SIGN_H_MAX];
	size_t nh;
	struct buf hdata; /* the signed fields, canonical, in h= order */
	char why[256];	  /* why nothing is signed, when so */
	bool failed;	  /* a crypto call failed: finish says so */
};

static void
body_out(void *ctx, const char *p, size_t n)
{
	struct dkim_signer *s = ctx;
	if (EVP_DigestUpdate(s->body_md, p, n) != 1)
		s->failed = true;
}

struct dkim_signer *
dkim_signer_new(const struct dkim_keyset *ks, int64_t now)
{
	struct dkim_signer *s = xcalloc(1, sizeof *s);
	s->ks = ks;
	s->now = now;
	s->body_md = EVP_MD_CTX_new();
	if (s->body_md == NULL || EVP_DigestInit_ex(s->body_md, EVP_sha256(), NULL) != 1)
		s->failed = true;
	dkim_body_canon_init(&s->bc, DKIM_CANON_RELAXED, UINT64_MAX, body_out, s);
	buf_init(&s->hdata, 0);
	return s;
}

void
dkim_signer_free(struct dkim_signer **sp)
{
	struct dkim_signer *s = *sp;
	if (s == NULL)
		return;
	EVP_MD_CTX_free(s->body_md);
	buf_free(&s->hdata);
	free(s);
	*sp = NULL;
}

const char *
dkim_signer_domain(const struct dkim_signer *s)
{
	return s->domain;
}

static bool
has_keys(const struct dkim_keyset *ks, const char *domain)
{
	for (size_t i = 0; i < dkim_keys_count(ks); i++)
		if (str_eq_ci(dkim_keys_at(ks, i)->domain, domain))
			return true;
	return false;
}

/* The author domain, then each parent, until one has keys. */
static bool
choose_domain(struct dkim_signer *s, const struct msg_headers *h)
{
	struct strv from[8];
	size_t nfrom = 0, total = 0;
	for (size_t i = 0; i < msg_headers_count(h); i++) {
		const struct msg_header *f = msg_headers_at(h, i);
		if (msg_header_is(f, "From") && total++ < 8)
			from[nfrom++] = (struct strv){f->raw, f->len};
	}
	char author[256], why[200];
	if (dmarc_author_domain(from, total, author, sizeof author, why, sizeof why) < 0) {
		snprintf(s->why, sizeof s->why, "not signed: %s", why);
		return false;
	}
	for (const char *d = author; d != NULL; d = strchr(d, '.') ? strchr(d, '.') + 1 : NULL) {
		if (strchr(d, '.') == NULL)
			break; /* a top-level domain never signs */
		if (has_keys(s->ks, d)) {
			str_copy(s->domain, sizeof s->domain, d);
			return true;
		}
	}
	snprintf(s->why, sizeof s->why,
		 "not signed: no dkim key for %s or a parent domain in the config", author);
	return false;
}

static void
hdata_out(void *ctx, const char *p, size_t n)
{
	buf_append(ctx, p, n);
}

/* RFC 6376 5.4.2: a name listed k times signs the last k instances,
 * bottom up. */
static void
add_field(struct dkim_signer *s, const struct msg_headers *h, const char *name, size_t count)
{
	size_t seen = 0;
	for (size_t i = msg_headers_count(h); i-- > 0 && seen < count;) {
		const struct msg_header *f = msg_headers_at(h, i);
		if (!msg_header_is(f, name))
			continue;
		if (s->nh == DKIM_SIGN_H_MAX)
			return;
		seen++;
		s->h[s->nh++] = name;
		dkim_canon_header(DKIM_CANON_RELAXED, f->raw, f->len, true, hdata_out, &s->hdata);
	}
}

void
dkim_signer_headers(struct dkim_signer *s, const struct msg_headers *h)
{
	s->headers_seen = true;
	if (h->too_big) {
		snprintf(s->why, sizeof s->why, "not signed: the header section is too big");
		return;
	}
	if (!choose_domain(s, h))
		return;
	for (size_t k = 0; k < NFIELDS; k++) {
		size_t count = 0;
		for (size_t i = 0; i < msg_headers_count(h); i++)
			count += msg_header_is(msg_headers_at(h, i), DKIM_SIGN_FIELDS[k]);
		add_field(s, h, DKIM_SIGN_FIELDS[k], count);
	}
	/* From once more: a nonexistent instance signs as the empty string
	 * (5.4.2), so a From: added later breaks the signature (8.15). */
	if (s->nh < DKIM_SIGN_H_MAX)
		s->h[s->nh++] = "From";
}

void
dkim_signer_body(struct dkim_signer *s, const char *p, size_t n)
{
	dkim_body_canon_feed(&s->bc, p, n);
}

/* The signature over data (3.7's hash input) with key k, base64 in b64. */
static int
sign_data(const struct dkim_key *k, const struct buf *data, char **b64)
{
	unsigned char digest[32], sig[1024];
	size_t siglen = sizeof sig;
	int rc = -1;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -1;
	if (k->type == DKIM_KEY_ED25519) {
		unsigned dlen = 0;
		if (EVP_Digest(data->data, data->len, digest, &dlen, EVP_sha256(), NULL) != 1 ||
		    EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) != 1 ||
		    EVP_DigestSign(ctx, sig, &siglen, digest, dlen) != 1)
			goto out;
	} else {
		if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
		    EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)data->data,
				   data->len) != 1 ||
		    siglen > sizeof sig ||
		    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)data->data,
				   data->len) != 1)
			goto out;
	}
	*b64 = xmalloc(B64_ENCODED_SIZE(siglen));
	b64_encode(sig, siglen, *b64);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

static void
hash_out(void *ctx, const char *p, size_t n)
{
	buf_append(ctx, p, n);
}

/* One key's field, appended to out. */
static int
sign_one(struct dkim_signer *s, const struct dkim_key *k, const char *bh, struct buf *out)
{
	struct buf field, data;
	buf_init(&field, 0);
	buf_init(&data, 0);
	struct dkim_sig_params p = {
	    .alg = k->type == DKIM_KEY_ED25519 ? DKIM_ED25519_SHA256 : DKIM_RSA_SHA256,
	    .d = k->domain,
	    .s = k->selector,
	    .h = s->h,
	    .nh = s->nh,
	    .bh = bh,
	    .has_t = true,
	    .t = s->now,
	};
	dkim_sig_build(&p, &field);
	buf_append(&data, s->hdata.data, s->hdata.len);
	dkim_canon_header(DKIM_CANON_RELAXED, field.data, field.len, false, hash_out, &data);
	char *b64 = NULL;
	int rc = sign_data(k, &data, &b64);
	if (rc == 0) {
		dkim_sig_add_b(&field, b64);
		buf_append(out, field.data, field.len);
	}
	free(b64);
	buf_free(&field);
	buf_free(&data);
	return rc;
}

int
dkim_signer_finish(struct dkim_signer *s, struct buf *out, char *why, size_t why_size)
{
	if (!s->headers_seen) {
		snprintf(why, why_size, "not signed: the message has no header section");
		return 0;
	}
	if (s->domain[0] == '\0') {
		snprintf(why, why_size, "%s", s->why);
		return 0;
	}
	dkim_body_canon_finish(&s->bc);
	unsigned char bh[32];
	unsigned bhlen = 0;
	if (s->failed || EVP_DigestFinal_ex(s->body_md, bh, &bhlen) != 1 || bhlen != 32) {
		snprintf(why, why_size, "DKIM signing failed: the body hash could not be computed");
		return -1;
	}
	char bh64[B64_ENCODED_SIZE(32)];
	b64_encode(bh, sizeof bh, bh64);
	int n = 0;
	for (size_t i = 0; i < dkim_keys_count(s->ks); i++) {
		const struct dkim_key *k = dkim_keys_at(s->ks, i);
		if (!str_eq_ci(k->domain, s->domain))
			continue;
		if (sign_one(s, k, bh64, out) < 0) {
			snprintf(why, why_size, "DKIM signing with %s (selector %s) failed",
				 k->keyfile, k->selector);
			return -1;
		}
		n++;
	}
	snprintf(why, why_size, "signed for %s with %d key%s", s->domain, n, n == 1 ? "" : "s");
	return n;
}
