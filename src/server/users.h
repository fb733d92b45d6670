/*
 * users: the "users" file — one "address:crypt-hash" line per account —
 * and password checking with crypt(3) (libcrypt: $y$, $6$, $2b$, ...).
 *
 * The file's addresses are the local mailboxes, and the AUTH identities.
 * Lookups ignore case, and a "+tag" in the local part (alice+news@d is
 * alice@d). Reading the file and checking a password are separate, so the
 * slow crypt(3) call can run off the event loop.
 */
#ifndef MP_USERS_H
#define MP_USERS_H

#include <stdbool.h>
#include <stddef.h>

struct users;

/* Load path. NULL with a "FILE:LINE: ..." message in err on failure. */
struct users *users_load(const char *path, char *err, size_t err_size);
/* An empty table (no users file configured). */
struct users *users_empty(void);
void users_free(struct users **u);
/* How many addresses the table holds (0 for NULL); for log lines. */
size_t users_count(const struct users *u);

/* Is local@domain (any case, +tag ignored) a known mailbox? */
/*
 * The account on the file's first line ("local@domain", lower case), or
 * NULL: the person postmaster@ and abuse@ reach when the aliases file names
 * no one (server_aliases.c), as whoever set the server up is listed first.
 */
const char *users_first(const struct users *u);
bool users_exists(const struct users *u, const char *local, const char *domain);
/*
 * Check a password for an AUTH identity (the full address, any case).
 * Thread-safe (crypt_r): meant to be called from a worker thread.
 * A user that does not exist still costs one hash, so timing does not tell.
 */
bool users_check_password(const struct users *u, const char *user, const char *password);

/*
 * crypt(3) hash of password with the system's preferred method ($y$). NULL
 * on error. The caller owns the string and frees it with free(3).
 */
char *users_hash_password(const char *password);

#endif
