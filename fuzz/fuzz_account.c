/*
 * fuzz_account: libFuzzer harness for the send.conf parser.
 *
 * The parser takes NUL-terminated text, so the input is copied and
 * terminated first; an input with a NUL inside simply ends early. Every
 * input must return 0 with a usable file or -1 with a terminated message
 * and no file, and must not crash, leak or overflow. On success the
 * lookups run on what was parsed, as the send command would use it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char err[256];
	struct account_file *f = NULL;
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* Odd sizes give a base folder and a home, even ones neither. */
	int rc = account_parse(text, "fuzz.conf", size % 2 ? "/base" : NULL,
			       size % 2 ? "/home/u" : NULL, &f, err, sizeof err);
	if (rc != 0 && (rc != -1 || f != NULL || memchr(err, '\0', sizeof err) == NULL))
		abort();
	if (rc == 0) {
		if (f == NULL || err[0] != '\0')
			abort();
		const struct account *d = account_default(f);
		if ((d == NULL) != (f->naccounts == 0))
			abort();
		for (size_t i = 0; i < f->naccounts; i++) {
			const struct account *a = &f->accounts[i];
			/* Every account has somewhere to connect to, found by its name. */
			if (account_host(a) == NULL || account_find(f, a->name) != a)
				abort();
			if ((a->password_src != ACCOUNT_SRC_NONE) != (a->password != NULL))
				abort();
			if ((a->oauth2_src != ACCOUNT_SRC_NONE) != (a->oauth2_token != NULL))
				abort();
			(void)account_user(a);
		}
	}
	account_file_free(&f);
	free(text);
	return 0;
}
