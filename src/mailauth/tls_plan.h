/*
 * tls_plan: how one delivery attempt to one MX host must use TLS — the
 * decision alone, from facts gathered elsewhere (the config, the DNSSEC
 * state of the MX and TLSA answers, the MTA-STS cache, the message's
 * REQUIRETLS flag and TLS-Required header). Pure and table-tested.
 *
 * Levels are Postfix's smtp_tls_security_level: may (opportunistic,
 * RFC 7435), encrypt (STARTTLS required, unverified), verify (CA + the MX
 * name), dane (RFC 7672 when usable TLSA exist, else may), dane-only (no
 * usable TLSA = defer). The order of precedence:
 *   1. a `tls-policy DOMAIN LEVEL` line for the domain (the operator knows);
 *   2. DANE when the MX and TLSA answers are DNSSEC-authenticated (DANE wins
 *      over MTA-STS, RFC 8461 2); a bogus/failed DNSSEC lookup defers;
 *   3. MTA-STS when the domain has a policy (enforce: MX must match and the
 *      certificate must verify; testing: deliver, report failures);
 *   4. the default level (`tls-policy default LEVEL`, else may).
 * Then the message: REQUIRETLS (RFC 8689 4.2.1) needs a verified peer
 * (DANE, MTA-STS enforce, or the verify level), else it bounces 5.7.10 —
 * or defers, when a policy could not be fetched just now (sts_failed);
 * `TLS-Required: No` (RFC 8689 5) without REQUIRETLS turns DANE and MTA-STS
 * requirements into may.
 * A security policy that cannot be met defers (or bounces); it never falls
 * back to plaintext or to an unverified peer.
 */
#ifndef MP_TLS_PLAN_H
#define MP_TLS_PLAN_H

#include <stdbool.h>

enum tls_level {
	TLS_LEVEL_MAY,
	TLS_LEVEL_ENCRYPT,
	TLS_LEVEL_VERIFY,
	TLS_LEVEL_DANE,
	TLS_LEVEL_DANE_ONLY
};
enum tls_source {
	TLS_SRC_DEFAULT,
	TLS_SRC_CONFIG,
	TLS_SRC_DANE,
	TLS_SRC_MTA_STS,
	TLS_SRC_REQUIRETLS
};

struct tls_plan_in {
	enum tls_level configured; /* the domain's tls-policy level, else the default's */
	bool configured_explicit;  /* a tls-policy line for the domain */
	int dnssec; /* MX+TLSA state: 0 insecure/none, 1 secure with usable TLSA, -1 bogus/temp */
	bool tlsa_unusable;   /* dnssec == 0 because a secure TLSA RRset had no usable record
				 (RFC 7672 2.2: TLS still mandatory, unauthenticated) */
	bool sts_policy;      /* from the MTA-STS cache: the domain has a policy */
	bool sts_enforce;     /* ... in mode enforce (else testing; none = no policy) */
	bool mx_in_sts;	      /* ... and this MX host matches one of its mx: patterns */
	bool sts_failed;      /* the MTA-STS lookup failed and nothing is cached (temporary) */
	bool requiretls;      /* from the message: MAIL FROM ... REQUIRETLS */
	bool tls_required_no; /* from the message: "TLS-Required: No" */
};

struct tls_plan {
	enum tls_level level; /* what applies now (dane without TLSA: may) */
	enum tls_source source;
	bool starttls_required; /* no STARTTLS or a failed handshake = defer, never plaintext */
	bool verify_ca;		/* the certificate must chain to outbound-cafile/the system
				   store and name the MX host */
	bool dane;		/* the certificate must match the TLSA records */
	bool defer;		/* do not connect: defer now (detail says why) */
	bool bounce;		/* do not connect: REQUIRETLS cannot be met, bounce 5.7.10 */
	bool sts_testing;	/* deliver, but report failures */
	char why[200];		/* for the log: "policy=dane" / "policy=mta-sts mode=enforce" */
	char detail[300];	/* when defer or bounce: what happened ... */
	char fix[300];		/* ... and what fixes it */
};

/* Fill out from in; every field of out is set. */
void tls_plan_decide(const struct tls_plan_in *in, struct tls_plan *out);

/* "may", "encrypt", "verify", "dane", "dane-only". Static strings. */
const char *tls_level_name(enum tls_level l);
/* "default", "config", "dane", "mta-sts", "requiretls". Static strings. */
const char *tls_source_name(enum tls_source s);
/* 0 and *l, or -1 for an unknown word. "require" is a synonym of encrypt. */
int tls_level_parse(const char *s, enum tls_level *l);
/* Does the plan demand an authenticated peer (DANE or CA + name)? */
bool tls_plan_verified(const struct tls_plan *p);

#endif
