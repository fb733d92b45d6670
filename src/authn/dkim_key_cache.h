/*
 * dkim_key_cache: public keys decoded from DKIM key records, kept for the
 * life of the process and shared by every thread. OpenSSL 3 decodes a DER
 * key through its provider decoders, under locks: on a busy smtp door that
 * was a large part of verifying a message, for the same few keys over and
 * over. A key is found by its record's bytes (type and p=), so a changed
 * record is a new key and a stale one is never used.
 */
#ifndef MP_DKIM_KEY_CACHE_H
#define MP_DKIM_KEY_CACHE_H

#include <stddef.h>

#include <openssl/evp.h>

#include "dkim_tags.h"

/* As dkim_pubkey_from_record; the key is the caller's (EVP_PKEY_free). */
EVP_PKEY *dkim_pubkey_cached(const struct dkim_key_record *rec, char *why, size_t why_size);
/* Keys held now (for tests). */
size_t dkim_key_cache_size(void);

#endif
