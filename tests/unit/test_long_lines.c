/*
 * long_lines: every output line fits in 998 octets, and what a reader
 * decodes is what was sent: checked with an independent quoted-printable
 * decoder here (the integration test uses Python's email package).
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "long_lines.h"

/* Every line (CRLF excluded) of p fits, and only CRLF ends lines. */
static bool
lines_fit(const struct buf *b)
{
	size_t len = 0;
	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] == '\r' && i + 1 < b->len && b->data[i + 1] == '\n') {
			len = 0;
			i++;
		} else if (b->data[i] == '\r' || b->data[i] == '\n' || ++len > LONG_LINES_MAX) {
			return false;
		}
	}
	return true;
}

static int
hexv(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A strict RFC 2045 6.7 decoder: lines of at most 76, only upper-case hex. */
static bool
qp_decode_strict(const char *p, size_t n, struct buf *out)
{
	size_t col = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') {
			buf_append(out, "\r\n", 2);
			col = 0;
			i++;
			continue;
		}
		if (++col > 76)
			return false;
		if (p[i] != '=') {
			if ((unsigned char)p[i] > 126 || ((unsigned char)p[i] < 32 && p[i] != '\t'))
				return false;
			buf_append(out, p + i, 1);
			continue;
		}
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
			i += 2;
			col = 0;
			continue;
		}
		if (i + 2 >= n || hexv(p[i + 1]) < 0 || hexv(p[i + 2]) < 0)
			return false;
		char c = (char)(hexv(p[i + 1]) * 16 + hexv(p[i + 2]));
		buf_append(out, &c, 1);
		i += 2;
		col += 2;
	}
	return true;
}

static char *
long_text(size_t n, char fill)
{
	char *s = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		s[i] = (i % 97 == 96) ? ' ' : (char)(fill + (char)(i % 7));
	s[n] = '\0';
	return s;
}

static enum long_lines_rc
fix(const char *msg, struct buf *out)
{
	buf_reset(out);
	return long_lines_fix((struct strv){msg, strlen(msg)}, out);
}

static const char *
body_of(const struct buf *b)
{
	const char *s = strstr(b->data, "\r\n\r\n");
	return s ? s + 4 : "";
}

static void
test_plain_message(struct buf *out)
{
	CHECK(fix("Subject: short\r\n\r\nhello\r\n", out) == LL_UNCHANGED);
	char *line = long_text(5000, 'a');
	/* '=', trailing space, 8-bit octets and a tab must all come back. */
	char body[6000];
	snprintf(body, sizeof body, "first = line \r\n%s\r\n\xc3\xa9t\xc3\xa9\tend\t\r\n", line);
	char msg[7000];
	snprintf(msg, sizeof msg,
		 "Subject: long\r\nContent-Transfer-Encoding: 8bit\r\nContent-Type: text/plain; "
		 "charset=utf-8\r\n\r\n%s",
		 body);
	CHECK(fix(msg, out) == LL_REENCODED);
	CHECK(lines_fit(out));
	buf_append(out, "", 1);
	out->len--;
	CHECK(strstr(out->data, "MIME-Version: 1.0\r\n") != NULL);
	CHECK(strstr(out->data, "Content-Transfer-Encoding: quoted-printable\r\n") != NULL);
	CHECK(strstr(out->data, "8bit") == NULL);
	CHECK(strncmp(out->data, "Subject: long\r\nContent-Type: text/plain; charset=utf-8\r\n",
		      56) == 0);
	const char *b = body_of(out);
	struct buf dec;
	buf_init(&dec, 0);
	CHECK(qp_decode_strict(b, strlen(b), &dec));
	CHECK(dec.len == strlen(body) && memcmp(dec.data, body, dec.len) == 0);
	buf_free(&dec);
	free(line);
}

static void
test_multipart(struct buf *out)
{
	char *line = long_text(3000, 'k');
	const char *html = "Content-Type: text/html\r\n\r\n<p>short</p>\r\n";
	char msg[8000];
	snprintf(
	    msg, sizeof msg,
	    "MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n\tboundary=\"b1\"\r\n"
	    "\r\npreamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\n%s\r\n--b1\r\n%s"
	    "--b1--\r\nepilogue\r\n",
	    line, html);
	CHECK(fix(msg, out) == LL_REENCODED);
	CHECK(lines_fit(out));
	buf_append(out, "", 1);
	out->len--;
	/* The short part is copied octet for octet, the structure kept. */
	CHECK(strstr(out->data, "\r\n--b1\r\nContent-Type: text/html\r\n\r\n<p>short</p>\r\n"
				"--b1--\r\nepilogue\r\n") != NULL);
	CHECK(strstr(out->data, "\r\npreamble\r\n--b1\r\nContent-Type: text/plain\r\n"
				"Content-Transfer-Encoding: quoted-printable\r\n\r\n") != NULL);
	CHECK(strstr(out->data, "MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n"
				"\tboundary=\"b1\"\r\n\r\n") == out->data);
	/* The text part decodes to the line (its CRLF belongs to the delimiter). */
	const char *p = strstr(out->data, "quoted-printable\r\n\r\n") + 20;
	const char *end = strstr(p, "\r\n--b1\r\n");
	struct buf dec;
	buf_init(&dec, 0);
	CHECK(end && qp_decode_strict(p, (size_t)(end - p), &dec));
	CHECK(dec.len == strlen(line) && memcmp(dec.data, line, dec.len) == 0);
	buf_free(&dec);
	free(line);
}

static void
test_signed(struct buf *out)
{
	char *line = long_text(1200, 's');
	char msg[4000];
	snprintf(msg, sizeof msg,
		 "DKIM-Signature: v=1; a=rsa-sha256; d=x\r\nSubject: s\r\n\r\n%s\r\n", line);
	CHECK(fix(msg, out) == LL_SIGNED);
	snprintf(
	    msg, sizeof msg,
	    "Content-Type: multipart/signed; boundary=s; protocol=\"x\"\r\n\r\n--s\r\n"
	    "Content-Type: text/plain\r\n\r\n%s\r\n--s\r\nContent-Type: x\r\n\r\nsig\r\n--s--\r\n",
	    line);
	CHECK(fix(msg, out) == LL_SIGNED);
	/* A signed part without long lines is left alone; its sibling is re-encoded. */
	snprintf(msg, sizeof msg,
		 "Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n"
		 "Content-Type: multipart/signed; boundary=s\r\n\r\n--s\r\n\r\nsigned\r\n--s--\r\n"
		 "\r\n--m\r\n\r\n%s\r\n--m--\r\n",
		 line);
	CHECK(fix(msg, out) == LL_REENCODED);
	CHECK(lines_fit(out));
	buf_append(out, "", 1);
	CHECK(strstr(out->data, "--m\r\nContent-Type: multipart/signed; boundary=s\r\n\r\n--s\r\n"
				"\r\nsigned\r\n--s--\r\n\r\n--m\r\n") != NULL);
	free(line);
}

static void
test_headers_and_base64(struct buf *out)
{
	char *words = long_text(2500, 'h'); /* a space every 97 octets */
	char msg[8000];
	snprintf(msg, sizeof msg, "Subject: %s\r\nX-Other: y\r\n\r\nbody\r\n", words);
	CHECK(fix(msg, out) == LL_REENCODED);
	CHECK(lines_fit(out));
	/* Unfolding (RFC 5322 2.2.3: remove the CRLFs) gives the field back. */
	struct buf unfolded;
	buf_init(&unfolded, 0);
	for (size_t i = 0; i < out->len; i++) {
		if (out->data[i] == '\r' && i + 2 < out->len && out->data[i + 2] == ' ')
			i++;
		else
			buf_append(&unfolded, out->data + i, 1);
	}
	CHECK(unfolded.len == strlen(msg) && memcmp(unfolded.data, msg, unfolded.len) == 0);
	buf_free(&unfolded);

	memset(words, 'n', 1500); /* no white space to fold at */
	snprintf(msg, sizeof msg, "Subject: %s\r\n\r\nbody\r\n", words);
	CHECK(fix(msg, out) == LL_UNFIXABLE);

	/* base64 on one line: wrapped at 76, same characters. */
	char b64[3001];
	for (size_t i = 0; i < 3000; i++)
		b64[i] = "ABCDEFGHabcdefgh0123+/"[i % 22];
	b64[3000] = '\0';
	snprintf(msg, sizeof msg,
		 "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n",
		 b64);
	CHECK(fix(msg, out) == LL_REENCODED);
	CHECK(lines_fit(out));
	buf_append(out, "", 1);
	const char *b = body_of(out);
	CHECK(strlen(b) == 3000 + 2 * ((3000 + 75) / 76));
	size_t k = 0;
	bool same = true;
	for (const char *c = b; *c; c++)
		if (*c != '\r' && *c != '\n')
			same &= k < 3000 && *c == b64[k++];
	CHECK(same && k == 3000);

	/* An encoding nobody can undo is not guessed at. */
	snprintf(msg, sizeof msg, "Content-Transfer-Encoding: x-uuencode\r\n\r\n%s\r\n", b64);
	CHECK(fix(msg, out) == LL_UNFIXABLE);
	free(words);
}

/* Found by the fuzzer: a line that starts like a delimiter but is not one. */
static void
test_delimiters(struct buf *out)
{
	char *pad = long_text(1200, 'q');
	char msg[4000];
	memset(pad, ' ', 1200); /* transport padding after a real delimiter */
	snprintf(msg, sizeof msg,
		 "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b%s\r\n\r\nx\r\n--b--\r\n",
		 pad);
	CHECK(fix(msg, out) == LL_REENCODED);
	CHECK(lines_fit(out));
	buf_append(out, "", 1);
	CHECK(strstr(out->data, "\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n") != NULL);
	memset(pad, 'z', 1200); /* "--bzzz...": part of the text, not a delimiter */
	snprintf(msg, sizeof msg,
		 "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--b%s\r\n--b--\r\n",
		 pad);
	CHECK(fix(msg, out) == LL_REENCODED);
	CHECK(lines_fit(out));
	free(pad);
}

static void
test_limits(void)
{
	struct buf small;
	buf_init(&small, 100); /* the output may not grow past its cap */
	char *line = long_text(1000, 'c');
	char msg[1200];
	snprintf(msg, sizeof msg, "\r\n%s\r\n", line);
	CHECK(long_lines_fix((struct strv){msg, strlen(msg)}, &small) == LL_UNFIXABLE);
	buf_free(&small);
	/* 998 octets fit, 999 do not. */
	CHECK(!long_lines_present(line, 998));
	CHECK(long_lines_present(line, 999));
	CHECK(!long_lines_present(msg, 2 + 998));
	CHECK(strstr(long_lines_reason(LL_SIGNED), "signed") != NULL);
	free(line);
}

int
main(void)
{
	struct buf out;
	buf_init(&out, 0);
	test_plain_message(&out);
	test_multipart(&out);
	test_signed(&out);
	test_headers_and_base64(&out);
	test_delimiters(&out);
	test_limits();
	buf_free(&out);
	return test_summary("test_long_lines");
}
