/*
 * spf_flat: SPF records as text, for the fixes of the domain check:
 * terms looked up, merged and "flattened". Flattening replaces the terms
 * that cost DNS lookups (a, mx, include, redirect) by the ip4:/ip6:
 * terms of the addresses they name today, so a record over RFC 7208's
 * 10-lookup limit (4.6.4) can come back under it. What cannot be
 * flattened is kept as it is: terms with macros (their target depends on
 * the message), exists and ptr, and an include whose record uses them or
 * cannot be read.
 *
 * An include matches when its record passes (RFC 7208 5.2), so only the
 * included record's pass terms ("+" or no qualifier) are carried out,
 * under the include's own qualifier; its other terms and its all are
 * dropped. The result is a snapshot: it is right until a provider changes
 * its addresses, which the fix's sentence says.
 */
#ifndef MP_SPF_FLAT_H
#define MP_SPF_FLAT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "ma_dns.h"

/* Whether record holds term (e.g. "ip4:192.0.2.1"), with or without a '+', ignoring case. */
bool spf_flat_has_term(const char *record, const char *term);

/*
 * Where the record's tail starts: its first "all" mechanism (any
 * qualifier), else its redirect= modifier, else its end. New terms go
 * before it (terms after an all are never reached).
 */
size_t spf_flat_tail_offset(const char *record);

/*
 * One record from several (the fix for "more than one v=spf1 record",
 * RFC 7208 4.5): "v=spf1", each distinct term other than all and
 * redirect= in order, then the first record's all (or the first all, or
 * the first redirect=, or "~all"), into out.
 */
void spf_flat_merge(const char *const *records, size_t n, struct buf *out);

/*
 * The record of domain, flattened (see the header), into out; *lookups_r
 * = the DNS-querying terms it still holds, counted as RFC 7208 4.6.4
 * counts them (kept includes with their own records). 0, or -1 with why
 * (a DNS failure, a result too long to publish).
 */
int spf_flat_flatten(const struct ma_dns *dns, const char *domain, const char *record,
		     struct buf *out, unsigned *lookups_r, char *why, size_t why_size);

#endif
