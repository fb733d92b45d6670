/*
 * smtp_sasl: decoding of the SASL mechanisms the server accepts, PLAIN
 * (RFC 4616) and LOGIN (draft-murchison-sasl-login), as used by AUTH
 * (RFC 4954). Pure: it turns base64 text into a user name and a password;
 * checking them is the caller's business.
 *
 * Secrets: the password lands in struct sasl_creds; callers wipe it with
 * sasl_creds_wipe() as soon as it has been checked.
 */
#ifndef MP_SMTP_SASL_H
#define MP_SMTP_SASL_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

#define SASL_FIELD_MAX 255

struct sasl_creds {
	char authzid[SASL_FIELD_MAX + 1];
	char user[SASL_FIELD_MAX + 1];
	char password[SASL_FIELD_MAX + 1];
};

enum sasl_err {
	SASL_OK,
	SASL_BAD_BASE64, /* 501 5.5.2 */
	SASL_BAD_FORMAT, /* PLAIN without two NULs, empty user, NUL inside a field */
	SASL_TOO_LONG,
	SASL_CANCELLED, /* the client sent "*" (RFC 4954 4) */
};

/* PLAIN: b64 is the base64 of "authzid\0user\0password". */
enum sasl_err sasl_plain_decode(struct strv b64, struct sasl_creds *creds_r);
/* LOGIN step: decode one base64 line into a NUL-free field (user or password). */
enum sasl_err sasl_login_decode(struct strv b64, char *field, size_t size);
/*
 * Could this command line be a SASL response (a user name or password in
 * base64)? True for one word made only of the base64 alphabet, padded or
 * not. The server never echoes or logs such a line when it is not a
 * command it knows.
 */
bool sasl_looks_like_response(struct strv line);
/* Overwrite secrets so they do not linger in memory. */
void sasl_creds_wipe(struct sasl_creds *c);
/* Explicit wipe that the compiler may not remove. */
void secure_wipe(void *p, size_t n);

#endif
