/*
 * fake_dns: a table-driven struct ma_dns for the unit tests and fuzzers
 * of the mail-authentication checks. Records are added by name and type;
 * a name with records of another type answers NODATA, an unknown name
 * NXDOMAIN, and a name (or one type of it) marked with fake_dns_timeout
 * answers TEMPFAIL. Names compare case-insensitively, a final dot ignored.
 * Every query is counted and the last few are kept, so tests can check
 * what was asked.
 */
#ifndef MP_FAKE_DNS_H
#define MP_FAKE_DNS_H

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ma_dns.h"

#define FAKE_DNS_ANY (-1)

struct fake_rr {
	char *name;
	int type; /* enum ma_rr, or FAKE_DNS_ANY with timeout */
	char *value;
	unsigned short pref;
	int timeout;
};

struct fake_dns {
	struct fake_rr *rr;
	size_t n, cap;
	unsigned queries;
	unsigned per_type[5];
};

static inline int
fake_dns_name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static inline void
fake_dns_push(struct fake_dns *d, const char *name, int type, const char *value, int timeout)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->rr = realloc(d->rr, d->cap * sizeof *d->rr);
		if (d->rr == NULL)
			abort();
	}
	struct fake_rr *r = &d->rr[d->n++];
	r->name = strdup(name);
	r->type = type;
	r->value = value ? strdup(value) : NULL;
	r->pref = (unsigned short)(d->n % 100);
	r->timeout = timeout;
}

/* One record; for MX value is the exchange's name. */
static inline void
fake_dns_add(struct fake_dns *d, const char *name, enum ma_rr type, const char *value)
{
	fake_dns_push(d, name, (int)type, value, 0);
}

/* Queries of name (of type, or FAKE_DNS_ANY) answer TEMPFAIL. */
static inline void
fake_dns_timeout(struct fake_dns *d, const char *name, int type)
{
	fake_dns_push(d, name, type, NULL, 1);
}

static inline enum ma_dns_rc
fake_dns_lookup(void *ctx, enum ma_rr type, const char *name, struct ma_dns_answer *out)
{
	struct fake_dns *d = ctx;
	d->queries++;
	if ((unsigned)type < 5)
		d->per_type[type]++;
	int exists = 0;
	for (size_t i = 0; i < d->n; i++)
		if (d->rr[i].timeout && fake_dns_name_eq(d->rr[i].name, name) &&
		    (d->rr[i].type == FAKE_DNS_ANY || d->rr[i].type == (int)type))
			return MA_DNS_TEMPFAIL;
	for (size_t i = 0; i < d->n; i++) {
		if (d->rr[i].timeout || !fake_dns_name_eq(d->rr[i].name, name))
			continue;
		exists = 1;
		if (d->rr[i].type == (int)type)
			ma_dns_answer_add(out, d->rr[i].value, d->rr[i].pref);
	}
	if (out->n)
		return MA_DNS_OK;
	return exists ? MA_DNS_NODATA : MA_DNS_NXDOMAIN;
}

static inline struct ma_dns
fake_dns_iface(struct fake_dns *d)
{
	return (struct ma_dns){.lookup = fake_dns_lookup, .ctx = d};
}

static inline void
fake_dns_free(struct fake_dns *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->rr[i].name);
		free(d->rr[i].value);
	}
	free(d->rr);
	memset(d, 0, sizeof *d);
}

#endif
