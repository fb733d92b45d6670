/*
 * self_check: `mailport serve --check`, what an operator wants to know
 * before (or instead of) reading a failed start's log: does the
 * certificate cover the hostname and stay valid for two more weeks, can
 * the run user write the spool and the mailboxes, do the users and aliases
 * files parse, are the files that hold secrets (and the aliases) private,
 * can every door be bound, and can this host reach other
 * mail servers on port 25 at all (the cloud providers' block the reference
 * page warns about) or, with a relay host, that relay.
 *
 * One line per check, "ok", "warn" or "FAIL", and for each problem the
 * cause and the fix from the fixes table. serve logs the certificate's
 * problems at start (self_check_log; it checks the rest as it starts); the
 * network check is only made on request, as it reaches outside this machine.
 */
#include "self_check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "config_load.h"
#include "dns.h"
#include "elapsed.h"
#include "fixes.h"
#include "log.h"
#include "run_user.h"
#include "str.h"
#include "aliases.h"
#include "server_internal.h"
#include "users.h"

#define EXPIRY_WARN_DAYS 14

struct checks {
	FILE *out; /* NULL: log the problems instead (serve's start) */
	unsigned fails, warns;
	bool net_failed;
};

static void
ok(struct checks *c, const char *check, const char *detail)
{
	if (c->out)
		fprintf(c->out, "ok    %s: %s\n", check, detail);
}

/* A problem with its fix; warn: worth knowing, not a reason to fail. */
static void
problem(struct checks *c, bool warn, const char *check, const char *detail,
	const struct fix_text *t)
{
	if (warn)
		c->warns++;
	else
		c->fails++;
	if (c->out == NULL) {
		char esc[1200];
		log_msg(
		    warn ? LOG_WARN : LOG_ERR,
		    "event=self_check check=\"%s\" status=%s what=\"%s\" detail=\"%s\" fix=\"%s\"",
		    check, warn ? "warn" : "fail", t->what,
		    str_escape(esc, sizeof esc, detail, strlen(detail)), t->fix);
		return;
	}
	fprintf(c->out, "%s  %s: %s%s%s%s\n      cause: %s\n      fix: %s\n",
		warn ? "warn" : "FAIL", check, t->what, detail[0] ? " (" : "", detail,
		detail[0] ? ")" : "", t->cause, t->fix);
}

/* ---- the certificate ---- */

static void
check_certificate(struct checks *c, const struct config *cfg, const char *hostname)
{
	char cert[4200], detail[600];
	struct fix_text t;
	if (cfg->tls_cert[0])
		str_copy(cert, sizeof cert, cfg->tls_cert);
	else
		snprintf(cert, sizeof cert, "%s/tls/cert.pem", cfg->spool_dir);
	FILE *f = fopen(cert, "r");
	if (f == NULL && errno == ENOENT) {
		fix_text_name(&t, FIX_CERT_SELF_SIGNED, hostname);
		snprintf(detail, sizeof detail,
			 "%s does not exist yet: serve makes a self-signed one", cert);
		problem(c, true, "certificate", detail, &t);
		return;
	}
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	if (x == NULL) {
		fix_text(&t, FIX_CERT_LOAD);
		problem(c, false, "certificate", cert, &t);
		return;
	}
	int days = 0, secs = 0;
	bool expired = !ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)) || days < 0 ||
		       (days == 0 && secs <= 0);
	bool bad = false;
	if (X509_check_host(x, hostname, 0, 0, NULL) != 1) {
		fix_text_name(&t, FIX_CERT_NAME, hostname);
		problem(c, false, "certificate", cert, &t);
		bad = true;
	}
	if (expired) {
		fix_text(&t, FIX_CERT_EXPIRED);
		problem(c, false, "certificate", cert, &t);
		bad = true;
	} else if (days < EXPIRY_WARN_DAYS) {
		fix_text_port(&t, FIX_CERT_EXPIRING, (unsigned)days);
		problem(c, false, "certificate", cert, &t);
		bad = true;
	}
	if (X509_self_signed(x, 0) == 1) {
		fix_text_name(&t, FIX_CERT_SELF_SIGNED, hostname);
		problem(c, true, "certificate", cert, &t);
		bad = true;
	}
	if (!bad) {
		snprintf(detail, sizeof detail, "%s covers %s and is valid for %d more days", cert,
			 hostname, days);
		ok(c, "certificate", detail);
	}
	X509_free(x);
}

/* ---- files and folders ---- */

static void
check_secret_file(struct checks *c, const char *check, const char *path)
{
	struct stat st;
	struct fix_text t;
	if (path[0] == '\0' || stat(path, &st) < 0)
		return; /* missing: the checks of its own say so */
	if (st.st_mode & S_IROTH) {
		fix_text_name(&t, FIX_SECRET_READABLE, path);
		char mode[32];
		snprintf(mode, sizeof mode, "mode %04o", (unsigned)(st.st_mode & 07777));
		problem(c, false, check, mode, &t);
	} else {
		ok(c, check, path);
	}
}

static void
check_users(struct checks *c, const struct config *cfg)
{
	char err[1024];
	struct fix_text t;
	if (cfg->users_file[0] == '\0')
		return;
	bool missing = access(cfg->users_file, F_OK) < 0 && errno == ENOENT;
	struct users *u = users_load(cfg->users_file, err, sizeof err);
	if (u == NULL) {
		fix_text(&t, FIX_USERS_UNREADABLE);
		problem(c, missing, "users file", err,
			&t); /* missing: serve starts with no logins */
		return;
	}
	char detail[4300];
	snprintf(detail, sizeof detail, "%s: %zu accounts", cfg->users_file, users_count(u));
	users_free(&u);
	ok(c, "users file", detail);
	check_secret_file(c, "users file is private", cfg->users_file);
}

/* The aliases file parses (its errors with their lines) and is private; the SRS secret too. */
static void
check_aliases(struct checks *c, const struct config *cfg)
{
	char err[2048], detail[4300];
	struct fix_text t;
	if (cfg->srs_secret_file[0])
		check_secret_file(c, "SRS secret is private", cfg->srs_secret_file);
	if (cfg->aliases_file[0] == '\0')
		return;
	struct aliases *a = server_aliases_load(cfg->aliases_file, err, sizeof err);
	if (a == NULL) {
		for (char *p = err; (p = strchr(p, '\n')) != NULL;)
			*p = ';'; /* the lines' errors on one line */
		fix_text(&t, FIX_ALIASES_INVALID);
		problem(c, false, "aliases file", err, &t);
		return;
	}
	snprintf(detail, sizeof detail, "%s: %zu aliases", cfg->aliases_file, aliases_count(a));
	aliases_free(&a);
	ok(c, "aliases file", detail);
	struct stat st;
	if (stat(cfg->aliases_file, &st) == 0 && (st.st_mode & S_IROTH)) {
		fix_text_name(&t, FIX_ALIASES_READABLE, cfg->aliases_file);
		snprintf(detail, sizeof detail, "mode %04o", (unsigned)(st.st_mode & 07777));
		problem(c, true, "aliases file is private", detail, &t);
	}
}

/* The spool and the mailboxes, as the account serve runs as (when root). */
static void
check_folders(struct checks *c, const struct config *cfg)
{
	struct run_path need[] = {
	    {cfg->spool_dir, RUN_NEED_DIR, true, "spool"},
	    {cfg->mailbox_dir, RUN_NEED_DIR, true, "mailboxes"},
	};
	char detail[8400];
	if (geteuid() == 0) {
		const char *name = cfg->run_user[0] ? cfg->run_user : "mailport";
		struct passwd *pw = getpwnam(name);
		if (pw == NULL) {
			struct fix_text t;
			fix_text_name(&t, FIX_RUN_USER_UNKNOWN, name);
			problem(c, !cfg->run_user[0], "run user", "serve creates 'mailport' itself",
				&t);
			return;
		}
		/* It prints each folder the account cannot use, with the fix, itself. */
		if (run_user_check_paths(pw, need, 2) < 0) {
			c->fails++;
			if (c->out)
				fprintf(c->out,
					"FAIL  folders: the account %s cannot use them "
					"(the lines above say which and how to fix it)\n",
					pw->pw_name);
			return;
		}
		snprintf(detail, sizeof detail, "%s and %s usable by %s", cfg->spool_dir,
			 cfg->mailbox_dir, pw->pw_name);
	} else {
		for (size_t i = 0; i < 2; i++) {
			if (access(need[i].path, W_OK | X_OK) == 0 || errno == ENOENT)
				continue;
			snprintf(detail, sizeof detail, "%s: %s", need[i].path, strerror(errno));
			struct fix_text t;
			fix_text(&t, FIX_FOLDER_NOT_WRITABLE);
			problem(c, false, need[i].what, detail, &t);
			return;
		}
		snprintf(detail, sizeof detail, "%s and %s", cfg->spool_dir, cfg->mailbox_dir);
	}
	ok(c, "folders", detail);
}

/* ---- doors ---- */

static int
try_bind(const char *host, unsigned short port)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_PASSIVE,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai;
	char portstr[8];
	snprintf(portstr, sizeof portstr, "%u", port);
	if (getaddrinfo(host, portstr, &hints, &ai) != 0)
		return EADDRNOTAVAIL;
	int err = 0, one = 1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
	} else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
			err = errno;
		close(fd);
	}
	freeaddrinfo(ai);
	return err;
}

static void
check_doors(struct checks *c, const struct config *cfg)
{
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct config_listener *l = &cfg->listeners[i];
		unsigned port = l->port;
		int err = try_bind(l->host, l->port);
		unsigned offset = cfg->unprivileged_port_offset;
		if (err == EACCES && port < 1024 && offset && port + offset <= 65535) {
			port += offset; /* as serve does without root */
			err = try_bind(l->host, (unsigned short)port);
		}
		char check[400], detail[300];
		snprintf(check, sizeof check,
			 strchr(l->host, ':') ? "door [%s]:%u %s" : "door %s:%u %s", l->host, port,
			 l->policy->name);
		if (err == 0) {
			ok(c, check,
			   port != l->port ? "free (the unprivileged alternate)" : "free");
			continue;
		}
		enum fix_id id = err == EACCES		? FIX_BIND_PRIVILEGED
				 : err == EADDRINUSE	? FIX_BIND_IN_USE
				 : err == EADDRNOTAVAIL ? FIX_BIND_NO_ADDRESS
							: FIX_BIND_OTHER;
		struct fix_text t;
		fix_text_port(&t, id, port);
		snprintf(detail, sizeof detail, "%s%s", strerror(err),
			 err == EADDRINUSE ? "; is this server already running?" : "");
		problem(c, false, check, detail, &t);
	}
}

/* ---- outbound ---- */

/* 0 connected, else the errno (ETIMEDOUT after timeout_ms). */
static int
try_connect(const char *addr, unsigned short port, int timeout_ms)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai;
	char portstr[8];
	snprintf(portstr, sizeof portstr, "%u", port);
	if (getaddrinfo(addr, portstr, &hints, &ai) != 0)
		return EADDRNOTAVAIL;
	int err = 0;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
	} else if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		err = errno;
		if (err == EINPROGRESS) {
			struct pollfd p = {fd, POLLOUT, 0};
			int n = poll(&p, 1, timeout_ms);
			socklen_t len = sizeof err;
			if (n == 0)
				err = ETIMEDOUT;
			else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
		}
	}
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return err;
}

/* The first address of host (itself when an IP). */
static bool
first_addr(struct dns *d, const char *host, char *out, size_t size)
{
	unsigned char tmp[16];
	if (inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1)
		return str_copy(out, size, host);
	char addrs[8][64];
	size_t n = 8;
	if (dns_addrs(d, host, addrs, &n) != DNS_OK || n == 0)
		return false;
	return str_copy(out, size, addrs[0]);
}

static void
check_relay(struct checks *c, const struct config *cfg, struct dns *d, int timeout_ms)
{
	const char *host = cfg->relayhost.host;
	static const unsigned short doors[] = {587, 465, 2525};
	char addr[64], detail[600];
	struct fix_text t;
	fix_text(&t, FIX_RELAY_UNREACHABLE);
	if (!first_addr(d, host, addr, sizeof addr)) {
		snprintf(detail, sizeof detail, "%s has no address in DNS", host);
		problem(c, false, "relay host", detail, &t);
		c->net_failed = true;
		return;
	}
	size_t n = cfg->relayhost.port ? 1 : 3;
	int err = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned short port = cfg->relayhost.port ? cfg->relayhost.port : doors[i];
		err = try_connect(addr, port, timeout_ms);
		if (err == 0) {
			snprintf(detail, sizeof detail, "%s[%s]:%u answers", host, addr, port);
			ok(c, "relay host", detail);
			return;
		}
	}
	snprintf(detail, sizeof detail, "%s[%s]: %s", host, addr, strerror(err));
	problem(c, false, "relay host", detail, &t);
	c->net_failed = true;
}

static void
check_port25(struct checks *c, struct dns *d, const char *domain, int timeout_ms)
{
	struct dns_mx mx[DNS_MAX_MX];
	size_t n = 0;
	char addr[64], detail[800];
	struct fix_text t;
	enum dns_status st = dns_mx(d, domain, mx, &n);
	if (st != DNS_OK || n == 0 || !first_addr(d, mx[0].host, addr, sizeof addr)) {
		snprintf(detail, sizeof detail, "DNS: %s", dns_status_name(st));
		fix_text_name(&t, FIX_PORT25_UNCHECKED, domain);
		problem(c, true, "outbound port 25", detail, &t);
		return;
	}
	int err = try_connect(addr, 25, timeout_ms);
	if (err == 0) {
		snprintf(detail, sizeof detail, "%s[%s]:25 (an MX of %s) answers", mx[0].host, addr,
			 domain);
		ok(c, "outbound port 25", detail);
		return;
	}
	snprintf(detail, sizeof detail, "%s[%s]:25, an MX of %s: %s", mx[0].host, addr, domain,
		 err == ETIMEDOUT ? "no answer within the time" : strerror(err));
	fix_text(&t, FIX_PORT25_BLOCKED);
	/* A refusal came from somewhere: a firewall's reject, or that host alone. */
	problem(c, err != ETIMEDOUT, "outbound port 25", detail, &t);
	c->net_failed = err == ETIMEDOUT;
}

static void
check_outbound(struct checks *c, const struct config *cfg, const struct self_check_opts *o)
{
	char resolver[300], err[300];
	config_hostport_format(&cfg->resolver, resolver, sizeof resolver);
	struct dns *d = dns_new(resolver, o->timeout_ms, err, sizeof err);
	if (d == NULL) {
		struct fix_text t;
		fix_text_name(&t, FIX_PORT25_UNCHECKED, o->probe_domain);
		problem(c, true, "outbound", err, &t);
		return;
	}
	if (cfg->relayhost.host[0])
		check_relay(c, cfg, d, o->timeout_ms);
	else
		check_port25(c, d, o->probe_domain, o->timeout_ms);
	dns_free(&d);
}

/* ---- the whole ---- */

static void
local_checks(struct checks *c, const struct config *cfg)
{
	char hostname[256] = "localhost";
	if (cfg->hostname[0])
		str_copy(hostname, sizeof hostname, cfg->hostname);
	else
		gethostname(hostname, sizeof hostname - 1);
	check_certificate(c, cfg, hostname);
	if (cfg->tls_key[0])
		check_secret_file(c, "TLS key is private", cfg->tls_key);
	check_users(c, cfg);
	check_aliases(c, cfg);
	check_folders(c, cfg);
}

int
self_check_run(const char *config_path, const struct self_check_opts *o)
{
	struct config cfg;
	char err[4096];
	if (config_load_file(config_path, &cfg, err, sizeof err) < 0) {
		fprintf(stderr, "mailport: %s\n", err);
		return EX_CONFIG;
	}
	struct checks c = {.out = stdout};
	printf("mailport serve --check: %s\n", config_path);
	local_checks(&c, &cfg);
	check_doors(&c, &cfg);
	check_outbound(&c, &cfg, o);
	if (c.fails == 0) {
		printf("all is well%s\n", c.warns ? " (see the warnings above)" : "");
		return 0;
	}
	printf("%u problem%s\n", c.fails, c.fails == 1 ? "" : "s");
	/* Only the network failed: the service is unavailable from here, the config is fine. */
	return c.net_failed && c.fails == 1 ? EX_UNAVAILABLE : EX_CONFIG;
}

void
self_check_log(const struct config *cfg, const char *hostname)
{
	/* The folders, the users file and the key are checked by the start itself
	 * (run_user.c); the certificate's name and dates only here. */
	struct checks c = {0};
	check_certificate(&c, cfg, hostname);
}
