/*
 * verify_report: what `mailport verify` found for each address, as plain
 * data (client/verify fills it), and the three ways it is written: a table
 * for people, one JSON array, CSV with a header (RFC 4180). Pure: no
 * sockets, no DNS, so the renderings are unit-tested on made-up items.
 */
#ifndef MP_VERIFY_REPORT_H
#define MP_VERIFY_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "smtp_addr.h"

enum verify_verdict {
	VERIFY_DELIVERABLE,
	VERIFY_UNDELIVERABLE, /* 5xx to RCPT, NXDOMAIN, null MX, bad syntax */
	VERIFY_RISKY,	      /* catch-all, 4xx, role account, disposable domain */
	VERIFY_UNKNOWN,	      /* could not tell: timeout, refused, tempfail */
};

enum verify_flag {
	VERIFY_F_ROLE = 1,
	VERIFY_F_DISPOSABLE = 2,
	VERIFY_F_CATCH_ALL = 4,
	VERIFY_F_TEMPFAIL = 8, /* a 4xx to RCPT: greylisting or rate limiting */
	VERIFY_F_FREE = 16,    /* a free mailbox provider (gmail.com...) */
};

struct verify_item {
	char input[SMTP_PATH_MAX + 1]; /* the address as given (cut if longer) */
	char local[SMTP_LOCAL_MAX + 1];
	char domain[SMTP_DOMAIN_MAX + 1]; /* lower case */
	bool syntax_ok;
	bool decided; /* the verdict is final; later steps leave it */
	bool checked; /* the check went as far as asked (for the exit code) */
	enum verify_verdict verdict;
	unsigned flags; /* enum verify_flag bits */
	char reason[384];
	char mx[256];  /* the host asked, or "" */
	int smtp_code; /* the reply to this RCPT, 0: none */
	char smtp_reply[512];
	char normalized[SMTP_PATH_MAX + 1]; /* local@domain, the domain in A-labels */
	char suggestion[SMTP_PATH_MAX + 1]; /* "alice@gmail.com" for gmial.com, or "" */
	bool greylisted;		    /* a 4xx worth one more try after the pause */
	bool retried;			    /* ... and it was tried again */
	bool done;			    /* the result is in place (see verify_progress) */
};

/* "deliverable", "undeliverable", "risky" or "unknown"; static. */
const char *verify_verdict_name(enum verify_verdict v);
/* "role,catch-all" (empty: none) into out[size]. */
void verify_flags_text(unsigned flags, char *out, size_t size);

struct verify_csv_in;

/* The renderings, appended to out: a table for people, one JSON array, CSV with a header. */
void verify_text(const struct verify_item *items, size_t n, struct buf *out);
void verify_json(const struct verify_item *items, size_t n, struct buf *out);
/* With in (the input CSV, see verify_read_input): its columns first, then the results. */
void verify_csv(const struct verify_item *items, size_t n, const struct verify_csv_in *in,
		struct buf *out);

#endif
