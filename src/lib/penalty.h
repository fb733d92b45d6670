/*
 * penalty: recent failed logins per client key, for slowing password
 * guessing across connections (see session.c's AUTH delay).
 *
 * A fixed table (no allocation after penalty_new). An entry is forgotten
 * after `memory` quiet seconds. When every slot holds a fresh entry, a new
 * key takes the slot of the entry with the fewest failures (the oldest of
 * those): a client rotating through addresses makes entries of one failure
 * each, which replace one another, never the entry of a client with more
 * failures than they have. To push out an entry with f failures, every
 * slot must hold a fresh entry with at least f failures, i.e. slots x f
 * failed logins within `memory` seconds from as many distinct keys.
 *
 * Pure: the caller passes the time. Not thread-safe (the event loop owns it).
 */
#ifndef MP_PENALTY_H
#define MP_PENALTY_H

#include <stddef.h>
#include <time.h>

struct penalty_table;

/* A table of `slots` entries that forgets a key after `memory` quiet seconds. */
struct penalty_table *penalty_new(size_t slots, unsigned memory);
void penalty_free(struct penalty_table **tp);

/*
 * Note a failure of key at now; returns its failures within the memory
 * window, this one included (1 for a key not seen, or forgotten).
 */
unsigned penalty_note(struct penalty_table *t, const char *key, time_t now);

/* The failures key has within the window at now, without noting one (0 if none). */
unsigned penalty_count(const struct penalty_table *t, const char *key, time_t now);

#endif
