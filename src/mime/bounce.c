/*
 * bounce: delivery status notifications (see bounce.h).
 *
 * Everything is written through a mime_writer, which remembers when the
 * output buffer refused bytes, so the size limit is checked once at the
 * end; a failed call truncates out back to where it started.
 *
 * Text from the remote server (replies) is untrusted: bounce_status.c
 * joins it into one line of printable ASCII cut at BOUNCE_DIAG_MAX, and it
 * is folded here at spaces, so no reply can break a line, a field or a
 * MIME boundary.
 * The boundary is checked after the build by counting the lines that
 * start with it, which covers every source of text at once (the original
 * message above all).
 */
#include "bounce_internal.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mime_writer.h"
#include "utf8.h"

#define MIME_LINE_MAX 998 /* RFC 5322 2.1.1 */
#define FIELD_WIDTH 78	  /* fold DSN fields here where there is a space */
#define TEXT_WIDTH 76	  /* wrap the human-readable text here */
#define WORD_CHUNK 900	  /* an unbroken word is split into pieces this long */
#define ADDR_MAX 254	  /* RFC 5321 4.5.3.1.3, without the brackets */
#define DATE_MAX 100
#define HOST_MAX 253

/* ---- input checks ---- */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Printable ASCII (and, when utf8, valid UTF-8 beyond it), 1..max bytes. */
static bool
text_ok(const char *s, size_t max, bool utf8, bool *eightbit_r)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;
	uint32_t cp;

	if (n == 0 || n > max)
		return false;
	while (i < n) {
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			i++;
			continue;
		}
		if (!utf8 || p[i] < 0x80)
			return false;
		size_t len = utf8_decode(p + i, n - i, &cp);
		if (len == 0)
			return false;
		if (eightbit_r != NULL)
			*eightbit_r = true;
		i += len;
	}
	return true;
}

/* A domain name or an address literal: no spaces, nothing that breaks a field. */
static bool
host_ok(const char *s)
{
	if (!text_ok(s, HOST_MAX, false, NULL))
		return false;
	for (const char *p = s; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && !is_digit(*p) &&
		    strchr(".-_[]:", *p) == NULL)
			return false;
	return true;
}

/*
 * Decode RFC 3461 xtext ("+XX" escapes) into out[size]; false when it is
 * not xtext or the decoded text is not printable ASCII, which a DSN field
 * could not carry.
 */
static bool
xtext_decode(const char *in, size_t n, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '+') {
			const char *h1, *h2;
			if (i + 2 >= n || in[i + 1] == '\0' || in[i + 2] == '\0')
				return false;
			h1 = strchr(hex, in[i + 1]);
			h2 = strchr(hex, in[i + 2]);
			if (h1 == NULL || h2 == NULL)
				return false;
			c = (unsigned char)((h1 - hex) << 4 | (h2 - hex));
			i += 2;
		} else if (c < 0x21 || c > 0x7e || c == '=') {
			return false;
		}
		if (c < 0x20 || c > 0x7e || o + 1 >= size)
			return false;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return o > 0;
}

/*
 * Write prefix and the single-spaced text, breaking lines before a word
 * that would pass width (the space before it is where the line breaks, so
 * a field folds as RFC 5322 2.2.3 wants) and splitting words longer than
 * WORD_CHUNK, so no line passes 998 octets. Ends with CRLF.
 */
static void
put_wrapped(struct mime_writer *w, const char *prefix, const char *cont, const char *text,
	    size_t width)
{
	size_t col = strlen(prefix);
	bool first = true;

	mime_put_str(w, prefix);
	while (*text != '\0') {
		size_t n = strcspn(text, " ");
		while (n > 0) {
			size_t k = n < WORD_CHUNK ? n : WORD_CHUNK;
			if (!first && col + 1 + k > width) {
				mime_put_str(w, "\r\n");
				mime_put_str(w, cont);
				col = strlen(cont);
			} else if (!first) {
				mime_put_str(w, " ");
				col++;
			}
			mime_put(w, text, k);
			col += k;
			text += k;
			n -= k;
			first = false;
		}
		text += strspn(text, " ");
	}
	mime_put_str(w, "\r\n");
}

/* ---- checks of the whole spec ---- */

static enum bounce_result
check_rcpt(const struct bounce_rcpt *r, size_t i, struct bounce_info *info, char *err,
	   size_t err_size)
{
	const char *bad = NULL;

	if (r->addr == NULL || !text_ok(r->addr, ADDR_MAX, true, &info->has_8bit))
		bad = "address";
	else if (r->orcpt != NULL && !text_ok(r->orcpt, 500, false, NULL))
		bad = "ORCPT";
	else if (r->action != BOUNCE_FAILED && r->action != BOUNCE_DELAYED)
		bad = "action";
	else if (r->status != NULL && !bounce_status_valid(r->status))
		bad = "status";
	else if (r->remote_mta != NULL && !host_ok(r->remote_mta))
		bad = "remote MTA";
	else if (r->last_attempt != NULL && !text_ok(r->last_attempt, DATE_MAX, false, NULL))
		bad = "last attempt date";
	else if (r->retry_until != NULL && !text_ok(r->retry_until, DATE_MAX, false, NULL))
		bad = "retry-until date";
	if (bad == NULL)
		return BOUNCE_OK;
	mime_set_err(err, err_size, "bounce: recipient %zu: bad %s", i + 1, bad);
	return BOUNCE_ERR_INPUT;
}

static enum bounce_result
check_spec(const struct bounce_spec *s, struct bounce_info *info, char *err, size_t err_size)
{
	const char *bad = NULL;
	const char *id = s->message_id;

	if (s->sender == NULL)
		bad = "sender";
	else if (s->sender[0] == '\0' || strcmp(s->sender, "<>") == 0) {
		mime_set_err(err, err_size, "bounce: the sender is <>: no bounce for a bounce");
		return BOUNCE_NULL_SENDER;
	} else if (!text_ok(s->sender, ADDR_MAX, true, &info->smtputf8) || s->sender[0] == '<')
		bad = "sender";
	else if (s->hostname == NULL || !host_ok(s->hostname))
		bad = "host name";
	else if (s->date == NULL || !text_ok(s->date, DATE_MAX, false, NULL))
		bad = "date";
	else if (id == NULL || !text_ok(id, 250, false, NULL) || id[0] != '<' ||
		 id[strlen(id) - 1] != '>' || strchr(id, ' ') != NULL)
		bad = "Message-ID";
	else if (s->boundary == NULL || !mime_boundary_valid(s->boundary))
		bad = "MIME boundary";
	else if (s->envid != NULL && !text_ok(s->envid, 500, false, NULL))
		bad = "ENVID";
	else if (s->arrival != NULL && !text_ok(s->arrival, DATE_MAX, false, NULL))
		bad = "arrival date";
	else if (s->rcpts == NULL || s->rcpt_count == 0)
		bad = "recipient list (empty)";
	else if (s->original.p == NULL && s->original.len > 0)
		bad = "original message";
	if (bad != NULL) {
		mime_set_err(err, err_size, "bounce: bad %s", bad);
		return BOUNCE_ERR_INPUT;
	}
	info->has_8bit = info->smtputf8;
	info->delay = true;
	for (size_t i = 0; i < s->rcpt_count; i++) {
		enum bounce_result r = check_rcpt(&s->rcpts[i], i, info, err, err_size);
		if (r != BOUNCE_OK)
			return r;
		info->delay &= s->rcpts[i].action == BOUNCE_DELAYED;
	}
	return BOUNCE_OK;
}

static void
rcpt_status(const struct bounce_rcpt *r, char st[BOUNCE_STATUS_SIZE])
{
	if (r->status != NULL)
		snprintf(st, BOUNCE_STATUS_SIZE, "%s", r->status);
	else if (r->reply == NULL || !bounce_status_from_reply(r->reply, st))
		snprintf(st, BOUNCE_STATUS_SIZE, "%s",
			 r->action == BOUNCE_DELAYED ? "4.0.0" : "5.0.0");
}

/* ---- the original message ---- */

struct original {
	struct buf norm;   /* the message with CRLF line ends */
	size_t header_len; /* its header lines, without the empty line */
	enum bounce_returned returned;
	bool eightbit; /* in what is returned */
};

/* Can p[n] go in a MIME part as it is: no NUL, no line over 998 octets? */
static bool
embeddable(const char *p, size_t n, bool *eightbit_r)
{
	size_t col = 0;

	*eightbit_r = false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\0')
			return false;
		*eightbit_r |= (unsigned char)p[i] >= 0x80;
		col = p[i] == '\r' || p[i] == '\n' ? 0 : col + 1;
		if (col > MIME_LINE_MAX)
			return false;
	}
	return true;
}

static void
prepare_original(const struct bounce_spec *s, bool delay, struct original *o)
{
	const char *p = s->original.p;
	size_t n = s->original.len;
	const char *end;

	buf_init(&o->norm, 0);
	o->header_len = 0;
	o->returned = BOUNCE_RETURNED_NONE;
	o->eightbit = false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\r' && p[i] != '\n')
			buf_append(&o->norm, p + i, 1);
		else if (p[i] == '\n' || i + 1 == n || p[i + 1] != '\n')
			buf_append(&o->norm, "\r\n", 2); /* CRLF, lone CR, bare LF */
	}
	if (o->norm.len == 0)
		return;
	if (o->norm.data[o->norm.len - 1] != '\n')
		buf_append(&o->norm, "\r\n", 2);
	end = memmem(o->norm.data, o->norm.len, "\r\n\r\n", 4);
	if (o->norm.len >= 2 && memcmp(o->norm.data, "\r\n", 2) == 0)
		o->header_len = 0;
	else
		o->header_len = end ? (size_t)(end - o->norm.data) + 2 : o->norm.len;

	/* a delay notice: the message is still queued and may yet arrive */
	if (!delay && s->ret == BOUNCE_RET_FULL && n <= s->full_max &&
	    embeddable(o->norm.data, o->norm.len, &o->eightbit))
		o->returned = BOUNCE_RETURNED_FULL;
	else if (o->header_len > 0 && embeddable(o->norm.data, o->header_len, &o->eightbit))
		o->returned = BOUNCE_RETURNED_HEADERS;
}

/* ---- the parts ---- */

static void
write_header(struct mime_writer *w, const struct bounce_spec *s, bool delay)
{
	mime_putf(w, "Date: %s\r\n", s->date);
	mime_putf(w, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", s->hostname);
	mime_putf(w, "To: <%s>\r\n", s->sender);
	mime_putf(w, "Subject: %s\r\n",
		  delay ? "Delayed Mail (still being retried)"
			: "Undelivered Mail Returned to Sender");
	mime_putf(w, "Message-ID: %s\r\n", s->message_id);
	/* RFC 3834: autoresponders and vacation programs must not answer this */
	mime_put_str(w, "Auto-Submitted: auto-replied\r\n");
	mime_put_str(w, "MIME-Version: 1.0\r\n");
	mime_putf(w,
		  "Content-Type: multipart/report; report-type=delivery-status;\r\n"
		  "\tboundary=\"%s\"\r\n",
		  s->boundary);
	mime_put_str(w, "\r\nThis is a MIME-encapsulated message.\r\n");
}

/* A paragraph of the human-readable part, wrapped, each line after prefix. */
static void __attribute__((format(printf, 3, 4)))
put_para(struct mime_writer *w, const char *prefix, const char *fmt, ...)
{
	struct buf t;
	va_list ap;

	buf_init(&t, 0);
	va_start(ap, fmt);
	buf_vprintf(&t, fmt, ap);
	va_end(ap);
	put_wrapped(w, prefix, prefix, t.data ? t.data : "", TEXT_WIDTH);
	buf_free(&t);
}

/* The one thing the sender can do about it, by the status. */
static const char *
advice(const struct bounce_rcpt *r, const char *st)
{
	if (r->action == BOUNCE_DELAYED)
		return NULL; /* said with the retry time */
	if (strncmp(st + 1, ".7.", 3) == 0)
		return "The receiving server refused the message by policy (spam "
		       "filtering, sender authentication or the like). Contact the "
		       "recipient another way, or ask your mail administrator.";
	if (strncmp(st + 1, ".1.", 3) == 0)
		return "Check the address for typing mistakes; the receiving server "
		       "does not know it.";
	if (strcmp(st + 1, ".2.2") == 0)
		return "The recipient's mailbox is full. Try again later, or reach "
		       "them another way.";
	if (strcmp(st + 1, ".3.4") == 0 || strcmp(st + 1, ".2.3") == 0)
		return "The message is too large for the receiving server. Send it "
		       "smaller, or share big files another way.";
	if (st[0] == '4')
		return "We kept trying until the message expired. Check the address, "
		       "and send the message again later.";
	return "Check the address; if it is right, forward this notice to your mail "
	       "administrator.";
}

static void
write_human_rcpt(struct mime_writer *w, const struct bounce_rcpt *r)
{
	char st[BOUNCE_STATUS_SIZE];
	struct buf d;
	const char *tip;

	rcpt_status(r, st);
	buf_init(&d, 0);
	if (r->action == BOUNCE_DELAYED)
		mime_putf(w, "\r\n<%s>: not delivered yet, still trying (status %s)\r\n", r->addr,
			  st);
	else
		mime_putf(w, "\r\n<%s>: delivery failed (status %s)\r\n", r->addr, st);
	if (r->reply != NULL) {
		bounce_status_diag(r->reply, &d);
		put_para(w, "    ", "The server %s said: %s",
			 r->remote_mta ? r->remote_mta : "of the recipient", d.data ? d.data : "");
		buf_reset(&d);
	}
	if (r->reason != NULL) {
		bounce_status_diag(r->reason, &d);
		put_para(w, "    ", "Reason: %s", d.data ? d.data : "");
	}
	buf_free(&d);
	tip = advice(r, st);
	if (tip != NULL)
		put_para(w, "    ", "What to do: %s", tip);
	else if (r->retry_until != NULL)
		put_para(w, "    ", "No action needed: we will keep trying until %s.",
			 r->retry_until);
	else
		put_para(w, "    ",
			 "No action needed: we will keep trying for a while, and "
			 "tell you if we give up.");
}

static void
write_human(struct mime_writer *w, const struct bounce_spec *s, const struct bounce_info *info,
	    enum bounce_returned returned)
{
	mime_putf(w, "\r\n--%s\r\n", s->boundary);
	mime_put_str(w, "Content-Description: Notification\r\n");
	mime_putf(w, "Content-Type: text/plain; charset=%s\r\n",
		  info->has_8bit ? "utf-8" : "us-ascii");
	mime_putf(w, "Content-Transfer-Encoding: %s\r\n\r\n", info->has_8bit ? "8bit" : "7bit");
	put_para(w, "", "This is the mail delivery system at %s.", s->hostname);
	mime_put_str(w, "\r\n");
	if (info->delay)
		put_para(w, "",
			 "Your message has not been delivered yet to the recipients "
			 "below. It stays in our queue and will be retried: this is "
			 "only a warning, do not send it again.");
	else
		put_para(w, "",
			 "Your message could not be delivered to one or more "
			 "recipients. Each is listed below with what the receiving "
			 "server said and what you can do.");
	for (size_t i = 0; i < s->rcpt_count; i++)
		write_human_rcpt(w, &s->rcpts[i]);
	if (returned == BOUNCE_RETURNED_FULL)
		mime_put_str(w, "\r\nThe original message is attached below.\r\n");
	else if (returned == BOUNCE_RETURNED_HEADERS)
		mime_put_str(w, "\r\nThe header of the original message is attached below.\r\n");
}

/*
 * "Field: rfc822; addr". message/delivery-status is ASCII, so a UTF-8
 * address goes as RFC 6533's "utf-8; " type with every character outside
 * its QCHAR set written \x{HEX}.
 */
static void
put_addr_field(struct mime_writer *w, const char *field, const char *addr)
{
	const unsigned char *p = (const unsigned char *)addr;
	size_t n = strlen(addr);
	bool ascii = true;
	uint32_t cp;

	for (size_t i = 0; i < n; i++)
		ascii &= p[i] < 0x80;
	if (ascii) {
		mime_putf(w, "%s: rfc822; %s\r\n", field, addr);
		return;
	}
	mime_putf(w, "%s: utf-8; ", field);
	for (size_t i = 0; i < n;) {
		size_t len = utf8_decode(p + i, n - i, &cp); /* valid: checked before */
		if (len == 0)
			break;
		if (cp > 0x20 && cp < 0x7f && cp != '\\' && cp != '+' && cp != '=')
			mime_put(w, addr + i, 1);
		else
			mime_putf(w, "\\x{%X}", (unsigned)cp);
		i += len;
	}
	mime_put_str(w, "\r\n");
}

/* "Original-Recipient: type; address" from the ORCPT, when it decodes. */
static void
put_orcpt(struct mime_writer *w, const char *orcpt)
{
	char dec[501];
	size_t type_len = strcspn(orcpt, ";");

	if (orcpt[type_len] != ';' || type_len == 0 || type_len > 40)
		return; /* not ours to repair: leave the field out */
	for (size_t i = 0; i < type_len; i++)
		if (!(orcpt[i] >= 'a' && orcpt[i] <= 'z') &&
		    !(orcpt[i] >= 'A' && orcpt[i] <= 'Z') && !is_digit(orcpt[i]) && orcpt[i] != '-')
			return;
	if (!xtext_decode(orcpt + type_len + 1, strlen(orcpt + type_len + 1), dec, sizeof dec))
		return;
	mime_putf(w, "Original-Recipient: %.*s; %s\r\n", (int)type_len, orcpt, dec);
}

static void
write_dsn_rcpt(struct mime_writer *w, const struct bounce_rcpt *r)
{
	char st[BOUNCE_STATUS_SIZE];
	struct buf d;

	rcpt_status(r, st);
	mime_put_str(w, "\r\n");
	if (r->orcpt != NULL)
		put_orcpt(w, r->orcpt);
	put_addr_field(w, "Final-Recipient", r->addr);
	mime_putf(w, "Action: %s\r\n", r->action == BOUNCE_DELAYED ? "delayed" : "failed");
	mime_putf(w, "Status: %s\r\n", st);
	if (r->remote_mta != NULL)
		mime_putf(w, "Remote-MTA: dns; %s\r\n", r->remote_mta);
	buf_init(&d, 0);
	if (r->reply != NULL || r->reason != NULL)
		bounce_status_diag(r->reply ? r->reply : r->reason, &d);
	if (d.len > 0)
		put_wrapped(w,
			    r->reply ? "Diagnostic-Code: smtp; " : "Diagnostic-Code: X-mailport; ",
			    " ", d.data, FIELD_WIDTH);
	buf_free(&d);
	if (r->last_attempt != NULL)
		mime_putf(w, "Last-Attempt-Date: %s\r\n", r->last_attempt);
	if (r->action == BOUNCE_DELAYED && r->retry_until != NULL)
		mime_putf(w, "Will-Retry-Until: %s\r\n", r->retry_until);
}

static void
write_dsn(struct mime_writer *w, const struct bounce_spec *s)
{
	char envid[501];

	mime_putf(w, "\r\n--%s\r\n", s->boundary);
	mime_put_str(w, "Content-Description: Delivery report\r\n");
	mime_put_str(w, "Content-Type: message/delivery-status\r\n\r\n");
	mime_putf(w, "Reporting-MTA: dns; %s\r\n", s->hostname);
	/* RFC 3464 2.2.1: the ENVID as the sender gave it, decoded from xtext */
	if (s->envid != NULL && xtext_decode(s->envid, strlen(s->envid), envid, sizeof envid))
		mime_putf(w, "Original-Envelope-Id: %s\r\n", envid);
	if (s->arrival != NULL)
		mime_putf(w, "Arrival-Date: %s\r\n", s->arrival);
	for (size_t i = 0; i < s->rcpt_count; i++)
		write_dsn_rcpt(w, &s->rcpts[i]);
}

static void
write_original(struct mime_writer *w, const struct bounce_spec *s, const struct original *o)
{
	bool full = o->returned == BOUNCE_RETURNED_FULL;

	if (o->returned == BOUNCE_RETURNED_NONE)
		return;
	mime_putf(w, "\r\n--%s\r\n", s->boundary);
	mime_putf(w, "Content-Description: Undelivered Message%s\r\n", full ? "" : " Headers");
	mime_putf(w, "Content-Type: %s\r\n", full ? "message/rfc822" : "text/rfc822-headers");
	if (o->eightbit)
		mime_put_str(w, "Content-Transfer-Encoding: 8bit\r\n");
	mime_put_str(w, "\r\n");
	mime_put(w, o->norm.data, full ? o->norm.len : o->header_len);
}

/* Lines of p[n] that start with "--boundary": delimiters, or a collision. */
static size_t
count_delimiters(const char *p, size_t n, const char *boundary)
{
	size_t bl = strlen(boundary), count = 0;

	for (size_t i = 0; i + 2 + bl <= n; i++) {
		if ((i == 0 || p[i - 1] == '\n') && p[i] == '-' && p[i + 1] == '-' &&
		    memcmp(p + i + 2, boundary, bl) == 0)
			count++;
	}
	return count;
}

enum bounce_result
bounce_build(const struct bounce_spec *spec, struct buf *out, struct bounce_info *info_r, char *err,
	     size_t err_size)
{
	struct bounce_info info = {0};
	struct original o;
	size_t start = out->len;
	struct mime_writer w = {out, 0, false, false};
	enum bounce_result r = check_spec(spec, &info, err, err_size);

	if (r != BOUNCE_OK)
		return r;
	prepare_original(spec, info.delay, &o);
	info.returned = o.returned;
	info.has_8bit |= o.eightbit;

	write_header(&w, spec, info.delay);
	write_human(&w, spec, &info, o.returned);
	write_dsn(&w, spec);
	write_original(&w, spec, &o);
	mime_putf(&w, "\r\n--%s--\r\n", spec->boundary);
	buf_free(&o.norm);

	if (w.full) {
		mime_truncate(out, start);
		mime_set_err(err, err_size, "bounce: the notification is over the size limit");
		return BOUNCE_ERR_FULL;
	}
	if (count_delimiters(out->data + start, out->len - start, spec->boundary) !=
	    (o.returned == BOUNCE_RETURNED_NONE ? 3u : 4u)) {
		mime_truncate(out, start);
		mime_set_err(err, err_size, "bounce: the MIME boundary occurs in the content");
		return BOUNCE_ERR_BOUNDARY;
	}
	info.size = out->len - start;
	if (info_r != NULL)
		*info_r = info;
	return BOUNCE_OK;
}
