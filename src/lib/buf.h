/*
 * buf: an owned, growable, binary-safe byte buffer with a hard maximum.
 *
 * data is always NUL-terminated after len bytes (the NUL is not counted),
 * so a buffer of text can be passed to C string functions. A buffer never
 * grows past max bytes: appends that would are refused and return false,
 * which is how limits (reply size, header size) are enforced in one place.
 * The buffer owns data; buf_free releases it.
 */
#ifndef MP_BUF_H
#define MP_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

/* An empty buffer that may grow to max bytes (0: no limit but SIZE_MAX/2). */
void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/* Forget the contents, keep the memory. */
void buf_reset(struct buf *b);
bool buf_append(struct buf *b, const void *p, size_t n);
bool buf_append_str(struct buf *b, const char *s);
bool buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Drop the first n bytes. */
void buf_consume(struct buf *b, size_t n);

#endif
