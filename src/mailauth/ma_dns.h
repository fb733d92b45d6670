/*
 * ma_dns: the DNS the mail-authentication checks see (SPF, DKIM keys,
 * DMARC records, the domain check): one synchronous lookup function
 * behind a pointer, so the checks stay pure. The server and the commands
 * give them c-ares with a time bound (src/authn/auth_dns.c); the unit
 * tests and fuzzers give them a table.
 *
 * The four outcomes are the ones RFC 7208 and RFC 7489 tell apart: a name
 * that does not exist and a name without records of the type are both
 * "void" answers (RFC 7208 4.6.4), a failure to get an answer is a
 * temporary error.
 */
#ifndef MP_MA_DNS_H
#define MP_MA_DNS_H

#include <stddef.h>

enum ma_rr { MA_RR_A, MA_RR_AAAA, MA_RR_MX, MA_RR_TXT, MA_RR_PTR };

enum ma_dns_rc {
	MA_DNS_OK,	 /* at least one record */
	MA_DNS_NXDOMAIN, /* the name does not exist */
	MA_DNS_NODATA,	 /* the name exists, no record of the type */
	MA_DNS_TEMPFAIL, /* SERVFAIL, timeout, out of time: try again later */
};

/*
 * The records of one answer, as text:
 *   A, AAAA  an address in its presentation form ("192.0.2.1", "2001:db8::1")
 *   MX       the exchange's name, without the trailing dot; pref[] beside it
 *   TXT      one record's character-strings joined with nothing between
 *            (RFC 7208 3.3); a NUL byte in it is given as DEL (0x7f), so
 *            the record is not cut short, and no SPF, DKIM or DMARC
 *            syntax accepts it (the openspf suite's a-null test)
 *   PTR      the name, without the trailing dot
 */
struct ma_dns_answer {
	size_t n;
	char **rr;
	unsigned short *pref; /* beside rr: the MX preference (0 for other types) */
};

struct ma_dns {
	/* Fills out (freed by the caller with ma_dns_answer_free) on MA_DNS_OK. */
	enum ma_dns_rc (*lookup)(void *ctx, enum ma_rr type, const char *name,
				 struct ma_dns_answer *out);
	void *ctx;
};

void ma_dns_answer_free(struct ma_dns_answer *a);
/* Appends one record (copied) to a; pref is used for MX only. */
void ma_dns_answer_add(struct ma_dns_answer *a, const char *rr, unsigned short pref);
const char *ma_rr_name(enum ma_rr type);
const char *ma_dns_rc_name(enum ma_dns_rc rc);

#endif
