/*
 * libFuzzer harness for smtp_addr: the whole input as a path (null allowed
 * or not) and as a bare mailbox, with and without utf8 (RFC 6531).
 * Invariants: end and field lengths respect RFC 5321 4.5.3.1, the
 * formatted address fits and has the expected length, utf8 only ever
 * widens what is accepted, a path's mailbox parses on its own, and a
 * failure leaves an empty result.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "smtp_addr.h"
#include "panic.h"

static void
check_ok(const struct smtp_addr *a)
{
	char out[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 2];
	size_t ll = strlen(a->local), dl = strlen(a->domain);

	MP_ASSERT(ll <= SMTP_LOCAL_MAX && dl <= SMTP_DOMAIN_MAX);
	MP_ASSERT(a->is_null ? ll == 0 && dl == 0 : ll > 0 && dl > 0);
	smtp_addr_format(a, out, sizeof out);
	MP_ASSERT(strlen(out) == (a->is_null ? 0 : ll + 1 + dl));
}

static void
check_failed(const struct smtp_addr *a, enum addr_err e)
{
	MP_ASSERT(!a->is_null && a->local[0] == '\0' && a->domain[0] == '\0');
	MP_ASSERT(smtp_addr_err_text(e) != NULL);
}

static void
check_path(struct strv s, bool allow_null)
{
	struct smtp_addr a8, a7, m;
	size_t end8, end7;
	enum addr_err e8 = smtp_addr_parse_path(s, allow_null, true, &a8, &end8);
	enum addr_err e7 = smtp_addr_parse_path(s, allow_null, false, &a7, &end7);

	if (e7 == ADDR_OK) {
		/* utf8 only adds: what parses without it parses the same with it */
		MP_ASSERT(e8 == ADDR_OK && end8 == end7 && memcmp(&a7, &a8, sizeof a7) == 0);
	}
	if (e8 != ADDR_OK) {
		check_failed(&a8, e8);
		MP_ASSERT(end8 == 0);
		return;
	}
	check_ok(&a8);
	MP_ASSERT(end8 >= 2 && end8 <= s.len && end8 <= SMTP_PATH_MAX);
	MP_ASSERT(s.p[0] == '<' && s.p[end8 - 1] == '>');
	if (a8.is_null)
		return;
	/* the mailbox inside a path is a valid mailbox by itself */
	char mb[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 2];
	smtp_addr_format(&a8, mb, sizeof mb);
	MP_ASSERT(smtp_addr_parse_mailbox(strv_from(mb), true, &m) == ADDR_OK);
	MP_ASSERT(strcmp(m.local, a8.local) == 0 && strcmp(m.domain, a8.domain) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strv s = {(const char *)data, size};
	struct smtp_addr a8, a7;

	check_path(s, true);
	check_path(s, false);

	enum addr_err e8 = smtp_addr_parse_mailbox(s, true, &a8);
	enum addr_err e7 = smtp_addr_parse_mailbox(s, false, &a7);
	if (e7 == ADDR_OK)
		MP_ASSERT(e8 == ADDR_OK && memcmp(&a7, &a8, sizeof a7) == 0);
	if (e8 == ADDR_OK) {
		check_ok(&a8);
		MP_ASSERT(!a8.is_null && strlen(a8.local) + 1 + strlen(a8.domain) == size);
	} else {
		check_failed(&a8, e8);
	}
	return 0;
}
