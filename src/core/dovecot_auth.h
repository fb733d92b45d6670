/*
 * dovecot_auth: the client side of Dovecot's authentication protocol
 * (version 1.x, as `auth-client` speaks it to Postfix's
 * smtpd_sasl_type = dovecot), pure: lines in, lines and a verdict out.
 *
 * The exchange (one line each, fields separated by TABs, ended by LF):
 *   C: VERSION 1 2           C: CPID <our pid>
 *   S: VERSION 1 x  S: MECH PLAIN plaintext ...  S: SPID/CUID/COOKIE ...  S: DONE
 *   C: AUTH <id> PLAIN service=smtp [secured] lip=... rip=... resp=<base64>
 *   S: OK <id> user=...   or   FAIL <id> [reason=...] [temp] ...
 * Values are escaped the Dovecot way (\001 -> \0011, TAB -> \001t, LF ->
 * \001n, CR -> \001r), both ways.
 *
 * The server's lines are untrusted input: dovecot_auth_parse_line checks
 * each one (fuzzed: fuzz/fuzz_dovecot_auth.c), and the session
 * (dovecot_auth_feed) accepts only what fits where it is. Secrets: the
 * AUTH line holds the password in base64; the caller wipes the buffer.
 */
#ifndef MP_DOVECOT_AUTH_H
#define MP_DOVECOT_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "str.h"

/* A line longer than this is refused (Dovecot's own replies are short). */
#define DOVECOT_AUTH_LINE_MAX 8192

enum dovecot_line {
	DOVECOT_L_VERSION,
	DOVECOT_L_MECH,
	DOVECOT_L_SPID,
	DOVECOT_L_CUID,
	DOVECOT_L_COOKIE,
	DOVECOT_L_DONE,
	DOVECOT_L_OK,
	DOVECOT_L_CONT,
	DOVECOT_L_FAIL,
	DOVECOT_L_OTHER, /* a command this client does not use: ignored */
	DOVECOT_L_BAD,	 /* malformed: see the reason */
};

/* One server line, decoded. Strings are NUL-terminated, unescaped, cut to size. */
struct dovecot_reply {
	enum dovecot_line kind;
	unsigned major, minor; /* VERSION */
	char mech[64];	       /* MECH: the name, upper case */
	bool plaintext;	       /* MECH: flagged "plaintext" */
	unsigned long id;      /* OK, CONT, FAIL: the request's id */
	char user[256];	       /* OK, FAIL: user= */
	char reason[256];      /* FAIL: reason= (for the client; may be empty) */
	bool temp;	       /* FAIL: temp (a temporary failure: try later) */
	bool nologin;	       /* OK or FAIL: nologin (the account may not log in) */
	const char *bad;       /* BAD: what was wrong (a static string) */
};

/* Parse one line (without its LF). Returns r->kind. */
enum dovecot_line dovecot_auth_parse_line(struct strv line, struct dovecot_reply *r);

/* The client's first lines: VERSION and CPID. */
void dovecot_auth_hello(struct buf *out, unsigned long pid);

struct dovecot_auth_request {
	unsigned long id;
	const char *user, *password; /* AUTH PLAIN's authcid and password */
	const char *service;	     /* "smtp" */
	bool secured;		     /* the client's connection is TLS */
	const char *rip, *lip;	     /* remote and local IP, or NULL */
};
/* The AUTH line for PLAIN. false when user or password is too long or has a NUL. */
bool dovecot_auth_request(struct buf *out, const struct dovecot_auth_request *req);

/* The exchange's state, fed the server's lines in order. */
enum dovecot_verdict {
	DOVECOT_PENDING,  /* more lines are needed */
	DOVECOT_READY,	  /* handshake done (DONE), PLAIN offered: send the request */
	DOVECOT_OK,	  /* the login is good */
	DOVECOT_FAIL,	  /* the password (or account) is refused */
	DOVECOT_TEMPFAIL, /* the server cannot tell now (FAIL ... temp) */
	DOVECOT_ERROR,	  /* the server broke the protocol: see why */
};

struct dovecot_auth {
	bool got_version, plain, done, sent;
	unsigned long id; /* the request's id, once sent */
	enum dovecot_verdict verdict;
	struct dovecot_reply last; /* the line that decided (OK/FAIL), for logs */
	char why[160];		   /* ERROR: what was wrong */
};

void dovecot_auth_init(struct dovecot_auth *a);
/* The request with this id went out: OK/FAIL for it are expected now. */
void dovecot_auth_sent(struct dovecot_auth *a, unsigned long id);
enum dovecot_verdict dovecot_auth_feed(struct dovecot_auth *a, struct strv line);

#endif
