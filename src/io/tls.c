/*
 * tls: OpenSSL 3 server contexts and the first-start self-signed pair.
 *
 * Contexts follow Mozilla's "intermediate" profile (TLS 1.2 and 1.3,
 * forward-secret AEAD ciphers, the client's cipher order). A context holds
 * no per-connection state, so every event loop thread shares one.
 *
 * The self-signed certificate is for a first start and for tests: P-256,
 * 825 days (the longest lifetime clients accept, CA/B Forum), the hostname
 * as CN and in subjectAltName, plus localhost, 127.0.0.1 and ::1 so local
 * clients that verify against the file can connect by either name. Files
 * are written to a temporary name, fsynced and renamed, so a crash never
 * leaves half a key; the key is mode 0600 from its creation. An existing
 * file is never overwritten: with only one of the two present, it stops.
 *
 * Session tickets are sealed with keys kept outside the contexts, so a
 * SIGHUP (which builds a new context) does not cost every client a full
 * handshake. The keys live in memory only: a restart starts afresh.
 */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pthread.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "str.h"
#include "xmalloc.h"

#define CERT_DAYS 825

/* Mozilla intermediate, version 5.7: TLS 1.2 suites (TLS 1.3 ones are all fine). */
static const char tls12_ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
static const char tls13_suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
static const char groups[] = "X25519:P-256:P-384";

const char *
tls_last_error(char *buf, size_t size)
{
	unsigned long e;
	const char *data;
	int flags;
	size_t len = 0;
	if (size == 0)
		return buf;
	buf[0] = '\0';
	/* Oldest first: the root cause, then what each layer made of it. */
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		char code[256], item[512];
		const char *reason =
		    ERR_SYSTEM_ERROR(e) ? strerror(ERR_GET_REASON(e)) : ERR_reason_error_string(e);
		if (reason == NULL) {
			ERR_error_string_n(e, code, sizeof code);
			reason = code;
		}
		bool has_data = (flags & ERR_TXT_STRING) && data != NULL && data[0] != '\0';
		snprintf(item, sizeof item, "%s%s%s%s", reason, has_data ? " (" : "",
			 has_data ? data : "", has_data ? ")" : "");
		/* "system lib" adds nothing to the errno text; layers repeat each other. */
		if (strcmp(reason, "system lib") == 0 || strstr(buf, item) != NULL)
			continue;
		int n = snprintf(buf + len, size - len, "%s%s", len ? ": " : "", item);
		if (n < 0 || (size_t)n >= size - len) {
			ERR_clear_error();
			break;
		}
		len += (size_t)n;
	}
	if (buf[0] == '\0')
		str_copy(buf, size, "no reason given by OpenSSL");
	return buf;
}

/* Does path exist? EACCES and the like count as yes: loading will say why. */
static bool
path_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 || errno != ENOENT;
}

/* mkdir -p of the folder holding path. */
static int
make_parent_dir(const char *path, char *err, size_t err_size)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	int rc = 0;
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		for (char *p = dir + 1; rc == 0; p++) {
			bool last = *p == '\0';
			if (*p != '/' && !last)
				continue;
			*p = '\0';
			if (mkdir(dir, 0755) != 0 && errno != EEXIST)
				rc = -1;
			if (last)
				break;
			*p = '/';
		}
	}
	if (rc != 0)
		snprintf(err, err_size,
			 "tls: cannot create the folder %s for %s: %s; create it, or "
			 "point the tls line at a folder mailport may write to",
			 dir, path, strerror(errno));
	free(dir);
	return rc;
}

/* fsync the folder of path, so a rename in it survives a crash. */
static void
sync_parent_dir(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

/* Write pkey (when set) or cert as PEM to path: temporary file, fsync, rename. */
static int
write_pem_atomic(const char *path, mode_t mode, EVP_PKEY *pkey, X509 *cert, char *err,
		 size_t err_size)
{
	char tmp[4200], reason[512] = "";
	FILE *f = NULL;
	int saved, closed;
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	/* fchmod: the mode exactly, whatever the umask. */
	if (fd < 0 || fchmod(fd, mode) != 0 || (f = fdopen(fd, "w")) == NULL)
		goto fail;
	ERR_clear_error();
	errno = 0;
	if ((pkey ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL)
		  : PEM_write_X509(f, cert)) != 1) {
		if (errno == 0)
			tls_last_error(reason, sizeof reason);
		goto fail;
	}
	if (fflush(f) != 0 || fsync(fd) != 0)
		goto fail;
	closed = fclose(f);
	f = NULL;
	fd = -1;
	if (closed != 0 || rename(tmp, path) != 0)
		goto fail;
	sync_parent_dir(path);
	return 0;
fail:
	saved = errno;
	if (f != NULL)
		fclose(f);
	else if (fd >= 0)
		close(fd);
	unlink(tmp);
	snprintf(err, err_size,
		 "tls: cannot write %s: %s; check that mailport may write to its "
		 "folder and the disk is not full, or point the tls line elsewhere",
		 path, reason[0] ? reason : strerror(saved));
	return -1;
}

static bool
add_san(GENERAL_NAMES *names, int type, const char *value)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	if (g == NULL)
		return false;
	if (type == GEN_DNS) {
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();
		if (s == NULL || !ASN1_STRING_set(s, value, -1)) {
			ASN1_IA5STRING_free(s);
			GENERAL_NAME_free(g);
			return false;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
	} else {
		ASN1_OCTET_STRING *ip = a2i_IPADDRESS(value);
		if (ip == NULL) {
			GENERAL_NAME_free(g);
			return false;
		}
		GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
	}
	if (sk_GENERAL_NAME_push(names, g) == 0) {
		GENERAL_NAME_free(g);
		return false;
	}
	return true;
}

/* subjectAltName by structure, not by a config string a hostname could bend. */
static bool
add_extensions(X509 *x, const char *hostname)
{
	static const struct {
		int nid;
		const char *value;
	} exts[] = {
	    {NID_basic_constraints, "critical,CA:FALSE"},
	    {NID_key_usage, "critical,digitalSignature"},
	    {NID_ext_key_usage, "serverAuth"},
	    {NID_subject_key_identifier, "hash"}, /* before the AKI, which copies it */
	    {NID_authority_key_identifier, "keyid:always"},
	};
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
		X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, exts[i].nid, exts[i].value);
		bool ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;
		X509_EXTENSION_free(ext);
		if (!ok)
			return false;
	}
	GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
	bool ok = names != NULL && add_san(names, GEN_DNS, hostname);
	if (ok && strcmp(hostname, "localhost") != 0)
		ok = add_san(names, GEN_DNS, "localhost");
	ok = ok && add_san(names, GEN_IPADD, "127.0.0.1") && add_san(names, GEN_IPADD, "::1");
	ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1;
	GENERAL_NAMES_free(names);
	return ok;
}

/* 159 random bits: positive, under 20 octets (RFC 5280 4.1.2.2), never reused. */
static bool
set_random_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	bool ok = bn != NULL && BN_rand(bn, 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
		  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

static X509 *
make_cert(EVP_PKEY *pkey, const char *hostname)
{
	X509 *x = X509_new();
	if (x == NULL)
		return NULL;
	/* A CN holds at most 64 characters (RFC 5280); the SAN is what clients check. */
	const char *cn = strlen(hostname) <= 64 ? hostname : "mailport";
	X509_NAME *name = X509_get_subject_name(x);
	bool ok = X509_set_version(x, X509_VERSION_3) == 1 && set_random_serial(x) &&
		  /* An hour back, for clients whose clock runs a little behind. */
		  X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
		  X509_time_adj_ex(X509_getm_notAfter(x), CERT_DAYS, 0, NULL) != NULL &&
		  X509_set_pubkey(x, pkey) == 1 &&
		  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
					     (const unsigned char *)"mailport self-signed", -1, -1,
					     0) == 1 &&
		  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
					     -1, -1, 0) == 1 &&
		  X509_set_issuer_name(x, name) == 1 && add_extensions(x, hostname) &&
		  X509_sign(x, pkey, EVP_sha256()) > 0;
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int
tls_ensure_self_signed(const char *cert_path, const char *key_path, const char *hostname, char *err,
		       size_t err_size)
{
	bool have_cert = path_exists(cert_path), have_key = path_exists(key_path);
	if (have_cert && have_key)
		return 0;
	if (have_cert || have_key) {
		/* Making a new pair would overwrite the one file there: maybe a real key. */
		snprintf(err, err_size,
			 "tls: %s exists but %s does not; fix the tls line, or "
			 "delete %s to have a new self-signed pair made",
			 have_cert ? cert_path : key_path, have_cert ? key_path : cert_path,
			 have_cert ? cert_path : key_path);
		return -1;
	}
	if (hostname == NULL || hostname[0] == '\0')
		hostname = "localhost";
	if (make_parent_dir(cert_path, err, err_size) < 0 ||
	    make_parent_dir(key_path, err, err_size) < 0)
		return -1;
	char reason[512];
	ERR_clear_error();
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = pkey ? make_cert(pkey, hostname) : NULL;
	int rc = -1;
	if (x == NULL)
		snprintf(err, err_size,
			 "tls: cannot make a self-signed certificate: %s; check the "
			 "OpenSSL 3 installation, or give a certificate on the tls line",
			 tls_last_error(reason, sizeof reason));
	else if (write_pem_atomic(key_path, 0600, pkey, NULL, err, err_size) == 0)
		rc = write_pem_atomic(cert_path, 0644, NULL, x, err, err_size);
	if (rc != 0 && x != NULL && path_exists(key_path) && !path_exists(cert_path))
		unlink(key_path); /* a key alone would block the next start */
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}

/* ---- session tickets ---- */

/*
 * A ticket is sealed with the current key and opened with the current or
 * the previous one. Keys rotate every TICKET_LIFETIME seconds and a ticket
 * is good for that long, so a ticket made just before a rotation still
 * opens until it expires, and a stolen key opens at most two periods of
 * tickets. An hour matches Postfix's session cache timeout; mail clients
 * that reconnect every few minutes resume almost always.
 */
#define TICKET_LIFETIME 3600
#define TICKET_NAME_LEN 16
#define TICKET_KEY_LEN 32

struct ticket_key {
	unsigned char name[TICKET_NAME_LEN];
	unsigned char aes[TICKET_KEY_LEN];  /* AES-256-CBC */
	unsigned char hmac[TICKET_KEY_LEN]; /* HMAC-SHA256 */
	bool set;
};

struct tls_tickets {
	/* Contexts of an old configuration may still run handshakes (and one
	 * day, other event loops may share these keys): a lock is cheap here. */
	pthread_mutex_t lock;
	struct ticket_key cur, prev;
	time_t rotated; /* CLOCK_MONOTONIC seconds of the last rotation */
	/* The certificate the tickets were made under: a new one voids them. */
	unsigned char cert_sha256[32];
	bool cert_set;
};

static int ticket_ex_index = -1;
static pthread_once_t ticket_ex_once = PTHREAD_ONCE_INIT;

static void
ticket_ex_init(void)
{
	ticket_ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static time_t
mono_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Under the lock. */
static int
tickets_rotate_locked(struct tls_tickets *t)
{
	struct ticket_key k = {.set = true};
	if (RAND_bytes(k.name, sizeof k.name) != 1 || RAND_priv_bytes(k.aes, sizeof k.aes) != 1 ||
	    RAND_priv_bytes(k.hmac, sizeof k.hmac) != 1) {
		OPENSSL_cleanse(&k, sizeof k);
		return -1;
	}
	t->prev = t->cur;
	t->cur = k;
	OPENSSL_cleanse(&k, sizeof k);
	t->rotated = mono_seconds();
	return 0;
}

struct tls_tickets *
tls_tickets_new(void)
{
	struct tls_tickets *t = xcalloc(1, sizeof *t);
	pthread_mutex_init(&t->lock, NULL);
	if (tickets_rotate_locked(t) < 0) {
		tls_tickets_free(&t);
		return NULL;
	}
	return t;
}

void
tls_tickets_rotate(struct tls_tickets *t)
{
	pthread_mutex_lock(&t->lock);
	tickets_rotate_locked(t); /* on failure the keys in use stay in use */
	pthread_mutex_unlock(&t->lock);
}

void
tls_tickets_free(struct tls_tickets **tp)
{
	struct tls_tickets *t = *tp;
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	OPENSSL_cleanse(t, sizeof *t);
	free(t);
	*tp = NULL;
}

/*
 * A ticket resumes the identity the server proved in the full handshake. A
 * reload with another certificate (renewed, or replaced after a leak) must
 * show clients the new one, so both keys go and every ticket with them.
 */
static int
tickets_bind_cert(struct tls_tickets *t, SSL_CTX *ctx)
{
	unsigned char md[32];
	unsigned int len = 0;
	X509 *cert = SSL_CTX_get0_certificate(ctx);
	if (cert == NULL || X509_digest(cert, EVP_sha256(), md, &len) != 1 || len != sizeof md)
		return -1;
	int rc = 0;
	pthread_mutex_lock(&t->lock);
	if (t->cert_set && memcmp(md, t->cert_sha256, sizeof md) != 0)
		rc = tickets_rotate_locked(t) == 0 && tickets_rotate_locked(t) == 0 ? 0 : -1;
	memcpy(t->cert_sha256, md, sizeof md);
	t->cert_set = rc == 0;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static int
ticket_key_init(const struct ticket_key *k, unsigned char *iv, EVP_CIPHER_CTX *cctx,
		EVP_MAC_CTX *hctx, int enc)
{
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof k->hmac),
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
	    OSSL_PARAM_construct_end(),
	};
	if (EVP_MAC_CTX_set_params(hctx, params) != 1)
		return -1;
	if (EVP_CipherInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv, enc) != 1)
		return -1;
	return 0;
}

/*
 * OpenSSL's ticket callback. Sealing: 1 with the current key. Opening: 2
 * with the current or the previous key, so OpenSSL sends a fresh ticket:
 * every resumed connection leaves the client a new one (clients should not
 * offer a ticket twice, RFC 8446 C.4, and OpenSSL's do not), and a ticket
 * of the previous key is replaced before it expires. 0 otherwise, never
 * -1: an unknown key (a ticket from before a restart) or a failure here
 * costs a full handshake, not the connection.
 */
static int
ticket_cb(SSL *ssl, unsigned char key_name[TICKET_NAME_LEN], unsigned char *iv,
	  EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	struct tls_tickets *t = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ticket_ex_index);
	if (t == NULL)
		return 0;
	int rc;
	pthread_mutex_lock(&t->lock);
	if (mono_seconds() - t->rotated >= TICKET_LIFETIME)
		tickets_rotate_locked(t);
	if (enc) {
		int ivlen = EVP_CIPHER_get_iv_length(EVP_aes_256_cbc());
		memcpy(key_name, t->cur.name, TICKET_NAME_LEN);
		rc = RAND_bytes(iv, ivlen) == 1 && ticket_key_init(&t->cur, iv, cctx, hctx, 1) == 0;
	} else if (memcmp(key_name, t->cur.name, TICKET_NAME_LEN) == 0) {
		rc = ticket_key_init(&t->cur, iv, cctx, hctx, 0) == 0 ? 2 : 0;
	} else if (t->prev.set && memcmp(key_name, t->prev.name, TICKET_NAME_LEN) == 0) {
		rc = ticket_key_init(&t->prev, iv, cctx, hctx, 0) == 0 ? 2 : 0;
	} else {
		rc = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* What a PEM file holds, from its BEGIN lines, to tell a swapped tls line. */
enum pem_kind { PEM_CERT = 1, PEM_KEY = 2, PEM_ENCRYPTED = 4 };

static int
pem_kinds(const char *path)
{
	char head[65536];
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return 0;
	size_t n = fread(head, 1, sizeof head - 1, f);
	fclose(f);
	head[n] = '\0';
	int kinds = 0;
	if (strstr(head, "-----BEGIN CERTIFICATE-----"))
		kinds |= PEM_CERT;
	if (strstr(head, "PRIVATE KEY-----"))
		kinds |= PEM_KEY;
	if (strstr(head, "ENCRYPTED"))
		kinds |= PEM_ENCRYPTED;
	return kinds;
}

/* The likely cause and fix for a file OpenSSL would not load. */
static const char *
load_fix(const char *path, bool is_key)
{
	if (access(path, R_OK) != 0)
		return errno == ENOENT ? "the file does not exist: fix the path on the tls line"
		       : errno == EACCES
			   ? "mailport may not read it: make it readable by the user mailport "
			     "runs as (a key should be mode 0600, owned by that user)"
			   : "check the path on the tls line";
	int kinds = pem_kinds(path);
	if (is_key && (kinds & PEM_ENCRYPTED))
		return "the key is protected by a passphrase, which a server cannot type: "
		       "decrypt it with \"openssl pkey -in KEY -out KEY.new\" and use that";
	if (!is_key && (kinds & PEM_KEY) && !(kinds & PEM_CERT))
		return "it holds a private key, not a certificate: the tls line takes the "
		       "certificate first (tls CERT KEY)";
	if (is_key && (kinds & PEM_CERT) && !(kinds & PEM_KEY))
		return "it holds a certificate, not a private key: the tls line takes the "
		       "certificate first, then the key (tls CERT KEY)";
	return is_key ? "it must be a PEM private key (-----BEGIN PRIVATE KEY-----)"
		      : "it must be PEM (-----BEGIN CERTIFICATE-----), the server's certificate "
			"first, then its intermediates";
}

/* Never prompt for a passphrase: a server has no one to ask. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf, (void)size, (void)rwflag, (void)arg;
	return 0;
}

static int
load_cert_and_key(SSL_CTX *ctx, const char *cert_path, const char *key_path, char *err,
		  size_t err_size)
{
	char reason[512];
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		tls_last_error(reason, sizeof reason);
		snprintf(err, err_size, "tls: cannot load the certificate %s: %s; %s", cert_path,
			 reason, load_fix(cert_path, false));
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
		unsigned long e = ERR_peek_last_error();
		if (ERR_GET_LIB(e) == ERR_LIB_X509 &&
		    ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
			goto mismatch; /* a good key, of another certificate */
		tls_last_error(reason, sizeof reason);
		snprintf(err, err_size, "tls: cannot load the private key %s: %s; %s", key_path,
			 reason, load_fix(key_path, true));
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1)
		goto mismatch;
	return 0;
mismatch:
	tls_last_error(reason, sizeof reason);
	snprintf(err, err_size,
		 "tls: the key %s does not belong to the certificate %s (%s); the "
		 "tls line names files of two different certificates: give the key "
		 "that was made with this certificate",
		 key_path, cert_path, reason);
	return -1;
}

SSL_CTX *
tls_server_ctx_new(const char *cert_path, const char *key_path, struct tls_tickets *tickets,
		   char *err, size_t err_size)
{
	char reason[512];
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		snprintf(err, err_size,
			 "tls: OpenSSL cannot make a server context: %s; check the "
			 "OpenSSL 3 installation (libssl3)",
			 tls_last_error(reason, sizeof reason));
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, tls12_ciphers) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, tls13_suites) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, groups) != 1) {
		snprintf(err, err_size,
			 "tls: OpenSSL refused TLS 1.2/1.3 with the intermediate "
			 "ciphers: %s; check the system policy in openssl.cnf",
			 tls_last_error(reason, sizeof reason));
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* Renegotiation is a DoS lever and TLS-level compression leaks (CRIME). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	/* Mozilla intermediate: every suite is strong, so the client may pick. */
	SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_dh_auto(ctx, 1); /* ffdhe2048 for the DHE-RSA suites */
	/*
	 * Resumption: tickets for TLS 1.3 and for 1.2 clients that take them, the
	 * in-memory cache for 1.2 clients that do not. One session id context
	 * for every door: a session from 587 may resume on 465, the same server.
	 */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	/*
	 * One TLS 1.3 ticket per handshake, not OpenSSL's two: a mail client
	 * keeps the latest, and every resumed connection gets a fresh one, so
	 * one keeps it resuming. The second cost about a tenth of the CPU of a
	 * new connection, on the server and again on the client that reads it
	 * (bench/RESULTS.md). A client that opens parallel connections may
	 * reuse the ticket; only one that insists on a ticket per connection
	 * makes a full handshake on the second.
	 */
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"mailport", 8);
	SSL_CTX_set_timeout(ctx, TICKET_LIFETIME);
	/* Idle SMTP sessions are many: give their buffers back between records. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (load_cert_and_key(ctx, cert_path, key_path, err, err_size) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (tickets != NULL) {
		pthread_once(&ticket_ex_once, ticket_ex_init);
		if (ticket_ex_index < 0 ||
		    SSL_CTX_set_ex_data(ctx, ticket_ex_index, tickets) != 1 ||
		    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb) != 1 ||
		    tickets_bind_cert(tickets, ctx) < 0) {
			snprintf(err, err_size,
				 "tls: OpenSSL refused the session ticket keys: %s; check the "
				 "OpenSSL 3 installation (libssl3)",
				 tls_last_error(reason, sizeof reason));
			SSL_CTX_free(ctx);
			return NULL;
		}
	}
	return ctx;
}
