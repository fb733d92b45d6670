/*
 * dkim_tags: tag lists, the DKIM-Signature field and the key record
 * (RFC 6376 3.2, 3.5, 3.6.1, 6.1.1); see the header. Building fields and
 * records is in dkim_tags_build.c.
 */
#include "dkim_tags.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "b64.h"

#define WHY(...) (snprintf(why, why_size, __VA_ARGS__), -1)

static bool
is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 6376 3.2 VALCHAR (%x21-3A / %x3C-7E), bytes of UTF-8 let through. */
static bool
is_valchar(unsigned char c)
{
	return (c >= 0x21 && c <= 0x7e && c != ';') || c >= 0x80;
}

static bool
name_taken(const struct dkim_tag_list *l, struct strv name)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->t[i].name.len == name.len && memcmp(l->t[i].name.p, name.p, name.len) == 0)
			return true;
	return false;
}

/* Reads one tag-spec at *pos (white space before it skipped). */
static int
parse_spec(const char *p, size_t len, size_t *pos, struct dkim_tag *t, char *why, size_t why_size)
{
	size_t i = *pos;
	size_t start = i;
	if (!is_alpha(p[i]))
		return WHY("a tag name must start with a letter (at \"%.*s\")",
			   (int)(len - i > 20 ? 20 : len - i), p + i);
	while (i < len && (is_alpha(p[i]) || is_digit(p[i]) || p[i] == '_'))
		i++;
	t->name = (struct strv){p + start, i - start};
	while (i < len && is_fws(p[i]))
		i++;
	if (i == len || p[i] != '=')
		return WHY("tag \"%.*s\" has no '='", (int)(t->name.len > 32 ? 32 : t->name.len),
			   t->name.p);
	t->eq_end = ++i;
	while (i < len && is_fws(p[i]))
		i++;
	size_t vstart = i, vend = i;
	for (; i < len && p[i] != ';'; i++) {
		if (is_fws(p[i]))
			continue;
		if (!is_valchar((unsigned char)p[i]))
			return WHY("tag \"%.*s\" has a control character in its value",
				   (int)(t->name.len > 32 ? 32 : t->name.len), t->name.p);
		vend = i + 1;
	}
	t->value = (struct strv){p + vstart, vend - vstart};
	t->spec_end = i;
	*pos = i;
	return 0;
}

int
dkim_tags_parse(const char *p, size_t len, struct dkim_tag_list *l, char *why, size_t why_size)
{
	size_t i = 0;
	l->n = 0;
	for (;;) {
		while (i < len && is_fws(p[i]))
			i++;
		if (i == len)
			return 0;
		if (p[i] == ';') { /* an empty tag-spec: tolerated */
			i++;
			continue;
		}
		struct dkim_tag t;
		if (parse_spec(p, len, &i, &t, why, why_size) < 0)
			return -1;
		if (name_taken(l, t.name))
			return WHY("tag \"%.*s\" appears twice",
				   (int)(t.name.len > 32 ? 32 : t.name.len), t.name.p);
		if (l->n == DKIM_TAGS_MAX)
			return WHY("more than %d tags", DKIM_TAGS_MAX);
		l->t[l->n++] = t;
		if (i < len)
			i++; /* the ';' */
	}
}

const struct strv *
dkim_tags_get(const struct dkim_tag_list *l, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < l->n; i++)
		if (l->t[i].name.len == n && memcmp(l->t[i].name.p, name, n) == 0)
			return &l->t[i].value;
	return NULL;
}

const char *
dkim_alg_name(enum dkim_alg a)
{
	switch (a) {
	case DKIM_RSA_SHA256:
		return "rsa-sha256";
	case DKIM_ED25519_SHA256:
		return "ed25519-sha256";
	case DKIM_RSA_SHA1:
		return "rsa-sha1";
	}
	return "?";
}

enum dkim_key_type
dkim_alg_key_type(enum dkim_alg a)
{
	return a == DKIM_ED25519_SHA256 ? DKIM_KEY_ED25519 : DKIM_KEY_RSA;
}

size_t
dkim_alg_hash_len(enum dkim_alg a)
{
	return a == DKIM_RSA_SHA1 ? 20 : 32;
}

/* Base64 with folding white space inside (b=, bh=, p=). */
static bool
decode_b64(struct strv v, unsigned char *out, size_t out_size, size_t *len_r)
{
	char tmp[4096];
	size_t n = 0;
	for (size_t i = 0; i < v.len; i++) {
		if (is_fws(v.p[i]))
			continue;
		if (n == sizeof tmp)
			return false;
		tmp[n++] = v.p[i];
	}
	if (n == 0) {
		*len_r = 0;
		return true;
	}
	return b64_decode(tmp, n, out, out_size, len_r);
}

/* A domain name or selector: dot-separated labels of letters, digits,
 * '-' and '_' (selectors and some d= use '_'), each 1-63 long. */
static bool
is_domainish(struct strv v, size_t max)
{
	if (v.len == 0 || v.len > max)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < v.len; i++) {
		char c = v.p[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (is_alpha(c) || is_digit(c) || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

static bool
strv_is(struct strv v, const char *s)
{
	return v.len == strlen(s) && memcmp(v.p, s, v.len) == 0;
}

/* Splits a colon-separated list (h=, q=, key h=, s=, t=): each item
 * without white space around it; calls each(item) and stops at false. */
static bool
for_each_item(struct strv v, bool (*each)(void *ctx, struct strv item), void *ctx)
{
	size_t i = 0;
	while (i <= v.len) {
		size_t j = i;
		while (j < v.len && v.p[j] != ':')
			j++;
		size_t a = i, b = j;
		while (a < b && is_fws(v.p[a]))
			a++;
		while (b > a && is_fws(v.p[b - 1]))
			b--;
		if (!each(ctx, (struct strv){v.p + a, b - a}))
			return false;
		i = j + 1;
	}
	return true;
}

static bool
parse_number(struct strv v, size_t max_digits, uint64_t *out)
{
	return v.len <= max_digits && str_parse_u64(v, out);
}

static int
parse_alg(struct strv v, struct dkim_sig *sig, char *why, size_t why_size)
{
	if (strv_eq_ci(v, "rsa-sha256"))
		sig->alg = DKIM_RSA_SHA256;
	else if (strv_eq_ci(v, "ed25519-sha256"))
		sig->alg = DKIM_ED25519_SHA256;
	else if (strv_eq_ci(v, "rsa-sha1"))
		sig->alg = DKIM_RSA_SHA1;
	else
		return WHY("unsupported algorithm a=%.*s", (int)(v.len > 32 ? 32 : v.len), v.p);
	return 0;
}

static bool
parse_canon_one(struct strv v, enum dkim_canon_alg *c)
{
	if (strv_eq_ci(v, "simple"))
		*c = DKIM_CANON_SIMPLE;
	else if (strv_eq_ci(v, "relaxed"))
		*c = DKIM_CANON_RELAXED;
	else
		return false;
	return true;
}

static int
parse_canon(const struct strv *v, struct dkim_sig *sig, char *why, size_t why_size)
{
	sig->hcanon = sig->bcanon = DKIM_CANON_SIMPLE; /* 3.5: the default */
	if (v == NULL)
		return 0;
	const char *slash = memchr(v->p, '/', v->len);
	struct strv h = {v->p, slash ? (size_t)(slash - v->p) : v->len};
	bool ok = parse_canon_one(h, &sig->hcanon);
	if (ok && slash)
		ok = parse_canon_one((struct strv){slash + 1, v->len - h.len - 1}, &sig->bcanon);
	if (!ok)
		return WHY("unknown canonicalization c=%.*s", (int)(v->len > 32 ? 32 : v->len),
			   v->p);
	return 0;
}

struct h_ctx {
	struct dkim_sig *sig;
	size_t used;
	bool bad, from;
};

static bool
add_h(void *vctx, struct strv item)
{
	struct h_ctx *c = vctx;
	if (item.len == 0 || c->sig->nh == DKIM_SIG_HDRS_MAX ||
	    c->used + item.len + 1 > sizeof c->sig->h) {
		c->bad = true;
		return false;
	}
	for (size_t i = 0; i < item.len; i++) {
		unsigned char ch = (unsigned char)item.p[i];
		if (ch <= 0x20 || ch >= 0x7f) { /* RFC 5322 ftext */
			c->bad = true;
			return false;
		}
	}
	char *dst = c->sig->h + c->used;
	memcpy(dst, item.p, item.len);
	dst[item.len] = '\0';
	c->sig->hv[c->sig->nh++] = dst;
	c->used += item.len + 1;
	if (strv_eq_ci(item, "from"))
		c->from = true;
	return true;
}

static int
parse_h(struct strv v, struct dkim_sig *sig, char *why, size_t why_size)
{
	struct h_ctx c = {.sig = sig};
	sig->nh = 0;
	for_each_item(v, add_h, &c);
	if (c.bad)
		return WHY("h= is malformed or lists more than %d fields", DKIM_SIG_HDRS_MAX);
	if (!c.from)
		return WHY("h= does not list From (RFC 6376 5.4)");
	return 0;
}

static bool
has_dns_txt(void *vctx, struct strv item)
{
	bool *found = vctx;
	if (strv_eq_ci(item, "dns/txt"))
		*found = true;
	return true;
}

/* i=: "[local]@domain", the domain d or a subdomain of it (6.1.1). */
static int
parse_i(const struct strv *v, struct dkim_sig *sig, char *why, size_t why_size)
{
	if (v == NULL) {
		snprintf(sig->i, sizeof sig->i, "@%s", sig->d);
		return 0;
	}
	const char *at = NULL;
	for (size_t k = 0; k < v->len; k++)
		if (v->p[k] == '@')
			at = v->p + k;
	if (at == NULL || !str_copy_n(sig->i, sizeof sig->i, v->p, v->len))
		return WHY("i= is not an address");
	struct strv dom = {at + 1, v->len - (size_t)(at + 1 - v->p)};
	size_t dl = strlen(sig->d);
	bool same = dom.len == dl && strncasecmp(dom.p, sig->d, dl) == 0;
	bool below = dom.len > dl + 1 && dom.p[dom.len - dl - 1] == '.' &&
		     strncasecmp(dom.p + dom.len - dl, sig->d, dl) == 0;
	if (!same && !below)
		return WHY("i= domain is not d=%s or a subdomain of it", sig->d);
	return 0;
}

static int
parse_times(const struct dkim_tag_list *l, struct dkim_sig *sig, char *why, size_t why_size)
{
	const struct strv *v;
	uint64_t n;
	if ((v = dkim_tags_get(l, "l")) != NULL) {
		if (!parse_number(*v, 76, &n))
			return WHY("l= is not a number of octets");
		sig->has_l = true;
		sig->l = n;
	}
	/* t= and x= are 12 digits at most (3.5); anything larger is refused
	 * rather than wrapped. */
	if ((v = dkim_tags_get(l, "t")) != NULL) {
		if (!parse_number(*v, 12, &n))
			return WHY("t= is not a time");
		sig->has_t = true;
		sig->t = (int64_t)n;
	}
	if ((v = dkim_tags_get(l, "x")) != NULL) {
		if (!parse_number(*v, 12, &n))
			return WHY("x= is not a time");
		sig->has_x = true;
		sig->x = (int64_t)n;
	}
	if (sig->has_t && sig->has_x && sig->x <= sig->t)
		return WHY("x= is not after t= (RFC 6376 3.5)");
	return 0;
}

static int
parse_sig_b(const struct dkim_tag_list *l, struct dkim_sig *sig, char *why, size_t why_size)
{
	const struct strv *b = dkim_tags_get(l, "b"), *bh = dkim_tags_get(l, "bh");
	if (!decode_b64(*b, sig->b, sizeof sig->b, &sig->b_len) || sig->b_len == 0)
		return WHY("b= is not a base64 signature");
	size_t k = 0;
	for (size_t i = 0; i < b->len && k + 1 < sizeof sig->b64b; i++)
		if (!is_fws(b->p[i]))
			sig->b64b[k++] = b->p[i];
	sig->b64b[k] = '\0';
	if (!decode_b64(*bh, sig->bh, sizeof sig->bh, &sig->bh_len) ||
	    sig->bh_len != dkim_alg_hash_len(sig->alg))
		return WHY("bh= is not a base64 %s body hash", dkim_alg_name(sig->alg));
	return 0;
}

int
dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig, char *why, size_t why_size)
{
	struct dkim_tag_list l;
	memset(sig, 0, sizeof *sig);
	if (dkim_tags_parse(value, len, &l, why, why_size) < 0)
		return -1;
	static const char *const required[] = {"v", "a", "b", "bh", "d", "h", "s"};
	for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
		if (dkim_tags_get(&l, required[i]) == NULL)
			return WHY("the signature has no %s= tag", required[i]);
	if (!strv_is(*dkim_tags_get(&l, "v"), "1"))
		return WHY("incompatible version v=%.*s",
			   (int)(dkim_tags_get(&l, "v")->len > 8 ? 8 : dkim_tags_get(&l, "v")->len),
			   dkim_tags_get(&l, "v")->p);
	if (parse_alg(*dkim_tags_get(&l, "a"), sig, why, why_size) < 0 ||
	    parse_sig_b(&l, sig, why, why_size) < 0 ||
	    parse_canon(dkim_tags_get(&l, "c"), sig, why, why_size) < 0)
		return -1;
	const struct strv *d = dkim_tags_get(&l, "d"), *s = dkim_tags_get(&l, "s");
	if (!is_domainish(*d, 253) || !str_copy_n(sig->d, sizeof sig->d, d->p, d->len))
		return WHY("d= is not a domain name");
	str_lower(sig->d);
	if (!is_domainish(*s, 200) || !str_copy_n(sig->s, sizeof sig->s, s->p, s->len))
		return WHY("s= is not a selector");
	if (parse_h(*dkim_tags_get(&l, "h"), sig, why, why_size) < 0 ||
	    parse_i(dkim_tags_get(&l, "i"), sig, why, why_size) < 0 ||
	    parse_times(&l, sig, why, why_size) < 0)
		return -1;
	const struct strv *q = dkim_tags_get(&l, "q");
	bool txt = false;
	if (q != NULL && (for_each_item(*q, has_dns_txt, &txt), !txt))
		return WHY("q= does not offer dns/txt");
	return 0;
}

bool
dkim_sig_expired(const struct dkim_sig *sig, int64_t now)
{
	return sig->has_x && sig->x < now;
}

bool
dkim_sig_blank_b(const char *field, size_t len, struct buf *out)
{
	if (len > 0 && field[len - 1] == '\n')
		len--;
	if (len > 0 && field[len - 1] == '\r')
		len--;
	const char *colon = memchr(field, ':', len);
	if (colon == NULL)
		return false;
	size_t off = (size_t)(colon + 1 - field);
	struct dkim_tag_list l;
	char why[8];
	if (dkim_tags_parse(field + off, len - off, &l, why, sizeof why) < 0)
		return false;
	for (size_t i = 0; i < l.n; i++) {
		if (!strv_is(l.t[i].name, "b"))
			continue;
		buf_append(out, field, off + l.t[i].eq_end);
		buf_append(out, field + off + l.t[i].spec_end, len - off - l.t[i].spec_end);
		return true;
	}
	return false;
}

struct key_flags {
	struct dkim_key_record *k;
	int which; /* 0: h= hashes, 1: s= services, 2: t= flags */
	bool email;
};

static bool
key_item(void *vctx, struct strv item)
{
	struct key_flags *c = vctx;
	if (c->which == 0) {
		if (strv_eq_ci(item, "sha256"))
			c->k->sha256_ok = true;
		else if (strv_eq_ci(item, "sha1"))
			c->k->sha1_ok = true;
	} else if (c->which == 1) {
		if (strv_is(item, "*") || strv_eq_ci(item, "email"))
			c->email = true;
	} else {
		if (strv_is(item, "y"))
			c->k->testing = true;
		else if (strv_is(item, "s"))
			c->k->strict = true;
	}
	return true;
}

int
dkim_key_parse(const char *txt, size_t len, struct dkim_key_record *k, char *why, size_t why_size)
{
	struct dkim_tag_list l;
	const struct strv *v;
	memset(k, 0, sizeof *k);
	if (dkim_tags_parse(txt, len, &l, why, why_size) < 0)
		return -1;
	/* 3.6.1: v=, when there, is "DKIM1" and comes first. */
	if ((v = dkim_tags_get(&l, "v")) != NULL && (!strv_is(*v, "DKIM1") || v != &l.t[0].value))
		return WHY("the key record's v= is not DKIM1 as its first tag");
	k->type = DKIM_KEY_RSA;
	if ((v = dkim_tags_get(&l, "k")) != NULL) {
		if (strv_eq_ci(*v, "ed25519"))
			k->type = DKIM_KEY_ED25519;
		else if (!strv_eq_ci(*v, "rsa"))
			return WHY("unknown key type k=%.*s", (int)(v->len > 16 ? 16 : v->len),
				   v->p);
	}
	if ((v = dkim_tags_get(&l, "p")) == NULL)
		return WHY("the key record has no p= tag");
	if (!decode_b64(*v, k->p, sizeof k->p, &k->p_len))
		return WHY("the key record's p= is not base64");
	k->revoked = k->p_len == 0;
	if (k->type == DKIM_KEY_ED25519 && !k->revoked && k->p_len != 32)
		return WHY("an Ed25519 key is 32 bytes, p= has %zu", k->p_len);
	struct key_flags f = {.k = k, .which = 0};
	if ((v = dkim_tags_get(&l, "h")) != NULL)
		for_each_item(*v, key_item, &f);
	else
		k->sha1_ok = k->sha256_ok = true;
	f.which = 1;
	if ((v = dkim_tags_get(&l, "s")) != NULL && (for_each_item(*v, key_item, &f), !f.email))
		return WHY("the key is not for email (s=%.*s)", (int)(v->len > 16 ? 16 : v->len),
			   v->p);
	f.which = 2;
	if ((v = dkim_tags_get(&l, "t")) != NULL)
		for_each_item(*v, key_item, &f);
	return 0;
}

bool
dkim_key_allows(const struct dkim_key_record *k, const struct dkim_sig *sig, char *why,
		size_t why_size)
{
	if (dkim_alg_key_type(sig->alg) != k->type) {
		snprintf(why, why_size, "the key is %s, the signature %s",
			 k->type == DKIM_KEY_RSA ? "RSA" : "Ed25519", dkim_alg_name(sig->alg));
		return false;
	}
	if (!(sig->alg == DKIM_RSA_SHA1 ? k->sha1_ok : k->sha256_ok)) {
		snprintf(why, why_size, "the key's h= does not allow %s", dkim_alg_name(sig->alg));
		return false;
	}
	if (k->strict) {
		const char *at = strrchr(sig->i, '@');
		if (at == NULL || strcasecmp(at + 1, sig->d) != 0) {
			snprintf(why, why_size, "the key has t=s but i= is a subdomain of d=");
			return false;
		}
	}
	return true;
}
