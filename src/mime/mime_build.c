/*
 * mime_build: the MIME builder of the message module (message.h): the
 * message `mailport send` writes from its options.
 *
 * The header (RFC 5322 3.6) is written by header_encode; the body is one
 * text/plain part (RFC 2045 6: 7bit when every line is ASCII and at most
 * 998 octets, else quoted-printable, 6.7) or, with attachments,
 * multipart/mixed (RFC 2046 5.1): the text, then each file in base64
 * (RFC 2045 6.8, 76-character lines) with its name as RFC 2231 or quoted
 * (RFC 2183 Content-Disposition), except a message/rfc822 file, embedded
 * unencoded as RFC 2046 5.2.1 requires.
 *
 * Invariants: CRLF line ends only; every line at most 998 octets; the
 * boundary occurs in no part (each part is made aside and searched before
 * it goes out); a failed build leaves out as it was.
 */
#include "message_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "utf8.h"

#define B64_LINE_IN 57 /* 76 base64 characters a line (RFC 2045 6.8) */
#define QP_LINE_MAX 75 /* 76 with the soft break '=' (RFC 2045 6.7) */

static int
load_addrs(const char *field, const char *const *texts, size_t count, struct message_addrs *l,
	   char *err, size_t err_size)
{
	char why[200];

	for (size_t i = 0; i < count; i++) {
		if (texts[i] == NULL)
			continue;
		if (message_parse_addresses(strv_from(texts[i]), l, why, sizeof why) < 0) {
			mime_set_err(err, err_size, "%s: %s", field, why);
			return -1;
		}
	}
	for (size_t i = 0; i < l->n; i++) {
		const char *at = strrchr(l->v[i].addr, '@');
		/* RFC 5321 4.5.3.1.3: a path is at most 256 octets with its <> */
		if (at == NULL || at == l->v[i].addr || at[1] == '\0' ||
		    strlen(l->v[i].addr) > 254) {
			str_escape(why, 80, l->v[i].addr, strlen(l->v[i].addr));
			mime_set_err(err, err_size, "%s: \"%s\" is not an address (local@domain)",
				     field, why);
			return -1;
		}
		if (header_check_text(field, l->v[i].name, strlen(l->v[i].name), err, err_size) < 0)
			return -1;
	}
	return 0;
}

/* RFC 2045 6.7: one line of text, with soft breaks to keep lines at 76. */
static void
qp_line(struct mime_writer *w, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char line[QP_LINE_MAX + 3];
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		/* rule 3: white space is literal except at the end of a line */
		bool lit =
		    (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && i + 1 < n);
		size_t k = lit ? 1 : 3;
		if (col + k > QP_LINE_MAX) {
			mime_put(w, line, col);
			mime_put(w, "=\r\n", 3);
			col = 0;
		}
		if (lit) {
			line[col++] = (char)c;
		} else {
			line[col++] = '=';
			line[col++] = hex[c >> 4];
			line[col++] = hex[c & 15];
		}
	}
	mime_put(w, line, col);
	mime_put(w, "\r\n", 2);
}

static int
text_part(struct mime_writer *w, const char *body, size_t len, char *err, size_t err_size)
{
	struct mime_text_scan s = mime_scan_text(body, len);
	bool qp = s.has_8bit || s.has_nul || s.has_long_line;
	size_t pos = 0, end;

	if (s.has_8bit && !utf8_valid((const unsigned char *)body, len)) {
		mime_set_err(
		    err, err_size,
		    "the message text is not valid UTF-8 (attach the file to send it as is)");
		return -1;
	}
	mime_put_str(w, s.has_8bit ? "Content-Type: text/plain; charset=utf-8\r\n"
				   : "Content-Type: text/plain; charset=us-ascii\r\n");
	mime_put_str(w, qp ? "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
			   : "Content-Transfer-Encoding: 7bit\r\n\r\n");
	if (!qp) {
		mime_copy_crlf(w, body, len);
		return 0;
	}
	while (pos < len) {
		size_t next = mime_next_line(body, len, pos, &end);
		qp_line(w, (const unsigned char *)body + pos, end - pos);
		pos = next;
	}
	return 0;
}

static void
base64_lines(struct mime_writer *w, const unsigned char *p, size_t len)
{
	char line[B64_ENCODED_SIZE(B64_LINE_IN)];

	for (size_t off = 0; off < len; off += B64_LINE_IN) {
		size_t n = len - off < B64_LINE_IN ? len - off : B64_LINE_IN;
		if (off > 0)
			mime_put(w, "\r\n", 2);
		mime_put(w, line, b64_encode(p + off, n, line));
	}
}

/* RFC 2045 5.1 token: no space, controls or tspecials. */
static size_t
token_len(const char *s)
{
	size_t n = 0;

	while (s[n] > 32 && s[n] < 127 && strchr("()<>@,;:\\\"/[]?=", s[n]) == NULL)
		n++;
	return n;
}

/* RFC 2045 5.1 type "/" subtype; RFC 6838 4.2: each at most 127 characters. */
static bool
mime_type_ok(const char *type)
{
	size_t n = token_len(type);

	return n > 0 && strlen(type) <= 255 && type[n] == '/' && token_len(type + n + 1) > 0 &&
	       type[n + 1 + token_len(type + n + 1)] == '\0';
}

/* RFC 2231 7 attribute-char: what needs no %XX in an extended value. */
static bool
is_attr_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$&+-.^_`|~", c) != NULL;
}

/*
 * attr="name" or, for names that are not plain printable ASCII, RFC 2231
 * attr*=utf-8''percent-encoded. The bytes are not checked for UTF-8: a
 * file name is whatever the file system holds, and a wrong label on a name
 * is better than refusing to send the file.
 */
static void
filename_param(struct buf *b, const char *attr, const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	bool plain = true;

	for (const char *s = name; *s; s++)
		plain &=
		    !message_is_ctl((unsigned char)*s) && *s != '\t' && (unsigned char)*s < 0x80;
	if (plain) {
		buf_printf(b, "%s=\"", attr);
		for (const char *s = name; *s; s++) {
			if (*s == '"' || *s == '\\')
				buf_append(b, "\\", 1);
			buf_append(b, s, 1);
		}
		buf_append(b, "\"", 1);
		return;
	}
	buf_printf(b, "%s*=utf-8''", attr);
	for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
		if (is_attr_char(*s))
			buf_append(b, s, 1);
		else
			buf_printf(b, "%%%c%c", hex[*s >> 4], hex[*s & 15]);
	}
}

static void
param_field(struct mime_writer *w, const char *name, const char *value, const char *attr,
	    const char *filename)
{
	struct buf t;

	buf_init(&t, 0);
	buf_printf(&t, "%s;", value);
	header_start(w, name);
	header_token(w, " ", 1, t.data, t.len);
	buf_reset(&t);
	filename_param(&t, attr, filename);
	header_token(w, " ", 1, t.data, t.len);
	mime_put(w, "\r\n", 2);
	buf_free(&t);
}

/*
 * One attachment: base64, except a message (message/rfc822 and the like),
 * which RFC 2046 5.2.1 allows
 * only unencoded; such a message with NULs or overlong lines cannot be
 * sent unencoded and goes as application/octet-stream instead.
 */
static int
attachment_part(struct mime_writer *w, const struct message_attachment *a, size_t index, char *err,
		size_t err_size)
{
	const char *name = a->filename ? a->filename : "";
	const char *slash = strrchr(name, '/');
	const char *type;
	const char *cte = "base64";

	name = slash ? slash + 1 : name;
	if (name[0] == '\0' || strlen(name) > MESSAGE_FILENAME_MAX) {
		mime_set_err(err, err_size,
			     "attachment %zu: a file name of 1 to %d bytes is needed", index + 1,
			     MESSAGE_FILENAME_MAX);
		return -1;
	}
	type = a->type ? a->type : message_guess_type(name);
	if (!mime_type_ok(type)) {
		mime_set_err(err, err_size, "attachment %zu: bad MIME type (want type/subtype)",
			     index + 1);
		return -1;
	}
	if (strncasecmp(type, "message/", 8) == 0) {
		struct mime_text_scan s = mime_scan_text(a->data, a->len);
		if (s.has_nul || s.has_long_line)
			type = "application/octet-stream";
		else
			cte = s.has_8bit ? "8bit" : "7bit";
	}
	/*
	 * Text without a charset is read as US-ASCII (RFC 2046 4.1.2): name
	 * UTF-8 when the content is UTF-8, so readers show it as written.
	 */
	char typed[160];
	if (strncasecmp(type, "text/", 5) == 0 && strchr(type, ';') == NULL &&
	    mime_scan_text(a->data, a->len).has_8bit &&
	    utf8_valid((const unsigned char *)a->data, a->len) &&
	    snprintf(typed, sizeof typed, "%s; charset=utf-8", type) < (int)sizeof typed)
		type = typed;
	param_field(w, "Content-Type", type, "name", name);
	param_field(w, "Content-Disposition", "attachment", "filename", name);
	mime_put_str(w, "Content-Transfer-Encoding: ");
	mime_put_str(w, cte);
	mime_put(w, "\r\n\r\n", 4);
	if (strcmp(cte, "base64") == 0)
		base64_lines(w, a->data, a->len);
	else
		mime_copy_crlf(w, a->data, a->len);
	return 0;
}

/*
 * multipart/mixed (RFC 2046 5.1): each part is made aside and searched for
 * the boundary before it goes out, so a collision is caught for sure.
 */
static int
multipart_body(struct mime_writer *w, const struct message_spec *spec, bool *collision_r, char *err,
	       size_t err_size)
{
	struct buf part;
	struct mime_writer pw = {&part, 0, false, false};
	size_t blen = strlen(spec->boundary);
	int rc = -1;

	buf_init(&part, w->out->max);
	header_start(w, "Content-Type");
	header_token(w, " ", 1, "multipart/mixed;", 16);
	mime_put_str(w, w->col + 12 + blen > MESSAGE_FOLD_AT ? "\r\n boundary=\"" : " boundary=\"");
	mime_put_str(w, spec->boundary);
	mime_put(w, "\"\r\n\r\n", 5);
	for (size_t i = 0; i <= spec->attachment_count; i++) {
		buf_reset(&part);
		pw.col = 0;
		if (i == 0
			? text_part(&pw, spec->body ? spec->body : "", spec->body_len, err,
				    err_size) < 0
			: attachment_part(&pw, &spec->attachments[i - 1], i - 1, err, err_size) < 0)
			goto out;
		if (pw.full) {
			w->full = true;
			goto out;
		}
		if (part.len > 0 && memmem(part.data, part.len, spec->boundary, blen) != NULL) {
			*collision_r = true;
			mime_set_err(err, err_size, "the MIME boundary occurs in %s; pick another",
				     i == 0 ? "the text" : "an attachment");
			goto out;
		}
		mime_put_str(w, i == 0 ? "--" : "\r\n--");
		mime_put_str(w, spec->boundary);
		mime_put(w, "\r\n", 2);
		mime_put(w, part.data, part.len);
	}
	mime_put_str(w, "\r\n--");
	mime_put_str(w, spec->boundary);
	mime_put(w, "--\r\n", 4);
	rc = 0;
out:
	buf_free(&part);
	return rc;
}

/* Date, Message-ID and the boundary: made by the caller, checked here. */
static int
check_spec(const struct message_spec *spec, char *err, size_t err_size)
{
	const char *fields[] = {spec->date, spec->message_id};
	const char *names[] = {"Date", "Message-ID"};

	for (size_t i = 0; i < 2; i++) {
		size_t n = fields[i] ? strlen(fields[i]) : 0;
		bool ok = n > 0 && n <= HEADER_WORD_MAX;
		for (size_t k = 0; ok && k < n; k++)
			ok = fields[i][k] >= 32 && fields[i][k] < 127;
		if (!ok) {
			mime_set_err(err, err_size, "%s: missing or not printable ASCII", names[i]);
			return -1;
		}
	}
	if (spec->from == NULL) {
		mime_set_err(err, err_size, "From: no sender given");
		return -1;
	}
	if (spec->attachment_count > 0 && !mime_boundary_valid(spec->boundary)) {
		mime_set_err(err, err_size,
			     "bad MIME boundary (1-70 letters, digits or '()+_,-./:=?)");
		return -1;
	}
	return 0;
}

static int
build(const struct message_spec *spec, struct buf *out, bool *collision_r, char *err,
      size_t err_size)
{
	struct mime_writer w = {out, 0, false, false};
	struct message_addrs from = {0}, to = {0}, cc = {0}, reply = {0};
	const char *ua = spec->user_agent ? spec->user_agent : "mailport";
	int rc = -1;

	if (check_spec(spec, err, err_size) < 0 ||
	    load_addrs("From", &spec->from, 1, &from, err, err_size) < 0 ||
	    load_addrs("To", spec->to, spec->to_count, &to, err, err_size) < 0 ||
	    load_addrs("Cc", spec->cc, spec->cc_count, &cc, err, err_size) < 0 ||
	    load_addrs("Reply-To", &spec->reply_to, 1, &reply, err, err_size) < 0)
		goto out;
	if (from.n != 1) {
		mime_set_err(err, err_size, "From: exactly one mailbox is needed, not %zu", from.n);
		goto out;
	}
	header_put_raw(&w, "Date", spec->date);
	header_addresses(&w, "From", &from);
	if (spec->subject &&
	    header_add_unstructured(&w, "Subject", spec->subject, err, err_size) < 0)
		goto out;
	if (to.n > 0)
		header_addresses(&w, "To", &to);
	if (cc.n > 0)
		header_addresses(&w, "Cc", &cc);
	if (to.n == 0 && cc.n == 0) /* RFC 5322 3.6.3: hide Bcc-only recipients */
		header_put_raw(&w, "To", "undisclosed-recipients:;");
	if (reply.n > 0)
		header_addresses(&w, "Reply-To", &reply);
	header_put_raw(&w, "Message-ID", spec->message_id);
	if (header_add_unstructured(&w, "User-Agent", ua, err, err_size) < 0)
		goto out;
	header_put_raw(&w, "MIME-Version", "1.0");
	if (spec->attachment_count == 0)
		rc = text_part(&w, spec->body ? spec->body : "", spec->body_len, err, err_size);
	else
		rc = multipart_body(&w, spec, collision_r, err, err_size);
	if (rc == 0 && w.full) {
		mime_set_err(err, err_size, "the message is larger than %zu bytes", out->max);
		rc = -1;
	}
out:
	message_addrs_free(&from);
	message_addrs_free(&to);
	message_addrs_free(&cc);
	message_addrs_free(&reply);
	return rc;
}

void
message_info_fill(struct message_info *info, const struct buf *out, size_t start)
{
	struct mime_text_scan s;

	if (info == NULL)
		return;
	s = mime_scan_text(out->data ? out->data + start : "", out->len - start);
	info->size = out->len - start;
	info->has_8bit = s.has_8bit;
	info->has_long_line = s.has_long_line;
}

int
message_build(const struct message_spec *spec, struct buf *out, struct message_info *info_r,
	      char *err, size_t err_size)
{
	size_t start = out->len;
	bool collision = false;

	if (info_r)
		memset(info_r, 0, sizeof *info_r);
	if (build(spec, out, &collision, err, err_size) < 0) {
		mime_truncate(out, start);
		return -1;
	}
	message_info_fill(info_r, out, start);
	return 0;
}

bool
message_boundary_ok(const struct message_spec *spec)
{
	struct buf scratch;
	bool collision = false;

	if (spec->attachment_count == 0)
		return true;
	if (!mime_boundary_valid(spec->boundary))
		return false;
	buf_init(&scratch, 0);
	build(spec, &scratch, &collision, NULL, 0);
	buf_free(&scratch);
	return !collision;
}

const char *
message_guess_type(const char *filename)
{
	static const char *const types[][2] = {
	    {"txt", "text/plain"},
	    {"text", "text/plain"},
	    {"log", "text/plain"},
	    {"md", "text/markdown"},
	    {"html", "text/html"},
	    {"htm", "text/html"},
	    {"css", "text/css"},
	    {"csv", "text/csv"},
	    {"ics", "text/calendar"},
	    {"vcf", "text/vcard"},
	    {"xml", "application/xml"},
	    {"json", "application/json"},
	    {"js", "text/javascript"},
	    {"pdf", "application/pdf"},
	    {"png", "image/png"},
	    {"jpg", "image/jpeg"},
	    {"jpeg", "image/jpeg"},
	    {"gif", "image/gif"},
	    {"webp", "image/webp"},
	    {"svg", "image/svg+xml"},
	    {"bmp", "image/bmp"},
	    {"ico", "image/vnd.microsoft.icon"},
	    {"tif", "image/tiff"},
	    {"tiff", "image/tiff"},
	    {"zip", "application/zip"},
	    {"gz", "application/gzip"},
	    {"tgz", "application/gzip"},
	    {"bz2", "application/x-bzip2"},
	    {"xz", "application/x-xz"},
	    {"zst", "application/zstd"},
	    {"7z", "application/x-7z-compressed"},
	    {"tar", "application/x-tar"},
	    {"eml", "message/rfc822"},
	    {"mp3", "audio/mpeg"},
	    {"wav", "audio/wav"},
	    {"ogg", "audio/ogg"},
	    {"mp4", "video/mp4"},
	    {"webm", "video/webm"},
	    {"doc", "application/msword"},
	    {"rtf", "application/rtf"},
	    {"asc", "application/pgp-signature"},
	    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
	    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
	    {"odt", "application/vnd.oasis.opendocument.text"},
	    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
	};
	const char *dot = filename ? strrchr(filename, '.') : NULL;

	if (dot != NULL && strchr(dot, '/') == NULL)
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			if (strcasecmp(dot + 1, types[i][0]) == 0)
				return types[i][1];
	return "application/octet-stream";
}
