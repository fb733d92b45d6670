/*
 * libFuzzer harness for the TLS report builder: rows whose names and
 * words come from the input (an MX host name is whatever DNS said).
 * Invariants: a report of rows is always made; its JSON nests properly
 * and every string in it ends (nothing the input holds breaks out of a
 * string); the mail is refused or has only CRLF line ends.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "panic.h"
#include "tlsrpt.h"

/* Take bytes up to the next 0 byte (or the end) as a field. */
static void
field(const uint8_t **p, const uint8_t *end, char *out, size_t size)
{
	size_t k = 0;
	while (*p < end && **p != 0 && k + 1 < size)
		out[k++] = (char)*(*p)++;
	out[k] = '\0';
	if (*p < end)
		(*p)++;
}

/* Depth of {} and [] outside strings returns to 0; strings close. */
static bool
json_shape_ok(const char *s, size_t n)
{
	int depth = 0;
	bool in = false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (in) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in = false;
			else if ((unsigned char)c < 0x20)
				return false;
		} else if (c == '"') {
			in = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth < 0)
				return false;
		}
	}
	return depth == 0 && !in;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlsrpt_count rows[8];
	size_t n = 0;
	const uint8_t *p = data, *end = data + size;
	char domain[TLSRPT_NAME_MAX];
	field(&p, end, domain, sizeof domain);
	while (p < end && n < 8) {
		struct tlsrpt_count *c = &rows[n++];
		memset(c, 0, sizeof *c);
		field(&p, end, c->policy_type, sizeof c->policy_type);
		field(&p, end, c->mx_host, sizeof c->mx_host);
		field(&p, end, c->ip, sizeof c->ip);
		field(&p, end, c->result_type, sizeof c->result_type);
		c->sessions = p < end ? *p++ : 1;
	}
	/* The first row's words as a policy text of its type. */
	const char *lines[] = {n ? rows[0].mx_host : "", n ? rows[0].ip : ""};
	struct tlsrpt_policy_text text = {n ? rows[0].policy_type : "sts", lines, 2};
	struct tlsrpt_report r = {"org", "a@b.test", "id@org", domain, 0, 86399, rows, n, &text, 1};
	struct buf j;
	buf_init(&j, 0);
	int rc = tlsrpt_json(&r, &j);
	MP_ASSERT(rc == (n ? 0 : -1));
	if (rc == 0)
		MP_ASSERT(json_shape_ok(j.data, j.len));
	struct tlsrpt_mail m = {
	    "a@b.test", "r@c.test",  "org", "Sat, 06 Dec 2026 00:00:00 +0000", "<x@org>",
	    "=_b",	"f.json.gz", &r,    (const unsigned char *)data,       size};
	struct buf mail;
	buf_init(&mail, 0);
	if (tlsrpt_mail_build(&m, &mail) == 0)
		for (size_t i = 0; i < mail.len; i++)
			MP_ASSERT(mail.data[i] != '\n' || (i > 0 && mail.data[i - 1] == '\r'));
	buf_free(&mail);
	buf_free(&j);
	return 0;
}
