/*
 * bounce: delivery status notifications (RFC 3464) for recipients that
 * failed or are delayed, as a multipart/report (RFC 6522) of three parts:
 * a text/plain explanation for people, a message/delivery-status for
 * programs, and the original message (message/rfc822) or only its header
 * (text/rfc822-headers).
 *
 * Pure: no files, clock or randomness. The caller passes the dates, the
 * Message-ID and the MIME boundary, so the output is a function of the
 * input. Output has CRLF line ends only and goes to a caller-owned
 * struct buf (its max is the size limit).
 *
 * The caller must send the notification with the null envelope sender
 * (MAIL FROM:<>), so that a bounce of a bounce is never made (RFC 5321
 * 4.5.5, RFC 3461 6.2); bounce_build refuses an original sender of <>.
 *
 * Two files: bounce.c builds the notification; bounce_status.c reads SMTP
 * replies (the status code and the one-line diagnostic text).
 */
#ifndef MP_BOUNCE_H
#define MP_BOUNCE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "str.h"

/* "5.1.10" and its NUL; RFC 3463: class.subject(1-3).detail(1-3) */
#define BOUNCE_STATUS_SIZE 10
/* A diagnostic longer than this (after joining the reply lines) is cut. */
#define BOUNCE_DIAG_MAX 2000
/* A suggested bounce_spec.full_max, the size Postfix returns by default. */
#define BOUNCE_FULL_MAX_DEFAULT 50000

enum bounce_action {
	BOUNCE_FAILED,	/* given up: "Action: failed" */
	BOUNCE_DELAYED, /* still being retried: "Action: delayed" */
};

/* One recipient the notification is about. Strings are NUL-terminated. */
struct bounce_rcpt {
	const char *addr;  /* final recipient, "local@domain" (UTF-8 allowed) */
	const char *orcpt; /* ORCPT as received, "rfc822;xtext"; NULL: none */
	enum bounce_action action;
	const char *status;	  /* "5.1.1"; NULL: bounce_status_from_reply(reply) */
	const char *remote_mta;	  /* host name of the server that replied; NULL: none */
	const char *reply;	  /* that server's reply, as received (lines may be
				     CRLF-separated); NULL when there was none */
	const char *reason;	  /* our words when there was no reply ("connect
				     to ...: Connection refused"); NULL: none */
	const char *last_attempt; /* RFC 5322 date-time; NULL: none */
	const char *retry_until;  /* delayed: when we give up; NULL: not said */
};

enum bounce_ret {
	BOUNCE_RET_FULL, /* RET=FULL or none: the whole message, up to full_max */
	BOUNCE_RET_HDRS, /* RET=HDRS: the header only */
};

struct bounce_spec {
	const char *hostname;	/* ours: Reporting-MTA and MAILER-DAEMON@hostname */
	const char *sender;	/* the original envelope sender: the bounce's To */
	const char *envid;	/* ENVID as received (xtext); NULL: none */
	const char *arrival;	/* RFC 5322 date-time the message came in; NULL: none */
	const char *date;	/* the bounce's Date */
	const char *message_id; /* the bounce's "<unique@host>" */
	const char *boundary;	/* 1-70 characters of RFC 2046 5.1.1; see below */
	const struct bounce_rcpt *rcpts;
	size_t rcpt_count;    /* at least one */
	struct strv original; /* the message as queued (any line ends); {0}: none */
	enum bounce_ret ret;
	size_t full_max; /* the whole message only when at most this size; 0: never */
};

/* What was written. */
enum bounce_returned {
	BOUNCE_RETURNED_FULL,	 /* part 3 is message/rfc822 */
	BOUNCE_RETURNED_HEADERS, /* part 3 is text/rfc822-headers */
	BOUNCE_RETURNED_NONE,	 /* no original, or one that cannot be embedded */
};

struct bounce_info {
	size_t size;   /* bytes appended to out */
	bool has_8bit; /* 8-bit bytes (UTF-8 addresses, an 8-bit original) */
	bool smtputf8; /* the To: address is UTF-8: send with SMTPUTF8 */
	bool delay;    /* every recipient is delayed: a delay notice */
	enum bounce_returned returned;
};

enum bounce_result {
	BOUNCE_OK = 0,
	BOUNCE_ERR_INPUT = -1,	  /* a bad field: err says which */
	BOUNCE_NULL_SENDER = -2,  /* the sender is <>: log and drop, never bounce */
	BOUNCE_ERR_BOUNDARY = -3, /* the boundary occurs in the content: draw another */
	BOUNCE_ERR_FULL = -4,	  /* out would grow past its max */
};

/*
 * Append the notification for spec to out and return BOUNCE_OK, or an
 * error with out unchanged and a one-line message in err[err_size].
 * The sender "" or "<>" gives BOUNCE_NULL_SENDER before anything else is
 * looked at. Fields must not hold CR, LF or other control bytes; the
 * reply and reason may hold anything (they are made one line of printable
 * ASCII and folded). A delay notice (every recipient delayed) returns the
 * header only: the message is still queued. The original is returned
 * whole when ret is BOUNCE_RET_FULL and it is at most full_max bytes
 * without NULs or lines over 998 octets, else its header only. A boundary
 * with "=_" in it (which no header or reply text is likely to hold) seldom
 * collides; on BOUNCE_ERR_BOUNDARY draw another and call again.
 * info_r may be NULL.
 */
enum bounce_result bounce_build(const struct bounce_spec *spec, struct buf *out,
				struct bounce_info *info_r, char *err, size_t err_size);

/*
 * The status for a reply: its enhanced code (RFC 3463, "550 5.1.1 ...")
 * when the class matches the reply code, else 5.0.0 for 5xx and 4.0.0 for
 * 4xx. False (status[0] = '\0') when reply is not a 4xx/5xx reply.
 */
bool bounce_status_from_reply(const char *reply, char status[BOUNCE_STATUS_SIZE]);

/* Is s an RFC 3463 status code ("4.4.7", "5.1.10")? */
bool bounce_status_valid(const char *s);

#endif
