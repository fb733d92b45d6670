/*
 * outcome: what a client command (send, probe, verify) tells a person when
 * a connection or session fails: the probe JSON status, the sysexits code,
 * and what went wrong, the likely cause and the fix. One table, keyed by
 * kind, in the words of the reference article's "Common Errors and Fixes"
 * where it has a row. fixes.{h,c} is the server's table; this is the
 * client's.
 *
 * Keys are the connection-level failures the glue sees (DNS, connect, TLS)
 * and every enum client_failure of the session core. Texts hold no printf
 * conversions, so the probe JSON can carry them as they are.
 *
 * Every struct outcome returned points into a static table: valid for the
 * life of the program, never freed.
 */
#ifndef MP_OUTCOME_H
#define MP_OUTCOME_H

#include <stdbool.h>

#include "buf.h"
#include "providers.h"
#include "smtp_client.h"

/* The probe JSON "status" values (DESIGN.md "mailport probe --json"). */
enum outcome_status {
	OUTCOME_S_OK,
	OUTCOME_S_TIMEOUT,
	OUTCOME_S_REFUSED,
	OUTCOME_S_DNS_ERROR,
	OUTCOME_S_NO_GREETING,
	OUTCOME_S_TLS_FAILED,
	OUTCOME_S_STARTTLS_MISSING,
	OUTCOME_S_AUTH_FAILED,
	OUTCOME_S_AUTH_MISSING,
	OUTCOME_S_RELAY_DENIED,
	OUTCOME_S_REJECTED,
	OUTCOME_S_COUNT,
};

enum outcome_id {
	OUTCOME_OK,
	/* Before SMTP: what the glue sees resolving, connecting, handshaking. */
	OUTCOME_DNS_ERROR,	 /* the name does not exist (NXDOMAIN, no address) */
	OUTCOME_DNS_TEMPORARY,	 /* the resolver failed or did not answer */
	OUTCOME_CONNECT_TIMEOUT, /* SYN unanswered: see outcome_connect_timeout() */
	OUTCOME_CONNECT_TIMEOUT_PORT25,
	OUTCOME_CONNECT_REFUSED,     /* RST: nothing listening */
	OUTCOME_CONNECT_UNREACHABLE, /* no route, network down */
	OUTCOME_TLS_HANDSHAKE,	     /* version, cipher, or an unnamed reason */
	OUTCOME_TLS_CERT_UNTRUSTED,  /* self-signed, unknown CA, broken chain */
	OUTCOME_TLS_CERT_EXPIRED,    /* expired or not yet valid */
	OUTCOME_TLS_CERT_NAME_MISMATCH,
	OUTCOME_TLS_MIXUP_IMPLICIT_ON_STARTTLS_PORT, /* our TLS hello met a plaintext server */
	OUTCOME_TLS_MIXUP_PLAIN_ON_IMPLICIT_PORT,    /* we waited for 220, it waited for TLS */
	OUTCOME_CONNECTION_LOST,		     /* the server hung up mid-session */
	OUTCOME_REPLY_TIMEOUT,			     /* the server stopped answering mid-session */
	/* In the SMTP session: enum client_failure, refined by the reply. */
	OUTCOME_NO_GREETING,
	OUTCOME_GREETING_REFUSED, /* a 5xx greeting (554): the server turns us away */
	OUTCOME_EHLO_FAILED,
	OUTCOME_STARTTLS_MISSING,
	OUTCOME_STARTTLS_REFUSED, /* STARTTLS answered 454 (or another error) */
	OUTCOME_AUTH_MISSING,
	OUTCOME_AUTH_FAILED,
	OUTCOME_AUTH_REQUIRED, /* MAIL or RCPT answered 530: no credentials were given */
	OUTCOME_SENDER_REJECTED,
	OUTCOME_RELAY_DENIED,
	OUTCOME_RCPT_REJECTED,
	OUTCOME_DATA_REJECTED,
	OUTCOME_TEMPFAIL,
	OUTCOME_PROTOCOL,
	OUTCOME_SIZE_EXCEEDED,
	OUTCOME_UTF8_UNSUPPORTED,
	OUTCOME_8BIT_UNSUPPORTED,
	OUTCOME_REQUIRETLS_UNSUPPORTED,
	OUTCOME_COUNT,
};

struct outcome {
	enum outcome_id id;
	enum outcome_status status;
	int exit_code;	    /* sysexits.h: EX_OK, EX_UNAVAILABLE, ... */
	bool next_door;	    /* worth trying the next port (587 -> 465 -> 2525) */
	bool provider_note; /* the provider's auth note helps here */
	const char *what;   /* "connection timed out" */
	const char *cause;  /* the likely cause */
	const char *fix;    /* what to do, as a sentence a user can act on */
};

const struct outcome *outcome_get(enum outcome_id id);

/* The session core's failure, as it is. */
const struct outcome *outcome_from_client(enum client_failure failure);

/*
 * The same, refined by the reply that decided it (NULL: none): a 5xx
 * greeting, a 4xx anywhere, a refused STARTTLS, 530 "authentication
 * required" to MAIL or RCPT. Prefer this one when the reply is known.
 */
const struct outcome *outcome_from_reply(enum client_failure failure,
					 const struct smtp_client_reply *reply);

/* A connect timeout: on port 25 the text names the ISP and cloud blocks. */
const struct outcome *outcome_connect_timeout(unsigned short port);

/*
 * A failed TLS handshake, by OpenSSL's words (reason may be NULL): with
 * cert_error, the X509 verify error string ("certificate has expired",
 * "hostname mismatch", "self-signed certificate", ...) picks the
 * certificate outcome; else, when we spoke implicit TLS and OpenSSL saw
 * no TLS record at all ("wrong version number"), the server speaks
 * plaintext: the 465/587 mix-up. Anything else is OUTCOME_TLS_HANDSHAKE.
 */
const struct outcome *outcome_from_tls(const char *reason, bool cert_error, bool implicit_tls);

/*
 * No greeting (silence, or a close before 220) on port, where we waited
 * in plaintext unless tls is CLIENT_TLS_IMPLICIT. On 465 (IANA's
 * "submissions") a plaintext wait that meets silence is the mix-up.
 */
const struct outcome *outcome_no_greeting(unsigned short port, enum client_tls tls);

/* "ok", "timeout", ...: the probe JSON status. */
const char *outcome_status_name(enum outcome_status status);

/* What the formatter may add to the table's texts; every field optional. */
struct outcome_context {
	const char *host;		       /* shown with port as "host:port: " */
	unsigned short port;		       /* 0: not shown */
	const struct provider *provider;       /* its note, where the outcome wants it */
	const char *reason;		       /* the OS's or OpenSSL's words */
	const struct smtp_client_reply *reply; /* the server's last words (code 0: none) */
};

/*
 * Append the error block for a person to out:
 *   error: HOST:PORT: what
 *     cause: ...
 *     fix: ...
 *     note: <the provider's auth note>          (when it helps)
 *     reason: <OpenSSL's or the OS's words>     (when given)
 *     server said: "535 5.7.8 ..."              (when a reply is given)
 * Untrusted bytes (the reply, the reason, the host) are escaped. ctx may
 * be NULL.
 */
void outcome_format(const struct outcome *o, const struct outcome_context *ctx, struct buf *out);

/*
 * Append the fix sentence for the probe JSON "fix" field: the table's fix,
 * then the provider's note when the outcome wants it (provider may be NULL).
 */
void outcome_fix_append(const struct outcome *o, const struct provider *provider, struct buf *out);

#endif
