/*
 * config_dovecot: the values of the Dovecot directives, "deliver
 * maildir|lmtp ENDPOINT" and "auth dovecot ENDPOINT" (config.c's table
 * calls in here), and the endpoint type they share: a Unix socket
 * ("unix:/run/dovecot/lmtp" or "/run/dovecot/auth-client", as Postfix
 * writes them) or a TCP "HOST:PORT" (a port required: LMTP has no
 * well-known one, and Dovecot's auth listens where its config says).
 * Pure, like config.c.
 */
#include <stdio.h>
#include <string.h>

#include "conf_text.h"
#include "config.h"
#include "str.h"

int
config_endpoint_parse(const char *word, struct config_endpoint *ep_r, char *err, size_t err_size)
{
	char e[CONF_ESC_SIZE];
	memset(ep_r, 0, sizeof *ep_r);
	const char *path = NULL;
	if (strncmp(word, "unix:", 5) == 0)
		path = word + 5;
	else if (word[0] == '/')
		path = word;
	if (path != NULL) {
		if (path[0] != '/') {
			snprintf(err, err_size,
				 "\"%s\": a socket path must be absolute (the server changes "
				 "folder and user), e.g. unix:/run/dovecot/lmtp",
				 conf_esc(e, word));
			return -1;
		}
		if (!str_copy(ep_r->unix_path, sizeof ep_r->unix_path, path)) {
			snprintf(err, err_size,
				 "\"%s\": a Unix socket path has at most %zu bytes; use a shorter "
				 "path or HOST:PORT",
				 conf_esc(e, word), sizeof ep_r->unix_path - 1);
			return -1;
		}
		return 0;
	}
	bool bad_port = false;
	if (strlen(word) > 260 || config_hostport_parse(word, true, &ep_r->hp, &bad_port) < 0 ||
	    ep_r->hp.port == 0) {
		snprintf(err, err_size,
			 "cannot read \"%s\"; write unix:/PATH for a Unix socket or HOST:PORT "
			 "(the port is required), e.g. unix:/run/dovecot/lmtp or 127.0.0.1:24",
			 conf_esc(e, word));
		return -1;
	}
	return 0;
}

void
config_endpoint_format(const struct config_endpoint *ep, char *out, size_t size)
{
	if (ep->unix_path[0])
		snprintf(out, size, "unix:%s", ep->unix_path);
	else
		config_hostport_format(&ep->hp, out, size);
}

/* "deliver maildir" or "deliver lmtp ENDPOINT". */
int
config_parse_deliver(struct config *cfg, char **argv, int argc, char *err, size_t err_size)
{
	char e[CONF_ESC_SIZE];
	if (strcmp(argv[1], "maildir") == 0 && argc == 2) {
		cfg->deliver = CONFIG_DELIVER_MAILDIR;
		return 0;
	}
	if (strcmp(argv[1], "lmtp") == 0 && argc == 3) {
		if (config_endpoint_parse(argv[2], &cfg->lmtp, err, err_size) < 0)
			return -1;
		cfg->deliver = CONFIG_DELIVER_LMTP;
		return 0;
	}
	if (strcmp(argv[1], "lmtp") == 0)
		snprintf(err, err_size,
			 "deliver lmtp needs the server's socket; write \"deliver lmtp "
			 "unix:/run/dovecot/lmtp\" or \"deliver lmtp HOST:PORT\"");
	else
		snprintf(err, err_size,
			 "deliver: \"%s\" is not a way of delivering; use \"deliver maildir\" (the "
			 "default) or \"deliver lmtp unix:/run/dovecot/lmtp\"",
			 conf_esc(e, argv[1]));
	return -1;
}

/* "auth dovecot ENDPOINT". */
int
config_parse_auth(struct config *cfg, char **argv, int argc, char *err, size_t err_size)
{
	char e[CONF_ESC_SIZE];
	if (strcmp(argv[1], "dovecot") != 0 || argc != 3) {
		snprintf(err, err_size,
			 "auth: \"%s\" is not a login checker; write \"auth dovecot "
			 "/run/dovecot/auth-client\" (or HOST:PORT), or leave the line out to "
			 "check logins against the users file",
			 conf_esc(e, argv[1]));
		return -1;
	}
	if (config_endpoint_parse(argv[2], &cfg->dovecot_auth, err, err_size) < 0)
		return -1;
	cfg->auth_dovecot = true;
	return 0;
}
