/*
 * replies: every SMTP reply the server sends, as (code, enhanced code, text)
 * rows with their declared conversions; the one table (see the header).
 */
#include "replies.h"

#include <string.h>

#include "panic.h"
#include "tmpl.h"

/* clang-format off */
static const struct reply_def replies[R_COUNT] = {
	[R_GREETING]        = {220, "", "s", "%s ESMTP mailport"},
	[R_HELO]            = {250, "", "s", "%s"},
	[R_ACK]              = {250, "2.0.0", "", "OK"},
	[R_MAIL_OK]         = {250, "2.1.0", "", "Sender OK"},
	[R_RCPT_OK]         = {250, "2.1.5", "", "Recipient OK"},
	[R_DATA_GO]         = {354, "", "", "End data with <CR><LF>.<CR><LF>"},
	[R_QUEUED]          = {250, "2.0.0", "s", "OK: queued as %s"},
	[R_BDAT_OK]         = {250, "2.0.0", "u", "%llu octets received"},
	[R_QUIT]            = {221, "2.0.0", "s", "%s closing connection"},
	[R_HELP]            = {214, "2.0.0", "", "Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT"},
	[R_VRFY]            = {252, "2.5.0", "", "Cannot VRFY user, but will accept message and attempt delivery"},
	[R_EXPN]            = {502, "5.5.1", "", "EXPN is not supported"},
	[R_STARTTLS_GO]     = {220, "2.0.0", "", "Ready to start TLS"},
	[R_TLS_ACTIVE]      = {503, "5.5.1", "", "TLS is already active"},
	[R_TLS_UNAVAILABLE] = {454, "4.7.0", "", "TLS is not available on this port"},
	[R_AUTH_OK]         = {235, "2.7.0", "", "Authentication successful"},
	[R_AUTH_CHALLENGE]  = {334, "", "s", "%s"},
	[R_AUTH_FAILED]     = {535, "5.7.8", "", "Authentication credentials invalid: check the user name and password (use an app password where the provider requires one)"},
	[R_AUTH_NEEDS_TLS]  = {530, "5.7.0", "", "Must issue a STARTTLS command first: AUTH is only accepted over TLS (or connect to port 465 with SSL/TLS)"},
	[R_AUTH_NOT_HERE]   = {503, "5.5.1", "", "AUTH is not available on this port: submit mail on port 587 with STARTTLS, or 465 with SSL/TLS"},
	[R_AUTH_ALREADY]    = {503, "5.5.1", "", "Already authenticated"},
	[R_AUTH_MECH]       = {504, "5.5.4", "", "Unrecognized authentication mechanism: use PLAIN or LOGIN"},
	[R_AUTH_CANCELLED]  = {501, "5.0.0", "", "Authentication cancelled"},
	[R_AUTH_BAD_B64]    = {501, "5.5.2", "", "Cannot decode the AUTH response: it must be base64 of the credentials"},
	[R_AUTH_TOO_MANY]   = {421, "4.7.0", "", "Too many failed authentication attempts, closing connection"},
	[R_AUTH_TEMPFAIL]   = {454, "4.7.0", "", "Temporary authentication failure, try again later"},
	[R_AUTH_IN_TX]      = {503, "5.5.1", "", "AUTH is not allowed during a mail transaction"},
	[R_MAIL_NEEDS_AUTH] = {530, "5.7.0", "", "Authentication required: log in with AUTH before MAIL (your mail client's \"SMTP authentication\" setting)"},
	[R_NEED_HELO]       = {503, "5.5.1", "", "Send EHLO or HELO first"},
	[R_NESTED_MAIL]     = {503, "5.5.1", "", "Sender already given: send RSET to start over"},
	[R_NEED_MAIL]       = {503, "5.5.1", "", "Send MAIL FROM first"},
	[R_NEED_RCPT]       = {503, "5.5.1", "", "Send RCPT TO first"},
	[R_NO_VALID_RCPT]   = {554, "5.5.1", "", "No valid recipients"},
	[R_UNKNOWN_CMD]     = {500, "5.5.1", "s", "Command not recognized: \"%s\""},
	[R_UNKNOWN_CMD_HIDDEN] = {500, "5.5.1", "", "Command not recognized (not repeated: it may hold a credential; if AUTH was refused, fix that first)"},
	[R_ARG_SYNTAX]      = {501, "5.5.4", "s", "Syntax error in parameters: %s"},
	[R_NO_ARGS]         = {501, "5.5.4", "s", "%s takes no parameters"},
	[R_EHLO_NEEDS_ARG]  = {501, "5.5.4", "", "EHLO and HELO need your host name, e.g. EHLO client.example.com"},
	[R_BAD_ADDRESS]     = {501, "5.1.3", "s", "Bad address syntax: %s"},
	[R_PARAM_UNKNOWN]   = {555, "5.5.4", "", "Unsupported MAIL/RCPT parameter"},
	[R_PARAM_VALUE]     = {501, "5.5.4", "s", "Bad MAIL/RCPT parameter: %s"},
	[R_SIZE_EXCEEDED]   = {552, "5.3.4", "u", "Message size exceeds the limit of %llu bytes"},
	[R_RELAY_DENIED]    = {550, "5.7.1", "", "Relay access denied: this server takes mail only for its own domains without authentication; to send to other domains, submit on port 587 with STARTTLS and SMTP AUTH"},
	[R_NO_SUCH_USER]    = {550, "5.1.1", "s", "No such user here: <%s>"},
	[R_RCPT_LOOP]       = {550, "5.4.6", "s", "Routing loop: the aliases of <%s> lead back to themselves or too deep; tell the postmaster to fix the aliases file (mailport config check shows the line)"},
	[R_TOO_MANY_RCPTS]  = {452, "4.5.3", "", "Too many recipients: send the rest in another transaction"},
	[R_SENDER_NOT_OWNED]= {553, "5.7.1", "s", "Sender address rejected: not owned by user %s; use your own address (a +tag is fine)"},
	[R_NEED_SMTPUTF8]   = {553, "5.6.7", "", "Address has non-ASCII characters: add SMTPUTF8 to MAIL FROM"},
	[R_DATA_BARE_LF]    = {550, "5.6.0", "", "Message refused: bare CR or LF in the message; every line must end with CRLF (RFC 5321 2.3.8)"},
	[R_DATA_LONG_LINE]  = {550, "5.6.0", "", "Message refused: a line is longer than 1 MiB (1048576 octets); encode the body as quoted-printable or base64"},
	[R_DATA_NUL]        = {550, "5.6.0", "", "Message refused: NUL byte in the message; send binary content as a base64 MIME part"},
	[R_PIPELINE_SYNC]   = {554, "5.5.0", "", "Protocol error: message data sent before the 354 reply to DATA (RFC 2920 3.1), closing connection"},
	[R_LINE_TOO_LONG]   = {500, "5.5.6", "", "Command line too long (limit 512 octets)"},
	[R_CMD_BARE_LF]     = {500, "5.5.2", "", "Bare CR or LF in a command line: end every command with CRLF; closing connection"},
	[R_CMD_NUL]         = {500, "5.5.2", "", "NUL byte in a command line, closing connection"},
	[R_TOO_MANY_ERRORS] = {421, "4.7.0", "", "Too many errors, closing connection"},
	[R_TIMEOUT]         = {421, "4.4.2", "s", "%s Error: timeout exceeded, closing connection"},
	[R_SHUTDOWN]        = {421, "4.3.2", "s", "%s Service shutting down, try again later"},
	[R_TOO_MANY_CONN]   = {421, "4.7.0", "", "Too many connections to this server, try again later"},
	[R_TOO_MANY_CONN_IP]= {421, "4.7.0", "", "Too many connections from your address, try again later"},
	[R_SPOOL_FAIL]      = {451, "4.3.0", "", "Temporary failure storing the message, try again later"},
	[R_SPOOL_FULL]      = {452, "4.3.1", "", "Insufficient system storage, try again later"},
	[R_BDAT_AFTER_DATA] = {503, "5.5.1", "", "BDAT not allowed here"},
	[R_BDAT_SYNTAX]     = {501, "5.5.4", "", "BDAT syntax: BDAT <size> [LAST]"},
	[R_DATA_AFTER_BDAT] = {503, "5.5.1", "", "DATA is not allowed after BDAT: finish with BDAT <size> LAST"},
	[R_BAD_SEQUENCE]    = {503, "5.5.1", "s", "Bad sequence of commands: %s is not allowed now"},
	[R_EHLO_BAD_ARG]    = {501, "5.5.4", "", "Invalid host name in EHLO/HELO: use a domain name or an address literal like [192.0.2.1]"},
	[R_BINARYMIME]      = {504, "5.5.4", "", "BODY=BINARYMIME is not supported: send 8BITMIME or 7BIT"},
	[R_DMARC_REJECT]    = {550, "5.7.1", "s", "Message refused: %s; if the mail is genuine, its domain must sign it with DKIM or send it from a server its SPF record lists"},
	[R_MSG_AUTH_TEMPFAIL] = {451, "4.7.1", "s", "Message not accepted for now: %s; try again later"},
	[R_TOO_MANY_HOPS]   = {554, "5.4.6", "u", "Message refused: more than %llu Received: fields, so it is in a mail loop; check where it is forwarded"},
	[R_HEADER_TOO_BIG]  = {552, "5.3.4", "u", "Message refused: its header section is over %llu bytes; move the long content into the body"},
	[R_SIGN_FAILED]     = {451, "4.3.0", "", "Temporary failure signing the message with DKIM, try again later (the server's log says why)"},
	/* RFC 8689 4.1: REQUIRETLS only on a TLS session; 530 as for a command
	 * that needs STARTTLS first (RFC 3207 4), 5.7.10 "Encryption needed". */
	[R_REQUIRETLS_NO_TLS] = {530, "5.7.10", "", "REQUIRETLS needs a TLS session: issue STARTTLS first (or use port 465), then MAIL FROM again"},
};

/* The refusals that are not protocol errors; every other one is RK_PROTOCOL. */
static const enum reply_kind kinds[R_COUNT] = {
	[R_RELAY_DENIED]    = RK_RCPT_VERDICT,
	[R_NO_SUCH_USER]    = RK_RCPT_VERDICT,
	[R_RCPT_LOOP]       = RK_RCPT_VERDICT,
	[R_TOO_MANY_RCPTS]  = RK_RCPT_VERDICT,
	[R_AUTH_TEMPFAIL]   = RK_SERVER,
	[R_SPOOL_FAIL]      = RK_SERVER,
	[R_SPOOL_FULL]      = RK_SERVER,
	[R_DMARC_REJECT]    = RK_RCPT_VERDICT,
	[R_MSG_AUTH_TEMPFAIL] = RK_SERVER,
	[R_SIGN_FAILED]     = RK_SERVER,
};
/* clang-format on */

const struct reply_def *
reply_def(enum reply_id id)
{
	return &replies[id];
}

enum reply_kind
reply_kind(enum reply_id id)
{
	return kinds[id];
}

/* "code esc " then the text with its conversions filled from args. */
static void
append(struct buf *out, enum reply_id id, const char *sig, const struct tmpl_arg *args, size_t n)
{
	const struct reply_def *r = &replies[id];
	if (strcmp(r->sig, sig) != 0)
		mp_panic("reply %d (\"%s\") takes \"%s\", the caller gave \"%s\"", (int)id, r->text,
			 r->sig, sig);
	if (r->esc[0])
		buf_printf(out, "%d %s ", r->code, r->esc);
	else
		buf_printf(out, "%d ", r->code);
	tmpl_append(out, r->text, args, n);
	buf_append(out, "\r\n", 2);
}

void
reply_append(struct buf *out, enum reply_id id)
{
	append(out, id, "", NULL, 0);
}

void
reply_append_str(struct buf *out, enum reply_id id, const char *s)
{
	struct tmpl_arg a = tmpl_s(s);
	append(out, id, "s", &a, 1);
}

void
reply_append_num(struct buf *out, enum reply_id id, unsigned long long n)
{
	struct tmpl_arg a = tmpl_u(n);
	append(out, id, "u", &a, 1);
}
