/*
 * long_lines: re-encode what does not fit SMTP's 998-octet lines (see
 * long_lines.h for the rules).
 *
 * The message is walked as a tree of MIME entities (RFC 2045, 2046): an
 * entity without a long line is copied as it is; one with a long line is
 * taken apart: its header folded, a multipart's parts walked in turn, a
 * message/rfc822 body walked as a message, a leaf body re-encoded. Every
 * write goes through the writer, which remembers the first failure (the
 * output buffer's cap), so the walk needs no error checks of its own.
 */
#include "long_lines.h"

#include <string.h>

#define QP_LINE 76	     /* RFC 2045 6.7 (5): encoded lines of at most 76 characters */
#define FIELD_VALUE_MAX 4096 /* what we read of a Content-Type value */
#define TYPE_MAX 128
#define BOUNDARY_MAX 70 /* RFC 2046 5.1.1 */

struct writer {
	struct buf *out;
	enum long_lines_rc rc; /* LL_REENCODED until something fails */
};

static void
put(struct writer *w, const char *p, size_t n)
{
	if (w->rc == LL_REENCODED && n > 0 && !buf_append(w->out, p, n))
		w->rc = LL_UNFIXABLE;
}

static void
fail(struct writer *w, enum long_lines_rc rc)
{
	if (w->rc == LL_REENCODED)
		w->rc = rc;
}

bool
long_lines_present(const char *p, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') {
			len = 0;
			i++;
		} else if (++len > LONG_LINES_MAX) {
			return true;
		}
	}
	return false;
}

/* The end of the line starting at i: the offset after its CRLF (or n). */
static size_t
line_end(const char *p, size_t n, size_t i)
{
	for (; i < n; i++)
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			return i + 2;
	return n;
}

/* ---- the header ---- */

struct entity {
	const char *p;
	size_t n;
	size_t head_len; /* the header fields, their last CRLF included */
	size_t body;	 /* where the body starts (after the empty line) */
};

static void
entity_split(const char *p, size_t n, struct entity *e)
{
	e->p = p;
	e->n = n;
	size_t i = 0;
	while (i < n && !(p[i] == '\r' && i + 1 < n && p[i + 1] == '\n'))
		i = line_end(p, n, i);
	e->head_len = i;
	e->body = i < n ? i + 2 : n;
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Does the field starting at line offset i have this name (case-insensitive)? */
static bool
field_is(const struct entity *e, size_t i, const char *name)
{
	size_t k = strlen(name);
	return i + k < e->head_len && e->p[i + k] == ':' &&
	       strv_eq_ci((struct strv){e->p + i, k}, name);
}

/* The end of the field starting at i, continuation lines included. */
static size_t
field_end(const struct entity *e, size_t i)
{
	do
		i = line_end(e->p, e->head_len, i);
	while (i < e->head_len && is_wsp(e->p[i]));
	return i;
}

/* The unfolded value of the first field called name, in out; false if absent. */
static bool
field_value(const struct entity *e, const char *name, char *out, size_t size)
{
	for (size_t i = 0; i < e->head_len; i = field_end(e, i)) {
		if (!field_is(e, i, name))
			continue;
		size_t o = 0, end = field_end(e, i);
		for (size_t j = i + strlen(name) + 1; j < end && o + 1 < size; j++)
			if (e->p[j] != '\r' && e->p[j] != '\n')
				out[o++] = e->p[j];
		out[o] = '\0';
		return true;
	}
	return false;
}

/* One header line, folded before white space so that no piece exceeds the limit. */
static void
fold_line(struct writer *w, const char *p, size_t n)
{
	while (n > LONG_LINES_MAX) {
		size_t cut = LONG_LINES_MAX;
		while (cut > 0 && !is_wsp(p[cut]))
			cut--;
		if (cut == 0) {
			fail(w, LL_UNFIXABLE); /* RFC 5322 2.2.3 folds only at white space */
			return;
		}
		put(w, p, cut);
		put(w, "\r\n", 2);
		p += cut;
		n -= cut;
	}
	put(w, p, n);
}

/*
 * The header fields, long lines folded. qp: the body becomes
 * quoted-printable, so the old Content-Transfer-Encoding goes and the new
 * one is added (with MIME-Version at the top of a message that lacks it).
 */
static void
put_header(struct writer *w, const struct entity *e, bool qp, bool top)
{
	bool has_version = false;
	for (size_t i = 0; i < e->head_len;) {
		size_t end = field_end(e, i);
		has_version |= field_is(e, i, "MIME-Version");
		if (qp && field_is(e, i, "Content-Transfer-Encoding")) {
			i = end;
			continue;
		}
		while (i < end) {
			size_t le = line_end(e->p, end, i);
			size_t text = le - i >= 2 && e->p[le - 1] == '\n' ? le - i - 2 : le - i;
			fold_line(w, e->p + i, text);
			put(w, "\r\n", 2);
			i = le;
		}
	}
	if (qp && top && !has_version)
		put(w, "MIME-Version: 1.0\r\n", 19);
	if (qp)
		put(w, "Content-Transfer-Encoding: quoted-printable\r\n", 45);
	put(w, "\r\n", 2);
}

/* ---- Content-Type ---- */

struct ctype {
	char type[TYPE_MAX]; /* "text/plain", lower case */
	char boundary[BOUNDARY_MAX + 1];
};

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void
ctype_parse(const struct entity *e, struct ctype *ct)
{
	char v[FIELD_VALUE_MAX];
	memset(ct, 0, sizeof *ct);
	if (!field_value(e, "Content-Type", v, sizeof v)) {
		strcpy(ct->type, "text/plain"); /* RFC 2045 5.2 */
		return;
	}
	const char *s = v;
	while (is_wsp(*s))
		s++;
	size_t o = 0;
	for (; *s && *s != ';' && !is_wsp(*s) && o + 1 < sizeof ct->type; s++)
		ct->type[o++] = lower(*s);
	/* The boundary parameter, quoted or a token (RFC 2045 5.1). */
	for (const char *b = s; (b = strchr(b, ';')) != NULL;) {
		for (b++; is_wsp(*b); b++)
			;
		if (!strv_prefix_ci((struct strv){b, strlen(b)}, "boundary="))
			continue;
		b += 9;
		bool quoted = *b == '"';
		b += quoted;
		o = 0;
		for (; *b && o < BOUNDARY_MAX; b++) {
			if (quoted ? *b == '"' : (*b == ';' || is_wsp(*b)))
				break;
			ct->boundary[o++] = *b;
		}
		ct->boundary[o] = '\0';
		break;
	}
}

/* ---- leaf bodies ---- */

static bool
qp_literal(unsigned char c)
{
	return (c >= 33 && c <= 126 && c != '=') || c == ' ' || c == '\t';
}

/* RFC 2045 6.7: p[0..n) as quoted-printable, each CRLF a hard line break. */
static void
qp_encode(struct writer *w, const char *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') {
			put(w, "\r\n", 2);
			col = 0;
			i++;
			continue;
		}
		unsigned char c = (unsigned char)p[i];
		bool at_end = i + 1 == n || (p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n');
		/* Rule 3: white space at the end of a line is encoded, or it would be lost. */
		bool literal = qp_literal(c) && !(is_wsp((char)c) && at_end);
		char enc[3] = {(char)c, 0, 0};
		size_t k = 1;
		if (!literal) {
			enc[0] = '=';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			k = 3;
		}
		if (col + k > QP_LINE - 1) { /* room for the soft break's "=" */
			put(w, "=\r\n", 3);
			col = 0;
		}
		put(w, enc, k);
		col += k;
	}
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode quoted-printable leniently: a bad "=" stays as it is. */
static void
qp_decode(const char *p, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '=' && i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
			i += 2; /* a soft line break */
			continue;
		}
		int hi = p[i] == '=' && i + 2 < n ? hex_value(p[i + 1]) : -1;
		int lo = hi >= 0 ? hex_value(p[i + 2]) : -1;
		if (lo >= 0) {
			char c = (char)(hi * 16 + lo);
			buf_append(out, &c, 1);
			i += 2;
			continue;
		}
		buf_append(out, p + i, 1);
	}
}

/* base64 text wrapped anew at 76 characters (its line breaks carry no data). */
static void
b64_rewrap(struct writer *w, const char *p, size_t n)
{
	size_t col = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' || p[i] == '\n' || is_wsp(p[i]))
			continue;
		put(w, p + i, 1);
		if (++col == QP_LINE) {
			put(w, "\r\n", 2);
			col = 0;
		}
	}
	if (col > 0)
		put(w, "\r\n", 2);
}

/* A leaf entity with a long line in its body. */
static void
put_leaf(struct writer *w, const struct entity *e, bool top)
{
	char cte[64] = "7bit";
	field_value(e, "Content-Transfer-Encoding", cte, sizeof cte);
	struct strv enc = {cte, strlen(cte)};
	while (enc.len > 0 && is_wsp(enc.p[0]))
		enc = (struct strv){enc.p + 1, enc.len - 1};
	while (enc.len > 0 && is_wsp(enc.p[enc.len - 1]))
		enc.len--;
	const char *body = e->p + e->body;
	size_t blen = e->n - e->body;
	if (strv_eq_ci(enc, "base64")) {
		put_header(w, e, false, top);
		b64_rewrap(w, body, blen);
	} else if (strv_eq_ci(enc, "quoted-printable")) {
		struct buf raw;
		buf_init(&raw, 0);
		qp_decode(body, blen, &raw);
		put_header(w, e, true, top);
		qp_encode(w, raw.data ? raw.data : "", raw.len);
		buf_free(&raw);
	} else if (strv_eq_ci(enc, "7bit") || strv_eq_ci(enc, "8bit") ||
		   strv_eq_ci(enc, "binary")) {
		put_header(w, e, true, top);
		qp_encode(w, body, blen);
	} else {
		fail(w, LL_UNFIXABLE); /* an encoding we cannot undo (x-uuencode...) */
	}
}

/* ---- the walk ---- */

static void put_entity(struct writer *w, const char *p, size_t n, bool top);

/* Text nobody reads (a preamble, an epilogue): broken at the limit. */
static void
put_broken(struct writer *w, const char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t le = line_end(p, n, i), text = le - i;
		bool crlf = text >= 2 && p[le - 1] == '\n' && p[le - 2] == '\r';
		text -= crlf ? 2 : 0;
		for (size_t k = 0; k < text; k += LONG_LINES_MAX) {
			size_t piece = text - k < LONG_LINES_MAX ? text - k : LONG_LINES_MAX;
			put(w, p + i + k, piece);
			if (k + piece < text)
				put(w, "\r\n", 2);
		}
		if (crlf)
			put(w, "\r\n", 2);
		i = le;
	}
}

/*
 * RFC 2046 5.1.1: is the line at i a delimiter, "--" boundary ["--"], then
 * only white space (transport padding)? *closing: it has the "--".
 */
static bool
is_delimiter(const char *p, size_t n, size_t i, const char *boundary, bool *closing)
{
	size_t k = strlen(boundary), le = line_end(p, n, i);
	size_t end = le >= i + 2 && p[le - 1] == '\n' ? le - 2 : le;
	if (end - i < k + 2 || p[i] != '-' || p[i + 1] != '-' || memcmp(p + i + 2, boundary, k))
		return false;
	size_t j = i + 2 + k;
	*closing = end - j >= 2 && p[j] == '-' && p[j + 1] == '-';
	for (j += *closing ? 2 : 0; j < end; j++)
		if (!is_wsp(p[j]))
			return false;
	return true;
}

/* Where the next delimiter line starts at or after i; n if none. */
static size_t
next_delimiter(const char *p, size_t n, size_t i, const char *boundary, bool *closing)
{
	for (; i < n; i = line_end(p, n, i))
		if (is_delimiter(p, n, i, boundary, closing))
			return i;
	return n;
}

/* A delimiter line, its transport padding dropped (it may be long). */
static void
put_delimiter(struct writer *w, const char *boundary, bool closing, bool crlf)
{
	put(w, "--", 2);
	put(w, boundary, strlen(boundary));
	if (closing)
		put(w, "--", 2);
	if (crlf)
		put(w, "\r\n", 2);
}

/* RFC 2046 5.1.1: the CRLF before a delimiter belongs to the delimiter. */
static void
put_multipart_body(struct writer *w, const char *p, size_t n, const char *boundary)
{
	bool closing = false;
	size_t d = next_delimiter(p, n, 0, boundary, &closing);
	put_broken(w, p, d); /* the preamble, its last CRLF included */
	while (d < n) {
		size_t e = line_end(p, n, d);
		put_delimiter(w, boundary, closing, p[e - 1] == '\n');
		if (closing) {
			put_broken(w, p + e, n - e); /* the epilogue */
			return;
		}
		size_t d2 = next_delimiter(p, n, e, boundary, &closing);
		size_t part_end = d2 < n && d2 >= e + 2 ? d2 - 2 : d2;
		put_entity(w, p + e, part_end - e, false);
		put(w, p + part_end, d2 - part_end);
		d = d2;
	}
}

static void
put_entity(struct writer *w, const char *p, size_t n, bool top)
{
	if (!long_lines_present(p, n)) {
		put(w, p, n);
		return;
	}
	struct entity e;
	entity_split(p, n, &e);
	struct ctype ct;
	ctype_parse(&e, &ct);
	if (strcmp(ct.type, "multipart/signed") == 0 ||
	    (top && field_value(&e, "DKIM-Signature", (char[2]){0}, 2))) {
		fail(w, LL_SIGNED);
		return;
	}
	bool multipart = strncmp(ct.type, "multipart/", 10) == 0 && ct.boundary[0];
	bool message = strcmp(ct.type, "message/rfc822") == 0;
	if (!multipart && !message && long_lines_present(p + e.body, n - e.body)) {
		put_leaf(w, &e, top);
		return;
	}
	put_header(w, &e, false, top);
	if (multipart)
		put_multipart_body(w, p + e.body, n - e.body, ct.boundary);
	else if (message)
		put_entity(w, p + e.body, n - e.body, false);
	else
		put(w, p + e.body, n - e.body);
}

enum long_lines_rc
long_lines_fix(struct strv msg, struct buf *out)
{
	if (!long_lines_present(msg.p, msg.len))
		return LL_UNCHANGED;
	struct writer w = {out, LL_REENCODED};
	put_entity(&w, msg.p, msg.len, true);
	return w.rc;
}

const char *
long_lines_reason(enum long_lines_rc rc)
{
	switch (rc) {
	case LL_SIGNED:
		return "the message has a line longer than 998 octets (RFC 5321 4.5.3.1.6) and is "
		       "signed (DKIM or S/MIME), so it cannot be re-encoded without breaking the "
		       "signature; have the signing program encode the body as quoted-printable "
		       "or base64";
	case LL_UNFIXABLE:
		return "the message has a line longer than 998 octets (RFC 5321 4.5.3.1.6) that "
		       "cannot be re-encoded (a header line without white space to fold at, or an "
		       "unknown Content-Transfer-Encoding); send the body as quoted-printable or "
		       "base64";
	case LL_UNCHANGED:
	case LL_REENCODED:
		break;
	}
	return "";
}
