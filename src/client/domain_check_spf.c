/*
 * domain_check_spf: the domain's SPF record (RFC 7208): exactly one
 * (4.5), valid, within the 10 DNS-querying terms (4.6.4), and passing for
 * each address this host sends from. The counting and the evaluation are
 * mailauth/spf's (spf_census, spf_check_host); this file turns them into
 * a status and the record to publish instead:
 *  - none: this host's addresses (or "mx" when they are unknown), ~all
 *    (softfail: with DMARC in place a receiver acts on DMARC's verdict,
 *    and a forwarded message is not refused for SPF alone);
 *  - several: one record holding all their terms;
 *  - too many lookups: the record "flattened": a, mx and include terms
 *    replaced by the addresses they name today (spf_flat.c);
 *  - an address not covered: the record with ip4:/ip6: terms for it
 *    before its all (or redirect=).
 */
#include "domain_check_int.h"

#include <stdio.h>
#include <string.h>

#include "spf.h"
#include "spf_flat.h"
#include "str.h"

/* " ip4:ADDR" or " ip6:ADDR" for each of this host's addresses the record lacks, into out. */
static void
missing_ip_terms(const struct dc_ctx *c, const char *record, struct buf *out)
{
	for (size_t i = 0; i < c->nips; i++) {
		char term[80];
		snprintf(term, sizeof term, "%s:%s", strchr(c->ips[i], ':') ? "ip6" : "ip4",
			 c->ips[i]);
		if (!spf_flat_has_term(record, term))
			buf_printf(out, " %s", term);
	}
}

/* The record with this host's missing addresses before its final all or redirect=. */
static void
record_with_ips(const struct dc_ctx *c, const char *record, struct buf *out)
{
	struct buf add;
	buf_init(&add, 0);
	missing_ip_terms(c, record, &add);
	size_t at = spf_flat_tail_offset(record);
	buf_append(out, record, at);
	while (out->len > 0 && out->data[out->len - 1] == ' ')
		out->data[--out->len] = '\0';
	if (add.len)
		buf_append(out, add.data, add.len);
	if (record[at]) {
		buf_append_str(out, " ");
		buf_append_str(out, record + at);
	}
	buf_free(&add);
}

/* The record for a domain without one. */
static void
proposal(const struct dc_ctx *c, struct buf *out)
{
	buf_append_str(out, "v=spf1");
	if (c->nips == 0)
		buf_append_str(out, " mx"); /* the MX hosts send: the usual small setup */
	missing_ip_terms(c, "v=spf1", out);
	buf_append_str(out, " ~all");
}

static void
publish(struct dc_ctx *c, struct dc_item *it, const struct buf *txt)
{
	dc_fix_txt(it, c->o->domain, txt->data);
	dc_fix(it,
	       "publish the record below at %s, replacing every TXT record there that starts "
	       "with v=spf1",
	       c->o->domain);
}

/* Several records: one with the terms of all (spf_flat_merge), covering this host; false
 * when the domain has a single record (the problem is elsewhere). */
static bool
fix_several(struct dc_ctx *c, struct dc_item *it)
{
	struct ma_dns_answer a;
	size_t others;
	bool several =
	    dc_tagged_txt(c, c->o->domain, "v=spf1", false, &a, &others) == MA_DNS_OK && a.n > 1;
	if (several) {
		struct buf merged, out;
		buf_init(&merged, 0);
		buf_init(&out, 0);
		spf_flat_merge((const char *const *)a.rr, a.n, &merged);
		record_with_ips(c, merged.data, &out);
		publish(c, it, &out);
		dc_fix(it,
		       "keep one SPF record (RFC 7208 4.5: two make every check a permerror): "
		       "publish the one below, which holds the terms of all of them, and remove "
		       "the others");
		buf_free(&merged);
		buf_free(&out);
	}
	ma_dns_answer_free(&a);
	return several;
}

/* Too many lookups: the flattened record, if flattening gets under the limit. */
static void
fix_flatten(struct dc_ctx *c, struct dc_item *it, const char *record)
{
	struct buf flat, out;
	buf_init(&flat, 0);
	buf_init(&out, 0);
	char why[256];
	unsigned left = 0;
	if (spf_flat_flatten(c->dns, c->o->domain, record, &flat, &left, why, sizeof why) == 0 &&
	    left <= 10) {
		record_with_ips(c, flat.data, &out);
		publish(c, it, &out);
		dc_fix(it,
		       "replace the record with the flattened one below: its include, a and mx "
		       "terms replaced by the addresses they name today (%u lookups left); "
		       "update it when a provider's addresses change, or drop includes you no "
		       "longer send through",
		       left);
	} else {
		dc_fix(it,
		       "remove include, a and mx terms you do not need (each costs a lookup, "
		       "includes count their own): at most 10 in all (RFC 7208 4.6.4)%s%s",
		       why[0] ? "; " : "", why);
	}
	buf_free(&flat);
	buf_free(&out);
}

/* A valid record: does it pass for each of this host's addresses? */
static void
coverage(struct dc_ctx *c, struct dc_item *it, const struct spf_census *cs)
{
	char uncovered[400] = "";
	size_t off = 0;
	bool failed = false;
	for (size_t i = 0; i < c->nips; i++) {
		char sender[300];
		snprintf(sender, sizeof sender, "postmaster@%s", c->o->domain);
		struct spf_request rq = {.ip = c->ips[i],
					 .helo = c->o->hostname,
					 .sender = sender,
					 .receiver = c->o->hostname,
					 .now = c->o->now};
		struct spf_outcome out;
		spf_check_host(c->dns, &rq, c->o->domain, sender, "mailfrom", &out);
		if (out.result == SPF_PASS)
			continue;
		failed = failed || out.result == SPF_TEMPERROR;
		if (off < sizeof uncovered)
			off += (size_t)snprintf(uncovered + off, sizeof uncovered - off,
						"%s%s (%s)", off ? ", " : "", c->ips[i],
						spf_result_name(out.result));
	}
	if (failed) {
		dc_set(it, DC_ERROR, "SPF evaluation met a DNS failure for %s", uncovered);
		it->dns_failed = true;
	} else if (uncovered[0]) {
		dc_set(it, DC_MISMATCH,
		       "\"%s\" (%u DNS lookup%s) does not pass for this host's address %s: "
		       "receivers see its mail as not from %s",
		       cs->record, cs->lookups, cs->lookups == 1 ? "" : "s", uncovered,
		       c->o->domain);
		struct buf out;
		buf_init(&out, 0);
		record_with_ips(c, cs->record, &out);
		publish(c, it, &out);
		dc_fix(it,
		       "add this host's addresses to the record: publish the one below at %s "
		       "instead",
		       c->o->domain);
		buf_free(&out);
	} else {
		dc_set(it, DC_OK, "\"%s\": %u of 10 DNS lookups%s%s%s", cs->record, cs->lookups,
		       c->nips ? ", passes for this host's addresses" : "; ",
		       c->nips ? "" : c->ips_note, cs->has_macros ? "; macros not followed" : "");
	}
}

void
dc_check_spf(struct dc_ctx *c)
{
	struct dc_item *it = &c->r->items[DC_SPF];
	static struct spf_census cs; /* 2 KB; one check at a time */
	struct buf txt;
	buf_init(&txt, 0);
	switch (spf_census(c->dns, c->o->domain, &cs)) {
	case SPF_CENSUS_DNS_ERROR:
		dc_set(it, DC_ERROR, "%s", cs.problem);
		it->dns_failed = true;
		break;
	case SPF_CENSUS_MISSING:
		dc_set(it, DC_MISSING,
		       "no SPF record at %s: receivers cannot tell which hosts "
		       "send its mail, and DMARC has no SPF pass to align",
		       c->o->domain);
		proposal(c, &txt);
		publish(c, it, &txt);
		break;
	case SPF_CENSUS_INVALID:
		dc_set(it, DC_INVALID, "%s (receivers get permerror: no SPF pass)", cs.problem);
		if (cs.lookups > 10)
			fix_flatten(c, it, cs.record);
		else if (!fix_several(c, it)) {
			/* A syntax error: what was meant is not ours to guess; this one works. */
			proposal(c, &txt);
			publish(c, it, &txt);
			dc_fix(it,
			       "correct the record, or publish the one below at %s instead (it "
			       "covers this host only)",
			       c->o->domain);
		}
		break;
	case SPF_CENSUS_OK:
		coverage(c, it, &cs);
		break;
	}
	buf_free(&txt);
}
