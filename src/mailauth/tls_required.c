/* tls_required: see tls_required.h. */
#include "tls_required.h"

#include "msg_headers.h"
#include "str.h"

/* The value with surrounding white space (and folding) removed is "No". */
static bool
value_is_no(const char *v, size_t n)
{
	while (n > 0 && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')) {
		v++;
		n--;
	}
	while (n > 0 &&
	       (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	return strv_eq_ci((struct strv){v, n}, "no");
}

bool
tls_required_no(const char *msg, size_t len)
{
	struct msg_headers h;
	bool done = false, no = false, other = false;
	/* 256 KiB of fields is more than any real header section. */
	msg_headers_init(&h, 256 * 1024);
	msg_headers_feed(&h, msg, len, &done);
	for (size_t i = 0; i < msg_headers_count(&h); i++) {
		const struct msg_header *f = msg_headers_at(&h, i);
		if (!msg_header_is(f, "TLS-Required"))
			continue;
		size_t n;
		const char *v = msg_header_value(f, &n);
		if (value_is_no(v, n))
			no = true;
		else
			other = true;
	}
	msg_headers_free(&h);
	return no && !other;
}
