/*
 * message_internal: what the four files of the message module share
 * (header_encode.c, addr_list.c, mime_build.c, message_prepare.c); callers
 * use message.h only.
 *
 * The RFC 5322 character classes, the header-field writer that the MIME
 * builder and message preparation call, and the bookkeeping of
 * struct message_info and struct message_addrs across files. Output goes
 * through a struct mime_writer (mime_writer.h).
 */
#ifndef MP_MESSAGE_INTERNAL_H
#define MP_MESSAGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "message.h"
#include "mime_writer.h"

/*
 * An unbreakable word longer than this is encoded (or refused, for Date
 * and Message-ID), so that no header line can pass 998 octets.
 */
#define HEADER_WORD_MAX 900

/* RFC 5322 3.2.2 WSP */
static inline bool
message_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* A byte that may not appear raw in header text (RFC 5322 3.2.5 controls). */
static inline bool
message_is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* RFC 5322 3.2.3 atext; bytes >= 0x80 too, for UTF-8 names written raw. */
static inline bool
message_is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80)
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* ---- header_encode.c ---- */

/* "name:" to start a field; the next header_token needs no fold before it. */
void header_start(struct mime_writer *w, const char *name);
/* Add sep + tok, folding before sep (white space) when the line would pass 78. */
void header_token(struct mime_writer *w, const char *sep, size_t sep_len, const char *tok,
		  size_t tok_len);
/* -1 (err says which field) when text has CR, LF or NUL or is not UTF-8. */
int header_check_text(const char *what, const char *p, size_t len, char *err, size_t err_size);
/* A whole unstructured field, checked (name and value) and encoded as needed. */
int header_add_unstructured(struct mime_writer *w, const char *name, const char *value, char *err,
			    size_t err_size);
/* "Name: a@x, Bob <b@y>, =?UTF-8?B?...?= <c@z>", folded between addresses. */
void header_addresses(struct mime_writer *w, const char *name, const struct message_addrs *l);
/* "Name: value" CRLF as given: value is printable ASCII checked by the caller. */
void header_put_raw(struct mime_writer *w, const char *name, const char *value);

/* ---- addr_list.c ---- */

/* Drop the mailboxes after the first n (an error undoes a call's appends). */
void message_addrs_truncate(struct message_addrs *list, size_t n);

/* ---- mime_build.c ---- */

/* Fill info (when not NULL) from what was appended to out since start. */
void message_info_fill(struct message_info *info, const struct buf *out, size_t start);

#endif
