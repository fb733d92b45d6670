/*
 * dns_wire: what DANE needs from a raw DNS answer (RFC 1035 4.1) that
 * c-ares does not give: the header's flags — AD above all (RFC 4035 3.2.3,
 * RFC 6840 5.7: a validating resolver we trust says the data was
 * authenticated) — and the TLSA records of the answer section (RFC 6698
 * 2.1: usage, selector, matching type, association data). Pure; the input
 * is an untrusted datagram: every length is checked against the end, a
 * name's compression pointers are skipped, never followed, so there is no
 * loop to bound.
 *
 * Usable TLSA records for SMTP are RFC 7672 3.1.3's: DANE-TA(2) and
 * DANE-EE(3), selectors Cert(0) and SPKI(1), matching types Full(0),
 * SHA2-256(1) with 32 octets, SHA2-512(2) with 64; PKIX-TA(0) and PKIX-EE(1)
 * are ignored, as are unknown values.
 */
#ifndef MP_DNS_WIRE_H
#define MP_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_TYPE_TLSA 52
#define DNS_TLSA_DATA_MAX 1024 /* a full SPKI (matching type 0) of RSA-4096 fits */
#define DNS_MAX_TLSA 16

enum dns_rcode { DNS_RCODE_NOERROR = 0, DNS_RCODE_SERVFAIL = 2, DNS_RCODE_NXDOMAIN = 3 };

struct dns_wire_header {
	uint16_t id;
	bool qr, aa, tc, rd, ra, ad, cd;
	int rcode;
	uint16_t qdcount, ancount, nscount, arcount;
};

struct dns_tlsa {
	uint8_t usage, selector, mtype;
	uint8_t data[DNS_TLSA_DATA_MAX];
	size_t len;
};

/* The 12-octet header; -1 when msg is shorter. */
int dns_wire_header(const uint8_t *msg, size_t len, struct dns_wire_header *h);

/*
 * The TLSA records (class IN) of the answer section, whatever their owner
 * (the resolver may have followed a CNAME), in order: at most max into
 * out, *n_r of them; *total_r counts every TLSA record seen, so a caller
 * can tell "none" from "more than fit" and "too long to keep" (data over
 * DNS_TLSA_DATA_MAX octets: counted, not stored). 0, or -1 and why for a
 * malformed answer (a truncated record, a bad label, a short TLSA).
 */
int dns_wire_tlsa(const uint8_t *msg, size_t len, struct dns_tlsa *out, size_t max, size_t *n_r,
		  size_t *total_r, char *why, size_t why_size);

/* RFC 7672 3.1.3: may this record authenticate an SMTP server? */
bool dns_tlsa_usable(const struct dns_tlsa *t);

/* "3 1 1 0a1b..." (hex cut with "..." when it does not fit) into out[size]. */
void dns_tlsa_format(const struct dns_tlsa *t, char *out, size_t size);

#endif
