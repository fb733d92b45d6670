/*
 * dkim_keys: the DKIM signing keys of the config ("dkim DOMAIN SELECTOR
 * KEYFILE" lines), read once at start while the server is still root (so
 * a key may stay root:root 0600), and the public side of a key: its DNS
 * record (RFC 6376 3.6.1) and the check of what is published at
 * SELECTOR._domainkey.DOMAIN against it.
 *
 * A key is a PEM private key: RSA of at least 1024 bits (RFC 8301 3.2:
 * smaller keys must not be used; 2048 is what keygen makes) or Ed25519
 * (RFC 8463). A key file readable or writable by group or others is
 * refused, as OpenSSH refuses such a private key: anyone who can read it
 * can sign mail as the domain.
 *
 * Ownership: the keyset owns its EVP_PKEYs; a struct dkim_key from
 * dkim_keys_at stays valid until dkim_keys_free. A loaded keyset is only
 * read afterwards, so the sessions of every thread may share it.
 */
#ifndef MP_DKIM_KEYS_H
#define MP_DKIM_KEYS_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "dkim_tags.h"
#include "ma_dns.h"

struct dkim_key {
	char domain[256], selector[256], keyfile[4096];
	enum dkim_key_type type;
	unsigned bits; /* RSA modulus; 256 for Ed25519 */
	EVP_PKEY *pkey;
	unsigned char
	    pub[DKIM_KEY_PUB_MAX]; /* p=: SubjectPublicKeyInfo DER, or Ed25519's 32 bytes */
	size_t pub_len;
};

struct dkim_keyset;

/* Every key of cfg, or NULL with err (the first bad key: what, why, fix).
 * No "dkim" line gives an empty set, not NULL. */
struct dkim_keyset *dkim_keys_load(const struct config *cfg, char *err, size_t err_size);
void dkim_keys_free(struct dkim_keyset **ks);
size_t dkim_keys_count(const struct dkim_keyset *ks);
const struct dkim_key *dkim_keys_at(const struct dkim_keyset *ks, size_t i);

/* One key (for `config check`, which reports every bad key): 0, or -1
 * with err saying what is wrong with the file and the fix. */
int dkim_key_load(const struct config_dkim *c, struct dkim_key *k, char *err, size_t err_size);
void dkim_key_release(struct dkim_key *k);
/* Fills k's type, bits and pub from pkey (taken over by k); -1 with err
 * when the type or size is not usable for DKIM. */
int dkim_key_set(struct dkim_key *k, EVP_PKEY *pkey, char *err, size_t err_size);

/* The public key of a DNS record (p=, k=), for verifying; NULL with why. */
EVP_PKEY *dkim_pubkey_from_record(const struct dkim_key_record *rec, char *why, size_t why_size);

enum dkim_dns_status {
	DKIM_DNS_OK,	   /* published and the same key */
	DKIM_DNS_MISSING,  /* no TXT record at the name */
	DKIM_DNS_INVALID,  /* a record that is not a usable DKIM key record */
	DKIM_DNS_MISMATCH, /* a key record, but another key (or revoked) */
	DKIM_DNS_ERROR,	   /* the lookup failed: try again */
};

struct dkim_dns_check {
	enum dkim_dns_status status;
	char name[600];	   /* SELECTOR._domainkey.DOMAIN */
	char record[2048]; /* the record to publish, as one text */
	char quoted[2200]; /* the same as DNS strings of <= 255 octets, quoted */
	char detail[512];  /* what was found */
};

/* "ok", "missing", "invalid", "mismatch", "error" (probe's words). */
const char *dkim_dns_status_name(enum dkim_dns_status s);
/* Looks up k's record through dns and compares it with k. */
enum dkim_dns_status dkim_key_check_dns(const struct dkim_key *k, const struct ma_dns *dns,
					struct dkim_dns_check *out);

#endif
