/*
 * message: the message side of `mailport send` and `mailport sendmail`.
 *
 * Builds an Internet message from options (RFC 5322 header, RFC 2045-2049
 * MIME, RFC 2047 encoded-words, RFC 2231 file names), prepares a message
 * given as it is (line ends to CRLF, Date:/Message-ID:/From: added when
 * missing, Bcc: removed for sendmail -t), and parses RFC 5322 3.4 address
 * lists for the recipients of sendmail -t.
 *
 * Pure: no files, clock or randomness. The caller passes the date, the
 * Message-ID, the MIME boundary and the attachment bytes, so the output is
 * a function of the input. Every message written here has CRLF line ends
 * only. Output goes to a caller-owned struct buf (its max is the size
 * limit); strings returned in struct message_addrs are owned by the list.
 * Errors are -1 with a one-line message in err[err_size].
 *
 * The module spans four files, one concern each: header_encode.c (RFC
 * 2047 header fields), addr_list.c (RFC 5322 3.4 address lists),
 * mime_build.c (the MIME builder) and message_prepare.c (sendmail's
 * message preparation); message_internal.h is what they share.
 */
#ifndef MP_MESSAGE_H
#define MP_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "str.h"

/* RFC 5322 2.1.1 */
#define MESSAGE_LINE_MAX 998
#define MESSAGE_FOLD_AT 78
/* RFC 2046 5.1.1 */
#define MESSAGE_BOUNDARY_MAX 70
/* Longest attachment file name accepted, in bytes (a path's last part). */
#define MESSAGE_FILENAME_MAX 255

/* One mailbox of an address list. */
struct message_addr {
	char *name; /* display name, unquoted and unfolded; "" when none */
	char *addr; /* "local@domain" as written (a quoted local part stays
		       quoted); a bare "local" (sendmail's `To: root`) has no '@' */
};

/* A growable list of mailboxes; zero-initialise it ({0}) before first use. */
struct message_addrs {
	struct message_addr *v;
	size_t n;
	size_t cap;
};

/* ---- addr_list.c ---- */

/* Free every string and the array; the list is empty (and reusable) after. */
void message_addrs_free(struct message_addrs *list);

/*
 * Parse an RFC 5322 address-list and append its mailboxes to list: display
 * names, quoted strings, comments, groups ("undisclosed-recipients:;" adds
 * nothing), folding (CRLF or LF followed by white space), obsolete routes
 * and empty elements. Encoded-words in names are kept as they are. On
 * error returns -1, err says what and where, and list keeps only what it
 * held before the call.
 */
int message_parse_addresses(struct strv text, struct message_addrs *list, char *err,
			    size_t err_size);

/* ---- mime_build.c ---- */

struct message_attachment {
	const char *filename; /* UTF-8, at most 255 bytes after the last '/' (the
				 only part used; a path is fine) */
	const char *type;     /* "type/subtype"; NULL: message_guess_type(filename) */
	const void *data;
	size_t len;
};

struct message_spec {
	/* Addresses are "local@domain", at most 254 octets; names are UTF-8. */
	const char *from;      /* one mailbox: "addr" or "Name <addr>" */
	const char *const *to; /* each an address list ("a@x, B <b@y>") */
	size_t to_count;       /* none in To and Cc: "To: undisclosed-recipients:;" */
	const char *const *cc;
	size_t cc_count;
	const char *reply_to;	/* an address list; NULL: no Reply-To */
	const char *subject;	/* UTF-8; NULL: no Subject field */
	const char *date;	/* RFC 5322 3.3 date-time, made by the caller */
	const char *message_id; /* "<unique@host>" */
	const char *user_agent; /* NULL: "mailport" */
	const char *body;	/* UTF-8 text, any line ends; NULL: empty */
	size_t body_len;
	const struct message_attachment *attachments;
	size_t attachment_count;
	const char *boundary; /* used only with attachments; see below */
};

/* What a message written by message_build or message_prepare holds. */
struct message_info {
	size_t size;	    /* bytes appended to out */
	bool has_8bit;	    /* a byte >= 0x80 somewhere: needs BODY=8BITMIME */
	bool has_long_line; /* a line over MESSAGE_LINE_MAX octets (prepare only) */
	bool added_date;    /* prepare: which fields were added */
	bool added_message_id;
	bool added_from;
};

/*
 * Append the message described by spec to out. Without attachments it is
 * one text/plain part: 7bit and us-ascii when every line is ASCII and at
 * most 998 octets, else quoted-printable (charset utf-8 when the text has
 * 8-bit bytes). With attachments it is multipart/mixed: the text first,
 * then each attachment in base64 with a Content-Disposition file name
 * (RFC 2231 for non-ASCII names). A message/rfc822 attachment is embedded
 * unencoded (7bit or 8bit, line ends made CRLF) as RFC 2046 5.2.1 wants,
 * or sent as application/octet-stream when it has NULs or long lines.
 * Header text is RFC 2047-encoded when not plain ASCII and folded at 78;
 * it must be valid UTF-8 without CR or LF, and so must the body text.
 * The result is 7-bit (info_r->has_8bit false) unless an address or an
 * embedded message holds 8-bit bytes.
 * Fails (-1, err, out unchanged) on bad input, on a boundary that is
 * invalid or occurs in the content (see message_boundary_ok), or when out
 * would grow past its max. info_r may be NULL.
 */
int message_build(const struct message_spec *spec, struct buf *out, struct message_info *info_r,
		  char *err, size_t err_size);

/*
 * Can spec->boundary be used: valid for RFC 2046 5.1.1 (1-70 characters
 * of "'()+,-./:=?_", letters, digits and inner spaces) and found nowhere in
 * the encoded parts? The caller draws random boundaries until one is;
 * with "=_" in it, which base64 and quoted-printable never produce, only
 * the 7bit text, a file name or an embedded message can hold it. True
 * without attachments. This encodes the whole message once, as
 * message_build does.
 */
bool message_boundary_ok(const struct message_spec *spec);

/*
 * MIME type for a file name, by its extension (case-insensitive): txt,
 * html, csv, json, pdf, png, jpg, gif, zip, gz, tar, xml, ics, eml and
 * more; "application/octet-stream" when unknown. A static string.
 */
const char *message_guess_type(const char *filename);

/* ---- header_encode.c ---- */

/*
 * Append "Name: value" CRLF to out, value UTF-8 text (RFC 5322 unstructured)
 * encoded as RFC 2047 "=?UTF-8?B?...?=" words when it is not plain ASCII,
 * never splitting a character, each word at most 75 characters, lines
 * folded at 78 where possible. -1 when value has CR, LF or NUL or is not
 * valid UTF-8, when name is not a field name, or when out is full.
 */
int message_add_header(struct buf *out, const char *name, const char *value, char *err,
		       size_t err_size);

/* ---- message_prepare.c ---- */

/* What message_prepare adds or removes. NULL strings add nothing. */
struct message_prep {
	const char *date;	/* added as "Date: ..." when the message has none */
	const char *message_id; /* added as "Message-ID: ..." when it has none */
	const char *from;	/* added as "From: ..." when it has none (sendmail) */
	bool remove_bcc;	/* drop every Bcc: field (sendmail -t) */
};

/*
 * Append a message given as it is to out: line ends become CRLF (bare LF
 * and lone CR too, and the last line is terminated), the fields of prep
 * are added at the end of the header block when missing, Bcc: fields are
 * dropped when asked; everything else is kept byte for byte. The header
 * block ends at an empty line or at the first line that is neither a
 * field nor a continuation; when it ends without an empty line and a body
 * follows, one is inserted. -1 (out unchanged) when a prep string holds
 * CR or LF, or out would grow past its max. info_r may be NULL.
 */
int message_prepare(struct strv in, const struct message_prep *prep, struct buf *out,
		    struct message_info *info_r, char *err, size_t err_size);

/*
 * sendmail -t: append the mailboxes of every To:, Cc: and Bcc: field of
 * msg (any line ends) to list. -1 (list as before) when a field does not
 * parse. Finding none is not an error: check list->n.
 */
int message_recipients(struct strv msg, struct message_addrs *list, char *err, size_t err_size);

/*
 * The address of the first mailbox of the From: field of msg (a default
 * envelope sender). *addr_r is owned by the caller (free(3)). -1 when
 * there is no From: field or it holds no mailbox.
 */
int message_from_address(struct strv msg, char **addr_r, char *err, size_t err_size);

/*
 * sendmail's end of input: without -i a line that is a single "." ends
 * the message. Returns the length of what comes before that line (all of
 * in when there is none or ignore_dots is set, as with -i / -oi);
 * *found_r, if not NULL, says whether such a line was seen.
 */
size_t message_dot_end(struct strv in, bool ignore_dots, bool *found_r);

#endif
