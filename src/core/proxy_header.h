/*
 * proxy_header: the PROXY protocol header a load balancer (HAProxy, a
 * cloud load balancer) sends first on each connection, so the server knows
 * the client's real address: version 1 (one text line) and version 2
 * (binary), as HAProxy's proxy-protocol.txt specifies. Pure; the input is
 * whatever the first bytes of a connection are.
 *
 * Only listeners configured for it read one ("listen ... proxy"): on any
 * other a header is an ordinary (unknown) command, never trusted.
 */
#ifndef MP_PROXY_HEADER_H
#define MP_PROXY_HEADER_H

#include <stdbool.h>
#include <stddef.h>

/* The longest header read: v1's 107 bytes; v2's 16 + addresses + TLVs, capped. */
#define PROXY_HEADER_MAX 1024

struct proxy_header {
	int version;  /* 1 or 2 */
	bool local;   /* no address given (v2 LOCAL, v1 UNKNOWN): the connection's own */
	int family;   /* AF_INET or AF_INET6 when !local */
	char src[46]; /* the client: IP text (inet_ntop form) */
	char dst[46]; /* the address the client connected to, on the balancer */
	unsigned short src_port, dst_port;
};

/*
 * Parse the start of a connection's bytes p[0..n). > 0: a whole header of
 * that many bytes (the caller removes exactly those; what follows is the
 * protocol's). 0: not complete yet, read more (n < PROXY_HEADER_MAX). -1: not
 * a valid header; why says what is wrong.
 */
int proxy_header_parse(const unsigned char *p, size_t n, struct proxy_header *h, const char **why);

#endif
