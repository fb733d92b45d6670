/*
 * probe_security: `probe --security`, the checks a server operator wants
 * on a door already probed: AUTH in the clear, certificate expiry, TLS 1.0
 * and 1.1, weak cipher suites, STARTTLS command injection and, on a relay
 * door, an open relay. Each is a finding with a severity and a fix. The
 * open-relay test goes through the client core; the TLS checks need the
 * raw client (probe_raw.c says why).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/ssl.h>

#include "probe_int.h"
#include "probe_raw.h"

/*
 * Each deprecated version on its own (a range would only show the highest
 * the server takes, hiding TLS 1.0 behind 1.1); one finding names them all.
 */
static void
check_old_tls(const struct probe_opts *o, struct probe_door *pd)
{
	static const struct {
		int version;
		const char *name;
	} old[] = {{TLS1_VERSION, "TLS 1.0"}, {TLS1_1_VERSION, "TLS 1.1"}};
	char accepted[256] = "";
	size_t n = 0;
	for (size_t i = 0; i < sizeof old / sizeof old[0]; i++) {
		SSL_CTX *ctx = probe_raw_ctx(old[i].version, old[i].version, "DEFAULT:@SECLEVEL=0");
		int fd;
		SSL *ssl = ctx ? probe_raw_tls(o, pd->door, ctx, "", &fd) : NULL;
		if (ssl) {
			size_t used = strlen(accepted);
			snprintf(accepted + used, sizeof accepted - used, "%s%s (cipher %s)",
				 n ? " and " : "", old[i].name, SSL_get_cipher_name(ssl));
			n++;
			probe_raw_close(ssl, fd);
		}
		SSL_CTX_free(ctx);
	}
	if (n)
		probe_finding(pd, PROBE_MEDIUM, "tls_old_version",
			      "allow only TLS 1.2 and 1.3 (RFC 8996 deprecates TLS 1.0 and 1.1)",
			      "the server accepts %s", accepted);
}

static void
check_weak_ciphers(const struct probe_opts *o, struct probe_door *pd)
{
	SSL_CTX *ctx = probe_raw_ctx(TLS1_2_VERSION, TLS1_2_VERSION,
				     "RC4:3DES:EXP:eNULL:aNULL:SHA1:@SECLEVEL=0");
	int fd;
	SSL *ssl = ctx ? probe_raw_tls(o, pd->door, ctx, "", &fd) : NULL;
	if (ssl) {
		probe_finding(
		    pd, PROBE_MEDIUM, "weak_cipher",
		    "offer only AEAD suites with forward secrecy (ECDHE with AES-GCM or "
		    "ChaCha20-Poly1305); drop RC4, 3DES, NULL, EXPORT and CBC-SHA1 suites",
		    "the server accepts the weak cipher suite %s with TLS 1.2",
		    SSL_get_cipher_name(ssl));
		probe_raw_close(ssl, fd);
	}
	SSL_CTX_free(ctx);
}

/*
 * CVE-2011-0411 and kin: NOOP rides in the same packet as STARTTLS. A safe
 * server drops it with the plaintext buffer; a vulnerable one answers it
 * over TLS, so the first reply after our QUIT is its 250, not the 221.
 */
static void
check_injection(const struct probe_opts *o, struct probe_door *pd)
{
	SSL_CTX *ctx = probe_raw_ctx(TLS1_VERSION, 0, "DEFAULT:@SECLEVEL=0");
	int fd;
	SSL *ssl = ctx ? probe_raw_tls(o, pd->door, ctx, "NOOP\r\n", &fd) : NULL;
	if (ssl) {
		int code = probe_raw_send(fd, ssl, "QUIT\r\n") == 0 ? probe_raw_reply(fd, ssl) : -1;
		if (code == 250)
			probe_finding(
			    pd, PROBE_HIGH, "starttls_injection",
			    "discard every byte received before the TLS handshake when "
			    "STARTTLS is accepted (RFC 3207 section 5; CVE-2011-0411)",
			    "a NOOP sent in the same packet as STARTTLS was answered after the "
			    "handshake: an attacker can inject commands into the TLS session");
		probe_raw_close(ssl, fd);
	}
	SSL_CTX_free(ctx);
}

/* RFC 2606 names: no real mailbox is ever at risk. */
static void
check_open_relay(const struct probe_opts *o, struct probe_door *pd)
{
	static const char *const rcpts[] = {"probe@example.net"};
	struct smtp_client_envelope env = {
	    .from = "probe@example.com", .rcpts = rcpts, .nrcpts = 1};
	struct client_run_result r;
	probe_run_once(o, pd->door, true, false, &env, &r);
	if (r.greeted && r.smtp.failure == CLIENT_OK && r.smtp.accepted > 0)
		probe_finding(
		    pd, PROBE_CRITICAL, "open_relay",
		    "without AUTH accept mail only for your own domains (Postfix: "
		    "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, "
		    "reject_unauth_destination)",
		    "open relay: RCPT TO:<probe@example.net> from MAIL FROM:<probe@example.com> "
		    "was accepted without authentication");
}

void
probe_security(const struct probe_opts *o, struct probe_door *pd)
{
	if (pd->caps.auth_before_tls)
		probe_finding(
		    pd, PROBE_HIGH, "auth_cleartext",
		    "offer AUTH only after STARTTLS (Postfix: smtpd_tls_auth_only = yes), "
		    "or use implicit TLS on 465",
		    "AUTH (%s) is offered before TLS: passwords can cross the network in the "
		    "clear",
		    pd->caps.auth_line);
	if (pd->tls_seen && pd->tls.days_left < 14)
		probe_finding(
		    pd, pd->tls.days_left < 0 ? PROBE_CRITICAL : PROBE_HIGH, "cert_expiry",
		    "renew the certificate (automate it, e.g. with an ACME client) and reload "
		    "the server",
		    pd->tls.days_left < 0 ? "the certificate expired on %s"
					  : "the certificate expires within 14 days (%s)",
		    pd->tls.not_after);
	if (pd->tls_seen) {
		check_old_tls(o, pd);
		check_weak_ciphers(o, pd);
		if (pd->door.tls != CLIENT_TLS_IMPLICIT)
			check_injection(o, pd);
	}
	if (probe_is_relay(pd->door) && pd->greeted)
		check_open_relay(o, pd);
}
