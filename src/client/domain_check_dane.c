/*
 * domain_check_dane: DANE for mail to the domain (RFC 7672) as a sender
 * with DANE sees it: are the MX records DNSSEC-authenticated, are each MX
 * host's addresses, does it publish TLSA records at _25._tcp.HOST, are
 * they usable for SMTP (DANE-TA/DANE-EE, RFC 7672 3.1.3), and does one
 * match the certificate the host serves over STARTTLS. A part per MX
 * host; a missing or wrong record comes with the "3 1 1" record for the
 * certificate served (the RFC's recommended form, which survives a
 * renewal that keeps the key).
 *
 * DANE is optional: no DNSSEC or no TLSA is advice ("missing"); records
 * that do not match, a bogus answer or a host without STARTTLS make
 * senders with DANE defer the domain's mail, and are failures.
 */
#include "domain_check_int.h"

#include <stdio.h>
#include <string.h>

#include "str.h"

/* The record to publish for the certificate host serves, when it could be read. */
static void
fix_record(struct dc_item *it, const char *host, const struct tls_info *ti)
{
	if (!ti->spki_sha256[0])
		return;
	char line[400];
	snprintf(line, sizeof line, "_25._tcp.%s. IN TLSA 3 1 1 %s", host, ti->spki_sha256);
	dc_add_record(it, line);
}

/* A STARTTLS without DANE, to learn the certificate (for the record to publish). */
static bool
served_certificate(struct dc_ctx *c, const char *host, struct tls_info *ti)
{
	bool no_starttls = false;
	char why[300];
	memset(ti, 0, sizeof *ti);
	return c->o->dane->tls(c->o->dane->ctx, host, NULL, 0, ti, &no_starttls, why, sizeof why) ==
	       0;
}

/* "3 1 1 8500f40106c5...; 2 0 1 ..." : the records, each cut short, for a detail. */
static void
records_text(const struct dns_tlsa *t, size_t n, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && i < 4 && len + 50 < size; i++) {
		char one[40];
		dns_tlsa_format(&t[i], one, sizeof one);
		len += (size_t)snprintf(out + len, size - len, "%s%s", i ? "; " : "", one);
	}
	if (n > 4 && len + 8 < size)
		snprintf(out + len, size - len, "; +%zu", n - 4);
}

/* The usable records of one host, connected to: ok, mismatch or error. */
static void
match_host(struct dc_ctx *c, struct dc_item *it, const char *host, const struct dns_tlsa *t,
	   size_t n)
{
	struct tls_info ti;
	bool no_starttls = false;
	char why[300], rec[250], text[700];
	memset(&ti, 0, sizeof ti);
	records_text(t, n, rec, sizeof rec);
	if (c->o->dane->tls(c->o->dane->ctx, host, t, n, &ti, &no_starttls, why, sizeof why) < 0) {
		if (no_starttls)
			dc_add_part(it, host, DC_MISMATCH,
				    "TLSA records are published but the host does not offer "
				    "STARTTLS: senders with DANE defer its mail "
				    "(starttls-not-supported)");
		else {
			snprintf(text, sizeof text,
				 "TLSA records published; could not check them "
				 "against the certificate: %s",
				 why);
			dc_add_part(it, host, DC_ERROR, text);
		}
		return;
	}
	if (ti.verified) {
		snprintf(text, sizeof text,
			 "DNSSEC-signed; TLSA %s: one matches the certificate it serves (%s)", rec,
			 ti.subject);
		dc_add_part(it, host, DC_OK, text);
		return;
	}
	snprintf(text, sizeof text,
		 "TLSA %s: none matches the certificate it serves (%s; tlsa-invalid): senders "
		 "with DANE defer its mail",
		 rec, ti.verify_error[0] ? ti.verify_error : "no match");
	dc_add_part(it, host, DC_MISMATCH, text);
	fix_record(it, host, &ti);
}

/* One MX host whose MX answer was authenticated. */
static void
check_host(struct dc_ctx *c, struct dc_item *it, const char *host)
{
	const struct dc_dane_io *io = c->o->dane;
	struct dns_tlsa t[DNS_MAX_TLSA], usable[DNS_MAX_TLSA];
	size_t n = 0, nu = 0;
	bool ad = false;
	char why[300], text[700];
	struct tls_info ti;
	if (!io->addrs_secure(io->ctx, host)) {
		dc_add_part(it, host, DC_MISSING,
			    "its address records are not DNSSEC-signed: DANE does not apply to "
			    "this host (RFC 7672 2.2.2)");
		return;
	}
	enum ma_dns_rc rc = io->tlsa(io->ctx, host, t, DNS_MAX_TLSA, &n, &ad, why, sizeof why);
	if (rc == MA_DNS_TEMPFAIL) {
		snprintf(
		    text, sizeof text,
		    "%s: with a validating resolver this is DNSSEC-bogus (dnssec-invalid), and "
		    "senders with DANE defer its mail",
		    why);
		dc_add_part(it, host, DC_INVALID, text);
		return;
	}
	if (rc != MA_DNS_OK || !ad) {
		dc_add_part(it, host, DC_MISSING,
			    rc == MA_DNS_OK ? "TLSA records exist but are not DNSSEC-authenticated"
					    : "DNSSEC-signed, no TLSA record");
		if (served_certificate(c, host, &ti))
			fix_record(it, host, &ti);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (dns_tlsa_usable(&t[i]))
			usable[nu++] = t[i];
	if (nu == 0) {
		dc_add_part(
		    it, host, DC_INVALID,
		    "its TLSA records are none of the kinds SMTP uses (DANE-TA 2 or DANE-EE "
		    "3, selector 0/1, matching type 0/1/2; RFC 7672 3.1.3): senders must "
		    "encrypt but cannot authenticate");
		if (served_certificate(c, host, &ti))
			fix_record(it, host, &ti);
		return;
	}
	match_host(c, it, host, usable, nu);
}

/* The overall word from the parts, and the fix. */
static void
conclude(struct dc_item *it, size_t nhosts)
{
	enum dc_status st = DC_OK;
	size_t ok = 0;
	for (size_t i = 0; i < it->nparts; i++) {
		st = dc_worse(st, it->parts[i].status);
		ok += it->parts[i].status == DC_OK;
	}
	dc_set(it, st, "MX records DNSSEC-signed; TLSA records match on %zu of %zu MX host%s", ok,
	       nhosts, nhosts == 1 ? "" : "s");
	if (st == DC_OK)
		return;
	if (it->nrecords > 0)
		dc_fix(it,
		       "publish the TLSA records below in the signed zone (keep a record for the "
		       "current certificate until the new one is in use, RFC 7671 8.1)");
	else if (st == DC_MISSING)
		dc_fix(it, "sign the MX hosts' zone with DNSSEC and publish a TLSA record "
			   "(_25._tcp.HOST IN TLSA 3 1 1 <SHA-256 of the key>) for each MX host");
	else
		dc_fix(it, "repair each MX host's part as it says (its DNSSEC, its STARTTLS, its "
			   "TLSA records), then run this again");
}

void
dc_check_dane(struct dc_ctx *c)
{
	struct dc_item *it = &c->r->items[DC_DANE];
	const struct dc_dane_io *io = c->o->dane;
	if (io == NULL) {
		dc_set(it, DC_ERROR,
		       "not checked: no DNSSEC-aware resolver was given to the check");
		dc_fix(it, "run mailport probe DOMAIN --domain-check");
		return;
	}
	struct ma_dns_answer mx = {0};
	bool ad = false;
	enum ma_dns_rc rc = io->mx(io->ctx, c->o->domain, &mx, &ad);
	if (rc == MA_DNS_TEMPFAIL || rc == MA_DNS_NXDOMAIN) {
		dc_dns_error(it, c->o->domain, "MX", rc);
		ma_dns_answer_free(&mx);
		return;
	}
	if (!ad) {
		dc_set(
		    it, DC_MISSING,
		    "the MX records are not DNSSEC-authenticated (the zone is not signed, or the "
		    "resolver does not validate): DANE cannot apply to mail for %s",
		    c->o->domain);
		dc_fix(it,
		       "sign the zone with DNSSEC, then publish a TLSA record for each MX host; "
		       "check with a validating resolver (--resolver)");
		ma_dns_answer_free(&mx);
		return;
	}
	if (rc == MA_DNS_OK && mx.n == 1 && (!mx.rr[0][0] || strcmp(mx.rr[0], ".") == 0)) {
		dc_set(it, DC_MISSING,
		       "null MX (RFC 7505): %s takes no mail, DANE has nothing to "
		       "protect",
		       c->o->domain);
		dc_fix(it, "nothing to do unless the domain is to receive mail");
		ma_dns_answer_free(&mx);
		return;
	}
	size_t nhosts = rc == MA_DNS_OK ? mx.n : 1;
	for (size_t i = 0; i < nhosts && i < DC_MAX_PARTS; i++)
		check_host(c, it, rc == MA_DNS_OK ? mx.rr[i] : c->o->domain);
	ma_dns_answer_free(&mx);
	conclude(it, nhosts);
}
