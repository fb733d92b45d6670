/*
 * libFuzzer harness for smtp_data, differential. The first byte picks a
 * split point and the rest is the DATA stream: decoding it whole, in two
 * parts at that point, and byte by byte must give the same output, flags,
 * size, result and consumed count (the decoder's split invariance, which
 * RFC 5321 4.5.2 framing relies on). Each call gets an output buffer of
 * exactly len + 2 bytes, so ASan sees any overrun of the contract. The BDAT
 * scanner is checked the same way, and the encoder by decoding what it
 * produced: its output must never contain an early terminator.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"
#include "panic.h"

struct result {
	enum parse_rc rc;
	char *out;
	size_t out_len, consumed;
	unsigned flags;
	uint64_t size;
};

/* Decode in[0..len) in pieces: first bytes, then step bytes at a time. */
static void
decode(const char *in, size_t len, size_t first, size_t step, struct result *r)
{
	struct smtp_data d;
	size_t pos = 0;
	bool first_call = true;

	smtp_data_init(&d);
	r->out = malloc(len + 2);
	r->out_len = r->consumed = 0;
	r->rc = PARSE_MORE;
	while (r->rc == PARSE_MORE) {
		size_t n = first_call ? first : step, out_len, consumed;
		if (n > len - pos)
			n = len - pos;
		char *out = malloc(n + 2);
		r->rc = smtp_data_decode(&d, in + pos, n, out, &out_len, &consumed);
		MP_ASSERT(out_len <= n + 2 && consumed <= n);
		MP_ASSERT(r->rc == PARSE_DONE || consumed == n);
		MP_ASSERT(r->out_len + out_len <= len + 2);
		memcpy(r->out + r->out_len, out, out_len);
		free(out);
		r->out_len += out_len;
		r->consumed += consumed;
		pos += n;
		first_call = false;
		if (pos == len)
			break;
	}
	r->flags = d.flags;
	r->size = d.size;
	MP_ASSERT(r->size == r->out_len);
}

static void
same(const struct result *a, const struct result *b)
{
	MP_ASSERT(a->rc == b->rc && a->out_len == b->out_len && a->consumed == b->consumed);
	MP_ASSERT(a->flags == b->flags && a->size == b->size);
	MP_ASSERT(memcmp(a->out, b->out, a->out_len) == 0);
}

static void
check_scan(const char *in, size_t len, size_t split)
{
	struct smtp_data a, b;

	smtp_data_init(&a);
	smtp_data_init(&b);
	smtp_data_scan(&a, in, len);
	smtp_data_scan(&b, in, split);
	smtp_data_scan(&b, in + split, len - split);
	smtp_data_scan_end(&a);
	smtp_data_scan_end(&b);
	MP_ASSERT(a.flags == b.flags && a.size == len && b.size == len);
}

/* The encoder's output, with CRLF "." CRLF after it, ends exactly at the end. */
static void
check_stuff(const char *in, size_t len, size_t split)
{
	char *wire = malloc(2 * len + 5);
	bool bol = true;
	size_t n = smtp_data_stuff(in, split, &bol, wire);
	n += smtp_data_stuff(in + split, len - split, &bol, wire + n);
	MP_ASSERT(n <= 2 * len);
	memcpy(wire + n, "\r\n.\r\n", 5);
	struct result r;
	decode(wire, n + 5, n + 5, n + 5, &r);
	MP_ASSERT(r.rc == PARSE_DONE && r.consumed == n + 5);
	if (r.flags == 0) /* CRLF lines only: the message comes back as it was */
		MP_ASSERT(r.out_len == len + 2 && memcmp(r.out, in, len) == 0);
	free(r.out);
	free(wire);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *in = (const char *)data + 1;
	size_t len = size - 1, split = len ? data[0] % (len + 1) : 0;
	struct result whole, two, bytes;

	decode(in, len, len, len, &whole);
	decode(in, len, split, len, &two);
	same(&whole, &two);
	if (len <= 4096) {
		decode(in, len, 1, 1, &bytes);
		same(&whole, &bytes);
		free(bytes.out);
	}
	free(whole.out);
	free(two.out);
	check_scan(in, len, split);
	check_stuff(in, len, split);
	return 0;
}
