/*
 * str: checked copies, escaping for logs, and number parsing on borrowed
 * slices (see the header).
 */
#include "str.h"

#include <stdio.h>
#include <string.h>

static int
lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

struct strv
strv_from(const char *s)
{
	return (struct strv){s, strlen(s)};
}

bool
strv_eq_ci(struct strv a, const char *s)
{
	size_t n = strlen(s);
	if (a.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)a.p[i]) != lower((unsigned char)s[i]))
			return false;
	return true;
}

bool
strv_prefix_ci(struct strv a, const char *prefix)
{
	size_t n = strlen(prefix);
	if (a.len < n)
		return false;
	return strv_eq_ci((struct strv){a.p, n}, prefix);
}

bool
str_copy_n(char *dst, size_t size, const char *src, size_t n)
{
	if (size == 0)
		return false;
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return false;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
	return true;
}

bool
str_copy(char *dst, size_t size, const char *src)
{
	return str_copy_n(dst, size, src, strlen(src));
}

void
str_lower(char *s)
{
	for (; *s; s++)
		*s = (char)lower((unsigned char)*s);
}

bool
str_eq_ci(const char *a, const char *b)
{
	return strv_eq_ci(strv_from(a), b);
}

char *
str_escape(char *out, size_t out_size, const char *p, size_t len)
{
	size_t o = 0;
	if (out_size == 0)
		return out;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		char tmp[5];
		size_t n;
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			tmp[0] = (char)c;
			n = 1;
		} else {
			snprintf(tmp, sizeof tmp, "\\x%02x", c);
			n = 4;
		}
		if (o + n + 4 > out_size) {
			if (o + 4 <= out_size)
				memcpy(out + o, "...", 3), o += 3;
			break;
		}
		memcpy(out + o, tmp, n);
		o += n;
	}
	out[o] = '\0';
	return out;
}

bool
str_parse_u64(struct strv s, uint64_t *v_r)
{
	uint64_t v = 0;
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		unsigned d = (unsigned)(s.p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*v_r = v;
	return true;
}

bool
str_is_dns_name(const char *s)
{
	size_t label = 0, n = strlen(s);
	if (n == 0 || n > 253)
		return false;
	for (; *s; s++) {
		if (*s == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (strchr(
			       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
			       *s) == NULL ||
			   ++label > 63) {
			return false;
		}
	}
	return label > 0;
}
