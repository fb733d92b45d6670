/*
 * domain_check: the run (see the header), the shared helpers, and the two
 * checks of names and addresses: MX (RFC 5321 5.1, RFC 7505 null MX) and
 * the reverse DNS of each MX address and of this host's (a PTR whose name
 * resolves back to the address: "forward-confirmed", what receivers check
 * of a sender).
 */
#include "domain_check_int.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dkim_tags.h"
#include "str.h"

/* ---- helpers ---- */

void
dc_set(struct dc_item *it, enum dc_status st, const char *fmt, ...)
{
	it->status = st;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(it->detail, sizeof it->detail, fmt, ap);
	va_end(ap);
}

void
dc_fix(struct dc_item *it, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(it->fix, sizeof it->fix, fmt, ap);
	va_end(ap);
}

void
dc_fix_txt(struct dc_item *it, const char *name, const char *txt)
{
	/* The zone-file form `mailport dkim keygen` prints: NAME. IN TXT ( "..." "..." ). */
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s. IN TXT ( ", name);
	dkim_txt_quoted(txt, &b);
	buf_append_str(&b, " )");
	dc_add_record(it, b.data);
	buf_free(&b);
}

void
dc_dns_error(struct dc_item *it, const char *name, const char *type, enum ma_dns_rc rc)
{
	dc_set(it, DC_ERROR,
	       "the %s lookup of %s failed (%s): the DNS server did not answer in time "
	       "or answered SERVFAIL",
	       type, name, ma_dns_rc_name(rc));
	it->dns_failed = true;
}

static bool
has_tag(const char *txt, const char *tag, bool exact)
{
	size_t n = strlen(tag);
	if (exact ? strncmp(txt, tag, n) != 0 : strncasecmp(txt, tag, n) != 0)
		return false;
	char end = txt[n];
	return end == '\0' || end == ' ' || end == '\t' || end == ';';
}

enum ma_dns_rc
dc_tagged_txt(struct dc_ctx *c, const char *name, const char *tag, bool exact,
	      struct ma_dns_answer *out, size_t *others_r)
{
	struct ma_dns_answer all = {0};
	memset(out, 0, sizeof *out);
	*others_r = 0;
	enum ma_dns_rc rc = c->dns->lookup(c->dns->ctx, MA_RR_TXT, name, &all);
	for (size_t i = 0; rc == MA_DNS_OK && i < all.n; i++) {
		if (has_tag(all.rr[i], tag, exact))
			ma_dns_answer_add(out, all.rr[i], 0);
		else
			(*others_r)++;
	}
	ma_dns_answer_free(&all);
	return rc == MA_DNS_OK && out->n == 0 ? MA_DNS_NODATA : rc;
}

/* ---- addresses ---- */

/* A and AAAA of host into addrs (up to max); the worst rc when none came. */
static enum ma_dns_rc
host_addrs(struct dc_ctx *c, const char *host, char addrs[][64], size_t max, size_t *n_r)
{
	static const enum ma_rr types[] = {MA_RR_A, MA_RR_AAAA};
	enum ma_dns_rc worst = MA_DNS_NXDOMAIN;
	*n_r = 0;
	for (size_t t = 0; t < 2; t++) {
		struct ma_dns_answer a = {0};
		enum ma_dns_rc rc = c->dns->lookup(c->dns->ctx, types[t], host, &a);
		for (size_t i = 0; rc == MA_DNS_OK && i < a.n && *n_r < max; i++)
			str_copy(addrs[(*n_r)++], 64, a.rr[i]);
		ma_dns_answer_free(&a);
		if (rc == MA_DNS_TEMPFAIL || (rc == MA_DNS_NODATA && worst == MA_DNS_NXDOMAIN))
			worst = rc;
	}
	return *n_r > 0 ? MA_DNS_OK : worst;
}

/* This host's sending addresses: --ip, else the config hostname's. */
static void
this_host(struct dc_ctx *c)
{
	const struct domain_check_opts *o = c->o;
	for (size_t i = 0; i < o->nips && c->nips < DC_MAX_IPS; i++)
		str_copy(c->ips[c->nips++], 64, o->ips[i]);
	if (c->nips > 0)
		return;
	if (o->hostname == NULL || !o->hostname[0]) {
		snprintf(c->ips_note, sizeof c->ips_note,
			 "this host's addresses are unknown: give --ip ADDR (or -c with a config "
			 "whose hostname resolves)");
		return;
	}
	enum ma_dns_rc rc = host_addrs(c, o->hostname, c->ips, DC_MAX_IPS, &c->nips);
	c->ips_from_hostname = c->nips > 0;
	if (rc != MA_DNS_OK)
		snprintf(c->ips_note, sizeof c->ips_note,
			 "the hostname %s has no address (%s): give --ip ADDR", o->hostname,
			 ma_dns_rc_name(rc));
}

/* ---- MX ---- */

static bool
is_ip(const char *s)
{
	unsigned char a[16];
	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* The MX record a fix proposes: our hostname, or mail.DOMAIN when we have none. */
static void
mx_fix(struct dc_ctx *c, struct dc_item *it)
{
	const char *d = c->o->domain;
	char host[256], line[600];
	if (c->o->hostname && c->o->hostname[0])
		str_copy(host, sizeof host, c->o->hostname);
	else
		snprintf(host, sizeof host, "mail.%s", d);
	snprintf(line, sizeof line, "%s. IN MX 10 %s.", d, host);
	dc_add_record(it, line);
	dc_fix(it,
	       "publish an MX record naming the server that receives %s's mail (and an A "
	       "record for that name)",
	       d);
}

/* One MX host: its addresses into the context, a part into the item. */
static void
mx_host(struct dc_ctx *c, struct dc_item *it, const char *host, unsigned pref)
{
	char name[300], detail[512], addrs[8][64];
	snprintf(name, sizeof name, "%s (preference %u)", host, pref);
	if (is_ip(host)) {
		dc_add_part(it, name, DC_INVALID,
			    "an MX names a host, not an address (RFC 5321 5.1): senders look up "
			    "that text as a name");
		return;
	}
	size_t n = 0;
	enum ma_dns_rc rc = host_addrs(c, host, addrs, 8, &n);
	if (rc == MA_DNS_TEMPFAIL && n == 0) {
		dc_add_part(it, name, DC_ERROR, "its address lookup failed (tempfail)");
		it->dns_failed = true;
		return;
	}
	if (n == 0) {
		snprintf(detail, sizeof detail,
			 "no A or AAAA record (%s): senders cannot reach it; publish an A record "
			 "for %s or remove the MX record",
			 ma_dns_rc_name(rc), host);
		dc_add_part(it, name, DC_MISSING, detail);
		return;
	}
	size_t off = (size_t)snprintf(detail, sizeof detail, "resolves to");
	for (size_t i = 0; i < n; i++) {
		if (off < sizeof detail)
			off += (size_t)snprintf(detail + off, sizeof detail - off, " %s", addrs[i]);
		bool seen = false;
		for (size_t k = 0; k < c->nmx_addrs; k++)
			seen = seen || strcmp(c->mx_addrs[k].addr, addrs[i]) == 0;
		if (!seen && c->nmx_addrs < DC_MAX_PARTS) {
			str_copy(c->mx_addrs[c->nmx_addrs].addr, 64, addrs[i]);
			str_copy(c->mx_addrs[c->nmx_addrs++].host, 256, host);
		}
	}
	dc_add_part(it, name, DC_OK, detail);
}

static void
check_mx(struct dc_ctx *c)
{
	struct dc_item *it = &c->r->items[DC_MX];
	const char *d = c->o->domain;
	struct ma_dns_answer a = {0};
	enum ma_dns_rc rc = c->dns->lookup(c->dns->ctx, MA_RR_MX, d, &a);
	if (rc == MA_DNS_TEMPFAIL) {
		dc_dns_error(it, d, "MX", rc);
	} else if (rc == MA_DNS_NXDOMAIN) {
		dc_set(it, DC_MISSING, "%s does not exist in DNS (NXDOMAIN): no record of any kind",
		       d);
		mx_fix(c, it);
	} else if (rc == MA_DNS_NODATA) {
		dc_set(it, DC_MISSING,
		       "%s has no MX record: mail to it would go to its A record, if any (RFC 5321 "
		       "5.1), and receivers may refuse mail from a domain that cannot take replies",
		       d);
		mx_fix(c, it);
	} else if (a.n == 1 && (a.rr[0][0] == '\0' || strcmp(a.rr[0], ".") == 0)) {
		dc_set(
		    it, DC_INVALID,
		    "%s publishes a null MX (RFC 7505): it takes no mail, so bounces and replies "
		    "cannot reach it and receivers may refuse its mail (RFC 7505 4.2)",
		    d);
		mx_fix(c, it);
		dc_fix(it,
		       "replace the null MX with an MX record naming the server that receives "
		       "%s's mail",
		       d);
	} else {
		/* By preference, as senders try them. */
		for (size_t i = 0; i < a.n; i++)
			for (size_t k = i + 1; k < a.n; k++)
				if (a.pref[k] < a.pref[i]) {
					char *t = a.rr[i];
					unsigned short tp = a.pref[i];
					a.rr[i] = a.rr[k], a.pref[i] = a.pref[k];
					a.rr[k] = t, a.pref[k] = tp;
				}
		enum dc_status st = DC_OK;
		for (size_t i = 0; i < a.n && it->nparts < DC_MAX_PARTS; i++) {
			mx_host(c, it, a.rr[i], a.pref[i]);
			st = dc_worse(st, it->parts[it->nparts - 1].status);
		}
		dc_set(it, st, "%zu MX host%s%s", a.n, a.n == 1 ? "" : "s",
		       st == DC_OK ? ", each with an address" : ": see each host");
		if (st != DC_OK && st != DC_ERROR)
			dc_fix(it, "publish an A (or AAAA) record for each MX host without one, or "
				   "remove its MX record; an MX names a host, never an address");
	}
	ma_dns_answer_free(&a);
}

/* ---- PTR: forward-confirmed reverse DNS ---- */

/* "1.2.0.192.in-addr.arpa" or the ip6.arpa nibbles (RFC 3596 2.5); false if not an address. */
static bool
reverse_name(const char *addr, char *out, size_t size)
{
	unsigned char b[16];
	if (inet_pton(AF_INET, addr, b) == 1) {
		snprintf(out, size, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
		return true;
	}
	if (inet_pton(AF_INET6, addr, b) != 1)
		return false;
	static const char hex[] = "0123456789abcdef";
	size_t off = 0;
	for (int i = 15; i >= 0 && off + 4 < size; i--) {
		out[off++] = hex[b[i] & 15], out[off++] = '.';
		out[off++] = hex[b[i] >> 4], out[off++] = '.';
	}
	out[off] = '\0';
	str_copy(out + off, size - off, "ip6.arpa");
	return true;
}

/* Does name have addr among its addresses of addr's family? */
static enum ma_dns_rc
resolves_to(struct dc_ctx *c, const char *name, const char *addr, bool *yes_r)
{
	unsigned char want[16], got[16];
	bool v6 = strchr(addr, ':') != NULL;
	inet_pton(v6 ? AF_INET6 : AF_INET, addr, want);
	struct ma_dns_answer a = {0};
	enum ma_dns_rc rc = c->dns->lookup(c->dns->ctx, v6 ? MA_RR_AAAA : MA_RR_A, name, &a);
	*yes_r = false;
	for (size_t i = 0; rc == MA_DNS_OK && i < a.n; i++)
		if (inet_pton(v6 ? AF_INET6 : AF_INET, a.rr[i], got) == 1 &&
		    memcmp(got, want, v6 ? 16 : 4) == 0)
			*yes_r = true;
	ma_dns_answer_free(&a);
	return rc;
}

/* One address and the host it should be named: a part, and a record when it is wrong. */
static void
ptr_addr(struct dc_ctx *c, struct dc_item *it, const struct dc_addr *da)
{
	char rev[80], detail[512], line[400];
	if (!reverse_name(da->addr, rev, sizeof rev))
		return;
	struct ma_dns_answer a = {0};
	enum ma_dns_rc rc = c->dns->lookup(c->dns->ctx, MA_RR_PTR, rev, &a);
	enum dc_status st = DC_OK;
	if (rc == MA_DNS_TEMPFAIL) {
		st = DC_ERROR;
		it->dns_failed = true;
		snprintf(detail, sizeof detail, "the PTR lookup of %s failed (tempfail)", rev);
	} else if (rc != MA_DNS_OK) {
		st = DC_MISSING;
		snprintf(detail, sizeof detail,
			 "no PTR record at %s (%s); receivers distrust mail "
			 "from an address without reverse DNS",
			 rev, ma_dns_rc_name(rc));
	} else {
		st = DC_MISMATCH;
		snprintf(detail, sizeof detail, "PTR %s, which does not resolve back to %s",
			 a.rr[0], da->addr);
		for (size_t i = 0; i < a.n && st != DC_OK; i++) {
			bool yes = false;
			enum ma_dns_rc frc = resolves_to(c, a.rr[i], da->addr, &yes);
			if (yes) {
				st = DC_OK;
				snprintf(detail, sizeof detail, "PTR %s, which resolves back to %s",
					 a.rr[i], da->addr);
			} else if (frc == MA_DNS_TEMPFAIL) {
				st = DC_ERROR;
				it->dns_failed = true;
				snprintf(detail, sizeof detail,
					 "PTR %s; its address lookup failed (tempfail)", a.rr[i]);
			}
		}
	}
	ma_dns_answer_free(&a);
	dc_add_part(it, da->addr, st, detail);
	if (st == DC_MISSING || st == DC_MISMATCH) {
		/* da->host resolves to da->addr (that is how the address was found). */
		snprintf(line, sizeof line, "%s. IN PTR %s.", rev, da->host);
		dc_add_record(it, line);
	}
}

/*
 * The addresses whose reverse DNS receivers look at: the MX hosts' (a
 * server's own sending address is usually its MX's), and this host's when
 * they came from its hostname (so the PTR to propose, the hostname, does
 * resolve back to them).
 */
static size_t
ptr_targets(const struct dc_ctx *c, struct dc_addr *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < c->nmx_addrs && n < max; i++)
		out[n++] = c->mx_addrs[i];
	for (size_t i = 0; c->ips_from_hostname && i < c->nips && n < max; i++) {
		bool seen = false;
		for (size_t k = 0; k < n; k++)
			seen = seen || strcmp(out[k].addr, c->ips[i]) == 0;
		if (!seen) {
			str_copy(out[n].addr, sizeof out[n].addr, c->ips[i]);
			str_copy(out[n].host, sizeof out[n].host, c->o->hostname);
			n++;
		}
	}
	return n;
}

static void
check_ptr(struct dc_ctx *c)
{
	struct dc_item *it = &c->r->items[DC_PTR];
	struct dc_addr targets[DC_MAX_PARTS];
	size_t n = ptr_targets(c, targets, DC_MAX_PARTS);
	if (n == 0) {
		dc_set(it, DC_ERROR, "no MX address to check (see mx)");
		it->dns_failed = c->r->items[DC_MX].dns_failed;
		if (!it->dns_failed)
			dc_fix(it, "fix the MX records first (see mx), then run this again");
		return;
	}
	enum dc_status st = DC_OK;
	for (size_t i = 0; i < n; i++) {
		ptr_addr(c, it, &targets[i]);
		if (it->nparts > 0)
			st = dc_worse(st, it->parts[it->nparts - 1].status);
	}
	dc_set(it, st, "%zu address%s (of the MX hosts%s)%s", n, n == 1 ? "" : "es",
	       n > c->nmx_addrs ? " and this host" : "",
	       st == DC_OK ? ", each with a PTR that resolves back" : ": see each address");
	if (st == DC_MISSING || st == DC_MISMATCH || st == DC_INVALID)
		dc_fix(it,
		       "a PTR record lives in the address owner's zone: ask whoever gave you the "
		       "address (your hosting provider) to set the reverse DNS below");
}

/* ---- the run ---- */

void
domain_check_run(const struct domain_check_opts *o, const struct ma_dns *dns,
		 struct domain_report *r)
{
	struct dc_ctx c = {.o = o, .dns = dns, .r = r};
	for (int i = 0; i < DC_NCHECKS; i++)
		r->items[i].required = i != DC_MTA_STS && i != DC_TLS_RPT && i != DC_DANE;
	this_host(&c);
	check_mx(&c);
	dc_check_spf(&c);
	dc_check_dkim(&c);
	dc_check_dmarc(&c);
	dc_check_mta_sts(&c);
	dc_check_tls_rpt(&c);
	check_ptr(&c);
	dc_check_dane(&c);
	/* A check that only met DNS failures (in a part) says what to do about them. */
	for (int i = 0; i < DC_NCHECKS; i++)
		if (r->items[i].status != DC_OK && !r->items[i].fix[0] && r->items[i].dns_failed)
			dc_fix(&r->items[i],
			       "check the resolver (--resolver) and the domain's name "
			       "servers, then run this again");
}
