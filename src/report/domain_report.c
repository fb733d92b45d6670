/*
 * domain_report: the verdict over a domain check, the record lines, and
 * the two renderings (see the header).
 */
#include "domain_report.h"

#include <string.h>
#include <sysexits.h>

#include "json.h"
#include "str.h"

#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_OFF "\033[0m"

const char *
dc_status_name(enum dc_status s)
{
	static const char *const names[] = {"ok", "missing", "invalid", "mismatch", "error"};
	return names[s];
}

const char *
dc_check_name(enum dc_check c)
{
	static const char *const names[] = {"mx",      "spf",	  "dkim", "dmarc",
					    "mta_sts", "tls_rpt", "ptr",  "dane"};
	return names[c];
}

/* The JSON member that lists a check's parts, or NULL when it has none. */
static const char *
dc_parts_name(enum dc_check c)
{
	switch (c) {
	case DC_MX:
		return "hosts";
	case DC_DKIM:
		return "selectors";
	case DC_PTR:
		return "addresses";
	case DC_MTA_STS:
	case DC_DANE:
		return "mx_hosts";
	default:
		return NULL;
	}
}

static int
rank(enum dc_status s)
{
	static const int ranks[] = {
	    [DC_OK] = 0, [DC_ERROR] = 1, [DC_MISSING] = 2, [DC_MISMATCH] = 3, [DC_INVALID] = 4};
	return ranks[s];
}

enum dc_status
dc_worse(enum dc_status a, enum dc_status b)
{
	return rank(b) > rank(a) ? b : a;
}

/* A check that asks something of the user: a required one not ok, an optional one broken. */
static bool
needs_work(const struct dc_item *it)
{
	if (it->status == DC_OK)
		return false;
	return it->required || it->status == DC_INVALID || it->status == DC_MISMATCH;
}

bool
domain_report_ok(const struct domain_report *r)
{
	for (int c = 0; c < DC_NCHECKS; c++)
		if (needs_work(&r->items[c]))
			return false;
	return true;
}

int
domain_report_exit_code(const struct domain_report *r)
{
	bool dns_failed = false;
	for (int c = 0; c < DC_NCHECKS; c++) {
		const struct dc_item *it = &r->items[c];
		if (!needs_work(it))
			continue;
		if (it->status != DC_ERROR)
			return EX_DATAERR;
		dns_failed = dns_failed || it->dns_failed;
	}
	if (domain_report_ok(r))
		return EX_OK;
	/* An error that is not DNS's: nothing to check with (no selector known). */
	return dns_failed ? EX_TEMPFAIL : EX_DATAERR;
}

const char *
dc_add_record(struct dc_item *item, const char *line)
{
	if (item->nrecords >= DC_MAX_RECORDS)
		return NULL;
	char *r = item->records[item->nrecords++];
	str_copy(r, sizeof item->records[0], line);
	return r;
}

struct dc_part *
dc_add_part(struct dc_item *item, const char *name, enum dc_status st, const char *detail)
{
	if (item->nparts >= DC_MAX_PARTS)
		return NULL;
	struct dc_part *p = &item->parts[item->nparts++];
	str_copy(p->name, sizeof p->name, name);
	p->status = st;
	str_copy(p->detail, sizeof p->detail, detail);
	return p;
}

/* ---- JSON ---- */

static void
json_item(struct buf *out, enum dc_check c, const struct dc_item *it)
{
	buf_printf(out, "\"%s\":{\"status\":\"%s\"", dc_check_name(c), dc_status_name(it->status));
	json_key_string(out, "detail", it->detail, true);
	json_key_string(out, "fix", it->fix, true);
	buf_printf(out, ",\"required\":%s,\"records\":[", it->required ? "true" : "false");
	for (size_t i = 0; i < it->nrecords; i++) {
		buf_append_str(out, i ? "," : "");
		json_string(out, it->records[i]);
	}
	buf_append_str(out, "]");
	const char *parts = dc_parts_name(c);
	if (parts != NULL) {
		buf_printf(out, ",\"%s\":[", parts);
		for (size_t i = 0; i < it->nparts; i++) {
			const struct dc_part *p = &it->parts[i];
			buf_append_str(out, i ? ",{" : "{");
			json_key_string(out, "name", p->name, false);
			json_key_string(out, "status", dc_status_name(p->status), true);
			json_key_string(out, "detail", p->detail, true);
			buf_append_str(out, "}");
		}
		buf_append_str(out, "]");
	}
	buf_append_str(out, "}");
}

void
domain_report_json(const struct domain_report *r, struct buf *out)
{
	buf_append_str(out, ",\"domain_check\":{");
	json_key_string(out, "domain", r->domain, false);
	for (int c = 0; c < DC_NCHECKS; c++) {
		buf_append_str(out, ",");
		json_item(out, (enum dc_check)c, &r->items[c]);
	}
	buf_printf(out, ",\"all_ok\":%s,\"exit_code\":%d}", domain_report_ok(r) ? "true" : "false",
		   domain_report_exit_code(r));
}

/* ---- text ---- */

static const char *
paint(bool color, const char *code)
{
	return color ? code : "";
}

/*
 * Text that may quote DNS bytes, appended with every byte outside
 * printable ASCII as \xNN (no terminal escapes), quotes kept for reading.
 */
static void
text_safe(struct buf *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f)
			buf_append(out, p, 1);
		else
			buf_printf(out, "\\x%02x", *p);
	}
}

static void
text_item(struct buf *out, enum dc_check c, const struct dc_item *it, bool color)
{
	const char *col = it->status == DC_OK ? C_GREEN : needs_work(it) ? C_RED : C_YELLOW;
	buf_printf(out, "%-8s %s%-9s%s ", dc_check_name(c), paint(color, col),
		   dc_status_name(it->status), paint(color, C_OFF));
	text_safe(out, it->detail);
	buf_append_str(out, it->required ? "\n" : " (optional)\n");
	for (size_t i = 0; i < it->nparts; i++) {
		const struct dc_part *p = &it->parts[i];
		buf_append_str(out, "           ");
		text_safe(out, p->name);
		buf_printf(out, ": %s: ", dc_status_name(p->status));
		text_safe(out, p->detail);
		buf_append_str(out, "\n");
	}
	if (it->fix[0]) {
		buf_append_str(out, "  fix:     ");
		text_safe(out, it->fix);
		buf_append_str(out, "\n");
	}
	for (size_t i = 0; i < it->nrecords; i++) {
		/* Records are ours (built from checked names and base64), shown as is to paste. */
		buf_printf(out, "           %s\n", it->records[i]);
	}
}

void
domain_report_text(const struct domain_report *r, bool color, struct buf *out)
{
	buf_append_str(out, "Domain check of ");
	text_safe(out, r->domain);
	buf_printf(out, " (DNS: %s)\n\n", r->resolver[0] ? r->resolver : "the system's resolver");
	for (int c = 0; c < DC_NCHECKS; c++)
		text_item(out, (enum dc_check)c, &r->items[c], color);
	buf_append_str(out, "\n");
	if (domain_report_ok(r)) {
		buf_printf(out,
			   "%sAll is well:%s the domain's MX, SPF, DKIM, DMARC and PTR records "
			   "are in place.\n",
			   paint(color, C_GREEN), paint(color, C_OFF));
		return;
	}
	size_t n = 0;
	for (int c = 0; c < DC_NCHECKS; c++)
		n += needs_work(&r->items[c]);
	if (domain_report_exit_code(r) == EX_TEMPFAIL) {
		buf_printf(
		    out,
		    "%sDNS did not answer%s for %zu check%s: check the resolver (--resolver) "
		    "and run this again.\n",
		    paint(color, C_RED), paint(color, C_OFF), n, n == 1 ? "" : "s");
		return;
	}
	buf_printf(out,
		   "%s%zu check%s need%s work:%s publish the records under \"fix\" (at your DNS "
		   "host), wait for their TTL, and run this again.\n",
		   paint(color, C_RED), n, n == 1 ? "" : "s", n == 1 ? "s" : "",
		   paint(color, C_OFF));
}
