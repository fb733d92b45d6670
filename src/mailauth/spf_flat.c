/*
 * spf_flat: SPF record text for the domain check's fixes (see the header).
 * Terms are split at spaces (RFC 7208 4.6.1: terms are separated by one
 * or more SP); only the parts this file rewrites are parsed.
 */
#include "spf_flat.h"

#include <stdio.h>
#include <string.h>

#include "spf.h"
#include "str.h"

#define FLAT_MAX_DEPTH 10  /* RFC 7208 4.6.4 would stop a deeper chain anyway */
#define FLAT_MAX_TEXT 4000 /* a TXT answer past this no longer fits a UDP reply */

/* One term: qualifier, name, the argument after ':' or '=', the CIDR suffix. */
struct term {
	char qual;	/* '+', '-', '~', '?' */
	char name[32];	/* lower case */
	bool modifier;	/* name=value */
	char arg[300];	/* domain-spec or value; "" when none */
	char cidr[16];	/* "/24", "//64", "/24//64"; "" when none */
	char text[400]; /* the term as written */
};

static const char *
next_term(const char *p, struct term *t)
{
	p += strspn(p, " ");
	size_t n = strcspn(p, " ");
	memset(t, 0, sizeof *t);
	str_copy_n(t->text, sizeof t->text, p, n);
	const char *s = t->text;
	t->qual = strchr("+-~?", *s) && *s ? *s++ : '+';
	size_t k = strcspn(s, ":/=");
	str_copy_n(t->name, sizeof t->name, s, k);
	str_lower(t->name);
	s += k;
	if (*s == '=') {
		t->modifier = true;
		str_copy(t->arg, sizeof t->arg, s + 1);
	} else if (strcmp(t->name, "ip4") == 0 || strcmp(t->name, "ip6") == 0) {
		str_copy(t->arg, sizeof t->arg, *s == ':' ? s + 1 : s); /* kept whole */
	} else {
		if (*s == ':') {
			s++;
			size_t a = strcspn(s, "/");
			str_copy_n(t->arg, sizeof t->arg, s, a);
			s += a;
		}
		str_copy(t->cidr, sizeof t->cidr, s);
	}
	return p + n;
}

bool
spf_flat_has_term(const char *record, const char *term)
{
	struct term t;
	for (const char *p = record; *(p += strspn(p, " "));) {
		p = next_term(p, &t);
		const char *s = t.text[0] == '+' ? t.text + 1 : t.text;
		if (str_eq_ci(s, term))
			return true;
	}
	return false;
}

size_t
spf_flat_tail_offset(const char *record)
{
	struct term t;
	size_t redirect = strlen(record);
	for (const char *p = record; *(p += strspn(p, " "));) {
		const char *start = p;
		p = next_term(p, &t);
		if (!t.modifier && strcmp(t.name, "all") == 0)
			return (size_t)(start - record);
		if (t.modifier && strcmp(t.name, "redirect") == 0 && redirect == strlen(record))
			redirect = (size_t)(start - record);
	}
	return redirect;
}

void
spf_flat_merge(const char *const *records, size_t n, struct buf *out)
{
	char all[400] = "", redirect[400] = "";
	buf_append_str(out, "v=spf1");
	for (size_t i = 0; i < n; i++) {
		struct term t;
		const char *p = records[i];
		p = next_term(p, &t); /* v=spf1 */
		while (*(p += strspn(p, " "))) {
			p = next_term(p, &t);
			if (!t.modifier && strcmp(t.name, "all") == 0) {
				if (!all[0])
					str_copy(all, sizeof all, t.text);
			} else if (t.modifier && strcmp(t.name, "redirect") == 0) {
				if (!redirect[0])
					str_copy(redirect, sizeof redirect, t.text);
			} else if (!spf_flat_has_term(out->data,
						      t.text[0] == '+' ? t.text + 1 : t.text)) {
				buf_printf(out, " %s", t.text);
			}
		}
	}
	/* An all ends evaluation, so a redirect= beside it would never apply (RFC 7208 6.1). */
	buf_printf(out, " %s", all[0] ? all : redirect[0] ? redirect : "~all");
}

/* ---- flattening ---- */

struct flat {
	const struct ma_dns *dns;
	struct buf *out;
	char why[256];
	bool dns_failed;
};

static void
emit(struct flat *f, char qual, const char *term)
{
	char t[400];
	snprintf(t, sizeof t, "%s%s", qual == '+' ? "" : (char[]){qual, 0}, term);
	if (!spf_flat_has_term(f->out->data, qual == '+' ? term : t))
		buf_printf(f->out, " %s", t);
}

/* The addresses of a host (A and AAAA) as ip4:/ip6: terms with the term's CIDR lengths. */
static bool
emit_host(struct flat *f, char qual, const char *host, const char *cidr)
{
	char c4[8] = "", c6[8] = "";
	const char *dbl = strstr(cidr, "//");
	if (cidr[0] == '/' && cidr != dbl)
		snprintf(c4, sizeof c4, "%.*s", (int)strcspn(cidr + 1, "/") + 1, cidr);
	if (dbl)
		snprintf(c6, sizeof c6, "/%s", dbl + 2);
	static const enum ma_rr types[] = {MA_RR_A, MA_RR_AAAA};
	for (int i = 0; i < 2; i++) {
		struct ma_dns_answer a = {0};
		enum ma_dns_rc rc = f->dns->lookup(f->dns->ctx, types[i], host, &a);
		for (size_t k = 0; rc == MA_DNS_OK && k < a.n; k++) {
			char term[120];
			snprintf(term, sizeof term, "%s:%s%s", i ? "ip6" : "ip4", a.rr[k],
				 i ? c6 : c4);
			emit(f, qual, term);
		}
		ma_dns_answer_free(&a);
		if (rc == MA_DNS_TEMPFAIL) {
			snprintf(f->why, sizeof f->why, "the address lookup of %s failed", host);
			f->dns_failed = true;
			return false;
		}
	}
	return true;
}

static bool flatten_record(struct flat *f, const char *domain, const char *record, char qual,
			   bool top, int depth);

/* The one v=spf1 record of domain into rec; false if none, several or DNS failed. */
static bool
fetch_record(struct flat *f, const char *domain, char *rec, size_t size)
{
	struct ma_dns_answer a = {0};
	enum ma_dns_rc rc = f->dns->lookup(f->dns->ctx, MA_RR_TXT, domain, &a);
	size_t found = 0;
	for (size_t i = 0; rc == MA_DNS_OK && i < a.n; i++)
		if (strncasecmp(a.rr[i], "v=spf1", 6) == 0 && (a.rr[i][6] == ' ' || !a.rr[i][6]) &&
		    found++ == 0)
			str_copy(rec, size, a.rr[i]);
	ma_dns_answer_free(&a);
	if (rc == MA_DNS_TEMPFAIL)
		f->dns_failed = true;
	return found == 1;
}

/* One term of a record, flattened into f->out; false when it must be kept as written. */
static bool
flatten_term(struct flat *f, const char *domain, const struct term *t, char qual, int depth)
{
	const char *target = t->arg[0] ? t->arg : domain;
	if (strchr(t->arg, '%') != NULL)
		return false; /* a macro: its target depends on the message */
	if (strcmp(t->name, "ip4") == 0 || strcmp(t->name, "ip6") == 0) {
		char term[320];
		snprintf(term, sizeof term, "%s:%s", t->name, t->arg);
		emit(f, qual, term);
		return true;
	}
	if (strcmp(t->name, "a") == 0)
		return emit_host(f, qual, target, t->cidr);
	if (strcmp(t->name, "mx") == 0) {
		struct ma_dns_answer a = {0};
		enum ma_dns_rc rc = f->dns->lookup(f->dns->ctx, MA_RR_MX, target, &a);
		bool ok = rc != MA_DNS_TEMPFAIL;
		for (size_t i = 0; ok && i < a.n; i++)
			ok = emit_host(f, qual, a.rr[i], t->cidr);
		ma_dns_answer_free(&a);
		return ok;
	}
	if (strcmp(t->name, "include") == 0 && depth < FLAT_MAX_DEPTH) {
		char rec[2048];
		size_t mark = f->out->len;
		if (fetch_record(f, target, rec, sizeof rec) &&
		    flatten_record(f, target, rec, qual, false, depth + 1))
			return true;
		f->out->len = mark; /* undo a partial include */
		f->out->data[mark] = '\0';
	}
	return false;
}

/*
 * A record's terms into f->out under qual (top: each term's own). false
 * when an included record holds a term that cannot move out of it.
 */
static bool
flatten_record(struct flat *f, const char *domain, const char *record, char qual, bool top,
	       int depth)
{
	struct term t;
	char redirect[300] = "";
	const char *p = next_term(record, &t); /* v=spf1 */
	while (*(p += strspn(p, " "))) {
		p = next_term(p, &t);
		char q = top ? t.qual : qual;
		if (t.modifier) {
			if (strcmp(t.name, "redirect") == 0)
				str_copy(redirect, sizeof redirect, t.arg);
			else if (top)
				buf_printf(f->out, " %s", t.text); /* exp= and unknown modifiers */
			continue;
		}
		if (strcmp(t.name, "all") == 0) {
			if (top)
				buf_printf(f->out, " %s", t.text);
			return true; /* nothing after an all is reached */
		}
		if (!top && t.qual != '+')
			continue; /* only pass terms make an include match */
		if (flatten_term(f, domain, &t, q, depth))
			continue;
		if (!top || f->dns_failed)
			return false;
		buf_printf(f->out, " %s", t.text);
	}
	if (redirect[0] && top) {
		char rec[2048];
		if (strchr(redirect, '%') == NULL && depth < FLAT_MAX_DEPTH &&
		    fetch_record(f, redirect, rec, sizeof rec))
			return flatten_record(f, redirect, rec, '+', true, depth + 1);
		buf_printf(f->out, " redirect=%s", redirect);
	}
	return true;
}

/* The flattened record served at its domain, everything else as the real DNS says. */
struct overlay {
	const struct ma_dns *dns;
	const char *domain, *record;
};

static enum ma_dns_rc
overlay_lookup(void *ctx, enum ma_rr type, const char *name, struct ma_dns_answer *out)
{
	struct overlay *o = ctx;
	if (type == MA_RR_TXT && str_eq_ci(name, o->domain)) {
		memset(out, 0, sizeof *out);
		ma_dns_answer_add(out, o->record, 0);
		return MA_DNS_OK;
	}
	return o->dns->lookup(o->dns->ctx, type, name, out);
}

int
spf_flat_flatten(const struct ma_dns *dns, const char *domain, const char *record, struct buf *out,
		 unsigned *lookups_r, char *why, size_t why_size)
{
	struct flat f = {.dns = dns, .out = out};
	buf_append_str(out, "v=spf1");
	flatten_record(&f, domain, record, '+', true, 0);
	if (f.dns_failed || out->len > FLAT_MAX_TEXT) {
		snprintf(why, why_size, "%s",
			 f.dns_failed ? f.why
				      : "the flattened record would be too long to publish");
		return -1;
	}
	/* Count as a receiver would: the flattened record in place of the real one. */
	struct overlay ov = {dns, domain, out->data};
	struct ma_dns odns = {overlay_lookup, &ov};
	static struct spf_census cs;
	spf_census(&odns, domain, &cs);
	*lookups_r = cs.lookups;
	why[0] = '\0';
	return 0;
}
