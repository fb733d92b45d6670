/*
 * auth_check: the orchestration of one message's checks (see the header
 * for the actions). SPF runs at finish, with the same DNS budget as DKIM
 * and DMARC; the DKIM body hashes are computed as the body streams in.
 */
#include "auth_check.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_results.h"
#include "str.h"
#include "xmalloc.h"

struct auth_check {
	struct spf_request rq;
	char *ip, *helo, *sender, *receiver;
	char authserv_id[256];
	enum config_dmarc_policy policy;
	struct dkim_verifier *dkim;
	bool have_headers;
	bool headers_cut; /* the header section was over msg_headers' limit */
	char from_domain[256];
	char from_why[256];
	bool from_ok;
};

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct auth_check *
auth_check_new(const struct spf_request *rq, const char *authserv_id,
	       enum config_dmarc_policy policy)
{
	struct auth_check *c = xcalloc(1, sizeof *c);
	c->ip = dup_or_null(rq->ip);
	c->helo = dup_or_null(rq->helo);
	c->sender = dup_or_null(rq->sender);
	c->receiver = dup_or_null(rq->receiver);
	c->rq = (struct spf_request){c->ip, c->helo, c->sender, c->receiver, rq->now};
	str_copy(c->authserv_id, sizeof c->authserv_id, authserv_id);
	c->policy = policy;
	c->dkim = dkim_verifier_new();
	return c;
}

void
auth_check_headers(struct auth_check *c, const struct msg_headers *h)
{
	struct strv from[2];
	size_t nfrom = 0, total = 0;

	c->have_headers = true;
	c->headers_cut = h->too_big;
	dkim_verifier_headers(c->dkim, h);
	/* Only the count of From: fields beyond two matters: "several" is enough. */
	for (size_t i = 0; i < msg_headers_count(h); i++) {
		const struct msg_header *f = msg_headers_at(h, i);
		if (!msg_header_is(f, "From"))
			continue;
		if (nfrom < 2)
			from[nfrom++] = (struct strv){f->raw, f->len};
		total++;
	}
	if (total > 2) {
		snprintf(c->from_why, sizeof c->from_why,
			 "the message has %zu From: fields (RFC 5322 3.6 allows one)", total);
		return;
	}
	c->from_ok = dmarc_author_domain(from, nfrom, c->from_domain, sizeof c->from_domain,
					 c->from_why, sizeof c->from_why) == 0;
}

void
auth_check_body(struct auth_check *c, const char *p, size_t n)
{
	if (c->have_headers)
		dkim_verifier_body(c->dkim, p, n);
}

static enum dmarc_auth
dkim_auth(const char *result)
{
	if (strcmp(result, "pass") == 0)
		return DMARC_AUTH_PASS;
	if (strcmp(result, "temperror") == 0)
		return DMARC_AUTH_TEMPERROR;
	return DMARC_AUTH_OTHER;
}

static unsigned
pct_roll(void)
{
	unsigned char b[4];
	/* RFC 7489 6.6.4 wants a random sample; on the (unlikely) failure of the
	 * generator, the policy applies in full */
	if (RAND_bytes(b, sizeof b) != 1)
		return 0;
	return (
	    unsigned)(((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]) %
		      100);
}

static void
run_dmarc(struct auth_check *c, const struct ma_dns *dns, struct auth_verdict *v)
{
	struct dmarc_ident dk[AUTH_CHECK_MAX_DKIM];
	for (size_t i = 0; i < v->ndkim; i++)
		dk[i] = (struct dmarc_ident){v->dkim[i].domain, dkim_auth(v->dkim[i].result)};
	struct dmarc_input in = {
	    .from_domain = c->from_ok ? c->from_domain : NULL,
	    .from_why = c->from_why,
	    /* RFC 7489 4.1: SPF's MAIL FROM identity; for <> that is the HELO
	     * one (RFC 7208 2.4), which spf_check then reports */
	    .spf = {v->spf.domain, v->spf.result == SPF_PASS	    ? DMARC_AUTH_PASS
				   : v->spf.result == SPF_TEMPERROR ? DMARC_AUTH_TEMPERROR
								    : DMARC_AUTH_OTHER},
	    .dkim = dk,
	    .ndkim = v->ndkim,
	    .pct_roll = pct_roll(),
	};
	dmarc_check(dns, &in, &v->dmarc);
}

/* The action under the configured policy, and the detail for the reply. */
static void
decide(const struct auth_check *c, struct auth_verdict *v)
{
	const struct dmarc_outcome *d = &v->dmarc;
	v->action = AUTH_ACCEPT;
	if (!v->have_message) {
		snprintf(v->detail, sizeof v->detail, "SPF %s for %s",
			 spf_result_name(v->spf.result), v->spf.domain);
		return;
	}
	if (d->from_invalid) {
		/* A From: past the collector's limit is unseen, not missing: the
		 * author is unknown, which is no reason to refuse. */
		v->action = c->headers_cut ? AUTH_ACCEPT : AUTH_REJECT;
		snprintf(v->detail, sizeof v->detail, "DMARC cannot authenticate the author: %s",
			 d->reason);
	} else if (d->result == DMARC_RESULT_FAIL && d->disposition == DMARC_POLICY_REJECT) {
		v->action = d->maybe_transient ? AUTH_TEMPFAIL : AUTH_REJECT;
		snprintf(v->detail, sizeof v->detail,
			 "DMARC policy of %s says reject: neither SPF nor DKIM authenticates "
			 "this From: domain%s",
			 d->from_domain,
			 d->maybe_transient ? " (a DNS lookup failed: try again later)" : "");
	} else if (d->result == DMARC_RESULT_FAIL && d->disposition == DMARC_POLICY_QUARANTINE) {
		v->action = AUTH_QUARANTINE;
		snprintf(v->detail, sizeof v->detail,
			 "DMARC policy of %s says quarantine: delivered marked as spam",
			 d->from_domain);
	} else if (d->result == DMARC_RESULT_TEMPERROR && d->maybe_transient) {
		v->action = AUTH_TEMPFAIL;
		snprintf(v->detail, sizeof v->detail,
			 "DMARC policy of %s could not be fetched (DNS): try again later",
			 d->from_domain);
	} else {
		snprintf(v->detail, sizeof v->detail, "DMARC %s for %s",
			 dmarc_result_name(d->result), d->from_domain);
	}
	if (c->policy == CONFIG_DMARC_REPORT_ONLY && v->action != AUTH_ACCEPT) {
		size_t n = strlen(v->detail);
		snprintf(v->detail + n, sizeof v->detail - n, " (report-only: accepted)");
		v->action = AUTH_ACCEPT;
	}
}

static const char *
upper_policy(enum dmarc_policy p)
{
	static const char *const names[] = {"", "NONE", "QUARANTINE", "REJECT"};
	return (unsigned)p < 4 ? names[p] : "";
}

/* The A-R field; ndkim signatures, comments or not. Returns its length. */
static size_t
build_header(const struct auth_check *c, const struct auth_verdict *v, size_t ndkim, bool comments,
	     struct auth_results *ar)
{
	size_t len;
	auth_results_init(ar, c->authserv_id, comments);
	auth_results_method(ar, "spf", spf_result_name(v->spf.result), v->spf.reason);
	auth_results_prop(ar, strcmp(v->spf.identity, "helo") == 0 ? "smtp.helo" : "smtp.mailfrom",
			  strcmp(v->spf.identity, "helo") == 0 ? v->spf.domain : v->spf.sender);
	if (v->have_message) {
		if (v->ndkim == 0)
			auth_results_method(ar, "dkim", "none", "no signature");
		for (size_t i = 0; i < ndkim; i++) {
			const struct dkim_result *r = &v->dkim[i];
			auth_results_method(ar, "dkim", r->result, r->reason);
			auth_results_prop(ar, "header.d", r->domain);
			auth_results_prop(ar, "header.s", r->selector);
			auth_results_prop(ar, "header.a", r->algorithm);
			auth_results_prop(ar, "header.b", r->header_b);
		}
		const struct dmarc_outcome *d = &v->dmarc;
		char comment[400];
		if (d->record_domain[0] != '\0') {
			enum dmarc_policy sp = d->rec.sp ? d->rec.sp : d->rec.p;
			enum dmarc_policy dis = v->action == AUTH_REJECT ? DMARC_POLICY_REJECT
						: v->action == AUTH_QUARANTINE
						    ? DMARC_POLICY_QUARANTINE
						    : DMARC_POLICY_NONE;
			snprintf(comment, sizeof comment, "p=%s sp=%s dis=%s; %s",
				 upper_policy(d->rec.p), upper_policy(sp), upper_policy(dis),
				 d->reason);
		} else {
			str_copy(comment, sizeof comment, d->reason);
		}
		auth_results_method(ar, "dmarc", dmarc_result_name(d->result), comment);
		auth_results_prop(ar, "header.from", d->from_domain);
	}
	auth_results_finish(ar, &len);
	return len;
}

/* Fits the field into v->header: without comments, then with fewer signatures. */
static void
write_header(const struct auth_check *c, struct auth_verdict *v)
{
	struct auth_results ar;
	size_t ndkim = v->ndkim;
	bool comments = true;
	for (;;) {
		size_t len = build_header(c, v, ndkim, comments, &ar);
		if (len < sizeof v->header || (ndkim == 0 && !comments)) {
			if (len < sizeof v->header)
				memcpy(v->header, ar.out.data, len + 1);
			else
				v->header[0] = '\0'; /* cannot happen: our own fields are short */
			auth_results_free(&ar);
			return;
		}
		auth_results_free(&ar);
		if (comments)
			comments = false;
		else
			ndkim--;
	}
}

void
auth_check_finish(struct auth_check *c, const struct ma_dns *dns, struct auth_verdict *v)
{
	memset(v, 0, sizeof *v);
	if (c->rq.now == 0)
		c->rq.now = (int64_t)time(NULL);
	spf_check(dns, &c->rq, &v->spf);
	v->have_message = c->have_headers;
	if (c->have_headers) {
		v->ndkim =
		    dkim_verifier_finish(c->dkim, dns, c->rq.now, v->dkim, AUTH_CHECK_MAX_DKIM);
		run_dmarc(c, dns, v);
	}
	decide(c, v);
	write_header(c, v);
}

void
auth_check_free(struct auth_check **cp)
{
	struct auth_check *c = *cp;
	if (c == NULL)
		return;
	dkim_verifier_free(&c->dkim);
	free(c->ip);
	free(c->helo);
	free(c->sender);
	free(c->receiver);
	free(c);
	*cp = NULL;
}

const char *
auth_action_name(enum auth_action a)
{
	static const char *const names[] = {"accept", "quarantine", "reject", "tempfail"};
	return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}
