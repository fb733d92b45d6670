/*
 * libFuzzer harness for mailauth/tls_policy: the input as an MTA-STS and
 * a TLS-RPT record. Invariants: an accepted id is 1 to 32 letters and
 * digits; an accepted rua is not empty; a refusal always says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "panic.h"
#include "tls_policy.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *txt = strndup((const char *)data, size);
	char id[64], rua[1100], why[512], v[256];
	if (mta_sts_record_parse(txt, id, sizeof id, why, sizeof why) == 0) {
		size_t n = strlen(id);
		MP_ASSERT(n >= 1 && n <= 32);
		MP_ASSERT(
		    strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") ==
		    n);
	} else {
		MP_ASSERT(why[0] != '\0');
	}
	if (tlsrpt_record_parse(txt, rua, sizeof rua, why, sizeof why) == 0)
		MP_ASSERT(rua[0] != '\0');
	else
		MP_ASSERT(why[0] != '\0');
	if (tls_policy_tag(txt, "id", v, sizeof v))
		MP_ASSERT(strlen(v) < sizeof v);
	free(txt);
	return 0;
}
