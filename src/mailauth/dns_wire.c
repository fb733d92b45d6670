/*
 * dns_wire: the header and the TLSA records of a raw DNS answer (see the
 * header). A byte-level reader: every read checks the end first.
 */
#include "dns_wire.h"

#include <stdio.h>
#include <string.h>

#include "str.h"

int
dns_wire_header(const uint8_t *msg, size_t len, struct dns_wire_header *h)
{
	memset(h, 0, sizeof *h);
	if (msg == NULL || len < 12)
		return -1;
	h->id = (uint16_t)(msg[0] << 8 | msg[1]);
	h->qr = msg[2] & 0x80;
	h->aa = msg[2] & 0x04;
	h->tc = msg[2] & 0x02;
	h->rd = msg[2] & 0x01;
	h->ra = msg[3] & 0x80;
	h->ad = msg[3] & 0x20; /* RFC 4035 3.2.3 */
	h->cd = msg[3] & 0x10;
	h->rcode = msg[3] & 0x0f;
	h->qdcount = (uint16_t)(msg[4] << 8 | msg[5]);
	h->ancount = (uint16_t)(msg[6] << 8 | msg[7]);
	h->nscount = (uint16_t)(msg[8] << 8 | msg[9]);
	h->arcount = (uint16_t)(msg[10] << 8 | msg[11]);
	return 0;
}

/*
 * Skip the name at *off: labels up to a zero octet or a compression
 * pointer (which ends the name here, RFC 1035 4.1.4). -1 when it runs off
 * the end, uses the reserved label types, or is longer than 255 octets.
 */
static int
skip_name(const uint8_t *msg, size_t len, size_t *off)
{
	size_t p = *off, total = 0;
	for (;;) {
		if (p >= len)
			return -1;
		uint8_t n = msg[p];
		if ((n & 0xc0) == 0xc0) {
			if (p + 2 > len)
				return -1;
			*off = p + 2;
			return 0;
		}
		if (n & 0xc0)
			return -1; /* 0x40 and 0x80: extended/reserved label types */
		p += 1 + (size_t)n;
		total += 1 + (size_t)n;
		if (total > 255)
			return -1;
		if (n == 0) {
			*off = p;
			return 0;
		}
	}
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int
bad(char *why, size_t why_size, const char *what)
{
	str_copy(why, why_size, what);
	return -1;
}

int
dns_wire_tlsa(const uint8_t *msg, size_t len, struct dns_tlsa *out, size_t max, size_t *n_r,
	      size_t *total_r, char *why, size_t why_size)
{
	struct dns_wire_header h;
	*n_r = *total_r = 0;
	if (why_size)
		why[0] = '\0';
	if (dns_wire_header(msg, len, &h) < 0)
		return bad(why, why_size, "the answer is shorter than a DNS header");
	size_t off = 12;
	for (unsigned i = 0; i < h.qdcount; i++) {
		if (skip_name(msg, len, &off) < 0 || off + 4 > len)
			return bad(why, why_size, "a malformed question section");
		off += 4;
	}
	for (unsigned i = 0; i < h.ancount; i++) {
		if (skip_name(msg, len, &off) < 0 || off + 10 > len)
			return bad(why, why_size, "a malformed answer record");
		uint16_t type = get16(msg + off), class = get16(msg + off + 2);
		size_t rdlen = get16(msg + off + 8);
		off += 10;
		if (off + rdlen > len)
			return bad(why, why_size,
				   "an answer record runs past the end of the message");
		if (type == DNS_TYPE_TLSA && class == 1) {
			/* RFC 6698 2.1: three octets, then at least one octet of data. */
			if (rdlen < 4)
				return bad(why, why_size, "a TLSA record shorter than 4 octets");
			++*total_r;
			size_t dlen = rdlen - 3;
			if (*n_r < max && dlen <= DNS_TLSA_DATA_MAX) {
				struct dns_tlsa *t = &out[(*n_r)++];
				t->usage = msg[off];
				t->selector = msg[off + 1];
				t->mtype = msg[off + 2];
				memcpy(t->data, msg + off + 3, dlen);
				t->len = dlen;
			}
		}
		off += rdlen;
	}
	return 0;
}

bool
dns_tlsa_usable(const struct dns_tlsa *t)
{
	if (t->usage != 2 && t->usage != 3) /* RFC 7672 3.1.3: DANE-TA, DANE-EE only */
		return false;
	if (t->selector > 1)
		return false;
	switch (t->mtype) {
	case 0:
		return t->len > 0;
	case 1:
		return t->len == 32;
	case 2:
		return t->len == 64;
	default:
		return false;
	}
}

void
dns_tlsa_format(const struct dns_tlsa *t, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	if (size < 16) {
		if (size)
			out[0] = '\0';
		return;
	}
	size_t p = (size_t)snprintf(out, size, "%u %u %u ", t->usage, t->selector, t->mtype);
	bool whole = p + 2 * t->len < size;
	/* Cut short, the hex leaves room for "..." and the NUL. */
	size_t room = whole ? size - 1 : size - 4;
	for (size_t i = 0; i < t->len && p + 2 <= room; i++) {
		out[p++] = hex[t->data[i] >> 4];
		out[p++] = hex[t->data[i] & 15];
	}
	if (!whole) {
		memcpy(out + p, "...", 3);
		p += 3;
	}
	out[p] = '\0';
}
