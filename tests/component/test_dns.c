/*
 * Component tests for io/dns and authn/auth_dns against a tiny DNS
 * responder on 127.0.0.1 (a thread of this test): MX and A answers come
 * back whole, and a lookup whose socket is numbered past 1024 (a busy
 * server's descriptors) works; TXT records' strings are joined per record;
 * NXDOMAIN and NODATA stay apart (SPF's void lookups count both, its
 * "include" treats them alike, DMARC's fallback needs them); auth_dns
 * answers a repeated question from its cache and gives up when the
 * message's budget is spent.
 * An fd_set ends at 1024: a select() loop there writes past it, which
 * glibc's fortified FD_SET turns into an abort.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth_dns.h"
#include "dns.h"
#include "harness.h"

#define HIGH_FD 1100

struct responder {
	int fd;
	int port;
	volatile int stop;
};

static size_t
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
	return 2;
}

/* Encodes "mx.example.test" as DNS labels. */
static size_t
put_name(unsigned char *p, const char *name)
{
	size_t n = 0;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t len = dot ? (size_t)(dot - name) : strlen(name);
		p[n++] = (unsigned char)len;
		memcpy(p + n, name, len);
		n += len;
		name += len + (dot ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

/* One TXT record of the given character-strings, after the answer's name. */
static size_t
put_txt(unsigned char *r, const char *const *strs, size_t nstrs)
{
	size_t n = 0;
	n += put16(r + n, 0xC00C);
	n += put16(r + n, 16);
	n += put16(r + n, 1);
	n += put16(r + n, 0);
	n += put16(r + n, 60);
	size_t len = 0;
	for (size_t k = 0; k < nstrs; k++)
		len += 1 + strlen(strs[k]);
	n += put16(r + n, (unsigned)len);
	for (size_t k = 0; k < nstrs; k++) {
		r[n++] = (unsigned char)strlen(strs[k]);
		memcpy(r + n, strs[k], strlen(strs[k]));
		n += strlen(strs[k]);
	}
	return n;
}

static volatile int queries_seen;

/* Answers one query: every name has MX 10 mx.example.test and A 127.0.0.5;
 * TXT: two records, the first of two strings; names starting "nx." do not
 * exist; names starting "empty." have no records at all. */
static size_t
answer(const unsigned char *q, size_t qlen, unsigned char *r)
{
	size_t i = 12;
	while (i < qlen && q[i] != 0)
		i += (size_t)q[i] + 1;
	i += 5; /* the root label, QTYPE, QCLASS */
	if (qlen < 12 || i > qlen)
		return 0;
	queries_seen++;
	unsigned type = (unsigned)q[i - 4] << 8 | q[i - 3];
	memcpy(r, q, i);
	r[2] = 0x81; /* QR, RD */
	r[3] = 0x80; /* RA, NOERROR */
	put16(r + 6, 1);
	if (qlen > 15 && memcmp(q + 12, "\x02nx", 3) == 0) {
		r[3] = 0x83; /* NXDOMAIN */
		put16(r + 6, 0);
		put16(r + 8, 0);
		put16(r + 10, 0);
		return i;
	}
	if (qlen > 18 && memcmp(q + 12,
				"\x05"
				"empty",
				6) == 0)
		type = 0; /* NODATA for every type */
	if (type == 12) {
		size_t n = i;
		n += put16(r + n, 0xC00C);
		n += put16(r + n, 12);
		n += put16(r + n, 1);
		n += put16(r + n, 0);
		n += put16(r + n, 60);
		size_t len = put_name(r + n + 2, "mx.example.test");
		n += put16(r + n, (unsigned)len) + len;
		put16(r + 8, 0);
		put16(r + 10, 0);
		return n;
	}
	if (type == 16) {
		static const char *const first[] = {"v=spf1 ip4:192.0.2.0/24 ", "-all"};
		static const char *const second[] = {"unrelated"};
		static const char *const nul[] = {"v=spf1 a:foo.test\0"};
		if (qlen > 16 && memcmp(q + 12, "\x03nul", 4) == 0) {
			put16(r + 8, 0);
			put16(r + 10, 0);
			size_t n = i;
			n += put_txt(r + n, nul, 1);
			r[n - 1] = '\0'; /* put_txt stopped at the NUL: the string's last byte */
			return n;
		}
		put16(r + 6, 2);
		put16(r + 8, 0);
		put16(r + 10, 0);
		size_t n = i;
		n += put_txt(r + n, first, 2);
		n += put_txt(r + n, second, 1);
		return n;
	}
	put16(r + 8, 0);
	put16(r + 10, 0);
	size_t n = i;
	n += put16(r + n, 0xC00C); /* the question's name */
	n += put16(r + n, type);
	n += put16(r + n, 1);
	n += put16(r + n, 0);
	n += put16(r + n, 60); /* TTL */
	if (type == 15) {
		unsigned char rdata[64];
		size_t len = put16(rdata, 10);
		len += put_name(rdata + len, "mx.example.test");
		n += put16(r + n, (unsigned)len);
		memcpy(r + n, rdata, len);
		n += len;
	} else if (type == 1) {
		n += put16(r + n, 4);
		const unsigned char a[4] = {127, 0, 0, 5};
		memcpy(r + n, a, 4);
		n += 4;
	} else {
		put16(r + 6, 0); /* NODATA */
		n = i;
	}
	return n;
}

static void *
respond(void *arg)
{
	struct responder *rs = arg;
	while (!rs->stop) {
		struct pollfd p = {.fd = rs->fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		unsigned char q[512], r[1024];
		struct sockaddr_in from;
		socklen_t fl = sizeof from;
		ssize_t got = recvfrom(rs->fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
		size_t n = got > 0 ? answer(q, (size_t)got, r) : 0;
		if (n > 0)
			sendto(rs->fd, r, n, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

static void
responder_start(struct responder *rs, pthread_t *t)
{
	rs->fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	CHECK(bind(rs->fd, (struct sockaddr *)&a, sizeof a) == 0);
	CHECK(getsockname(rs->fd, (struct sockaddr *)&a, &al) == 0);
	rs->port = ntohs(a.sin_port);
	rs->stop = 0;
	CHECK(pthread_create(t, NULL, respond, rs) == 0);
}

static void
check_lookups(const char *resolver)
{
	char err[256];
	struct dns *d = dns_new(resolver, 3000, err, sizeof err);
	CHECK(d != NULL);
	if (d == NULL)
		return;
	struct dns_mx mx[DNS_MAX_MX];
	size_t n = 0;
	CHECK(dns_mx(d, "example.test", mx, &n) == DNS_OK);
	CHECK(n == 1 && strcmp(mx[0].host, "mx.example.test") == 0 && mx[0].pref == 10);
	char addrs[DNS_MAX_ADDRS][64];
	CHECK(dns_addrs(d, "mx.example.test", addrs, &n) == DNS_OK);
	CHECK(n == 1 && strcmp(addrs[0], "127.0.0.5") == 0);
	dns_free(&d);
}

/* Descriptors up to HIGH_FD are taken, so the resolver's socket gets a
 * number past the end of an fd_set. */
static void
test_high_descriptor(const char *resolver)
{
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (rl.rlim_cur < HIGH_FD + 64) {
		rl.rlim_cur = HIGH_FD + 64;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur; /* root may raise the hard limit */
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			printf("not ok: cannot raise RLIMIT_NOFILE to %d for the test\n",
			       HIGH_FD + 64);
			CHECK(0);
			return;
		}
	}
	int *held = calloc(HIGH_FD, sizeof *held);
	int nheld = 0;
	for (;;) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fd >= HIGH_FD) {
			if (fd >= 0)
				close(fd);
			break;
		}
		held[nheld++] = fd;
	}
	CHECK(nheld > 0);
	check_lookups(resolver);
	for (int i = 0; i < nheld; i++)
		close(held[i]);
	free(held);
}

static void
test_any_type(const char *resolver)
{
	char err[256];
	struct dns *d = dns_new(resolver, 3000, err, sizeof err);
	CHECK(d != NULL);
	if (d == NULL)
		return;
	long long deadline = dns_now_ms() + 3000;
	struct ma_dns_answer a;
	CHECK(dns_lookup(d, MA_RR_TXT, "example.test", deadline, &a) == MA_DNS_OK);
	CHECK(a.n == 2);
	if (a.n == 2) {
		CHECK(strcmp(a.rr[0], "v=spf1 ip4:192.0.2.0/24 -all") == 0);
		CHECK(strcmp(a.rr[1], "unrelated") == 0);
	}
	ma_dns_answer_free(&a);
	CHECK(dns_lookup(d, MA_RR_MX, "example.test", deadline, &a) == MA_DNS_OK);
	CHECK(a.n == 1 && strcmp(a.rr[0], "mx.example.test") == 0 && a.pref[0] == 10);
	ma_dns_answer_free(&a);
	CHECK(dns_lookup(d, MA_RR_A, "example.test", deadline, &a) == MA_DNS_OK);
	CHECK(a.n == 1 && strcmp(a.rr[0], "127.0.0.5") == 0);
	ma_dns_answer_free(&a);
	CHECK(dns_lookup(d, MA_RR_PTR, "5.0.0.127.in-addr.arpa", deadline, &a) == MA_DNS_OK);
	CHECK(a.n == 1 && strcmp(a.rr[0], "mx.example.test") == 0);
	ma_dns_answer_free(&a);
	CHECK(dns_lookup(d, MA_RR_TXT, "nul.example.test", deadline, &a) == MA_DNS_OK);
	CHECK(a.n == 1 && strcmp(a.rr[0], "v=spf1 a:foo.tes\x7f") == 0);
	ma_dns_answer_free(&a);
	CHECK(dns_lookup(d, MA_RR_TXT, "nx.example.test", deadline, &a) == MA_DNS_NXDOMAIN);
	CHECK(a.n == 0);
	CHECK(dns_lookup(d, MA_RR_TXT, "empty.example.test", deadline, &a) == MA_DNS_NODATA);
	CHECK(dns_lookup(d, MA_RR_A, "empty.example.test", deadline, &a) == MA_DNS_NODATA);
	/* A deadline already past: no query, a temporary failure. */
	CHECK(dns_lookup(d, MA_RR_TXT, "example.test", dns_now_ms() - 1, &a) == MA_DNS_TEMPFAIL);
	dns_free(&d);
}

static void
test_cache_and_budget(const char *resolver)
{
	char err[256];
	struct auth_dns *ad = auth_dns_new(resolver, 3000, err, sizeof err);
	CHECK(ad != NULL);
	if (ad == NULL)
		return;
	struct ma_dns dns = auth_dns_iface(ad);
	struct ma_dns_answer a;
	auth_dns_start(ad, 3000);
	int before = queries_seen;
	CHECK(dns.lookup(dns.ctx, MA_RR_TXT, "example.test", &a) == MA_DNS_OK && a.n == 2);
	ma_dns_answer_free(&a);
	CHECK(dns.lookup(dns.ctx, MA_RR_TXT, "example.test", &a) == MA_DNS_OK && a.n == 2);
	ma_dns_answer_free(&a);
	CHECK(dns.lookup(dns.ctx, MA_RR_TXT, "nx.example.test", &a) == MA_DNS_NXDOMAIN);
	CHECK(dns.lookup(dns.ctx, MA_RR_TXT, "nx.example.test", &a) == MA_DNS_NXDOMAIN);
	CHECK(auth_dns_queries(ad) == 2);
	CHECK(queries_seen - before == 2);
	/* The next message's budget is spent at once: new names fail, cached ones still answer. */
	auth_dns_start(ad, 0);
	CHECK(dns.lookup(dns.ctx, MA_RR_A, "example.test", &a) == MA_DNS_TEMPFAIL);
	CHECK(dns.lookup(dns.ctx, MA_RR_TXT, "example.test", &a) == MA_DNS_OK);
	ma_dns_answer_free(&a);
	/* A temporary failure is not remembered. */
	auth_dns_start(ad, 3000);
	CHECK(dns.lookup(dns.ctx, MA_RR_A, "example.test", &a) == MA_DNS_OK);
	ma_dns_answer_free(&a);
	auth_dns_free(&ad);
	CHECK(ad == NULL);
}

int
main(void)
{
	struct responder rs;
	pthread_t t;
	responder_start(&rs, &t);
	char resolver[64];
	snprintf(resolver, sizeof resolver, "127.0.0.1:%d", rs.port);
	check_lookups(resolver);
	test_high_descriptor(resolver);
	test_any_type(resolver);
	test_cache_and_budget(resolver);
	rs.stop = 1;
	pthread_join(t, NULL);
	close(rs.fd);
	return test_summary("test_dns");
}
