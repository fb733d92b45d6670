/*
 * srs: the Sender Rewriting Scheme (Shevek's scheme as libsrs2 builds it),
 * so that mail we forward to another domain carries an envelope sender of
 * ours, which SPF checks against our host, and a bounce of it still finds
 * its way back to the original sender.
 *
 *   SRS0=HHHHH=TT=orig-domain=orig-local@our-domain      (first forward)
 *   SRS1=HHHHH=first-forwarder==HHHHH=TT=orig-domain=orig-local@our-domain
 *
 * TT is the day (unix days mod 1024) in two base32 letters; HHHHH is the
 * first 5 base32 letters of HMAC-SHA1(secret, lower-cased fields), compared
 * without regard to case (a hop that folds the case of a local part keeps
 * it valid; base32, unlike libsrs2's base64, loses no bits by that). An SRS
 * address is honoured for SRS_MAX_AGE_DAYS and never with a wrong hash, so
 * nobody can use us to relay by forging one. Pure: the caller gives the
 * secret and the time.
 */
#ifndef MP_SRS_H
#define MP_SRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRS_HASH_LEN 5
#define SRS_MAX_AGE_DAYS 21 /* libsrs2's default */

struct srs_key {
	const unsigned char *secret;
	size_t len;
};

enum srs_result {
	SRS_OK,
	SRS_NOT_SRS,   /* reverse: not an SRS0/SRS1 local part */
	SRS_MALFORMED, /* reverse: SRS-looking but not in the form above */
	SRS_BAD_HASH,  /* reverse: not made with our secret (forged or mangled) */
	SRS_EXPIRED,   /* reverse: older than SRS_MAX_AGE_DAYS */
	SRS_TOO_LONG,  /* forward: the local part would pass 64 octets (RFC 5321 4.5.3.1.1) */
};

/*
 * The SRS address for sender "local@domain" forwarded by us (our_domain) at
 * unix time now, into out. An SRS0 or SRS1 sender of another forwarder
 * becomes SRS1 (the chain is not lengthened).
 */
enum srs_result srs_forward(const struct srs_key *k, const char *sender, const char *our_domain,
			    int64_t now, char *out, size_t size);

/*
 * The address an SRS local part of ours stands for: "orig-local@orig-domain"
 * for SRS0 (hash and age checked), "SRS0=...@first-forwarder" for SRS1
 * (hash checked; the first forwarder checks the age).
 */
enum srs_result srs_reverse(const struct srs_key *k, const char *local, int64_t now, char *out,
			    size_t size);

/* Does this local part look like SRS ("SRS0=" / "SRS1=", any case)? */
bool srs_is_srs(const char *local);

/* A short English reason for a reverse result, for logs and replies. */
const char *srs_result_text(enum srs_result r);

#endif
