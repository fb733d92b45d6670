/*
 * config: the mailport.conf parser (DESIGN.md "Config file").
 *
 * Pure: it takes the file's text, never opens files or sockets, so it is
 * unit-tested and fuzzed like the protocol parsers. One directive per line,
 * '#' starts a comment, relative paths are made relative to base_dir (the
 * folder of the config file). Errors name file:line, what is wrong and how
 * to fix it.
 */
#ifndef MP_CONFIG_H
#define MP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "tls_plan.h"
#include <stdint.h>

#include "policy.h"

#define CONFIG_MAX_DOMAINS 64
#define CONFIG_MAX_LISTENERS 32

struct config_listener {
	char host[256]; /* an IP, canonical: "127.0.0.1", "::1", "0.0.0.0" (from "*"), "::" */
	unsigned short port;
	const struct policy *policy; /* from the service name */
	int line;		     /* where it was declared, for messages */
	/*
	 * "listen ... SERVICE max-connections N": this door's own cap. 0: none
	 * given, so config_door_cap's default applies.
	 */
	unsigned max_connections;
	/* "listen ... proxy": a PROXY protocol header (v1 or v2) comes first on
	 * each connection, and its client address is the one used. */
	bool proxy;
};

/*
 * "HOST[:PORT]" as parsed once from the config ("relayhost", "resolver"):
 * the consumers use the fields and never split the text again.
 */
struct config_hostport {
	char host[256];	     /* a name (lower case) or an IP literal, no brackets; "" if unset */
	unsigned short port; /* 0 when none was written: the consumer's default applies */
	bool is_ipv6;	     /* host is an IPv6 literal (written in brackets, or bare) */
};

#define CONFIG_MAX_DKIM 32

/* "tls-policy DOMAIN LEVEL": the outbound TLS level for one recipient domain. */
struct config_tls_policy {
	char domain[256]; /* lower case */
	enum tls_level level;
};

/* "dkim DOMAIN SELECTOR KEYFILE": one signing key; a domain may have several. */
struct config_dkim {
	char domain[256]; /* lower case */
	char selector[256];
	char keyfile[4096]; /* resolved against the config's folder */
};

/* "dmarc-policy": what a DMARC fail of a p=reject or p=quarantine domain does on the smtp door. */
enum config_dmarc_policy {
	CONFIG_DMARC_ENFORCE,	  /* reject: 550; quarantine: delivered, marked as spam */
	CONFIG_DMARC_REPORT_ONLY, /* delivered, the verdict only in Authentication-Results */
};

/*
 * A Unix socket or a TCP "HOST:PORT" (config_dovecot.c): where "deliver
 * lmtp" and "auth dovecot" talk to Dovecot.
 */
struct config_endpoint {
	char unix_path[108];	   /* an absolute path (sun_path's size); "" for TCP */
	struct config_hostport hp; /* host "" when unix_path is used */
};

/* "deliver": how local mail reaches its mailbox. */
enum config_deliver {
	CONFIG_DELIVER_MAILDIR, /* ourselves, into "mailboxes" */
	CONFIG_DELIVER_LMTP,	/* handed to an LMTP server (RFC 2033), e.g. Dovecot's */
};

struct config {
	char hostname[256];		       /* empty: the system's name */
	char domains[CONFIG_MAX_DOMAINS][256]; /* lower case */
	size_t ndomains;
	char users_file[4096];	    /* empty: no users (no AUTH possible) */
	char aliases_file[4096];    /* "aliases FILE" (aliases.h); empty: none */
	char srs_secret_file[4096]; /* "srs-secret FILE": forwarded mail's sender is rewritten */
	char tls_cert[4096];	    /* empty: self-signed, made on first start */
	char tls_key[4096];
	char spool_dir[4096];
	char mailbox_dir[4096];
	struct config_listener listeners[CONFIG_MAX_LISTENERS];
	size_t nlisteners;
	struct config_hostport relayhost; /* host "" when there is none */
	char relay_user[256];
	char relay_secret_file[4096];
	struct config_hostport resolver; /* an IP; host "" for /etc/resolv.conf */
	char run_user[64];		 /* "user NAME": who to become after binding as root */

	/* Limits (directives of the same name, with these defaults). */
	uint64_t message_size_limit;	 /* "message-size-limit", 35 MB (36700160) */
	unsigned recipient_limit;	 /* "recipient-limit", 100 */
	unsigned max_connections;	 /* "max-connections", 1000: the whole server */
	unsigned max_connections_per_ip; /* "max-connections-per-ip", 50 */
	/*
	 * "command-timeout" seconds, 300 (RFC 5321 4.5.3.2.7): the whole wait
	 * for one command line, from the previous reply to the line's end (a
	 * deadline, not an idle timer that every byte restarts).
	 */
	unsigned command_timeout;
	/*
	 * "data-timeout" seconds, 180 (RFC 5321 4.5.3.2.5): the longest pause
	 * in message data, and the head start of the data phase's deadline,
	 * which grows by one second per "min-data-rate" bytes (500) received.
	 */
	unsigned data_timeout;
	unsigned min_data_rate;
	unsigned tls_handshake_timeout; /* "tls-handshake-timeout" seconds, 60: a deadline */
	/* "ipv6-prefix-length", 64: IPv6 clients are counted per network of this size. */
	unsigned ipv6_prefix_length;
	unsigned auth_failure_limit; /* "auth-failure-limit", 3: then 421 and disconnect */
	unsigned error_limit;	     /* "error-limit", 20 refused commands: then 421 and close */

	/* Outbound delivery. */
	struct config_tls_policy tls_policies[CONFIG_MAX_DOMAINS]; /* "tls-policy DOMAIN LEVEL" */
	size_t ntls_policies;
	enum tls_level tls_default; /* "tls-policy default LEVEL", may */
	/* "outbound-cafile FILE": CAs for MX certificates (verify level, MTA-STS); "": system */
	char outbound_cafile[4096];
	char relay_cafile[4096]; /* "relay-cafile FILE": trust for the relayhost's certificate */
	unsigned retry_interval; /* "retry-interval", 300 s: the first retry */
	unsigned
	    retry_max_interval;	   /* "retry-max-interval", 3600 s: the interval doubles up to it */
	unsigned queue_lifetime;   /* "queue-lifetime", 5 days: then the message bounces */
	unsigned outbound_timeout; /* "outbound-timeout", 30 s: connect and each reply */
	unsigned outbound_connections;		/* "outbound-connections", 20: deliveries at once */
	unsigned outbound_connections_per_dest; /* "...-per-destination", 10: to one domain */
	/*
	 * "unprivileged-port-offset N", default 0: when not root and a port
	 * below 1024 cannot be bound, serve binds port + N instead (25 ->
	 * 10025 with N = 10000). At most 64512, so port + N always fits.
	 */
	unsigned unprivileged_port_offset;

	/* Mail authentication. */
	struct config_dkim dkim[CONFIG_MAX_DKIM]; /* "dkim" lines, in order */
	size_t ndkim;
	enum config_dmarc_policy dmarc_policy; /* "dmarc-policy", enforce */
	/* "auth-timeout" seconds, 20: all the DNS of one message's SPF, DKIM and DMARC checks. */
	unsigned auth_timeout;

	/* "log stderr|syslog|FILE", stderr: where serve's lines go. */
	enum config_log { CONFIG_LOG_STDERR, CONFIG_LOG_SYSLOG, CONFIG_LOG_FILE } log;
	char log_file[4096]; /* CONFIG_LOG_FILE: the path, relative ones from the config's folder */
	/* "metrics IP:PORT": Prometheus text at /metrics there; host "" when off. */
	struct config_hostport metrics;
	/* SMTP TLS reporting (RFC 8460). */
	bool tls_report_off; /* "tls-report off": no counting, no reports (default on) */
	/* "tls-report-from ADDRESS": the reports' sender; "" = postmaster@<hostname> */
	char tls_report_from[512];
	/* Dovecot (config_dovecot.c). */
	enum config_deliver deliver; /* "deliver maildir|lmtp ENDPOINT", maildir */
	struct config_endpoint lmtp; /* deliver lmtp's server */
	bool auth_dovecot;	     /* "auth dovecot ENDPOINT": logins checked by Dovecot */
	struct config_endpoint dovecot_auth; /* its auth-client socket */
};

/* Defaults for every field (no listeners, no domains). */
void config_init(struct config *cfg);

/*
 * Parse text (NUL-terminated) into cfg, which config_init prepared.
 * filename is used in messages; base_dir resolves relative paths.
 * On error returns -1 and writes "FILE:LINE: what is wrong; fix" to err,
 * one line per bad line of text (all of them, as far as err holds; then a
 * last line "FILE: and N more lines with problems").
 */
int config_parse(struct config *cfg, const char *text, const char *filename, const char *base_dir,
		 char *err, size_t err_size);

/*
 * Checks that need the whole file: at least one listener, one domain, and
 * the spool and mailboxes directories set. Writes "FILE: what; fix" to err.
 */
int config_validate(const struct config *cfg, const char *filename, char *err, size_t err_size);

/*
 * The directive table, one row at a time: the name of row i (a static
 * string) and its usage with an example in *usage_r, or NULL past the last
 * row. For `mailport config directives`, which the man page's test reads.
 */
const char *config_directive(size_t i, const char **usage_r);

/* Is domain (any case, one trailing dot allowed) one of the "domain" lines? */
bool config_is_local_domain(const struct config *cfg, const char *domain);
/*
 * The outbound TLS level for mail to domain: its "tls-policy DOMAIN LEVEL"
 * line (true), else "tls-policy default LEVEL" or may (false).
 */
bool config_tls_level(const struct config *cfg, const char *domain, enum tls_level *level_r);

/*
 * Parse "HOST", "HOST:PORT", "[V6]", "[V6]:PORT" or a bare IPv6 address
 * into hp_r: HOST is an IP address, or also a host name when names_ok.
 * -1 when it is none of these or the port is not 1..65535 (*bad_port_r
 * then says whether the port was the trouble).
 */
int config_hostport_parse(const char *word, bool names_ok, struct config_hostport *hp_r,
			  bool *bad_port_r);
/*
 * hp as text, for logs and for c-ares: "host", "host:port", "v6" or
 * "[v6]:port"; "" when unset. Truncated to size (always terminated).
 */
void config_hostport_format(const struct config_hostport *hp, char *out, size_t size);
/*
 * "unix:PATH", "/PATH" or "HOST:PORT" (a port required) into ep_r; -1 with
 * what is wrong and the fix in err.
 */
int config_endpoint_parse(const char *word, struct config_endpoint *ep_r, char *err,
			  size_t err_size);
/* ep as text for logs: "unix:/run/dovecot/lmtp" or "127.0.0.1:24". */
void config_endpoint_format(const struct config_endpoint *ep, char *out, size_t size);
/* Same host and port? */
bool config_hostport_eq(const struct config_hostport *a, const struct config_hostport *b);
/*
 * The connection cap of listener l (one of cfg->listeners). A door with its
 * own "max-connections N" counts its connections alone (*shared_r false).
 * The smtp doors without one share a pool of four fifths of the server's
 * max-connections (*shared_r true), so that a flood on port 25 leaves a
 * fifth to the submission doors; submission doors without one have no cap
 * of their own (0): only the server's applies.
 */
unsigned config_door_cap(const struct config *cfg, const struct config_listener *l, bool *shared_r);

#endif
