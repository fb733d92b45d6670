/*
 * spool_format: the one codec of the spool's files (spool.h has the layout
 * and the format). Pure: bytes in, struct out, and back; no file is opened
 * here, so the server's writer, delivery's reader and `mailport queue`
 * share one parser, and the unit tests and fuzzers link it alone.
 *
 * Three files, three codecs:
 *   queue/<qid>        the envelope header ("key value" lines, a blank
 *                      line), then the message
 *   queue/<qid>.state  one encoded address per delivered recipient
 *   queue/<qid>.retry  "<attempts> <next attempt> <last error>\n"
 * and the queue id that names them.
 *
 * Decoding is strict where delivery depends on it: an envelope header we
 * did not write (no "version 1", a bad escape, a line without its '\n', a
 * NUL, no blank line within SPOOL_HEADER_MAX bytes) is refused with a
 * reason, never half-read. Unknown keys are skipped, so a newer writer's
 * optional fields do not make the queue unreadable.
 */
#ifndef MP_SPOOL_FORMAT_H
#define MP_SPOOL_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "smtp_cmd.h"

/* 16 upper-case hex characters and the NUL. */
#define SPOOL_QID_SIZE 17
/* A bigger header than this is not one we wrote: the file is corrupt. */
#define SPOOL_HEADER_MAX (8 * 1024 * 1024)

/* What the envelope of a message holds (the server fills it at DATA). */
struct spool_envelope {
	const struct smtp_mail_args *mail;
	const struct smtp_rcpt_args *rcpts;
	size_t nrcpts;
	const char *client_addr;
	const char *helo;
	const char *auth_user; /* NULL when not authenticated */
	/* Room for header fields known only at the end of data (spool.h,
	 * spool_msg_prepend): the pad line's whole length, its '\n' included;
	 * 0 for none, else at least SPOOL_PAD_MIN. */
	size_t pad;
};

/* The shortest pad line, "pad\n": a pad of R bytes holds R - SPOOL_PAD_MIN
 * bytes of prepended header fields. */
#define SPOOL_PAD_MIN 4

/*
 * The retry schedule of a message with deferred recipients, kept beside it
 * as queue/<qid>.retry (see spool_retry_write in spool.h).
 */
struct spool_retry {
	char id[SPOOL_QID_SIZE];
	unsigned attempts;
	int64_t next_attempt; /* unix seconds */
	char last_error[512];
};

/* ---- queue ids ---- */

/* Is s exactly a queue id (16 upper-case hex characters)? */
bool spool_id_valid(const char *s);
/*
 * The id of a message that arrived at unix second now: 8 hex digits of
 * seconds, 4 of counter, 4 of rnd. The time leads, so sorting ids as
 * strings sorts them by arrival.
 */
void spool_id_format(char out[SPOOL_QID_SIZE], int64_t now, unsigned counter, uint16_t rnd);

/* ---- values ---- */

/*
 * Append s percent-encoded: '%', space, controls and DEL become %XX, so a
 * value can never end a line or split into two fields. Bytes >= 0x80
 * (SMTPUTF8 addresses) stay as they are.
 */
void spool_value_put(struct buf *b, const char *s);
/* Decode len bytes of s into b (a string even when empty); false on a bad
 * escape or an encoded NUL. */
bool spool_value_decode(const char *s, size_t len, struct buf *b);

/* ---- the envelope header of queue/<qid> ---- */

/* Append the whole header, blank line included, of a message (its pad
 * line last, when env->pad asks for one). */
void spool_header_encode(struct buf *b, const char *id, int64_t arrival,
			 const struct spool_envelope *env);
/* Write a pad line of len bytes (>= SPOOL_PAD_MIN): "pad", spaces, '\n'. */
void spool_pad_line(char *out, size_t len);

/* One envelope recipient as the header has it; NULL when absent. */
struct spool_header_rcpt {
	char *addr; /* "local@domain", never empty */
	char *notify;
	char *orcpt;
};

/* A decoded header; every string is owned (spool_header_free). */
struct spool_header {
	char id[SPOOL_QID_SIZE]; /* "" when the line is missing */
	int64_t arrival;
	char *from; /* "" for the null path */
	/* Envelope extras: NULL when the line is absent. */
	char *ret, *envid, *body, *client, *helo, *auth;
	bool smtputf8;
	bool requiretls;		 /* RFC 8689; absent from files older than the key */
	struct spool_header_rcpt *rcpts; /* in envelope order */
	size_t nrcpts;
	uint64_t length; /* bytes up to and with the blank line: where the message starts */
};

/*
 * Decoding a line at a time, for a reader that streams the file: start,
 * then feed each line with its '\n' until it returns 1 (the blank line:
 * done) or -1 (corrupt: why says how; h is freed). 0 asks for the next line.
 */
struct spool_header_decoder {
	struct spool_header *h;
	size_t lineno;
	struct buf tmp;
	const char *why;
};
void spool_header_decode_start(struct spool_header_decoder *d, struct spool_header *h);
int spool_header_decode_line(struct spool_header_decoder *d, const char *line, size_t len);
/* Free the decoder's scratch; a header not finished (0 so far) is corrupt:
 * then -1, why set and h freed. Returns 0 after a 1. */
int spool_header_decode_end(struct spool_header_decoder *d, int last);

/*
 * The header at the start of data (len bytes, the message may follow):
 * 0 and h filled, or -1 with why (static text) saying what is wrong.
 */
int spool_header_decode(const char *data, size_t len, struct spool_header *h, const char **why);
void spool_header_free(struct spool_header *h);

/* ---- queue/<qid>.state ---- */

/* Append the line that records rcpt as delivered. */
void spool_state_encode(struct buf *b, const char *rcpt);
/*
 * The delivered recipients of a .state file's len bytes, appended to
 * *done (n_r counts them; free each and the array). A last line without
 * '\n' was cut by a crash and does not count; a line that does not decode
 * is skipped.
 */
void spool_state_decode(const char *data, size_t len, char ***done, size_t *n_r);

/* ---- queue/<qid>.retry ---- */

/* Append the one line: attempts, next attempt, the error escaped last. */
void spool_retry_encode(struct buf *b, const struct spool_retry *r);
/* Fill r (but its id) from a .retry file's len bytes; -1 when malformed. */
int spool_retry_decode(const char *data, size_t len, struct spool_retry *r);

#endif
