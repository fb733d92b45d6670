/*
 * libFuzzer harness for dovecot_auth: the input is what a Dovecot auth
 * server (or anything listening on its socket) sends, split at LF. Each
 * line is parsed alone, and the lines drive one exchange whose request
 * goes out when the handshake is done. Checked: strings stay terminated
 * inside their fields, a verdict never changes once given, OK/FAIL count
 * only after the request, and READY only after VERSION, PLAIN and DONE.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dovecot_auth.h"
#include "panic.h"

static void
check_reply(const struct dovecot_reply *r)
{
	MP_ASSERT(memchr(r->mech, '\0', sizeof r->mech) != NULL);
	MP_ASSERT(memchr(r->user, '\0', sizeof r->user) != NULL);
	MP_ASSERT(memchr(r->reason, '\0', sizeof r->reason) != NULL);
	MP_ASSERT(r->kind != DOVECOT_L_BAD || r->bad != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dovecot_auth a;
	dovecot_auth_init(&a);
	const char *p = (const char *)data, *end = p + size;
	enum dovecot_verdict decided = DOVECOT_PENDING;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct strv line = {p, nl ? (size_t)(nl - p) : (size_t)(end - p)};
		struct dovecot_reply r;
		dovecot_auth_parse_line(line, &r);
		check_reply(&r);
		bool was_sent = a.sent;
		enum dovecot_verdict v = dovecot_auth_feed(&a, line);
		if (decided != DOVECOT_PENDING && decided != DOVECOT_READY)
			MP_ASSERT(v == decided);
		if (v == DOVECOT_OK || v == DOVECOT_FAIL || v == DOVECOT_TEMPFAIL)
			MP_ASSERT(was_sent || decided == v);
		if (v == DOVECOT_READY) {
			MP_ASSERT(a.got_version && a.plain && a.done);
			if (!a.sent)
				dovecot_auth_sent(&a, 1);
		}
		if (v == DOVECOT_ERROR)
			MP_ASSERT(a.why[0] != '\0');
		decided = v;
		p = nl ? nl + 1 : end;
	}
	return 0;
}
