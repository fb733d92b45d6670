/* RFC 8689 5: "TLS-Required: No" read from a message's header section. */
#include <string.h>

#include "harness.h"
#include "tls_required.h"

static bool
check(const char *msg)
{
	return tls_required_no(msg, strlen(msg));
}

int
main(void)
{
	CHECK(check("Subject: x\r\nTLS-Required: No\r\n\r\nbody\r\n"));
	CHECK(check("tls-required:no\r\n\r\n"));
	CHECK(check("TLS-Required:  NO \r\n\r\n"));
	CHECK(check("TLS-Required:\r\n No\r\n\r\n")); /* folded */
	CHECK(check("TLS-Required: No\n\nbody\n"));   /* bare LF ends */
	CHECK(!check("Subject: x\r\n\r\nbody\r\n"));
	CHECK(!check("TLS-Required: Yes\r\n\r\n"));
	CHECK(!check("TLS-Required: Nope\r\n\r\n"));
	CHECK(!check("TLS-Required: No, please\r\n\r\n"));
	/* Two fields that disagree: the safer reading. */
	CHECK(!check("TLS-Required: No\r\nTLS-Required: Yes\r\n\r\n"));
	CHECK(check("TLS-Required: No\r\nTLS-Required: no\r\n\r\n"));
	/* Only the header section counts, not a line of the body. */
	CHECK(!check("Subject: x\r\n\r\nTLS-Required: No\r\n"));
	CHECK(!check("X-TLS-Required: No\r\n\r\n"));
	CHECK(!check(""));
	return test_summary("test_tls_required");
}
