/* Unit tests for lib/: buf, str, b64. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64.h"
#include "buf.h"
#include "date.h"
#include "elapsed.h"
#include "group_sync.h"
#include "json.h"
#include "harness.h"
#include "log.h"
#include "self.h"
#include "str.h"
#include "utf8.h"

static void
test_buf(void)
{
	struct buf b;
	buf_init(&b, 8);
	CHECK(buf_append_str(&b, "abcd"));
	CHECK(buf_printf(&b, "%d", 1234));
	CHECK_STR(b.data, "abcd1234");
	CHECK(!buf_append_str(&b, "x")); /* the limit holds */
	CHECK(b.len == 8);
	buf_consume(&b, 3);
	CHECK_STR(b.data, "d1234");
	buf_consume(&b, 100);
	CHECK(b.len == 0);
	buf_free(&b);
}

static void
test_str(void)
{
	uint64_t v = 7;
	CHECK(str_parse_u64(STRV_LIT("0"), &v) && v == 0);
	CHECK(str_parse_u64(STRV_LIT("18446744073709551615"), &v) && v == UINT64_MAX);
	CHECK(!str_parse_u64(STRV_LIT("18446744073709551616"), &v)); /* overflow */
	CHECK(!str_parse_u64(STRV_LIT(""), &v) && !str_parse_u64(STRV_LIT("+1"), &v));
	CHECK(!str_parse_u64(STRV_LIT("1 "), &v) && !str_parse_u64(STRV_LIT("-1"), &v));
	CHECK(str_parse_u64((struct strv){"123abc", 3}, &v) && v == 123); /* a slice */
	char small[4];
	CHECK(!str_copy(small, sizeof small, "abcdef"));
	CHECK_STR(small, "abc");
	CHECK(str_copy(small, sizeof small, "ab"));
	CHECK(strv_eq_ci(STRV_LIT("EhLo"), "ehlo"));
	CHECK(!strv_eq_ci(STRV_LIT("EHLOX"), "ehlo"));
	CHECK(strv_prefix_ci(STRV_LIT("MAIL FROM:<a>"), "mail from:"));
	char esc[32];
	CHECK_STR(str_escape(esc, sizeof esc, "a\r\n\"b", 5), "a\\x0d\\x0a\\x22b");
	char cut[8];
	str_escape(cut, sizeof cut, "0123456789", 10);
	CHECK_STR(cut, "0123...");
	CHECK(str_is_dns_name("s2026._domainkey.Example.test") &&
	      str_is_dns_name("_dmarc.a-b.test"));
	char label[80];
	memset(label, 'a', 63);
	label[63] = '\0';
	CHECK(str_is_dns_name(label));
	strcat(label, "a");
	CHECK(!str_is_dns_name(label)); /* 64 octets */
	CHECK(!str_is_dns_name("") && !str_is_dns_name("a..b") && !str_is_dns_name(".a"));
	CHECK(!str_is_dns_name("a.") && !str_is_dns_name("a b") && !str_is_dns_name("a@b"));
}

static void
test_b64(void)
{
	static const struct {
		const char *plain, *enc;
	} cases[] = {{"", ""},
		     {"f", "Zg=="},
		     {"fo", "Zm8="},
		     {"foo", "Zm9v"},
		     {"foob", "Zm9vYg=="},
		     {"fooba", "Zm9vYmE="},
		     {"foobar", "Zm9vYmFy"}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char enc[64];
		unsigned char dec[64];
		size_t n;
		b64_encode(cases[i].plain, strlen(cases[i].plain), enc);
		CHECK_STR(enc, cases[i].enc);
		CHECK(b64_decode(cases[i].enc, strlen(cases[i].enc), dec, sizeof dec, &n));
		CHECK(n == strlen(cases[i].plain) && memcmp(dec, cases[i].plain, n) == 0);
	}
	unsigned char out[8];
	size_t n;
	CHECK(!b64_decode("Zm9", 3, out, sizeof out, &n));	/* not a multiple of 4 */
	CHECK(!b64_decode("Zm=v", 4, out, sizeof out, &n));	/* data after padding */
	CHECK(!b64_decode("Z m9", 4, out, sizeof out, &n));	/* white space */
	CHECK(!b64_decode("Zm9vYmFy", 8, out, 5, &n));		/* does not fit */
	CHECK(!b64_decode("Zg==Zg==", 8, out, sizeof out, &n)); /* padding mid-string */
}

static void
test_date(void)
{
	char d[64];
	setenv("TZ", "UTC0", 1);
	tzset();
	date_rfc5322(0, d, sizeof d);
	CHECK_STR(d, "Thu, 01 Jan 1970 00:00:00 +0000");
	setenv("TZ", "XYZ-5:30", 1); /* east of Greenwich, half hours */
	tzset();
	date_rfc5322(1795950000, d, sizeof d);
	CHECK_STR(d, "Sun, 29 Nov 2026 16:30:00 +0530");
	setenv("TZ", "ABC7", 1);
	tzset();
	date_rfc5322(1795950000, d, sizeof d);
	CHECK_STR(d, "Sun, 29 Nov 2026 04:00:00 -0700");
}

/* stderr's bytes so far, from the file it was pointed at. */
static size_t
stderr_read(int fd, char *out, size_t size)
{
	ssize_t n = pread(fd, out, size - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

/* Held lines reach stderr only at release, whole, in order, with one write. */
static void
test_log_hold(void)
{
	char path[] = "/tmp/mp-log-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	log_info("event=first");
	char got[4096];
	CHECK(strstr((stderr_read(fd, got, sizeof got), got), "event=first\n") != NULL);
	size_t before = strlen(got);
	log_hold();
	log_info("event=second n=%d", 2);
	log_warn("event=third");
	CHECK(stderr_read(fd, got, sizeof got) == before); /* nothing yet */
	log_release();
	stderr_read(fd, got, sizeof got);
	const char *second = strstr(got, "info: event=second n=2\n");
	const char *third = strstr(got, "warning: event=third\n");
	CHECK(second != NULL && third != NULL && second < third);
	log_info("event=fourth"); /* released: written at once again */
	CHECK(strstr((stderr_read(fd, got, sizeof got), got), "event=fourth\n") != NULL);
	char pid[32];
	snprintf(pid, sizeof pid, "mailport[%d]:", (int)getpid());
	CHECK(strstr(got, pid) != NULL);
	CHECK(self_pid() == (int)getpid());
	CHECK(self_hostname()[0] != '\0');
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	unlink(path);
}

/* A 30 ms sleep reads as 30 ms or a little more, both ways. */
static void
test_elapsed(void)
{
	struct timespec t0, pause = {0, 30 * 1000 * 1000};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long long start = elapsed_now_ms();
	nanosleep(&pause, NULL);
	double ms = elapsed_ms_since(&t0);
	long long now = elapsed_now_ms();
	CHECK(ms >= 30.0 && ms < 5000.0);
	CHECK(now - start >= 29 && now - start < 5000);
}

/* syncfs reports write-back errors from Linux 5.8; anything unknown is old. */
static void
test_group_sync_kernel(void)
{
	CHECK(group_sync_release_reports_errors("5.8.0"));
	CHECK(group_sync_release_reports_errors("6.1.0-18-amd64"));
	CHECK(group_sync_release_reports_errors("5.10.209"));
	CHECK(group_sync_release_reports_errors("10.0"));
	CHECK(!group_sync_release_reports_errors("5.7.19"));
	CHECK(!group_sync_release_reports_errors("4.19.0-26-amd64"));
	CHECK(!group_sync_release_reports_errors("3.10.0-1160.el7.x86_64"));
	CHECK(!group_sync_release_reports_errors(""));
	CHECK(!group_sync_release_reports_errors("linux"));
	CHECK(!group_sync_release_reports_errors("6"));
	struct group_sync old, new;
	group_sync_init_release(&old, "spool", "5.4.0-150-generic");
	CHECK(!group_sync_enabled(&old));
	group_sync_init_release(&new, "spool", "6.1.0");
	CHECK(group_sync_enabled(&new));
}

/* RFC 3629 4's table, at each edge. */
static void
test_utf8(void)
{
	static const struct {
		const char *bytes;
		size_t len;
		size_t want;
	} cases[] = {
	    {"a", 1, 0},		/* ASCII is not a multi-byte sequence */
	    {"\xc2\xa0", 2, 2},		/* U+00A0 */
	    {"\xc1\xbf", 2, 0},		/* overlong */
	    {"\xdf\xbf", 2, 2},		/* U+07FF */
	    {"\xe0\x9f\xbf", 3, 0},	/* overlong */
	    {"\xe0\xa0\x80", 3, 3},	/* U+0800 */
	    {"\xed\x9f\xbf", 3, 3},	/* U+D7FF */
	    {"\xed\xa0\x80", 3, 0},	/* a surrogate */
	    {"\xef\xbf\xbf", 3, 3},	/* U+FFFF */
	    {"\xf0\x8f\xbf\xbf", 4, 0}, /* overlong */
	    {"\xf0\x90\x80\x80", 4, 4}, /* U+10000 */
	    {"\xf4\x8f\xbf\xbf", 4, 4}, /* U+10FFFF */
	    {"\xf4\x90\x80\x80", 4, 0}, /* past U+10FFFF */
	    {"\xf5\x80\x80\x80", 4, 0}, /* no such lead byte */
	    {"\xe2\x82", 2, 0},		/* cut short */
	    {"\xe2\x28\xa1", 3, 0},	/* a bad continuation */
	    {"\x80", 1, 0},		/* a lone continuation */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const unsigned char *p = (const unsigned char *)cases[i].bytes;
		CHECK(utf8_seq_len(p, cases[i].len) == cases[i].want);
	}
	uint32_t cp = 0;
	CHECK(utf8_decode((const unsigned char *)"\xf0\x9f\x93\xa7", 4, &cp) == 4 && cp == 0x1F4E7);
	CHECK(utf8_decode((const unsigned char *)"A", 1, &cp) == 1 && cp == 'A');
	CHECK(utf8_decode((const unsigned char *)"\xc3\xa9", 2, &cp) == 2 && cp == 0xE9);
	CHECK(utf8_valid((const unsigned char *)"caf\xc3\xa9", 5));
	CHECK(!utf8_valid((const unsigned char *)"caf\xc3", 4));
	CHECK(utf8_char_len((const unsigned char *)"x", 0) == 0);
}

static void
test_json(void)
{
	struct buf b;
	buf_init(&b, 0);
	json_string(&b, "a\"b\\c\n\r\t\x01\x7f caf\xc3\xa9 \xff");
	CHECK_STR(b.data, "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u007f caf\xc3\xa9 \\ufffd\"");
	buf_reset(&b);
	json_string_n(&b, "x\0y", 3); /* a NUL inside is escaped, not an end */
	CHECK_STR(b.data, "\"x\\u0000y\"");
	buf_reset(&b);
	json_string(&b, NULL);
	json_key_string(&b, "k", "v", true);
	json_key_string(&b, "n", NULL, true);
	CHECK_STR(b.data, "\"\",\"k\":\"v\",\"n\":null");
	buf_free(&b);
}

/* log_open: a file, opened again after a rename (logrotate), then stderr again. */
static void
test_log_file(void)
{
	char dir[] = "/tmp/mp-logf-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[256], moved[256], err[512];
	snprintf(path, sizeof path, "%s/serve.log", dir);
	snprintf(moved, sizeof moved, "%s/serve.log.1", dir);
	CHECK(log_open(LOG_SINK_FILE, path, err, sizeof err) == 0);
	log_info("event=one");
	CHECK(rename(path, moved) == 0);
	log_info("event=two"); /* still the old file, by its new name */
	CHECK(log_reopen(err, sizeof err) == 0);
	log_info("event=three");
	char got[4096];
	int fd = open(moved, O_RDONLY);
	CHECK(fd >= 0 && stderr_read(fd, got, sizeof got) > 0);
	close(fd);
	CHECK(strstr(got, "info: event=one\n") && strstr(got, "info: event=two\n") &&
	      !strstr(got, "event=three"));
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && stderr_read(fd, got, sizeof got) > 0);
	close(fd);
	CHECK(strstr(got, "info: event=three\n") && !strstr(got, "event=one"));
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
	/* A folder that is gone: the old file stays in use, with why. */
	CHECK(unlink(path) == 0 && unlink(moved) == 0 && rmdir(dir) == 0);
	CHECK(log_reopen(err, sizeof err) == -1 && strstr(err, "cannot open the log file") != NULL);
	CHECK(log_open(LOG_SINK_FILE, path, err, sizeof err) == -1);
	CHECK(log_open(LOG_SINK_STDERR, NULL, err, sizeof err) == 0);
}

int
main(void)
{
	test_utf8();
	test_json();
	test_group_sync_kernel();
	test_elapsed();
	test_log_hold();
	test_log_file();
	test_date();
	test_buf();
	test_str();
	test_b64();
	return test_summary("test_lib");
}
