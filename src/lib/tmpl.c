/*
 * tmpl: typed conversions for texts kept as data (see the header).
 */
#include "tmpl.h"

#include <string.h>

#include "panic.h"
#include "str.h"

/*
 * The conversion at p (just past a '%'): its kind ('s', 'u' or '%') and
 * its length after the '%', or 0 when it is none we know.
 */
static size_t
conversion(const char *p, char *kind_r)
{
	if (p[0] == 's' || p[0] == 'u' || p[0] == '%') {
		*kind_r = p[0];
		return 1;
	}
	if (strncmp(p, "llu", 3) == 0) {
		*kind_r = 'u';
		return 3;
	}
	return 0;
}

bool
tmpl_signature(const char *tmpl, char *sig_r, size_t size)
{
	size_t n = 0;
	for (const char *p = strchr(tmpl, '%'); p; p = strchr(p, '%')) {
		char kind;
		size_t len = conversion(p + 1, &kind);
		if (len == 0)
			return false;
		p += 1 + len;
		if (kind == '%')
			continue;
		if (n + 1 >= size)
			return false;
		sig_r[n++] = kind;
	}
	if (size == 0)
		return false;
	sig_r[n] = '\0';
	return true;
}

void
tmpl_append(struct buf *out, const char *tmpl, const struct tmpl_arg *args, size_t n)
{
	size_t used = 0;
	const char *p = tmpl;
	for (const char *pc = strchr(p, '%'); pc; pc = strchr(p, '%')) {
		buf_append(out, p, (size_t)(pc - p));
		char kind;
		size_t len = conversion(pc + 1, &kind);
		if (len == 0)
			mp_panic("text \"%s\": unknown conversion at offset %zu", tmpl,
				 (size_t)(pc - tmpl));
		p = pc + 1 + len;
		if (kind == '%') {
			buf_append(out, "%", 1);
			continue;
		}
		if (used >= n || args[used].kind != kind)
			mp_panic("text \"%s\": conversion %zu is '%c', the caller gave %s", tmpl,
				 used + 1, kind, used >= n ? "no argument" : "another kind");
		if (kind == 's')
			buf_append_str(out, args[used].s ? args[used].s : "(null)");
		else
			buf_printf(out, "%llu", args[used].u);
		used++;
	}
	buf_append_str(out, p);
}

bool
tmpl_fill(char *dst, size_t size, const char *tmpl, const struct tmpl_arg *args, size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	tmpl_append(&b, tmpl, args, n);
	bool whole = str_copy(dst, size, b.data ? b.data : "");
	buf_free(&b);
	return whole;
}
