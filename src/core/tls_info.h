/*
 * tls_info: what a TLS session turned out to be, for logs, -v and probe.
 * io/client_conn fills it from OpenSSL; the probe report renders it. Plain
 * data, so a report can hold it without linking OpenSSL.
 */
#ifndef MP_TLS_INFO_H
#define MP_TLS_INFO_H

#include <stdbool.h>

struct tls_info {
	char version[32];
	char cipher[96];
	char subject[256];
	char issuer[256];
	char sans[512];	    /* "DNS:a, DNS:b, IP:127.0.0.1" */
	char not_after[64]; /* "2027-12-01 10:00:00 UTC" */
	long days_left;
	bool verified;		/* chain verified and host name matched */
	bool resumed;		/* an earlier session was resumed (no certificate sent) */
	char verify_error[160]; /* why not, when not */
	char auth[8];		/* how it was verified: "dane", "ca", or "none" */
	/* When not verified: the RFC 8460 4.3 result type ("certificate-expired",
	 * "tlsa-invalid", ...), for logs and TLS reports; "" when verified. */
	char result_type[40];
	/* SHA-256 of the certificate's SubjectPublicKeyInfo, hex: the data of a
	 * "3 1 1" TLSA record for it (RFC 7672 3.1.1); "" without a certificate. */
	char spki_sha256[65];
};

#endif
