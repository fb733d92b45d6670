/*
 * dkim_tags: DKIM's tag=value lists (RFC 6376 3.2) and the two things
 * written in them: the DKIM-Signature header field (3.5, with the checks
 * of 6.1.1) and the key record published in DNS (3.6.1). Also the other
 * way: building a signature field (folded, b= last) and the copy with b=
 * emptied that is hashed (3.7). Pure: no crypto here, only the bytes the
 * crypto layer needs (decoded b=, bh=, p=).
 *
 * Every parser takes untrusted text (a peer's header, a DNS answer) and
 * returns 0, or -1 with why: one short sentence for a person, fit for the
 * reason of an Authentication-Results entry.
 */
#ifndef MP_DKIM_TAGS_H
#define MP_DKIM_TAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dkim_canon.h"
#include "str.h"

#define DKIM_TAGS_MAX 64

/* One tag-spec: name and value borrowed from the text parsed; value has
 * no white space around it (white space inside, e.g. folding in b=, is
 * kept). eq_end: just after the '='; spec_end: at the ';' (or the end). */
struct dkim_tag {
	struct strv name, value;
	size_t eq_end, spec_end;
};

struct dkim_tag_list {
	struct dkim_tag t[DKIM_TAGS_MAX];
	size_t n;
};

/* RFC 6376 3.2. Duplicate names make the whole list invalid. */
int dkim_tags_parse(const char *p, size_t len, struct dkim_tag_list *l, char *why, size_t why_size);
/* The tag's value, or NULL when absent (names are case-sensitive: 3.2). */
const struct strv *dkim_tags_get(const struct dkim_tag_list *l, const char *name);

enum dkim_alg { DKIM_RSA_SHA256, DKIM_ED25519_SHA256, DKIM_RSA_SHA1 };
enum dkim_key_type { DKIM_KEY_RSA, DKIM_KEY_ED25519 };

/* "rsa-sha256", "ed25519-sha256", "rsa-sha1" */
const char *dkim_alg_name(enum dkim_alg a);
enum dkim_key_type dkim_alg_key_type(enum dkim_alg a);
/* The digest's length in bytes: 32, or 20 for SHA-1. */
size_t dkim_alg_hash_len(enum dkim_alg a);

#define DKIM_SIG_HDRS_MAX 64
#define DKIM_SIG_B_MAX 1024 /* an RSA-8192 signature */

/* A parsed DKIM-Signature (RFC 6376 3.5). Strings are NUL-terminated. */
struct dkim_sig {
	enum dkim_alg alg;
	enum dkim_canon_alg hcanon, bcanon;
	char d[256];   /* lower-cased */
	char s[256];   /* the selector */
	char i[512];   /* the AUID; "@d" when absent */
	char b64b[16]; /* the first characters of b=, for header.b (RFC 6008) */
	unsigned char b[DKIM_SIG_B_MAX];
	size_t b_len;
	unsigned char bh[32];
	size_t bh_len;
	char h[1024]; /* h= names, NUL-separated, as written */
	const char *hv[DKIM_SIG_HDRS_MAX];
	size_t nh;
	bool has_l, has_t, has_x;
	uint64_t l;
	int64_t t, x;
};

/*
 * Parses the value of a DKIM-Signature field (after the colon) and checks
 * it as RFC 6376 6.1.1 says: v=1; a, b, bh, d, h, s present; a known; h
 * lists From; i's domain is d or below; c, q, l, t, x well formed and
 * x > t. -1 with why: the signature is a permerror.
 */
int dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig, char *why, size_t why_size);
/* x= is before now (6.1.1: the signature has expired). */
bool dkim_sig_expired(const struct dkim_sig *sig, int64_t now);

/*
 * The field with its b= value (and the white space around it) removed and
 * without its final line end: what RFC 6376 3.7 hashes last. field is the
 * whole raw field, name included. False if it has no b= tag.
 */
bool dkim_sig_blank_b(const char *field, size_t len, struct buf *out);

#define DKIM_KEY_PUB_MAX 2048 /* p= decoded: an RSA-8192 SubjectPublicKeyInfo fits */

/* A parsed key record (RFC 6376 3.6.1). */
struct dkim_key_record {
	enum dkim_key_type type;
	bool revoked;		 /* p= empty */
	bool testing;		 /* t=y */
	bool strict;		 /* t=s: i= must be exactly d */
	bool sha1_ok, sha256_ok; /* h= (both when absent) */
	unsigned char p[DKIM_KEY_PUB_MAX];	 /* RSA: a SubjectPublicKeyInfo (DER); Ed25519: 32 bytes */
	size_t p_len;
};

/* -1 with why: the record is unusable (a permerror for the signature). */
int dkim_key_parse(const char *txt, size_t len, struct dkim_key_record *k, char *why,
		   size_t why_size);
/* Does rec allow this signature (k= type, h= hash, t=s with i=)? why if not. */
bool dkim_key_allows(const struct dkim_key_record *k, const struct dkim_sig *sig, char *why,
		     size_t why_size);

/* What a signer puts in its field; strings NUL-terminated. */
struct dkim_sig_params {
	enum dkim_alg alg;
	const char *d, *s;
	const char *const *h; /* names as they go in h= */
	size_t nh;
	const char *bh; /* base64 */
	bool has_t;
	int64_t t;
};

/*
 * Appends "DKIM-Signature: v=1; a=...; ...; b=" to out: folded at 78
 * columns with CRLF + TAB, b= last and empty, no final CRLF. This is also
 * the very text to hash; dkim_sig_add_b then completes the field.
 */
void dkim_sig_build(const struct dkim_sig_params *p, struct buf *out);
/* Appends the base64 signature (folded) and the final CRLF. */
void dkim_sig_add_b(struct buf *out, const char *b64);

/*
 * The key record for a public key: "v=DKIM1; k=rsa; p=..." (or k=ed25519),
 * to out; and the same split into quoted DNS strings of at most 255
 * octets, for a zone file: "\"v=DKIM1; ...\" \"...\"".
 */
void dkim_key_record_text(enum dkim_key_type type, const unsigned char *pub, size_t pub_len,
			  struct buf *out);
void dkim_txt_quoted(const char *txt, struct buf *out);

#endif
