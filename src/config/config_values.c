/*
 * config_values: the directives whose value is a number, a duration, a
 * policy word or a small record (limits, durations, tls-policy, dkim,
 * dmarc-policy, tls-report, log, metrics).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_text.h"
#include "config_int.h"
#include "hostport.h"
#include "smtp_addr.h"
#include "str.h"

/* A number with an optional K, M or G (binary) suffix and an optional B. */
static bool
parse_size(const char *s, uint64_t *out_r)
{
	char digits[32];
	size_t n = strspn(s, "0123456789");
	unsigned shift = 0;
	if (n == 0 || !str_copy_n(digits, sizeof digits, s, n) ||
	    !str_parse_u64(strv_from(digits), out_r))
		return false;
	switch (s[n] | 0x20) {
	case 'k':
		shift = 10, n++;
		break;
	case 'm':
		shift = 20, n++;
		break;
	case 'g':
		shift = 30, n++;
		break;
	default:
		break;
	}
	if ((s[n] | 0x20) == 'b')
		n++;
	if (s[n] != '\0' || *out_r > (UINT64_MAX >> shift))
		return false;
	*out_r <<= shift;
	return true;
}

/* The numeric directives: the table gives the field and the range. */
int
parse_limit(struct parse_ctx *pc, char **argv, int argc)
{
	const struct directive *d = pc->dir;
	char e[CONF_ESC_SIZE];
	uint64_t v;
	bool ok = d->is_u64 ? parse_size(argv[1], &v) : str_parse_u64(strv_from(argv[1]), &v);
	(void)argc;
	if (!ok || v < d->min || v > d->max)
		return fail(pc, "bad %s \"%s\"; use a whole number from %llu to %llu, e.g. %s",
			    d->name, conf_esc(e, argv[1]), (unsigned long long)d->min,
			    (unsigned long long)d->max, strchr(d->usage, '"'));
	void *field = (char *)pc->cfg + d->offset;
	if (d->is_u64)
		memcpy(field, &v, sizeof v);
	else
		*(unsigned *)field = (unsigned)v;
	return 0;
}

/* A number of seconds, or with an s, m, h or d suffix. */
int
parse_duration(struct parse_ctx *pc, char **argv, int argc)
{
	const struct directive *d = pc->dir;
	char e[CONF_ESC_SIZE], digits[32];
	uint64_t v;
	size_t n = strlen(argv[1]);
	static const struct {
		char suffix;
		unsigned seconds;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	unsigned mult = 1;
	for (size_t i = 0; n > 1 && i < sizeof units / sizeof units[0]; i++)
		if (argv[1][n - 1] == units[i].suffix) {
			mult = units[i].seconds;
			n--;
		}
	(void)argc;
	if (!str_copy_n(digits, sizeof digits, argv[1], n) ||
	    !str_parse_u64(strv_from(digits), &v) || v > d->max / mult || v * mult < d->min)
		return fail(pc, "bad %s \"%s\"; use a duration like 30s, 5m, 1h or 5d, e.g. %s",
			    d->name, conf_esc(e, argv[1]), strchr(d->usage, '"'));
	*(unsigned *)((char *)pc->cfg + d->offset) = (unsigned)(v * mult);
	return 0;
}

int
parse_tls_policy(struct parse_ctx *pc, char **argv, int argc)
{
	char e[CONF_ESC_SIZE];
	struct config *cfg = pc->cfg;
	enum tls_level level;
	(void)argc;
	if (tls_level_parse(argv[2], &level) < 0)
		return fail(pc,
			    "tls-policy: \"%s\" is not a level; use may, encrypt, verify, dane or "
			    "dane-only (require = encrypt)",
			    conf_esc(e, argv[2]));
	if (strcmp(argv[1], "default") == 0) {
		cfg->tls_default = level;
		return 0;
	}
	if (!conf_is_hostname(argv[1]))
		return fail(pc, "tls-policy: \"%s\" is not a domain name (or \"default\")",
			    conf_esc(e, argv[1]));
	for (size_t i = 0; i < cfg->ntls_policies; i++)
		if (str_eq_ci(cfg->tls_policies[i].domain, argv[1]))
			return fail(pc, "tls-policy: %s has a level already; keep one line",
				    conf_esc(e, argv[1]));
	if (cfg->ntls_policies == CONFIG_MAX_DOMAINS)
		return fail(pc, "too many tls-policy lines (at most %d)", CONFIG_MAX_DOMAINS);
	struct config_tls_policy *tp = &cfg->tls_policies[cfg->ntls_policies++];
	str_copy(tp->domain, sizeof tp->domain, argv[1]);
	str_lower(tp->domain);
	tp->level = level;
	return 0;
}

int
parse_dkim(struct parse_ctx *pc, char **argv, int argc)
{
	char e[CONF_ESC_SIZE];
	struct config *cfg = pc->cfg;
	(void)argc;
	if (!conf_is_hostname(argv[1]))
		return fail(pc, "dkim: \"%s\" is not a domain name", conf_esc(e, argv[1]));
	/* RFC 6376 3.1: a selector is dot-separated labels of letters, digits and '-'. */
	if (!conf_is_hostname(argv[2]))
		return fail(pc, "dkim: \"%s\" is not a selector (letters, digits, '-' and '.')",
			    conf_esc(e, argv[2]));
	if (cfg->ndkim == CONFIG_MAX_DKIM)
		return fail(pc, "too many dkim lines (at most %d)", CONFIG_MAX_DKIM);
	struct config_dkim *k = &cfg->dkim[cfg->ndkim];
	for (size_t i = 0; i < cfg->ndkim; i++)
		if (strcasecmp(cfg->dkim[i].domain, argv[1]) == 0 &&
		    strcasecmp(cfg->dkim[i].selector, argv[2]) == 0)
			return fail(pc, "dkim: %s selector %s is given twice; keep one line",
				    conf_esc(e, argv[1]), argv[2]);
	str_copy(k->domain, sizeof k->domain, argv[1]);
	str_lower(k->domain);
	str_copy(k->selector, sizeof k->selector, argv[2]);
	if (join_path(pc, k->keyfile, sizeof k->keyfile, argv[3]) < 0)
		return -1;
	cfg->ndkim++;
	return 0;
}

int
parse_tls_report(struct parse_ctx *pc, char **argv, int argc)
{
	char e[CONF_ESC_SIZE];
	(void)argc;
	if (strcmp(argv[1], "on") == 0 || strcmp(argv[1], "off") == 0)
		pc->cfg->tls_report_off = strcmp(argv[1], "off") == 0;
	else
		return fail(pc,
			    "tls-report: \"%s\" is not on or off; use \"tls-report off\" to "
			    "stop counting and sending TLS reports",
			    conf_esc(e, argv[1]));
	return 0;
}

int
parse_tls_report_from(struct parse_ctx *pc, char **argv, int argc)
{
	char e[CONF_ESC_SIZE];
	struct smtp_addr a;
	(void)argc;
	if (smtp_addr_parse_mailbox(strv_from(argv[1]), false, &a) != ADDR_OK ||
	    !str_copy(pc->cfg->tls_report_from, sizeof pc->cfg->tls_report_from, argv[1]))
		return fail(pc,
			    "tls-report-from: \"%s\" is not a mail address; use "
			    "local@domain, e.g. \"tls-report-from tlsrpt@example.test\"",
			    conf_esc(e, argv[1]));
	return 0;
}

int
parse_dmarc_policy(struct parse_ctx *pc, char **argv, int argc)
{
	char e[CONF_ESC_SIZE];
	(void)argc;
	if (strcmp(argv[1], "enforce") == 0)
		pc->cfg->dmarc_policy = CONFIG_DMARC_ENFORCE;
	else if (strcmp(argv[1], "report-only") == 0)
		pc->cfg->dmarc_policy = CONFIG_DMARC_REPORT_ONLY;
	else
		return fail(pc, "dmarc-policy: \"%s\" is not a policy; use enforce or report-only",
			    conf_esc(e, argv[1]));
	return 0;
}

int
parse_log(struct parse_ctx *pc, char **argv, int argc)
{
	(void)argc;
	if (strcmp(argv[1], "stderr") == 0)
		pc->cfg->log = CONFIG_LOG_STDERR;
	else if (strcmp(argv[1], "syslog") == 0)
		pc->cfg->log = CONFIG_LOG_SYSLOG;
	else if (join_path(pc, pc->cfg->log_file, sizeof pc->cfg->log_file, argv[1]) < 0)
		return -1;
	else
		pc->cfg->log = CONFIG_LOG_FILE;
	return 0;
}

int
parse_metrics(struct parse_ctx *pc, char **argv, int argc)
{
	(void)argc;
	if (parse_host_port(pc, argv[1], false, &pc->cfg->metrics) < 0)
		return -1;
	if (pc->cfg->metrics.port == 0)
		return fail(pc, "metrics needs a port, e.g. \"metrics 127.0.0.1:9587\" (keep it on "
				"loopback or a private network: the counters are not secret, but "
				"they are nobody else's business)");
	return 0;
}
