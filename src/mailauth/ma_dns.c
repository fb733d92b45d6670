/*
 * ma_dns: answers' storage (see the header).
 */
#include "ma_dns.h"

#include <stdlib.h>

#include "xmalloc.h"

void
ma_dns_answer_free(struct ma_dns_answer *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->rr[i]);
	free(a->rr);
	free(a->pref);
	a->n = 0;
	a->rr = NULL;
	a->pref = NULL;
}

void
ma_dns_answer_add(struct ma_dns_answer *a, const char *rr, unsigned short pref)
{
	a->rr = xrealloc(a->rr, (a->n + 1) * sizeof *a->rr);
	a->pref = xrealloc(a->pref, (a->n + 1) * sizeof *a->pref);
	a->rr[a->n] = xstrdup(rr);
	a->pref[a->n] = pref;
	a->n++;
}

const char *
ma_rr_name(enum ma_rr type)
{
	static const char *const names[] = {"A", "AAAA", "MX", "TXT", "PTR"};
	return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "?";
}

const char *
ma_dns_rc_name(enum ma_dns_rc rc)
{
	static const char *const names[] = {"ok", "nxdomain", "nodata", "tempfail"};
	return (unsigned)rc < sizeof names / sizeof names[0] ? names[rc] : "?";
}
