/*
 * message_prepare: sendmail's side of the message module (message.h): a
 * message given as it is, made fit to send.
 *
 * Line ends become CRLF (RFC 5322 2.3: bare LF and lone CR too), the
 * header block (2.2, continuation lines by 2.2.3) is walked field by
 * field to find Date:, Message-ID: and From: (3.6: each required once)
 * and to drop Bcc: for sendmail -t (3.6.3), the recipients and the
 * sender are read from it, and a lone "." ends the input unless -i.
 *
 * Invariant: everything else is kept byte for byte, and preparing a
 * prepared message changes nothing (the fuzzer checks both).
 */
#include "message_internal.h"

#include <string.h>

struct field {
	struct strv name;
	struct strv value; /* after the colon, continuation lines included */
	size_t start, end; /* the whole field in the message, line ends included */
};

/* RFC 5322 2.2 field name (printable ASCII but ':'), then obs WSP, then ':'. */
static size_t
field_colon(const char *p, size_t len, size_t *name_len_r)
{
	size_t i = 0;

	while (i < len && (unsigned char)p[i] > 32 && (unsigned char)p[i] < 127 && p[i] != ':')
		i++;
	*name_len_r = i;
	while (i < len && message_is_wsp(p[i]))
		i++;
	return (*name_len_r > 0 && i < len && p[i] == ':') ? i : 0;
}

/*
 * The next header field at *pos; false at the end of the header block (an
 * empty line, a line that is not a field, or the end of msg), with *pos
 * left there.
 */
static bool
next_field(struct strv msg, size_t *pos, struct field *f)
{
	size_t end, name_len, colon;
	size_t next = mime_next_line(msg.p, msg.len, *pos, &end);

	if (end == *pos || (colon = field_colon(msg.p + *pos, end - *pos, &name_len)) == 0)
		return false;
	f->start = *pos;
	f->name = (struct strv){msg.p + *pos, name_len};
	colon += *pos + 1;
	while (next < msg.len) {
		size_t after = mime_next_line(msg.p, msg.len, next, &end);
		if (end == next || !message_is_wsp(msg.p[next]))
			break;
		next = after;
	}
	f->value = (struct strv){msg.p + colon, next - colon};
	f->end = *pos = next;
	return true;
}

static int
check_prep(const struct message_prep *prep, char *err, size_t err_size)
{
	const char *values[] = {prep->date, prep->message_id, prep->from};

	for (size_t i = 0; i < 3; i++) {
		if (values[i] && strpbrk(values[i], "\r\n") != NULL) {
			mime_set_err(err, err_size, "a header to add holds a line break");
			return -1;
		}
	}
	return 0;
}

int
message_prepare(struct strv in, const struct message_prep *prep, struct buf *out,
		struct message_info *info_r, char *err, size_t err_size)
{
	struct mime_writer w = {out, 0, false, false};
	struct field f;
	size_t start = out->len, pos = 0, end;
	bool date = false, msgid = false, from = false;

	if (info_r)
		memset(info_r, 0, sizeof *info_r);
	if (check_prep(prep, err, err_size) < 0)
		return -1;
	while (next_field(in, &pos, &f)) {
		date |= strv_eq_ci(f.name, "Date");
		msgid |= strv_eq_ci(f.name, "Message-ID");
		from |= strv_eq_ci(f.name, "From");
		if (!(prep->remove_bcc && strv_eq_ci(f.name, "Bcc")))
			mime_copy_crlf(&w, in.p + f.start, f.end - f.start);
	}
	if (!from && prep->from)
		header_put_raw(&w, "From", prep->from);
	if (!date && prep->date)
		header_put_raw(&w, "Date", prep->date);
	if (!msgid && prep->message_id)
		header_put_raw(&w, "Message-ID", prep->message_id);
	/* a body that follows the fields directly gets its empty line (RFC 5322 2.1) */
	if (pos < in.len && (mime_next_line(in.p, in.len, pos, &end), end != pos))
		mime_put(&w, "\r\n", 2);
	mime_copy_crlf(&w, in.p + pos, in.len - pos);
	if (w.full) {
		mime_truncate(out, start);
		mime_set_err(err, err_size, "the message is larger than %zu bytes", out->max);
		return -1;
	}
	if (info_r) {
		message_info_fill(info_r, out, start);
		info_r->added_from = !from && prep->from;
		info_r->added_date = !date && prep->date;
		info_r->added_message_id = !msgid && prep->message_id;
	}
	return 0;
}

int
message_recipients(struct strv msg, struct message_addrs *list, char *err, size_t err_size)
{
	static const char *const names[] = {"To", "Cc", "Bcc"};
	size_t before = list->n, pos = 0;
	struct field f;
	char why[200];

	while (next_field(msg, &pos, &f)) {
		for (size_t i = 0; i < 3; i++) {
			if (!strv_eq_ci(f.name, names[i]))
				continue;
			if (message_parse_addresses(f.value, list, why, sizeof why) < 0) {
				mime_set_err(err, err_size, "%s: %s", names[i], why);
				message_addrs_truncate(list, before);
				return -1;
			}
		}
	}
	return 0;
}

int
message_from_address(struct strv msg, char **addr_r, char *err, size_t err_size)
{
	struct message_addrs list = {0};
	size_t pos = 0;
	struct field f;
	char why[200];

	*addr_r = NULL;
	while (next_field(msg, &pos, &f)) {
		if (!strv_eq_ci(f.name, "From"))
			continue;
		if (message_parse_addresses(f.value, &list, why, sizeof why) < 0) {
			mime_set_err(err, err_size, "From: %s", why);
			return -1;
		}
		if (list.n == 0) {
			mime_set_err(err, err_size, "From: no address in the field");
			return -1;
		}
		*addr_r = list.v[0].addr;
		list.v[0].addr = NULL;
		message_addrs_free(&list);
		return 0;
	}
	mime_set_err(err, err_size, "the message has no From: field");
	return -1;
}

size_t
message_dot_end(struct strv in, bool ignore_dots, bool *found_r)
{
	size_t pos = 0, end;

	if (found_r)
		*found_r = false;
	while (!ignore_dots && pos < in.len) {
		size_t next = mime_next_line(in.p, in.len, pos, &end);
		if (end == pos + 1 && in.p[pos] == '.') {
			if (found_r)
				*found_r = true;
			return pos;
		}
		pos = next;
	}
	return in.len;
}
