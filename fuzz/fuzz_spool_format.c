/*
 * fuzz_spool_format: libFuzzer harness for the spool's codec (the files a
 * crash, a full disk or a hand edit may have damaged). The header decoder
 * must accept or refuse with a reason, never crash, leak or overflow;
 * what it accepts must keep the promises delivery relies on. The same
 * bytes go through the .state and .retry decoders.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spool_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_header(const char *text, size_t size)
{
	struct spool_header h;
	const char *why = NULL;
	if (spool_header_decode(text, size, &h, &why) < 0) {
		if (why == NULL || h.from != NULL || h.rcpts != NULL)
			abort();
		return;
	}
	if (why != NULL || !spool_id_valid(h.id) || h.length > size || h.length < 2 ||
	    text[h.length - 1] != '\n' || text[h.length - 2] != '\n' || h.from == NULL ||
	    strlen(h.from) > SMTP_PATH_MAX)
		abort();
	for (size_t i = 0; i < h.nrcpts; i++)
		if (h.rcpts[i].addr == NULL || h.rcpts[i].addr[0] == '\0')
			abort();
	spool_header_free(&h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	check_header(text, size);

	char **done = NULL;
	size_t n = 0;
	spool_state_decode(text, size, &done, &n);
	for (size_t i = 0; i < n; i++)
		free(done[i]);
	free(done);

	struct spool_retry r;
	memset(&r, 0, sizeof r);
	if (spool_retry_decode(text, size, &r) == 0 &&
	    memchr(r.last_error, '\0', sizeof r.last_error) == NULL)
		abort();
	return 0;
}
