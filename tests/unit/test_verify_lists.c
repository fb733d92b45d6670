/*
 * verify_lists: role local parts and disposable domains.
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
	CHECK(verify_is_disposable("mailinator.com"));
	CHECK(verify_is_disposable("Mailinator.COM"));
	CHECK(verify_is_disposable("yopmail.com."));
	CHECK(verify_is_disposable("x.yopmail.com"));
	CHECK(!verify_is_disposable("notyopmail.com"));
	CHECK(!verify_is_disposable("gmail.com"));
	CHECK(!verify_is_disposable("com"));
	CHECK(!verify_is_disposable(""));
}

int
main(void)
{
	test_roles();
	test_disposable();
	return test_summary("test_verify_lists");
}
