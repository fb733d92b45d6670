/*
 * Unit tests for core/smtp_line: the strict CRLF command-line splitter.
 * Table-driven; covers bare CR/LF, NUL, the max boundary (RFC 5321
 * 4.5.3.1.4, CRLF included) and that a verdict on a prefix holds when more
 * input arrives.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "smtp_line.h"

struct line_case {
	const char *in;
	size_t len; /* 0: strlen(in) */
	size_t max;
	enum parse_rc rc;
	size_t line_len;
	size_t consumed;
	enum line_err err;
};

static void
test_table(void)
{
	static const struct line_case cases[] = {
	    {"QUIT\r\n", 0, 512, PARSE_DONE, 4, 6, LINE_OK},
	    {"\r\n", 0, 512, PARSE_DONE, 0, 2, LINE_OK},
	    {"NOOP\r\nQUIT\r\n", 0, 512, PARSE_DONE, 4, 6, LINE_OK},
	    {"", 0, 512, PARSE_MORE, 0, 0, LINE_OK},
	    {"QUI", 0, 512, PARSE_MORE, 0, 0, LINE_OK},
	    {"QUIT\r", 0, 512, PARSE_MORE, 0, 0, LINE_OK},
	    {"QUIT\n", 0, 512, PARSE_ERR, 0, 5, LINE_BARE_LF},
	    {"\n", 0, 512, PARSE_ERR, 0, 1, LINE_BARE_LF},
	    {"QU\rIT\r\n", 0, 512, PARSE_ERR, 0, 3, LINE_BARE_CR},
	    {"QUIT\r\r\n", 0, 512, PARSE_ERR, 0, 5, LINE_BARE_CR},
	    {"QU\0IT\r\n", 7, 512, PARSE_ERR, 0, 3, LINE_NUL},
	    {"\0", 1, 512, PARSE_ERR, 0, 1, LINE_NUL},
	    /* the first error in byte order wins */
	    {"A\nB\0", 4, 512, PARSE_ERR, 0, 2, LINE_BARE_LF},
	    {"A\0B\n", 4, 512, PARSE_ERR, 0, 2, LINE_NUL},
	    /* small max: "ab\r\n" is 4 octets */
	    {"ab\r\n", 0, 4, PARSE_DONE, 2, 4, LINE_OK},
	    {"abc\r\n", 0, 4, PARSE_ERR, 0, 4, LINE_TOO_LONG},
	    {"abcd", 0, 4, PARSE_ERR, 0, 4, LINE_TOO_LONG},
	    {"abc", 0, 4, PARSE_MORE, 0, 0, LINE_OK},
	    {"ab\r", 0, 4, PARSE_MORE, 0, 0, LINE_OK},
	    /* a CR whose LF would be the (max+1)th byte: too long, not bare */
	    {"abc\rx", 0, 4, PARSE_ERR, 0, 4, LINE_TOO_LONG},
	    {"a\0cd", 4, 4, PARSE_ERR, 0, 2, LINE_NUL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct line_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->in), ll = 99, cons = 99;
		enum line_err err = LINE_NUL;
		enum parse_rc rc = smtp_line_next(c->in, len, c->max, &ll, &cons, &err);
		CHECK(rc == c->rc);
		if (rc != c->rc)
			printf("  case %zu: rc %d\n", i, rc);
		CHECK(err == c->err);
		if (rc == PARSE_DONE)
			CHECK(ll == c->line_len);
		if (rc != PARSE_MORE)
			CHECK(cons == c->consumed);
	}
}

/* With max 512, 510 octets + CRLF fit; 511 do not (RFC 5321 4.5.3.1.4). */
static void
test_512(void)
{
	char *p = malloc(600);
	size_t ll, cons;
	enum line_err err;

	memset(p, 'a', 600);
	memcpy(p + 510, "\r\n", 2);
	CHECK(smtp_line_next(p, 512, 512, &ll, &cons, &err) == PARSE_DONE);
	CHECK(ll == 510 && cons == 512 && err == LINE_OK);
	CHECK(smtp_line_next(p, 511, 512, &ll, &cons, &err) == PARSE_MORE);

	memset(p, 'a', 600);
	memcpy(p + 511, "\r\n", 2);
	CHECK(smtp_line_next(p, 511, 512, &ll, &cons, &err) == PARSE_MORE);
	/* TOO_LONG as soon as 512 octets are there without a CRLF */
	CHECK(smtp_line_next(p, 512, 512, &ll, &cons, &err) == PARSE_ERR);
	CHECK(err == LINE_TOO_LONG && cons == 512);
	CHECK(smtp_line_next(p, 513, 512, &ll, &cons, &err) == PARSE_ERR);
	CHECK(err == LINE_TOO_LONG);
	CHECK(smtp_line_next(p, 600, 512, &ll, &cons, &err) == PARSE_ERR);
	CHECK(err == LINE_TOO_LONG);
	free(p);
}

/* Every prefix of an input gives MORE or the same verdict as the whole. */
static void
test_prefixes(void)
{
	static const char *const inputs[] = {
	    "MAIL FROM:<a@b>\r\n", "x\ry\r\n", "x\ny", "ab\r\r\n", "\r\r",
	};
	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		size_t len = strlen(inputs[i]), ll, cons, ll2, cons2;
		enum line_err err, err2;
		enum parse_rc whole = smtp_line_next(inputs[i], len, 512, &ll, &cons, &err);
		for (size_t n = 0; n <= len; n++) {
			enum parse_rc rc = smtp_line_next(inputs[i], n, 512, &ll2, &cons2, &err2);
			CHECK(rc == PARSE_MORE || (rc == whole && err2 == err && cons2 == cons));
		}
	}
}

int
main(void)
{
	test_table();
	test_512();
	test_prefixes();
	return test_summary("test_smtp_line");
}
