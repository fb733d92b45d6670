/*
 * auth_results: RFC 8601 writer and the authserv-id test (see the header).
 */
#include "auth_results.h"

#include <string.h>
#include <strings.h>

#include "str.h"

#define AR_NAME "Authentication-Results"
#define AR_MAX 16384

static void
fold(struct auth_results *ar)
{
	buf_append_str(&ar->out, "\r\n\t");
	ar->line = 1;
}

/* One unit that is never split; a space or a fold before it. */
static void
word(struct auth_results *ar, const char *w, size_t n)
{
	if (ar->line > 1 && ar->line + 1 + n > AUTH_RESULTS_FOLD) {
		fold(ar);
	} else {
		buf_append(&ar->out, " ", 1);
		ar->line++;
	}
	buf_append(&ar->out, w, n);
	ar->line += n;
}

void
auth_results_init(struct auth_results *ar, const char *authserv_id, bool comments)
{
	buf_init(&ar->out, AR_MAX);
	ar->any = false;
	ar->comments = comments;
	buf_append_str(&ar->out, AR_NAME ":");
	ar->line = sizeof AR_NAME;
	word(ar, authserv_id, strlen(authserv_id));
}

static bool
printable(unsigned char c)
{
	return c >= 0x20 && c < 0x7f;
}

static void
comment(struct auth_results *ar, const char *text)
{
	struct buf c;
	buf_init(&c, 0);
	buf_append(&c, "(", 1);
	for (const char *p = text; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '(' || ch == ')' || ch == '\\')
			buf_append(&c, "\\", 1); /* RFC 5322 3.2.1 quoted-pair */
		if (ch == '\t' || ch == '\r' || ch == '\n')
			ch = ' ';
		if (!printable(ch))
			ch = '?';
		if (ch == ' ' && c.data[c.len - 1] == ' ')
			continue; /* one space is enough */
		buf_append(&c, (char *)&ch, 1);
	}
	while (c.len > 1 && c.data[c.len - 1] == ' ')
		c.len--;
	buf_append(&c, ")", 1);
	if (c.len > 2) {
		/* a comment may fold at any of its spaces (CFWS) */
		size_t start = 0;
		for (size_t i = 0; i <= c.len; i++) {
			if (i == c.len || c.data[i] == ' ') {
				word(ar, c.data + start, i - start);
				start = i + 1;
			}
		}
	}
	buf_free(&c);
}

void
auth_results_method(struct auth_results *ar, const char *method, const char *result,
		    const char *comment_text)
{
	buf_append(&ar->out, ";", 1);
	fold(ar); /* each resinfo on a line of its own */
	buf_printf(&ar->out, "%s=%s", method, result);
	ar->line += strlen(method) + 1 + strlen(result);
	ar->any = true;
	if (ar->comments && comment_text != NULL && comment_text[0] != '\0')
		comment(ar, comment_text);
}

/* RFC 2045 5.1 token: no space, control or tspecial. Bytes over 0x7e (UTF-8,
 * RFC 6532) are not in tokens here: such values are quoted. */
static bool
token_char(unsigned char c)
{
	return printable(c) && c != ' ' && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static bool
atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* A dot-atom: atoms of atext separated by single dots. */
static bool
dot_atom(const char *p, size_t n)
{
	if (n == 0 || p[0] == '.' || p[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '.' ? p[i + 1] == '.' : !atext((unsigned char)p[i]))
			return false;
	}
	return true;
}

/* RFC 8601 2.2 pvalue without quotes: a token, or [local-part] "@" domain-name. */
static bool
bare_value(const char *v)
{
	size_t n = strlen(v);
	const char *at = strrchr(v, '@');
	if (at == NULL) {
		for (size_t i = 0; i < n; i++) {
			if (!token_char((unsigned char)v[i]))
				return false;
		}
		return n > 0;
	}
	size_t ll = (size_t)(at - v);
	return (ll == 0 || dot_atom(v, ll)) && dot_atom(at + 1, n - ll - 1) &&
	       strchr(at + 1, '/') == NULL && strchr(at + 1, '=') == NULL;
}

void
auth_results_prop(struct auth_results *ar, const char *ptype_property, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return;
	struct buf w;
	buf_init(&w, 0);
	buf_printf(&w, "%s=", ptype_property);
	if (bare_value(value)) {
		buf_append_str(&w, value);
	} else {
		buf_append(&w, "\"", 1);
		for (const char *p = value; *p != '\0'; p++) {
			unsigned char ch = (unsigned char)*p;
			if (ch == '"' || ch == '\\')
				buf_append(&w, "\\", 1);
			if (!printable(ch))
				ch = '?';
			buf_append(&w, (char *)&ch, 1);
		}
		buf_append(&w, "\"", 1);
	}
	word(ar, w.data, w.len);
	buf_free(&w);
}

const char *
auth_results_finish(struct auth_results *ar, size_t *len)
{
	if (!ar->any)
		buf_append_str(&ar->out, "; none"); /* RFC 8601 2.2 no-result */
	buf_append_str(&ar->out, "\r\n");
	if (len != NULL)
		*len = ar->out.len;
	return ar->out.data;
}

void
auth_results_free(struct auth_results *ar)
{
	buf_free(&ar->out);
}

/* ---- is this field ours? ---- */

/* Skips CFWS from p[i]: spaces, folds and (nested) comments. false when a
 * comment does not end. */
static bool
skip_cfws(const char *p, size_t n, size_t *i)
{
	while (*i < n) {
		char c = p[*i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			(*i)++;
		} else if (c == '(') {
			unsigned depth = 0;
			for (; *i < n; (*i)++) {
				if (p[*i] == '\\')
					(*i)++;
				else if (p[*i] == '(')
					depth++;
				else if (p[*i] == ')' && --depth == 0)
					break;
			}
			if (*i >= n)
				return false;
			(*i)++;
		} else {
			break;
		}
	}
	return true;
}

static bool
same_id(const char *got, size_t n, const char *ours)
{
	size_t m = strlen(ours);
	if (n > 0 && got[n - 1] == '.')
		n--;
	if (m > 0 && ours[m - 1] == '.')
		m--;
	return n == m && strncasecmp(got, ours, n) == 0;
}

bool
auth_results_is_ours(const char *raw, size_t len, const char *authserv_id)
{
	const char *colon = memchr(raw, ':', len);
	if (colon == NULL)
		return true; /* not even a field: cannot tell, so ours */
	struct strv name = {raw, (size_t)(colon - raw)};
	while (name.len > 0 && (name.p[name.len - 1] == ' ' || name.p[name.len - 1] == '\t'))
		name.len--; /* RFC 5322 4.5 obs: WSP before the colon */
	if (!strv_eq_ci(name, AR_NAME))
		return false;

	size_t i = (size_t)(colon - raw) + 1;
	char id[256];
	size_t n = 0;
	if (!skip_cfws(raw, len, &i) || i >= len)
		return true;
	if (raw[i] == '"') { /* quoted-string: unescape */
		for (i++; i < len && raw[i] != '"'; i++) {
			if (raw[i] == '\\' && ++i >= len)
				return true;
			if (n + 1 >= sizeof id)
				return true;
			id[n++] = raw[i];
		}
		if (i >= len)
			return true; /* unterminated */
		i++;
	} else {
		while (i < len &&
		       (token_char((unsigned char)raw[i]) || (unsigned char)raw[i] >= 0x80)) {
			if (n + 1 >= sizeof id)
				return true;
			id[n++] = raw[i++];
		}
	}
	if (n == 0)
		return true;
	/* What may follow the authserv-id: CFWS, ";" or the end. */
	if (i < len && strchr(" \t\r\n(;", raw[i]) == NULL)
		return true;
	return same_id(id, n, authserv_id);
}
