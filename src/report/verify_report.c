/*
 * verify_report: what `mailport verify` writes: a table, one JSON array,
 * CSV (see the header). Server replies are untrusted bytes: the table
 * escapes them, JSON and CSV quote them.
 */
#include "verify_report.h"

#include <stdio.h>
#include <string.h>

#include "json.h"
#include "str.h"
#include "verify_input.h"

const char *
verify_verdict_name(enum verify_verdict v)
{
	static const char *const names[] = {"deliverable", "undeliverable", "risky", "unknown"};
	return names[v];
}

void
verify_flags_text(unsigned flags, char *out, size_t size)
{
	static const char *const names[] = {"role", "disposable", "catch-all", "tempfail", "free"};
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (flags & (1u << i))
			len += (size_t)snprintf(out + len, len < size ? size - len : 0, "%s%s",
						len ? "," : "", names[i]);
}

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
