/*
 * outcome: the client-side failure table and the error block formatter.
 *
 * Exit codes follow msmtp and sendmail: a failure the next attempt may not
 * meet (a 4xx, a dropped session) is EX_TEMPFAIL; a door that does not work
 * is EX_UNAVAILABLE, and so is a door whose certificate we will not accept
 * (untrusted, expired, another name): the server spoke TLS correctly, so it
 * is no EX_PROTOCOL, and nothing was refused to us, so it is no EX_NOPERM;
 * the door cannot be used safely until the trust is fixed. A login, sender
 * or relay the server refuses is EX_NOPERM; a port and TLS mode that do not
 * match is EX_CONFIG. next_door marks failures that belong to one port: another
 * door may work. A wrong password does not, and trying it on every door only
 * gets the account locked sooner.
 */
#include "outcome.h"

#include <string.h>
#include <sysexits.h>

#include "str.h"

#define O(id_, status_, ex_, next_, note_, what_, cause_, fix_)                                    \
	[id_] = {id_, OUTCOME_S_##status_, ex_, next_, note_, what_, cause_, fix_}

#define NEXT true
#define STOP false
#define NOTE true
#define NO_NOTE false

/* clang-format off */
static const struct outcome outcomes[OUTCOME_COUNT] = {
	O(OUTCOME_OK, OK, EX_OK, STOP, NO_NOTE,
	  "ok",
	  "the server accepted every step",
	  "nothing to fix"),
	O(OUTCOME_DNS_ERROR, DNS_ERROR, EX_NOHOST, STOP, NO_NOTE,
	  "host name not found",
	  "DNS has no address for this name: a typo, or the name does not exist",
	  "check the host name; 'mailport send --provider list' shows the providers' SMTP hosts"),
	O(OUTCOME_DNS_TEMPORARY, DNS_ERROR, EX_TEMPFAIL, STOP, NO_NOTE,
	  "DNS lookup failed",
	  "the DNS server did not answer, or answered with a failure (SERVFAIL)",
	  "check the network connection and the resolver (/etc/resolv.conf or --resolver), "
	  "then try again"),
	O(OUTCOME_CONNECT_TIMEOUT, TIMEOUT, EX_UNAVAILABLE, NEXT, NO_NOTE,
	  "connection timed out",
	  "port blocked: your ISP, your cloud provider or a firewall drops connections to this port",
	  "try 587 -> 465 -> 2525; check firewall rules"),
	O(OUTCOME_CONNECT_TIMEOUT_PORT25, TIMEOUT, EX_UNAVAILABLE, NEXT, NO_NOTE,
	  "connection timed out",
	  "port 25 blocked: most ISPs block outbound port 25, and AWS, Azure and GCP block or restrict "
	  "it on cloud instances by default",
	  "submit on 587 (then 465, then 2525) to your provider or a relay service instead; port 25 "
	  "is for server-to-server relay. AWS lifts the block only on request, Azure only for "
	  "EA/MCA-E subscriptions, and GCP points you to a third-party relay"),
	O(OUTCOME_CONNECT_REFUSED, REFUSED, EX_UNAVAILABLE, NEXT, NO_NOTE,
	  "connection refused",
	  "server not listening: nothing accepts connections on this host and port",
	  "verify the host name and the port number (submission is 587, or 465 with implicit TLS)"),
	O(OUTCOME_CONNECT_UNREACHABLE, REFUSED, EX_UNAVAILABLE, NEXT, NO_NOTE,
	  "host unreachable",
	  "no route to the server: the network is down, this machine has no route for the "
	  "address (often IPv6), or a firewall rejects the connection",
	  "check the network connection and firewall rules; try 587 -> 465 -> 2525"),
	O(OUTCOME_TLS_HANDSHAKE, TLS_FAILED, EX_PROTOCOL, STOP, NO_NOTE,
	  "TLS handshake failure",
	  "TLS version mismatch, no cipher in common, or an expired or broken certificate on "
	  "the server",
	  "test with 'openssl s_client -starttls smtp -connect HOST:587' (or "
	  "'openssl s_client -connect HOST:465' for implicit TLS), adding -tls1_2 to narrow down "
	  "a version mismatch; verify the server's TLS support"),
	O(OUTCOME_TLS_CERT_UNTRUSTED, TLS_FAILED, EX_UNAVAILABLE, STOP, NO_NOTE,
	  "the server's certificate is not trusted",
	  "it is self-signed or issued by a CA this system does not know, or the server sends an "
	  "incomplete chain",
	  "pass the server's CA certificate with --cafile; --insecure skips the check, and is "
	  "only for a test server you control"),
	O(OUTCOME_TLS_CERT_EXPIRED, TLS_FAILED, EX_UNAVAILABLE, STOP, NO_NOTE,
	  "the server's certificate has expired",
	  "its validity period is over (or has not begun, when this machine's clock is wrong)",
	  "check this machine's date; otherwise the server's operator must renew the certificate "
	  "(--insecure only for a test server you control)"),
	O(OUTCOME_TLS_CERT_NAME_MISMATCH, TLS_FAILED, EX_UNAVAILABLE, STOP, NO_NOTE,
	  "the server's certificate is for another name",
	  "the host name you connected to is not in the certificate: an alias, an IP address, "
	  "or the wrong server",
	  "connect with a name the certificate holds ('mailport probe HOST' lists them), such as "
	  "the provider's own SMTP host"),
	O(OUTCOME_TLS_MIXUP_IMPLICIT_ON_STARTTLS_PORT, TLS_FAILED, EX_CONFIG, NEXT, NO_NOTE,
	  "TLS handshake failure: the server speaks plaintext SMTP on this port",
	  "TLS was started from the first byte (implicit TLS), but this port expects plaintext "
	  "and then STARTTLS, as 587, 2525 and 25 do",
	  "use --tls starttls on this port, or connect to 465 for implicit TLS"),
	O(OUTCOME_TLS_MIXUP_PLAIN_ON_IMPLICIT_PORT, NO_GREETING, EX_CONFIG, NEXT, NO_NOTE,
	  "no SMTP greeting: the server expects TLS from the first byte",
	  "we waited for a plaintext 220 greeting, but this port speaks implicit TLS, as 465 "
	  "does, and waits for our TLS handshake",
	  "use --tls implicit on this port, or connect to 587 with STARTTLS"),
	O(OUTCOME_CONNECTION_LOST, REJECTED, EX_TEMPFAIL, STOP, NO_NOTE,
	  "connection closed by the server",
	  "the server hung up mid-session: too many errors or failed logins, an idle timeout, "
	  "or a crash",
	  "run again with -v to see the last exchange; after many failed logins, wait a while "
	  "before trying again"),
	O(OUTCOME_REPLY_TIMEOUT, TIMEOUT, EX_TEMPFAIL, STOP, NO_NOTE,
	  "the server stopped answering",
	  "no reply within the timeout: a slow or overloaded server, or a network path that "
	  "drops packets mid-session",
	  "try again later or raise --timeout; run with -v to see where it stopped"),
	O(OUTCOME_NO_GREETING, NO_GREETING, EX_PROTOCOL, NEXT, NO_NOTE,
	  "no SMTP greeting",
	  "something accepted the connection but does not speak SMTP: a proxy or firewall, or "
	  "a server that expects TLS from the first byte (465) while we spoke plaintext, or the "
	  "reverse",
	  "use --tls implicit on 465 and --tls starttls on 587 and 2525; if that does not help, "
	  "this port is not an SMTP server: verify the host name and port"),
	O(OUTCOME_GREETING_REFUSED, NO_GREETING, EX_UNAVAILABLE, STOP, NO_NOTE,
	  "the server refused the session in its greeting",
	  "it does not take mail from your address: a block list, a policy against home or "
	  "cloud IP ranges, or an overload",
	  "read the server's words below; submit through your provider on 587 instead of "
	  "connecting to this server directly"),
	O(OUTCOME_EHLO_FAILED, REJECTED, EX_PROTOCOL, STOP, NO_NOTE,
	  "the server refused EHLO",
	  "it does not accept the host name we gave in EHLO, or it is not an ESMTP server",
	  "read the server's words below; give this machine a fully qualified host name, and "
	  "verify that the host and port are an SMTP submission server"),
	O(OUTCOME_STARTTLS_MISSING, STARTTLS_MISSING, EX_UNAVAILABLE, NEXT, NO_NOTE,
	  "the server does not offer STARTTLS",
	  "TLS is required before AUTH or MAIL, and this port does not offer STARTTLS (or "
	  "something in the path removed it: STRIPTLS); nothing was sent in the clear",
	  "use 465 with implicit TLS (--tls implicit); use --tls none only for a server on "
	  "localhost"),
	O(OUTCOME_STARTTLS_REFUSED, TLS_FAILED, EX_UNAVAILABLE, NEXT, NO_NOTE,
	  "the server refused STARTTLS",
	  "it offers STARTTLS but cannot start TLS now, often because its certificate is missing "
	  "or broken; nothing was sent in the clear",
	  "try 465 with implicit TLS; if you run the server, check its certificate setup"),
	O(OUTCOME_AUTH_MISSING, AUTH_MISSING, EX_UNAVAILABLE, NEXT, NO_NOTE,
	  "the server does not offer authentication",
	  "AUTH is not offered on this port (port 25 is for server-to-server relay and rarely "
	  "offers it), or not with a mechanism we share (XOAUTH2, OAUTHBEARER, PLAIN, LOGIN)",
	  "submit on 587 with STARTTLS or 465 with implicit TLS; for a server that takes only "
	  "OAuth2, give --oauth2-token-cmd"),
	O(OUTCOME_AUTH_FAILED, AUTH_FAILED, EX_NOPERM, STOP, NOTE,
	  "authentication failed",
	  "wrong credentials or OAuth required: many providers refuse the login password over "
	  "SMTP",
	  "check the auth method - password vs app password vs OAuth2 (--oauth2-token-cmd) - and "
	  "the user name, usually the full address"),
	O(OUTCOME_AUTH_REQUIRED, REJECTED, EX_NOPERM, STOP, NOTE,
	  "the server requires authentication",
	  "it takes mail on this port only from logged-in users, and no credentials were given",
	  "give --user with --password-file, --password-cmd or --password-env (or an account in "
	  "send.conf), on 587 with STARTTLS"),
	O(OUTCOME_SENDER_REJECTED, REJECTED, EX_NOPERM, STOP, NO_NOTE,
	  "sender address refused",
	  "this login may not send as this address (most services allow only your own address "
	  "or verified senders), or the address is malformed",
	  "use your account's own address, or one verified with the provider, in --from; read "
	  "the server's words below"),
	O(OUTCOME_RELAY_DENIED, RELAY_DENIED, EX_NOPERM, STOP, NO_NOTE,
	  "550 relay not permitted",
	  "server won't relay for your domain: without authentication it takes mail only for "
	  "its own domains",
	  "authenticate first (SMTP AUTH on 587): give --user and a password source"),
	O(OUTCOME_RCPT_REJECTED, REJECTED, EX_NOUSER, STOP, NO_NOTE,
	  "recipient refused",
	  "the address does not exist at its domain, or the server refuses mail for it by policy",
	  "check the recipient's spelling; read the server's words below"),
	O(OUTCOME_DATA_REJECTED, REJECTED, EX_DATAERR, STOP, NO_NOTE,
	  "message refused",
	  "the server refused the content: a spam or virus filter, SPF/DKIM/DMARC checks on the "
	  "From: domain, or a malformed message",
	  "read the server's words below; make sure the From: domain has SPF and DKIM (and "
	  "ideally DMARC) set up for this service"),
	O(OUTCOME_TEMPFAIL, REJECTED, EX_TEMPFAIL, STOP, NO_NOTE,
	  "temporary failure",
	  "the server answered 4xx: it is busy, greylisting, rate-limiting you, or short of space",
	  "try again in a few minutes; if it persists, read the server's words below"),
	O(OUTCOME_PROTOCOL, REJECTED, EX_PROTOCOL, STOP, NO_NOTE,
	  "SMTP protocol error",
	  "the server sent a reply that makes no sense at this step: it is not a conforming SMTP "
	  "server, or something in the path alters the dialogue",
	  "run again with -v to see the dialogue; verify that the host and port are an SMTP "
	  "server"),
	O(OUTCOME_SIZE_EXCEEDED, REJECTED, EX_DATAERR, STOP, NO_NOTE,
	  "message too large",
	  "the message is larger than the server's SIZE limit (attachments grow by a third when "
	  "encoded)",
	  "send smaller attachments, or a link to the file instead"),
	O(OUTCOME_UTF8_UNSUPPORTED, REJECTED, EX_DATAERR, STOP, NO_NOTE,
	  "the server does not take international addresses",
	  "an address has non-ASCII characters, which need SMTPUTF8 (RFC 6531), and the server "
	  "does not offer it",
	  "use an ASCII address; a non-ASCII domain can be written in its xn-- form, a non-ASCII "
	  "local part cannot"),
	O(OUTCOME_8BIT_UNSUPPORTED, REJECTED, EX_DATAERR, STOP, NO_NOTE,
	  "the server does not take 8-bit mail",
	  "the message has bytes above 127 outside a MIME encoding, and the server does not "
	  "offer 8BITMIME (RFC 6152)",
	  "send the text as quoted-printable or base64 (mailport send does this when it builds "
	  "the message)"),
	O(OUTCOME_REQUIRETLS_UNSUPPORTED, REJECTED, EX_UNAVAILABLE, STOP, NO_NOTE,
	  "REQUIRETLS support required",
	  "the message asks for REQUIRETLS (RFC 8689) and the server does not offer it over TLS",
	  "send through a server that offers REQUIRETLS after STARTTLS (or on port 465), or "
	  "send without --requiretls"),
};

static const char *const status_names[OUTCOME_S_COUNT] = {
	[OUTCOME_S_OK]               = "ok",
	[OUTCOME_S_TIMEOUT]          = "timeout",
	[OUTCOME_S_REFUSED]          = "refused",
	[OUTCOME_S_DNS_ERROR]        = "dns_error",
	[OUTCOME_S_NO_GREETING]      = "no_greeting",
	[OUTCOME_S_TLS_FAILED]       = "tls_failed",
	[OUTCOME_S_STARTTLS_MISSING] = "starttls_missing",
	[OUTCOME_S_AUTH_FAILED]      = "auth_failed",
	[OUTCOME_S_AUTH_MISSING]     = "auth_missing",
	[OUTCOME_S_RELAY_DENIED]     = "relay_denied",
	[OUTCOME_S_REJECTED]         = "rejected",
};
/* clang-format on */

const struct outcome *
outcome_get(enum outcome_id id)
{
	if ((unsigned)id >= OUTCOME_COUNT)
		id = OUTCOME_PROTOCOL; /* a caller's bug must not read past the table */
	return &outcomes[id];
}

/* No default: -Wswitch flags a client_failure added without a row here. */
const struct outcome *
outcome_from_client(enum client_failure failure)
{
	switch (failure) {
	case CLIENT_OK:
		return &outcomes[OUTCOME_OK];
	case CLIENT_NO_GREETING:
		return &outcomes[OUTCOME_NO_GREETING];
	case CLIENT_EHLO_FAILED:
		return &outcomes[OUTCOME_EHLO_FAILED];
	case CLIENT_STARTTLS_MISSING:
		return &outcomes[OUTCOME_STARTTLS_MISSING];
	case CLIENT_TLS_FAILED:
		return &outcomes[OUTCOME_TLS_HANDSHAKE];
	case CLIENT_AUTH_MISSING:
		return &outcomes[OUTCOME_AUTH_MISSING];
	case CLIENT_AUTH_FAILED:
		return &outcomes[OUTCOME_AUTH_FAILED];
	case CLIENT_SENDER_REJECTED:
		return &outcomes[OUTCOME_SENDER_REJECTED];
	case CLIENT_RELAY_DENIED:
		return &outcomes[OUTCOME_RELAY_DENIED];
	case CLIENT_RCPT_REJECTED:
		return &outcomes[OUTCOME_RCPT_REJECTED];
	case CLIENT_DATA_REJECTED:
		return &outcomes[OUTCOME_DATA_REJECTED];
	case CLIENT_TEMPFAIL:
		return &outcomes[OUTCOME_TEMPFAIL];
	case CLIENT_PROTOCOL:
		return &outcomes[OUTCOME_PROTOCOL];
	case CLIENT_SIZE_EXCEEDED:
		return &outcomes[OUTCOME_SIZE_EXCEEDED];
	case CLIENT_UTF8_UNSUPPORTED:
		return &outcomes[OUTCOME_UTF8_UNSUPPORTED];
	case CLIENT_8BIT_UNSUPPORTED:
		return &outcomes[OUTCOME_8BIT_UNSUPPORTED];
	case CLIENT_REQUIRETLS_UNSUPPORTED:
		return &outcomes[OUTCOME_REQUIRETLS_UNSUPPORTED];
	}
	return &outcomes[OUTCOME_PROTOCOL];
}

const struct outcome *
outcome_from_reply(enum client_failure failure, const struct smtp_client_reply *reply)
{
	int code = reply != NULL ? reply->code : 0;
	if (failure == CLIENT_OK || code == 0)
		return outcome_from_client(failure);
	/* RFC 5321 4.2.1: 4yz is transient wherever it comes, so retrying is the fix. */
	if (code >= 400 && code < 500 && failure != CLIENT_TLS_FAILED)
		return &outcomes[OUTCOME_TEMPFAIL];
	switch (failure) {
	case CLIENT_NO_GREETING:
		/* RFC 5321 3.1: 554 instead of 220 means "no service for you". */
		if (code >= 500 && code < 600)
			return &outcomes[OUTCOME_GREETING_REFUSED];
		break;
	case CLIENT_TLS_FAILED:
		/* RFC 3207 4: 454 (or 501) to STARTTLS itself, not a failed handshake. */
		if (code >= 400)
			return &outcomes[OUTCOME_STARTTLS_REFUSED];
		break;
	case CLIENT_SENDER_REJECTED:
	case CLIENT_RCPT_REJECTED:
		/* RFC 4954 6: 530 5.7.0 Authentication required. */
		if (code == 530)
			return &outcomes[OUTCOME_AUTH_REQUIRED];
		break;
	default:
		break;
	}
	return outcome_from_client(failure);
}

const struct outcome *
outcome_connect_timeout(unsigned short port)
{
	return &outcomes[port == 25 ? OUTCOME_CONNECT_TIMEOUT_PORT25 : OUTCOME_CONNECT_TIMEOUT];
}

/* OpenSSL's words when the peer's first bytes are not a TLS record ("220 ..."). */
static const char *const not_tls_reasons[] = {
    "wrong version number", "packet length too long", "unknown protocol",
    "record layer failure", "http request",
};

const struct outcome *
outcome_from_tls(const char *reason, bool cert_error, bool implicit_tls)
{
	if (reason == NULL)
		reason = "";
	if (cert_error) {
		/* X509_verify_cert_error_string() texts, OpenSSL 1.1 and 3. */
		if (strcasestr(reason, "expired") || strcasestr(reason, "not yet valid"))
			return &outcomes[OUTCOME_TLS_CERT_EXPIRED];
		if (strcasestr(reason, "mismatch"))
			return &outcomes[OUTCOME_TLS_CERT_NAME_MISMATCH];
		return &outcomes[OUTCOME_TLS_CERT_UNTRUSTED];
	}
	for (size_t i = 0; implicit_tls && i < sizeof not_tls_reasons / sizeof not_tls_reasons[0];
	     i++)
		if (strcasestr(reason, not_tls_reasons[i]))
			return &outcomes[OUTCOME_TLS_MIXUP_IMPLICIT_ON_STARTTLS_PORT];
	return &outcomes[OUTCOME_TLS_HANDSHAKE];
}

const struct outcome *
outcome_no_greeting(unsigned short port, enum client_tls tls)
{
	/* RFC 8314 3.3: 465 is implicit TLS, and a TLS server waits for our hello. */
	if (port == 465 && tls != CLIENT_TLS_IMPLICIT)
		return &outcomes[OUTCOME_TLS_MIXUP_PLAIN_ON_IMPLICIT_PORT];
	return &outcomes[OUTCOME_NO_GREETING];
}

const char *
outcome_status_name(enum outcome_status status)
{
	if ((unsigned)status >= OUTCOME_S_COUNT)
		return "rejected";
	return status_names[status];
}

static bool
wants_note(const struct outcome *o, const struct outcome_context *ctx)
{
	return ctx != NULL && ctx->provider != NULL && ctx->provider->note != NULL &&
	       o->provider_note;
}

void
outcome_format(const struct outcome *o, const struct outcome_context *ctx, struct buf *out)
{
	char e[1100]; /* a whole 512-byte reply text, a little escaped */
	buf_append_str(out, "error: ");
	if (ctx != NULL && ctx->host != NULL && ctx->host[0] != '\0') {
		str_escape(e, 300, ctx->host, strlen(ctx->host));
		bool v6 = strchr(ctx->host, ':') != NULL; /* [::1]:587, as URLs write it */
		if (ctx->port != 0)
			buf_printf(out, "%s%s%s:%u: ", v6 ? "[" : "", e, v6 ? "]" : "", ctx->port);
		else
			buf_printf(out, "%s: ", e);
	}
	buf_printf(out, "%s\n  cause: %s\n  fix: %s\n", o->what, o->cause, o->fix);
	if (wants_note(o, ctx))
		buf_printf(out, "  note: %s\n", ctx->provider->note);
	if (ctx != NULL && ctx->reason != NULL && ctx->reason[0] != '\0')
		buf_printf(out, "  reason: %s\n",
			   str_escape(e, sizeof e, ctx->reason, strlen(ctx->reason)));
	if (ctx != NULL && ctx->reply != NULL && ctx->reply->code != 0) {
		const struct smtp_client_reply *r = ctx->reply;
		char esc[70];
		str_escape(esc, sizeof esc, r->esc, strnlen(r->esc, sizeof r->esc));
		str_escape(e, sizeof e, r->text, strnlen(r->text, sizeof r->text));
		buf_printf(out, "  server said: \"%d%s%s%s%s\"\n", r->code, esc[0] ? " " : "", esc,
			   e[0] ? " " : "", e);
	}
}

void
outcome_fix_append(const struct outcome *o, const struct provider *provider, struct buf *out)
{
	buf_append_str(out, o->fix);
	if (o->provider_note && provider != NULL && provider->note != NULL)
		buf_printf(out, ". %s", provider->note);
}
