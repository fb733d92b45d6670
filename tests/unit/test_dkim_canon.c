/*
 * dkim_canon: RFC 6376 3.4.5's examples, the empty-body and trailing-line
 * rules of 3.4.3 / 3.4.4 (and erratum 1384), the l= cap, and that any
 * chunking of a body gives the same canonical bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dkim_canon.h"
#include "harness.h"

static void
to_buf(void *ctx, const char *p, size_t n)
{
	buf_append(ctx, p, n);
}

static char *
header(enum dkim_canon_alg c, const char *field, bool crlf)
{
	static struct buf b;
	buf_free(&b);
	buf_init(&b, 0);
	dkim_canon_header(c, field, strlen(field), crlf, to_buf, &b);
	return b.data ? b.data : "";
}

/* The canonical body, fed in chunks of `chunk` bytes. */
static char *
body_chunks(enum dkim_canon_alg c, const char *body, size_t chunk, uint64_t limit,
	    uint64_t *total_r)
{
	struct buf b;
	struct dkim_body_canon bc;
	buf_init(&b, 0);
	buf_append(&b, "", 0);
	dkim_body_canon_init(&bc, c, limit, to_buf, &b);
	size_t n = strlen(body);
	for (size_t off = 0; off < n; off += chunk)
		dkim_body_canon_feed(&bc, body + off, n - off < chunk ? n - off : chunk);
	dkim_body_canon_finish(&bc);
	if (total_r)
		*total_r = dkim_body_canon_length(&bc);
	return b.data; /* owned by the caller */
}

static void
check_body(enum dkim_canon_alg c, const char *body, const char *want)
{
	size_t n = strlen(body);
	for (size_t chunk = 1; chunk <= (n ? n : 1); chunk++) {
		uint64_t total;
		char *got = body_chunks(c, body, chunk, UINT64_MAX, &total);
		CHECK_STR(got, want);
		CHECK(total == strlen(want));
		free(got);
	}
}

static void
test_rfc_examples(void)
{
	/* RFC 6376 3.4.5 */
	const char *h1 = "A: X\r\n", *h2 = "B : Y\t\r\n\tZ  \r\n";
	CHECK_STR(header(DKIM_CANON_RELAXED, h1, true), "a:X\r\n");
	CHECK_STR(header(DKIM_CANON_RELAXED, h2, true), "b:Y Z\r\n");
	CHECK_STR(header(DKIM_CANON_SIMPLE, h2, true), "B : Y\t\r\n\tZ  \r\n");
	const char *body = " C \r\nD \t E\r\n\r\n\r\n";
	check_body(DKIM_CANON_RELAXED, body, " C\r\nD E\r\n");
	check_body(DKIM_CANON_SIMPLE, body, " C \r\nD \t E\r\n");
}

static void
test_headers(void)
{
	/* The signature field is hashed without its final CRLF. */
	CHECK_STR(header(DKIM_CANON_RELAXED, "DKIM-Signature: v=1;  b=\r\n", false),
		  "dkim-signature:v=1; b=");
	CHECK_STR(header(DKIM_CANON_SIMPLE, "DKIM-Signature: v=1;  b=\r\n", false),
		  "DKIM-Signature: v=1;  b=");
	CHECK_STR(header(DKIM_CANON_SIMPLE, "X: y", true), "X: y\r\n");
	CHECK_STR(header(DKIM_CANON_RELAXED, "SUBJECT:\t  \r\n", true), "subject:\r\n");
	CHECK_STR(header(DKIM_CANON_RELAXED, "To:a,\r\n  b\r\n", true), "to:a, b\r\n");
	/* Bare LF ends the field just as CRLF does. */
	CHECK_STR(header(DKIM_CANON_RELAXED, "To: a\n b\n", true), "to:a b\r\n");
	/* Bytes beyond ASCII are kept as they are. */
	CHECK_STR(header(DKIM_CANON_RELAXED, "Subject: caf\xc3\xa9  x\r\n", true),
		  "subject:caf\xc3\xa9 x\r\n");
	/* A long field crosses the internal buffer. */
	char big[1200], want[1200];
	memset(big, 'x', sizeof big);
	memcpy(big, "X-Long:", 7);
	memcpy(big + sizeof big - 3, "\r\n", 3);
	memcpy(want, big, sizeof big);
	want[0] = 'x';
	want[2] = 'l';
	CHECK_STR(header(DKIM_CANON_RELAXED, big, true), want);
}

static void
test_body_rules(void)
{
	/* 3.4.3: empty body -> CRLF; 3.4.4 + erratum 1384: relaxed -> nothing. */
	check_body(DKIM_CANON_SIMPLE, "", "\r\n");
	check_body(DKIM_CANON_RELAXED, "", "");
	check_body(DKIM_CANON_SIMPLE, "\r\n\r\n\r\n", "\r\n");
	check_body(DKIM_CANON_RELAXED, "\r\n \r\n\t\r\n", "");
	/* A missing final line end is added. */
	check_body(DKIM_CANON_SIMPLE, "abc", "abc\r\n");
	check_body(DKIM_CANON_RELAXED, "abc  ", "abc\r\n");
	/* Empty lines inside are kept, only trailing ones go. */
	check_body(DKIM_CANON_SIMPLE, "a\r\n\r\n\r\nb\r\n\r\n", "a\r\n\r\n\r\nb\r\n");
	check_body(DKIM_CANON_RELAXED, "a\r\n  \r\nb  \r\n \r\n", "a\r\n\r\nb\r\n");
	/* Leading white space becomes one SP, it is not removed. */
	check_body(DKIM_CANON_RELAXED, "\t\t x\r\n", " x\r\n");
	/* Simple keeps white space as is, including white-space-only lines. */
	check_body(DKIM_CANON_SIMPLE, "a\r\n  \r\n\r\n", "a\r\n  \r\n");
	/* Bare LF = CRLF; a bare CR is content. */
	check_body(DKIM_CANON_SIMPLE, "a\nb\n\n", "a\r\nb\r\n");
	check_body(DKIM_CANON_RELAXED, "a\rb\r\n", "a\rb\r\n");
	check_body(DKIM_CANON_SIMPLE, "a\r", "a\r\r\n");
	check_body(DKIM_CANON_RELAXED, "\r", "\r\r\n");
	/* The RFC 6376 / 8463 example body. */
	check_body(DKIM_CANON_RELAXED,
		   "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n\r\n",
		   "Hi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n\r\nJoe.\r\n");
}

static void
test_limit(void)
{
	const char *body = "line one\r\nline two\r\n\r\n";
	uint64_t total;
	for (size_t chunk = 1; chunk < 8; chunk++) {
		char *got = body_chunks(DKIM_CANON_SIMPLE, body, chunk, 12, &total);
		CHECK_STR(got, "line one\r\nli");
		CHECK(total == 20);
		free(got);
		got = body_chunks(DKIM_CANON_SIMPLE, body, chunk, 0, &total);
		CHECK_STR(got, "");
		free(got);
		/* a limit above the length passes all of it */
		got = body_chunks(DKIM_CANON_RELAXED, body, chunk, 1000, &total);
		CHECK_STR(got, "line one\r\nline two\r\n");
		CHECK(total == 20);
		free(got);
	}
}

static void
test_random_chunking(void)
{
	/* Pseudo-random bodies over the bytes that matter, every chunking. */
	static const char alphabet[] = " \t\r\nab";
	unsigned seed = 12345;
	for (int round = 0; round < 300; round++) {
		char body[64];
		size_t n = (size_t)(round % 60);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			body[i] = alphabet[(seed >> 16) % 6];
		}
		body[n] = '\0';
		for (int c = 0; c < 2; c++) {
			char *whole =
			    body_chunks((enum dkim_canon_alg)c, body, n ? n : 1, UINT64_MAX, NULL);
			for (size_t chunk = 1; chunk < n; chunk++) {
				char *got = body_chunks((enum dkim_canon_alg)c, body, chunk,
							UINT64_MAX, NULL);
				CHECK(strcmp(got, whole) == 0);
				free(got);
			}
			free(whole);
		}
	}
}

int
main(void)
{
	test_rfc_examples();
	test_headers();
	test_body_rules();
	test_limit();
	test_random_chunking();
	return test_summary("test_dkim_canon");
}
