/*
 * Unit tests for config/: the mailport.conf parser.
 *
 * Most cases are one table: a config text and either success or a piece of
 * the error message that must appear, so adding a case is one line. The
 * functions after the table check the fields a good file fills in. The
 * table is longer than a screen on purpose (STYLE.md allows it for tests).
 */
#include <stdint.h>
#include <string.h>

#include "conf_text.h"
#include "config.h"
#include "harness.h"

/* The smallest valid file, prefixed to cases that test one more line. */
#define BASE "domain example.test\nspool s\nmailboxes m\nlisten 127.0.0.1:587 submission\n"

static const struct {
	const char *text;
	const char *err; /* NULL: must parse and validate; else a piece of the message */
} cases[] = {
    {BASE, NULL},
    {BASE "# a comment\n\n   \t\n", NULL},
    {BASE "hostname mx.example.test # trailing comment\n", NULL},
    {BASE "\tlisten\t[::1]:25\tsmtp\r\n", NULL},
    {BASE "listen *:465 submissions\n", NULL},
    {BASE "LISTEN 127.0.0.2:25 SMTP\n", NULL},
    {BASE "relayhost smtp.example.net:587 me secret\n", NULL},
    {BASE "relayhost [2001:db8::1]:25\n", NULL},
    {BASE "resolver 127.0.0.1:5353\n", NULL},
    {BASE "resolver ::1\n", NULL},
    {BASE "message-size-limit 10M\n", NULL},
    {"\xef\xbb\xbf" BASE, NULL},
    /* Unknown directives, with a suggestion when one is close. */
    {BASE "lisen 127.0.0.1:25 smtp\n", "mailport.conf:5: unknown directive \"lisen\"; did "
				       "you mean \"listen\"?"},
    {BASE "domian a.test\n", "did you mean \"domain\"?"},
    {BASE "frobnicate 1\n", "unknown directive \"frobnicate\"; use one of: hostname, domain,"},
    {BASE "hostname = mx.example.test\n", "has no '='"},
    {BASE "bad\x01word x\n", "\"bad\\x01word\""},
    /* Argument counts. */
    {BASE "listen 127.0.0.1:25\n",
     "listen takes at least 2 arguments, not 1; write it as: listen HOST:PORT SERVICE"},
    {BASE "tls cert.pem\n", "tls takes 2 arguments, not 1"},
    {BASE "hostname a b\n", "hostname takes 1 argument, not 2"},
    {BASE "domain a b c d e f g h i j k\n", "domain takes at most 9 arguments, not 10 or more"},
    {BASE "relayhost h u\n", "no secret file"},
    /* listen. */
    {BASE "listen 127.0.0.1:587 smtps\n", "unknown service \"smtps\"; did you mean submissions?"},
    {BASE "listen 127.0.0.1:587 mail\n", "use smtp (relay/MX, port 25), submission"},
    {BASE "listen 127.0.0.1 587\n", "the service is a name, not a port number"},
    {BASE "listen 127.0.0.1 smtp\n", "has no port; add one, e.g. \"listen 127.0.0.1:25 smtp\""},
    {BASE "listen 127.0.0.1:0 smtp\n", "bad port \"0\""},
    {BASE "listen 127.0.0.1:65536 smtp\n", "bad port \"65536\""},
    {BASE "listen 127.0.0.1:-1 smtp\n", "bad port"},
    {BASE "listen ::1:25 smtp\n", "IPv6 address in brackets"},
    {BASE "listen [::1:25 smtp\n", "cannot read the address"},
    {BASE "listen mail.example:25 smtp\n", "is not an IP address"},
    {BASE "listen 127.0.0.1:587 submission\n", "mailport.conf:5: 127.0.0.1:587 is already a "
					       "listener (line 4)"},
    {BASE "listen [::1]:25 smtp\nlisten [0::1]:25 smtp\n", "[::1]:25 is already a listener"},
    {BASE "listen *:587 submission\n", "port 587 is already taken on all addresses by line 4"},
    {BASE "listen 127.0.0.1:26 smtp max-connections\n", "bad max-connections \"\" for this door"},
    {BASE "listen 127.0.0.1:26 smtp max-connections 0\n", "bad max-connections \"0\""},
    {BASE "listen 127.0.0.1:26 smtp max-connections x\n", "bad max-connections \"x\""},
    {BASE "listen [::1]:26 smtp maxconn 5\n",
     "unknown or repeated listen option \"maxconn\"; the options are max-connections N and "
     "proxy, e.g. \"listen [::1]:26 smtp max-connections 200 proxy\""},
    {BASE "listen 127.0.0.1:26 smtp proxy proxy\n", "repeated listen option \"proxy\""},
    {BASE "listen 127.0.0.1:26 smtp max-connections 5 max-connections\n",
     "repeated listen option \"max-connections\""},
    {BASE "listen 127.0.0.1:26 smtp max-connections 5 6\n",
     "unknown or repeated listen option \"6\""},
    {BASE "listen 127.0.0.1:26 smtp max-connections 5 proxy 6\n",
     "listen takes at most 5 arguments"},
    {BASE "ipv6-prefix-length 129\n",
     "bad ipv6-prefix-length \"129\"; use a whole number from 1 to 128"},
    {BASE "min-data-rate 0\n", "bad min-data-rate \"0\""},
    {BASE "tls-handshake-timeout 0\n", "bad tls-handshake-timeout"},
    /* Names and values. */
    {BASE "domain example.test\n", "listed twice"},
    {BASE "domain EXAMPLE.test.\n", "not a valid domain name"},
    {BASE "domain -bad.test\n", "not a valid domain name"},
    {BASE "hostname a..b\n", "not a valid host name"},
    {BASE "hostname a\nhostname b\n", "hostname is already set on line 5"},
    {BASE "user -root\n", "is not a user name"},
    {BASE "recipient-limit 0\n", "bad recipient-limit \"0\"; use a whole number from 1"},
    {BASE "recipient-limit 12x\n", "bad recipient-limit"},
    {BASE "command-timeout 99999999999999999999999\n", "bad command-timeout"},
    {BASE "message-size-limit 35Q\n", "bad message-size-limit"},
    {BASE "unprivileged-port-offset 64513\n", "from 0 to 64512"},
    {BASE "relayhost smtp.example.net:99999\n", "bad port in"},
    {BASE "resolver dns.example:53\n", "write IP[:PORT]"},
    /* config_validate. */
    {"domain a.test\nspool s\nmailboxes m\n", "mailport.conf: no listen line; add e.g. "
					      "\"listen 127.0.0.1:587 submission\""},
    {"spool s\nmailboxes m\nlisten 127.0.0.1:25 smtp\n", "no domain line"},
    {"domain a.test\nmailboxes m\nlisten 127.0.0.1:25 smtp\n", "no spool line"},
    {"domain a.test\nspool s\nlisten 127.0.0.1:25 smtp\n", "no mailboxes line"},
};

static void
test_table(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct config cfg;
		char err[512] = "";
		config_init(&cfg);
		int rc =
		    config_parse(&cfg, cases[i].text, "mailport.conf", "/etc/mp", err, sizeof err);
		if (rc == 0)
			rc = config_validate(&cfg, "mailport.conf", err, sizeof err);
		if (cases[i].err == NULL) {
			CHECK(rc == 0);
			if (rc != 0)
				printf("  case %zu: %s\n", i, err);
		} else {
			CHECK(rc == -1 && strstr(err, cases[i].err) != NULL);
			if (rc != -1 || strstr(err, cases[i].err) == NULL)
				printf("  case %zu: got \"%s\", want \"%s\"\n", i, err,
				       cases[i].err);
		}
	}
}

/* Every bad line is reported, each as FILE:LINE, not only the first. */
static void
test_all_errors(void)
{
	struct config cfg;
	char err[4096];
	config_init(&cfg);
	const char *text = BASE "recipient-limit 0\nbogus-directive 1\nhostname a..b\n";
	CHECK(config_parse(&cfg, text, "f.conf", "/etc/mp", err, sizeof err) == -1);
	CHECK(strstr(err, "f.conf:5: bad recipient-limit") != NULL);
	CHECK(strstr(err, "f.conf:6: ") != NULL);
	CHECK(strstr(err, "f.conf:7: ") != NULL && strstr(err, "not a valid host name"));
	CHECK(strchr(err, '\n') != NULL && strchr(strchr(err, '\n') + 1, '\n') != NULL);
	/* A small buffer: whole lines that fit, then how many more. */
	char small[120];
	config_init(&cfg);
	CHECK(config_parse(&cfg, text, "f.conf", "/etc/mp", small, sizeof small) == -1);
	CHECK(strncmp(small, "f.conf:5: ", 10) == 0);
	CHECK(strlen(small) < sizeof small);
}

static void
test_defaults(void)
{
	struct config cfg;
	config_init(&cfg);
	CHECK(cfg.message_size_limit == 36700160);
	CHECK(cfg.recipient_limit == 100);
	CHECK(cfg.max_connections == 1000);
	CHECK(cfg.max_connections_per_ip == 50);
	CHECK(cfg.command_timeout == 300);
	CHECK(cfg.data_timeout == 180);
	CHECK(cfg.min_data_rate == 500 && cfg.tls_handshake_timeout == 60);
	CHECK(cfg.ipv6_prefix_length == 64);
	CHECK(cfg.auth_failure_limit == 3);
	CHECK(cfg.error_limit == 20);
	CHECK(cfg.unprivileged_port_offset == 0);
	CHECK(cfg.run_user[0] == '\0' && cfg.hostname[0] == '\0');
	CHECK(cfg.nlisteners == 0 && cfg.ndomains == 0);
}

static void
test_fields(void)
{
	static const char text[] = "hostname MX.Example.Test\n"
				   "domain Example.TEST other.test\n"
				   "users users\n"
				   "tls ./tls/cert.pem /abs/key.pem\n"
				   "spool ../var/spool\n"
				   "mailboxes mail\n"
				   "listen 127.0.0.1:25 smtp\n"
				   "listen [::1]:465 submissions PROXY\n"
				   "listen *:2525 submission\n"
				   "listen localhost:587 submission Max-Connections 40\n"
				   "relayhost SMTP.example.net:587 me relay.secret\n"
				   "resolver [::1]:5353\n"
				   "user mailport\n"
				   "message-size-limit 1k\n"
				   "recipient-limit 7\n"
				   "max-connections 9\n"
				   "max-connections-per-ip 2\n"
				   "command-timeout 60\n"
				   "data-timeout 61\n"
				   "auth-failure-limit 5\n"
				   "error-limit 7\n"
				   "unprivileged-port-offset 10000\n"
				   "min-data-rate 100\n"
				   "tls-handshake-timeout 5\n"
				   "ipv6-prefix-length 48\n";
	struct config cfg;
	char err[512];
	config_init(&cfg);
	CHECK(config_parse(&cfg, text, "f", "/etc/mp/", err, sizeof err) == 0);
	CHECK(config_validate(&cfg, "f", err, sizeof err) == 0);
	CHECK_STR(cfg.hostname, "mx.example.test");
	CHECK(cfg.ndomains == 2);
	CHECK_STR(cfg.domains[0], "example.test");
	CHECK_STR(cfg.users_file, "/etc/mp/users");
	CHECK_STR(cfg.tls_cert, "/etc/mp/tls/cert.pem");
	CHECK_STR(cfg.tls_key, "/abs/key.pem");
	CHECK_STR(cfg.spool_dir, "/etc/var/spool");
	CHECK(cfg.nlisteners == 4);
	CHECK_STR(cfg.listeners[0].host, "127.0.0.1");
	CHECK(cfg.listeners[0].port == 25 && cfg.listeners[0].policy == policy_for(SVC_SMTP));
	CHECK(cfg.listeners[0].line == 7);
	CHECK_STR(cfg.listeners[1].host, "::1");
	CHECK(cfg.listeners[1].policy == policy_for(SVC_SUBMISSIONS));
	CHECK(cfg.listeners[1].proxy && !cfg.listeners[0].proxy && !cfg.listeners[3].proxy);
	CHECK_STR(cfg.listeners[2].host, "0.0.0.0");
	CHECK(cfg.listeners[2].port == 2525);
	CHECK_STR(cfg.listeners[3].host, "127.0.0.1");
	CHECK_STR(cfg.relayhost.host, "smtp.example.net");
	CHECK(cfg.relayhost.port == 587 && !cfg.relayhost.is_ipv6);
	CHECK_STR(cfg.relay_user, "me");
	CHECK_STR(cfg.relay_secret_file, "/etc/mp/relay.secret");
	CHECK_STR(cfg.resolver.host, "::1");
	CHECK(cfg.resolver.port == 5353 && cfg.resolver.is_ipv6);
	CHECK_STR(cfg.run_user, "mailport");
	CHECK(cfg.message_size_limit == 1024);
	CHECK(cfg.recipient_limit == 7 && cfg.max_connections == 9);
	CHECK(cfg.max_connections_per_ip == 2 && cfg.command_timeout == 60);
	CHECK(cfg.data_timeout == 61 && cfg.auth_failure_limit == 5);
	CHECK(cfg.error_limit == 7);
	CHECK(cfg.unprivileged_port_offset == 10000);
	CHECK(cfg.min_data_rate == 100 && cfg.tls_handshake_timeout == 5);
	CHECK(cfg.ipv6_prefix_length == 48);
	/* Door caps: its own, the smtp doors' shared pool (9 - 9/5 = 8), none. */
	bool shared;
	CHECK(cfg.listeners[3].max_connections == 40);
	CHECK(config_door_cap(&cfg, &cfg.listeners[3], &shared) == 40 && !shared);
	CHECK(config_door_cap(&cfg, &cfg.listeners[0], &shared) == 8 && shared);
	CHECK(config_door_cap(&cfg, &cfg.listeners[1], &shared) == 0 && !shared);
	cfg.max_connections = 1;
	CHECK(config_door_cap(&cfg, &cfg.listeners[0], &shared) == 1 && shared);
	cfg.max_connections = 1000;
	CHECK(config_door_cap(&cfg, &cfg.listeners[0], &shared) == 800);

	CHECK(config_is_local_domain(&cfg, "example.test"));
	CHECK(config_is_local_domain(&cfg, "EXAMPLE.Test"));
	CHECK(config_is_local_domain(&cfg, "other.test."));
	CHECK(!config_is_local_domain(&cfg, "example.tes"));
	CHECK(!config_is_local_domain(&cfg, "sub.example.test"));
	CHECK(!config_is_local_domain(&cfg, NULL));
}

static void
test_base_dir(void)
{
	struct config cfg;
	char err[512];
	config_init(&cfg);
	/* No base_dir: paths stay as written. */
	CHECK(config_parse(&cfg, "spool spool\nmailboxes /m\n", "f", NULL, err, sizeof err) == 0);
	CHECK_STR(cfg.spool_dir, "spool");
	CHECK_STR(cfg.mailbox_dir, "/m");
	/* "../" climbs the folder as far as it can; "." is the folder itself. */
	static const struct {
		const char *base, *name, *want;
	} paths[] = {
	    {"/etc/mp", "../../../x", "/x"}, {"/etc/mp", "..", "/etc"},
	    {"/etc", "./", "/etc"},	     {"/", "../x", "/x"},
	    {"etc", "../x", "etc/../x"},     {"/a/b/", "../c/../d", "/a/c/../d"},
	    {"/a", ".//b", "/a/b"},
	};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		char text[64];
		config_init(&cfg);
		snprintf(text, sizeof text, "spool %s\n", paths[i].name);
		CHECK(config_parse(&cfg, text, "f", paths[i].base, err, sizeof err) == 0);
		CHECK_STR(cfg.spool_dir, paths[i].want);
	}
	config_init(&cfg);
	CHECK(config_parse(&cfg, "message-size-limit 35M\n", "f", "", err, sizeof err) == 0);
	CHECK(cfg.message_size_limit == 36700160);
	/* A message that does not fit is cut, still terminated. */
	char small[16];
	CHECK(config_parse(&cfg, "nope\n", "f", NULL, small, sizeof small) == -1);
	CHECK_STR(small, "f:1: unknown di");
}

/* The outbound directives: durations with units, tls-policy. */
static void
test_outbound(void)
{
	static const char text[] =
	    "domain example.test\n"
	    "retry-interval 5s\nretry-max-interval 2m\nqueue-lifetime 5d\n"
	    "outbound-timeout 45\ntls-policy Bank.Example require\n"
	    "tls-policy dane.example dane-only\ntls-policy v.example verify\n"
	    "tls-policy default dane\noutbound-cafile ca/mx.pem\n"
	    "outbound-connections 50\noutbound-connections-per-destination 5\n";
	struct config cfg;
	char err[256];
	config_init(&cfg);
	CHECK(cfg.retry_interval == 300 && cfg.retry_max_interval == 3600);
	CHECK(cfg.queue_lifetime == 432000 && cfg.outbound_timeout == 30);
	CHECK(cfg.outbound_connections == 20 && cfg.outbound_connections_per_dest == 10);
	CHECK(config_parse(&cfg, text, "m.conf", "/etc", err, sizeof err) == 0);
	CHECK(cfg.retry_interval == 5 && cfg.retry_max_interval == 120);
	CHECK(cfg.queue_lifetime == 5 * 86400 && cfg.outbound_timeout == 45);
	CHECK(cfg.outbound_connections == 50 && cfg.outbound_connections_per_dest == 5);
	enum tls_level l;
	CHECK(config_tls_level(&cfg, "bank.example", &l) && l == TLS_LEVEL_ENCRYPT);
	CHECK(config_tls_level(&cfg, "DANE.example", &l) && l == TLS_LEVEL_DANE_ONLY);
	CHECK(config_tls_level(&cfg, "v.example", &l) && l == TLS_LEVEL_VERIFY);
	CHECK(!config_tls_level(&cfg, "example.org", &l) && l == TLS_LEVEL_DANE);
	CHECK_STR(cfg.outbound_cafile, "/etc/ca/mx.pem");
	config_init(&cfg);
	CHECK(!config_tls_level(&cfg, "example.org", &l) && l == TLS_LEVEL_MAY);
	static const char *const bad[] = {
	    "retry-interval 5x\n",	     "retry-interval 0\n",
	    "queue-lifetime 61d\n",	     "tls-policy example.org secure\n",
	    "tls-policy example.org DANE\n", "tls-policy example.org\n",
	    "tls-policy bad_name require\n", "outbound-timeout m\n",
	    "outbound-connections 0\n",	     "outbound-connections-per-destination many\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		config_init(&cfg);
		CHECK(config_parse(&cfg, bad[i], "m.conf", "/etc", err, sizeof err) == -1);
		CHECK(strncmp(err, "m.conf:1: ", 10) == 0);
	}
	config_init(&cfg);
	CHECK(config_parse(&cfg, "tls-policy a.example may\ntls-policy A.example dane\n", "m.conf",
			   "/etc", err, sizeof err) == -1);
	CHECK(strstr(err, "m.conf:2: ") && strstr(err, "keep one line"));
}

/* The mail-authentication directives: dkim (repeatable), dmarc-policy, auth-timeout. */
static void
test_mail_auth(void)
{
	static const char text[] = "dkim Example.Test s2026 keys/rsa.key\n"
				   "dkim example.test ed1 /etc/k/ed.key\n"
				   "dmarc-policy report-only\nauth-timeout 5\n";
	struct config cfg;
	char err[256];
	config_init(&cfg);
	CHECK(cfg.ndkim == 0 && cfg.dmarc_policy == CONFIG_DMARC_ENFORCE && cfg.auth_timeout == 20);
	CHECK(config_parse(&cfg, text, "a.conf", "/srv/mp", err, sizeof err) == 0);
	CHECK(cfg.ndkim == 2);
	CHECK_STR(cfg.dkim[0].domain, "example.test");
	CHECK_STR(cfg.dkim[0].selector, "s2026");
	CHECK_STR(cfg.dkim[0].keyfile, "/srv/mp/keys/rsa.key");
	CHECK_STR(cfg.dkim[1].keyfile, "/etc/k/ed.key");
	CHECK(cfg.dmarc_policy == CONFIG_DMARC_REPORT_ONLY && cfg.auth_timeout == 5);
	static const struct {
		const char *text, *says;
	} bad[] = {
	    {"dkim example.test s1\n", "a.conf:1: "},
	    {"dkim bad_domain s1 k\n", "is not a domain name"},
	    {"dkim example.test s_1 k\n", "is not a selector"},
	    {"dkim a.test s1 k\ndkim A.test s1 k2\n", "given twice"},
	    {"dmarc-policy reject\n", "use enforce or report-only"},
	    {"dmarc-policy enforce\ndmarc-policy enforce\n", "a.conf:2: "},
	    {"auth-timeout 0\n", "a.conf:1: "},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		config_init(&cfg);
		CHECK(config_parse(&cfg, bad[i].text, "a.conf", "/srv", err, sizeof err) == -1);
		CHECK(strstr(err, bad[i].says) != NULL);
	}
}

/* log stderr|syslog|FILE: once; a file relative to the config's folder. */
static void
test_log(void)
{
	struct config cfg;
	char err[256];
	config_init(&cfg);
	CHECK(cfg.log == CONFIG_LOG_STDERR);
	CHECK(config_parse(&cfg, "log syslog\n", "l.conf", "/srv/mp", err, sizeof err) == 0);
	CHECK(cfg.log == CONFIG_LOG_SYSLOG);
	config_init(&cfg);
	CHECK(config_parse(&cfg, "log logs/serve.log\n", "l.conf", "/srv/mp", err, sizeof err) ==
	      0);
	CHECK(cfg.log == CONFIG_LOG_FILE);
	CHECK_STR(cfg.log_file, "/srv/mp/logs/serve.log");
	config_init(&cfg);
	CHECK(config_parse(&cfg, "log stderr\n", "l.conf", "/srv/mp", err, sizeof err) == 0);
	CHECK(cfg.log == CONFIG_LOG_STDERR);
	static const char *bad[] = {"log\n", "log a b\n", "log syslog\nlog stderr\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		config_init(&cfg);
		CHECK(config_parse(&cfg, bad[i], "l.conf", "/srv", err, sizeof err) == -1);
		CHECK(strstr(err, "l.conf:") != NULL && strstr(err, "log") != NULL);
	}
}

/* SMTP TLS reporting: tls-report on|off, tls-report-from ADDRESS. */
static void
test_tls_report(void)
{
	struct config cfg;
	char err[256];
	config_init(&cfg);
	CHECK(!cfg.tls_report_off && cfg.tls_report_from[0] == '\0');
	CHECK(config_parse(&cfg, "tls-report off\ntls-report-from tlsrpt@example.test\n", "a.conf",
			   "/srv", err, sizeof err) == 0);
	CHECK(cfg.tls_report_off);
	CHECK_STR(cfg.tls_report_from, "tlsrpt@example.test");
	static const struct {
		const char *text, *says;
	} bad[] = {
	    {"tls-report maybe\n", "is not on or off"},
	    {"tls-report-from not-an-address\n", "is not a mail address"},
	    {"tls-report-from <a@b.test>\n", "is not a mail address"},
	    {"tls-report on\ntls-report off\n", "a.conf:2: "},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		config_init(&cfg);
		CHECK(config_parse(&cfg, bad[i].text, "a.conf", "/srv", err, sizeof err) == -1);
		CHECK(strstr(err, bad[i].says) != NULL);
		if (strstr(err, bad[i].says) == NULL)
			printf("  %s -> %s\n", bad[i].text, err);
	}
}

/* relayhost and resolver: parsed once into host and port (issue 12 item 15). */
static void
test_hostport(void)
{
	static const struct {
		const char *word;
		bool names_ok;
		const char *host; /* NULL: refused */
		unsigned short port;
		bool v6;
		const char *text; /* config_hostport_format */
	} hp[] = {
	    {"[2001:db8::1]:2525", true, "2001:db8::1", 2525, true, "[2001:db8::1]:2525"},
	    {"[2001:DB8:0::1]", true, "2001:db8::1", 0, true, "2001:db8::1"},
	    {"2001:db8::1", true, "2001:db8::1", 0, true, "2001:db8::1"},
	    {"[::1]:25", false, "::1", 25, true, "[::1]:25"},
	    {"SMTP.Example.NET:587", true, "smtp.example.net", 587, false, "smtp.example.net:587"},
	    {"smtp.example.net", true, "smtp.example.net", 0, false, "smtp.example.net"},
	    {"192.0.2.7:465", false, "192.0.2.7", 465, false, "192.0.2.7:465"},
	    {"smtp.example.net", false, NULL, 0, false, NULL}, /* resolver: IPs only */
	    {"[smtp.example.net]:25", true, NULL, 0, false, NULL},
	    {"[192.0.2.7]:25", true, NULL, 0, false, NULL},
	    {"[::1]:0", true, NULL, 0, false, NULL},
	    {"[::1]:x", true, NULL, 0, false, NULL},
	    {"[::1", true, NULL, 0, false, NULL},
	    {"[::1]x", true, NULL, 0, false, NULL},
	    {"h:", true, NULL, 0, false, NULL},
	    {"", true, NULL, 0, false, NULL},
	};
	for (size_t i = 0; i < sizeof hp / sizeof hp[0]; i++) {
		struct config_hostport v;
		bool bad_port;
		char text[300];
		int rc = config_hostport_parse(hp[i].word, hp[i].names_ok, &v, &bad_port);
		CHECK(rc == (hp[i].host ? 0 : -1));
		if (rc != 0 || hp[i].host == NULL) {
			if (rc != (hp[i].host ? 0 : -1))
				printf("  hostport %zu: \"%s\" rc %d\n", i, hp[i].word, rc);
			continue;
		}
		CHECK_STR(v.host, hp[i].host);
		CHECK(v.port == hp[i].port && v.is_ipv6 == hp[i].v6);
		config_hostport_format(&v, text, sizeof text);
		CHECK_STR(text, hp[i].text);
	}
	/* The bracket form reaches delivery as host and port, not as text. */
	struct config cfg;
	char err[512];
	config_init(&cfg);
	CHECK(config_parse(&cfg, BASE "relayhost [2001:db8::1]:2525\n", "f", NULL, err,
			   sizeof err) == 0);
	CHECK_STR(cfg.relayhost.host, "2001:db8::1");
	CHECK(cfg.relayhost.port == 2525);
	struct config_hostport a = cfg.relayhost, b = a;
	CHECK(config_hostport_eq(&a, &b));
	b.port = 25;
	CHECK(!config_hostport_eq(&a, &b));
}

/* The line reader both config parsers share (conf_text.h). */
static void
test_lines(void)
{
	static const struct {
		const char *text;
		const char *want[5]; /* the lines in order, then NULL */
	} texts[] = {
	    {"", {"", NULL}},
	    {"a", {"a", NULL}},
	    {"a\n", {"a", "", NULL}},
	    {"\xef\xbb\xbf# c\r\n\nx y\n", {"# c\r", "", "x y", "", NULL}},
	    {"\xef\xbb\xbf", {"", NULL}},
	    {"a\xef\xbb\xbf\n\xef\xbb\xbf",
	     {"a\xef\xbb\xbf", "\xef\xbb\xbf", NULL}}, /* only a leading one */
	};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		struct conf_lines it;
		conf_lines_open(&it, texts[i].text);
		int n = 0;
		for (char *line; (line = conf_lines_next(&it)) != NULL; n++) {
			CHECK(it.line == n + 1);
			CHECK(n < 4 && texts[i].want[n] != NULL);
			if (n >= 4 || texts[i].want[n] == NULL)
				break;
			CHECK_STR(line, texts[i].want[n]);
			if (line[0] != '\0')
				line[0] = '#'; /* writable: the parsers cut lines in place */
		}
		CHECK(texts[i].want[n] == NULL);
		CHECK(conf_lines_next(&it) == NULL);
		conf_lines_close(&it);
		CHECK(it.copy == NULL && it.next == NULL);
	}
}

int
main(void)
{
	test_lines();
	test_outbound();
	test_mail_auth();
	test_log();
	test_tls_report();
	test_defaults();
	test_table();
	test_all_errors();
	test_fields();
	test_hostport();
	test_base_dir();
	return test_summary("test_config");
}
