/*
 * auth_dovecot: logins checked by Dovecot's auth server ("auth dovecot
 * ENDPOINT"), the way Postfix's smtpd_sasl_type = dovecot does: a
 * connection to its auth-client socket per check, the handshake, one
 * AUTH PLAIN request with service=smtp, `secured` when the client's
 * connection is TLS, and its addresses (rip=, lip=) so Dovecot's own
 * penalties and logs see the real client. The protocol is
 * core/dovecot_auth.c; this file only moves its lines.
 *
 * Blocking with deadlines: it runs on the password-check worker threads,
 * never on the event loop.
 */
#ifndef MP_AUTH_DOVECOT_H
#define MP_AUTH_DOVECOT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "smtp_server.h"

struct auth_dovecot_check {
	const struct config_endpoint *ep;
	const char *user, *password;
	bool secured;
	const char *rip, *lip; /* may be NULL */
	unsigned timeout_s;
};

/*
 * SMTP_AUTH_OK, SMTP_AUTH_BAD (refused), or SMTP_AUTH_TEMPFAIL (Dovecot
 * unreachable, broken, or saying "temp") with what happened and the fix
 * in why, for the log. The password is wiped from every buffer used.
 */
enum smtp_auth_result auth_dovecot_check(const struct auth_dovecot_check *c, char *why,
					 size_t why_size);

#endif
