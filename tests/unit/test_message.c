/*
 * Unit tests for core/message: building messages (headers, RFC 2047 words,
 * quoted-printable and base64 bodies, attachments and boundaries), preparing
 * messages given as they are (CRLF, Date/Message-ID/From added only when
 * missing, Bcc removed), RFC 5322 address lists, sendmail's "." line.
 * Every message produced is checked for CRLF-only line ends and, where
 * it matters, decoded back and compared with the input.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "buf.h"
#include "harness.h"
#include "message.h"

#define DATE "Mon, 1 Jan 2024 10:00:00 +0000"
#define MSGID "<1.2@example.org>"
#define BOUNDARY "=_mp_0123456789"

/* Every CR is followed by LF and every LF preceded by CR. */
static bool
crlf_only(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r' && (i + 1 == len || p[i + 1] != '\n'))
			return false;
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return false;
	}
	return true;
}

static size_t
longest_line(const char *p, size_t len)
{
	size_t best = 0, cur = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r' || p[i] == '\n') {
			cur = 0;
			continue;
		}
		if (++cur > best)
			best = cur;
	}
	return best;
}

/* The header field "name: " in msg, unfolded (CRLF removed), into out[size]. */
static bool
get_field(const char *msg, const char *name, char *out, size_t size)
{
	size_t n = strlen(name), k = 0;
	const char *p = msg;

	for (;;) {
		if (strncmp(p, name, n) == 0 && p[n] == ':')
			break;
		p = strstr(p, "\r\n");
		if (p == NULL || p[2] == '\r')
			return false;
		p += 2;
	}
	p += n + 1;
	if (*p == ' ')
		p++;
	for (; *p && !(p[0] == '\r' && p[1] == '\n' && p[2] != ' ' && p[2] != '\t'); p++)
		if (*p != '\r' && *p != '\n' && k + 1 < size)
			out[k++] = *p;
	out[k] = '\0';
	return true;
}

/*
 * Decode a run of "=?UTF-8?B?...?=" words separated by white space into
 * out; each word must be at most 75 characters and decode to valid text on
 * its own (no character split between words). Returns false otherwise.
 */
static bool
decode_words(const char *s, char *out, size_t size)
{
	size_t k = 0;

	while (*s) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		if (strncmp(s, "=?UTF-8?B?", 10) != 0)
			return false;
		const char *end = strstr(s + 10, "?=");
		if (end == NULL || (size_t)(end + 2 - s) > 75)
			return false;
		size_t n;
		if (!b64_decode(s + 10, (size_t)(end - s - 10), out + k, size - k - 1, &n))
			return false;
		if (n > 0 && ((unsigned char)out[k] & 0xc0) == 0x80)
			return false; /* starts inside a character */
		unsigned char last = (unsigned char)out[k + n - 1];
		if (last >= 0xc0 || (last >= 0x80 && n == 1))
			return false; /* ends with a lead byte */
		k += n;
		s = end + 2;
	}
	out[k] = '\0';
	return true;
}

static int
build(const struct message_spec *spec, struct buf *out)
{
	char err[256] = "";
	struct message_info info;
	int rc;

	buf_init(out, 0);
	rc = message_build(spec, out, &info, err, sizeof err);
	if (rc == 0) {
		CHECK(info.size == out->len);
		CHECK(crlf_only(out->data, out->len));
		CHECK(longest_line(out->data, out->len) <= 78);
	} else {
		printf("# build: %s\n", err);
	}
	return rc;
}

static void
test_build_plain(void)
{
	const char *to[] = {"bob@example.com, \"Doe, Jane\" <jane@example.com>"};
	struct message_spec spec = {
	    .from = "Alice <alice@example.org>",
	    .to = to,
	    .to_count = 1,
	    .subject = "Hello",
	    .date = DATE,
	    .message_id = MSGID,
	    .body = "line one\nline two\n",
	    .body_len = 18,
	};
	struct buf b;

	CHECK(build(&spec, &b) == 0);
	CHECK_STR(b.data, "Date: " DATE "\r\n"
			  "From: Alice <alice@example.org>\r\n"
			  "Subject: Hello\r\n"
			  "To: bob@example.com, \"Doe, Jane\" <jane@example.com>\r\n"
			  "Message-ID: " MSGID "\r\n"
			  "User-Agent: mailport\r\n"
			  "MIME-Version: 1.0\r\n"
			  "Content-Type: text/plain; charset=us-ascii\r\n"
			  "Content-Transfer-Encoding: 7bit\r\n"
			  "\r\n"
			  "line one\r\nline two\r\n");
	buf_free(&b);

	/* no To or Cc: Bcc-only recipients stay hidden */
	spec.to_count = 0;
	spec.subject = NULL;
	spec.reply_to = "help@example.org";
	CHECK(build(&spec, &b) == 0);
	CHECK(strstr(b.data, "\r\nTo: undisclosed-recipients:;\r\n") != NULL);
	CHECK(strstr(b.data, "\r\nReply-To: help@example.org\r\n") != NULL);
	CHECK(strstr(b.data, "Subject") == NULL);
	buf_free(&b);
}

static void
test_build_errors(void)
{
	const char *to[] = {"bob@example.com"};
	const char *bad_to[] = {"bob"};
	struct message_spec spec = {
	    .from = "alice@example.org",
	    .to = to,
	    .to_count = 1,
	    .date = DATE,
	    .message_id = MSGID,
	};
	struct buf b;
	char err[256];

	buf_init(&b, 0);
	buf_append_str(&b, "keep");
	spec.subject = "evil\r\nBcc: x@y";
	CHECK(message_build(&spec, &b, NULL, err, sizeof err) == -1);
	CHECK(strstr(err, "Subject") != NULL);
	CHECK_STR(b.data, "keep"); /* out unchanged on failure */
	spec.subject = "bad \xc3\x28 utf-8";
	CHECK(message_build(&spec, &b, NULL, err, sizeof err) == -1);
	spec.subject = NULL;
	spec.from = "a@x, b@y";
	CHECK(message_build(&spec, &b, NULL, err, sizeof err) == -1);
	spec.from = "alice@example.org";
	spec.to = bad_to;
	CHECK(message_build(&spec, &b, NULL, err, sizeof err) == -1);
	CHECK(strstr(err, "not an address") != NULL);
	char long_addr[300];
	const char *long_to[] = {long_addr};
	memset(long_addr, 'l', 280);
	strcpy(long_addr + 280, "@example.com");
	spec.to = long_to;
	CHECK(message_build(&spec, &b, NULL, err, sizeof err) == -1); /* RFC 5321 path limit */
	spec.to = to;
	spec.date = "Mon\n";
	CHECK(message_build(&spec, &b, NULL, err, sizeof err) == -1);
	spec.date = DATE;
	spec.body = "caf\xe9\n"; /* Latin-1, not UTF-8 */
	spec.body_len = 5;
	CHECK(message_build(&spec, &b, NULL, err, sizeof err) == -1);
	CHECK(strstr(err, "UTF-8") != NULL);
	spec.body = "x";
	spec.body_len = 1;
	buf_free(&b);
	buf_init(&b, 100); /* the size limit */
	CHECK(message_build(&spec, &b, NULL, err, sizeof err) == -1);
	CHECK(strstr(err, "larger") != NULL);
	CHECK(b.len == 0);
	buf_free(&b);
}

static void
test_subject_encoding(void)
{
	struct buf b;
	char got[512], dec[512];

	buf_init(&b, 0);
	CHECK(message_add_header(&b, "Subject",
				 "Gr\xc3\xbc\xc3\x9f"
				 "e aus K\xc3\xb6ln",
				 NULL, 0) == 0);
	CHECK_STR(b.data, "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n");

	/* long text in a 3-byte script: several words, none splits a character */
	char jp[200] = "";
	for (int i = 0; i < 6; i++)
		strcat(jp,
		       "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad"
		       "\xe3\x82\xb9\xe3\x83\x88");
	buf_reset(&b);
	CHECK(message_add_header(&b, "Subject", jp, NULL, 0) == 0);
	CHECK(crlf_only(b.data, b.len));
	CHECK(longest_line(b.data, b.len) <= 78);
	CHECK(get_field(b.data, "Subject", got, sizeof got));
	CHECK(decode_words(got, dec, sizeof dec));
	CHECK_STR(dec, jp);
	/* the first word fills the first line: 42 bytes, 56 base64 characters */
	CHECK(strncmp(b.data, "Subject: =?UTF-8?B?", 19) == 0 &&
	      strstr(b.data, "?=\r\n ") == b.data + 19 + 56);

	/* 4-byte characters (emoji) at every offset */
	for (int pad = 0; pad < 4; pad++) {
		char s[300];
		memset(s, 'a', (size_t)pad);
		s[pad] = '\0';
		for (int i = 0; i < 30; i++)
			strcat(s, "\xf0\x9f\x98\x80");
		buf_reset(&b);
		CHECK(message_add_header(&b, "Subject", s, NULL, 0) == 0);
		CHECK(longest_line(b.data, b.len) <= 78);
		CHECK(get_field(b.data, "Subject", got, sizeof got));
		CHECK(decode_words(got, dec, sizeof dec));
		CHECK_STR(dec, s);
	}

	/* ASCII stays as it is, folded at white space, unfolding gives it back */
	const char *ascii = "This is a rather long subject line that certainly needs to be "
			    "folded  once or maybe twice, with  double spaces kept";
	buf_reset(&b);
	CHECK(message_add_header(&b, "Subject", ascii, NULL, 0) == 0);
	CHECK(longest_line(b.data, b.len) <= 78);
	CHECK(strstr(b.data, "\r\n ") != NULL);
	CHECK(get_field(b.data, "Subject", got, sizeof got));
	CHECK_STR(got, ascii);
	buf_reset(&b);
	CHECK(message_add_header(&b, "Subject", "plain", NULL, 0) == 0);
	CHECK_STR(b.data, "Subject: plain\r\n");
	/* ASCII that looks like an encoded-word is encoded, so it reads back as is */
	buf_reset(&b);
	CHECK(message_add_header(&b, "Subject", "=?x?", NULL, 0) == 0);
	CHECK_STR(b.data, "Subject: =?UTF-8?B?PT94Pw==?=\r\n");
	CHECK(message_add_header(&b, "Bad Name", "x", NULL, 0) == -1);
	CHECK(message_add_header(&b, "Subject", "a\nb", NULL, 0) == -1);
	buf_free(&b);
}

static void
test_address_headers(void)
{
	const char *to[] = {"J\xc3\xb6rg M\xc3\xbcller <j@example.de>", "J. Smith <js@example.com>",
			    "\"a \\\"quoted\\\" name\" <q@example.com>"};
	const char *cc[] = {"c1@example.com,c2@example.com, c3@example.com, c4@example.com, "
			    "c5@example.com"};
	struct message_spec spec = {
	    .from = "\"Alice Example\" <alice@example.org>",
	    .to = to,
	    .to_count = 3,
	    .cc = cc,
	    .cc_count = 1,
	    .date = DATE,
	    .message_id = MSGID,
	};
	struct buf b;
	char got[1024];

	CHECK(build(&spec, &b) == 0);
	CHECK(strstr(b.data, "From: Alice Example <alice@example.org>\r\n") != NULL);
	CHECK(get_field(b.data, "To", got, sizeof got));
	CHECK_STR(got, "=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <j@example.de>, \"J. Smith\" "
		       "<js@example.com>, \"a \\\"quoted\\\" name\" <q@example.com>");
	CHECK(get_field(b.data, "Cc", got, sizeof got));
	CHECK_STR(got, "c1@example.com, c2@example.com, c3@example.com, c4@example.com, "
		       "c5@example.com");
	CHECK(strstr(b.data, "\r\nCc: c1@example.com,") != NULL);
	CHECK(strstr(b.data, ",\r\n c5@example.com\r\n") != NULL); /* folded at 78 */
	buf_free(&b);
}

static void
test_body_qp(void)
{
	char body[1200];
	struct message_spec spec = {
	    .from = "a@example.org",
	    .date = DATE,
	    .message_id = MSGID,
	    .body = body,
	};
	struct buf b;

	strcpy(body, "Gr\xc3\xbc\xc3\x9f"
		     "e\r\nend with space \nx=y\rlast");
	spec.body_len = strlen(body);
	CHECK(build(&spec, &b) == 0);
	CHECK(strstr(b.data, "Content-Type: text/plain; charset=utf-8\r\n"
			     "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
			     "Gr=C3=BC=C3=9Fe\r\nend with space=20\r\nx=3Dy\r\nlast\r\n") != NULL);
	buf_free(&b);

	/* an ASCII line over 998 octets: quoted-printable, still us-ascii */
	memset(body, 'x', 1100);
	body[1100] = '\0';
	spec.body_len = 1100;
	CHECK(build(&spec, &b) == 0);
	CHECK(strstr(b.data, "charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable") !=
	      NULL);
	CHECK(longest_line(b.data, b.len) <= 76);
	size_t x = 0;
	for (const char *p = strstr(b.data, "\r\n\r\n"); p && *p; p++)
		x += *p == 'x';
	CHECK(x == 1100);
	buf_free(&b);
}

/* The base64 between the part headers that hold marker and the next "--boundary". */
static size_t
decode_part(const char *msg, const char *marker, unsigned char *out, size_t size)
{
	const char *p = strstr(msg, marker);
	char *clean = malloc(strlen(msg) + 1);
	size_t k = 0, n = 0;

	if (p == NULL || (p = strstr(p, "\r\n\r\n")) == NULL) {
		free(clean);
		return (size_t)-1;
	}
	for (p += 4; *p && strncmp(p, "\r\n--" BOUNDARY, 4 + strlen(BOUNDARY)) != 0; p++)
		if (*p != '\r' && *p != '\n')
			clean[k++] = *p;
	if (!b64_decode(clean, k, out, size, &n))
		n = (size_t)-1;
	free(clean);
	return n;
}

static void
test_attachments(void)
{
	static unsigned char bin[1000];
	unsigned char dec[1100];
	const char *to[] = {"bob@example.com"};
	const char eml[] = "Subject: inner\nFrom: x@y\n\nhello\n";
	struct message_attachment att[] = {
	    {"/tmp/dir/report.pdf", NULL, bin, sizeof bin},
	    {"r\xc3\xa9sum\xc3\xa9 2024.txt", NULL, "abc", 3},
	    {"data", "application/x-custom", "", 0},
	    {"fwd.eml", NULL, eml, sizeof eml - 1},
	    {"a\"b.bin", NULL, "z", 1},
	};
	struct message_spec spec = {
	    .from = "a@example.org",
	    .to = to,
	    .to_count = 1,
	    .subject = "files",
	    .date = DATE,
	    .message_id = MSGID,
	    .body = "see attached",
	    .body_len = 12,
	    .attachments = att,
	    .attachment_count = 5,
	    .boundary = BOUNDARY,
	};
	struct buf b;

	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (unsigned char)(i * 7 + i / 256);
	CHECK(message_boundary_ok(&spec));
	CHECK(build(&spec, &b) == 0);
	CHECK(strstr(b.data,
		     "Content-Type: multipart/mixed; boundary=\"" BOUNDARY "\"\r\n\r\n--" BOUNDARY
		     "\r\nContent-Type: text/plain; charset=us-ascii\r\n"
		     "Content-Transfer-Encoding: 7bit\r\n\r\nsee attached\r\n\r\n--" BOUNDARY
		     "\r\n") != NULL);
	CHECK(strstr(b.data, "Content-Type: application/pdf; name=\"report.pdf\"\r\n"
			     "Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
			     "Content-Transfer-Encoding: base64\r\n\r\n") != NULL);
	CHECK(decode_part(b.data, "filename=\"report.pdf\"", dec, sizeof dec) == sizeof bin);
	CHECK(memcmp(dec, bin, sizeof bin) == 0);
	CHECK(strstr(b.data, "Content-Disposition: attachment;\r\n"
			     " filename*=utf-8''r%C3%A9sum%C3%A9%202024.txt\r\n") != NULL ||
	      strstr(b.data, "Content-Disposition: attachment; "
			     "filename*=utf-8''r%C3%A9sum%C3%A9%202024.txt\r\n") != NULL);
	CHECK(strstr(b.data, "Content-Type: text/plain; name*=utf-8''r%C3%A9sum") != NULL);
	CHECK(decode_part(b.data, "r%C3%A9sum", dec, sizeof dec) == 3 &&
	      memcmp(dec, "abc", 3) == 0);
	CHECK(strstr(b.data, "Content-Type: application/x-custom; name=\"data\"") != NULL);
	CHECK(decode_part(b.data, "filename=\"data\"", dec, sizeof dec) == 0);
	/* RFC 2046 5.2.1: message/rfc822 unencoded, line ends made CRLF */
	CHECK(strstr(b.data, "Content-Type: message/rfc822; name=\"fwd.eml\"\r\n"
			     "Content-Disposition: attachment; filename=\"fwd.eml\"\r\n"
			     "Content-Transfer-Encoding: 7bit\r\n\r\n"
			     "Subject: inner\r\nFrom: x@y\r\n\r\nhello\r\n\r\n--") != NULL);
	CHECK(strstr(b.data, "filename=\"a\\\"b.bin\"") != NULL);
	/* each base64 line is 76 characters but the last of a part */
	const char *p = strstr(b.data, "filename=\"report.pdf\"");
	p = strstr(p, "\r\n\r\n") + 4;
	CHECK(strstr(p, "\r\n") == p + 76);
	size_t n = strlen(b.data);
	CHECK(n > 24 && strcmp(b.data + n - 21, "--" BOUNDARY "--\r\n") == 0);
	buf_free(&b);

	/* a boundary that occurs in the text is refused, and reported */
	spec.body = "text with " BOUNDARY " inside";
	spec.body_len = strlen(spec.body);
	CHECK(!message_boundary_ok(&spec));
	char err[200];
	buf_init(&b, 0);
	CHECK(message_build(&spec, &b, NULL, err, sizeof err) == -1);
	CHECK(strstr(err, "boundary") != NULL && b.len == 0);
	spec.boundary = "other";
	CHECK(message_boundary_ok(&spec));
	spec.boundary = "bad\"quote";
	CHECK(!message_boundary_ok(&spec));
	CHECK(message_build(&spec, &b, NULL, err, sizeof err) == -1);
	spec.boundary = BOUNDARY;
	spec.body = "ok";
	spec.body_len = 2;
	att[1].filename = "dir/";
	CHECK(message_build(&spec, &b, NULL, err, sizeof err) == -1);
	att[1].filename = "x";
	att[1].type = "text/plain\r\nX: y";
	CHECK(message_build(&spec, &b, NULL, err, sizeof err) == -1);
	buf_free(&b);
}

static void
test_guess_type(void)
{
	CHECK_STR(message_guess_type("a.txt"), "text/plain");
	CHECK_STR(message_guess_type("A.PDF"), "application/pdf");
	CHECK_STR(message_guess_type("x.tar.gz"), "application/gzip");
	CHECK_STR(message_guess_type("p.JPEG"), "image/jpeg");
	CHECK_STR(message_guess_type("m.eml"), "message/rfc822");
	CHECK_STR(message_guess_type("c.ics"), "text/calendar");
	CHECK_STR(message_guess_type("noext"), "application/octet-stream");
	CHECK_STR(message_guess_type("dir.d/file"), "application/octet-stream");
	CHECK_STR(message_guess_type("x."), "application/octet-stream");
}

static char *
prepare(const char *in, const struct message_prep *prep, struct message_info *info)
{
	struct buf b;
	char err[200];

	buf_init(&b, 0);
	if (message_prepare(strv_from(in), prep, &b, info, err, sizeof err) < 0) {
		printf("# prepare: %s\n", err);
		buf_free(&b);
		return NULL;
	}
	CHECK(crlf_only(b.data ? b.data : "", b.len));
	CHECK(info->size == b.len);
	if (b.data == NULL)
		return calloc(1, 1);
	return b.data;
}

static void
test_prepare(void)
{
	static const struct {
		const char *in, *want;
		bool remove_bcc;
	} cases[] = {
	    {"Subject: x\n\nbody\n", "Subject: x\r\nD\r\nM\r\n\r\nbody\r\n", false},
	    {"Subject: x\r\nDate: d\r\n\r\nb\r\n", "Subject: x\r\nDate: d\r\nM\r\n\r\nb\r\n",
	     false},
	    {"message-id: <m>\nDATE: d\n\nb", "message-id: <m>\r\nDATE: d\r\n\r\nb\r\n", false},
	    /* lone CR and a mix of line ends */
	    {"Subject: a\rTo: b\r\n\rx\ry\n", "Subject: a\r\nTo: b\r\nD\r\nM\r\n\r\nx\r\ny\r\n",
	     false},
	    /* empty message; headers only; no separator before the body */
	    {"", "D\r\nM\r\n", false},
	    {"Subject: only", "Subject: only\r\nD\r\nM\r\n", false},
	    {"Subject: s\nbody line\n", "Subject: s\r\nD\r\nM\r\n\r\nbody line\r\n", false},
	    {"just text\n", "D\r\nM\r\n\r\njust text\r\n", false},
	    {" indented\n", "D\r\nM\r\n\r\n indented\r\n", false},
	    /* folded fields stay folded; Bcc goes with its continuation lines */
	    {"To: a@x,\n b@y\nBcc: c@z,\n\td@w\nSubject: s\n\nB\n",
	     "To: a@x,\r\n b@y\r\nSubject: s\r\nD\r\nM\r\n\r\nB\r\n", true},
	    {"Bcc: c@z\n\nBcc: in body\n", "D\r\nM\r\n\r\nBcc: in body\r\n", true},
	    {"BCC: c@z\nSubject : s\n\n", "Subject : s\r\nD\r\nM\r\n\r\n", true},
	    {"Bcc: c@z\n\n", "Bcc: c@z\r\nD\r\nM\r\n\r\n", false},
	};
	struct message_prep prep = {.date = "D", .message_id = "M"};
	struct message_info info;

	/* the tests use "D" and "M" for the added fields, so patch the expectations */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf want;
		buf_init(&want, 0);
		for (const char *s = cases[i].want; *s; s++) {
			if ((s == cases[i].want || s[-1] == '\n') && s[0] == 'D' && s[1] == '\r')
				buf_append_str(&want, "Date: D");
			else if ((s == cases[i].want || s[-1] == '\n') && s[0] == 'M' &&
				 s[1] == '\r')
				buf_append_str(&want, "Message-ID: M");
			else
				buf_append(&want, s, 1);
		}
		prep.remove_bcc = cases[i].remove_bcc;
		char *got = prepare(cases[i].in, &prep, &info);
		CHECK_STR(got, want.data ? want.data : "");
		if (got && strcmp(got, want.data ? want.data : "") != 0)
			printf("# case %zu\n", i);
		free(got);
		buf_free(&want);
	}

	/* flags: what was added, 8-bit content, long lines */
	prep.from = "root@host.example";
	char *got = prepare("Subject: caf\xc3\xa9\n\nx\n", &prep, &info);
	CHECK(info.added_date && info.added_message_id && info.added_from && info.has_8bit);
	CHECK(got && strstr(got, "\r\nFrom: root@host.example\r\n") != NULL);
	free(got);
	got = prepare("From: a@b\nDate: x\nMessage-ID: y\n\nplain\n", &prep, &info);
	CHECK(!info.added_date && !info.added_message_id && !info.added_from && !info.has_8bit);
	CHECK_STR(got, "From: a@b\r\nDate: x\r\nMessage-ID: y\r\n\r\nplain\r\n");
	free(got);
	char big[1100];
	memset(big, 'y', 1050);
	strcpy(big + 1050, "\n");
	got = prepare(big, &prep, &info);
	CHECK(info.has_long_line);
	free(got);

	/* refused: a line break in a field to add; a size limit */
	struct buf b;
	char err[200];
	buf_init(&b, 0);
	prep.date = "x\r\nBcc: evil";
	CHECK(message_prepare(strv_from("S: s\n\n"), &prep, &b, NULL, err, sizeof err) == -1);
	prep.date = "D";
	buf_free(&b);
	buf_init(&b, 20);
	CHECK(message_prepare(strv_from("Subject: a long one\n\nbody\n"), &prep, &b, NULL, err,
			      sizeof err) == -1);
	CHECK(b.len == 0);
	buf_free(&b);
}

/* Parse text; join the result as "name|addr;name|addr" for one comparison. */
static bool
parse_join(const char *text, char *out, size_t size)
{
	struct message_addrs l = {0};
	char err[200];
	struct buf b;

	if (message_parse_addresses(strv_from(text), &l, err, sizeof err) < 0) {
		snprintf(out, size, "ERR %s", err);
		return false;
	}
	buf_init(&b, 0);
	for (size_t i = 0; i < l.n; i++)
		buf_printf(&b, "%s%s|%s", i ? ";" : "", l.v[i].name, l.v[i].addr);
	snprintf(out, size, "%s", b.data ? b.data : "");
	buf_free(&b);
	message_addrs_free(&l);
	return true;
}

static void
test_addresses(void)
{
	static const struct {
		const char *in, *want;
	} ok[] = {
	    {"a@x", "|a@x"},
	    {"", ""},
	    {" , ,", ""},
	    {"Alice <a@x>, b@y", "Alice|a@x;|b@y"},
	    {"\"Doe, John\" <j@x>", "Doe, John|j@x"},
	    {"\"a \\\"q\\\" b\" <q@x>", "a \"q\" b|q@x"},
	    {"John (the man) Smith <js@x> (home)", "John Smith|js@x"},
	    {"(c (nested) \\) x) a@x", "|a@x"},
	    {"undisclosed-recipients:;", ""},
	    {"team: a@x, B <b@y>;, c@z", "|a@x;B|b@y;|c@z"},
	    {"To-group:;, d@w", "|d@w"},
	    {"a@x,\r\n b@y,\n\tC\r\n <c@z>", "|a@x;|b@y;C|c@z"},
	    {"J. Smith <js@x>", "J. Smith|js@x"},
	    {"<@route1,@route2:r@x>", "|r@x"},
	    {"\"quoted local\"@x", "|\"quoted local\"@x"},
	    {"a.b.c@[192.0.2.1]", "|a.b.c@[192.0.2.1]"},
	    {"root", "|root"},
	    {"<root>", "|root"},
	    {"J\xc3\xb6rg <j@x>", "J\xc3\xb6rg|j@x"},
	    {"=?UTF-8?B?SsO2cmc=?= <j@x>", "=?UTF-8?B?SsO2cmc=?=|j@x"},
	    {"\"first\".last@x", "|\"first\".last@x"},
	};
	static const struct {
		const char *in, *why;
	} bad[] = {
	    {"\"unterminated <a@x>", "unterminated quoted string"},
	    {"(open a@x", "unterminated comment"},
	    {"John Smith", "a name without an <address>"},
	    {"John Smith j@x", "a name without an <address>"},
	    {"<a@x", "missing '>'"},
	    {"<>", "no address inside <>"},
	    {"a@", "no domain after '@'"},
	    {"@x", "no local part before '@'"},
	    {"g: a@x", "group without ';'"},
	    {"g: h: a@x;;", "a group inside a group"},
	    {"a@x b@y", "expected ',' between addresses"},
	    {"a\x01@x", "unexpected character"},
	    {"a@x)", "expected ',' between addresses"},
	    {")", "unexpected character"},
	};
	char got[512];

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		CHECK(parse_join(ok[i].in, got, sizeof got));
		CHECK_STR(got, ok[i].want);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(!parse_join(bad[i].in, got, sizeof got));
		if (strstr(got, bad[i].why) == NULL)
			printf("not ok: %s: got %s, want %s\n", bad[i].in, got, bad[i].why);
		CHECK(strstr(got, bad[i].why) != NULL);
	}

	/* a failed parse leaves the list as it was */
	struct message_addrs l = {0};
	CHECK(message_parse_addresses(strv_from("a@x, b@y"), &l, NULL, 0) == 0);
	CHECK(message_parse_addresses(strv_from("c@z, \"bad"), &l, NULL, 0) == -1);
	CHECK(l.n == 2);
	message_addrs_free(&l);
	CHECK(l.n == 0 && l.v == NULL);
}

static void
test_sendmail_t(void)
{
	const char *msg = "From: \"Sys Admin\" <root@host.example> (cron)\n"
			  "To: a@x, \"Smith, J\" <js@x>\n"
			  "Subject: to: not@this\n"
			  "cc: team: c1@x,\n c2@x;\n"
			  "Bcc: hidden@x\n"
			  "To: second@x\n"
			  "\n"
			  "To: body@x\n";
	struct message_addrs l = {0};
	char err[200], *from = NULL;
	const char *want[] = {"a@x", "js@x", "c1@x", "c2@x", "hidden@x", "second@x"};

	CHECK(message_recipients(strv_from(msg), &l, err, sizeof err) == 0);
	CHECK(l.n == 6);
	for (size_t i = 0; i < l.n && i < 6; i++)
		CHECK_STR(l.v[i].addr, want[i]);
	message_addrs_free(&l);
	CHECK(message_from_address(strv_from(msg), &from, err, sizeof err) == 0);
	CHECK_STR(from, "root@host.example");
	free(from);
	CHECK(message_from_address(strv_from("To: a@x\n\n"), &from, err, sizeof err) == -1);
	CHECK(from == NULL);
	CHECK(message_recipients(strv_from("To: \"broken\n\n"), &l, err, sizeof err) == -1);
	CHECK(strncmp(err, "To: unterminated", 16) == 0);
	CHECK(message_recipients(strv_from("Subject: none\n\n"), &l, err, sizeof err) == 0);
	CHECK(l.n == 0);
	message_addrs_free(&l);
}

static void
test_dot_end(void)
{
	static const struct {
		const char *in;
		size_t want;
		bool found;
	} cases[] = {
	    {"a\n.\nb\n", 2, true},  {"a\r\n.\r\nb", 3, true}, {".\n", 0, true},
	    {"a\n.", 2, true},	     {"a\n..\n", 5, false},    {"a\n. \n", 5, false},
	    {"a.\nb\n", 5, false},   {"", 0, false},	       {"a\r.\rb", 2, true},
	    {"x\n.x\n.\n", 5, true},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct strv in = strv_from(cases[i].in);
		bool found;
		CHECK(message_dot_end(in, false, &found) == cases[i].want);
		CHECK(found == cases[i].found);
		CHECK(message_dot_end(in, true, &found) == in.len && !found);
	}
}

/* Text attachments say their charset when they are UTF-8, and only then. */
static void
test_attachment_charset(void)
{
	const char *to[] = {"bob@example.com"};
	struct message_attachment att[] = {
	    {"notes.txt", NULL,
	     "\xc3\xbc"
	     "n\xc3\xaf"
	     "code\n",
	     10},
	    {"plain.txt", NULL, "ascii\n", 6},
	    {"latin1.txt", NULL, "caf\xe9\n", 5},
	};
	struct message_spec spec = {
	    .from = "a@example.org",
	    .to = to,
	    .to_count = 1,
	    .date = DATE,
	    .message_id = MSGID,
	    .attachments = att,
	    .attachment_count = 3,
	    .boundary = BOUNDARY,
	};
	struct buf b;
	char err[256];
	buf_init(&b, 0);
	CHECK(message_build(&spec, &b, NULL, err, sizeof err) == 0);
	CHECK(strstr(b.data, "Content-Type: text/plain; charset=utf-8; name=\"notes.txt\"") !=
	      NULL);
	CHECK(strstr(b.data, "Content-Type: text/plain; name=\"plain.txt\"") != NULL);
	CHECK(strstr(b.data, "Content-Type: text/plain; name=\"latin1.txt\"") != NULL);
	buf_free(&b);
}

int
main(void)
{
	test_attachment_charset();
	test_build_plain();
	test_build_errors();
	test_subject_encoding();
	test_address_headers();
	test_body_qp();
	test_attachments();
	test_guess_type();
	test_prepare();
	test_addresses();
	test_sendmail_t();
	test_dot_end();
	return test_summary("test_message");
}
