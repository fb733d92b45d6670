/*
 * libFuzzer harness for core/message: the input as an address list, as a
 * message for sendmail -t (recipients, From, prepare) and as the parts of
 * a message to build (subject, display name, text, attachment).
 * Invariants: parsed addresses are non-empty and unfolded; a prepared or
 * built message has CRLF-only line ends; prepare is idempotent (a second
 * pass changes nothing); a built message is 7-bit with lines of at most
 * 998 octets and encoded-words of at most 75; a boundary that
 * message_boundary_ok accepts never makes the build fail for a collision.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "panic.h"

static void
check_crlf(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r')
			MP_ASSERT(i + 1 < len && p[i + 1] == '\n');
		if (p[i] == '\n')
			MP_ASSERT(i > 0 && p[i - 1] == '\r');
	}
}

static void
check_addrs(const struct message_addrs *l)
{
	for (size_t i = 0; i < l->n; i++) {
		MP_ASSERT(l->v[i].addr[0] != '\0');
		MP_ASSERT(strpbrk(l->v[i].addr, "\r\n") == NULL);
		MP_ASSERT(strpbrk(l->v[i].name, "\r\n") == NULL);
	}
}

static void
fuzz_sendmail(struct strv in)
{
	struct message_addrs l = {0};
	struct message_prep prep = {"Mon, 1 Jan 2024 00:00:00 +0000", "<x@y>", "root@host", true};
	struct message_info info, info2;
	struct buf a, b;
	char err[256], *from = NULL;

	if (message_parse_addresses(in, &l, err, sizeof err) == 0)
		check_addrs(&l);
	else
		MP_ASSERT(l.n == 0);
	message_addrs_free(&l);
	if (message_recipients(in, &l, err, sizeof err) == 0)
		check_addrs(&l);
	message_addrs_free(&l);
	if (message_from_address(in, &from, err, sizeof err) == 0)
		MP_ASSERT(from != NULL && from[0] != '\0');
	free(from);

	MP_ASSERT(message_dot_end(in, false, NULL) <= in.len);
	MP_ASSERT(message_dot_end(in, true, NULL) == in.len);

	buf_init(&a, 0);
	buf_init(&b, 0);
	MP_ASSERT(message_prepare(in, &prep, &a, &info, err, sizeof err) == 0);
	MP_ASSERT(info.size == a.len);
	check_crlf(a.data ? a.data : "", a.len);
	MP_ASSERT(message_prepare((struct strv){a.data ? a.data : "", a.len}, &prep, &b, &info2,
				  err, sizeof err) == 0);
	MP_ASSERT(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
	MP_ASSERT(!info2.added_date && !info2.added_message_id && !info2.added_from);
	buf_free(&a);
	buf_free(&b);
}

/* 8-bit only where has_8bit says (an address written raw, RFC 6532) */
static void
check_built(const struct buf *b, bool has_8bit)
{
	size_t line = 0;
	bool seen = false;

	check_crlf(b->data, b->len);
	for (size_t i = 0; i < b->len; i++) {
		seen |= (unsigned char)b->data[i] >= 0x80;
		line = b->data[i] == '\r' || b->data[i] == '\n' ? 0 : line + 1;
		MP_ASSERT(line <= 998);
	}
	/* encoded-words in the header (the text may hold anything) */
	const char *body = strstr(b->data, "\r\n\r\n");
	for (const char *w = strstr(b->data, "=?UTF-8?B?"); w && (!body || w < body);
	     w = strstr(w + 1, "=?UTF-8?B?")) {
		const char *end = strstr(w + 10, "?=");
		MP_ASSERT(end != NULL && end + 2 - w <= 75);
	}
	MP_ASSERT(seen == has_8bit);
}

static void
fuzz_build(const uint8_t *data, size_t size)
{
	/* the first two bytes cut the rest into subject, name and text */
	if (size < 2)
		return;
	size_t rest = size - 2, a = data[0] % (rest + 1), n = data[1] % (rest - a + 1);
	char *subject = strndup((const char *)data + 2, a);
	char *name = strndup((const char *)data + 2 + a, n);
	size_t from_len = strlen(name) + 32;
	char *from = malloc(from_len);
	const char *to[] = {"someone@example.com"};
	struct message_attachment att = {"f.bin", NULL, data, size};
	struct message_spec spec = {
	    .from = from,
	    .to = to,
	    .to_count = 1,
	    .subject = subject,
	    .date = "D",
	    .message_id = "<m@x>",
	    .body = (const char *)data + 2 + a + n,
	    .body_len = rest - a - n,
	    .attachments = &att,
	    .attachment_count = data[0] & 1,
	    .boundary = "=_fuzz",
	};
	struct buf b;
	char err[256];

	snprintf(from, from_len, "%s <a@example.org>", name);
	buf_init(&b, 0);
	struct message_info info;
	bool ok = message_boundary_ok(&spec);
	if (message_build(&spec, &b, &info, err, sizeof err) == 0)
		check_built(&b, info.has_8bit);
	else if (ok)
		MP_ASSERT(strncmp(err, "the MIME boundary", 17) != 0);
	buf_reset(&b);
	if (message_add_header(&b, "Subject", subject, err, sizeof err) == 0)
		check_built(&b, false);
	buf_free(&b);
	free(subject);
	free(name);
	free(from);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_sendmail((struct strv){(const char *)data, size});
	fuzz_build(data, size);
	return 0;
}
