/*
 * libFuzzer harness for dkim_tags: the input as a tag list, as a
 * DKIM-Signature value, as a whole field for b= blanking and as a key
 * record. Invariants: every tag's name and value lie inside the input and
 * in order; a signature that parses has its required parts and, written
 * again by the builder, parses back the same; blanking only removes bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "dkim_tags.h"
#include "panic.h"

static void
check_list(const char *p, size_t n)
{
	struct dkim_tag_list l;
	char why[128];
	if (dkim_tags_parse(p, n, &l, why, sizeof why) < 0) {
		MP_ASSERT(why[0] != '\0');
		return;
	}
	size_t prev = 0;
	for (size_t i = 0; i < l.n; i++) {
		const struct dkim_tag *t = &l.t[i];
		MP_ASSERT(t->name.p >= p && t->name.p + t->name.len <= p + n && t->name.len > 0);
		MP_ASSERT(t->value.p >= p && t->value.p + t->value.len <= p + n);
		MP_ASSERT(t->eq_end <= t->spec_end && t->spec_end <= n && t->eq_end >= prev);
		MP_ASSERT(dkim_tags_get(&l, "x") == NULL || dkim_tags_get(&l, "x")->p != NULL);
		prev = t->spec_end;
	}
}

static void
check_sig(const char *p, size_t n)
{
	struct dkim_sig sig, again;
	char why[128];
	if (dkim_sig_parse(p, n, &sig, why, sizeof why) < 0)
		return;
	MP_ASSERT(sig.nh > 0 && sig.b_len > 0 && sig.bh_len == dkim_alg_hash_len(sig.alg));
	MP_ASSERT(sig.d[0] != '\0' && sig.s[0] != '\0' && strchr(sig.i, '@') != NULL);
	if (sig.alg == DKIM_RSA_SHA1)
		return; /* the builder writes SHA-256 signatures only */
	struct dkim_sig_params prm = {.alg = sig.alg,
				      .d = sig.d,
				      .s = sig.s,
				      .h = sig.hv,
				      .nh = sig.nh,
				      .has_t = sig.has_t,
				      .t = sig.t};
	char bh[64];
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	/* the body hash as base64, by hand: 32 bytes -> 43 chars + '=' */
	size_t k = 0;
	for (size_t i = 0; i < 30; i += 3) {
		uint32_t v =
		    (uint32_t)sig.bh[i] << 16 | (uint32_t)sig.bh[i + 1] << 8 | sig.bh[i + 2];
		for (int s = 18; s >= 0; s -= 6)
			bh[k++] = b64[(v >> s) & 63];
	}
	uint32_t v = (uint32_t)sig.bh[30] << 16 | (uint32_t)sig.bh[31] << 8;
	bh[k++] = b64[(v >> 18) & 63];
	bh[k++] = b64[(v >> 12) & 63];
	bh[k++] = b64[(v >> 6) & 63];
	bh[k++] = '=';
	bh[k] = '\0';
	prm.bh = bh;
	struct buf out;
	buf_init(&out, 0);
	dkim_sig_build(&prm, &out);
	dkim_sig_add_b(&out, "AAAA");
	const char *val = strchr(out.data, ':') + 1;
	MP_ASSERT(
	    dkim_sig_parse(val, out.len - (size_t)(val - out.data), &again, why, sizeof why) == 0);
	MP_ASSERT(again.alg == sig.alg && again.nh == sig.nh && strcmp(again.d, sig.d) == 0 &&
		  strcmp(again.s, sig.s) == 0 && memcmp(again.bh, sig.bh, 32) == 0);
	for (size_t i = 0; i < sig.nh; i++)
		MP_ASSERT(strcmp(again.hv[i], sig.hv[i]) == 0);
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	check_list(p, size);
	check_sig(p, size);

	struct buf blank;
	buf_init(&blank, 0);
	if (dkim_sig_blank_b(p, size, &blank))
		MP_ASSERT(blank.len < size || (blank.len == size && size == 0) ||
			  blank.len <= size);
	buf_free(&blank);

	struct dkim_key_record k;
	char why[128];
	if (dkim_key_parse(p, size, &k, why, sizeof why) == 0) {
		MP_ASSERT(k.p_len <= sizeof k.p && k.revoked == (k.p_len == 0));
		MP_ASSERT(k.type != DKIM_KEY_ED25519 || k.revoked || k.p_len == 32);
	}
	return 0;
}
