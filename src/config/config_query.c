/*
 * config_query: the questions the server asks of a parsed config (is a
 * domain ours, must mail to it use TLS, how many connections may a door
 * take), apart from the parser that fills it.
 */
#include <string.h>

#include "config.h"
#include "str.h"

bool
config_is_local_domain(const struct config *cfg, const char *domain)
{
	if (domain == NULL)
		return false;
	size_t len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--; /* the root's dot: "example.test." is example.test */
	for (size_t i = 0; i < cfg->ndomains; i++)
		if (strv_eq_ci((struct strv){domain, len}, cfg->domains[i]))
			return true;
	return false;
}

bool
config_tls_level(const struct config *cfg, const char *domain, enum tls_level *level_r)
{
	for (size_t i = 0; i < cfg->ntls_policies; i++)
		if (str_eq_ci(cfg->tls_policies[i].domain, domain)) {
			*level_r = cfg->tls_policies[i].level;
			return true;
		}
	*level_r = cfg->tls_default;
	return false;
}

unsigned
config_door_cap(const struct config *cfg, const struct config_listener *l, bool *shared_r)
{
	*shared_r = false;
	if (l->max_connections)
		return l->max_connections;
	if (l->policy->service != SVC_SMTP)
		return 0;
	*shared_r = true;
	unsigned n = cfg->max_connections - cfg->max_connections / 5;
	return n ? n : 1;
}
