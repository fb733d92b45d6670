/*
 * dns: the lookups outbound delivery needs — MX (RFC 5321 5.1, RFC 7505
 * null MX) and A/AAAA — and those of the mail-authentication checks, through c-ares, against the
 * configured resolver (the `resolver` directive) or /etc/resolv.conf. Blocking with a bound: meant
 * for the delivery thread, never the event loop.
 */
#ifndef MP_DNS_H
#define MP_DNS_H

#include <stdbool.h>
#include <stddef.h>

#include "dns_wire.h"

#include "ma_dns.h"

#define DNS_MAX_MX 16
#define DNS_MAX_ADDRS 8

enum dns_status {
	DNS_OK,
	DNS_NXDOMAIN, /* the name does not exist: permanent */
	DNS_NODATA,   /* the name exists, no record of that type */
	DNS_NULL_MX,  /* "MX 0 .": the domain accepts no mail (RFC 7505) */
	DNS_TEMPFAIL, /* SERVFAIL, timeout, no answer: try again later */
};

struct dns_mx {
	char host[256];
	unsigned short pref;
};

struct dns;

/* resolver: "HOST[:PORT]" or NULL/"" for the system's. NULL with err on failure. */
struct dns *dns_new(const char *resolver, int timeout_ms, char *err, size_t err_size);
void dns_free(struct dns **dp);

/* MX hosts by preference, equal preferences shuffled (RFC 5321 5.1). */
enum dns_status dns_mx(struct dns *d, const char *domain, struct dns_mx *mx, size_t *n_r);
/* IPv4 then IPv6 addresses of host, as text. */
enum dns_status dns_addrs(struct dns *d, const char *host, char addrs[][64], size_t *n_r);

/*
 * DNSSEC, for DANE (RFC 7672). The trust model is Postfix's: the configured
 * resolver validates and we trust its AD bit (it must be ours: on this host
 * or over a path we trust); a validating resolver answers SERVFAIL for
 * bogus data, which comes back as DNS_TEMPFAIL. *secure_r: the resolver
 * said the answer (records or their absence) is authenticated.
 */
enum dns_status dns_mx_ad(struct dns *d, const char *domain, struct dns_mx *mx, size_t *n_r,
			  bool *secure_r);
/*
 * ... *dnssec_r: 1 both the A and the AAAA answers authenticated, 0 not,
 * -1 one of them failed (SERVFAIL: bogus, or no answer) while the other
 * gave addresses: not to be taken for "insecure" (an attacker could
 * otherwise turn DANE off by breaking one lookup).
 */
enum dns_status dns_addrs_ad(struct dns *d, const char *host, char addrs[][64], size_t *n_r,
			     int *dnssec_r);
/*
 * The TLSA records of _port._tcp.host, at most max into out (*n_r); DNS_OK
 * when there is at least one TLSA record (usable or not, dns_tlsa_usable),
 * DNS_NODATA/DNS_NXDOMAIN when there are none, DNS_TEMPFAIL (why says
 * what) for a failed lookup or a malformed answer.
 */
enum dns_status dns_tlsa(struct dns *d, const char *host, unsigned short port, struct dns_tlsa *out,
			 size_t max, size_t *n_r, bool *secure_r, char *why, size_t why_size);

/*
 * One lookup of any type, for the mail-authentication checks (SPF, DKIM
 * keys, DMARC): NXDOMAIN and NODATA kept apart, as RFC 7208 4.6.4 needs.
 * Ends by deadline_ms (dns_now_ms's clock) whatever the network does.
 */
enum ma_dns_rc dns_lookup(struct dns *d, enum ma_rr type, const char *name, long long deadline_ms,
			  struct ma_dns_answer *out);
/* dns_lookup with *ad_r: the resolver's AD bit on the answer. */
enum ma_dns_rc dns_lookup_ad(struct dns *d, enum ma_rr type, const char *name,
			     long long deadline_ms, struct ma_dns_answer *out, bool *ad_r);
long long dns_now_ms(void);

const char *dns_status_name(enum dns_status s);

/* Register the metrics' DNS error series now (they count from the first failure). */
void dns_metrics_register(void);

#endif
