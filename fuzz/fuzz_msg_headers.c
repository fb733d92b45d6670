/*
 * libFuzzer harness for msg_headers: the input fed whole and in chunks cut
 * at places taken from its first byte. Invariants: both give the same
 * fields and the same body offset; the fields, one after the other, are
 * the consumed bytes less the empty line (unless too_big); a name is a
 * prefix of its field; a small limit never lets more bytes in.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "msg_headers.h"
#include "panic.h"

static size_t
feed(struct msg_headers *h, const char *p, size_t n, size_t chunk)
{
	size_t off = 0;
	bool done = false;
	while (off < n && !done) {
		size_t k = n - off < chunk ? n - off : chunk;
		size_t used = msg_headers_feed(h, p + off, k, &done);
		MP_ASSERT(done || used == k);
		off += used;
	}
	return off;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t chunk = (size_t)data[0] % 17 + 1;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	struct msg_headers a, b, small;

	msg_headers_init(&a, 0);
	msg_headers_init(&b, 0);
	msg_headers_init(&small, 64);
	size_t ua = feed(&a, p, n, n ? n : 1);
	size_t ub = feed(&b, p, n, chunk);
	size_t us = feed(&small, p, n, chunk);
	MP_ASSERT(ua == ub && ua == us);
	MP_ASSERT(msg_headers_done(&a) == msg_headers_done(&b));
	MP_ASSERT(msg_headers_count(&a) == msg_headers_count(&b));

	size_t total = 0;
	for (size_t i = 0; i < msg_headers_count(&a); i++) {
		const struct msg_header *fa = msg_headers_at(&a, i), *fb = msg_headers_at(&b, i);
		MP_ASSERT(fa->len == fb->len && fa->name_len == fb->name_len);
		MP_ASSERT(memcmp(fa->raw, fb->raw, fa->len) == 0);
		MP_ASSERT(fa->name_len <= fa->len && fa->len > 0);
		MP_ASSERT(memcmp(fa->raw, p + total, fa->len) == 0);
		size_t vl;
		const char *v = msg_header_value(fa, &vl);
		MP_ASSERT(v >= fa->raw && v + vl <= fa->raw + fa->len);
		total += fa->len;
	}
	if (msg_headers_done(&a)) {
		/* everything consumed is a field, except the empty line */
		MP_ASSERT(total + 1 == ua || total + 2 == ua);
	}
	size_t stotal = 0;
	for (size_t i = 0; i < msg_headers_count(&small); i++)
		stotal += msg_headers_at(&small, i)->len;
	MP_ASSERT(stotal <= 64);
	MP_ASSERT(small.too_big || msg_headers_count(&small) == msg_headers_count(&a));

	msg_headers_free(&a);
	msg_headers_free(&b);
	msg_headers_free(&small);
	return 0;
}
