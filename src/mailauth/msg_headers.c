/*
 * msg_headers: the header section collector (see the header). A small
 * state machine over lines: the first byte of a line says whether it ends
 * the section (an empty line), continues the field before it (SP, HTAB:
 * RFC 5322 2.2.3 folding) or starts a field.
 */
#include "msg_headers.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmalloc.h"

#define MSG_HEADERS_DEFAULT_MAX (1024 * 1024)

void
msg_headers_init(struct msg_headers *h, size_t max_bytes)
{
	memset(h, 0, sizeof *h);
	h->max = max_bytes ? max_bytes : MSG_HEADERS_DEFAULT_MAX;
	h->state = MSG_H_LINE_START;
}

void
msg_headers_free(struct msg_headers *h)
{
	free(h->data);
	free(h->fields);
	memset(h, 0, sizeof *h);
}

/* Appends bytes of the current line; over max, drops the line and stops. */
static void
keep(struct msg_headers *h, const char *p, size_t n)
{
	if (h->dropping)
		return;
	if (n > h->max - h->len) {
		h->too_big = h->dropping = true;
		h->len = h->line_off;
		return;
	}
	if (h->len + n > h->cap) {
		size_t cap = h->cap ? h->cap : 1024;
		while (cap < h->len + n)
			cap *= 2;
		char *old = h->data;
		h->data = xrealloc(h->data, cap);
		h->cap = cap;
		/* The fields point into data: move them with it. */
		for (size_t i = 0; i < h->nfields; i++)
			h->fields[i].raw = h->data + (size_t)(h->fields[i].raw - old);
	}
	memcpy(h->data + h->len, p, n);
	h->len += n;
}

/* The name's length: up to the colon, without the white space before it. */
static size_t
name_length(const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	if (colon == NULL)
		return 0;
	size_t n = (size_t)(colon - line);
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	return n;
}

static void
begin_line(struct msg_headers *h, bool continuation)
{
	h->line_off = h->len;
	/* A continuation before any field (the message starts with white
	 * space) is kept as a field of its own. */
	h->line_new = !continuation || h->nfields == 0;
	h->state = MSG_H_IN_LINE;
}

static void
end_line(struct msg_headers *h)
{
	h->state = MSG_H_LINE_START;
	if (h->dropping)
		return;
	if (!h->line_new) {
		/* Lines are stored one after the other: the field grows. */
		struct msg_header *f = &h->fields[h->nfields - 1];
		f->len = (size_t)(h->data + h->len - f->raw);
		return;
	}
	if (h->nfields == h->cap_fields) {
		h->cap_fields = h->cap_fields ? h->cap_fields * 2 : 32;
		h->fields = xrealloc(h->fields, h->cap_fields * sizeof *h->fields);
	}
	struct msg_header *f = &h->fields[h->nfields++];
	f->raw = h->data + h->line_off;
	f->len = h->len - h->line_off;
	f->name_len = name_length(f->raw, f->len);
}

size_t
msg_headers_feed(struct msg_headers *h, const char *p, size_t n, bool *done)
{
	size_t i = 0;

	while (i < n && h->state != MSG_H_DONE) {
		switch (h->state) {
		case MSG_H_LINE_START:
			if (p[i] == '\n') {
				i++;
				h->state = MSG_H_DONE;
			} else if (p[i] == '\r') {
				i++;
				h->state = MSG_H_CR_START;
			} else {
				begin_line(h, p[i] == ' ' || p[i] == '\t');
			}
			break;
		case MSG_H_CR_START:
			if (p[i] == '\n') {
				i++;
				h->state = MSG_H_DONE;
			} else {
				/* A lone CR starts a (malformed) field line. */
				begin_line(h, false);
				keep(h, "\r", 1);
			}
			break;
		case MSG_H_IN_LINE: {
			const char *nl = memchr(p + i, '\n', n - i);
			size_t k = nl ? (size_t)(nl - (p + i)) + 1 : n - i;
			keep(h, p + i, k);
			i += k;
			if (nl)
				end_line(h);
			break;
		}
		case MSG_H_DONE:
			break;
		}
	}
	*done = h->state == MSG_H_DONE;
	return i;
}

bool
msg_headers_done(const struct msg_headers *h)
{
	return h->state == MSG_H_DONE;
}

size_t
msg_headers_count(const struct msg_headers *h)
{
	return h->nfields;
}

const struct msg_header *
msg_headers_at(const struct msg_headers *h, size_t i)
{
	return i < h->nfields ? &h->fields[i] : NULL;
}

bool
msg_header_is(const struct msg_header *f, const char *name)
{
	size_t n = strlen(name);
	return f->name_len != 0 && f->name_len == n && strncasecmp(f->raw, name, n) == 0;
}

const char *
msg_header_value(const struct msg_header *f, size_t *len_r)
{
	const char *colon = memchr(f->raw, ':', f->len);
	if (colon == NULL) {
		*len_r = 0;
		return f->raw + f->len;
	}
	size_t end = f->len;
	if (end > 0 && f->raw[end - 1] == '\n')
		end--;
	if (end > 0 && f->raw[end - 1] == '\r')
		end--;
	size_t start = (size_t)(colon - f->raw) + 1;
	*len_r = end > start ? end - start : 0;
	return f->raw + start;
}
