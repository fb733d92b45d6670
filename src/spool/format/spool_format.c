/*
 * spool_format: the codec of the spool's envelope header, .state and
 * .retry files and of queue ids (spool_format.h; the format is described
 * in spool.h). Pure: no I/O, no clock; spool_write.c, spool_read.c and
 * queue_view.c use it, and nothing else in the program parses these files.
 */
#include "spool_format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"
#include "xmalloc.h"

/* ---- queue ids ---- */

static bool
is_upper_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

bool
spool_id_valid(const char *s)
{
	size_t i;
	for (i = 0; i < SPOOL_QID_SIZE - 1; i++)
		if (!is_upper_hex(s[i]))
			return false;
	return s[i] == '\0';
}

void
spool_id_format(char out[SPOOL_QID_SIZE], int64_t now, unsigned counter, uint16_t rnd)
{
	snprintf(out, SPOOL_QID_SIZE, "%08" PRIX32 "%04X%04X", (uint32_t)now, counter & 0xffffu,
		 (unsigned)rnd);
}

/* ---- values ---- */

void
spool_value_put(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c == 0x7f || c == '%')
			buf_printf(b, "%%%02X", c);
		else
			buf_append(b, s, 1);
	}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool
spool_value_decode(const char *s, size_t len, struct buf *b)
{
	buf_reset(b);
	buf_append(b, "", 0); /* data is a string even when empty */
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= len)
				return false;
			int hi = hexval((unsigned char)s[i + 1]);
			int lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return false;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		buf_append(b, &c, 1);
	}
	return true;
}

/* ---- encoding the envelope header ---- */

static void
put_addr(struct buf *b, const struct smtp_addr *a)
{
	if (a->is_null)
		return;
	struct buf t;
	buf_init(&t, 0);
	buf_printf(&t, "%s@%s", a->local, a->domain);
	spool_value_put(b, t.data);
	buf_free(&t);
}

static void
put_rcpt(struct buf *b, const struct smtp_rcpt_args *r)
{
	buf_append_str(b, "rcpt ");
	put_addr(b, &r->to);
	if (r->notify_set) {
		buf_append_str(b, " notify=");
		if (r->notify == 0)
			buf_append_str(b, "NEVER");
		const char *sep = "";
		if (r->notify & SMTP_NOTIFY_SUCCESS)
			buf_printf(b, "%sSUCCESS", sep), sep = ",";
		if (r->notify & SMTP_NOTIFY_FAILURE)
			buf_printf(b, "%sFAILURE", sep), sep = ",";
		if (r->notify & SMTP_NOTIFY_DELAY)
			buf_printf(b, "%sDELAY", sep);
	}
	if (r->orcpt[0]) {
		buf_append_str(b, " orcpt=");
		spool_value_put(b, r->orcpt);
	}
	buf_append_str(b, "\n");
}

void
spool_header_encode(struct buf *b, const char *id, int64_t arrival,
		    const struct spool_envelope *env)
{
	static const char *bodies[] = {NULL, "7BIT", "8BITMIME", "BINARYMIME"};
	const struct smtp_mail_args *mail = env->mail;
	buf_printf(b, "version 1\nid %s\narrival %lld\nfrom", id, (long long)arrival);
	if (!mail->from.is_null) {
		buf_append_str(b, " ");
		put_addr(b, &mail->from);
	}
	buf_append_str(b, "\n");
	if (mail->ret != SMTP_RET_NONE)
		buf_append_str(b, mail->ret == SMTP_RET_FULL ? "ret FULL\n" : "ret HDRS\n");
	if (mail->envid[0]) {
		buf_append_str(b, "envid ");
		spool_value_put(b, mail->envid);
		buf_append_str(b, "\n");
	}
	if (mail->body > SMTP_BODY_NONE && mail->body <= SMTP_BODY_BINARYMIME)
		buf_printf(b, "body %s\n", bodies[mail->body]);
	if (mail->smtputf8)
		buf_append_str(b, "smtputf8\n");
	if (mail->requiretls) /* a newer key: older readers skip it as unknown */
		buf_append_str(b, "requiretls\n");
	const char *keys[] = {"client", "helo", "auth"};
	const char *vals[] = {env->client_addr, env->helo, env->auth_user};
	for (size_t i = 0; i < 3; i++) {
		if (vals[i] == NULL || vals[i][0] == '\0')
			continue;
		buf_printf(b, "%s ", keys[i]);
		spool_value_put(b, vals[i]);
		buf_append_str(b, "\n");
	}
	for (size_t i = 0; i < env->nrcpts; i++)
		put_rcpt(b, &env->rcpts[i]);
	if (env->pad >= SPOOL_PAD_MIN) {
		char *pad = xmalloc(env->pad);
		spool_pad_line(pad, env->pad);
		buf_append(b, pad, env->pad);
		free(pad);
	}
	buf_append_str(b, "\n");
}

void
spool_pad_line(char *out, size_t len)
{
	memcpy(out, "pad", 3);
	memset(out + 3, ' ', len - 4);
	out[len - 1] = '\n';
}

/* ---- decoding the envelope header ---- */

/* Decode a value into a new string; NULL on a bad escape. */
static char *
value_dup(struct buf *tmp, const char *s, size_t len)
{
	return spool_value_decode(s, len, tmp) ? xstrdup(tmp->data) : NULL;
}

/* "rcpt ADDR [notify=X] [orcpt=Y]": a parameter given twice keeps its first. */
static const char *
decode_rcpt(struct spool_header *h, struct buf *tmp, const char *val)
{
	struct spool_header_rcpt r = {0};
	const char *end = strchr(val, ' ');
	r.addr = value_dup(tmp, val, end ? (size_t)(end - val) : strlen(val));
	const char *why = r.addr == NULL      ? "a bad escape in a recipient"
			  : r.addr[0] == '\0' ? "an empty recipient"
					      : NULL;
	while (why == NULL && end) {
		const char *p = end + 1;
		end = strchr(p, ' ');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char **slot = NULL;
		if (len > 7 && strncmp(p, "notify=", 7) == 0 && r.notify == NULL)
			slot = &r.notify, p += 7, len -= 7;
		else if (len > 6 && strncmp(p, "orcpt=", 6) == 0 && r.orcpt == NULL)
			slot = &r.orcpt, p += 6, len -= 6;
		if (slot && (*slot = value_dup(tmp, p, len)) == NULL)
			why = "a bad escape in a recipient's parameter";
	}
	if (why) {
		free(r.addr);
		free(r.notify);
		free(r.orcpt);
		return why;
	}
	h->rcpts = xrealloc(h->rcpts, (h->nrcpts + 1) * sizeof *h->rcpts);
	h->rcpts[h->nrcpts++] = r;
	return NULL;
}

/* The lines every header has, before any other: NULL when fine. */
static const char *
decode_required(struct spool_header *h, struct buf *tmp, struct strv key, const char *val,
		bool *known)
{
	*known = true;
	if (strv_eq_ci(key, "id"))
		return str_copy(h->id, sizeof h->id, val) && spool_id_valid(h->id)
			   ? NULL
			   : "a bad id line";
	if (strv_eq_ci(key, "arrival")) {
		char *end;
		errno = 0;
		h->arrival = strtoll(val, &end, 10);
		return (errno || end == val || *end) ? "a bad arrival line" : NULL;
	}
	if (strv_eq_ci(key, "from")) {
		char *from = value_dup(tmp, val, strlen(val));
		if (from == NULL || strlen(from) > SMTP_PATH_MAX) {
			free(from);
			return "a bad from line";
		}
		free(h->from); /* a repeated line: the last one counts */
		h->from = from;
		return NULL;
	}
	*known = false;
	return NULL;
}

/* One line, its '\n' cut: NULL when fine, else what is wrong. */
static const char *
decode_line(struct spool_header *h, struct buf *tmp, const char *line)
{
	static const char *keys[] = {"ret", "envid", "body", "client", "helo", "auth"};
	char **slots[] = {&h->ret, &h->envid, &h->body, &h->client, &h->helo, &h->auth};
	const char *space = strchr(line, ' ');
	size_t klen = space ? (size_t)(space - line) : strlen(line);
	const char *val = space ? space + 1 : line + klen;
	struct strv key = {line, klen};
	bool known;
	const char *why = decode_required(h, tmp, key, val, &known);
	if (known)
		return why;
	if (strv_eq_ci(key, "rcpt"))
		return decode_rcpt(h, tmp, val);
	if (strv_eq_ci(key, "smtputf8"))
		h->smtputf8 = true;
	if (strv_eq_ci(key, "requiretls"))
		h->requiretls = true;
	/* "pad": room left over from spool_msg_prepend, nothing to decode (it
	 * would be skipped as unknown anyway; named here so nobody gives the
	 * key another meaning). */
	if (strv_eq_ci(key, "pad"))
		return NULL;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (!strv_eq_ci(key, keys[i]))
			continue;
		free(*slots[i]); /* a repeated line: the last one counts */
		*slots[i] = value_dup(tmp, val, strlen(val));
		return *slots[i] ? NULL : "a bad escape in an envelope value";
	}
	return NULL; /* a newer writer's field: skipped */
}

void
spool_header_decode_start(struct spool_header_decoder *d, struct spool_header *h)
{
	memset(h, 0, sizeof *h);
	memset(d, 0, sizeof *d);
	d->h = h;
	buf_init(&d->tmp, 0);
}

/* The header's end: the lines a message cannot do without were there. */
static const char *
decode_finish(const struct spool_header *h, size_t lineno)
{
	if (lineno < 4 || h->id[0] == '\0' || h->from == NULL)
		return "the header lacks its version, id, arrival or from line";
	return NULL;
}

int
spool_header_decode_line(struct spool_header_decoder *d, const char *line, size_t len)
{
	struct spool_header *h = d->h;
	h->length += len;
	if (len == 0 || line[len - 1] != '\n')
		d->why = "the header is cut short (a line without its end)";
	else if (h->length > SPOOL_HEADER_MAX)
		d->why = "the header is longer than any the spool writes";
	else if (memchr(line, '\0', len) != NULL)
		d->why = "a NUL byte in the header";
	if (d->why)
		return -1;
	if (len == 1) {
		d->why = decode_finish(h, d->lineno);
		return d->why ? -1 : 1;
	}
	/* A copy without the '\n', as a string for the parsers. */
	char *text = xmalloc(len);
	memcpy(text, line, len - 1);
	text[len - 1] = '\0';
	if (d->lineno++ == 0)
		d->why = strcmp(text, "version 1") == 0 ? NULL : "not a version 1 spool file";
	else
		d->why = decode_line(h, &d->tmp, text);
	free(text);
	return d->why ? -1 : 0;
}

int
spool_header_decode_end(struct spool_header_decoder *d, int last)
{
	buf_free(&d->tmp);
	if (last == 1)
		return 0;
	if (d->why == NULL)
		d->why = "no blank line ends the header (the file was cut)";
	spool_header_free(d->h);
	return -1;
}

int
spool_header_decode(const char *data, size_t len, struct spool_header *h, const char **why)
{
	struct spool_header_decoder d;
	spool_header_decode_start(&d, h);
	int rc = 0;
	size_t off = 0;
	while (rc == 0 && off < len) {
		const char *nl = memchr(data + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (data + off)) + 1 : len - off;
		rc = spool_header_decode_line(&d, data + off, n);
		off += n;
	}
	rc = spool_header_decode_end(&d, rc);
	*why = d.why;
	return rc;
}

void
spool_header_free(struct spool_header *h)
{
	char *strs[] = {h->from, h->ret, h->envid, h->body, h->client, h->helo, h->auth};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		free(strs[i]);
	for (size_t i = 0; i < h->nrcpts; i++) {
		free(h->rcpts[i].addr);
		free(h->rcpts[i].notify);
		free(h->rcpts[i].orcpt);
	}
	free(h->rcpts);
	memset(h, 0, sizeof *h);
}

/* ---- queue/<qid>.state ---- */

void
spool_state_encode(struct buf *b, const char *rcpt)
{
	spool_value_put(b, rcpt);
	buf_append_str(b, "\n");
}

void
spool_state_decode(const char *data, size_t len, char ***done, size_t *n_r)
{
	struct buf tmp;
	buf_init(&tmp, 0);
	const char *nl;
	for (size_t off = 0; off < len && (nl = memchr(data + off, '\n', len - off)) != NULL;
	     off = (size_t)(nl - data) + 1) {
		if (!spool_value_decode(data + off, (size_t)(nl - (data + off)), &tmp))
			continue;
		*done = xrealloc(*done, (*n_r + 1) * sizeof **done);
		(*done)[(*n_r)++] = xstrdup(tmp.data);
	}
	buf_free(&tmp);
}

/* ---- queue/<qid>.retry ---- */

void
spool_retry_encode(struct buf *b, const struct spool_retry *r)
{
	buf_printf(b, "%u %" PRId64 " ", r->attempts, r->next_attempt);
	/* One line the reader splits on spaces: the error goes last, escaped
	 * (a space may stay, since nothing follows it). */
	size_t n = strnlen(r->last_error, sizeof r->last_error);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)r->last_error[i];
		if (c < 0x20 || c == 0x7f || c == '%')
			buf_printf(b, "%%%02X", c);
		else
			buf_append(b, &r->last_error[i], 1);
	}
	buf_append_str(b, "\n");
}

int
spool_retry_decode(const char *data, size_t len, struct spool_retry *r)
{
	char line[sizeof r->last_error * 3 + 64];
	if (len == 0)
		return -1;
	if (len > sizeof line - 1)
		len = sizeof line - 1; /* longer than any we write: the rest is ignored */
	memcpy(line, data, len);
	line[len] = '\0';
	line[strcspn(line, "\n")] = '\0';
	char *end, *p = line;
	unsigned long attempts = strtoul(p, &end, 10);
	if (end == p || *end != ' ')
		return -1;
	p = end + 1;
	long long next = strtoll(p, &end, 10);
	if (end == p || (*end != ' ' && *end != '\0'))
		return -1;
	r->attempts = (unsigned)attempts;
	r->next_attempt = next;
	/* A '%' not followed by two hex digits (or by 00) is not an escape we
	 * wrote: it stays as it is. */
	size_t o = 0;
	for (p = *end ? end + 1 : end; *p && o + 1 < sizeof r->last_error; p++) {
		int hi = p[0] == '%' ? hexval((unsigned char)p[1]) : -1;
		int lo = hi >= 0 ? hexval((unsigned char)p[2]) : -1;
		if (lo >= 0 && (hi | lo) != 0) {
			r->last_error[o++] = (char)(hi * 16 + lo);
			p += 2;
		} else {
			r->last_error[o++] = *p;
		}
	}
	r->last_error[o] = '\0';
	return 0;
}
