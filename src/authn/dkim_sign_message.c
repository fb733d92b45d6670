/* dkim_sign_message: dkim_sign's streaming signer over a message in memory. */
#include "dkim_sign.h"

#include <stdio.h>

int
dkim_sign_message(const struct dkim_keyset *ks, int64_t now, const char *msg, size_t len,
		  struct buf *out, char *why, size_t why_size)
{
	struct msg_headers h;
	bool done = false;
	msg_headers_init(&h, 0);
	size_t used = msg_headers_feed(&h, msg, len, &done);
	if (!done || h.too_big) {
		msg_headers_free(&h);
		snprintf(why, why_size, "the message has no complete header section");
		return -1;
	}
	struct dkim_signer *s = dkim_signer_new(ks, now);
	dkim_signer_headers(s, &h);
	dkim_signer_body(s, msg + used, len - used);
	int n = dkim_signer_finish(s, out, why, why_size);
	dkim_signer_free(&s);
	msg_headers_free(&h);
	return n;
}
