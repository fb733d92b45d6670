/*
 * msg_headers: fields kept byte for byte with their folded lines, the end
 * of the section found whatever the chunking, the body left over, the size
 * limit, and the malformed lines a peer can send.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "msg_headers.h"

static const char MSG[] = "From: Joe SixPack <joe@football.example.com>\r\n"
			  "To: Suzie Q <suzie@shopping.example.net>\r\n"
			  "Subject: Is dinner ready?\r\n"
			  "\tstill folded\r\n"
			  " and again\r\n"
			  "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
			  "X-Empty:\r\n"
			  "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
			  "\r\n"
			  "Hi.\r\n"
			  "\r\n"
			  "We lost the game. Are you hungry yet?\r\n";

/* Feeds msg in chunks of `chunk` bytes; returns where the body starts. */
static size_t
feed_chunks(struct msg_headers *h, const char *msg, size_t len, size_t chunk)
{
	size_t off = 0;
	bool done = false;
	while (off < len && !done) {
		size_t k = len - off < chunk ? len - off : chunk;
		size_t used = msg_headers_feed(h, msg + off, k, &done);
		if (!done)
			CHECK(used == k); /* before the end every byte is taken */
		off += used;
		if (done)
			break;
	}
	return off;
}

static void
check_fields(const struct msg_headers *h)
{
	CHECK(msg_headers_count(h) == 6);
	const struct msg_header *f = msg_headers_at(h, 0);
	CHECK(msg_header_is(f, "from") && msg_header_is(f, "FROM") && !msg_header_is(f, "fro"));
	CHECK(f->len == strlen("From: Joe SixPack <joe@football.example.com>\r\n"));
	f = msg_headers_at(h, 2);
	const char *subj = "Subject: Is dinner ready?\r\n\tstill folded\r\n and again\r\n";
	CHECK(f->len == strlen(subj) && memcmp(f->raw, subj, f->len) == 0);
	CHECK(f->name_len == 7);
	size_t vl;
	const char *v = msg_header_value(f, &vl);
	CHECK(vl == strlen(" Is dinner ready?\r\n\tstill folded\r\n and again") &&
	      memcmp(v, " Is dinner", 10) == 0);
	f = msg_headers_at(h, 4);
	CHECK(msg_header_is(f, "x-empty"));
	msg_header_value(f, &vl);
	CHECK(vl == 0);
	CHECK(msg_headers_at(h, 6) == NULL);
	CHECK(!h->too_big);
}

static void
test_every_chunking(void)
{
	size_t len = strlen(MSG);
	size_t body = (size_t)(strstr(MSG, "Hi.") - MSG);
	for (size_t chunk = 1; chunk <= len; chunk++) {
		struct msg_headers h;
		msg_headers_init(&h, 0);
		size_t got = feed_chunks(&h, MSG, len, chunk);
		CHECK(got == body);
		CHECK(msg_headers_done(&h));
		check_fields(&h);
		/* Done: nothing more is taken. */
		bool done = false;
		CHECK(msg_headers_feed(&h, "more", 4, &done) == 0 && done);
		msg_headers_free(&h);
	}
}

static void
test_bare_lf_and_odd_lines(void)
{
	const char *m = "Subject : spaced name\n"
			"no colon here\n"
			"\rodd: cr\n"
			"\n"
			"body";
	struct msg_headers h;
	msg_headers_init(&h, 0);
	bool done;
	size_t used = msg_headers_feed(&h, m, strlen(m), &done);
	CHECK(done && strcmp(m + used, "body") == 0);
	CHECK(msg_headers_count(&h) == 3);
	CHECK(msg_header_is(msg_headers_at(&h, 0), "subject"));
	CHECK(msg_headers_at(&h, 1)->name_len == 0);
	CHECK(!msg_header_is(msg_headers_at(&h, 1), ""));
	CHECK(msg_headers_at(&h, 2)->raw[0] == '\r');
	msg_headers_free(&h);

	/* Leading white space before any field: a field of its own. */
	msg_headers_init(&h, 0);
	used = msg_headers_feed(&h, " x: y\r\nA: b\r\n\r\n", 15, &done);
	CHECK(done && used == 15 && msg_headers_count(&h) == 2);
	CHECK(msg_header_is(msg_headers_at(&h, 1), "a"));
	msg_headers_free(&h);

	/* No empty line at all (a message that is all header): not done, the
	 * complete lines are listed. */
	msg_headers_init(&h, 0);
	used = msg_headers_feed(&h, "A: 1\r\nB: 2\r\nC: partial", 22, &done);
	CHECK(!done && used == 22 && msg_headers_count(&h) == 2);
	msg_headers_free(&h);

	/* An empty message: the empty line first. */
	msg_headers_init(&h, 0);
	used = msg_headers_feed(&h, "\r\nbody", 6, &done);
	CHECK(done && used == 2 && msg_headers_count(&h) == 0);
	msg_headers_free(&h);
}

static void
test_too_big(void)
{
	struct msg_headers h;
	msg_headers_init(&h, 40);
	const char *m = "A: 0123456789\r\nB: 0123456789\r\nC: 0123456789\r\n\r\nbody";
	bool done;
	size_t used = msg_headers_feed(&h, m, strlen(m), &done);
	/* The end of the section is still found; what fit is kept whole. */
	CHECK(done && strcmp(m + used, "body") == 0);
	CHECK(h.too_big);
	CHECK(msg_headers_count(&h) == 2);
	CHECK(msg_headers_at(&h, 1)->len == 15);
	msg_headers_free(&h);
}

static void
test_many_fields(void)
{
	/* Enough fields and bytes to move the storage several times. */
	char *m = malloc(100000);
	size_t len = 0;
	for (int i = 0; i < 2000; i++)
		len += (size_t)sprintf(m + len, "X-Field-%d: value %d\r\n", i, i);
	memcpy(m + len, "\r\n", 2);
	len += 2;
	struct msg_headers h;
	msg_headers_init(&h, 0);
	CHECK(feed_chunks(&h, m, len, 777) == len);
	CHECK(msg_headers_count(&h) == 2000);
	const struct msg_header *f = msg_headers_at(&h, 1999);
	CHECK(f->len == strlen("X-Field-1999: value 1999\r\n") &&
	      memcmp(f->raw, "X-Field-1999: value 1999\r\n", f->len) == 0);
	msg_headers_free(&h);
	free(m);
}

int
main(void)
{
	test_every_chunking();
	test_bare_lf_and_odd_lines();
	test_too_big();
	test_many_fields();
	return test_summary("test_msg_headers");
}
