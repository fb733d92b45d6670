/*
 * Unit tests for core/smtp_sasl: PLAIN (RFC 4616) and LOGIN responses,
 * cancel "*" and empty "=" (RFC 4954 4), field limits, and the wipes.
 * Inputs are built as raw bytes and base64-encoded here, so the tables
 * show what the client meant.
 */
#include <string.h>

#include "b64.h"
#include "harness.h"
#include "smtp_sasl.h"

struct plain_case {
	const char *raw; /* NULs as "\0"; rawlen gives the length */
	size_t rawlen;
	enum sasl_err err;
	const char *authzid, *user, *password;
};

#define RAW(s) s, sizeof(s) - 1

static const struct plain_case plain_cases[] = {
    {RAW("\0tim\0tanstaaftanstaaf"), SASL_OK, "", "tim", "tanstaaftanstaaf"},
    {RAW("Ursel\0Kurt\0xipj3plmq"), SASL_OK, "Ursel", "Kurt", "xipj3plmq"},
    {RAW("\0us\xc3\xa9r\0p\xc3\xa4ss"), SASL_OK, "", "us\xc3\xa9r", "p\xc3\xa4ss"},
    {RAW("\0\0pw"), SASL_BAD_FORMAT, NULL, NULL, NULL},	   /* empty user */
    {RAW("\0user\0"), SASL_BAD_FORMAT, NULL, NULL, NULL},  /* empty password */
    {RAW("user\0pw"), SASL_BAD_FORMAT, NULL, NULL, NULL},  /* one NUL */
    {RAW("userpw"), SASL_BAD_FORMAT, NULL, NULL, NULL},	   /* none */
    {RAW("\0u\0p\0w"), SASL_BAD_FORMAT, NULL, NULL, NULL}, /* three */
    {RAW("\0u\0p\0"), SASL_BAD_FORMAT, NULL, NULL, NULL},
    {RAW(""), SASL_BAD_FORMAT, NULL, NULL, NULL},
};

static void
test_plain(void)
{
	for (size_t i = 0; i < sizeof plain_cases / sizeof plain_cases[0]; i++) {
		const struct plain_case *c = &plain_cases[i];
		char b64[128];
		struct sasl_creds cr;
		size_t n = b64_encode(c->raw, c->rawlen, b64);
		enum sasl_err e = sasl_plain_decode((struct strv){b64, n}, &cr);
		CHECK(e == c->err);
		if (e != c->err)
			printf("  plain case %zu: got %d\n", i, e);
		if (e == SASL_OK && c->err == SASL_OK) {
			CHECK_STR(cr.authzid, c->authzid);
			CHECK_STR(cr.user, c->user);
			CHECK_STR(cr.password, c->password);
		} else {
			CHECK(cr.user[0] == '\0' && cr.password[0] == '\0');
		}
	}
}

/* Build "\0" user "\0" password with fields of the given lengths. */
static enum sasl_err
plain_sized(size_t zlen, size_t ulen, size_t plen)
{
	char raw[1200], b64[B64_ENCODED_SIZE(sizeof raw)];
	struct sasl_creds cr;
	size_t n = 0;

	memset(raw + n, 'z', zlen), n += zlen;
	raw[n++] = '\0';
	memset(raw + n, 'u', ulen), n += ulen;
	raw[n++] = '\0';
	memset(raw + n, 'p', plen), n += plen;
	size_t len = b64_encode(raw, n, b64);
	enum sasl_err e = sasl_plain_decode((struct strv){b64, len}, &cr);
	if (e == SASL_OK && (strlen(cr.user) != ulen || strlen(cr.password) != plen))
		e = SASL_BAD_FORMAT; /* would fail the check below */
	return e;
}

static void
test_plain_limits(void)
{
	CHECK(plain_sized(255, 255, 255) == SASL_OK);
	CHECK(plain_sized(256, 1, 1) == SASL_TOO_LONG);
	CHECK(plain_sized(0, 256, 1) == SASL_TOO_LONG);
	CHECK(plain_sized(0, 1, 256) == SASL_TOO_LONG);
	CHECK(plain_sized(0, 1, 1000) == SASL_TOO_LONG);
}

static void
test_plain_special(void)
{
	struct sasl_creds cr;

	CHECK(sasl_plain_decode(STRV_LIT("*"), &cr) == SASL_CANCELLED);
	CHECK(sasl_plain_decode(STRV_LIT("="), &cr) == SASL_BAD_FORMAT);
	CHECK(sasl_plain_decode(STRV_LIT(""), &cr) == SASL_BAD_FORMAT);
	CHECK(sasl_plain_decode(STRV_LIT("AHRpbQB0YW5zdGFhZnRhbnN0YWFm"), &cr) == SASL_OK);
	CHECK_STR(cr.user, "tim");
	CHECK(sasl_plain_decode(STRV_LIT("AHRpbQB0YW5zdGFhZnRhbnN0YWFm "), &cr) == SASL_BAD_BASE64);
	CHECK(cr.user[0] == '\0'); /* nothing left from the earlier call */
	CHECK(sasl_plain_decode(STRV_LIT("AHRpbQB0YW5zdGFhZnRhbnN0YWF"), &cr) == SASL_BAD_BASE64);
	CHECK(sasl_plain_decode(STRV_LIT("AHRp!QB0"), &cr) == SASL_BAD_BASE64);
	CHECK(sasl_plain_decode(STRV_LIT("**"), &cr) == SASL_BAD_BASE64);
}

static void
test_login(void)
{
	static const struct {
		const char *b64;
		size_t size;
		enum sasl_err err;
		const char *field;
	} cases[] = {
	    {"dGlt", 256, SASL_OK, "tim"},
	    {"dXPDqXI=", 256, SASL_OK, "us\xc3\xa9r"},
	    {"=", 256, SASL_OK, ""},
	    {"", 256, SASL_OK, ""},
	    {"*", 256, SASL_CANCELLED, ""},
	    {"dGlt", 4, SASL_OK, "tim"},
	    {"dGlt", 3, SASL_TOO_LONG, ""},
	    {"dGltAA==", 256, SASL_BAD_FORMAT, ""}, /* "tim\0" */
	    {"AHRpbQ==", 256, SASL_BAD_FORMAT, ""}, /* "\0tim" */
	    {"dGl", 256, SASL_BAD_BASE64, ""},
	    {"dG=t", 256, SASL_BAD_BASE64, ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char field[256];
		memset(field, 'X', sizeof field);
		enum sasl_err e = sasl_login_decode(strv_from(cases[i].b64), field, cases[i].size);
		CHECK(e == cases[i].err);
		if (e != cases[i].err)
			printf("  login case %zu: got %d\n", i, e);
		CHECK_STR(field, cases[i].field);
	}

	char raw[300], b64[B64_ENCODED_SIZE(sizeof raw)], field[400];
	memset(raw, 'p', sizeof raw);
	size_t n = b64_encode(raw, 255, b64);
	CHECK(sasl_login_decode((struct strv){b64, n}, field, sizeof field) == SASL_OK);
	CHECK(strlen(field) == 255);
	n = b64_encode(raw, 256, b64);
	CHECK(sasl_login_decode((struct strv){b64, n}, field, sizeof field) == SASL_TOO_LONG);
}

static void
test_wipe(void)
{
	struct sasl_creds cr;
	static const struct sasl_creds zero;

	CHECK(sasl_plain_decode(STRV_LIT("AHRpbQB0YW5zdGFhZnRhbnN0YWFm"), &cr) == SASL_OK);
	sasl_creds_wipe(&cr);
	CHECK(memcmp(&cr, &zero, sizeof cr) == 0);

	char secret[8] = "hunter2";
	secure_wipe(secret, sizeof secret);
	CHECK(memcmp(secret, "\0\0\0\0\0\0\0\0", 8) == 0);
}

/* Lines that may be a pipelined credential are never echoed or logged. */
static void
test_looks_like_response(void)
{
	static const char *const yes[] = {
	    "dXNlcg==",	   /* "user", padded */
	    "cGFzc3dvcmQ", /* "password", unpadded */
	    "cw=",	   /* short, one pad */
	    "YWxpY2VAZXhhbXBsZS50ZXN0",
	    "a+b/c",
	    "FROBNICATE",
	    "QUIT2",
	};
	static const char *const no[] = {
	    "", "=", "==", "a===", "ab=c", "FROB now", "HELO-x", "dXNlcg== x", "pass:word", "€",
	};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		CHECK(sasl_looks_like_response((struct strv){yes[i], strlen(yes[i])}));
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		CHECK(!sasl_looks_like_response((struct strv){no[i], strlen(no[i])}));
}

int
main(void)
{
	test_plain();
	test_plain_limits();
	test_plain_special();
	test_login();
	test_wipe();
	test_looks_like_response();
	return test_summary("test_smtp_sasl");
}
