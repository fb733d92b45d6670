/*
 * libFuzzer harness for SPF (RFC 7208): record parsing, macro checking and
 * expansion, and check_host over a table DNS built from the input.
 *
 * Input: lines. The first is the TXT record of "fuzz.example" (and is also
 * parsed, checked and expanded on its own); each further line adds a DNS
 * record "TYPE NAME VALUE" with TYPE one of T (TXT), A, 6 (AAAA), M (MX),
 * P (PTR), X (NAME times out; no value).
 * Invariants: every evaluation ends (the 4.6.4 limits bound it), its
 * result is one of the seven, its counters respect the limits, a fail
 * carries an explanation and every outcome a reason; a parsed record's
 * terms are sane; a checked domain-spec expands, to 253 octets at most.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fake_dns.h"
#include "panic.h"
#include "spf.h"
#include "spf_internal.h"

static void
load_dns(struct fake_dns *d, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t len = nl ? (size_t)(nl - p) : n;
		char line[1024];
		if (len >= 3 && len < sizeof line && d->n < 200) {
			memcpy(line, p, len);
			line[len] = 0;
			char *name = line + 2, *value = strchr(name, ' ');
			if (value)
				*value++ = 0;
			static const char types[] = "TA6MP";
			const char *t = strchr(types, line[0]);
			if (line[0] == 'X')
				fake_dns_timeout(d, name, FAKE_DNS_ANY);
			else if (t && *t && value) {
				static const enum ma_rr rr[] = {MA_RR_TXT, MA_RR_A, MA_RR_AAAA,
								MA_RR_MX, MA_RR_PTR};
				fake_dns_add(d, name, rr[t - types], value);
			}
		}
		p += len + (nl != NULL);
		n -= len + (nl != NULL);
	}
}

static void
check_record(const char *txt)
{
	struct spf_record r;
	char why[200];
	if (spf_record_parse(txt, &r, why, sizeof why) < 0) {
		MP_ASSERT(why[0] != 0);
		return;
	}
	for (size_t i = 0; i < r.nterms; i++) {
		const struct spf_term *t = &r.terms[i];
		MP_ASSERT(t->cidr4 >= 0 && t->cidr4 <= 32 && t->cidr6 >= 0 && t->cidr6 <= 128);
		MP_ASSERT(strchr("+-~?", t->qualifier) != NULL);
	}
	MP_ASSERT(spf_record_dns_terms(&r) <= r.nterms + 1);
	spf_record_free(&r);
}

static void
check_macros(const char *s, size_t len)
{
	struct spf_macro_env env = {.sender = "strong-bad@email.example.com",
				    .local = "strong-bad",
				    .sender_d = "email.example.com",
				    .domain = "email.example.com",
				    .helo = "mx.example.org",
				    .now = 1};
	env.family = spf_ip_parse("2001:db8::cb01", env.ip);
	struct buf out;
	buf_init(&out, 1 << 20);
	char why[160];
	for (int exp = 0; exp < 2; exp++)
		if (spf_macro_check(s, len, exp, why, sizeof why)) {
			bool ok = spf_macro_expand(s, len, &env, exp, &out, why, sizeof why);
			MP_ASSERT(ok || why[0]);
			MP_ASSERT(exp || !ok || out.len <= 253);
		}
	buf_free(&out);
}

static void
check_outcome(const struct spf_outcome *o)
{
	MP_ASSERT(o->result <= SPF_PERMERROR);
	MP_ASSERT(o->lookups <= 11 && o->void_lookups <= 3);
	MP_ASSERT(o->result != SPF_FAIL || o->explanation[0] != 0);
	MP_ASSERT(o->reason[0] != 0 || o->result == SPF_NONE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *nl = memchr(p, '\n', size);
	size_t first = nl ? (size_t)(nl - p) : size;
	if (first > 4096)
		return 0;
	char record[4097];
	memcpy(record, p, first);
	record[first] = 0;
	check_record(record);
	check_macros(p, first);

	struct fake_dns d = {0};
	if (strlen(record) == first)
		fake_dns_add(&d, "fuzz.example", MA_RR_TXT, record);
	if (nl)
		load_dns(&d, nl + 1, size - first - 1);
	struct ma_dns dns = fake_dns_iface(&d);
	static const char *const ips[] = {"192.0.2.1", "2001:db8::1"};
	for (int i = 0; i < 2; i++) {
		struct spf_request rq = {.ip = ips[i],
					 .helo = "fuzz.example",
					 .sender = i ? "" : "a-b.c@fuzz.example",
					 .receiver = "mx.example",
					 .now = 1};
		struct spf_outcome o;
		spf_check(&dns, &rq, &o);
		check_outcome(&o);
	}
	struct spf_census c;
	spf_census(&dns, "fuzz.example", &c);
	MP_ASSERT(c.status == SPF_CENSUS_OK || c.problem[0] != 0);
	fake_dns_free(&d);
	return 0;
}
