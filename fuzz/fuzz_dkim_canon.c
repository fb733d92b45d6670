/*
 * libFuzzer harness for dkim_canon: the input as a body, canonicalized
 * whole and in chunks (sizes from the first byte), simple and relaxed,
 * with and without an l= cap; and as a header field. Invariants: the
 * chunking does not change a byte; the capped output is a prefix of the
 * whole one; output lines end in CRLF, relaxed output has no WSP before a
 * line end and no empty line last.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "dkim_canon.h"
#include "panic.h"

static void
to_buf(void *ctx, const char *p, size_t n)
{
	buf_append(ctx, p, n);
}

static void
canon(enum dkim_canon_alg c, const char *p, size_t n, size_t chunk, uint64_t limit, struct buf *out)
{
	struct dkim_body_canon b;
	dkim_body_canon_init(&b, c, limit, to_buf, out);
	for (size_t off = 0; off < n; off += chunk)
		dkim_body_canon_feed(&b, p + off, n - off < chunk ? n - off : chunk);
	dkim_body_canon_finish(&b);
	MP_ASSERT(limit != UINT64_MAX || dkim_body_canon_length(&b) == out->len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t chunk = data[0] % 13 + 1;
	uint64_t limit = data[0];
	const char *p = (const char *)data + 1;
	size_t n = size - 1;

	for (int c = 0; c < 2; c++) {
		struct buf whole, cut, capped;
		buf_init(&whole, 0);
		buf_init(&cut, 0);
		buf_init(&capped, 0);
		canon((enum dkim_canon_alg)c, p, n, n ? n : 1, UINT64_MAX, &whole);
		canon((enum dkim_canon_alg)c, p, n, chunk, UINT64_MAX, &cut);
		canon((enum dkim_canon_alg)c, p, n, chunk, limit, &capped);
		MP_ASSERT(whole.len == cut.len &&
			  (whole.len == 0 || memcmp(whole.data, cut.data, whole.len) == 0));
		MP_ASSERT(capped.len == (whole.len < limit ? whole.len : limit));
		MP_ASSERT(capped.len == 0 || memcmp(capped.data, whole.data, capped.len) == 0);
		if (whole.len > 0) {
			MP_ASSERT(whole.len >= 2 &&
				  memcmp(whole.data + whole.len - 2, "\r\n", 2) == 0);
			for (size_t i = 0; i < whole.len; i++)
				MP_ASSERT(whole.data[i] != '\n' ||
					  (i > 0 && whole.data[i - 1] == '\r'));
		}
		if (c == DKIM_CANON_RELAXED && whole.len > 0) {
			MP_ASSERT(whole.len < 4 ||
				  memcmp(whole.data + whole.len - 4, "\r\n\r\n", 4) != 0);
			for (size_t i = 1; i + 1 < whole.len; i++)
				if (whole.data[i] == '\r' && whole.data[i + 1] == '\n')
					MP_ASSERT(whole.data[i - 1] != ' ' &&
						  whole.data[i - 1] != '\t');
		} else if (c == DKIM_CANON_SIMPLE) {
			MP_ASSERT(whole.len >= 2);
		}
		buf_free(&whole);
		buf_free(&cut);
		buf_free(&capped);
	}

	struct buf h;
	buf_init(&h, 0);
	dkim_canon_header(DKIM_CANON_RELAXED, p, n, true, to_buf, &h);
	MP_ASSERT(h.len >= 2 && memcmp(h.data + h.len - 2, "\r\n", 2) == 0);
	MP_ASSERT(memchr(h.data, '\n', h.len - 1) == NULL); /* unfolded */
	buf_free(&h);
	return 0;
}
