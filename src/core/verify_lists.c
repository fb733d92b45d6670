/*
 * verify_lists: role local parts, disposable domains, free providers and
 * typo suggestions, as tables.
 *
 * The disposable list is a SAMPLE of well-known throwaway-address services,
 * not a complete list (complete ones hold thousands of names and change
 * weekly): it catches the common cases and keeps the binary small.
 * Source: hand-picked from long-running public throwaway-address services
 * for mailport, as of 2026-11-29. A complete, maintained list (such as the
 * disposable-email-domains project's disposable_email_blocklist.conf) can
 * be added at run time with `mailport verify --disposable-file F`.
 */
#include "verify_lists.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char verify_disposable_source[] =
    "a hand-picked sample of 44 long-running throwaway-address services, as of 2026-11-29";

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

/* domain[0..n) is name or a subdomain of it: "x.yopmail.com", not "notyopmail.com". */
static bool
under(const char *domain, size_t n, const char *name)
{
	size_t m = strlen(name);
	if (m == 0 || m > n || strncasecmp(domain + n - m, name, m) != 0)
		return false;
	return m == n || domain[n - m - 1] == '.';
}

bool
verify_is_disposable(const char *domain, const char *const *extra, size_t nextra)
{
	size_t n = strlen(domain);
	if (n && domain[n - 1] == '.')
		n--; /* a trailing root dot names the same domain */
	for (size_t i = 0; i < sizeof disposable / sizeof disposable[0]; i++)
		if (under(domain, n, disposable[i]))
			return true;
	for (size_t i = 0; i < nextra; i++)
		if (under(domain, n, extra[i]))
			return true;
	return false;
}

static bool
domain_like(const char *s)
{
	if (!*s || strlen(s) > 253 || *s == '.' || *s == '-')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && *s != '_')
			return false;
	return true;
}

size_t
verify_parse_domains(char *text, const char **out, size_t max, size_t *bad_line)
{
	size_t n = 0, line = 0;
	for (char *p = text, *next; p && *p; p = next) {
		line++;
		next = strchr(p, '\n');
		if (next)
			*next++ = '\0';
		p[strcspn(p, "#")] = '\0'; /* a comment, whole-line or after the name */
		while (*p == ' ' || *p == '\t')
			p++;
		size_t len = strlen(p);
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
			len--;
		if (len && p[len - 1] == '.')
			len--;
		p[len] = '\0';
		if (len == 0)
			continue;
		for (char *c = p; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!domain_like(p)) {
			*bad_line = line;
			return (size_t)-1;
		}
		if (n < max)
			out[n++] = p;
	}
	return n;
}

/*
 * Free mailbox providers. A name ending in "." stands for every top-level
 * domain of the brand ("gmx." is gmx.de, gmx.net, gmx.at...).
 */
static const char *const free_providers[] = {
    "gmail.com",    "googlemail.com", "yahoo.",		"ymail.com",	 "rocketmail.com",
    "outlook.",	    "hotmail.",	      "live.",		"msn.com",	 "windowslive.com",
    "icloud.com",   "me.com",	      "mac.com",	"aol.com",	 "aim.com",
    "gmx.",	    "web.de",	      "freenet.de",	"t-online.de",	 "mail.ru",
    "inbox.ru",	    "list.ru",	      "bk.ru",		"yandex.",	 "ya.ru",
    "proton.me",    "protonmail.com", "protonmail.ch",	"pm.me",	 "zoho.com",
    "zohomail.com", "mail.com",	      "tutanota.com",	"tuta.io",	 "fastmail.com",
    "hushmail.com", "qq.com",	      "163.com",	"126.com",	 "sina.com",
    "naver.com",    "daum.net",	      "rediffmail.com", "libero.it",	 "virgilio.it",
    "laposte.net",  "orange.fr",      "free.fr",	"wanadoo.fr",	 "seznam.cz",
    "wp.pl",	    "o2.pl",	      "interia.pl",	"onet.pl",	 "btinternet.com",
    "comcast.net",  "verizon.net",    "att.net",	"sbcglobal.net", "cox.net",
};

/* "yahoo." matches yahoo.com, yahoo.co.uk, yahoo.fr: the brand and any suffix. */
static bool
brand_match(const char *domain, size_t n, const char *entry)
{
	size_t m = strlen(entry);
	if (entry[m - 1] != '.')
		return m == n && strncasecmp(domain, entry, n) == 0;
	if (n <= m || strncasecmp(domain, entry, m) != 0)
		return false;
	/* The rest is a public suffix, one or two short labels: "de", "co.uk". */
	const char *rest = domain + m, *dot = memchr(rest, '.', n - m);
	size_t first = dot ? (size_t)(dot - rest) : n - m;
	return first >= 2 && (dot == NULL || (memchr(dot + 1, '.', n - m - first - 1) == NULL &&
					      first <= 3 && n - m - first - 1 >= 2));
}

bool
verify_is_free(const char *domain)
{
	size_t n = strlen(domain);
	if (n && domain[n - 1] == '.')
		n--;
	for (size_t i = 0; i < sizeof free_providers / sizeof free_providers[0]; i++)
		if (brand_match(domain, n, free_providers[i]))
			return true;
	return false;
}

/*
 * The big providers a typo is checked against. Short names (live.com,
 * msn.com, me.com, mail.com, qq.com, web.de) stay out: too many real
 * domains sit one letter away from them.
 */
static const char *const typo_targets[] = {
    "gmail.com",      "googlemail.com", "yahoo.com",	"yahoo.co.uk", "yahoo.fr",
    "hotmail.com",    "hotmail.co.uk",	"hotmail.fr",	"outlook.com", "icloud.com",
    "aol.com",	      "gmx.de",		"gmx.net",	"mail.ru",     "yandex.ru",
    "protonmail.com", "proton.me",	"comcast.net",	"verizon.net", "sbcglobal.net",
    "btinternet.com", "t-online.de",	"orange.fr",	"laposte.net", "rocketmail.com",
    "ymail.com",      "zoho.com",	"fastmail.com",
};

unsigned
verify_edit_distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	if (n > 64 || m > 64)
		return 99;
	unsigned d[65][65];
	for (size_t i = 0; i <= n; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			unsigned cost =
			    tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			unsigned v = d[i - 1][j] + 1;
			v = d[i][j - 1] + 1 < v ? d[i][j - 1] + 1 : v;
			v = d[i - 1][j - 1] + cost < v ? d[i - 1][j - 1] + cost : v;
			/* A swap of two neighbours ("gmial") is one slip, not two. */
			if (i > 1 && j > 1 &&
			    tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[n][m] > 99 ? 99 : d[n][m];
}

bool
verify_suggest_domain(const char *domain, char *out, size_t size)
{
	char name[256];
	size_t n = strlen(domain);
	if (n && domain[n - 1] == '.')
		n--;
	if (n == 0 || n >= sizeof name || verify_is_free(domain))
		return false;
	memcpy(name, domain, n);
	name[n] = '\0';
	const char *best = NULL;
	unsigned best_d = 3;
	for (size_t i = 0; i < sizeof typo_targets / sizeof typo_targets[0]; i++) {
		const char *t = typo_targets[i];
		unsigned d = verify_edit_distance(name, t);
		/*
		 * Short names are near too many real ones ("al.com"): one
		 * slipped or swapped letter only, no dropped or extra one.
		 */
		unsigned limit = strlen(t) >= 9 ? 2 : strlen(t) == n ? 1 : 0;
		if (d > 0 && d <= limit && d < best_d) {
			best = t;
			best_d = d;
		}
	}
	if (best == NULL)
		return false;
	snprintf(out, size, "%s", best);
	return true;
}

void
verify_progress_text(char *out, size_t size, size_t done, size_t total, unsigned long elapsed_ms)
{
	double secs = (double)elapsed_ms / 1000.0;
	double rate = secs > 0 ? (double)done / secs : 0;
	int len = snprintf(out, size, "verify: %zu/%zu done, %.1f/s", done, total, rate);
	if (len < 0 || (size_t)len >= size)
		return;
	if (done > 0 && done < total && rate > 0) {
		unsigned long eta = (unsigned long)((double)(total - done) / rate + 0.5);
		if (eta >= 3600)
			snprintf(out + len, size - (size_t)len, ", ETA %luh%02lum", eta / 3600,
				 eta / 60 % 60);
		else if (eta >= 60)
			snprintf(out + len, size - (size_t)len, ", ETA %lum%02lus", eta / 60,
				 eta % 60);
		else
			snprintf(out + len, size - (size_t)len, ", ETA %lus", eta);
	}
}
