/*
 * domain_report: what `mailport probe DOMAIN --domain-check` found about a
 * sending domain's DNS, as plain data, and its two renderings: the
 * "domain_check" member of probe's --json object (DESIGN.md, "Contract
 * additions") and the text for a person. client/domain_check fills a
 * struct domain_report; everything here is pure, so the renderings and
 * the exit code are unit-tested on made-up results.
 *
 * Each check has a status (the contract's words), a detail for a person
 * and a fix; a fix that is a DNS record to publish also comes as
 * zone-file lines ("records"; TXT data in strings of at most 255 octets,
 * RFC 1035 3.3.14, as `mailport dkim keygen` prints them), so a script or
 * a person can paste them as they are.
 * Records published elsewhere (PTR: at the address's owner) say so in
 * the fix sentence.
 *
 * DNS bytes (TXT records, names) are untrusted: the text escapes them,
 * JSON quotes them.
 */
#ifndef MP_DOMAIN_REPORT_H
#define MP_DOMAIN_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum dc_status { DC_OK, DC_MISSING, DC_INVALID, DC_MISMATCH, DC_ERROR };

/* The checks, in the order they are shown; the JSON member names are dc_check_name's. */
enum dc_check {
	DC_MX,
	DC_SPF,
	DC_DKIM,
	DC_DMARC,
	DC_MTA_STS,
	DC_TLS_RPT,
	DC_PTR,
	DC_DANE,
	DC_NCHECKS
};

#define DC_MAX_PARTS 16
#define DC_MAX_RECORDS 8

/* One part of a check: a DKIM selector, an MX host, an MX address. */
struct dc_part {
	char name[256];
	enum dc_status status;
	char detail[512];
};

struct dc_item {
	enum dc_status status;
	/* false: an optional record (MTA-STS, TLS-RPT, DANE): missing is advice, not a failure */
	bool required;
	/* the status is DC_ERROR because DNS did not answer (try later), not for want of input */
	bool dns_failed;
	char detail[1024];
	char fix[1024];			    /* a sentence; "" when ok */
	char records[DC_MAX_RECORDS][1200]; /* zone-file lines to publish; see the header */
	size_t nrecords;
	struct dc_part parts[DC_MAX_PARTS]; /* JSON: dc_parts_name's member */
	size_t nparts;
};

struct domain_report {
	char domain[256];
	char resolver[300]; /* "" for the system's */
	struct dc_item items[DC_NCHECKS];
};

/* "ok", "missing", "invalid", "mismatch", "error"; static. */
const char *dc_status_name(enum dc_status s);
/* "mx", "spf", "dkim", "dmarc", "mta_sts", "tls_rpt", "ptr", "dane"; static. */
const char *dc_check_name(enum dc_check c);

/* True when every required check is ok and no optional one is invalid. */
bool domain_report_ok(const struct domain_report *r);

/*
 * sysexits: 0 when domain_report_ok; 65 (EX_DATAERR) when a record is
 * missing, invalid or a mismatch; else 75 (EX_TEMPFAIL) when DNS failed.
 */
int domain_report_exit_code(const struct domain_report *r);

/* Adds a record line to item (dropped past DC_MAX_RECORDS); returns it or NULL. */
const char *dc_add_record(struct dc_item *item, const char *line);

/* Adds a part; returns it (NULL past DC_MAX_PARTS: the caller notes the rest in the detail). */
struct dc_part *dc_add_part(struct dc_item *item, const char *name, enum dc_status st,
			    const char *detail);

/* The worse of two statuses, by what the user must do: ok < error < missing < mismatch < invalid.
 */
enum dc_status dc_worse(enum dc_status a, enum dc_status b);

/* ,"domain_check":{...} (the leading comma included), appended to out. */
void domain_report_json(const struct domain_report *r, struct buf *out);

/* The checks for a person, one block each, then the verdict, appended to out. */
void domain_report_text(const struct domain_report *r, bool color, struct buf *out);

#endif
