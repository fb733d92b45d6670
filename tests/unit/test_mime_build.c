/*
 * Unit tests for the MIME builder (src/mime/mime_build.c), judged by a
 * strict reader written here: the whole message is taken apart as RFC
 * 5322 and RFC 2045-2047 and 2231 define it, every byte accounted for.
 *
 * The reader checks that every line ends in CRLF and is at most 998
 * octets (78 in headers, 76 in base64 and quoted-printable bodies), that
 * the multipart structure has exactly the delimiters it should and the
 * boundary nowhere else, that each part's Content-Transfer-Encoding is
 * the one its content calls for, and that decoding each part (base64,
 * quoted-printable, 7bit/8bit), each file name (RFC 2231 or quoted) and
 * each encoded-word (RFC 2047) gives back exactly what was put in.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "harness.h"
#include "message.h"

#define DATE "Mon, 1 Jan 2024 00:00:00 +0000"
#define MSGID "<t1@example.org>"
#define MAX_FIELDS 32

struct field {
	char name[80];
	struct buf value; /* unfolded: the CRLF before each continuation removed */
};

struct entity {
	struct field f[MAX_FIELDS];
	size_t n;
	const char *body; /* into the message */
	size_t body_len;
};

/* ---- the strict reader ---- */

/* Every line CRLF-terminated, no bare CR or LF, none longer than max. */
static bool
lines_ok(const char *p, size_t len, size_t max)
{
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r') {
			if (i + 1 >= len || p[i + 1] != '\n')
				return false;
			i++;
			col = 0;
			continue;
		}
		if (p[i] == '\n' || ++col > max)
			return false;
	}
	return len == 0 || (len >= 2 && p[len - 2] == '\r' && p[len - 1] == '\n');
}

static void
entity_free(struct entity *e)
{
	for (size_t i = 0; i < e->n; i++)
		buf_free(&e->f[i].value);
	e->n = 0;
}

/*
 * Header fields up to the empty line (RFC 5322 2.2), each line at most max
 * octets; false on anything else (a line that is neither a field nor a
 * continuation, a header that does not end).
 */
static bool
entity_parse(const char *p, size_t len, struct entity *e, size_t max)
{
	size_t pos = 0;

	e->n = 0;
	if (!lines_ok(p, len, 998))
		return false;
	while (pos < len) {
		const char *eol = memmem(p + pos, len - pos, "\r\n", 2);
		size_t n = (size_t)(eol - (p + pos));
		if (n > max)
			return false;
		if (n == 0) {
			e->body = p + pos + 2;
			e->body_len = len - pos - 2;
			return true;
		}
		if (p[pos] == ' ' || p[pos] == '\t') {
			if (e->n == 0)
				return false;
			buf_append(&e->f[e->n - 1].value, p + pos, n);
		} else {
			const char *colon = memchr(p + pos, ':', n);
			size_t nl = colon ? (size_t)(colon - (p + pos)) : 0;
			if (nl == 0 || nl >= sizeof e->f[0].name || e->n == MAX_FIELDS)
				return false;
			for (size_t i = 0; i < nl; i++)
				if (p[pos + i] <= 32 || p[pos + i] >= 127)
					return false;
			memcpy(e->f[e->n].name, p + pos, nl);
			e->f[e->n].name[nl] = '\0';
			buf_init(&e->f[e->n].value, 0);
			buf_append(&e->f[e->n].value, colon + 1, n - nl - 1);
			e->n++;
		}
		pos += n + 2;
	}
	return false;
}

/* The value of the one field called name (leading white space dropped), or NULL. */
static const char *
field_get(const struct entity *e, const char *name)
{
	const char *v = NULL;

	for (size_t i = 0; i < e->n; i++) {
		if (strcasecmp(e->f[i].name, name) != 0)
			continue;
		if (v != NULL)
			return NULL; /* twice: wrong */
		v = e->f[i].value.data ? e->f[i].value.data : "";
		v += strspn(v, " \t");
	}
	return v;
}

/*
 * A parameter of a structured value ("type; a=b; c*=utf-8''x"): quoted
 * strings unquoted, RFC 2231 extended values percent-decoded (only
 * attribute-chars and %XX allowed, charset utf-8, no language). Into out.
 */
static bool
param_get(const char *value, const char *attr, char *out, size_t size)
{
	size_t alen = strlen(attr), o = 0;

	for (const char *s = strchr(value, ';'); s != NULL; s = strchr(s + 1, ';')) {
		const char *a = s + 1 + strspn(s + 1, " \t");
		if (strncasecmp(a, attr, alen) != 0)
			continue;
		a += alen;
		if (a[0] == '=' && a[1] == '"') {
			for (a += 2; *a != '"'; a++) {
				if (*a == '\0' || o + 1 >= size)
					return false;
				if (*a == '\\')
					a++;
				out[o++] = *a;
			}
			out[o] = '\0';
			return a[1] == '\0' || a[1] == ';';
		}
		if (strncmp(a, "*=utf-8''", 9) != 0)
			continue;
		for (a += 9; *a != '\0' && *a != ';'; a++) {
			unsigned v;
			if (o + 1 >= size)
				return false;
			if (*a == '%') {
				if (sscanf(a + 1, "%2X", &v) != 1 ||
				    !strchr("0123456789ABCDEF", a[2]))
					return false;
				out[o++] = (char)v;
				a += 2;
			} else if ((unsigned char)*a > 32 && (unsigned char)*a < 127 &&
				   !strchr("*'%()<>@,;:\\\"/[]?={} ", *a)) {
				out[o++] = *a;
			} else {
				return false;
			}
		}
		out[o] = '\0';
		return true;
	}
	return false;
}

/* RFC 2047: a value of encoded-words ("=?UTF-8?B?..?=", each <= 75) and the
 * white space between them (which does not count), decoded into out. */
static bool
words_decode(const char *v, struct buf *out)
{
	while (*v != '\0') {
		const char *end;
		size_t n;
		char dec[64];
		if (strncmp(v, "=?UTF-8?B?", 10) != 0 || (end = strstr(v + 10, "?=")) == NULL)
			return false;
		if (end + 2 - v > 75 ||
		    !b64_decode(v + 10, (size_t)(end - v - 10), dec, sizeof dec, &n))
			return false;
		buf_append(out, dec, n);
		v = end + 2;
		v += strspn(v, " \t");
	}
	return true;
}

/* RFC 2045 6.8: lines of at most 76 alphabet characters, decoded into out. */
static bool
base64_decode_body(const char *p, size_t len, struct buf *out)
{
	struct buf joined;
	bool ok = lines_ok(p, len + 2, 76) || len == 0;

	buf_init(&joined, 0);
	for (size_t i = 0; i < len; i++)
		if (p[i] != '\r' && p[i] != '\n')
			buf_append(&joined, p + i, 1);
	char *dec = malloc(joined.len + 1);
	size_t n = 0;
	ok = ok && b64_decode(joined.data ? joined.data : "", joined.len, dec, joined.len + 1, &n);
	if (ok)
		buf_append(out, dec, n);
	free(dec);
	buf_free(&joined);
	return ok;
}

/*
 * RFC 2045 6.7: lines of at most 76, "=XX" upper-case hex, "=" CRLF a soft
 * break, no white space at a line's end, '=' and 8-bit bytes never raw.
 */
static bool
qp_decode_body(const char *p, size_t len, struct buf *out)
{
	if (!lines_ok(p, len, 76))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\r') {
			if (i > 0 && (p[i - 1] == ' ' || p[i - 1] == '\t'))
				return false;
			buf_append(out, "\r\n", 2);
			i++;
		} else if (c == '=') {
			unsigned v;
			if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n') {
				i += 2;
				continue;
			}
			if (i + 2 >= len || !strchr("0123456789ABCDEF", p[i + 1]) ||
			    !strchr("0123456789ABCDEF", p[i + 2]) ||
			    sscanf(p + i + 1, "%2X", &v) != 1)
				return false;
			char b = (char)v;
			buf_append(out, &b, 1);
			i += 2;
		} else if (c >= 0x80 || (c < 32 && c != '\t')) {
			return false;
		} else {
			buf_append(out, p + i, 1);
		}
	}
	return true;
}

/* What a text becomes on the wire: every line ended by CRLF. */
static void
crlf_text(const char *p, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r' || p[i] == '\n') {
			buf_append(out, "\r\n", 2);
			if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
				i++;
		} else {
			buf_append(out, p + i, 1);
		}
	}
	if (len > 0 && p[len - 1] != '\r' && p[len - 1] != '\n')
		buf_append(out, "\r\n", 2);
}

/* Decode a part by its Content-Transfer-Encoding; cte_r says which it was. */
static bool
part_decode(const struct entity *e, struct buf *out, const char **cte_r)
{
	const char *cte = field_get(e, "Content-Transfer-Encoding");

	*cte_r = cte ? cte : "";
	if (cte == NULL)
		return false;
	if (strcmp(cte, "base64") == 0)
		return base64_decode_body(e->body, e->body_len, out);
	if (strcmp(cte, "quoted-printable") == 0)
		return qp_decode_body(e->body, e->body_len, out);
	bool eight = strcmp(cte, "8bit") == 0;
	if (!eight && strcmp(cte, "7bit") != 0)
		return false;
	if (!lines_ok(e->body, e->body_len, 998) || memchr(e->body, '\0', e->body_len))
		return false;
	for (size_t i = 0; i < e->body_len; i++)
		if ((unsigned char)e->body[i] >= 0x80 && !eight)
			return false;
	buf_append(out, e->body, e->body_len);
	return true;
}

/*
 * The parts of a multipart body (RFC 2046 5.1.1): it starts with the first
 * delimiter, each further delimiter is CRLF "--" boundary CRLF, the last
 * has "--" after the boundary and nothing follows it; the boundary occurs
 * nowhere else. Returns the count, or 0 when the structure is wrong.
 */
static size_t
multipart_split(const char *body, size_t len, const char *boundary, struct entity *parts,
		size_t max)
{
	char delim[100];
	size_t dl = (size_t)snprintf(delim, sizeof delim, "\r\n--%s", boundary), n = 0;
	const char *p = body + dl - 2, *end = body + len;

	if (len < dl || memcmp(body, delim + 2, dl - 2) != 0)
		return 0;
	for (;;) {
		if (end - p >= 4 && memcmp(p, "--\r\n", 4) == 0)
			return p + 4 == end ? n : 0;
		if (end - p < 2 || memcmp(p, "\r\n", 2) != 0 || n == max)
			return 0;
		p += 2;
		const char *next = memmem(p, (size_t)(end - p), delim, dl);
		if (next == NULL || memmem(p, (size_t)(next - p), boundary, strlen(boundary)))
			return 0;
		/*
		 * 998, not 78: an RFC 2231 file name is one token and the builder
		 * does not use RFC 2231 3 continuations, so a long non-ASCII name
		 * makes a line over 78 (a SHOULD of RFC 5322 2.1.1, not a MUST).
		 */
		if (!entity_parse(p, (size_t)(next - p) + 2, &parts[n], 998))
			return 0;
		parts[n].body_len -= 2; /* the CRLF before the delimiter is the delimiter's */
		n++;
		p = next + dl;
	}
}

/* ---- the tests ---- */

struct built {
	struct buf msg;
	struct entity top;
	struct entity parts[8];
	size_t nparts;
	bool has_8bit; /* as message_info says, checked against the bytes */
};

static void
built_free(struct built *b)
{
	entity_free(&b->top);
	for (size_t i = 0; i < sizeof b->parts / sizeof b->parts[0]; i++)
		entity_free(&b->parts[i]); /* also those of a split that failed */
	buf_free(&b->msg);
}

/* Build spec and read it back; false (and a line saying why) when it does not read. */
static bool
build_read(const struct message_spec *spec, struct built *b)
{
	char err[256] = "", boundary[100];
	struct message_info info;

	memset(b, 0, sizeof *b);
	buf_init(&b->msg, 0);
	if (message_build(spec, &b->msg, &info, err, sizeof err) != 0) {
		printf("# build: %s\n", err);
		return false;
	}
	CHECK(info.size == b->msg.len);
	b->has_8bit = info.has_8bit;
	bool seen = false;
	for (size_t i = 0; i < b->msg.len; i++)
		seen |= (unsigned char)b->msg.data[i] >= 0x80;
	CHECK(seen == info.has_8bit);
	if (!entity_parse(b->msg.data, b->msg.len, &b->top, 78)) {
		printf("# the header does not read:\n%s\n", b->msg.data);
		return false;
	}
	CHECK_STR(field_get(&b->top, "MIME-Version"), "1.0");
	const char *ct = field_get(&b->top, "Content-Type");
	if (ct == NULL)
		return false;
	if (spec->attachment_count == 0) {
		b->nparts = 0;
		return true;
	}
	if (strncmp(ct, "multipart/mixed;", 16) != 0 ||
	    !param_get(ct, "boundary", boundary, sizeof boundary) ||
	    strcmp(boundary, spec->boundary) != 0)
		return false;
	b->nparts = multipart_split(b->top.body, b->top.body_len, boundary, b->parts, 8);
	if (b->nparts != spec->attachment_count + 1)
		printf("# the multipart body does not read:\n%s\n", b->msg.data);
	return b->nparts == spec->attachment_count + 1;
}

/* The part's decoded content equals want[want_len] and its encoding is cte. */
static void
check_part(const struct entity *e, const char *cte, const void *want, size_t want_len)
{
	struct buf got;
	const char *was;

	buf_init(&got, 0);
	CHECK(part_decode(e, &got, &was));
	CHECK_STR(was, cte);
	CHECK(got.len == want_len && (want_len == 0 || memcmp(got.data, want, want_len) == 0));
	buf_free(&got);
}

/* Both file-name parameters decode to name. */
static void
check_filename(const struct entity *e, const char *name)
{
	char got[300];
	const char *cd = field_get(e, "Content-Disposition");
	const char *ct = field_get(e, "Content-Type");

	CHECK(cd != NULL && strncmp(cd, "attachment;", 11) == 0);
	CHECK(cd != NULL && param_get(cd, "filename", got, sizeof got) && strcmp(got, name) == 0);
	CHECK(ct != NULL && param_get(ct, "name", got, sizeof got) && strcmp(got, name) == 0);
}

static void
test_multipart(void)
{
	static unsigned char bin[3000];
	const char *to[] = {"bob@example.com"};
	const char notes[] = "caf\xc3\xa9 au lait\nline two\n";
	const char eml8[] = "Subject: x\r\n\r\nna\xc3\xafve\r\n";
	char eml_long[1200];
	struct message_attachment att[] = {
	    {"/home/me/dir/blob.bin", NULL, bin, sizeof bin},
	    {"notes.txt", NULL, notes, sizeof notes - 1},
	    {"\xc3\x9cn\xc3\xaf"
	     "c\xc3\xb6"
	     "d\xc3\xa9 r\xc3\xa9sum\xc3\xa9 2024 (final).pdf",
	     NULL, "%PDF", 4},
	    {"say \"hi\" \\ there.txt", NULL, "hi", 2},
	    {"fwd.eml", NULL, eml8, sizeof eml8 - 1},
	    {"long.eml", NULL, eml_long, sizeof eml_long},
	};
	struct message_spec spec = {
	    .from = "Ann <ann@example.org>",
	    .to = to,
	    .to_count = 1,
	    .subject = "files",
	    .date = DATE,
	    .message_id = MSGID,
	    .body = "see attached\n",
	    .body_len = 13,
	    .attachments = att,
	    .attachment_count = 6,
	    .boundary = "=_mp.test",
	};
	struct built b;
	struct buf want;

	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (unsigned char)(i * 131 + (i >> 8));
	memcpy(eml_long, "Subject: y\r\n\r\n", 14);
	memset(eml_long + 14, 'a', sizeof eml_long - 14); /* one line of 1186: too long to embed */
	CHECK(message_boundary_ok(&spec));
	CHECK(build_read(&spec, &b));
	if (b.nparts == 7) {
		CHECK_STR(field_get(&b.parts[0], "Content-Type"), "text/plain; charset=us-ascii");
		check_part(&b.parts[0], "7bit", "see attached\r\n", 14);
		/* binary: base64, the path's last part only */
		CHECK(strncmp(field_get(&b.parts[1], "Content-Type"), "application/octet-stream;",
			      25) == 0);
		check_part(&b.parts[1], "base64", bin, sizeof bin);
		check_filename(&b.parts[1], "blob.bin");
		/* UTF-8 text: base64 and labelled utf-8 (RFC 2046 4.1.2) */
		CHECK(strncmp(field_get(&b.parts[2], "Content-Type"), "text/plain; charset=utf-8;",
			      26) == 0);
		check_part(&b.parts[2], "base64", notes, sizeof notes - 1);
		/* non-ASCII name: RFC 2231 */
		check_filename(&b.parts[3], att[2].filename);
		CHECK(strstr(field_get(&b.parts[3], "Content-Disposition"), "filename*=utf-8''") !=
		      NULL);
		/* quotes and a backslash: a quoted string with escapes */
		check_filename(&b.parts[4], att[3].filename);
		/* a message with 8-bit text: embedded unencoded (RFC 2046 5.2.1) */
		CHECK(strncmp(field_get(&b.parts[5], "Content-Type"), "message/rfc822;", 15) == 0);
		check_part(&b.parts[5], "8bit", eml8, sizeof eml8 - 1);
		/* a message with a line over 998 cannot be: octet-stream, base64 */
		CHECK(strncmp(field_get(&b.parts[6], "Content-Type"), "application/octet-stream;",
			      25) == 0);
		check_part(&b.parts[6], "base64", eml_long, sizeof eml_long);
	}
	built_free(&b);

	/* the boundary in any content is caught before anything goes out */
	buf_init(&want, 0);
	const char *inner = "Subject: z\n\n--=_mp.test\n";
	att[4].data = inner;
	att[4].len = strlen(inner);
	CHECK(!message_boundary_ok(&spec));
	char err[200] = "";
	CHECK(message_build(&spec, &want, NULL, err, sizeof err) == -1 && want.len == 0);
	CHECK(strstr(err, "boundary occurs in an attachment") != NULL);
	/* base64 cannot hold "=_": the same bytes in a binary part are safe */
	att[4].type = "application/octet-stream";
	CHECK(message_boundary_ok(&spec));
	CHECK(message_build(&spec, &want, NULL, err, sizeof err) == 0);
	buf_free(&want);
}

/* The text part: 7bit when it can be, quoted-printable otherwise. */
static void
test_text_encoding(void)
{
	static char longline[2500];
	const char *to[] = {"bob@example.com"};
	struct message_attachment att = {"a.bin", NULL, "x", 1};
	struct message_spec spec = {
	    .from = "ann@example.org",
	    .to = to,
	    .to_count = 1,
	    .date = DATE,
	    .message_id = MSGID,
	    .attachments = &att,
	    .boundary = "b1",
	};
	struct {
		const char *body;
		const char *cte, *charset;
	} cases[] = {
	    {"plain\r\nascii\r\n", "7bit", "us-ascii"},
	    {"bare\nLF\rand CR", "7bit", "us-ascii"},
	    {"trailing  \n\tspace\t\n", "7bit", "us-ascii"},
	    {"Gr\xc3\xbc\xc3\x9f"
	     "e, \xe2\x82\xac 5 = cheap\n",
	     "quoted-printable", "utf-8"},
	    {"nul\0inside", "quoted-printable", "us-ascii"},
	    {"utf-8 and trailing space \xc3\xa9 \n", "quoted-printable", "utf-8"},
	    {longline, "quoted-printable", "us-ascii"},
	};

	memset(longline, 'w', sizeof longline - 1);
	for (size_t i = 100; i < sizeof longline - 1; i += 100)
		longline[i] = ' ';
	for (size_t a = 0; a < 2; a++) {
		spec.attachment_count = a;
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			struct built b;
			struct buf want;
			char ct[80];
			size_t len = cases[i].body == longline ? strlen(longline)
				     : i == 4		       ? 10
							       : strlen(cases[i].body);
			spec.body = cases[i].body;
			spec.body_len = len;
			CHECK(build_read(&spec, &b));
			struct entity *e = a ? &b.parts[0] : &b.top;
			if (a == 0 || b.nparts == 2) {
				snprintf(ct, sizeof ct, "text/plain; charset=%s", cases[i].charset);
				CHECK_STR(field_get(e, "Content-Type"), ct);
				buf_init(&want, 0);
				crlf_text(cases[i].body, len, &want);
				check_part(e, cases[i].cte, want.data, want.len);
				buf_free(&want);
			}
			if (a == 1 && b.nparts == 2)
				check_part(&b.parts[1], "base64", "x", 1);
			built_free(&b);
		}
	}
}

/* Header text: RFC 2047 words of at most 75 that decode to what was given. */
static void
test_header_words(void)
{
	static char subject[400];
	const char *to[] = {
	    "J\xc3\xb6rg M\xc3\xbcller <jm@example.com>, Plain Name <p@example.com>"};
	struct message_spec spec = {
	    .from = "ann@example.org",
	    .to = to,
	    .to_count = 1,
	    .subject = subject,
	    .date = DATE,
	    .message_id = MSGID,
	    .body = "hi",
	    .body_len = 2,
	};
	struct built b;
	struct buf dec;

	/* 3- and 4-byte characters, so a word that splits one would not decode */
	size_t n = 0;
	while (n + 8 < sizeof subject) {
		memcpy(subject + n, "\xe2\x82\xac\xf0\x9f\x93\xa7 ", 8);
		n += 8;
	}
	subject[n] = '\0';
	CHECK(build_read(&spec, &b));
	buf_init(&dec, 0);
	const char *s = field_get(&b.top, "Subject");
	CHECK(s != NULL && words_decode(s, &dec) && dec.len == n &&
	      memcmp(dec.data, subject, n) == 0);
	buf_reset(&dec);
	const char *t = field_get(&b.top, "To");
	const char *lt = t ? strstr(t, " <jm@example.com>,") : NULL;
	CHECK(lt != NULL);
	if (lt != NULL) {
		char name[200];
		snprintf(name, sizeof name, "%.*s", (int)(lt - t), t);
		CHECK(words_decode(name, &dec) && dec.len == 13 &&
		      memcmp(dec.data, "J\xc3\xb6rg M\xc3\xbcller", 13) == 0);
		CHECK(strstr(lt, "Plain Name <p@example.com>") != NULL);
	}
	buf_free(&dec);
	built_free(&b);
}

int
main(void)
{
	test_multipart();
	test_text_encoding();
	test_header_words();
	return test_summary("test_mime_build");
}
