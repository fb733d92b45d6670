/*
 * verify_lists: the small data tables behind the flags of `mailport
 * verify`: role accounts (mail read by a team or nobody, not a person)
 * and disposable-address domains. Pure lookups, no I/O.
 */
#ifndef MP_VERIFY_LISTS_H
#define MP_VERIFY_LISTS_H

#include <stdbool.h>

/* "postmaster", "Info", "no-reply", "sales+eu": a role account (the +tag is ignored). */
bool verify_is_role(const char *local);

/* "mailinator.com", "x.Mailinator.com": a disposable-address domain or a subdomain of one. */
bool verify_is_disposable(const char *domain);

#endif
