/*
 * spf_internal: what the SPF files share (see spf.h): the parsed record
 * (spf_record.c), macro expansion (spf_macro.c) and the helpers on
 * addresses and domain names both need.
 */
#ifndef MP_SPF_INTERNAL_H
#define MP_SPF_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SPF_MAX_DNS_TERMS 10 /* RFC 7208 4.6.4 */
#define SPF_MAX_VOID 2	     /* RFC 7208 4.6.4 */
#define SPF_MAX_NAMES 10     /* MX names per mx, PTR names per ptr (4.6.4) */

enum spf_mech {
	SPF_M_ALL,
	SPF_M_INCLUDE,
	SPF_M_A,
	SPF_M_MX,
	SPF_M_PTR,
	SPF_M_IP4,
	SPF_M_IP6,
	SPF_M_EXISTS
};

struct spf_term {
	enum spf_mech mech;
	char qualifier;	      /* '+', '-', '~' or '?' */
	char *domain;	      /* the domain-spec, unexpanded; NULL when absent */
	int cidr4, cidr6;     /* prefix lengths; 32 / 128 when absent */
	unsigned char ip[16]; /* ip4 (first 4 bytes) and ip6 */
	char text[80];	      /* the term as written (cut), for reasons */
};

struct spf_record {
	struct spf_term *terms;
	size_t nterms;
	char *redirect; /* domain-spec of redirect=, NULL when absent */
	char *exp;	/* domain-spec of exp=, NULL when absent */
	bool has_all;
};

/* Is txt an SPF record: "v=spf1" (any case) alone or followed by a space (4.5)? */
bool spf_record_is_spf(const char *txt);
/*
 * Parses a whole record (its "v=spf1" included) per the ABNF of 4.6.1 and
 * 12; any error anywhere is an error (4.6: a permerror before any
 * evaluation). 0, or -1 with why. r is owned by the caller: spf_record_free.
 */
int spf_record_parse(const char *txt, struct spf_record *r, char *why, size_t why_size);
void spf_record_free(struct spf_record *r);
/* The number of terms of r that query DNS (include a mx ptr exists, redirect if no all). */
unsigned spf_record_dns_terms(const struct spf_record *r);
bool spf_mech_queries_dns(enum spf_mech m);
const char *spf_mech_name(enum spf_mech m);

/* The values the macros stand for (7.3). */
struct spf_macro_env {
	const char *sender;   /* s */
	const char *local;    /* l */
	const char *sender_d; /* o */
	const char *domain;   /* d: the current domain */
	const char *helo;     /* h */
	const char *receiver; /* r */
	int family;	      /* 4 or 6: i, c, v */
	unsigned char ip[16];
	int64_t now; /* t */
	/* p: the validated name of the ip, looked up on first use (NULL: "unknown"). */
	const char *(*ptr_name)(void *arg);
	void *ptr_arg;
};

/*
 * Checks the macro-string s[0..len) (7.1): every '%' starts %%, %_, %- or a
 * well-formed %{...}; c, r, t only where exp_text; no transformer digit 0.
 * As a domain-spec (!exp_text) it must also end in "." toplabel ["."] or a
 * macro (4.8). false with why.
 */
bool spf_macro_check(const char *s, size_t len, bool exp_text, char *why, size_t why_size);
/*
 * Expands s (already checked) into out (reset first). A domain-spec's
 * expansion is cut to 253 octets from the left (7.3). false with why on an
 * error (a syntax error, or out's limit).
 */
bool spf_macro_expand(const char *s, size_t len, const struct spf_macro_env *env, bool exp_text,
		      struct buf *out, char *why, size_t why_size);

/* 4, 6 or 0: the client address of an SPF request (IPv4-mapped IPv6 is 4, RFC 7208 5). */
int spf_ip_parse(const char *s, unsigned char ip[16]);
/* The address as text: dotted quad, or RFC 5952 for IPv6 (%{c}). */
void spf_ip_format(int family, const unsigned char ip[16], char *out, size_t out_size);
/* Do the first bits of a and b agree? */
bool spf_ip_prefix_eq(const unsigned char *a, const unsigned char *b, int bits);
/*
 * Is name a domain RFC 7208 4.3 accepts: at least two labels, each of 1-63
 * octets (a final dot allowed), 253 octets at most, not a domain literal?
 */
bool spf_domain_is_valid(const char *name);

#endif
