/* Unit tests for lib/client_key (per-network IPv6 keys) and lib/penalty (failed-login table). */
#include <stdio.h>
#include <string.h>

#include "client_key.h"
#include "harness.h"
#include "penalty.h"

static void
test_keys(void)
{
	char k[CLIENT_KEY_SIZE], k2[CLIENT_KEY_SIZE];
	CHECK_STR(client_key("192.0.2.7", 64, k, sizeof k), "192.0.2.7");
	CHECK_STR(client_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64, k, sizeof k),
		  "2001:db8:1:2::/64");
	/* Two addresses of one /64 are one client; the next /64 is another. */
	CHECK_STR(client_key("2001:db8:1:2::1", 64, k, sizeof k),
		  client_key("2001:db8:1:2:ffff:ffff:ffff:ffff", 64, k2, sizeof k2));
	CHECK(strcmp(client_key("2001:db8:1:2::1", 64, k, sizeof k),
		     client_key("2001:db8:1:3::1", 64, k2, sizeof k2)) != 0);
	/* Other prefix lengths, including ones that cut inside a byte. */
	CHECK_STR(client_key("2001:db8:1:2::1", 48, k, sizeof k), "2001:db8:1::/48");
	CHECK_STR(client_key("2001:db8:ffff::1", 36, k, sizeof k), "2001:db8:f000::/36");
	CHECK_STR(client_key("2001:db8::ff", 127, k, sizeof k), "2001:db8::fe/127");
	CHECK_STR(client_key("2001:db8::ff", 128, k, sizeof k), "2001:db8::ff");
	CHECK_STR(client_key("2001:db8::ff", 1, k, sizeof k), "::/1");
	CHECK_STR(client_key("::1", 64, k, sizeof k), "::/64");
	/* An IPv4 client reaching an IPv6 socket is still that IPv4 client. */
	CHECK_STR(client_key("::ffff:192.0.2.7", 64, k, sizeof k), "192.0.2.7");
	/* Not an address: counted as written. */
	CHECK_STR(client_key("?", 64, k, sizeof k), "?");
	CHECK_STR(client_key("zz::zz", 64, k, sizeof k), "zz::zz");
	/* A short buffer is cut, never overrun. */
	char tiny[8];
	client_key("2001:db8:1:2::1", 64, tiny, sizeof tiny);
	CHECK(strlen(tiny) == 7);
}

static void
test_penalty_counts_and_forgets(void)
{
	struct penalty_table *t = penalty_new(4, 600);
	CHECK(penalty_note(t, "a", 1000) == 1);
	CHECK(penalty_note(t, "a", 1001) == 2);
	CHECK(penalty_count(t, "a", 1001) == 2);
	CHECK(penalty_count(t, "b", 1001) == 0);
	/* Quiet for longer than the memory: a fresh start. */
	CHECK(penalty_count(t, "a", 1602) == 0);
	CHECK(penalty_note(t, "a", 1602) == 1);
	penalty_free(&t);
	CHECK(t == NULL);
	penalty_free(&t);
}

/*
 * One client rotating through many keys (addresses) cannot push out the
 * penalty of a client with more failures: the newcomers replace each other.
 */
static void
test_penalty_rotation_does_not_evict(void)
{
	struct penalty_table *t = penalty_new(8, 600);
	for (int i = 0; i < 5; i++)
		penalty_note(t, "guesser", 1000 + i);
	penalty_note(t, "other", 1001);
	penalty_note(t, "other", 1002);
	char key[32];
	unsigned most = 0;
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof key, "rot%d", i);
		unsigned n = penalty_note(t, key, 1010);
		most = n > most ? n : most;
	}
	CHECK(most == 1);
	CHECK(penalty_count(t, "guesser", 1010) == 5);
	CHECK(penalty_count(t, "other", 1010) == 2);
	CHECK(penalty_note(t, "guesser", 1011) == 6);
	/* Forgotten entries are given away first, before any fresh one. */
	penalty_note(t, "late", 1700); /* everything else is 690 s old */
	CHECK(penalty_count(t, "late", 1700) == 1);
	/* A full table of fresh entries with more failures: the fewest go first. */
	struct penalty_table *u = penalty_new(2, 600);
	penalty_note(u, "x", 1);
	penalty_note(u, "x", 2);
	penalty_note(u, "y", 3);
	penalty_note(u, "z", 4); /* replaces y (1 failure), not x (2) */
	CHECK(penalty_count(u, "x", 5) == 2);
	CHECK(penalty_count(u, "y", 5) == 0);
	CHECK(penalty_count(u, "z", 5) == 1);
	penalty_free(&u);
	penalty_free(&t);
}

int
main(void)
{
	test_keys();
	test_penalty_counts_and_forgets();
	test_penalty_rotation_does_not_evict();
	return test_summary("test_client_key");
}
