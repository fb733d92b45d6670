/*
 * libFuzzer harness for proxy_header: any first bytes of a connection.
 * Invariants: a header is never longer than the input or the cap; every
 * shorter prefix of a whole header asks for more (the server waits and
 * never takes a header cut short); a parsed client address is an address
 * of its family; a failure says why.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "panic.h"
#include "proxy_header.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_header h;
	const char *why;
	int n = proxy_header_parse(data, size, &h, &why);
	MP_ASSERT(n <= (int)size && n <= PROXY_HEADER_MAX);
	if (n < 0) {
		MP_ASSERT(why != NULL && why[0] != '\0');
		return 0;
	}
	if (n == 0)
		return 0;
	MP_ASSERT(h.version == 1 || h.version == 2);
	if (!h.local) {
		unsigned char bin[16];
		MP_ASSERT(h.family == AF_INET || h.family == AF_INET6);
		MP_ASSERT(inet_pton(h.family, h.src, bin) == 1);
		MP_ASSERT(inet_pton(h.family, h.dst, bin) == 1);
	}
	for (int k = 0; k < n; k++) {
		struct proxy_header p;
		MP_ASSERT(proxy_header_parse(data, (size_t)k, &p, &why) == 0);
	}
	return 0;
}
