/*
 * probe_json: the `mailport probe --json` object (DESIGN.md "mailport
 * probe --json"). Every string goes through lib/json, so server bytes that
 * are not UTF-8 still make valid JSON.
 */
#include "probe_report.h"

#include <string.h>

#include "json.h"
#include "str.h"

static void
json_tls(struct buf *out, const struct probe_door *pd)
{
	const struct tls_info *t = &pd->tls;
	if (!pd->tls_seen) {
		buf_append_str(out, ",\"tls_info\":null");
		return;
	}
	buf_append_str(out, ",\"tls_info\":{");
	json_key_string(out, "version", t->version, false);
	json_key_string(out, "cipher", t->cipher, true);
	json_key_string(out, "subject", t->subject, true);
	json_key_string(out, "issuer", t->issuer, true);
	json_key_string(out, "sans", t->sans, true);
	json_key_string(out, "not_after", t->not_after, true);
	buf_printf(out, ",\"days_left\":%ld,\"verified\":%s", t->days_left,
		   t->verified ? "true" : "false");
	json_key_string(out, "verify_error", t->verify_error[0] ? t->verify_error : NULL, true);
	buf_append_str(out, "}");
}

static void
json_caps(struct buf *out, const struct probe_door *pd)
{
	const struct smtp_client_caps *k = &pd->caps;
	bool starttls = k->starttls || (pd->tls_used && pd->door.tls != CLIENT_TLS_IMPLICIT);
	buf_printf(out,
		   ",\"capabilities\":{\"esmtp\":%s,\"starttls\":%s,\"pipelining\":%s,"
		   "\"8bitmime\":%s,\"smtputf8\":%s,\"size\":%llu",
		   k->esmtp ? "true" : "false", starttls ? "true" : "false",
		   k->pipelining ? "true" : "false", k->eightbitmime ? "true" : "false",
		   k->smtputf8 ? "true" : "false", (unsigned long long)k->size);
	json_key_string(out, "auth", k->auth_line, true);
	buf_printf(out, ",\"auth_before_tls\":%s", k->auth_before_tls ? "true" : "false");
	/* Every extension the last EHLO listed, as offered (not only the known ones). */
	buf_append_str(out, ",\"keywords\":[");
	char line[sizeof k->keywords];
	const char *p = k->keywords;
	for (bool first = true; *p; first = false) {
		size_t n = strcspn(p, "\n");
		str_copy_n(line, sizeof line, p, n);
		buf_append_str(out, first ? "" : ",");
		json_string(out, line);
		p += n + (p[n] == '\n');
	}
	buf_printf(out, "],\"keywords_left_out\":%u}", k->keywords_dropped);
}

static void
json_notes(struct buf *out, const struct probe_door *pd)
{
	buf_append_str(out, ",\"warnings\":[");
	for (size_t i = 0; i < pd->nnotes; i++) {
		buf_append_str(out, i ? "," : "");
		json_string(out, pd->notes[i]);
	}
	buf_append_str(out, "],\"findings\":[");
	for (size_t i = 0; i < pd->nfindings; i++) {
		const struct probe_finding *f = &pd->findings[i];
		buf_printf(out, "%s{\"severity\":\"%s\",\"id\":\"%s\"", i ? "," : "",
			   probe_severity_name(f->severity), f->id);
		json_key_string(out, "what", f->what, true);
		json_key_string(out, "fix", f->fix, true);
		buf_append_str(out, "}");
	}
	buf_append_str(out, "]");
}

static void
json_door(struct buf *out, const struct probe_report *r, const struct probe_door *pd)
{
	char reply[700];
	struct buf fix;
	buf_init(&fix, 0);
	outcome_fix_append(pd->outcome, r->provider, &fix);
	probe_reply_text(&pd->reply, reply, sizeof reply);
	buf_printf(out, "{\"port\":%u,\"tls\":\"%s\",\"status\":\"%s\"", pd->door.port,
		   probe_tls_mode(pd), outcome_status_name(pd->outcome->status));
	json_key_string(out, "reply", reply, true);
	json_key_string(out, "fix", fix.data ? fix.data : "", true);
	json_key_string(out, "what", pd->outcome->what, true);
	json_key_string(out, "cause", pd->outcome->cause, true);
	json_key_string(out, "detail", pd->detail, true);
	json_key_string(out, "greeting", pd->greeted ? pd->caps.greeting : NULL, true);
	json_tls(out, pd);
	json_caps(out, pd);
	json_notes(out, pd);
	buf_append_str(out, "}");
	buf_free(&fix);
}

static void
json_dns(struct buf *out, const struct probe_dns *d)
{
	if (d == NULL) {
		buf_append_str(out, ",\"dns\":null");
		return;
	}
	buf_append_str(out, ",\"dns\":{\"addresses\":[");
	for (size_t i = 0; i < d->naddrs; i++) {
		buf_append_str(out, i ? "," : "");
		json_string(out, d->addrs[i]);
	}
	buf_append_str(out, "],\"mx\":[");
	for (size_t i = 0; i < d->nmx; i++) {
		buf_printf(out, "%s{\"preference\":%u,\"host\":", i ? "," : "", d->mx[i].pref);
		json_string(out, d->mx[i].host);
		buf_append_str(out, "}");
	}
	buf_printf(out, "],\"null_mx\":%s", d->null_mx ? "true" : "false");
	json_key_string(out, "error", d->addr_error[0] ? d->addr_error : NULL, true);
	json_key_string(out, "mx_error", d->mx_error[0] ? d->mx_error : NULL, true);
	buf_append_str(out, "}");
}

void
probe_json(const struct probe_report *r, struct buf *out)
{
	buf_append_str(out, "{");
	json_key_string(out, "host", r->host, false);
	json_key_string(out, "provider", r->provider ? r->provider->display : NULL, true);
	json_dns(out, r->dns);
	buf_append_str(out, ",\"doors\":[");
	for (size_t i = 0; i < r->ndoors; i++) {
		buf_append_str(out, i ? "," : "");
		json_door(out, r, &r->doors[i]);
	}
	buf_append_str(out, "],\"recommendation\":");
	if (r->recommended >= 0) {
		const struct probe_door *pd = &r->doors[r->recommended];
		buf_printf(out, "{\"port\":%u,\"tls\":\"%s\",\"host\":", pd->door.port,
			   probe_tls_mode(pd));
		json_string(out, r->host);
		buf_append_str(out, "}");
	} else {
		buf_append_str(out, "null");
	}
	if (r->domain != NULL)
		domain_report_json(r->domain, out);
	buf_printf(out, ",\"exit_code\":%d}\n", probe_exit_code(r));
}
