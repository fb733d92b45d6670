/*
 * message: build, prepare and parse Internet messages (see message.h).
 *
 * Everything is written through a small writer that tracks the column, for
 * folding (RFC 5322 2.2.3: CRLF goes before white space that was there),
 * and that remembers when the output buffer refused bytes, so a size limit
 * is checked once at the end instead of after every append. A failed call
 * truncates out back to where it started.
 *
 * The address-list parser (RFC 5322 3.4) is a tokenizer with one token of
 * look-ahead and no recursion: groups cannot nest, comments are skipped
 * with a depth counter. It accepts the obsolete forms of 4.4 that real
 * mail still carries (routes, empty list elements, "J. Smith").
 */
#include "message.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "utf8.h"
#include "xmalloc.h"

/* RFC 2047 2: "=?UTF-8?B?" + "?=", and a word is at most 75 characters */
#define EW_OVERHEAD 12
#define EW_B64_MAX 60  /* 75 - 12, down to a multiple of 4 */
#define B64_LINE_IN 57 /* 76 base64 characters a line (RFC 2045 6.8) */
#define QP_LINE_MAX 75 /* 76 with the soft break '=' (RFC 2045 6.7) */
#define WORD_MAX 900   /* an unbreakable word longer than this gets encoded */

struct writer {
	struct buf *out;
	size_t col;  /* bytes on the current line */
	bool tokens; /* the field has a token already: a fold may go before the next */
	bool full;   /* out refused bytes: over its max */
};

static void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

static void
buf_truncate(struct buf *b, size_t len)
{
	if (b->data == NULL || len > b->len)
		return;
	b->len = len;
	b->data[len] = '\0';
}

static void
put(struct writer *w, const void *p, size_t n)
{
	const char *nl = n ? memrchr(p, '\n', n) : NULL;

	if (!w->full && !buf_append(w->out, p, n))
		w->full = true;
	w->col = nl ? n - (size_t)(nl - (const char *)p) - 1 : w->col + n;
}

static void
put_str(struct writer *w, const char *s)
{
	put(w, s, strlen(s));
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* A byte that may not appear raw in header text (RFC 5322 3.2.5 controls). */
static bool
is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* RFC 5322 3.2.3 atext; bytes >= 0x80 too, for UTF-8 names written raw. */
static bool
is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80)
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

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

/*
 * The line at pos: its text ends at *end_r (before CRLF, LF or a lone CR);
 * returns where the next line starts.
 */
static size_t
next_line(const char *p, size_t len, size_t pos, size_t *end_r)
{
	size_t i = pos;

	while (i < len && p[i] != '\n' && p[i] != '\r')
		i++;
	*end_r = i;
	if (i < len && p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
		return i + 2;
	return i < len ? i + 1 : i;
}

/* Copy p with every line ended by CRLF, the last one included. */
static void
copy_crlf(struct writer *w, const char *p, size_t len)
{
	size_t pos = 0, end;

	while (pos < len) {
		size_t next = next_line(p, len, pos, &end);
		put(w, p + pos, end - pos);
		put(w, "\r\n", 2);
		pos = next;
	}
}

struct text_scan {
	bool has_8bit;
	bool has_nul;
	bool has_long_line;
};

static struct text_scan
scan_text(const char *p, size_t len)
{
	struct text_scan s = {false, false, false};
	size_t pos = 0, end;

	while (pos < len) {
		size_t next = next_line(p, len, pos, &end);
		if (end - pos > MESSAGE_LINE_MAX)
			s.has_long_line = true;
		for (size_t i = pos; i < end; i++) {
			s.has_8bit |= (unsigned char)p[i] >= 0x80;
			s.has_nul |= p[i] == '\0';
		}
		pos = next;
	}
	return s;
}

/* ---- header fields: folding and RFC 2047 encoded-words ---- */

static void
field_start(struct writer *w, const char *name)
{
	put_str(w, name);
	put(w, ":", 1);
	w->tokens = false;
}

/* Add sep + tok, folding before sep (which starts with white space) when the line would pass 78. */
static void
field_token(struct writer *w, const char *sep, size_t sep_len, const char *tok, size_t tok_len)
{
	if (w->tokens && sep_len > 0 && w->col + sep_len + tok_len > MESSAGE_FOLD_AT)
		put(w, "\r\n", 2);
	put(w, sep, sep_len);
	put(w, tok, tok_len);
	w->tokens = true;
}

/*
 * Text as "=?UTF-8?B?...?=" words, each sized to what is left of the line
 * (RFC 2047 2: at most 75 characters; 5: characters are never split, so
 * each word decodes on its own).
 */
static void
field_encoded(struct writer *w, const char *p, size_t len)
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
			put(w, "\r\n", 2);
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
		field_token(w, " ", 1, word, k + 2);
		off += n;
	}
}

/* Does unstructured text need encoded-words? Also when it looks like one. */
static bool
needs_encoding(const char *p, size_t len)
{
	size_t word = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x80 || is_ctl(c))
			return true;
		if (c == '=' && i + 1 < len && p[i + 1] == '?')
			return true;
		word = is_wsp((char)c) ? 0 : word + 1;
		if (word > WORD_MAX)
			return true;
	}
	return false;
}

static int
check_header_text(const char *what, const char *p, size_t len, char *err, size_t err_size)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0') {
			set_err(err, err_size, "%s: a line break or NUL in header text", what);
			return -1;
		}
	}
	if (!utf8_valid((const unsigned char *)p, len)) {
		set_err(err, err_size, "%s: not valid UTF-8", what);
		return -1;
	}
	return 0;
}

/* Unstructured field body (RFC 5322 3.2.5); ASCII is folded at its own white space. */
static void
field_unstructured(struct writer *w, const char *p, size_t len)
{
	if (needs_encoding(p, len)) {
		field_encoded(w, p, len);
		return;
	}
	put(w, " ", 1);
	size_t i = 0;
	while (i < len) {
		size_t ws = i, word;
		while (i < len && is_wsp(p[i]))
			i++;
		word = i;
		while (i < len && !is_wsp(p[i]))
			i++;
		if (word == i) /* trailing white space */
			put(w, p + ws, i - ws);
		else
			field_token(w, p + ws, word - ws, p + word, i - word);
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

static int
add_unstructured(struct writer *w, const char *name, const char *value, char *err, size_t err_size)
{
	size_t len = strlen(value);

	if (!field_name_ok(name)) {
		set_err(err, err_size, "bad header field name");
		return -1;
	}
	if (check_header_text(name, value, len, err, err_size) < 0)
		return -1;
	field_start(w, name);
	field_unstructured(w, value, len);
	put(w, "\r\n", 2);
	return 0;
}

int
message_add_header(struct buf *out, const char *name, const char *value, char *err, size_t err_size)
{
	struct writer w = {out, 0, false, false};
	size_t start = out->len;

	if (add_unstructured(&w, name, value, err, err_size) < 0)
		return -1;
	if (w.full) {
		buf_truncate(out, start);
		set_err(err, err_size, "%s: the message is too large", name);
		return -1;
	}
	return 0;
}

/* ---- address lists (RFC 5322 3.4, 4.4) ---- */

enum tok_kind { TOK_END, TOK_WORD, TOK_QUOTED, TOK_LITERAL, TOK_SPECIAL };

struct tok {
	enum tok_kind kind;
	const char *p; /* raw text, quotes and brackets included */
	size_t len;
};

struct parser {
	const char *p;
	size_t len, pos;
	const char *err; /* what went wrong, at err_pos */
	size_t err_pos;
	struct message_addrs *list;
	struct buf name, addr;
};

static bool
fail(struct parser *ps, const char *what)
{
	if (ps->err == NULL) {
		ps->err = what;
		ps->err_pos = ps->pos;
	}
	return false;
}

/* Skip white space, line breaks (folding) and nested comments (RFC 5322 3.2.2). */
static bool
skip_cfws(struct parser *ps)
{
	size_t depth = 0;

	while (ps->pos < ps->len) {
		char c = ps->p[ps->pos];
		if (depth > 0 && c == '\\') {
			ps->pos += ps->pos + 2 <= ps->len ? 2 : 1;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !is_wsp(c) && c != '\r' && c != '\n')
			return true;
		ps->pos++;
	}
	return depth == 0 || fail(ps, "unterminated comment");
}

/* The end of a quoted string or domain literal that starts at pos, or 0. */
static size_t
delimited_end(struct parser *ps, char close)
{
	for (size_t i = ps->pos + 1; i < ps->len; i++) {
		unsigned char c = (unsigned char)ps->p[i];
		if (c == (unsigned char)close)
			return i + 1;
		if (c == '\\')
			i++;
		else if (is_ctl(c) && c != '\r' && c != '\n')
			return 0;
	}
	return 0;
}

static bool
lex(struct parser *ps, struct tok *t)
{
	if (!skip_cfws(ps))
		return false;
	t->p = ps->p + ps->pos;
	t->len = 0;
	if (ps->pos == ps->len) {
		t->kind = TOK_END;
		return true;
	}
	unsigned char c = *(const unsigned char *)t->p;
	size_t end = ps->pos + 1;
	if (is_atext(c) || c == '.') {
		while (end < ps->len && (is_atext((unsigned char)ps->p[end]) || ps->p[end] == '.'))
			end++;
		t->kind = TOK_WORD;
	} else if (c == '"' || c == '[') {
		end = delimited_end(ps, c == '"' ? '"' : ']');
		if (end == 0)
			return fail(ps, c == '"' ? "unterminated quoted string"
						 : "unterminated [literal]");
		t->kind = c == '"' ? TOK_QUOTED : TOK_LITERAL;
	} else if (strchr("<>@,;:)\\", c) != NULL) {
		t->kind = TOK_SPECIAL;
	} else {
		return fail(ps, "unexpected character");
	}
	t->len = end - ps->pos;
	ps->pos = end;
	return true;
}

static bool
peek(struct parser *ps, struct tok *t)
{
	size_t pos = ps->pos;
	bool ok = lex(ps, t);

	ps->pos = pos;
	return ok;
}

static bool
is_special(const struct tok *t, char c)
{
	return t->kind == TOK_SPECIAL && t->p[0] == c;
}

/* Raw text without line breaks: an address or literal unfolded. */
static void
append_unfolded(struct buf *b, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != '\r' && p[i] != '\n')
			buf_append(b, p + i, 1);
}

/* A display-name word: quoted strings lose their quotes and escapes. */
static void
append_name_word(struct buf *b, const struct tok *t)
{
	if (b->len > 0)
		buf_append(b, " ", 1);
	if (t->kind != TOK_QUOTED) {
		buf_append(b, t->p, t->len);
		return;
	}
	for (size_t i = 1; i + 1 < t->len; i++) {
		if (t->p[i] == '\\' && i + 2 < t->len)
			i++;
		if (t->p[i] != '\r' && t->p[i] != '\n')
			buf_append(b, t->p + i, 1);
	}
}

static bool
push(struct parser *ps, bool with_name)
{
	struct message_addrs *l = ps->list;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n].name = xstrdup(with_name && ps->name.data ? ps->name.data : "");
	l->v[l->n].addr = xstrdup(ps->addr.data ? ps->addr.data : "");
	l->n++;
	return true;
}

/*
 * Words into ps->addr as a local part (RFC 5322 3.4.1, with obs-local-part's
 * quoted pieces: "a".b). With name, also into ps->name as a display name.
 * Returns the count; *dotted_r is false when two words meet without a '.'.
 */
static size_t
collect_words(struct parser *ps, bool name, bool *dotted_r, struct tok *first_r)
{
	struct tok t;
	size_t n = 0;
	char last = '.';

	*dotted_r = true;
	while (peek(ps, &t) && (t.kind == TOK_WORD || t.kind == TOK_QUOTED)) {
		lex(ps, &t);
		if (n > 0 && last != '.' && t.p[0] != '.')
			*dotted_r = false;
		if (n++ == 0 && first_r)
			*first_r = t;
		last = t.p[t.len - 1];
		append_unfolded(&ps->addr, t.p, t.len);
		if (name)
			append_name_word(&ps->name, &t);
	}
	return n;
}

static bool
parse_domain(struct parser *ps)
{
	struct tok t;

	if (!lex(ps, &t))
		return false;
	if (t.kind != TOK_WORD && t.kind != TOK_LITERAL)
		return fail(ps, "no domain after '@'");
	buf_append(&ps->addr, "@", 1);
	append_unfolded(&ps->addr, t.p, t.len);
	return true;
}

/* After '<': [obs-route ":"] local-part ["@" domain] ">" */
static bool
parse_angle(struct parser *ps)
{
	struct tok t;
	bool dotted;

	buf_reset(&ps->addr);
	if (!peek(ps, &t))
		return false;
	if (is_special(&t, '@')) { /* RFC 5322 4.4 obs-route, dropped */
		do {
			if (!lex(ps, &t))
				return false;
			if (t.kind == TOK_END || is_special(&t, '>'))
				return fail(ps, "route without ':'");
		} while (!is_special(&t, ':'));
	}
	if (collect_words(ps, false, &dotted, NULL) == 0)
		return fail(ps, "no address inside <>");
	if (!dotted)
		return fail(ps, "white space inside an address");
	if (!peek(ps, &t))
		return false;
	if (is_special(&t, '@')) {
		lex(ps, &t);
		if (!parse_domain(ps))
			return false;
	}
	if (!lex(ps, &t))
		return false;
	return is_special(&t, '>') || fail(ps, "missing '>'");
}

static bool parse_address(struct parser *ps, bool in_group);

/* After "name:": mailboxes up to ';' (RFC 5322 3.4 group). */
static bool
parse_group(struct parser *ps)
{
	struct tok t;

	for (;;) {
		if (!peek(ps, &t))
			return false;
		if (t.kind == TOK_END)
			return fail(ps, "group without ';'");
		if (is_special(&t, ';') || is_special(&t, ',')) {
			lex(ps, &t);
			if (t.p[0] == ';')
				return true;
			continue;
		}
		if (!parse_address(ps, true) || !peek(ps, &t))
			return false;
		if (t.kind != TOK_END && !is_special(&t, ',') && !is_special(&t, ';'))
			return fail(ps, "expected ',' or ';' in a group");
	}
}

/* One address: a mailbox, a group (only at the top) or an empty element. */
static bool
parse_address(struct parser *ps, bool in_group)
{
	struct tok t, first = {TOK_END, NULL, 0};
	bool dotted;

	buf_reset(&ps->name);
	buf_reset(&ps->addr);
	size_t n = collect_words(ps, true, &dotted, &first);
	if (!peek(ps, &t))
		return false;
	if (is_special(&t, '<')) {
		lex(ps, &t);
		return parse_angle(ps) && push(ps, true);
	}
	if (is_special(&t, ':')) {
		if (in_group)
			return fail(ps, "a group inside a group");
		lex(ps, &t);
		return parse_group(ps);
	}
	if (is_special(&t, '@')) {
		if (n == 0)
			return fail(ps, "no local part before '@'");
		if (!dotted)
			return fail(ps, "a name without an <address>");
		lex(ps, &t);
		return parse_domain(ps) && push(ps, false);
	}
	if (t.kind == TOK_END || is_special(&t, ',') || (in_group && is_special(&t, ';'))) {
		if (n == 0)
			return true; /* an empty element, RFC 5322 4.4 */
		if (n > 1 || first.kind != TOK_WORD)
			return fail(ps, "a name without an <address>");
		return push(ps, false); /* a bare local name: sendmail's "To: root" */
	}
	return fail(ps, "unexpected character");
}

static bool
parse_list(struct parser *ps)
{
	struct tok t;

	for (;;) {
		if (!peek(ps, &t))
			return false;
		if (t.kind == TOK_END)
			return true;
		if (is_special(&t, ',')) {
			lex(ps, &t);
			continue;
		}
		if (!parse_address(ps, false) || !peek(ps, &t))
			return false;
		if (t.kind != TOK_END && !is_special(&t, ','))
			return fail(ps, "expected ',' between addresses");
	}
}

void
message_addrs_free(struct message_addrs *list)
{
	for (size_t i = 0; i < list->n; i++) {
		free(list->v[i].name);
		free(list->v[i].addr);
	}
	free(list->v);
	list->v = NULL;
	list->n = list->cap = 0;
}

static void
addrs_truncate(struct message_addrs *list, size_t n)
{
	while (list->n > n) {
		list->n--;
		free(list->v[list->n].name);
		free(list->v[list->n].addr);
	}
	if (list->n == 0) /* as it was: nothing to free for a list that was empty */
		message_addrs_free(list);
}

int
message_parse_addresses(struct strv text, struct message_addrs *list, char *err, size_t err_size)
{
	struct parser ps = {text.p, text.len, 0, NULL, 0, list, {0}, {0}};
	size_t before = list->n;
	int rc = 0;

	buf_init(&ps.name, 0);
	buf_init(&ps.addr, 0);
	if (!parse_list(&ps)) {
		char near[40];
		size_t at = ps.err_pos < text.len ? ps.err_pos : text.len;
		str_escape(near, sizeof near, text.p + at, text.len - at);
		set_err(err, err_size, "%s at offset %zu (near \"%s\")", ps.err, at, near);
		addrs_truncate(list, before);
		rc = -1;
	}
	buf_free(&ps.name);
	buf_free(&ps.addr);
	return rc;
}

/* ---- building a message ---- */

/* A display name: atoms as they are, else a quoted string, else encoded-words (RFC 2047 5(3)). */
static void
field_phrase(struct writer *w, const char *name)
{
	size_t len = strlen(name);
	bool atoms = true;

	/* a quoted string is one token: past WORD_MAX it could break the line limit */
	if (needs_encoding(name, len) || len > WORD_MAX) {
		field_encoded(w, name, len);
		return;
	}
	for (size_t i = 0; i < len; i++)
		atoms &= is_atext((unsigned char)name[i]) || name[i] == ' ';
	if (atoms) {
		for (size_t i = 0; i < len;) {
			size_t start = i;
			while (i < len && name[i] != ' ')
				i++;
			if (i > start)
				field_token(w, " ", 1, name + start, i - start);
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
	field_token(w, " ", 1, q.data, q.len);
	buf_free(&q);
}

/* "Name: a@x, Bob <b@y>, =?UTF-8?B?...?= <c@z>", folded between tokens. */
static void
field_addresses(struct writer *w, const char *name, const struct message_addrs *l)
{
	struct buf t;

	buf_init(&t, 0);
	field_start(w, name);
	for (size_t i = 0; i < l->n; i++) {
		const struct message_addr *a = &l->v[i];
		const char *comma = i + 1 < l->n ? "," : "";
		buf_reset(&t);
		if (a->name[0] != '\0') {
			field_phrase(w, a->name);
			buf_printf(&t, "<%s>%s", a->addr, comma);
		} else {
			buf_printf(&t, "%s%s", a->addr, comma);
		}
		field_token(w, " ", 1, t.data, t.len);
	}
	put(w, "\r\n", 2);
	buf_free(&t);
}

/* Parse the address lists of one field of the spec; each must be local@domain. */
static int
load_addrs(const char *field, const char *const *texts, size_t count, struct message_addrs *l,
	   char *err, size_t err_size)
{
	char why[200];

	for (size_t i = 0; i < count; i++) {
		if (texts[i] == NULL)
			continue;
		if (message_parse_addresses(strv_from(texts[i]), l, why, sizeof why) < 0) {
			set_err(err, err_size, "%s: %s", field, why);
			return -1;
		}
	}
	for (size_t i = 0; i < l->n; i++) {
		const char *at = strrchr(l->v[i].addr, '@');
		/* RFC 5321 4.5.3.1.3: a path is at most 256 octets with its <> */
		if (at == NULL || at == l->v[i].addr || at[1] == '\0' ||
		    strlen(l->v[i].addr) > 254) {
			str_escape(why, 80, l->v[i].addr, strlen(l->v[i].addr));
			set_err(err, err_size, "%s: \"%s\" is not an address (local@domain)", field,
				why);
			return -1;
		}
		if (check_header_text(field, l->v[i].name, strlen(l->v[i].name), err, err_size) < 0)
			return -1;
	}
	return 0;
}

/* RFC 2045 6.7: one line of text, with soft breaks to keep lines at 76. */
static void
qp_line(struct writer *w, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char line[QP_LINE_MAX + 3];
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		/* rule 3: white space is literal except at the end of a line */
		bool lit =
		    (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && i + 1 < n);
		size_t k = lit ? 1 : 3;
		if (col + k > QP_LINE_MAX) {
			put(w, line, col);
			put(w, "=\r\n", 3);
			col = 0;
		}
		if (lit) {
			line[col++] = (char)c;
		} else {
			line[col++] = '=';
			line[col++] = hex[c >> 4];
			line[col++] = hex[c & 15];
		}
	}
	put(w, line, col);
	put(w, "\r\n", 2);
}

static int
text_part(struct writer *w, const char *body, size_t len, char *err, size_t err_size)
{
	struct text_scan s = scan_text(body, len);
	bool qp = s.has_8bit || s.has_nul || s.has_long_line;
	size_t pos = 0, end;

	if (s.has_8bit && !utf8_valid((const unsigned char *)body, len)) {
		set_err(err, err_size,
			"the message text is not valid UTF-8 (attach the file to send it as is)");
		return -1;
	}
	put_str(w, s.has_8bit ? "Content-Type: text/plain; charset=utf-8\r\n"
			      : "Content-Type: text/plain; charset=us-ascii\r\n");
	put_str(w, qp ? "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		      : "Content-Transfer-Encoding: 7bit\r\n\r\n");
	if (!qp) {
		copy_crlf(w, body, len);
		return 0;
	}
	while (pos < len) {
		size_t next = next_line(body, len, pos, &end);
		qp_line(w, (const unsigned char *)body + pos, end - pos);
		pos = next;
	}
	return 0;
}

static void
base64_lines(struct writer *w, const unsigned char *p, size_t len)
{
	char line[B64_ENCODED_SIZE(B64_LINE_IN)];

	for (size_t off = 0; off < len; off += B64_LINE_IN) {
		size_t n = len - off < B64_LINE_IN ? len - off : B64_LINE_IN;
		if (off > 0)
			put(w, "\r\n", 2);
		put(w, line, b64_encode(p + off, n, line));
	}
}

/* RFC 2045 5.1 token: no space, controls or tspecials. */
static size_t
token_len(const char *s)
{
	size_t n = 0;

	while (s[n] > 32 && s[n] < 127 && strchr("()<>@,;:\\\"/[]?=", s[n]) == NULL)
		n++;
	return n;
}

/* RFC 2045 5.1 type "/" subtype; RFC 6838 4.2: each at most 127 characters. */
static bool
mime_type_ok(const char *type)
{
	size_t n = token_len(type);

	return n > 0 && strlen(type) <= 255 && type[n] == '/' && token_len(type + n + 1) > 0 &&
	       type[n + 1 + token_len(type + n + 1)] == '\0';
}

/* RFC 2231 7 attribute-char: what needs no %XX in an extended value. */
static bool
is_attr_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$&+-.^_`|~", c) != NULL;
}

/*
 * attr="name" or, for names that are not plain printable ASCII, RFC 2231
 * attr*=utf-8''percent-encoded. The bytes are not checked for UTF-8: a
 * file name is whatever the file system holds, and a wrong label on a name
 * is better than refusing to send the file.
 */
static void
filename_param(struct buf *b, const char *attr, const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	bool plain = true;

	for (const char *s = name; *s; s++)
		plain &= !is_ctl((unsigned char)*s) && *s != '\t' && (unsigned char)*s < 0x80;
	if (plain) {
		buf_printf(b, "%s=\"", attr);
		for (const char *s = name; *s; s++) {
			if (*s == '"' || *s == '\\')
				buf_append(b, "\\", 1);
			buf_append(b, s, 1);
		}
		buf_append(b, "\"", 1);
		return;
	}
	buf_printf(b, "%s*=utf-8''", attr);
	for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
		if (is_attr_char(*s))
			buf_append(b, s, 1);
		else
			buf_printf(b, "%%%c%c", hex[*s >> 4], hex[*s & 15]);
	}
}

static void
param_field(struct writer *w, const char *name, const char *value, const char *attr,
	    const char *filename)
{
	struct buf t;

	buf_init(&t, 0);
	buf_printf(&t, "%s;", value);
	field_start(w, name);
	field_token(w, " ", 1, t.data, t.len);
	buf_reset(&t);
	filename_param(&t, attr, filename);
	field_token(w, " ", 1, t.data, t.len);
	put(w, "\r\n", 2);
	buf_free(&t);
}

/*
 * One attachment: base64, except a message (message/rfc822 and the like),
 * which RFC 2046 5.2.1 allows
 * only unencoded; such a message with NULs or overlong lines cannot be
 * sent unencoded and goes as application/octet-stream instead.
 */
static int
attachment_part(struct writer *w, const struct message_attachment *a, size_t index, char *err,
		size_t err_size)
{
	const char *name = a->filename ? a->filename : "";
	const char *slash = strrchr(name, '/');
	const char *type;
	const char *cte = "base64";

	name = slash ? slash + 1 : name;
	if (name[0] == '\0' || strlen(name) > MESSAGE_FILENAME_MAX) {
		set_err(err, err_size, "attachment %zu: a file name of 1 to %d bytes is needed",
			index + 1, MESSAGE_FILENAME_MAX);
		return -1;
	}
	type = a->type ? a->type : message_guess_type(name);
	if (!mime_type_ok(type)) {
		set_err(err, err_size, "attachment %zu: bad MIME type (want type/subtype)",
			index + 1);
		return -1;
	}
	if (strncasecmp(type, "message/", 8) == 0) {
		struct text_scan s = scan_text(a->data, a->len);
		if (s.has_nul || s.has_long_line)
			type = "application/octet-stream";
		else
			cte = s.has_8bit ? "8bit" : "7bit";
	}
	/*
	 * Text without a charset is read as US-ASCII (RFC 2046 4.1.2): name
	 * UTF-8 when the content is UTF-8, so readers show it as written.
	 */
	char typed[160];
	if (strncasecmp(type, "text/", 5) == 0 && strchr(type, ';') == NULL &&
	    scan_text(a->data, a->len).has_8bit &&
	    utf8_valid((const unsigned char *)a->data, a->len) &&
	    snprintf(typed, sizeof typed, "%s; charset=utf-8", type) < (int)sizeof typed)
		type = typed;
	param_field(w, "Content-Type", type, "name", name);
	param_field(w, "Content-Disposition", "attachment", "filename", name);
	put_str(w, "Content-Transfer-Encoding: ");
	put_str(w, cte);
	put(w, "\r\n\r\n", 4);
	if (strcmp(cte, "base64") == 0)
		base64_lines(w, a->data, a->len);
	else
		copy_crlf(w, a->data, a->len);
	return 0;
}

/* RFC 2046 5.1.1: 1-70 bchars, not ending in a space. */
static bool
boundary_valid(const char *b)
{
	size_t n = b ? strlen(b) : 0;

	if (n == 0 || n > MESSAGE_BOUNDARY_MAX || b[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("'()+_,-./:=? ", c) != NULL))
			return false;
	}
	return true;
}

/*
 * multipart/mixed (RFC 2046 5.1): each part is made aside and searched for
 * the boundary before it goes out, so a collision is caught for sure.
 */
static int
multipart_body(struct writer *w, const struct message_spec *spec, bool *collision_r, char *err,
	       size_t err_size)
{
	struct buf part;
	struct writer pw = {&part, 0, false, false};
	size_t blen = strlen(spec->boundary);
	int rc = -1;

	buf_init(&part, w->out->max);
	field_start(w, "Content-Type");
	field_token(w, " ", 1, "multipart/mixed;", 16);
	put_str(w, w->col + 12 + blen > MESSAGE_FOLD_AT ? "\r\n boundary=\"" : " boundary=\"");
	put_str(w, spec->boundary);
	put(w, "\"\r\n\r\n", 5);
	for (size_t i = 0; i <= spec->attachment_count; i++) {
		buf_reset(&part);
		pw.col = 0;
		if (i == 0
			? text_part(&pw, spec->body ? spec->body : "", spec->body_len, err,
				    err_size) < 0
			: attachment_part(&pw, &spec->attachments[i - 1], i - 1, err, err_size) < 0)
			goto out;
		if (pw.full) {
			w->full = true;
			goto out;
		}
		if (part.len > 0 && memmem(part.data, part.len, spec->boundary, blen) != NULL) {
			*collision_r = true;
			set_err(err, err_size, "the MIME boundary occurs in %s; pick another",
				i == 0 ? "the text" : "an attachment");
			goto out;
		}
		put_str(w, i == 0 ? "--" : "\r\n--");
		put_str(w, spec->boundary);
		put(w, "\r\n", 2);
		put(w, part.data, part.len);
	}
	put_str(w, "\r\n--");
	put_str(w, spec->boundary);
	put(w, "--\r\n", 4);
	rc = 0;
out:
	buf_free(&part);
	return rc;
}

/* Date, Message-ID and the boundary: made by the caller, checked here. */
static int
check_spec(const struct message_spec *spec, char *err, size_t err_size)
{
	const char *fields[] = {spec->date, spec->message_id};
	const char *names[] = {"Date", "Message-ID"};

	for (size_t i = 0; i < 2; i++) {
		size_t n = fields[i] ? strlen(fields[i]) : 0;
		bool ok = n > 0 && n <= WORD_MAX;
		for (size_t k = 0; ok && k < n; k++)
			ok = fields[i][k] >= 32 && fields[i][k] < 127;
		if (!ok) {
			set_err(err, err_size, "%s: missing or not printable ASCII", names[i]);
			return -1;
		}
	}
	if (spec->from == NULL) {
		set_err(err, err_size, "From: no sender given");
		return -1;
	}
	if (spec->attachment_count > 0 && !boundary_valid(spec->boundary)) {
		set_err(err, err_size, "bad MIME boundary (1-70 letters, digits or '()+_,-./:=?)");
		return -1;
	}
	return 0;
}

static void
put_field(struct writer *w, const char *name, const char *value)
{
	put_str(w, name);
	put(w, ": ", 2);
	put_str(w, value);
	put(w, "\r\n", 2);
}

static int
build(const struct message_spec *spec, struct buf *out, bool *collision_r, char *err,
      size_t err_size)
{
	struct writer w = {out, 0, false, false};
	struct message_addrs from = {0}, to = {0}, cc = {0}, reply = {0};
	const char *ua = spec->user_agent ? spec->user_agent : "mailport";
	int rc = -1;

	if (check_spec(spec, err, err_size) < 0 ||
	    load_addrs("From", &spec->from, 1, &from, err, err_size) < 0 ||
	    load_addrs("To", spec->to, spec->to_count, &to, err, err_size) < 0 ||
	    load_addrs("Cc", spec->cc, spec->cc_count, &cc, err, err_size) < 0 ||
	    load_addrs("Reply-To", &spec->reply_to, 1, &reply, err, err_size) < 0)
		goto out;
	if (from.n != 1) {
		set_err(err, err_size, "From: exactly one mailbox is needed, not %zu", from.n);
		goto out;
	}
	put_field(&w, "Date", spec->date);
	field_addresses(&w, "From", &from);
	if (spec->subject && add_unstructured(&w, "Subject", spec->subject, err, err_size) < 0)
		goto out;
	if (to.n > 0)
		field_addresses(&w, "To", &to);
	if (cc.n > 0)
		field_addresses(&w, "Cc", &cc);
	if (to.n == 0 && cc.n == 0) /* RFC 5322 3.6.3: hide Bcc-only recipients */
		put_field(&w, "To", "undisclosed-recipients:;");
	if (reply.n > 0)
		field_addresses(&w, "Reply-To", &reply);
	put_field(&w, "Message-ID", spec->message_id);
	if (add_unstructured(&w, "User-Agent", ua, err, err_size) < 0)
		goto out;
	put_field(&w, "MIME-Version", "1.0");
	if (spec->attachment_count == 0)
		rc = text_part(&w, spec->body ? spec->body : "", spec->body_len, err, err_size);
	else
		rc = multipart_body(&w, spec, collision_r, err, err_size);
	if (rc == 0 && w.full) {
		set_err(err, err_size, "the message is larger than %zu bytes", out->max);
		rc = -1;
	}
out:
	message_addrs_free(&from);
	message_addrs_free(&to);
	message_addrs_free(&cc);
	message_addrs_free(&reply);
	return rc;
}

static void
fill_info(struct message_info *info, const struct buf *out, size_t start)
{
	struct text_scan s;

	if (info == NULL)
		return;
	s = scan_text(out->data ? out->data + start : "", out->len - start);
	info->size = out->len - start;
	info->has_8bit = s.has_8bit;
	info->has_long_line = s.has_long_line;
}

int
message_build(const struct message_spec *spec, struct buf *out, struct message_info *info_r,
	      char *err, size_t err_size)
{
	size_t start = out->len;
	bool collision = false;

	if (info_r)
		memset(info_r, 0, sizeof *info_r);
	if (build(spec, out, &collision, err, err_size) < 0) {
		buf_truncate(out, start);
		return -1;
	}
	fill_info(info_r, out, start);
	return 0;
}

bool
message_boundary_ok(const struct message_spec *spec)
{
	struct buf scratch;
	bool collision = false;

	if (spec->attachment_count == 0)
		return true;
	if (!boundary_valid(spec->boundary))
		return false;
	buf_init(&scratch, 0);
	build(spec, &scratch, &collision, NULL, 0);
	buf_free(&scratch);
	return !collision;
}

const char *
message_guess_type(const char *filename)
{
	static const char *const types[][2] = {
	    {"txt", "text/plain"},
	    {"text", "text/plain"},
	    {"log", "text/plain"},
	    {"md", "text/markdown"},
	    {"html", "text/html"},
	    {"htm", "text/html"},
	    {"css", "text/css"},
	    {"csv", "text/csv"},
	    {"ics", "text/calendar"},
	    {"vcf", "text/vcard"},
	    {"xml", "application/xml"},
	    {"json", "application/json"},
	    {"js", "text/javascript"},
	    {"pdf", "application/pdf"},
	    {"png", "image/png"},
	    {"jpg", "image/jpeg"},
	    {"jpeg", "image/jpeg"},
	    {"gif", "image/gif"},
	    {"webp", "image/webp"},
	    {"svg", "image/svg+xml"},
	    {"bmp", "image/bmp"},
	    {"ico", "image/vnd.microsoft.icon"},
	    {"tif", "image/tiff"},
	    {"tiff", "image/tiff"},
	    {"zip", "application/zip"},
	    {"gz", "application/gzip"},
	    {"tgz", "application/gzip"},
	    {"bz2", "application/x-bzip2"},
	    {"xz", "application/x-xz"},
	    {"zst", "application/zstd"},
	    {"7z", "application/x-7z-compressed"},
	    {"tar", "application/x-tar"},
	    {"eml", "message/rfc822"},
	    {"mp3", "audio/mpeg"},
	    {"wav", "audio/wav"},
	    {"ogg", "audio/ogg"},
	    {"mp4", "video/mp4"},
	    {"webm", "video/webm"},
	    {"doc", "application/msword"},
	    {"rtf", "application/rtf"},
	    {"asc", "application/pgp-signature"},
	    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
	    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
	    {"odt", "application/vnd.oasis.opendocument.text"},
	    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
	};
	const char *dot = filename ? strrchr(filename, '.') : NULL;

	if (dot != NULL && strchr(dot, '/') == NULL)
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			if (strcasecmp(dot + 1, types[i][0]) == 0)
				return types[i][1];
	return "application/octet-stream";
}

/* ---- messages given as they are ---- */

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
	while (i < len && is_wsp(p[i]))
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
	size_t next = next_line(msg.p, msg.len, *pos, &end);

	if (end == *pos || (colon = field_colon(msg.p + *pos, end - *pos, &name_len)) == 0)
		return false;
	f->start = *pos;
	f->name = (struct strv){msg.p + *pos, name_len};
	colon += *pos + 1;
	while (next < msg.len) {
		size_t after = next_line(msg.p, msg.len, next, &end);
		if (end == next || !is_wsp(msg.p[next]))
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
			set_err(err, err_size, "a header to add holds a line break");
			return -1;
		}
	}
	return 0;
}

int
message_prepare(struct strv in, const struct message_prep *prep, struct buf *out,
		struct message_info *info_r, char *err, size_t err_size)
{
	struct writer w = {out, 0, false, false};
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
			copy_crlf(&w, in.p + f.start, f.end - f.start);
	}
	if (!from && prep->from)
		put_field(&w, "From", prep->from);
	if (!date && prep->date)
		put_field(&w, "Date", prep->date);
	if (!msgid && prep->message_id)
		put_field(&w, "Message-ID", prep->message_id);
	/* a body that follows the fields directly gets its empty line (RFC 5322 2.1) */
	if (pos < in.len && (next_line(in.p, in.len, pos, &end), end != pos))
		put(&w, "\r\n", 2);
	copy_crlf(&w, in.p + pos, in.len - pos);
	if (w.full) {
		buf_truncate(out, start);
		set_err(err, err_size, "the message is larger than %zu bytes", out->max);
		return -1;
	}
	if (info_r) {
		fill_info(info_r, out, start);
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
				set_err(err, err_size, "%s: %s", names[i], why);
				addrs_truncate(list, before);
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
			set_err(err, err_size, "From: %s", why);
			return -1;
		}
		if (list.n == 0) {
			set_err(err, err_size, "From: no address in the field");
			return -1;
		}
		*addr_r = list.v[0].addr;
		list.v[0].addr = NULL;
		message_addrs_free(&list);
		return 0;
	}
	set_err(err, err_size, "the message has no From: field");
	return -1;
}

size_t
message_dot_end(struct strv in, bool ignore_dots, bool *found_r)
{
	size_t pos = 0, end;

	if (found_r)
		*found_r = false;
	while (!ignore_dots && pos < in.len) {
		size_t next = next_line(in.p, in.len, pos, &end);
		if (end == pos + 1 && in.p[pos] == '.') {
			if (found_r)
				*found_r = true;
			return pos;
		}
		pos = next;
	}
	return in.len;
}
