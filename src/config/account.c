/*
 * account: the send.conf parser.
 *
 * One directive per line: the keyword, blanks, then the value. Most values
 * are one word; paths and commands take the rest of the line, so a command
 * keeps its spaces and '#' characters. That is why a comment is a line of
 * its own, starting with '#' (after blanks): "host x # note" is an error
 * that says so, never a silent surprise.
 *
 * "account NAME" opens a section that runs to the next one; every other
 * directive but "default" belongs to a section and may appear once in it.
 * Whole-section checks (a server, a user for the secret) run when the
 * section ends. A plain "password" line is refused without quoting it.
 */
#include "account.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_addr.h"
#include "conf_text.h"
#include "str.h"
#include "xmalloc.h"

#define PATH_MAX_LEN 4095  /* what open(2) takes */
#define NAME_MAX_LEN 64	   /* an account name */
#define TIMEOUT_MAX 3600   /* an hour: anything longer is a typo */
#define TIMEOUT_EXAMPLE 30 /* seconds, in messages */

struct parse_ctx;

enum value_kind {
	V_WORD, /* exactly one word */
	V_REST, /* the rest of the line, blanks and all */
};

struct directive {
	const char *name;
	enum value_kind kind;
	int (*parse)(struct parse_ctx *pc, const char *value);
	const char *usage; /* how to write it, with an example */
};

struct parse_ctx {
	struct account_file *file;
	struct account *cur; /* the open section, or NULL before the first */
	const char *filename;
	const char *base_dir;
	const char *home;
	int line;
	const struct directive *dir;
	int seen[24];	    /* line of each directive in the open section */
	char *default_name; /* from "default NAME", resolved at the end */
	int default_line;
	char *err;
	size_t err_size;
};

static int parse_account(struct parse_ctx *pc, const char *value);
static int parse_default(struct parse_ctx *pc, const char *value);
static int parse_host(struct parse_ctx *pc, const char *value);
static int parse_port(struct parse_ctx *pc, const char *value);
static int parse_tls(struct parse_ctx *pc, const char *value);
static int parse_provider(struct parse_ctx *pc, const char *value);
static int parse_user(struct parse_ctx *pc, const char *value);
static int parse_password(struct parse_ctx *pc, const char *value);
static int parse_password_src(struct parse_ctx *pc, const char *value);
static int parse_oauth2_src(struct parse_ctx *pc, const char *value);
static int parse_from(struct parse_ctx *pc, const char *value);
static int parse_cafile(struct parse_ctx *pc, const char *value);
static int parse_timeout(struct parse_ctx *pc, const char *value);

static const struct directive directives[] = {
    {"account", V_WORD, parse_account, "account NAME, e.g. \"account work\""},
    {"default", V_WORD, parse_default, "default NAME, e.g. \"default work\""},
    {"host", V_WORD, parse_host, "host NAME, e.g. \"host smtp.example.com\""},
    {"port", V_WORD, parse_port, "port N, e.g. \"port 587\""},
    {"tls", V_WORD, parse_tls, "tls starttls|implicit|none, e.g. \"tls starttls\""},
    {"provider", V_WORD, parse_provider, "provider NAME, e.g. \"provider gmail\""},
    {"user", V_WORD, parse_user, "user NAME, e.g. \"user you@example.com\""},
    {"password", V_REST, parse_password, "password-file FILE or password-cmd CMD"},
    {"password-file", V_REST, parse_password_src,
     "password-file FILE, e.g. \"password-file ~/.config/mailport/smtp.secret\""},
    {"password-cmd", V_REST, parse_password_src,
     "password-cmd CMD, e.g. \"password-cmd pass show mail/smtp\""},
    {"password-env", V_WORD, parse_password_src,
     "password-env VAR, e.g. \"password-env SMTP_PASSWORD\""},
    {"oauth2-token-file", V_REST, parse_oauth2_src,
     "oauth2-token-file FILE, e.g. \"oauth2-token-file ~/.cache/mailport/smtp.token\""},
    {"oauth2-token-cmd", V_REST, parse_oauth2_src,
     "oauth2-token-cmd CMD, e.g. \"oauth2-token-cmd oama access you@gmail.com\""},
    {"from", V_WORD, parse_from, "from ADDRESS, e.g. \"from you@example.com\""},
    {"cafile", V_REST, parse_cafile, "cafile FILE, e.g. \"cafile /etc/ssl/certs/my-ca.pem\""},
    {"timeout", V_WORD, parse_timeout, "timeout SECONDS, e.g. \"timeout 30\""},
};

#define NDIRECTIVES (sizeof directives / sizeof directives[0])

/* msmtp's names for what we call otherwise: people bring their ~/.msmtprc. */
static const struct {
	const char *theirs, *hint;
} msmtp_hints[] = {
    {"passwordeval", "use \"password-cmd CMD\""},
    {"tls_trust_file", "use \"cafile FILE\""},
    {"tls_starttls", "write \"tls starttls\" or \"tls implicit\""},
    {"auth", "remove it: mailport picks the strongest mechanism the server offers"},
    {"defaults", "there is no defaults section; repeat the lines in each account"},
    {"tls_certcheck", "remove it: certificates are always checked (send --insecure is for tests)"},
};

static int fail(struct parse_ctx *pc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes "FILE:LINE: <fmt>" to the caller's err and returns -1. */
static int
fail(struct parse_ctx *pc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = conf_vfail(pc->err, pc->err_size, pc->filename, pc->line, fmt, ap);
	va_end(ap);
	return rc;
}

/* "~/x" with home, "x" under base_dir, "/x" as is; into a new string at *dst. */
static int
set_path(struct parse_ctx *pc, char **dst, const char *value)
{
	const char *dir = NULL, *name = value;
	if (strncmp(value, "~/", 2) == 0) {
		if (pc->home == NULL || pc->home[0] == '\0')
			return fail(pc, "cannot expand \"~/\": the home folder is not known (HOME "
					"is not set); write the full path");
		dir = pc->home, name = value + 2;
	} else if (value[0] == '~') {
		return fail(pc, "only \"~/\" (your own home folder) is expanded; write the full "
				"path");
	} else if (value[0] != '/' && pc->base_dir != NULL && pc->base_dir[0] != '\0') {
		dir = pc->base_dir;
	}
	while (name[0] == '.' && name[1] == '/')
		name += 2 + strspn(name + 2, "/");
	char path[PATH_MAX_LEN + 1];
	int n;
	if (dir == NULL)
		n = snprintf(path, sizeof path, "%s", name);
	else
		n = snprintf(path, sizeof path, "%s%s%s", dir,
			     dir[strlen(dir) - 1] == '/' ? "" : "/", name);
	if (n < 0 || (size_t)n >= sizeof path)
		return fail(pc,
			    "the path is too long (more than %d bytes with its folder); use "
			    "a shorter path",
			    PATH_MAX_LEN);
	*dst = xstrdup(path);
	return 0;
}

static int
parse_account(struct parse_ctx *pc, const char *value)
{
	char e[CONF_ESC_SIZE];
	bool ok = value[0] != '-' && strlen(value) <= NAME_MAX_LEN;
	for (const char *q = value; ok && *q; q++)
		ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		     (*q >= '0' && *q <= '9') || strchr("._-@+", *q) != NULL;
	if (!ok)
		return fail(pc,
			    "\"%s\" is not an account name; use up to %d letters, digits and "
			    "'.', '_', '-', '@', '+', e.g. \"account work\"",
			    conf_esc(e, value), NAME_MAX_LEN);
	struct account_file *f = pc->file;
	const struct account *dup = account_find(f, value);
	if (dup != NULL)
		return fail(pc, "account \"%s\" is already defined on line %d; rename one of them",
			    conf_esc(e, value), dup->line);
	f->accounts = xrealloc(f->accounts, (f->naccounts + 1) * sizeof f->accounts[0]);
	pc->cur = &f->accounts[f->naccounts++];
	memset(pc->cur, 0, sizeof *pc->cur);
	pc->cur->name = xstrdup(value);
	pc->cur->line = pc->line;
	memset(pc->seen, 0, sizeof pc->seen);
	return 0;
}

static int
parse_default(struct parse_ctx *pc, const char *value)
{
	if (pc->default_name != NULL)
		return fail(pc, "default is already set on line %d; keep one of the two lines",
			    pc->default_line);
	pc->default_name = xstrdup(value);
	pc->default_line = pc->line;
	return 0;
}

static int
parse_host(struct parse_ctx *pc, const char *value)
{
	char e[CONF_ESC_SIZE], ip[64], copy[300];
	unsigned char addr[16];
	const char *host = value;
	/* "[2001:db8::1]" as URLs write it: the brackets go, the address stays. */
	size_t len = strlen(value);
	if (value[0] == '[' && len > 2 && value[len - 1] == ']' &&
	    str_copy_n(copy, sizeof copy, value + 1, len - 2))
		host = copy;
	if (inet_pton(AF_INET6, host, addr) == 1 && inet_ntop(AF_INET6, addr, ip, sizeof ip)) {
		pc->cur->host = xstrdup(ip);
		return 0;
	}
	if (host == value && (inet_pton(AF_INET, host, addr) == 1 || conf_is_hostname(host))) {
		pc->cur->host = xstrdup(host);
		str_lower(pc->cur->host);
		return 0;
	}
	const char *colon = strrchr(value, ':');
	if (colon != NULL && colon[1] >= '0' && colon[1] <= '9' && strchr(value, ':') == colon)
		return fail(pc,
			    "\"%s\" holds a port; put it on a line of its own, e.g. \"host "
			    "smtp.example.com\" then \"port %s\"",
			    conf_esc(e, value), colon + 1);
	return fail(pc,
		    "\"%s\" is not a host name or IP address; use letters, digits, hyphens and "
		    "dots, e.g. \"host smtp.example.com\"",
		    conf_esc(e, value));
}

static int
parse_port(struct parse_ctx *pc, const char *value)
{
	char e[CONF_ESC_SIZE];
	uint64_t v;
	if (!str_parse_u64(strv_from(value), &v) || v < 1 || v > 65535)
		return fail(pc,
			    "bad port \"%s\"; use a number from 1 to 65535: 587 (STARTTLS), 465 "
			    "(implicit TLS) or 2525",
			    conf_esc(e, value));
	pc->cur->port = (unsigned short)v;
	return 0;
}

static int
parse_tls(struct parse_ctx *pc, const char *value)
{
	static const struct {
		const char *word;
		enum client_tls tls;
	} modes[] = {{"starttls", CLIENT_TLS_STARTTLS},
		     {"implicit", CLIENT_TLS_IMPLICIT},
		     {"none", CLIENT_TLS_NONE}};
	char e[CONF_ESC_SIZE];
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		if (str_eq_ci(value, modes[i].word)) {
			pc->cur->has_tls = true;
			pc->cur->tls = modes[i].tls;
			return 0;
		}
	}
	const char *hint = "";
	if (str_eq_ci(value, "ssl") || str_eq_ci(value, "tls") || str_eq_ci(value, "smtps"))
		hint = "for TLS from the first byte (port 465) write \"implicit\"; ";
	else if (str_eq_ci(value, "on") || str_eq_ci(value, "yes"))
		hint = "say which kind: ";
	else if (str_eq_ci(value, "off") || str_eq_ci(value, "no"))
		hint = "for plaintext (localhost only) write \"none\"; ";
	return fail(pc,
		    "unknown TLS mode \"%s\"; %suse starttls (587, 2525), implicit (465) or none "
		    "(a server on localhost only)",
		    conf_esc(e, value), hint);
}

static int
parse_provider(struct parse_ctx *pc, const char *value)
{
	char e[CONF_ESC_SIZE];
	const struct provider *p = provider_by_name(value);
	if (p != NULL) {
		pc->cur->provider = p;
		return 0;
	}
	const char *best = NULL;
	size_t best_d = 3; /* suggest only within an edit distance of 2 */
	for (size_t i = 0; i < provider_count(); i++) {
		size_t d = conf_edit_distance(value, provider_at(i)->name);
		if (d < best_d)
			best = provider_at(i)->name, best_d = d;
	}
	if (best != NULL)
		return fail(pc, "unknown provider \"%s\"; did you mean \"%s\"?", conf_esc(e, value),
			    best);
	return fail(pc,
		    "unknown provider \"%s\"; 'mailport send --provider list' shows them all, or "
		    "give the server with \"host NAME\" instead",
		    conf_esc(e, value));
}

static int
parse_user(struct parse_ctx *pc, const char *value)
{
	if (strlen(value) > 255)
		return fail(pc, "the user name is too long (at most 255 bytes)");
	pc->cur->user = xstrdup(value);
	return 0;
}

/* Never quotes the value: it is the secret itself. */
static int
parse_password(struct parse_ctx *pc, const char *value)
{
	(void)value;
	return fail(pc, "a plain \"password\" line is refused: secrets do not belong in a config "
			"file; use \"password-file FILE\" (a file only you can read), "
			"\"password-cmd CMD\" (e.g. \"password-cmd pass show mail/smtp\") or "
			"\"password-env VAR\"");
}

/* The directive's line number in the open section, by its name. */
static int
seen_line(const struct parse_ctx *pc, const char *name)
{
	for (size_t i = 0; i < NDIRECTIVES; i++)
		if (strcmp(directives[i].name, name) == 0)
			return pc->seen[i];
	return 0;
}

static int
parse_password_src(struct parse_ctx *pc, const char *value)
{
	struct account *a = pc->cur;
	char e[CONF_ESC_SIZE];
	if (a->password_src != ACCOUNT_SRC_NONE) {
		const char *other = a->password_src == ACCOUNT_SRC_FILE	 ? "password-file"
				    : a->password_src == ACCOUNT_SRC_CMD ? "password-cmd"
									 : "password-env";
		return fail(pc,
			    "this account already takes its password from %s (line %d); keep "
			    "one of the two lines",
			    other, seen_line(pc, other));
	}
	if (strcmp(pc->dir->name, "password-env") == 0) {
		bool ok = (value[0] < '0' || value[0] > '9');
		for (const char *q = value; ok && *q; q++)
			ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
			     (*q >= '0' && *q <= '9') || *q == '_';
		if (!ok)
			return fail(pc,
				    "\"%s\" is not an environment variable name; use letters, "
				    "digits and '_', e.g. \"password-env SMTP_PASSWORD\"",
				    conf_esc(e, value));
		a->password_src = ACCOUNT_SRC_ENV;
		a->password = xstrdup(value);
		return 0;
	}
	if (strcmp(pc->dir->name, "password-cmd") == 0) {
		a->password_src = ACCOUNT_SRC_CMD;
		a->password = xstrdup(value);
		return 0;
	}
	a->password_src = ACCOUNT_SRC_FILE;
	return set_path(pc, &a->password, value);
}

static int
parse_oauth2_src(struct parse_ctx *pc, const char *value)
{
	struct account *a = pc->cur;
	if (a->oauth2_src != ACCOUNT_SRC_NONE) {
		const char *other =
		    a->oauth2_src == ACCOUNT_SRC_FILE ? "oauth2-token-file" : "oauth2-token-cmd";
		return fail(pc,
			    "this account already takes its token from %s (line %d); keep one of "
			    "the two lines",
			    other, seen_line(pc, other));
	}
	if (strcmp(pc->dir->name, "oauth2-token-cmd") == 0) {
		a->oauth2_src = ACCOUNT_SRC_CMD;
		a->oauth2_token = xstrdup(value);
		return 0;
	}
	a->oauth2_src = ACCOUNT_SRC_FILE;
	return set_path(pc, &a->oauth2_token, value);
}

static int
parse_from(struct parse_ctx *pc, const char *value)
{
	char e[CONF_ESC_SIZE];
	struct smtp_addr addr;
	struct strv v = strv_from(value);
	if (v.len >= 2 && v.p[0] == '<' && v.p[v.len - 1] == '>')
		return fail(pc, "write the address without the angle brackets, e.g. \"from "
				"you@example.com\"");
	enum addr_err ae = smtp_addr_parse_mailbox(v, true, &addr);
	if (ae != ADDR_OK)
		return fail(pc,
			    "\"%s\" is not an email address (%s); write it as local@domain, "
			    "e.g. \"from you@example.com\"",
			    conf_esc(e, value), smtp_addr_err_text(ae));
	pc->cur->from = xstrdup(value);
	return 0;
}

static int
parse_cafile(struct parse_ctx *pc, const char *value)
{
	return set_path(pc, &pc->cur->cafile, value);
}

static int
parse_timeout(struct parse_ctx *pc, const char *value)
{
	char e[CONF_ESC_SIZE];
	uint64_t v;
	if (!str_parse_u64(strv_from(value), &v) || v < 1 || v > TIMEOUT_MAX)
		return fail(pc,
			    "bad timeout \"%s\"; use whole seconds from 1 to %d, e.g. \"timeout "
			    "%d\"",
			    conf_esc(e, value), TIMEOUT_MAX, TIMEOUT_EXAMPLE);
	pc->cur->timeout = (unsigned)v;
	return 0;
}

static int
unknown_directive(struct parse_ctx *pc, const char *word)
{
	char e[CONF_ESC_SIZE];
	for (size_t i = 0; i < sizeof msmtp_hints / sizeof msmtp_hints[0]; i++)
		if (str_eq_ci(word, msmtp_hints[i].theirs))
			return fail(pc, "\"%s\" is msmtp's; %s", conf_esc(e, word),
				    msmtp_hints[i].hint);
	const char *best = NULL;
	size_t best_d = 3; /* suggest only within an edit distance of 2 */
	for (size_t i = 0; i < NDIRECTIVES; i++) {
		size_t d = conf_edit_distance(word, directives[i].name);
		if (d < best_d && strcmp(directives[i].name, "password") != 0)
			best = directives[i].name, best_d = d;
	}
	if (best != NULL)
		return fail(pc, "unknown directive \"%s\"; did you mean \"%s\"?", conf_esc(e, word),
			    best);
	char names[512] = "";
	for (size_t i = 0; i < NDIRECTIVES; i++) {
		if (strcmp(directives[i].name, "password") == 0)
			continue;
		size_t len = strlen(names);
		snprintf(names + len, sizeof names - len, "%s%s", len ? ", " : "",
			 directives[i].name);
	}
	return fail(pc, "unknown directive \"%s\"; use one of: %s", conf_esc(e, word), names);
}

/* Checks that need the whole section; pc->line is pointed at its "account" line. */
static int
end_section(struct parse_ctx *pc)
{
	const struct account *a = pc->cur;
	char e[CONF_ESC_SIZE];
	if (a == NULL)
		return 0;
	int line = pc->line;
	pc->line = a->line;
	int rc = 0;
	if (a->host == NULL && a->provider == NULL)
		rc = fail(pc,
			  "account \"%s\" has no server; add \"host smtp.example.com\" or a "
			  "preset such as \"provider gmail\"",
			  conf_esc(e, a->name));
	else if (a->password_src != ACCOUNT_SRC_NONE && a->oauth2_src != ACCOUNT_SRC_NONE)
		rc = fail(pc,
			  "account \"%s\" has both a password and an OAuth2 token; keep the one "
			  "the server wants (OAuth2 for Outlook and Microsoft 365)",
			  conf_esc(e, a->name));
	else if ((a->password_src != ACCOUNT_SRC_NONE || a->oauth2_src != ACCOUNT_SRC_NONE) &&
		 account_user(a) == NULL)
		rc = fail(pc,
			  "account \"%s\" has a secret but no user to log in as; add e.g. \"user "
			  "you@example.com\"",
			  conf_esc(e, a->name));
	pc->line = line;
	return rc;
}

/*
 * Split a line into keyword and value in place. The value is one word or
 * the rest of the line, per the directive; trailing blanks are cut.
 */
static int
parse_line(struct parse_ctx *pc, char *line)
{
	char e[CONF_ESC_SIZE];
	line += strspn(line, " \t\r\f\v");
	size_t len = strlen(line);
	while (len > 0 && strchr(" \t\r\f\v", line[len - 1]) != NULL)
		line[--len] = '\0';
	if (line[0] == '\0' || line[0] == '#')
		return 0;
	char *value = line + strcspn(line, " \t\f\v=");
	bool has_eq = *value == '=' || value[strspn(value, " \t\f\v")] == '=';
	if (*value != '\0' && !has_eq)
		*value++ = '\0';
	value += strspn(value, " \t\f\v");
	if (has_eq)
		return fail(pc, "send.conf has no '='; write the directive and its value "
				"separated by blanks, e.g. \"host smtp.example.com\"");
	size_t i = 0;
	while (i < NDIRECTIVES && !str_eq_ci(line, directives[i].name))
		i++;
	if (i == NDIRECTIVES)
		return unknown_directive(pc, line);
	const struct directive *d = pc->dir = &directives[i];
	if (d->parse == parse_password)
		return parse_password(pc, value);
	for (const char *q = value; *q; q++)
		if ((unsigned char)*q < 0x20 && *q != '\t')
			return fail(pc, "a control character in the value of %s; remove it",
				    d->name);
	if (value[0] == '\0')
		return fail(pc, "%s needs a value; write it as: %s", d->name, d->usage);
	if (d->kind == V_WORD && value[strcspn(value, " \t\f\v")] != '\0') {
		bool comment = strstr(value, " #") != NULL || strstr(value, "\t#") != NULL;
		return fail(pc, "%s takes one word; %swrite it as: %s", d->name,
			    comment ? "a comment must be on a line of its own; " : "", d->usage);
	}
	if (d->parse == parse_account) {
		if (end_section(pc) < 0)
			return -1;
	} else if (d->parse != parse_default) {
		if (pc->cur == NULL)
			return fail(pc,
				    "%s comes before any account; start a section with "
				    "\"account NAME\" first",
				    d->name);
		if (pc->seen[i] != 0)
			return fail(pc,
				    "%s is already set for account \"%s\" on line %d; keep one of "
				    "the two lines",
				    d->name, conf_esc(e, pc->cur->name), pc->seen[i]);
		pc->seen[i] = pc->line;
	}
	return d->parse(pc, value);
}

/* After the last line: close the section, resolve "default". */
static int
finish(struct parse_ctx *pc)
{
	char e[CONF_ESC_SIZE];
	if (end_section(pc) < 0)
		return -1;
	struct account_file *f = pc->file;
	if (pc->default_name == NULL)
		return 0;
	for (size_t i = 0; i < f->naccounts; i++) {
		if (str_eq_ci(f->accounts[i].name, pc->default_name)) {
			f->default_index = i;
			return 0;
		}
	}
	pc->line = pc->default_line;
	char names[256] = "";
	for (size_t i = 0; i < f->naccounts; i++) {
		size_t len = strlen(names);
		snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
			 f->accounts[i].name);
	}
	if (f->naccounts == 0)
		return fail(pc,
			    "default \"%s\" names no account, and there are none; add "
			    "\"account %s\" with its lines",
			    conf_esc(e, pc->default_name), conf_esc(e, pc->default_name));
	return fail(pc, "default \"%s\" names no account; the accounts are: %s",
		    conf_esc(e, pc->default_name), names);
}

int
account_parse(const char *text, const char *filename, const char *base_dir, const char *home,
	      struct account_file **file_r, char *err, size_t err_size)
{
	struct parse_ctx pc = {
	    .file = xcalloc(1, sizeof(struct account_file)),
	    .filename = filename ? filename : "send.conf",
	    .base_dir = base_dir,
	    .home = home,
	    .err = err,
	    .err_size = err_size,
	};
	_Static_assert(NDIRECTIVES <= sizeof pc.seen / sizeof pc.seen[0], "seen[] too small");
	*file_r = NULL;
	/* Unlike mailport.conf, the first bad line ends the parse. */
	struct conf_lines lines;
	conf_lines_open(&lines, text);
	int rc = 0;
	for (char *line; rc == 0 && (line = conf_lines_next(&lines)) != NULL;) {
		pc.line = lines.line;
		rc = parse_line(&pc, line);
	}
	/* The copy may hold a password someone wrote anyway: close wipes it. */
	conf_lines_close(&lines);
	if (rc == 0)
		rc = finish(&pc);
	free(pc.default_name);
	if (rc != 0) {
		account_file_free(&pc.file);
		return -1;
	}
	if (err != NULL && err_size > 0)
		err[0] = '\0';
	*file_r = pc.file;
	return 0;
}

void
account_file_free(struct account_file **fp)
{
	struct account_file *f = *fp;
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->naccounts; i++) {
		struct account *a = &f->accounts[i];
		free(a->name);
		free(a->host);
		free(a->user);
		free(a->password);
		free(a->oauth2_token);
		free(a->from);
		free(a->cafile);
	}
	free(f->accounts);
	free(f);
	*fp = NULL;
}

const struct account *
account_find(const struct account_file *f, const char *name)
{
	if (f == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < f->naccounts; i++)
		if (str_eq_ci(f->accounts[i].name, name))
			return &f->accounts[i];
	return NULL;
}

const struct account *
account_default(const struct account_file *f)
{
	if (f == NULL || f->naccounts == 0)
		return NULL;
	return &f->accounts[f->default_index];
}

const char *
account_host(const struct account *a)
{
	if (a->host != NULL)
		return a->host;
	return a->provider != NULL ? a->provider->host : NULL;
}

const char *
account_user(const struct account *a)
{
	if (a->user != NULL)
		return a->user;
	return a->provider != NULL ? a->provider->user : NULL;
}
