/*
 * spf_eval: check_host() (RFC 7208 4-6) and the identity rules around it
 * (2.3, 2.4, 4.3).
 *
 * One struct spf_eval carries what stays the same through the recursion
 * of include and redirect: the client, the sender, the counters of the
 * 4.6.4 limits (shared by every record visited: 10 DNS-querying terms, 2
 * void lookups) and the names the ptr validation found. Recursion is
 * bounded by the term limit, since each include and redirect counts.
 *
 * temperror vs permerror, as the RFC has them: a DNS failure of a term's
 * own lookup is a temperror (5), except for ptr, which just does not match
 * (5.5); an include whose target has no record is a permerror (5.2), as is
 * a redirect to one (6.1); a syntax error anywhere in a record is a
 * permerror before any term is evaluated (4.6).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spf.h"
#include "spf_internal.h"
#include "str.h"

#define SPF_EXPANSION_MAX (64 * 1024)

struct spf_eval {
	const struct ma_dns *dns;
	struct spf_macro_env env;
	unsigned lookups, voids;
	char reason[256];
	char explanation[512];
	/* The client's validated PTR names (5.5), found once for ptr and %{p}. */
	bool ptr_done;
	enum ma_dns_rc ptr_rc;
	size_t nptr;
	char ptr[SPF_MAX_NAMES][256];
	char ptr_pick[256];
};

enum spf_match { M_NO, M_YES, M_TEMP, M_PERM };

/* A buffer's text; an empty expansion leaves data NULL. */
static const char *
bstr(const struct buf *b)
{
	return b->data ? b->data : "";
}

static enum spf_result check_host(struct spf_eval *e, const char *domain, bool want_exp);

const char *
spf_result_name(enum spf_result r)
{
	static const char *const names[] = {"none",	"neutral",   "pass",	 "fail",
					    "softfail", "temperror", "permerror"};
	return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "permerror";
}

static void reason(struct spf_eval *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
reason(struct spf_eval *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof e->reason, fmt, ap);
	va_end(ap);
}

static enum spf_match
count_lookup(struct spf_eval *e, const char *term)
{
	/* RFC 7208 4.6.4: more than 10 terms that query DNS is a permerror. */
	if (++e->lookups > SPF_MAX_DNS_TERMS) {
		reason(e, "more than 10 DNS-querying terms (RFC 7208 4.6.4), at '%s' in %s", term,
		       e->env.domain);
		return M_PERM;
	}
	return M_NO;
}

static enum spf_match
count_void(struct spf_eval *e, const char *term)
{
	/* RFC 7208 4.6.4: more than 2 lookups answered NXDOMAIN or empty is a permerror. */
	if (++e->voids > SPF_MAX_VOID) {
		reason(e, "more than 2 void DNS lookups (RFC 7208 4.6.4), at '%s' in %s", term,
		       e->env.domain);
		return M_PERM;
	}
	return M_NO;
}

/* The target of a term: its domain-spec expanded, or the current domain. */
static bool
target(struct spf_eval *e, const char *spec, struct buf *out)
{
	if (spec == NULL) {
		buf_reset(out);
		return buf_append_str(out, e->env.domain);
	}
	char why[160];
	if (!spf_macro_expand(spec, strlen(spec), &e->env, false, out, why, sizeof why)) {
		reason(e, "cannot expand '%s': %s", spec, why);
		return false;
	}
	return true;
}

static bool
addr_in(struct spf_eval *e, const struct ma_dns_answer *a, int cidr)
{
	for (size_t i = 0; i < a->n; i++) {
		unsigned char ip[16];
		if (spf_ip_parse(a->rr[i], ip) == e->env.family &&
		    spf_ip_prefix_eq(ip, e->env.ip, cidr))
			return true;
	}
	return false;
}

static enum ma_rr
addr_type(const struct spf_eval *e)
{
	return e->env.family == 6 ? MA_RR_AAAA : MA_RR_A;
}

static enum ma_dns_rc
lookup(struct spf_eval *e, enum ma_rr type, const char *name, struct ma_dns_answer *a)
{
	memset(a, 0, sizeof *a);
	if (!spf_domain_is_valid(name))
		return MA_DNS_NXDOMAIN; /* no such name can exist (an empty label, too long) */
	return e->dns->lookup(e->dns->ctx, type, name, a);
}

static enum spf_match
dns_error(struct spf_eval *e, enum ma_rr type, const char *name)
{
	snprintf(e->reason, sizeof e->reason, "DNS lookup of %s %s failed (a temporary error)",
		 ma_rr_name(type), name);
	return M_TEMP;
}

/* a, and each exchange of mx: do the name's addresses cover the client? */
static enum spf_match
match_host(struct spf_eval *e, const char *name, const struct spf_term *t, bool count_voids)
{
	struct ma_dns_answer a;
	enum ma_rr type = addr_type(e);
	enum ma_dns_rc rc = lookup(e, type, name, &a);
	if (rc == MA_DNS_TEMPFAIL)
		return dns_error(e, type, name);
	if (rc != MA_DNS_OK)
		return count_voids ? count_void(e, t->text) : M_NO;
	bool yes = addr_in(e, &a, e->env.family == 6 ? t->cidr6 : t->cidr4);
	ma_dns_answer_free(&a);
	return yes ? M_YES : M_NO;
}

static enum spf_match
match_mx(struct spf_eval *e, const char *name, const struct spf_term *t)
{
	struct ma_dns_answer mx;
	enum ma_dns_rc rc = lookup(e, MA_RR_MX, name, &mx);
	if (rc == MA_DNS_TEMPFAIL)
		return dns_error(e, MA_RR_MX, name);
	if (rc != MA_DNS_OK)
		return count_void(e, t->text);
	enum spf_match m = M_NO;
	/* RFC 7208 4.6.4: an mx whose lookup gives more than 10 names is a permerror. */
	if (mx.n > SPF_MAX_NAMES) {
		reason(e, "'%s' in %s: more than 10 MX names (RFC 7208 4.6.4)", t->text,
		       e->env.domain);
		m = M_PERM;
	}
	for (size_t i = 0; i < mx.n && m == M_NO; i++)
		if (mx.rr[i][0] && strcmp(mx.rr[i], ".") != 0) /* "." is RFC 7505's null MX */
			m = match_host(e, mx.rr[i], t, false);
	ma_dns_answer_free(&mx);
	return m;
}

static void
reverse_name(const struct spf_eval *e, char *out, size_t size)
{
	const unsigned char *ip = e->env.ip;
	if (e->env.family == 4) {
		snprintf(out, size, "%u.%u.%u.%u.in-addr.arpa", ip[3], ip[2], ip[1], ip[0]);
		return;
	}
	size_t n = 0;
	for (int k = 15; k >= 0 && n + 4 < size; k--)
		n += (size_t)snprintf(out + n, size - n, "%x.%x.", ip[k] & 15, ip[k] >> 4);
	snprintf(out + n, size - n, "ip6.arpa");
}

/*
 * RFC 7208 5.5: the client's PTR names (the first 10) whose own addresses
 * include the client. A failed PTR lookup leaves none; a failed address
 * lookup skips that name. Done once per evaluation.
 */
static void
ptr_validate(struct spf_eval *e)
{
	if (e->ptr_done)
		return;
	e->ptr_done = true;
	char rev[80];
	reverse_name(e, rev, sizeof rev);
	struct ma_dns_answer names;
	memset(&names, 0, sizeof names);
	e->ptr_rc = e->dns->lookup(e->dns->ctx, MA_RR_PTR, rev, &names);
	if (e->ptr_rc != MA_DNS_OK)
		return;
	for (size_t i = 0; i < names.n && i < SPF_MAX_NAMES; i++) {
		struct ma_dns_answer a;
		if (lookup(e, addr_type(e), names.rr[i], &a) != MA_DNS_OK)
			continue;
		if (addr_in(e, &a, e->env.family == 6 ? 128 : 32))
			str_copy(e->ptr[e->nptr++], sizeof e->ptr[0], names.rr[i]);
		ma_dns_answer_free(&a);
	}
	ma_dns_answer_free(&names);
}

/* Is name the domain d or one of its subdomains (case-insensitive, final dots ignored)? */
static bool
name_under(const char *name, const char *d)
{
	size_t n = strlen(name), m = strlen(d);
	if (n && name[n - 1] == '.')
		n--;
	if (m && d[m - 1] == '.')
		m--;
	if (m == 0 || n < m || strncasecmp(name + n - m, d, m) != 0)
		return false;
	return n == m || name[n - m - 1] == '.';
}

static enum spf_match
match_ptr(struct spf_eval *e, const char *d, const struct spf_term *t)
{
	ptr_validate(e);
	if (e->ptr_rc == MA_DNS_NXDOMAIN || e->ptr_rc == MA_DNS_NODATA)
		return count_void(e, t->text);
	for (size_t i = 0; i < e->nptr; i++)
		if (name_under(e->ptr[i], d))
			return M_YES;
	return M_NO;
}

/* %{p} (7.3): the validated name equal to, else under, the current domain, else any. */
static const char *
ptr_macro(void *arg)
{
	struct spf_eval *e = arg;
	ptr_validate(e);
	const char *pick = NULL;
	for (size_t i = 0; i < e->nptr && !pick; i++)
		if (name_under(e->ptr[i], e->env.domain) &&
		    strlen(e->ptr[i]) == strlen(e->env.domain))
			pick = e->ptr[i];
	for (size_t i = 0; i < e->nptr && !pick; i++)
		if (name_under(e->ptr[i], e->env.domain))
			pick = e->ptr[i];
	if (!pick && e->nptr)
		pick = e->ptr[0];
	if (!pick)
		return NULL;
	str_copy(e->ptr_pick, sizeof e->ptr_pick, pick);
	return e->ptr_pick;
}

static enum spf_match
match_include(struct spf_eval *e, const char *name, const struct spf_term *t)
{
	enum spf_result r = check_host(e, name, false);
	switch (r) {
	case SPF_PASS:
		return M_YES;
	case SPF_FAIL:
	case SPF_SOFTFAIL:
	case SPF_NEUTRAL:
		return M_NO;
	case SPF_TEMPERROR:
		return M_TEMP;
	case SPF_NONE:
		/* RFC 7208 5.2: including a domain without a record is a permerror. */
		reason(e, "'%s' in %s: the included domain has no SPF record", t->text,
		       e->env.domain);
		return M_PERM;
	default:
		return M_PERM;
	}
}

static enum spf_match
match_term(struct spf_eval *e, const struct spf_term *t, struct buf *name)
{
	switch (t->mech) {
	case SPF_M_ALL:
		return M_YES;
	case SPF_M_IP4:
		return e->env.family == 4 && spf_ip_prefix_eq(e->env.ip, t->ip, t->cidr4) ? M_YES
											  : M_NO;
	case SPF_M_IP6:
		return e->env.family == 6 && spf_ip_prefix_eq(e->env.ip, t->ip, t->cidr6) ? M_YES
											  : M_NO;
	default:
		break;
	}
	if (count_lookup(e, t->text) == M_PERM)
		return M_PERM;
	if (!target(e, t->domain, name))
		return M_PERM;
	switch (t->mech) {
	case SPF_M_A:
		return match_host(e, bstr(name), t, true);
	case SPF_M_MX:
		return match_mx(e, bstr(name), t);
	case SPF_M_PTR:
		return match_ptr(e, bstr(name), t);
	case SPF_M_INCLUDE:
		return match_include(e, bstr(name), t);
	case SPF_M_EXISTS: {
		/* exists always asks for A records, whatever the client's family (5.7). */
		struct ma_dns_answer a;
		enum ma_dns_rc rc = lookup(e, MA_RR_A, bstr(name), &a);
		if (rc == MA_DNS_TEMPFAIL)
			return dns_error(e, MA_RR_A, bstr(name));
		if (rc != MA_DNS_OK)
			return count_void(e, t->text);
		ma_dns_answer_free(&a);
		return M_YES;
	}
	default:
		return M_PERM;
	}
}

/* RFC 7208 6.2: the exp= text, expanded; left empty when anything goes wrong. */
static void
explain(struct spf_eval *e, const char *spec)
{
	struct buf name, text;
	buf_init(&name, SPF_EXPANSION_MAX);
	buf_init(&text, SPF_EXPANSION_MAX);
	char why[160];
	struct ma_dns_answer a;
	memset(&a, 0, sizeof a);
	if (!spf_macro_expand(spec, strlen(spec), &e->env, false, &name, why, sizeof why))
		goto out;
	if (lookup(e, MA_RR_TXT, bstr(&name), &a) != MA_DNS_OK || a.n != 1)
		goto out; /* none, several, or a DNS error: no explanation (6.2) */
	const char *s = a.rr[0];
	if (!spf_macro_check(s, strlen(s), true, why, sizeof why) ||
	    !spf_macro_expand(s, strlen(s), &e->env, true, &text, why, sizeof why))
		goto out;
	for (size_t i = 0; i < text.len; i++) /* what a macro brought in may be anything */
		if ((unsigned char)text.data[i] < 0x20 || (unsigned char)text.data[i] > 0x7e)
			text.data[i] = '?';
	str_copy(e->explanation, sizeof e->explanation, bstr(&text));
out:
	ma_dns_answer_free(&a);
	buf_free(&name);
	buf_free(&text);
}

static enum spf_result
qualifier_result(char q)
{
	return q == '-' ? SPF_FAIL : q == '~' ? SPF_SOFTFAIL : q == '?' ? SPF_NEUTRAL : SPF_PASS;
}

/* 4.4, 4.5: the domain's one SPF record into r; a result other than -1 ends check_host. */
static int
select_record(struct spf_eval *e, const char *domain, struct spf_record *r)
{
	struct ma_dns_answer a;
	enum ma_dns_rc rc = lookup(e, MA_RR_TXT, domain, &a);
	if (rc == MA_DNS_TEMPFAIL) {
		dns_error(e, MA_RR_TXT, domain);
		return SPF_TEMPERROR;
	}
	const char *rec = NULL;
	size_t n = 0;
	for (size_t i = 0; rc == MA_DNS_OK && i < a.n; i++)
		if (spf_record_is_spf(a.rr[i]) && n++ == 0)
			rec = a.rr[i];
	int res = -1;
	char why[200];
	if (n == 0) {
		reason(e, "%s has no SPF record%s", domain, "");
		res = SPF_NONE;
	} else if (n > 1) {
		reason(e, "%s has more than one SPF record (RFC 7208 4.5)%s", domain, "");
		res = SPF_PERMERROR;
	} else if (spf_record_parse(rec, r, why, sizeof why) < 0) {
		reason(e, "%s's SPF record: %s", domain, why);
		res = SPF_PERMERROR;
	}
	ma_dns_answer_free(&a);
	return res;
}

static enum spf_result
eval_redirect(struct spf_eval *e, const struct spf_record *r, const char *domain, bool want_exp,
	      struct buf *name)
{
	char term[300];
	snprintf(term, sizeof term, "redirect=%s", r->redirect);
	if (count_lookup(e, term) == M_PERM || !target(e, r->redirect, name))
		return SPF_PERMERROR;
	/* 6.2: the target's exp= applies, this record's does not. */
	enum spf_result res = check_host(e, bstr(name), want_exp);
	if (res == SPF_NONE) {
		/* 6.1: a redirect to a domain without a record is a permerror. */
		reason(e, "%s: redirect=%s leads to a domain without an SPF record", domain,
		       bstr(name));
		return SPF_PERMERROR;
	}
	return res;
}

static enum spf_result
eval_record(struct spf_eval *e, const struct spf_record *r, const char *domain, bool want_exp)
{
	struct buf name;
	buf_init(&name, SPF_EXPANSION_MAX);
	enum spf_result res = SPF_NEUTRAL;
	size_t i;
	for (i = 0; i < r->nterms; i++) {
		const struct spf_term *t = &r->terms[i];
		enum spf_match m = match_term(e, t, &name);
		if (m == M_TEMP || m == M_PERM) {
			res = m == M_TEMP ? SPF_TEMPERROR : SPF_PERMERROR;
			break;
		}
		if (m == M_YES) {
			res = qualifier_result(t->qualifier);
			reason(e, "'%s' matched in %s's SPF record", t->text, domain);
			if (res == SPF_FAIL && want_exp && r->exp)
				explain(e, r->exp);
			break;
		}
	}
	if (i == r->nterms) {
		if (r->redirect && !r->has_all)
			res = eval_redirect(e, r, domain, want_exp, &name);
		else
			reason(e, "no term matched in %s's SPF record (the default is neutral)%s",
			       domain, "");
	}
	buf_free(&name);
	return res;
}

static enum spf_result
check_host(struct spf_eval *e, const char *domain, bool want_exp)
{
	if (!spf_domain_is_valid(domain)) {
		/* 4.3: a malformed or single-label domain has no SPF (none, not an error). */
		reason(e, "'%s' is not a valid domain name for SPF (RFC 7208 4.3)%s", domain, "");
		return SPF_NONE;
	}
	const char *saved = e->env.domain;
	e->env.domain = domain;
	struct spf_record r;
	memset(&r, 0, sizeof r);
	int sel = select_record(e, domain, &r);
	enum spf_result res =
	    sel >= 0 ? (enum spf_result)sel : eval_record(e, &r, domain, want_exp);
	spf_record_free(&r);
	e->env.domain = saved;
	return res;
}

void
spf_check_host(const struct ma_dns *dns, const struct spf_request *rq, const char *domain,
	       const char *sender, const char *identity, struct spf_outcome *out)
{
	memset(out, 0, sizeof *out);
	str_copy(out->identity, sizeof out->identity, identity);
	bool fits = str_copy(out->domain, sizeof out->domain, domain) &&
		    str_copy(out->sender, sizeof out->sender, sender);
	size_t dl = strlen(out->domain);
	if (dl > 1 && out->domain[dl - 1] == '.')
		out->domain[dl - 1] = 0; /* the root's dot is not part of %{d} */
	if (!fits) {
		out->result = SPF_NONE; /* 4.3: longer than any domain name can be */
		snprintf(out->reason, sizeof out->reason,
			 "the domain or sender is too long to be valid (RFC 7208 4.3)");
		return;
	}
	struct spf_eval e;
	memset(&e, 0, sizeof e);
	e.dns = dns;
	e.env.family = spf_ip_parse(rq->ip, e.env.ip);
	if (e.env.family == 0) {
		out->result = SPF_PERMERROR;
		snprintf(out->reason, sizeof out->reason,
			 "the client address '%s' is not an IP address", rq->ip ? rq->ip : "");
		return;
	}
	/* l and o come from the sender; "postmaster" stands in for a missing local part (4.3). */
	char local[520];
	const char *at = strrchr(out->sender, '@');
	str_copy_n(local, sizeof local, out->sender, at ? (size_t)(at - out->sender) : 0);
	e.env.sender = out->sender;
	e.env.local = local;
	e.env.sender_d = at ? at + 1 : out->sender;
	e.env.helo = rq->helo ? rq->helo : "";
	e.env.receiver = rq->receiver;
	e.env.now = rq->now;
	e.env.ptr_name = ptr_macro;
	e.env.ptr_arg = &e;
	e.env.domain = out->domain;
	out->result = check_host(&e, out->domain, true);
	if (out->result == SPF_FAIL) {
		if (e.explanation[0] == 0)
			snprintf(e.explanation, sizeof e.explanation,
				 "%s does not designate %s as a permitted sender", out->domain,
				 rq->ip);
		str_copy(out->explanation, sizeof out->explanation, e.explanation);
	}
	str_copy(out->reason, sizeof out->reason, e.reason);
	out->lookups = e.lookups;
	out->void_lookups = e.voids;
}

/* The reverse-path without <>, and without an RFC 5321 source route ("@a,@b:"). */
static void
bare_path(const char *s, char *out, size_t size)
{
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s++;
		n -= 2;
	}
	const char *colon = n && s[0] == '@' ? memchr(s, ':', n) : NULL;
	if (colon) {
		n -= (size_t)(colon + 1 - s);
		s = colon + 1;
	}
	str_copy_n(out, size, s, n < size ? n : size - 1);
}

void
spf_check(const struct ma_dns *dns, const struct spf_request *rq, struct spf_outcome *out)
{
	char path[520], sender[520];
	bare_path(rq->sender ? rq->sender : "", path, sizeof path);
	const char *helo = rq->helo ? rq->helo : "";
	if (path[0] == 0) {
		/* 2.4: with a null reverse-path, the HELO identity is checked as postmaster@helo.
		 */
		snprintf(sender, sizeof sender, "postmaster@%s", helo);
		spf_check_host(dns, rq, helo, sender, "helo", out);
		return;
	}
	const char *at = strrchr(path, '@');
	const char *domain = at ? at + 1 : path;
	if (at == NULL || at == path) /* 4.3: no local part: postmaster */
		snprintf(sender, sizeof sender, "postmaster@%s", domain);
	else
		str_copy(sender, sizeof sender, path);
	char dom[256];
	str_copy(dom, sizeof dom, domain);
	spf_check_host(dns, rq, dom, sender, "mailfrom", out);
}
