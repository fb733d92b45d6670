/*
 * Unit tests for core/smtp_data: DATA dot-unstuffing and its only
 * terminator CRLF "." CRLF (RFC 5321 4.5.2), the smuggling inputs that must
 * not end a message, the flags (bare CR/LF, NUL, 4.5.3.1.6 long lines),
 * split invariance (every split point, two splits, byte by byte), the BDAT
 * scanner and the dot-stuffing encoder. Table-driven.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "smtp_data.h"

struct decoded {
	enum parse_rc rc;
	char out[4096];
	size_t out_len;
	size_t consumed;
	unsigned flags;
	uint64_t size;
};

/* Feed in[0..len) in one call per cut (cuts ascending), each with an exact out buffer. */
static void
decode_cuts(const char *in, size_t len, const size_t *cuts, size_t ncuts, struct decoded *r)
{
	struct smtp_data d;
	size_t from = 0;

	memset(r, 0, sizeof *r);
	smtp_data_init(&d);
	r->rc = PARSE_MORE;
	for (size_t k = 0; k <= ncuts && r->rc == PARSE_MORE; k++) {
		size_t to = k < ncuts ? cuts[k] : len, n, consumed;
		char *out = malloc(to - from + 2); /* the contract: len + 2 at most */
		r->rc = smtp_data_decode(&d, in + from, to - from, out, &n, &consumed);
		if (r->out_len + n <= sizeof r->out)
			memcpy(r->out + r->out_len, out, n);
		r->out_len += n;
		r->consumed += consumed;
		free(out);
		from = to;
	}
	r->flags = d.flags;
	r->size = d.size;
}

static bool
same(const struct decoded *a, const struct decoded *b)
{
	return a->rc == b->rc && a->out_len == b->out_len &&
	       memcmp(a->out, b->out, a->out_len) == 0 && a->consumed == b->consumed &&
	       a->flags == b->flags && a->size == b->size;
}

struct data_case {
	const char *in;
	size_t len; /* 0: strlen */
	enum parse_rc rc;
	const char *out;
	size_t out_len; /* 0: strlen */
	unsigned flags;
	size_t consumed; /* on DONE */
};

static const struct data_case data_cases[] = {
    {".\r\n", 0, PARSE_DONE, "", 0, 0, 3},
    {".\r\nQUIT\r\n", 0, PARSE_DONE, "", 0, 0, 3},
    {"\r\n.\r\n", 0, PARSE_DONE, "\r\n", 0, 0, 5},
    {"a\r\n.\r\n", 0, PARSE_DONE, "a\r\n", 0, 0, 6},
    {"a\r\n.\r\nMAIL FROM:<x@y>\r\n", 0, PARSE_DONE, "a\r\n", 0, 0, 6},
    {"Subject: x\r\n\r\nbody\r\n.\r\n", 0, PARSE_DONE, "Subject: x\r\n\r\nbody\r\n", 0, 0, 23},
    /* dot-unstuffing: the first dot of a line is dropped */
    {"..\r\n.\r\n", 0, PARSE_DONE, ".\r\n", 0, 0, 7},
    {"..a\r\n.\r\n", 0, PARSE_DONE, ".a\r\n", 0, 0, 8},
    {".a\r\n.\r\n", 0, PARSE_DONE, "a\r\n", 0, 0, 7},
    {"a\r\n...\r\n.\r\n", 0, PARSE_DONE, "a\r\n..\r\n", 0, 0, 11},
    {"a.\r\n.b.\r\n.\r\n", 0, PARSE_DONE, "a.\r\nb.\r\n", 0, 0, 12},
    /* unfinished */
    {"", 0, PARSE_MORE, "", 0, 0, 0},
    {".", 0, PARSE_MORE, "", 0, 0, 0},
    {".\r", 0, PARSE_MORE, "", 0, 0, 0},
    {"a\r", 0, PARSE_MORE, "a", 0, 0, 0},
    {"a\r\n.", 0, PARSE_MORE, "a\r\n", 0, 0, 0},
    {"a\r\n.\r", 0, PARSE_MORE, "a\r\n", 0, 0, 0},
    /* smuggling: none of these is a terminator (CVE-2023-51764) */
    {"a\n.\nMAIL FROM:<x@y>\r\n", 0, PARSE_MORE, "a\n.\nMAIL FROM:<x@y>\r\n", 0, DATA_BARE_LF, 0},
    {"a\r\n.\nMAIL\r\n", 0, PARSE_MORE, "a\r\n\nMAIL\r\n", 0, DATA_BARE_LF, 0},
    {"a\n.\r\nMAIL\r\n", 0, PARSE_MORE, "a\n.\r\nMAIL\r\n", 0, DATA_BARE_LF, 0},
    {"a\r.\r\nMAIL\r\n", 0, PARSE_MORE, "a\r.\r\nMAIL\r\n", 0, DATA_BARE_CR, 0},
    {"\n.\n", 0, PARSE_MORE, "\n.\n", 0, DATA_BARE_LF, 0},
    {"\r\n.\n", 0, PARSE_MORE, "\r\n\n", 0, DATA_BARE_LF, 0},
    {"\n.\r\n", 0, PARSE_MORE, "\n.\r\n", 0, DATA_BARE_LF, 0},
    {"\r.\r\n", 0, PARSE_MORE, "\r.\r\n", 0, DATA_BARE_CR, 0},
    {".\n", 0, PARSE_MORE, "\n", 0, DATA_BARE_LF, 0},
    {".\r.\r\n", 0, PARSE_MORE, "\r.\r\n", 0, DATA_BARE_CR, 0},
    {"a\r\r\n.\r\n", 0, PARSE_DONE, "a\r\r\n", 0, DATA_BARE_CR, 7},
    {"a\n.\nb\r\n.\r\nRSET\r\n", 0, PARSE_DONE, "a\n.\nb\r\n", 0, DATA_BARE_LF, 10},
    {"a\r.\rb\r\n.\r\n", 0, PARSE_DONE, "a\r.\rb\r\n", 0, DATA_BARE_CR, 10},
    {".\rx\r\n.\r\n", 0, PARSE_DONE, "\rx\r\n", 0, DATA_BARE_CR, 8},
    {"a\r\r\r\n.\r\n", 0, PARSE_DONE, "a\r\r\r\n", 0, DATA_BARE_CR, 8},
    {"a\n\r\n.\r\n", 0, PARSE_DONE, "a\n\r\n", 0, DATA_BARE_LF, 7},
    {"a\rb\nc\r\n.\r\n", 0, PARSE_DONE, "a\rb\nc\r\n", 0, DATA_BARE_CR | DATA_BARE_LF, 10},
    /* NUL is kept and flagged */
    {"a\0b\r\n.\r\n", 8, PARSE_DONE, "a\0b\r\n", 5, DATA_NUL, 8},
    {".\0\r\n.\r\n", 7, PARSE_DONE, "\0\r\n", 3, DATA_NUL, 7},
};

static void
test_table(void)
{
	for (size_t i = 0; i < sizeof data_cases / sizeof data_cases[0]; i++) {
		const struct data_case *c = &data_cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		size_t out_len = c->out_len ? c->out_len : strlen(c->out);
		struct decoded r;
		decode_cuts(c->in, len, NULL, 0, &r);
		CHECK(r.rc == c->rc);
		CHECK(r.out_len == out_len && memcmp(r.out, c->out, out_len) == 0);
		CHECK(r.flags == c->flags);
		CHECK(r.size == r.out_len);
		CHECK(r.consumed == (c->rc == PARSE_DONE ? c->consumed : len));
		if (r.rc != c->rc || r.flags != c->flags || r.out_len != out_len)
			printf("  data case %zu: rc %d flags %u out_len %zu\n", i, r.rc, r.flags,
			       r.out_len);
	}
}

/* After DONE the decoder takes nothing more. */
static void
test_after_done(void)
{
	struct smtp_data d;
	char out[16];
	size_t n, consumed;

	smtp_data_init(&d);
	CHECK(smtp_data_decode(&d, ".\r\n", 3, out, &n, &consumed) == PARSE_DONE);
	CHECK(smtp_data_decode(&d, "abc", 3, out, &n, &consumed) == PARSE_DONE);
	CHECK(n == 0 && consumed == 0);
}

/* RFC 5321 4.5.3.1.6: 998 octets + CRLF is the longest line. */
static void
test_long_lines(void)
{
	static const struct {
		const char *prefix;
		size_t fill;
		unsigned flags;
	} cases[] = {
	    {"", 998, 0},
	    {"", 999, DATA_LONG_LINE},
	    {".", 998, 0}, /* the stuffing dot does not count */
	    {"..", 997, 0},
	    {"..", 998, DATA_LONG_LINE},
	    {"ab\r\n", 998, 0},
	    {"ab\r\n", 999, DATA_LONG_LINE},
	    /* a bare CR is line content */
	    {"a\r", 996, DATA_BARE_CR},
	    {"a\r", 997, DATA_BARE_CR | DATA_LONG_LINE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char in[1100];
		size_t p = strlen(cases[i].prefix), len;
		struct decoded r;
		memcpy(in, cases[i].prefix, p);
		memset(in + p, 'x', cases[i].fill);
		memcpy(in + p + cases[i].fill, "\r\n.\r\n", 5);
		len = p + cases[i].fill + 5;
		decode_cuts(in, len, NULL, 0, &r);
		CHECK(r.rc == PARSE_DONE && r.consumed == len);
		CHECK(r.flags == cases[i].flags);
	}
}

static const char *const split_inputs[] = {
    ".\r\n",
    "a\r\n.\r\n",
    "..\r\n.\r\nX",
    "a\r\n..b\r\n.\r\nQUIT\r\n",
    "a\n.\nb\r\n.\r\n",
    "\r\n.\n\r.\r\n.\r\r\n.\r\n",
    "\r.\r\n.\r.\r\n\r\n.\r\n",
    ".\r.\r\n.\r\n",
    "x\r\r\r\n\n\n.\r\n..\r\n.\r\n",
    "Subject: t\r\n\r\n.\r\nbody\r\n..\r\n.\r\nNOOP\r\n",
    "no end\r\n.x\r\n.",
    "a\r",
    ".",
};

/* Whole input vs. every single split, every pair of splits, and byte by byte. */
static void
test_split_invariance(void)
{
	for (size_t i = 0; i < sizeof split_inputs / sizeof split_inputs[0]; i++) {
		const char *in = split_inputs[i];
		size_t len = strlen(in), cuts[64];
		struct decoded whole, part;
		decode_cuts(in, len, NULL, 0, &whole);
		for (size_t a = 0; a <= len; a++) {
			cuts[0] = a;
			decode_cuts(in, len, cuts, 1, &part);
			CHECK(same(&whole, &part));
			for (size_t b = a; b <= len; b++) {
				cuts[1] = b;
				decode_cuts(in, len, cuts, 2, &part);
				CHECK(same(&whole, &part));
			}
		}
		for (size_t k = 0; k < len; k++)
			cuts[k] = k + 1;
		decode_cuts(in, len, cuts, len, &part);
		CHECK(same(&whole, &part));
	}
}

static void
test_scan(void)
{
	struct smtp_data d;

	smtp_data_init(&d);
	smtp_data_scan(&d, "a\r\nb\r\n", 6);
	CHECK(d.flags == 0 && d.size == 6);
	smtp_data_scan(&d, ".\r\n", 3); /* BDAT has no dot-stuffing or terminator */
	CHECK(d.flags == 0 && d.size == 9);

	smtp_data_init(&d);
	smtp_data_scan(&d, "a\r", 2);
	smtp_data_scan(&d, "\nb", 2);
	CHECK(d.flags == 0 && d.size == 4);
	smtp_data_scan(&d, "\r", 1);
	CHECK(d.flags == 0);
	smtp_data_scan_end(&d);
	CHECK(d.flags == DATA_BARE_CR);

	smtp_data_init(&d);
	smtp_data_scan(&d, "a\rb\nc\0", 6);
	CHECK(d.flags == (DATA_BARE_CR | DATA_BARE_LF | DATA_NUL));

	/* a long line across chunks */
	char chunk[600];
	memset(chunk, 'x', sizeof chunk);
	smtp_data_init(&d);
	smtp_data_scan(&d, chunk, 499);
	smtp_data_scan(&d, chunk, 499);
	smtp_data_scan(&d, "\r\n", 2);
	CHECK(d.flags == 0);
	smtp_data_scan(&d, chunk, 500);
	smtp_data_scan(&d, chunk, 499);
	CHECK(d.flags == DATA_LONG_LINE);

	/* A long line is only noted; past the hard cap it is huge (refused). */
	size_t left = DATA_LINE_HARD_MAX - 999;
	for (; left >= sizeof chunk; left -= sizeof chunk)
		smtp_data_scan(&d, chunk, sizeof chunk);
	smtp_data_scan(&d, chunk, left);
	CHECK(d.flags == DATA_LONG_LINE);
	smtp_data_scan(&d, "y", 1);
	CHECK(d.flags == (DATA_LONG_LINE | DATA_HUGE_LINE));
	smtp_data_scan(&d, "\r\n", 2);
	CHECK((d.flags & DATA_REFUSED) == DATA_HUGE_LINE);
}

static void
test_stuff(void)
{
	static const struct {
		const char *in;
		bool bol;
		const char *out;
	} cases[] = {
	    {".", true, ".."},
	    {".", false, "."},
	    {"a.b\r\n.c\r\n", true, "a.b\r\n..c\r\n"},
	    {"\r\n.\r\n", true, "\r\n..\r\n"},
	    {"a\n.\n", true, "a\n..\n"}, /* after any LF */
	    {"a\r.", true, "a\r.."},	 /* and after any CR */
	    {"", true, ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[64];
		bool bol = cases[i].bol;
		size_t n = smtp_data_stuff(cases[i].in, strlen(cases[i].in), &bol, out);
		out[n] = '\0';
		CHECK_STR(out, cases[i].out);
	}
	/* the line state carries across chunks */
	char out[16];
	bool bol = true;
	size_t n = smtp_data_stuff("ab\r\n", 4, &bol, out);
	CHECK(n == 4 && bol);
	n = smtp_data_stuff(".x", 2, &bol, out);
	CHECK(n == 3 && memcmp(out, "..x", 3) == 0 && !bol);
}

/* stuff then decode gives the input back, for messages with CRLF lines only. */
static void
test_round_trip(void)
{
	static const char *const msgs[] = {
	    "",
	    "a\r\n",
	    ".\r\n",
	    "..\r\n",
	    "a\r\n.\r\n.b\r\n",
	    "\r\n\r\n.\r\n",
	    "Subject: x\r\n\r\n.\r\n..\r\n...\r\n",
	};
	for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
		char wire[128];
		bool bol = true;
		size_t n = smtp_data_stuff(msgs[i], strlen(msgs[i]), &bol, wire);
		memcpy(wire + n, ".\r\n", 3);
		struct decoded r;
		decode_cuts(wire, n + 3, NULL, 0, &r);
		CHECK(r.rc == PARSE_DONE && r.consumed == n + 3 && r.flags == 0);
		CHECK(r.out_len == strlen(msgs[i]) && memcmp(r.out, msgs[i], r.out_len) == 0);
	}
}

int
main(void)
{
	test_table();
	test_after_done();
	test_long_lines();
	test_split_invariance();
	test_scan();
	test_stuff();
	test_round_trip();
	return test_summary("test_smtp_data");
}
