/*
 * fixes: what went wrong, the likely cause and the fix, for every failure
 * a person sees outside an SMTP reply (log lines, command errors). One
 * table, keyed by kind, in the words of the reference article's "Common
 * Errors and Fixes" where it has a row for the case. Texts may hold
 * printf conversions, documented next to each id.
 */
#ifndef MP_FIXES_H
#define MP_FIXES_H

enum fix_id {
	FIX_BIND_PRIVILEGED, /* %u port */
	FIX_BIND_IN_USE,     /* %u port, in what and in fix */
	FIX_BIND_NO_ADDRESS,
	FIX_BIND_OTHER,
	FIX_PORT_OFFSET_USED, /* %u port, %u alternate */
	FIX_PLAINTEXT_ON_TLS,
	FIX_SILENT_ON_TLS,
	FIX_TLS_HANDSHAKE,
	FIX_CERT_LOAD,
	FIX_USERS_UNREADABLE,
	FIX_RUN_USER_UNKNOWN, /* %s user */
	FIX_FD_LIMIT,
	FIX_RUN_USER_CREATE,
	FIX_COUNT,
};

struct fix {
	const char *what;
	const char *cause;
	const char *fix;
};

const struct fix *fix_get(enum fix_id id);

#endif
