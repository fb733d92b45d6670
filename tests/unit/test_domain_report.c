/*
 * Unit tests for report/domain_report: the verdict (all ok, the exit
 * code, optional checks) and both renderings of a made-up domain check. The JSON
 * member is a contract (DESIGN.md "Contract additions"): compared byte
 * for byte.
 */
#include <string.h>
#include <sysexits.h>

#include "domain_report.h"
#include "harness.h"

static void
all_ok(struct domain_report *r)
{
	memset(r, 0, sizeof *r);
	strcpy(r->domain, "example.test");
	for (int c = 0; c < DC_NCHECKS; c++) {
		r->items[c].required = c != DC_MTA_STS && c != DC_TLS_RPT && c != DC_DANE;
		strcpy(r->items[c].detail, "fine");
	}
}

static void
test_names(void)
{
	CHECK_STR(dc_status_name(DC_OK), "ok");
	CHECK_STR(dc_status_name(DC_MISSING), "missing");
	CHECK_STR(dc_status_name(DC_INVALID), "invalid");
	CHECK_STR(dc_status_name(DC_MISMATCH), "mismatch");
	CHECK_STR(dc_status_name(DC_ERROR), "error");
	const char *want[] = {"mx", "spf", "dkim", "dmarc", "mta_sts", "tls_rpt", "ptr", "dane"};
	for (int c = 0; c < DC_NCHECKS; c++)
		CHECK_STR(dc_check_name((enum dc_check)c), want[c]);
	CHECK(dc_worse(DC_OK, DC_ERROR) == DC_ERROR);
	CHECK(dc_worse(DC_ERROR, DC_MISSING) == DC_MISSING);
	CHECK(dc_worse(DC_MISMATCH, DC_MISSING) == DC_MISMATCH);
	CHECK(dc_worse(DC_INVALID, DC_MISMATCH) == DC_INVALID);
	CHECK(dc_worse(DC_MISSING, DC_OK) == DC_MISSING);
}

static void
test_verdict(void)
{
	struct domain_report r;
	all_ok(&r);
	CHECK(domain_report_ok(&r));
	CHECK(domain_report_exit_code(&r) == EX_OK);
	/* An optional record missing is advice: still all well. */
	r.items[DC_MTA_STS].status = DC_MISSING;
	r.items[DC_TLS_RPT].status = DC_MISSING;
	CHECK(domain_report_ok(&r));
	CHECK(domain_report_exit_code(&r) == EX_OK);
	/* An optional record that is broken is not. */
	r.items[DC_TLS_RPT].status = DC_INVALID;
	CHECK(!domain_report_ok(&r));
	CHECK(domain_report_exit_code(&r) == EX_DATAERR);
	all_ok(&r);
	r.items[DC_SPF].status = DC_MISSING;
	CHECK(domain_report_exit_code(&r) == EX_DATAERR);
	/* DNS did not answer, nothing else wrong: try later. */
	all_ok(&r);
	r.items[DC_DKIM].status = DC_ERROR;
	r.items[DC_DKIM].dns_failed = true;
	CHECK(!domain_report_ok(&r));
	CHECK(domain_report_exit_code(&r) == EX_TEMPFAIL);
	/* ... but a missing record wins over a DNS error elsewhere. */
	r.items[DC_DMARC].status = DC_MISSING;
	CHECK(domain_report_exit_code(&r) == EX_DATAERR);
	/* An error that is not DNS's (nothing to check with) is the user's to fix. */
	all_ok(&r);
	r.items[DC_DKIM].status = DC_ERROR;
	CHECK(domain_report_exit_code(&r) == EX_DATAERR);
}

static void
test_parts_records_limits(void)
{
	struct dc_item it;
	memset(&it, 0, sizeof it);
	for (int i = 0; i < DC_MAX_RECORDS; i++)
		CHECK(dc_add_record(&it, "x. IN TXT \"y\"") != NULL);
	CHECK(dc_add_record(&it, "one too many") == NULL);
	CHECK(it.nrecords == DC_MAX_RECORDS);
	for (int i = 0; i < DC_MAX_PARTS; i++)
		CHECK(dc_add_part(&it, "p", DC_OK, "d") != NULL);
	CHECK(dc_add_part(&it, "p", DC_OK, "d") == NULL);
}

static const char want_json[] =
    ",\"domain_check\":{\"domain\":\"example.test\","
    "\"mx\":{\"status\":\"ok\",\"detail\":\"fine\",\"fix\":\"\",\"required\":true,\"records\":[],"
    "\"hosts\":[{\"name\":\"mx1.example.test (preference 10)\",\"status\":\"ok\","
    "\"detail\":\"resolves to 192.0.2.1\"}]},"
    "\"spf\":{\"status\":\"missing\",\"detail\":\"no SPF record\",\"fix\":\"publish it\","
    "\"required\":true,\"records\":[\"example.test. IN TXT \\\"v=spf1 ip4:192.0.2.1 ~all\\\"\"]},"
    "\"dkim\":{\"status\":\"ok\",\"detail\":\"fine\",\"fix\":\"\",\"required\":true,"
    "\"records\":[],\"selectors\":[]},"
    "\"dmarc\":{\"status\":\"ok\",\"detail\":\"fine\",\"fix\":\"\",\"required\":true,"
    "\"records\":[]},"
    "\"mta_sts\":{\"status\":\"ok\",\"detail\":\"fine\",\"fix\":\"\",\"required\":false,"
    "\"records\":[],\"mx_hosts\":[]},"
    "\"tls_rpt\":{\"status\":\"ok\",\"detail\":\"fine\",\"fix\":\"\",\"required\":false,"
    "\"records\":[]},"
    "\"ptr\":{\"status\":\"ok\",\"detail\":\"fine\",\"fix\":\"\",\"required\":true,"
    "\"records\":[],\"addresses\":[]},"
    "\"dane\":{\"status\":\"ok\",\"detail\":\"fine\",\"fix\":\"\",\"required\":false,"
    "\"records\":[],\"mx_hosts\":[]},"
    "\"all_ok\":false,\"exit_code\":65}";

static void
test_renderings(void)
{
	static struct domain_report r;
	all_ok(&r);
	dc_add_part(&r.items[DC_MX], "mx1.example.test (preference 10)", DC_OK,
		    "resolves to 192.0.2.1");
	struct dc_item *spf = &r.items[DC_SPF];
	spf->status = DC_MISSING;
	strcpy(spf->detail, "no SPF record");
	strcpy(spf->fix, "publish it");
	dc_add_record(spf, "example.test. IN TXT \"v=spf1 ip4:192.0.2.1 ~all\"");
	struct buf b;
	buf_init(&b, 0);
	domain_report_json(&r, &b);
	CHECK_STR(b.data, want_json);

	buf_reset(&b);
	domain_report_text(&r, false, &b);
	CHECK(strstr(b.data, "Domain check of example.test (DNS: the system's resolver)\n") !=
	      NULL);
	CHECK(strstr(b.data, "spf      missing   no SPF record\n") != NULL);
	CHECK(strstr(b.data,
		     "  fix:     publish it\n"
		     "           example.test. IN TXT \"v=spf1 ip4:192.0.2.1 ~all\"\n") != NULL);
	CHECK(strstr(b.data, "mta_sts  ok        fine (optional)\n") != NULL);
	CHECK(strstr(b.data, "1 check needs work") != NULL);
	CHECK(strstr(b.data, "\033[") == NULL);

	/* DNS bytes with control characters are escaped in the text. */
	strcpy(r.items[DC_DMARC].detail, "bad \033[31m record");
	buf_reset(&b);
	domain_report_text(&r, false, &b);
	CHECK(strstr(b.data, "bad \\x1b[31m record") != NULL);

	spf->status = DC_OK;
	buf_reset(&b);
	domain_report_text(&r, true, &b);
	CHECK(strstr(b.data, "All is well:") != NULL);
	buf_free(&b);
}

int
main(void)
{
	test_names();
	test_verdict();
	test_parts_records_limits();
	test_renderings();
	return test_summary("test_domain_report");
}
