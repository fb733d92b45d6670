/*
 * auth_results: the Authentication-Results header field (RFC 8601): the
 * writer of ours and the test of whether an incoming one claims to be ours.
 *
 * The writer takes the results as words (it knows no SPF or DKIM types),
 * one "resinfo" per method:
 *     Authentication-Results: mx.example.org;
 *     	spf=pass (why) smtp.mailfrom=user@example.com;
 *     	dkim=pass (why) header.d=example.com header.s=sel header.b=AbCdEfGh;
 *     	dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com
 * Each resinfo starts a new folded line; a line longer than 78 octets is
 * folded at a space (RFC 5322 2.1.1), also inside a comment. Comments are
 * escaped (RFC 5322 3.2.2 quoted-pair), control characters and bytes over
 * 0x7e become '?', and a property value that is not a token or an address
 * is written as a quoted-string (RFC 8601 2.2 pvalue).
 */
#ifndef MP_AUTH_RESULTS_H
#define MP_AUTH_RESULTS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define AUTH_RESULTS_FOLD 78

struct auth_results {
	struct buf out;
	size_t line;   /* octets on the current line */
	bool any;      /* a resinfo was added */
	bool comments; /* write comments (false: leave them out to save room) */
};

/* Starts "Authentication-Results: <authserv_id>;" into ar->out. */
void auth_results_init(struct auth_results *ar, const char *authserv_id, bool comments);
/* A new resinfo "method=result", with an optional comment (NULL: none). */
void auth_results_method(struct auth_results *ar, const char *method, const char *result,
			 const char *comment);
/* A property of the current resinfo: "ptype.property=value" (value NULL or "": left out). */
void auth_results_prop(struct auth_results *ar, const char *ptype_property, const char *value);
/* Ends the field ("; none" when no method was added) with CRLF; returns its text,
 * owned by ar (valid until auth_results_free), and its length in *len. */
const char *auth_results_finish(struct auth_results *ar, size_t *len);
void auth_results_free(struct auth_results *ar);

/*
 * Does this Authentication-Results field (raw: the whole field, name and
 * folded lines included) claim authserv_id? The authserv-id after the name
 * and any CFWS, as a token or quoted-string, compared without case and
 * without a trailing dot (RFC 8601 5: such fields must be removed). A field
 * we cannot read that far counts as ours: removing it is safe, keeping a
 * forgery is not. A field with another name is not ours.
 */
bool auth_results_is_ours(const char *raw, size_t len, const char *authserv_id);

#endif
