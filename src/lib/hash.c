/*
 * hash: string-keyed open-addressing table (see the header). Removal
 * shifts the following entries of the probe run back (no tombstones), so a
 * table that sees many inserts and removes, like the outbound queue's held
 * set, never fills with dead slots.
 */
#include "hash.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define HASH_MIN_CAP 16

uint64_t
hash_fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037ull;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

void
hash_init(struct hash *t)
{
	t->slots = NULL;
	t->cap = 0;
	t->len = 0;
}

void
hash_free(struct hash *t)
{
	free(t->slots);
	hash_init(t);
}

/* The slot holding key, or the empty slot where it would go (cap > 0). */
static size_t
find(const struct hash *t, const char *key, uint64_t h)
{
	size_t mask = t->cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		const struct hash_slot *s = &t->slots[i];
		if (s->key == NULL || (s->h == h && strcmp(s->key, key) == 0))
			return i;
	}
}

static void
grow(struct hash *t)
{
	struct hash old = *t;
	t->cap = old.cap ? 2 * old.cap : HASH_MIN_CAP;
	t->slots = xcalloc(t->cap, sizeof *t->slots);
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key)
			t->slots[find(t, old.slots[i].key, old.slots[i].h)] = old.slots[i];
	free(old.slots);
}

void *
hash_get(const struct hash *t, const char *key)
{
	if (t->len == 0)
		return NULL;
	const struct hash_slot *s = &t->slots[find(t, key, hash_fnv1a(key))];
	return s->key ? s->value : NULL;
}

void
hash_put(struct hash *t, const char *key, void *value)
{
	if ((t->len + 1) * 10 > t->cap * 7)
		grow(t);
	uint64_t h = hash_fnv1a(key);
	struct hash_slot *s = &t->slots[find(t, key, h)];
	if (s->key == NULL)
		t->len++;
	*s = (struct hash_slot){key, value, h};
}

bool
hash_remove(struct hash *t, const char *key)
{
	if (t->len == 0)
		return false;
	size_t mask = t->cap - 1;
	size_t i = find(t, key, hash_fnv1a(key));
	if (t->slots[i].key == NULL)
		return false;
	/*
	 * Close the gap: an entry further along the run moves back into it
	 * unless its home slot lies cyclically in (gap, entry], where a lookup
	 * would start past the gap and still reach it.
	 */
	for (size_t j = (i + 1) & mask; t->slots[j].key; j = (j + 1) & mask) {
		size_t home = (size_t)t->slots[j].h & mask;
		bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (!stays) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i] = (struct hash_slot){NULL, NULL, 0};
	t->len--;
	return true;
}
