/*
 * mta_sts_policy: the MTA-STS policy file (RFC 8461 3.2), as served at
 * https://mta-sts.DOMAIN/.well-known/mta-sts.txt, read and written, and the
 * match of an MX host against its "mx:" patterns (RFC 8461 4.1). Pure; the
 * input is untrusted bytes off the network (at most 64 KiB, the fetch's cap).
 *
 * Grammar (RFC 8461 3.2): "key: value" lines ended by LF or CRLF; field names
 * are case-sensitive; "version: STSv1" first... (first is not required by the
 * ABNF; it is required once); "mode" once, one of testing|enforce|none;
 * "max_age" once, 1 to 10 digits, at most 31557600 (larger is clamped to it);
 * "mx" once or more unless mode is none, each ["*."] domain; other fields are
 * extensions and ignored. A known field given twice is refused: the RFC says
 * "once", and two modes cannot both be obeyed.
 *
 * The struct is fixed-size so that it can be copied freely between the cache
 * and the delivery thread; nothing in it is owned.
 */
#ifndef MP_MTA_STS_POLICY_H
#define MP_MTA_STS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mta_sts_mode {
	MTA_STS_NONE,	 /* "mode: none": the domain withdrew its policy; as if none */
	MTA_STS_TESTING, /* deliver whatever the checks say, report failures (TLS-RPT) */
	MTA_STS_ENFORCE, /* MX must match a pattern and its certificate verify, else defer */
};

#define MTA_STS_MAX_MX 16
#define MTA_STS_MAX_AGE_MAX 31557600L /* RFC 8461 3.2: one year */
#define MTA_STS_POLICY_MAX 65536      /* the fetch's size cap, bytes */

struct mta_sts_policy {
	int mode;		      /* enum mta_sts_mode */
	char mx[MTA_STS_MAX_MX][256]; /* patterns, lower case, no trailing dot */
	size_t nmx;
	long max_age;	 /* seconds */
	char id[33];	 /* the _mta-sts TXT id it was fetched under (cache) */
	int64_t fetched; /* unix seconds of the fetch (cache); 0 if not */
};

/*
 * Parse a policy file of len bytes (not NUL-terminated). 0 and *p filled
 * (id and fetched cleared), or -1 and why (which line, what is wrong).
 * More than MTA_STS_MAX_MX "mx:" lines is refused (-1): a cut list would
 * defer mail to the MX hosts left out.
 */
int mta_sts_policy_parse(const char *text, size_t len, struct mta_sts_policy *p, char *why,
			 size_t n);

/*
 * Does mx_host (any case, a trailing dot allowed) match one of p's patterns?
 * "mx.example.com" only itself; "*.example.com" exactly one more label on the
 * left ("a.example.com", not "example.com" nor "a.b.example.com").
 */
bool mta_sts_mx_match(const struct mta_sts_policy *p, const char *mx_host);

/* "enforce" "testing" "none". */
const char *mta_sts_mode_name(int mode);

/*
 * The policy file for p (CRLF lines, version first, "mx:" in p's order)
 * into out[size]. Its length, or -1 when it does not fit or p is not a
 * policy this parser accepts (a pattern that is not a domain, no mx with a
 * mode other than none, max_age out of range).
 */
int mta_sts_policy_format(const struct mta_sts_policy *p, char *out, size_t size);

/*
 * Is pattern a valid "mx:" value: ["*."] followed by a domain of
 * letters/digits/hyphens labels (RFC 8461 3.2 sts-policy-mx-value)?
 */
bool mta_sts_is_mx_pattern(const char *pattern);

/*
 * The cache's file: a header ("mailport-mta-sts 1", "id: ID", "fetched:
 * SECONDS", a blank line) then the policy as it was served. The file is on
 * our disk, but parsed with the same care as the network's bytes.
 * mta_sts_cache_file_format: its length into out[size], or -1 if too small.
 * mta_sts_cache_file_parse: 0 and *p (id and fetched set), or -1 and why.
 */
int mta_sts_cache_file_format(const char *id, int64_t fetched, const char *policy, size_t len,
			      char *out, size_t size);
int mta_sts_cache_file_parse(const char *text, size_t len, struct mta_sts_policy *p, char *why,
			     size_t n);

#endif
