/*
 * dkim_key_cache: decoded DKIM public keys by record (see the header). A
 * table of at most KEY_CACHE_MAX keys, emptied when full (a flood of
 * distinct keys costs what it cost without the cache, never memory); keys
 * that fail to decode are not kept.
 */
#include "dkim_key_cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "dkim_keys.h"
#include "hash.h"
#include "xmalloc.h"

#define KEY_CACHE_MAX 1024

struct cached_key {
	char id[2 + 2 * SHA256_DIGEST_LENGTH + 1]; /* type, then the SHA-256 of p= in hex */
	EVP_PKEY *pkey;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct hash cache; /* id -> struct cached_key */

static void
key_id(const struct dkim_key_record *rec, char *id)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(rec->p, rec->p_len, md);
	id += sprintf(id, "%d:", (int)rec->type);
	for (size_t i = 0; i < sizeof md; i++)
		id += sprintf(id, "%02x", md[i]);
}

static void
cache_clear(void)
{
	for (size_t i = 0; i < cache.cap; i++) {
		struct cached_key *c = cache.slots[i].key ? cache.slots[i].value : NULL;
		if (c) {
			EVP_PKEY_free(c->pkey);
			free(c);
		}
	}
	hash_free(&cache);
	hash_init(&cache);
}

EVP_PKEY *
dkim_pubkey_cached(const struct dkim_key_record *rec, char *why, size_t why_size)
{
	char id[sizeof((struct cached_key *)0)->id];
	key_id(rec, id);
	pthread_mutex_lock(&cache_mu);
	struct cached_key *c = hash_get(&cache, id);
	if (c && EVP_PKEY_up_ref(c->pkey) == 1) {
		EVP_PKEY *k = c->pkey;
		pthread_mutex_unlock(&cache_mu);
		return k;
	}
	pthread_mutex_unlock(&cache_mu);
	EVP_PKEY *k = dkim_pubkey_from_record(rec, why, why_size);
	if (k == NULL || EVP_PKEY_up_ref(k) != 1)
		return k;
	pthread_mutex_lock(&cache_mu);
	if (hash_get(&cache, id) != NULL) {
		EVP_PKEY_free(k); /* another thread decoded it meanwhile */
	} else {
		if (cache.len >= KEY_CACHE_MAX)
			cache_clear();
		c = xcalloc(1, sizeof *c);
		memcpy(c->id, id, sizeof c->id);
		c->pkey = k;
		hash_put(&cache, c->id, c);
	}
	pthread_mutex_unlock(&cache_mu);
	return k;
}

size_t
dkim_key_cache_size(void)
{
	pthread_mutex_lock(&cache_mu);
	size_t n = cache.len;
	pthread_mutex_unlock(&cache_mu);
	return n;
}
