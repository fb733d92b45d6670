/*
 * policy: what each kind of listener offers and requires, as data.
 *
 * The mode of a door comes from its IANA service name (DESIGN.md), never
 * from its port number: "smtp" is the relay/MX door, "submission" the
 * STARTTLS submission door (587, and 2525 as a fallback), "submissions" the
 * implicit-TLS door (465, RFC 8314). Every rule about who may do what on
 * which door is a field here, read by the session's one dispatcher.
 */
#ifndef MP_POLICY_H
#define MP_POLICY_H

#include <stdbool.h>

enum service { SVC_SMTP, SVC_SUBMISSION, SVC_SUBMISSIONS, SVC_COUNT };

struct policy {
	enum service service;
	const char *name; /* IANA service name */
	unsigned short default_port;
	bool implicit_tls;     /* TLS from the first byte */
	bool offer_starttls;   /* STARTTLS in EHLO */
	bool offer_auth;       /* AUTH in EHLO (after TLS when auth_needs_tls) */
	bool auth_needs_tls;   /* AUTH refused with 530 before TLS */
	bool mail_needs_auth;  /* MAIL refused with 530 before AUTH */
	bool relay_needs_auth; /* non-local recipients need AUTH (always true) */
};

const struct policy *policy_for(enum service svc);
/* Look a service up by its IANA name; NULL if unknown. */
const struct policy *policy_by_name(const char *name);

#endif
