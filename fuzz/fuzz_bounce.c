/*
 * libFuzzer harness for core/bounce: the input is cut into a recipient
 * address, a remote reply, a reason of our own, an ORCPT and the original
 * message; the first byte picks the action, RET and the size threshold.
 * Invariants: a notification that is built has CRLF-only line ends, no
 * bare CR or LF, no NUL, no line over 998 octets, exactly the expected
 * number of boundary lines, and a size that info reports; on any error
 * out is left as it was.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "panic.h"

#define BOUNDARY "=_fuzz"

static void
check_output(const char *p, size_t n, const struct bounce_info *info)
{
	size_t col = 0, delims = 0;

	MP_ASSERT(n == info->size && n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n');
	for (size_t i = 0; i < n; i++) {
		MP_ASSERT(p[i] != '\0');
		if (p[i] == '\r')
			MP_ASSERT(i + 1 < n && p[i + 1] == '\n');
		if (p[i] == '\n')
			MP_ASSERT(i > 0 && p[i - 1] == '\r');
		col = p[i] == '\r' || p[i] == '\n' ? 0 : col + 1;
		MP_ASSERT(col <= 998);
		if ((i == 0 || p[i - 1] == '\n') && n - i >= 8 &&
		    memcmp(p + i, "--" BOUNDARY, 8) == 0)
			delims++;
	}
	MP_ASSERT(delims == (info->returned == BOUNCE_RETURNED_NONE ? 3u : 4u));
}

/* The next piece of the input: a length byte, then that many bytes (NUL-terminated copy). */
static char *
take(const uint8_t **data, size_t *size)
{
	size_t n = 0;

	if (*size > 0) {
		n = **data;
		(*data)++;
		(*size)--;
	}
	if (n > *size)
		n = *size;
	char *s = strndup((const char *)*data, n);
	*data += n;
	*size -= n;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	data++;
	size--;
	char *addr = take(&data, &size);
	char *reply = take(&data, &size);
	char *reason = take(&data, &size);
	char *orcpt = take(&data, &size);
	struct bounce_rcpt r[2] = {
	    {.addr = addr,
	     .orcpt = (flags & 8) ? orcpt : NULL,
	     .action = (flags & 1) ? BOUNCE_DELAYED : BOUNCE_FAILED,
	     .remote_mta = "mx.example.net",
	     .reply = (flags & 16) ? NULL : reply,
	     .reason = reason,
	     .retry_until = "Sat, 6 Jan 2024 00:00:00 +0000"},
	    {.addr = "x@example.org", .action = BOUNCE_FAILED, .reply = reply},
	};
	struct bounce_spec s = {
	    .hostname = "mail.example.com",
	    .sender = (flags & 32) ? addr : "ann@example.com",
	    .envid = orcpt,
	    .date = "Mon, 1 Jan 2024 00:06:00 +0000",
	    .message_id = "<dsn@mail.example.com>",
	    .boundary = BOUNDARY,
	    .rcpts = r,
	    .rcpt_count = (flags & 64) ? 2 : 1,
	    .original = {(const char *)data, size},
	    .ret = (flags & 2) ? BOUNCE_RET_HDRS : BOUNCE_RET_FULL,
	    .full_max = (flags & 4) ? size / 2 : BOUNCE_FULL_MAX_DEFAULT,
	};
	struct bounce_info info;
	struct buf b;
	char err[256];

	buf_init(&b, (flags & 128) ? 2000 : 0);
	buf_append_str(&b, "x");
	enum bounce_result res = bounce_build(&s, &b, &info, err, sizeof err);
	if (res == BOUNCE_OK)
		check_output(b.data + 1, b.len - 1, &info);
	else
		MP_ASSERT(b.len == 1 && res >= BOUNCE_ERR_FULL && res <= BOUNCE_ERR_INPUT);
	buf_free(&b);
	free(addr);
	free(reply);
	free(reason);
	free(orcpt);
	return 0;
}
