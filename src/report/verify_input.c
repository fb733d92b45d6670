/*
 * verify_input: the addresses `mailport verify` reads from a file: one per
 * line, or a CSV column (RFC 4180: quoted fields, "" inside quotes, line
 * breaks inside quotes, CRLF), with the byte-order mark spreadsheets write
 * skipped. The CSV's header and rows are kept for --csv (see the header).
 */
#include "verify_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "str.h"
#include "xmalloc.h"

/* Past this many fields in one record, fields keep no bytes (they come out empty). */
#define CSV_MAX_FIELDS 256

static void
push(char ***list, size_t *n, const char *p, size_t len)
{
	/* Spaces around an address are the file's, not the address's. */
	while (len && (*p == ' ' || *p == '\t'))
		p++, len--;
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
		len--;
	*list = xrealloc(*list, (*n + 1) * sizeof **list);
	char *s = xmalloc(len + 1);
	memcpy(s, p, len);
	s[len] = '\0';
	(*list)[(*n)++] = s;
}

static void
free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* One CSV record (RFC 4180: quotes, "" inside, line breaks in quotes) at *off. */
static size_t
csv_record(const char *t, size_t len, size_t *off, char ***f)
{
	size_t nf = 0, i = *off;
	struct buf cur;
	buf_init(&cur, 0);
	bool quoted = false, ended = false;
	for (; i < len && !ended; i++) {
		char c = t[i];
		if (quoted && c == '"' && i + 1 < len && t[i + 1] == '"') {
			buf_append(&cur, "\"", 1);
			i++;
		} else if (c == '"' && (quoted || cur.len == 0)) {
			quoted = !quoted;
		} else if (!quoted && (c == ',' || c == '\n')) {
			push(f, &nf, cur.data ? cur.data : "", cur.len);
			buf_reset(&cur);
			ended = c == '\n';
		} else if (nf < CSV_MAX_FIELDS) {
			buf_append(&cur, &c, 1);
		}
	}
	if (!ended && (cur.len || nf))
		push(f, &nf, cur.data ? cur.data : "", cur.len);
	buf_free(&cur);
	*off = i;
	return nf;
}

void
verify_csv_in_free(struct verify_csv_in *csv)
{
	free_list(csv->head, csv->nhead);
	for (size_t i = 0; i < csv->nrows; i++)
		free_list(csv->rows[i], csv->nfields[i]);
	free(csv->rows);
	free(csv->nfields);
	memset(csv, 0, sizeof *csv);
}

static int
read_csv(const char *t, size_t len, const char *column, char ***list, size_t *n_r,
	 struct verify_csv_in *csv, char *err, size_t err_size)
{
	size_t off = 0, col = 0, nh;
	char **head = NULL;
	nh = csv_record(t, len, &off, &head);
	while (col < nh && !str_eq_ci(head[col], column))
		col++;
	if (col == nh) {
		free_list(head, nh);
		snprintf(err, err_size, "no column named '%s' in the header line", column);
		return -1;
	}
	if (csv) {
		csv->head = head;
		csv->nhead = nh;
	} else {
		free_list(head, nh);
	}
	while (off < len) {
		char **f = NULL;
		size_t nf = csv_record(t, len, &off, &f);
		if (!(col < nf && f[col][0])) {
			free_list(f, nf); /* a row without an address: nothing to check */
			continue;
		}
		push(list, n_r, f[col], strlen(f[col]));
		if (csv == NULL) {
			free_list(f, nf);
			continue;
		}
		csv->rows = xrealloc(csv->rows, (csv->nrows + 1) * sizeof *csv->rows);
		csv->nfields = xrealloc(csv->nfields, (csv->nrows + 1) * sizeof *csv->nfields);
		csv->rows[csv->nrows] = f;
		csv->nfields[csv->nrows++] = nf;
	}
	return 0;
}

int
verify_read_input(const char *text, size_t len, const char *column, char ***list, size_t *n_r,
		  struct verify_csv_in *csv, char *err, size_t err_size)
{
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		text += 3; /* the byte-order mark spreadsheets write */
		len -= 3;
	}
	if (column)
		return read_csv(text, len, column, list, n_r, csv, err, err_size);
	for (size_t off = 0; off < len;) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t before = *n_r;
		push(list, n_r, text + off, end - off);
		if ((*list)[before][0] == '\0' || (*list)[before][0] == '#')
			free((*list)[--*n_r]); /* blank lines and comments */
		off = end + 1;
	}
	return 0;
}
