/*
 * verify_dns: where to ask for a domain's addresses. Asked once per domain
 * for the whole run, however its addresses are spread over the input; the
 * answer (MX hosts and an address each) stays in the domain for every
 * connection and for the greylisting retry.
 */
#include <string.h>

#include "str.h"
#include "verify_int.h"

/* "[192.0.2.1]" / "[IPv6:::1]": no DNS, the address is given. */
static bool
literal_host(struct vdomain *d)
{
	size_t n = strlen(d->name);
	if (n < 3 || d->name[0] != '[' || d->name[n - 1] != ']')
		return false;
	const char *p = d->name + 1;
	if (strncmp(p, "ipv6:", 5) == 0)
		p += 5;
	str_copy(d->host[0], sizeof d->host[0], d->name);
	str_copy_n(d->addr[0], sizeof d->addr[0], p, (size_t)(d->name + n - 1 - p));
	d->nhosts = 1;
	return true;
}

/* The first address of each of the best MX hosts. */
static void
mx_addrs(struct dns *dns, struct vdomain *d, const struct dns_mx *mx, size_t nmx)
{
	for (size_t i = 0; i < nmx && d->nhosts < VERIFY_HOSTS; i++) {
		char addrs[DNS_MAX_ADDRS][64];
		size_t na = 0;
		if (dns_addrs(dns, mx[i].host, addrs, &na) != DNS_OK || na == 0)
			continue;
		str_copy(d->host[d->nhosts], sizeof d->host[0], mx[i].host);
		str_copy(d->addr[d->nhosts], sizeof d->addr[0], addrs[0]);
		d->nhosts++;
	}
}

void
verify_lookup_domain(struct vctx *x, struct dns *dns, struct vdomain *d)
{
	struct dns_mx mx[DNS_MAX_MX];
	size_t nmx = 0;
	if (literal_host(d)) {
		d->smtp = true;
		return;
	}
	switch (dns_mx(dns, d->name, mx, &nmx)) {
	case DNS_OK:
		mx_addrs(dns, d, mx, nmx);
		if (d->nhosts == 0) {
			verify_domain_verdict(x, d, VERIFY_UNKNOWN, false,
					      "no MX host of the domain has an address");
			return;
		}
		d->smtp = true;
		return;
	case DNS_NULL_MX:
		verify_domain_verdict(x, d, VERIFY_UNDELIVERABLE, true,
				      "null MX: the domain accepts no mail (RFC 7505)");
		return;
	case DNS_NXDOMAIN:
		verify_domain_verdict(x, d, VERIFY_UNDELIVERABLE, true,
				      "the domain does not exist (NXDOMAIN)");
		return;
	case DNS_TEMPFAIL:
		verify_domain_verdict(x, d, VERIFY_UNKNOWN, false,
				      "DNS lookup failed (SERVFAIL or timeout): try again later");
		return;
	case DNS_NODATA:
		break;
	}
	/* No MX: the domain's own address is its implicit MX (RFC 5321 5.1). */
	char addrs[DNS_MAX_ADDRS][64];
	size_t na = 0;
	enum dns_status s = dns_addrs(dns, d->name, addrs, &na);
	if (s == DNS_OK && na > 0) {
		str_copy(d->host[0], sizeof d->host[0], d->name);
		str_copy(d->addr[0], sizeof d->addr[0], addrs[0]);
		d->nhosts = 1;
		d->smtp = true;
	} else if (s == DNS_TEMPFAIL) {
		verify_domain_verdict(x, d, VERIFY_UNKNOWN, false,
				      "DNS lookup failed (SERVFAIL or timeout): try again later");
	} else {
		verify_domain_verdict(x, d, VERIFY_UNDELIVERABLE, true,
				      "no MX and no address record: the domain receives no mail");
	}
}
