/*
 * dmarc: RFC 7489 (DMARC) without I/O: the record's syntax (6.3, 6.4),
 * the organizational domain from the Public Suffix List (3.2, libpsl over
 * Debian's publicsuffix file), policy discovery through struct ma_dns
 * (6.6.3), identifier alignment (3.1), the result and the policy to apply
 * with pct sampling (6.6.4), and the author domain from the From: field(s)
 * (6.6.1).
 *
 * Results are RFC 8601 words: pass, fail, none, temperror, permerror.
 * Choices where the RFC leaves room (each also said in dmarc.c):
 *  - a message without exactly one From: field, or whose From: holds
 *    addresses of more than one domain, or no domain we can read, is
 *    "permerror" with from_invalid set: there is no one author domain to
 *    authenticate (RFC 7489 6.6.1 says such mail is typically rejected);
 *  - a record with v=DMARC1 but without a valid p= (or with an invalid sp=)
 *    is read as p=none when it has a valid rua= (6.6.3 step 6), otherwise
 *    the result is "permerror" (RFC 7489 11.2: a syntactically incorrect
 *    record) and no policy applies;
 *  - errors in other tags fall back to the tag's default (6.3).
 */
#ifndef MP_DMARC_H
#define MP_DMARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ma_dns.h"
#include "str.h"

enum dmarc_policy {
	DMARC_POLICY_UNSET, /* sp= absent: p applies to subdomains too */
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

enum dmarc_align { DMARC_ALIGN_RELAXED, DMARC_ALIGN_STRICT };

enum dmarc_result {
	DMARC_RESULT_NONE, /* no record (or several): DMARC does not apply */
	DMARC_RESULT_PASS,
	DMARC_RESULT_FAIL,
	DMARC_RESULT_TEMPERROR, /* the record could not be fetched: try again later */
	DMARC_RESULT_PERMERROR, /* a record we cannot use, or no single author domain */
};

#define DMARC_URIS_MAX 512

struct dmarc_record {
	enum dmarc_policy p;	  /* never UNSET after a successful parse */
	enum dmarc_policy sp;	  /* UNSET: as p */
	unsigned pct;		  /* 0..100, default 100 */
	enum dmarc_align adkim;	  /* default relaxed */
	enum dmarc_align aspf;	  /* default relaxed */
	char rua[DMARC_URIS_MAX]; /* as published (the valid URIs, comma-separated) */
	char ruf[DMARC_URIS_MAX];
	char fo[16];	 /* default "0" */
	uint32_t ri;	 /* default 86400 */
	bool p_from_rua; /* p= was missing or invalid; p=none because rua= is valid */
};

enum dmarc_parse_rc {
	DMARC_REC_OK = 0,	  /* usable; why may still name ignored errors */
	DMARC_REC_NOT_DMARC = -1, /* does not start with v=DMARC1: not a DMARC record */
	DMARC_REC_INVALID = -2,	  /* v=DMARC1, but no usable policy (why says which tag) */
};

/*
 * Parses one TXT record (its strings already joined). Returns an enum
 * dmarc_parse_rc; why (may be NULL) gets the reason on INVALID, and on OK
 * the tags that were ignored for their syntax ("" when none).
 */
int dmarc_record_parse(const char *txt, struct dmarc_record *r, char *why, size_t why_size);

/*
 * The organizational domain (RFC 7489 3.2) of domain (ASCII or A-labels,
 * any case, an optional trailing dot), lower case, into out. A domain that
 * is itself a public suffix is its own organizational domain. Returns out,
 * or NULL when out_size is too small. The list: libpsl's psl_latest(NULL),
 * the newer of Debian's /usr/share/publicsuffix file and libpsl's built-in
 * copy; loaded once per process, thread-safe.
 */
const char *dmarc_org_domain(const char *domain, char *out, size_t out_size);

/* Identifier alignment (RFC 7489 3.1): strict = equal names; relaxed = same org domain. */
bool dmarc_aligned(const char *from_domain, const char *auth_domain, enum dmarc_align mode);

/*
 * The author domain from the message's From: fields (each raw, whole field
 * "From: ...\r\n" with its folded lines; the name is skipped). Exactly one
 * field whose addresses all have the same domain: 0 and the domain (lower
 * case, no trailing dot) in out. Otherwise -1 and why ("2 From: fields",
 * "no From: field", "the From: addresses have different domains", ...).
 */
int dmarc_author_domain(const struct strv *fields, size_t nfields, char *out, size_t out_size,
			char *why, size_t why_size);

/* How an authentication method came out, as far as DMARC cares. */
enum dmarc_auth { DMARC_AUTH_PASS, DMARC_AUTH_TEMPERROR, DMARC_AUTH_OTHER };

struct dmarc_ident {
	const char *domain;
	enum dmarc_auth result;
};

struct dmarc_input {
	const char *from_domain; /* from dmarc_author_domain; NULL when it failed */
	const char *from_why;	 /* its why, when from_domain is NULL */
	struct dmarc_ident spf; /* the SPF MAIL FROM identity (the HELO one for <>, RFC 7208 2.4) */
	const struct dmarc_ident *dkim; /* one per signature: d= and its result */
	size_t ndkim;
	unsigned pct_roll; /* a random number 0..99 for pct= sampling (6.6.4) */
};

struct dmarc_outcome {
	enum dmarc_result result;
	char from_domain[256]; /* the author domain ("" when there is none) */
	char org_domain[256];
	char record_domain[256];  /* where the record was found ("" when none) */
	struct dmarc_record rec;  /* valid when record_domain is set */
	enum dmarc_policy policy; /* p, or sp for a subdomain's record found at the org domain */
	enum dmarc_policy disposition; /* on fail: policy after pct sampling; else NONE */
	bool spf_aligned, dkim_aligned;
	char aligned_domain[256]; /* the identifier that made it pass */
	bool from_invalid;	  /* no single author domain (see above) */
	/* fail, but an identifier that could have aligned had a temperror, or
	 * the record could not be fetched while nothing passed strict alignment:
	 * the verdict might change on a retry */
	bool maybe_transient;
	char reason[256]; /* why, for people */
};

/*
 * Policy discovery and evaluation for one message. Makes at most two TXT
 * lookups (_dmarc.<From domain>, then _dmarc.<org domain>).
 */
void dmarc_check(const struct ma_dns *dns, const struct dmarc_input *in, struct dmarc_outcome *out);

const char *dmarc_result_name(enum dmarc_result r); /* RFC 8601 words */
const char *dmarc_policy_name(enum dmarc_policy p); /* "none", "quarantine", "reject" ("" unset) */

#endif
