/*
 * auth_dns: c-ares lookups with a budget and a cache (see the header).
 * Temporary failures are not cached: the next message asks again.
 *
 * The c-ares channel is the calling thread's, made once per thread and
 * resolver, not one per auth_dns: setting a channel up (reading
 * resolv.conf, opening its socket) for every SMTP session cost more than
 * the session's whole check on a busy smtp door. A channel is used by one
 * thread at a time, which a thread's own channel is.
 */
#include "auth_dns.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "hash.h"
#include "xmalloc.h"

/* A session that asks for more names than this is an attack, not mail. */
#define AUTH_DNS_CACHE_MAX 512

struct cached {
	char key[300]; /* "<type> <name>", the table's borrowed key */
	enum ma_dns_rc rc;
	struct ma_dns_answer ans;
};

/* One thread's channel, for one resolver and query timeout. */
struct thread_dns {
	struct dns *dns;
	char key[320]; /* "<timeout> <resolver>" */
};

struct auth_dns {
	char key[320];
	char *resolver; /* NULL: /etc/resolv.conf */
	int query_timeout_ms;
	long long deadline_ms;
	struct hash cache; /* key -> struct cached */
	size_t queries;
};

static pthread_key_t thread_key;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;

static void
thread_dns_free(void *v)
{
	struct thread_dns *t = v;
	dns_free(&t->dns);
	free(t);
}

static void
thread_key_make(void)
{
	pthread_key_create(&thread_key, thread_dns_free);
}

/* This thread's channel for a's resolver, made (or remade) when needed. */
static struct dns *
thread_dns(const struct auth_dns *a, char *err, size_t err_size)
{
	pthread_once(&thread_once, thread_key_make);
	struct thread_dns *t = pthread_getspecific(thread_key);
	if (t == NULL) {
		t = xcalloc(1, sizeof *t);
		pthread_setspecific(thread_key, t);
	}
	if (t->dns == NULL || strcmp(t->key, a->key) != 0) {
		dns_free(&t->dns);
		t->dns = dns_new(a->resolver, a->query_timeout_ms, err, err_size);
		memcpy(t->key, a->key, sizeof t->key);
	}
	return t->dns;
}

struct auth_dns *
auth_dns_new(const char *resolver, int query_timeout_ms, char *err, size_t err_size)
{
	struct auth_dns *a = xcalloc(1, sizeof *a);
	a->resolver = resolver && resolver[0] ? xstrdup(resolver) : NULL;
	a->query_timeout_ms = query_timeout_ms;
	snprintf(a->key, sizeof a->key, "%d %s", query_timeout_ms, resolver ? resolver : "");
	/* The resolver is checked now, so a bad one is reported where it was given. */
	if (thread_dns(a, err, err_size) == NULL) {
		free(a->resolver);
		free(a);
		return NULL;
	}
	hash_init(&a->cache);
	a->deadline_ms = dns_now_ms() + query_timeout_ms;
	return a;
}

void
auth_dns_free(struct auth_dns **ap)
{
	if (*ap == NULL)
		return;
	struct auth_dns *a = *ap;
	free(a->resolver);
	for (size_t i = 0; i < a->cache.cap; i++) {
		struct cached *c = a->cache.slots[i].key ? a->cache.slots[i].value : NULL;
		if (c) {
			ma_dns_answer_free(&c->ans);
			free(c);
		}
	}
	hash_free(&a->cache);
	free(*ap);
	*ap = NULL;
}

void
auth_dns_start(struct auth_dns *a, int budget_ms)
{
	a->deadline_ms = dns_now_ms() + budget_ms;
}

static void
answer_copy(struct ma_dns_answer *to, const struct ma_dns_answer *from)
{
	memset(to, 0, sizeof *to);
	for (size_t i = 0; i < from->n; i++)
		ma_dns_answer_add(to, from->rr[i], from->pref ? from->pref[i] : 0);
}

static enum ma_dns_rc
lookup(void *ctx, enum ma_rr type, const char *name, struct ma_dns_answer *out)
{
	struct auth_dns *a = ctx;
	char key[300];
	snprintf(key, sizeof key, "%d %s", (int)type, name);
	struct cached *c = hash_get(&a->cache, key);
	if (c) {
		answer_copy(out, &c->ans);
		return c->rc;
	}
	char err[256];
	struct dns *d = thread_dns(a, err, sizeof err);
	if (d == NULL) {
		memset(out, 0, sizeof *out);
		return MA_DNS_TEMPFAIL;
	}
	a->queries++;
	enum ma_dns_rc rc = dns_lookup(d, type, name, a->deadline_ms, out);
	if (rc != MA_DNS_TEMPFAIL && a->cache.len < AUTH_DNS_CACHE_MAX && strlen(name) < 256) {
		c = xcalloc(1, sizeof *c);
		memcpy(c->key, key, sizeof key);
		c->rc = rc;
		answer_copy(&c->ans, out);
		hash_put(&a->cache, c->key, c);
	}
	return rc;
}

struct ma_dns
auth_dns_iface(struct auth_dns *a)
{
	return (struct ma_dns){.lookup = lookup, .ctx = a};
}

size_t
auth_dns_queries(const struct auth_dns *a)
{
	return a->queries;
}
