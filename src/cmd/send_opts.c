/*
 * send_opts: options, accounts and secrets for send and sendmail (see the
 * header). Order of precedence: the command line, then the account
 * (--account NAME, else the file's default when no --server/--provider is
 * given), then the provider's presets.
 */
#include "send_opts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "secret.h"
#include "str.h"
#include "xmalloc.h"

#define DEFAULT_TIMEOUT 10

/* What the command line said before accounts and defaults are applied. */
struct send_args {
	const char *server, *provider, *account, *tls, *user, *from;
	enum secret_source pw_src, token_src;
	const char *pw_spec, *token_spec;
	unsigned timeout_s;
};

static void
send_usage(FILE *out, bool sendmail)
{
	if (sendmail) {
		fprintf(out,
			"usage: mailport sendmail [-t] [-i] [-f FROM] [-F NAME] [SEND OPTIONS] "
			"[RCPT...]\n"
			"  (also when the program is called as 'sendmail')\n\n"
			"Reads a message on stdin and submits it like sendmail: -t takes the\n"
			"recipients from To/Cc/Bcc (Bcc is removed), -i (or -oi) does not end the\n"
			"message at a line with a single dot. The server and login come from the\n"
			"default account of ~/.config/mailport/send.conf (or "
			"/etc/mailport/send.conf),\n"
			"or from the send options below. Silent when all went well.\n\n");
	}
	fprintf(
	    out,
	    "usage: mailport send [--server HOST[:PORT] | --provider NAME | --account NAME]\n"
	    "                     [--tls starttls|implicit|none] [--user U (--password-file F |\n"
	    "                     --password-env VAR | --password-cmd CMD)] [--oauth2-token-file F "
	    "|\n"
	    "                     --oauth2-token-cmd CMD] --from ADDR --to ADDR[,ADDR...] [--cc "
	    "...]\n"
	    "                     [--bcc ...] [--subject S] [--body TEXT] [--attach FILE]...\n"
	    "                     [--cafile F] [--insecure] [--requiretls] [--timeout SECONDS] "
	    "[-v]\n"
	    "                     [FILE|-]\n\n"
	    "  --server HOST:PORT  that door only (465: implicit TLS, others STARTTLS)\n"
	    "  --server HOST       tries 587 (STARTTLS), 465 (implicit TLS), 2525 (STARTTLS)\n"
	    "  --provider NAME     a provider's host and doors; --provider list shows them\n"
	    "  --account NAME      an account of ~/.config/mailport/send.conf\n"
	    "  --tls MODE          starttls or implicit; none sends in the clear (localhost only)\n"
	    "  --password-*        where the password is; never on the command line\n"
	    "  --oauth2-token-*    an OAuth2 access token (XOAUTH2/OAUTHBEARER), e.g. Outlook\n"
	    "  FILE or -           send this message as it is (Date and Message-ID added if\n"
	    "                      missing; --to/--cc are then the envelope); with --subject,\n"
	    "                      --body or --attach the message is built from the options\n"
	    "                      and FILE or - is its text (as mail -s S -A F reads it)\n"
	    "  --cafile F          trust this CA (a self-signed test server's certificate)\n"
	    "  --insecure          do not check the certificate (warned; tests only)\n"
	    "  --requiretls        RFC 8689: every server on the way must use verified TLS,\n"
	    "                      else the message comes back (the server must offer it)\n"
	    "  --timeout S         bound on each connection attempt and reply (default 10)\n"
	    "  -v                  print the SMTP dialogue (secrets hidden)\n\n"
	    "Exit codes (sysexits): 0 sent, 64 usage, 65 bad message, 67 unknown recipient,\n"
	    "68 unknown host, 69 unavailable (also an untrusted certificate), 75 try later,\n"
	    "76 protocol, 77 refused login or relay, 78 config.\n");
}

static void
provider_list(void)
{
	printf("%-16s %-32s %-34s %s\n", "NAME", "HOST", "DOORS", "LOGIN");
	for (size_t i = 0; i < provider_count(); i++) {
		const struct provider *p = provider_at(i);
		struct buf ports;
		buf_init(&ports, 0);
		provider_ports_append(p, &ports);
		printf("%-16s %-32s %-34s %s\n", p->name, p->host, ports.data ? ports.data : "",
		       provider_auth_name(p->auth));
		buf_free(&ports);
	}
	printf("\nNotes:\n");
	for (size_t i = 0; i < provider_count(); i++)
		if (provider_at(i)->note &&
		    (i == 0 || provider_at(i)->note != provider_at(i - 1)->note))
			printf("  %-14s %s\n", provider_at(i)->name, provider_at(i)->note);
}

/* "HOST", "HOST:PORT", "[V6]:PORT". false on a bad port. */
static bool
split_server(const char *s, char *host, size_t size, unsigned *port)
{
	*port = 0;
	const char *colon = strrchr(s, ':');
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL)
			return false;
		str_copy_n(host, size, s + 1, (size_t)(end - s - 1));
		colon = end[1] == ':' ? end + 1 : NULL;
	} else if (colon && strchr(s, ':') == colon) {
		str_copy_n(host, size, s, (size_t)(colon - s));
	} else {
		str_copy(host, size, s); /* a bare IPv6 address, or a name */
		colon = NULL;
	}
	if (colon) {
		char *end;
		unsigned long p = strtoul(colon + 1, &end, 10);
		if (*end || p == 0 || p > 65535)
			return false;
		*port = (unsigned)p;
	}
	return host[0] != '\0';
}

static bool
is_loopback(const char *host)
{
	struct in_addr a4;
	if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
		return true;
	return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

static bool
parse_tls(const char *s, enum client_tls *tls)
{
	if (strcmp(s, "starttls") == 0)
		*tls = CLIENT_TLS_STARTTLS;
	else if (strcmp(s, "implicit") == 0 || strcmp(s, "ssl") == 0 || strcmp(s, "tls") == 0)
		*tls = CLIENT_TLS_IMPLICIT;
	else if (strcmp(s, "none") == 0)
		*tls = CLIENT_TLS_NONE;
	else
		return false;
	return true;
}

static int
load_accounts(struct send_opts *so, const char *wanted)
{
	const char *home = getenv("HOME");
	char path[4096], base[4096], err[1024];
	const char *env = getenv("MAILPORT_SEND_CONF");
	if (env)
		str_copy(path, sizeof path, env);
	else
		snprintf(path, sizeof path, "%s/.config/mailport/send.conf", home ? home : "");
	if (!env && access(path, R_OK) != 0)
		str_copy(path, sizeof path, "/etc/mailport/send.conf");
	struct buf text;
	buf_init(&text, 1 << 20);
	if (read_all(path, &text) < 0) {
		buf_free(&text);
		if (wanted == NULL)
			return 0; /* no file and none asked for: fine */
		fprintf(stderr, "mailport: --account %s: cannot read %s: %s\n", wanted, path,
			strerror(errno));
		return EX_CONFIG;
	}
	str_copy(base, sizeof base, path);
	char *slash = strrchr(base, '/');
	if (slash)
		*slash = '\0';
	int rc = account_parse(text.data ? text.data : "", path, base, home ? home : "",
			       &so->accounts, err, sizeof err);
	explicit_bzero(text.data, text.len);
	buf_free(&text);
	if (rc < 0) {
		fprintf(stderr, "mailport: %s\n", err);
		return EX_CONFIG;
	}
	return 0;
}

static enum secret_source
account_secret(enum account_source s)
{
	return s == ACCOUNT_SRC_FILE  ? SECRET_FILE
	       : s == ACCOUNT_SRC_CMD ? SECRET_CMD
	       : s == ACCOUNT_SRC_ENV ? SECRET_ENV
				      : SECRET_NONE;
}

/* Fill the gaps the command line left from an account. */
static void
apply_account(struct send_args *a, const struct account *acc, struct send_opts *so, char *server,
	      size_t size, enum client_tls *tls, bool *has_tls)
{
	if (!a->server && !a->provider) {
		if (acc->host && acc->port)
			snprintf(server, size, strchr(acc->host, ':') ? "[%s]:%u" : "%s:%u",
				 acc->host, acc->port);
		else if (acc->host)
			str_copy(server, size, acc->host);
		a->server = server[0] ? server : NULL;
		so->provider = acc->provider;
	}
	if (!*has_tls && acc->has_tls) {
		*tls = acc->tls;
		*has_tls = true;
	}
	if (!a->user)
		a->user = account_user(acc);
	if (a->pw_src == SECRET_NONE && acc->password_src != ACCOUNT_SRC_NONE) {
		a->pw_src = account_secret(acc->password_src);
		a->pw_spec = acc->password;
	}
	if (a->token_src == SECRET_NONE && acc->oauth2_src != ACCOUNT_SRC_NONE) {
		a->token_src = account_secret(acc->oauth2_src);
		a->token_spec = acc->oauth2_token;
	}
	if (!a->from)
		a->from = acc->from;
	if (!so->cafile)
		so->cafile = acc->cafile;
	if (!a->timeout_s)
		a->timeout_s = acc->timeout;
}

/* The doors to try, from --server, the provider, or the defaults. */
static int
settle_doors(struct send_opts *so, const struct send_args *a, enum client_tls tls, bool has_tls)
{
	unsigned port = 0;
	if (a->server) {
		if (!split_server(a->server, so->host, sizeof so->host, &port)) {
			fprintf(stderr,
				"mailport: --server %s: use HOST, HOST:PORT or [IPv6]:PORT\n",
				a->server);
			return EX_USAGE;
		}
	} else if (so->provider) {
		str_copy(so->host, sizeof so->host, so->provider->host);
	} else {
		fprintf(stderr,
			"mailport: no server given\n  fix: add --server HOST (or HOST:PORT), "
			"or --provider NAME (see --provider list), or create an account in "
			"~/.config/mailport/send.conf\n");
		return EX_USAGE;
	}
	if (port) {
		so->doors[0].port = (unsigned short)port;
		so->doors[0].tls = has_tls	 ? tls
				   : port == 465 ? CLIENT_TLS_IMPLICIT
						 : CLIENT_TLS_STARTTLS;
		so->ndoors = 1;
	} else if (so->provider && !a->server) {
		so->ndoors = provider_nports(so->provider);
		for (size_t i = 0; i < so->ndoors; i++) {
			so->doors[i].port = so->provider->ports[i].port;
			so->doors[i].tls = has_tls ? tls : so->provider->ports[i].tls;
		}
	} else {
		so->ndoors = submit_default_doors(so->doors);
		for (size_t i = 0; has_tls && i < so->ndoors; i++)
			so->doors[i].tls = tls;
	}
	if (!so->provider)
		so->provider = provider_by_host(so->host);
	return -1;
}

/* Secrets and the login, with the never-in-the-clear rule. */
static int
settle_login(struct send_opts *so, const struct send_args *a)
{
	char err[512];
	if (a->user)
		str_copy(so->user, sizeof so->user, a->user);
	if (secret_get(a->pw_src, a->pw_spec, so->password, sizeof so->password, err, sizeof err) <
		0 ||
	    secret_get(a->token_src, a->token_spec, so->token, sizeof so->token, err, sizeof err) <
		0) {
		fprintf(stderr, "mailport: %s\n", err);
		return EX_CONFIG;
	}
	bool secret = so->password[0] || so->token[0];
	if (so->user[0] && !secret) {
		fprintf(stderr,
			"mailport: --user %s has no password\n  fix: add --password-file F, "
			"--password-env VAR or --password-cmd CMD (or --oauth2-token-cmd)\n",
			so->user);
		return EX_USAGE;
	}
	if (secret && !so->user[0]) {
		fprintf(stderr, "mailport: a password was given without --user\n");
		return EX_USAGE;
	}
	for (size_t i = 0; secret && i < so->ndoors; i++)
		if (so->doors[i].tls == CLIENT_TLS_NONE && !is_loopback(so->host)) {
			fprintf(stderr,
				"mailport: refusing to send a password in the clear to %s\n"
				"  fix: use --tls starttls or --tls implicit (--tls none is "
				"for a server on this machine)\n",
				so->host);
			return EX_USAGE;
		}
	return -1;
}

static int
settle(struct send_opts *so, struct send_args *a, enum client_tls tls, bool has_tls)
{
	char server[300] = "";
	if (a->account || (!a->server && !a->provider)) {
		int rc = load_accounts(so, a->account);
		if (rc)
			return rc;
		const struct account *acc = NULL;
		if (so->accounts)
			acc = a->account ? account_find(so->accounts, a->account)
					 : account_default(so->accounts);
		if (a->account && acc == NULL) {
			fprintf(stderr, "mailport: no account named %s in send.conf\n", a->account);
			return EX_CONFIG;
		}
		if (acc)
			apply_account(a, acc, so, server, sizeof server, &tls, &has_tls);
	}
	so->timeout_s = a->timeout_s ? a->timeout_s : DEFAULT_TIMEOUT;
	int rc = settle_doors(so, a, tls, has_tls);
	if (rc >= 0)
		return rc;
	if (so->provider && !a->user && so->provider->user)
		a->user = so->provider->user;
	rc = settle_login(so, a);
	if (rc >= 0)
		return rc;
	if (a->from)
		str_copy(so->envelope_from, sizeof so->envelope_from, a->from);
	so->msg.from = a->from;
	if (gethostname(so->ehlo_name, sizeof so->ehlo_name - 1) < 0 || !so->ehlo_name[0])
		str_copy(so->ehlo_name, sizeof so->ehlo_name, "localhost");
	return -1;
}

/* --to a,b --to c: each value is an address list, kept as written. */
static int
add_list(const char **list, size_t *n, const char *value, const char *what)
{
	if (*n >= SEND_MAX_LIST) {
		fprintf(stderr, "mailport: too many %s options (at most %d)\n", what,
			SEND_MAX_LIST);
		return EX_USAGE;
	}
	list[(*n)++] = value;
	return -1;
}

enum {
	O_SERVER = 256,
	O_PROVIDER,
	O_TLS,
	O_USER,
	O_PWFILE,
	O_PWENV,
	O_PWCMD,
	O_TOKFILE,
	O_TOKCMD,
	O_FROM,
	O_TO,
	O_CC,
	O_BCC,
	O_SUBJECT,
	O_BODY,
	O_ATTACH,
	O_CAFILE,
	O_INSECURE,
	O_REQUIRETLS,
	O_TIMEOUT,
	O_ACCOUNT,
	O_HELP,
};

static const struct option send_longopts[] = {
    {"server", required_argument, NULL, O_SERVER},
    {"provider", required_argument, NULL, O_PROVIDER},
    {"tls", required_argument, NULL, O_TLS},
    {"user", required_argument, NULL, O_USER},
    {"password-file", required_argument, NULL, O_PWFILE},
    {"password-env", required_argument, NULL, O_PWENV},
    {"password-cmd", required_argument, NULL, O_PWCMD},
    {"oauth2-token-file", required_argument, NULL, O_TOKFILE},
    {"oauth2-token-cmd", required_argument, NULL, O_TOKCMD},
    {"from", required_argument, NULL, O_FROM},
    {"to", required_argument, NULL, O_TO},
    {"cc", required_argument, NULL, O_CC},
    {"bcc", required_argument, NULL, O_BCC},
    {"subject", required_argument, NULL, O_SUBJECT},
    {"body", required_argument, NULL, O_BODY},
    {"attach", required_argument, NULL, O_ATTACH},
    {"cafile", required_argument, NULL, O_CAFILE},
    {"insecure", no_argument, NULL, O_INSECURE},
    {"requiretls", no_argument, NULL, O_REQUIRETLS},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"account", required_argument, NULL, O_ACCOUNT},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

/* One long option shared by send and sendmail. -1: go on; else an exit code. */
static int
long_option(struct send_opts *so, struct send_args *a, int c, const char *arg)
{
	char *end;
	switch (c) {
	case O_SERVER:
		a->server = arg;
		break;
	case O_PROVIDER:
		a->provider = arg;
		break;
	case O_TLS:
		a->tls = arg;
		break;
	case O_USER:
		a->user = arg;
		break;
	case O_PWFILE:
		a->pw_src = SECRET_FILE, a->pw_spec = arg;
		break;
	case O_PWENV:
		a->pw_src = SECRET_ENV, a->pw_spec = arg;
		break;
	case O_PWCMD:
		a->pw_src = SECRET_CMD, a->pw_spec = arg;
		break;
	case O_TOKFILE:
		a->token_src = SECRET_FILE, a->token_spec = arg;
		break;
	case O_TOKCMD:
		a->token_src = SECRET_CMD, a->token_spec = arg;
		break;
	case O_FROM:
		a->from = arg;
		break;
	case O_TO:
		return add_list(so->msg.to, &so->msg.nto, arg, "--to");
	case O_CC:
		return add_list(so->msg.cc, &so->msg.ncc, arg, "--cc");
	case O_BCC:
		return add_list(so->bcc, &so->nbcc, arg, "--bcc");
	case O_SUBJECT:
		so->msg.subject = arg;
		break;
	case O_BODY:
		so->msg.body = arg;
		break;
	case O_ATTACH:
		return add_list(so->msg.attach, &so->msg.nattach, arg, "--attach");
	case O_CAFILE:
		so->cafile = arg;
		break;
	case O_INSECURE:
		so->insecure = true;
		break;
	case O_REQUIRETLS:
		so->requiretls = true;
		break;
	case O_ACCOUNT:
		a->account = arg;
		break;
	case 'v':
		so->verbose = true;
		break;
	case O_TIMEOUT:
		a->timeout_s = (unsigned)strtoul(arg, &end, 10);
		if (*end || a->timeout_s == 0 || a->timeout_s > 3600) {
			fprintf(stderr, "mailport: --timeout takes seconds, 1 to 3600\n");
			return EX_USAGE;
		}
		break;
	default:
		return EX_USAGE;
	}
	return -1;
}

/* sendmail's own short options (sendmail(8), as Postfix and msmtp take them). */
static int
sendmail_option(struct send_opts *so, struct send_args *a, int c, const char *arg)
{
	switch (c) {
	case 't':
		so->rcpts_from_headers = true;
		so->msg.remove_bcc = true;
		return -1;
	case 'i':
		so->msg.sendmail_dots = false;
		return -1;
	case 'f':
		a->from = arg;
		return -1;
	case 'o': /* -oi is -i; other -o options are the MTA's business */
		if (strcmp(arg, "i") == 0)
			so->msg.sendmail_dots = false;
		return -1;
	case 'b':
		if (strcmp(arg, "m") == 0)
			return -1;
		fprintf(stderr,
			"mailport sendmail: -b%s is not supported (only -bm, the default)\n", arg);
		return EX_USAGE;
	case 'F':
	case 'B':
	case 'N':
	case 'R':
	case 'V':
	case 'X':
	case 'O':
		return -1; /* accepted and ignored, as other sendmail replacements do */
	default:
		return long_option(so, a, c, arg);
	}
}

/*
 * What FILE or "-" means. Alone (or with --to/--cc, which are then the
 * envelope only) it is a whole message sent as it is. With an option that
 * builds a message (--subject, --body, --attach) it is the body text, as
 * `mail -s S -A F` reads stdin: an option is never dropped silently.
 * sendmail always reads a whole message, so building options are refused.
 */
static int
settle_input(struct send_message_opts *m, bool sendmail_mode)
{
	const char *building = m->subject   ? "--subject"
			       : m->body    ? "--body"
			       : m->nattach ? "--attach"
					    : NULL;
	if (sendmail_mode) {
		if (building) {
			fprintf(stderr,
				"mailport sendmail: %s builds a message, but sendmail reads a "
				"whole message on standard input\n  fix: put the field in the "
				"message, or use 'mailport send %s ...' with the text on stdin\n",
				building, building);
			return EX_USAGE;
		}
		m->input = "-";
		return -1;
	}
	if (m->input == NULL || building == NULL)
		return -1;
	if (m->body) {
		fprintf(stderr,
			"mailport send: --body and %s both give the message text\n  fix: use "
			"one of them\n",
			strcmp(m->input, "-") == 0 ? "standard input (-)" : m->input);
		return EX_USAGE;
	}
	m->body_file = m->input;
	m->input = NULL;
	return -1;
}

int
send_opts_parse(struct send_opts *so, int argc, char **argv, bool sendmail_mode)
{
	struct send_args a = {0};
	enum client_tls tls = CLIENT_TLS_STARTTLS;
	memset(so, 0, sizeof *so);
	so->quiet_success = sendmail_mode;
	so->msg.sendmail_dots = sendmail_mode;
	const char *shortopts = sendmail_mode ? "+tif:F:vo:B:b:N:R:V:X:O:" : "+v";
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, shortopts, send_longopts, NULL)) != -1) {
		if (c == O_HELP) {
			send_usage(stdout, sendmail_mode);
			return 0;
		}
		int rc = sendmail_mode ? sendmail_option(so, &a, c, optarg)
				       : long_option(so, &a, c, optarg);
		if (rc >= 0) {
			if (rc == EX_USAGE && c == '?')
				send_usage(stderr, sendmail_mode);
			return rc;
		}
	}
	if (a.provider && strcmp(a.provider, "list") == 0) {
		provider_list();
		return 0;
	}
	if (a.provider && (so->provider = provider_by_name(a.provider)) == NULL) {
		fprintf(stderr,
			"mailport: unknown provider '%s'\n  fix: see mailport send "
			"--provider list\n",
			a.provider);
		return EX_USAGE;
	}
	bool has_tls = a.tls != NULL;
	if (a.tls && !parse_tls(a.tls, &tls)) {
		fprintf(stderr, "mailport: --tls takes starttls, implicit or none\n");
		return EX_USAGE;
	}
	for (; optind < argc; optind++) {
		int rc = sendmail_mode
			     ? add_list(so->arg_rcpts, &so->narg_rcpts, argv[optind], "RCPT")
			     : (so->msg.input ? EX_USAGE : (so->msg.input = argv[optind], -1));
		if (rc >= 0) {
			fprintf(stderr, "mailport send: one message file at most\n");
			return rc;
		}
	}
	int rc = settle_input(&so->msg, sendmail_mode);
	if (rc >= 0)
		return rc;
	return settle(so, &a, tls, has_tls);
}

/* Append the addresses of an address list to the envelope recipients. */
static int
add_rcpts(struct send_opts *so, const char *list, char *err, size_t err_size)
{
	struct message_addrs addrs = {0};
	if (message_parse_addresses(strv_from(list), &addrs, err, err_size) < 0)
		return -1;
	for (size_t i = 0; i < addrs.n; i++) {
		so->rcpts = xrealloc(so->rcpts, (so->nrcpts + 1) * sizeof *so->rcpts);
		so->rcpts[so->nrcpts++] = xstrdup(addrs.v[i].addr);
	}
	message_addrs_free(&addrs);
	return 0;
}

int
send_opts_recipients(struct send_opts *so, const struct message_addrs *from_headers,
		     const char *header_from, char *err, size_t err_size)
{
	const char *const *lists[] = {so->msg.to, so->msg.cc, so->bcc, so->arg_rcpts};
	size_t counts[] = {so->msg.nto, so->msg.ncc, so->nbcc, so->narg_rcpts};
	for (size_t l = 0; l < 4; l++)
		for (size_t i = 0; i < counts[l]; i++)
			if (add_rcpts(so, lists[l][i], err, err_size) < 0)
				return -1;
	for (size_t i = 0; so->rcpts_from_headers && from_headers && i < from_headers->n; i++) {
		so->rcpts = xrealloc(so->rcpts, (so->nrcpts + 1) * sizeof *so->rcpts);
		so->rcpts[so->nrcpts++] = xstrdup(from_headers->v[i].addr);
	}
	if (so->nrcpts == 0) {
		snprintf(err, err_size,
			 "no recipient: give --to ADDR (or, for sendmail, "
			 "recipients as arguments or -t)");
		return -1;
	}
	if (!so->envelope_from[0] && header_from)
		str_copy(so->envelope_from, sizeof so->envelope_from, header_from);
	if (!so->envelope_from[0] && strchr(so->user, '@'))
		str_copy(so->envelope_from, sizeof so->envelope_from, so->user);
	if (!so->envelope_from[0]) {
		snprintf(err, err_size, "no sender: give --from ADDR (or -f for sendmail)");
		return -1;
	}
	/* "Name <addr>" in --from: the envelope wants the address alone. */
	struct message_addrs f = {0};
	char e2[256];
	if (message_parse_addresses(strv_from(so->envelope_from), &f, e2, sizeof e2) == 0 &&
	    f.n == 1)
		str_copy(so->envelope_from, sizeof so->envelope_from, f.v[0].addr);
	message_addrs_free(&f);
	return 0;
}

void
send_opts_free(struct send_opts *so)
{
	explicit_bzero(so->password, sizeof so->password);
	explicit_bzero(so->token, sizeof so->token);
	for (size_t i = 0; i < so->nrcpts; i++)
		free(so->rcpts[i]);
	free(so->rcpts);
	so->rcpts = NULL;
	account_file_free(&so->accounts);
}
