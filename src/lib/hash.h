/*
 * hash: the one hash table, string keys to pointers (open addressing,
 * linear probing, FNV-1a). Keys are borrowed: the caller keeps each key's
 * bytes alive and unchanged while its entry is in the table (a job's queue
 * id, a domain name in an item). No locking: the owner serialises use.
 * Lookup, insert and remove are O(1) on average at any size; the table
 * doubles past 70 % load and never shrinks.
 */
#ifndef MP_HASH_H
#define MP_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hash_slot {
	const char *key; /* NULL: empty */
	void *value;
	uint64_t h;
};

struct hash {
	struct hash_slot *slots;
	size_t cap; /* 0 or a power of two */
	size_t len;
};

/* FNV-1a of the NUL-terminated s. */
uint64_t hash_fnv1a(const char *s);

void hash_init(struct hash *t);
void hash_free(struct hash *t);
/* The value stored for key, or NULL when there is none. */
void *hash_get(const struct hash *t, const char *key);
/* Store value for key (borrowed), replacing any value it had. */
void hash_put(struct hash *t, const char *key, void *value);
/* Forget key; false when it was not there. */
bool hash_remove(struct hash *t, const char *key);

#endif
