/*
 * SPF over the real DNS path (spf_check -> auth_dns -> c-ares).
 *
 * Without arguments, a component test: a resolver that never answers (a
 * UDP socket of this test that reads nothing) makes the check a temperror
 * within the message's DNS budget, and an unreachable one (a closed port)
 * does too. RFC 7208 4.4 and 5: a DNS failure is a temperror, and the
 * time bound is the budget's.
 *
 * With arguments, the integration tests' driver (tests/integration/
 * test_spf_dns.py) until `mailport auth check` can stand in:
 *   test_spf_dns --ip IP --helo NAME --from ADDR --resolver HOST:PORT
 *                [--receiver NAME] [--now SECONDS]
 * prints the outcome as one JSON object.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth_dns.h"
#include "buf.h"
#include "harness.h"
#include "json.h"
#include "spf.h"

static long long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
silent_udp_port(int *fd_r)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t len = sizeof sin;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		return -1;
	*fd_r = fd;
	return ntohs(sin.sin_port);
}

static void
check_temperror_within(const char *resolver, int budget_ms)
{
	char err[256];
	struct auth_dns *a = auth_dns_new(resolver, 150, err, sizeof err);
	CHECK(a != NULL);
	if (a == NULL)
		return;
	auth_dns_start(a, budget_ms);
	struct ma_dns dns = auth_dns_iface(a);
	struct spf_request rq = {.ip = "127.0.0.1", .helo = "client.test", .sender = "u@x.test"};
	struct spf_outcome o;
	long long t0 = now_ms();
	spf_check(&dns, &rq, &o);
	long long took = now_ms() - t0;
	CHECK(o.result == SPF_TEMPERROR);
	CHECK(strstr(o.reason, "TXT x.test") != NULL);
	CHECK(took < budget_ms + 1000);
	printf("# %s: %s in %lld ms (%s)\n", resolver, spf_result_name(o.result), took, o.reason);
	auth_dns_free(&a);
}

static int
self_test(void)
{
	int fd = -1;
	int port = silent_udp_port(&fd);
	CHECK(port > 0);
	char resolver[64];
	snprintf(resolver, sizeof resolver, "127.0.0.1:%d", port);
	check_temperror_within(resolver, 400);
	close(fd); /* now nothing listens there: refused, not silent */
	check_temperror_within(resolver, 400);
	return test_summary("test_spf_dns");
}

static void
print_json(const struct spf_outcome *o)
{
	struct buf b;
	buf_init(&b, 0);
	buf_append_str(&b, "{");
	json_key_string(&b, "result", spf_result_name(o->result), false);
	json_key_string(&b, "identity", o->identity, true);
	json_key_string(&b, "domain", o->domain, true);
	json_key_string(&b, "sender", o->sender, true);
	json_key_string(&b, "explanation", o->explanation, true);
	json_key_string(&b, "reason", o->reason, true);
	buf_printf(&b, ",\"lookups\":%u,\"void_lookups\":%u}\n", o->lookups, o->void_lookups);
	fputs(b.data, stdout);
	buf_free(&b);
}

int
main(int argc, char **argv)
{
	if (argc == 1)
		return self_test();
	struct spf_request rq = {.receiver = "mx.test"};
	const char *resolver = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (strcmp(k, "--ip") == 0)
			rq.ip = v;
		else if (strcmp(k, "--helo") == 0)
			rq.helo = v;
		else if (strcmp(k, "--from") == 0)
			rq.sender = v;
		else if (strcmp(k, "--resolver") == 0)
			resolver = v;
		else if (strcmp(k, "--receiver") == 0)
			rq.receiver = v;
		else if (strcmp(k, "--now") == 0)
			rq.now = strtoll(v, NULL, 10);
		else {
			fprintf(stderr, "test_spf_dns: unknown option %s\n", k);
			return 64;
		}
	}
	if (rq.ip == NULL || resolver == NULL || rq.sender == NULL || argc % 2 == 0) {
		fprintf(stderr, "usage: test_spf_dns --ip IP --helo NAME --from ADDR --resolver "
				"HOST:PORT [--receiver NAME] [--now SECONDS]\n");
		return 64;
	}
	char err[256];
	struct auth_dns *a = auth_dns_new(resolver, 2000, err, sizeof err);
	if (a == NULL) {
		fprintf(stderr, "test_spf_dns: %s\n", err);
		return 69;
	}
	auth_dns_start(a, 5000);
	struct ma_dns dns = auth_dns_iface(a);
	struct spf_outcome o;
	spf_check(&dns, &rq, &o);
	print_json(&o);
	auth_dns_free(&a);
	return 0;
}
