/*
 * json: the one JSON string writer (RFC 8259 7) for every --json output
 * (probe, verify, queue). Text that is not UTF-8 is written as U+FFFD, so
 * the output is always valid JSON; control characters are escaped.
 */
#ifndef MP_JSON_H
#define MP_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* s[0..n) as a JSON string, quotes included, appended to out. */
void json_string_n(struct buf *out, const char *s, size_t n);
/* s as a JSON string; NULL as "". */
void json_string(struct buf *out, const char *s);
/* "key":"value" (or "key":null for a NULL value), after a comma when comma. */
void json_key_string(struct buf *out, const char *key, const char *value, bool comma);

#endif
