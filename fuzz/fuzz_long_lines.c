/*
 * libFuzzer harness for long_lines: whatever the message, a re-encoded
 * result has no line over 998 octets and no bare CR or LF that the input
 * did not have, an unchanged one had no long line, and nothing crashes or
 * overruns (ASan). Long lines are cheap to reach: the first byte, when odd,
 * repeats the second byte to make a 1,000-octet run in the middle.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "long_lines.h"
#include "panic.h"

static bool
has_bare_cr_lf(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			i++;
		else if (p[i] == '\r' || p[i] == '\n')
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t run = (data[0] & 1) ? 1000 : 0, half = (size - 2) / 2;
	char *msg = malloc(size - 2 + run + 1);
	memcpy(msg, data + 2, half);
	memset(msg + half, data[1], run);
	memcpy(msg + half + run, data + 2 + half, size - 2 - half);
	size_t len = size - 2 + run;

	struct buf out;
	buf_init(&out, 16 * (len + 64));
	enum long_lines_rc rc = long_lines_fix((struct strv){msg, len}, &out);
	if (rc == LL_UNCHANGED)
		MP_ASSERT(!long_lines_present(msg, len));
	if (rc == LL_REENCODED) {
		MP_ASSERT(!long_lines_present(out.data, out.len));
		if (!has_bare_cr_lf(msg, len))
			MP_ASSERT(!has_bare_cr_lf(out.data, out.len));
	}
	buf_free(&out);
	free(msg);
	return 0;
}
