/*
 * mailport dkim keygen --domain D --selector S [--type rsa|ed25519]
 *                      [--bits N] [--out FILE]
 *
 * Makes a DKIM signing key: writes the private key (PEM, mode 0600, never
 * over an existing file: the record published for it would stop matching)
 * and prints what to do with it: the DNS TXT record to publish at
 * S._domainkey.D (as one text, and as a zone-file line of strings of at
 * most 255 octets: RFC 1035 3.3.14, RFC 6376 3.6.2.2) and the config line.
 * RSA is 2048 bits unless --bits says otherwise (1024 at least: RFC 8301;
 * 4096 makes a record some DNS hosting panels cannot take).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "dkim_keys.h"
#include "str.h"

static void
dkim_usage(FILE *out)
{
	fprintf(out,
		"usage: mailport dkim keygen --domain DOMAIN --selector SELECTOR\n"
		"                            [--type rsa|ed25519] [--bits N] [--out FILE]\n"
		"\n"
		"Makes a DKIM signing key for DOMAIN, writes it to FILE (mode 0600; an\n"
		"existing file is never overwritten) and prints the DNS TXT record to publish\n"
		"at SELECTOR._domainkey.DOMAIN and the \"dkim\" line for the config.\n"
		"\n"
		"  --domain DOMAIN     the domain in From: of the mail to sign\n"
		"  --selector NAME     the key's name in DNS (e.g. the year: 2026a)\n"
		"  --type rsa|ed25519  rsa (default; every verifier knows it) or ed25519\n"
		"                      (RFC 8463; sign with both for the best of each)\n"
		"  --bits N            RSA size, 1024..8192 (default 2048)\n"
		"  --out FILE          where to write the key (default DOMAIN.SELECTOR.key)\n"
		"  -h, --help          show this help\n"
		"\n"
		"exit status: 0 ok, 64 bad usage, 73 the key file cannot be created\n");
}

struct keygen_opts {
	const char *domain, *selector, *type, *out;
	unsigned bits;
};

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
bad_usage(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "mailport dkim keygen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n");
	dkim_usage(stderr);
	return EX_USAGE;
}

/* -1 to go on, else the exit code. */
static int
parse_keygen(int argc, char **argv, struct keygen_opts *o)
{
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			dkim_usage(stdout);
			return 0;
		}
		if (strcmp(a, "--domain") == 0)
			dst = &o->domain;
		else if (strcmp(a, "--selector") == 0)
			dst = &o->selector;
		else if (strcmp(a, "--type") == 0)
			dst = &o->type;
		else if (strcmp(a, "--out") == 0)
			dst = &o->out;
		else if (strcmp(a, "--bits") != 0)
			return bad_usage("unknown option \"%s\"", a);
		if (i + 1 >= argc)
			return bad_usage("missing value after \"%s\"", a);
		if (dst != NULL) {
			*dst = argv[++i];
			continue;
		}
		char *end;
		unsigned long bits = strtoul(argv[++i], &end, 10);
		if (*end != '\0' || bits < 1024 || bits > 8192)
			return bad_usage("--bits \"%s\": give 1024 to 8192 (RFC 8301 forbids fewer "
					 "than 1024; 2048 is the usual size)",
					 argv[i]);
		o->bits = (unsigned)bits;
	}
	if (o->domain == NULL || o->selector == NULL)
		return bad_usage("%s", "--domain and --selector are required");
	if (!str_is_dns_name(o->domain))
		return bad_usage("--domain \"%s\" is not a domain name", o->domain);
	if (!str_is_dns_name(o->selector))
		return bad_usage("--selector \"%s\" is not a DNS name (letters, digits, '-', '.')",
				 o->selector);
	if (strcmp(o->type, "rsa") != 0 && strcmp(o->type, "ed25519") != 0)
		return bad_usage("--type \"%s\": give rsa or ed25519", o->type);
	if (o->bits != 0 && strcmp(o->type, "rsa") != 0)
		return bad_usage("%s",
				 "--bits is for --type rsa (an Ed25519 key is always 256 bits)");
	return -1;
}

/* Creates path (0600, not over an existing file) with the key in PEM. */
static int
write_key(const char *path, EVP_PKEY *key)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			fprintf(
			    stderr,
			    "mailport dkim keygen: %s already exists; keygen never overwrites a "
			    "key (mail signed with it would stop verifying): choose another "
			    "--out or --selector, or remove the old key first\n",
			    path);
		else
			fprintf(stderr,
				"mailport dkim keygen: cannot create %s: %s; choose a folder you "
				"can write to with --out\n",
				path, strerror(errno));
		return -1;
	}
	FILE *fp = fdopen(fd, "w");
	bool ok = fp != NULL && fchmod(fd, 0600) == 0 &&
		  PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL) == 1 &&
		  fflush(fp) == 0 && fsync(fd) == 0;
	if (fp != NULL ? fclose(fp) != 0 : close(fd) != 0)
		ok = false;
	if (!ok) {
		fprintf(stderr, "mailport dkim keygen: writing %s failed: %s\n", path,
			strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

static void
print_instructions(const struct keygen_opts *o, const struct dkim_key *k, const char *path)
{
	struct buf rec, quoted;
	buf_init(&rec, 0);
	buf_init(&quoted, 0);
	dkim_key_record_text(k->type, k->pub, k->pub_len, &rec);
	dkim_txt_quoted(rec.data, &quoted);
	char abs[PATH_MAX];
	if (realpath(path, abs) == NULL)
		str_copy(abs, sizeof abs, path);
	printf("Wrote the private key to %s (%s, mode 0600).\n\n", path,
	       k->type == DKIM_KEY_ED25519 ? "Ed25519" : (k->bits == 2048 ? "RSA-2048" : "RSA"));
	printf("1. Publish this DNS TXT record:\n"
	       "   name:  %s._domainkey.%s\n"
	       "   value: %s\n\n"
	       "   As a zone-file line (strings of at most 255 octets):\n"
	       "   %s._domainkey.%s. IN TXT ( %s )\n\n",
	       o->selector, o->domain, rec.data, o->selector, o->domain, quoted.data);
	printf("2. Add this line to the config (mailport.conf):\n"
	       "   dkim %s %s %s\n\n",
	       o->domain, o->selector, abs);
	printf("3. Keep the key root:root 0600 (mailport reads it as root at start), then\n"
	       "   check: mailport config check; mailport probe %s --domain-check --selector %s\n",
	       o->domain, o->selector);
	buf_free(&rec);
	buf_free(&quoted);
}

static int
keygen(int argc, char **argv)
{
	struct keygen_opts o = {.type = "rsa"};
	int rc = parse_keygen(argc, argv, &o);
	if (rc >= 0)
		return rc;
	char domain[256], path[PATH_MAX];
	str_copy(domain, sizeof domain, o.domain);
	str_lower(domain);
	o.domain = domain;
	if (o.out == NULL) {
		snprintf(path, sizeof path, "%s.%s.key", o.domain, o.selector);
		o.out = path;
	}
	bool rsa = strcmp(o.type, "rsa") == 0;
	EVP_PKEY *key = rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)(o.bits ? o.bits : 2048))
			    : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct dkim_key k = {0};
	char err[256];
	if (key == NULL || dkim_key_set(&k, key, err, sizeof err) < 0) {
		fprintf(stderr, "mailport dkim keygen: making the key failed (OpenSSL)\n");
		EVP_PKEY_free(key);
		return EX_SOFTWARE;
	}
	if (write_key(o.out, key) < 0) {
		dkim_key_release(&k);
		return EX_CANTCREAT;
	}
	print_instructions(&o, &k, o.out);
	dkim_key_release(&k);
	return 0;
}

int
cmd_dkim(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
		return keygen(argc, argv);
	bool help = argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0);
	if (!help)
		fprintf(stderr, "mailport dkim: %s; the only subcommand is \"keygen\"\n\n",
			argc < 2 ? "missing subcommand" : "unknown subcommand");
	dkim_usage(help ? stdout : stderr);
	return help ? 0 : EX_USAGE;
}
