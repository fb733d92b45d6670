/*
 * providers: the preset table and its lookups.
 *
 * Door order follows each service's own documentation: the door it names
 * first comes first, then the fallbacks (2525 where the service offers it,
 * SES's 2587/2465), with 25 last because ISPs and clouds block it. A service
 * that documents no 465 gets none: trying a door that is not there only
 * adds a timeout to every failure.
 *
 * Amazon SES has one host per region, made by the SES() macro so the name,
 * display name and host cannot drift apart; "ses" alone is us-east-1.
 */
#include "providers.h"

#include <string.h>

#include "str.h"

#define STARTTLS(p)                                                                                \
	{                                                                                          \
		p, CLIENT_TLS_STARTTLS                                                             \
	}
#define IMPLICIT(p)                                                                                \
	{                                                                                          \
		p, CLIENT_TLS_IMPLICIT                                                             \
	}

/* SES SMTP passwords are derived per region: credentials do not travel. */
#define SES_NOTE                                                                                   \
	"SES needs SMTP credentials created in the SES console (SMTP settings), which are "        \
	"neither your console login nor your AWS access keys, and they only work in the region "   \
	"they were created for."

/* One SES region: its name, then its aliases (NULL for none). */
#define SES(region, ...)                                                                           \
	{                                                                                          \
		.name = "ses-" region, .display = "Amazon SES (" region ")",                       \
		.host = "email-smtp." region ".amazonaws.com", .aliases = {__VA_ARGS__},           \
		.ports = {STARTTLS(587), IMPLICIT(465), STARTTLS(2587), IMPLICIT(2465)},           \
		.auth = PROVIDER_AUTH_SMTP_CREDENTIALS, .note = SES_NOTE,                          \
	}

#define ZOHO_NOTE                                                                                  \
	"Zoho takes your password, but with two-factor authentication on it needs an "             \
	"application-specific password; accounts in the EU or India data centre use zoho-eu or "   \
	"zoho-in."

#define MAILGUN_NOTE                                                                               \
	"Mailgun wants the SMTP credentials of your sending domain (a login such as "              \
	"postmaster@mg.example.com, set in the domain's settings), not your account login or "     \
	"API key; domains in the EU region use mailgun-eu."

/* clang-format off */
static const struct provider providers[] = {
	{
		.name = "gmail", .display = "Gmail", .host = "smtp.gmail.com",
		.aliases = {"google", "googlemail"},
		.ports = {STARTTLS(587), IMPLICIT(465)},
		.auth = PROVIDER_AUTH_APP_PASSWORD, .oauth2 = true,
		.note = "Gmail refuses your normal Google password over SMTP: turn on 2-Step "
			"Verification and create an app password, or use OAuth2 "
			"(--oauth2-token-cmd).",
	},
	{
		.name = "outlook", .display = "Outlook.com", .host = "smtp-mail.outlook.com",
		.aliases = {"hotmail", "live"},
		.ports = {STARTTLS(587)},
		.auth = PROVIDER_AUTH_OAUTH2, .oauth2 = true,
		.note = "Outlook.com no longer accepts basic password auth for most accounts: use "
			"OAuth2 (--oauth2-token-cmd) with your full address as the user.",
	},
	{
		.name = "office365", .display = "Microsoft 365 (Office 365)",
		.host = "smtp.office365.com", .aliases = {"microsoft365", "o365"},
		.ports = {STARTTLS(587)},
		.auth = PROVIDER_AUTH_OAUTH2, .oauth2 = true,
		.note = "Microsoft 365 turns basic password auth off for most tenants: use OAuth2 "
			"(--oauth2-token-cmd), and the admin must enable Authenticated SMTP for "
			"the mailbox.",
	},
	{
		.name = "yahoo", .display = "Yahoo Mail", .host = "smtp.mail.yahoo.com",
		.ports = {IMPLICIT(465), STARTTLS(587)},
		.auth = PROVIDER_AUTH_APP_PASSWORD,
		.note = "Yahoo refuses your login password over SMTP: turn on 2-step verification "
			"and generate an app password in Account Security.",
	},
	{
		.name = "icloud", .display = "iCloud Mail", .host = "smtp.mail.me.com",
		.aliases = {"apple"},
		.ports = {STARTTLS(587)},
		.auth = PROVIDER_AUTH_APP_PASSWORD,
		.note = "iCloud Mail needs an app-specific password (Apple Account, Sign-In and "
			"Security, with two-factor authentication on), and the user is your full "
			"iCloud Mail address.",
	},
	{
		.name = "zoho", .display = "Zoho Mail", .host = "smtp.zoho.com",
		.ports = {IMPLICIT(465), STARTTLS(587)},
		.auth = PROVIDER_AUTH_PASSWORD, .note = ZOHO_NOTE,
	},
	{
		.name = "zoho-eu", .display = "Zoho Mail (EU)", .host = "smtp.zoho.eu",
		.ports = {IMPLICIT(465), STARTTLS(587)},
		.auth = PROVIDER_AUTH_PASSWORD, .note = ZOHO_NOTE,
	},
	{
		.name = "zoho-in", .display = "Zoho Mail (India)", .host = "smtp.zoho.in",
		.ports = {IMPLICIT(465), STARTTLS(587)},
		.auth = PROVIDER_AUTH_PASSWORD, .note = ZOHO_NOTE,
	},
	{
		.name = "fastmail", .display = "Fastmail", .host = "smtp.fastmail.com",
		.ports = {IMPLICIT(465), STARTTLS(587)},
		.auth = PROVIDER_AUTH_APP_PASSWORD,
		.note = "Fastmail refuses your login password over SMTP: create an app password "
			"with SMTP access in Fastmail's settings.",
	},
	{
		.name = "sendgrid", .display = "SendGrid", .host = "smtp.sendgrid.net",
		.ports = {STARTTLS(587), IMPLICIT(465), STARTTLS(2525), STARTTLS(25)},
		.auth = PROVIDER_AUTH_API_KEY, .user = "apikey",
		.note = "SendGrid's user is literally apikey and the password is an API key with "
			"Mail Send permission, not your account password.",
	},
	{
		.name = "mailgun", .display = "Mailgun (US)", .host = "smtp.mailgun.org",
		.aliases = {"mailgun-us"},
		.ports = {STARTTLS(587), IMPLICIT(465), STARTTLS(2525), STARTTLS(25)},
		.auth = PROVIDER_AUTH_DOMAIN_CREDENTIALS, .note = MAILGUN_NOTE,
	},
	{
		.name = "mailgun-eu", .display = "Mailgun (EU)", .host = "smtp.eu.mailgun.org",
		.ports = {STARTTLS(587), IMPLICIT(465), STARTTLS(2525), STARTTLS(25)},
		.auth = PROVIDER_AUTH_DOMAIN_CREDENTIALS, .note = MAILGUN_NOTE,
	},
	{
		/* Postmark documents STARTTLS on 587, 2525 and 25, and no 465. */
		.name = "postmark", .display = "Postmark", .host = "smtp.postmarkapp.com",
		.ports = {STARTTLS(587), STARTTLS(2525), STARTTLS(25)},
		.auth = PROVIDER_AUTH_SERVER_TOKEN,
		.note = "Postmark's user name and password are both the Server API Token (the "
			"server's API Tokens tab), not your account login.",
	},
	{
		.name = "brevo", .display = "Brevo (Sendinblue)", .host = "smtp-relay.brevo.com",
		.aliases = {"sendinblue"}, .alt_hosts = {"smtp-relay.sendinblue.com"},
		.ports = {STARTTLS(587), IMPLICIT(465), STARTTLS(2525)},
		.auth = PROVIDER_AUTH_SMTP_CREDENTIALS,
		.note = "Brevo's password is an SMTP key (the SMTP & API page), not your account "
			"password or an API key, and the user is the SMTP login shown there.",
	},
	{
		.name = "mailjet", .display = "Mailjet", .host = "in-v3.mailjet.com",
		.ports = {STARTTLS(587), IMPLICIT(465)},
		.auth = PROVIDER_AUTH_API_KEY,
		.note = "Mailjet's user is your API key and the password is its secret key, not "
			"your account login.",
	},
	SES("us-east-1", "ses", "amazon-ses", "aws"),
	SES("us-east-2", NULL),
	SES("us-west-1", NULL),
	SES("us-west-2", NULL),
	SES("ca-central-1", NULL),
	SES("eu-west-1", NULL),
	SES("eu-west-2", NULL),
	SES("eu-west-3", NULL),
	SES("eu-central-1", NULL),
	SES("eu-north-1", NULL),
	SES("ap-south-1", NULL),
	SES("ap-northeast-1", NULL),
	SES("ap-northeast-2", NULL),
	SES("ap-southeast-1", NULL),
	SES("ap-southeast-2", NULL),
	SES("sa-east-1", NULL),
};
/* clang-format on */

#define NPROVIDERS (sizeof providers / sizeof providers[0])

size_t
provider_count(void)
{
	return NPROVIDERS;
}

const struct provider *
provider_at(size_t i)
{
	return i < NPROVIDERS ? &providers[i] : NULL;
}

const struct provider *
provider_by_name(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < NPROVIDERS; i++) {
		const struct provider *p = &providers[i];
		if (str_eq_ci(name, p->name))
			return p;
		for (size_t a = 0; a < PROVIDER_MAX_ALIASES && p->aliases[a]; a++)
			if (str_eq_ci(name, p->aliases[a]))
				return p;
	}
	return NULL;
}

const struct provider *
provider_by_host(const char *host)
{
	if (host == NULL)
		return NULL;
	struct strv h = strv_from(host);
	if (h.len > 0 && h.p[h.len - 1] == '.')
		h.len--; /* the root's dot: "smtp.gmail.com." is smtp.gmail.com */
	for (size_t i = 0; i < NPROVIDERS; i++) {
		const struct provider *p = &providers[i];
		if (strv_eq_ci(h, p->host))
			return p;
		for (size_t a = 0; a < PROVIDER_MAX_ALIASES && p->alt_hosts[a]; a++)
			if (strv_eq_ci(h, p->alt_hosts[a]))
				return p;
	}
	return NULL;
}

size_t
provider_nports(const struct provider *p)
{
	size_t n = 0;
	while (n < PROVIDER_MAX_PORTS && p->ports[n].port != 0)
		n++;
	return n;
}

const char *
provider_auth_name(enum provider_auth auth)
{
	switch (auth) {
	case PROVIDER_AUTH_PASSWORD:
		return "password";
	case PROVIDER_AUTH_APP_PASSWORD:
		return "app password";
	case PROVIDER_AUTH_OAUTH2:
		return "OAuth2";
	case PROVIDER_AUTH_API_KEY:
		return "API key";
	case PROVIDER_AUTH_SMTP_CREDENTIALS:
		return "SMTP credentials";
	case PROVIDER_AUTH_DOMAIN_CREDENTIALS:
		return "domain SMTP credentials";
	case PROVIDER_AUTH_SERVER_TOKEN:
		return "server token";
	}
	return "unknown";
}

void
provider_ports_append(const struct provider *p, struct buf *out)
{
	size_t n = provider_nports(p);
	for (size_t i = 0; i < n; i++)
		buf_printf(out, "%s%u %s", i ? ", " : "", p->ports[i].port,
			   p->ports[i].tls == CLIENT_TLS_IMPLICIT ? "implicit" : "starttls");
}
