/*
 * verify_lists: role local parts, disposable domains (built-in and from a
 * file), free providers, typo suggestions and the progress line.
 */
#include "harness.h"
#include "verify_lists.h"

static void
test_roles(void)
{
	CHECK(verify_is_role("postmaster"));
	CHECK(verify_is_role("Info"));
	CHECK(verify_is_role("no-reply"));
	CHECK(verify_is_role("noreply"));
	CHECK(verify_is_role("sales+eu"));
	CHECK(verify_is_role("SUPPORT"));
	CHECK(!verify_is_role("alice"));
	CHECK(!verify_is_role("sales-eu"));
	CHECK(!verify_is_role("information"));
	CHECK(!verify_is_role(""));
}

static void
test_disposable(void)
{
	CHECK(verify_is_disposable("mailinator.com", NULL, 0));
	CHECK(verify_is_disposable("Mailinator.COM", NULL, 0));
	CHECK(verify_is_disposable("yopmail.com.", NULL, 0));
	CHECK(verify_is_disposable("x.yopmail.com", NULL, 0));
	CHECK(!verify_is_disposable("notyopmail.com", NULL, 0));
	CHECK(!verify_is_disposable("gmail.com", NULL, 0));
	CHECK(!verify_is_disposable("com", NULL, 0));
	CHECK(!verify_is_disposable("", NULL, 0));
	CHECK(strstr(verify_disposable_source, "2026-11-29") != NULL);
}

static void
test_disposable_file(void)
{
	char text[] = "# throwaways, 2026\n"
		      "Throw.Test\n"
		      "\n"
		      "  burner.example.  # a trailing comment\r\n"
		      "#not.this.test\n"
		      "last.test";
	const char *list[8];
	size_t bad = 0;
	size_t n = verify_parse_domains(text, list, 8, &bad);
	CHECK(n == 3);
	if (n == 3) {
		CHECK_STR(list[0], "throw.test");
		CHECK_STR(list[1], "burner.example");
		CHECK_STR(list[2], "last.test");
	}
	CHECK(verify_is_disposable("throw.test", list, n));
	CHECK(verify_is_disposable("a.Throw.test", list, n));
	CHECK(verify_is_disposable("burner.example", list, n));
	CHECK(!verify_is_disposable("nothrow.test", list, n));
	CHECK(!verify_is_disposable("not.this.test", list, n));
	CHECK(verify_is_disposable("mailinator.com", list, n)); /* added to, not replaced */

	char badtext[] = "ok.test\nnot a domain\n";
	CHECK(verify_parse_domains(badtext, list, 8, &bad) == (size_t)-1);
	CHECK(bad == 2);
	char empty[] = "# nothing\n\n";
	CHECK(verify_parse_domains(empty, list, 8, &bad) == 0);
}

static void
test_free(void)
{
	const char *yes[] = {"gmail.com",   "Yahoo.com",  "yahoo.co.uk",    "outlook.com",
			     "hotmail.com", "hotmail.fr", "icloud.com",	    "aol.com",
			     "gmx.de",	    "gmx.net",	  "mail.ru",	    "yandex.ru",
			     "yandex.com",  "proton.me",  "protonmail.com", "gmail.com."};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		CHECK(verify_is_free(yes[i]));
	const char *no[] = {"example.com",	  "gmail.example.com", "notgmail.com", "gmx",
			    "yahoo.evil.example", "mailinator.com",    "corp.mail.ru", ""};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		CHECK(!verify_is_free(no[i]));
}

static void
test_suggest(void)
{
	char out[64];
	static const struct {
		const char *typo, *want;
	} cases[] = {
	    {"gmial.com", "gmail.com"},
	    {"gmai.com", "gmail.com"},
	    {"gmail.con", "gmail.com"},
	    {"gnail.com", "gmail.com"},
	    {"hotmial.com", "hotmail.com"},
	    {"hotmal.com", "hotmail.com"},
	    {"yaho.com", "yahoo.com"},
	    {"yahooo.com", "yahoo.com"},
	    {"outlok.com", "outlook.com"},
	    {"outloo.com", "outlook.com"},
	    {"iclod.com", "icloud.com"},
	    {"aol.con", "aol.com"},
	    {"protonmial.com", "protonmail.com"},
	    {"GMIAL.COM", "gmail.com"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		out[0] = '\0';
		CHECK(verify_suggest_domain(cases[i].typo, out, sizeof out));
		CHECK_STR(out, cases[i].want);
	}
	/* Providers themselves, far names, short real ones. */
	const char *none[] = {"gmail.com", "yahoo.co.uk", "gmx.at",    "example.com",
			      "mail.test", "al.com",	  "gmxx.test", ""};
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
		CHECK(!verify_suggest_domain(none[i], out, sizeof out));
	CHECK(verify_edit_distance("gmial.com", "gmail.com") == 1);
	CHECK(verify_edit_distance("abc", "abc") == 0);
	CHECK(verify_edit_distance("", "abc") == 3);
	CHECK(verify_edit_distance("kitten", "sitting") == 3);
}

static void
test_progress(void)
{
	char out[128];
	verify_progress_text(out, sizeof out, 0, 100, 0);
	CHECK_STR(out, "verify: 0/100 done, 0.0/s");
	verify_progress_text(out, sizeof out, 50, 100, 10000);
	CHECK_STR(out, "verify: 50/100 done, 5.0/s, ETA 10s");
	verify_progress_text(out, sizeof out, 10, 1000, 10000);
	CHECK_STR(out, "verify: 10/1000 done, 1.0/s, ETA 16m30s");
	verify_progress_text(out, sizeof out, 1, 10000, 10000);
	CHECK_STR(out, "verify: 1/10000 done, 0.1/s, ETA 27h46m");
	verify_progress_text(out, sizeof out, 100, 100, 2000);
	CHECK_STR(out, "verify: 100/100 done, 50.0/s");
	char small[8];
	verify_progress_text(small, sizeof small, 5, 10, 1000);
	CHECK(strlen(small) == 7);
}

int
main(void)
{
	test_roles();
	test_disposable();
	test_disposable_file();
	test_free();
	test_suggest();
	test_progress();
	return test_summary("test_verify_lists");
}
