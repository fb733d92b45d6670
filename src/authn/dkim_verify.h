/*
 * dkim_verify: every DKIM-Signature of a message checked (RFC 6376 6,
 * RFC 8463, RFC 8301), while the message streams in: the header section
 * once, the body in pieces through each signature's own canonicalization
 * and hash (never a second read), then the keys from DNS at the end.
 *
 * Results are RFC 8601 words, one per signature, top of the message first:
 *   pass       the signature verifies over the whole body;
 *   fail       it does not (body hash or signature), or l= is longer than
 *              the body;
 *   policy     acceptable crypto we refuse anyway: rsa-sha1 (RFC 8301 3.1:
 *              "MUST NOT be used for signing or verifying"; the reason
 *              says whether it would have verified), or an l= that leaves
 *              part of the body unsigned (RFC 6376 8.2: text appended
 *              after the signed part would ride on the signature);
 *   temperror  the key could not be fetched (DNS timeout, SERVFAIL);
 *   permerror  the signature is malformed (6.1.1: tags, h= without From,
 *              i= outside d=, x= in the past), or its key is missing,
 *              unusable, revoked (empty p=), of the wrong type or hash, or
 *              an RSA key under 1024 bits (RFC 8301 3.2) or over 8192;
 *   none       is never returned per signature: no signature gives 0
 *              results.
 * At most DKIM_VERIFY_MAX signatures are checked (each costs a DNS lookup
 * and a public-key operation); any more are counted, and reported as
 * permerror "not checked" while out has room.
 */
#ifndef MP_DKIM_VERIFY_H
#define MP_DKIM_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "ma_dns.h"
#include "msg_headers.h"

#define DKIM_VERIFY_MAX 8

struct dkim_result {
	char domain[256], selector[256], algorithm[32]; /* d=, s=, a= ("" when unreadable) */
	char result[16]; /* pass fail neutral temperror permerror policy none */
	char reason[160];
	char header_b[16]; /* the first characters of b= (RFC 6008 header.b) */
};

struct dkim_verifier;

struct dkim_verifier *dkim_verifier_new(void);
/* The header section, complete; the signatures are read here. Once. */
void dkim_verifier_headers(struct dkim_verifier *v, const struct msg_headers *h);
/* The body, in any pieces, after the headers. */
void dkim_verifier_body(struct dkim_verifier *v, const char *p, size_t n);
/* Fetches the keys through dns and fills out[0..max); returns how many
 * results were written. now: for x= (seconds since the epoch). */
size_t dkim_verifier_finish(struct dkim_verifier *v, const struct ma_dns *dns, int64_t now,
			    struct dkim_result *out, size_t max);
/* Signatures beyond DKIM_VERIFY_MAX, not checked. */
size_t dkim_verifier_ignored(const struct dkim_verifier *v);
void dkim_verifier_free(struct dkim_verifier **v);

#endif
