/*
 * addr_list: the RFC 5322 3.4 address-list parser of the message module
 * (message.h), for sendmail -t's recipients, the From: of a message given
 * as it is, and the addresses `send` is given.
 *
 * A tokenizer with one token of look-ahead and no recursion: groups
 * cannot nest (3.4), comments are skipped with a depth counter (3.2.2).
 * It accepts the obsolete forms of 4.4 that real mail still carries
 * (routes, empty list elements, "J. Smith") and sendmail's bare local
 * name ("To: root").
 *
 * Invariant: a parsed address is unfolded (no CR or LF) and non-empty;
 * on error the list holds exactly what it held before the call.
 */
#include "message_internal.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

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
		else if (depth == 0 && !message_is_wsp(c) && c != '\r' && c != '\n')
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
		else if (message_is_ctl(c) && c != '\r' && c != '\n')
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
	if (message_is_atext(c) || c == '.') {
		while (end < ps->len &&
		       (message_is_atext((unsigned char)ps->p[end]) || ps->p[end] == '.'))
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

void
message_addrs_truncate(struct message_addrs *list, size_t n)
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
		mime_set_err(err, err_size, "%s at offset %zu (near \"%s\")", ps.err, at, near);
		message_addrs_truncate(list, before);
		rc = -1;
	}
	buf_free(&ps.name);
	buf_free(&ps.addr);
	return rc;
}
