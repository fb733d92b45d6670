/*
 * aliases: parse and expand the aliases file (aliases.h).
 *
 * The table is an array sorted by key, searched with bsearch; keys are
 * "local@domain", "@domain" (catch-all) or "local" (every domain of ours),
 * lower case. Built once and then only read, so any thread may expand.
 */
#include "aliases.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"
#include "xmalloc.h"

#define LINE_MAX_BYTES 65536

struct alias_entry {
	char *key;
	char **targets; /* as written, lower case: "local@domain" or a bare "local" */
	size_t ntargets;
	int line;
};

struct aliases {
	struct alias_entry *v;
	size_t n;
	char filename[256];
};

struct aliases *
aliases_empty(void)
{
	return xcalloc(1, sizeof(struct aliases));
}

size_t
aliases_count(const struct aliases *a)
{
	return a ? a->n : 0;
}

void
aliases_free(struct aliases **ap)
{
	if (ap == NULL || *ap == NULL)
		return;
	struct aliases *a = *ap;
	for (size_t i = 0; i < a->n; i++) {
		for (size_t j = 0; j < a->v[i].ntargets; j++)
			free(a->v[i].targets[j]);
		free(a->v[i].targets);
		free(a->v[i].key);
	}
	free(a->v);
	free(a);
	*ap = NULL;
}

/* ---- parsing ---- */

struct errs {
	char *p;
	size_t size, used;
	int count;
};

static void __attribute__((format(printf, 4, 5)))
errs_add(struct errs *e, const char *file, int line, const char *fmt, ...)
{
	e->count++;
	if (e->size == 0 || e->used + 1 >= e->size)
		return;
	int n = snprintf(e->p + e->used, e->size - e->used, "%s%s:%d: ", e->used ? "\n" : "", file,
			 line);
	if (n > 0 && (size_t)n < e->size - e->used)
		e->used += (size_t)n;
	else
		e->used = e->size - 1;
	va_list ap;
	va_start(ap, fmt);
	n = vsnprintf(e->p + e->used, e->size - e->used, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < e->size - e->used)
		e->used += (size_t)n;
	else
		e->used = e->size - 1;
}

static char *
trim(char *s)
{
	s += strspn(s, " \t");
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* A local part as we store it: printable, no blanks, quotes or separators. */
static bool
local_ok(const char *s, size_t n)
{
	if (n == 0 || n > SMTP_LOCAL_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == 0x7f || strchr("\"(),:;<>@[\\]", c))
			return false;
	}
	return true;
}

static bool
domain_ok(const char *s)
{
	return strlen(s) <= SMTP_DOMAIN_MAX && str_is_dns_name(s);
}

/* "local@domain", "@domain" (catch_ok) or a bare "local" (bare_ok): the problem or NULL. */
static const char *
address_problem(const char *s, bool catch_ok, bool bare_ok)
{
	const char *at = strrchr(s, '@');
	if (at == NULL)
		return bare_ok ? (local_ok(s, strlen(s)) ? NULL : "is not a valid local part")
			       : "has no @domain";
	if (at == s && !catch_ok)
		return "has no local part before the @";
	if (at != s && !local_ok(s, (size_t)(at - s)))
		return "has a local part that is empty, longer than 64 octets or holds one of "
		       "the characters \"(),:;<>@[\\] or a blank";
	if (!domain_ok(at + 1))
		return "has a domain that is not a valid DNS name";
	return NULL;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct alias_entry *)a)->key, ((const struct alias_entry *)b)->key);
}

static const char fix_line[] = "write it as \"address: target, target\", e.g. "
			       "\"sales@example.org: alice, bob@example.net\"";

static void
entry_free(struct alias_entry *e)
{
	for (size_t j = 0; j < e->ntargets; j++)
		free(e->targets[j]);
	free(e->targets);
	free(e->key);
}

/* One non-blank, non-comment line into *e; false (said why in errs) if bad. */
static bool
parse_line(char *s, int line, const char *file, struct alias_entry *e, struct errs *er)
{
	char *colon = strchr(s, ':');
	if (colon == NULL) {
		errs_add(er, file, line, "no ':' after the address; %s", fix_line);
		return false;
	}
	*colon = '\0';
	char *key = trim(s);
	str_lower(key);
	const char *why = address_problem(key, true, true);
	if (why) {
		errs_add(er, file, line, "the address \"%s\" %s; %s", key, why, fix_line);
		return false;
	}
	bool ok = true;
	*e = (struct alias_entry){.key = xstrdup(key), .line = line};
	for (char *t = colon + 1, *next; t; t = next) {
		next = strchr(t, ',');
		if (next)
			*next++ = '\0';
		char *target = trim(t);
		str_lower(target);
		if (target[0] == '\0') {
			errs_add(er, file, line,
				 "an empty target after \"%s:\"; name at least one "
				 "address and separate targets with one comma",
				 key);
			ok = false;
			continue;
		}
		if ((why = address_problem(target, false, true)) != NULL) {
			errs_add(er, file, line, "the target \"%s\" %s; %s", target, why, fix_line);
			ok = false;
			continue;
		}
		if (e->ntargets == ALIASES_MAX_TARGETS) {
			errs_add(er, file, line,
				 "more than %d targets; use a list alias of aliases",
				 ALIASES_MAX_TARGETS);
			ok = false;
			break;
		}
		e->targets = xrealloc(e->targets, (e->ntargets + 1) * sizeof *e->targets);
		e->targets[e->ntargets++] = xstrdup(target);
	}
	if (!ok)
		entry_free(e);
	return ok;
}

struct aliases *
aliases_parse(const char *text, size_t len, const char *filename, char *err, size_t err_size)
{
	struct errs er = {.p = err, .size = err_size};
	if (err_size)
		err[0] = '\0';
	struct aliases *a = aliases_empty();
	str_copy(a->filename, sizeof a->filename, filename);
	size_t cap = 0;
	int line = 0;
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - text - pos) : len - pos;
		line++;
		if (n > LINE_MAX_BYTES || memchr(text + pos, '\0', n)) {
			errs_add(&er, filename, line,
				 "the line is longer than %d bytes or holds a NUL "
				 "byte; split the alias or check the file is text",
				 LINE_MAX_BYTES);
			pos += n + 1;
			continue;
		}
		char *s = xstrndup(text + pos, n);
		pos += n + 1;
		char *t = trim(s);
		struct alias_entry e = {0};
		if (t[0] != '\0' && t[0] != '#' && parse_line(t, line, filename, &e, &er)) {
			if (a->n == cap) {
				cap = cap ? cap * 2 : 16;
				a->v = xrealloc(a->v, cap * sizeof *a->v);
			}
			a->v[a->n++] = e;
		}
		free(s);
	}
	if (a->n > 1)
		qsort(a->v, a->n, sizeof *a->v, entry_cmp);
	for (size_t i = 1; i < a->n; i++)
		if (strcmp(a->v[i].key, a->v[i - 1].key) == 0) {
			const struct alias_entry *x = &a->v[i], *y = &a->v[i - 1];
			errs_add(
			    &er, filename, x->line > y->line ? x->line : y->line,
			    "\"%s\" is already an alias on line %d; merge the targets into one "
			    "line",
			    x->key, x->line > y->line ? y->line : x->line);
		}
	if (er.count) {
		aliases_free(&a);
		return NULL;
	}
	return a;
}

/* ---- expansion ---- */

static const struct alias_entry *
find(const struct aliases *a, const char *key)
{
	if (a == NULL || a->n == 0)
		return NULL;
	struct alias_entry probe = {.key = (char *)key};
	return bsearch(&probe, a->v, a->n, sizeof a->v[0], entry_cmp);
}

struct walk {
	const struct aliases *a;
	const struct alias_env *env;
	const char *stack[ALIASES_MAX_DEPTH + 1]; /* addresses being expanded */
	size_t depth;
	size_t missing; /* targets of ours that exist nowhere */
	struct alias_expansion *out;
};

static enum alias_result
add_target(struct walk *w, const char *addr, bool remote)
{
	struct alias_expansion *x = w->out;
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->v[i].addr, addr) == 0)
			return ALIAS_EXPANDED; /* one copy per address */
	if (x->n == ALIASES_MAX_TARGETS)
		return ALIAS_TOO_MANY;
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 8;
		x->v = xrealloc(x->v, x->cap * sizeof *x->v);
	}
	str_copy(x->v[x->n].addr, sizeof x->v[x->n].addr, addr);
	x->v[x->n++].remote = remote;
	return ALIAS_EXPANDED;
}

/* The line that applies to local@domain, before the account (own=true) or after it. */
static const struct alias_entry *
lookup(const struct walk *w, const char *local, const char *domain, bool own)
{
	char key[ALIAS_ADDR_MAX + 1];
	if (own) {
		const struct alias_entry *e;
		snprintf(key, sizeof key, "%s@%s", local, domain);
		if ((e = find(w->a, key)) != NULL)
			return e;
		const char *plus = strchr(local, '+');
		if (plus == NULL || plus == local)
			return NULL;
		snprintf(key, sizeof key, "%.*s@%s", (int)(plus - local), local, domain);
		return find(w->a, key);
	}
	const struct alias_entry *e = find(w->a, local);
	if (e == NULL) {
		snprintf(key, sizeof key, "@%s", domain);
		e = find(w->a, key);
	}
	return e;
}

static enum alias_result expand(struct walk *w, const char *addr);

static enum alias_result
expand_entry(struct walk *w, const struct alias_entry *e, const char *addr, const char *domain)
{
	if (w->depth == ALIASES_MAX_DEPTH) {
		w->out->line = e->line;
		return ALIAS_TOO_MANY;
	}
	w->stack[w->depth++] = addr;
	enum alias_result r = ALIAS_EXPANDED;
	for (size_t i = 0; i < e->ntargets && r == ALIAS_EXPANDED; i++) {
		char t[ALIAS_ADDR_MAX + 1];
		const char *tg = e->targets[i];
		snprintf(t, sizeof t, strchr(tg, '@') ? "%s" : "%s@%s", tg, domain);
		if (strcmp(t, addr) == 0) {
			/* An alias naming itself keeps its own mailbox, when there is one. */
			char local[SMTP_LOCAL_MAX + 1];
			str_copy_n(local, sizeof local, t, (size_t)(strrchr(t, '@') - t));
			if (w->env->is_user(w->env->ctx, local, domain))
				r = add_target(w, t, false);
			else
				w->missing++;
			continue;
		}
		for (size_t j = 0; j < w->depth; j++)
			if (strcmp(w->stack[j], t) == 0) {
				str_copy(w->out->where, sizeof w->out->where, t);
				w->out->line = e->line;
				w->depth--;
				return ALIAS_LOOP;
			}
		r = expand(w, t);
		if (r != ALIAS_EXPANDED && r != ALIAS_NONE && w->out->line == 0)
			w->out->line = e->line;
		if (r == ALIAS_NONE) {
			w->missing++;
			r = ALIAS_EXPANDED;
		}
	}
	w->depth--;
	return r;
}

static bool
is_role(const char *local)
{
	return strcmp(local, "postmaster") == 0 || strcmp(local, "abuse") == 0;
}

/* A target (or the address asked for): ALIAS_NONE when it leads nowhere. */
static enum alias_result
expand(struct walk *w, const char *addr)
{
	char local[SMTP_LOCAL_MAX + 1];
	const char *at = strrchr(addr, '@');
	const char *domain = at + 1;
	str_copy_n(local, sizeof local, addr, (size_t)(at - addr));
	if (!w->env->is_local_domain(w->env->ctx, domain))
		return add_target(w, addr, true);
	const struct alias_entry *e = lookup(w, local, domain, true);
	if (e)
		return expand_entry(w, e, addr, domain);
	if (w->env->is_user(w->env->ctx, local, domain))
		return add_target(w, addr, false);
	char bare[SMTP_LOCAL_MAX + 1];
	str_copy(bare, sizeof bare, local);
	char *plus = strchr(bare, '+');
	if (plus && plus != bare)
		*plus = '\0';
	if ((e = find(w->a, bare)) == NULL && is_role(bare) && w->env->default_person &&
	    strcmp(w->env->default_person, addr) != 0) {
		for (size_t j = 0; j < w->depth; j++)
			if (strcmp(w->stack[j], w->env->default_person) == 0) {
				str_copy(w->out->where, sizeof w->out->where, addr);
				return ALIAS_LOOP;
			}
		return expand(w, w->env->default_person);
	}
	if (e == NULL)
		e = lookup(w, bare, domain, false);
	return e ? expand_entry(w, e, addr, domain) : ALIAS_NONE;
}

enum alias_result
aliases_expand(const struct aliases *a, const struct alias_env *env, const char *local,
	       const char *domain, struct alias_expansion *out)
{
	char addr[ALIAS_ADDR_MAX + 1];
	out->n = 0;
	out->where[0] = '\0';
	out->line = 0;
	if (strlen(local) > SMTP_LOCAL_MAX || strlen(domain) > SMTP_DOMAIN_MAX || !local[0] ||
	    !domain[0])
		return ALIAS_NONE;
	snprintf(addr, sizeof addr, "%s@%s", local, domain);
	str_lower(addr);
	struct walk w = {.a = a, .env = env, .out = out};
	char *at = strrchr(addr, '@');
	if (!env->is_local_domain(env->ctx, at + 1))
		return ALIAS_NONE;
	*at = '\0';
	bool own = lookup(&w, addr, at + 1, true) != NULL;
	bool user = !own && env->is_user(env->ctx, addr, at + 1);
	*at = '@';
	if (user)
		return ALIAS_NONE;
	enum alias_result r = expand(&w, addr);
	if (r == ALIAS_EXPANDED && out->n == 0)
		return w.missing ? ALIAS_NO_TARGET : ALIAS_NONE;
	if (r == ALIAS_NONE)
		return ALIAS_NONE;
	return r;
}

void
alias_expansion_free(struct alias_expansion *x)
{
	free(x->v);
	*x = (struct alias_expansion){0};
}

/* ---- config check ---- */

static bool
self_is_user(const struct alias_env *env, const char *addr)
{
	char local[SMTP_LOCAL_MAX + 1];
	const char *at = strrchr(addr, '@');
	str_copy_n(local, sizeof local, addr, (size_t)(at - addr));
	return env->is_user(env->ctx, local, at + 1);
}

/* One line's findings: each target expanded as mail to the alias would be. */
static void
check_entry(const struct aliases *a, const struct alias_env *env, const struct alias_entry *e,
	    const char *domain, struct errs *er)
{
	const char *at = strrchr(e->key, '@');
	const char *d = at ? at + 1 : domain;
	if (at && !env->is_local_domain(env->ctx, d)) {
		errs_add(er, a->filename, e->line,
			 "\"%s\" is not of a domain of ours, so no mail "
			 "for it arrives here; add \"domain %s\" to the config or drop the line",
			 e->key, d);
		return;
	}
	char addr[ALIAS_ADDR_MAX + 1];
	if (at == e->key) /* a catch-all stands for no one address: "*@domain" matches none */
		snprintf(addr, sizeof addr, "*%s", e->key);
	else if (at)
		str_copy(addr, sizeof addr, e->key);
	else
		snprintf(addr, sizeof addr, "%s@%s", e->key, domain);
	struct alias_expansion x = {0};
	struct walk w = {.a = a, .env = env, .out = &x};
	for (size_t i = 0; i < e->ntargets; i++) {
		char t[ALIAS_ADDR_MAX + 1];
		snprintf(t, sizeof t, strchr(e->targets[i], '@') ? "%s" : "%s@%s", e->targets[i],
			 d);
		w.missing = 0;
		w.depth = 0;
		w.stack[w.depth++] = addr;
		enum alias_result r = ALIAS_EXPANDED;
		if (strcmp(t, addr) != 0)
			r = expand(&w, t);
		else if (!self_is_user(env, t))
			r = ALIAS_NONE;
		if (r == ALIAS_LOOP)
			errs_add(er, a->filename, e->line,
				 "\"%s\" loops: its target %s comes back "
				 "to %s; remove one of the lines of the cycle",
				 e->key, t, x.where);
		else if (r == ALIAS_TOO_MANY)
			errs_add(er, a->filename, e->line,
				 "\"%s\" expands deeper than %d aliases or "
				 "to more than %d addresses; flatten the chain",
				 e->key, ALIASES_MAX_DEPTH, ALIASES_MAX_TARGETS);
		else if (r == ALIAS_NONE || w.missing)
			errs_add(
			    er, a->filename, e->line,
			    "the target %s of \"%s\" is neither an "
			    "account of the users file nor an alias; add the account (mailport "
			    "passwd) or fix the address",
			    t, e->key);
	}
	alias_expansion_free(&x);
}

int
aliases_check(const struct aliases *a, const struct alias_env *env, const char *domain, char *err,
	      size_t err_size)
{
	struct errs er = {.p = err, .size = err_size};
	if (err_size)
		err[0] = '\0';
	for (size_t i = 0; a && i < a->n; i++)
		check_entry(a, env, &a->v[i], domain, &er);
	return er.count ? -1 : 0;
}
