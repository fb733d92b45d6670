/*
 * Unit tests for config_dovecot: "deliver maildir|lmtp ENDPOINT", "auth
 * dovecot ENDPOINT", the endpoint type (Unix socket or HOST:PORT) and the
 * rule that "deliver lmtp" needs no mailboxes line. Table-driven.
 */
#include <string.h>

#include "config.h"
#include "harness.h"

#define BASE "domain example.test\nspool s\nlisten 127.0.0.1:587 submission\n"

static void
test_good(void)
{
	struct config cfg;
	char err[512], text[512];
	config_init(&cfg);
	CHECK(cfg.deliver == CONFIG_DELIVER_MAILDIR && !cfg.auth_dovecot);
	snprintf(text, sizeof text,
		 "%sdeliver lmtp unix:/run/dovecot/lmtp\nauth dovecot /run/dovecot/auth-client\n",
		 BASE);
	CHECK(config_parse(&cfg, text, "a.conf", "/srv", err, sizeof err) == 0);
	CHECK(cfg.deliver == CONFIG_DELIVER_LMTP);
	CHECK_STR(cfg.lmtp.unix_path, "/run/dovecot/lmtp");
	CHECK(cfg.auth_dovecot);
	CHECK_STR(cfg.dovecot_auth.unix_path, "/run/dovecot/auth-client");
	/* No mailboxes line: fine with deliver lmtp, an error with Maildir. */
	CHECK(config_validate(&cfg, "a.conf", err, sizeof err) == 0);
	char shown[160];
	config_endpoint_format(&cfg.lmtp, shown, sizeof shown);
	CHECK_STR(shown, "unix:/run/dovecot/lmtp");

	config_init(&cfg);
	snprintf(text, sizeof text, "%sdeliver lmtp 127.0.0.1:24\nauth dovecot [::1]:12345\n",
		 BASE);
	CHECK(config_parse(&cfg, text, "a.conf", "/srv", err, sizeof err) == 0);
	CHECK(cfg.lmtp.unix_path[0] == '\0');
	CHECK_STR(cfg.lmtp.hp.host, "127.0.0.1");
	CHECK(cfg.lmtp.hp.port == 24);
	CHECK_STR(cfg.dovecot_auth.hp.host, "::1");
	CHECK(cfg.dovecot_auth.hp.port == 12345 && cfg.dovecot_auth.hp.is_ipv6);
	config_endpoint_format(&cfg.dovecot_auth, shown, sizeof shown);
	CHECK_STR(shown, "[::1]:12345");

	config_init(&cfg);
	snprintf(text, sizeof text, "%sdeliver maildir\n", BASE);
	CHECK(config_parse(&cfg, text, "a.conf", "/srv", err, sizeof err) == 0);
	CHECK(cfg.deliver == CONFIG_DELIVER_MAILDIR);
	CHECK(config_validate(&cfg, "a.conf", err, sizeof err) == -1);
	CHECK(strstr(err, "no mailboxes line") != NULL);
}

static void
test_bad(void)
{
	static const struct {
		const char *line, *says;
	} bad[] = {
	    {"deliver\n", "a.conf:4: "},
	    {"deliver lmtp\n", "deliver lmtp needs the server's socket"},
	    {"deliver maildir extra\n", "is not a way of delivering"},
	    {"deliver smtp 127.0.0.1:25\n", "is not a way of delivering"},
	    {"deliver lmtp unix:run/lmtp\n", "must be absolute"},
	    {"deliver lmtp 127.0.0.1\n", "the port is required"},
	    {"deliver lmtp 127.0.0.1:0\n", "the port is required"},
	    {"deliver lmtp host:99999\n", "cannot read"},
	    {"deliver lmtp unix:/"
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "aaaaaa"
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	     "at most 107 bytes"},
	    {"auth dovecot\n", "a.conf:4: "},
	    {"auth cyrus /run/sasl\n", "is not a login checker"},
	    {"auth dovecot relative/socket\n", "cannot read"},
	    {"deliver maildir\ndeliver maildir\n", "a.conf:5: "},
	    {"auth dovecot /a\nauth dovecot /b\n", "a.conf:5: "},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct config cfg;
		char err[1024], text[512];
		config_init(&cfg);
		snprintf(text, sizeof text, "%s%s", BASE, bad[i].line);
		CHECK(config_parse(&cfg, text, "a.conf", "/srv", err, sizeof err) == -1);
		CHECK(strstr(err, bad[i].says) != NULL);
		if (strstr(err, bad[i].says) == NULL)
			printf("  case %zu: got \"%s\", want \"%s\"\n", i, err, bad[i].says);
	}
}

int
main(void)
{
	test_good();
	test_bad();
	return test_summary("test_config_dovecot");
}
