/*
 * outbound_tlsrpt: what outbound delivery tells the TLS report store
 * (RFC 8460): each new MX session's outcome under its policy type, and
 * the policy text behind the plan (for the report's policy-string).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "outbound_int.h"
#include "tlsrpt_store.h"

/*
 * Count a new session to an MX host for TLS reporting (a kept connection's
 * next message is no new session). Without a policy the domain's owner
 * still learns which MX hosts spoke no TLS at all: a session in the clear
 * counts as starttls-not-supported there.
 */
void
outbound_note_session(struct outbound *ob, const struct mx_tls *m, const char *domain,
		      const char *host, const char *addr, const struct client_run_result *r,
		      const char *tls_result, const struct buf *body)
{
	/* RFC 8460 5.3: a report's own delivery is not counted in the next one. */
	const char *end = body->data ? memmem(body->data, body->len, "\r\n\r\n", 4) : NULL;
	if (end && memmem(body->data, (size_t)(end - body->data), "\r\nTLS-Report-Domain:", 20))
		return;
	const char *type = m->policy_type ? m->policy_type : "no-policy-found";
	if (tls_result == NULL && !r->tls_used && strcmp(type, "no-policy-found") == 0)
		tls_result = "starttls-not-supported";
	tlsrpt_note(ob->cfg.tlsrpt, domain, type, host, addr, tls_result, (int64_t)time(NULL));
}

/*
 * The policy text behind this host's plan, for the report's policy-string
 * (RFC 8460 4.4): the MTA-STS policy's lines, or the usable TLSA records.
 */
void
outbound_note_policy(struct outbound *ob, const struct domain_tls *d, const struct mx_tls *m)
{
	const char *type = m->policy_type ? m->policy_type : "";
	char text[MTA_STS_MAX_MX + 4][300];
	const char *lines[MTA_STS_MAX_MX + 4];
	size_t n = 0;
	if (strcmp(type, "sts") == 0 && d->sts == 1) {
		const struct mta_sts_policy *p = &d->sts_policy;
		snprintf(text[n++], sizeof text[0], "version: STSv1");
		snprintf(text[n++], sizeof text[0], "mode: %s",
			 p->mode == MTA_STS_ENFORCE   ? "enforce"
			 : p->mode == MTA_STS_TESTING ? "testing"
						      : "none");
		for (size_t i = 0; i < p->nmx && i < MTA_STS_MAX_MX; i++)
			snprintf(text[n++], sizeof text[0], "mx: %s", p->mx[i]);
		snprintf(text[n++], sizeof text[0], "max_age: %ld", p->max_age);
	} else if (strcmp(type, "tlsa") == 0) {
		for (size_t i = 0; i < m->ntlsa && n < MTA_STS_MAX_MX + 4; i++) {
			const struct dns_tlsa *t = &m->tlsa[i];
			int k = snprintf(text[n], sizeof text[0], "%u %u %u ", t->usage,
					 t->selector, t->mtype);
			for (size_t j = 0; j < t->len && (size_t)k + 3 < sizeof text[0]; j++)
				k += snprintf(text[n] + k, sizeof text[0] - (size_t)k, "%02x",
					      t->data[j]);
			n++;
		}
	}
	for (size_t i = 0; i < n; i++)
		lines[i] = text[i];
	if (n > 0)
		tlsrpt_note_policy(ob->cfg.tlsrpt, d->domain, type, lines, n, (int64_t)time(NULL));
}

void
outbound_note_plan_failure(struct outbound *ob, const struct domain_tls *d, const struct mx_tls *m,
			   const char *host)
{
	/* RFC 8460: a policy that failed before any connection is a failed session too. */
	if (m->result_type[0])
		tlsrpt_note(ob->cfg.tlsrpt, d->domain, m->policy_type, host, "", m->result_type,
			    (int64_t)time(NULL));
}
