/*
 * The aliases file: parse errors with FILE:LINE, the lookup order, nested
 * and remote targets, catch-alls, postmaster@/abuse@ defaults, loops.
 */
#include <stdio.h>
#include <string.h>

#include "aliases.h"
#include "harness.h"

static bool
is_local_domain(void *ctx, const char *d)
{
	(void)ctx;
	return strcmp(d, "example.org") == 0 || strcmp(d, "example.com") == 0;
}

/* Accounts: alice@example.org, bob@example.org, carol@example.com. */
static bool
is_user(void *ctx, const char *local, const char *domain)
{
	(void)ctx;
	char a[300];
	snprintf(a, sizeof a, "%s@%s", local, domain);
	return strcmp(a, "alice@example.org") == 0 || strcmp(a, "bob@example.org") == 0 ||
	       strcmp(a, "carol@example.com") == 0;
}

static struct alias_env env = {is_local_domain, is_user, "alice@example.org", NULL};

static struct aliases *
parse(const char *text, char *err, size_t size)
{
	return aliases_parse(text, strlen(text), "aliases", err, size);
}

/* The expansion as "a b c" (remote targets marked with '>'), or the result's name. */
static const char *
expand(const struct aliases *a, const char *local, const char *domain)
{
	static char out[2048];
	struct alias_expansion x = {0};
	enum alias_result r = aliases_expand(a, &env, local, domain, &x);
	static const char *names[] = {"none", "", "loop", "too-many", "no-target"};
	snprintf(out, sizeof out, "%s", names[r]);
	for (size_t i = 0; r == ALIAS_EXPANDED && i < x.n; i++)
		snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s%s", i ? " " : "",
			 x.v[i].remote ? ">" : "", x.v[i].addr);
	if (r == ALIAS_LOOP)
		snprintf(out + strlen(out), sizeof out - strlen(out), " %s line %d", x.where,
			 x.line);
	alias_expansion_free(&x);
	return out;
}

static const char table[] = "# the team\n"
			    "sales@example.org: alice, bob@example.org, Dave@Remote.Test\n"
			    "\n"
			    "  list@example.org : sales@example.org, carol@example.com  \r\n"
			    "bob@example.org: bob@example.org, bob@gmail.test\n"
			    "@example.com: carol\n"
			    "abuse: bob@example.org\n"
			    "loop1@example.org: loop2\n"
			    "loop2@example.org: loop1@example.org\n"
			    "ghost@example.org: nobody@example.org\n"
			    "half@example.org: nobody@example.org, alice\n"
			    "dan@example.org: dan\n";

static void
test_expand(void)
{
	char err[1024];
	struct aliases *a = parse(table, err, sizeof err);
	CHECK(a != NULL);
	if (a == NULL) {
		printf("%s\n", err);
		return;
	}
	CHECK(aliases_count(a) == 10);
	CHECK_STR(expand(a, "sales", "example.org"),
		  "alice@example.org bob@example.org >bob@gmail.test >dave@remote.test");
	/* Nested, with duplicates once; any case and a +tag find the line. */
	CHECK_STR(expand(a, "LIST+x", "Example.ORG"),
		  "alice@example.org bob@example.org >bob@gmail.test >dave@remote.test "
		  "carol@example.com");
	/* Accounts are not aliases; their own line comes first, keeping the mailbox. */
	CHECK_STR(expand(a, "alice", "example.org"), "none");
	CHECK_STR(expand(a, "bob", "example.org"), "bob@example.org >bob@gmail.test");
	/* The catch-all takes what no account has; the account itself stays. */
	CHECK_STR(expand(a, "anyone", "example.com"), "carol@example.com");
	CHECK_STR(expand(a, "carol", "example.com"), "none");
	CHECK_STR(expand(a, "anyone", "example.org"), "none");
	/* Roles: the bare line for abuse@ everywhere, the default person for postmaster@. */
	CHECK_STR(expand(a, "abuse", "example.com"), "bob@example.org >bob@gmail.test");
	CHECK_STR(expand(a, "postmaster", "example.org"), "alice@example.org");
	CHECK_STR(expand(a, "Postmaster", "example.com"), "alice@example.org");
	/* Loops, missing targets, and a target that exists beside one that does not. */
	CHECK_STR(expand(a, "loop1", "example.org"), "loop loop1@example.org line 9");
	CHECK_STR(expand(a, "ghost", "example.org"), "no-target");
	CHECK_STR(expand(a, "half", "example.org"), "alice@example.org");
	CHECK_STR(expand(a, "dan", "example.org"), "no-target");
	/* Not our domain: nothing to expand. */
	CHECK_STR(expand(a, "sales", "remote.test"), "none");
	aliases_free(&a);
}

static void
test_no_default(void)
{
	struct alias_env e = env;
	e.default_person = NULL;
	struct alias_expansion x = {0};
	struct aliases *a = aliases_empty();
	CHECK(aliases_expand(a, &e, "postmaster", "example.org", &x) == ALIAS_NONE);
	/* The default person being an alias of postmaster@ itself is no loop forever. */
	char err[256];
	aliases_free(&a);
	a = parse("alice@example.org: postmaster@example.org\n", err, sizeof err);
	CHECK(aliases_expand(a, &env, "postmaster", "example.org", &x) == ALIAS_LOOP);
	alias_expansion_free(&x);
	aliases_free(&a);
}

static void
test_deep(void)
{
	char text[4096] = "";
	for (int i = 0; i < ALIASES_MAX_DEPTH + 2; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text), "a%d@example.org: a%d\n",
			 i, i + 1);
	char err[256];
	struct aliases *a = parse(text, err, sizeof err);
	CHECK_STR(expand(a, "a0", "example.org"), "too-many");
	CHECK_STR(expand(a, "a5", "example.org"), "no-target"); /* a13: no such account */
	aliases_free(&a);
}

static void
test_parse_errors(void)
{
	char err[2048];
	struct aliases *a = parse("ok@example.org: alice\n"
				  "no colon here\n"
				  "bad address@example.org: alice\n"
				  "x@example.org: alice,, bob\n"
				  "y@example.org: <bob@example.org>\n"
				  "ok@example.org: bob\n"
				  "z@bad..org: alice\n"
				  "w@example.org:\n",
				  err, sizeof err);
	CHECK(a == NULL);
	CHECK(strstr(err, "aliases:2: no ':'") != NULL);
	CHECK(strstr(err, "aliases:3: the address \"bad address@example.org\"") != NULL);
	CHECK(strstr(err, "aliases:4: an empty target") != NULL);
	CHECK(strstr(err, "aliases:5: the target \"<bob@example.org>\"") != NULL);
	CHECK(strstr(err, "aliases:6: \"ok@example.org\" is already an alias on line 1") != NULL);
	CHECK(strstr(err, "aliases:7: the address \"z@bad..org\" has a domain") != NULL);
	CHECK(strstr(err, "aliases:8: an empty target") != NULL);
	/* Every message says how to fix it. */
	CHECK(strstr(err, "e.g. \"sales@example.org: alice, bob@example.net\"") != NULL);
	/* A NUL byte in the text is a bad line, not a cut-short file. */
	a = aliases_parse("a@example.org: alice\n\0b\n", 23, "f", err, sizeof err);
	CHECK(a == NULL && strstr(err, "f:2:") != NULL);
	/* The error text is cut to its buffer, never overrun. */
	char small[16];
	CHECK(parse("bad\n", small, sizeof small) == NULL && strlen(small) < sizeof small);
}

static void
test_check(void)
{
	char err[4096];
	struct aliases *a = parse(table, err, sizeof err);
	CHECK(aliases_check(a, &env, "example.org", err, sizeof err) == -1);
	CHECK(strstr(err, "aliases:8: \"loop1@example.org\" loops") != NULL);
	CHECK(strstr(err, "aliases:10: the target nobody@example.org of \"ghost@example.org\" is "
			  "neither an account") != NULL);
	CHECK(strstr(err, "aliases:11: the target nobody@example.org") != NULL);
	CHECK(strstr(err, "aliases:12: the target dan@example.org") != NULL);
	CHECK(strstr(err, "aliases:2:") == NULL);
	aliases_free(&a);
	a = parse("x@elsewhere.test: alice@example.org\nsales@example.org: alice\n", err,
		  sizeof err);
	CHECK(aliases_check(a, &env, "example.org", err, sizeof err) == -1);
	CHECK(strstr(err, "aliases:1: \"x@elsewhere.test\" is not of a domain of ours") != NULL);
	CHECK(strstr(err, "aliases:2") == NULL);
	aliases_free(&a);
	/* The longest address (64 + 1 + 253 octets, DNS's longest name) is kept whole. */
	char longest[400], line[900];
	size_t n = 0;
	memset(longest, 'l', 64);
	n = 64;
	longest[n++] = '@';
	for (int i = 0; i < 4; i++) {
		size_t label = i < 3 ? 63 : 61; /* 3 * 64 + 61 = 253 */
		memset(longest + n, 'd', label);
		n += label;
		if (i < 3)
			longest[n++] = '.';
	}
	longest[n] = '\0';
	snprintf(line, sizeof line, "big@example.org: %s\n", longest);
	a = parse(line, err, sizeof err);
	CHECK(a != NULL);
	char want[401] = ">";
	strcat(want, longest);
	CHECK_STR(expand(a, "big", "example.org"), want);
	aliases_free(&a);
	a = parse("sales@example.org: alice, z@remote.test\n@example.com: carol\n", err,
		  sizeof err);
	CHECK(aliases_check(a, &env, "example.org", err, sizeof err) == 0);
	aliases_free(&a);
}

int
main(void)
{
	test_expand();
	test_no_default();
	test_deep();
	test_parse_errors();
	test_check();
	return test_summary("test_aliases");
}
