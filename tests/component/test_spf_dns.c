/*
 * SPF over the real DNS path (spf_check -> auth_dns -> c-ares).
 *
 * Without arguments, a component test: a resolver that never answers (a
 * UDP socket of this test that reads nothing) makes the check a temperror
 * within the message's DNS budget, and an unreachable one (a closed port)
 * does too. RFC 7208 4.4 and 5: a DNS failure is a temperror, and the
 * time bound is the budget's. The verdicts over a real DNS server are
 * tests/integration/test_spf_dns.py's (through `mailport auth check`).
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth_dns.h"
#include "harness.h"
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

int
main(void)
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
