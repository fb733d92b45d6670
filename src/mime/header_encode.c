/*
 * header_encode: header fields as RFC 5322 and RFC 2047 want them: the
 * part of the message module (message.h) that writes "Name: value" lines.
 *
 * Unstructured text (RFC 5322 3.2.5) is folded at its own white space
 * before column 78 (2.2.3: CRLF goes before white space that was there);
 * text that is not plain ASCII, that looks like an encoded-word or that
 * holds a word too long to fold becomes "=?UTF-8?B?...?=" words (RFC 2047
 * 2, 4.1), each at most 75 characters and never splitting a UTF-8
 * character (RFC 2047 5), so each word decodes on its own. Display names
 * are atoms, a quoted string or encoded-words (RFC 2047 5(3)); address
 * fields fold between addresses.
 *
 * Invariant: a field written here is CRLF-terminated, holds no bare CR or
 * LF, and every line is at most 998 octets (HEADER_WORD_MAX bounds what
 * cannot be folded).
 */
#include "message_internal.h"

#include <string.h>

#include "b64.h"
#include "utf8.h"

/* RFC 2047 2: "=?UTF-8?B?" + "?=", and a word is at most 75 characters */
#define EW_OVERHEAD 12
#define EW_B64_MAX 60 /* 75 - 12, down to a multiple of 4 */

/* The longest prefix of p of at most max bytes that does not split a character. */
static size_t
utf8_cut(const char *p, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)p[max] & 0xc0) == 0x80)
		max--;
	return max;
}

void
header_start(struct mime_writer *w, const char *name)
{
	mime_put_str(w, name);
	mime_put(w, ":", 1);
	w->tokens = false;
}

/* Add sep + tok, folding before sep (which starts with white space) when the line would pass 78. */
void
header_token(struct mime_writer *w, const char *sep, size_t sep_len, const char *tok,
	     size_t tok_len)
{
	if (w->tokens && sep_len > 0 && w->col + sep_len + tok_len > MESSAGE_FOLD_AT)
		mime_put(w, "\r\n", 2);
	mime_put(w, sep, sep_len);
	mime_put(w, tok, tok_len);
	w->tokens = true;
}

/*
 * Text as "=?UTF-8?B?...?=" words, each sized to what is left of the line
 * (RFC 2047 2: at most 75 characters; 5: characters are never split, so
 * each word decodes on its own).
 */
static void
header_encoded(struct mime_writer *w, const char *p, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t room = 0;
		if (w->col + 1 + EW_OVERHEAD < MESSAGE_FOLD_AT)
			room = MESSAGE_FOLD_AT - w->col - 1 - EW_OVERHEAD;
		if (room > EW_B64_MAX)
			room = EW_B64_MAX;
		size_t n = utf8_cut(p + off, len - off, room / 4 * 3);
		/* a short word at the end of a line is legal but ugly: fold first */
		if (w->tokens && w->col > 0 && (n == 0 || (n < len - off && room < 16))) {
			mime_put(w, "\r\n", 2);
			continue;
		}
		if (n == 0) /* a long field name left no room: overlong but unsplit */
			n = utf8_cut(p + off, len - off, EW_B64_MAX / 4 * 3);
		if (n == 0) /* not UTF-8 (callers check): cut anywhere, but end */
			n = len - off < EW_B64_MAX / 4 * 3 ? len - off : EW_B64_MAX / 4 * 3;
		char word[EW_OVERHEAD + EW_B64_MAX + 1];
		memcpy(word, "=?UTF-8?B?", 10);
		size_t k = 10 + b64_encode(p + off, n, word + 10);
		memcpy(word + k, "?=", 2);
		header_token(w, " ", 1, word, k + 2);
		off += n;
	}
}

/* Does unstructured text need encoded-words? Also when it looks like one. */
static bool
header_needs_encoding(const char *p, size_t len)
{
	size_t word = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x80 || message_is_ctl(c))
			return true;
		if (c == '=' && i + 1 < len && p[i + 1] == '?')
			return true;
		word = message_is_wsp((char)c) ? 0 : word + 1;
		if (word > HEADER_WORD_MAX)
			return true;
	}
	return false;
}

int
header_check_text(const char *what, const char *p, size_t len, char *err, size_t err_size)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0') {
			mime_set_err(err, err_size, "%s: a line break or NUL in header text", what);
			return -1;
		}
	}
	if (!utf8_valid((const unsigned char *)p, len)) {
		mime_set_err(err, err_size, "%s: not valid UTF-8", what);
		return -1;
	}
	return 0;
}

/* Unstructured field body (RFC 5322 3.2.5); ASCII is folded at its own white space. */
static void
header_unstructured(struct mime_writer *w, const char *p, size_t len)
{
	if (header_needs_encoding(p, len)) {
		header_encoded(w, p, len);
		return;
	}
	mime_put(w, " ", 1);
	size_t i = 0;
	while (i < len) {
		size_t ws = i, word;
		while (i < len && message_is_wsp(p[i]))
			i++;
		word = i;
		while (i < len && !message_is_wsp(p[i]))
			i++;
		if (word == i) /* trailing white space */
			mime_put(w, p + ws, i - ws);
		else
			header_token(w, p + ws, word - ws, p + word, i - word);
	}
}

static bool
field_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 76)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] <= 32 || (unsigned char)name[i] >= 127 || name[i] == ':')
			return false;
	return true;
}

int
header_add_unstructured(struct mime_writer *w, const char *name, const char *value, char *err,
			size_t err_size)
{
	size_t len = strlen(value);

	if (!field_name_ok(name)) {
		mime_set_err(err, err_size, "bad header field name");
		return -1;
	}
	if (header_check_text(name, value, len, err, err_size) < 0)
		return -1;
	header_start(w, name);
	header_unstructured(w, value, len);
	mime_put(w, "\r\n", 2);
	return 0;
}

int
message_add_header(struct buf *out, const char *name, const char *value, char *err, size_t err_size)
{
	struct mime_writer w = {out, 0, false, false};
	size_t start = out->len;

	if (header_add_unstructured(&w, name, value, err, err_size) < 0)
		return -1;
	if (w.full) {
		mime_truncate(out, start);
		mime_set_err(err, err_size, "%s: the message is too large", name);
		return -1;
	}
	return 0;
}

/* A display name: atoms as they are, else a quoted string, else encoded-words (RFC 2047 5(3)). */
static void
header_phrase(struct mime_writer *w, const char *name)
{
	size_t len = strlen(name);
	bool atoms = true;

	/* a quoted string is one token: past HEADER_WORD_MAX it could break the line limit */
	if (header_needs_encoding(name, len) || len > HEADER_WORD_MAX) {
		header_encoded(w, name, len);
		return;
	}
	for (size_t i = 0; i < len; i++)
		atoms &= message_is_atext((unsigned char)name[i]) || name[i] == ' ';
	if (atoms) {
		for (size_t i = 0; i < len;) {
			size_t start = i;
			while (i < len && name[i] != ' ')
				i++;
			if (i > start)
				header_token(w, " ", 1, name + start, i - start);
			while (i < len && name[i] == ' ')
				i++;
		}
		return;
	}
	struct buf q;
	buf_init(&q, 0);
	buf_append(&q, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '"' || name[i] == '\\')
			buf_append(&q, "\\", 1);
		buf_append(&q, name + i, 1);
	}
	buf_append(&q, "\"", 1);
	header_token(w, " ", 1, q.data, q.len);
	buf_free(&q);
}

/* "Name: a@x, Bob <b@y>, =?UTF-8?B?...?= <c@z>", folded between tokens. */
void
header_addresses(struct mime_writer *w, const char *name, const struct message_addrs *l)
{
	struct buf t;

	buf_init(&t, 0);
	header_start(w, name);
	for (size_t i = 0; i < l->n; i++) {
		const struct message_addr *a = &l->v[i];
		const char *comma = i + 1 < l->n ? "," : "";
		buf_reset(&t);
		if (a->name[0] != '\0') {
			header_phrase(w, a->name);
			buf_printf(&t, "<%s>%s", a->addr, comma);
		} else {
			buf_printf(&t, "%s%s", a->addr, comma);
		}
		header_token(w, " ", 1, t.data, t.len);
	}
	mime_put(w, "\r\n", 2);
	buf_free(&t);
}

void
header_put_raw(struct mime_writer *w, const char *name, const char *value)
{
	mime_put_str(w, name);
	mime_put(w, ": ", 2);
	mime_put_str(w, value);
	mime_put(w, "\r\n", 2);
}
