/*
 * smtp_sasl: PLAIN (RFC 4616 2) and LOGIN (draft-murchison-sasl-login)
 * responses into credentials, for AUTH (RFC 4954 4).
 *
 * "*" is the client's cancel (RFC 4954 4). "=" is the empty initial
 * response (RFC 4954 4): for PLAIN that can never be valid, so it is
 * BAD_FORMAT; for LOGIN it is an empty field. PLAIN follows RFC 4616: the
 * message has exactly two NULs, authcid and passwd are not empty, and each
 * field fits in SASL_FIELD_MAX octets. The decoded bytes are held in a
 * heap buffer sized from the input, and that buffer is wiped before it is
 * freed, as are the credentials whenever decoding fails.
 */
#include "smtp_sasl.h"

#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "xmalloc.h"

void
secure_wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

void
sasl_creds_wipe(struct sasl_creds *c)
{
	secure_wipe(c, sizeof *c);
}

static void
wipe_free(unsigned char *buf, size_t cap)
{
	secure_wipe(buf, cap);
	free(buf);
}

/*
 * Base64-decode b64 into a new buffer (wiped and freed by the caller with
 * wipe_free); NULL when the text is not strict base64.
 */
static unsigned char *
decode_b64(struct strv b64, size_t *n_r, size_t *cap_r)
{
	size_t cap = b64.len / 4 * 3 + 1;
	unsigned char *buf = xmalloc(cap);

	*cap_r = cap;
	if (!b64_decode(b64.p, b64.len, buf, cap, n_r)) {
		wipe_free(buf, cap);
		return NULL;
	}
	return buf;
}

/* Split "authzid NUL authcid NUL passwd" (RFC 4616 2) into c. */
static enum sasl_err
split_plain(const unsigned char *m, size_t n, struct sasl_creds *c)
{
	const unsigned char *nul1 = memchr(m, '\0', n), *nul2, *end = m + n;

	if (nul1 == NULL || (nul2 = memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1))) == NULL)
		return SASL_BAD_FORMAT;
	if (memchr(nul2 + 1, '\0', (size_t)(end - nul2 - 1)) != NULL)
		return SASL_BAD_FORMAT;
	size_t zlen = (size_t)(nul1 - m), ulen = (size_t)(nul2 - nul1 - 1),
	       plen = (size_t)(end - nul2 - 1);
	if (zlen > SASL_FIELD_MAX || ulen > SASL_FIELD_MAX || plen > SASL_FIELD_MAX)
		return SASL_TOO_LONG;
	if (ulen == 0 || plen == 0)
		return SASL_BAD_FORMAT;
	memcpy(c->authzid, m, zlen);
	memcpy(c->user, nul1 + 1, ulen);
	memcpy(c->password, nul2 + 1, plen);
	return SASL_OK;
}

enum sasl_err
sasl_plain_decode(struct strv b64, struct sasl_creds *creds_r)
{
	enum sasl_err err;
	unsigned char *m;
	size_t n, cap;

	sasl_creds_wipe(creds_r);
	if (strv_eq_ci(b64, "*"))
		return SASL_CANCELLED;
	if (strv_eq_ci(b64, "="))
		return SASL_BAD_FORMAT;
	if ((m = decode_b64(b64, &n, &cap)) == NULL)
		return SASL_BAD_BASE64;
	err = split_plain(m, n, creds_r);
	wipe_free(m, cap);
	if (err != SASL_OK)
		sasl_creds_wipe(creds_r);
	return err;
}

enum sasl_err
sasl_login_decode(struct strv b64, char *field, size_t size)
{
	enum sasl_err err = SASL_OK;
	unsigned char *m;
	size_t n, cap;

	if (size == 0)
		return SASL_TOO_LONG;
	secure_wipe(field, size);
	if (strv_eq_ci(b64, "*"))
		return SASL_CANCELLED;
	if (strv_eq_ci(b64, "="))
		return SASL_OK;
	if ((m = decode_b64(b64, &n, &cap)) == NULL)
		return SASL_BAD_BASE64;
	if (n > SASL_FIELD_MAX || n >= size)
		err = SASL_TOO_LONG;
	else if (memchr(m, '\0', n) != NULL)
		err = SASL_BAD_FORMAT;
	else
		memcpy(field, m, n); /* field was zeroed, so it is terminated */
	wipe_free(m, cap);
	return err;
}

bool
sasl_looks_like_response(struct strv line)
{
	size_t i = 0;
	if (line.len == 0)
		return false;
	for (; i < line.len && line.p[i] != '='; i++) {
		char c = line.p[i];
		bool alpha =
		    (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alpha && c != '+' && c != '/')
			return false;
	}
	/* At most two '=' of padding, and only at the end. */
	size_t pad = line.len - i;
	for (; i < line.len; i++)
		if (line.p[i] != '=')
			return false;
	return pad <= 2 && pad < line.len;
}
