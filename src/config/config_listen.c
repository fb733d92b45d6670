/*
 * config_listen: the "listen HOST:PORT SERVICE [max-connections N] [proxy]"
 * lines: the address, the service, a clash with another door, the options.
 */
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_text.h"
#include "config_int.h"
#include "hostport.h"
#include "str.h"

static const struct policy *
listen_service(struct parse_ctx *pc, const char *word)
{
	char name[32], e[CONF_ESC_SIZE];
	const struct policy *p = NULL;
	if (str_copy(name, sizeof name, word)) {
		str_lower(name);
		p = policy_by_name(name);
	}
	if (p != NULL)
		return p;
	const char *hint = "";
	if (strcmp(name, "smtps") == 0 || strcmp(name, "ssl") == 0 || strcmp(name, "tls") == 0)
		hint = "did you mean submissions? ";
	else if (word[0] >= '0' && word[0] <= '9')
		hint = "the service is a name, not a port number; ";
	fail(pc,
	     "unknown service \"%s\"; %suse smtp (relay/MX, port 25), submission (STARTTLS "
	     "then AUTH, ports 587 and 2525) or submissions (implicit TLS, port 465)",
	     conf_esc(e, word), hint);
	return NULL;
}

/* Another listener on the same address and port, or one that covers it. */
static int
listen_check_clash(struct parse_ctx *pc, const struct config_listener *l)
{
	const struct config *cfg = pc->cfg;
	bool v6 = strchr(l->host, ':') != NULL;
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct config_listener *o = &cfg->listeners[i];
		bool o_v6 = strchr(o->host, ':') != NULL;
		if (o->port != l->port || v6 != o_v6)
			continue;
		if (strcmp(o->host, l->host) == 0)
			return fail(pc,
				    "%s%s%s:%u is already a listener (line %d); remove one of "
				    "the two lines",
				    v6 ? "[" : "", l->host, v6 ? "]" : "", l->port, o->line);
		const char *any = v6 ? "::" : "0.0.0.0";
		if (strcmp(o->host, any) == 0 || strcmp(l->host, any) == 0)
			return fail(pc,
				    "port %u is already taken on all addresses by line %d, so "
				    "this listener could not be bound; remove one of the two lines",
				    l->port, o->line);
	}
	return 0;
}

/*
 * What may follow the service, in any order, each at most once:
 * "max-connections N" and "proxy" (a PROXY protocol header comes first).
 */
static int
listen_options(struct parse_ctx *pc, struct config_listener *l, char **argv, int argc)
{
	char e[CONF_ESC_SIZE];
	uint64_t v;
	bool seen_max = false;
	for (int i = 0; i < argc; i++) {
		if (str_eq_ci(argv[i], "proxy") && !l->proxy) {
			l->proxy = true;
			continue;
		}
		if (!str_eq_ci(argv[i], "max-connections") || seen_max)
			return fail(pc,
				    "unknown or repeated listen option \"%s\"; the options are "
				    "max-connections N and proxy, e.g. \"listen %s%s%s:%u %s "
				    "max-connections 200 proxy\"",
				    conf_esc(e, argv[i]), strchr(l->host, ':') ? "[" : "", l->host,
				    strchr(l->host, ':') ? "]" : "", l->port, l->policy->name);
		if (i + 1 >= argc || !str_parse_u64(strv_from(argv[i + 1]), &v) || v < 1 ||
		    v > 1000000)
			return fail(
			    pc,
			    "bad max-connections \"%s\" for this door; use a whole number "
			    "from 1 to 1000000, e.g. \"listen 0.0.0.0:25 smtp max-connections "
			    "800\"",
			    i + 1 >= argc ? "" : conf_esc(e, argv[i + 1]));
		l->max_connections = (unsigned)v;
		seen_max = true;
		i++;
	}
	return 0;
}

int
parse_listen(struct parse_ctx *pc, char **argv, int argc)
{
	struct config *cfg = pc->cfg;
	struct config_listener l = {.line = pc->line};
	char e[CONF_ESC_SIZE], *host, *port;
	bool bracketed;
	(void)argc;
	if ((l.policy = listen_service(pc, argv[2])) == NULL)
		return -1;
	if (!hostport_split(argv[1], &host, &port, &bracketed) || (!bracketed && strchr(host, ':')))
		return fail(pc,
			    "cannot read the address \"%s\"; write HOST:PORT, with an IPv6 "
			    "address in brackets, e.g. \"listen [::1]:%u %s\"",
			    conf_esc(e, argv[1]), l.policy->default_port, l.policy->name);
	if (port == NULL)
		return fail(pc, "the address \"%s\" has no port; add one, e.g. \"listen %s:%u %s\"",
			    conf_esc(e, host), bracketed ? "[::1]" : "127.0.0.1",
			    l.policy->default_port, l.policy->name);
	if (!bracketed && strcmp(host, "*") == 0)
		host = "0.0.0.0";
	else if (!bracketed && str_eq_ci(host, "localhost"))
		host = "127.0.0.1";
	if (!hostport_canonical_ip(host, bracketed ? AF_INET6 : AF_INET, l.host, sizeof l.host))
		return fail(pc,
			    "\"%s\" is not an IP address; listen takes 127.0.0.1, [::1], or * "
			    "for every IPv4 address ([::] for every IPv6 address)",
			    conf_esc(e, host));
	if (!hostport_parse_port(port, &l.port))
		return fail(pc,
			    "bad port \"%s\"; use a number from 1 to 65535, e.g. \"listen "
			    "127.0.0.1:%u %s\"",
			    conf_esc(e, port), l.policy->default_port, l.policy->name);
	if (listen_check_clash(pc, &l) < 0 || listen_options(pc, &l, argv + 3, argc - 3) < 0)
		return -1;
	if (cfg->nlisteners == CONFIG_MAX_LISTENERS)
		return fail(pc,
			    "too many listen lines (at most %d); remove some, or listen on * "
			    "instead of one line per address",
			    CONFIG_MAX_LISTENERS);
	cfg->listeners[cfg->nlisteners++] = l;
	return 0;
}
