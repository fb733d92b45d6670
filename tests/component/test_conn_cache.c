/*
 * Component tests for deliver/conn_cache: the caps per destination and
 * overall (idle connections counted), a kept connection handed to the next
 * caller of the same destination (newest first), the oldest idle one of
 * another destination closed to make room, expiry, and stop. The kept
 * "connections" carry no session: closing one only frees it.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn_cache.h"
#include "harness.h"
#include "xmalloc.h"

static struct cached_conn *
fake(const char *relay)
{
	struct cached_conn *c = xcalloc(1, sizeof *c);
	strcpy(c->relay, relay);
	return c;
}

static void
test_caps_and_reuse(void)
{
	struct conn_cache *cc = conn_cache_new(3, 2);
	struct cached_conn *kept;
	CHECK(conn_cache_acquire(cc, "a.test", &kept) == SLOT_NEW && kept == NULL);
	CHECK(conn_cache_acquire(cc, "A.TEST", &kept) == SLOT_NEW); /* same destination */
	CHECK(conn_cache_full(cc, "a.test"));
	CHECK(conn_cache_acquire(cc, "a.test", &kept) == SLOT_FULL && kept == NULL);
	/* A slot given back with its connection: the next caller gets both. */
	conn_cache_release(cc, "a.test", fake("first"));
	conn_cache_release(cc, "a.test", fake("second"));
	CHECK(!conn_cache_full(cc, "a.test"));
	CHECK(conn_cache_acquire(cc, "a.test", &kept) == SLOT_KEPT && kept);
	CHECK(kept && strcmp(kept->relay, "second") == 0); /* the newest first */
	cached_conn_close(&kept);
	conn_cache_release(cc, "a.test", NULL); /* closed: a.test has one idle, 1 in all */
	CHECK(conn_cache_acquire(cc, "b.test", &kept) == SLOT_NEW);
	CHECK(conn_cache_acquire(cc, "c.test", &kept) == SLOT_NEW); /* 3 in all: a idle, b, c */
	/* Full overall: d.test takes the room of a.test's idle connection. */
	CHECK(!conn_cache_full(cc, "d.test"));
	CHECK(conn_cache_acquire(cc, "d.test", &kept) == SLOT_NEW);
	CHECK(conn_cache_full(cc, "e.test")); /* nothing idle left to close */
	CHECK(conn_cache_acquire(cc, "a.test", &kept) == SLOT_FULL);
	conn_cache_release(cc, "b.test", NULL);
	CHECK(conn_cache_acquire(cc, "e.test", &kept) == SLOT_NEW);
	conn_cache_release(cc, "c.test", NULL);
	conn_cache_release(cc, "d.test", NULL);
	conn_cache_release(cc, "e.test", NULL);
	conn_cache_free(&cc);
	CHECK(cc == NULL);
}

static void
test_expire_and_stop(void)
{
	struct conn_cache *cc = conn_cache_new(4, 4);
	struct cached_conn *kept;
	CHECK(conn_cache_acquire(cc, "a.test", &kept) == SLOT_NEW);
	conn_cache_release(cc, "a.test", fake("old"));
	conn_cache_expire(cc, 60000); /* young enough: kept */
	CHECK(conn_cache_acquire(cc, "a.test", &kept) == SLOT_KEPT);
	conn_cache_release(cc, "a.test", kept);
	usleep(30000);
	conn_cache_expire(cc, 10); /* older than 10 ms: closed */
	CHECK(conn_cache_acquire(cc, "a.test", &kept) == SLOT_NEW && kept == NULL);
	conn_cache_stop(cc);
	conn_cache_release(cc, "a.test", fake("after stop")); /* not kept: closed */
	CHECK(conn_cache_acquire(cc, "a.test", &kept) == SLOT_STOPPING && kept == NULL);
	conn_cache_free(&cc);
}

int
main(void)
{
	test_caps_and_reuse();
	test_expire_and_stop();
	return test_summary("test_conn_cache");
}
