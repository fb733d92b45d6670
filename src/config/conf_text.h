/*
 * conf_text: what the two line-oriented config parsers (mailport.conf and
 * send.conf) share: "FILE:LINE: message" errors, host name
 * syntax, and the distance used for "did you mean" suggestions. Pure.
 */
#ifndef MP_CONF_TEXT_H
#define MP_CONF_TEXT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Append text as one more line of err[err_size] (a '\n' before it unless
 * it is the first; *used is the length so far). A first line too long is
 * cut; a later one that does not fit whole is left out (false).
 */
bool conf_append_line(char *err, size_t err_size, size_t *used, const char *text);

/* Write "FILE:LINE: <fmt>" to err[err_size] (if err); always returns -1. */
int conf_vfail(char *err, size_t err_size, const char *file, int line, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
/* RFC 1123 2.1 host name: dot-separated labels of letters, digits, hyphens. */
bool conf_is_hostname(const char *s);
/* A user's word quoted back in a message. */
#define CONF_ESC_SIZE 80
/* word made safe to print (it may hold control bytes), into out. */
const char *conf_esc(char out[CONF_ESC_SIZE], const char *word);
/* Levenshtein distance, ASCII case ignored; SIZE_MAX for words over 32 characters. */
size_t conf_edit_distance(const char *a, const char *b);

#endif
