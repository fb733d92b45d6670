/*
 * Unit tests for mailauth/tls_policy: MTA-STS and TLS-RPT TXT records,
 * the examples of RFC 8461 3.1 and RFC 8460 3, and their edge cases
 * (white space around ';', the version exactly first, id length and
 * alphabet, several rua URIs, bad URI schemes).
 */
#include <string.h>

#include "harness.h"
#include "tls_policy.h"

static void
test_tag(void)
{
	char v[64];
	CHECK(tls_policy_tag("v=STSv1; id=20160831085700Z;", "id", v, sizeof v));
	CHECK_STR(v, "20160831085700Z");
	CHECK(tls_policy_tag("v=STSv1 ;  id =  abc  ; x=y", "id", v, sizeof v));
	CHECK_STR(v, "abc");
	CHECK(tls_policy_tag("a=1;b=2", "b", v, sizeof v));
	CHECK_STR(v, "2");
	CHECK(!tls_policy_tag("v=STSv1; xid=1", "id", v, sizeof v));
	CHECK(!tls_policy_tag("v=STSv1; ID=1", "id", v, sizeof v)); /* %s"id=": case matters */
	CHECK(!tls_policy_tag("", "id", v, sizeof v));
	CHECK(tls_policy_tag("id=", "id", v, sizeof v) && v[0] == '\0');
}

static void
test_mta_sts(void)
{
	char id[64], why[256];
	/* RFC 8461 3.1's example. */
	CHECK(mta_sts_record_parse("v=STSv1; id=20160831085700Z;", id, sizeof id, why,
				   sizeof why) == 0);
	CHECK_STR(id, "20160831085700Z");
	CHECK(mta_sts_record_parse("v=STSv1;id=a1", id, sizeof id, why, sizeof why) == 0);
	CHECK_STR(id, "a1");
	CHECK(mta_sts_record_parse("v=STSv1; id=12345678901234567890123456789012", id, sizeof id,
				   why, sizeof why) == 0);
	CHECK(mta_sts_record_parse("v=STSv1; id=123456789012345678901234567890123", id, sizeof id,
				   why, sizeof why) < 0);
	CHECK(strstr(why, "32") != NULL);
	CHECK(mta_sts_record_parse("v=STSv1; id=not-alnum", id, sizeof id, why, sizeof why) < 0);
	CHECK(mta_sts_record_parse("v=STSv1; id=", id, sizeof id, why, sizeof why) < 0);
	CHECK(mta_sts_record_parse("v=STSv1", id, sizeof id, why, sizeof why) < 0);
	CHECK(strstr(why, "no id=") != NULL);
	CHECK(mta_sts_record_parse("v=STSv10; id=1", id, sizeof id, why, sizeof why) < 0);
	CHECK(mta_sts_record_parse("v=stsv1; id=1", id, sizeof id, why, sizeof why) < 0);
	CHECK(mta_sts_record_parse(" v=STSv1; id=1", id, sizeof id, why, sizeof why) < 0);
	CHECK(mta_sts_record_parse("id=1; v=STSv1", id, sizeof id, why, sizeof why) < 0);
	CHECK(id[0] == '\0');
}

static void
test_tlsrpt(void)
{
	char rua[256], why[256];
	/* RFC 8460 3.1's examples. */
	CHECK(tlsrpt_record_parse("v=TLSRPTv1;rua=mailto:reports@example.com", rua, sizeof rua, why,
				  sizeof why) == 0);
	CHECK_STR(rua, "mailto:reports@example.com");
	CHECK(tlsrpt_record_parse("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt", rua,
				  sizeof rua, why, sizeof why) == 0);
	CHECK(tlsrpt_record_parse("v=TLSRPTv1; rua=mailto:reports@example.com,"
				  "https://reporting.example.com/v1/tlsrpt",
				  rua, sizeof rua, why, sizeof why) == 0);
	CHECK(tlsrpt_record_parse("v=TLSRPTv1; rua=mailto:a@b.test , https://r.test/x", rua,
				  sizeof rua, why, sizeof why) == 0);
	CHECK(tlsrpt_record_parse("v=TLSRPTv1; rua=ftp://r.test/x", rua, sizeof rua, why,
				  sizeof why) < 0);
	CHECK(strstr(why, "ftp://r.test/x") != NULL);
	CHECK(tlsrpt_record_parse("v=TLSRPTv1; rua=mailto:nobody", rua, sizeof rua, why,
				  sizeof why) < 0);
	CHECK(tlsrpt_record_parse("v=TLSRPTv1; rua=mailto:a@b.test,https://", rua, sizeof rua, why,
				  sizeof why) < 0);
	CHECK(tlsrpt_record_parse("v=TLSRPTv1; rua=", rua, sizeof rua, why, sizeof why) < 0);
	CHECK(tlsrpt_record_parse("v=TLSRPTv1", rua, sizeof rua, why, sizeof why) < 0);
	CHECK(strstr(why, "no rua=") != NULL);
	CHECK(tlsrpt_record_parse("v=STSv1; rua=mailto:a@b.test", rua, sizeof rua, why,
				  sizeof why) < 0);
	CHECK(rua[0] == '\0');
}

int
main(void)
{
	test_tag();
	test_mta_sts();
	test_tlsrpt();
	return test_summary("test_tls_policy");
}
