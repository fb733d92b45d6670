/*
 * domain_check_int: what the domain check's files share: the run's
 * context (the addresses found along the way) and small helpers for
 * statuses, fixes and TXT records. domain_check.c runs the checks and
 * does MX and PTR; domain_check_txt.c MTA-STS and TLS-RPT (read by
 * mailauth/tls_policy); domain_check_dmarc.c, _spf.c and _dkim.c the
 * others.
 */
#ifndef MP_DOMAIN_CHECK_INT_H
#define MP_DOMAIN_CHECK_INT_H

#include <stdbool.h>

#include "domain_check.h"

/* An address found for a host (an MX, or this host), with the name that gave it. */
struct dc_addr {
	char addr[64];
	char host[256];
};

struct dc_ctx {
	const struct domain_check_opts *o;
	const struct ma_dns *dns;
	struct domain_report *r;
	struct dc_addr mx_addrs[DC_MAX_PARTS];
	size_t nmx_addrs;
	char ips[DC_MAX_IPS][64]; /* this host's addresses: --ip, or the hostname's */
	size_t nips;
	bool ips_from_hostname; /* the hostname's addresses (not --ip): it resolves to them */
	char ips_note[256];	/* why there are none, for the SPF detail; "" otherwise */
};

/* Sets the item's status and detail (printf). */
void dc_set(struct dc_item *it, enum dc_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets the item's fix sentence (printf). */
void dc_fix(struct dc_item *it, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds "NAME. IN TXT ( ... )" for txt to the item's records. */
void dc_fix_txt(struct dc_item *it, const char *name, const char *txt);
/* A DNS failure: error, marked as DNS's (try later). */
void dc_dns_error(struct dc_item *it, const char *name, const char *type, enum ma_dns_rc rc);

/*
 * The TXT records at name that begin with tag (the version, e.g.
 * "v=STSv1") followed by the end, a space, a tab or ';' (compared exactly
 * when exact, else ignoring case). The rc is the lookup's, MA_DNS_NODATA
 * when no record has the tag; *others_r counts the TXT records without it.
 */
enum ma_dns_rc dc_tagged_txt(struct dc_ctx *c, const char *name, const char *tag, bool exact,
			     struct ma_dns_answer *out, size_t *others_r);

void dc_check_mta_sts(struct dc_ctx *c);
/* After a valid _mta-sts record (id): the policy file it announces (domain_check_sts.c). */
void dc_check_sts_policy(struct dc_ctx *c, struct dc_item *it, const char *id);
void dc_check_tls_rpt(struct dc_ctx *c);
void dc_check_dmarc(struct dc_ctx *c);
void dc_check_spf(struct dc_ctx *c);
void dc_check_dkim(struct dc_ctx *c);
void dc_check_dane(struct dc_ctx *c);

#endif
