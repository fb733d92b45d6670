/*
 * aliases: the "aliases FILE" table and its expansion, pure (no files, no
 * clock): the server gives the text and answers "is this domain ours?",
 * "is this an account?".
 *
 * One "address: target, target..." per line; '#' starts a comment line.
 *   sales@example.org: alice, bob@example.net   a bare target is of the alias's domain
 *   @example.org: alice                         catch-all for addresses of no account
 *   postmaster: alice@example.org               a bare name: that name at every domain of ours
 * An address is looked up in this order: its own line (with, then without
 * its +tag), an account of the users file, a bare-name line, postmaster@
 * and abuse@ to the default person (RFC 5321 4.5.1, RFC 2142), the domain's
 * catch-all. Targets of our domains are expanded again; an alias naming
 * itself keeps its own mailbox ("bob@x: bob@x, bob@gmail.example"); any
 * other cycle is a loop.
 */
#ifndef MP_ALIASES_H
#define MP_ALIASES_H

#include <stdbool.h>
#include <stddef.h>

#include "smtp_addr.h"

/* The longest "local@domain" (64 + 1 + 255): every buffer of one holds this. */
#define ALIAS_ADDR_MAX (SMTP_LOCAL_MAX + 1 + SMTP_DOMAIN_MAX)
#define ALIASES_MAX_DEPTH 10 /* nested aliases, as Postfix's virtual_alias_recursion_limit */
#define ALIASES_MAX_TARGETS                                                                        \
	1000 /* addresses one address expands to (virtual_alias_expansion_limit) */

struct aliases;

/*
 * Parse the file's text (filename only names it in messages). NULL with
 * every bad line in err, one "FILE:LINE: problem; fix" per line.
 */
struct aliases *aliases_parse(const char *text, size_t len, const char *filename, char *err,
			      size_t err_size);
struct aliases *aliases_empty(void);
void aliases_free(struct aliases **a);
size_t aliases_count(const struct aliases *a);

/* What the expansion asks the server. */
struct alias_env {
	bool (*is_local_domain)(void *ctx, const char *domain);
	bool (*is_user)(void *ctx, const char *local, const char *domain);
	/* "local@domain" for postmaster@ and abuse@ with no line of their own; NULL: none. */
	const char *default_person;
	void *ctx;
};

struct alias_target {
	char addr[ALIAS_ADDR_MAX + 1]; /* "local@domain", lower case */
	bool remote;		       /* not one of our domains: forwarded */
};

struct alias_expansion {
	struct alias_target *v;
	size_t n, cap;
	char where[ALIAS_ADDR_MAX + 1]; /* ALIAS_LOOP: the address met twice */
	int line;			/* the line of the alias that failed */
};

enum alias_result {
	ALIAS_NONE,	 /* not an alias (an account, or unknown): the caller decides */
	ALIAS_EXPANDED,	 /* v holds at least one target */
	ALIAS_LOOP,	 /* the expansion comes back to an address already expanded */
	ALIAS_TOO_MANY,	 /* deeper than ALIASES_MAX_DEPTH or more than ALIASES_MAX_TARGETS */
	ALIAS_NO_TARGET, /* no target exists (each of our domains, neither account nor alias) */
};

/* Expand local@domain (any case). out is reset first; free it with alias_expansion_free. */
enum alias_result aliases_expand(const struct aliases *a, const struct alias_env *env,
				 const char *local, const char *domain,
				 struct alias_expansion *out);
void alias_expansion_free(struct alias_expansion *x);

/*
 * What `mailport config check` adds to the parse: every line's address of
 * one of our domains, every target reachable, no loops. 0, or -1 with
 * "FILE:LINE: problem; fix" lines in err. domain: the domain bare names are
 * tried with (the first of ours).
 */
int aliases_check(const struct aliases *a, const struct alias_env *env, const char *domain,
		  char *err, size_t err_size);

#endif
