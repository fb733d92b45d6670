/*
 * smtp_reply: what a server says, read for the client core (see the
 * header). Server bytes are untrusted: a reply is bounded in lines and
 * bytes, its code must be the same on every line, and control bytes in
 * its text become '?'.
 */
#include "smtp_reply.h"

#include <stdint.h>
#include <string.h>

/* RFC 5321 4.5.3.1.5 allows 512 octets a line; a reply of more lines or
 * bytes than this is a broken or hostile server. */
#define REPLY_LINES_MAX 100
#define REPLY_BYTES_MAX 65536

static bool
is_ctl(unsigned char ch)
{
	return ch < 0x20 || ch == 0x7f;
}

static size_t
count_digits(struct strv t, size_t *i, size_t max)
{
	size_t n = 0;
	while (*i < t.len && t.p[*i] >= '0' && t.p[*i] <= '9' && n <= max) {
		(*i)++;
		n++;
	}
	return n;
}

/* RFC 3463 2: class "." subject "." detail, then a space or the end. */
static size_t
esc_len(struct strv t)
{
	size_t i = 0;
	if (count_digits(t, &i, 1) != 1 || i >= t.len || t.p[i++] != '.')
		return 0;
	size_t n = count_digits(t, &i, 3);
	if (n == 0 || n > 3 || i >= t.len || t.p[i++] != '.')
		return 0;
	n = count_digits(t, &i, 3);
	if (n == 0 || n > 3 || (i < t.len && t.p[i] != ' '))
		return 0;
	return i;
}

/* Lines are joined with one space, trimmed, control bytes made '?'. */
static void
reply_append_text(struct smtp_client_reply *r, struct strv t)
{
	while (t.len && t.p[0] == ' ')
		t.p++, t.len--;
	while (t.len && t.p[t.len - 1] == ' ')
		t.len--;
	if (t.len == 0)
		return;
	size_t len = strlen(r->text);
	if (len && len + 1 < sizeof r->text)
		r->text[len++] = ' ';
	for (size_t i = 0; i < t.len && len + 1 < sizeof r->text; i++)
		r->text[len++] = is_ctl((unsigned char)t.p[i]) ? '?' : t.p[i];
	r->text[len] = '\0';
}

/* One line into the reply being read; *text_r is the text after the code. */
enum smtp_reply_line
smtp_reply_add_line(struct smtp_reply_reader *a, struct strv line, struct strv *text_r)
{
	const char *p = line.p;
	if (line.len < 3 || p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '9' || p[2] < '0' ||
	    p[2] > '9')
		return REPLY_BAD;
	if (line.len > 3 && p[3] != ' ' && p[3] != '-')
		return REPLY_BAD;
	int code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	if (a->lines > 0 && code != a->r.code)
		return REPLY_BAD;
	if (++a->lines > REPLY_LINES_MAX || (a->bytes += line.len) > REPLY_BYTES_MAX)
		return REPLY_BAD;
	struct strv t = {p + 3, 0};
	if (line.len > 3)
		t = (struct strv){p + 4, line.len - 4};
	*text_r = t;
	size_t el = esc_len(t);
	if (a->lines == 1) {
		a->r.code = code;
		str_copy_n(a->r.esc, sizeof a->r.esc, t.p, el);
	}
	/* Servers repeat the enhanced code on every line; keep it once. */
	if (el && el == strlen(a->r.esc) && memcmp(t.p, a->r.esc, el) == 0)
		t = (struct strv){t.p + el, t.len - el};
	reply_append_text(&a->r, t);
	return line.len == 3 || p[3] == ' ' ? REPLY_LAST : REPLY_MORE;
}

/* ---- EHLO capabilities ---- */

static unsigned
parse_mechs(struct strv s)
{
	static const struct {
		const char *name;
		unsigned mech;
	} known[] = {
	    {"XOAUTH2", CLIENT_MECH_XOAUTH2},
	    {"OAUTHBEARER", CLIENT_MECH_OAUTHBEARER},
	    {"PLAIN", CLIENT_MECH_PLAIN},
	    {"LOGIN", CLIENT_MECH_LOGIN},
	};
	unsigned mechs = 0;
	size_t i = 0;
	while (i < s.len) {
		while (i < s.len && s.p[i] == ' ')
			i++;
		size_t start = i;
		while (i < s.len && s.p[i] != ' ')
			i++;
		struct strv tok = {s.p + start, i - start};
		for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
			if (strv_eq_ci(tok, known[k].name))
				mechs |= known[k].mech;
	}
	return mechs;
}

static uint64_t
parse_size(struct strv s)
{
	uint64_t n = 0;
	size_t i = 0;
	while (i < s.len && s.p[i] == ' ')
		i++;
	for (; i < s.len && s.p[i] >= '0' && s.p[i] <= '9'; i++) {
		if (n > (UINT64_MAX - 9) / 10)
			return 0; /* absurd: treat as no limit */
		n = n * 10 + (uint64_t)(s.p[i] - '0');
	}
	return n;
}

static void
caps_auth(struct smtp_client_caps *k, struct strv args, bool tls, bool old_form)
{
	while (args.len && args.p[0] == ' ')
		args.p++, args.len--;
	k->auth_mechs |= parse_mechs(args);
	if (!tls)
		k->auth_before_tls = true;
	/* The RFC 4954 form wins over the pre-standard AUTH= form. */
	if (old_form && k->auth_line[0])
		return;
	size_t n = args.len < sizeof k->auth_line ? args.len : sizeof k->auth_line - 1;
	for (size_t i = 0; i < n; i++)
		k->auth_line[i] = is_ctl((unsigned char)args.p[i]) ? '?' : args.p[i];
	k->auth_line[n] = '\0';
}

/* Keep the line as offered, for a report that names every extension. */
static void
caps_keep_line(struct smtp_client_caps *k, struct strv t)
{
	size_t used = strlen(k->keywords);
	if (t.len == 0)
		return;
	if (k->keywords_dropped || used + t.len + 2 > sizeof k->keywords) { /* a prefix, in order */
		k->keywords_dropped++;
		return;
	}
	for (size_t i = 0; i < t.len; i++)
		k->keywords[used + i] = is_ctl((unsigned char)t.p[i]) ? '?' : t.p[i];
	k->keywords[used + t.len] = '\n';
	k->keywords[used + t.len + 1] = '\0';
}

void
smtp_ehlo_keyword(struct smtp_client_caps *k, struct strv t, bool tls, bool *size_offered_r)
{
	caps_keep_line(k, t);
	size_t i = 0;
	while (i < t.len && t.p[i] != ' ')
		i++;
	struct strv kw = {t.p, i}, args = {t.p + i, t.len - i};
	if (strv_eq_ci(kw, "STARTTLS"))
		k->starttls = true;
	else if (strv_eq_ci(kw, "PIPELINING"))
		k->pipelining = true;
	else if (strv_eq_ci(kw, "8BITMIME"))
		k->eightbitmime = true;
	else if (strv_eq_ci(kw, "SMTPUTF8"))
		k->smtputf8 = true;
	else if (strv_eq_ci(kw, "CHUNKING"))
		k->chunking = true;
	else if (strv_eq_ci(kw, "ENHANCEDSTATUSCODES"))
		k->enhancedstatuscodes = true;
	else if (strv_eq_ci(kw, "DSN"))
		k->dsn = true;
	else if (strv_eq_ci(kw, "REQUIRETLS"))
		k->requiretls = true;
	else if (strv_eq_ci(kw, "SIZE")) {
		*size_offered_r = true;
		k->size = parse_size(args);
	} else if (strv_eq_ci(kw, "AUTH"))
		caps_auth(k, args, tls, false);
	else if (strv_prefix_ci(kw, "AUTH="))
		caps_auth(k, (struct strv){t.p + 5, t.len - 5}, tls, true);
}
