/*
 * auth_cache: remembers recent successful logins, so a client that logs in
 * again (an app sending one message per connection) does not cost another
 * deliberately slow crypt(3) hash each time. Only successes are kept, as
 * an HMAC of user and password under a key made at start: the table holds
 * no password, and a changed password (or any reload of the users file)
 * simply misses. Dovecot's auth_cache does the same for the same reason.
 * Touched only on the event loop thread.
 */
#ifndef MP_AUTH_CACHE_H
#define MP_AUTH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define AUTH_CACHE_DIGEST 32

struct auth_cache;

/*
 * ttl: seconds a success is trusted; slots: how many users are remembered.
 * NULL (logged, with the fix) when the system gives no random bytes for
 * the key.
 */
struct auth_cache *auth_cache_new(unsigned ttl, size_t slots);
void auth_cache_free(struct auth_cache **cp);

/*
 * The digest that identifies (user, password); compute before the password
 * is wiped. false when it could not be made: then do not use the cache.
 */
bool auth_cache_digest(const struct auth_cache *c, const char *user, const char *password,
		       unsigned char out[AUTH_CACHE_DIGEST]);
/* Was this digest a success less than ttl seconds ago? */
bool auth_cache_hit(struct auth_cache *c, const char *user,
		    const unsigned char digest[AUTH_CACHE_DIGEST], time_t now);
void auth_cache_store(struct auth_cache *c, const char *user,
		      const unsigned char digest[AUTH_CACHE_DIGEST], time_t now);
/* Forget everything (the users file changed). */
void auth_cache_clear(struct auth_cache *c);

#endif
