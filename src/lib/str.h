/*
 * str: string helpers the C library lacks (glibc in Debian 12 has no
 * strlcpy), and the borrowed slice type used by every parser.
 */
#ifndef MP_STR_H
#define MP_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A borrowed slice: p points into someone else's buffer; not NUL-terminated. */
struct strv {
	const char *p;
	size_t len;
};

#define STRV_LIT(s) ((struct strv){(s), sizeof(s) - 1})

struct strv strv_from(const char *s);
/* Case-insensitive (ASCII) equality with a C string. */
bool strv_eq_ci(struct strv a, const char *s);
/* Case-insensitive prefix test: does a start with prefix? */
bool strv_prefix_ci(struct strv a, const char *prefix);

/*
 * Decimal digits only into *v_r: no sign, no spaces, not empty, no
 * overflow (false for any of these). Callers with a length rule (RFC 1870's
 * 20 digits) check it themselves.
 */
bool str_parse_u64(struct strv s, uint64_t *v_r);

/* Copy src into dst[size]; false (dst still terminated) when it did not fit. */
bool str_copy(char *dst, size_t size, const char *src);
/* Copy n bytes of src (not NUL-terminated) into dst[size]; false if too long. */
bool str_copy_n(char *dst, size_t size, const char *src, size_t n);
/* ASCII lower-case in place; bytes >= 0x80 (UTF-8) are left alone. */
void str_lower(char *s);
bool str_eq_ci(const char *a, const char *b);
/*
 * A DNS name as a record's owner may be written: dot-separated labels of
 * letters, digits, '-' and '_' (DKIM selectors, _dmarc), 1 to 63 octets
 * each, 253 in all (RFC 1035 2.3.4); no trailing dot.
 */
bool str_is_dns_name(const char *s);

/*
 * Escape untrusted bytes for a log line: printable ASCII except '"' and '\\'
 * as is, everything else as \xNN; at most out_size-1 bytes written and "..."
 * marks a cut. Returns out.
 */
char *str_escape(char *out, size_t out_size, const char *p, size_t len);

#endif
