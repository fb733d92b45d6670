/*
 * dkim_sign: DKIM signatures (RFC 6376, RFC 8463) for one message, made
 * while it streams in: the header section first, then the body in pieces
 * (its hash computed as it passes, never a second read), then finish
 * appends one DKIM-Signature field per key of the signing domain, to be
 * put at the top of the message before it is queued.
 *
 * What is signed: c=relaxed/relaxed; a=rsa-sha256 or ed25519-sha256 after
 * the key; t= now; h= the fields of DKIM_SIGN_FIELDS present in the
 * message (each as often as it occurs) and From once more than it occurs
 * ("oversigned": RFC 6376 8.15, nobody can add a second From: later). The
 * signing domain is the From: field's domain (the author domain, as DMARC
 * reads it) or its nearest parent that has keys in the config.
 *
 * A message with no usable From: or no key for its domain gets no
 * signature: finish returns 0 and why says which. The signer borrows the
 * keyset, which must outlive it; it keeps no pointer into the headers.
 */
#ifndef MP_DKIM_SIGN_H
#define MP_DKIM_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dkim_keys.h"
#include "msg_headers.h"

struct dkim_signer;

/* now: the t= value (seconds since the epoch). */
struct dkim_signer *dkim_signer_new(const struct dkim_keyset *ks, int64_t now);
/* The message's header section, complete. Call once, before finish. */
void dkim_signer_headers(struct dkim_signer *s, const struct msg_headers *h);
/* The body, in any pieces (CRLF line ends, as sent; no dot-stuffing). */
void dkim_signer_body(struct dkim_signer *s, const char *p, size_t n);
/* Appends the DKIM-Signature fields (CRLF-terminated, folded) to out;
 * returns how many (0 with why when nothing is to be signed), -1 with why
 * when signing failed. */
int dkim_signer_finish(struct dkim_signer *s, struct buf *out, char *why, size_t why_size);
void dkim_signer_free(struct dkim_signer **s);
/*
 * The same for a whole message in memory (mail mailport makes itself, such
 * as the TLS reports): the return and why of dkim_signer_finish.
 */
int dkim_sign_message(const struct dkim_keyset *ks, int64_t now, const char *msg, size_t len,
		      struct buf *out, char *why, size_t why_size);

/* The domain the signer chose ("" before headers or when none). */
const char *dkim_signer_domain(const struct dkim_signer *s);

#endif
