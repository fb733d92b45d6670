/*
 * Fuzzes the whole server session: arbitrary client bytes, on any door,
 * split into arbitrary segments, with actions answered as the glue would
 * (TLS completes, AUTH checks, commits succeed or fail). The session must
 * never crash, leak, or send a reply that is not one CRLF-terminated line
 * per reply line.
 *
 * Input: byte 0 picks the door and the fate of actions; then segments,
 * each a length byte followed by that many bytes.
 */
#include <stdint.h>
#include <string.h>

#include "session_fixture.h"

static void
check_output(struct fixture *f)
{
	struct buf *out = smtp_server_output(f->s);
	/* Every reply line ends with CRLF and starts with three digits. */
	size_t start = 0;
	for (size_t i = 0; i + 1 < out->len; i++) {
		if (out->data[i] != '\r')
			continue;
		if (out->data[i + 1] != '\n')
			__builtin_trap();
		if (i - start < 3 || out->data[start] < '2' || out->data[start] > '5')
			__builtin_trap();
		start = i + 2;
	}
	if (start != out->len)
		__builtin_trap();
	buf_reset(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct fixture f;
	fixture_init(&f, (enum service)(data[0] % SVC_COUNT));
	bool fail_commits = data[0] & 0x10;
	struct buf pending;
	buf_init(&pending, 0);
	size_t i = 1;
	while (i < size && smtp_server_action(f.s) != SMTP_ACT_CLOSE) {
		size_t n = data[i++];
		if (n > size - i)
			n = size - i;
		buf_append(&pending, data + i, n);
		i += n;
		for (;;) {
			size_t used = smtp_server_feed(f.s, pending.data, pending.len);
			if (used > pending.len)
				__builtin_trap();
			buf_consume(&pending, used);
			check_output(&f);
			enum smtp_action act = smtp_server_action(f.s);
			if (act == SMTP_ACT_START_TLS) {
				smtp_server_tls_done(f.s, true, "TLSv1.3",
						     "TLS_AES_128_GCM_SHA256");
				continue;
			}
			if (act == SMTP_ACT_COMMIT && fail_commits) {
				smtp_server_commit_done(f.s, SMTP_COMMIT_IO_ERROR);
				f.spooling = false;
				continue;
			}
			if (fixture_settle(&f))
				continue;
			break;
		}
	}
	check_output(&f);
	buf_free(&pending);
	fixture_free(&f);
	return 0;
}
