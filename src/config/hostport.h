/*
 * hostport: the "HOST[:PORT]" syntax of mailport.conf, shared by the
 * config_hostport type (relayhost, resolver; declared in config.h) and by
 * the listen directive, which has its own messages and rules ("*",
 * "localhost", a port required). For src/config's own files. Pure.
 */
#ifndef MP_HOSTPORT_H
#define MP_HOSTPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* A port number 1..65535 written in decimal. */
bool hostport_parse_port(const char *s, unsigned short *port_r);

/*
 * Split "HOST", "HOST:PORT", "[V6]" or "[V6]:PORT" in place. *port_r is
 * NULL without a port. A bare IPv6 address (two colons or more) is all
 * host. False when a bracket is not closed or junk follows it.
 */
bool hostport_split(char *s, char **host_r, char **port_r, bool *bracketed_r);

/*
 * host, an IP literal of family (AF_INET, AF_INET6), in inet_ntop's
 * canonical form into out[size], so duplicates compare equal.
 */
bool hostport_canonical_ip(const char *host, int family, char *out, size_t size);

#endif
