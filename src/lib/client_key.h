/*
 * client_key: the name under which per-client limits count a peer address.
 *
 * An IPv4 client is its address. An IPv6 client is the network of the
 * configured prefix length around its address ("2001:db8:1:2::/64"): a
 * single subscriber usually holds a whole /64 (RFC 6177) and can pick any
 * address in it for each connection, so counting by full address lets one
 * client look like 2^64 of them. An IPv4-mapped IPv6 address
 * (::ffff:192.0.2.1) is the IPv4 client it stands for. Pure: text in, text
 * out, no sockets.
 */
#ifndef MP_CLIENT_KEY_H
#define MP_CLIENT_KEY_H

#include <stddef.h>

/* Room for the longest key: a full IPv6 address plus "/128". */
#define CLIENT_KEY_SIZE 64

/*
 * Write the key of addr (a numeric IPv4 or IPv6 address, as inet_ntop
 * writes it) to out. v6_prefix is 1..128; 128 keys on the whole address.
 * Text that is not an address is copied as it is (truncated to size - 1),
 * so it still counts as one client. Returns out.
 */
char *client_key(const char *addr, unsigned v6_prefix, char *out, size_t size);

#endif
