/*
 * mailport config check [-c FILE]: validate a config the way serve would
 * read it, without binding a port or touching the queue.
 *
 * Beyond the parser's own checks it loads the users file, loads the TLS
 * certificate and key into a real OpenSSL context (so a key that does not
 * match its certificate is caught now, not at the first STARTTLS), and
 * looks up the "user" account. DKIM keys are loaded as serve loads them
 * and, when DNS answers, compared with the record published for each: a
 * different key there is an error (every signature would fail), a record
 * not published yet a note with the record to publish. Findings that will not stop serve (a users
 * file or certificate that does not exist yet) are notes on stderr; stdout
 * gets one line, "FILE: ok (N listeners, M domains)", for scripts.
 */
#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "auth_dns.h"
#include "client_conn.h"
#include "cmd.h"
#include "config_aliases.h"
#include "config_load.h"
#include "dkim_keys.h"
#include "tls.h"
#include "users.h"

#define DEFAULT_CONFIG "/etc/mailport/mailport.conf"

static void
config_usage(FILE *out)
{
	fprintf(out,
		"usage: mailport config check [-c FILE]\n"
		"\n"
		"Checks a config file the way \"mailport serve\" reads it: every line, the\n"
		"users file, the aliases file (each line's targets, loops) and SRS secret,\n"
		"the TLS certificate and key, the \"user\" account, the DKIM\n"
		"keys (and, when DNS answers, that each matches its published record). Prints\n"
		"\"FILE: ok (N listeners, M domains)\", or the problem as FILE:LINE: what; fix.\n"
		"\n"
		"  -c, --config FILE  the config file (default " DEFAULT_CONFIG ")\n"
		"  -h, --help         show this help\n"
		"\n"
		"exit status: 0 ok, 64 bad usage, 78 the config has a problem\n");
}

/* The users file: missing is a note (no AUTH yet), unreadable or bad an error. */
static int
check_users(const struct config *cfg, const char *path)
{
	char err[1024];
	bool dovecot = cfg->auth_dovecot && cfg->deliver == CONFIG_DELIVER_LMTP;
	if (cfg->users_file[0] == '\0' && dovecot)
		return 0; /* Dovecot answers for the logins and the mailboxes */
	if (cfg->users_file[0] == '\0') {
		fprintf(stderr,
			"%s: note: no users line, so no one can log in (AUTH) and no "
			"local mailbox exists; add \"users users\" and fill it with "
			"mailport passwd --user\n",
			path);
		return 0;
	}
	if (access(cfg->users_file, F_OK) != 0 && errno == ENOENT) {
		fprintf(stderr,
			"%s: note: the users file %s does not exist yet, so no one can log "
			"in; create it: mailport passwd --user you@%s >> %s\n",
			path, cfg->users_file, cfg->domains[0], cfg->users_file);
		return 0;
	}
	struct users *u = users_load(cfg->users_file, err, sizeof err);
	if (u == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	users_free(&u);
	return 0;
}

/*
 * deliver lmtp / auth dovecot: a note when nothing answers there now (the
 * config is right either way; Dovecot may simply not be started yet).
 */
static void
check_dovecot_one(const struct config_endpoint *ep, const char *what, const char *path)
{
	char where[160];
	config_endpoint_format(ep, where, sizeof where);
	struct client_conn_opts opts = {
	    .host = ep->unix_path[0] ? "localhost" : ep->hp.host,
	    .port = ep->hp.port,
	    .unix_path = ep->unix_path[0] ? ep->unix_path : NULL,
	    .timeout_ms = 3000,
	};
	struct conn_error err;
	struct client_conn *c = client_conn_open(&opts, &err);
	if (c == NULL)
		fprintf(stderr,
			"%s: note: nothing answers at %s (%s) now: %s; start Dovecot, and check "
			"that the socket is where this line says and mailport's user may use it\n",
			path, where, what, err.detail);
	client_conn_close(&c);
}

static void
check_dovecot(const struct config *cfg, const char *path)
{
	if (cfg->deliver == CONFIG_DELIVER_LMTP)
		check_dovecot_one(&cfg->lmtp, "deliver lmtp", path);
	if (cfg->auth_dovecot)
		check_dovecot_one(&cfg->dovecot_auth, "auth dovecot", path);
}

/* Both TLS files load and match, or neither exists (serve makes them). */
static int
check_tls(const struct config *cfg, const char *path)
{
	char err[1024];
	struct stat st;
	if (cfg->tls_cert[0] == '\0') {
		fprintf(stderr,
			"%s: note: no tls line; serve makes a self-signed certificate on "
			"first start (clients will not trust it: use a real one in production)\n",
			path);
		return 0;
	}
	bool have_cert = stat(cfg->tls_cert, &st) == 0 || errno != ENOENT;
	bool have_key = stat(cfg->tls_key, &st) == 0 || errno != ENOENT;
	if (!have_cert && !have_key) {
		fprintf(stderr,
			"%s: note: %s and %s do not exist yet; serve makes a self-signed "
			"pair there on first start\n",
			path, cfg->tls_cert, cfg->tls_key);
		return 0;
	}
	if (have_cert != have_key) {
		fprintf(stderr,
			"%s: the TLS %s %s exists but the %s %s does not; fix the tls "
			"line, or delete %s to have serve make a new self-signed pair\n",
			path, have_cert ? "certificate" : "key",
			have_cert ? cfg->tls_cert : cfg->tls_key, have_cert ? "key" : "certificate",
			have_cert ? cfg->tls_key : cfg->tls_cert,
			have_cert ? cfg->tls_cert : cfg->tls_key);
		return -1;
	}
	SSL_CTX *ctx = tls_server_ctx_new(cfg->tls_cert, cfg->tls_key, NULL, err, sizeof err);
	if (ctx == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	SSL_CTX_free(ctx);
	return 0;
}

/* The account named by "user", and what happens to low ports without root. */
static int
check_process(const struct config *cfg, const char *path)
{
	if (cfg->run_user[0] != '\0' && getpwnam(cfg->run_user) == NULL) {
		fprintf(stderr,
			"%s: there is no system user \"%s\" (the user line); create it "
			"(useradd --system %s) or remove the line\n",
			path, cfg->run_user, cfg->run_user);
		return -1;
	}
	if (geteuid() != 0 && cfg->unprivileged_port_offset > 0) {
		for (size_t i = 0; i < cfg->nlisteners; i++)
			if (cfg->listeners[i].port < 1024)
				fprintf(stderr,
					"%s: note: not root, so if port %u (line %d) cannot be "
					"bound, serve uses %u\n",
					path, cfg->listeners[i].port, cfg->listeners[i].line,
					cfg->listeners[i].port + cfg->unprivileged_port_offset);
	}
	if (cfg->relay_secret_file[0] != '\0' && access(cfg->relay_secret_file, F_OK) != 0) {
		fprintf(stderr,
			"%s: the relayhost secret file %s: %s; create it with the relay "
			"password on one line (mode 0600)\n",
			path, cfg->relay_secret_file, strerror(errno));
		return -1;
	}
	return 0;
}

/* One loaded key against its DNS record: 0, or -1 when it does not match. */
static int
check_dkim_dns(const struct dkim_key *k, const struct ma_dns *dns, const char *path)
{
	struct dkim_dns_check c;
	switch (dkim_key_check_dns(k, dns, &c)) {
	case DKIM_DNS_OK:
		return 0;
	case DKIM_DNS_MISSING:
		fprintf(stderr,
			"%s: note: dkim %s %s: %s, so receivers cannot verify the signatures "
			"yet; publish a TXT record at %s with the value\n  %s\n",
			path, k->domain, k->selector, c.detail, c.name, c.quoted);
		return 0;
	case DKIM_DNS_ERROR:
		fprintf(stderr,
			"%s: note: dkim %s %s: could not check the DNS record (%s); run the "
			"check again when DNS answers\n",
			path, k->domain, k->selector, c.detail);
		return 0;
	case DKIM_DNS_INVALID:
	case DKIM_DNS_MISMATCH:
		break;
	}
	fprintf(stderr,
		"%s: dkim %s %s: the DNS record does not match the key (%s): every signature "
		"would fail; replace the TXT record at %s with\n  %s\n"
		"(or point the dkim line at the key that record belongs to)\n",
		path, k->domain, k->selector, c.detail, c.name, c.quoted);
	return -1;
}

/* Every dkim line's key loads (as serve would) and matches its record. */
static int
check_dkim(const struct config *cfg, const char *path)
{
	char err[1024];
	int rc = 0;
	struct dkim_key keys[CONFIG_MAX_DKIM];
	bool loaded[CONFIG_MAX_DKIM] = {false};
	for (size_t i = 0; i < cfg->ndkim; i++) {
		if (dkim_key_load(&cfg->dkim[i], &keys[i], err, sizeof err) < 0) {
			fprintf(stderr, "%s: %s\n", path, err);
			rc = -1;
		} else {
			loaded[i] = true;
		}
	}
	char resolver[300] = "";
	if (cfg->resolver.host[0] != '\0')
		config_hostport_format(&cfg->resolver, resolver, sizeof resolver);
	struct auth_dns *a = NULL;
	if (cfg->ndkim > 0)
		a = auth_dns_new(resolver[0] ? resolver : NULL, 2000, err, sizeof err);
	if (cfg->ndkim > 0 && a == NULL)
		fprintf(stderr, "%s: note: the DKIM records were not checked: %s\n", path, err);
	if (a != NULL)
		auth_dns_start(a, 5000);
	struct ma_dns dns = a ? auth_dns_iface(a) : (struct ma_dns){0};
	for (size_t i = 0; i < cfg->ndkim; i++) {
		if (!loaded[i])
			continue;
		if (a != NULL && check_dkim_dns(&keys[i], &dns, path) < 0)
			rc = -1;
		dkim_key_release(&keys[i]);
	}
	auth_dns_free(&a);
	return rc;
}

/*
 * `mailport config directives` (not in the usage: a listing for tools):
 * every directive the parser knows, "NAME<TAB>USAGE" a line, from the
 * parser's own table, so the man page's test compares mailport.conf(5)
 * with what this binary really reads.
 */
static int
list_directives(void)
{
	const char *name, *usage;
	for (size_t i = 0; (name = config_directive(i, &usage)) != NULL; i++)
		printf("%s\t%s\n", name, usage);
	return 0;
}

/* Options after "check"; -1 to go on, else the exit code. */
static int
parse_args(int argc, char **argv, const char **path_r)
{
	if (argc == 2 && strcmp(argv[1], "directives") == 0)
		return list_directives();
	if (argc < 2 || strcmp(argv[1], "check") != 0) {
		bool help =
		    argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0);
		if (!help)
			fprintf(stderr, "mailport config: %s; the only subcommand is \"check\"\n\n",
				argc < 2 ? "missing subcommand" : "unknown subcommand");
		config_usage(help ? stdout : stderr);
		return help ? 0 : EX_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			config_usage(stdout);
			return 0;
		} else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc) {
			*path_r = argv[++i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			*path_r = a + 9;
		} else {
			fprintf(stderr, "mailport config check: %s \"%s\"\n\n",
				strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0
				    ? "missing FILE after"
				    : "unknown option",
				a);
			config_usage(stderr);
			return EX_USAGE;
		}
	}
	return -1;
}

int
cmd_config(int argc, char **argv)
{
	static struct config cfg; /* about 90 KB: not on the stack */
	const char *path = DEFAULT_CONFIG;
	char err[8192]; /* every bad line, one per line */
	int rc = parse_args(argc, argv, &path);
	if (rc >= 0)
		return rc;
	if (config_load_file(path, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return EX_CONFIG;
	}
	if (check_users(&cfg, path) != 0 || check_tls(&cfg, path) != 0 ||
	    check_process(&cfg, path) != 0 || check_dkim(&cfg, path) != 0 ||
	    config_check_aliases(&cfg, path) != 0)
		return EX_CONFIG;
	check_dovecot(&cfg, path);
	printf("%s: ok (%zu listener%s, %zu domain%s)\n", path, cfg.nlisteners,
	       cfg.nlisteners == 1 ? "" : "s", cfg.ndomains, cfg.ndomains == 1 ? "" : "s");
	return 0;
}
