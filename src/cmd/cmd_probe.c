/*
 * `mailport probe HOST|DOMAIN|PROVIDER`: the article's troubleshooting,
 * automated (issue 4; DESIGN.md "mailport probe --json"). This file reads
 * the options, looks the name up and prints; the procedure per door is
 * client/probe, the rendering report/probe_report.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "probe.h"
#include "probe_domain.h"
#include "secret.h"
#include "str.h"

#define PROBE_SECRET_MAX 4096

struct probe_cmd {
	struct probe_opts o;
	struct door doors[SUBMIT_MAX_DOORS];
	size_t ndoors;
	char host[256];
	char ehlo[256];
	char password[PROBE_SECRET_MAX];
	enum secret_source pw_src;
	const char *pw_spec;
	const char *resolver;
	const char *target; /* as typed: the domain of --domain-check, never a provider's host */
	char addr[64];	    /* host's address from --resolver, used for the connections */
	bool json;
	bool domain_check; /* --domain-check: the DNS checks; doors only with --port */
	bool ports_given;
	struct probe_domain_opts dc;
};

static void
probe_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: mailport probe HOST|DOMAIN|PROVIDER [--port P[:MODE]]... [--user U\n"
	    "                      (--password-file F | --password-env VAR)] [--from ADDR --to "
	    "ADDR]\n"
	    "                      [--cafile F] [--insecure] [--timeout S] [--security] "
	    "[--json]\n"
	    "                      [--resolver HOST[:PORT]]\n"
	    "       mailport probe DOMAIN --domain-check [--selector S]... [--ip ADDR]...\n"
	    "                      [-c CONFIG] [--json] [--resolver HOST[:PORT]] [--port P]...\n\n"
	    "Walks each door (default 587, 465, 2525, 25) through connect, greeting, EHLO,\n"
	    "TLS, AUTH and (with --from/--to) MAIL and RCPT then RSET, and says for each\n"
	    "what happened and how to fix it; then the port and TLS mode to configure.\n\n"
	    "  --port P[:MODE]    probe this door; MODE is starttls, implicit or relay\n"
	    "                     (STARTTLS when offered, no login: how 25 is probed);\n"
	    "                     default: implicit on 465, relay on 25, else starttls\n"
	    "  --user U           log in (never on a relay door) with the password from\n"
	    "  --password-file F  the first line of F, or --password-env VAR\n"
	    "  --from/--to ADDR   also try MAIL FROM and RCPT TO (then RSET; nothing is sent)\n"
	    "  --cafile F         trust this CA;  --insecure: do not check certificates\n"
	    "  --timeout S        bound on each connect and reply (default 10)\n"
	    "  --security         also check TLS 1.0/1.1, weak ciphers, certificate expiry,\n"
	    "                     AUTH in the clear, STARTTLS injection, open relay on 25\n"
	    "  --json             one JSON object on stdout\n"
	    "  --resolver H[:P]   DNS server for the lookups (default /etc/resolv.conf)\n\n"
	    "  --domain-check     check the DNS of a sending domain instead of its doors: MX,\n"
	    "                     SPF, DKIM, DMARC, MTA-STS, TLS-RPT, reverse DNS of the MX\n"
	    "                     addresses; each problem with the record to publish.\n"
	    "                     Doors are probed too only when --port is given\n"
	    "  --selector S       a DKIM selector to check (default: the config's dkim lines)\n"
	    "  --ip ADDR          an address this host sends from, for the SPF check\n"
	    "                     (default: the config's hostname's addresses)\n"
	    "  -c, --config FILE  the config for hostname, dkim keys and resolver\n"
	    "                     (default /etc/mailport/mailport.conf when readable)\n\n"
	    "Exit codes (sysexits): 0 a door works, 64 usage, 68 unknown host, 69 unavailable,\n"
	    "75 try later, 76 protocol, 77 login or relay refused, 78 port/TLS mix-up.\n"
	    "With --domain-check: 0 all is well, 65 a record is missing, invalid or does not\n"
	    "match, 75 DNS did not answer, 78 the config does not load.\n");
}

/* "587", "465:implicit", "25:relay". */
static bool
parse_door(const char *s, struct door *d)
{
	char *end;
	unsigned long p = strtoul(s, &end, 10);
	if (end == s || p == 0 || p > 65535 || (*end && *end != ':'))
		return false;
	d->port = (unsigned short)p;
	d->tls = p == 465  ? CLIENT_TLS_IMPLICIT
		 : p == 25 ? CLIENT_TLS_OPPORTUNISTIC
			   : CLIENT_TLS_STARTTLS;
	if (*end == '\0')
		return true;
	const char *m = end + 1;
	if (strcmp(m, "starttls") == 0)
		d->tls = CLIENT_TLS_STARTTLS;
	else if (strcmp(m, "implicit") == 0 || strcmp(m, "ssl") == 0 || strcmp(m, "tls") == 0)
		d->tls = CLIENT_TLS_IMPLICIT;
	else if (strcmp(m, "relay") == 0 || strcmp(m, "smtp") == 0)
		d->tls = CLIENT_TLS_OPPORTUNISTIC;
	else
		return false;
	return true;
}

enum {
	O_PORT = 256,
	O_USER,
	O_PWFILE,
	O_PWENV,
	O_FROM,
	O_TO,
	O_CAFILE,
	O_INSECURE,
	O_TIMEOUT,
	O_SECURITY,
	O_JSON,
	O_RESOLVER,
	O_DOMAIN_CHECK,
	O_SELECTOR,
	O_IP,
	O_CONFIG,
	O_HELP,
};

static const struct option probe_longopts[] = {
    {"port", required_argument, NULL, O_PORT},
    {"user", required_argument, NULL, O_USER},
    {"password-file", required_argument, NULL, O_PWFILE},
    {"password-env", required_argument, NULL, O_PWENV},
    {"from", required_argument, NULL, O_FROM},
    {"to", required_argument, NULL, O_TO},
    {"cafile", required_argument, NULL, O_CAFILE},
    {"insecure", no_argument, NULL, O_INSECURE},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"security", no_argument, NULL, O_SECURITY},
    {"json", no_argument, NULL, O_JSON},
    {"resolver", required_argument, NULL, O_RESOLVER},
    {"domain-check", no_argument, NULL, O_DOMAIN_CHECK},
    {"selector", required_argument, NULL, O_SELECTOR},
    {"ip", required_argument, NULL, O_IP},
    {"config", required_argument, NULL, O_CONFIG},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

/* --selector and --ip, kept for --domain-check; -1 to go on, else an exit code. */
static int
probe_domain_option(struct probe_cmd *pc, int c, const char *arg)
{
	struct probe_domain_opts *d = &pc->dc;
	if (c == O_SELECTOR) {
		/* RFC 6376 3.1: a selector is a dot-separated sequence of labels. */
		if (d->nselectors >= DC_MAX_SELECTORS || !arg[0] || strlen(arg) > 63 * 4 ||
		    strspn(arg,
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") !=
			strlen(arg)) {
			fprintf(
			    stderr,
			    "mailport probe: --selector %s: give a DKIM selector (letters, digits, "
			    "'-' and '.'), at most %d\n",
			    arg, DC_MAX_SELECTORS);
			return EX_USAGE;
		}
		d->selectors[d->nselectors++] = arg;
		return -1;
	}
	unsigned char a[16];
	if (d->nips >= DC_MAX_IPS ||
	    (inet_pton(AF_INET, arg, a) != 1 && inet_pton(AF_INET6, arg, a) != 1)) {
		fprintf(stderr,
			"mailport probe: --ip %s: give an IPv4 or IPv6 address, at most %d\n", arg,
			DC_MAX_IPS);
		return EX_USAGE;
	}
	d->ips[d->nips++] = arg;
	return -1;
}

/* One option; -1 to go on, else an exit code. */
static int
probe_option(struct probe_cmd *pc, int c, const char *arg)
{
	char *end;
	switch (c) {
	case O_PORT:
		if (pc->ndoors >= SUBMIT_MAX_DOORS || !parse_door(arg, &pc->doors[pc->ndoors])) {
			fprintf(stderr,
				"mailport probe: --port %s: use PORT or PORT:MODE (MODE: "
				"starttls, implicit, relay), at most %d\n",
				arg, SUBMIT_MAX_DOORS);
			return EX_USAGE;
		}
		pc->ndoors++;
		pc->ports_given = true;
		return -1;
	case O_USER:
		pc->o.user = arg;
		return -1;
	case O_PWFILE:
	case O_PWENV:
		pc->pw_src = c == O_PWFILE ? SECRET_FILE : SECRET_ENV;
		pc->pw_spec = arg;
		return -1;
	case O_FROM:
		pc->o.from = arg;
		return -1;
	case O_TO:
		pc->o.to = arg;
		return -1;
	case O_CAFILE:
		pc->o.cafile = arg;
		return -1;
	case O_INSECURE:
		pc->o.insecure = true;
		return -1;
	case O_TIMEOUT:
		pc->o.timeout_ms = (int)strtol(arg, &end, 10) * 1000;
		if (*end || pc->o.timeout_ms <= 0 || pc->o.timeout_ms > 600000) {
			fprintf(stderr, "mailport probe: --timeout takes 1 to 600 seconds\n");
			return EX_USAGE;
		}
		return -1;
	case O_SECURITY:
		pc->o.security = true;
		return -1;
	case O_JSON:
		pc->json = true;
		return -1;
	case O_RESOLVER:
		pc->resolver = arg;
		return -1;
	case O_DOMAIN_CHECK:
		pc->domain_check = true;
		return -1;
	case O_CONFIG:
		pc->dc.config = arg;
		return -1;
	case O_SELECTOR:
	case O_IP:
		return probe_domain_option(pc, c, arg);
	case O_HELP:
		probe_usage(stdout);
		return 0;
	default:
		probe_usage(stderr);
		return EX_USAGE;
	}
}

/* The secret, the pairs that go together, the host or provider, the doors. */
static int
probe_settle(struct probe_cmd *pc, const char *target)
{
	char err[512];
	if ((pc->o.user != NULL) != (pc->pw_src != SECRET_NONE) || (!pc->o.from != !pc->o.to)) {
		fprintf(stderr, "mailport probe: --user needs --password-file (or --password-env), "
				"and --from needs --to\n");
		return EX_USAGE;
	}
	if (pc->pw_src != SECRET_NONE) {
		if (secret_get(pc->pw_src, pc->pw_spec, pc->password, sizeof pc->password, err,
			       sizeof err) < 0) {
			fprintf(stderr, "mailport probe: %s\n", err);
			return EX_CONFIG;
		}
		pc->o.password = pc->password;
	}
	const struct provider *p = provider_by_name(target);
	str_copy(pc->host, sizeof pc->host, p ? p->host : target);
	pc->o.provider = p ? p : provider_by_host(pc->host);
	for (size_t i = 0; p && pc->ndoors == 0 && i < provider_nports(p); i++)
		pc->doors[i] = (struct door){p->ports[i].port, p->ports[i].tls};
	if (p && pc->ndoors == 0)
		pc->ndoors = provider_nports(p);
	if (pc->ndoors == 0) {
		pc->ndoors = submit_default_doors(pc->doors);
		pc->doors[pc->ndoors++] = (struct door){25, CLIENT_TLS_OPPORTUNISTIC};
	}
	if (gethostname(pc->ehlo, sizeof pc->ehlo - 1) < 0 || !pc->ehlo[0])
		str_copy(pc->ehlo, sizeof pc->ehlo, "localhost");
	pc->o.ehlo_name = pc->ehlo;
	pc->o.host = pc->host;
	return -1;
}

static int
probe_run(struct probe_cmd *pc)
{
	static struct domain_report dr; /* large: kept off the stack */
	memset(&dr, 0, sizeof dr);
	if (pc->domain_check) {
		int rc;
		static char domain[256];
		str_copy(domain, sizeof domain, pc->target);
		str_lower(domain);
		for (size_t n = strlen(domain); n > 0 && domain[n - 1] == '.';)
			domain[--n] = '\0';
		pc->dc.domain = domain;
		pc->dc.resolver = pc->resolver;
		pc->dc.timeout_ms = pc->o.timeout_ms;
		if (probe_domain_run(&pc->dc, &dr, &rc) < 0)
			return rc;
		/* The doors only when asked for: the DNS checks are what was. */
		if (!pc->ports_given)
			pc->ndoors = 0;
	}
	struct probe_dns dns;
	probe_dns(pc->host, pc->resolver, pc->o.timeout_ms, &dns);
	/* A mail domain without an address of its own: probe its best MX. */
	if (pc->ndoors > 0 && dns.naddrs == 0 && dns.nmx > 0 && pc->o.provider == NULL) {
		fprintf(stderr, "mailport probe: %s has no address; probing its MX host %s\n",
			pc->host, dns.mx[0].host);
		str_copy(pc->host, sizeof pc->host, dns.mx[0].host);
		if (pc->resolver) { /* the MX host's address, from the same resolver */
			struct probe_dns mx_dns;
			probe_dns(pc->host, pc->resolver, pc->o.timeout_ms, &mx_dns);
			if (mx_dns.naddrs > 0)
				str_copy(pc->addr, sizeof pc->addr, mx_dns.addrs[0]);
		}
	} else if (pc->resolver && dns.naddrs > 0) {
		str_copy(pc->addr, sizeof pc->addr, dns.addrs[0]);
	}
	/* With --resolver, connect where it said: the system may not know the name. */
	if (pc->addr[0])
		pc->o.connect_addr = pc->addr;
	static struct probe_report r; /* large: kept off the stack */
	memset(&r, 0, sizeof r);
	r.host = pc->o.host;
	r.provider = pc->o.provider;
	r.dns = &dns;
	r.ndoors = pc->ndoors;
	r.domain = pc->domain_check ? &dr : NULL;
	for (size_t i = 0; i < pc->ndoors; i++)
		probe_door(&pc->o, pc->doors[i], &r.doors[i]);
	r.recommended = probe_recommend(&r);
	struct buf out;
	buf_init(&out, 0);
	if (pc->json)
		probe_json(&r, &out);
	else
		probe_text(&r, isatty(STDOUT_FILENO) == 1, &out);
	fwrite(out.data ? out.data : "", 1, out.len, stdout);
	buf_free(&out);
	return probe_exit_code(&r);
}

int
cmd_probe(int argc, char **argv)
{
	static struct probe_cmd pc;
	memset(&pc, 0, sizeof pc);
	pc.o.timeout_ms = 10000;
	optind = 1;
	int c, rc = -1;
	while (rc < 0 && (c = getopt_long(argc, argv, "hc:", probe_longopts, NULL)) != -1)
		rc = probe_option(&pc, c == 'h' ? O_HELP : c == 'c' ? O_CONFIG : c, optarg);
	if (rc < 0 && !pc.domain_check && (pc.dc.nselectors || pc.dc.nips || pc.dc.config)) {
		fprintf(stderr, "mailport probe: --selector, --ip and -c go with --domain-check\n");
		rc = EX_USAGE;
	}
	/* --domain-check alone probes no door: the door options would do nothing. */
	if (rc < 0 && pc.domain_check && !pc.ports_given &&
	    (pc.o.user || pc.o.from || pc.o.cafile || pc.o.insecure || pc.o.security)) {
		fprintf(stderr,
			"mailport probe: --user, --from/--to, --cafile, --insecure and "
			"--security probe doors, which --domain-check leaves out: add --port "
			"P for the doors to probe, or drop them\n");
		rc = EX_USAGE;
	}
	if (rc < 0 && optind != argc - 1) {
		probe_usage(stderr);
		rc = EX_USAGE;
	}
	if (rc < 0) {
		pc.target = argv[optind];
		rc = probe_settle(&pc, pc.target);
	}
	if (rc < 0)
		rc = probe_run(&pc);
	explicit_bzero(pc.password, sizeof pc.password);
	return rc;
}
