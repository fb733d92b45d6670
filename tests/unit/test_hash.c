/*
 * Unit tests for lib/hash: fixed cases, then random inserts, replacements
 * and removals checked after every step against a plain array (the model),
 * over a small key space so probe runs collide, wrap around the end of the
 * table and are shifted back by removals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hash.h"

static void
test_basics(void)
{
	struct hash t;
	hash_init(&t);
	CHECK(hash_get(&t, "a") == NULL);
	CHECK(!hash_remove(&t, "a"));
	int one = 1, two = 2;
	hash_put(&t, "a", &one);
	CHECK(hash_get(&t, "a") == &one && t.len == 1);
	hash_put(&t, "a", &two); /* replaces */
	CHECK(hash_get(&t, "a") == &two && t.len == 1);
	char key[] = "a"; /* another pointer, the same bytes */
	CHECK(hash_get(&t, key) == &two);
	CHECK(hash_remove(&t, "a") && t.len == 0 && hash_get(&t, "a") == NULL);
	/* Known FNV-1a 64 values. */
	CHECK(hash_fnv1a("") == 14695981039346656037ull);
	CHECK(hash_fnv1a("a") == 0xaf63dc4c8601ec8cull);
	hash_free(&t);
	hash_free(&t); /* twice is fine */
}

#define NKEYS 300

static void
test_against_model(void)
{
	static char keys[NKEYS][16];
	void *model[NKEYS] = {0};
	for (int i = 0; i < NKEYS; i++)
		snprintf(keys[i], sizeof keys[i], "k%d.test", i);
	struct hash t;
	hash_init(&t);
	unsigned seed = 12345, bad = 0;
	size_t live = 0;
	for (int step = 0; step < 200000 && bad < 5; step++) {
		seed = seed * 1103515245u + 12345u;
		int k = (int)((seed >> 8) % NKEYS);
		/* Lean towards removal past 200 entries, so the table fills and drains. */
		bool put = ((seed >> 20) % 100) < (live > 200 ? 40u : 60u);
		if (put) {
			live += model[k] == NULL;
			model[k] = &keys[k][(seed >> 4) % 4];
			hash_put(&t, keys[k], model[k]);
		} else {
			bool had = model[k] != NULL;
			live -= had;
			model[k] = NULL;
			if (hash_remove(&t, keys[k]) != had)
				bad++;
		}
		if (t.len != live)
			bad++;
		if (step % 97 == 0 || bad)
			for (int i = 0; i < NKEYS; i++)
				if (hash_get(&t, keys[i]) != model[i])
					bad++;
	}
	CHECK(bad == 0);
	hash_free(&t);
}

static void
test_many(void)
{
	struct hash t;
	hash_init(&t);
	enum { N = 20000 };
	static char keys[N][24];
	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof keys[i], "d%d.example", i);
		hash_put(&t, keys[i], keys[i]);
	}
	CHECK(t.len == N && t.cap >= N);
	int wrong = 0;
	for (int i = 0; i < N; i++)
		wrong += hash_get(&t, keys[i]) != keys[i];
	for (int i = 0; i < N; i += 2)
		wrong += !hash_remove(&t, keys[i]);
	for (int i = 0; i < N; i++)
		wrong += hash_get(&t, keys[i]) != (i % 2 ? keys[i] : NULL);
	CHECK(wrong == 0 && t.len == N / 2);
	hash_free(&t);
}

int
main(void)
{
	test_basics();
	test_against_model();
	test_many();
	return test_summary("test_hash");
}
