/*
 * libFuzzer harness for mailauth/dns_wire: the input as a DNS answer.
 * Invariants: what is stored is within bounds and counted, a refusal
 * always says why, every stored record formats into its buffer.
 */
#include <stdint.h>
#include <string.h>

#include "dns_wire.h"
#include "panic.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_wire_header h;
	struct dns_tlsa t[4];
	size_t n = 99, total = 99;
	char why[200], text[120];
	if (dns_wire_header(data, size, &h) == 0)
		MP_ASSERT(size >= 12 && h.rcode < 16);
	if (dns_wire_tlsa(data, size, t, 4, &n, &total, why, sizeof why) == 0) {
		MP_ASSERT(n <= 4 && n <= total);
		for (size_t i = 0; i < n; i++) {
			MP_ASSERT(t[i].len >= 1 && t[i].len <= DNS_TLSA_DATA_MAX);
			dns_tlsa_format(&t[i], text, sizeof text);
			MP_ASSERT(strlen(text) < sizeof text);
			(void)dns_tlsa_usable(&t[i]);
		}
	} else {
		MP_ASSERT(why[0] != '\0');
	}
	return 0;
}
