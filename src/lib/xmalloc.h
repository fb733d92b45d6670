/*
 * xmalloc: allocation that never returns NULL.
 *
 * Out of memory is not an error a caller can handle sensibly in a mail
 * server, so these abort with a message instead (the third error bin in
 * STYLE.md). Every pointer returned is owned by the caller and freed with
 * free(3).
 */
#ifndef MP_XMALLOC_H
#define MP_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
