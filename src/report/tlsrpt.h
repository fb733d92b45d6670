/*
 * tlsrpt: the SMTP TLS report of RFC 8460 (section 4, its JSON) and the
 * mail that carries it (section 5.3), from counts the caller has kept.
 * Pure: no clock, no files, no compression; the caller passes the period,
 * the ids and the gzip'ed bytes (the store does the I/O).
 *
 * A report covers one policy domain and one period (a UTC day, or part of
 * one). Its "policies" array has one entry per (policy type, policy
 * domain): the successful and failed session counts, and the failures
 * grouped by (result type, receiving MX, receiving IP).
 */
#ifndef MP_TLSRPT_H
#define MP_TLSRPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define TLSRPT_NAME_MAX 256 /* a domain or host name, NUL included */
#define TLSRPT_IP_MAX 64
#define TLSRPT_TYPE_MAX 32

/* RFC 8460 4.3 result types; "" (never stored) is a success. */
bool tlsrpt_result_type_valid(const char *result_type);
/* RFC 8460 4.4 policy types: "sts", "tlsa", "no-policy-found". */
bool tlsrpt_policy_type_valid(const char *policy_type);

/* One counted line: sessions of one outcome with one MX. */
struct tlsrpt_count {
	char policy_type[TLSRPT_TYPE_MAX]; /* "sts" "tlsa" "no-policy-found" */
	char mx_host[TLSRPT_NAME_MAX];	   /* the MX host name tried */
	char ip[TLSRPT_IP_MAX];		   /* the MX address tried, "" when none */
	char result_type[TLSRPT_TYPE_MAX]; /* "" = success, else an RFC 8460 4.3 type */
	uint64_t sessions;
};

/* The policy a policy type applied, as RFC 8460 4.4's "policy-string":
 * the MTA-STS policy's lines, or one "usage selector mtype data" per TLSA. */
struct tlsrpt_policy_text {
	const char *policy_type;
	const char *const *lines;
	size_t nlines;
};

struct tlsrpt_report {
	const char *organization; /* "organization-name": our hostname */
	const char *contact;	  /* "contact-info": the tls-report-from address */
	const char *report_id;	  /* unique; also in the mail's subject */
	const char *policy_domain;
	int64_t start, end;		   /* the period, unix seconds, end inclusive */
	const struct tlsrpt_count *counts; /* for this policy domain only */
	size_t ncounts;
	const struct tlsrpt_policy_text *texts; /* optional, one per policy type at most */
	size_t ntexts;
};

/*
 * The RFC 8460 4.4 JSON of r, appended to out (one line, no trailing
 * newline). Counts of the same (type, mx, ip, result) are added up; rows
 * with an unknown policy or result type are counted as
 * "no-policy-found" / "validation-failure" so a report never carries a
 * word the schema lacks. 0, or -1 when r has no counts.
 */
int tlsrpt_json(const struct tlsrpt_report *r, struct buf *out);

/*
 * The file name RFC 8460 5.3 asks for:
 * "submitter!policy-domain!start!end!unique.json.gz" into out.
 * false when it does not fit.
 */
bool tlsrpt_file_name(const char *submitter, const struct tlsrpt_report *r, const char *unique,
		      char *out, size_t size);

/* The report mail (RFC 8460 5.3), a multipart/report; report-type="tlsrpt". */
struct tlsrpt_mail {
	const char *from;	/* tls-report-from */
	const char *to;		/* the rua mailto: address */
	const char *submitter;	/* TLS-Report-Submitter: our hostname */
	const char *date;	/* RFC 5322 date */
	const char *message_id; /* "<...>" */
	const char *boundary;	/* must not occur in the parts */
	const char *file_name;	/* tlsrpt_file_name */
	const struct tlsrpt_report *report;
	const unsigned char *gz; /* the gzip'ed JSON */
	size_t gz_len;
};

/*
 * The whole message, CRLF line ends, into out: the RFC 8460 5.3 header
 * fields (TLS-Report-Domain, TLS-Report-Submitter, the subject "Report
 * Domain: D Submitter: S Report-ID: <id>"), TLS-Required: No (RFC 8460 5.3:
 * reports go despite TLS failures; RFC 8689 5 says how), a short text part
 * and the application/tlsrpt+gzip part in base64. -1 when a field would
 * break the message (CR/LF in a value, boundary in the text).
 */
int tlsrpt_mail_build(const struct tlsrpt_mail *m, struct buf *out);

#endif
