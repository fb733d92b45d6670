/*
 * spf: the Sender Policy Framework, RFC 7208: may this client IP send
 * mail whose MAIL FROM (or, for MAIL FROM <>, whose HELO) names this
 * domain?
 *
 * spf_check is check_host() (RFC 7208 4) plus the identity rules around
 * it (2.3, 2.4, 4.3): record selection, every mechanism and modifier,
 * macros (7), the explanation of a fail (6.2), the limits of 4.6.4 (10
 * DNS-querying terms, 10 MX / PTR names per lookup, 2 void lookups).
 * Every DNS question goes through struct ma_dns, so the time bound is the
 * resolver's: a TEMPFAIL is a temperror where the RFC says so.
 *
 * Pure: no I/O of its own, no clock (the caller gives %{t}).
 * Files: spf_record.c (parsing), spf_macro.c (macro expansion),
 * spf_eval.c (check_host), spf_census.c (the domain check's count).
 */
#ifndef MP_SPF_H
#define MP_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ma_dns.h"

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR
};

struct spf_request {
	const char *ip;	      /* the client, "192.0.2.1" or "2001:db8::1" (IPv4-mapped is IPv4) */
	const char *helo;     /* the HELO/EHLO argument as sent (may be NULL) */
	const char *sender;   /* reverse-path as sent, "" (or "<>") for the null path */
	const char *receiver; /* our hostname, %{r} (NULL: "unknown") */
	int64_t now;	      /* seconds since the epoch, %{t} */
};

struct spf_outcome {
	enum spf_result result;
	char identity[16];     /* "mailfrom" | "helo" */
	char domain[256];      /* the domain checked (the identity's) */
	char sender[520];      /* the <sender> of check_host, "postmaster@helo" for <> */
	char explanation[512]; /* on fail: the exp= text, or a default one */
	char reason[256];      /* why, for people: the mechanism matched or the error */
	unsigned lookups;      /* DNS-querying terms evaluated (limit 10) */
	unsigned void_lookups; /* of which answered NXDOMAIN or no records (limit 2) */
};

/*
 * Evaluates SPF for rq: the MAIL FROM identity, or the HELO identity when
 * the reverse-path is null (RFC 7208 2.4). out is filled in full; it never
 * fails otherwise (an unusable ip is a permerror with its reason).
 */
void spf_check(const struct ma_dns *dns, const struct spf_request *rq, struct spf_outcome *out);

/*
 * check_host() for one explicit domain and sender: what spf_check does
 * after choosing the identity. identity is copied into out->identity.
 */
void spf_check_host(const struct ma_dns *dns, const struct spf_request *rq, const char *domain,
		    const char *sender, const char *identity, struct spf_outcome *out);

/* The RFC 8601 / RFC 7208 word for r: "pass", "fail", "softfail", ...; static. */
const char *spf_result_name(enum spf_result r);

/*
 * The domain check's view of a domain's SPF (probe --domain-check): the
 * record, and how many DNS-querying terms (include, a, mx, ptr, exists,
 * redirect) it and every record it includes or redirects to hold, counted
 * statically (as if no term matched). Whether an address is covered is
 * spf_check with that ip.
 */
enum spf_census_status {
	SPF_CENSUS_OK,	      /* one valid record, within the limits */
	SPF_CENSUS_MISSING,   /* no v=spf1 record at the domain */
	SPF_CENSUS_INVALID,   /* a syntax error, several records, an include without a record,
				 a loop, or more than 10 DNS-querying terms */
	SPF_CENSUS_DNS_ERROR, /* a lookup failed (timeout, SERVFAIL): try again */
};

struct spf_census {
	enum spf_census_status status;
	char record[1024]; /* the domain's own v=spf1 record (cut if longer) */
	unsigned lookups;  /* DNS-querying terms, all records together */
	unsigned records;  /* records visited (the domain's and each included one) */
	bool has_macros;   /* some target holds a macro: not followed, counted as 1 */
	bool has_ptr;	   /* a ptr mechanism: slow, and RFC 7208 5.5 says not to use it */
	char problem[512]; /* the first problem found, naming the domain; "" when OK */
};

/* Fills out for domain; returns out->status. */
enum spf_census_status spf_census(const struct ma_dns *dns, const char *domain,
				  struct spf_census *out);

#endif
