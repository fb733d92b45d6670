/*
 * mta_sts_cache: the MTA-STS policies of the domains we deliver to
 * (RFC 8461 5), discovered through the "_mta-sts" TXT record, fetched over
 * HTTPS (https_get: certificate verified against outbound-cafile or the
 * system store, 64 KiB and 10 s caps, no redirects) and kept on disk so that
 * they hold across restarts.
 *
 * On disk: <spool>/mta-sts/<domain> (the domain in lower case, checked to be
 * a DNS name), one file per policy domain: mta_sts_cache_file_format's header
 * (the TXT id it was fetched under, the fetch time) then the policy as
 * served. Written to a temporary name, fsynced and renamed: a crash leaves
 * the old policy or the new one, never half of one.
 *
 * mta_sts_cache_get, RFC 8461 5.1 and 10.2:
 * - a cached policy whose max_age has not run out and whose id is the TXT
 *   record's is used as is: no fetch;
 * - a different id, or an expired policy, with a TXT record: fetch; a
 *   policy that fetches and parses replaces the cached one;
 * - a fetch or parse that fails keeps a cached, unexpired policy (an
 *   attacker who blocks the fetch does not remove the policy); with none,
 *   -1 (the caller delivers as without MTA-STS and reports the failure);
 * - no TXT record (or a broken one, or a DNS failure): the cached policy
 *   while unexpired (a domain withdraws with "mode: none"), else 0;
 * - a failed fetch is not retried for the same domain and id for 5 minutes,
 *   so a dead policy host does not cost every delivery the fetch timeout.
 *
 * Thread-safe: any delivery thread may call get at once.
 */
#ifndef MP_MTA_STS_CACHE_H
#define MP_MTA_STS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "mta_sts_policy.h"

struct mta_sts_cache;
struct dns;

/*
 * Open (creating <spool_dir>/mta-sts/ if needed). cafile: the CAs trusted
 * for the policy hosts' certificates, NULL/"" for the system store; copied.
 * NULL when the directory cannot be made (logged with the fix).
 */
struct mta_sts_cache *mta_sts_cache_open(const char *spool_dir, const char *cafile);

/*
 * The policy for domain at time now (unix seconds): 1 and *p (mode may be
 * MTA_STS_NONE: treat as no policy), 0 no policy (no TXT record and nothing
 * cached), -1 no usable policy because discovery or the fetch failed; why
 * then says what failed, starting with the RFC 8460 result type
 * ("sts-policy-fetch-error: ...", "sts-policy-invalid: ...",
 * "sts-webpki-invalid: ..."). With 1, why may still hold a failed refresh.
 */
int mta_sts_cache_get(struct mta_sts_cache *c, struct dns *dns, const char *domain, int64_t now,
		      struct mta_sts_policy *p, char *why, size_t n);

/* Caps, for tests and the operator: defaults 10000 ms and MTA_STS_POLICY_MAX. */
void mta_sts_cache_set_limits(struct mta_sts_cache *c, long timeout_ms, size_t max_bytes);

void mta_sts_cache_close(struct mta_sts_cache **c);

#endif
