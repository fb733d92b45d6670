/*
 * providers: presets for the mail services people send through, one table
 * shared by `send --provider NAME` (host, doors, user) and `probe` (the auth
 * note shown next to a failure, found by the host name probed).
 *
 * Each entry gives the submission host, the doors in the order to try with
 * their TLS mode, how the service authenticates, the user name when it is
 * fixed, and the one sentence about credentials that users trip over. Only
 * facts the services document go in here; when unsure, leave a door out.
 *
 * Every pointer returned points into a static table: valid for the life of
 * the program, never freed. Lookups ignore ASCII case.
 */
#ifndef MP_PROVIDERS_H
#define MP_PROVIDERS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "smtp_client.h"

#define PROVIDER_MAX_PORTS 4
#define PROVIDER_MAX_ALIASES 3

/* How the service checks who is sending: what goes in the password. */
enum provider_auth {
	PROVIDER_AUTH_PASSWORD,		  /* the account's own password */
	PROVIDER_AUTH_APP_PASSWORD,	  /* a generated app password (2-step verification on) */
	PROVIDER_AUTH_OAUTH2,		  /* OAuth2 token required (XOAUTH2/OAUTHBEARER) */
	PROVIDER_AUTH_API_KEY,		  /* an API key (and its secret) */
	PROVIDER_AUTH_SMTP_CREDENTIALS,	  /* SMTP-only credentials, not the console login */
	PROVIDER_AUTH_DOMAIN_CREDENTIALS, /* per sending domain SMTP credentials */
	PROVIDER_AUTH_SERVER_TOKEN,	  /* a server token as both user and password */
};

struct provider_port {
	unsigned short port;
	enum client_tls tls; /* CLIENT_TLS_STARTTLS or CLIENT_TLS_IMPLICIT */
};

struct provider {
	const char *name;    /* for --provider: "gmail", "ses-eu-west-1" */
	const char *display; /* for people: "Gmail", "Amazon SES (eu-west-1)" */
	const char *host;    /* the submission host */
	/* Other names that select this entry, and other hosts that identify it. */
	const char *aliases[PROVIDER_MAX_ALIASES];
	const char *alt_hosts[PROVIDER_MAX_ALIASES];
	struct provider_port ports[PROVIDER_MAX_PORTS]; /* in order to try; port 0 ends */
	enum provider_auth auth;
	bool oauth2;	  /* accepts an OAuth2 token (send --oauth2-token-cmd) */
	const char *user; /* the fixed user name ("apikey"), or NULL: the user's own */
	const char *note; /* one sentence on credentials, in our words */
};

/* The number of entries, and entry i (i < provider_count()), for --provider list. */
size_t provider_count(void);
const struct provider *provider_at(size_t i);

/* The entry named name or one of its aliases ("SES" is ses-us-east-1), or NULL. */
const struct provider *provider_by_name(const char *name);

/* The entry whose host is host (one trailing dot allowed), or NULL. */
const struct provider *provider_by_host(const char *host);

/* How many doors p lists (the ports before the first 0). */
size_t provider_nports(const struct provider *p);

/* "app password", "OAuth2", ...: the auth kind in a few words. */
const char *provider_auth_name(enum provider_auth auth);

/* Appends "587 starttls, 465 implicit" (the doors in order) to out. */
void provider_ports_append(const struct provider *p, struct buf *out);

#endif
