/*
 * libFuzzer harness for the command path: smtp_line_next splits the input
 * into lines (RFC 5321 4.5.3.1.4, max 512), and each line goes through
 * smtp_cmd_parse and, by verb, the MAIL/RCPT/BDAT argument parsers. The
 * MAIL, RCPT and BDAT parsers also get every line's arguments whatever the
 * verb, so that they see more shapes. The first byte picks RCPT's utf8.
 * Invariants checked with MP_ASSERT (abort with the reason): slices stay inside the line,
 * results respect the field limits, and errors leave zeroed results.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "smtp_cmd.h"
#include "smtp_line.h"
#include "panic.h"

static void
check_addr(const struct smtp_addr *a)
{
	char out[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 2];

	MP_ASSERT(strlen(a->local) <= SMTP_LOCAL_MAX && strlen(a->domain) <= SMTP_DOMAIN_MAX);
	smtp_addr_format(a, out, sizeof out);
	MP_ASSERT(strlen(out) == (a->is_null ? 0 : strlen(a->local) + 1 + strlen(a->domain)));
}

static void
parse_args(struct strv args, bool utf8)
{
	struct smtp_mail_args m;
	struct smtp_rcpt_args r;
	enum addr_err ae;
	uint64_t size;
	bool last;

	if (smtp_cmd_parse_mail(args, &m, &ae) == PARAM_OK) {
		MP_ASSERT(ae == ADDR_OK);
		check_addr(&m.from);
		MP_ASSERT(strlen(m.envid) <= SMTP_ENVID_MAX);
	} else {
		MP_ASSERT(m.from.local[0] == '\0' && !m.has_size && !m.smtputf8);
	}
	if (smtp_cmd_parse_rcpt(args, utf8, &r, &ae) == PARAM_OK) {
		MP_ASSERT(ae == ADDR_OK && !r.to.is_null);
		check_addr(&r.to);
		MP_ASSERT(strlen(r.orcpt) <= SMTP_ORCPT_MAX);
		MP_ASSERT(r.notify <= 7);
	}
	if (smtp_cmd_parse_bdat(args, &size, &last))
		MP_ASSERT(args.len > 0 && args.p[0] >= '0' && args.p[0] <= '9');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	bool utf8 = size > 0 && (data[0] & 1);

	while (size > 0) {
		size_t line_len, consumed;
		enum line_err err;
		enum parse_rc rc = smtp_line_next(p, size, 512, &line_len, &consumed, &err);
		if (rc == PARSE_MORE)
			break;
		MP_ASSERT(consumed >= 1 && consumed <= size);
		if (rc == PARSE_DONE) {
			MP_ASSERT(err == LINE_OK && consumed == line_len + 2 && consumed <= 512);
			MP_ASSERT(p[line_len] == '\r' && p[line_len + 1] == '\n');
			MP_ASSERT(memchr(p, '\n', line_len) == NULL &&
				  memchr(p, '\0', line_len) == NULL);
			struct smtp_cmd cmd;
			smtp_cmd_parse((struct strv){p, line_len}, &cmd);
			MP_ASSERT((unsigned)cmd.verb < SMTP_V_COUNT);
			MP_ASSERT(smtp_verb_name(cmd.verb) != NULL);
			MP_ASSERT(cmd.verb_text.p == p && cmd.verb_text.len <= line_len);
			MP_ASSERT(cmd.args.p + cmd.args.len == p + line_len);
			parse_args(cmd.args, utf8);
		} else {
			MP_ASSERT(err != LINE_OK);
		}
		p += consumed;
		size -= consumed;
	}
	return 0;
}
