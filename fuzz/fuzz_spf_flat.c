/*
 * libFuzzer harness for mailauth/spf_flat: the input's first line as an
 * SPF record, its other lines as the TXT records of every name looked up
 * (so includes and redirects recurse through them), every A lookup
 * answering 192.0.2.1 and every MX one mx.test; the lines also merged as
 * several records. Invariants: every result starts with "v=spf1", a merge
 * ends with one all or redirect= term, and the tail offset lies within the
 * record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "panic.h"
#include "spf_flat.h"

static char *lines[16];
static size_t nlines;

static enum ma_dns_rc
lookup(void *ctx, enum ma_rr type, const char *name, struct ma_dns_answer *out)
{
	(void)ctx;
	(void)name;
	if (type == MA_RR_A) {
		ma_dns_answer_add(out, "192.0.2.1", 0);
		return MA_DNS_OK;
	}
	if (type == MA_RR_MX) {
		ma_dns_answer_add(out, "mx.test", 10);
		return MA_DNS_OK;
	}
	if (type != MA_RR_TXT || nlines < 2)
		return MA_DNS_NXDOMAIN;
	for (size_t i = 1; i < nlines; i++)
		ma_dns_answer_add(out, lines[i], 0);
	return MA_DNS_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	char *text = strndup((const char *)data, size);
	nlines = 0;
	for (char *p = text; p && nlines < 16;) {
		lines[nlines++] = p;
		p = strchr(p, '\n');
		if (p)
			*p++ = '\0';
	}
	struct buf out;
	buf_init(&out, 0);
	spf_flat_merge((const char *const *)lines, nlines, &out);
	MP_ASSERT(strncmp(out.data, "v=spf1", 6) == 0);
	MP_ASSERT(spf_flat_tail_offset(out.data) < out.len);
	buf_reset(&out);
	struct ma_dns dns = {lookup, NULL};
	char why[256];
	unsigned left = 0;
	if (spf_flat_flatten(&dns, "d.test", lines[0], &out, &left, why, sizeof why) == 0)
		MP_ASSERT(strncmp(out.data, "v=spf1", 6) == 0);
	MP_ASSERT(spf_flat_tail_offset(lines[0]) <= strlen(lines[0]));
	(void)spf_flat_has_term(lines[0], "ip4:192.0.2.1");
	buf_free(&out);
	free(text);
	return 0;
}
