/*
 * Unit tests for report/verify_report and report/verify_input: the table,
 * JSON and CSV `mailport verify` writes, compared byte for byte on made-up
 * items (server replies with quotes, commas, line breaks and control
 * bytes among them), and the reader of address lists and CSV files
 * (RFC 4180 quoting, BOM, CRLF, the --column choice, very wide records).
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "verify_input.h"
#include "verify_report.h"

static void
fixture(struct verify_item it[3])
{
	memset(it, 0, 3 * sizeof *it);
	strcpy(it[0].input, "alice@example.com");
	it[0].verdict = VERIFY_DELIVERABLE;
	strcpy(it[0].reason, "accepted");
	strcpy(it[0].mx, "mx.example.com");
	it[0].smtp_code = 250;
	strcpy(it[0].smtp_reply, "2.1.5 ok");
	strcpy(it[0].normalized, "alice@example.com");

	strcpy(it[1].input, "bob@gmial.com");
	it[1].verdict = VERIFY_RISKY;
	it[1].flags = VERIFY_F_ROLE | VERIFY_F_CATCH_ALL;
	strcpy(it[1].reason, "catch-all, \"maybe\"");
	strcpy(it[1].smtp_reply, "left from an earlier try"); /* no code: not shown */
	strcpy(it[1].normalized, "bob@gmial.com");
	strcpy(it[1].suggestion, "bob@gmail.com");

	strcpy(it[2].input, "bad\x01@x");
	it[2].verdict = VERIFY_UNDELIVERABLE;
	strcpy(it[2].reason, "line1\nline2");
	it[2].smtp_code = 550;
	strcpy(it[2].smtp_reply, "5.1.1 no \"such\" user");
}

static void
test_names(void)
{
	char flags[64];
	CHECK_STR(verify_verdict_name(VERIFY_DELIVERABLE), "deliverable");
	CHECK_STR(verify_verdict_name(VERIFY_UNKNOWN), "unknown");
	verify_flags_text(0, flags, sizeof flags);
	CHECK_STR(flags, "");
	verify_flags_text(VERIFY_F_ROLE | VERIFY_F_DISPOSABLE | VERIFY_F_CATCH_ALL |
			      VERIFY_F_TEMPFAIL | VERIFY_F_FREE,
			  flags, sizeof flags);
	CHECK_STR(flags, "role,disposable,catch-all,tempfail,free");
	verify_flags_text(VERIFY_F_TEMPFAIL, flags, sizeof flags);
	CHECK_STR(flags, "tempfail");
}

static void
test_text(void)
{
	struct verify_item it[3];
	fixture(it);
	struct buf out;
	buf_init(&out, 0);
	verify_text(it, 3, &out);
	/* The column is as wide as the longest address; controls and quotes escaped. */
	CHECK_STR(out.data,
		  "ADDRESS            VERDICT        FLAGS             REASON\n"
		  "alice@example.com  deliverable    -                 accepted [2.1.5 ok]\n"
		  "bob@gmial.com      risky          role,catch-all    catch-all, \\x22maybe\\x22 "
		  "(did you mean bob@gmail.com?)\n"
		  "bad\\x01@x          undeliverable  -                 line1\\x0aline2 "
		  "[5.1.1 no \\x22such\\x22 user]\n");

	/* A very long address only shifts its own row: the column stops at 48. */
	struct verify_item longer = {.verdict = VERIFY_UNKNOWN};
	memset(longer.input, 'a', 60);
	buf_reset(&out);
	verify_text(&longer, 1, &out);
	CHECK(strncmp(out.data, "ADDRESS", 7) == 0 && strchr(out.data, '\n') - out.data == 48 + 41);
	buf_free(&out);
}

static void
test_json(void)
{
	struct verify_item it[3];
	fixture(it);
	struct buf out;
	buf_init(&out, 0);
	verify_json(it, 3, &out);
	CHECK_STR(
	    out.data,
	    "[\n {\"address\":\"alice@example.com\",\"verdict\":\"deliverable\","
	    "\"reason\":\"accepted\",\"flags\":[],\"mx\":\"mx.example.com\",\"smtp_code\":250,"
	    "\"smtp_reply\":\"2.1.5 ok\",\"normalized\":\"alice@example.com\","
	    "\"suggestion\":null},\n"
	    " {\"address\":\"bob@gmial.com\",\"verdict\":\"risky\","
	    "\"reason\":\"catch-all, \\\"maybe\\\"\",\"flags\":[\"role\",\"catch-all\"],"
	    "\"mx\":null,\"smtp_code\":null,\"smtp_reply\":null,"
	    "\"normalized\":\"bob@gmial.com\",\"suggestion\":\"bob@gmail.com\"},\n"
	    " {\"address\":\"bad\\u0001@x\",\"verdict\":\"undeliverable\","
	    "\"reason\":\"line1\\nline2\",\"flags\":[],\"mx\":null,\"smtp_code\":550,"
	    "\"smtp_reply\":\"5.1.1 no \\\"such\\\" user\",\"normalized\":null,"
	    "\"suggestion\":null}\n]\n");
	buf_reset(&out);
	verify_json(it, 0, &out);
	CHECK_STR(out.data, "[]\n");
	buf_free(&out);
}

static void
test_csv_out(void)
{
	struct verify_item it[3];
	fixture(it);
	struct buf out;
	buf_init(&out, 0);
	verify_csv(it, 3, NULL, &out);
	CHECK_STR(out.data,
		  "address,verdict,reason,flags,mx,smtp_code,smtp_reply,normalized,suggestion\r\n"
		  "alice@example.com,deliverable,accepted,,mx.example.com,250,2.1.5 ok,"
		  "alice@example.com,\r\n"
		  "bob@gmial.com,risky,\"catch-all, \"\"maybe\"\"\",\"role,catch-all\",,,,"
		  "bob@gmial.com,bob@gmail.com\r\n"
		  "bad\x01@x,undeliverable,\"line1\nline2\",,,550,\"5.1.1 no \"\"such\"\" user\",,"
		  "\r\n");
	buf_free(&out);
}

static void
free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static void
test_read_lines(void)
{
	static const char text[] = "\xEF\xBB\xBF"
				   "a@x\r\n\n# a comment\n  b@y\t\n\r\nc@z";
	char **list = NULL, err[128] = "";
	size_t n = 0;
	CHECK(verify_read_input(text, sizeof text - 1, NULL, &list, &n, NULL, err, sizeof err) ==
	      0);
	CHECK(n == 3);
	if (n == 3) {
		CHECK_STR(list[0], "a@x"); /* the BOM and the CR are the file's */
		CHECK_STR(list[1], "b@y");
		CHECK_STR(list[2], "c@z");
	}
	free_list(list, n);
}

/* A spreadsheet's export: BOM, CRLF, quoted fields with commas, quotes, line breaks. */
static const char sheet[] = "\xEF\xBB\xBF"
			    "Name,EMail,Note\r\n"
			    "\"Doe, Jane\",alice@example.com,\"said \"\"hi\"\"\"\r\n"
			    ",\r\n"
			    "\"two\nlines\", bob@gmial.com ,x,extra\r\n"
			    "Carol,bad\x01@x";

static void
test_read_csv(void)
{
	char **list = NULL, err[128] = "";
	size_t n = 0;
	struct verify_csv_in in = {0};
	/* --column matches the header case-insensitively. */
	CHECK(verify_read_input(sheet, sizeof sheet - 1, "email", &list, &n, &in, err,
				sizeof err) == 0);
	CHECK(n == 3 && in.nrows == 3 && in.nhead == 3);
	if (n != 3 || in.nrows != 3 || in.nhead != 3)
		return;
	CHECK_STR(in.head[0], "Name"); /* no BOM in the first column's name */
	CHECK_STR(in.head[2], "Note"); /* no CR at the end of the line */
	CHECK_STR(list[0], "alice@example.com");
	CHECK_STR(list[1], "bob@gmial.com"); /* spaces around the address trimmed */
	CHECK_STR(list[2], "bad\x01@x");
	CHECK_STR(in.rows[0][0], "Doe, Jane");
	CHECK_STR(in.rows[0][2], "said \"hi\"");
	CHECK(in.nfields[1] == 4);
	CHECK_STR(in.rows[1][0], "two\nlines");
	CHECK_STR(in.rows[1][3], "extra");
	CHECK(in.nfields[2] == 2);

	/* --csv writes each input row back, padded to the header, then the results. */
	struct verify_item it[3];
	fixture(it);
	struct buf out;
	buf_init(&out, 0);
	verify_csv(it, 3, &in, &out);
	CHECK_STR(out.data,
		  "Name,EMail,Note,verdict,reason,flags,mx,smtp_code,smtp_reply,normalized,"
		  "suggestion\r\n"
		  "\"Doe, Jane\",alice@example.com,\"said \"\"hi\"\"\",deliverable,accepted,,"
		  "mx.example.com,250,2.1.5 ok,alice@example.com,\r\n"
		  "\"two\nlines\",bob@gmial.com,x,extra,risky,\"catch-all, \"\"maybe\"\"\","
		  "\"role,catch-all\",,,,bob@gmial.com,bob@gmail.com\r\n"
		  "Carol,bad\x01@x,,undeliverable,\"line1\nline2\",,,550,"
		  "\"5.1.1 no \"\"such\"\" user\",,\r\n");
	/* An item past the file's rows (none today) gets empty input columns. */
	buf_reset(&out);
	in.nrows = 0;
	verify_csv(it, 1, &in, &out);
	CHECK(strstr(out.data, "\r\n,,,deliverable,") != NULL);
	in.nrows = 3;
	buf_free(&out);
	verify_csv_in_free(&in);
	CHECK(in.head == NULL && in.nrows == 0);
	free_list(list, n);

	/* Without csv the rows are not kept; the addresses are the same. */
	list = NULL;
	n = 0;
	CHECK(verify_read_input(sheet, sizeof sheet - 1, "EMAIL", &list, &n, NULL, err,
				sizeof err) == 0);
	CHECK(n == 3);
	free_list(list, n);
}

static void
test_read_csv_errors(void)
{
	char **list = NULL, err[128] = "";
	size_t n = 0;
	struct verify_csv_in in = {0};
	CHECK(verify_read_input(sheet, sizeof sheet - 1, "mail", &list, &n, &in, err, sizeof err) ==
	      -1);
	CHECK_STR(err, "no column named 'mail' in the header line");
	CHECK(n == 0 && list == NULL && in.head == NULL);

	/* An empty file has no header either. */
	CHECK(verify_read_input("", 0, "email", &list, &n, &in, err, sizeof err) == -1);

	/*
	 * A record wider than 256 fields: the fields are all there, but those
	 * past the 256th keep no bytes, so a column that far is never found.
	 */
	struct buf wide;
	buf_init(&wide, 0);
	for (int i = 0; i < 300; i++)
		buf_printf(&wide, "%sc%d", i ? "," : "", i);
	buf_append_str(&wide, "\n");
	for (int i = 0; i < 300; i++)
		buf_printf(&wide, "%sv%d@x", i ? "," : "", i);
	buf_append_str(&wide, "\n");
	CHECK(verify_read_input(wide.data, wide.len, "c255", &list, &n, &in, err, sizeof err) == 0);
	CHECK(n == 1 && in.nrows == 1 && in.nhead == 300);
	if (n == 1 && in.nrows == 1) {
		CHECK_STR(list[0], "v255@x");
		CHECK(in.nfields[0] == 300);
		CHECK_STR(in.rows[0][256], "");
		CHECK_STR(in.rows[0][299], "");
	}
	verify_csv_in_free(&in);
	free_list(list, n);
	list = NULL;
	n = 0;
	CHECK(verify_read_input(wide.data, wide.len, "c256", &list, &n, NULL, err, sizeof err) ==
	      -1);
	CHECK_STR(err, "no column named 'c256' in the header line");
	free_list(list, n);
	buf_free(&wide);
}

int
main(void)
{
	test_names();
	test_text();
	test_json();
	test_csv_out();
	test_read_lines();
	test_read_csv();
	test_read_csv_errors();
	return test_summary("test_verify_report");
}
