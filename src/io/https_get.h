/*
 * https_get: one HTTPS GET with libcurl, for the MTA-STS policy fetch
 * (RFC 8461 3.3): port 443, the certificate verified (against cafile, or the
 * system's store when cafile is NULL/"") with the name checked against host,
 * no redirects followed (3xx is a failure), HTTP 200 only, the body capped at
 * max_bytes and the whole exchange at timeout_ms. The host's addresses come
 * from the caller (our own lookup through the configured resolver) and are
 * pinned with CURLOPT_RESOLVE, so curl never asks another resolver.
 *
 * Blocking: for the delivery thread and the client commands, never the event
 * loop. Thread-safe once https_get_global_init has run (call it before any
 * thread starts; the cache's open does).
 */
#ifndef MP_HTTPS_GET_H
#define MP_HTTPS_GET_H

#include <stddef.h>

#include "buf.h"

enum https_get_rc {
	HTTPS_OK,
	HTTPS_ERR_CONNECT, /* no address answered on the port */
	HTTPS_ERR_TLS,	   /* the TLS handshake failed (not the certificate) */
	HTTPS_ERR_CERT,	   /* the certificate did not verify or is not for host */
	HTTPS_ERR_TIMEOUT, /* timeout_ms passed */
	HTTPS_ERR_TOO_BIG, /* the body exceeded max_bytes */
	HTTPS_ERR_STATUS,  /* an HTTP status other than 200 (redirects included) */
	HTTPS_ERR_TYPE,	   /* a Content-Type that is not the one required */
	HTTPS_ERR_OTHER,   /* anything else curl reports */
};

struct https_get_opts {
	const char *host;	 /* the name in the URL and the certificate */
	const char *path;	 /* "/.well-known/mta-sts.txt" */
	unsigned short port;	 /* 0: 443 */
	const char (*addrs)[64]; /* host's addresses as text (IPv4, IPv6) */
	size_t naddrs;
	const char *cafile;	  /* NULL or "": the system's store */
	size_t max_bytes;	  /* the body's cap */
	long timeout_ms;	  /* the whole request's cap */
	const char *content_type; /* required media type ("text/plain"); NULL: any */
};

/* Once per process, before threads. 0, or -1 with why. */
int https_get_global_init(char *why, size_t n);

/*
 * GET https://host:port/path into body (replaced). HTTPS_OK, or the kind of
 * failure with why (what happened, curl's words, the status or type seen).
 */
enum https_get_rc https_get(const struct https_get_opts *o, struct buf *body, char *why, size_t n);

/* "connect" "tls" "certificate" ... for logs and tests. */
const char *https_get_rc_name(enum https_get_rc rc);

#endif
