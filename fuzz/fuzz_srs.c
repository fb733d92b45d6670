/*
 * fuzz_srs: libFuzzer harness for SRS addresses. srs_reverse reads the
 * local part of a RCPT TO from anyone on the internet; srs_forward reads a
 * MAIL FROM. Neither may crash or overflow, a reverse may only succeed on
 * a hash made with the key, and what srs_forward makes must reverse to
 * where it came from (or, for SRS1, to the first forwarder's address).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_addr.h"
#include "srs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct srs_key key = {(const unsigned char *)"fuzz-secret", 11};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[600], out[700], back[700];
	if (size >= sizeof in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	int64_t now = 1780000000 + (int64_t)(size % 40) * 86400;
	srs_reverse(&key, in, now, out, sizeof out);
	if (memchr(out, '\0', sizeof out) == NULL)
		abort();
	const char *at = strrchr(in, '@');
	if (at == NULL || strchr(in, '@') != at || at == in || !at[1] || strchr(in, '=') != NULL)
		return 0;
	/* A plain sender: forwarded, then taken back, gives the sender again. */
	if (srs_forward(&key, in, "fwd.test", now, out, sizeof out) != SRS_OK)
		return 0;
	char local[SMTP_LOCAL_MAX + 1];
	const char *oat = strrchr(out, '@');
	if (oat == NULL || (size_t)(oat - out) > SMTP_LOCAL_MAX)
		abort();
	memcpy(local, out, (size_t)(oat - out));
	local[oat - out] = '\0';
	enum srs_result r = srs_reverse(&key, local, now, back, sizeof back);
	if (r != SRS_OK)
		abort();
	/* The domain is compared without case: the hash covers lower case. */
	if (strcmp(back, in) != 0)
		abort();
	return 0;
}
