/*
 * penalty: see penalty.h for the eviction rule and why it holds.
 *
 * A linear scan: the table is searched only on a failed login, which has
 * just cost a password hash (milliseconds); scanning a few thousand slots
 * costs microseconds.
 */
#include "penalty.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "client_key.h"
#include "str.h"
#include "xmalloc.h"

struct penalty_entry {
	char key[CLIENT_KEY_SIZE];
	unsigned failures; /* 0: the slot is free */
	time_t last;
};

struct penalty_table {
	size_t slots;
	unsigned memory;
	struct penalty_entry e[];
};

struct penalty_table *
penalty_new(size_t slots, unsigned memory)
{
	struct penalty_table *t = xcalloc(1, sizeof *t + slots * sizeof t->e[0]);
	t->slots = slots;
	t->memory = memory;
	return t;
}

void
penalty_free(struct penalty_table **tp)
{
	free(*tp);
	*tp = NULL;
}

static bool
is_fresh(const struct penalty_table *t, const struct penalty_entry *p, time_t now)
{
	return p->failures > 0 && now - p->last <= (time_t)t->memory;
}

/* Is a a better slot to give away than b? Free or forgotten first, then fewest, then oldest. */
static bool
better_victim(const struct penalty_table *t, const struct penalty_entry *a,
	      const struct penalty_entry *b, time_t now)
{
	bool a_fresh = is_fresh(t, a, now), b_fresh = is_fresh(t, b, now);
	if (a_fresh != b_fresh)
		return !a_fresh;
	if (!a_fresh)
		return false;
	if (a->failures != b->failures)
		return a->failures < b->failures;
	return a->last < b->last;
}

unsigned
penalty_note(struct penalty_table *t, const char *key, time_t now)
{
	struct penalty_entry *slot = NULL, *victim = NULL;
	for (size_t i = 0; i < t->slots && slot == NULL; i++) {
		struct penalty_entry *p = &t->e[i];
		if (p->failures && strcmp(p->key, key) == 0)
			slot = p;
		else if (victim == NULL || better_victim(t, p, victim, now))
			victim = p;
	}
	if (slot == NULL) {
		if (victim == NULL)
			return 1; /* a table of no slots remembers nothing */
		slot = victim;
		str_copy(slot->key, sizeof slot->key, key);
		slot->failures = 0;
	} else if (!is_fresh(t, slot, now)) {
		slot->failures = 0;
	}
	slot->last = now;
	return ++slot->failures;
}

unsigned
penalty_count(const struct penalty_table *t, const char *key, time_t now)
{
	for (size_t i = 0; i < t->slots; i++) {
		const struct penalty_entry *p = &t->e[i];
		if (p->failures && strcmp(p->key, key) == 0)
			return is_fresh(t, p, now) ? p->failures : 0;
	}
	return 0;
}
