/*
 * hostport: the "HOST[:PORT]" value of the config (config.h's
 * config_hostport), parsed once here into its typed form so that the
 * server, delivery and the resolver never split text again; and the
 * pieces of that syntax that "listen HOST:PORT" shares (see hostport.h).
 * Pure: inet_pton and inet_ntop only convert, they touch no network.
 */
#include "hostport.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conf_text.h"
#include "str.h"

bool
hostport_parse_port(const char *s, unsigned short *port_r)
{
	uint64_t v;
	if (!str_parse_u64(strv_from(s), &v) || v < 1 || v > 65535)
		return false;
	*port_r = (unsigned short)v;
	return true;
}

bool
hostport_split(char *s, char **host_r, char **port_r, bool *bracketed_r)
{
	*port_r = NULL;
	*bracketed_r = s[0] == '[';
	if (*bracketed_r) {
		char *end = strchr(s, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return false;
		*end = '\0';
		*host_r = s + 1;
		if (end[1] == ':')
			*port_r = end + 2;
		return true;
	}
	*host_r = s;
	char *colon = strchr(s, ':');
	if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		*colon = '\0';
		*port_r = colon + 1;
	}
	return true;
}

bool
hostport_canonical_ip(const char *host, int family, char *out, size_t size)
{
	unsigned char addr[16];
	if (inet_pton(family, host, addr) != 1)
		return false;
	return inet_ntop(family, addr, out, (socklen_t)size) != NULL;
}

int
config_hostport_parse(const char *word, bool names_ok, struct config_hostport *hp_r,
		      bool *bad_port_r)
{
	char copy[300], *host, *port, ip[64];
	bool bracketed;
	*bad_port_r = false;
	memset(hp_r, 0, sizeof *hp_r);
	if (!str_copy(copy, sizeof copy, word) || !hostport_split(copy, &host, &port, &bracketed))
		return -1;
	if (port != NULL && !hostport_parse_port(port, &hp_r->port)) {
		*bad_port_r = true;
		return -1;
	}
	/* IP literals in canonical form, names lower-cased: equal values compare equal. */
	const char *value = ip;
	if (hostport_canonical_ip(host, AF_INET6, ip, sizeof ip))
		hp_r->is_ipv6 = true;
	else if (bracketed)
		return -1; /* only an IPv6 address goes in brackets */
	else if (!hostport_canonical_ip(host, AF_INET, ip, sizeof ip)) {
		if (!names_ok || !conf_is_hostname(host))
			return -1;
		value = host;
	}
	if (!str_copy(hp_r->host, sizeof hp_r->host, value))
		return -1;
	str_lower(hp_r->host);
	return 0;
}

void
config_hostport_format(const struct config_hostport *hp, char *out, size_t size)
{
	if (size == 0)
		return;
	if (hp->host[0] == '\0')
		out[0] = '\0';
	else if (hp->port == 0)
		snprintf(out, size, "%s", hp->host);
	else
		snprintf(out, size, hp->is_ipv6 ? "[%s]:%u" : "%s:%u", hp->host, hp->port);
}

bool
config_hostport_eq(const struct config_hostport *a, const struct config_hostport *b)
{
	return strcmp(a->host, b->host) == 0 && a->port == b->port;
}
