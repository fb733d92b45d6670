/*
 * Unit tests for config/account: the send.conf parser.
 *
 * Most cases are one table: a file's text and either success or a piece of
 * the error message that must appear, so adding a case is one line. The
 * functions after the table check the fields a good file fills in, the
 * default account, paths, and that a secret is never quoted back. The
 * table is longer than a screen on purpose (STYLE.md allows it for tests).
 */
#include <string.h>

#include "account.h"
#include "harness.h"

/* The smallest valid section, prefixed to cases that test one more line. */
#define BASE "account a\nhost smtp.example.test\n"

static const struct {
	const char *text;
	const char *err; /* NULL: must parse; else a piece of the message */
} cases[] = {
    {"", NULL},
    {"# only a comment\n\n   \t\n", NULL},
    {BASE, NULL},
    {"\xef\xbb\xbf" BASE, NULL},
    {BASE "  # an indented comment\r\n", NULL},
    {"ACCOUNT a\nHOST smtp.example.test\r\nPort 2525\n", NULL},
    {"account a\nprovider gmail\nuser me@gmail.com\npassword-cmd pass show mail/gmail\n", NULL},
    {"account a\nprovider sendgrid\npassword-env SENDGRID_KEY\n", NULL}, /* user: apikey */
    {BASE "tls implicit\nport 465\n", NULL},
    {BASE "tls NONE\n", NULL},
    {BASE "host2 x\n", "did you mean \"host\"?"},
    {"account a\nhost [2001:db8::1]\n", NULL},
    {"account a\nhost 192.0.2.1\n", NULL},
    {BASE "user u\npassword-cmd gpg -d ~/.pw.gpg # the '#' belongs to the command\n", NULL},
    {BASE "from user@example.test\n", NULL},
    {BASE "from ünïcode@example.test\n", NULL},
    {BASE "timeout 30\n", NULL},
    {"default b\naccount a\nhost h.test\naccount b\nhost h.test\n", NULL},
    {BASE "account b\nprovider ses-eu-west-1\n", NULL},
    {BASE "oauth2-token-cmd oama access me@example.test\nuser me@example.test\n", NULL},
    /* Secrets stay out of the file. */
    {BASE "password hunter2\n", "send.conf:3: a plain \"password\" line is refused: secrets do "
				"not belong in a config file; use \"password-file FILE\""},
    {BASE "password\n", "a plain \"password\" line is refused"},
    {BASE "password = hunter2\n", "has no '='"},
    /* Syntax. */
    {BASE "host=smtp.example.test\n", "send.conf:3: send.conf has no '='"},
    {BASE "port = 587\n", "has no '='"},
    {BASE "frobnicate 1\n", "unknown directive \"frobnicate\"; use one of: account, default,"},
    {BASE "passwordeval pass x\n", "\"passwordeval\" is msmtp's; use \"password-cmd CMD\""},
    {BASE "tls_trust_file /x\n", "use \"cafile FILE\""},
    {"defaults\n", "there is no defaults section"},
    {BASE "port\n", "port needs a value; write it as: port N"},
    {BASE "port 587 # submission\n", "a comment must be on a line of its own"},
    {BASE "user a b\n", "user takes one word"},
    {BASE "user a\x01b\n", "a control character in the value of user"},
    {"host smtp.example.test\n", "send.conf:1: host comes before any account; start a section"},
    {"account\n", "account needs a value"},
    {"account -x\nhost h\n", "is not an account name"},
    {"account a/b\nhost h\n", "is not an account name"},
    {BASE "account A\nhost h\n", "send.conf:3: account \"A\" is already defined on line 1"},
    {BASE "host other.test\n", "send.conf:3: host is already set for account \"a\" on line 2"},
    /* Per directive. */
    {"account a\nhost smtp.example.test:587\n", "holds a port; put it on a line of its own"},
    {"account a\nhost bad_name\n", "\"bad_name\" is not a host name or IP address"},
    {"account a\nhost [nope]\n", "is not a host name"},
    {BASE "port 0\n", "bad port \"0\""},
    {BASE "port 65536\n", "bad port"},
    {BASE "port 58x\n", "bad port"},
    {BASE "tls ssl\n", "write \"implicit\""},
    {BASE "tls on\n", "say which kind: use starttls"},
    {BASE "tls off\n", "write \"none\""},
    {BASE "tls maybe\n", "unknown TLS mode \"maybe\""},
    {BASE "provider gmial\n", "unknown provider \"gmial\"; did you mean \"gmail\"?"},
    {BASE "provider nosuchthing\n", "--provider list"},
    {BASE "password-env 1X\n", "is not an environment variable name"},
    {BASE "password-env A-B\n", "is not an environment variable name"},
    {BASE "user u\npassword-file f\npassword-cmd c\n",
     "send.conf:5: this account already takes its password from password-file (line 4)"},
    {BASE "user u\npassword-env V\npassword-file f\n", "from password-env (line 4)"},
    {BASE "user u\noauth2-token-file f\noauth2-token-cmd c\n", "from oauth2-token-file (line 4)"},
    {BASE "from <a@b.test>\n", "without the angle brackets"},
    {BASE "from nobody\n", "is not an email address"},
    {BASE "timeout 0\n", "bad timeout \"0\"; use whole seconds from 1 to 3600"},
    {BASE "timeout 99999\n", "bad timeout"},
    {BASE "cafile ~other/ca.pem\n", "only \"~/\""},
    /* Whole sections. */
    {"account a\nuser u\n", "send.conf:1: account \"a\" has no server; add \"host"},
    {"account a\nport 587\naccount b\nhost h.test\n", "send.conf:1: account \"a\" has no server"},
    {BASE "password-file f\n", "send.conf:1: account \"a\" has a secret but no user"},
    {BASE "user u\npassword-file f\noauth2-token-file t\n", "both a password and an OAuth2 token"},
    {"default c\n" BASE, "send.conf:1: default \"c\" names no account; the accounts are: a"},
    {"default c\n", "names no account, and there are none"},
    {"default a\ndefault a\n" BASE, "send.conf:2: default is already set on line 1"},
};

static void
test_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[512] = "unset";
		struct account_file *f = (void *)&err; /* must become NULL on error */
		int rc = account_parse(cases[i].text, NULL, NULL, "/home/u", &f, err, sizeof err);
		if (cases[i].err == NULL) {
			CHECK(rc == 0 && f != NULL && err[0] == '\0');
			if (rc != 0)
				printf("  case %zu: %s\n", i, err);
		} else {
			CHECK(rc == -1 && f == NULL && strstr(err, cases[i].err) != NULL);
			if (rc != -1 || strstr(err, cases[i].err) == NULL)
				printf("  case %zu: got \"%s\"\n", i, err);
			/* A secret is never quoted back. */
			CHECK(strstr(err, "hunter2") == NULL);
		}
		account_file_free(&f);
		CHECK(f == NULL);
	}
}

static void
test_fields(void)
{
	static const char text[] = "# work and home\n"
				   "default home\n"
				   "account work\n"
				   "  provider office365\n"
				   "  user me@corp.example\n"
				   "  oauth2-token-cmd oama access me@corp.example\n"
				   "  from me@corp.example\n"
				   "\n"
				   "account home\n"
				   "  host Mail.Example.Test\n"
				   "  port 465\n"
				   "  tls implicit\n"
				   "  user me\n"
				   "  password-file secret/home.pw\n"
				   "  cafile ~/ca.pem\n"
				   "  timeout 20\n"
				   "account grid\n"
				   "  provider SendGrid\n"
				   "  password-env SENDGRID_API_KEY\n";
	struct account_file *f = NULL;
	char err[256];
	CHECK(account_parse(text, "send.conf", "/home/u/.config/mailport", "/home/u", &f, err,
			    sizeof err) == 0);
	if (f == NULL) {
		printf("  %s\n", err);
		return;
	}
	CHECK(f->naccounts == 3);
	const struct account *d = account_default(f);
	CHECK(d != NULL && d == account_find(f, "HOME"));
	CHECK_STR(d->name, "home");
	CHECK(d->line == 9);
	CHECK_STR(d->host, "mail.example.test");
	CHECK_STR(account_host(d), "mail.example.test");
	CHECK(d->port == 465 && d->has_tls && d->tls == CLIENT_TLS_IMPLICIT);
	CHECK(d->provider == NULL);
	CHECK_STR(d->user, "me");
	CHECK(d->password_src == ACCOUNT_SRC_FILE);
	CHECK_STR(d->password, "/home/u/.config/mailport/secret/home.pw");
	CHECK_STR(d->cafile, "/home/u/ca.pem");
	CHECK(d->timeout == 20 && d->oauth2_src == ACCOUNT_SRC_NONE && d->from == NULL);

	const struct account *w = account_find(f, "work");
	CHECK(w != NULL && w->provider == provider_by_name("office365"));
	CHECK(w->host == NULL && w->port == 0 && !w->has_tls);
	CHECK_STR(account_host(w), "smtp.office365.com");
	CHECK(w->oauth2_src == ACCOUNT_SRC_CMD);
	CHECK_STR(w->oauth2_token, "oama access me@corp.example");
	CHECK(w->password_src == ACCOUNT_SRC_NONE && w->password == NULL);
	CHECK_STR(w->from, "me@corp.example");

	const struct account *g = account_find(f, "grid");
	CHECK(g != NULL && g->user == NULL);
	CHECK_STR(account_user(g), "apikey");
	CHECK(g->password_src == ACCOUNT_SRC_ENV);
	CHECK_STR(g->password, "SENDGRID_API_KEY");
	CHECK(account_find(f, "nope") == NULL);
	CHECK(account_find(f, NULL) == NULL);
	account_file_free(&f);
	CHECK(f == NULL);
	account_file_free(&f); /* twice is fine */
}

static void
test_default_and_paths(void)
{
	struct account_file *f = NULL;
	char err[256];
	/* Without a default line, the first account is the default. */
	CHECK(account_parse("account x\nhost a.test\naccount y\nhost b.test\n", NULL, NULL, NULL,
			    &f, err, sizeof err) == 0);
	CHECK(f && account_default(f) == &f->accounts[0]);
	account_file_free(&f);
	/* An empty file has no default. */
	CHECK(account_parse("", NULL, NULL, NULL, &f, err, sizeof err) == 0);
	CHECK(f && f->naccounts == 0 && account_default(f) == NULL);
	account_file_free(&f);
	CHECK(account_default(NULL) == NULL);
	/* Paths: absolute as is, "./" dropped, no base_dir keeps them relative. */
	CHECK(account_parse("account x\nhost a.test\nuser u\npassword-file ./p w\ncafile /etc/ca\n",
			    "s.conf", "/cfg/", NULL, &f, err, sizeof err) == 0);
	CHECK(f && strcmp(f->accounts[0].password, "/cfg/p w") == 0);
	CHECK(f && strcmp(f->accounts[0].cafile, "/etc/ca") == 0);
	account_file_free(&f);
	CHECK(account_parse("account x\nhost a.test\ncafile ca.pem\n", NULL, NULL, NULL, &f, err,
			    sizeof err) == 0);
	CHECK(f && strcmp(f->accounts[0].cafile, "ca.pem") == 0);
	account_file_free(&f);
	/* "~/" without a home folder is an error, not a folder named "~". */
	CHECK(account_parse("account x\nhost a.test\ncafile ~/ca.pem\n", "s.conf", NULL, NULL, &f,
			    err, sizeof err) == -1);
	CHECK(strstr(err, "s.conf:3: cannot expand \"~/\"") == err);
	/* A tiny err buffer is still terminated; a NULL one is fine. */
	char tiny[8];
	CHECK(account_parse("bogus\n", "send.conf", NULL, NULL, &f, tiny, sizeof tiny) == -1);
	CHECK(strlen(tiny) < sizeof tiny);
	CHECK(account_parse("bogus\n", NULL, NULL, NULL, &f, NULL, 0) == -1);
	/* A command keeps its blanks and '#'; the shell expands its "~", not us. */
	CHECK(account_parse("account x\nhost a.test\nuser u\npassword-cmd  gpg -d ~/p.gpg #x \t\n",
			    NULL, "/cfg", "/home/u", &f, err, sizeof err) == 0);
	CHECK(f && f->accounts[0].password_src == ACCOUNT_SRC_CMD);
	CHECK(f && strcmp(f->accounts[0].password, "gpg -d ~/p.gpg #x") == 0);
	account_file_free(&f);
	/* IPv6 hosts are stored bare and canonical. */
	CHECK(account_parse("account x\nhost [2001:DB8:0::1]\n", NULL, NULL, NULL, &f, err,
			    sizeof err) == 0);
	CHECK(f && strcmp(f->accounts[0].host, "2001:db8::1") == 0);
	account_file_free(&f);
}

int
main(void)
{
	test_cases();
	test_fields();
	test_default_and_paths();
	return test_summary("test_account");
}
