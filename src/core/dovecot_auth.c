/*
 * dovecot_auth: Dovecot's auth client protocol, pure (dovecot_auth.h).
 *
 * Each line is split on TABs; the first field names the command, the
 * rest are positional arguments or "key=value" / bare-flag parameters.
 * Unknown parameters are ignored, as the protocol asks of clients, and
 * unknown commands too (a newer server may send more); what must be a
 * number is checked to be one. The session accepts OK/FAIL only for the
 * id it sent, and only after DONE.
 */
#include "dovecot_auth.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

#define FIELDS_MAX 64

/* Copy v unescaped (\001 + 1/t/n/r) into out[size], cut to fit. false: a bad escape. */
static bool
unescape(struct strv v, char *out, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < v.len; i++) {
		char c = v.p[i];
		if (c == '\001') {
			if (++i == v.len)
				return false;
			switch (v.p[i]) {
			case '1':
				c = '\001';
				break;
			case 't':
				c = '\t';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			default:
				return false;
			}
		}
		if (c == '\0')
			return false; /* a NUL would cut the string where we do not see it */
		if (o + 1 < size)
			out[o++] = c;
	}
	if (size)
		out[o] = '\0';
	return true;
}

/* A decimal number without sign or junk, up to max. */
static bool
number(struct strv v, unsigned long max, unsigned long *r)
{
	if (v.len == 0 || v.len > 20)
		return false;
	unsigned long n = 0;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return false;
		unsigned d = (unsigned)(v.p[i] - '0');
		if (n > (max - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*r = n;
	return true;
}

static size_t
split(struct strv line, struct strv *f)
{
	size_t n = 0, start = 0;
	for (size_t i = 0; i <= line.len && n < FIELDS_MAX; i++) {
		if (i == line.len || line.p[i] == '\t') {
			f[n++] = (struct strv){line.p + start, i - start};
			start = i + 1;
		}
	}
	return n;
}

static bool
is(struct strv v, const char *word)
{
	size_t n = strlen(word);
	return v.len == n && memcmp(v.p, word, n) == 0;
}

static enum dovecot_line
bad(struct dovecot_reply *r, const char *why)
{
	r->kind = DOVECOT_L_BAD;
	r->bad = why;
	return r->kind;
}

/* OK, CONT, FAIL: "<id>" then parameters. */
static enum dovecot_line
parse_result(struct dovecot_reply *r, const struct strv *f, size_t n)
{
	if (n < 2 || !number(f[1], ULONG_MAX, &r->id))
		return bad(r, "the request id is missing or not a number");
	for (size_t i = 2; i < n; i++) {
		const struct strv v = f[i];
		if (r->kind == DOVECOT_L_CONT)
			break; /* the challenge: not for PLAIN */
		if (v.len >= 5 && memcmp(v.p, "user=", 5) == 0) {
			if (!unescape((struct strv){v.p + 5, v.len - 5}, r->user, sizeof r->user))
				return bad(r, "a bad escape in user=");
		} else if (v.len >= 7 && memcmp(v.p, "reason=", 7) == 0) {
			if (!unescape((struct strv){v.p + 7, v.len - 7}, r->reason,
				      sizeof r->reason))
				return bad(r, "a bad escape in reason=");
		} else if (is(v, "temp")) {
			r->temp = true;
		} else if (is(v, "nologin")) {
			r->nologin = true;
		}
	}
	return r->kind;
}

enum dovecot_line
dovecot_auth_parse_line(struct strv line, struct dovecot_reply *r)
{
	memset(r, 0, sizeof *r);
	if (line.len > DOVECOT_AUTH_LINE_MAX)
		return bad(r, "the line is too long");
	if (line.len && line.p[line.len - 1] == '\r')
		line.len--; /* not Dovecot's, but harmless */
	struct strv f[FIELDS_MAX];
	size_t n = split(line, f);
	unsigned long v;
	if (is(f[0], "VERSION")) {
		r->kind = DOVECOT_L_VERSION;
		if (n < 3 || !number(f[1], UINT_MAX, &v))
			return bad(r, "VERSION without two numbers");
		r->major = (unsigned)v;
		if (!number(f[2], UINT_MAX, &v))
			return bad(r, "VERSION without two numbers");
		r->minor = (unsigned)v;
	} else if (is(f[0], "MECH")) {
		r->kind = DOVECOT_L_MECH;
		if (n < 2 || f[1].len == 0 || !unescape(f[1], r->mech, sizeof r->mech))
			return bad(r, "MECH without a mechanism");
		for (char *c = r->mech; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		for (size_t i = 2; i < n; i++)
			r->plaintext = r->plaintext || is(f[i], "plaintext");
	} else if (is(f[0], "SPID") || is(f[0], "CUID")) {
		r->kind = is(f[0], "SPID") ? DOVECOT_L_SPID : DOVECOT_L_CUID;
		if (n < 2 || !number(f[1], ULONG_MAX, &v))
			return bad(r, "SPID or CUID without a number");
	} else if (is(f[0], "COOKIE")) {
		r->kind = DOVECOT_L_COOKIE;
	} else if (is(f[0], "DONE")) {
		r->kind = DOVECOT_L_DONE;
	} else if (is(f[0], "OK") || is(f[0], "CONT") || is(f[0], "FAIL")) {
		r->kind = is(f[0], "OK")     ? DOVECOT_L_OK
			  : is(f[0], "CONT") ? DOVECOT_L_CONT
					     : DOVECOT_L_FAIL;
		return parse_result(r, f, n);
	} else if (f[0].len == 0) {
		return bad(r, "an empty line");
	} else {
		r->kind = DOVECOT_L_OTHER;
	}
	return r->kind;
}

void
dovecot_auth_hello(struct buf *out, unsigned long pid)
{
	buf_printf(out, "VERSION\t1\t2\nCPID\t%lu\n", pid);
}

/* s escaped the Dovecot way, appended to out. */
static void
append_escaped(struct buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '\001':
			buf_append_str(out, "\0011");
			break;
		case '\t':
			buf_append_str(out, "\001t");
			break;
		case '\n':
			buf_append_str(out, "\001n");
			break;
		case '\r':
			buf_append_str(out, "\001r");
			break;
		default:
			buf_append(out, s, 1);
		}
	}
}

bool
dovecot_auth_request(struct buf *out, const struct dovecot_auth_request *req)
{
	/* RFC 4616: [authzid] NUL authcid NUL passwd, each at most 255 octets. */
	size_t ul = strlen(req->user), pl = strlen(req->password);
	if (ul == 0 || ul > 255 || pl > 255)
		return false;
	char raw[2 + 255 + 255], enc[((sizeof raw + 2) / 3) * 4 + 1];
	raw[0] = '\0';
	memcpy(raw + 1, req->user, ul);
	raw[1 + ul] = '\0';
	memcpy(raw + 2 + ul, req->password, pl);
	b64_encode(raw, 2 + ul + pl, enc);
	explicit_bzero(raw, sizeof raw);
	buf_printf(out, "AUTH\t%lu\tPLAIN\tservice=", req->id);
	append_escaped(out, req->service ? req->service : "smtp");
	if (req->secured)
		buf_append_str(out, "\tsecured");
	if (req->lip && *req->lip) {
		buf_append_str(out, "\tlip=");
		append_escaped(out, req->lip);
	}
	if (req->rip && *req->rip) {
		buf_append_str(out, "\trip=");
		append_escaped(out, req->rip);
	}
	buf_printf(out, "\tresp=%s\n", enc);
	explicit_bzero(enc, sizeof enc);
	return true;
}

void
dovecot_auth_init(struct dovecot_auth *a)
{
	memset(a, 0, sizeof *a);
	a->verdict = DOVECOT_PENDING;
}

void
dovecot_auth_sent(struct dovecot_auth *a, unsigned long id)
{
	a->sent = true;
	a->id = id;
}

static enum dovecot_verdict
error(struct dovecot_auth *a, const char *why)
{
	a->verdict = DOVECOT_ERROR;
	snprintf(a->why, sizeof a->why, "%s", why);
	return a->verdict;
}

enum dovecot_verdict
dovecot_auth_feed(struct dovecot_auth *a, struct strv line)
{
	if (a->verdict != DOVECOT_PENDING && a->verdict != DOVECOT_READY)
		return a->verdict; /* decided: nothing more counts */
	struct dovecot_reply r;
	switch (dovecot_auth_parse_line(line, &r)) {
	case DOVECOT_L_BAD:
		return error(a, r.bad);
	case DOVECOT_L_VERSION:
		if (a->got_version)
			return error(a, "a second VERSION line");
		/* Same major version, any minor (the protocol's rule). */
		if (r.major != 1)
			return error(a, "the server speaks another major version of the protocol");
		a->got_version = true;
		return a->verdict;
	case DOVECOT_L_MECH:
		if (a->done)
			return error(a, "MECH after DONE");
		a->plain = a->plain || strcmp(r.mech, "PLAIN") == 0;
		return a->verdict;
	case DOVECOT_L_DONE:
		if (!a->got_version)
			return error(a, "DONE before VERSION");
		if (a->done)
			return error(a, "a second DONE");
		a->done = true;
		if (!a->plain)
			return error(a,
				     "the server does not offer PLAIN (auth_mechanisms = plain)");
		a->verdict = DOVECOT_READY;
		return a->verdict;
	case DOVECOT_L_OK:
	case DOVECOT_L_FAIL:
	case DOVECOT_L_CONT:
		if (!a->sent)
			return error(a, "a reply to a request that was not made");
		if (r.id != a->id)
			return error(a, "a reply for another request id");
		a->last = r;
		if (r.kind == DOVECOT_L_CONT)
			return error(a, "a challenge (CONT) for PLAIN with its response");
		a->verdict = r.kind == DOVECOT_L_OK ? DOVECOT_OK
			     : r.temp		    ? DOVECOT_TEMPFAIL
						    : DOVECOT_FAIL;
		return a->verdict;
	case DOVECOT_L_SPID:
	case DOVECOT_L_CUID:
	case DOVECOT_L_COOKIE:
	case DOVECOT_L_OTHER:
		return a->verdict;
	}
	return error(a, "unreachable"); /* every kind is handled above */
}
