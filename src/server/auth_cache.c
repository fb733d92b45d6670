/*
 * auth_cache: a small table of recent successful logins (see the header).
 */
#include "auth_cache.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "log.h"
#include "str.h"
#include "xmalloc.h"

struct slot {
	char user[256];
	unsigned char digest[AUTH_CACHE_DIGEST];
	time_t when;
};

struct auth_cache {
	unsigned char key[32];
	unsigned ttl;
	size_t nslots;
	struct slot *slots;
};

struct auth_cache *
auth_cache_new(unsigned ttl, size_t slots)
{
	struct auth_cache *c = xcalloc(1, sizeof *c);
	if (RAND_bytes(c->key, sizeof c->key) != 1) {
		/* The system's random source failed: an environment error, not a bug. */
		log_err("event=auth_cache_error error=\"no random bytes for the cache key\" "
			"fix=\"check that /dev/urandom is readable and the kernel's entropy "
			"pool is seeded (getrandom(2))\"");
		free(c);
		return NULL;
	}
	c->ttl = ttl;
	c->nslots = slots;
	c->slots = xcalloc(slots, sizeof *c->slots);
	return c;
}

void
auth_cache_free(struct auth_cache **cp)
{
	struct auth_cache *c = *cp;
	if (c == NULL)
		return;
	OPENSSL_cleanse(c->key, sizeof c->key);
	OPENSSL_cleanse(c->slots, c->nslots * sizeof *c->slots);
	free(c->slots);
	free(c);
	*cp = NULL;
}

bool
auth_cache_digest(const struct auth_cache *c, const char *user, const char *password,
		  unsigned char out[AUTH_CACHE_DIGEST])
{
	/* user, a NUL, password: the NUL keeps ("ab","c") apart from ("a","bc"). */
	size_t ul = strlen(user), pl = strlen(password);
	unsigned char *msg = xmalloc(ul + 1 + pl);
	memcpy(msg, user, ul + 1);
	memcpy(msg + ul + 1, password, pl);
	size_t len = 0;
	bool ok = EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, c->key, sizeof c->key, msg,
			    ul + 1 + pl, out, AUTH_CACHE_DIGEST, &len) != NULL &&
		  len == AUTH_CACHE_DIGEST;
	OPENSSL_cleanse(msg, ul + 1 + pl);
	free(msg);
	return ok;
}

static struct slot *
find(struct auth_cache *c, const char *user)
{
	for (size_t i = 0; i < c->nslots; i++)
		if (c->slots[i].when && str_eq_ci(c->slots[i].user, user))
			return &c->slots[i];
	return NULL;
}

bool
auth_cache_hit(struct auth_cache *c, const char *user,
	       const unsigned char digest[AUTH_CACHE_DIGEST], time_t now)
{
	struct slot *s = find(c, user);
	return s && now - s->when < (time_t)c->ttl &&
	       CRYPTO_memcmp(s->digest, digest, AUTH_CACHE_DIGEST) == 0;
}

void
auth_cache_store(struct auth_cache *c, const char *user,
		 const unsigned char digest[AUTH_CACHE_DIGEST], time_t now)
{
	struct slot *s = find(c, user);
	if (s == NULL) { /* a free slot, else the oldest */
		s = &c->slots[0];
		for (size_t i = 0; i < c->nslots; i++) {
			if (c->slots[i].when == 0) {
				s = &c->slots[i];
				break;
			}
			if (c->slots[i].when < s->when)
				s = &c->slots[i];
		}
	}
	if (!str_copy(s->user, sizeof s->user, user))
		return;
	memcpy(s->digest, digest, AUTH_CACHE_DIGEST);
	s->when = now;
}

void
auth_cache_clear(struct auth_cache *c)
{
	OPENSSL_cleanse(c->slots, c->nslots * sizeof *c->slots);
}
