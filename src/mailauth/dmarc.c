/*
 * dmarc: the record, the organizational domain, discovery, alignment and
 * the policy (see the header for the choices where RFC 7489 leaves room).
 */
#include "dmarc.h"

#include <ctype.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "str.h"

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static struct strv
trim(struct strv s)
{
	while (s.len > 0 && is_wsp(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && is_wsp(s.p[s.len - 1]))
		s.len--;
	return s;
}

/* Appends "; before\"val\"after" to why (val escaped), cut to fit. */
static void
why_add(char *why, size_t size, const char *before, struct strv val, const char *after)
{
	if (why == NULL || size == 0)
		return;
	size_t used = strlen(why);
	char v[64];
	str_escape(v, sizeof v, val.p, val.len);
	snprintf(why + used, size - used, "%s%s\"%s\"%s", used > 0 ? "; " : "", before, v, after);
}

/* Appends "; a b" to why (no escaping: both are ours). */
static void
why_note(char *why, size_t size, const char *a, const char *b)
{
	if (why == NULL || size == 0)
		return;
	size_t used = strlen(why);
	snprintf(why + used, size - used, "%s%s%s", used > 0 ? "; " : "", a, b);
}

static bool
parse_policy(struct strv v, enum dmarc_policy *p)
{
	if (strv_eq_ci(v, "none"))
		*p = DMARC_POLICY_NONE;
	else if (strv_eq_ci(v, "quarantine"))
		*p = DMARC_POLICY_QUARANTINE;
	else if (strv_eq_ci(v, "reject"))
		*p = DMARC_POLICY_REJECT;
	else
		return false;
	return true;
}

static bool
parse_align(struct strv v, enum dmarc_align *a)
{
	if (strv_eq_ci(v, "r"))
		*a = DMARC_ALIGN_RELAXED;
	else if (strv_eq_ci(v, "s"))
		*a = DMARC_ALIGN_STRICT;
	else
		return false;
	return true;
}

/* RFC 7489 6.4 dmarc-uri: URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]; the URI
 * needs a scheme (RFC 3986 3.1) and something after it, and no spaces. */
static bool
uri_valid(struct strv u)
{
	size_t i = 0;
	if (u.len == 0 || !isalpha((unsigned char)u.p[0]))
		return false;
	while (i < u.len &&
	       (isalnum((unsigned char)u.p[i]) || u.p[i] == '+' || u.p[i] == '-' || u.p[i] == '.'))
		i++;
	if (i >= u.len || u.p[i] != ':' || i + 1 >= u.len)
		return false;
	for (size_t j = i + 1; j < u.len; j++) {
		unsigned char c = (unsigned char)u.p[j];
		if (c <= ' ' || c >= 0x7f || c == '"' || c == '<' || c == '>')
			return false;
		if (c == '!') { /* the size limit: digits and one unit letter at most */
			size_t k = j + 1, digits = 0;
			while (k < u.len && isdigit((unsigned char)u.p[k])) {
				k++;
				digits++;
			}
			if (k < u.len && strchr("kmgtKMGT", u.p[k]) != NULL)
				k++;
			return digits > 0 && k == u.len;
		}
	}
	return true;
}

/* The valid URIs of a comma-separated list, joined with ",". Returns how many. */
static unsigned
parse_uris(struct strv v, char *out, size_t out_size, const char *tag, char *why, size_t why_size)
{
	unsigned n = 0;
	size_t used = 0;
	out[0] = '\0';
	while (v.len > 0) {
		const char *comma = memchr(v.p, ',', v.len);
		size_t len = comma ? (size_t)(comma - v.p) : v.len;
		struct strv u = trim((struct strv){v.p, len});
		if (!uri_valid(u)) {
			why_add(why, why_size, tag, u, " is not a valid URI: ignored");
		} else if (used + (n > 0) + u.len < out_size) {
			if (n > 0)
				out[used++] = ',';
			memcpy(out + used, u.p, u.len);
			used += u.len;
			out[used] = '\0';
			n++;
		}
		if (comma == NULL)
			break;
		v.p += len + 1;
		v.len -= len + 1;
	}
	return n;
}

/* fo: 0, 1, d or s, separated by ":" (RFC 7489 6.4 dmarc-fo). */
static bool
fo_valid(struct strv v)
{
	bool want_opt = true;
	for (size_t i = 0; i < v.len; i++) {
		char c = v.p[i];
		if (is_wsp(c))
			continue;
		if (want_opt && strchr("01dsDS", c) != NULL && c != '\0')
			want_opt = false;
		else if (!want_opt && c == ':')
			want_opt = true;
		else
			return false;
	}
	return !want_opt;
}

static bool
parse_uint(struct strv v, uint64_t max, uint64_t *out)
{
	return v.len > 0 && v.len <= 10 && str_parse_u64(v, out) && *out <= max;
}

/* "v=DMARC1" as the first tag, the value exactly (RFC 7489 6.3 v=). */
static bool
is_version_tag(struct strv t)
{
	if (t.len == 0 || (t.p[0] != 'v' && t.p[0] != 'V'))
		return false;
	struct strv rest = trim((struct strv){t.p + 1, t.len - 1});
	if (rest.len == 0 || rest.p[0] != '=')
		return false;
	rest = trim((struct strv){rest.p + 1, rest.len - 1});
	return rest.len == 6 && memcmp(rest.p, "DMARC1", 6) == 0;
}

static void
record_defaults(struct dmarc_record *r)
{
	memset(r, 0, sizeof *r);
	r->p = DMARC_POLICY_UNSET;
	r->sp = DMARC_POLICY_UNSET;
	r->pct = 100;
	r->adkim = DMARC_ALIGN_RELAXED;
	r->aspf = DMARC_ALIGN_RELAXED;
	str_copy(r->fo, sizeof r->fo, "0");
	r->ri = 86400;
}

/* One "tag=value" after v=; errors go to why and leave the default. */
static void
record_tag(struct dmarc_record *r, struct strv name, struct strv v, bool *sp_bad, bool *p_bad,
	   char *why, size_t why_size)
{
	uint64_t n;
	if (strv_eq_ci(name, "p")) {
		if (!parse_policy(v, &r->p))
			*p_bad = true;
	} else if (strv_eq_ci(name, "sp")) {
		if (!parse_policy(v, &r->sp))
			*sp_bad = true;
	} else if (strv_eq_ci(name, "adkim")) {
		if (!parse_align(v, &r->adkim))
			why_add(why, why_size, "adkim=", v, " is not r or s: relaxed");
	} else if (strv_eq_ci(name, "aspf")) {
		if (!parse_align(v, &r->aspf))
			why_add(why, why_size, "aspf=", v, " is not r or s: relaxed");
	} else if (strv_eq_ci(name, "pct")) {
		if (parse_uint(v, 100, &n))
			r->pct = (unsigned)n;
		else
			why_add(why, why_size, "pct=", v, " is not 0 to 100: 100");
	} else if (strv_eq_ci(name, "ri")) {
		if (parse_uint(v, UINT32_MAX, &n))
			r->ri = (uint32_t)n;
		else
			why_add(why, why_size, "ri=", v, " is not a number: 86400");
	} else if (strv_eq_ci(name, "fo")) {
		if (fo_valid(v) && v.len < sizeof r->fo)
			str_copy_n(r->fo, sizeof r->fo, v.p, v.len);
		else
			why_add(why, why_size, "fo=", v, " is not valid: 0");
	} else if (strv_eq_ci(name, "rua")) {
		parse_uris(v, r->rua, sizeof r->rua, "rua: ", why, why_size);
	} else if (strv_eq_ci(name, "ruf")) {
		parse_uris(v, r->ruf, sizeof r->ruf, "ruf: ", why, why_size);
	}
	/* rf= and any unknown tag: ignored (RFC 7489 6.3: unknown tags MUST be ignored) */
}

/* RFC 7489 6.6.3 step 6: a record without a valid p= (or with an invalid
 * sp=) acts as p=none when its rua= is valid, else it is not usable. p_val,
 * sp_val: the invalid values (NULL: not the reason). */
static int
no_policy(struct dmarc_record *r, const struct strv *p_val, const struct strv *sp_val, char *why,
	  size_t why_size)
{
	char v[48], what[128];
	if (p_val != NULL) {
		str_escape(v, sizeof v, p_val->p, p_val->len);
		snprintf(what, sizeof what, "p=\"%s\" is not none, quarantine or reject", v);
	} else if (r->p == DMARC_POLICY_UNSET) {
		snprintf(what, sizeof what, "the record has no p= tag");
	} else {
		str_escape(v, sizeof v, sp_val->p, sp_val->len);
		snprintf(what, sizeof what, "sp=\"%s\" is not none, quarantine or reject", v);
	}
	if (r->rua[0] != '\0') {
		r->p = DMARC_POLICY_NONE;
		r->sp = DMARC_POLICY_UNSET;
		r->p_from_rua = true;
		why_note(why, why_size, what, ": read as p=none since rua= is valid");
		return DMARC_REC_OK;
	}
	if (why != NULL && why_size > 0)
		snprintf(why, why_size, "%s (and no valid rua=)", what);
	return DMARC_REC_INVALID;
}

int
dmarc_record_parse(const char *txt, struct dmarc_record *r, char *why, size_t why_size)
{
	struct strv s = trim(strv_from(txt));
	bool first = true, p_bad = false, sp_bad = false;
	struct strv p_val = {0}, sp_val = {0};

	record_defaults(r);
	if (why != NULL && why_size > 0)
		why[0] = '\0';
	while (s.len > 0 || first) {
		const char *semi = memchr(s.p, ';', s.len);
		size_t len = semi ? (size_t)(semi - s.p) : s.len;
		struct strv t = trim((struct strv){s.p, len});
		if (first) {
			if (!is_version_tag(t))
				return DMARC_REC_NOT_DMARC;
			first = false;
		} else if (t.len > 0) {
			const char *eq = memchr(t.p, '=', t.len);
			if (eq == NULL || eq == t.p) {
				why_add(why, why_size, "", t, " is not tag=value: ignored");
			} else {
				struct strv name = trim((struct strv){t.p, (size_t)(eq - t.p)});
				struct strv v =
				    trim((struct strv){eq + 1, t.len - (size_t)(eq - t.p) - 1});
				bool pb = p_bad, sb = sp_bad;
				record_tag(r, name, v, &sp_bad, &p_bad, why, why_size);
				if (p_bad && !pb)
					p_val = v;
				if (sp_bad && !sb)
					sp_val = v;
			}
		}
		if (semi == NULL)
			break;
		s.p += len + 1;
		s.len -= len + 1;
	}
	if (r->p == DMARC_POLICY_UNSET || p_bad || sp_bad)
		return no_policy(r, p_bad ? &p_val : NULL, sp_bad ? &sp_val : NULL, why, why_size);
	return DMARC_REC_OK;
}

/* ---- the organizational domain ---- */

static pthread_once_t psl_once = PTHREAD_ONCE_INIT;
static psl_ctx_t *psl_ctx;

static void
psl_init(void)
{
	/* The newer of Debian's list (psl_dist_filename(), from the publicsuffix
	 * package) and libpsl's built-in copy. */
	psl_ctx = psl_latest(NULL);
	if (psl_ctx == NULL)
		psl_ctx = (psl_ctx_t *)psl_builtin();
}

/* domain lower-cased without a trailing dot into out; false if it does not fit. */
static bool
norm_domain(const char *domain, char *out, size_t out_size)
{
	size_t n = strlen(domain);
	if (n > 0 && domain[n - 1] == '.')
		n--;
	if (!str_copy_n(out, out_size, domain, n))
		return false;
	str_lower(out);
	return true;
}

const char *
dmarc_org_domain(const char *domain, char *out, size_t out_size)
{
	if (!norm_domain(domain, out, out_size))
		return NULL;
	pthread_once(&psl_once, psl_init);
	/* Without a list (libpsl built without one and no file) every domain is
	 * its own organization: alignment is then strict, never looser. */
	const char *reg = psl_ctx ? psl_registrable_domain(psl_ctx, out) : NULL;
	if (reg != NULL && reg != out)
		memmove(out, reg, strlen(reg) + 1);
	return out;
}

bool
dmarc_aligned(const char *from_domain, const char *auth_domain, enum dmarc_align mode)
{
	char a[256], b[256];
	if (from_domain == NULL || auth_domain == NULL || auth_domain[0] == '\0')
		return false;
	if (mode == DMARC_ALIGN_STRICT) {
		return norm_domain(from_domain, a, sizeof a) &&
		       norm_domain(auth_domain, b, sizeof b) && strcmp(a, b) == 0;
	}
	return dmarc_org_domain(from_domain, a, sizeof a) &&
	       dmarc_org_domain(auth_domain, b, sizeof b) && strcmp(a, b) == 0;
}

const char *
dmarc_result_name(enum dmarc_result r)
{
	static const char *const names[] = {"none", "pass", "fail", "temperror", "permerror"};
	return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "permerror";
}

const char *
dmarc_policy_name(enum dmarc_policy p)
{
	static const char *const names[] = {"", "none", "quarantine", "reject"};
	return (unsigned)p < sizeof names / sizeof names[0] ? names[p] : "";
}
