/*
 * libFuzzer harness for mailauth/auth_results: the input as an incoming
 * Authentication-Results field (is it ours?), and as the comments and
 * property values of a header we write. Invariants: what we write ends in
 * CRLF, every line is at most 78 octets unless a single word is longer,
 * each continuation line starts with a tab, no bare CR or LF, no bytes
 * outside printable ASCII; and we always recognize it as ours.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth_results.h"
#include "panic.h"

static void
check_written(const char *h, size_t len)
{
	MP_ASSERT(len >= 2 && h[len - 2] == '\r' && h[len - 1] == '\n');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)h[i];
		if (c == '\r') {
			MP_ASSERT(i + 1 < len && h[i + 1] == '\n');
			MP_ASSERT(i + 2 == len || h[i + 2] == '\t');
		} else if (c == '\n') {
			MP_ASSERT(i > 0 && h[i - 1] == '\r');
		} else {
			MP_ASSERT(c == '\t' || (c >= 0x20 && c < 0x7f));
		}
	}
	MP_ASSERT(auth_results_is_ours(h, len, "mx.example.org"));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* whatever it says, the answer is a bool and nothing is read past size */
	char *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	(void)auth_results_is_ours(copy, size, "mx.example.org");
	free(copy);

	char *s = strndup((const char *)data, size);
	struct auth_results ar;
	size_t len;
	for (int comments = 0; comments < 2; comments++) {
		auth_results_init(&ar, "mx.example.org", comments);
		auth_results_method(&ar, "spf", "fail", s);
		auth_results_prop(&ar, "smtp.mailfrom", s);
		auth_results_method(&ar, "dkim", "pass", s);
		auth_results_prop(&ar, "header.d", s);
		auth_results_prop(&ar, "header.b", s);
		const char *h = auth_results_finish(&ar, &len);
		MP_ASSERT(len == strlen(h));
		check_written(h, len);
		auth_results_free(&ar);
	}
	free(s);
	return 0;
}
