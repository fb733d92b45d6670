/*
 * Component tests for deliver/mta_sts_cache on a spool folder of its own,
 * with a resolver that refuses every query (a UDP port where nothing
 * listens): the policy on disk is what holds. A fresh cached policy is
 * served although discovery fails (RFC 8461 5.1: a failed refresh keeps
 * it); an expired one is not; nothing cached and discovery failing is -1
 * with RFC 8460's sts-policy-fetch-error; a damaged cache file is no
 * policy (and fetched again), never a crash; a name that is not a domain
 * never becomes a path. Then the cost of a lookup served from disk.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "harness.h"
#include "log.h"
#include "mta_sts_cache.h"
#include "test_files.h"

static const char *POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mx.a.test\r\nmax_age: 600\r\n";

/* A loopback UDP port where nothing listens: queries there are refused at once. */
static int
closed_port(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	bind(fd, (struct sockaddr *)&sa, sizeof sa);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	close(fd);
	return ntohs(sa.sin_port);
}

static void
write_cache(const char *spool, const char *domain, const char *text, size_t len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/mta-sts/%s", spool, domain);
	FILE *f = fopen(path, "w");
	fwrite(text, 1, len, f);
	fclose(f);
}

static void
cache_policy(const char *spool, const char *domain, int64_t fetched)
{
	char file[1024];
	int len =
	    mta_sts_cache_file_format("abc1", fetched, POLICY, strlen(POLICY), file, sizeof file);
	write_cache(spool, domain, file, (size_t)len);
}

int
main(void)
{
	char spool[128], err[256], resolver[64], why[600];
	snprintf(spool, sizeof spool, "%s", make_tmpdir("sts"));
	log_set_level(LOG_ERR);
	snprintf(resolver, sizeof resolver, "127.0.0.1:%d", closed_port());
	struct dns *dns = dns_new(resolver, 1000, err, sizeof err);
	CHECK(dns != NULL);
	struct mta_sts_cache *c = mta_sts_cache_open(spool, NULL);
	CHECK(c != NULL);
	int64_t now = (int64_t)time(NULL);
	struct mta_sts_policy p;

	/* Fresh on disk, discovery failing: the cached policy. */
	cache_policy(spool, "a.test", now - 10);
	CHECK(mta_sts_cache_get(c, dns, "A.Test.", now, &p, why, sizeof why) == 1);
	CHECK(p.mode == MTA_STS_ENFORCE && p.nmx == 1 && p.max_age == 600);
	CHECK_STR(p.id, "abc1");
	CHECK(p.fetched == now - 10);
	CHECK(mta_sts_mx_match(&p, "mx.a.test"));

	/* max_age run out: not used, and nothing else could be had. */
	cache_policy(spool, "a.test", now - 601);
	CHECK(mta_sts_cache_get(c, dns, "a.test", now, &p, why, sizeof why) == -1);
	CHECK(strncmp(why, "sts-policy-fetch-error: the TXT lookup of _mta-sts.a.test", 57) == 0);

	/* Nothing cached. */
	CHECK(mta_sts_cache_get(c, dns, "b.test", now, &p, why, sizeof why) == -1);

	/* A damaged file: no policy, no crash. */
	write_cache(spool, "c.test", "mailport-mta-sts 1\nid: x\n", 25);
	CHECK(mta_sts_cache_get(c, dns, "c.test", now, &p, why, sizeof why) == -1);
	char file[1024];
	int len = mta_sts_cache_file_format("abc1", now, "version: STSv1\nmode: enforce\n", 29,
					    file, sizeof file);
	write_cache(spool, "d.test", file, (size_t)len);
	CHECK(mta_sts_cache_get(c, dns, "d.test", now, &p, why, sizeof why) == -1);

	/* Not a domain: refused before any path is made of it. */
	CHECK(mta_sts_cache_get(c, dns, "../a.test", now, &p, why, sizeof why) == -1);
	CHECK(strstr(why, "sts-policy-invalid") != NULL);
	CHECK(mta_sts_cache_get(c, dns, "", now, &p, why, sizeof why) == -1);

	/* The cost of a lookup served from disk (with the failing TXT lookup). */
	cache_policy(spool, "a.test", now);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int n = 2000, ok = 0;
	for (int i = 0; i < n; i++)
		ok += mta_sts_cache_get(c, dns, "a.test", now, &p, why, sizeof why) == 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(ok == n);
	double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
		    n / 1000.0;
	printf("a cached policy: %.1f us a lookup (%d lookups)\n", us, n);

	mta_sts_cache_close(&c);
	CHECK(c == NULL);
	dns_free(&dns);
	rm_rf(spool);
	return test_summary("test_mta_sts_cache");
}
