/*
 * verify: `mailport verify`'s pipeline, per address: syntax
 * (core/smtp_addr), domain (dns: MX, null MX, implicit MX, NXDOMAIN),
 * then an SMTP RCPT probe on port 25 of the best MX (client_run with
 * rset_instead_of_data: MAIL, RCPT..., RSET; never DATA), with a random
 * local part in the same session to spot catch-all domains; then the
 * role, disposable and free-provider flags and the typo suggestion
 * (core/verify_lists). Internationalised domains are converted to their
 * A-label form (libidn2) before anything is looked up. Addresses that got
 * a greylisting 4xx are asked once more after a pause.
 *
 * Addresses of one domain share one DNS lookup, one catch-all probe and
 * one SMTP connection, kept open for a transaction per batch of RCPTs
 * (RSET between); worker threads (one connection each) run domains in
 * parallel, never more than per_domain connections at once to one domain.
 */
#ifndef MP_VERIFY_H
#define MP_VERIFY_H

#include <pthread.h>
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

/*
 * What a watcher thread (progress line, Ctrl-C) shares with verify_run.
 * Items are written under mu only, so the watcher may read those marked
 * done while the run goes on.
 */
struct verify_progress {
	pthread_mutex_t mu;
	size_t done; /* items whose result is in place */
	bool stop;   /* set by the watcher: nothing new is started, no result stored */
};

struct verify_opts {
	const char *from;     /* MAIL FROM, "" for the null sender */
	const char *helo;     /* our EHLO name */
	const char *resolver; /* "HOST[:PORT]" or NULL for the system's */
	int timeout_ms;	      /* each DNS query, connect and reply */
	unsigned concurrency; /* worker threads: connections (or lookups) at once */
	unsigned per_domain;  /* connections at once per domain */
	bool no_smtp;	      /* stop after DNS */
	int greylist_wait_ms; /* pause before asking greylisted addresses again; 0: never */
	const char *const *disposable; /* domains added to the built-in list */
	size_t ndisposable;
	struct verify_progress *progress; /* NULL: nobody watches */
};

/* Syntax, IDN conversion, flags and suggestion for one input; the rest is verify_run's. */
void verify_prepare(struct verify_item *it, const char *input, const struct verify_opts *o);

/* Every prepared item through DNS and SMTP (until o->progress->stop). */
void verify_run(const struct verify_opts *o, struct verify_item *items, size_t n);

const char *verify_verdict_name(enum verify_verdict v);
/* "role,catch-all" (empty: none) into out[size]. */
void verify_flags_text(unsigned flags, char *out, size_t size);

/* The renderings: a table for people, one JSON array, CSV with a header. */
void verify_text(const struct verify_item *items, size_t n, struct buf *out);
void verify_json(const struct verify_item *items, size_t n, struct buf *out);
struct verify_csv_in;
/* With in (the input CSV, see verify_read_input): its columns first, then the results. */
void verify_csv(const struct verify_item *items, size_t n, const struct verify_csv_in *in,
		struct buf *out);

/*
 * Addresses from a file's text: one per line (blank lines and "#"
 * comments skipped), or, with column, a CSV whose header names the
 * column. Each address is appended to *list (count *n_r). -1 with err
 * when the column is missing. With csv (and column), the header and the
 * row of each address are kept there, for verify_csv.
 */
struct verify_csv_in {
	char **head;
	size_t nhead;
	char ***rows; /* rows[i]: the fields of address i of the file */
	size_t *nfields;
	size_t nrows;
};
int verify_read_input(const char *text, size_t len, const char *column, char ***list, size_t *n_r,
		      struct verify_csv_in *csv, char *err, size_t err_size);
void verify_csv_in_free(struct verify_csv_in *csv);

#endif
