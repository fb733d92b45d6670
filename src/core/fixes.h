/*
 * fixes: what went wrong, the likely cause and the fix, for every failure
 * a person sees outside an SMTP reply (log lines, command errors). One
 * table, keyed by kind, in the words of the reference article's "Common
 * Errors and Fixes" where it has a row for the case. The what and fix
 * texts of a row may hold conversions (tmpl.h); the row declares them in
 * its signature, documented next to each id, and is read through the
 * fix_text_* function of that signature, so the arguments are typed.
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
	FIX_CERT_NAME,	   /* %s hostname, in what and in fix */
	FIX_CERT_EXPIRING, /* %u days */
	FIX_CERT_EXPIRED,
	FIX_CERT_SELF_SIGNED, /* %s hostname, in fix */
	FIX_SECRET_READABLE,  /* %s path, in what and in fix */
	FIX_PORT25_BLOCKED,
	FIX_RELAY_UNREACHABLE,
	FIX_PORT25_UNCHECKED, /* %s domain */
	FIX_FOLDER_NOT_WRITABLE,
	FIX_ALIASES_INVALID,
	FIX_ALIASES_READABLE, /* %s path, in what and in fix */
	FIX_COUNT,
};

struct fix {
	const char *sig; /* the conversions of what and fix: "", "u", "uu" or "s" */
	const char *what;
	const char *cause;
	const char *fix;
};

/* A row without conversions (the texts are final); any other row panics. */
const struct fix *fix_get(enum fix_id id);
/* Any row as stored, conversions unfilled (for the table's own test). */
const struct fix *fix_row(enum fix_id id);

/* A row's texts, conversions filled; cause points into the table. */
struct fix_text {
	char what[256];
	const char *cause;
	char fix[512];
};

/*
 * Fill t from row id. Each function gives the arguments of one signature;
 * the row may use a prefix of them (a bind failure gives the port, and the
 * rows for other errno values ignore it). A row that needs more, or other
 * kinds, is a bug and panics.
 */
void fix_text(struct fix_text *t, enum fix_id id);
void fix_text_port(struct fix_text *t, enum fix_id id, unsigned port);
void fix_text_ports(struct fix_text *t, enum fix_id id, unsigned port, unsigned alternate);
void fix_text_name(struct fix_text *t, enum fix_id id, const char *name);

#endif
