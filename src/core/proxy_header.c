/*
 * proxy_header: PROXY protocol v1 and v2 (see the header).
 *
 * v1: "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" or "PROXY UNKNOWN...\r\n",
 * at most 107 bytes with the CRLF, single spaces, addresses in their
 * canonical text, ports decimal without leading zeros.
 * v2: a 12-byte signature, version/command, family/protocol, a big-endian
 * length, then the addresses (TCP over IPv4: 12 bytes, over IPv6: 36) and
 * TLVs, which are skipped.
 */
#include "proxy_header.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const unsigned char v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
					 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

#define V1_MAX 107

static int
bad(const char **why, const char *what)
{
	*why = what;
	return -1;
}

/* A decimal port 0..65535, no sign, no leading zero. */
static bool
v1_port(const char *s, size_t n, unsigned short *out)
{
	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*out = (unsigned short)v;
	return true;
}

/* An address of family in its text form; copied in canonical form. */
static bool
v1_addr(int family, const char *s, size_t n, char *out, size_t size)
{
	char tmp[64];
	unsigned char bin[16];
	if (n == 0 || n >= sizeof tmp)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(family, tmp, bin) == 1 && inet_ntop(family, bin, out, (socklen_t)size);
}

static int
parse_v1(const unsigned char *p, size_t n, struct proxy_header *h, const char **why)
{
	const char *s = (const char *)p;
	size_t len = n < V1_MAX ? n : V1_MAX;
	const char *cr = memchr(s, '\r', len);
	const char *lf = memchr(s, '\n', cr ? (size_t)(cr - s) : len);
	if (lf != NULL)
		return bad(why, "a PROXY v1 line not ended by CRLF");
	if (cr == NULL)
		return n >= V1_MAX ? bad(why, "a PROXY v1 line longer than 107 bytes") : 0;
	size_t line = (size_t)(cr - s);
	if (line + 1 >= n)
		return 0; /* the LF is still to come */
	if (s[line + 1] != '\n')
		return bad(why, "a PROXY v1 line not ended by CRLF");
	h->version = 1;
	/* Fields split at single spaces; "PROXY" and the protocol first. */
	const char *f[6];
	size_t fl[6], nf = 0;
	for (size_t i = 0, start = 0; i <= line; i++) {
		if (i < line && s[i] != ' ')
			continue;
		if (nf == 6)
			return bad(why, "a PROXY v1 line with too many fields");
		f[nf] = s + start;
		fl[nf++] = i - start;
		start = i + 1;
	}
	if (nf < 2 || fl[0] != 5 || memcmp(f[0], "PROXY", 5) != 0)
		return bad(why, "not a PROXY v1 line");
	if (fl[1] == 7 && memcmp(f[1], "UNKNOWN", 7) == 0) {
		h->local = true; /* the rest of the line is to be ignored */
		return (int)(line + 2);
	}
	int family = fl[1] == 4 && memcmp(f[1], "TCP4", 4) == 0	  ? AF_INET
		     : fl[1] == 4 && memcmp(f[1], "TCP6", 4) == 0 ? AF_INET6
								  : 0;
	if (family == 0)
		return bad(why, "a PROXY v1 protocol other than TCP4, TCP6 or UNKNOWN");
	if (nf != 6)
		return bad(why, "a PROXY v1 line without its four addresses and ports");
	h->family = family;
	if (!v1_addr(family, f[2], fl[2], h->src, sizeof h->src) ||
	    !v1_addr(family, f[3], fl[3], h->dst, sizeof h->dst))
		return bad(why, "a PROXY v1 address that is not of its protocol");
	if (!v1_port(f[4], fl[4], &h->src_port) || !v1_port(f[5], fl[5], &h->dst_port))
		return bad(why, "a PROXY v1 port that is not a number from 0 to 65535");
	return (int)(line + 2);
}

static unsigned short
be16(const unsigned char *p)
{
	return (unsigned short)(p[0] << 8 | p[1]);
}

static int
parse_v2(const unsigned char *p, size_t n, struct proxy_header *h, const char **why)
{
	if (n < 16)
		return 0;
	if ((p[12] >> 4) != 2)
		return bad(why, "a PROXY v2 header of another version");
	unsigned cmd = p[12] & 0x0F;
	if (cmd > 1)
		return bad(why, "a PROXY v2 command other than LOCAL or PROXY");
	size_t len = be16(p + 14);
	if (16 + len > PROXY_HEADER_MAX)
		return bad(why, "a PROXY v2 header longer than 1024 bytes");
	if (n < 16 + len)
		return 0;
	h->version = 2;
	int total = (int)(16 + len);
	if (cmd == 0) { /* LOCAL: the balancer's own connection (a health check) */
		h->local = true;
		return total;
	}
	unsigned fam = p[13] >> 4, proto = p[13] & 0x0F;
	if (fam == 0 || proto != 1) { /* UNSPEC, or not over a stream */
		h->local = true;
		return total;
	}
	/* Source and destination addresses, then their ports: 4 or 16 bytes each. */
	size_t alen = fam == 1 ? 4 : fam == 2 ? 16 : 0;
	if (alen && len >= 2 * alen + 4) {
		h->family = fam == 1 ? AF_INET : AF_INET6;
		inet_ntop(h->family, p + 16, h->src, sizeof h->src);
		inet_ntop(h->family, p + 16 + alen, h->dst, sizeof h->dst);
		h->src_port = be16(p + 16 + 2 * alen);
		h->dst_port = be16(p + 18 + 2 * alen);
		return total;
	}
	if (fam == 3) { /* AF_UNIX: no client address to take */
		h->local = true;
		return total;
	}
	return bad(why, "a PROXY v2 header whose addresses do not fit its length");
}

int
proxy_header_parse(const unsigned char *p, size_t n, struct proxy_header *h, const char **why)
{
	memset(h, 0, sizeof *h);
	*why = "";
	size_t sig = n < sizeof v2_sig ? n : sizeof v2_sig;
	if (sig > 0 && memcmp(p, v2_sig, sig) == 0)
		return sig < sizeof v2_sig ? 0 : parse_v2(p, n, h, why);
	static const char v1[] = "PROXY ";
	size_t pre = n < 6 ? n : 6;
	if (pre > 0 && memcmp(p, v1, pre) == 0)
		return pre < 6 ? 0 : parse_v1(p, n, h, why);
	if (n == 0)
		return 0;
	return bad(why, "no PROXY protocol header (the listener expects one first)");
}
