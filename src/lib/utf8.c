/*
 * utf8: RFC 3629 sequence lengths (see the header).
 */
#include "utf8.h"

static bool
in_range(const unsigned char *p, size_t i, size_t n, unsigned lo, unsigned hi)
{
	return i < n && p[i] >= lo && p[i] <= hi;
}

/* The second-byte ranges are RFC 3629's table (section 4): they exclude
 * overlong forms, the surrogates (ED A0..BF) and code points past U+10FFFF. */
size_t
utf8_seq_len(const unsigned char *p, size_t n)
{
	unsigned lo = 0x80, hi = 0xbf;
	size_t len;

	if (n == 0)
		return 0;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (!in_range(p, 1, n, lo, hi))
		return 0;
	for (size_t i = 2; i < len; i++)
		if (!in_range(p, i, n, 0x80, 0xbf))
			return 0;
	return len;
}

size_t
utf8_char_len(const unsigned char *p, size_t n)
{
	if (n == 0)
		return 0;
	return p[0] < 0x80 ? 1 : utf8_seq_len(p, n);
}

size_t
utf8_decode(const unsigned char *p, size_t n, uint32_t *cp_r)
{
	size_t len = utf8_char_len(p, n);
	if (len == 0)
		return 0;
	static const unsigned char lead_mask[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	uint32_t cp = p[0] & lead_mask[len];
	for (size_t i = 1; i < len; i++)
		cp = cp << 6 | (p[i] & 0x3f);
	*cp_r = cp;
	return len;
}

bool
utf8_valid(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t len = utf8_char_len(p + i, n - i);
		if (len == 0)
			return false;
		i += len;
	}
	return true;
}
