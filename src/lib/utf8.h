/*
 * utf8: the one UTF-8 decoder (RFC 3629) everything that checks or
 * escapes text uses: SMTPUTF8 addresses, JSON and terminal output,
 * encoded headers, bounces.
 */
#ifndef MP_UTF8_H
#define MP_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Length (2 to 4) of the valid multi-byte sequence at p[0..n), or 0: not
 * a lead byte, cut short, an overlong form, a UTF-16 surrogate or a code
 * point past U+10FFFF. ASCII is not a multi-byte sequence (0).
 */
size_t utf8_seq_len(const unsigned char *p, size_t n);

/* Length of the character at p[0..n): 1 for ASCII, 2-4, or 0 if invalid. */
size_t utf8_char_len(const unsigned char *p, size_t n);

/* As utf8_char_len, and the code point in *cp_r when valid. */
size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp_r);

/* Is p[0..n) wholly valid UTF-8? */
bool utf8_valid(const unsigned char *p, size_t n);

#endif
