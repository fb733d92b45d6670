/*
 * json: string escaping (see the header).
 */
#include "json.h"

#include <string.h>

#include "utf8.h"

void
json_string_n(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	buf_append_str(out, "\"");
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t len = utf8_char_len(p + i, n - i);
		if (c == '"' || c == '\\')
			buf_printf(out, "\\%c", c);
		else if (c == '\n')
			buf_append_str(out, "\\n");
		else if (c == '\r')
			buf_append_str(out, "\\r");
		else if (c == '\t')
			buf_append_str(out, "\\t");
		else if (c < 0x20 || c == 0x7f)
			buf_printf(out, "\\u%04x", c);
		else if (len == 0)
			buf_append_str(out, "\\ufffd");
		else
			buf_append(out, p + i, len);
		i += len ? len : 1;
	}
	buf_append_str(out, "\"");
}

void
json_string(struct buf *out, const char *s)
{
	s = s ? s : "";
	json_string_n(out, s, strlen(s));
}

void
json_key_string(struct buf *out, const char *key, const char *value, bool comma)
{
	if (comma)
		buf_append_str(out, ",");
	json_string(out, key);
	buf_append_str(out, ":");
	if (value)
		json_string(out, value);
	else
		buf_append_str(out, "null");
}
