/*
 * Unit tests of SPF record parsing (RFC 7208 4.5, 4.6.1, 5, 6, 12): which
 * texts are SPF records at all, which records are syntax errors (a
 * permerror), and what a valid record's terms hold. Table-driven: one row
 * per rule, the rule in its comment.
 */
#include <string.h>

#include "harness.h"
#include "spf_internal.h"

struct syntax_case {
	const char *record;
	bool valid;
};

/* One row per rule; a table, so longer than a screen. */
static const struct syntax_case syntax_cases[] = {
    {"v=spf1", true},			    /* no terms: valid (the default is neutral) */
    {"v=spf1 -all", true},		    /* */
    {"V=SPF1 -ALL", true},		    /* 4.6.1: names are case-insensitive */
    {"v=spf1  ip4:192.0.2.1   -all", true}, /* 1*SP between terms */
    {"v=spf1 -all ", true},		    /* a trailing space is tolerated */
    {"v=spf1 +all ~all ?all -all", true},
    {"v=spf1 all:foo", false}, /* all takes nothing */
    {"v=spf1 -all/8", false},
    {"v=spf1 +-all", false}, /* one qualifier */
    {"v=spf1 foo", false},   /* unknown mechanism */
    {"v=spf1 ip4", false},
    {"v=spf1 include", false}, /* include needs a domain */
    {"v=spf1 include:", false},
    {"v=spf1 include:example.com", true},
    {"v=spf1 exists:%{i}.bl.example.com", true},
    {"v=spf1 exists", false},
    {"v=spf1 a", true},
    {"v=spf1 a:", false},
    {"v=spf1 a/24", true},
    {"v=spf1 a//64", true},
    {"v=spf1 a/24//64", true},
    {"v=spf1 a:example.com/24//64", true},
    {"v=spf1 a/0", true},
    {"v=spf1 a/33", false},	       /* ip4-cidr-length <= 32 */
    {"v=spf1 a//129", false},	       /* ip6-cidr-length <= 128 */
    {"v=spf1 a/024", false},	       /* no leading zero */
    {"v=spf1 a/", false},	       /* a slash without digits */
    {"v=spf1 a:example.com//", false}, /* */
    {"v=spf1 a:museum", false},	       /* 4.8: a domain needs "." toplabel */
    {"v=spf1 a:museum.", false},
    {"v=spf1 a:111.222.33.44", false}, /* all-numeric toplabel */
    {"v=spf1 a:example.-com", false},
    {"v=spf1 a:foo:bar/baz.example.com", true}, /* any visible char but % */
    {"v=spf1 mx mx:example.com/24 mx//64", true},
    {"v=spf1 ptr", true},
    {"v=spf1 ptr:example.com", true},
    {"v=spf1 ptr/24", false}, /* ptr has no prefix length */
    {"v=spf1 ptr:", false},
    {"v=spf1 ip4:192.0.2.1", true},
    {"v=spf1 ip4:192.0.2.0/24", true},
    {"v=spf1 ip4:192.0.2.0/33", false},
    {"v=spf1 ip4:192.0.2.0//24", false},
    {"v=spf1 ip4:192.0.2.01", false}, /* qnum: no leading zero */
    {"v=spf1 ip4:192.0.2", false},
    {"v=spf1 ip4:192.0.2.256", false},
    {"v=spf1 ip4:example.com", false},
    {"v=spf1 ip6:2001:db8::/32", true},
    {"v=spf1 ip6:::1", true},
    {"v=spf1 ip6:::ffff:192.0.2.1", true},
    {"v=spf1 ip6:2001:db8::/129", false},
    {"v=spf1 ip6:192.0.2.1", false},
    {"v=spf1 ip6", false},
    {"v=spf1 redirect=example.com", true},
    {"v=spf1 redirect=", false}, /* redirect needs a domain-spec */
    {"v=spf1 redirect=a.example.com redirect=b.example.com", false}, /* 6: at most once */
    {"v=spf1 exp=a.example.com exp=b.example.com -all", false},
    {"v=spf1 exp= -all", false},
    {"v=spf1 -all exp=%{c}.example.com", false}, /* c only in the exp text itself */
    {"v=spf1 -all foo=bar", true},		 /* unknown modifiers are ignored */
    {"v=spf1 -all foo-bar=lyme.eater", true},
    {"v=spf1 -all foo=%abc", false}, /* but their macro-string must be valid */
    {"v=spf1 -all 1foo=bar", false}, /* a name starts with a letter */
    {"v=spf1 -all default=+", true}, /* RFC 4408 drafts' modifier: just unknown */
    {"v=spf1 a:%{d0}.example.com", false},
    {"v=spf1 a:\xef\xbb\xbfgarbage.example.net -all", false}, /* 3.1: US-ASCII only */
    {"v=spf1 \x80"
     "a:example.net -all",
     false},
    {"v=spf1 -all\tip4:192.0.2.1", false}, /* only SP separates terms */
    {"v=spf1 a:foo.example.com\x01", false},
};

static void
test_syntax(void)
{
	for (size_t i = 0; i < sizeof syntax_cases / sizeof syntax_cases[0]; i++) {
		struct spf_record r;
		char why[200] = "";
		int rc = spf_record_parse(syntax_cases[i].record, &r, why, sizeof why);
		if ((rc == 0) != syntax_cases[i].valid) {
			printf("record \"%s\": %s (%s)\n", syntax_cases[i].record,
			       rc == 0 ? "accepted" : "refused", why);
		}
		CHECK((rc == 0) == syntax_cases[i].valid);
		CHECK(rc == 0 || why[0] != 0); /* a refusal says why */
		if (rc == 0)
			spf_record_free(&r);
	}
}

static void
test_is_spf(void)
{
	/* 4.5: "v=spf1" then a space or the end; nothing else is an SPF record. */
	CHECK(spf_record_is_spf("v=spf1"));
	CHECK(spf_record_is_spf("v=spf1 -all"));
	CHECK(spf_record_is_spf("V=Spf1 -all"));
	CHECK(!spf_record_is_spf("v=spf10 -all"));
	CHECK(!spf_record_is_spf("v=spf1-all"));
	CHECK(!spf_record_is_spf("v=spf2.0/pra -all"));
	CHECK(!spf_record_is_spf(" v=spf1 -all"));
	CHECK(!spf_record_is_spf("v=spf"));
}

static void
test_terms(void)
{
	struct spf_record r;
	char why[200];
	int rc = spf_record_parse("v=spf1 ~a:mail.example.com/24//64 -ip4:192.0.2.0/25 "
				  "ip6:2001:db8::/48 ?mx include:_spf.example.net "
				  "redirect=other.example.org exp=why.%{d}",
				  &r, why, sizeof why);
	CHECK(rc == 0);
	if (rc != 0)
		return;
	CHECK(r.nterms == 5);
	CHECK(r.terms[0].mech == SPF_M_A && r.terms[0].qualifier == '~');
	CHECK_STR(r.terms[0].domain, "mail.example.com");
	CHECK(r.terms[0].cidr4 == 24 && r.terms[0].cidr6 == 64);
	CHECK(r.terms[1].mech == SPF_M_IP4 && r.terms[1].qualifier == '-');
	CHECK(r.terms[1].cidr4 == 25 && r.terms[1].ip[0] == 192 && r.terms[1].ip[3] == 0);
	CHECK(r.terms[2].mech == SPF_M_IP6 && r.terms[2].cidr6 == 48);
	CHECK(r.terms[2].ip[0] == 0x20 && r.terms[2].ip[1] == 0x01 && r.terms[2].ip[3] == 0xb8);
	CHECK(r.terms[3].mech == SPF_M_MX && r.terms[3].qualifier == '?');
	CHECK(r.terms[3].domain == NULL && r.terms[3].cidr4 == 32 && r.terms[3].cidr6 == 128);
	CHECK(r.terms[4].mech == SPF_M_INCLUDE && r.terms[4].qualifier == '+');
	CHECK_STR(r.redirect, "other.example.org");
	CHECK_STR(r.exp, "why.%{d}");
	CHECK(!r.has_all);
	/* a, mx, include, redirect (no all): 4 DNS-querying terms. */
	CHECK(spf_record_dns_terms(&r) == 4);
	spf_record_free(&r);

	/* With an all, the redirect does not count (6.1: it is ignored). */
	CHECK(spf_record_parse("v=spf1 ptr exists:x.example.com redirect=a.example.com -all", &r,
			       why, sizeof why) == 0);
	CHECK(r.has_all && spf_record_dns_terms(&r) == 2);
	spf_record_free(&r);
}

int
main(void)
{
	test_syntax();
	test_is_spf();
	test_terms();
	return test_summary("test_spf_record");
}
