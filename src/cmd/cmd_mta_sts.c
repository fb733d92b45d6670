/*
 * mailport mta-sts policy [-c FILE] [--domain D]... [--mode enforce|testing]
 *                         [--mx NAME]... [--max-age S] [--rua URI] [--policy-only]
 *
 * What a domain's owner publishes so that senders deliver to this server
 * only over verified TLS (RFC 8461): the policy file, to be served at
 * https://mta-sts.DOMAIN/.well-known/mta-sts.txt, and the two TXT records:
 * "_mta-sts.DOMAIN" with a fresh id (the UTC time: a new one each time the
 * policy changes, RFC 8461 3.1) and "_smtp._tls.DOMAIN" with the TLS-RPT
 * rua (RFC 8460 3). The MX names default to the config's hostname, the
 * domains to its local domains. The file is written by the same module that
 * reads policies, and read back before it is printed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

#include "cmd.h"
#include "config_load.h"
#include "mta_sts_policy.h"
#include "self.h"
#include "str.h"
#include "tls_policy.h"

#define DEFAULT_CONFIG "/etc/mailport/mailport.conf"
#define MAX_DOMAINS 16

static void
sts_usage(FILE *out)
{
	fprintf(out,
		"usage: mailport mta-sts policy [-c FILE] [--domain DOMAIN]... [--mx NAME]...\n"
		"                               [--mode enforce|testing] [--max-age SECONDS]\n"
		"                               [--rua mailto:ADDRESS] [--policy-only]\n"
		"\n"
		"Prints the MTA-STS policy file (RFC 8461) for this server's MX names and the\n"
		"two DNS TXT records to publish for each domain: _mta-sts (with a fresh id)\n"
		"and _smtp._tls (TLS-RPT, RFC 8460: where senders mail their daily reports).\n"
		"\n"
		"  -c, --config FILE   the config: hostname and domains (default " DEFAULT_CONFIG
		")\n"
		"  --domain DOMAIN     a domain to publish for (default: the config's domains)\n"
		"  --mx NAME           an MX host name or *.domain pattern (default: the\n"
		"                      config's hostname); repeat for each MX\n"
		"  --mode MODE         testing (default: senders only report) or enforce\n"
		"  --max-age SECONDS   how long senders keep the policy (default 604800, a week;\n"
		"                      at most 31557600)\n"
		"  --rua URI           where TLS reports go (default mailto:postmaster@DOMAIN)\n"
		"  --policy-only       print only the policy file (to save as mta-sts.txt)\n"
		"  -h, --help          show this help\n"
		"\n"
		"exit status: 0 ok, 64 bad usage, 78 the config cannot be read\n");
}

struct sts_opts {
	const char *config;
	bool config_given, policy_only;
	const char *domains[MAX_DOMAINS];
	size_t ndomains;
	const char *rua;
	struct mta_sts_policy p;
};

static int
bad(const char *what, const char *arg)
{
	fprintf(stderr, "mailport mta-sts policy: %s%s%s\n\n", what, arg ? " " : "",
		arg ? arg : "");
	sts_usage(stderr);
	return EX_USAGE;
}

/* One option with its value at argv[*i]; -1 to go on, else the exit code. */
static int
parse_value(const char *a, const char *v, struct sts_opts *o)
{
	if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
		o->config = v;
		o->config_given = true;
	} else if (strcmp(a, "--domain") == 0) {
		if (o->ndomains == MAX_DOMAINS)
			return bad("too many --domain (16 at most)", NULL);
		if (!str_is_dns_name(v))
			return bad("--domain is not a domain name:", v);
		o->domains[o->ndomains++] = v;
	} else if (strcmp(a, "--mx") == 0) {
		char low[256];
		if (!str_copy(low, sizeof low, v) || !mta_sts_is_mx_pattern(v))
			return bad("--mx is not a host name or *.domain (RFC 8461 3.2):", v);
		if (o->p.nmx == MTA_STS_MAX_MX)
			return bad("too many --mx (16 at most)", NULL);
		str_lower(low);
		str_copy(o->p.mx[o->p.nmx++], sizeof o->p.mx[0], low);
	} else if (strcmp(a, "--mode") == 0) {
		if (strcmp(v, "enforce") == 0)
			o->p.mode = MTA_STS_ENFORCE;
		else if (strcmp(v, "testing") == 0)
			o->p.mode = MTA_STS_TESTING;
		else
			return bad("--mode is enforce or testing, not", v);
	} else if (strcmp(a, "--max-age") == 0) {
		uint64_t s;
		if (!str_parse_u64(strv_from(v), &s) || s > MTA_STS_MAX_AGE_MAX)
			return bad("--max-age is 0 to 31557600 seconds, not", v);
		o->p.max_age = (long)s;
	} else if (strcmp(a, "--rua") == 0) {
		char txt[700], rua[600], why[300];
		snprintf(txt, sizeof txt, "v=TLSRPTv1; rua=%s", v);
		if (strlen(v) > 500 ||
		    tlsrpt_record_parse(txt, rua, sizeof rua, why, sizeof why) < 0)
			return bad("--rua is not mailto:ADDRESS or an https: URI (RFC 8460 3):", v);
		o->rua = v;
	} else {
		return bad("unknown option", a);
	}
	return -1;
}

static int
parse_args(int argc, char **argv, struct sts_opts *o)
{
	if (argc < 2 || strcmp(argv[1], "policy") != 0) {
		bool help =
		    argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0);
		if (!help)
			fprintf(stderr,
				"mailport mta-sts: %s; the only subcommand is \"policy\"\n\n",
				argc < 2 ? "missing subcommand" : "unknown subcommand");
		sts_usage(help ? stdout : stderr);
		return help ? 0 : EX_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			sts_usage(stdout);
			return 0;
		}
		if (strcmp(a, "--policy-only") == 0) {
			o->policy_only = true;
			continue;
		}
		if (a[0] != '-')
			return bad("unexpected argument", a);
		if (i + 1 >= argc)
			return bad("missing value after", a);
		int rc = parse_value(a, argv[++i], o);
		if (rc >= 0)
			return rc;
	}
	return -1;
}

/* Fill what the options left out from the config; -1 to go on, else the exit code. */
static int
defaults_from_config(struct sts_opts *o, struct config *cfg)
{
	char err[4096];
	struct stat st;
	bool need = o->p.nmx == 0 || (o->ndomains == 0 && !o->policy_only);
	if (!need && !o->config_given)
		return -1;
	if (!o->config_given && stat(o->config, &st) < 0) {
		fprintf(
		    stderr,
		    "mailport mta-sts policy: no config at %s to take the %s from; give -c FILE, "
		    "or %s\n",
		    o->config, o->p.nmx == 0 ? "MX name (its hostname)" : "domains",
		    o->p.nmx == 0 ? "--mx NAME" : "--domain DOMAIN");
		return EX_CONFIG;
	}
	if (config_load_file(o->config, cfg, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return EX_CONFIG;
	}
	if (o->p.nmx == 0) {
		const char *h = cfg->hostname[0] ? cfg->hostname : self_hostname();
		char low[256];
		str_copy(low, sizeof low, h);
		str_lower(low);
		if (!mta_sts_is_mx_pattern(low) || strchr(low, '.') == NULL) {
			fprintf(stderr,
				"mailport mta-sts policy: the hostname \"%s\" is not the full name "
				"of an MX host; set \"hostname\" in %s to the name your MX record "
				"points at, or give --mx NAME\n",
				h, o->config);
			return EX_CONFIG;
		}
		str_copy(o->p.mx[o->p.nmx++], sizeof o->p.mx[0], low);
	}
	for (size_t i = 0; o->ndomains == 0 && i < cfg->ndomains && i < MAX_DOMAINS; i++)
		o->domains[i] = cfg->domains[i];
	if (o->ndomains == 0)
		o->ndomains = cfg->ndomains < MAX_DOMAINS ? cfg->ndomains : MAX_DOMAINS;
	return -1;
}

/* The two records for one domain. */
static void
print_records(const struct sts_opts *o, const char *domain, const char *id)
{
	char rua[600], txt[700];
	if (o->rua)
		str_copy(rua, sizeof rua, o->rua);
	else
		snprintf(rua, sizeof rua, "mailto:postmaster@%s", domain);
	snprintf(txt, sizeof txt, "v=TLSRPTv1; rua=%s", rua);
	printf("_mta-sts.%s. TXT \"v=STSv1; id=%s\"\n", domain, id);
	printf("_smtp._tls.%s. TXT \"%s\"\n", domain, txt);
}

int
cmd_mta_sts(int argc, char **argv)
{
	static struct config cfg; /* large: not on the stack */
	static struct sts_opts o;
	memset(&o, 0, sizeof o);
	o.config = DEFAULT_CONFIG;
	o.p.mode = MTA_STS_TESTING;
	o.p.max_age = 604800;
	int rc = parse_args(argc, argv, &o);
	if (rc < 0)
		rc = defaults_from_config(&o, &cfg);
	if (rc >= 0)
		return rc;
	char file[MTA_STS_MAX_MX * 300 + 200], why[300], id[32];
	struct mta_sts_policy back;
	int len = mta_sts_policy_format(&o.p, file, sizeof file);
	/* What we print, our reader must take: the same check senders make. */
	if (len < 0 || mta_sts_policy_parse(file, (size_t)len, &back, why, sizeof why) < 0) {
		fprintf(stderr, "mailport mta-sts policy: the policy would not be valid (%s)\n",
			len < 0 ? "a bad value" : why);
		return EX_SOFTWARE;
	}
	if (o.policy_only) {
		fwrite(file, 1, (size_t)len, stdout);
		return 0;
	}
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(id, sizeof id, "%Y%m%d%H%M%S", &tm);
	printf("# The policy file. Serve it as text/plain at\n");
	for (size_t i = 0; i < o.ndomains; i++)
		printf("#   https://mta-sts.%s/.well-known/mta-sts.txt\n", o.domains[i]);
	printf("# with a certificate for that name from a CA senders trust. Start with mode\n"
	       "# testing, read the TLS reports, then switch to enforce (and a new id).\n");
	printf("-----BEGIN POLICY-----\n");
	fwrite(file, 1, (size_t)len, stdout);
	printf("-----END POLICY-----\n\n");
	printf("# The DNS records (publish the _mta-sts one last, once the file is served;\n"
	       "# change its id whenever the file changes):\n");
	for (size_t i = 0; i < o.ndomains; i++)
		print_records(&o, o.domains[i], id);
	if (o.ndomains == 0)
		printf("# (no domains: give --domain DOMAIN or list them in the config)\n");
	return 0;
}
