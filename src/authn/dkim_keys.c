/*
 * dkim_keys: reading the signing keys and checking their DNS records (see
 * the header). Every error names the file, the domain and the selector,
 * says what is wrong and how to fix it.
 */
#include "dkim_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "str.h"
#include "xmalloc.h"

#define DKIM_RSA_MIN_BITS 1024 /* RFC 8301 3.2 */

struct dkim_keyset {
	struct dkim_key *keys;
	size_t n;
};

static void
key_err(const struct config_dkim *c, char *err, size_t err_size, const char *what, const char *fix)
{
	snprintf(err, err_size, "dkim key %s (%s, selector %s): %s; %s", c->keyfile, c->domain,
		 c->selector, what, fix);
}

int
dkim_key_set(struct dkim_key *k, EVP_PKEY *pkey, char *err, size_t err_size)
{
	int id = EVP_PKEY_get_base_id(pkey);
	if (id == EVP_PKEY_ED25519) {
		k->type = DKIM_KEY_ED25519;
		k->bits = 256;
		size_t n = sizeof k->pub;
		if (EVP_PKEY_get_raw_public_key(pkey, k->pub, &n) != 1 || n != 32) {
			snprintf(err, err_size, "the Ed25519 key has no usable public half");
			return -1;
		}
		k->pub_len = n;
	} else if (id == EVP_PKEY_RSA) {
		k->type = DKIM_KEY_RSA;
		k->bits = (unsigned)EVP_PKEY_get_bits(pkey);
		if (k->bits < DKIM_RSA_MIN_BITS) {
			snprintf(err, err_size,
				 "an RSA key of %u bits is too small (RFC 8301: at least 1024, "
				 "2048 recommended)",
				 k->bits);
			return -1;
		}
		int n = i2d_PUBKEY(pkey, NULL);
		unsigned char *p = k->pub;
		if (n <= 0 || (size_t)n > sizeof k->pub || i2d_PUBKEY(pkey, &p) != n) {
			snprintf(err, err_size,
				 "the RSA key's public half does not fit a DNS record");
			return -1;
		}
		k->pub_len = (size_t)n;
	} else {
		snprintf(err, err_size,
			 "a %s key cannot sign DKIM (only RSA and Ed25519: RFC 6376, RFC 8463)",
			 OBJ_nid2sn(id) ? OBJ_nid2sn(id) : "non-RSA");
		return -1;
	}
	k->pkey = pkey;
	return 0;
}

/* The file is there, ours to read and nobody else's. */
static FILE *
open_key_file(const struct config_dkim *c, char *err, size_t err_size)
{
	char what[256], fix[700];
	int fd = open(c->keyfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT) {
			key_err(c, err, err_size, "the file does not exist",
				"create it with 'mailport dkim keygen --domain DOMAIN --selector "
				"SELECTOR --out FILE' (or fix the path in the dkim line)");
		} else {
			snprintf(what, sizeof what, "cannot read it: %s", strerror(e));
			key_err(c, err, err_size, what,
				"start mailport as root (keys are read before privileges drop) or "
				"make the file readable by the account that runs it");
		}
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		key_err(c, err, err_size, "it is not a regular file",
			"point the dkim line at the PEM file 'mailport dkim keygen' wrote");
		close(fd);
		return NULL;
	}
	if (st.st_mode & 077) {
		snprintf(what, sizeof what,
			 "the private key is open to group or others (mode %04o): anyone who "
			 "can read it can sign mail as %s",
			 (unsigned)(st.st_mode & 07777), c->domain);
		snprintf(fix, sizeof fix, "run 'chmod 600 %s' (and 'chown root:root %s')",
			 c->keyfile, c->keyfile);
		key_err(c, err, err_size, what, fix);
		close(fd);
		return NULL;
	}
	FILE *fp = fdopen(fd, "r");
	if (fp == NULL) {
		close(fd);
		key_err(c, err, err_size, "cannot read it", "check the file");
	}
	return fp;
}

int
dkim_key_load(const struct config_dkim *c, struct dkim_key *k, char *err, size_t err_size)
{
	memset(k, 0, sizeof *k);
	str_copy(k->domain, sizeof k->domain, c->domain);
	str_copy(k->selector, sizeof k->selector, c->selector);
	str_copy(k->keyfile, sizeof k->keyfile, c->keyfile);
	FILE *fp = open_key_file(c, err, err_size);
	if (fp == NULL)
		return -1;
	EVP_PKEY *pkey = PEM_read_PrivateKey(fp, NULL, NULL, (void *)"");
	if (pkey == NULL) {
		/* Say what it is when it is the usual mix-up: the public half. */
		rewind(fp);
		EVP_PKEY *pub = PEM_read_PUBKEY(fp, NULL, NULL, NULL);
		fclose(fp);
		key_err(c, err, err_size,
			pub ? "it holds a public key, not the private key"
			    : "it is not a PEM private key (or it is encrypted)",
			"give the file 'mailport dkim keygen' wrote (\"-----BEGIN PRIVATE "
			"KEY-----\", not protected by a passphrase)");
		EVP_PKEY_free(pub);
		return -1;
	}
	fclose(fp);
	char why[256];
	if (dkim_key_set(k, pkey, why, sizeof why) < 0) {
		EVP_PKEY_free(pkey);
		key_err(c, err, err_size, why,
			"make a new key with 'mailport dkim keygen' (RSA-2048 or Ed25519)");
		return -1;
	}
	return 0;
}

void
dkim_key_release(struct dkim_key *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}

struct dkim_keyset *
dkim_keys_load(const struct config *cfg, char *err, size_t err_size)
{
	struct dkim_keyset *ks = xcalloc(1, sizeof *ks);
	if (cfg->ndkim > 0)
		ks->keys = xcalloc(cfg->ndkim, sizeof *ks->keys);
	for (size_t i = 0; i < cfg->ndkim; i++) {
		if (dkim_key_load(&cfg->dkim[i], &ks->keys[i], err, err_size) < 0) {
			dkim_keys_free(&ks);
			return NULL;
		}
		ks->n++;
	}
	return ks;
}

void
dkim_keys_free(struct dkim_keyset **ksp)
{
	struct dkim_keyset *ks = *ksp;
	if (ks == NULL)
		return;
	for (size_t i = 0; i < ks->n; i++)
		dkim_key_release(&ks->keys[i]);
	free(ks->keys);
	free(ks);
	*ksp = NULL;
}

size_t
dkim_keys_count(const struct dkim_keyset *ks)
{
	return ks ? ks->n : 0;
}

const struct dkim_key *
dkim_keys_at(const struct dkim_keyset *ks, size_t i)
{
	return ks && i < ks->n ? &ks->keys[i] : NULL;
}

EVP_PKEY *
dkim_pubkey_from_record(const struct dkim_key_record *rec, char *why, size_t why_size)
{
	if (rec->revoked) {
		snprintf(why, why_size, "the key is revoked (empty p=)");
		return NULL;
	}
	if (rec->type == DKIM_KEY_ED25519) {
		EVP_PKEY *k =
		    EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, rec->p, rec->p_len);
		if (k == NULL)
			snprintf(why, why_size, "p= is not an Ed25519 public key");
		return k;
	}
	/* RSA: a SubjectPublicKeyInfo as everyone publishes, or the bare
	 * RSAPublicKey that RFC 6376 3.6.1's wording also allows. */
	const unsigned char *p = rec->p;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)rec->p_len);
	if (k == NULL) {
		p = rec->p;
		k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)rec->p_len);
	}
	if (k != NULL && EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	if (k == NULL)
		snprintf(why, why_size, "p= is not an RSA public key");
	return k;
}

const char *
dkim_dns_status_name(enum dkim_dns_status s)
{
	static const char *const names[] = {"ok", "missing", "invalid", "mismatch", "error"};
	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

/* One TXT record against the key: OK, INVALID or MISMATCH, detail says. */
static enum dkim_dns_status
compare_record(const struct dkim_key *k, const char *txt, char *detail, size_t detail_size)
{
	struct dkim_key_record rec;
	char why[256];
	if (dkim_key_parse(txt, strlen(txt), &rec, why, sizeof why) < 0) {
		snprintf(detail, detail_size, "the record is not a DKIM key record: %s", why);
		return DKIM_DNS_INVALID;
	}
	if (rec.revoked) {
		snprintf(detail, detail_size, "the published key is revoked (empty p=)");
		return DKIM_DNS_MISMATCH;
	}
	EVP_PKEY *pub = dkim_pubkey_from_record(&rec, why, sizeof why);
	if (pub == NULL) {
		snprintf(detail, detail_size, "the record's key is unusable: %s", why);
		return DKIM_DNS_INVALID;
	}
	bool same = rec.type == k->type && EVP_PKEY_eq(pub, k->pkey) == 1;
	EVP_PKEY_free(pub);
	if (!same) {
		snprintf(detail, detail_size,
			 "the published key (k=%s) is not the public half of %s",
			 rec.type == DKIM_KEY_ED25519 ? "ed25519" : "rsa", k->keyfile);
		return DKIM_DNS_MISMATCH;
	}
	snprintf(detail, detail_size, "the published %s key matches %s",
		 k->type == DKIM_KEY_ED25519 ? "Ed25519" : "RSA", k->keyfile);
	return DKIM_DNS_OK;
}

enum dkim_dns_status
dkim_key_check_dns(const struct dkim_key *k, const struct ma_dns *dns, struct dkim_dns_check *out)
{
	struct buf rec;
	memset(out, 0, sizeof *out);
	snprintf(out->name, sizeof out->name, "%s._domainkey.%s", k->selector, k->domain);
	buf_init(&rec, 0);
	dkim_key_record_text(k->type, k->pub, k->pub_len, &rec);
	str_copy(out->record, sizeof out->record, rec.data);
	buf_reset(&rec);
	dkim_txt_quoted(out->record, &rec);
	str_copy(out->quoted, sizeof out->quoted, rec.data);
	buf_free(&rec);

	struct ma_dns_answer a = {0};
	enum ma_dns_rc rc = dns->lookup(dns->ctx, MA_RR_TXT, out->name, &a);
	if (rc == MA_DNS_TEMPFAIL) {
		snprintf(out->detail, sizeof out->detail, "the TXT lookup of %s failed", out->name);
		return out->status = DKIM_DNS_ERROR;
	}
	if (rc != MA_DNS_OK || a.n == 0) {
		snprintf(out->detail, sizeof out->detail, "no TXT record at %s", out->name);
		ma_dns_answer_free(&a);
		return out->status = DKIM_DNS_MISSING;
	}
	/* Several records at the name: one that matches is enough; otherwise
	 * the most telling failure (a mismatch over an unrelated record). */
	enum dkim_dns_status best = DKIM_DNS_INVALID;
	for (size_t i = 0; i < a.n && best != DKIM_DNS_OK; i++) {
		char detail[sizeof out->detail];
		enum dkim_dns_status s = compare_record(k, a.rr[i], detail, sizeof detail);
		if (i == 0 || s == DKIM_DNS_OK || (s == DKIM_DNS_MISMATCH && best != DKIM_DNS_OK)) {
			best = s;
			str_copy(out->detail, sizeof out->detail, detail);
		}
	}
	ma_dns_answer_free(&a);
	return out->status = best;
}
