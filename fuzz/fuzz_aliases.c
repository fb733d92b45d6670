/*
 * fuzz_aliases: libFuzzer harness for the aliases file's parser and its
 * expansion. An admin writes the file, but a reload reads whatever is
 * there, so no text may crash, leak or overflow. On success every line's
 * key and a few derived addresses are expanded against fixed accounts, and
 * the config check runs, so loops, depth and catch-alls are walked too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aliases.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
is_local_domain(void *ctx, const char *d)
{
	(void)ctx;
	return strcmp(d, "a.test") == 0 || strcmp(d, "b.test") == 0;
}

static bool
is_user(void *ctx, const char *local, const char *domain)
{
	(void)ctx;
	return (strcmp(local, "u") == 0 || strcmp(local, "v") == 0) &&
	       is_local_domain(NULL, domain);
}

static void
expand_line(const struct aliases *a, const struct alias_env *env, const char *line)
{
	char local[300] = "", domain[300] = "a.test";
	const char *colon = strchr(line, ':');
	size_t n = colon ? (size_t)(colon - line) : strlen(line);
	if (n >= sizeof local)
		return;
	memcpy(local, line, n);
	local[n] = '\0';
	char *at = strrchr(local, '@');
	if (at) {
		snprintf(domain, sizeof domain, "%s", at + 1);
		*at = '\0';
	}
	struct alias_expansion x = {0};
	enum alias_result r = aliases_expand(a, env, local, domain, &x);
	if (r == ALIAS_EXPANDED && x.n == 0)
		abort();
	for (size_t i = 0; i < x.n; i++)
		if (strchr(x.v[i].addr, '@') == NULL ||
		    x.v[i].remote == is_local_domain(NULL, strrchr(x.v[i].addr, '@') + 1))
			abort();
	alias_expansion_free(&x);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct aliases *a = aliases_parse((const char *)data, size, "fuzz", err, sizeof err);
	if (memchr(err, '\0', sizeof err) == NULL)
		abort();
	if (a == NULL)
		return 0;
	struct alias_env env = {is_local_domain, is_user, size % 2 ? "u@a.test" : NULL, NULL};
	char *text = malloc(size + 1);
	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	for (char *line = text, *nl; line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		expand_line(a, &env, line + strspn(line, " \t"));
	}
	expand_line(a, &env, "postmaster");
	expand_line(a, &env, "abuse@b.test");
	expand_line(a, &env, "nobody+tag@b.test");
	aliases_check(a, &env, "a.test", err, sizeof err);
	free(text);
	aliases_free(&a);
	return 0;
}
