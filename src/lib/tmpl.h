/*
 * tmpl: fill the conversions of a text kept as data (the reply and fix
 * tables) from typed arguments, without printf. A table text may hold
 * "%s" (a string), "%u" or "%llu" (an unsigned number) and "%%"; its
 * signature is the kinds in order ("s", "u", "uu", ""). A table row
 * declares its signature, a unit test checks every row's text against it,
 * and the typed accessors of each table build the arguments with tmpl_s()
 * and tmpl_u(), so a wrong argument type does not compile and a wrong
 * argument count panics instead of reading a stray va_arg.
 */
#ifndef MP_TMPL_H
#define MP_TMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct tmpl_arg {
	char kind; /* 's' or 'u' */
	const char *s;
	unsigned long long u;
};

static inline struct tmpl_arg
tmpl_s(const char *s)
{
	return (struct tmpl_arg){.kind = 's', .s = s};
}

static inline struct tmpl_arg
tmpl_u(unsigned long long u)
{
	return (struct tmpl_arg){.kind = 'u', .u = u};
}

/*
 * The signature of tmpl into sig_r[size] (one letter per conversion).
 * false when tmpl holds a '%' that is none of the conversions above, or
 * the signature does not fit.
 */
bool tmpl_signature(const char *tmpl, char *sig_r, size_t size);

/*
 * Append tmpl with its conversions replaced by args[0..n), in order. Args
 * past the template's conversions are unused (a fix row's texts share one
 * argument list). A conversion with no argument or one of the wrong kind,
 * or a malformed '%', is a bug: it panics.
 */
void tmpl_append(struct buf *out, const char *tmpl, const struct tmpl_arg *args, size_t n);

/* The same into dst[size]; false (dst still terminated) when it was cut. */
bool tmpl_fill(char *dst, size_t size, const char *tmpl, const struct tmpl_arg *args, size_t n);

#endif
