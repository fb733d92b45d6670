/*
 * verify: `mailport verify`'s pipeline, per address: syntax
 * (core/smtp_addr), domain (dns: MX, null MX, implicit MX, NXDOMAIN),
 * then an SMTP RCPT probe on port 25 of the best MX (client_run with
 * rset_instead_of_data: MAIL, RCPT..., RSET; never DATA), with a random
 * local part in the same session to spot catch-all domains; then the
 * role and disposable flags (core/verify_lists).
 *
 * Addresses of one domain share one DNS lookup and one SMTP session (in
 * chunks); worker threads run domains in parallel, never more than
 * per_domain sessions at once to one domain.
 */
#ifndef MP_VERIFY_H
#define MP_VERIFY_H

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
};

struct verify_opts {
	const char *from;     /* MAIL FROM, "" for the null sender */
	const char *helo;     /* our EHLO name */
	const char *resolver; /* "HOST[:PORT]" or NULL for the system's */
	int timeout_ms;	      /* each DNS query, connect and reply */
	unsigned concurrency; /* worker threads */
	unsigned per_domain;  /* sessions at once per domain */
	bool no_smtp;	      /* stop after DNS */
};

/* Syntax and flags for one input; the rest is verify_run's. */
void verify_prepare(struct verify_item *it, const char *input);

/* Every prepared item through DNS and SMTP. */
void verify_run(const struct verify_opts *o, struct verify_item *items, size_t n);

const char *verify_verdict_name(enum verify_verdict v);
/* "role,catch-all" (empty: none) into out[size]. */
void verify_flags_text(unsigned flags, char *out, size_t size);

/* The renderings: a table for people, one JSON array, CSV with a header. */
void verify_text(const struct verify_item *items, size_t n, struct buf *out);
void verify_json(const struct verify_item *items, size_t n, struct buf *out);
void verify_csv(const struct verify_item *items, size_t n, struct buf *out);

/*
 * Addresses from a file's text: one per line (blank lines and "#"
 * comments skipped), or, with column, a CSV whose header names the
 * column. Each address is appended to *list (count *n_r). -1 with err
 * when the column is missing.
 */
int verify_read_input(const char *text, size_t len, const char *column, char ***list, size_t *n_r,
		      char *err, size_t err_size);

#endif
