/*
 * probe_text: the probe report for a person: DNS, one table row per door,
 * each door's details, warnings and findings, then the door to use. Color
 * only when asked (a terminal); server bytes are escaped before they reach
 * one.
 */
#include "probe_report.h"

#include <string.h>

#include "str.h"

#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_BOLD "\033[1m"
#define C_OFF "\033[0m"

static const char *
safe(const char *s, char *out, size_t size)
{
	return str_escape(out, size, s, strlen(s));
}

static const char *
paint(bool color, const char *code)
{
	return color ? code : "";
}

static const char *
encryption_name(const struct probe_door *pd)
{
	const char *m = probe_tls_mode(pd);
	return strcmp(m, "implicit") == 0   ? "implicit TLS"
	       : strcmp(m, "starttls") == 0 ? "STARTTLS"
					    : "no TLS";
}

static void
text_table(const struct probe_report *r, bool color, struct buf *out)
{
	buf_printf(out, "%-6s %-13s %-17s %s\n", "DOOR", "ENCRYPTION", "RESULT", "FIX");
	for (size_t i = 0; i < r->ndoors; i++) {
		const struct probe_door *pd = &r->doors[i];
		bool ok = pd->outcome->id == OUTCOME_OK;
		struct buf fix;
		buf_init(&fix, 0);
		outcome_fix_append(pd->outcome, r->provider, &fix);
		buf_printf(out, "%-6u %-13s %s%-17s%s %s\n", pd->door.port, encryption_name(pd),
			   paint(color, ok ? C_GREEN : C_RED),
			   outcome_status_name(pd->outcome->status), paint(color, C_OFF),
			   fix.data ? fix.data : "");
		buf_free(&fix);
	}
}

static void
text_tls(const struct probe_door *pd, struct buf *out)
{
	const struct tls_info *t = &pd->tls;
	char a[300], b[300], c[600];
	if (!pd->tls_seen)
		return;
	buf_printf(out, "  TLS: %s, %s; %s\n", t->version, t->cipher,
		   t->verified ? "certificate verified, host name matches"
			       : "certificate NOT verified");
	buf_printf(out, "  certificate: subject %s; issuer %s\n", safe(t->subject, a, sizeof a),
		   safe(t->issuer, b, sizeof b));
	buf_printf(out, "  names: %s; expires %s (%ld days left)\n",
		   t->sans[0] ? safe(t->sans, c, sizeof c) : "(no SANs)", t->not_after,
		   t->days_left);
}

static void
text_caps(const struct probe_door *pd, struct buf *out)
{
	const struct smtp_client_caps *k = &pd->caps;
	char a[300];
	if (!k->esmtp)
		return;
	/* Every keyword line the last EHLO listed, in its order: a whitelist
	 * would hide DSN, VRFY, ETRN, HELP and whatever the server adds. */
	buf_append_str(out, "  capabilities:");
	char line[sizeof k->keywords];
	const char *p = k->keywords;
	while (*p) {
		size_t n = strcspn(p, "\n");
		str_copy_n(line, sizeof line, p, n);
		buf_printf(out, " %s", safe(line, a, sizeof a));
		p += n + (p[n] == '\n');
	}
	if (k->keywords_dropped)
		buf_printf(out, " (and %u more lines)", k->keywords_dropped);
	buf_append_str(out, "\n");
}

static void
text_door(const struct probe_report *r, const struct probe_door *pd, bool color, struct buf *out)
{
	char a[700], reply[700];
	bool ok = pd->outcome->id == OUTCOME_OK;
	buf_printf(out, "\n%s%s:%u (%s): %s%s\n", paint(color, C_BOLD), r->host, pd->door.port,
		   door_tls_name(pd->door.tls), pd->outcome->what, paint(color, C_OFF));
	if (pd->greeted)
		buf_printf(out, "  greeting: 220 %s\n", safe(pd->caps.greeting, a, sizeof a));
	text_tls(pd, out);
	text_caps(pd, out);
	if (!ok) {
		buf_printf(out, "  cause: %s\n", pd->outcome->cause);
		if (pd->detail[0])
			buf_printf(out, "  reason: %s\n", safe(pd->detail, a, sizeof a));
		probe_reply_text(&pd->reply, reply, sizeof reply);
		if (reply[0])
			buf_printf(out, "  server said: \"%s\"\n", safe(reply, a, sizeof a));
	}
	for (size_t i = 0; i < pd->nnotes; i++)
		buf_printf(out, "  %swarning:%s %s\n", paint(color, C_YELLOW), paint(color, C_OFF),
			   safe(pd->notes[i], a, sizeof a));
	for (size_t i = 0; i < pd->nfindings; i++) {
		const struct probe_finding *f = &pd->findings[i];
		buf_printf(out, "  %sfinding [%s]%s %s: %s\n    fix: %s\n",
			   paint(color, f->severity >= PROBE_HIGH ? C_RED : C_YELLOW),
			   probe_severity_name(f->severity), paint(color, C_OFF), f->id,
			   safe(f->what, a, sizeof a), f->fix);
	}
}

static void
text_dns(const struct probe_report *r, struct buf *out)
{
	const struct probe_dns *d = r->dns;
	if (d == NULL)
		return;
	buf_printf(out, "DNS: %s ->", r->host);
	for (size_t i = 0; i < d->naddrs; i++)
		buf_printf(out, " %s", d->addrs[i]);
	if (d->naddrs == 0)
		buf_printf(out, " no address (%s)", d->addr_error);
	for (size_t i = 0; i < d->nmx; i++)
		buf_printf(out, "%s %u %s", i ? "," : "; MX:", d->mx[i].pref, d->mx[i].host);
	if (d->null_mx)
		buf_append_str(out, "; null MX (RFC 7505): this domain accepts no mail");
	buf_append_str(out, "\n\n");
}

void
probe_text(const struct probe_report *r, bool color, struct buf *out)
{
	if (r->provider)
		buf_printf(out, "Provider: %s\n", r->provider->display);
	/* The domain check's own mx and ptr lines say what DNS says of a sending domain. */
	if (r->domain == NULL || r->ndoors > 0)
		text_dns(r, out);
	if (r->domain != NULL) {
		domain_report_text(r->domain, color, out);
		if (r->ndoors == 0)
			return;
		buf_append_str(out, "\n");
	}
	text_table(r, color, out);
	for (size_t i = 0; i < r->ndoors; i++)
		text_door(r, &r->doors[i], color, out);
	buf_append_str(out, "\n");
	if (r->recommended < 0) {
		buf_printf(out, "%sNo door works for submission: see the fixes above.%s\n",
			   paint(color, C_RED), paint(color, C_OFF));
		return;
	}
	const struct probe_door *pd = &r->doors[r->recommended];
	buf_printf(out, "%sUse port %u with %s (server %s)%s\n", paint(color, C_GREEN),
		   pd->door.port, encryption_name(pd), r->host, paint(color, C_OFF));
}
