/*
 * config: the mailport.conf parser (DESIGN.md "Config file").
 *
 * Pure: the caller reads the file and hands us its text, so this module is
 * unit-tested and fuzzed like the protocol parsers. Each line is split into
 * words on spaces and tabs after '#' comments are cut; the first word names
 * a directive from the table below, which holds its argument counts, its
 * usage and its handler. There is no quoting, so paths cannot hold spaces.
 *
 * Listener hosts are IP literals, stored in inet_ntop's canonical form so
 * that duplicates are found: "*" means every IPv4 address ("0.0.0.0"; write
 * "[::]" for IPv6) and "localhost" means 127.0.0.1. On error the message is
 * "FILE:LINE: what is wrong; how to fix it" and cfg is half-filled: the
 * caller throws it away. The host:port syntax itself is in hostport.c, the
 * line reader and message helpers in conf_text.c.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_text.h"
#include "config_dovecot.h"
#include "hostport.h"
#include "smtp_addr.h"
#include "str.h"

#include "config_int.h"

static int parse_hostname(struct parse_ctx *pc, char **argv, int argc);
static int parse_domain(struct parse_ctx *pc, char **argv, int argc);
static int parse_path(struct parse_ctx *pc, char **argv, int argc);
static int parse_tls(struct parse_ctx *pc, char **argv, int argc);
static int parse_relayhost(struct parse_ctx *pc, char **argv, int argc);
static int parse_resolver(struct parse_ctx *pc, char **argv, int argc);
static int parse_user(struct parse_ctx *pc, char **argv, int argc);
static int parse_dovecot(struct parse_ctx *pc, char **argv, int argc);

#define DURATION(name, field, lo, hi, usage)                                                       \
	{                                                                                          \
		name, 1, 1, parse_duration, usage, true, offsetof(struct config, field), false,    \
		    lo, hi                                                                         \
	}

#define LIMIT(name, field, u64, lo, hi, usage)                                                     \
	{                                                                                          \
		name, 1, 1, parse_limit, usage, true, offsetof(struct config, field), u64, lo, hi  \
	}

static const struct directive directives[] = {
    {"hostname", 1, 1, parse_hostname, "hostname NAME, e.g. \"hostname mx.example.test\"", true, 0,
     false, 0, 0},
    {"domain", 1, MAX_WORDS - 1, parse_domain, "domain NAME..., e.g. \"domain example.test\"",
     false, 0, false, 0, 0},
    {"users", 1, 1, parse_path, "users FILE, e.g. \"users users\"", true,
     offsetof(struct config, users_file), false, 0, 0},
    {"aliases", 1, 1, parse_path, "aliases FILE, e.g. \"aliases aliases\"", true,
     offsetof(struct config, aliases_file), false, 0, 0},
    {"srs-secret", 1, 1, parse_path, "srs-secret FILE, e.g. \"srs-secret srs.secret\"", true,
     offsetof(struct config, srs_secret_file), false, 0, 0},
    {"tls", 2, 2, parse_tls, "tls CERT KEY, e.g. \"tls cert.pem key.pem\"", true, 0, false, 0, 0},
    {"spool", 1, 1, parse_path, "spool DIR, e.g. \"spool spool\"", true,
     offsetof(struct config, spool_dir), false, 0, 0},
    {"mailboxes", 1, 1, parse_path, "mailboxes DIR, e.g. \"mailboxes mail\"", true,
     offsetof(struct config, mailbox_dir), false, 0, 0},
    {"listen", 2, 5, parse_listen,
     "listen HOST:PORT SERVICE [max-connections N] [proxy], e.g. \"listen 127.0.0.1:587 "
     "submission\"",
     false, 0, false, 0, 0},
    {"relayhost", 1, 3, parse_relayhost,
     "relayhost HOST[:PORT] [USER SECRETFILE], e.g. \"relayhost smtp.example.net:587 me "
     "relay.secret\"",
     true, 0, false, 0, 0},
    {"resolver", 1, 1, parse_resolver, "resolver IP[:PORT], e.g. \"resolver 127.0.0.1:5353\"", true,
     0, false, 0, 0},
    {"user", 1, 1, parse_user, "user NAME, e.g. \"user mailport\"", true, 0, false, 0, 0},
    LIMIT("message-size-limit", message_size_limit, true, 1, (uint64_t)1 << 40,
	  "message-size-limit BYTES (K, M or G suffix allowed), e.g. \"message-size-limit 35M\""),
    LIMIT("recipient-limit", recipient_limit, false, 1, 100000,
	  "recipient-limit N, e.g. \"recipient-limit 100\""),
    LIMIT("max-connections", max_connections, false, 1, 1000000,
	  "max-connections N, e.g. \"max-connections 1000\""),
    LIMIT("max-connections-per-ip", max_connections_per_ip, false, 1, 1000000,
	  "max-connections-per-ip N, e.g. \"max-connections-per-ip 50\""),
    LIMIT("command-timeout", command_timeout, false, 1, 86400,
	  "command-timeout SECONDS, e.g. \"command-timeout 300\""),
    LIMIT("data-timeout", data_timeout, false, 1, 86400,
	  "data-timeout SECONDS, e.g. \"data-timeout 180\""),
    LIMIT("min-data-rate", min_data_rate, false, 1, 1000000000,
	  "min-data-rate BYTES-PER-SECOND, e.g. \"min-data-rate 500\""),
    LIMIT("tls-handshake-timeout", tls_handshake_timeout, false, 1, 86400,
	  "tls-handshake-timeout SECONDS, e.g. \"tls-handshake-timeout 60\""),
    LIMIT("ipv6-prefix-length", ipv6_prefix_length, false, 1, 128,
	  "ipv6-prefix-length BITS, e.g. \"ipv6-prefix-length 64\""),
    LIMIT("auth-failure-limit", auth_failure_limit, false, 1, 100,
	  "auth-failure-limit N, e.g. \"auth-failure-limit 3\""),
    LIMIT("error-limit", error_limit, false, 1, 1000, "error-limit N, e.g. \"error-limit 20\""),
    /* 65535 - 1023: any port below 1024 plus the offset is still a port. */
    LIMIT("unprivileged-port-offset", unprivileged_port_offset, false, 0, 64512,
	  "unprivileged-port-offset N, e.g. \"unprivileged-port-offset 10000\""),
    {"tls-policy", 2, 2, parse_tls_policy,
     "tls-policy DOMAIN|default LEVEL, e.g. \"tls-policy example.com dane-only\"", false, 0, false,
     0, 0},
    {"outbound-cafile", 1, 1, parse_path,
     "outbound-cafile FILE, e.g. \"outbound-cafile /etc/ssl/certs/ca-certificates.crt\"", true,
     offsetof(struct config, outbound_cafile), false, 0, 0},
    {"relay-cafile", 1, 1, parse_path, "relay-cafile FILE, e.g. \"relay-cafile relay-ca.pem\"",
     true, offsetof(struct config, relay_cafile), false, 0, 0},
    DURATION("retry-interval", retry_interval, 1, 86400,
	     "retry-interval DURATION (s, m, h or d), e.g. \"retry-interval 5m\""),
    DURATION("retry-max-interval", retry_max_interval, 1, 7 * 86400,
	     "retry-max-interval DURATION, e.g. \"retry-max-interval 1h\""),
    DURATION("queue-lifetime", queue_lifetime, 1, 60 * 86400,
	     "queue-lifetime DURATION, e.g. \"queue-lifetime 5d\""),
    DURATION("outbound-timeout", outbound_timeout, 1, 3600,
	     "outbound-timeout DURATION, e.g. \"outbound-timeout 30s\""),
    LIMIT("outbound-connections", outbound_connections, false, 1, 1000,
	  "outbound-connections N, e.g. \"outbound-connections 20\""),
    LIMIT("outbound-connections-per-destination", outbound_connections_per_dest, false, 1, 1000,
	  "outbound-connections-per-destination N, e.g. "
	  "\"outbound-connections-per-destination 10\""),
    {"dkim", 3, 3, parse_dkim,
     "dkim DOMAIN SELECTOR KEYFILE, e.g. \"dkim example.test s2026 dkim/example.test.s2026.key\"",
     false, 0, false, 0, 0},
    {"dmarc-policy", 1, 1, parse_dmarc_policy,
     "dmarc-policy enforce|report-only, e.g. \"dmarc-policy enforce\"", true, 0, false, 0, 0},
    LIMIT("auth-timeout", auth_timeout, false, 1, 3600,
	  "auth-timeout SECONDS, e.g. \"auth-timeout 20\""),
    {"log", 1, 1, parse_log,
     "log stderr|syslog|FILE, e.g. \"log syslog\" or \"log /var/log/mailport.log\"", true, 0, false,
     0, 0},
    {"metrics", 1, 1, parse_metrics, "metrics IP:PORT, e.g. \"metrics 127.0.0.1:9587\"", true, 0,
     false, 0, 0},
    {"tls-report", 1, 1, parse_tls_report, "tls-report on|off, e.g. \"tls-report off\"", true, 0,
     false, 0, 0},
    {"tls-report-from", 1, 1, parse_tls_report_from,
     "tls-report-from ADDRESS, e.g. \"tls-report-from tlsrpt@example.test\"", true, 0, false, 0, 0},
    /* Dovecot: the values are read in config_dovecot.c. */
    {"deliver", 1, 2, parse_dovecot,
     "deliver maildir|lmtp ENDPOINT, e.g. \"deliver lmtp unix:/run/dovecot/lmtp\"", true, 0, false,
     0, 0},
    {"auth", 2, 2, parse_dovecot,
     "auth dovecot ENDPOINT, e.g. \"auth dovecot /run/dovecot/auth-client\"", true, 0, false, 0, 0},
};

#define NDIRECTIVES (sizeof directives / sizeof directives[0])

const char *
config_directive(size_t i, const char **usage_r)
{
	if (i >= NDIRECTIVES)
		return NULL;
	*usage_r = directives[i].usage;
	return directives[i].name;
}

void
config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->message_size_limit = 36700160; /* 35 MiB, what large providers accept */
	cfg->recipient_limit = 100;	    /* RFC 5321 4.5.3.1.8: at least 100 */
	cfg->max_connections = 1000;
	cfg->max_connections_per_ip = 50;
	cfg->command_timeout = 300; /* RFC 5321 4.5.3.2.7 */
	cfg->data_timeout = 180;    /* RFC 5321 4.5.3.2.5 */
	cfg->min_data_rate = 500;   /* Postfix's smtpd_min_data_rate */
	cfg->tls_handshake_timeout = 60;
	cfg->ipv6_prefix_length = 64; /* RFC 6177: one site, one /64 at least */
	cfg->auth_failure_limit = 3;
	cfg->error_limit = 20;
	cfg->unprivileged_port_offset = 0;
	cfg->retry_interval = 300; /* then 600, 1200, 2400, 3600, 3600 ... */
	cfg->retry_max_interval = 3600;
	cfg->queue_lifetime = 5 * 86400; /* Postfix's maximal_queue_lifetime */
	cfg->outbound_timeout = 30;
	cfg->outbound_connections = 20; /* Postfix: 100 processes, 20 per destination */
	cfg->outbound_connections_per_dest = 10;
	cfg->dmarc_policy = CONFIG_DMARC_ENFORCE;
	cfg->auth_timeout = 20;
}

/* Writes "FILE:LINE: <fmt>" to the caller's err and returns -1. */
int
fail(struct parse_ctx *pc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = conf_vfail(pc->err, pc->err_size, pc->filename, pc->line, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * Leading "../" of name taken off dir, lexically. Right for the folder
 * config_load_file passes, a realpath without symlinks; a relative dir
 * simply keeps what it cannot remove.
 */
static const char *
climb(char *dir, const char *name)
{
	size_t len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		dir[--len] = '\0';
	while (strncmp(name, "../", 3) == 0 || strcmp(name, "..") == 0) {
		char *slash = strrchr(dir, '/');
		if (slash == NULL || strcmp(slash + 1, "..") == 0 || strcmp(slash + 1, ".") == 0)
			break;
		if (strcmp(dir, "/") != 0)
			slash[slash == dir] = '\0'; /* "/etc" climbs to "/", which stays */
		name += name[2] ? 3 : 2;
	}
	return name;
}

/* "dir/name", or name itself when it is absolute or there is no dir. */
int
join_path(struct parse_ctx *pc, char *dst, size_t size, const char *name)
{
	char dir[4096], e[CONF_ESC_SIZE];
	const char *orig = name;
	bool ok;
	while (name[0] == '.' && name[1] == '/')
		name += 2 + strspn(name + 2, "/");
	if (name[0] == '\0')
		name = ".";
	if (name[0] == '/' || pc->base_dir == NULL || pc->base_dir[0] == '\0') {
		ok = str_copy(dst, size, name);
	} else {
		ok = str_copy(dir, sizeof dir, pc->base_dir);
		name = climb(dir, name);
		if (strcmp(name, ".") == 0 || name[0] == '\0')
			ok = ok && str_copy(dst, size, dir);
		else
			ok = ok &&
			     snprintf(dst, size, "%s%s%s", dir,
				      dir[strlen(dir) - 1] == '/' ? "" : "/", name) < (int)size;
	}
	if (!ok)
		return fail(pc,
			    "the path \"%s\" is too long (more than %zu bytes with the config's "
			    "folder); use a shorter path",
			    conf_esc(e, orig), size - 1);
	return 0;
}

static int
parse_hostname(struct parse_ctx *pc, char **argv, int argc)
{
	char e[CONF_ESC_SIZE];
	(void)argc;
	if (!conf_is_hostname(argv[1]))
		return fail(pc,
			    "\"%s\" is not a valid host name; use letters, digits, hyphens and "
			    "dots (an internationalised name in its xn-- form), e.g. "
			    "\"hostname mx.example.test\"",
			    conf_esc(e, argv[1]));
	str_copy(pc->cfg->hostname, sizeof pc->cfg->hostname, argv[1]);
	str_lower(pc->cfg->hostname);
	return 0;
}

static int
parse_domain(struct parse_ctx *pc, char **argv, int argc)
{
	struct config *cfg = pc->cfg;
	char e[CONF_ESC_SIZE];
	for (int i = 1; i < argc; i++) {
		if (!conf_is_hostname(argv[i]))
			return fail(pc,
				    "\"%s\" is not a valid domain name; use letters, digits, "
				    "hyphens and dots (an internationalised name in its xn-- "
				    "form), e.g. \"domain example.test\"",
				    conf_esc(e, argv[i]));
		if (config_is_local_domain(cfg, argv[i]))
			return fail(pc,
				    "the domain \"%s\" is listed twice; remove one of the lines",
				    conf_esc(e, argv[i]));
		if (cfg->ndomains == CONFIG_MAX_DOMAINS)
			return fail(pc,
				    "too many domains (at most %d); serve the others from a "
				    "second mailport, or ask for a larger CONFIG_MAX_DOMAINS",
				    CONFIG_MAX_DOMAINS);
		str_copy(cfg->domains[cfg->ndomains], sizeof cfg->domains[0], argv[i]);
		str_lower(cfg->domains[cfg->ndomains]);
		cfg->ndomains++;
	}
	return 0;
}

/* users, spool, mailboxes: one path into the field the table names. */
static int
parse_path(struct parse_ctx *pc, char **argv, int argc)
{
	(void)argc;
	return join_path(pc, (char *)pc->cfg + pc->dir->offset, 4096, argv[1]);
}

static int
parse_tls(struct parse_ctx *pc, char **argv, int argc)
{
	struct config *cfg = pc->cfg;
	(void)argc;
	/* CERT and KEY may name one file holding both: OpenSSL reads each part. */
	if (join_path(pc, cfg->tls_cert, sizeof cfg->tls_cert, argv[1]) < 0 ||
	    join_path(pc, cfg->tls_key, sizeof cfg->tls_key, argv[2]) < 0)
		return -1;
	return 0;
}

/*
 * "HOST[:PORT]" for relayhost (a name or an IP) and resolver (an IP):
 * parsed here once into its typed value, so delivery never splits text.
 */
int
parse_host_port(struct parse_ctx *pc, const char *word, bool names_ok, struct config_hostport *dst)
{
	char e[CONF_ESC_SIZE];
	bool bad_port;
	const char *example = names_ok ? "smtp.example.net:587" : "127.0.0.1:53";
	if (strlen(word) > 260)
		return fail(pc, "\"%s\" is too long; a host name has at most 253 characters",
			    conf_esc(e, word));
	if (config_hostport_parse(word, names_ok, dst, &bad_port) == 0)
		return 0;
	if (bad_port)
		return fail(pc, "bad port in \"%s\"; use a number from 1 to 65535, e.g. %s",
			    conf_esc(e, word), example);
	return fail(pc,
		    "cannot read \"%s\"; write %s[:PORT] with an IPv6 address in "
		    "brackets, e.g. %s",
		    conf_esc(e, word), names_ok ? "HOST" : "IP", example);
}

static int
parse_relayhost(struct parse_ctx *pc, char **argv, int argc)
{
	struct config *cfg = pc->cfg;
	char e[CONF_ESC_SIZE];
	if (argc == 3)
		return fail(pc, "relayhost has a user but no secret file; write \"relayhost "
				"HOST[:PORT] USER SECRETFILE\" with the password in SECRETFILE");
	if (parse_host_port(pc, argv[1], true, &cfg->relayhost) < 0)
		return -1;
	if (argc == 4) {
		if (!str_copy(cfg->relay_user, sizeof cfg->relay_user, argv[2]))
			return fail(pc, "the relay user \"%s\" is too long (at most %zu bytes)",
				    conf_esc(e, argv[2]), sizeof cfg->relay_user - 1);
		return join_path(pc, cfg->relay_secret_file, sizeof cfg->relay_secret_file,
				 argv[3]);
	}
	return 0;
}

static int
parse_resolver(struct parse_ctx *pc, char **argv, int argc)
{
	(void)argc;
	return parse_host_port(pc, argv[1], false, &pc->cfg->resolver);
}

/* A POSIX portable user name: letters, digits, '.', '_', '-', not leading '-'. */
static int
parse_user(struct parse_ctx *pc, char **argv, int argc)
{
	const char *s = argv[1];
	char e[CONF_ESC_SIZE];
	bool ok = s[0] != '-' && strlen(s) < sizeof pc->cfg->run_user;
	for (const char *q = s; ok && *q; q++)
		ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		     (*q >= '0' && *q <= '9') || *q == '.' || *q == '_' || *q == '-';
	(void)argc;
	if (!ok)
		return fail(pc,
			    "\"%s\" is not a user name; give the name of a system account "
			    "(letters, digits, '.', '_', '-'), e.g. \"user mailport\"",
			    conf_esc(e, s));
	str_copy(pc->cfg->run_user, sizeof pc->cfg->run_user, s);
	return 0;
}

static int
unknown_directive(struct parse_ctx *pc, const char *word)
{
	char e[CONF_ESC_SIZE];
	const char *best = NULL;
	size_t best_d = 3; /* suggest only within an edit distance of 2 */
	for (size_t i = 0; i < NDIRECTIVES; i++) {
		size_t d = conf_edit_distance(word, directives[i].name);
		if (d < best_d)
			best = directives[i].name, best_d = d;
	}
	if (best != NULL)
		return fail(pc, "unknown directive \"%s\"; did you mean \"%s\"?", conf_esc(e, word),
			    best);
	char names[512] = "";
	for (size_t i = 0; i < NDIRECTIVES; i++) {
		size_t len = strlen(names);
		snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
			 directives[i].name);
	}
	return fail(pc, "unknown directive \"%s\"; use one of: %s", conf_esc(e, word), names);
}

/* Cut the comment, split on blanks; argc is MAX_WORDS + 1 when too many. */
static int
split_words(char *line, char **argv)
{
	int argc = 0;
	char *hash = strchr(line, '#');
	if (hash != NULL)
		*hash = '\0';
	for (char *p = line;;) {
		p += strspn(p, " \t\r\f\v");
		if (*p == '\0' || argc > MAX_WORDS)
			break;
		argv[argc++] = p;
		p += strcspn(p, " \t\r\f\v");
		if (*p != '\0')
			*p++ = '\0';
	}
	return argc;
}

static int
parse_line(struct parse_ctx *pc, char *line)
{
	char *argv[MAX_WORDS + 2];
	int argc = split_words(line, argv);
	if (argc == 0)
		return 0;
	if (strchr(argv[0], '=') != NULL || (argc > 1 && strcmp(argv[1], "=") == 0))
		return fail(pc, "mailport.conf has no '='; write the directive and its value "
				"separated by blanks, e.g. \"hostname mx.example.test\"");
	size_t i = 0;
	while (i < NDIRECTIVES && !str_eq_ci(argv[0], directives[i].name))
		i++;
	if (i == NDIRECTIVES)
		return unknown_directive(pc, argv[0]);
	const struct directive *d = pc->dir = &directives[i];
	int nargs = argc - 1;
	if (nargs < d->min_args || nargs > d->max_args) {
		int want = nargs < d->min_args ? d->min_args : d->max_args;
		const char *bound = d->min_args == d->max_args ? ""
				    : nargs < d->min_args      ? "at least "
							       : "at most ";
		char got[32];
		snprintf(got, sizeof got, "%d%s", nargs, argc > MAX_WORDS ? " or more" : "");
		return fail(pc, "%s takes %s%d argument%s, not %s; write it as: %s", d->name, bound,
			    want, want == 1 ? "" : "s", got, d->usage);
	}
	if (d->once && pc->seen[i] != 0)
		return fail(pc, "%s is already set on line %d; keep one of the two lines", d->name,
			    pc->seen[i]);
	pc->seen[i] = pc->line;
	return d->parse(pc, argv, argc);
}

int
config_parse(struct config *cfg, const char *text, const char *filename, const char *base_dir,
	     char *err, size_t err_size)
{
	struct parse_ctx pc = {
	    .cfg = cfg,
	    .filename = filename ? filename : "mailport.conf",
	    .base_dir = base_dir,
	    .err = err,
	    .err_size = err_size,
	};
	_Static_assert(NDIRECTIVES <= sizeof pc.seen / sizeof pc.seen[0], "seen[] too small");
	/* Every bad line is reported, not only the first: one line of err each. */
	char line_err[1024];
	pc.err = line_err;
	pc.err_size = sizeof line_err;
	size_t used = 0, failed = 0, shown = 0;
	if (err != NULL && err_size > 0)
		err[0] = '\0';
	struct conf_lines lines;
	conf_lines_open(&lines, text);
	for (char *line; (line = conf_lines_next(&lines)) != NULL;) {
		pc.line = lines.line;
		line_err[0] = '\0';
		if (parse_line(&pc, line) < 0) {
			failed++;
			shown += conf_append_line(err, err_size, &used, line_err);
		}
	}
	conf_lines_close(&lines);
	if (failed > shown && err != NULL && err_size > 0) {
		char more[96];
		snprintf(more, sizeof more, "%s: and %zu more lines with problems", pc.filename,
			 failed - shown);
		conf_append_line(err, err_size, &used, more);
	}
	return failed ? -1 : 0;
}

int
config_validate(const struct config *cfg, const char *filename, char *err, size_t err_size)
{
	const char *what = NULL;
	if (filename == NULL)
		filename = "mailport.conf";
	if (cfg->nlisteners == 0)
		what = "no listen line; add e.g. \"listen 127.0.0.1:587 submission\"";
	else if (cfg->ndomains == 0)
		what = "no domain line, so no mail would be local; add the domain you receive mail "
		       "for, e.g. \"domain example.test\"";
	else if (cfg->spool_dir[0] == '\0')
		what = "no spool line, so there is nowhere to queue mail; add e.g. \"spool spool\"";
	else if (cfg->mailbox_dir[0] == '\0' && cfg->deliver == CONFIG_DELIVER_MAILDIR)
		what = "no mailboxes line, so there is nowhere to deliver local mail; add e.g. "
		       "\"mailboxes mail\"";
	if (what == NULL)
		return 0;
	if (err != NULL && err_size > 0)
		snprintf(err, err_size, "%s: %s", filename, what);
	return -1;
}

/* "deliver" and "auth" (config_dovecot.c); only the FILE:LINE is added here. */
static int
parse_dovecot(struct parse_ctx *pc, char **argv, int argc)
{
	char msg[512];
	int rc = str_eq_ci(argv[0], "deliver")
		     ? config_parse_deliver(pc->cfg, argv, argc, msg, sizeof msg)
		     : config_parse_auth(pc->cfg, argv, argc, msg, sizeof msg);
	return rc < 0 ? fail(pc, "%s", msg) : 0;
}
