/* client_key: see client_key.h for why IPv6 clients count per network. */
#include "client_key.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "str.h"

/* ::ffff:0:0/96, RFC 4291 2.5.5.2. */
static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

char *
client_key(const char *addr, unsigned v6_prefix, char *out, size_t size)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	if (strchr(addr, ':') == NULL || inet_pton(AF_INET6, addr, a) != 1) {
		str_copy(out, size, addr); /* IPv4, or not an address at all */
		return out;
	}
	if (memcmp(a, v4_mapped, sizeof v4_mapped) == 0) {
		inet_ntop(AF_INET, a + 12, text, sizeof text);
		str_copy(out, size, text);
		return out;
	}
	if (v6_prefix == 0 || v6_prefix > 128)
		v6_prefix = 128;
	for (unsigned bit = v6_prefix; bit < 128; bit++)
		a[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
	inet_ntop(AF_INET6, a, text, sizeof text);
	if (v6_prefix == 128)
		str_copy(out, size, text);
	else if (snprintf(out, size, "%s/%u", text, v6_prefix) >= (int)size && size > 0)
		out[size - 1] = '\0';
	return out;
}
