/*
 * tls_plan: the TLS decision for one attempt (see the header for the order
 * of precedence and the RFCs).
 */
#include "tls_plan.h"

#include <stdio.h>
#include <string.h>

#include "str.h"

static const char *const level_names[] = {
    [TLS_LEVEL_MAY] = "may",   [TLS_LEVEL_ENCRYPT] = "encrypt",	    [TLS_LEVEL_VERIFY] = "verify",
    [TLS_LEVEL_DANE] = "dane", [TLS_LEVEL_DANE_ONLY] = "dane-only",
};

static const char *const source_names[] = {
    [TLS_SRC_DEFAULT] = "default", [TLS_SRC_CONFIG] = "config",		[TLS_SRC_DANE] = "dane",
    [TLS_SRC_MTA_STS] = "mta-sts", [TLS_SRC_REQUIRETLS] = "requiretls",
};

const char *
tls_level_name(enum tls_level l)
{
	return (unsigned)l < sizeof level_names / sizeof *level_names ? level_names[l] : "?";
}

const char *
tls_source_name(enum tls_source s)
{
	return (unsigned)s < sizeof source_names / sizeof *source_names ? source_names[s] : "?";
}

int
tls_level_parse(const char *s, enum tls_level *l)
{
	if (strcmp(s, "require") == 0) { /* the level's name before there were levels */
		*l = TLS_LEVEL_ENCRYPT;
		return 0;
	}
	for (size_t i = 0; i < sizeof level_names / sizeof *level_names; i++)
		if (strcmp(s, level_names[i]) == 0) {
			*l = (enum tls_level)i;
			return 0;
		}
	return -1;
}

bool
tls_plan_verified(const struct tls_plan *p)
{
	return p->dane || p->verify_ca;
}

static void
set_level(struct tls_plan *out, enum tls_level l)
{
	out->level = l;
	out->starttls_required = l != TLS_LEVEL_MAY;
	out->verify_ca = l == TLS_LEVEL_VERIFY;
	out->dane = l == TLS_LEVEL_DANE || l == TLS_LEVEL_DANE_ONLY;
	snprintf(out->why, sizeof out->why, "policy=%s", tls_level_name(l));
}

static void
defer(struct tls_plan *out, const char *detail, const char *fix)
{
	out->defer = true;
	str_copy(out->detail, sizeof out->detail, detail);
	str_copy(out->fix, sizeof out->fix, fix);
}

/*
 * The dane and dane-only levels against the DNSSEC state. RFC 7672 2.2:
 * a secure TLSA RRset without a usable record still makes TLS mandatory,
 * unauthenticated; no TLSA at all is opportunistic (dane) or a defer
 * (dane-only); a lookup that failed validation or did not finish defers.
 */
static void
apply_dane(const struct tls_plan_in *in, enum tls_level l, struct tls_plan *out)
{
	if (in->dnssec > 0) {
		set_level(out, l);
		return;
	}
	if (in->dnssec < 0) {
		set_level(out, l);
		defer(out,
		      "the DNSSEC lookup of the MX host's TLSA records failed validation or did "
		      "not finish (bogus or SERVFAIL from the validating resolver)",
		      "the domain's owner must repair the zone's DNSSEC signatures; if the zone "
		      "is fine, check the resolver (its log says why); mail waits and retries");
		return;
	}
	if (in->tlsa_unusable) {
		set_level(out, TLS_LEVEL_ENCRYPT);
		str_copy(out->why, sizeof out->why, "policy=dane tlsa=unusable");
		return;
	}
	if (l == TLS_LEVEL_DANE_ONLY) {
		set_level(out, l);
		defer(out,
		      "tls-policy dane-only, but the MX host has no DNSSEC-authenticated TLSA "
		      "record",
		      "the domain's owner publishes TLSA records at _25._tcp.<MX host> in a "
		      "signed zone; or give the domain another tls-policy level (dane, verify)");
		return;
	}
	set_level(out, TLS_LEVEL_MAY);
}

static void
apply_level(const struct tls_plan_in *in, enum tls_level l, struct tls_plan *out)
{
	if (l == TLS_LEVEL_DANE || l == TLS_LEVEL_DANE_ONLY)
		apply_dane(in, l, out);
	else
		set_level(out, l);
}

/* RFC 8461 5: enforce = the MX must match and verify; testing = deliver, report. */
static void
apply_sts(const struct tls_plan_in *in, struct tls_plan *out)
{
	out->source = TLS_SRC_MTA_STS;
	if (!in->sts_enforce) {
		set_level(out, TLS_LEVEL_MAY);
		out->sts_testing = true;
		str_copy(out->why, sizeof out->why, "policy=mta-sts mode=testing");
		return;
	}
	set_level(out, TLS_LEVEL_VERIFY);
	str_copy(out->why, sizeof out->why, "policy=mta-sts mode=enforce");
	if (!in->mx_in_sts)
		defer(out, "the MX host is not named by the domain's MTA-STS policy (mode enforce)",
		      "the domain's owner lists the host in an mx: line of the policy (and "
		      "changes the id of the _mta-sts TXT record)");
}

/* RFC 8689 4.2.1 and 5: the message's own demands, after the domain's. */
static void
apply_message(const struct tls_plan_in *in, struct tls_plan *out)
{
	if (in->requiretls) {
		if (out->defer || tls_plan_verified(out))
			return;
		out->source = TLS_SRC_REQUIRETLS;
		if (in->sts_failed) {
			/* A policy may exist that we could not fetch: not a reason to bounce. */
			defer(
			    out,
			    "REQUIRETLS: the recipient's domain's MTA-STS policy could not be "
			    "fetched, so the next hop cannot be authenticated now",
			    "none: the fetch is retried with the message; if it keeps failing, the "
			    "domain's owner must fix the policy host (probe --domain-check)");
			return;
		}
		out->bounce = true;
		str_copy(out->detail, sizeof out->detail,
			 "REQUIRETLS: the recipient's domain has no DANE or MTA-STS (enforce) "
			 "policy and no tls-policy verify line, so the next hop cannot be "
			 "authenticated");
		str_copy(out->fix, sizeof out->fix,
			 "the recipient's domain publishes DANE or MTA-STS, or the sender sends "
			 "without REQUIRETLS");
		return;
	}
	if (!in->tls_required_no)
		return;
	/* Only DANE and MTA-STS yield; the operator's encrypt and verify stay. */
	bool dane_level = in->configured == TLS_LEVEL_DANE || in->configured == TLS_LEVEL_DANE_ONLY;
	bool yields = out->source == TLS_SRC_DANE || out->source == TLS_SRC_MTA_STS || dane_level;
	if (!yields)
		return;
	enum tls_source src = out->source;
	memset(out, 0, sizeof *out);
	set_level(out, TLS_LEVEL_MAY);
	out->source = src;
	str_copy(out->why, sizeof out->why, "policy=may tls-required=no");
}

void
tls_plan_decide(const struct tls_plan_in *in, struct tls_plan *out)
{
	memset(out, 0, sizeof *out);
	if (in->configured_explicit) {
		out->source = TLS_SRC_CONFIG;
		apply_level(in, in->configured, out);
	} else if (in->dnssec != 0 || in->tlsa_unusable) {
		/* Authenticated DNS said something about TLSA: DANE, before MTA-STS. */
		out->source = TLS_SRC_DANE;
		apply_dane(in, TLS_LEVEL_DANE, out);
	} else if (in->sts_policy) {
		apply_sts(in, out);
	} else {
		out->source = TLS_SRC_DEFAULT;
		apply_level(in, in->configured, out);
	}
	apply_message(in, out);
}
