/*
 * probe_domain: --domain-check's wiring (see the header). The config is
 * optional: without one there is no hostname (give --ip for the SPF
 * coverage) and no local key (give --selector).
 */
#include "probe_domain.h"

#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "auth_dns.h"
#include "client_run.h"
#include "dns.h"
#include "config_load.h"
#include "dkim_keys.h"
#include "https_get.h"
#include "str.h"

#define DEFAULT_CONFIG "/etc/mailport/mailport.conf"

/* How the MTA-STS policy is fetched: the config's outbound-cafile, the probe's time bound. */
struct sts_fetch_ctx {
	const char *cafile;
	long timeout_ms;
};

static enum mta_sts_fetch_rc
sts_fetch(void *ctx, const char *domain, const char (*addrs)[64], size_t naddrs,
	  struct mta_sts_policy *p, char *why, size_t n)
{
	const struct sts_fetch_ctx *f = ctx;
	struct mta_sts_fetch_opts o = {.cafile = f->cafile, .timeout_ms = f->timeout_ms};
	return mta_sts_fetch(domain, addrs, naddrs, &o, p, NULL, why, n);
}

/* ---- the DANE check's effects: DNS with the AD bit, a STARTTLS to port 25 ---- */

struct dane_ctx {
	struct dns *dns;
	const char *ehlo_name;
	long timeout_ms;
};

static enum ma_dns_rc
dane_mx(void *ctx, const char *domain, struct ma_dns_answer *out, bool *ad_r)
{
	struct dane_ctx *d = ctx;
	return dns_lookup_ad(d->dns, MA_RR_MX, domain, dns_now_ms() + d->timeout_ms, out, ad_r);
}

static bool
dane_addrs_secure(void *ctx, const char *host)
{
	struct dane_ctx *d = ctx;
	char addrs[DNS_MAX_ADDRS][64];
	size_t n = 0;
	int dnssec = 0;
	return dns_addrs_ad(d->dns, host, addrs, &n, &dnssec) == DNS_OK && dnssec > 0;
}

static enum ma_dns_rc
dane_tlsa(void *ctx, const char *host, struct dns_tlsa *out, size_t max, size_t *n_r, bool *ad_r,
	  char *why, size_t why_size)
{
	struct dane_ctx *d = ctx;
	enum dns_status st = dns_tlsa(d->dns, host, 25, out, max, n_r, ad_r, why, why_size);
	return st == DNS_OK	    ? MA_DNS_OK
	       : st == DNS_NXDOMAIN ? MA_DNS_NXDOMAIN
	       : st == DNS_TEMPFAIL ? MA_DNS_TEMPFAIL
				    : MA_DNS_NODATA;
}

/* EHLO, STARTTLS, then QUIT: the certificate, judged by DANE when t is given. */
static int
dane_tls(void *ctx, const char *host, const struct dns_tlsa *t, size_t n, struct tls_info *ti,
	 bool *no_starttls_r, char *why, size_t why_size)
{
	struct dane_ctx *d = ctx;
	char addrs[DNS_MAX_ADDRS][64];
	size_t naddrs = 0;
	*no_starttls_r = false;
	if (dns_addrs(d->dns, host, addrs, &naddrs) != DNS_OK || naddrs == 0) {
		snprintf(why, why_size, "%s has no address", host);
		return -1;
	}
	/* insecure: the verdict is read from ti, the handshake must finish to show it. */
	struct client_conn_opts copts = {.host = host,
					 .port = 25,
					 .connect_addr = addrs[0],
					 .timeout_ms = (int)d->timeout_ms,
					 .insecure = true,
					 .tlsa = n ? t : NULL,
					 .ntlsa = n};
	struct smtp_client_config cfg = {.ehlo_name = d->ehlo_name,
					 .tls = CLIENT_TLS_STARTTLS,
					 .host = host,
					 .port = 25,
					 .stop_after_auth = true};
	struct client_run_result r;
	client_run(&copts, &cfg, NULL, NULL, 0, NULL, &r, NULL);
	if (r.tls_used) {
		*ti = r.tls;
		return 0;
	}
	*no_starttls_r = r.smtp.failure == CLIENT_STARTTLS_MISSING;
	snprintf(why, why_size, "%s[%s]:25: %s", host, addrs[0],
		 r.conn.detail[0]	? r.conn.detail
		 : r.smtp.reply.text[0] ? r.smtp.reply.text
					: smtp_client_failure_name(r.smtp.failure));
	return -1;
}

/* The config to read: -c, else the default when there is one we can read; NULL for none. */
static const char *
config_path(const struct probe_domain_opts *po)
{
	if (po->config != NULL)
		return po->config;
	return access(DEFAULT_CONFIG, R_OK) == 0 ? DEFAULT_CONFIG : NULL;
}

/*
 * The configured keys of the domain, loaded (a key that cannot be read,
 * e.g. root's 0600 file when not root, is kept with its error: the check
 * then looks at the published record alone); their selectors are the ones
 * checked when none was given.
 */
static void
local_keys(const struct config *cfg, const char *domain, struct domain_check_opts *o,
	   struct dkim_key *loaded, struct dc_local_key *keys, size_t *nkeys)
{
	*nkeys = 0;
	for (size_t i = 0; i < cfg->ndkim && *nkeys < DC_MAX_SELECTORS; i++) {
		if (!str_eq_ci(cfg->dkim[i].domain, domain))
			continue;
		struct dc_local_key *k = &keys[*nkeys];
		struct dkim_key *dk = &loaded[(*nkeys)++];
		k->selector = cfg->dkim[i].selector;
		k->key =
		    dkim_key_load(&cfg->dkim[i], dk, k->error, sizeof k->error) == 0 ? dk : NULL;
	}
	if (o->nselectors == 0)
		for (size_t i = 0; i < *nkeys; i++)
			o->selectors[o->nselectors++] = keys[i].selector;
}

/* The domain as DNS asks for it: A-labels (IDNA2008) for a name in Unicode. */
static bool
domain_ascii(const char *in, char *out, size_t size)
{
	char *ascii = NULL;
	int rc = idn2_to_ascii_8z(in, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	bool ok =
	    rc == IDN2_OK && ascii != NULL && str_copy(out, size, ascii) && str_is_dns_name(out);
	idn2_free(ascii);
	return ok;
}

int
probe_domain_run(const struct probe_domain_opts *po, struct domain_report *r, int *exit_r)
{
	static struct config cfg; /* large: not on the stack */
	static struct dc_local_key keys[DC_MAX_SELECTORS];
	static struct dkim_key loaded[DC_MAX_SELECTORS];
	char err[2048], resolver[300] = "";
	static char domain[256];
	if (!domain_ascii(po->domain, domain, sizeof domain)) {
		fprintf(stderr,
			"mailport probe: \"%s\" is not a domain name; give the domain "
			"whose mail you send, e.g. example.com\n",
			po->domain);
		*exit_r = EX_USAGE;
		return -1;
	}
	static struct sts_fetch_ctx fetch;
	fetch.cafile = NULL;
	fetch.timeout_ms = po->timeout_ms;
	struct domain_check_opts o = {.domain = domain,
				      .now = (int64_t)time(NULL),
				      .sts_fetch = sts_fetch,
				      .sts_ctx = &fetch};
	size_t nkeys = 0;
	for (size_t i = 0; i < po->nselectors; i++)
		o.selectors[o.nselectors++] = po->selectors[i];
	for (size_t i = 0; i < po->nips; i++)
		o.ips[o.nips++] = po->ips[i];
	const char *path = config_path(po);
	if (path != NULL) {
		if (config_load_file(path, &cfg, err, sizeof err) != 0) {
			fprintf(stderr, "mailport probe: %s\n", err);
			*exit_r = EX_CONFIG;
			return -1;
		}
		/* Empty: the system's name, as serve uses it. */
		if (!cfg.hostname[0] && gethostname(cfg.hostname, sizeof cfg.hostname - 1) < 0)
			cfg.hostname[0] = '\0';
		if (cfg.hostname[0])
			o.hostname = cfg.hostname;
		local_keys(&cfg, domain, &o, loaded, keys, &nkeys);
		if (cfg.outbound_cafile[0])
			fetch.cafile = cfg.outbound_cafile;
		if (cfg.resolver.host[0])
			config_hostport_format(&cfg.resolver, resolver, sizeof resolver);
	}
	o.keys = keys;
	o.nkeys = nkeys;
	if (po->resolver != NULL)
		str_copy(resolver, sizeof resolver, po->resolver);
	struct auth_dns *dns =
	    auth_dns_new(resolver[0] ? resolver : NULL, po->timeout_ms, err, sizeof err);
	if (dns == NULL) {
		fprintf(stderr, "mailport probe: %s\n", err);
		*exit_r = EX_USAGE;
		return -1;
	}
	/* Every lookup of the run together: at most three times one query's bound. */
	auth_dns_start(dns, po->timeout_ms * 3);
	struct ma_dns iface = auth_dns_iface(dns);
	if (https_get_global_init(err, sizeof err) < 0)
		o.sts_fetch = NULL; /* the check then says the policy is not fetched */
	str_copy(r->domain, sizeof r->domain, domain);
	str_copy(r->resolver, sizeof r->resolver, resolver);
	static struct dane_ctx dane;
	static const struct dc_dane_io dane_io = {.mx = dane_mx,
						  .addrs_secure = dane_addrs_secure,
						  .tlsa = dane_tlsa,
						  .tls = dane_tls,
						  .ctx = &dane};
	dane.dns = dns_new(resolver[0] ? resolver : NULL, (int)po->timeout_ms, err, sizeof err);
	dane.ehlo_name = o.hostname ? o.hostname : "localhost";
	dane.timeout_ms = po->timeout_ms;
	o.dane = dane.dns ? &dane_io : NULL;
	domain_check_run(&o, &iface, r);
	dns_free(&dane.dns);
	auth_dns_free(&dns);
	for (size_t i = 0; i < nkeys; i++)
		if (keys[i].key != NULL)
			dkim_key_release(&loaded[i]);
	return 0;
}
