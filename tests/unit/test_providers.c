/*
 * Unit tests for core/providers: the preset table and its lookups.
 *
 * The table is data a person typed, so the checks walk every entry for the
 * mistakes typing makes: a missing field, a duplicate name or host, a door
 * without a TLS mode, a port repeated. Then the lookups, by name, alias
 * and host, with the cases users write.
 */
#include <string.h>

#include "buf.h"
#include "harness.h"
#include "providers.h"
#include "str.h"

static void
test_every_entry(void)
{
	size_t n = provider_count();
	CHECK(n >= 30); /* 15 services and 16 SES regions, at least */
	CHECK(provider_at(n) == NULL);
	for (size_t i = 0; i < n; i++) {
		const struct provider *p = provider_at(i);
		CHECK(p != NULL && p->name && p->display && p->host && p->note);
		if (p == NULL || p->name == NULL || p->host == NULL || p->note == NULL)
			continue;
		CHECK(p->name[0] && p->host[0] && strlen(p->note) > 20);
		CHECK(p->note[strlen(p->note) - 1] == '.'); /* one whole sentence */
		size_t np = provider_nports(p);
		CHECK(np >= 1);
		for (size_t k = 0; k < np; k++) {
			CHECK(p->ports[k].tls == CLIENT_TLS_STARTTLS ||
			      p->ports[k].tls == CLIENT_TLS_IMPLICIT);
			/* 465 and 2465 are implicit TLS everywhere, the rest STARTTLS. */
			bool implicit = p->ports[k].port == 465 || p->ports[k].port == 2465;
			CHECK(implicit == (p->ports[k].tls == CLIENT_TLS_IMPLICIT));
			for (size_t j = 0; j < k; j++)
				CHECK(p->ports[j].port != p->ports[k].port);
		}
		CHECK(provider_by_name(p->name) == p);
		CHECK(provider_by_host(p->host) == p);
		CHECK(strcmp(provider_auth_name(p->auth), "unknown") != 0);
		for (size_t j = 0; j < i; j++) {
			const struct provider *q = provider_at(j);
			CHECK(!str_eq_ci(p->name, q->name));
			CHECK(!str_eq_ci(p->host, q->host));
		}
	}
}

static void
test_by_name(void)
{
	static const struct {
		const char *name, *host;
	} cases[] = {
	    {"gmail", "smtp.gmail.com"},
	    {"GMail", "smtp.gmail.com"},
	    {"outlook", "smtp-mail.outlook.com"},
	    {"hotmail", "smtp-mail.outlook.com"},
	    {"office365", "smtp.office365.com"},
	    {"yahoo", "smtp.mail.yahoo.com"},
	    {"icloud", "smtp.mail.me.com"},
	    {"zoho", "smtp.zoho.com"},
	    {"zoho-eu", "smtp.zoho.eu"},
	    {"fastmail", "smtp.fastmail.com"},
	    {"sendgrid", "smtp.sendgrid.net"},
	    {"mailgun", "smtp.mailgun.org"},
	    {"mailgun-eu", "smtp.eu.mailgun.org"},
	    {"postmark", "smtp.postmarkapp.com"},
	    {"brevo", "smtp-relay.brevo.com"},
	    {"sendinblue", "smtp-relay.brevo.com"},
	    {"mailjet", "in-v3.mailjet.com"},
	    {"ses", "email-smtp.us-east-1.amazonaws.com"},
	    {"SES", "email-smtp.us-east-1.amazonaws.com"},
	    {"ses-us-east-1", "email-smtp.us-east-1.amazonaws.com"},
	    {"ses-eu-west-1", "email-smtp.eu-west-1.amazonaws.com"},
	    {"ses-ap-southeast-2", "email-smtp.ap-southeast-2.amazonaws.com"},
	    {"ses-sa-east-1", "email-smtp.sa-east-1.amazonaws.com"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct provider *p = provider_by_name(cases[i].name);
		CHECK(p != NULL);
		if (p != NULL)
			CHECK_STR(p->host, cases[i].host);
	}
	static const char *const ses_regions[] = {
	    "us-east-1",      "us-east-2",	"us-west-1",	  "us-west-2",
	    "ca-central-1",   "eu-west-1",	"eu-west-2",	  "eu-west-3",
	    "eu-central-1",   "eu-north-1",	"ap-south-1",	  "ap-northeast-1",
	    "ap-northeast-2", "ap-southeast-1", "ap-southeast-2", "sa-east-1",
	};
	for (size_t i = 0; i < sizeof ses_regions / sizeof ses_regions[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "ses-%s", ses_regions[i]);
		const struct provider *p = provider_by_name(name);
		CHECK(p != NULL && p->auth == PROVIDER_AUTH_SMTP_CREDENTIALS);
	}
	CHECK(provider_by_name("nope") == NULL);
	CHECK(provider_by_name("") == NULL);
	CHECK(provider_by_name(NULL) == NULL);
	CHECK(provider_by_name("gmail ") == NULL);
	CHECK(provider_by_name("ses-mars-1") == NULL);
}

static void
test_facts(void)
{
	const struct provider *g = provider_by_name("gmail");
	CHECK(g->ports[0].port == 587 && g->ports[0].tls == CLIENT_TLS_STARTTLS);
	CHECK(g->ports[1].port == 465 && g->ports[1].tls == CLIENT_TLS_IMPLICIT);
	CHECK(g->auth == PROVIDER_AUTH_APP_PASSWORD && g->oauth2);
	CHECK(strstr(g->note, "app password") != NULL);
	CHECK(provider_by_name("yahoo")->auth == PROVIDER_AUTH_APP_PASSWORD);
	CHECK(strstr(provider_by_name("yahoo")->note, "app password") != NULL);
	const struct provider *o = provider_by_name("outlook");
	CHECK(o->auth == PROVIDER_AUTH_OAUTH2 && strstr(o->note, "--oauth2-token-cmd") != NULL);
	CHECK(provider_by_name("office365")->auth == PROVIDER_AUTH_OAUTH2);
	const struct provider *s = provider_by_name("sendgrid");
	CHECK_STR(s->user, "apikey");
	CHECK(s->auth == PROVIDER_AUTH_API_KEY);
	CHECK(provider_nports(s) == 4 && s->ports[2].port == 2525);
	CHECK(provider_by_name("mailgun")->auth == PROVIDER_AUTH_DOMAIN_CREDENTIALS);
	CHECK(provider_by_name("postmark")->auth == PROVIDER_AUTH_SERVER_TOKEN);
	CHECK(provider_by_name("ses")->auth == PROVIDER_AUTH_SMTP_CREDENTIALS);
	CHECK(provider_by_name("gmail")->user == NULL);
	CHECK_STR(provider_auth_name(PROVIDER_AUTH_OAUTH2), "OAuth2");
}

static void
test_by_host(void)
{
	CHECK(provider_by_host("smtp.gmail.com") == provider_by_name("gmail"));
	CHECK(provider_by_host("SMTP.Gmail.COM") == provider_by_name("gmail"));
	CHECK(provider_by_host("smtp.gmail.com.") == provider_by_name("gmail"));
	CHECK(provider_by_host("smtp.office365.com") == provider_by_name("office365"));
	CHECK(provider_by_host("smtp-relay.sendinblue.com") == provider_by_name("brevo"));
	CHECK(provider_by_host("email-smtp.eu-central-1.amazonaws.com") ==
	      provider_by_name("ses-eu-central-1"));
	CHECK(provider_by_host("gmail.com") == NULL);
	CHECK(provider_by_host("smtp.gmail.com..") == NULL);
	CHECK(provider_by_host("") == NULL);
	CHECK(provider_by_host(".") == NULL);
	CHECK(provider_by_host(NULL) == NULL);
}

static void
test_ports_append(void)
{
	struct buf b;
	buf_init(&b, 0);
	provider_ports_append(provider_by_name("gmail"), &b);
	CHECK_STR(b.data, "587 starttls, 465 implicit");
	buf_reset(&b);
	provider_ports_append(provider_by_name("sendgrid"), &b);
	CHECK_STR(b.data, "587 starttls, 465 implicit, 2525 starttls, 25 starttls");
	buf_free(&b);
}

int
main(void)
{
	test_every_entry();
	test_by_name();
	test_facts();
	test_by_host();
	test_ports_append();
	return test_summary("test_providers");
}
