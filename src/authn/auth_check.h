/*
 * auth_check: one message's SPF + DKIM + DMARC, the Authentication-Results
 * field to add, and what to do with the message.
 *
 * The caller creates one per message once the envelope is known, gives it
 * the header section (collected by msg_headers as DATA streams in) and the
 * body bytes as they arrive (never a second read), then finishes it with
 * the DNS of the session: a struct ma_dns whose budget the caller set for
 * this message (auth_dns_start), so every lookup of the three checks ends
 * within auth-timeout.
 *
 * The action under dmarc-policy enforce (report-only: always AUTH_ACCEPT,
 * the verdict only in the header):
 *   - DMARC fail, policy reject (after pct=)       AUTH_REJECT    550 5.7.1
 *   - the same, but an identifier that would have
 *     aligned had a DNS temperror                   AUTH_TEMPFAIL  451 4.7.1
 *   - DMARC fail, policy quarantine                 AUTH_QUARANTINE: delivered,
 *     marked "X-Spam-Flag: YES" by the server (our choice of mark: a header
 *     every filter and client understands; a Maildir .Junk folder would
 *     need per-user folder rules we do not have)
 *   - DMARC temperror (the record could not be fetched) when its policy
 *     could matter (nothing passed strict alignment)  AUTH_TEMPFAIL (RFC 7489
 *     6.6.3 leaves DNS errors to the receiver; a retry costs the sender
 *     little, accepting a p=reject spoof costs the reader more)
 *   - no single author domain (no From:, several From: fields, addresses
 *     of more than one domain; RFC 7489 6.6.1, RFC 5322 3.6)  AUTH_REJECT
 *   - anything else (pass, none, p=none, permerror of a record) AUTH_ACCEPT.
 * SPF fail alone never rejects: forwarding breaks SPF; DMARC is what
 * weighs it against DKIM.
 */
#ifndef MP_AUTH_CHECK_H
#define MP_AUTH_CHECK_H

#include <stddef.h>

#include "config.h"
#include "dkim_verify.h"
#include "dmarc.h"
#include "ma_dns.h"
#include "msg_headers.h"
#include "spf.h"

#define AUTH_CHECK_MAX_DKIM 8

enum auth_action { AUTH_ACCEPT, AUTH_QUARANTINE, AUTH_REJECT, AUTH_TEMPFAIL };

struct auth_verdict {
	struct spf_outcome spf;
	struct dkim_result dkim[AUTH_CHECK_MAX_DKIM];
	size_t ndkim;
	struct dmarc_outcome dmarc;
	bool have_message; /* headers were given: DKIM and DMARC ran */
	/* "Authentication-Results: ...\r\n", folded; never longer than the
	 * array (comments are left out, then signatures, to fit) */
	char header[4096];
	enum auth_action action;
	char detail[256]; /* for the reply and the log: names DMARC and the From domain */
};

struct auth_check;

/* rq's strings are copied. authserv_id: our hostname (RFC 8601 2.5). */
struct auth_check *auth_check_new(const struct spf_request *rq, const char *authserv_id,
				  enum config_dmarc_policy policy);
/* The message's header section, complete (msg_headers_done). */
void auth_check_headers(struct auth_check *c, const struct msg_headers *h);
/* Body bytes, after the header section's empty line, in any chunks. */
void auth_check_body(struct auth_check *c, const char *p, size_t n);
/* Runs the checks and fills v. Without auth_check_headers only SPF runs. */
void auth_check_finish(struct auth_check *c, const struct ma_dns *dns, struct auth_verdict *v);
void auth_check_free(struct auth_check **c);

const char *auth_action_name(enum auth_action a); /* "accept", "quarantine", ... */

#endif
