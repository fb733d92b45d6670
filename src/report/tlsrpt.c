/*
 * tlsrpt: the RFC 8460 report (JSON, section 4) and its mail (section 5.3).
 * See tlsrpt.h. The JSON is written by hand through the one JSON string
 * writer (lib/json.c); the rows are merged with a sort, so a report of any
 * size costs n log n and no hash table.
 */
#include "tlsrpt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "json.h"
#include "str.h"
#include "xmalloc.h"

/* RFC 8460 4.3: the result types a report may carry. */
static const char *const result_types[] = {
    "starttls-not-supported", "certificate-host-mismatch",
    "certificate-expired",    "certificate-not-trusted",
    "validation-failure",     "tlsa-invalid",
    "dnssec-invalid",	      "dane-required",
    "sts-policy-fetch-error", "sts-policy-invalid",
    "sts-webpki-invalid",
};
static const char *const policy_types[] = {"sts", "tlsa", "no-policy-found"};

static bool
in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

bool
tlsrpt_result_type_valid(const char *result_type)
{
	return in_list(result_type, result_types, sizeof result_types / sizeof *result_types);
}

bool
tlsrpt_policy_type_valid(const char *policy_type)
{
	return in_list(policy_type, policy_types, sizeof policy_types / sizeof *policy_types);
}

/* A row as the report shows it: unknown words replaced (see tlsrpt.h). */
static void
normalise(struct tlsrpt_count *c)
{
	if (!tlsrpt_policy_type_valid(c->policy_type))
		str_copy(c->policy_type, sizeof c->policy_type, "no-policy-found");
	if (c->result_type[0] && !tlsrpt_result_type_valid(c->result_type))
		str_copy(c->result_type, sizeof c->result_type, "validation-failure");
}

/* Policy type first (one "policies" entry each), then successes, then the
 * failure details' key. */
static int
by_row(const void *a, const void *b)
{
	const struct tlsrpt_count *x = a, *y = b;
	int d = strcmp(x->policy_type, y->policy_type);
	if (d == 0)
		d = strcmp(x->result_type, y->result_type);
	if (d == 0)
		d = strcmp(x->mx_host, y->mx_host);
	if (d == 0)
		d = strcmp(x->ip, y->ip);
	return d;
}

static bool
same_row(const struct tlsrpt_count *x, const struct tlsrpt_count *y)
{
	return by_row(x, y) == 0;
}

static void
iso_time(struct buf *out, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];
	gmtime_r(&tt, &tm);
	strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_string(out, s);
}

/* The distinct MX hosts of rows [b, e) as a JSON array (rows sorted by type). */
static void
mx_hosts(struct buf *out, const struct tlsrpt_count *rows, size_t b, size_t e)
{
	buf_append_str(out, "[");
	size_t shown = 0;
	for (size_t i = b; i < e; i++) {
		bool seen = false;
		for (size_t j = b; j < i && !seen; j++)
			seen = strcmp(rows[j].mx_host, rows[i].mx_host) == 0;
		if (seen || rows[i].mx_host[0] == '\0')
			continue;
		if (shown++)
			buf_append_str(out, ",");
		json_string(out, rows[i].mx_host);
	}
	buf_append_str(out, "]");
}

/* One "policies" entry: rows [b, e) share the policy type. */
static void
policy_entry(struct buf *out, const struct tlsrpt_report *r, const struct tlsrpt_count *rows,
	     size_t b, size_t e)
{
	uint64_t ok = 0, failed = 0;
	for (size_t i = b; i < e; i++)
		*(rows[i].result_type[0] ? &failed : &ok) += rows[i].sessions;
	buf_append_str(out, "{\"policy\":{");
	json_key_string(out, "policy-type", rows[b].policy_type, false);
	for (size_t t = 0; t < r->ntexts; t++) {
		const struct tlsrpt_policy_text *pt = &r->texts[t];
		if (pt->nlines == 0 || strcmp(pt->policy_type, rows[b].policy_type) != 0 ||
		    strcmp(pt->policy_type, "no-policy-found") == 0)
			continue;
		buf_append_str(out, ",\"policy-string\":[");
		for (size_t i = 0; i < pt->nlines; i++) {
			if (i)
				buf_append_str(out, ",");
			json_string(out, pt->lines[i]);
		}
		buf_append_str(out, "]");
		break;
	}
	json_key_string(out, "policy-domain", r->policy_domain, true);
	buf_append_str(out, ",\"mx-host\":");
	mx_hosts(out, rows, b, e);
	buf_printf(out,
		   "},\"summary\":{\"total-successful-session-count\":%" PRIu64
		   ",\"total-failure-session-count\":%" PRIu64 "}",
		   ok, failed);
	buf_append_str(out, ",\"failure-details\":[");
	size_t shown = 0;
	for (size_t i = b; i < e; i++) {
		if (rows[i].result_type[0] == '\0')
			continue;
		buf_append_str(out, shown++ ? ",{" : "{");
		json_key_string(out, "result-type", rows[i].result_type, false);
		if (rows[i].mx_host[0])
			json_key_string(out, "receiving-mx-hostname", rows[i].mx_host, true);
		if (rows[i].ip[0])
			json_key_string(out, "receiving-ip", rows[i].ip, true);
		buf_printf(out, ",\"failed-session-count\":%" PRIu64 "}", rows[i].sessions);
	}
	buf_append_str(out, "]}");
}

int
tlsrpt_json(const struct tlsrpt_report *r, struct buf *out)
{
	if (r->ncounts == 0)
		return -1;
	/* A copy to sort and merge: the caller's rows stay as they were. */
	struct tlsrpt_count *rows = xcalloc(r->ncounts, sizeof *rows);
	memcpy(rows, r->counts, r->ncounts * sizeof *rows);
	for (size_t i = 0; i < r->ncounts; i++)
		normalise(&rows[i]);
	qsort(rows, r->ncounts, sizeof *rows, by_row);
	size_t n = 0;
	for (size_t i = 0; i < r->ncounts; i++) {
		if (n > 0 && same_row(&rows[n - 1], &rows[i]))
			rows[n - 1].sessions += rows[i].sessions;
		else
			rows[n++] = rows[i];
	}
	buf_append_str(out, "{");
	json_key_string(out, "organization-name", r->organization, false);
	buf_append_str(out, ",\"date-range\":{\"start-datetime\":");
	iso_time(out, r->start);
	buf_append_str(out, ",\"end-datetime\":");
	iso_time(out, r->end);
	buf_append_str(out, "}");
	json_key_string(out, "contact-info", r->contact, true);
	json_key_string(out, "report-id", r->report_id, true);
	buf_append_str(out, ",\"policies\":[");
	for (size_t b = 0, e; b < n; b = e) {
		for (e = b + 1; e < n && strcmp(rows[e].policy_type, rows[b].policy_type) == 0; e++)
			;
		if (b > 0)
			buf_append_str(out, ",");
		policy_entry(out, r, rows, b, e);
	}
	buf_append_str(out, "]}");
	free(rows);
	return 0;
}

bool
tlsrpt_file_name(const char *submitter, const struct tlsrpt_report *r, const char *unique,
		 char *out, size_t size)
{
	/* RFC 8460 5.3: the '!'-separated fields, "unique" optional. */
	int n = snprintf(out, size, "%s!%s!%" PRId64 "!%" PRId64 "%s%s.json.gz", submitter,
			 r->policy_domain, r->start, r->end, unique && unique[0] ? "!" : "",
			 unique ? unique : "");
	return n > 0 && (size_t)n < size;
}

static bool
has_crlf(const char *s)
{
	return s == NULL || strpbrk(s, "\r\n") != NULL;
}

/* The text part: what this is, for a person who opens it. */
static void
text_part(struct buf *out, const struct tlsrpt_mail *m)
{
	buf_printf(out,
		   "This is an SMTP TLS report (RFC 8460) for %s, from %s.\r\n"
		   "It counts the TLS sessions %s made to the domain's mail servers\r\n"
		   "in the period of the attached report, and why any of them failed.\r\n",
		   m->report->policy_domain, m->submitter, m->submitter);
}

int
tlsrpt_mail_build(const struct tlsrpt_mail *m, struct buf *out)
{
	const struct tlsrpt_report *r = m->report;
	const char *fields[] = {m->from,      m->to,	     m->submitter,
				m->date,      m->message_id, m->boundary,
				m->file_name, r->report_id,  r->policy_domain};
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
		if (has_crlf(fields[i]) || strchr(fields[i], '"') != NULL)
			return -1;
	struct buf text;
	buf_init(&text, 0);
	text_part(&text, m);
	bool clash = strstr(text.data, m->boundary) != NULL;
	buf_free(&text);
	/* base64 never holds "=_" or '!' ... but a boundary of plain letters could occur. */
	if (clash || m->boundary[0] == '\0')
		return -1;
	/* RFC 8460 5.3: the two fields and the subject's form. */
	buf_printf(out,
		   "From: <%s>\r\nTo: <%s>\r\nDate: %s\r\nMessage-ID: %s\r\n"
		   "Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\r\n"
		   "TLS-Report-Domain: %s\r\nTLS-Report-Submitter: %s\r\n"
		   "TLS-Required: No\r\nMIME-Version: 1.0\r\n"
		   "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n"
		   "\tboundary=\"%s\"\r\n\r\n",
		   m->from, m->to, m->date, m->message_id, r->policy_domain, m->submitter,
		   r->report_id, r->policy_domain, m->submitter, m->boundary);
	buf_printf(out,
		   "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
		   "Content-Transfer-Encoding: 7bit\r\n\r\n",
		   m->boundary);
	text_part(out, m);
	buf_printf(out,
		   "\r\n--%s\r\nContent-Type: application/tlsrpt+gzip\r\n"
		   "Content-Transfer-Encoding: base64\r\n"
		   "Content-Disposition: attachment;\r\n\tfilename=\"%s\"\r\n\r\n",
		   m->boundary, m->file_name);
	/* 57 bytes make a 76-character line (RFC 2045 6.8). */
	char line[B64_ENCODED_SIZE(57)];
	for (size_t off = 0; off < m->gz_len; off += 57) {
		size_t k = m->gz_len - off < 57 ? m->gz_len - off : 57;
		b64_encode(m->gz + off, k, line);
		buf_append_str(out, line);
		buf_append_str(out, "\r\n");
	}
	buf_printf(out, "\r\n--%s--\r\n", m->boundary);
	return 0;
}
