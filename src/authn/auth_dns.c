/*
 * auth_dns: c-ares lookups with a budget and a cache (see the header).
 * Temporary failures are not cached: the next message asks again.
 */
#include "auth_dns.h"

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

struct auth_dns {
	struct dns *dns;
	long long deadline_ms;
	struct hash cache; /* key -> struct cached */
	size_t queries;
};

struct auth_dns *
auth_dns_new(const char *resolver, int query_timeout_ms, char *err, size_t err_size)
{
	struct dns *d = dns_new(resolver, query_timeout_ms, err, err_size);
	if (d == NULL)
		return NULL;
	struct auth_dns *a = xcalloc(1, sizeof *a);
	a->dns = d;
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
	dns_free(&a->dns);
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
	a->queries++;
	enum ma_dns_rc rc = dns_lookup(a->dns, type, name, a->deadline_ms, out);
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
