/*
 * users: the users file and password checks (crypt(3) through libxcrypt).
 *
 * The table is loaded once, sorted by address and then only read, so any
 * number of worker threads may look it up and call users_check_password at
 * once (crypt_r keeps its state in a per-call struct crypt_data, on the
 * heap because it is about 32 KB). Addresses are stored in lower case with
 * no "+tag": a lookup normalises its key the same way and bsearches.
 *
 * Timing must not tell whether a user exists: an unknown user is hashed
 * against a fixed dummy yescrypt hash, and hashes are compared in constant
 * time. Plain-text passwords never leave the caller's buffer; the crypt
 * scratch state is wiped with explicit_bzero before it is freed.
 */
#include "users.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "self.h"
#include "str.h"
#include "xmalloc.h"

/* Longest normalised "local@domain" we look up (RFC 5321 4.5.3.1: 64 + 1 + 255). */
#define KEY_MAX 512

/* A yescrypt hash of a password nobody knows: the cost of a real check. */
static const char dummy_hash[] = "$y$j9T$H981qbw/B7h2l3EPEsHDJ/"
				 "$H18gpI/Aa.IYZAwpcCnBQq7ctoJcC5WPEeT.McKX60D";

struct user_entry {
	char *address; /* lower case, no +tag */
	char *hash;
	int line;
};

struct users {
	struct user_entry *v;
	size_t n;
};

struct users *
users_empty(void)
{
	return xcalloc(1, sizeof(struct users));
}

void
users_free(struct users **u)
{
	if (u == NULL || *u == NULL)
		return;
	for (size_t i = 0; i < (*u)->n; i++) {
		free((*u)->v[i].address);
		free((*u)->v[i].hash);
	}
	free((*u)->v);
	free(*u);
	*u = NULL;
}

size_t
users_count(const struct users *u)
{
	return u ? u->n : 0;
}

/*
 * "local@domain" in lower case without the "+tag" (from the first '+' of
 * the local part) into key[KEY_MAX]. False when a part is empty or too long.
 */
static bool
make_key(const char *local, size_t local_len, const char *domain, char *key)
{
	const char *plus = memchr(local, '+', local_len);
	if (plus != NULL)
		local_len = (size_t)(plus - local);
	size_t domain_len = strlen(domain);
	if (local_len == 0 || domain_len == 0 || local_len + 1 + domain_len >= KEY_MAX)
		return false;
	memcpy(key, local, local_len);
	key[local_len] = '@';
	memcpy(key + local_len + 1, domain, domain_len + 1);
	str_lower(key);
	return true;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct user_entry *)a)->address,
		      ((const struct user_entry *)b)->address);
}

static const struct user_entry *
find(const struct users *u, const char *key)
{
	if (u == NULL || u->n == 0)
		return NULL;
	struct user_entry probe = {.address = (char *)key};
	return bsearch(&probe, u->v, u->n, sizeof u->v[0], entry_cmp);
}

const char *
users_first(const struct users *u)
{
	const struct user_entry *first = NULL;
	for (size_t i = 0; u && i < u->n; i++)
		if (first == NULL || u->v[i].line < first->line)
			first = &u->v[i];
	return first ? first->address : NULL;
}

bool
users_exists(const struct users *u, const char *local, const char *domain)
{
	char key[KEY_MAX];
	if (local == NULL || domain == NULL || !make_key(local, strlen(local), domain, key))
		return false;
	return find(u, key) != NULL;
}

/* Blanks off both ends, in place. */
static char *
trim(char *s)
{
	s += strspn(s, " \t");
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* Checks an "address" field and lower-cases it; NULL if fine, else the problem. */
static const char *
check_address(char *addr)
{
	char *at = strrchr(addr, '@');
	if (at == NULL || at == addr || at[1] == '\0')
		return "is not an address (it needs local@domain, e.g. alice@example.test)";
	for (const char *p = addr; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return "contains a blank or a control character; remove it";
	if (memchr(addr, '+', (size_t)(at - addr)) != NULL)
		return "has a '+' in its local part; list the base address only (mail to "
		       "alice+tag@ is delivered to alice@ anyway)";
	if (strlen(addr) >= KEY_MAX)
		return "is too long (an address has at most 320 characters)";
	str_lower(addr);
	return NULL;
}

static const char HASH_HAS_BLANK[] = "has a blank or a control character in it";

/* Checks a crypt(3) hash; NULL if fine, else the problem (load_line adds the fix). */
static const char *
check_hash(const char *hash)
{
	if (hash[0] != '$' || strchr(hash + 1, '$') == NULL)
		return "does not look like a crypt(3) hash (it should start with $y$, $6$ or $2b$)";
	for (const char *p = hash; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return HASH_HAS_BLANK;
	/* Every method ends "$...$<encoded hash>", at least 3 '$' in all ($2b$10$...). */
	size_t dollars = 0;
	for (const char *p = hash; *p; p++)
		dollars += *p == '$';
	const char *tail = strrchr(hash, '$') + 1;
	if (dollars < 3 || strlen(tail) < 16 ||
	    tail[strspn(tail, "./0123456789ABCDEFGHIJKLMNOPQR"
			      "STUVWXYZabcdefghijklmnopqrstuvwxyz")])
		return "is cut short or damaged (a crypt(3) hash ends in $ and a long run of "
		       "letters, digits, '.' and '/')";
	switch (crypt_checksalt(hash)) {
	case CRYPT_SALT_OK:
	case CRYPT_SALT_METHOD_LEGACY: /* old but working: still let people log in */
	case CRYPT_SALT_TOO_CHEAP:
		return NULL;
	case CRYPT_SALT_METHOD_DISABLED:
		return "uses a hash method this system's libcrypt has disabled";
	default:
		return "is not a valid crypt(3) hash (damaged or cut short?)";
	}
}

/* One line into u (grown as needed); 0, or -1 with err. */
static int
load_line(struct users *u, size_t *cap, char *line, size_t len, const char *path, int lineno,
	  char *err, size_t err_size)
{
	char e[80];
	if (memchr(line, '\0', len) != NULL) {
		snprintf(err, err_size,
			 "%s:%d: the line contains a NUL byte; the users file must "
			 "be plain text, one address:hash per line",
			 path, lineno);
		return -1;
	}
	line[strcspn(line, "\n")] = '\0';
	char *s = trim(line);
	if (*s == '\0' || *s == '#')
		return 0;
	char *colon = strchr(s, ':');
	if (colon == NULL) {
		snprintf(err, err_size,
			 "%s:%d: expected ADDRESS:HASH, found no ':'; write e.g. "
			 "\"alice@example.test:$y$...\" (%s passwd --user "
			 "ADDRESS prints such a line)",
			 path, lineno, self_program());
		return -1;
	}
	*colon = '\0';
	char *addr = trim(s), *hash = trim(colon + 1);
	const char *problem = check_address(addr);
	if (problem != NULL) {
		snprintf(err, err_size, "%s:%d: the address \"%s\" %s", path, lineno,
			 str_escape(e, sizeof e, addr, strlen(addr)), problem);
		return -1;
	}
	if ((problem = check_hash(hash)) != NULL) {
		snprintf(err, err_size, "%s:%d: the hash of \"%s\" %s; %s \"%s passwd\"%s", path,
			 lineno, str_escape(e, sizeof e, addr, strlen(addr)), problem,
			 problem == HASH_HAS_BLANK ? "paste the hash that" : "make a new one with",
			 self_program(), problem == HASH_HAS_BLANK ? " printed, in one piece" : "");
		return -1;
	}
	if (u->n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		u->v = xrealloc(u->v, *cap * sizeof u->v[0]);
	}
	u->v[u->n++] = (struct user_entry){xstrdup(addr), xstrdup(hash), lineno};
	return 0;
}

static void
open_error(const char *path, char *err, size_t err_size)
{
	int e = errno;
	if (e == ENOENT)
		snprintf(
		    err, err_size,
		    "%s: cannot open the users file: %s; create it, e.g. (umask 077; %s passwd "
		    "--user you@your.domain >> %s)",
		    path, strerror(e), self_program(), path);
	else
		snprintf(err, err_size, "%s: cannot open the users file: %s; %s %s", path,
			 strerror(e),
			 e == EACCES ? "make it readable by the user mailport runs as:"
				     : "check the \"users\" line of the config and the file",
			 path);
}

/* Sorted, so an address listed twice sits next to itself. */
static int
sort_and_check(struct users *u, const char *path, char *err, size_t err_size)
{
	if (u->n > 0)
		qsort(u->v, u->n, sizeof u->v[0], entry_cmp);
	for (size_t i = 1; i < u->n; i++) {
		if (strcmp(u->v[i - 1].address, u->v[i].address) != 0)
			continue;
		const struct user_entry *a = &u->v[i - 1], *b = &u->v[i];
		char e[80];
		snprintf(err, err_size,
			 "%s:%d: \"%s\" is listed twice (also on line %d); keep one "
			 "line per address",
			 path, a->line > b->line ? a->line : b->line,
			 str_escape(e, sizeof e, a->address, strlen(a->address)),
			 a->line > b->line ? b->line : a->line);
		return -1;
	}
	return 0;
}

struct users *
users_load(const char *path, char *err, size_t err_size)
{
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		open_error(path, err, err_size);
		return NULL;
	}
	struct users *u = users_empty();
	size_t cap = 0, line_cap = 0;
	char *line = NULL;
	ssize_t len;
	int lineno = 0, rc = 0;
	while (rc == 0 && (len = getline(&line, &line_cap, f)) >= 0)
		rc = load_line(u, &cap, line, (size_t)len, path, ++lineno, err, err_size);
	if (rc == 0 && ferror(f)) {
		snprintf(err, err_size,
			 "%s: cannot read the users file: %s; check the disk and "
			 "the file",
			 path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	if (rc == 0)
		rc = sort_and_check(u, path, err, err_size);
	if (rc != 0)
		users_free(&u);
	return u;
}

/*
 * Equal strings in time that depends only on the lengths (which are not
 * secret: every hash of one method has the same length).
 */
static bool
const_time_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	volatile unsigned char diff = la != lb;
	for (size_t i = 0; i < lb; i++)
		diff |= (unsigned char)((i < la ? a[i] : 0) ^ b[i]);
	return diff == 0;
}

bool
users_check_password(const struct users *u, const char *user, const char *password)
{
	char key[KEY_MAX];
	const struct user_entry *e = NULL;
	const char *at = user ? strrchr(user, '@') : NULL;
	if (at != NULL && make_key(user, (size_t)(at - user), at + 1, key))
		e = find(u, key);
	if (password == NULL)
		password = "";
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	const char *hash = e ? e->hash : dummy_hash;
	const char *out = crypt_r(password, hash, cd);
	/* A failed crypt_r returns NULL or a "*0"-style token that never matches. */
	bool ok = out != NULL && out[0] == '$' && const_time_equal(out, hash);
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return ok && e != NULL && password[0] != '\0';
}

char *
users_hash_password(const char *password)
{
	char *setting = crypt_gensalt_ra(NULL, 0, NULL, 0);
	if (setting == NULL)
		return NULL;
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	char *hash = NULL;
	const char *out = crypt_r(password, setting, cd);
	if (out != NULL && out[0] == '$')
		hash = xstrdup(out);
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	free(setting);
	return hash;
}
