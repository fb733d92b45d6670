/*
 * mime_writer: the writer, line walking and error text shared by the
 * builders of src/mime (see mime_writer.h).
 *
 * Appends stop at the first refusal: a message cut in the middle is never
 * useful, and the builder reports the size limit once at the end.
 */
#include "mime_writer.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
mime_put(struct mime_writer *w, const void *p, size_t n)
{
	const char *nl = n ? memrchr(p, '\n', n) : NULL;

	if (!w->full && !buf_append(w->out, p, n))
		w->full = true;
	w->col = nl ? n - (size_t)(nl - (const char *)p) - 1 : w->col + n;
}

void
mime_put_str(struct mime_writer *w, const char *s)
{
	mime_put(w, s, strlen(s));
}

void
mime_putf(struct mime_writer *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (!w->full && !buf_vprintf(w->out, fmt, ap))
		w->full = true;
	va_end(ap);
}

void
mime_truncate(struct buf *b, size_t len)
{
	if (b->data == NULL || len > b->len)
		return;
	b->len = len;
	b->data[len] = '\0';
}

void
mime_set_err(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

size_t
mime_next_line(const char *p, size_t len, size_t pos, size_t *end_r)
{
	size_t i = pos;

	while (i < len && p[i] != '\n' && p[i] != '\r')
		i++;
	*end_r = i;
	if (i < len && p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
		return i + 2;
	return i < len ? i + 1 : i;
}

void
mime_copy_crlf(struct mime_writer *w, const char *p, size_t len)
{
	size_t pos = 0, end;

	while (pos < len) {
		size_t next = mime_next_line(p, len, pos, &end);
		mime_put(w, p + pos, end - pos);
		mime_put(w, "\r\n", 2);
		pos = next;
	}
}

struct mime_text_scan
mime_scan_text(const char *p, size_t len)
{
	struct mime_text_scan s = {false, false, false};
	size_t pos = 0, end;

	while (pos < len) {
		size_t next = mime_next_line(p, len, pos, &end);
		if (end - pos > MIME_LINE_MAX)
			s.has_long_line = true;
		for (size_t i = pos; i < end; i++) {
			s.has_8bit |= (unsigned char)p[i] >= 0x80;
			s.has_nul |= p[i] == '\0';
		}
		pos = next;
	}
	return s;
}

bool
mime_boundary_valid(const char *b)
{
	size_t n = b ? strlen(b) : 0;

	if (n == 0 || n > MIME_BOUNDARY_MAX || b[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("'()+_,-./:=? ", c) != NULL))
			return false;
	}
	return true;
}
