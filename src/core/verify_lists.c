/*
 * verify_lists: role local parts and disposable domains, as tables.
 *
 * The disposable list is a SAMPLE of well-known throwaway-address services,
 * not a complete list (complete ones hold thousands of names and change
 * weekly): it catches the common cases and keeps the binary small.
 */
#include "verify_lists.h"

#include <string.h>
#include <strings.h>

static const char *const roles[] = {
    "abuse",	 "accounts",	  "admin",	"administrator", "billing",    "contact",
    "help",	 "helpdesk",	  "hello",	"hostmaster",	 "info",       "jobs",
    "mail",	 "mailer-daemon", "marketing",	"media",	 "newsletter", "no-reply",
    "noreply",	 "do-not-reply",  "donotreply", "office",	 "postmaster", "press",
    "privacy",	 "root",	  "sales",	"security",	 "support",    "team",
    "webmaster", "www",
};

/* A sample: see the file comment. */
static const char *const disposable[] = {
    "10minutemail.com",	 "20minutemail.com",  "33mail.com",
    "anonbox.net",	 "burnermail.io",     "discard.email",
    "dispostable.com",	 "emailondeck.com",   "fakeinbox.com",
    "getairmail.com",	 "getnada.com",	      "guerrillamail.biz",
    "guerrillamail.com", "guerrillamail.de",  "guerrillamail.info",
    "guerrillamail.net", "guerrillamail.org", "guerrillamailblock.com",
    "harakirimail.com",	 "incognitomail.org", "jetable.org",
    "mailcatch.com",	 "maildrop.cc",	      "mailinator.com",
    "mailinator.net",	 "mailnesia.com",     "mintemail.com",
    "mohmal.com",	 "moakt.com",	      "mytemp.email",
    "sharklasers.com",	 "spambox.us",	      "spamgourmet.com",
    "temp-mail.org",	 "tempail.com",	      "tempmail.com",
    "tempmailo.com",	 "tempr.email",	      "throwawaymail.com",
    "trashmail.com",	 "trashmail.de",      "yopmail.com",
    "yopmail.fr",	 "yopmail.net",
};

bool
verify_is_role(const char *local)
{
	/* sales+eu is still the sales team; "sales-eu" is not a known role. */
	size_t n = strcspn(local, "+");
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		if (strlen(roles[i]) == n && strncasecmp(local, roles[i], n) == 0)
			return true;
	return false;
}

bool
verify_is_disposable(const char *domain)
{
	size_t n = strlen(domain);
	if (n && domain[n - 1] == '.')
		n--; /* a trailing root dot names the same domain */
	for (size_t i = 0; i < sizeof disposable / sizeof disposable[0]; i++) {
		size_t m = strlen(disposable[i]);
		if (m > n || strncasecmp(domain + n - m, disposable[i], m) != 0)
			continue;
		/* The whole name, or a subdomain: "x.yopmail.com", not "notyopmail.com". */
		if (m == n || domain[n - m - 1] == '.')
			return true;
	}
	return false;
}
