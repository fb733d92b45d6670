/*
 * b64: base64 (RFC 4648) for SASL exchanges and MIME. Kept here rather than
 * taken from libcrypto so the protocol core links without OpenSSL.
 */
#ifndef MP_B64_H
#define MP_B64_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes needed to encode n bytes, including the NUL. */
#define B64_ENCODED_SIZE(n) ((((n) + 2) / 3) * 4 + 1)

/* Encode n bytes of in into out (B64_ENCODED_SIZE(n) bytes); returns length. */
size_t b64_encode(const void *in, size_t n, char *out);
/*
 * Decode len characters into out[out_size]. Strict: only the standard
 * alphabet, correct '=' padding, no white space. Returns false on bad input
 * or when the result does not fit; *out_len_r is the decoded length.
 */
bool b64_decode(const char *in, size_t len, void *out, size_t out_size, size_t *out_len_r);

#endif
