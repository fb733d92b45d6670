/*
 * conf_text: what the two line-oriented config parsers (mailport.conf and
 * send.conf) share: the line reader, "FILE:LINE: message" errors, host name
 * syntax, and the distance used for "did you mean" suggestions. Pure.
 */
#ifndef MP_CONF_TEXT_H
#define MP_CONF_TEXT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The one line reader of the config files. It reads a private copy of the
 * text, so each parser may cut its line in place; a UTF-8 byte order mark
 * at the start is skipped (editors on some systems write one). Each line
 * comes without its '\n' (a '\r' stays: the parsers count it as a blank),
 * and the text after the last '\n' is a line too, so a file that ends in
 * '\n' ends in an empty line. Comments and blank lines are the parser's:
 * mailport.conf cuts a '#' anywhere, send.conf only a whole-line one.
 */
struct conf_lines {
	char *copy;  /* the text, cut into lines as they are handed out */
	size_t size; /* bytes of copy, wiped on close */
	char *next;  /* start of the next line; NULL after the last */
	int line;    /* number of the line last handed out, from 1 */
};

void conf_lines_open(struct conf_lines *it, const char *text);
/* The next line (NUL-terminated, writable until close), or NULL at the end. */
char *conf_lines_next(struct conf_lines *it);
/* Wipes the copy before freeing it: send.conf may hold a secret written anyway. */
void conf_lines_close(struct conf_lines *it);

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
