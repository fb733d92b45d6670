/*
 * account: the accounts file of `mailport send` (~/.config/mailport/send.conf),
 * msmtp-like with a syntax of our own: "account NAME" opens a section
 * ("default NAME", or else the first, is the default), then host, port,
 * tls, provider, user, password-file/-cmd/-env, oauth2-token-file/-cmd,
 * from, cafile, timeout. Pure: the caller reads the file and hands over its
 * text. Secrets never appear in the file, only where to get them; a plain
 * "password" line is refused. Errors read "FILE:LINE: what; fix".
 *
 * Ownership: account_parse allocates the struct account_file and every
 * string in it; account_file_free releases them all. Pointers returned by
 * the lookups stay valid until then.
 */
#ifndef MP_ACCOUNT_H
#define MP_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "providers.h"
#include "smtp_client.h"

/* Where a secret comes from; the account's string says which file, command or variable. */
enum account_source {
	ACCOUNT_SRC_NONE,
	ACCOUNT_SRC_FILE, /* the first line of a file (path absolute) */
	ACCOUNT_SRC_CMD,  /* the first line a shell command prints */
	ACCOUNT_SRC_ENV,  /* an environment variable (passwords only) */
};

struct account {
	char *name;
	int line;			 /* of its "account" line, for messages */
	const struct provider *provider; /* "provider NAME", or NULL */
	char *host;			 /* NULL: the provider's host */
	unsigned short port;		 /* 0: the provider's doors, else 587 -> 465 -> 2525 */
	bool has_tls;			 /* a "tls" line was given: */
	enum client_tls tls;		 /* STARTTLS, IMPLICIT or NONE */
	char *user;			 /* NULL: the provider's fixed user, if any */
	enum account_source password_src;
	char *password;			/* the path, command or variable name; never the secret */
	enum account_source oauth2_src; /* NONE, FILE or CMD */
	char *oauth2_token;		/* the path or command; never the token */
	char *from;			/* envelope sender "local@domain", or NULL */
	char *cafile;			/* absolute path, or NULL: the system store */
	unsigned timeout;		/* seconds, 0: the command's default */
};

struct account_file {
	struct account *accounts;
	size_t naccounts;
	size_t default_index; /* the "default" line's account, else 0 */
};

/*
 * Parse text (NUL-terminated). filename is used in messages. Relative paths
 * are made relative to base_dir (the folder of the file; NULL: kept as
 * written), and "~/" is replaced by home (NULL: "~/" is an error). On
 * success returns 0 and sets *file_r, which the caller frees with
 * account_file_free. On error returns -1, leaves *file_r NULL and writes
 * "FILE:LINE: what is wrong; fix" to err. An empty file is valid.
 */
int account_parse(const char *text, const char *filename, const char *base_dir, const char *home,
		  struct account_file **file_r, char *err, size_t err_size);

/* Frees *fp and everything in it; accepts *fp == NULL, sets it to NULL. */
void account_file_free(struct account_file **fp);

/* The account named name (ASCII case ignored), or NULL. */
const struct account *account_find(const struct account_file *f, const char *name);

/* The default account, or NULL when the file has none. */
const struct account *account_default(const struct account_file *f);

/* The host to connect to: the account's, else its provider's (never NULL after parsing). */
const char *account_host(const struct account *a);

/* The user to log in as: the account's, else the provider's fixed one, else NULL. */
const char *account_user(const struct account *a);

#endif
