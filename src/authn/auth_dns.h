/*
 * auth_dns: the DNS of the mail-authentication checks (struct ma_dns)
 * over c-ares, with a time bound for all the lookups of one message and a
 * cache of the answers, kept for as long as the auth_dns is (one SMTP
 * session, or one `mailport auth check`): a sender's second message does
 * not ask for its SPF and DMARC records again. The c-ares channel under it
 * is the calling thread's own, kept for the thread's life (auth_dns.c), so
 * an auth_dns costs nothing to make and may be used from any thread, one
 * at a time.
 */
#ifndef MP_AUTH_DNS_H
#define MP_AUTH_DNS_H

#include <stddef.h>

#include "ma_dns.h"

struct auth_dns;

/* resolver: "HOST[:PORT]" or NULL for /etc/resolv.conf. NULL with err on failure. */
struct auth_dns *auth_dns_new(const char *resolver, int query_timeout_ms, char *err,
			      size_t err_size);
void auth_dns_free(struct auth_dns **ap);
/* Every lookup from now on ends within budget_ms of this call (a TEMPFAIL after). */
void auth_dns_start(struct auth_dns *a, int budget_ms);
/* The lookup interface for the checks; valid while a lives. */
struct ma_dns auth_dns_iface(struct auth_dns *a);
/* Lookups that went to the network since auth_dns_new (the rest came from the cache). */
size_t auth_dns_queries(const struct auth_dns *a);

#endif
