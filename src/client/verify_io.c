/*
 * verify_io: what `mailport verify` reads (address lists, CSV) and writes
 * (a table, JSON, CSV). Server replies are untrusted bytes: the table
 * escapes them, JSON and CSV quote them.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "probe.h"
#include "str.h"
#include "verify.h"
#include "xmalloc.h"

#define CSV_MAX_FIELDS 256

/* ---- output ---- */

static void
text_row(const struct verify_item *it, int width, struct buf *out)
{
	char flags[64], esc[1024];
	verify_flags_text(it->flags, flags, sizeof flags);
	str_escape(esc, sizeof esc, it->input, strlen(it->input));
	buf_printf(out, "%-*s  %-13s  %-16s  ", width, esc, verify_verdict_name(it->verdict),
		   flags[0] ? flags : "-");
	str_escape(esc, sizeof esc, it->reason, strlen(it->reason));
	buf_append_str(out, esc);
	if (it->smtp_code) {
		str_escape(esc, sizeof esc, it->smtp_reply, strlen(it->smtp_reply));
		buf_printf(out, " [%s]", esc);
	}
	if (it->suggestion[0]) {
		str_escape(esc, sizeof esc, it->suggestion, strlen(it->suggestion));
		buf_printf(out, " (did you mean %s?)", esc);
	}
	buf_append_str(out, "\n");
}

void
verify_text(const struct verify_item *items, size_t n, struct buf *out)
{
	int width = 7;
	for (size_t i = 0; i < n; i++) {
		int len = (int)strlen(items[i].input);
		width = len > width ? len : width;
	}
	width = width > 48 ? 48 : width; /* a long address only shifts its own row */
	buf_printf(out, "%-*s  %-13s  %-16s  %s\n", width, "ADDRESS", "VERDICT", "FLAGS", "REASON");
	for (size_t i = 0; i < n; i++)
		text_row(&items[i], width, out);
}

static void
json_flags(struct buf *out, unsigned flags)
{
	char text[64];
	verify_flags_text(flags, text, sizeof text);
	buf_append_str(out, "\"flags\":[");
	for (char *p = text, *next; *p; p = next) {
		next = p + strcspn(p, ",");
		buf_printf(out, "%s\"%.*s\"", p == text ? "" : ",", (int)(next - p), p);
		if (*next)
			next++;
	}
	buf_append_str(out, "]");
}

void
verify_json(const struct verify_item *items, size_t n, struct buf *out)
{
	buf_append_str(out, "[");
	for (size_t i = 0; i < n; i++) {
		const struct verify_item *it = &items[i];
		buf_append_str(out, i ? ",\n {\"address\":" : "\n {\"address\":");
		json_string(out, it->input);
		buf_printf(out,
			   ",\"verdict\":\"%s\",\"reason\":", verify_verdict_name(it->verdict));
		json_string(out, it->reason);
		buf_append_str(out, ",");
		json_flags(out, it->flags);
		buf_append_str(out, ",\"mx\":");
		if (it->mx[0])
			json_string(out, it->mx);
		else
			buf_append_str(out, "null");
		if (it->smtp_code) {
			buf_printf(out, ",\"smtp_code\":%d,\"smtp_reply\":", it->smtp_code);
			json_string(out, it->smtp_reply);
		} else {
			buf_append_str(out, ",\"smtp_code\":null,\"smtp_reply\":null");
		}
		buf_append_str(out, ",\"normalized\":");
		if (it->normalized[0])
			json_string(out, it->normalized);
		else
			buf_append_str(out, "null");
		buf_append_str(out, ",\"suggestion\":");
		if (it->suggestion[0])
			json_string(out, it->suggestion);
		else
			buf_append_str(out, "null");
		buf_append_str(out, "}");
	}
	buf_append_str(out, n ? "\n]\n" : "]\n");
}

/* RFC 4180: quoted when it holds a comma, quote or line break. */
static void
csv_field(struct buf *out, const char *s, bool last)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		buf_append_str(out, s);
	} else {
		buf_append_str(out, "\"");
		for (; *s; s++)
			buf_append(out, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
		buf_append_str(out, "\"");
	}
	buf_append_str(out, last ? "\r\n" : ",");
}

/*
 * Without the input CSV: address and the result columns. With it: the
 * input's columns (each row padded to the header's width), then the
 * result columns ("address" is already among the input's).
 */
void
verify_csv(const struct verify_item *items, size_t n, const struct verify_csv_in *in,
	   struct buf *out)
{
	const char *results = "verdict,reason,flags,mx,smtp_code,smtp_reply,normalized,suggestion";
	if (in) {
		for (size_t j = 0; j < in->nhead; j++)
			csv_field(out, in->head[j], false);
		buf_printf(out, "%s\r\n", results);
	} else {
		buf_printf(out, "address,%s\r\n", results);
	}
	for (size_t i = 0; i < n; i++) {
		const struct verify_item *it = &items[i];
		char flags[64], code[16] = "";
		verify_flags_text(it->flags, flags, sizeof flags);
		if (it->smtp_code)
			snprintf(code, sizeof code, "%d", it->smtp_code);
		if (in && i < in->nrows) {
			size_t width = in->nhead > in->nfields[i] ? in->nhead : in->nfields[i];
			for (size_t j = 0; j < width; j++)
				csv_field(out, j < in->nfields[i] ? in->rows[i][j] : "", false);
		} else if (in) {
			for (size_t j = 0; j < in->nhead; j++)
				csv_field(out, "", false);
		} else {
			csv_field(out, it->input, false);
		}
		csv_field(out, verify_verdict_name(it->verdict), false);
		csv_field(out, it->reason, false);
		csv_field(out, flags, false);
		csv_field(out, it->mx, false);
		csv_field(out, code, false);
		csv_field(out, it->smtp_code ? it->smtp_reply : "", false);
		csv_field(out, it->normalized, false);
		csv_field(out, it->suggestion, true);
	}
}

/* ---- input ---- */

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
