/*
 * libFuzzer harness for tls_required_no: any message. Invariants: no
 * crash or leak; a yes needs a "TLS-Required" name in the input and an
 * "no" after it; a field put in front that is not TLS-Required changes
 * nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "panic.h"
#include "tls_required.h"

static bool
has_ci(const char *p, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= n; i++)
		if (strncasecmp(p + i, needle, k) == 0)
			return true;
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	bool yes = tls_required_no(p, size);
	if (yes)
		MP_ASSERT(has_ci(p, size, "tls-required") && has_ci(p, size, "no"));
	static const char pre[] = "X-Other: no\r\n";
	char *q = malloc(sizeof pre - 1 + size + 1);
	memcpy(q, pre, sizeof pre - 1);
	memcpy(q + sizeof pre - 1, p, size);
	/* A message that starts with a continuation line would join it to the
	 * new field: only compare when it does not. */
	if (size == 0 || (p[0] != ' ' && p[0] != '\t' && p[0] != '\r' && p[0] != '\n'))
		MP_ASSERT(tls_required_no(q, sizeof pre - 1 + size) == yes);
	free(q);
	return 0;
}
