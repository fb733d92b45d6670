/*
 * domain_check_dkim: the DKIM key records of the domain's selectors (RFC
 * 6376 3.6.2.1: a TXT record at SELECTOR._domainkey.DOMAIN): one record,
 * that mailauth/dkim_tags parses as a key, not revoked (p= empty), and,
 * for a selector this host signs with, holding this host's public key:
 * a receiver checks our signatures against the published key, so a
 * different one fails every message. The fix is the local key's record,
 * the one `mailport dkim keygen` printed.
 */
#include "domain_check_int.h"

#include <stdio.h>
#include <string.h>

#include "dkim_tags.h"

static const struct dc_local_key *
local_key(const struct dc_ctx *c, const char *selector)
{
	for (size_t i = 0; i < c->o->nkeys; i++)
		if (strcmp(c->o->keys[i].selector, selector) == 0 && c->o->keys[i].record[0])
			return &c->o->keys[i];
	return NULL;
}

static const char *
key_type_name(enum dkim_key_type t)
{
	return t == DKIM_KEY_ED25519 ? "ed25519" : "rsa";
}

/* The published record against the local one; the part's status and detail. */
static enum dc_status
compare(const char *published, const struct dc_local_key *lk, char *detail, size_t size)
{
	static struct dkim_key_record pub, mine;
	char why[256];
	if (dkim_key_parse(published, strlen(published), &pub, why, sizeof why) < 0) {
		snprintf(detail, size, "\"%.200s\": %s: receivers fail every signature", published,
			 why);
		return DC_INVALID;
	}
	if (pub.revoked) {
		snprintf(detail, size,
			 "the key is revoked (p= empty): receivers fail every "
			 "signature with this selector");
		return DC_INVALID;
	}
	if (lk == NULL) {
		snprintf(detail, size, "a k=%s key (%zu bytes)%s; no local key to compare with",
			 key_type_name(pub.type), pub.p_len, pub.testing ? ", t=y (testing)" : "");
		return DC_OK;
	}
	if (dkim_key_parse(lk->record, strlen(lk->record), &mine, why, sizeof why) < 0) {
		snprintf(detail, size, "the local key's record does not parse (%s)", why);
		return DC_ERROR;
	}
	if (pub.type != mine.type || pub.p_len != mine.p_len ||
	    memcmp(pub.p, mine.p, pub.p_len) != 0) {
		snprintf(detail, size,
			 "the published k=%s key is not this host's k=%s key: receivers fail every "
			 "signature made with it",
			 key_type_name(pub.type), key_type_name(mine.type));
		return DC_MISMATCH;
	}
	snprintf(detail, size, "a k=%s key, the same as this host's%s", key_type_name(pub.type),
		 pub.testing ? "; t=y (testing): receivers may ignore failures" : "");
	return DC_OK;
}

static enum dc_status
check_selector(struct dc_ctx *c, struct dc_item *it, const char *selector)
{
	char name[600], detail[512];
	snprintf(name, sizeof name, "%s._domainkey.%s", selector, c->o->domain);
	const struct dc_local_key *lk = local_key(c, selector);
	struct ma_dns_answer a = {0};
	enum ma_dns_rc rc = c->dns->lookup(c->dns->ctx, MA_RR_TXT, name, &a);
	enum dc_status st;
	if (rc == MA_DNS_TEMPFAIL) {
		st = DC_ERROR;
		it->dns_failed = true;
		snprintf(detail, sizeof detail, "the TXT lookup of %s failed (tempfail)", name);
	} else if (rc != MA_DNS_OK) {
		st = DC_MISSING;
		snprintf(detail, sizeof detail,
			 "no key record at %s: receivers fail every signature "
			 "with this selector",
			 name);
	} else if (a.n > 1) {
		st = DC_INVALID;
		snprintf(detail, sizeof detail,
			 "%zu TXT records at %s: a key needs exactly one (receivers may take any)",
			 a.n, name);
	} else {
		st = compare(a.rr[0], lk, detail, sizeof detail);
	}
	ma_dns_answer_free(&a);
	dc_add_part(it, selector, st, detail);
	if (st == DC_MISSING || st == DC_INVALID || st == DC_MISMATCH) {
		if (lk != NULL)
			dc_fix_txt(it, name, lk->record);
	}
	return st;
}

void
dc_check_dkim(struct dc_ctx *c)
{
	struct dc_item *it = &c->r->items[DC_DKIM];
	const char *d = c->o->domain;
	if (c->o->nselectors == 0) {
		dc_set(it, DC_MISSING,
		       "no DKIM selector to check: none given with --selector, and the config has "
		       "no dkim line for %s",
		       d);
		dc_fix(it,
		       "make a key with `mailport dkim keygen --domain %s --selector SELECTOR`, "
		       "add the dkim line it prints to the config, publish the record it prints, "
		       "and run this again with -c CONFIG (or --selector SELECTOR)",
		       d);
		return;
	}
	enum dc_status st = DC_OK;
	for (size_t i = 0; i < c->o->nselectors; i++)
		st = dc_worse(st, check_selector(c, it, c->o->selectors[i]));
	dc_set(it, st, "%zu selector%s checked%s", c->o->nselectors,
	       c->o->nselectors == 1 ? "" : "s",
	       st == DC_OK ? ", each with its key published" : ": see each selector");
	if (st == DC_ERROR)
		return;
	if (it->nrecords > 0)
		dc_fix(it,
		       "publish the record%s below (this host's key%s, as `mailport dkim keygen` "
		       "printed), replacing what is there",
		       it->nrecords == 1 ? "" : "s", it->nrecords == 1 ? "" : "s");
	else if (st != DC_OK)
		dc_fix(it,
		       "publish the key record of each selector (the record `mailport dkim "
		       "keygen` printed for it), or give -c CONFIG so this check knows the local "
		       "keys");
}
