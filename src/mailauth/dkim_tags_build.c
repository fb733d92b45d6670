/*
 * dkim_tags_build: the text a signer writes: the DKIM-Signature field,
 * folded so no line passes 78 columns (RFC 5322 2.1.1), with b= last so
 * the text hashed is the field as sent up to "b="; and the DNS key record
 * with its zone-file form split into strings of at most 255 octets
 * (RFC 1035 3.3, RFC 6376 3.6.2.2).
 */
#include "dkim_tags.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "xmalloc.h"

#define LINE_MAX_COLS 78

/* The column of the end of out (from its last line start). */
static size_t
column(const struct buf *out)
{
	size_t i = out->len;
	while (i > 0 && out->data[i - 1] != '\n')
		i--;
	return out->len - i;
}

/* Appends a piece that must not be split, after a space or a fold. */
static void
put(struct buf *out, const char *piece, bool first)
{
	size_t n = strlen(piece);
	if (column(out) + 1 + n > LINE_MAX_COLS)
		buf_append_str(out, "\r\n\t");
	else if (!first)
		buf_append_str(out, " ");
	buf_append(out, piece, n);
}

void
dkim_sig_build(const struct dkim_sig_params *p, struct buf *out)
{
	char piece[320];
	struct buf h;
	buf_append_str(out, "DKIM-Signature:");
	put(out, "v=1;", false);
	snprintf(piece, sizeof piece, "a=%s;", dkim_alg_name(p->alg));
	put(out, piece, false);
	put(out, "c=relaxed/relaxed;", false);
	snprintf(piece, sizeof piece, "d=%s;", p->d);
	put(out, piece, false);
	snprintf(piece, sizeof piece, "s=%s;", p->s);
	put(out, piece, false);
	if (p->has_t) {
		snprintf(piece, sizeof piece, "t=%" PRId64 ";", p->t);
		put(out, piece, false);
	}
	/* h= may be long: it folds after a colon (FWS is allowed there). */
	buf_init(&h, 0);
	for (size_t i = 0; i < p->nh; i++) {
		buf_reset(&h);
		buf_printf(&h, "%s%s%s", i == 0 ? "h=" : "", p->h[i], i + 1 == p->nh ? ";" : ":");
		put(out, h.data, i != 0);
	}
	buf_free(&h);
	snprintf(piece, sizeof piece, "bh=%s;", p->bh);
	put(out, piece, false);
	put(out, "b=", false);
}

void
dkim_sig_add_b(struct buf *out, const char *b64)
{
	size_t n = strlen(b64);
	while (n > 0) {
		size_t col = column(out);
		size_t room = col < LINE_MAX_COLS ? LINE_MAX_COLS - col : 0;
		if (room < 8) { /* white space inside b= is ignored (3.5) */
			buf_append_str(out, "\r\n\t");
			continue;
		}
		size_t k = n < room ? n : room;
		buf_append(out, b64, k);
		b64 += k;
		n -= k;
	}
	buf_append_str(out, "\r\n");
}

void
dkim_key_record_text(enum dkim_key_type type, const unsigned char *pub, size_t pub_len,
		     struct buf *out)
{
	char *b64 = xmalloc(B64_ENCODED_SIZE(pub_len));
	b64_encode(pub, pub_len, b64);
	buf_printf(out, "v=DKIM1; k=%s; p=%s", type == DKIM_KEY_ED25519 ? "ed25519" : "rsa", b64);
	free(b64);
}

void
dkim_txt_quoted(const char *txt, struct buf *out)
{
	size_t n = strlen(txt);
	bool first = true;
	do {
		size_t k = n > 255 ? 255 : n;
		buf_printf(out, "%s\"%.*s\"", first ? "" : " ", (int)k, txt);
		txt += k;
		n -= k;
		first = false;
	} while (n > 0);
}
