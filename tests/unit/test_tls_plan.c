/*
 * Unit tests for mailauth/tls_plan: a table of inputs and the plan each
 * must give (levels, precedence config > DANE > MTA-STS > default, bogus
 * DNSSEC, REQUIRETLS, TLS-Required: No), and the level names. The table is
 * one row per case, so it is longer than a screen on purpose.
 */
#include <string.h>

#include "harness.h"
#include "tls_plan.h"

/* Short names for the table (macros: the fields are typed enums). */
#define MAY TLS_LEVEL_MAY
#define ENC TLS_LEVEL_ENCRYPT
#define VER TLS_LEVEL_VERIFY
#define DANE TLS_LEVEL_DANE
#define DONLY TLS_LEVEL_DANE_ONLY
#define S_DEF TLS_SRC_DEFAULT
#define S_CFG TLS_SRC_CONFIG
#define S_DANE TLS_SRC_DANE
#define S_STS TLS_SRC_MTA_STS
#define S_REQ TLS_SRC_REQUIRETLS

struct row {
	int line;
	struct tls_plan_in in;
	/* want */
	int level, source;
	bool starttls, verify_ca, dane, defer, bounce, testing;
	const char *why;
};

#define IN(...) ((struct tls_plan_in){__VA_ARGS__})

static const struct row rows[] = {
    /* The default: may, unless set otherwise. */
    {__LINE__, IN(.configured = MAY), MAY, S_DEF, 0, 0, 0, 0, 0, 0, "policy=may"},
    {__LINE__, IN(.configured = ENC), ENC, S_DEF, 1, 0, 0, 0, 0, 0, "policy=encrypt"},
    {__LINE__, IN(.configured = VER), VER, S_DEF, 1, 1, 0, 0, 0, 0, "policy=verify"},
    {__LINE__, IN(.configured = DANE), MAY, S_DEF, 0, 0, 0, 0, 0, 0, "policy=may"},
    {__LINE__, IN(.configured = DONLY), DONLY, S_DEF, 1, 0, 1, 1, 0, 0, "policy=dane-only"},
    /* Explicit lines win over DNSSEC and MTA-STS. */
    {__LINE__, IN(.configured = MAY, .configured_explicit = true, .dnssec = 1), MAY, S_CFG, 0, 0, 0,
     0, 0, 0, "policy=may"},
    {__LINE__, IN(.configured = MAY, .configured_explicit = true, .dnssec = -1), MAY, S_CFG, 0, 0,
     0, 0, 0, 0, "policy=may"},
    {__LINE__,
     IN(.configured = ENC, .configured_explicit = true, .sts_policy = true, .sts_enforce = true),
     ENC, S_CFG, 1, 0, 0, 0, 0, 0, "policy=encrypt"},
    {__LINE__, IN(.configured = VER, .configured_explicit = true, .dnssec = 1), VER, S_CFG, 1, 1, 0,
     0, 0, 0, "policy=verify"},
    {__LINE__, IN(.configured = DANE, .configured_explicit = true, .dnssec = 1), DANE, S_CFG, 1, 0,
     1, 0, 0, 0, "policy=dane"},
    {__LINE__, IN(.configured = DANE, .configured_explicit = true), MAY, S_CFG, 0, 0, 0, 0, 0, 0,
     "policy=may"},
    {__LINE__, IN(.configured = DANE, .configured_explicit = true, .dnssec = -1), DANE, S_CFG, 1, 0,
     1, 1, 0, 0, "policy=dane"},
    {__LINE__, IN(.configured = DANE, .configured_explicit = true, .tlsa_unusable = true), ENC,
     S_CFG, 1, 0, 0, 0, 0, 0, "policy=dane tlsa=unusable"},
    {__LINE__, IN(.configured = DONLY, .configured_explicit = true, .dnssec = 1), DONLY, S_CFG, 1,
     0, 1, 0, 0, 0, "policy=dane-only"},
    {__LINE__, IN(.configured = DONLY, .configured_explicit = true), DONLY, S_CFG, 1, 0, 1, 1, 0, 0,
     "policy=dane-only"},
    {__LINE__, IN(.configured = DONLY, .configured_explicit = true, .dnssec = -1), DONLY, S_CFG, 1,
     0, 1, 1, 0, 0, "policy=dane-only"},
    /* No line: DANE from authenticated DNS, before MTA-STS. */
    {__LINE__, IN(.dnssec = 1), DANE, S_DANE, 1, 0, 1, 0, 0, 0, "policy=dane"},
    {__LINE__, IN(.configured = ENC, .dnssec = 1), DANE, S_DANE, 1, 0, 1, 0, 0, 0, "policy=dane"},
    {__LINE__, IN(.dnssec = 1, .sts_policy = true, .sts_enforce = true, .mx_in_sts = false), DANE,
     S_DANE, 1, 0, 1, 0, 0, 0, "policy=dane"},
    {__LINE__, IN(.dnssec = -1), DANE, S_DANE, 1, 0, 1, 1, 0, 0, "policy=dane"},
    {__LINE__, IN(.dnssec = -1, .sts_policy = true, .sts_enforce = true, .mx_in_sts = true), DANE,
     S_DANE, 1, 0, 1, 1, 0, 0, "policy=dane"},
    {__LINE__, IN(.tlsa_unusable = true), ENC, S_DANE, 1, 0, 0, 0, 0, 0,
     "policy=dane tlsa=unusable"},
    /* MTA-STS. */
    {__LINE__, IN(.sts_policy = true, .sts_enforce = true, .mx_in_sts = true), VER, S_STS, 1, 1, 0,
     0, 0, 0, "policy=mta-sts mode=enforce"},
    {__LINE__, IN(.sts_policy = true, .sts_enforce = true, .mx_in_sts = false), VER, S_STS, 1, 1, 0,
     1, 0, 0, "policy=mta-sts mode=enforce"},
    {__LINE__, IN(.sts_policy = true, .mx_in_sts = false), MAY, S_STS, 0, 0, 0, 0, 0, 1,
     "policy=mta-sts mode=testing"},
    {__LINE__, IN(.configured = VER, .sts_policy = true, .mx_in_sts = true), MAY, S_STS, 0, 0, 0, 0,
     0, 1, "policy=mta-sts mode=testing"},
    /* REQUIRETLS: verified or bounced; a deferral stays a deferral. */
    {__LINE__, IN(.requiretls = true), MAY, S_REQ, 0, 0, 0, 0, 1, 0, "policy=may"},
    {__LINE__, IN(.configured = ENC, .requiretls = true), ENC, S_REQ, 1, 0, 0, 0, 1, 0,
     "policy=encrypt"},
    {__LINE__, IN(.configured = VER, .requiretls = true), VER, S_DEF, 1, 1, 0, 0, 0, 0,
     "policy=verify"},
    {__LINE__, IN(.dnssec = 1, .requiretls = true), DANE, S_DANE, 1, 0, 1, 0, 0, 0, "policy=dane"},
    {__LINE__, IN(.dnssec = -1, .requiretls = true), DANE, S_DANE, 1, 0, 1, 1, 0, 0, "policy=dane"},
    {__LINE__, IN(.sts_policy = true, .sts_enforce = true, .mx_in_sts = true, .requiretls = true),
     VER, S_STS, 1, 1, 0, 0, 0, 0, "policy=mta-sts mode=enforce"},
    {__LINE__, IN(.sts_policy = true, .mx_in_sts = true, .requiretls = true), MAY, S_REQ, 0, 0, 0,
     0, 1, 1, "policy=mta-sts mode=testing"},
    /* A policy that could not be fetched defers REQUIRETLS mail, never bounces it. */
    {__LINE__, IN(.sts_failed = true, .requiretls = true), MAY, S_REQ, 0, 0, 0, 1, 0, 0,
     "policy=may"},
    {__LINE__, IN(.sts_failed = true), MAY, S_DEF, 0, 0, 0, 0, 0, 0, "policy=may"},
    {__LINE__, IN(.dnssec = 1, .sts_failed = true, .requiretls = true), DANE, S_DANE, 1, 0, 1, 0, 0,
     0, "policy=dane"},
    /* REQUIRETLS wins over TLS-Required: No (RFC 8689 5). */
    {__LINE__, IN(.requiretls = true, .tls_required_no = true), MAY, S_REQ, 0, 0, 0, 0, 1, 0,
     "policy=may"},
    {__LINE__, IN(.dnssec = 1, .requiretls = true, .tls_required_no = true), DANE, S_DANE, 1, 0, 1,
     0, 0, 0, "policy=dane"},
    /* TLS-Required: No: DANE and MTA-STS yield, the operator's levels stay. */
    {__LINE__, IN(.dnssec = 1, .tls_required_no = true), MAY, S_DANE, 0, 0, 0, 0, 0, 0,
     "policy=may tls-required=no"},
    {__LINE__, IN(.dnssec = -1, .tls_required_no = true), MAY, S_DANE, 0, 0, 0, 0, 0, 0,
     "policy=may tls-required=no"},
    {__LINE__,
     IN(.sts_policy = true, .sts_enforce = true, .mx_in_sts = false, .tls_required_no = true), MAY,
     S_STS, 0, 0, 0, 0, 0, 0, "policy=may tls-required=no"},
    {__LINE__, IN(.configured = DONLY, .configured_explicit = true, .tls_required_no = true), MAY,
     S_CFG, 0, 0, 0, 0, 0, 0, "policy=may tls-required=no"},
    {__LINE__, IN(.configured = VER, .configured_explicit = true, .tls_required_no = true), VER,
     S_CFG, 1, 1, 0, 0, 0, 0, "policy=verify"},
    {__LINE__, IN(.configured = ENC, .tls_required_no = true), ENC, S_DEF, 1, 0, 0, 0, 0, 0,
     "policy=encrypt"},
};

static void
test_table(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		const struct row *r = &rows[i];
		struct tls_plan p;
		memset(&p, 0x5a, sizeof p); /* every field must be set */
		tls_plan_decide(&r->in, &p);
		bool ok = (int)p.level == r->level && (int)p.source == r->source &&
			  p.starttls_required == r->starttls && p.verify_ca == r->verify_ca &&
			  p.dane == r->dane && p.defer == r->defer && p.bounce == r->bounce &&
			  p.sts_testing == r->testing && strcmp(p.why, r->why) == 0 &&
			  (p.defer || p.bounce) == (p.detail[0] != '\0') &&
			  (p.defer || p.bounce) == (p.fix[0] != '\0');
		CHECK(ok);
		if (!ok)
			printf("  row at line %d: level=%s source=%s starttls=%d ca=%d dane=%d "
			       "defer=%d bounce=%d testing=%d why=\"%s\" detail=\"%s\"\n",
			       r->line, tls_level_name(p.level), tls_source_name(p.source),
			       p.starttls_required, p.verify_ca, p.dane, p.defer, p.bounce,
			       p.sts_testing, p.why, p.detail);
		/* The invariant: a plan that demands anything never allows plaintext. */
		CHECK(!(p.dane || p.verify_ca) || p.starttls_required);
	}
}

static void
test_names(void)
{
	enum tls_level l;
	CHECK(tls_level_parse("may", &l) == 0 && l == TLS_LEVEL_MAY);
	CHECK(tls_level_parse("encrypt", &l) == 0 && l == TLS_LEVEL_ENCRYPT);
	CHECK(tls_level_parse("require", &l) == 0 && l == TLS_LEVEL_ENCRYPT);
	CHECK(tls_level_parse("verify", &l) == 0 && l == TLS_LEVEL_VERIFY);
	CHECK(tls_level_parse("dane", &l) == 0 && l == TLS_LEVEL_DANE);
	CHECK(tls_level_parse("dane-only", &l) == 0 && l == TLS_LEVEL_DANE_ONLY);
	CHECK(tls_level_parse("DANE", &l) < 0);
	CHECK(tls_level_parse("secure", &l) < 0);
	CHECK(tls_level_parse("", &l) < 0);
	CHECK_STR(tls_level_name(TLS_LEVEL_DANE_ONLY), "dane-only");
	CHECK_STR(tls_level_name((enum tls_level)99), "?");
	CHECK_STR(tls_source_name(TLS_SRC_MTA_STS), "mta-sts");
	CHECK_STR(tls_source_name(TLS_SRC_REQUIRETLS), "requiretls");
}

int
main(void)
{
	test_table();
	test_names();
	return test_summary("tls_plan");
}
