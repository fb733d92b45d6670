/*
 * conf_text: shared helpers of the config parsers (see the header).
 */
#include "conf_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"
#include "xmalloc.h"

void
conf_lines_open(struct conf_lines *it, const char *text)
{
	if (strncmp(text, "\xef\xbb\xbf", 3) == 0)
		text += 3;
	it->copy = xstrdup(text);
	it->size = strlen(text);
	it->next = it->copy;
	it->line = 0;
}

char *
conf_lines_next(struct conf_lines *it)
{
	char *line = it->next;
	if (line == NULL)
		return NULL;
	char *nl = strchr(line, '\n');
	if (nl != NULL)
		*nl++ = '\0';
	it->next = nl;
	it->line++;
	return line;
}

void
conf_lines_close(struct conf_lines *it)
{
	if (it->copy != NULL)
		explicit_bzero(it->copy, it->size);
	free(it->copy);
	*it = (struct conf_lines){0};
}

int
conf_vfail(char *err, size_t err_size, const char *file, int line, const char *fmt, va_list ap)
{
	if (err == NULL || err_size == 0)
		return -1;
	int n = snprintf(err, err_size, "%s:%d: ", file, line);
	if (n < 0 || (size_t)n >= err_size)
		return -1;
	vsnprintf(err + n, err_size - (size_t)n, fmt, ap);
	return -1;
}

bool
conf_is_hostname(const char *s)
{
	size_t len = strlen(s), label = 0;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-';
		if (!ok || (label == 0 && c == '-'))
			return false;
		label++;
	}
	return true;
}

size_t
conf_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[33];
	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			int ca = a[i - 1] | 0x20, cb = b[j - 1] | 0x20;
			size_t best = diag + (ca != cb);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *
conf_esc(char out[CONF_ESC_SIZE], const char *word)
{
	return str_escape(out, CONF_ESC_SIZE, word, strlen(word));
}

bool
conf_append_line(char *err, size_t err_size, size_t *used, const char *text)
{
	if (err == NULL || err_size == 0)
		return false;
	size_t len = strlen(text), sep = *used ? 1 : 0;
	if (*used == 0 && len + 1 > err_size) { /* the first is cut rather than lost */
		str_copy_n(err, err_size, text, err_size - 1);
		*used = err_size - 1;
		return true;
	}
	if (*used + sep + len + 1 > err_size)
		return false;
	if (sep)
		err[(*used)++] = '\n';
	memcpy(err + *used, text, len + 1);
	*used += len;
	return true;
}
