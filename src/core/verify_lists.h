/*
 * verify_lists: the small data tables behind the flags of `mailport
 * verify`: role accounts (mail read by a team or nobody, not a person),
 * disposable-address domains (a built-in sample, extendable from a file),
 * free mailbox providers and the typo suggestions for the big ones; and
 * the progress line. Pure lookups and text, no I/O.
 */
#ifndef MP_VERIFY_LISTS_H
#define MP_VERIFY_LISTS_H

#include <stdbool.h>
#include <stddef.h>

/* Where the built-in disposable list comes from, for --help. */
extern const char verify_disposable_source[];

/* "postmaster", "Info", "no-reply", "sales+eu": a role account (the +tag is ignored). */
bool verify_is_role(const char *local);

/*
 * "mailinator.com", "x.Mailinator.com": a disposable-address domain or a
 * subdomain of one, in the built-in list or in extra[0..nextra) (lower
 * case names, as verify_parse_domains gives them).
 */
bool verify_is_disposable(const char *domain, const char *const *extra, size_t nextra);

/*
 * A domain list file's text, edited in place: one domain a line, "#"
 * starts a comment, blanks and a trailing dot are dropped, names lowered.
 * Pointers into text go to out[0..max); returns how many there are, or
 * (size_t)-1 with *bad_line (1-based) set when a line is not a domain.
 */
size_t verify_parse_domains(char *text, const char **out, size_t max, size_t *bad_line);

/* gmail.com, yahoo.co.uk, gmx.de, yandex.ru, proton.me...: a free mailbox provider. */
bool verify_is_free(const char *domain);

/*
 * "gmial.com" -> "gmail.com": the big provider the domain is most likely a
 * typo of (restricted Damerau-Levenshtein distance <= 2, <= 1 for short
 * names), into out[size]; false for a provider itself or nothing close.
 */
bool verify_suggest_domain(const char *domain, char *out, size_t size);

/* Optimal string alignment distance of a and b, case-insensitive; capped at 99. */
unsigned verify_edit_distance(const char *a, const char *b);

/*
 * The progress line for a terminal: "verify: 120/1000 done, 35.2/s, ETA
 * 25s" (no ETA before the first result) into out[size].
 */
void verify_progress_text(char *out, size_t size, size_t done, size_t total,
			  unsigned long elapsed_ms);

#endif
