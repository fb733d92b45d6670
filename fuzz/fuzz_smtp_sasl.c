/*
 * libFuzzer harness for smtp_sasl. The input is used twice: as the text a
 * client sent (PLAIN and LOGIN decoders must not crash and must respect
 * the field limits), and as raw credentials that are base64-encoded first,
 * so that the PLAIN verdict can be compared with an independent reading of
 * RFC 4616 2 (two NULs, non-empty authcid and passwd, fields <= 255).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "smtp_sasl.h"
#include "panic.h"

static void
check_creds(const struct sasl_creds *c, enum sasl_err e)
{
	MP_ASSERT(memchr(c->authzid, '\0', sizeof c->authzid) != NULL);
	MP_ASSERT(memchr(c->user, '\0', sizeof c->user) != NULL);
	MP_ASSERT(memchr(c->password, '\0', sizeof c->password) != NULL);
	if (e == SASL_OK)
		MP_ASSERT(c->user[0] != '\0' && c->password[0] != '\0');
	else
		MP_ASSERT(c->user[0] == '\0' && c->password[0] == '\0');
}

/* What RFC 4616 says about raw[0..n), computed the slow way. */
static enum sasl_err
expect_plain(const uint8_t *raw, size_t n)
{
	size_t nuls = 0, field = 0, len[3] = {0, 0, 0};

	for (size_t i = 0; i < n; i++) {
		if (raw[i] == 0) {
			nuls++;
			field = nuls < 3 ? nuls : 2;
		} else {
			len[field]++;
		}
	}
	if (nuls != 2)
		return SASL_BAD_FORMAT;
	if (len[0] > SASL_FIELD_MAX || len[1] > SASL_FIELD_MAX || len[2] > SASL_FIELD_MAX)
		return SASL_TOO_LONG;
	return len[1] && len[2] ? SASL_OK : SASL_BAD_FORMAT;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strv s = {(const char *)data, size};
	struct sasl_creds c;
	char field[SASL_FIELD_MAX + 1];

	check_creds(&c, sasl_plain_decode(s, &c));
	enum sasl_err e = sasl_login_decode(s, field, sizeof field);
	MP_ASSERT(memchr(field, '\0', sizeof field) != NULL);
	if (e != SASL_OK)
		MP_ASSERT(field[0] == '\0');

	char *b64 = malloc(B64_ENCODED_SIZE(size));
	size_t n = b64_encode(data, size, b64);
	e = sasl_plain_decode((struct strv){b64, n}, &c);
	/* "*" and "=" never come out of the encoder, so the verdicts must agree */
	MP_ASSERT(e == expect_plain(data, size));
	check_creds(&c, e);
	if (e == SASL_OK) {
		size_t zl = strlen(c.authzid), ul = strlen(c.user), pl = strlen(c.password);
		MP_ASSERT(zl + ul + pl + 2 == size);
		MP_ASSERT(memcmp(data, c.authzid, zl) == 0);
		MP_ASSERT(memcmp(data + zl + 1, c.user, ul) == 0);
		MP_ASSERT(memcmp(data + zl + ul + 2, c.password, pl) == 0);
	}
	sasl_creds_wipe(&c);
	e = sasl_login_decode((struct strv){b64, n}, field, sizeof field);
	if (size <= SASL_FIELD_MAX && memchr(data, 0, size) == NULL)
		MP_ASSERT(e == SASL_OK && strlen(field) == size && memcmp(field, data, size) == 0);
	else
		MP_ASSERT(e == (size > SASL_FIELD_MAX ? SASL_TOO_LONG : SASL_BAD_FORMAT));
	free(b64);
	return 0;
}
