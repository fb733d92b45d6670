/*
 * conn_cache: the outbound connections, counted and kept.
 *
 * Every delivery takes a slot for its destination (a recipient domain, or
 * the relay host) before it connects, and gives it back after. A slot
 * comes with an idle connection to that destination when one is kept, so
 * the next message goes out on it without a new TCP and TLS handshake
 * (Postfix's connection cache does the same). Caps: connections at once
 * overall and per destination, idle ones included. A destination at its
 * cap gives no slot: the caller puts the message aside and delivers
 * another, rather than hold a worker while a slow destination drains.
 * When the overall cap is reached, the oldest idle connection of another
 * destination is closed to make room.
 */
#ifndef MP_CONN_CACHE_H
#define MP_CONN_CACHE_H

#include <stdbool.h>
#include <stdint.h>

struct client_session;

/* A connection between two transactions, and what the logs say of it. */
struct cached_conn {
	struct client_session *session;
	char host[256];
	char relay[400];	  /* "host[addr]:port" */
	char policy[64];	  /* the TLS plan it was opened under ("policy=dane") */
	bool verified;		  /* ... and whether the peer was authenticated */
	unsigned uses;		  /* transactions so far */
	int64_t parked;		  /* monotonic ms when it went idle (the cache's) */
	struct cached_conn *next; /* the cache's */
};

struct conn_cache;

struct conn_cache *conn_cache_new(unsigned max_total, unsigned max_per_dest);
/* Closes every idle connection (QUIT). No caller may hold a slot. */
void conn_cache_free(struct conn_cache **ccp);

enum conn_slot {
	SLOT_NEW,      /* the slot is the caller's: connect anew */
	SLOT_KEPT,     /* ... with a kept connection to use first */
	SLOT_FULL,     /* the destination (or everything) is at its cap: later */
	SLOT_STOPPING, /* conn_cache_stop() was called */
};

/* A slot to dest (compared without case); never waits. */
enum conn_slot conn_cache_acquire(struct conn_cache *cc, const char *dest,
				  struct cached_conn **kept_r);
/* Would conn_cache_acquire() say SLOT_FULL now? */
bool conn_cache_full(struct conn_cache *cc, const char *dest);
/* Give the slot back; keep (or NULL) is an idle connection to keep for dest. */
void conn_cache_release(struct conn_cache *cc, const char *dest, struct cached_conn *keep);
/* Close connections idle for more than max_idle_ms. */
void conn_cache_expire(struct conn_cache *cc, int64_t max_idle_ms);
/* From now on no slot is given and no connection kept. */
void conn_cache_stop(struct conn_cache *cc);

/* Close a connection that is not kept (QUIT when it is idle), and free it. */
void cached_conn_close(struct cached_conn **cp);

#endif
